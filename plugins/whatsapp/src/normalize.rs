//! WhatsApp webhooks as Switchboard events.
//!
//! A batch may name several business phone numbers; the host calls
//! `normalize` once per channel it routed the batch to, so only changes of
//! that channel's `phone_number_id` become events. Each message and status
//! yields exactly one event, ignored ones included.
//!
//! The customer is named by `wa_id` (phone digits). When they hide their
//! number behind a username, the business-scoped user id (BSUID) takes its
//! place; when both are known the BSUID is an alternate id.
//!
//! Dedup keys (unique per phone number, stable across redeliveries):
//!
//! | event              | key                                                |
//! |--------------------|----------------------------------------------------|
//! | message            | `<wamid>`                                          |
//! | reaction           | `reaction:<wamid>:<sender>:<react|unreact>:<ms>`   |
//! | status             | `status:<wamid>:<sent|delivered|read|failed>`      |
//! | ignored message    | `<wamid>`                                          |
//! | other ignored part | `ignore:<field or kind>:<fingerprint>`             |

use serde::Deserialize;
use serde_json::Value;
use switchboard_meta_graph::payload::{fingerprint, seconds_to_ms};
use switchboard_plugin_sdk::{
    DeliveryState, Event, EventBody, Message, NormalizeError, Participant, Reaction, StatusUpdate,
    Thread, ThreadKind,
};

use crate::content;
use crate::payload::{
    describe_errors, ChangeHead, ChangeValue, Contact, Envelope, InMessage, Status,
};

pub(crate) fn normalize(account_id: &str, body: &[u8]) -> Result<Vec<Event>, NormalizeError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|error| NormalizeError::Malformed(format!("not a WhatsApp webhook: {error}")))?;
    if envelope.object.as_deref() != Some("whatsapp_business_account") {
        let object = envelope.object.as_deref().unwrap_or("(none)");
        return Ok(vec![ignore(
            format!("ignore:{}", fingerprint(body)),
            format!("object `{object}` is not WhatsApp Business"),
        )]);
    }
    let mut events = Vec::new();
    let changes = envelope
        .entry
        .into_iter()
        .flat_map(|entry| entry.changes.unwrap_or_default());
    for change in changes {
        if ChangeHead::phone_number_id(&change.value).as_deref() != Some(account_id) {
            continue;
        }
        let print = || fingerprint(change.value.to_string().as_bytes());
        if change.field != "messages" {
            events.push(ignore(
                format!("ignore:{}:{}", change.field, print()),
                format!("`{}` changes are not chat traffic", change.field),
            ));
            continue;
        }
        match ChangeValue::deserialize(&change.value) {
            Ok(value) => events.extend(value_events(value, print)),
            Err(error) => events.push(ignore(
                format!("ignore:messages:{}", print()),
                format!("unreadable messages change: {error}"),
            )),
        }
    }
    if events.is_empty() {
        events.push(ignore(
            format!("ignore:{}", fingerprint(body)),
            format!("no events for phone number {account_id} in this webhook"),
        ));
    }
    Ok(events)
}

fn ignore(dedup_key: String, reason: String) -> Event {
    Event {
        dedup_key,
        body: EventBody::Ignore(reason),
    }
}

fn value_events(value: ChangeValue, print: impl Fn() -> String) -> Vec<Event> {
    let contacts = value.contacts.unwrap_or_default();
    let mut events: Vec<Event> = value
        .messages
        .unwrap_or_default()
        .iter()
        .map(|raw| message_event(raw, &contacts))
        .collect();
    events.extend(value.statuses.unwrap_or_default().iter().map(status_event));
    if let Some(errors) = describe_errors(value.errors.as_deref()) {
        events.push(ignore(
            format!("ignore:errors:{}", print()),
            format!("WhatsApp reported an error: {errors}"),
        ));
    }
    if events.is_empty() {
        events.push(ignore(
            format!("ignore:messages:{}", print()),
            "a messages change with no messages or statuses".into(),
        ));
    }
    events
}

/// The customer behind a message, with what `contacts[]` says about them.
fn customer(message: &InMessage, contacts: &[Contact]) -> Option<Participant> {
    let from = message.from.as_deref().filter(|id| !id.is_empty());
    let from_user = message.from_user_id.as_deref().filter(|id| !id.is_empty());
    let contact = contacts
        .iter()
        .find(|contact| {
            (from.is_some() && contact.wa_id.as_deref() == from)
                || (from_user.is_some() && contact.user_id.as_deref() == from_user)
        })
        // A single contact is the sender even if its ids are missing.
        .or(if contacts.len() == 1 {
            contacts.first()
        } else {
            None
        });
    let wa_id = from
        .map(str::to_string)
        .or_else(|| contact.and_then(|contact| contact.wa_id.clone()))
        .filter(|id| !id.is_empty());
    let bsuid = from_user
        .map(str::to_string)
        .or_else(|| contact.and_then(|contact| contact.user_id.clone()))
        .filter(|id| !id.is_empty());
    let id = wa_id.clone().or_else(|| bsuid.clone())?;
    Some(Participant {
        alternate_ids: bsuid.into_iter().filter(|bsuid| *bsuid != id).collect(),
        id,
        display_name: contact
            .and_then(|contact| contact.profile.as_ref())
            .and_then(|profile| profile.name.clone())
            .filter(|name| !name.trim().is_empty()),
        username: None,
        phone: wa_id,
    })
}

fn message_event(raw: &Value, contacts: &[Contact]) -> Event {
    let message = match InMessage::deserialize(raw) {
        Ok(message) => message,
        Err(error) => {
            return ignore(
                format!("ignore:message:{}", fingerprint(raw.to_string().as_bytes())),
                format!("unreadable message: {error}"),
            )
        }
    };
    let Some(wamid) = message.id.clone().filter(|id| !id.is_empty()) else {
        return ignore(
            format!("ignore:message:{}", fingerprint(raw.to_string().as_bytes())),
            "a message without id".into(),
        );
    };
    let Some(sender) = customer(&message, contacts) else {
        return ignore(wamid, "a message that names no sender".into());
    };
    let thread = Thread {
        id: sender.id.clone(),
        kind: ThreadKind::Direct,
        title: sender.display_name.clone(),
    };
    let timestamp_ms = seconds_to_ms(message.timestamp.unwrap_or(0));
    match message.kind.as_deref() {
        Some("reaction") => return reaction_event(wamid, &message, sender, thread, timestamp_ms),
        Some(kind @ ("unsupported" | "unknown")) => {
            let why = describe_errors(message.errors.as_deref())
                .unwrap_or_else(|| "WhatsApp gave no reason".into());
            return ignore(wamid, format!("{kind} message: {why}"));
        }
        _ => {}
    }
    match content::read(&message) {
        Ok((text, attachments)) => Event {
            dedup_key: wamid.clone(),
            body: EventBody::Message(Message {
                provider_message_id: wamid,
                thread,
                sender,
                timestamp_ms,
                text,
                attachments,
                reply_to: message
                    .context
                    .and_then(|context| context.id)
                    .filter(|id| !id.is_empty()),
            }),
        },
        Err(reason) => ignore(wamid, reason),
    }
}

fn reaction_event(
    wamid: String,
    message: &InMessage,
    sender: Participant,
    thread: Thread,
    timestamp_ms: u64,
) -> Event {
    let reaction = message.reaction.as_ref();
    let Some(target) = reaction
        .and_then(|reaction| reaction.message_id.clone())
        .filter(|id| !id.is_empty())
    else {
        return ignore(wamid, "a reaction that names no message".into());
    };
    let emoji = reaction
        .and_then(|reaction| reaction.emoji.clone())
        .unwrap_or_default();
    let removed = emoji.is_empty();
    let action = if removed { "unreact" } else { "react" };
    Event {
        dedup_key: format!("reaction:{target}:{}:{action}:{timestamp_ms}", sender.id),
        body: EventBody::Reaction(Reaction {
            provider_message_id: target,
            thread,
            sender,
            emoji,
            removed,
            timestamp_ms,
        }),
    }
}

fn status_event(raw: &Value) -> Event {
    let unreadable = |reason: String| {
        ignore(
            format!("ignore:status:{}", fingerprint(raw.to_string().as_bytes())),
            reason,
        )
    };
    let status = match Status::deserialize(raw) {
        Ok(status) => status,
        Err(error) => return unreadable(format!("unreadable status: {error}")),
    };
    let Some(wamid) = status.id.clone().filter(|id| !id.is_empty()) else {
        return unreadable("a status without message id".into());
    };
    let name = status.status.as_deref().unwrap_or_default();
    let state = match name {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        other => {
            return ignore(
                format!("status:{wamid}:{other}"),
                format!("status `{other}` is not a delivery state"),
            )
        }
    };
    Event {
        dedup_key: format!("status:{wamid}:{name}"),
        body: EventBody::Status(StatusUpdate {
            provider_message_id: wamid,
            thread: Thread {
                id: status
                    .recipient_id
                    .clone()
                    .or(status.recipient_user_id.clone())
                    .unwrap_or_default(),
                kind: ThreadKind::Direct,
                title: None,
            },
            state,
            error: match state {
                DeliveryState::Failed => describe_errors(status.errors.as_deref()).or_else(|| {
                    Some("WhatsApp reported the message failed without a reason".into())
                }),
                _ => None,
            },
            timestamp_ms: seconds_to_ms(status.timestamp.unwrap_or(0)),
        }),
    }
}

#[cfg(test)]
mod tests;
