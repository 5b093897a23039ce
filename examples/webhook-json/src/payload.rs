//! The serde shape of an inbound event (documented in the crate docs).
//!
//! Unknown fields are skipped, so a sending system may include more than
//! Switchboard reads. Which optional parts an event type needs is checked in
//! `normalize`, where the error can name the type.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// What every event has; read on its own first, so an event type this
/// plugin does not know is ignored whatever the rest of its body looks like.
#[derive(Debug, Deserialize)]
pub(crate) struct Head {
    pub event_id: Id,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    /// Unix time in milliseconds.
    pub timestamp: Option<u64>,
    pub thread: Option<Thread>,
    pub sender: Option<Sender>,
    pub message: Option<Message>,
    pub reaction: Option<Reaction>,
    pub status: Option<Status>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Thread {
    pub id: Id,
    pub kind: ThreadKind,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ThreadKind {
    Direct,
    Group,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Sender {
    pub id: Id,
    pub name: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    pub id: Id,
    pub text: Option<String>,
    pub reply_to: Option<Id>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Attachment {
    /// Read leniently (an unknown kind becomes `other`), so a sender adding
    /// a kind never loses the message it is attached to.
    pub kind: String,
    pub url: String,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Reaction {
    pub message_id: Id,
    pub emoji: String,
    #[serde(default)]
    pub removed: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Status {
    pub message_id: Id,
    pub state: DeliveryState,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeliveryState {
    Sent,
    Delivered,
    Read,
    Failed,
}

/// An id in the sending system: a non-blank JSON string, or an integer
/// (`42` and `"42"` are the same id), since many systems number records.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = Id;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a non-empty string or an integer id")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Id, E> {
        if value.trim().is_empty() {
            return Err(E::invalid_value(de::Unexpected::Str(value), &self));
        }
        Ok(Id(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Id, E> {
        Ok(Id(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Id, E> {
        Ok(Id(value.to_string()))
    }
}

/// Parses a body, refusing anything but a JSON object (a derived struct
/// would otherwise also accept an array of its field values).
pub(crate) fn parse_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err("the body is not a JSON object".into());
    }
    serde_json::from_slice(body).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_or_integers() {
        let head: Head = parse_object(br#"{"event_id": 42, "type": "message"}"#).unwrap();
        assert_eq!(head.event_id, Id("42".into()));
        let head: Head = parse_object(br#"{"event_id": -7, "type": "x"}"#).unwrap();
        assert_eq!(head.event_id, Id("-7".into()));
        let head: Head = parse_object(br#"{"event_id": "e-1", "type": "x"}"#).unwrap();
        assert_eq!(head.event_id, Id("e-1".into()));
    }

    #[test]
    fn blank_fractional_and_structured_ids_are_refused() {
        for body in [
            r#"{"event_id": "", "type": "message"}"#,
            r#"{"event_id": "  ", "type": "message"}"#,
            r#"{"event_id": 1.5, "type": "message"}"#,
            r#"{"event_id": {"id": 1}, "type": "message"}"#,
            r#"{"event_id": null, "type": "message"}"#,
        ] {
            let error = parse_object::<Head>(body.as_bytes()).unwrap_err();
            assert!(
                error.contains("a non-empty string or an integer id"),
                "{body}: {error}"
            );
        }
    }

    #[test]
    fn only_objects_parse() {
        assert_eq!(
            parse_object::<Head>(br#"["e-1", "message"]"#).unwrap_err(),
            "the body is not a JSON object"
        );
        assert_eq!(
            parse_object::<Head>(b"  ").unwrap_err(),
            "the body is not a JSON object"
        );
        assert!(parse_object::<Head>(b" \n{\"event_id\":\"e\",\"type\":\"t\"}").is_ok());
    }
}
