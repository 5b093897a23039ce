//! Storage through sqlx, on SQLite (the embedded default) or PostgreSQL.
//!
//! One code path serves both: queries go through sqlx's `Any` driver with
//! numbered placeholders (`$1`, `$2`, ... first used in ascending order, which
//! SQLite binds positionally too) and SQL both databases accept. Each backend
//! has its own migrations folder with the same tables and constraints.
//!
//! SQLite allows one writer at a time: its writes go through a pool of one
//! connection so they queue in-process instead of failing with SQLITE_BUSY,
//! and reads use their own pool (WAL lets them run beside the writer).
//! PostgreSQL gets one pool for both.

pub mod accounts;
pub mod attachment_kind;
pub mod channels;
pub mod conversation_state;
pub mod files;
pub mod inbox;
pub mod invites;
pub mod widget;
pub mod writer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Readers beside the single SQLite writer.
const SQLITE_READ_CONNECTIONS: u32 = 8;
/// PostgreSQL connections per process: enough for the writer, the bus
/// consumers' lookups and API requests, small enough that several processes
/// stay well under the server's default of 100.
const POSTGRES_CONNECTIONS: u32 = 16;
/// How long a SQLite statement waits for a lock held by another process (a
/// second `switchboard` command such as `admin bootstrap`) before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a connection from the pool before failing a request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pub read: AnyPool,
    pub write: AnyPool,
    pub backend: Backend,
}

/// Per-connection settings for SQLite. WAL + NORMAL: a committed transaction
/// survives the process being killed (it is in the WAL, in the OS page
/// cache); only an OS crash or power loss can lose the last commits.
fn sqlite_pragmas() -> String {
    format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {};",
        SQLITE_BUSY_TIMEOUT.as_millis()
    )
}

impl Db {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL `{url}`: use sqlite://path or postgres://...");
        };
        let url = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options: AnyConnectOptions = url
            .parse()
            .with_context(|| format!("parsing database URL {url}"))?;
        let pool = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(sqlite_pragmas().as_str()).await?;
                        }
                        Ok(())
                    })
                })
        };
        let db = match backend {
            Backend::Sqlite => {
                let write = pool(1)
                    .connect_with(options.clone())
                    .await
                    .with_context(|| format!("opening {url}"))?;
                let read = pool(SQLITE_READ_CONNECTIONS).connect_with(options).await?;
                Db {
                    read,
                    write,
                    backend,
                }
            }
            Backend::Postgres => {
                let shared = pool(POSTGRES_CONNECTIONS)
                    .connect_with(options)
                    .await
                    .with_context(|| format!("connecting to {}", redact(&url)))?;
                Db {
                    read: shared.clone(),
                    write: shared,
                    backend,
                }
            }
        };
        let migrations = match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
        };
        migrations
            .run(&db.write)
            .await
            .context("applying database migrations")?;
        Ok(db)
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }
}

/// A database URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Unix time in microseconds.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or(0)
}

/// A new time-ordered id.
/// The assignment every change to a conversation makes (with `$1` = now):
/// `updated_at` moves forward, past a later stamp another process already
/// committed if need be, so the inbox's change feed always sees a new value.
pub(crate) const MOVE_UPDATED_AT: &str =
    "updated_at = CASE WHEN updated_at < $1 THEN $1 ELSE updated_at + 1 END";

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// RFC 3339 text for a time in microseconds (API output).
pub fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// A random URL-safe token of `bytes` random bytes (hex: [0-9a-f]).
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore;
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    hex::encode(buffer)
}
