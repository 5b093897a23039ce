//! Inbound events as Switchboard events: one webhook, one event, keyed
//! `event:<event_id>` so a redelivered webhook is written once.

use switchboard_plugin_sdk::{
    Attachment, AttachmentKind, DeliveryState, Event, EventBody, Message, MessageRef,
    NormalizeError, Participant, Reaction, StatusUpdate, Thread, ThreadKind,
};

use crate::attachment_kind;
use crate::payload::{self, parse_object, Envelope, Head};

/// The event types this plugin reads; any other `type` is ignored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Message,
    Edit,
    Delete,
    Reaction,
    Status,
    Echo,
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "message" => Kind::Message,
            "edit" => Kind::Edit,
            "delete" => Kind::Delete,
            "reaction" => Kind::Reaction,
            "status" => Kind::Status,
            "echo" => Kind::Echo,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Edit => "edit",
            Kind::Delete => "delete",
            Kind::Reaction => "reaction",
            Kind::Status => "status",
            Kind::Echo => "echo",
        }
    }
}

/// `account_id` is the channel's own id in the sending system: the sender
/// of an echo that names none.
pub(crate) fn normalize(account_id: &str, body: &[u8]) -> Result<Vec<Event>, NormalizeError> {
    let malformed =
        |reason: String| NormalizeError::Malformed(format!("malformed event: {reason}"));
    let head: Head = parse_object(body).map_err(malformed)?;
    let dedup_key = format!("event:{}", head.event_id.0);
    let body = match Kind::parse(&head.kind) {
        Some(kind) => {
            let envelope: Envelope = parse_object(body).map_err(malformed)?;
            event_body(kind, envelope, account_id).map_err(malformed)?
        }
        None => EventBody::Ignore(format!("unsupported event type `{}`", head.kind)),
    };
    Ok(vec![Event { dedup_key, body }])
}

fn event_body(kind: Kind, envelope: Envelope, account_id: &str) -> Result<EventBody, String> {
    let need = |part: &str| format!("`{}` events need `{part}`", kind.name());
    let timestamp_ms = envelope.timestamp.ok_or_else(|| need("timestamp"))?;
    let thread = thread(envelope.thread.ok_or_else(|| need("thread"))?);

    Ok(match kind {
        Kind::Message | Kind::Edit | Kind::Echo => {
            let sender = match (envelope.sender, kind) {
                (Some(sender), _) => participant(sender),
                // Our own messages: the writer does not file them under a contact.
                (None, Kind::Echo) => account(account_id),
                (None, _) => return Err(need("sender")),
            };
            let message = envelope.message.ok_or_else(|| need("message"))?;
            let message = Message {
                provider_message_id: message.id.0,
                thread,
                sender,
                timestamp_ms,
                text: message.text.filter(|text| !text.is_empty()),
                attachments: message.attachments.into_iter().map(attachment).collect(),
                reply_to: message.reply_to.map(|id| id.0),
            };
            if message.text.is_none() && message.attachments.is_empty() {
                return Ok(EventBody::Ignore(format!(
                    "{} {} has neither text nor attachments",
                    kind.name(),
                    message.provider_message_id
                )));
            }
            match kind {
                Kind::Message => EventBody::Message(message),
                Kind::Edit => EventBody::Edit(message),
                _ => EventBody::Echo(message),
            }
        }
        Kind::Delete => {
            let message = envelope.message.ok_or_else(|| need("message"))?;
            EventBody::Delete(MessageRef {
                provider_message_id: message.id.0,
                thread,
                timestamp_ms,
            })
        }
        Kind::Reaction => {
            let sender = participant(envelope.sender.ok_or_else(|| need("sender"))?);
            let reaction = envelope.reaction.ok_or_else(|| need("reaction"))?;
            if reaction.emoji.trim().is_empty() {
                return Err("a reaction needs a non-empty `emoji`".into());
            }
            EventBody::Reaction(Reaction {
                provider_message_id: reaction.message_id.0,
                thread,
                sender,
                emoji: reaction.emoji,
                removed: reaction.removed,
                timestamp_ms,
            })
        }
        Kind::Status => {
            let status = envelope.status.ok_or_else(|| need("status"))?;
            EventBody::Status(StatusUpdate {
                provider_message_id: status.message_id.0,
                thread,
                state: match status.state {
                    payload::DeliveryState::Sent => DeliveryState::Sent,
                    payload::DeliveryState::Delivered => DeliveryState::Delivered,
                    payload::DeliveryState::Read => DeliveryState::Read,
                    payload::DeliveryState::Failed => DeliveryState::Failed,
                },
                error: status.error.filter(|error| !error.is_empty()),
                timestamp_ms,
            })
        }
    })
}

fn thread(thread: payload::Thread) -> Thread {
    Thread {
        id: thread.id.0,
        kind: match thread.kind {
            payload::ThreadKind::Direct => ThreadKind::Direct,
            payload::ThreadKind::Group => ThreadKind::Group,
        },
        title: non_blank(thread.title),
    }
}

fn participant(sender: payload::Sender) -> Participant {
    Participant {
        id: sender.id.0,
        display_name: non_blank(sender.name),
        username: non_blank(sender.username),
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn account(account_id: &str) -> Participant {
    Participant {
        id: account_id.to_string(),
        display_name: None,
        username: None,
        phone: None,
        alternate_ids: Vec::new(),
    }
}

/// The attachment's URL is what `fetch-attachment` downloads later.
fn attachment(attachment: payload::Attachment) -> Attachment {
    let kind = attachment_kind::from_name(&attachment.kind);
    let metadata = match kind {
        AttachmentKind::Other if attachment.kind != "other" => {
            vec![("kind".to_string(), attachment.kind.clone())]
        }
        _ => Vec::new(),
    };
    Attachment {
        kind,
        provider_ref: attachment.url,
        mime_type: non_blank(attachment.mime_type),
        file_name: non_blank(attachment.file_name),
        size_bytes: attachment.size_bytes,
        width: None,
        height: None,
        duration_secs: None,
        metadata,
    }
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests;
