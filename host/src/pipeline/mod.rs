//! The roles that move events between topics:
//!
//! ```text
//! channel.webhook.<provider>  --inbound-->  channel.inbound.normalized  --writer-->  database
//! channel.outbound.<provider> --outbound--> provider API (through the plugin's send)
//! anything poisonous          -->           channel.deadletter (with the reason)
//! ```

pub mod envelope;
pub mod inbound;
pub mod outbound;
pub mod pack;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use crate::bus::{Bus, Delivery, Latency, Record};
use crate::config::Role;
use crate::metrics;
use crate::plugin::PluginRegistry;
use crate::secrets::SecretBox;
use crate::store::{channels, now_micros, Db};
use envelope::{topics, DeadLetter};

/// What every worker shares.
#[derive(Clone)]
pub struct Pipeline {
    pub db: Db,
    pub bus: Arc<dyn Bus>,
    pub plugins: Arc<PluginRegistry>,
    pub secrets: Arc<SecretBox>,
    pub public_url: String,
}

/// Pause after a bus or database failure before trying the same batch again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

impl Pipeline {
    /// Starts the workers of the given roles: one consumer per role, over
    /// the topics in use (see [`Following`]).
    pub fn spawn(&self, roles: &[Role]) {
        if roles.contains(&Role::Inbound) {
            tokio::spawn(inbound::run(self.clone()));
        }
        if roles.contains(&Role::Outbound) {
            tokio::spawn(outbound::run(self.clone()));
        }
        if roles.contains(&Role::Writer) {
            tokio::spawn(writer::run(self.clone()));
        }
    }

    /// Every topic the loaded plugins need.
    pub fn topics(&self) -> Vec<String> {
        let mut topics = vec![
            topics::NORMALIZED.to_string(),
            topics::DEADLETTER.to_string(),
        ];
        topics.extend(self.plugin_topics(topics::webhook));
        topics.extend(self.plugin_topics(topics::outbound));
        topics
    }

    /// One topic per loaded plugin (`topic_of` its id: `topics::webhook`,
    /// `topics::outbound`).
    fn plugin_topics(&self, topic_of: fn(&str) -> String) -> Vec<String> {
        self.plugins
            .all()
            .map(|plugin| topic_of(plugin.id()))
            .collect()
    }
}

/// A dead-letter record for `delivery`, counted in the metrics.
pub fn dead_letter(delivery: &Delivery, reason: impl Into<String>) -> Record {
    let payload = String::from_utf8_lossy(&delivery.payload).into_owned();
    dead_letter_of(delivery, payload, reason)
}

/// A dead letter for part of a record (one event of a pack): its own
/// payload, the record's topic and offset.
pub fn dead_letter_of(delivery: &Delivery, payload: String, reason: impl Into<String>) -> Record {
    let reason = reason.into();
    tracing::warn!(topic = %delivery.topic, offset = delivery.offset, %reason, "dead-lettered");
    metrics::inc("switchboard_deadletter_total", &[]);
    let letter = DeadLetter {
        reason,
        source_topic: delivery.topic.clone(),
        source_offset: delivery.offset,
        at: now_micros(),
        payload,
    };
    Record {
        topic: topics::DEADLETTER.into(),
        key: delivery.key.clone(),
        partition: None,
        payload: serde_json::to_vec(&letter).expect("a dead letter always serializes"),
    }
}

/// Creates the topics of every plugin installed while the process runs, so
/// the edge can store a new provider's first webhook whichever process reads
/// it. (Roles read a provider's topics only once it has a channel.)
pub async fn keep_topics(pipeline: Pipeline) {
    let mut changes = pipeline.plugins.changes();
    while changes.changed().await.is_ok() {
        while let Err(error) = pipeline.bus.ensure_topics(&pipeline.topics()).await {
            tracing::error!(%error, "cannot create the new plugins' topics; retrying");
            tokio::time::sleep(FAILURE_BACKOFF).await;
        }
    }
}

/// How often a role asks the database which providers have channels: a
/// channel connected through another process is read within this long.
const PROVIDERS_RECHECK: Duration = Duration::from_secs(2);

/// A role's consumer over one topic per provider that follows what is in
/// use: the topics of loaded plugins that have (or had) a channel account.
/// Topics no channel can fill are not read at all, since a broker like tansu
/// pays for every partition of every fetch, idle or not (measured with five
/// plugins loaded and no channel: the idle broker used 0.71 cores when the
/// roles read every plugin's topics, 0.19 now). When a plugin is
/// installed or removed, or a provider gets its first channel, the consumer
/// resubscribes between batches, so nothing polled is dropped uncommitted;
/// records stored before that wait on their topic and are read from the
/// group's committed offset (or the start).
struct Following {
    group: &'static str,
    latency: Latency,
    /// The topic of a provider (`topics::webhook` or `topics::outbound`).
    topic_of: fn(&str) -> String,
    topics: Vec<String>,
    plugin_changes: tokio::sync::watch::Receiver<u64>,
    connections: tokio::sync::watch::Receiver<u64>,
    providers_checked: tokio::time::Instant,
    /// `None` only while one consumer is being replaced by the next.
    consumer: Option<Box<dyn crate::bus::Consumer>>,
}

impl Following {
    async fn new(
        pipeline: &Pipeline,
        group: &'static str,
        latency: Latency,
        topic_of: fn(&str) -> String,
    ) -> Following {
        let mut plugin_changes = pipeline.plugins.changes();
        plugin_changes.mark_unchanged();
        let mut connections = channels::connections();
        connections.mark_unchanged();
        // The database cannot say yet: every loaded plugin's topics. Reading
        // an idle topic costs fetches; skipping a busy one would stall it.
        let topics = match topics_in_use(pipeline, topic_of).await {
            Some(topics) => topics,
            None => pipeline.plugin_topics(topic_of),
        };
        let consumer = subscribe(&pipeline.bus, group, &topics, latency).await;
        Following {
            group,
            latency,
            topic_of,
            topics,
            plugin_changes,
            connections,
            providers_checked: tokio::time::Instant::now(),
            consumer: Some(consumer),
        }
    }

    fn consumer(&mut self) -> &mut dyn crate::bus::Consumer {
        self.consumer
            .as_deref_mut()
            .expect("a consumer is replaced within one call")
    }

    /// Replaces the consumer with one of `topics`. The old one leaves the
    /// group before the new one joins (dropping a Kafka consumer closes it
    /// and waits for that). When the new one joined first, the old one, as
    /// the group's leader, left in the middle of the rebalance that join
    /// started, and tansu 0.6.0 kept the group forming with the departed
    /// leader for good: the new member never got a partition (seen once in
    /// CI, the inbound group stuck at generation 5, state `Forming`, leader
    /// the closed consumer; webhooks stayed unread).
    async fn replace_consumer(&mut self, pipeline: &Pipeline, topics: Vec<String>) {
        self.consumer = None;
        self.consumer = Some(subscribe(&pipeline.bus, self.group, &topics, self.latency).await);
        self.topics = topics;
    }

    /// Resubscribes when the topics in use changed.
    async fn refresh(&mut self, pipeline: &Pipeline) {
        let plugins_changed = self.plugin_changes.has_changed().unwrap_or(false);
        let connected = self.connections.has_changed().unwrap_or(false);
        if !plugins_changed && !connected && self.providers_checked.elapsed() < PROVIDERS_RECHECK {
            return;
        }
        self.plugin_changes.mark_unchanged();
        self.connections.mark_unchanged();
        self.providers_checked = tokio::time::Instant::now();
        // The database cannot say: keep reading what was read (the set only
        // grows while plugins stay), rather than rebalance the group twice.
        let Some(topics) = topics_in_use(pipeline, self.topic_of).await else {
            return;
        };
        if topics == self.topics {
            return;
        }
        while let Err(error) = pipeline.bus.ensure_topics(&topics).await {
            tracing::error!(%error, "cannot create the topics in use; retrying");
            tokio::time::sleep(FAILURE_BACKOFF).await;
        }
        tracing::info!(
            group = self.group,
            ?topics,
            "topics in use changed; resubscribing"
        );
        self.replace_consumer(pipeline, topics).await;
    }

    /// Starts over from the last committed offsets (after a failed batch).
    async fn resubscribe(&mut self, pipeline: &Pipeline) {
        let topics = self.topics.clone();
        self.replace_consumer(pipeline, topics).await;
    }
}

/// The topics (`topic_of` each provider) of the loaded plugins that have a
/// channel account, sorted; `None` when the database cannot say.
async fn topics_in_use(pipeline: &Pipeline, topic_of: fn(&str) -> String) -> Option<Vec<String>> {
    let in_use = channels::providers_with_channels(&pipeline.db)
        .await
        .inspect_err(|error| {
            tracing::warn!(%error, "cannot read which providers have channels");
        })
        .ok()?;
    let mut topics: Vec<String> = pipeline
        .plugins
        .all()
        .filter(|plugin| in_use.contains(plugin.id()))
        .map(|plugin| topic_of(plugin.id()))
        .collect();
    topics.sort();
    topics.dedup();
    Some(topics)
}

/// Subscribes, retrying until the bus answers.
async fn subscribe(
    bus: &Arc<dyn Bus>,
    group: &str,
    topics: &[String],
    latency: Latency,
) -> Box<dyn crate::bus::Consumer> {
    loop {
        match bus.subscribe(group, topics, latency).await {
            Ok(consumer) => {
                metrics::set_gauge(
                    "switchboard_bus_subscribed_topics",
                    &[("group", group)],
                    topics.len() as i64,
                );
                return consumer;
            }
            Err(error) => {
                tracing::error!(%error, group, ?topics, "cannot subscribe; retrying");
                tokio::time::sleep(FAILURE_BACKOFF).await;
            }
        }
    }
}
