//! Inbound role: raw webhooks -> the plugin's normalize -> normalized events.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use super::envelope::{topics, Normalized, RawWebhook};
use super::pack;
use super::{dead_letter, Following, Pipeline, FAILURE_BACKOFF};
use crate::bus::{Delivery, Latency, Record};
use crate::metrics;
use crate::plugin::types::{Channel, EventBody, IncomingRequest};
use crate::plugin::Plugin;
use crate::store::channels;

const GROUP: &str = "switchboard-inbound";
const WEBHOOK_TOPIC_PREFIX: &str = "channel.webhook.";
/// Records per poll: large enough to amortize instantiation across a batch
/// of one channel's webhooks, small enough to keep latency low.
const BATCH: usize = 256;
const POLL_WAIT: Duration = Duration::from_millis(500);

/// One consumer over the raw webhook topics of the providers in use; each
/// batch is normalized provider by provider.
pub async fn run(pipeline: Pipeline) {
    let mut following = Following::new(&pipeline, GROUP, Latency::Prompt, topics::webhook).await;
    loop {
        following.refresh(&pipeline).await;
        let batch = match following.consumer().poll(BATCH, POLL_WAIT).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "inbound poll failed");
                tokio::time::sleep(FAILURE_BACKOFF).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let mut by_provider: BTreeMap<&str, Vec<&Delivery>> = BTreeMap::new();
        for delivery in &batch {
            let provider = delivery
                .topic
                .strip_prefix(WEBHOOK_TOPIC_PREFIX)
                .unwrap_or(&delivery.topic);
            by_provider.entry(provider).or_default().push(delivery);
        }
        let mut records = Vec::new();
        let mut events: BTreeMap<&str, usize> = BTreeMap::new();
        let mut redo = None;
        for (provider, deliveries) in &by_provider {
            match process(&pipeline, provider, deliveries).await {
                Ok(mut more) => {
                    let normalized = more
                        .iter()
                        .filter(|record| record.topic == topics::NORMALIZED)
                        .count();
                    events.insert(provider, normalized);
                    records.append(&mut more);
                }
                Err(error) => {
                    redo = Some(error);
                    break;
                }
            }
        }
        // The database is unreachable: nothing in this batch is poison, so
        // redo it later rather than dead-letter what was accepted.
        if let Some(error) = redo {
            tracing::error!(%error, "cannot prepare the batch; will redo it");
            tokio::time::sleep(FAILURE_BACKOFF).await;
            following.resubscribe(&pipeline).await;
            continue;
        }
        // Publish, then commit: a crash in between redelivers the batch and
        // the writer's dedup absorbs the repeat.
        let published = match pipeline.bus.partitions(topics::NORMALIZED).await {
            Ok(partitions) => {
                let records = pack::pack_normalized(records, partitions);
                pipeline.bus.publish(records).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = published {
            tracing::error!(%error, "cannot publish normalized events; will redo the batch");
            tokio::time::sleep(FAILURE_BACKOFF).await;
            following.resubscribe(&pipeline).await;
            continue;
        }
        for (provider, deliveries) in &by_provider {
            metrics::add(
                "switchboard_webhooks_normalized_total",
                &[("provider", provider)],
                deliveries.len() as u64,
            );
            metrics::add(
                "switchboard_events_normalized_total",
                &[("provider", provider)],
                events.get(provider).copied().unwrap_or(0) as u64,
            );
        }
        if let Err(error) = following.consumer().commit(&batch).await {
            tracing::error!(%error, "inbound cannot commit offsets");
        }
    }
}

/// One parsed raw webhook ready for its plugin, or the reason it cannot be.
enum Prepared {
    Ready {
        channel: Box<Channel>,
        workspace_id: String,
        received_at: i64,
        request: IncomingRequest,
    },
    Poison(String),
}

async fn prepare(
    pipeline: &Pipeline,
    delivery: &Delivery,
    cache: &mut HashMap<String, Option<(Channel, String)>>,
) -> Result<Prepared, String> {
    let raw: RawWebhook = match serde_json::from_slice(&delivery.payload) {
        Ok(raw) => raw,
        Err(error) => {
            return Ok(Prepared::Poison(format!(
                "unreadable raw webhook record: {error}"
            )))
        }
    };
    let request = match raw.request.to_incoming() {
        Ok(request) => request,
        Err(error) => return Ok(Prepared::Poison(error)),
    };
    let Some(channel_id) = raw.channel_id else {
        return Ok(Prepared::Poison(
            "raw webhook names no channel account".into(),
        ));
    };
    if !cache.contains_key(&channel_id) {
        let loaded = match channels::get(&pipeline.db, &channel_id).await {
            Ok(Some(account)) => account
                .to_plugin(&pipeline.secrets, &pipeline.public_url)
                .ok()
                .map(|channel| (channel, account.workspace_id)),
            Ok(None) => None,
            Err(error) => return Err(format!("database error loading channel: {error}")),
        };
        cache.insert(channel_id.clone(), loaded);
    }
    Ok(match cache.get(&channel_id).cloned().flatten() {
        Some((channel, workspace_id)) => Prepared::Ready {
            channel: Box::new(channel),
            workspace_id,
            received_at: raw.received_at,
            request,
        },
        None => Prepared::Poison(format!(
            "channel account {channel_id} no longer exists or its credentials cannot be read"
        )),
    })
}

/// Normalizes a batch; returns what to publish, in input order, or an error
/// when the batch must be redone later (the database is unreachable).
async fn process(
    pipeline: &Pipeline,
    provider: &str,
    batch: &[&Delivery],
) -> Result<Vec<Record>, String> {
    if pipeline.plugins.get(provider).is_none() {
        return Ok(batch
            .iter()
            .map(|delivery| dead_letter(delivery, format!("no plugin `{provider}` is loaded")))
            .collect());
    }
    let mut cache = HashMap::new();
    let mut prepared = Vec::with_capacity(batch.len());
    for delivery in batch {
        prepared.push(prepare(pipeline, delivery, &mut cache).await?);
    }
    // One instance per channel account in this batch (never shared across accounts).
    let mut by_channel: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, item) in prepared.iter().enumerate() {
        if let Prepared::Ready { channel, .. } = item {
            by_channel
                .entry(channel.id.clone())
                .or_default()
                .push(index);
        }
    }
    let mut outcomes: Vec<Option<Result<Vec<crate::plugin::types::Event>, String>>> =
        vec![None; batch.len()];
    // The version each workspace uses (its pin, or the latest).
    let mut versions: HashMap<String, Option<Arc<Plugin>>> = HashMap::new();
    for indexes in by_channel.values() {
        let Prepared::Ready {
            channel,
            workspace_id,
            ..
        } = &prepared[indexes[0]]
        else {
            unreachable!()
        };
        if !versions.contains_key(workspace_id) {
            let plugin = pipeline
                .plugins
                .for_workspace(&pipeline.db, workspace_id, provider)
                .await
                .map_err(|error| format!("database error reading the plugin pin: {error}"))?;
            versions.insert(workspace_id.clone(), plugin);
        }
        let Some(plugin) = versions[workspace_id].clone() else {
            for &index in indexes {
                outcomes[index] = Some(Err(format!("no plugin `{provider}` is loaded")));
            }
            continue;
        };
        let requests = indexes
            .iter()
            .map(|&index| match &prepared[index] {
                Prepared::Ready { request, .. } => request.clone(),
                Prepared::Poison(_) => unreachable!("only ready items are grouped"),
            })
            .collect();
        let results = plugin.normalize_batch((**channel).clone(), requests).await;
        for (&index, result) in indexes.iter().zip(results) {
            outcomes[index] = Some(match result {
                Ok(Ok(events)) => Ok(events),
                Ok(Err(error)) => Err(format!("normalize refused the webhook: {error:?}")),
                Err(error) => Err(error.to_string()),
            });
        }
    }
    let mut records = Vec::new();
    for ((&delivery, item), outcome) in batch.iter().zip(&prepared).zip(outcomes) {
        match (item, outcome) {
            (Prepared::Poison(reason), _) => records.push(dead_letter(delivery, reason.clone())),
            (_, Some(Err(reason))) => records.push(dead_letter(delivery, reason)),
            (
                Prepared::Ready {
                    channel,
                    workspace_id,
                    received_at,
                    ..
                },
                Some(Ok(events)),
            ) => {
                for event in events {
                    let key = format!("{}:{}", channel.id, thread_key(&event.body));
                    let normalized = Normalized {
                        channel_id: channel.id.clone(),
                        workspace_id: workspace_id.clone(),
                        provider: provider.to_string(),
                        received_at: *received_at,
                        event,
                    };
                    records.push(Record {
                        topic: topics::NORMALIZED.into(),
                        key,
                        partition: None,
                        payload: serde_json::to_vec(&normalized).expect("events always serialize"),
                    });
                }
            }
            (Prepared::Ready { .. }, None) => unreachable!("every ready item was normalized"),
        }
    }
    Ok(records)
}

/// The provider thread an event belongs to: the partition key keeps one
/// conversation in order.
pub fn thread_key(body: &EventBody) -> &str {
    match body {
        EventBody::Message(message) | EventBody::Edit(message) | EventBody::Echo(message) => {
            &message.thread.id
        }
        EventBody::Delete(target) => &target.thread.id,
        EventBody::Reaction(reaction) => &reaction.thread.id,
        EventBody::Status(status) => &status.thread.id,
        EventBody::Ignore(_) => "",
    }
}
