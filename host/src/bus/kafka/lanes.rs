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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
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

pub(super) struct Lanes {
    producer: FutureProducer,
    /// The lanes with a request in flight, each with what gathered behind
    /// it. A lane is in the map exactly while a task drains it.
    gathering: Mutex<HashMap<LaneId, Vec<Waiting>>>,
}

/// What a caller awaits for one record: its acknowledgement, or the error
/// that kept it from being stored.
pub(super) type Acknowledgement = oneshot::Receiver<Result<(), KafkaError>>;

impl Lanes {
    pub(super) fn new(producer: FutureProducer) -> Arc<Lanes> {
        Arc::new(Lanes {
            producer,
            gathering: Mutex::new(HashMap::new()),
        })
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
        let mut in_flight = Vec::with_capacity(batch.len());
        for waiting in batch {
            let record = FutureRecord::to(topic)
                .partition(*partition)
                .key(&waiting.key)
                .payload(&waiting.payload);
            match self.producer.send_result(record) {
                Ok(delivery) => in_flight.push((delivery, waiting.acknowledged)),
                // librdkafka's queue is full or the record is refused: this
                // record fails now and its caller retries it.
                Err((error, _)) => {
                    let _ = waiting.acknowledged.send(Err(error));
                }
            }
        }
        for (delivery, acknowledged) in in_flight {
            let outcome = match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((error, _))) => Err(error),
                Err(_) => Err(KafkaError::Canceled),
            };
            let _ = acknowledged.send(outcome);
        }
    }
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
