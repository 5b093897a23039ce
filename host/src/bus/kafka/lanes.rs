//! Group commit per partition, in front of the idempotent producer.
//!
//! librdkafka's idempotent producer sends a partition's next request only
//! while fewer than five of that partition's *messages* are in flight
//! (`RD_KAFKA_IDEMP_MAX_INFLIGHT` is compared with a message count), so in
//! practice one request per partition is with the broker at a time. Records
//! handed to it meanwhile wait in its queue, and once their linger has passed
//! its broker thread polls without sleeping until the acknowledgement comes:
//! measured on tansu, that spinning was a quarter of Switchboard's CPU during
//! a burst.
//!
//! So records wait here instead, in an async queue per partition (a lane).
//! While a lane's request is in flight, what arrives gathers in the lane; when
//! the acknowledgement comes, everything gathered goes to librdkafka at once
//! and leaves as the next request. The batch grows with the load by itself,
//! nothing spins, and librdkafka's linger only has to cover one hand-over.
//!
//! Order: a lane sends its records in the order they were queued, and
//! `publish` queues a call's records in order, so records of one publish keep
//! their order, and a publish that starts after another returned lands after
//! it, as with the producer alone.
//!
//! Retiring a producer: when records time out (the broker was unreachable),
//! librdkafka's idempotent producer resets its sequence numbers by bumping
//! its epoch locally and carries on. tansu 0.6.0's SQLite engine panics on
//! the first produce with a bumped epoch and then fails every request until
//! it is restarted, so a broker outage would be followed by a broker that
//! refuses everything. A producer whose records timed out is therefore
//! replaced by a fresh one (which asks the broker for a new producer id) and
//! purged before it can send with the bumped epoch. The records it still held
//! fail at once; their callers answer 503 and the providers retry, and the
//! writer's dedup absorbs any that the broker had stored after all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _, PurgeConfig};
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::oneshot;

/// A topic (full name, with the namespace) and one of its partitions.
type LaneId = (String, i32);

/// A record placed on a partition, ready to send.
pub(super) struct Placed {
    pub topic: String,
    pub partition: i32,
    pub key: String,
    pub payload: Vec<u8>,
}

/// A queued record and whoever waits for its acknowledgement.
struct Waiting {
    key: String,
    payload: Vec<u8>,
    acknowledged: oneshot::Sender<Result<(), KafkaError>>,
}

/// Creates a producer with the bus's settings.
pub(super) type Connect = Box<dyn Fn() -> Result<FutureProducer, KafkaError> + Send + Sync>;

pub(super) struct Lanes {
    connect: Connect,
    current: Mutex<Generation>,
    /// The lanes with a request in flight, each with what gathered behind
    /// it. A lane is in the map exactly while a task drains it.
    gathering: Mutex<HashMap<LaneId, Vec<Waiting>>>,
}

/// The producer records are handed to, and how many were retired before it.
struct Generation {
    number: u64,
    producer: Arc<FutureProducer>,
}

/// How long a retired producer's purge waits for the tasks that still hold
/// it (lanes awaiting the purged deliveries, metadata lookups) before it
/// lets go of it anyway.
const RETIRE_WAIT: Duration = Duration::from_secs(30);

/// What a caller awaits for one record: its acknowledgement, or the error
/// that kept it from being stored.
pub(super) type Acknowledgement = oneshot::Receiver<Result<(), KafkaError>>;

impl Lanes {
    pub(super) fn new(connect: Connect) -> Result<Arc<Lanes>, KafkaError> {
        let producer = Arc::new(connect()?);
        Ok(Arc::new(Lanes {
            connect,
            current: Mutex::new(Generation {
                number: 0,
                producer,
            }),
            gathering: Mutex::new(HashMap::new()),
        }))
    }

    /// The producer in use, for metadata lookups, and its generation.
    pub(super) fn producer(&self) -> (u64, Arc<FutureProducer>) {
        let current = self.current.lock().unwrap();
        (current.number, current.producer.clone())
    }

    /// The generation of the producer in use, for `retire`.
    pub(super) fn generation(&self) -> u64 {
        self.current.lock().unwrap().number
    }

    /// Replaces the producer of `generation` with a fresh one, once: records
    /// of that generation timed out (see the module's notes). Later calls for
    /// the same generation find it replaced already and do nothing.
    pub(super) fn retire(&self, generation: u64, why: &str) {
        let retired = {
            let mut current = self.current.lock().unwrap();
            if current.number != generation {
                return;
            }
            let fresh = match (self.connect)() {
                Ok(producer) => producer,
                Err(error) => {
                    tracing::error!(%error, "cannot create a producer to replace one whose records timed out; keeping it");
                    return;
                }
            };
            std::mem::replace(
                &mut *current,
                Generation {
                    number: generation + 1,
                    producer: Arc::new(fresh),
                },
            )
        };
        tracing::warn!(
            generation,
            reason = why,
            "replacing the Kafka producer: its records timed out, and its epoch bump would break tansu"
        );
        // Purging and destroying a librdkafka client block: off the async workers.
        tokio::task::spawn_blocking(move || purge_and_close(retired.producer));
    }

    /// Queues the records on their lanes, in order; one acknowledgement per
    /// record, in the same order. Dropping an acknowledgement before the
    /// record was handed to librdkafka withdraws the record.
    pub(super) fn send(self: &Arc<Self>, records: Vec<Placed>) -> Vec<Acknowledgement> {
        let mut acknowledgements = Vec::with_capacity(records.len());
        let mut idle_lanes = Vec::new();
        {
            let mut gathering = self.gathering.lock().unwrap();
            for record in records {
                let (acknowledged, acknowledgement) = oneshot::channel();
                acknowledgements.push(acknowledgement);
                let lane = (record.topic, record.partition);
                let waiting = Waiting {
                    key: record.key,
                    payload: record.payload,
                    acknowledged,
                };
                match gathering.get_mut(&lane) {
                    Some(queue) => queue.push(waiting),
                    None => {
                        gathering.insert(lane.clone(), vec![waiting]);
                        idle_lanes.push(lane);
                    }
                }
            }
        }
        for lane in idle_lanes {
            tokio::spawn(self.clone().drain(lane));
        }
        acknowledgements
    }

    /// Sends what gathered on `lane`, waits for the broker, and repeats until
    /// nothing gathered meanwhile; then the lane is idle again.
    async fn drain(self: Arc<Self>, lane: LaneId) {
        loop {
            let batch = {
                let mut gathering = self.gathering.lock().unwrap();
                let queue = gathering
                    .get_mut(&lane)
                    .expect("a lane stays in the map while it is drained");
                // Callers that gave up (their publish timed out and answered
                // 503) are not sent for.
                queue.retain(|waiting| !waiting.acknowledged.is_closed());
                if queue.is_empty() {
                    gathering.remove(&lane);
                    return;
                }
                std::mem::take(queue)
            };
            self.send_batch(&lane, batch).await;
        }
    }

    async fn send_batch(&self, (topic, partition): &LaneId, batch: Vec<Waiting>) {
        let (generation, producer) = self.producer();
        let mut in_flight = Vec::with_capacity(batch.len());
        for waiting in batch {
            let record = FutureRecord::to(topic)
                .partition(*partition)
                .key(&waiting.key)
                .payload(&waiting.payload);
            match producer.send_result(record) {
                Ok(delivery) => in_flight.push((delivery, waiting.acknowledged)),
                // librdkafka's queue is full or the record is refused: this
                // record fails now and its caller retries it.
                Err((error, _)) => {
                    let _ = waiting.acknowledged.send(Err(error));
                }
            }
        }
        // Released before awaiting, so that a retired producer is not kept
        // alive by the lane that waits for its purged deliveries.
        drop(producer);
        for (delivery, acknowledged) in in_flight {
            let outcome = match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => Err(error),
                Err(_) => Err(KafkaError::Canceled),
            };
            if let Err(error) = &outcome {
                if timed_out(error) {
                    self.retire(generation, "a record timed out in librdkafka");
                }
            }
            let _ = acknowledged.send(outcome);
        }
    }
}

/// Whether librdkafka gave up on a record for lack of an answer: the case in
/// which its idempotent producer bumps its epoch.
fn timed_out(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageTimedOut | RDKafkaErrorCode::RequestTimedOut
        )
    )
}

/// Fails every record a retired producer still holds (their callers get an
/// error at once), waits until nobody else holds the producer, and closes
/// it here, on a blocking thread: closing joins its threads.
fn purge_and_close(producer: Arc<FutureProducer>) {
    producer.purge(PurgeConfig::default().queue().inflight());
    let started = Instant::now();
    while Arc::strong_count(&producer) > 1 && started.elapsed() < RETIRE_WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(producer);
}

/// The partition librdkafka's default partitioner (`consistent_random`)
/// gives a non-empty key: CRC-32 of the key modulo the partition count. Keyed
/// records land where they did before the lanes placed them.
pub(super) fn partition_of_key(key: &[u8], partitions: usize) -> i32 {
    (crc32fast::hash(key) % partitions as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;

    /// Producers for a broker nobody listens on: records stay in them until
    /// they are purged (their timeout is an hour).
    fn unreachable_broker() -> Connect {
        Box::new(|| {
            ClientConfig::new()
                .set("bootstrap.servers", "127.0.0.1:1")
                .set("enable.idempotence", "true")
                .set("message.timeout.ms", "3600000")
                .create()
        })
    }

    #[tokio::test]
    async fn retiring_a_producer_fails_what_it_holds_at_once_and_replaces_it_once() {
        let lanes = Lanes::new(unreachable_broker()).unwrap();
        let lane: LaneId = ("switchboard-test".into(), 0);
        let acknowledgement = lanes
            .send(vec![Placed {
                topic: lane.0.clone(),
                partition: lane.1,
                key: "account".into(),
                payload: b"webhook".to_vec(),
            }])
            .pop()
            .unwrap();
        // On this single-threaded runtime the lane's task takes its queue and
        // hands the record to librdkafka in one step, before its first await.
        while lanes
            .gathering
            .lock()
            .unwrap()
            .get(&lane)
            .is_some_and(|queue| !queue.is_empty())
        {
            tokio::task::yield_now().await;
        }

        lanes.retire(0, "test");
        lanes.retire(0, "the same timeout, seen by a second caller");
        assert_eq!(lanes.generation(), 1, "one replacement per generation");

        let outcome = tokio::time::timeout(Duration::from_secs(30), acknowledgement)
            .await
            .expect("the retired producer's record fails when it is purged, not after its timeout")
            .expect("the lane answers every record");
        assert!(
            matches!(
                outcome,
                Err(KafkaError::MessageProduction(
                    RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight
                ))
            ),
            "{outcome:?}"
        );
        lanes.retire(1, "the fresh producer timed out too");
        assert_eq!(lanes.generation(), 2);
    }

    #[test]
    fn keys_land_where_librdkafka_puts_them() {
        // CRC-32 (IEEE) check value of "123456789" is 0xCBF43926.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            partition_of_key(b"123456789", 4),
            (0xCBF4_3926u32 % 4) as i32
        );
        let spread: std::collections::BTreeSet<i32> = (0..64)
            .map(|chat| partition_of_key(chat.to_string().as_bytes(), 4))
            .collect();
        assert_eq!(spread, (0..4).collect());
    }
}
