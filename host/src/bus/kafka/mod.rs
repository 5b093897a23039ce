//! The Kafka bus (rdkafka, bundled librdkafka), for the distributed deployment.
//!
//! - Producer: idempotent, `acks=all`; `publish` returns once every record is
//!   acknowledged by the broker, and fails within `PUBLISH_TIMEOUT` when the
//!   broker is unreachable (the edge then answers 503 and the provider retries).
//!   A failed multi-record publish may have stored some records: the caller
//!   retries the whole batch and the idempotent writer absorbs the repeats.
//!   Records reach the producer through per-partition lanes (`lanes.rs`),
//!   which gather them while the partition's previous request is in flight,
//!   and replace the producer when its records time out.
//! - Consumers: one group per role; `enable.auto.offset.store=false`, and an
//!   offset is stored only by `commit`, which the roles call after the work a
//!   batch stands for is committed. Stored offsets are committed in the
//!   background and when partitions are revoked; since a batch is finished
//!   before the next poll, and rebalances happen inside polls, no in-flight
//!   work is ever cut off by a rebalance. librdkafka's connection events
//!   (brokers down, reconnect failures) are not failed polls: it recovers by
//!   itself, and a poll fails only when no record came within its wait.

mod lanes;

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, Producer as _};
use rdkafka::types::RDKafkaErrorCode;

use super::{Bus, BusError, Consumer, Delivery, Latency, Record};
use crate::metrics;
use lanes::{Lanes, Placed};

/// How long a publish may wait for the broker's acknowledgement before the
/// edge gives up and answers 503. Providers retry; 5 s keeps their request
/// well under their own timeouts.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a batch waits for more records once the first one arrived.
const BATCH_LINGER: Duration = Duration::from_millis(2);
const SESSION_TIMEOUT_MS: &str = "6000";
/// Default of [`KafkaSettings::fetch_wait_ms`]: how long a fetch may wait at
/// the broker for new records. librdkafka's 500 ms default is a latency floor
/// per hop on brokers that answer a fetch only when the wait is over (tansu
/// does; Apache Kafka answers as soon as records arrive): a webhook crosses
/// two topics, and at a steady 1,000/s that was 0.8 s from webhook to row.
/// The price is idle requests: each consumer (one per role) fetches this
/// often when there is nothing to read.
pub const DEFAULT_FETCH_WAIT_MS: u32 = 10;
/// Default of [`KafkaSettings::relaxed_fetch_wait_ms`]. Measured on tansu
/// with every role idle in one process: with all consumers at 10 ms the
/// broker spent a whole core answering fetches; the outbound consumer alone
/// reads five topics of four partitions.
pub const DEFAULT_RELAXED_FETCH_WAIT_MS: u32 = 100;
/// Default of [`KafkaSettings::linger_ms`]. Records gather in the lanes
/// while a partition's request is in flight (lanes.rs), so the linger only
/// has to cover handing a lane's batch to librdkafka; each cycle pays it.
/// Measured on tansu with the lanes: 0.5 ms beat 2 ms at 64 senders
/// (4,012-4,017/s against 3,236-3,601/s) and on the steady p99; at 0.2 ms
/// batches were split and Switchboard's CPU per webhook rose by half.
pub const DEFAULT_LINGER_MS: f64 = 0.5;
const HEARTBEAT_INTERVAL_MS: &str = "1500";
/// Interval of the background commit of stored offsets.
const AUTO_COMMIT_INTERVAL_MS: &str = "1000";

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    /// Prepended to every topic and consumer group name (isolates test runs
    /// or tenants sharing one cluster); empty in production.
    pub namespace: String,
    pub partitions: i32,
    pub replication: i32,
    /// retention.ms of the topics Switchboard creates (raw webhooks are
    /// replayed from it).
    pub retention: Duration,
    /// fetch.wait.max.ms of the consumers on the webhook path.
    pub fetch_wait_ms: u32,
    /// fetch.wait.max.ms of the other consumers (operator replies).
    pub relaxed_fetch_wait_ms: u32,
    /// linger.ms of the producer.
    pub linger_ms: f64,
}

pub struct KafkaBus {
    settings: KafkaSettings,
    /// Records go through the lanes, which own the producer.
    lanes: Arc<Lanes>,
    /// Spreads records without a key over the partitions.
    next_unkeyed: AtomicUsize,
    /// Partition counts per topic (full name) and when they were read.
    partition_counts: Arc<Mutex<HashMap<String, PartitionCount>>>,
}

/// How long a topic's partition count is trusted before it is read again
/// (an operator may add partitions while the cluster runs).
const PARTITION_COUNT_TTL: Duration = Duration::from_secs(60);

/// A topic's partition count as last read from the broker.
struct PartitionCount {
    count: usize,
    read_at: Instant,
    /// A background lookup is under way (see `KafkaBus::placement_partitions`).
    refreshing: bool,
}

fn unavailable(error: KafkaError) -> BusError {
    BusError::Unavailable(error.to_string())
}

impl KafkaBus {
    pub fn connect(settings: KafkaSettings) -> Result<Self, BusError> {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &settings.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Many concurrent webhooks share a request.
            .set("linger.ms", settings.linger_ms.to_string())
            // Small requests go out at once instead of waiting on Nagle's
            // algorithm for the previous one's ACK.
            .set("socket.nagle.disable", "true")
            .set(
                "message.timeout.ms",
                PUBLISH_TIMEOUT.as_millis().to_string(),
            );
        // The lanes create a producer now, and a fresh one whenever records
        // of the one in use time out (lanes.rs says why).
        let lanes = Lanes::new(Box::new(move || config.create())).map_err(unavailable)?;
        Ok(KafkaBus {
            settings,
            lanes,
            next_unkeyed: AtomicUsize::new(0),
            partition_counts: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The producer in use, for metadata lookups (records go through the lanes).
    fn metadata_client(&self) -> Arc<FutureProducer> {
        self.lanes.producer().1
    }

    fn topic(&self, name: &str) -> String {
        format!("{}{name}", self.settings.namespace)
    }

    /// Places each record on its partition, queues it on that partition's
    /// lane, and waits for every acknowledgement: one outcome per record.
    async fn send(&self, records: Vec<Record>) -> Result<Vec<Result<(), BusError>>, BusError> {
        let mut placed = Vec::with_capacity(records.len());
        for record in records {
            let topic = self.topic(&record.topic);
            let partition = match record.partition {
                Some(partition) => partition,
                None => self.place(&topic, &record.key).await?,
            };
            placed.push(Placed {
                topic,
                partition,
                key: record.key,
                payload: record.payload,
            });
        }
        let acknowledgements = self.lanes.send(placed);
        Ok(futures_util::future::join_all(acknowledgements)
            .await
            .into_iter()
            .map(|outcome| match outcome {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(unavailable(error)),
                Err(_) => Err(BusError::Unavailable(
                    "the producer dropped the record".into(),
                )),
            })
            .collect())
    }

    /// The partition count to place a record by. Once a topic's count is
    /// known it stays in use until a lookup succeeds: an expired count is
    /// refreshed in the background, one lookup per topic at a time, so a
    /// publish does not wait on a metadata request, and a broker outage does
    /// not start one per webhook.
    async fn placement_partitions(&self, full: &str) -> Result<usize, BusError> {
        let known = {
            let mut counts = self.partition_counts.lock().unwrap();
            counts.get_mut(full).map(|known| {
                let refresh = known.read_at.elapsed() >= PARTITION_COUNT_TTL && !known.refreshing;
                known.refreshing |= refresh;
                (known.count, refresh)
            })
        };
        let Some((count, refresh)) = known else {
            return self.partition_count(full).await;
        };
        if refresh {
            let full = full.to_string();
            let counts = self.partition_counts.clone();
            let producer = self.metadata_client();
            tokio::spawn(async move {
                match read_partition_count(producer, full.clone()).await {
                    Ok(count) => remember_partition_count(&counts, full, count),
                    Err(error) => {
                        let error = error.into_bus_error(&full);
                        tracing::warn!(topic = %full, %error, "cannot refresh the partition count; keeping the last one");
                        if let Some(known) = counts.lock().unwrap().get_mut(&full) {
                            known.refreshing = false;
                        }
                    }
                }
            });
        }
        Ok(count)
    }

    /// The partition, in `full` (a namespaced topic), of a record that names
    /// none: by key, as librdkafka's default partitioner would place it;
    /// records without a key in turn.
    async fn place(&self, full: &str, key: &str) -> Result<i32, BusError> {
        let partitions = self.placement_partitions(full).await?;
        Ok(if key.is_empty() {
            (self.next_unkeyed.fetch_add(1, Ordering::Relaxed) % partitions) as i32
        } else {
            lanes::partition_of_key(key.as_bytes(), partitions)
        })
    }

    /// How many partitions `full` (a namespaced topic) has: the count read
    /// within `PARTITION_COUNT_TTL`, or a fresh lookup.
    ///
    /// A topic that does not exist yet is looked up again until it does, for
    /// up to `TOPIC_APPEARS_WITHIN`. Every process creates a newly installed
    /// plugin's topics in the background (`pipeline::keep_topics`), so the
    /// first webhook of a provider installed a moment ago can come first;
    /// librdkafka, which placed records before the lanes did, also held a
    /// record for a topic it did not know until the topic appeared.
    async fn partition_count(&self, full: &str) -> Result<usize, BusError> {
        if let Some(known) = self.partition_counts.lock().unwrap().get(full) {
            if known.read_at.elapsed() < PARTITION_COUNT_TTL {
                return Ok(known.count);
            }
        }
        let started = Instant::now();
        loop {
            match read_partition_count(self.metadata_client(), full.to_string()).await {
                Ok(count) => {
                    remember_partition_count(&self.partition_counts, full.to_string(), count);
                    return Ok(count);
                }
                Err(LookupError::Absent) if started.elapsed() < TOPIC_APPEARS_WITHIN => {
                    tokio::time::sleep(TOPIC_LOOKUP_AGAIN_AFTER).await;
                }
                Err(error) => return Err(error.into_bus_error(full)),
            }
        }
    }

    /// Creates the topics that are absent; existing ones are left as they are.
    async fn create_topics(&self, names: &[String]) -> Result<(), BusError> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .create()
            .map_err(unavailable)?;
        let full: Vec<String> = names.iter().map(|name| self.topic(name)).collect();
        let retention_ms = self.settings.retention.as_millis().to_string();
        let topics: Vec<NewTopic<'_>> = full
            .iter()
            .map(|name| {
                NewTopic::new(
                    name,
                    self.settings.partitions,
                    TopicReplication::Fixed(self.settings.replication),
                )
                .set("retention.ms", &retention_ms)
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&topics, &options)
            .await
            .map_err(unavailable)?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(BusError::Unavailable(format!(
                        "creating topic {name}: {code}"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for KafkaBus {
    async fn publish(&self, records: Vec<Record>) -> Result<(), BusError> {
        let topics: Vec<String> = records.iter().map(|record| record.topic.clone()).collect();
        let started = Instant::now();
        let generation = self.lanes.generation();
        // librdkafka's own message timeout can overshoot by seconds while it
        // reconnects; the edge's promise is an answer within PUBLISH_TIMEOUT.
        let results = tokio::time::timeout(PUBLISH_TIMEOUT, self.send(records))
            .await
            .map_err(|_| {
                // librdkafka is about to time these records out too, and to
                // bump its epoch when it does.
                self.lanes.retire(generation, "a publish timed out");
                metrics::inc("switchboard_bus_publish_errors_total", &[("topic", "all")]);
                BusError::Unavailable(format!(
                    "the broker did not acknowledge within {PUBLISH_TIMEOUT:?}"
                ))
            })??;
        let elapsed = started.elapsed().as_secs_f64();
        for (result, topic) in results.into_iter().zip(&topics) {
            if let Err(error) = result {
                metrics::inc("switchboard_bus_publish_errors_total", &[("topic", topic)]);
                return Err(error);
            }
            metrics::inc("switchboard_bus_produced_total", &[("topic", topic)]);
        }
        if let Some(first) = topics.first() {
            metrics::observe(
                "switchboard_bus_publish_seconds",
                &[("topic", first)],
                elapsed,
            );
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
        latency: Latency,
    ) -> Result<Box<dyn Consumer>, BusError> {
        let fetch_wait_ms = match latency {
            Latency::Prompt => self.settings.fetch_wait_ms,
            Latency::Relaxed => self.settings.relaxed_fetch_wait_ms,
        };
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.settings.brokers)
            .set("group.id", format!("{}{group}", self.settings.namespace))
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", AUTO_COMMIT_INTERVAL_MS)
            .set("auto.offset.reset", "earliest")
            // A process killed without leaving the group holds its partitions
            // until the session times out: 6 s (the brokers' usual minimum)
            // instead of librdkafka's 45 s keeps a crash from stalling a role.
            .set("session.timeout.ms", SESSION_TIMEOUT_MS)
            .set("heartbeat.interval.ms", HEARTBEAT_INTERVAL_MS)
            .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
            .set("socket.nagle.disable", "true")
            .create()
            .map_err(unavailable)?;
        let mut full_topics = BTreeMap::new();
        for topic in topics {
            let full = self.topic(topic);
            let name = CString::new(full.clone()).map_err(|_| {
                BusError::Unavailable(format!("topic name `{topic}` contains a NUL byte"))
            })?;
            full_topics.insert(topic.clone(), (full, name));
        }
        let names: Vec<&str> = full_topics
            .values()
            .map(|(full, _)| full.as_str())
            .collect();
        if !names.is_empty() {
            consumer.subscribe(&names).map_err(unavailable)?;
        }
        Ok(Box::new(KafkaConsumer {
            consumer,
            full_topics,
            namespace_len: self.settings.namespace.len(),
        }))
    }

    async fn ensure_topics(&self, topics: &[String]) -> Result<(), BusError> {
        self.create_topics(topics).await
    }

    async fn partitions(&self, topic: &str) -> Result<usize, BusError> {
        self.partition_count(&self.topic(topic)).await
    }

    async fn retained(&self, topic: &str, since_micros: i64) -> Result<Vec<Delivery>, BusError> {
        let full = self.topic(topic);
        let settings = self.settings.clone();
        let topic = topic.to_string();
        // librdkafka's lookups block: off the async workers.
        tokio::task::spawn_blocking(move || read_retained(&settings, &full, &topic, since_micros))
            .await
            .map_err(|error| BusError::Unavailable(error.to_string()))?
    }

    async fn ready(&self) -> bool {
        let producer = self.metadata_client();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|metadata| !metadata.brokers().is_empty())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false)
    }
}

/// How long `KafkaBus::partition_count` waits for a topic to be created.
const TOPIC_APPEARS_WITHIN: Duration = PUBLISH_TIMEOUT;
const TOPIC_LOOKUP_AGAIN_AFTER: Duration = Duration::from_millis(100);

/// Why a partition count could not be read.
enum LookupError {
    /// The broker answered, and the topic has no partitions: it does not
    /// exist (yet).
    Absent,
    Unavailable(BusError),
}

impl LookupError {
    fn into_bus_error(self, full: &str) -> BusError {
        match self {
            LookupError::Absent => {
                BusError::Unavailable(format!("topic {full} has no partitions (does it exist?)"))
            }
            LookupError::Unavailable(error) => error,
        }
    }
}

/// Asks the broker how many partitions `full` (a namespaced topic) has.
async fn read_partition_count(
    producer: Arc<FutureProducer>,
    full: String,
) -> Result<usize, LookupError> {
    // librdkafka's metadata request blocks: off the async workers.
    let count = tokio::task::spawn_blocking(move || {
        producer
            .client()
            .fetch_metadata(Some(&full), Duration::from_secs(5))
            .map(|metadata| {
                metadata
                    .topics()
                    .iter()
                    .find(|topic| topic.name() == full)
                    .map_or(0, |topic| topic.partitions().len())
            })
    })
    .await
    .map_err(|error| LookupError::Unavailable(BusError::Unavailable(error.to_string())))?
    .map_err(|error| LookupError::Unavailable(unavailable(error)))?;
    if count == 0 {
        return Err(LookupError::Absent);
    }
    Ok(count)
}

fn remember_partition_count(
    counts: &Mutex<HashMap<String, PartitionCount>>,
    full: String,
    count: usize,
) {
    counts.lock().unwrap().insert(
        full,
        PartitionCount {
            count,
            read_at: Instant::now(),
            refreshing: false,
        },
    );
}

struct KafkaConsumer {
    consumer: StreamConsumer,
    /// Per topic as the roles name it, its name with the namespace as
    /// librdkafka knows it (and as a C string, for the watermark lookup).
    full_topics: BTreeMap<String, (String, CString)>,
    namespace_len: usize,
}

/// The highest offset of each (topic, partition) in a batch; topics as the
/// roles know them (no namespace).
fn highest_offsets(batch: &[Delivery]) -> BTreeMap<(&str, i32), i64> {
    let mut highest: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for delivery in batch {
        let offset = highest
            .entry((delivery.topic.as_str(), delivery.partition))
            .or_insert(delivery.offset);
        *offset = (*offset).max(delivery.offset);
    }
    highest
}

impl KafkaConsumer {
    /// Consumed count and lag (records behind the partition's end, from the
    /// watermarks librdkafka caches with each fetch: no extra request).
    fn record_progress(&self, batch: &[Delivery]) {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for delivery in batch {
            *counts.entry(delivery.topic.as_str()).or_default() += 1;
        }
        for (topic, count) in counts {
            metrics::add("switchboard_bus_consumed_total", &[("topic", topic)], count);
        }
        for ((topic, partition), offset) in highest_offsets(batch) {
            let Some((_, full_topic)) = self.full_topics.get(topic) else {
                continue;
            };
            let (mut low, mut high) = (0i64, 0i64);
            // SAFETY: the client pointer lives as long as `self.consumer`, the
            // topic is a valid C string, and the out-pointers are locals. This
            // reads librdkafka's cached watermarks; it makes no request.
            let error = unsafe {
                rdkafka::bindings::rd_kafka_get_watermark_offsets(
                    self.consumer.client().native_ptr(),
                    full_topic.as_ptr(),
                    partition,
                    &mut low,
                    &mut high,
                )
            };
            if error == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                && high > 0
            {
                let partition = partition.to_string();
                metrics::set_gauge(
                    "switchboard_bus_consumer_lag",
                    &[("topic", topic), ("partition", &partition)],
                    (high - offset - 1).max(0),
                );
            }
        }
    }

    fn delivery(&self, message: &rdkafka::message::BorrowedMessage<'_>) -> Delivery {
        Delivery {
            topic: message.topic()[self.namespace_len..].to_string(),
            key: message
                .key()
                .map(|key| String::from_utf8_lossy(key).into_owned())
                .unwrap_or_default(),
            payload: message.payload().unwrap_or_default().to_vec(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let mut batch = Vec::new();
        if self.full_topics.is_empty() {
            tokio::time::sleep(wait).await;
            return Ok(batch);
        }
        // librdkafka reports connection trouble as events in the consumer's
        // queue (all brokers down, transport failures) and recovers by itself:
        // they are news, not a failed read. An outage can leave dozens queued;
        // answering each with an error (and the role with a 1 s backoff) kept
        // the inbound role idle for half a minute after the broker was back.
        // So they are read past until a record comes or the wait is over, and
        // the last one is the answer only if no record came.
        let deadline = tokio::time::Instant::now() + wait;
        let mut last_error = None;
        loop {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Err(_) => break,
                Ok(Err(error)) => last_error = Some(error),
                Ok(Ok(message)) => {
                    batch.push(self.delivery(&message));
                    break;
                }
            }
        }
        if batch.is_empty() {
            return match last_error {
                Some(error) => Err(unavailable(error)),
                None => Ok(batch),
            };
        }
        while batch.len() < max {
            match tokio::time::timeout(BATCH_LINGER, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(self.delivery(&message)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "consumer error while filling a batch");
                    break;
                }
                Err(_) => break,
            }
        }
        self.record_progress(&batch);
        Ok(batch)
    }

    async fn commit(&mut self, batch: &[Delivery]) -> Result<(), BusError> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for ((topic, partition), offset) in highest_offsets(batch) {
            let Some((full, _)) = self.full_topics.get(topic) else {
                continue;
            };
            // librdkafka stores offset + 1: the next record to read.
            match self.consumer.store_offset(full, partition, offset) {
                Ok(()) => {}
                // The partition was revoked meanwhile: its new owner redoes the
                // batch, which the idempotent writer absorbs.
                Err(KafkaError::StoreOffset(RDKafkaErrorCode::State)) => {
                    tracing::info!(topic = %full, partition, "partition revoked before its offset was stored");
                }
                Err(error) => return Err(unavailable(error)),
            }
        }
        for delivery in batch {
            *counts.entry(delivery.topic.as_str()).or_default() += 1;
        }
        for (topic, count) in counts {
            metrics::add(
                "switchboard_bus_committed_total",
                &[("topic", topic)],
                count,
            );
        }
        Ok(())
    }
}

impl Drop for KafkaConsumer {
    fn drop(&mut self) {
        // Hand the stored offsets to the broker before the group rebalances.
        let _ = self
            .consumer
            .commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
    }
}

/// Reads every partition of `full` from the first offset at or after
/// `since_micros` to the end it had when the read began, without a group.
fn read_retained(
    settings: &KafkaSettings,
    full: &str,
    topic: &str,
    since_micros: i64,
) -> Result<Vec<Delivery>, BusError> {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::{Offset, TopicPartitionList};
    const TIMEOUT: Duration = Duration::from_secs(10);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set(
            "group.id",
            format!("{}switchboard-replay", settings.namespace),
        )
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .map_err(unavailable)?;
    let metadata = consumer
        .fetch_metadata(Some(full), TIMEOUT)
        .map_err(unavailable)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut wanted = TopicPartitionList::new();
    for &partition in &partitions {
        wanted
            .add_partition_offset(full, partition, Offset::Offset(since_micros / 1000))
            .map_err(unavailable)?;
    }
    let starts = consumer
        .offsets_for_times(wanted, TIMEOUT)
        .map_err(unavailable)?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for element in starts.elements() {
        let (_, high) = consumer
            .fetch_watermarks(full, element.partition(), TIMEOUT)
            .map_err(unavailable)?;
        let start = match element.offset() {
            Offset::Offset(offset) => offset,
            // No record at or after the time in this partition.
            _ => high,
        };
        if start < high {
            assignment
                .add_partition_offset(full, element.partition(), Offset::Offset(start))
                .map_err(unavailable)?;
            ends.insert(element.partition(), high);
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&assignment).map_err(unavailable)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut done: BTreeMap<i32, bool> = ends.keys().map(|p| (*p, false)).collect();
    while done.values().any(|finished| !finished) && std::time::Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.map_err(unavailable)?;
        let partition = message.partition();
        if message.offset() + 1 >= ends[&partition] {
            done.insert(partition, true);
        }
        if message.offset() < ends[&partition] {
            out.push(Delivery {
                topic: topic.to_string(),
                key: message
                    .key()
                    .map(|key| String::from_utf8_lossy(key).into_owned())
                    .unwrap_or_default(),
                payload: message.payload().unwrap_or_default().to_vec(),
                partition,
                offset: message.offset(),
            });
        }
    }
    Ok(out)
}
