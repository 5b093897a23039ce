//! Outbound messages as `messages.send`.
//!
//! The id problem: `messages.send` with `peer_id` answers the message's
//! global id, which is 0 in group chats and is not how `normalize` names
//! messages; the echo (`message_reply`) would then never match the sent
//! message. With `peer_ids` (one peer) VK answers
//! `[{peer_id, message_id, conversation_message_id}]` instead, so `send`
//! returns `<peer_id>_<conversation_message_id>`, exactly what the echo
//! normalizes to, and the host folds the two.
//!
//! Sending is split into plain steps: `draft` checks and prepares (before
//! anything is uploaded), `build` writes the call, `outcome` reads the answer.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_plugin_sdk::{
    AttachmentKind, OutboundAttachment, OutboundMessage, SendError, Sent,
};

use crate::api::{interpret, vk_error, Api, ApiCall, ApiError};
use crate::ids;
use crate::media::TYPES;
use crate::upload::{self, Upload, UploadKind};

/// VK's limit for `message`, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 9000;

/// A message ready to go, once its file (if any) is uploaded.
#[derive(Debug, PartialEq)]
pub(crate) struct Draft {
    pub peer_id: i64,
    pub random_id: i32,
    pub text: Option<String>,
    /// The `forward` parameter that makes this a reply.
    pub forward: Option<String>,
    pub upload: Option<Upload>,
}

pub(crate) fn send(api: &Api, message: OutboundMessage) -> Result<Sent, SendError> {
    let seed = message.message_id.clone();
    let draft = draft(message)?;
    let attachment = match &draft.upload {
        Some(file) => Some(upload::upload(api, draft.peer_id, file, &seed)?),
        None => None,
    };
    let call = build(&draft, attachment.as_deref());
    let answer = api.fetch(&call).map_err(ApiError::into_send_error)?;
    outcome(draft.peer_id, answer.status, &answer.body)
}

/// Checks everything that can be checked without VK, so a message that
/// cannot go out fails before any file is uploaded.
pub(crate) fn draft(message: OutboundMessage) -> Result<Draft, SendError> {
    let peer_id = peer(&message)?;
    let mut text = message.text.filter(|text| !text.trim().is_empty());
    let upload = match message.attachment {
        None => None,
        Some(attachment) => match prepare(attachment, &message.message_id)? {
            Prepared::Upload(file) => Some(file),
            // VK cannot attach a file by URL; the link goes into the text,
            // where VK shows a preview, rather than the message failing.
            Prepared::Link(url) => {
                text = Some(match text {
                    Some(text) => format!("{text}\n{url}"),
                    None => url,
                });
                None
            }
        },
    };
    if text.is_none() && upload.is_none() {
        return Err(SendError::Permanent(
            "nothing to send: no text and no attachment".into(),
        ));
    }
    if let Some(text) = &text {
        let length = text.chars().count();
        if length > MAX_TEXT_CHARS {
            return Err(SendError::Permanent(format!(
                "the message is {length} characters long; VK takes at most {MAX_TEXT_CHARS}"
            )));
        }
    }
    Ok(Draft {
        peer_id,
        random_id: ids::random_id(&message.message_id),
        text,
        forward: message.reply_to.as_deref().and_then(forward),
        upload,
    })
}

/// The thread is the peer id; without one, the recipient (a user's id is
/// also the peer id of the direct conversation with them).
fn peer(message: &OutboundMessage) -> Result<i64, SendError> {
    let raw = if message.thread_id.trim().is_empty() {
        message.recipient_id.trim()
    } else {
        message.thread_id.trim()
    };
    raw.parse::<i64>()
        .ok()
        .filter(|peer| *peer != 0)
        .ok_or_else(|| SendError::Permanent(format!("`{raw}` is not a VK peer id")))
}

/// `reply_to` takes a global message id, which Switchboard does not have;
/// `forward` with `is_reply` names the message by peer and conversation
/// message id, which it does. A reply that cannot be read is dropped rather
/// than losing the message over it.
fn forward(reply_to: &str) -> Option<String> {
    let (peer_id, cmid) = ids::parse_message_id(reply_to)?;
    Some(
        json!({
            "peer_id": peer_id,
            "conversation_message_ids": [cmid],
            "is_reply": 1,
        })
        .to_string(),
    )
}

enum Prepared {
    Upload(Upload),
    Link(String),
}

fn prepare(attachment: OutboundAttachment, message_id: &str) -> Result<Prepared, SendError> {
    let kind = match attachment.kind {
        AttachmentKind::Location | AttachmentKind::Contact => {
            return Err(SendError::Permanent(
                "locations and contacts cannot be sent to VK as attachments".into(),
            ))
        }
        AttachmentKind::Sticker => {
            return Err(SendError::Permanent(
                "VK sends only its own stickers (by sticker_id); send the picture as an image"
                    .into(),
            ))
        }
        kind => kind,
    };
    let mime_type = attachment
        .mime_type
        .filter(|mime| !mime.trim().is_empty())
        .unwrap_or_else(|| "application/octet-stream".into());
    if let Some(data) = attachment.data.filter(|data| !data.is_empty()) {
        let upload_kind = upload_kind(kind, &mime_type);
        let file_name = attachment
            .file_name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| default_file_name(upload_kind, &mime_type, message_id));
        return Ok(Prepared::Upload(Upload {
            kind: upload_kind,
            file_name,
            mime_type,
            data,
        }));
    }
    match attachment.url.filter(|url| !url.trim().is_empty()) {
        Some(url) => Ok(Prepared::Link(url.trim().to_string())),
        None => Err(SendError::Permanent(
            "the attachment has neither a URL nor data".into(),
        )),
    }
}

/// Photos must be JPEG, PNG or GIF and voice messages OGG; anything else
/// still reaches the customer as a document.
fn upload_kind(kind: AttachmentKind, mime_type: &str) -> UploadKind {
    let essence = mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match kind {
        AttachmentKind::Image
            if matches!(essence.as_str(), "image/jpeg" | "image/png" | "image/gif") =>
        {
            UploadKind::Photo
        }
        AttachmentKind::Voice if matches!(essence.as_str(), "audio/ogg" | "audio/opus") => {
            UploadKind::AudioMessage
        }
        _ => UploadKind::Doc,
    }
}

/// Upload servers want a file name; VK shows a document's as its title.
fn default_file_name(kind: UploadKind, mime_type: &str, message_id: &str) -> String {
    let stem = match kind {
        UploadKind::Photo => "photo",
        UploadKind::AudioMessage => "voice",
        UploadKind::Doc => "file",
    };
    let short_id: String = message_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    let stem = if short_id.is_empty() {
        stem.to_string()
    } else {
        format!("{stem}-{short_id}")
    };
    match TYPES.extension_for(mime_type) {
        Some(extension) => format!("{stem}.{extension}"),
        None => stem,
    }
}

pub(crate) fn build(draft: &Draft, attachment: Option<&str>) -> ApiCall {
    let mut call = ApiCall::new("messages.send")
        .param("peer_ids", draft.peer_id)
        .param("random_id", draft.random_id);
    if let Some(text) = &draft.text {
        call = call.param("message", text);
    }
    if let Some(attachment) = attachment {
        call = call.param("attachment", attachment);
    }
    if let Some(forward) = &draft.forward {
        call = call.param("forward", forward);
    }
    call
}

/// One entry of the `peer_ids` answer.
#[derive(Deserialize)]
struct Delivered {
    peer_id: i64,
    conversation_message_id: Option<i64>,
    error: Option<Value>,
}

/// What a `messages.send` answer means: the message's name, or what to do.
pub(crate) fn outcome(peer_id: i64, status: u16, body: &[u8]) -> Result<Sent, SendError> {
    let delivered: Vec<Delivered> = interpret(status, body).map_err(ApiError::into_send_error)?;
    let entry = delivered
        .iter()
        .find(|entry| entry.peer_id == peer_id)
        .or(delivered.first())
        .ok_or_else(|| SendError::Permanent("VK answered messages.send with no result".into()))?;
    if let Some(error) = &entry.error {
        return Err(vk_error(error)
            .unwrap_or_else(|| ApiError::Unexpected(format!("VK could not deliver: {error}")))
            .into_send_error());
    }
    // Without the conversation message id the message went out but cannot be
    // named; retrying would not change that (and random_id would block it).
    let cmid = entry
        .conversation_message_id
        .filter(|cmid| *cmid > 0)
        .ok_or_else(|| {
            SendError::Permanent(
                "VK sent the message but did not say its conversation_message_id".into(),
            )
        })?;
    Ok(Sent {
        provider_message_id: ids::message_id(entry.peer_id, cmid),
    })
}

#[cfg(test)]
mod tests;
