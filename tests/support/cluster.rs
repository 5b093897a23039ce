//! A distributed deployment of its own for one test: a private tansu broker,
//! a fresh PostgreSQL database, a fake Telegram Bot API, and several
//! `switchboard serve` processes ("nodes"), each with its own roles, sharing
//! the database, the Kafka namespace, the secret key and the public URL.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use super::api::{Api, Webhooks};
use super::deployment::{postgres_admin_url, Deployment, TestDatabase};
use super::fake_telegram::FakeTelegram;
use super::server::{Plugins, Server, ServerOptions};
use super::tansu::{tansu_binary, Tansu};
use super::{channel_from, Channel, BOT_TOKEN, EMAIL, PASSWORD, WORKSPACE};

/// The key every node of a cluster encrypts credentials with (32 bytes, hex).
pub const TEST_SECRET_KEY: &str =
    "5eb1c0ffee5eb1c0ffee5eb1c0ffee5eb1c0ffee5eb1c0ffee5eb1c0ffee5eb1";

/// False, with a printed note, when SWITCHBOARD_TEST_EMBEDDED_ONLY=1: the
/// distributed tests then return early. Otherwise true; missing services make
/// [`Cluster::start`] fail with a message that says what is missing.
pub fn distributed_tests_enabled(test: &str) -> bool {
    if std::env::var("SWITCHBOARD_TEST_EMBEDDED_ONLY").as_deref() == Ok("1") {
        eprintln!(
            "note: {test} skipped: SWITCHBOARD_TEST_EMBEDDED_ONLY=1 (it needs tansu and PostgreSQL)"
        );
        return false;
    }
    true
}

/// One inbound message row, as stored.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub provider_message_id: String,
    pub text: String,
    pub conversation_id: String,
}

pub struct Cluster {
    pub tansu: Tansu,
    pub database: TestDatabase,
    pub deployment: Deployment,
    pub fake: FakeTelegram,
    /// Partitions of every topic (SWITCHBOARD_KAFKA_PARTITIONS).
    pub partitions: u32,
    nodes: Vec<(String, Server)>,
    /// Logged in on the first node once [`Cluster::bootstrap`] ran.
    pub api: Option<Api>,
    pub hooks: Webhooks,
    pub workspace_id: String,
}

impl Cluster {
    /// Starts the broker, creates the database and the fake Telegram; no node
    /// yet. Panics with a clear message when tansu or PostgreSQL is missing.
    pub async fn start(partitions: u32) -> Cluster {
        if tansu_binary().is_none() {
            // Tansu::start panics with the full explanation.
            let _ = Tansu::start().await;
        }
        let admin_url = postgres_admin_url();
        let database = match TestDatabase::create(&admin_url).await {
            Ok(database) => database,
            Err(error) => panic!(
                "PostgreSQL is needed for the distributed fault tests and is not usable: {error}\n\
                 (start it, e.g. scripts/services.sh, point SWITCHBOARD_TEST_POSTGRES at an admin \
                 URL, or set SWITCHBOARD_TEST_EMBEDDED_ONLY=1 to skip these tests)"
            ),
        };
        let tansu = Tansu::start().await;
        let deployment = Deployment::distributed(&database.url, &tansu.brokers());
        eprintln!(
            "cluster: tansu on {} ({}), database {}, namespace {:?}",
            tansu.brokers(),
            tansu.log_path().display(),
            database.name,
            deployment.kafka_namespace
        );
        Cluster {
            tansu,
            database,
            deployment,
            fake: FakeTelegram::start().await,
            partitions,
            nodes: Vec::new(),
            api: None,
            hooks: Webhooks::new(),
            workspace_id: String::new(),
        }
    }

    /// Starts a node with these roles (`"edge,inbound,outbound"`, `"writer"`)
    /// and waits until its /readyz answers 200. The first node's URL is every
    /// node's SWITCHBOARD_PUBLIC_URL: start an edge first.
    pub async fn add_node(&mut self, name: &str, roles: &str) -> &mut Server {
        let mut options = ServerOptions::new(Plugins::Production);
        options.deployment = Some(self.deployment.clone());
        options.roles = Some(roles.to_string());
        options.public_url = self.nodes.first().map(|(_, s)| s.base_url().to_string());
        options.label = format!("switchboard-{name}-");
        options.env = vec![
            ("SWITCHBOARD_SECRET_KEY".into(), TEST_SECRET_KEY.into()),
            (
                "SWITCHBOARD_KAFKA_PARTITIONS".into(),
                self.partitions.to_string(),
            ),
        ];
        let started = std::time::Instant::now();
        let server = Server::start_with(options).await;
        eprintln!(
            "cluster: node {name} ({roles}) ready on {} in {:?}; log {}",
            server.base_url(),
            started.elapsed(),
            server.log_path().display()
        );
        self.nodes.push((name.to_string(), server));
        &mut self.nodes.last_mut().unwrap().1
    }

    pub fn node(&self, name: &str) -> &Server {
        self.nodes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no node named {name}"))
    }

    pub fn node_mut(&mut self, name: &str) -> &mut Server {
        self.nodes
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no node named {name}"))
    }

    /// `admin bootstrap` through the first node's settings, then a login on
    /// the first node (an edge).
    pub async fn bootstrap(&mut self) {
        let first = &self.nodes.first().expect("start a node first").1;
        let boot = first.bootstrap(EMAIL, PASSWORD, WORKSPACE).await;
        let mut api = Api::new(first.base_url());
        api.login(EMAIL, PASSWORD).await;
        self.workspace_id = boot.workspace_id;
        self.api = Some(api);
    }

    pub fn api(&self) -> &Api {
        self.api.as_ref().expect("bootstrap the cluster first")
    }

    /// Connects a Telegram channel through the first node's API.
    pub async fn connect_telegram(&self, name: &str) -> Channel {
        let before = self.fake.calls("setWebhook").len();
        let created = self
            .api()
            .create_channel(
                &self.workspace_id,
                &json!({
                    "provider": "telegram",
                    "name": name,
                    "config": {"bot_token": BOT_TOKEN, "api_base": self.fake.api_base()},
                }),
            )
            .await
            .expect(201, "connect a telegram channel");
        let calls = self.fake.calls("setWebhook");
        assert_eq!(calls.len(), before + 1, "connect must call setWebhook once");
        let secret = calls.last().unwrap().body["secret_token"]
            .as_str()
            .map(str::to_string);
        channel_from(created, secret)
    }

    /// Every inbound message of the channel, read straight from PostgreSQL on
    /// a fresh connection (so a test that terminates sessions can still read).
    pub async fn stored_inbound(&self, channel_id: &str) -> Result<Vec<StoredMessage>, String> {
        let mut conn = self
            .database
            .connect()
            .await
            .map_err(|e| format!("connect to {}: {e}", self.database.name))?;
        let rows: Vec<(Option<String>, Option<String>, String)> = sqlx::query_as(
            "SELECT provider_message_id, text, conversation_id FROM messages \
             WHERE channel_account_id = $1 AND direction = 'in'",
        )
        .bind(channel_id)
        .fetch_all(&mut conn)
        .await
        .map_err(|e| format!("read messages: {e}"))?;
        let _ = conn.close().await;
        Ok(rows
            .into_iter()
            .map(|(id, text, conversation_id)| StoredMessage {
                provider_message_id: id.unwrap_or_default(),
                text: text.unwrap_or_default(),
                conversation_id,
            })
            .collect())
    }

    /// `stored_inbound`, retried for a few seconds over transient failures.
    pub async fn stored_inbound_retrying(&self, channel_id: &str) -> Vec<StoredMessage> {
        let mut last = String::new();
        for _ in 0..20 {
            match self.stored_inbound(channel_id).await {
                Ok(stored) => return stored,
                Err(error) => last = error,
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("cannot read the stored messages: {last}");
    }

    /// How many conversations the channel has.
    pub async fn conversation_count(&self, channel_id: &str) -> Result<i64, String> {
        let mut conn = self
            .database
            .connect()
            .await
            .map_err(|e| format!("connect to {}: {e}", self.database.name))?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM conversations WHERE channel_account_id = $1")
                .bind(channel_id)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| format!("count conversations: {e}"))?;
        let _ = conn.close().await;
        Ok(count)
    }

    /// One line per node with the counters that explain a loss or a
    /// duplicate: webhooks accepted and refused, records consumed and
    /// committed, dead letters, writer retries, events applied.
    pub async fn metrics_summary(&self) -> String {
        let mut lines = Vec::new();
        for (name, server) in &self.nodes {
            let metrics = match server.fetch_metrics().await {
                Ok(metrics) => metrics,
                Err(error) => {
                    lines.push(format!("{name}: /metrics unreachable ({error})"));
                    continue;
                }
            };
            // Counters are whole numbers; an empty f64 sum is -0.
            let sum = |name: &str, labels: &[(&str, &str)]| metrics.sum(name, labels) as i64;
            lines.push(format!(
                "{name}: accepted={} refused={} consumed={} committed={} deadletter={} \
                 writer_retries={} written={} duplicate={} ignored={} publish_errors={}",
                sum("switchboard_webhooks_accepted_total", &[]),
                sum("switchboard_webhooks_refused_total", &[]),
                sum("switchboard_bus_consumed_total", &[]),
                sum("switchboard_bus_committed_total", &[]),
                sum("switchboard_deadletter_total", &[]),
                sum("switchboard_writer_retries_total", &[]),
                sum(
                    "switchboard_events_applied_total",
                    &[("outcome", "written")]
                ),
                sum(
                    "switchboard_events_applied_total",
                    &[("outcome", "duplicate")]
                ),
                sum(
                    "switchboard_events_applied_total",
                    &[("outcome", "ignored")]
                ),
                sum("switchboard_bus_publish_errors_total", &[]),
            ));
            let mean_ms = |name: &str, labels: &[(&str, &str)]| {
                let count = metrics.sum(&format!("{name}_count"), labels);
                let total = metrics.sum(&format!("{name}_sum"), labels);
                if count > 0.0 {
                    format!("{:.2} ms over {count}", total / count * 1000.0)
                } else {
                    "none".to_string()
                }
            };
            lines.push(format!(
                "{name}: mean publish to ack: raw webhooks {}, normalized packs {}; mean writer transaction {}",
                mean_ms(
                    "switchboard_bus_publish_seconds",
                    &[("topic", "channel.webhook.telegram")]
                ),
                mean_ms(
                    "switchboard_bus_publish_seconds",
                    &[("topic", "channel.inbound.normalized")]
                ),
                mean_ms("switchboard_db_write_seconds", &[]),
            ));
        }
        lines.join("\n")
    }

    /// Lines of a node's log that contain any of `needles` (at most `max`).
    pub fn grep_log(&self, name: &str, needles: &[&str], max: usize) -> Vec<String> {
        let text = std::fs::read(self.node(name).log_path())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|line| needles.iter().any(|needle| line.contains(needle)))
            .take(max)
            .map(str::to_string)
            .collect()
    }

    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Kills every node and the broker and drops the database: the end of a
    /// test that passed (a failing one keeps the database for inspection).
    pub async fn shutdown(mut self) {
        for (_, server) in self.nodes.iter_mut() {
            server.kill().await;
        }
        self.tansu.stop().await;
        self.database.drop_database().await;
    }
}

/// Counts how often each provider message id is stored, for exactly-once checks.
pub fn occurrences(stored: &[StoredMessage]) -> HashMap<&str, Vec<&StoredMessage>> {
    let mut seen: HashMap<&str, Vec<&StoredMessage>> = HashMap::new();
    for message in stored {
        seen.entry(message.provider_message_id.as_str())
            .or_default()
            .push(message);
    }
    seen
}
