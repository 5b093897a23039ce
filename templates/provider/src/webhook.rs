//! Inbound requests: `verify` authenticates one on the request path (keep it
//! cheap: no outbound calls), `normalize` turns it into events later.

use serde::Deserialize;
use switchboard_plugin_sdk::crypto::constant_time_eq;
use switchboard_plugin_sdk::{
    Channel, Event, EventBody, IncomingRequest, Message, NormalizeError, Participant, Thread,
    ThreadKind, Verdict,
};

/// Replace: where your provider puts the secret `connect` registered (or
/// check an HMAC signature with `switchboard_plugin_sdk::crypto`).
const SECRET_HEADER: &str = "x-webhook-secret";

pub(crate) fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "webhooks are delivered with POST");
    }
    let expected = channel.webhook_secret.as_bytes();
    let given = request.header(SECRET_HEADER).unwrap_or_default().as_bytes();
    // An empty secret on both sides would otherwise compare equal.
    if expected.is_empty() || !constant_time_eq(given, expected) {
        return Verdict::reject(401, "invalid webhook secret");
    }
    Verdict::Accept(None)
}

/// Replace: your provider's payload. This one is
/// `{"id": "e-1", "message": {"id", "chat_id", "from": {"id", "name"?}, "text", "timestamp_ms"}}`.
#[derive(Deserialize)]
struct Update {
    id: String,
    message: Option<IncomingMessage>,
}

#[derive(Deserialize)]
struct IncomingMessage {
    id: String,
    chat_id: String,
    from: Sender,
    text: String,
    timestamp_ms: u64,
}

#[derive(Deserialize)]
struct Sender {
    id: String,
    name: Option<String>,
}

pub(crate) fn normalize(body: &[u8]) -> Result<Vec<Event>, NormalizeError> {
    let update: Update = serde_json::from_slice(body)
        .map_err(|error| NormalizeError::Malformed(format!("malformed update: {error}")))?;
    // The dedup key must be the same on every redelivery of this update.
    let dedup_key = format!("update:{}", update.id);
    let body = match update.message {
        Some(message) => EventBody::Message(Message {
            // Unique per channel account, and what replies and edits name.
            provider_message_id: message.id,
            thread: Thread {
                id: message.chat_id,
                kind: ThreadKind::Direct,
                title: None,
            },
            sender: Participant {
                id: message.from.id,
                display_name: message.from.name,
                username: None,
                phone: None,
                alternate_ids: Vec::new(),
            },
            timestamp_ms: message.timestamp_ms,
            text: Some(message.text),
            attachments: Vec::new(),
            reply_to: None,
        }),
        // Replace: map the other kinds you support; ignore the rest with a reason.
        None => EventBody::Ignore("update without a message".into()),
    };
    Ok(vec![Event { dedup_key, body }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Channel {
        Channel {
            id: "ch_1".into(),
            workspace_id: "ws_1".into(),
            provider_account_id: "42".into(),
            config: vec![("api_token".into(), "t".into())],
            webhook_secret: "s3cr3t".into(),
            webhook_url: "https://inbox.example.com/webhooks/template/k1".into(),
        }
    }

    fn request(secret: Option<&str>) -> IncomingRequest {
        IncomingRequest {
            method: "POST".into(),
            path: "/webhooks/template/k1".into(),
            query: String::new(),
            headers: secret
                .map(|secret| vec![(SECRET_HEADER.to_string(), secret.to_string())])
                .unwrap_or_default(),
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn only_the_channel_secret_is_accepted() {
        assert!(matches!(
            verify(&channel(), &request(Some("s3cr3t"))),
            Verdict::Accept(None)
        ));
        for secret in [None, Some(""), Some("wrong")] {
            assert!(matches!(
                verify(&channel(), &request(secret)),
                Verdict::Reject(ref rejection) if rejection.status == 401
            ));
        }
    }

    #[test]
    fn messages_become_events_and_the_rest_is_ignored() {
        let body = br#"{"id": "e-1", "message": {"id": "m-1", "chat_id": "c-1",
            "from": {"id": "u-1", "name": "Anna"}, "text": "hello", "timestamp_ms": 1767268800000}}"#;
        let events = normalize(body).unwrap();
        assert_eq!(events[0].dedup_key, "update:e-1");
        let EventBody::Message(message) = &events[0].body else {
            panic!("expected a message, got {:?}", events[0].body);
        };
        assert_eq!(message.provider_message_id, "m-1");
        assert_eq!(message.thread.id, "c-1");
        assert_eq!(message.text.as_deref(), Some("hello"));

        let events = normalize(br#"{"id": "e-2"}"#).unwrap();
        assert!(matches!(events[0].body, EventBody::Ignore(_)));
        assert!(matches!(
            normalize(b"not json"),
            Err(NormalizeError::Malformed(_))
        ));
    }
}
