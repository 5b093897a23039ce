//! Outbound messages as Bot API calls.
//!
//! Text goes through `sendMessage`; an attachment through the `send*` method
//! for its kind, with the text as its caption, either as a multipart upload
//! of the bytes (whenever the host has them) or as a URL Telegram fetches.
//! Text longer than a caption may be (1,024 characters), or with a sticker,
//! follows the attachment as its own message.

use serde_json::{json, Map, Value};
use switchboard_plugin_sdk::multipart::Form;
use switchboard_plugin_sdk::parts::send_in_order;
use switchboard_plugin_sdk::{
    AttachmentKind, OutboundAttachment, OutboundMessage, SendError, Sent,
};

use crate::api::{interpret, ApiCall, ApiError, Bot, Payload};
use crate::files::TYPES;
use crate::normalize::provider_message_id;

/// Bot API limits, in characters.
const MAX_TEXT_CHARS: usize = 4096;
const MAX_CAPTION_CHARS: usize = 1024;

pub(crate) fn send(bot: &Bot, message: OutboundMessage) -> Result<Sent, SendError> {
    send_in_order(build_all(message)?, |call| {
        bot.fetch(call)
            .map_err(ApiError::into_send_error)
            .and_then(|answer| outcome(answer.status, &answer.body))
    })
}

/// The calls a reply takes, in order. Text that cannot be the attachment's
/// caption (longer than a caption may be, or on a sticker) follows as its
/// own message; the reply is named by the first.
pub(crate) fn build_all(message: OutboundMessage) -> Result<Vec<ApiCall>, SendError> {
    let text = message.text.clone().filter(|text| !text.is_empty());
    let follows = match (&message.attachment, &text) {
        (Some(attachment), Some(text)) => {
            let sticker = matches!(attachment.kind, AttachmentKind::Sticker);
            sticker || text.chars().count() > MAX_CAPTION_CHARS
        }
        _ => false,
    };
    if !follows {
        return Ok(vec![build(message)?]);
    }
    let text_message = OutboundMessage {
        attachment: None,
        reply_to: None,
        ..message.clone()
    };
    let media = OutboundMessage {
        text: None,
        ..message
    };
    // Check the text before anything goes out: a too-long text must not
    // leave the attachment sent alone.
    let text_call = build(text_message)?;
    Ok(vec![build(media)?, text_call])
}

/// The message the `send*` method returns; only what names it is read.
#[derive(serde::Deserialize)]
struct SentMessage {
    message_id: i64,
    chat: SentChat,
}

#[derive(serde::Deserialize)]
struct SentChat {
    id: i64,
}

/// What a `send*` answer means: the new message's id, or what to do next.
pub(crate) fn outcome(status: u16, body: &[u8]) -> Result<Sent, SendError> {
    let sent: SentMessage = interpret(status, body).map_err(ApiError::into_send_error)?;
    Ok(Sent {
        provider_message_id: provider_message_id(sent.chat.id, sent.message_id),
    })
}

/// Where a message goes: a chat, and within a forum a topic.
struct Target {
    chat_id: i64,
    topic: Option<i64>,
}

/// `<chat id>` or `<chat id>:<topic id>`, as `normalize` writes thread ids.
/// Without a thread the recipient is the chat: in private chats the chat id
/// is the user's id.
fn target(message: &OutboundMessage) -> Result<Target, SendError> {
    let raw = if message.thread_id.trim().is_empty() {
        message.recipient_id.trim()
    } else {
        message.thread_id.trim()
    };
    let invalid = || SendError::Permanent(format!("`{raw}` is not a Telegram chat id"));
    let (chat, topic) = match raw.split_once(':') {
        Some((chat, topic)) => (chat, Some(topic.parse().map_err(|_| invalid())?)),
        None => (raw, None),
    };
    Ok(Target {
        chat_id: chat.parse().map_err(|_| invalid())?,
        topic,
    })
}

/// The message-id half of `<chat id>:<message id>`; a reply that cannot be
/// read is dropped rather than losing the message over it.
fn reply_message_id(reply_to: Option<&str>) -> Option<i64> {
    reply_to?.rsplit(':').next()?.trim().parse().ok()
}

/// Fields every `send*` method shares.
fn common_fields(target: &Target, reply_to: Option<i64>) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("chat_id".into(), json!(target.chat_id));
    if let Some(topic) = target.topic {
        fields.insert("message_thread_id".into(), json!(topic));
    }
    if let Some(message_id) = reply_to {
        // The original may be deleted by the time the reply goes out; the
        // reply is still worth delivering.
        fields.insert(
            "reply_parameters".into(),
            json!({"message_id": message_id, "allow_sending_without_reply": true}),
        );
    }
    fields
}

/// Which method uploads an attachment kind, and the field holding the file.
fn media_method(
    attachment: &OutboundAttachment,
) -> Result<(&'static str, &'static str), SendError> {
    let is_gif = attachment
        .mime_type
        .as_deref()
        .is_some_and(|mime| mime.eq_ignore_ascii_case("image/gif"));
    Ok(match attachment.kind {
        // sendPhoto would flatten a GIF to its first frame.
        AttachmentKind::Image if is_gif => ("sendAnimation", "animation"),
        AttachmentKind::Image => ("sendPhoto", "photo"),
        AttachmentKind::Video => ("sendVideo", "video"),
        AttachmentKind::Audio => ("sendAudio", "audio"),
        AttachmentKind::Voice => ("sendVoice", "voice"),
        AttachmentKind::Sticker => ("sendSticker", "sticker"),
        AttachmentKind::Document | AttachmentKind::Other => ("sendDocument", "document"),
        AttachmentKind::Location | AttachmentKind::Contact => {
            return Err(SendError::Permanent(
                "location and contact attachments cannot be sent as files".into(),
            ))
        }
    })
}

pub(crate) fn build(message: OutboundMessage) -> Result<ApiCall, SendError> {
    let target = target(&message)?;
    let reply_to = reply_message_id(message.reply_to.as_deref());
    let mut fields = common_fields(&target, reply_to);
    let text = message.text.filter(|text| !text.is_empty());

    let Some(attachment) = message.attachment else {
        let text = text.ok_or_else(|| {
            SendError::Permanent("nothing to send: no text and no attachment".into())
        })?;
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(SendError::Permanent(format!(
                "message longer than {MAX_TEXT_CHARS} characters"
            )));
        }
        fields.insert("text".into(), Value::String(text));
        return Ok(ApiCall::json("sendMessage", Value::Object(fields)));
    };

    let (method, file_field) = media_method(&attachment)?;
    if let Some(caption) = text {
        if method == "sendSticker" {
            return Err(SendError::Permanent(
                "a sticker cannot carry text; send the text as its own message".into(),
            ));
        }
        if caption.chars().count() > MAX_CAPTION_CHARS {
            return Err(SendError::Permanent(format!(
                "caption longer than {MAX_CAPTION_CHARS} characters"
            )));
        }
        fields.insert("caption".into(), Value::String(caption));
    }

    // Bytes are uploaded when the host has them: a URL needs Telegram to
    // reach the host, which a self-hosted install may not allow.
    let Some(data) = attachment.data.filter(|data| !data.is_empty()) else {
        let url = attachment
            .url
            .filter(|url| !url.is_empty())
            .ok_or_else(|| {
                SendError::Permanent("the attachment has neither a URL nor data".into())
            })?;
        fields.insert(file_field.into(), Value::String(url));
        return Ok(ApiCall::json(method, Value::Object(fields)));
    };
    let file_name = attachment.file_name.unwrap_or_else(|| {
        let extension = attachment
            .mime_type
            .as_deref()
            .and_then(|mime| TYPES.extension_for(mime));
        match extension {
            Some(extension) => format!("{file_field}.{extension}"),
            None => file_field.to_string(),
        }
    });
    let content_type = attachment
        .mime_type
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut form = Form::new(&message.message_id);
    for (name, value) in fields {
        // Multipart fields are strings: nested objects go as JSON text.
        let value = match value {
            Value::String(text) => text,
            other => other.to_string(),
        };
        form = form.text(&name, value);
    }
    let form = form.file(file_field, &file_name, &content_type, data);
    Ok(ApiCall {
        method,
        payload: Payload::Multipart(form.finish()),
    })
}

#[cfg(test)]
mod tests;
