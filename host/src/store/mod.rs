//! Storage through sqlx. The embedded default is one SQLite file holding the
//! data and the embedded bus.
//!
//! SQLite allows one writer at a time; writes go through a pool of one
//! connection so they queue in-process instead of failing with SQLITE_BUSY,
//! and reads use their own pool (WAL lets them run beside the writer).

pub mod accounts;
pub mod channels;
pub mod inbox;
pub mod writer;

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// Readers beside the single writer.
const READ_CONNECTIONS: u32 = 8;
/// How long a statement waits for a lock held by another process (a second
/// `switchboard` command such as `admin bootstrap`) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Db {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

impl Db {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            anyhow::bail!("unsupported database URL `{url}`: this build stores data in SQLite (sqlite://path)");
        }
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("parsing database URL {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a committed transaction survives the process being
            // killed (it is in the WAL, in the OS page cache); only an OS crash
            // or power loss can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("opening {url}"))?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&write)
            .await
            .context("applying database migrations")?;
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Db { read, write })
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
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
