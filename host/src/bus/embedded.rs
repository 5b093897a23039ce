//! The embedded bus: topics as rows of `bus_records` in the database file.
//!
//! Publishing goes through one task that groups whatever arrived while the
//! previous transaction was committing into the next one (group commit), so
//! many concurrent webhooks share one commit instead of queueing for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot, Notify};

use super::{Bus, BusError, Consumer, Delivery, Latency, Record};
use crate::metrics;
use crate::store::{now_micros, Db};

/// Most records in one group commit: bounds the transaction's size and the
/// latency of the first publisher in the group.
const MAX_GROUP_RECORDS: usize = 2048;
/// Publish requests waiting for the committer before publishers wait too.
const QUEUE_DEPTH: usize = 4096;

type Ack = oneshot::Sender<Result<(), String>>;

pub struct EmbeddedBus {
    db: Db,
    queue: mpsc::Sender<(Vec<Record>, Ack)>,
    appended: Arc<Notify>,
}

impl EmbeddedBus {
    pub fn start(db: Db) -> Arc<Self> {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let appended = Arc::new(Notify::new());
        tokio::spawn(commit_loop(db.clone(), requests, Arc::clone(&appended)));
        Arc::new(EmbeddedBus {
            db,
            queue,
            appended,
        })
    }
}

async fn commit_loop(
    db: Db,
    mut requests: mpsc::Receiver<(Vec<Record>, Ack)>,
    appended: Arc<Notify>,
) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        let mut count = group[0].0.len();
        while count < MAX_GROUP_RECORDS {
            match requests.try_recv() {
                Ok(next) => {
                    count += next.0.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let result = append(&db, &group).await.map_err(|error| error.to_string());
        if let Err(error) = &result {
            tracing::error!(%error, "embedded bus could not append records");
        } else {
            appended.notify_waiters();
        }
        for (_, ack) in group {
            let _ = ack.send(result.clone());
        }
    }
}

async fn append(db: &Db, group: &[(Vec<Record>, Ack)]) -> Result<(), sqlx::Error> {
    let now = now_micros();
    let mut tx = db.write.begin().await?;
    for record in group.iter().flat_map(|(records, _)| records) {
        sqlx::query(
            "INSERT INTO bus_records (topic, key, payload, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&record.topic)
        .bind(&record.key)
        .bind(&record.payload)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn publish(&self, records: Vec<Record>) -> Result<(), BusError> {
        if records.is_empty() {
            return Ok(());
        }
        let (ack, acked) = oneshot::channel();
        self.queue
            .send((records, ack))
            .await
            .map_err(|_| BusError::Unavailable("the bus committer has stopped".into()))?;
        acked
            .await
            .map_err(|_| BusError::Unavailable("the bus committer has stopped".into()))?
            .map_err(BusError::Unavailable)
    }

    /// Publishes wake consumers in-process, so every consumer is prompt.
    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
        _latency: Latency,
    ) -> Result<Box<dyn Consumer>, BusError> {
        let mut positions = BTreeMap::new();
        for topic in topics {
            let committed: Option<i64> = sqlx::query_scalar(
                "SELECT committed_seq FROM bus_offsets WHERE consumer_group = $1 AND topic = $2",
            )
            .bind(group)
            .bind(topic)
            .fetch_optional(&self.db.read)
            .await?;
            positions.insert(topic.clone(), committed.unwrap_or(0));
        }
        Ok(Box::new(EmbeddedConsumer {
            db: self.db.clone(),
            group: group.to_string(),
            positions,
            appended: Arc::clone(&self.appended),
        }))
    }

    async fn ready(&self) -> bool {
        !self.queue.is_closed() && self.db.ping().await
    }

    async fn retained(&self, topic: &str, since_micros: i64) -> Result<Vec<Delivery>, BusError> {
        let rows = sqlx::query(
            "SELECT seq, key, payload FROM bus_records WHERE topic = $1 AND created_at >= $2 ORDER BY seq",
        )
        .bind(topic)
        .bind(since_micros)
        .fetch_all(&self.db.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| Delivery {
                topic: topic.to_string(),
                key: row.get("key"),
                payload: row.get("payload"),
                partition: 0,
                offset: row.get("seq"),
            })
            .collect())
    }
}

/// Deletes records older than `retention` that every consumer group of
/// their topic has committed past; an unconsumed record is never dropped.
pub async fn prune(db: &Db, retention: Duration) -> Result<u64, sqlx::Error> {
    let before = now_micros() - retention.as_micros() as i64;
    Ok(sqlx::query(
        "DELETE FROM bus_records WHERE created_at < $1
           AND seq <= (SELECT MIN(committed_seq) FROM bus_offsets WHERE bus_offsets.topic = bus_records.topic)",
    )
    .bind(before)
    .execute(&db.write)
    .await?
    .rows_affected())
}

struct EmbeddedConsumer {
    db: Db,
    group: String,
    /// Per topic, the highest sequence number handed out by `poll`.
    positions: BTreeMap<String, i64>,
    appended: Arc<Notify>,
}

impl EmbeddedConsumer {
    /// The next records of every subscribed topic, in append order.
    async fn fetch(&self, max: usize) -> Result<Vec<Delivery>, sqlx::Error> {
        let conditions: Vec<String> = (0..self.positions.len())
            .map(|i| format!("(topic = ${} AND seq > ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "SELECT topic, seq, key, payload FROM bus_records WHERE {} ORDER BY seq LIMIT ${}",
            conditions.join(" OR "),
            2 * self.positions.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for (topic, position) in &self.positions {
            query = query.bind(topic).bind(*position);
        }
        let rows = query.bind(max as i64).fetch_all(&self.db.read).await?;
        Ok(rows
            .into_iter()
            .map(|row| Delivery {
                topic: row.get("topic"),
                key: row.get("key"),
                payload: row.get("payload"),
                partition: 0,
                offset: row.get("seq"),
            })
            .collect())
    }

    /// Consumed counts and lag of the topics in a batch.
    async fn record_progress(&self, records: &[Delivery]) -> Result<(), sqlx::Error> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for record in records {
            *counts.entry(record.topic.as_str()).or_default() += 1;
        }
        for (topic, count) in counts {
            metrics::add("switchboard_bus_consumed_total", &[("topic", topic)], count);
            let position = self.positions.get(topic).copied().unwrap_or(0);
            let end: Option<i64> =
                sqlx::query_scalar("SELECT MAX(seq) FROM bus_records WHERE topic = $1")
                    .bind(topic)
                    .fetch_one(&self.db.read)
                    .await?;
            metrics::set_gauge(
                "switchboard_bus_consumer_lag",
                &[("topic", topic), ("partition", "0")],
                end.unwrap_or(position) - position,
            );
        }
        Ok(())
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        if self.positions.is_empty() {
            tokio::time::sleep(wait).await;
            return Ok(Vec::new());
        }
        // Register for the wake-up before looking, so an append between the
        // query and the wait is not missed.
        let appended = Arc::clone(&self.appended);
        let notified = appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let mut records = self.fetch(max).await?;
        if records.is_empty() {
            let _ = tokio::time::timeout(wait, notified).await;
            records = self.fetch(max).await?;
        }
        for record in &records {
            if let Some(position) = self.positions.get_mut(&record.topic) {
                *position = (*position).max(record.offset);
            }
        }
        if !records.is_empty() {
            self.record_progress(&records).await?;
        }
        Ok(records)
    }

    async fn commit(&mut self, batch: &[Delivery]) -> Result<(), BusError> {
        let mut highest: BTreeMap<&str, i64> = BTreeMap::new();
        for delivery in batch {
            let offset = highest
                .entry(delivery.topic.as_str())
                .or_insert(delivery.offset);
            *offset = (*offset).max(delivery.offset);
        }
        for (topic, offset) in highest {
            sqlx::query(
                "INSERT INTO bus_offsets (consumer_group, topic, committed_seq) VALUES ($1, $2, $3)
                 ON CONFLICT (consumer_group, topic) DO UPDATE SET committed_seq = CASE WHEN bus_offsets.committed_seq > excluded.committed_seq THEN bus_offsets.committed_seq ELSE excluded.committed_seq END",
            )
            .bind(&self.group)
            .bind(topic)
            .bind(offset)
            .execute(&self.db.write)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "embedded_tests.rs"]
mod tests;
