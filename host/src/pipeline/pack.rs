//! Normalized events travel to the writer packed: one record per partition
//! of `channel.inbound.normalized` per inbound batch, instead of one record
//! per event.
//!
//! Why: every record costs the broker a stored row and a fetched one, and
//! costs both ends of the client a delivery callback and a wake-up; on two
//! cores that per-record cost, not the bytes, is what limits a webhook's trip
//! (see the distributed benchmark in the README). The writer applies events
//! in transactions of hundreds anyway, so packing them on the way loses
//! nothing.
//!
//! Order: an event's partition is a stable hash of its key (channel account +
//! provider thread), so one conversation's events always land in the same
//! partition, in the order they were normalized, exactly as keyed records
//! would. The pack's own key is the partition's name.
//!
//! Format: `{"events": [<Normalized>, ...]}`. The writer also reads a bare
//! `Normalized` object, as records written before packing were, and reads
//! each event of a pack on its own (`envelope::read_normalized`).
//!
//! Repartitioning: when partitions are added, a conversation's next events
//! may hash to another partition while older ones still wait in the first,
//! so the writer can see them out of order for a moment (as with keyed
//! records in Kafka). The writer already takes an edit or a status before
//! its message; drain `channel.inbound.normalized` before adding partitions
//! to avoid even that. Every process reads the count again within a minute.

use std::collections::BTreeMap;

use crate::bus::Record;

use super::envelope::topics;

/// Largest pack payload; a lane with more starts a second pack. Well under
/// the 1 MB a Kafka record may have by default.
pub const MAX_PACK_BYTES: usize = 256 << 10;

/// A key's partition among `partitions`: FNV-1a, stable across processes,
/// builds and restarts (unlike std's randomly seeded hasher).
pub fn partition_of(key: &str, partitions: usize) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % partitions.max(1) as u64) as i32
}

/// Replaces the one-event records of `channel.inbound.normalized` in
/// `records` with packs, one per partition (more when a partition's events
/// pass [`MAX_PACK_BYTES`]), keeping each partition's events in order. Other
/// records (dead letters) pass through untouched, ahead of the packs.
pub fn pack_normalized(records: Vec<Record>, partitions: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut lanes: BTreeMap<i32, Vec<Vec<u8>>> = BTreeMap::new();
    for record in records {
        if record.topic == topics::NORMALIZED {
            lanes
                .entry(partition_of(&record.key, partitions))
                .or_default()
                .push(record.payload);
        } else {
            out.push(record);
        }
    }
    for (partition, events) in lanes {
        let mut pack = PackBuilder::new();
        for event in events {
            if !pack.is_empty()
                && pack.len() + event.len() + PackBuilder::TAIL.len() + 1 > MAX_PACK_BYTES
            {
                out.push(pack.finish(partition));
                pack = PackBuilder::new();
            }
            pack.push(&event);
        }
        out.push(pack.finish(partition));
    }
    out
}

/// Writes `{"events":[a,b,...]}` from already serialized events.
struct PackBuilder {
    bytes: Vec<u8>,
    count: usize,
}

impl PackBuilder {
    const HEAD: &'static [u8] = b"{\"events\":[";
    const TAIL: &'static [u8] = b"]}";

    fn new() -> Self {
        PackBuilder {
            bytes: Self::HEAD.to_vec(),
            count: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn push(&mut self, event: &[u8]) {
        if self.count > 0 {
            self.bytes.push(b',');
        }
        self.bytes.extend_from_slice(event);
        self.count += 1;
    }

    fn finish(mut self, partition: i32) -> Record {
        self.bytes.extend_from_slice(Self::TAIL);
        Record {
            topic: topics::NORMALIZED.into(),
            key: format!("partition-{partition}"),
            partition: Some(partition),
            payload: self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::envelope::{read_normalized, Normalized};
    use crate::plugin::types::{Event, EventBody};

    fn event_with(key: &str, n: usize, note: &str) -> Record {
        let normalized = Normalized {
            channel_id: "c1".into(),
            workspace_id: "w1".into(),
            provider: "telegram".into(),
            received_at: n as i64,
            event: Event {
                dedup_key: format!("{key}/{n}"),
                body: EventBody::Ignore(note.into()),
            },
        };
        Record {
            topic: topics::NORMALIZED.into(),
            key: key.into(),
            partition: None,
            payload: serde_json::to_vec(&normalized).unwrap(),
        }
    }

    fn event(key: &str, n: usize) -> Record {
        event_with(key, n, "x")
    }

    /// (key, received_at) of each event in a pack, in order.
    fn received_at(record: &Record) -> Vec<(String, i64)> {
        read_normalized(&record.payload)
            .into_iter()
            .map(|event| {
                let event = event.expect("every packed event reads");
                let key = event.event.dedup_key.split('/').next().unwrap();
                (key.to_string(), event.received_at)
            })
            .collect()
    }

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("c1:42", 4), partition_of("c1:42", 4));
        assert_eq!(partition_of("anything", 1), 0);
        assert_eq!(partition_of("anything", 0), 0);
        let used: std::collections::BTreeSet<i32> = (0..200)
            .map(|chat| partition_of(&format!("c1:{chat}"), 4))
            .collect();
        assert_eq!(used.len(), 4);
    }

    #[test]
    fn one_pack_per_partition_keeps_each_threads_order() {
        let mut records = Vec::new();
        for n in 0..60 {
            records.push(event(&format!("c1:{}", n % 7), n));
        }
        let letter = Record {
            topic: topics::DEADLETTER.into(),
            key: "k".into(),
            partition: None,
            payload: b"{}".to_vec(),
        };
        records.insert(5, letter);
        let packed = pack_normalized(records, 4);
        assert_eq!(packed[0].topic, topics::DEADLETTER);
        let packs = &packed[1..];
        assert!(packs.len() <= 4);
        let mut seen = 0;
        for pack in packs {
            let events = received_at(pack);
            for (key, _) in &events {
                assert_eq!(Some(partition_of(key, 4)), pack.partition);
            }
            for thread in 0..7 {
                let order: Vec<i64> = events
                    .iter()
                    .filter(|(key, _)| *key == format!("c1:{thread}"))
                    .map(|(_, at)| *at)
                    .collect();
                assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
            }
            seen += events.len();
        }
        assert_eq!(seen, 60);
    }

    #[test]
    fn a_full_lane_starts_another_pack() {
        let big = "x".repeat(40 << 10);
        let records: Vec<Record> = (0..20).map(|n| event_with("c1:1", n, &big)).collect();
        let packs = pack_normalized(records, 4);
        assert!(packs.len() >= 4, "{} packs", packs.len());
        let mut all = Vec::new();
        for pack in &packs {
            assert!(pack.payload.len() <= MAX_PACK_BYTES);
            all.extend(received_at(pack).into_iter().map(|(_, at)| at));
        }
        assert_eq!(all, (0..20).collect::<Vec<i64>>());
    }

    #[test]
    fn a_bare_event_still_reads() {
        let record = event("c1:1", 7);
        let events = read_normalized(&record.payload);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].as_ref().unwrap().received_at, 7);
    }

    #[test]
    fn an_unreadable_event_costs_only_itself() {
        let good = event("c1:1", 1);
        let payload = format!(
            "{{\"events\":[{},{{\"from\":\"the future\"}}]}}",
            String::from_utf8(good.payload).unwrap()
        );
        let events = read_normalized(payload.as_bytes());
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].as_ref().unwrap().received_at, 1);
        let unreadable = events[1].as_ref().unwrap_err();
        assert_eq!(unreadable.payload, "{\"from\":\"the future\"}");
        assert!(
            unreadable.reason.contains("2 of 2"),
            "{}",
            unreadable.reason
        );
        let garbage = read_normalized(b"not json");
        assert!(garbage[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("neither a pack"));
    }
}
