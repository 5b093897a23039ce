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
use crate::store::{now_micros, Db};
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
    /// the topics of every loaded plugin.
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
        topics.extend(self.webhook_topics());
        topics.extend(self.outbound_topics());
        topics
    }

    /// The raw webhook topics of every loaded plugin.
    pub fn webhook_topics(&self) -> Vec<String> {
        self.plugins
            .all()
            .map(|plugin| topics::webhook(plugin.id()))
            .collect()
    }

    /// The outbound topics of every loaded plugin.
    pub fn outbound_topics(&self) -> Vec<String> {
        self.plugins
            .all()
            .map(|plugin| topics::outbound(plugin.id()))
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

/// A role's consumer over a set of topics that follows the installed
/// plugins: when one is installed or removed, its topics are created and the
/// consumer resubscribes (between batches, so nothing polled is dropped
/// uncommitted).
struct Following {
    group: &'static str,
    latency: Latency,
    topics_of: fn(&Pipeline) -> Vec<String>,
    topics: Vec<String>,
    changes: tokio::sync::watch::Receiver<u64>,
    consumer: Box<dyn crate::bus::Consumer>,
}

impl Following {
    async fn new(
        pipeline: &Pipeline,
        group: &'static str,
        latency: Latency,
        topics_of: fn(&Pipeline) -> Vec<String>,
    ) -> Following {
        let mut changes = pipeline.plugins.changes();
        changes.mark_unchanged();
        let topics = topics_of(pipeline);
        let consumer = subscribe(&pipeline.bus, group, &topics, latency).await;
        Following {
            group,
            latency,
            topics_of,
            topics,
            changes,
            consumer,
        }
    }

    /// Resubscribes when the plugins changed the topic set.
    async fn refresh(&mut self, pipeline: &Pipeline) {
        if !self.changes.has_changed().unwrap_or(false) {
            return;
        }
        self.changes.mark_unchanged();
        let topics = (self.topics_of)(pipeline);
        if topics == self.topics {
            return;
        }
        while let Err(error) = pipeline.bus.ensure_topics(&topics).await {
            tracing::error!(%error, "cannot create the new plugins' topics; retrying");
            tokio::time::sleep(FAILURE_BACKOFF).await;
        }
        tracing::info!(
            group = self.group,
            ?topics,
            "plugins changed; resubscribing"
        );
        self.consumer = subscribe(&pipeline.bus, self.group, &topics, self.latency).await;
        self.topics = topics;
    }

    /// Starts over from the last committed offsets (after a failed batch).
    async fn resubscribe(&mut self, pipeline: &Pipeline) {
        self.consumer = subscribe(&pipeline.bus, self.group, &self.topics, self.latency).await;
    }
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
            Ok(consumer) => return consumer,
            Err(error) => {
                tracing::error!(%error, group, ?topics, "cannot subscribe; retrying");
                tokio::time::sleep(FAILURE_BACKOFF).await;
            }
        }
    }
}
