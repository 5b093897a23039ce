//! The topic bus between the roles. Embedded: an append-only table in the
//! database. A Kafka implementation plugs in behind the same traits.
//!
//! Semantics every implementation keeps: `publish` returns only once the
//! records are durable; a consumer group sees each topic in order; `commit`
//! is called after the work a record stands for is itself committed, so a
//! crash means redelivery (at-least-once), made effectively-once by the
//! idempotent writer.

pub mod embedded;
pub mod kafka;

use std::time::Duration;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("bus storage error: {0}")]
    Storage(#[from] sqlx::Error),
}

/// A record to publish.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: String,
    /// Partition key: records with one key stay in order.
    pub key: String,
    /// A partition chosen by the publisher instead of the key's hash (packs
    /// of normalized events); the embedded bus has one partition and ignores it.
    pub partition: Option<i32>,
    pub payload: Vec<u8>,
}

/// A record received by a consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// Partition of the topic (always 0 on the embedded bus).
    pub partition: i32,
    /// Position in the partition, increasing.
    pub offset: i64,
}

/// How soon a consumer must see a new record. Brokers that hold every fetch
/// for its whole wait (tansu) pay for each fetch of every partition, idle or
/// not, so only the webhook path asks for the shortest wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// On a webhook's way to the database (inbound, writer).
    Prompt,
    /// Operator replies: a tenth of a second more is not noticed.
    Relaxed,
}

#[async_trait]
pub trait Bus: Send + Sync {
    /// Appends records durably, all or none.
    async fn publish(&self, records: Vec<Record>) -> Result<(), BusError>;

    /// A consumer of these topics on behalf of a consumer group, starting
    /// after the group's last committed offset in each. One consumer for all
    /// of a role's topics (rather than one per provider) keeps the number of
    /// idle fetches a broker serves independent of how many plugins are loaded.
    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
        latency: Latency,
    ) -> Result<Box<dyn Consumer>, BusError>;

    /// True when the bus can take records now.
    async fn ready(&self) -> bool;

    /// Every record of `topic` still retained and appended at or after
    /// `since_micros` (unix microseconds), up to the end of the topic when
    /// called; for replaying raw webhooks through another plugin version.
    async fn retained(&self, topic: &str, since_micros: i64) -> Result<Vec<Delivery>, BusError>;

    /// How many partitions `topic` has (1 on the embedded bus).
    async fn partitions(&self, _topic: &str) -> Result<usize, BusError> {
        Ok(1)
    }

    /// Creates the topics that do not exist yet (a plugin installed at run
    /// time brings two). The embedded bus needs none.
    async fn ensure_topics(&self, _topics: &[String]) -> Result<(), BusError> {
        Ok(())
    }
}

#[async_trait]
pub trait Consumer: Send {
    /// Up to `max` records, waiting at most `wait` for the first one.
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError>;

    /// Records a polled batch as processed: in each topic and partition,
    /// everything up to and including the batch's highest offset.
    async fn commit(&mut self, batch: &[Delivery]) -> Result<(), BusError>;
}
