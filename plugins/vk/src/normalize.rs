//! Callback events as Switchboard events.
//!
//! Every callback becomes exactly one event keyed `event:<event_id>` (VK's
//! id for the delivery, repeated on resends), so a resend of anything,
//! ignored events included, is written once. Messages are named
//! `<peer_id>_<conversation_message_id>` (see `ids`), which is what makes a
//! message unique per community even though its global `id` is 0 in chats.

use serde_json::Value;
use switchboard_plugin_sdk::crypto::hmac_sha256_hex;
use switchboard_plugin_sdk::{
    DeliveryState, Event, EventBody, Message, NormalizeError, Participant, StatusUpdate, Thread,
};

use crate::attachments;
use crate::callback::{self, int_field, VkMessage};
use crate::ids;

/// Turns one callback into its event. `now_ms` stands in for the time of
/// events that carry none (read receipts).
pub(crate) fn normalize(body: &[u8], now_ms: u64) -> Result<Vec<Event>, NormalizeError> {
    let callback = callback::parse(body)
        .map_err(|reason| NormalizeError::Malformed(format!("malformed callback: {reason}")))?;
    let dedup_key = dedup_key(callback.event_id.as_deref(), body);
    let object = &callback.object;
    let body = match callback.kind.as_str() {
        "message_new" => {
            let message = read_message(object)?;
            // Messages the community itself sent come as `message_reply`, but
            // a `message_new` marked outgoing is one too.
            if message.out {
                message_body(&message, Kind::Echo)?
            } else {
                message_body(&message, Kind::New)?
            }
        }
        "message_reply" => message_body(&read_message(object)?, Kind::Echo)?,
        "message_edit" => message_body(&read_message(object)?, Kind::Edit)?,
        "message_read" => read_receipt(object, now_ms)?,
        "message_allow" => EventBody::Ignore(allow_reason(object)),
        "message_deny" => EventBody::Ignore(format!(
            "user {} denied messages from the community; sending to them fails until they allow them again",
            user(object, "user_id")
        )),
        "message_typing_state" => EventBody::Ignore(format!(
            "typing indicator ({}) from user {}",
            text_field(object, "state").unwrap_or("typing"),
            user(object, "from_id")
        )),
        "message_event" => EventBody::Ignore(format!(
            "callback button pressed by user {} in conversation {}; Switchboard sends no keyboards",
            user(object, "user_id"),
            user(object, "peer_id")
        )),
        "message_reaction_event" => EventBody::Ignore(
            "message reaction: not stored (VK names reactions by number; which emoji each \
             number stands for is unconfirmed)"
                .into(),
        ),
        "confirmation" => EventBody::Ignore(
            "confirmation handshake: answered when it arrived, nothing to store".into(),
        ),
        other => EventBody::Ignore(format!(
            "`{other}` events are not messages; Switchboard does not subscribe to them"
        )),
    };
    Ok(vec![Event { dedup_key, body }])
}

/// `event:<event_id>`. Versions that predate `event_id` get a key from the
/// body's hash instead: a resend repeats the same bytes.
pub(crate) fn dedup_key(event_id: Option<&str>, body: &[u8]) -> String {
    match event_id {
        Some(id) => format!("event:{id}"),
        None => format!(
            "body:{}",
            &hmac_sha256_hex(b"switchboard:vk:dedup", body)[..32]
        ),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    New,
    Edit,
    Echo,
}

fn read_message(object: &Value) -> Result<VkMessage, NormalizeError> {
    callback::message_of(object)
        .map_err(|reason| NormalizeError::Malformed(format!("malformed message event: {reason}")))
}

fn message_body(message: &VkMessage, kind: Kind) -> Result<EventBody, NormalizeError> {
    let malformed =
        |what: &str| NormalizeError::Malformed(format!("malformed message event: no `{what}`"));
    let peer_id = message.peer_id().ok_or_else(|| malformed("peer_id"))?;
    let cmid = message
        .conversation_message_id
        .filter(|cmid| *cmid > 0)
        .ok_or_else(|| malformed("conversation_message_id"))?;
    let date = message.date.ok_or_else(|| malformed("date"))?;

    if let Some(action) = &message.action {
        return Ok(EventBody::Ignore(format!(
            "service message `{}` in conversation {peer_id}",
            action.kind
        )));
    }
    let text = message.text();
    let attachments = attachments::from_message(message);
    if text.is_none() && attachments.is_empty() {
        return Ok(EventBody::Ignore(format!(
            "message {} has no text and no attachment",
            ids::message_id(peer_id, cmid)
        )));
    }
    let seconds = match kind {
        Kind::Edit => message.update_time.unwrap_or(date),
        Kind::New | Kind::Echo => date,
    };
    let normalized = Message {
        provider_message_id: ids::message_id(peer_id, cmid),
        thread: thread(peer_id),
        sender: participant(message.author().unwrap_or(peer_id)),
        timestamp_ms: seconds_to_ms(seconds),
        text,
        attachments,
        reply_to: message
            .reply_message
            .as_deref()
            .and_then(|replied| reply_id(replied, peer_id)),
    };
    Ok(match kind {
        Kind::New => EventBody::Message(normalized),
        Kind::Edit => EventBody::Edit(normalized),
        Kind::Echo => EventBody::Echo(normalized),
    })
}

/// The answered message, in the same naming; VK omits its `peer_id` at
/// times, and then it is the current conversation.
fn reply_id(replied: &VkMessage, peer_id: i64) -> Option<String> {
    let cmid = replied.conversation_message_id.filter(|cmid| *cmid > 0)?;
    Some(ids::message_id(replied.peer_id.unwrap_or(peer_id), cmid))
}

/// `message_read {from_id, peer_id, read_message_id, conversation_message_id}`:
/// the user read everything up to that message. Only the conversation
/// message id names it the way Switchboard does; `read_message_id` is the
/// global id, which cannot be mapped without another API call.
fn read_receipt(object: &Value, now_ms: u64) -> Result<EventBody, NormalizeError> {
    let fields = object
        .as_object()
        .ok_or_else(|| NormalizeError::Malformed("malformed message_read: no object".into()))?;
    let peer_id = int_field(fields, "peer_id")
        .filter(|peer| *peer != 0)
        .ok_or_else(|| NormalizeError::Malformed("malformed message_read: no `peer_id`".into()))?;
    let Some(cmid) = int_field(fields, "conversation_message_id").filter(|cmid| *cmid > 0) else {
        return Ok(EventBody::Ignore(format!(
            "read receipt in conversation {peer_id} without a conversation_message_id"
        )));
    };
    Ok(EventBody::Status(StatusUpdate {
        provider_message_id: ids::message_id(peer_id, cmid),
        thread: thread(peer_id),
        state: DeliveryState::Read,
        error: None,
        // VK does not say when; the time it arrived is the best there is.
        timestamp_ms: now_ms,
    }))
}

fn allow_reason(object: &Value) -> String {
    let user = user(object, "user_id");
    match text_field(object, "key") {
        Some(key) => {
            format!("user {user} allowed messages from the community (subscription key `{key}`)")
        }
        None => format!("user {user} allowed messages from the community"),
    }
}

fn user(object: &Value, field: &str) -> String {
    object
        .as_object()
        .and_then(|fields| int_field(fields, field))
        .map_or_else(|| "(unknown)".to_string(), |id| id.to_string())
}

fn text_field<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

fn thread(peer_id: i64) -> Thread {
    Thread {
        id: peer_id.to_string(),
        kind: ids::thread_kind(peer_id),
        // Callbacks carry no names; titles come from elsewhere or not at all.
        title: None,
    }
}

/// Users by their id; communities (negative ids) the same way, so the
/// community's own messages are recognisable by the minus sign.
fn participant(id: i64) -> Participant {
    Participant {
        id: id.to_string(),
        display_name: None,
        username: None,
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn seconds_to_ms(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0).saturating_mul(1000)
}

#[cfg(test)]
mod tests;
