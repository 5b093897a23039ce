//! Instagram webhooks as Switchboard events.
//!
//! A batch may name several accounts; the host calls `normalize` once per
//! channel it routed the batch to, so only entries of that channel's account
//! become events. Each messaging item yields exactly one event, ignored
//! items included, so a redelivered batch dedups item by item.
//!
//! Dedup keys (unique per account, stable across redeliveries):
//!
//! | event                 | key                                            |
//! |-----------------------|------------------------------------------------|
//! | message               | `<mid>`                                        |
//! | echo of our message   | `echo:<mid>`                                   |
//! | postback              | `postback:<mid>` (`postback:<sender>:<timestamp>` without one) |
//! | edit                  | `edit:<mid>:<num_edit>` (or the timestamp)     |
//! | delete                | `delete:<mid>`                                 |
//! | reaction              | `reaction:<mid>:<sender>:<action>:<timestamp>` |
//! | read receipt          | `status:<mid>:read`                            |
//! | ignored item          | `ignore:<kind>:<sender>:<timestamp>`           |
//! | ignored change        | `ignore:<field>:<fingerprint of its value>`    |
//! | unreadable item, other object | `ignore:<fingerprint>`                 |

use serde::Deserialize;
use serde_json::Value;
use switchboard_meta_graph::payload::fingerprint;
use switchboard_plugin_sdk::{
    DeliveryState, Event, EventBody, Message, MessageRef, NormalizeError, Participant, Reaction,
    StatusUpdate, Thread, ThreadKind,
};

use crate::attachments;
use crate::payload::{is_messaging_field, Change, Envelope, InMessage, Item};

pub(crate) fn normalize(account_id: &str, body: &[u8]) -> Result<Vec<Event>, NormalizeError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|error| NormalizeError::Malformed(format!("not an Instagram webhook: {error}")))?;
    if envelope.object.as_deref() != Some("instagram") {
        let object = envelope.object.as_deref().unwrap_or("(none)");
        return Ok(vec![ignore(
            format!("ignore:{}", fingerprint(body)),
            format!("object `{object}` is not Instagram messaging"),
        )]);
    }
    let mut events = Vec::new();
    for entry in envelope
        .entry
        .into_iter()
        .filter(|entry| entry.id == account_id)
    {
        let context = Context {
            account_id,
            batch_time: entry.time,
        };
        for item in entry.messaging.unwrap_or_default() {
            events.push(context.item_value(item));
        }
        for change in entry.changes.unwrap_or_default() {
            events.push(context.change(change));
        }
    }
    if events.is_empty() {
        events.push(ignore(
            format!("ignore:{}", fingerprint(body)),
            format!("no messaging events for account {account_id} in this webhook"),
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

fn event(dedup_key: String, body: EventBody) -> Event {
    Event { dedup_key, body }
}

/// What every item of one entry shares.
struct Context<'a> {
    account_id: &'a str,
    batch_time: Option<u64>,
}

/// The two sides of an item, seen from the business.
struct Sides {
    sender: Participant,
    thread: Thread,
    /// Sent by the account itself (from Switchboard or the Instagram app).
    by_business: bool,
    timestamp_ms: u64,
}

impl Context<'_> {
    fn change(&self, change: Change) -> Event {
        if is_messaging_field(&change.field) {
            return self.item_value(change.value);
        }
        let key = format!(
            "ignore:{}:{}",
            change.field,
            fingerprint(change.value.to_string().as_bytes())
        );
        ignore(
            key,
            format!("`{}` changes are not direct messages", change.field),
        )
    }

    fn item_value(&self, value: Value) -> Event {
        match Item::deserialize(&value) {
            Ok(item) => self.item(item, &value),
            Err(error) => ignore(
                format!("ignore:{}", fingerprint(value.to_string().as_bytes())),
                format!("unreadable messaging event: {error}"),
            ),
        }
    }

    fn sides(&self, item: &Item) -> Option<Sides> {
        let sender = item.sender.as_ref()?.id.clone();
        let recipient = item.recipient.as_ref()?.id.clone();
        let by_business = sender == self.account_id;
        let customer = if by_business {
            recipient
        } else {
            sender.clone()
        };
        Some(Sides {
            sender: participant(sender),
            thread: Thread {
                id: customer,
                kind: ThreadKind::Direct,
                title: None,
            },
            by_business,
            timestamp_ms: item.timestamp.or(self.batch_time).unwrap_or(0),
        })
    }

    fn item(&self, mut item: Item, raw: &Value) -> Event {
        let Some(sides) = self.sides(&item) else {
            return ignore(
                format!("ignore:{}", fingerprint(raw.to_string().as_bytes())),
                "messaging event without sender or recipient".into(),
            );
        };
        if let Some(edit) = item.message_edit.take() {
            let Some(mid) = edit.mid else {
                return ignored_kind(&sides, "message_edit", "an edit that names no message");
            };
            let revision = edit.num_edit.unwrap_or(sides.timestamp_ms);
            return event(
                format!("edit:{mid}:{revision}"),
                EventBody::Edit(Message {
                    provider_message_id: mid,
                    thread: sides.thread,
                    sender: sides.sender,
                    timestamp_ms: sides.timestamp_ms,
                    text: edit.text,
                    attachments: Vec::new(),
                    reply_to: None,
                }),
            );
        }
        if let Some(message) = item.message.take() {
            return message_event(sides, message);
        }
        if let Some(reaction) = item.reaction.take() {
            let Some(mid) = reaction.mid else {
                return ignored_kind(&sides, "reaction", "a reaction that names no message");
            };
            let action = reaction.action.unwrap_or_else(|| "react".into());
            let removed = action == "unreact";
            return event(
                format!(
                    "reaction:{mid}:{}:{action}:{}",
                    sides.sender.id, sides.timestamp_ms
                ),
                EventBody::Reaction(Reaction {
                    provider_message_id: mid,
                    thread: sides.thread,
                    sender: sides.sender,
                    // An unreact may name no emoji; the host removes the
                    // sender's reaction on the message either way.
                    emoji: reaction.emoji.or(reaction.reaction).unwrap_or_default(),
                    removed,
                    timestamp_ms: sides.timestamp_ms,
                }),
            );
        }
        if let Some(postback) = item.postback.take() {
            let mid = postback
                .mid
                .unwrap_or_else(|| format!("{}:{}", sides.sender.id, sides.timestamp_ms));
            let attachments = postback
                .payload
                .filter(|payload| !payload.is_empty())
                .map(|payload| vec![attachments::button_payload("postback", &payload)])
                .unwrap_or_default();
            return event(
                format!("postback:{mid}"),
                EventBody::Message(Message {
                    provider_message_id: mid,
                    thread: sides.thread,
                    sender: sides.sender,
                    timestamp_ms: sides.timestamp_ms,
                    text: postback.title,
                    attachments,
                    reply_to: None,
                }),
            );
        }
        if let Some(read) = item.read.take() {
            let Some(mid) = read.mid else {
                return ignored_kind(&sides, "read", "a read receipt that names no message");
            };
            return event(
                format!("status:{mid}:read"),
                EventBody::Status(StatusUpdate {
                    provider_message_id: mid,
                    thread: sides.thread,
                    state: DeliveryState::Read,
                    error: None,
                    timestamp_ms: sides.timestamp_ms,
                }),
            );
        }
        if item.referral.is_some() {
            return ignored_kind(
                &sides,
                "referral",
                "a referral (ad, link or shop click) without a message",
            );
        }
        let kind = item
            .other
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "empty".into());
        let reason = format!("unsupported messaging event `{kind}`");
        ignored_kind(&sides, &kind, &reason)
    }
}

fn ignored_kind(sides: &Sides, kind: &str, reason: &str) -> Event {
    ignore(
        format!("ignore:{kind}:{}:{}", sides.sender.id, sides.timestamp_ms),
        reason.to_string(),
    )
}

fn participant(id: String) -> Participant {
    Participant {
        id,
        display_name: None,
        username: None,
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn message_event(sides: Sides, message: InMessage) -> Event {
    let Some(mid) = message.mid.clone().filter(|mid| !mid.is_empty()) else {
        return ignored_kind(&sides, "message", "a message without mid");
    };
    if message.is_deleted {
        return event(
            format!("delete:{mid}"),
            EventBody::Delete(MessageRef {
                provider_message_id: mid,
                thread: sides.thread,
                timestamp_ms: sides.timestamp_ms,
            }),
        );
    }
    let echo = message.is_echo || message.is_self || sides.by_business;
    let unsupported = message.is_unsupported;
    let InMessage {
        text,
        attachments: items,
        quick_reply,
        reply_to,
        ..
    } = message;
    let mut attachments: Vec<_> = items
        .unwrap_or_default()
        .into_iter()
        .map(attachments::from_message)
        .collect();
    let mut reply_mid = None;
    if let Some(reply) = reply_to {
        match (reply.mid, reply.story) {
            (Some(replied), _) if !replied.is_empty() => reply_mid = Some(replied),
            (_, Some(story)) => attachments.push(attachments::story_reply(story)),
            _ => {}
        }
    }
    if let Some(payload) = quick_reply.and_then(|quick| quick.payload) {
        attachments.push(attachments::button_payload("quick_reply", &payload));
    }
    if unsupported {
        // Shown rather than dropped: the customer believes they sent
        // something, and the agent should know to ask what it was.
        attachments.push(attachments::unsupported());
    }
    let text = text.filter(|text| !text.is_empty());
    if text.is_none() && attachments.is_empty() {
        return ignore(mid, "a message with no text and no attachment".into());
    }
    let normalized = Message {
        provider_message_id: mid.clone(),
        thread: sides.thread,
        sender: sides.sender,
        timestamp_ms: sides.timestamp_ms,
        text,
        attachments,
        reply_to: reply_mid,
    };
    if echo {
        event(format!("echo:{mid}"), EventBody::Echo(normalized))
    } else {
        event(mid, EventBody::Message(normalized))
    }
}

#[cfg(test)]
mod tests;
