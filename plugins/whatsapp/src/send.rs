//! Outbound messages through `POST /{phone-number-id}/messages`.
//!
//! Text is a `text` message. An attachment's bytes, when the host has them,
//! are uploaded first (`POST /{phone-number-id}/media`) and sent by media id;
//! otherwise it goes by link. The text rides along as the caption where WhatsApp
//! takes one (image, video, document; up to 1024 characters); otherwise it
//! follows as its own message. A reply quotes the message it answers
//! (`context.message_id`) on the first message sent.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_meta_graph::{interpret, Call, Failure};
use switchboard_plugin_sdk::multipart::Form;
use switchboard_plugin_sdk::parts::partly_sent;
use switchboard_plugin_sdk::{AttachmentKind, OutboundMessage, SendError, Sent};

use crate::account::Api;
use crate::errors::send_error;
use crate::media::TYPES;

/// WhatsApp's limits, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;
pub(crate) const MAX_CAPTION_CHARS: usize = 1024;

/// What one outbound message becomes.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    /// The customer's wa_id.
    pub to: String,
    pub reply_to: Option<String>,
    pub media: Option<(MediaSpec, Source)>,
    /// Sent as a text message, after the media when there is one.
    pub text: Option<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct MediaSpec {
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: &'static str,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Source {
    Link(String),
    Upload {
        mime_type: String,
        file_name: String,
        data: Vec<u8>,
    },
}

/// How a media message names its file.
#[derive(Debug, PartialEq)]
pub(crate) enum MediaRef {
    Link(String),
    Id(String),
}

pub(crate) fn send(api: &Api, phone_id: &str, message: OutboundMessage) -> Result<Sent, SendError> {
    let seed = message.message_id.clone();
    let plan = plan(message)?;
    let mut first: Option<Sent> = None;
    if let Some((spec, source)) = plan.media {
        let reference = match source {
            Source::Link(url) => MediaRef::Link(url),
            Source::Upload {
                mime_type,
                file_name,
                data,
            } => {
                let call = upload_call(api, phone_id, &seed, &mime_type, &file_name, &data);
                drop(data);
                let answer = call.send().map_err(send_error)?;
                MediaRef::Id(uploaded(answer.status, &answer.body)?)
            }
        };
        let body = media_body(&plan.to, plan.reply_to.as_deref(), &spec, &reference);
        first = Some(deliver(message_call(api, phone_id, body))?);
    }
    if let Some(text) = plan.text {
        let reply_to = if first.is_none() {
            plan.reply_to.as_deref()
        } else {
            None
        };
        let body = text_body(&plan.to, reply_to, &text);
        match (deliver(message_call(api, phone_id, body)), &first) {
            (Ok(sent), None) => first = Some(sent),
            (Ok(_), Some(_)) => {}
            (Err(error), None) => return Err(error),
            (Err(error), Some(sent)) => return Err(partly_sent(&sent.provider_message_id, error)),
        }
    }
    first.ok_or_else(|| SendError::Permanent("nothing to send".into()))
}

fn deliver(call: Call) -> Result<Sent, SendError> {
    let answer = call.send().map_err(send_error)?;
    outcome(answer.status, &answer.body)
}

pub(crate) fn plan(message: OutboundMessage) -> Result<Plan, SendError> {
    let to = [message.recipient_id.trim(), message.thread_id.trim()]
        .into_iter()
        .find(|id| !id.is_empty())
        // wa_ids are digits; a pasted `+` would make WhatsApp look up another number.
        .map(|id| id.trim_start_matches('+').to_string())
        .ok_or_else(|| SendError::Permanent("the message names no WhatsApp recipient".into()))?;
    let text = message.text.filter(|text| !text.is_empty());
    if let Some(text) = &text {
        let length = text.chars().count();
        if length > MAX_TEXT_CHARS {
            return Err(SendError::Permanent(format!(
                "WhatsApp accepts at most {MAX_TEXT_CHARS} characters of text and this message has {length}"
            )));
        }
    }
    let reply_to = message.reply_to.filter(|id| !id.is_empty());
    let Some(attachment) = message.attachment else {
        if text.is_none() {
            return Err(SendError::Permanent(
                "nothing to send: no text and no attachment".into(),
            ));
        }
        return Ok(Plan {
            to,
            reply_to,
            media: None,
            text,
        });
    };
    let kind = match attachment.kind {
        // WhatsApp shows JPEG and PNG as images; a GIF or WebP goes as a file.
        AttachmentKind::Image if !is_whatsapp_image(attachment.mime_type.as_deref()) => "document",
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio | AttachmentKind::Voice => "audio",
        AttachmentKind::Document | AttachmentKind::Other => "document",
        AttachmentKind::Sticker => "sticker",
        AttachmentKind::Location | AttachmentKind::Contact => {
            return Err(SendError::Permanent(
                "locations and contact cards cannot be sent as files".into(),
            ))
        }
    };
    let takes_caption = matches!(kind, "image" | "video" | "document");
    let (caption, text) = match text {
        Some(text) if takes_caption && text.chars().count() <= MAX_CAPTION_CHARS => {
            (Some(text), None)
        }
        other => (None, other),
    };
    // Bytes are uploaded when the host has them: a link needs WhatsApp to
    // reach the host, which a self-hosted install may not allow.
    let source = match (
        attachment.url.filter(|url| !url.is_empty()),
        attachment.data.filter(|data| !data.is_empty()),
    ) {
        (Some(url), None) => Source::Link(url),
        (_, Some(data)) => {
            let mime_type = attachment
                .mime_type
                .clone()
                .or_else(|| {
                    attachment
                        .file_name
                        .as_deref()
                        .and_then(|name| TYPES.for_name(name))
                        .map(String::from)
                })
                .ok_or_else(|| {
                    SendError::Permanent(
                        "WhatsApp needs the attachment's MIME type to upload it".into(),
                    )
                })?;
            let file_name = attachment.file_name.clone().unwrap_or_else(|| {
                match TYPES.extension_for(&mime_type) {
                    Some(extension) => format!("{kind}.{extension}"),
                    None => kind.to_string(),
                }
            });
            Source::Upload {
                mime_type,
                file_name,
                data,
            }
        }
        (None, None) => {
            return Err(SendError::Permanent(
                "the attachment has neither a URL nor data".into(),
            ))
        }
    };
    Ok(Plan {
        to,
        reply_to,
        media: Some((
            MediaSpec {
                kind,
                caption,
                filename: attachment.file_name.filter(|_| kind == "document"),
            },
            source,
        )),
        text,
    })
}

/// Fields every message shares.
fn envelope(to: &str, reply_to: Option<&str>, kind: &str) -> Value {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    });
    if let Some(id) = reply_to {
        body["context"] = json!({ "message_id": id });
    }
    body
}

pub(crate) fn text_body(to: &str, reply_to: Option<&str>, text: &str) -> Value {
    let mut body = envelope(to, reply_to, "text");
    body["text"] = json!({ "body": text, "preview_url": false });
    body
}

pub(crate) fn media_body(
    to: &str,
    reply_to: Option<&str>,
    spec: &MediaSpec,
    reference: &MediaRef,
) -> Value {
    let mut media = match reference {
        MediaRef::Link(url) => json!({ "link": url }),
        MediaRef::Id(id) => json!({ "id": id }),
    };
    if let Some(caption) = &spec.caption {
        media["caption"] = json!(caption);
    }
    if let Some(filename) = &spec.filename {
        media["filename"] = json!(filename);
    }
    let mut body = envelope(to, reply_to, spec.kind);
    body[spec.kind] = media;
    body
}

pub(crate) fn message_call(api: &Api, phone_id: &str, body: Value) -> Call {
    Call::post(api.node(phone_id, "/messages"))
        .bearer(&api.token)
        .json(body)
}

pub(crate) fn upload_call(
    api: &Api,
    phone_id: &str,
    seed: &str,
    mime_type: &str,
    file_name: &str,
    data: &[u8],
) -> Call {
    let form = Form::new(seed)
        .text("messaging_product", "whatsapp")
        .text("type", mime_type)
        .file("file", file_name, mime_type, data)
        .finish();
    Call::post(api.node(phone_id, "/media"))
        .bearer(&api.token)
        .raw(form.content_type, form.body)
}

#[derive(Deserialize)]
struct Uploaded {
    id: String,
}

/// `{"id":"<media id>"}`.
pub(crate) fn uploaded(status: u16, body: &[u8]) -> Result<String, SendError> {
    interpret::<Uploaded>(status, body)
        .map(|uploaded| uploaded.id)
        .map_err(send_error)
}

#[derive(Deserialize)]
struct Answer {
    messages: Vec<Accepted>,
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
}

/// `{"messaging_product","contacts":[…],"messages":[{"id":"wamid…"}]}`.
pub(crate) fn outcome(status: u16, body: &[u8]) -> Result<Sent, SendError> {
    let unreadable = |reason: String| {
        // A success we cannot read may still be a delivered message.
        SendError::Permanent(format!(
            "{reason}; the message may have been delivered, so it is not resent"
        ))
    };
    match interpret::<Answer>(status, body) {
        Ok(answer) => answer
            .messages
            .into_iter()
            .next()
            .map(|accepted| Sent {
                provider_message_id: accepted.id,
            })
            .ok_or_else(|| unreadable("WhatsApp accepted the request but named no message".into())),
        Err(Failure::Unexpected(reason)) => Err(unreadable(reason)),
        Err(failure) => Err(send_error(failure)),
    }
}

#[cfg(test)]
mod tests;

/// Whether WhatsApp takes this type as an image message (JPEG or PNG). An
/// unknown type (a link) is left to WhatsApp.
fn is_whatsapp_image(mime_type: Option<&str>) -> bool {
    mime_type.is_none_or(|mime| {
        let mime = mime.trim().to_ascii_lowercase();
        mime.is_empty() || mime == "image/jpeg" || mime == "image/png"
    })
}
