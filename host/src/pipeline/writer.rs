//! Writer role: normalized events -> contacts, conversations, messages.
//! The offset is committed only after the database transaction.

use std::time::Duration;

use super::envelope::{read_normalized, topics, Normalized};
use super::{dead_letter_of, subscribe, Pipeline, FAILURE_BACKOFF};
use crate::bus::Latency;
use crate::metrics;
use crate::store::{now_micros, writer};

const GROUP: &str = "switchboard-writer";
/// Records per poll. A record is a pack of up to a few hundred events (or,
/// written before packing, one event).
const BATCH: usize = 64;
/// Events per transaction: one commit for many rows is what makes the
/// embedded default keep up with bursts; bounded so one transaction never
/// holds the database for long.
const EVENTS_PER_TRANSACTION: usize = 512;
const POLL_WAIT: Duration = Duration::from_millis(500);

pub async fn run(pipeline: Pipeline) {
    let mut consumer = subscribe(
        &pipeline.bus,
        GROUP,
        &[topics::NORMALIZED.to_string()],
        Latency::Prompt,
    )
    .await;
    loop {
        let batch = match consumer.poll(BATCH, POLL_WAIT).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "writer poll failed");
                tokio::time::sleep(FAILURE_BACKOFF).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let mut events = Vec::with_capacity(batch.len());
        let mut poison = Vec::new();
        for delivery in &batch {
            for event in read_normalized(&delivery.payload) {
                match event {
                    Ok(event) => events.push(event),
                    Err(unreadable) => poison.push(dead_letter_of(
                        delivery,
                        unreadable.payload,
                        unreadable.reason,
                    )),
                }
            }
        }
        for chunk in events.chunks(EVENTS_PER_TRANSACTION) {
            apply(&pipeline, chunk).await;
        }
        while let Err(error) = pipeline.bus.publish(poison.clone()).await {
            tracing::error!(%error, "cannot dead-letter; retrying");
            tokio::time::sleep(FAILURE_BACKOFF).await;
        }
        if let Err(error) = consumer.commit(&batch).await {
            tracing::error!(%error, "writer cannot commit offset");
        }
    }
}

/// Applies events in one transaction. A database failure pauses the writer
/// here until it succeeds: skipping ahead would lose events, and applying
/// is idempotent.
async fn apply(pipeline: &Pipeline, events: &[Normalized]) {
    let applied = loop {
        let started = std::time::Instant::now();
        match writer::apply_batch(&pipeline.db, events).await {
            Ok(applied) => {
                metrics::observe(
                    "switchboard_db_write_seconds",
                    &[],
                    started.elapsed().as_secs_f64(),
                );
                break applied;
            }
            Err(error) => {
                tracing::error!(%error, "writer transaction failed; retrying");
                metrics::inc("switchboard_writer_retries_total", &[]);
                tokio::time::sleep(FAILURE_BACKOFF).await;
            }
        }
    };
    let committed_at = now_micros();
    for (event, outcome) in events.iter().zip(&applied) {
        metrics::inc(
            "switchboard_events_applied_total",
            &[("provider", &event.provider), ("outcome", outcome.as_str())],
        );
        if *outcome == writer::Applied::Written {
            let seconds = (committed_at - event.received_at).max(0) as f64 / 1e6;
            metrics::observe("switchboard_webhook_to_commit_seconds", &[], seconds);
        }
    }
}
