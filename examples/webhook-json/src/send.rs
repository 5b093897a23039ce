//! Operator replies, POSTed as signed JSON to `{api_base}{send_path}`.
//!
//! Building the request and reading the answer are plain functions; only
//! [`send`] goes through the host.

use serde::Serialize;
use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{OutboundMessage, SendError, Sent};

use crate::answer;
use crate::attachment_kind;
use crate::settings::Settings;
use crate::signature;

/// The request, before it goes through the host.
#[derive(Debug, PartialEq)]
pub(crate) struct Outgoing {
    pub url: String,
    /// Besides `content-type: application/json`.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The body the receiving system gets, fields in this order.
#[derive(Serialize)]
struct Body<'a> {
    message_id: &'a str,
    thread_id: &'a str,
    recipient_id: &'a str,
    text: Option<&'a str>,
    reply_to: Option<&'a str>,
    attachment: Option<AttachmentBody<'a>>,
}

#[derive(Serialize)]
struct AttachmentBody<'a> {
    kind: &'static str,
    url: &'a str,
    file_name: Option<&'a str>,
    mime_type: Option<&'a str>,
}

pub(crate) fn send(settings: &Settings, message: &OutboundMessage) -> Result<Sent, SendError> {
    let outgoing = build(settings, message)?;
    let mut request = Request::post(outgoing.url);
    for (name, value) in outgoing.headers {
        request = request.header(&name, value);
    }
    let response = request
        .body("application/json", outgoing.body)
        .send()
        .map_err(answer::transport_failure)?;
    outcome(
        response.status,
        response.header("retry-after"),
        &response.body,
    )
}

pub(crate) fn build(settings: &Settings, message: &OutboundMessage) -> Result<Outgoing, SendError> {
    let text = message.text.as_deref().filter(|text| !text.is_empty());
    let attachment = match &message.attachment {
        None => None,
        Some(attachment) => {
            // The receiving system fetches files itself; there is no upload.
            let url = attachment
                .url
                .as_deref()
                .filter(|url| !url.trim().is_empty())
                .ok_or_else(|| {
                    SendError::Permanent(
                        "this channel sends attachments as URLs, and this one has none".into(),
                    )
                })?;
            Some(AttachmentBody {
                kind: attachment_kind::name(attachment.kind),
                url,
                file_name: attachment.file_name.as_deref(),
                mime_type: attachment.mime_type.as_deref(),
            })
        }
    };
    if text.is_none() && attachment.is_none() {
        return Err(SendError::Permanent(
            "nothing to send: no text and no attachment".into(),
        ));
    }
    let body = serde_json::to_vec(&Body {
        message_id: &message.message_id,
        thread_id: &message.thread_id,
        recipient_id: &message.recipient_id,
        text,
        reply_to: message.reply_to.as_deref(),
        attachment,
    })
    .expect("the reply body always serializes");
    Ok(Outgoing {
        url: settings.send_url(),
        headers: vec![
            (
                signature::HEADER.to_string(),
                signature::sign(&settings.signing_secret, &body),
            ),
            // Stable across retries: the receiver can drop a repeat.
            ("idempotency-key".to_string(), message.message_id.clone()),
        ],
        body,
    })
}

/// What the receiving system's answer means. A 2xx must name the message:
/// without an id it may still have been delivered, so it is not retried.
pub(crate) fn outcome(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
) -> Result<Sent, SendError> {
    if !(200..300).contains(&status) {
        return Err(answer::failure(status, retry_after, body));
    }
    let id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|answer| match answer.get("id")? {
            serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.clone()),
            serde_json::Value::Number(id) if id.is_i64() || id.is_u64() => Some(id.to_string()),
            _ => None,
        });
    match id {
        Some(provider_message_id) => Ok(Sent {
            provider_message_id,
        }),
        None => Err(SendError::Permanent(format!(
            "the receiving system answered HTTP {status} without an `id`; \
             not retried, as the message may have been delivered"
        ))),
    }
}

#[cfg(test)]
mod tests;
