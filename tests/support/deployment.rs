//! Which deployment the end-to-end suite runs against.
//!
//! - default: the embedded default (SQLite file + embedded bus);
//! - `SWITCHBOARD_TEST_POSTGRES=postgres://user@host:port/db`: every server
//!   gets a fresh PostgreSQL database created through that URL;
//! - `SWITCHBOARD_TEST_KAFKA=host:port`: every server uses Kafka with its own
//!   topic and consumer-group namespace, so parallel tests never share records.
//!
//! Setting both is the distributed deployment; `scripts/test.sh` runs the
//! suite once embedded and once distributed.

use sqlx::Connection;

/// The admin URL the fault tests use when SWITCHBOARD_TEST_POSTGRES is unset.
pub const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// SWITCHBOARD_TEST_POSTGRES, or the local default.
pub fn postgres_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_ADMIN_URL.to_string())
}

/// A fresh database created through `admin_url`.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    pub admin_url: String,
    pub name: String,
    /// `admin_url` with the path set to this database.
    pub url: String,
}

impl TestDatabase {
    /// Creates a database named `sbtest_<unique>` (scripts/services.sh drops
    /// leftovers of that name); errors say what failed.
    pub async fn create(admin_url: &str) -> Result<TestDatabase, String> {
        let name = unique("sbtest_");
        let mut admin = sqlx::PgConnection::connect(admin_url)
            .await
            .map_err(|e| format!("connect to {admin_url}: {e}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .map_err(|e| format!("create database {name}: {e}"))?;
        let _ = admin.close().await;
        let mut url =
            url::Url::parse(admin_url).map_err(|e| format!("{admin_url} is not a URL: {e}"))?;
        url.set_path(&name);
        Ok(TestDatabase {
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        })
    }

    /// A new connection to this database.
    pub async fn connect(&self) -> Result<sqlx::PgConnection, sqlx::Error> {
        sqlx::PgConnection::connect(&self.url).await
    }

    /// Terminates every other session on this database (from the admin
    /// database, so the caller's own connection is never among them);
    /// returns how many were terminated.
    pub async fn terminate_connections(&self) -> Result<usize, String> {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.admin_url))?;
        let rows: Vec<(Option<bool>,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_all(&mut admin)
        .await
        .map_err(|e| format!("terminate the sessions of {}: {e}", self.name))?;
        let _ = admin.close().await;
        Ok(rows.iter().filter(|(done,)| *done == Some(true)).count())
    }

    /// Waits (up to `wait`) for a moment when some session of this database
    /// is inside a transaction between two statements (`idle in
    /// transaction`: a writer's batch), then terminates every session as
    /// [`TestDatabase::terminate_connections`] does. Returns how many were
    /// terminated and whether a transaction was open when it happened.
    pub async fn terminate_connections_mid_transaction(
        &self,
        wait: std::time::Duration,
    ) -> Result<(usize, bool), String> {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.admin_url))?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            let rows: Vec<(Option<bool>,)> = sqlx::query_as(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid() \
                 AND EXISTS (SELECT 1 FROM pg_stat_activity \
                             WHERE datname = $1 AND state = 'idle in transaction')",
            )
            .bind(&self.name)
            .fetch_all(&mut admin)
            .await
            .map_err(|e| format!("terminate the sessions of {}: {e}", self.name))?;
            let terminated = rows.iter().filter(|(done,)| *done == Some(true)).count();
            if terminated > 0 {
                let _ = admin.close().await;
                return Ok((terminated, true));
            }
            if std::time::Instant::now() >= deadline {
                let _ = admin.close().await;
                return Ok((self.terminate_connections().await?, false));
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// `ALTER DATABASE ... WITH ALLOW_CONNECTIONS <allow>`: with `false`, new
    /// sessions are refused (existing ones stay: terminate them too).
    pub async fn allow_connections(&self, allow: bool) -> Result<(), String> {
        let mut admin = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| format!("connect to {}: {e}", self.admin_url))?;
        sqlx::query(&format!(
            "ALTER DATABASE {} WITH ALLOW_CONNECTIONS {allow}",
            self.name
        ))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("allow connections {allow} on {}: {e}", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }

    /// Drops the database, ending its sessions first. Best effort.
    pub async fn drop_database(&self) {
        if let Ok(mut admin) = sqlx::PgConnection::connect(&self.admin_url).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
            let _ = admin.close().await;
        }
    }
}

/// Settings for one server, kept across its restarts.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    pub database_url: Option<String>,
    pub kafka_brokers: Option<String>,
    pub kafka_namespace: Option<String>,
}

/// `prefix` plus a name no other test process or earlier call used.
pub fn unique(prefix: &str) -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}{:x}{:x}{call:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

impl Deployment {
    /// The deployment the environment asks for, with fresh resources.
    pub async fn provision() -> Deployment {
        let mut deployment = Deployment::default();
        if let Ok(admin_url) = std::env::var("SWITCHBOARD_TEST_POSTGRES") {
            let database = TestDatabase::create(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("SWITCHBOARD_TEST_POSTGRES: {e}"));
            deployment.database_url = Some(database.url);
        }
        if let Ok(brokers) = std::env::var("SWITCHBOARD_TEST_KAFKA") {
            deployment.kafka_brokers = Some(brokers);
            deployment.kafka_namespace = Some(format!("{}.", unique("t")));
        }
        deployment
    }

    /// A distributed deployment on these services, with its own namespace.
    pub fn distributed(database_url: &str, kafka_brokers: &str) -> Deployment {
        Deployment {
            database_url: Some(database_url.to_string()),
            kafka_brokers: Some(kafka_brokers.to_string()),
            kafka_namespace: Some(format!("{}.", unique("f"))),
        }
    }

    pub fn is_distributed(&self) -> bool {
        self.kafka_brokers.is_some()
    }

    pub fn apply(&self, command: &mut tokio::process::Command) {
        if let Some(url) = &self.database_url {
            command.env("SWITCHBOARD_DATABASE_URL", url);
        }
        if let Some(brokers) = &self.kafka_brokers {
            command.env("SWITCHBOARD_KAFKA_BROKERS", brokers);
            // Few partitions: topic creation is per test on a shared broker.
            command.env("SWITCHBOARD_KAFKA_PARTITIONS", "2");
        }
        if let Some(namespace) = &self.kafka_namespace {
            command.env("SWITCHBOARD_KAFKA_NAMESPACE", namespace);
        }
    }
}
