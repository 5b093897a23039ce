//! Telegram updates as Switchboard events.
//!
//! Ids: `message_id` is unique only inside its chat, so a message is named
//! `<chat id>:<message id>` everywhere (provider ids, replies, reactions). A
//! thread is the chat, or `<chat id>:<topic id>` for a forum topic, which is
//! also the form `send` takes back.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use switchboard_plugin_sdk::{
    Event, EventBody, Message, NormalizeError, Participant, Reaction, Thread, ThreadKind,
};

use crate::attachments;
use crate::update::{self, parse_object, Chat, MessageReactionUpdated, ReactionType, Update, User};

/// Turns one webhook body (one Update) into events. Every update yields at
/// least one event, so redelivery of an ignored update is deduplicated too.
pub(crate) fn normalize(body: &[u8]) -> Result<Vec<Event>, NormalizeError> {
    let update: Update = parse_object(body)
        .map_err(|reason| NormalizeError::Malformed(format!("malformed update: {reason}")))?;
    let key = format!("update:{}", update.update_id);
    let Update {
        message,
        edited_message,
        channel_post,
        edited_channel_post,
        message_reaction,
        ..
    } = update;

    let body = if let Some(message) = message.or(channel_post) {
        message_body(message, false)
    } else if let Some(message) = edited_message.or(edited_channel_post) {
        message_body(message, true)
    } else if let Some(reaction) = message_reaction {
        return Ok(reaction_events(&key, reaction));
    } else {
        EventBody::Ignore(unsupported_reason(body))
    };
    Ok(vec![Event {
        dedup_key: key,
        body,
    }])
}

pub(crate) fn provider_message_id(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

fn message_body(message: update::Message, edited: bool) -> EventBody {
    let chat_id = message.chat.id;
    if let Some(to) = message.migrate_to_chat_id {
        return EventBody::Ignore(format!(
            "group {chat_id} was upgraded to supergroup {to}; its messages continue there"
        ));
    }
    if let Some(from) = message.migrate_from_chat_id {
        return EventBody::Ignore(format!(
            "supergroup {chat_id} was created from group {from}"
        ));
    }
    let attachments = attachments::from_message(&message);
    let topic = forum_topic(&message);
    let sender = sender(&message);
    let thread = thread(&message.chat, topic);
    let seconds = if edited {
        message.edit_date.unwrap_or(message.date)
    } else {
        message.date
    };
    // Inside a forum topic Telegram sets `reply_to_message` to the topic's
    // opening service message even when the user replied to nothing.
    let reply_to = message
        .reply_to_message
        .map(|replied| replied.message_id)
        .filter(|&replied| Some(replied) != topic)
        .map(|replied| provider_message_id(chat_id, replied));
    let text = message.text.or(message.caption);
    if text.is_none() && attachments.is_empty() {
        return EventBody::Ignore(
            "service message or unsupported content: no text and no attachment".into(),
        );
    }
    let normalized = Message {
        provider_message_id: provider_message_id(chat_id, message.message_id),
        thread,
        sender,
        timestamp_ms: seconds_to_ms(seconds),
        text,
        attachments,
        reply_to,
    };
    if edited {
        EventBody::Edit(normalized)
    } else {
        EventBody::Message(normalized)
    }
}

/// The topic id when the message sits in a forum topic. Plain supergroups
/// also set `message_thread_id` on reply chains; those stay in the chat's
/// thread, or every reply chain would become its own conversation.
fn forum_topic(message: &update::Message) -> Option<i64> {
    let in_forum = message.is_topic_message == Some(true) || message.chat.is_forum == Some(true);
    message.message_thread_id.filter(|_| in_forum)
}

fn thread(chat: &Chat, topic: Option<i64>) -> Thread {
    let kind = match chat.kind.as_deref() {
        Some("private") => ThreadKind::Direct,
        Some("channel") => ThreadKind::Broadcast,
        _ => ThreadKind::Group,
    };
    Thread {
        id: match topic {
            Some(topic) => format!("{}:{topic}", chat.id),
            None => chat.id.to_string(),
        },
        kind,
        title: chat
            .title
            .clone()
            .or_else(|| full_name(chat.first_name.as_deref(), chat.last_name.as_deref())),
    }
}

/// `sender_chat` wins over `from`: when a message is sent on behalf of a chat
/// (a channel post, an anonymous group admin, a linked channel's repost)
/// `from` is absent or a placeholder bot shared by every such message.
fn sender(message: &update::Message) -> Participant {
    if let Some(chat) = &message.sender_chat {
        chat_participant(chat)
    } else if let Some(user) = &message.from {
        user_participant(user)
    } else {
        chat_participant(&message.chat)
    }
}

fn user_participant(user: &User) -> Participant {
    Participant {
        id: user.id.to_string(),
        display_name: full_name(user.first_name.as_deref(), user.last_name.as_deref()),
        username: user.username.clone(),
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn chat_participant(chat: &Chat) -> Participant {
    Participant {
        id: chat.id.to_string(),
        display_name: chat
            .title
            .clone()
            .or_else(|| full_name(chat.first_name.as_deref(), chat.last_name.as_deref())),
        username: chat.username.clone(),
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn seconds_to_ms(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0).saturating_mul(1000)
}

/// Telegram sends the whole reaction set before and after; Switchboard
/// stores changes. Removals come first so that a swap (👍 to ❤) read in order
/// ends with the new reaction.
fn reaction_events(key: &str, update: MessageReactionUpdated) -> Vec<Event> {
    let old: Vec<String> = update
        .old_reaction
        .iter()
        .filter_map(ReactionType::key)
        .collect();
    let new: Vec<String> = update
        .new_reaction
        .iter()
        .filter_map(ReactionType::key)
        .collect();
    let removed = old
        .iter()
        .filter(|emoji| !new.contains(emoji))
        .map(|emoji| (emoji, true));
    let added = new
        .iter()
        .filter(|emoji| !old.contains(emoji))
        .map(|emoji| (emoji, false));

    let message_id = provider_message_id(update.chat.id, update.message_id);
    let thread = thread(&update.chat, None);
    let sender = match (&update.user, &update.actor_chat) {
        (Some(user), _) => user_participant(user),
        (None, Some(chat)) => chat_participant(chat),
        (None, None) => chat_participant(&update.chat),
    };
    let timestamp_ms = seconds_to_ms(update.date);

    let events: Vec<Event> = removed
        .chain(added)
        .enumerate()
        .map(|(n, (emoji, removed))| Event {
            dedup_key: if n == 0 {
                key.to_string()
            } else {
                format!("{key}:{n}")
            },
            body: EventBody::Reaction(Reaction {
                provider_message_id: message_id.clone(),
                thread: thread.clone(),
                sender: sender.clone(),
                emoji: emoji.clone(),
                removed,
                timestamp_ms,
            }),
        })
        .collect();
    if events.is_empty() {
        return vec![Event {
            dedup_key: key.to_string(),
            body: EventBody::Ignore("reaction update that adds or removes no emoji".into()),
        }];
    }
    events
}

/// Names the update's kind from its one key besides `update_id`.
fn unsupported_reason(body: &[u8]) -> String {
    let fields: BTreeMap<String, IgnoredAny> = serde_json::from_slice(body).unwrap_or_default();
    match fields.keys().find(|name| *name != "update_id") {
        Some(kind) => format!("unsupported update type `{kind}`"),
        None => "update without content".into(),
    }
}

#[cfg(test)]
mod tests;
