//! The embedded bus against a real SQLite file: order, offsets, consumer
//! groups, waiting polls and group commit under concurrent publishers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::EmbeddedBus;
use crate::bus::{Bus, Consumer, Delivery, Latency, Record};
use crate::store::Db;

const TOPIC: &str = "channel.webhook.telegram";

async fn bus() -> (TempDir, Db, Arc<EmbeddedBus>) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let db = Db::open(&url).await.expect("open the database");
    let bus = EmbeddedBus::start(db.clone());
    (dir, db, bus)
}

fn record(topic: &str, key: &str, payload: &str) -> Record {
    Record {
        topic: topic.to_string(),
        key: key.to_string(),
        partition: None,
        payload: payload.as_bytes().to_vec(),
    }
}

fn payloads(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|delivery| String::from_utf8(delivery.payload.clone()).expect("UTF-8 payload"))
        .collect()
}

fn assert_increasing(deliveries: &[Delivery]) {
    for pair in deliveries.windows(2) {
        assert!(
            pair[0].offset < pair[1].offset,
            "offsets must increase: {} then {}",
            pair[0].offset,
            pair[1].offset
        );
    }
}

/// Polls until `expected` records arrived (or 20 s passed) and returns them all.
async fn drain(consumer: &mut dyn Consumer, expected: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut all = Vec::new();
    while all.len() < expected && Instant::now() < deadline {
        let batch = consumer
            .poll(500, Duration::from_millis(200))
            .await
            .expect("poll");
        all.extend(batch);
    }
    all
}

async fn publish(bus: &EmbeddedBus, records: &[(&str, &str)]) {
    let records = records
        .iter()
        .map(|(key, payload)| record(TOPIC, key, payload))
        .collect();
    bus.publish(records).await.expect("publish");
}

#[tokio::test]
async fn publish_then_poll_returns_records_in_order_with_increasing_offsets() {
    let (_dir, _db, bus) = bus().await;
    publish(&bus, &[("chat-1", "a"), ("chat-2", "b")]).await;
    bus.publish(vec![record("channel.other", "chat-1", "elsewhere")])
        .await
        .unwrap();
    publish(&bus, &[("chat-1", "c")]).await;

    let mut consumer = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let got = consumer.poll(100, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&got), ["a", "b", "c"], "only this topic, in order");
    assert_increasing(&got);
    assert!(got.iter().all(|delivery| delivery.topic == TOPIC));
    let keys: Vec<&str> = got.iter().map(|delivery| delivery.key.as_str()).collect();
    assert_eq!(keys, ["chat-1", "chat-2", "chat-1"]);

    // Nothing new: an empty answer once the wait is over.
    let none = consumer.poll(100, Duration::from_millis(50)).await.unwrap();
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn poll_returns_at_most_max_and_continues_where_it_stopped() {
    let (_dir, _db, bus) = bus().await;
    publish(
        &bus,
        &[("k", "1"), ("k", "2"), ("k", "3"), ("k", "4"), ("k", "5")],
    )
    .await;
    let mut consumer = bus
        .subscribe("g", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let first = consumer.poll(2, Duration::from_secs(1)).await.unwrap();
    let second = consumer.poll(2, Duration::from_secs(1)).await.unwrap();
    let third = consumer.poll(2, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&first), ["1", "2"]);
    assert_eq!(payloads(&second), ["3", "4"]);
    assert_eq!(payloads(&third), ["5"]);
    let all: Vec<Delivery> = [first, second, third].concat();
    assert_increasing(&all);
}

#[tokio::test]
async fn an_empty_publish_is_accepted_and_stores_nothing() {
    let (_dir, db, bus) = bus().await;
    bus.publish(Vec::new()).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_records")
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(bus.ready().await);
}

#[tokio::test]
async fn a_group_resumes_after_its_committed_offset() {
    let (_dir, _db, bus) = bus().await;
    publish(&bus, &[("k", "a"), ("k", "b"), ("k", "c")]).await;

    let mut consumer = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let got = consumer.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&got), ["a", "b", "c"]);
    consumer.commit(&got[..=2]).await.unwrap();
    drop(consumer);

    publish(&bus, &[("k", "d"), ("k", "e")]).await;
    let mut resumed = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let later = resumed.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        payloads(&later),
        ["d", "e"],
        "only records after the commit"
    );
    assert!(later[0].offset > got[2].offset);
}

#[tokio::test]
async fn uncommitted_records_are_redelivered_and_commits_never_go_back() {
    let (_dir, _db, bus) = bus().await;
    publish(&bus, &[("k", "a"), ("k", "b"), ("k", "c")]).await;

    // Polled but not committed: a new subscriber gets everything again.
    let mut consumer = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let got = consumer.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 3);
    drop(consumer);
    let mut again = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let redelivered = again.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&redelivered), ["a", "b", "c"]);

    // Commit "b", then an older offset: the group stays after "b".
    again.commit(&redelivered[..=1]).await.unwrap();
    again.commit(&redelivered[..=0]).await.unwrap();
    drop(again);
    let mut resumed = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let rest = resumed.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&rest), ["c"]);
}

#[tokio::test]
async fn two_groups_are_independent() {
    let (_dir, _db, bus) = bus().await;
    publish(&bus, &[("k", "a"), ("k", "b")]).await;

    let mut writer = bus
        .subscribe("writer", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let seen = writer.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&seen), ["a", "b"]);
    writer.commit(&seen[..=1]).await.unwrap();

    let mut audit = bus
        .subscribe("audit", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let audited = audit.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        payloads(&audited),
        ["a", "b"],
        "another group starts at the beginning"
    );
    audit.commit(&audited[..=0]).await.unwrap();

    publish(&bus, &[("k", "c")]).await;
    let mut writer = bus
        .subscribe("writer", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let mut audit = bus
        .subscribe("audit", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let writer_next = writer.poll(10, Duration::from_secs(1)).await.unwrap();
    let audit_next = audit.poll(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(payloads(&writer_next), ["c"]);
    assert_eq!(payloads(&audit_next), ["b", "c"]);
}

#[tokio::test]
async fn poll_waits_for_a_publish() {
    let (_dir, _db, bus) = bus().await;
    let mut consumer = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let publisher = Arc::clone(&bus);
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        publisher
            .publish(vec![record(TOPIC, "k", "late")])
            .await
            .expect("publish");
    });
    let got = consumer.poll(10, Duration::from_secs(5)).await.unwrap();
    assert_eq!(payloads(&got), ["late"]);
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_publishers_all_land_exactly_once() {
    const TASKS: usize = 8;
    const PER_TASK: usize = 200;
    let (_dir, db, bus) = bus().await;

    let mut publishers = Vec::new();
    for task in 0..TASKS {
        let bus = Arc::clone(&bus);
        publishers.push(tokio::spawn(async move {
            for i in 0..PER_TASK {
                bus.publish(vec![record(
                    TOPIC,
                    &format!("task-{task}"),
                    &format!("{task}:{i}"),
                )])
                .await
                .expect("publish");
            }
        }));
    }
    for publisher in publishers {
        publisher.await.expect("publisher task");
    }

    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_records WHERE topic = ?")
        .bind(TOPIC)
        .fetch_one(&db.read)
        .await
        .unwrap();
    assert_eq!(rows, (TASKS * PER_TASK) as i64);

    let mut consumer = bus
        .subscribe("inbound", &[TOPIC.to_string()], Latency::Prompt)
        .await
        .unwrap();
    let all = drain(consumer.as_mut(), TASKS * PER_TASK).await;
    assert_eq!(all.len(), TASKS * PER_TASK);
    assert_increasing(&all);

    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut next_of_task = [0usize; TASKS];
    for delivery in &all {
        let text = String::from_utf8(delivery.payload.clone()).unwrap();
        *seen.entry(text.clone()).or_default() += 1;
        let (task, i) = text.split_once(':').unwrap();
        let (task, i): (usize, usize) = (task.parse().unwrap(), i.parse().unwrap());
        assert_eq!(delivery.key, format!("task-{task}"));
        assert_eq!(
            i, next_of_task[task],
            "one publisher's records stay in the order it published them"
        );
        next_of_task[task] += 1;
    }
    assert_eq!(seen.len(), TASKS * PER_TASK);
    assert!(seen.values().all(|&count| count == 1));
    assert!(next_of_task.iter().all(|&n| n == PER_TASK));
}

#[tokio::test]
async fn one_consumer_reads_several_topics_and_commits_each() {
    let (_dir, _db, bus) = bus().await;
    let other = "channel.webhook.vk";
    let topics = [TOPIC.to_string(), other.to_string()];
    bus.publish(vec![
        record(TOPIC, "a", "t1"),
        record(other, "b", "v1"),
        record("channel.unrelated", "c", "x"),
        record(TOPIC, "a", "t2"),
    ])
    .await
    .unwrap();
    let mut consumer = bus
        .subscribe("inbound", &topics, Latency::Prompt)
        .await
        .unwrap();
    let first = drain(consumer.as_mut(), 3).await;
    assert_eq!(
        payloads(&first),
        ["t1", "v1", "t2"],
        "append order across topics"
    );
    assert_eq!(first[1].topic, other);
    assert_increasing(&first);
    // Commit only what came from the first topic: the other is redelivered.
    let telegram_only: Vec<Delivery> = first.iter().filter(|d| d.topic == TOPIC).cloned().collect();
    consumer.commit(&telegram_only).await.unwrap();
    drop(consumer);
    bus.publish(vec![record(other, "b", "v2")]).await.unwrap();
    let mut resumed = bus
        .subscribe("inbound", &topics, Latency::Prompt)
        .await
        .unwrap();
    assert_eq!(payloads(&drain(resumed.as_mut(), 2).await), ["v1", "v2"]);
}
