//! The parts of a Callback API request that Switchboard reads.
//!
//! `{type, object, group_id, event_id, v, secret}`. Only the envelope is read
//! eagerly; `object` stays JSON until the event type says what it holds.
//! Everything VK may omit is an `Option` and unknown fields are skipped, so a
//! new API version adding fields never breaks parsing.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The envelope of every callback.
#[derive(Debug)]
pub(crate) struct Callback {
    pub kind: String,
    /// `None` when absent or not a positive integer (or digit string).
    pub group_id: Option<i64>,
    pub event_id: Option<String>,
    pub secret: Option<String>,
    pub object: Value,
}

/// Parses the envelope. The error says what is wrong, for a 400 or a
/// dead-letter reason.
pub(crate) fn parse(body: &[u8]) -> Result<Callback, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    let Value::Object(mut fields) = value else {
        return Err("the body is not a JSON object".into());
    };
    let kind = match fields.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        Some(_) => return Err("`type` is not a string".into()),
        None => return Err("no `type`".into()),
    };
    Ok(Callback {
        kind,
        group_id: fields.get("group_id").and_then(positive_id),
        event_id: fields.get("event_id").and_then(id_text),
        secret: fields
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_string),
        object: fields.remove("object").unwrap_or(Value::Null),
    })
}

fn positive_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The message inside a message event. Since API 5.103 `message_new` wraps
/// it as `{message, client_info}`; `message_reply` and `message_edit`, and
/// `message_new` of older versions, carry the message itself.
pub(crate) fn message_of(object: &Value) -> Result<VkMessage, String> {
    let inner = match object.get("message") {
        Some(message @ Value::Object(_)) => message,
        _ => object,
    };
    if !inner.is_object() {
        return Err("the event carries no message object".into());
    }
    VkMessage::deserialize(inner).map_err(|error| format!("unreadable message: {error}"))
}

/// A message (`messages_message`), with the fields of versions before 5.80
/// (`user_id`, `body`, `chat_id`) read as fallbacks.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct VkMessage {
    pub date: Option<i64>,
    /// Set on edits: when the message was last changed.
    pub update_time: Option<i64>,
    pub peer_id: Option<i64>,
    pub from_id: Option<i64>,
    pub conversation_message_id: Option<i64>,
    #[serde(default, deserialize_with = "flag")]
    pub out: bool,
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub fwd_messages: Vec<Value>,
    pub reply_message: Option<Box<VkMessage>>,
    pub geo: Option<Value>,
    pub action: Option<Action>,
    /// Old versions: the other side of a direct conversation.
    pub user_id: Option<i64>,
    /// Old versions: the text.
    pub body: Option<String>,
    /// Old versions: the chat number of a group chat (peer = 2e9 + chat_id).
    pub chat_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Action {
    #[serde(rename = "type")]
    pub kind: String,
}

impl VkMessage {
    pub fn peer_id(&self) -> Option<i64> {
        self.peer_id
            .or_else(|| self.chat_id.map(|chat| crate::ids::CHAT_PEER_OFFSET + chat))
            .or(self.user_id)
            .filter(|peer| *peer != 0)
    }

    /// The author; in an old-style direct message that is the other side.
    pub fn author(&self) -> Option<i64> {
        self.from_id.or(self.user_id).filter(|from| *from != 0)
    }

    pub fn text(&self) -> Option<String> {
        self.text
            .as_deref()
            .or(self.body.as_deref())
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    }
}

/// VK writes booleans as 0/1; accept `true`/`false` too.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(value) => value,
        Value::Number(number) => number.as_i64().is_some_and(|n| n != 0),
        _ => false,
    })
}

/// An integer field of a JSON object that VK may also send as a string.
pub(crate) fn int_field(object: &Map<String, Value>, name: &str) -> Option<i64> {
    match object.get(name)? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
