//! The serde shape of WhatsApp Cloud API webhooks.
//!
//! `entry[]` is one WhatsApp Business Account; each `changes[]` item has a
//! `field`, and for `messages` a `value` naming the business phone number
//! (`metadata.phone_number_id`) with `contacts[]` + `messages[]` or
//! `statuses[]`. Messages and statuses are read one by one so one odd item
//! cannot sink a batch; everything Meta may leave out is optional.

use serde::Deserialize;
use serde_json::Value;
use switchboard_meta_graph::payload::{id, optional_id, optional_u64, Change};

pub(crate) type Envelope = switchboard_meta_graph::payload::Envelope<Entry>;

#[derive(Debug, Deserialize)]
pub(crate) struct Entry {
    #[serde(default)]
    pub changes: Option<Vec<Change>>,
}

/// The `value` of a `messages` change (its `metadata` is read by [`ChangeHead`]).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChangeValue {
    pub contacts: Option<Vec<Contact>>,
    pub messages: Option<Vec<Value>>,
    pub statuses: Option<Vec<Value>>,
    pub errors: Option<Vec<ErrorItem>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    #[serde(deserialize_with = "id")]
    pub phone_number_id: String,
}

/// Just enough of a change to route it.
#[derive(Debug, Deserialize)]
pub(crate) struct ChangeHead {
    pub metadata: Option<Metadata>,
}

impl ChangeHead {
    /// The business phone number a change's value names, if any.
    pub fn phone_number_id(value: &Value) -> Option<String> {
        Some(
            ChangeHead::deserialize(value)
                .ok()?
                .metadata?
                .phone_number_id,
        )
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Contact {
    pub profile: Option<Profile>,
    #[serde(default, deserialize_with = "optional_id")]
    pub wa_id: Option<String>,
    /// The business-scoped user id (BSUID).
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Profile {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InMessage {
    /// The customer's WhatsApp id (phone digits); may be missing when the
    /// customer hides their number behind a username.
    #[serde(default, deserialize_with = "optional_id")]
    pub from: Option<String>,
    pub from_user_id: Option<String>,
    pub id: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "optional_u64")]
    pub timestamp: Option<u64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub context: Option<Context>,
    pub text: Option<Text>,
    pub image: Option<Media>,
    pub audio: Option<Media>,
    pub video: Option<Media>,
    pub document: Option<Media>,
    pub sticker: Option<Media>,
    pub location: Option<Location>,
    pub contacts: Option<Vec<SharedContact>>,
    pub interactive: Option<Interactive>,
    pub button: Option<Button>,
    pub reaction: Option<ReactionBody>,
    pub errors: Option<Vec<ErrorItem>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Context {
    /// The message replied to.
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Text {
    pub body: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Media {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
    /// Audio recorded in WhatsApp (a voice note).
    pub voice: Option<bool>,
    pub animated: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Location {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SharedContact {
    pub name: Option<ContactName>,
    pub phones: Option<Vec<Phone>>,
    pub emails: Option<Vec<Email>>,
    pub org: Option<Org>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContactName {
    pub formatted_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Phone {
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "optional_id")]
    pub wa_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Email {
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Org {
    pub company: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Interactive {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub button_reply: Option<Choice>,
    pub list_reply: Option<Choice>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Choice {
    pub id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
}

/// A tapped quick-reply button of a template.
#[derive(Debug, Deserialize)]
pub(crate) struct Button {
    pub text: Option<String>,
    pub payload: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReactionBody {
    pub message_id: Option<String>,
    /// Absent or empty when the reaction was removed.
    pub emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Status {
    /// The wamid of our outbound message.
    pub id: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "optional_u64")]
    pub timestamp: Option<u64>,
    #[serde(default, deserialize_with = "optional_id")]
    pub recipient_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub errors: Option<Vec<ErrorItem>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorItem {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorData {
    pub details: Option<String>,
}

impl ErrorItem {
    /// `131047 Re-engagement message: More than 24 hours have passed…`.
    pub fn describe(&self) -> String {
        let mut head = [
            self.code.map(|code| code.to_string()),
            self.title.clone().or_else(|| self.message.clone()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let detail = self
            .error_data
            .as_ref()
            .and_then(|data| data.details.clone())
            .or_else(|| {
                self.message
                    .clone()
                    .filter(|message| Some(message) != self.title.as_ref())
            })
            .filter(|detail| !detail.trim().is_empty());
        if head.is_empty() {
            head = "unknown error".into();
        }
        match detail {
            Some(detail) => format!("{head}: {detail}"),
            None => head,
        }
    }
}

/// All errors of a list, or None when there are none.
pub(crate) fn describe_errors(errors: Option<&[ErrorItem]>) -> Option<String> {
    let described: Vec<String> = errors?.iter().map(ErrorItem::describe).collect();
    (!described.is_empty()).then(|| described.join("; "))
}

/// Every business phone number a webhook body names, for global routing.
pub(crate) fn account_ids(body: &[u8]) -> Result<Vec<String>, String> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|error| format!("not a WhatsApp webhook: {error}"))?;
    Ok(envelope
        .entry
        .into_iter()
        .flat_map(|entry| entry.changes.unwrap_or_default())
        .filter_map(|change| ChangeHead::phone_number_id(&change.value))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_come_from_every_change() {
        let body = br#"{"object":"whatsapp_business_account","entry":[
          {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"}}},
                               {"field":"messages","value":{"metadata":{"phone_number_id":106540352242923}}}]},
          {"id":"2","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]},
          {"id":"3"}]}"#;
        assert_eq!(
            account_ids(body).unwrap(),
            vec!["106540352242922", "106540352242923"]
        );
        assert!(account_ids(br#"{"object":"whatsapp_business_account"}"#).is_err());
        assert!(account_ids(b"<xml/>").is_err());
    }

    #[test]
    fn errors_read_as_code_title_and_details() {
        let error: ErrorItem = serde_json::from_str(
            r#"{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"More than 24 hours have passed since the customer last replied."}}"#,
        )
        .unwrap();
        assert_eq!(
            error.describe(),
            "131047 Re-engagement message: More than 24 hours have passed since the customer last replied."
        );
        let bare: ErrorItem = serde_json::from_str(r#"{"code":131000}"#).unwrap();
        assert_eq!(bare.describe(), "131000");
        let message_only: ErrorItem =
            serde_json::from_str(r#"{"title":"Something","message":"went wrong"}"#).unwrap();
        assert_eq!(message_only.describe(), "Something: went wrong");
        let empty: ErrorItem = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.describe(), "unknown error");
        assert_eq!(describe_errors(Some(&[])), None);
        assert_eq!(describe_errors(None), None);
        assert_eq!(
            describe_errors(Some(&[bare, message_only])).as_deref(),
            Some("131000; Something: went wrong")
        );
    }
}
