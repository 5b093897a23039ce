//! Values and readers for plugins' native unit tests. Only built with the
//! `testing` feature, which a plugin turns on for its tests alone:
//!
//! ```toml
//! [dev-dependencies]
//! switchboard-plugin-sdk = { path = "../sdk", features = ["testing"] }
//! ```
//!
//! Builders fill the fields a test rarely reads with fixed values; a test
//! that reads one sets it with struct update syntax
//! (`Channel { webhook_secret: "s".into(), ..channel("1", &[]) }`). Readers
//! panic with what they got when a result is not what the test expects.

use std::fmt::Debug;

use crate::channel::Config;
use crate::{
    Attachment, AttachmentKind, Channel, ConnectRequest, Event, EventBody, IncomingRequest,
    Message, NormalizeError, OutboundAttachment, OutboundMessage, SendError,
};

/// `(name, value)` pairs as configuration.
pub fn config(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Configuration alone, for code that reads it through [`Config`].
#[derive(Debug, Clone, Default)]
pub struct Settings(pub Vec<(String, String)>);

impl Config for Settings {
    fn config(&self) -> &[(String, String)] {
        &self.0
    }
}

pub fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings(config(pairs))
}

/// The channel of `account` with `pairs` as its configuration, in channel
/// `ch_1` of workspace `ws_1`, with the webhook secret `wh_secret` and the
/// URL `https://hooks.example/webhooks`.
pub fn channel(account: &str, pairs: &[(&str, &str)]) -> Channel {
    Channel {
        id: "ch_1".into(),
        workspace_id: "ws_1".into(),
        provider_account_id: account.into(),
        config: config(pairs),
        webhook_secret: "wh_secret".into(),
        webhook_url: "https://hooks.example/webhooks".into(),
    }
}

/// A connect request with `pairs` as its configuration.
pub fn connect_request(
    pairs: &[(&str, &str)],
    webhook_secret: &str,
    webhook_url: &str,
) -> ConnectRequest {
    ConnectRequest {
        config: config(pairs),
        webhook_secret: webhook_secret.into(),
        webhook_url: webhook_url.into(),
    }
}

/// A webhook request without query or headers.
pub fn request(method: &str, path: &str, body: &str) -> IncomingRequest {
    IncomingRequest {
        method: method.into(),
        path: path.into(),
        query: String::new(),
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

/// A text message to `recipient`, in the thread of the same id, as message
/// `01JA0000000000000000000000`.
pub fn text_message(recipient: &str, text: &str) -> OutboundMessage {
    OutboundMessage {
        message_id: "01JA0000000000000000000000".into(),
        thread_id: recipient.into(),
        recipient_id: recipient.into(),
        text: Some(text.into()),
        attachment: None,
        reply_to: None,
    }
}

/// An attachment to send, by link or with its bytes, with no name or type.
pub fn outbound_attachment(
    kind: AttachmentKind,
    url: Option<&str>,
    data: Option<Vec<u8>>,
) -> OutboundAttachment {
    OutboundAttachment {
        kind,
        file_name: None,
        mime_type: None,
        url: url.map(str::to_string),
        data,
    }
}

/// An attachment's metadata value for `key`.
pub fn meta<'a>(attachment: &'a Attachment, key: &str) -> Option<&'a str> {
    attachment
        .metadata
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

/// An attachment's metadata, in order, for comparing with a literal list.
pub fn metadata(attachment: &Attachment) -> Vec<(&str, &str)> {
    attachment
        .metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

/// The one event `normalize` returned.
pub fn only(mut events: Vec<Event>) -> Event {
    assert_eq!(events.len(), 1, "one event expected: {events:?}");
    events.remove(0)
}

/// The dedup key and message of a new-message event.
pub fn message(event: Event) -> (String, Message) {
    match event {
        Event {
            dedup_key,
            body: EventBody::Message(message),
        } => (dedup_key, message),
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The dedup key and reason of an event to ignore.
pub fn ignored(event: Event) -> (String, String) {
    match event {
        Event {
            dedup_key,
            body: EventBody::Ignore(reason),
        } => (dedup_key, reason),
        other => panic!("expected ignore, got {other:?}"),
    }
}

/// Why `normalize` called a payload malformed.
pub fn malformed<T: Debug>(result: Result<T, NormalizeError>) -> String {
    match result {
        Err(NormalizeError::Malformed(reason)) => reason,
        other => panic!("expected malformed, got {other:?}"),
    }
}

/// Why a send (or a step of one) failed for good.
pub fn permanent<T: Debug>(result: Result<T, SendError>) -> String {
    match result {
        Err(SendError::Permanent(reason)) => reason,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(key: &str) -> Event {
        Event {
            dedup_key: key.into(),
            body: EventBody::Ignore("not chat".into()),
        }
    }

    #[test]
    fn builders_fill_in_test_values() {
        let channel = channel("42", &[("token", "t")]);
        assert_eq!(channel.provider_account_id, "42");
        assert_eq!(channel.get("token"), Some("t"));
        assert_eq!(settings(&[("a", "1")]).require("a"), Ok("1"));
        let request = connect_request(&[], "s", "https://x");
        assert_eq!(
            (request.webhook_secret, request.webhook_url),
            ("s".into(), "https://x".into())
        );
        let post = super::request("POST", "/webhooks/x", "{}");
        assert_eq!(
            (post.path.as_str(), post.body.as_slice()),
            ("/webhooks/x", b"{}".as_slice())
        );
        let message = text_message("7", "hi");
        assert_eq!(
            (message.thread_id, message.text),
            ("7".into(), Some("hi".into()))
        );
        let attachment = outbound_attachment(AttachmentKind::Document, Some("https://x/a"), None);
        assert_eq!(attachment.url.as_deref(), Some("https://x/a"));
    }

    #[test]
    fn metadata_reads_in_order_and_by_key() {
        let attachment = Attachment {
            metadata: config(&[("type", "share"), ("url", "https://x")]),
            ..Attachment::new(AttachmentKind::Other, "")
        };
        assert_eq!(
            metadata(&attachment),
            vec![("type", "share"), ("url", "https://x")]
        );
        assert_eq!(meta(&attachment, "url"), Some("https://x"));
        assert_eq!(meta(&attachment, "title"), None);
    }

    #[test]
    fn readers_take_apart_what_they_expect() {
        assert_eq!(
            ignored(only(vec![ignore("k")])),
            ("k".into(), "not chat".into())
        );
        assert_eq!(
            malformed::<()>(Err(NormalizeError::Malformed("x".into()))),
            "x"
        );
        assert_eq!(permanent::<()>(Err(SendError::Permanent("y".into()))), "y");
    }

    #[test]
    #[should_panic(expected = "one event expected")]
    fn only_insists_on_one_event() {
        only(vec![ignore("a"), ignore("b")]);
    }

    #[test]
    #[should_panic(expected = "expected a message")]
    fn readers_name_what_they_got() {
        message(ignore("a"));
    }
}
