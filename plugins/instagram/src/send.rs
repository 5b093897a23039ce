//! Outbound messages through the Send API.
//!
//! Everything goes to `POST {graph}/v25.0/me/messages`: with either login
//! the token names the sending account, so the path does not depend on
//! which id (`user_id` from `/me`, or the app-scoped id of the OAuth
//! exchange) the channel was stored under.
//!
//! Instagram takes text or one attachment per message. A message with both
//! goes out as two: the attachment, then the text. Instagram cannot upload
//! bytes: attachments must be URLs it fetches itself.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_meta_graph::{interpret, Call, Failure};
use switchboard_plugin_sdk::parts::send_in_order;
use switchboard_plugin_sdk::{
    AttachmentKind, OutboundAttachment, OutboundMessage, SendError, Sent,
};

use crate::account::Api;
use crate::errors::send_error;

/// The Send API's limit, in UTF-8 bytes (not characters).
pub(crate) const MAX_TEXT_BYTES: usize = 1000;

pub(crate) fn send(api: &Api, token: &str, message: &OutboundMessage) -> Result<Sent, SendError> {
    send_in_order(build(api, token, message)?, |call| {
        call.send()
            .map_err(send_error)
            .and_then(|answer| outcome(answer.status, &answer.body))
    })
}

/// The Send API's answer: `{"recipient_id","message_id"}`.
#[derive(Deserialize)]
struct Answer {
    message_id: String,
}

pub(crate) fn outcome(status: u16, body: &[u8]) -> Result<Sent, SendError> {
    match interpret::<Answer>(status, body) {
        Ok(answer) => Ok(Sent {
            provider_message_id: answer.message_id,
        }),
        // A success we cannot read may still be a delivered message.
        Err(Failure::Unexpected(reason)) => Err(SendError::Permanent(format!(
            "{reason}; the message may have been delivered, so it is not resent"
        ))),
        Err(failure) => Err(send_error(failure)),
    }
}

/// The calls one outbound message takes, in order.
pub(crate) fn build(
    api: &Api,
    token: &str,
    message: &OutboundMessage,
) -> Result<Vec<Call>, SendError> {
    let recipient = recipient(message)?;
    let text = message.text.as_deref().filter(|text| !text.is_empty());
    if let Some(text) = text {
        if text.len() > MAX_TEXT_BYTES {
            return Err(SendError::Permanent(format!(
                "Instagram accepts at most {MAX_TEXT_BYTES} bytes of text (UTF-8) and this message has {}",
                text.len()
            )));
        }
    }
    let reply_to = message.reply_to.as_deref().filter(|mid| !mid.is_empty());
    let mut bodies = Vec::new();
    if let Some(attachment) = &message.attachment {
        bodies.push(attachment_body(recipient, attachment)?);
    }
    if let Some(text) = text {
        let mut content = json!({ "text": text });
        if let Some(mid) = reply_to {
            content["reply_to"] = json!({ "mid": mid });
        }
        bodies.push(json!({ "recipient": { "id": recipient }, "message": content }));
    }
    if bodies.is_empty() {
        return Err(SendError::Permanent(
            "nothing to send: no text and no attachment".into(),
        ));
    }
    let url = api.graph("me/messages");
    Ok(bodies
        .into_iter()
        .map(|body| Call::post(url.clone()).bearer(token).json(body))
        .collect())
}

/// The customer's IGSID: the recipient, else the thread (the same id).
fn recipient(message: &OutboundMessage) -> Result<&str, SendError> {
    [message.recipient_id.trim(), message.thread_id.trim()]
        .into_iter()
        .find(|id| !id.is_empty())
        .ok_or_else(|| SendError::Permanent("the message names no Instagram recipient".into()))
}

fn attachment_body(recipient: &str, attachment: &OutboundAttachment) -> Result<Value, SendError> {
    let kind = match attachment.kind {
        AttachmentKind::Image | AttachmentKind::Sticker => "image",
        AttachmentKind::Audio | AttachmentKind::Voice => "audio",
        AttachmentKind::Video => "video",
        AttachmentKind::Document | AttachmentKind::Other => "file",
        AttachmentKind::Location | AttachmentKind::Contact => {
            return Err(SendError::Permanent(
                "Instagram cannot send locations or contact cards".into(),
            ))
        }
    };
    let url = attachment
        .url
        .as_deref()
        .filter(|url| !url.is_empty())
        .ok_or_else(|| {
            SendError::Permanent(
                "Instagram cannot upload files: the attachment needs a public URL Instagram can fetch"
                    .into(),
            )
        })?;
    Ok(json!({
        "recipient": { "id": recipient },
        "message": { "attachment": { "type": kind, "payload": { "url": url } } },
    }))
}

#[cfg(test)]
mod tests;
