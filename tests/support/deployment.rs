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

/// Settings for one server, kept across its restarts.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    pub database_url: Option<String>,
    pub kafka_brokers: Option<String>,
    pub kafka_namespace: Option<String>,
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}{:x}{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

impl Deployment {
    /// The deployment the environment asks for, with fresh resources.
    pub async fn provision() -> Deployment {
        let mut deployment = Deployment::default();
        if let Ok(admin_url) = std::env::var("SWITCHBOARD_TEST_POSTGRES") {
            let name = unique("sbtest_");
            let mut admin = sqlx::PgConnection::connect(&admin_url)
                .await
                .unwrap_or_else(|e| panic!("connect to {admin_url}: {e}"));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("create database {name}: {e}"));
            let mut url = url::Url::parse(&admin_url).expect("SWITCHBOARD_TEST_POSTGRES is a URL");
            url.set_path(&name);
            deployment.database_url = Some(url.to_string());
        }
        if let Ok(brokers) = std::env::var("SWITCHBOARD_TEST_KAFKA") {
            deployment.kafka_brokers = Some(brokers);
            deployment.kafka_namespace = Some(format!("{}.", unique("t")));
        }
        deployment
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
