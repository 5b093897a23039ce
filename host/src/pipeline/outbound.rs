//! Outbound role: operator replies -> the plugin's send -> provider API.
//!
//! Replies of one conversation go out in order; different conversations in a
//! batch are sent concurrently so one throttled chat does not hold up others.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;

use super::envelope::{topics, OutboundJob};
use super::{Following, Pipeline, FAILURE_BACKOFF};
use crate::bus::{Delivery, Latency};
use crate::metrics;
use crate::plugin::types::{OutboundAttachment, OutboundMessage, SendError};
use crate::store::{attachment_kind, channels, files, inbox};

const GROUP: &str = "switchboard-outbound";
const BATCH: usize = 64;
const POLL_WAIT: Duration = Duration::from_millis(500);
/// Sends tried before a retryable failure becomes final.
pub const MAX_ATTEMPTS: u32 = 6;
/// First pause after a transient failure; doubles per attempt.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest pause between attempts, whatever the provider asks.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Replies with a file being sent at once, per process.
static FILE_SENDS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// One consumer over the outbound topics of the providers in use.
pub async fn run(pipeline: Pipeline) {
    let mut following = Following::new(&pipeline, GROUP, Latency::Relaxed, topics::outbound).await;
    loop {
        following.refresh(&pipeline).await;
        let batch = match following.consumer().poll(BATCH, POLL_WAIT).await {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(%error, "outbound poll failed");
                tokio::time::sleep(FAILURE_BACKOFF).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        // Keys are per conversation; the topic tells providers apart.
        let mut by_thread: BTreeMap<(&str, &str), Vec<&Delivery>> = BTreeMap::new();
        for delivery in &batch {
            by_thread
                .entry((delivery.topic.as_str(), delivery.key.as_str()))
                .or_default()
                .push(delivery);
        }
        join_all(by_thread.into_values().map(|deliveries| {
            let pipeline = &pipeline;
            async move {
                for delivery in deliveries {
                    deliver(pipeline, delivery).await;
                }
            }
        }))
        .await;
        if let Err(error) = following.consumer().commit(&batch).await {
            tracing::error!(%error, "outbound cannot commit offsets");
        }
    }
}

/// Delivers one reply, retrying transient failures; always leaves the
/// message in a final state (sent or failed) unless the database is down.
async fn deliver(pipeline: &Pipeline, delivery: &Delivery) {
    let job: OutboundJob = match serde_json::from_slice(&delivery.payload) {
        Ok(job) => job,
        Err(error) => {
            let letter = super::dead_letter(delivery, format!("unreadable outbound job: {error}"));
            let _ = pipeline.bus.publish(vec![letter]).await;
            return;
        }
    };
    let outcome = attempt_all(pipeline, &job).await;
    let provider = delivery.topic.trim_start_matches("channel.outbound.");
    let label = match &outcome {
        Ok(Some(_)) => "sent",
        Ok(None) => "skipped",
        Err(_) => "failed",
    };
    metrics::inc(
        "switchboard_outbound_total",
        &[("provider", provider), ("outcome", label)],
    );
    let stored = match outcome {
        Ok(Some(provider_id)) => {
            inbox::mark_sent(&pipeline.db, &job.message_id, &provider_id).await
        }
        Ok(None) => Ok(()),
        Err(reason) => inbox::mark_failed(&pipeline.db, &job.message_id, &reason).await,
    };
    if let Err(error) = stored {
        tracing::error!(%error, message = %job.message_id, "cannot record the send outcome");
    }
}

/// The provider message id once sent, None when there is nothing to do
/// (already sent: a redelivered job), or the reason it failed for good.
async fn attempt_all(pipeline: &Pipeline, job: &OutboundJob) -> Result<Option<String>, String> {
    let work = match inbox::outbound_work(&pipeline.db, &job.message_id).await {
        Ok(Some(work)) => work,
        Ok(None) => return Err("the message no longer exists".into()),
        Err(error) => return Err(format!("database error: {error}")),
    };
    if work.status != "pending" {
        return Ok(None);
    }
    let account = match channels::get(&pipeline.db, &work.channel_id).await {
        Ok(Some(account)) => account,
        Ok(None) => return Err("the channel has been disconnected".into()),
        Err(error) => return Err(format!("database error: {error}")),
    };
    let plugin = pipeline
        .plugins
        .for_workspace(&pipeline.db, &account.workspace_id, &account.provider)
        .await
        .map_err(|error| format!("database error: {error}"))?;
    let Some(plugin) = plugin else {
        return Err(format!("no plugin `{}` is loaded", account.provider));
    };
    let channel = account
        .to_plugin(&pipeline.secrets, &pipeline.public_url)
        .map_err(|error| error.to_string())?;
    // Files are loaded (and copied into the plugin) a few at a time, so a
    // batch of replies with 10 MB files cannot take the worker's memory.
    let (attachment, _file_permit) = match &work.file {
        Some((file_id, kind)) => {
            let permit = FILE_SENDS
                .acquire()
                .await
                .expect("the semaphore is never closed");
            let attachment = attachment(pipeline, &work.message_id, file_id, kind).await?;
            (Some(attachment), Some(permit))
        }
        None => (None, None),
    };
    let message = OutboundMessage {
        message_id: work.message_id.clone(),
        thread_id: work.thread_id.clone(),
        recipient_id: work.recipient_id.clone(),
        text: work.text.clone(),
        attachment,
        reply_to: work.reply_to.clone(),
    };
    let mut last_reason = String::new();
    for attempt in 0..MAX_ATTEMPTS {
        let pause = match plugin.send(channel.clone(), message.clone()).await {
            Ok(Ok(sent)) => return Ok(Some(sent.provider_message_id)),
            Ok(Err(SendError::Permanent(reason))) => return Err(reason),
            Ok(Err(SendError::AuthExpired(reason))) => {
                let reason = format!("authorization expired: {reason}");
                let _ =
                    channels::set_status(&pipeline.db, &account.id, "auth_expired", Some(&reason))
                        .await;
                return Err(reason);
            }
            Ok(Err(SendError::RateLimited(ms))) => {
                last_reason = format!("rate limited by the provider (retry after {ms} ms)");
                Duration::from_millis(ms.into())
            }
            Ok(Err(SendError::Retry(ms))) => {
                last_reason = "the provider had a transient failure".into();
                Duration::from_millis(ms.into()).max(BASE_BACKOFF * 2u32.pow(attempt))
            }
            // A trap or timeout in the plugin is not going to improve by retrying.
            Err(error) => return Err(error.to_string()),
        };
        let _ = inbox::note_attempt(&pipeline.db, &work.message_id, &last_reason).await;
        if attempt + 1 < MAX_ATTEMPTS {
            tokio::time::sleep(pause.min(MAX_BACKOFF)).await;
        }
    }
    Err(format!(
        "gave up after {MAX_ATTEMPTS} attempts: {last_reason}"
    ))
}

/// The file of a reply as the plugin gets it: the bytes to upload and, for
/// providers that only fetch by URL (Instagram), the file's public link.
/// Plugins that can upload do so, so the provider never has to reach us.
async fn attachment(
    pipeline: &Pipeline,
    message_id: &str,
    file_id: &str,
    kind: &str,
) -> Result<OutboundAttachment, String> {
    let file = files::of_message(&pipeline.db, message_id, file_id)
        .await
        .map_err(|error| format!("database error: {error}"))?
        .ok_or("the attached file no longer exists")?;
    Ok(OutboundAttachment {
        kind: attachment_kind::parse(kind),
        url: Some(format!(
            "{}/media/{}",
            pipeline.public_url.trim_end_matches('/'),
            file.public_token
        )),
        file_name: Some(file.file_name),
        mime_type: Some(file.mime_type),
        data: Some(file.content),
    })
}
