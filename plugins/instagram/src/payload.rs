//! The serde shape of Instagram messaging webhooks.
//!
//! An envelope carries entries, one per Instagram account; an entry carries
//! `messaging[]` items, or `changes[]` whose `value` is an item of the same
//! shape (dashboard test sends, and some production postbacks). Items are
//! read one by one so a single odd item cannot sink the rest of a batch.
//! Everything Meta may leave out is optional.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use switchboard_meta_graph::payload::{id, optional_id, optional_u64};

pub(crate) use switchboard_meta_graph::payload::Change;

pub(crate) type Envelope = switchboard_meta_graph::payload::Envelope<Entry>;

#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    /// The Instagram professional account the events belong to.
    #[serde(deserialize_with = "id")]
    pub id: String,
    /// When Meta sent the batch, in ms.
    #[serde(default, deserialize_with = "optional_u64")]
    pub time: Option<u64>,
    #[serde(default)]
    pub messaging: Option<Vec<Value>>,
    #[serde(default)]
    pub changes: Option<Vec<Change>>,
}

/// Only the ids, for routing.
#[derive(Debug, Deserialize)]
pub(crate) struct EnvelopeHead {
    pub entry: Vec<EntryHead>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EntryHead {
    #[serde(deserialize_with = "id")]
    pub id: String,
}

/// One messaging event: exactly one of the optional payloads is expected.
#[derive(Debug, Deserialize)]
pub(crate) struct Item {
    pub sender: Option<Party>,
    pub recipient: Option<Party>,
    /// Milliseconds.
    #[serde(default, deserialize_with = "optional_u64")]
    pub timestamp: Option<u64>,
    pub message: Option<InMessage>,
    pub reaction: Option<InReaction>,
    pub postback: Option<Postback>,
    pub read: Option<Read>,
    pub referral: Option<Value>,
    pub message_edit: Option<MessageEdit>,
    /// Whatever else Meta sends, to name it when ignoring.
    #[serde(flatten)]
    pub other: BTreeMap<String, IgnoredAny>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Party {
    #[serde(deserialize_with = "id")]
    pub id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InMessage {
    pub mid: Option<String>,
    pub text: Option<String>,
    pub attachments: Option<Vec<InAttachment>>,
    #[serde(default)]
    pub is_echo: bool,
    #[serde(default)]
    pub is_self: bool,
    #[serde(default)]
    pub is_deleted: bool,
    #[serde(default)]
    pub is_unsupported: bool,
    pub quick_reply: Option<QuickReply>,
    pub reply_to: Option<ReplyTo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InAttachment {
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: Option<AttachmentPayload>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AttachmentPayload {
    pub url: Option<String>,
    /// Shared posts and reels carry a caption here.
    pub title: Option<String>,
    /// Set on the heart sticker and other stickers sent as images.
    #[serde(default, deserialize_with = "optional_id")]
    pub sticker_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct QuickReply {
    pub payload: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReplyTo {
    pub mid: Option<String>,
    pub story: Option<StoryRef>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StoryRef {
    pub url: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InReaction {
    pub mid: Option<String>,
    /// `react` or `unreact`.
    pub action: Option<String>,
    /// The reaction's name, e.g. `love`.
    pub reaction: Option<String>,
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Postback {
    pub mid: Option<String>,
    pub title: Option<String>,
    pub payload: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Read {
    pub mid: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct MessageEdit {
    pub mid: Option<String>,
    pub text: Option<String>,
    #[serde(default, deserialize_with = "optional_u64")]
    pub num_edit: Option<u64>,
}

/// Every account id a webhook body names, for global routing.
pub(crate) fn account_ids(body: &[u8]) -> Result<Vec<String>, String> {
    let head: EnvelopeHead = serde_json::from_slice(body)
        .map_err(|error| format!("not an Instagram webhook: {error}"))?;
    Ok(head.entry.into_iter().map(|entry| entry.id).collect())
}

/// `changes[]` fields whose value is a messaging item.
pub(crate) fn is_messaging_field(field: &str) -> bool {
    matches!(
        field,
        "messages"
            | "messaging_postbacks"
            | "messaging_seen"
            | "message_reactions"
            | "message_edit"
            | "messaging_referral"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_come_from_every_entry() {
        let body = br#"{"object":"instagram","entry":[{"id":"1","time":1},{"id":2,"messaging":[]},{"id":"1"}]}"#;
        assert_eq!(account_ids(body).unwrap(), vec!["1", "2", "1"]);
        assert!(account_ids(br#"{"object":"instagram"}"#).is_err());
        assert!(account_ids(br#"{"entry":[{"time":1}]}"#).is_err());
        assert!(account_ids(b"nope").is_err());
    }

    #[test]
    fn unknown_item_keys_are_kept_by_name() {
        let item: Item = serde_json::from_str(
            r#"{"sender":{"id":"1"},"recipient":{"id":2},"timestamp":"5","optin":{"ref":"x"}}"#,
        )
        .unwrap();
        assert_eq!(item.recipient.unwrap().id, "2");
        assert_eq!(item.timestamp, Some(5));
        assert!(item.other.contains_key("optin"));
        assert!(!item.other.contains_key("sender"));
    }
}
