//! Runs `conformance.json` through the plugin natively, so the vectors the
//! host's suite replays are known to agree with the plugin before a server
//! ever sees them.

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../conformance.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("conformance.json is JSON")
}

/// The channel the suite connects: the vectors' config plus an `api_base`.
fn channel(vectors: &Value) -> Channel {
    let mut config: Vec<(String, String)> = vectors["config"]
        .as_object()
        .expect("config is an object")
        .iter()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap().to_string()))
        .collect();
    config.push(("api_base".into(), "http://127.0.0.1:4010".into()));
    Channel {
        id: "ch_conformance".into(),
        workspace_id: "ws_conformance".into(),
        provider_account_id: vectors["config"]["account_id"].as_str().unwrap().into(),
        config,
        webhook_secret: "host-generated".into(),
        webhook_url: "http://127.0.0.1:8080/webhooks/webhook-json/k1".into(),
    }
}

/// A webhook as the suite posts it: POST, JSON, signed as `auth` says.
fn posted(vectors: &Value, body: Vec<u8>) -> IncomingRequest {
    let auth = &vectors["auth"];
    assert_eq!(auth["kind"], "hmac-sha256");
    let key = vectors["config"][auth["secret_config"].as_str().unwrap()]
        .as_str()
        .unwrap();
    let signature = format!(
        "{}{}",
        auth["prefix"].as_str().unwrap(),
        switchboard_plugin_sdk::crypto::hmac_sha256_hex(key.as_bytes(), &body)
    );
    IncomingRequest {
        method: "POST".into(),
        path: "/webhooks/webhook-json/k1".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (auth["header"].as_str().unwrap().into(), signature),
        ],
        body,
    }
}

/// Verifies a case as the suite would, then normalizes it to its one event.
fn accepted_event(vectors: &Value, case: &str) -> (EventBody, Value) {
    let case = &vectors["cases"][case];
    let request = posted(vectors, case["body"].to_string().into_bytes());
    let accepted = &vectors["accepted"];
    match WebhookJson.verify(channel(vectors), request.clone()) {
        Verdict::Accept(Some(response)) => {
            assert_eq!(u64::from(response.status), accepted["status"]);
            assert_eq!(
                String::from_utf8(response.body).unwrap(),
                accepted["body"].as_str().unwrap()
            );
        }
        other => panic!("{case}: expected acceptance, got {other:?}"),
    }
    let mut events = WebhookJson
        .normalize(channel(vectors), request)
        .expect("the case normalizes");
    assert_eq!(events.len(), 1);
    (events.remove(0).body, case["expect"].clone())
}

#[test]
fn message_edit_media_and_echo_match_their_expectations() {
    let vectors = vectors();
    for case in ["message", "edit", "media", "echo"] {
        let (body, expect) = accepted_event(&vectors, case);
        let message = match (case, body) {
            ("message" | "media", EventBody::Message(message)) => message,
            ("edit", EventBody::Edit(message)) => message,
            ("echo", EventBody::Echo(message)) => message,
            (case, other) => panic!("{case}: unexpected {other:?}"),
        };
        assert_eq!(message.provider_message_id, expect["provider_message_id"]);
        if let Some(text) = expect["text"].as_str() {
            assert_eq!(message.text.as_deref(), Some(text), "{case}");
        }
        if let Some(kind) = expect["attachment_kind"].as_str() {
            assert!(
                message
                    .attachments
                    .iter()
                    .any(|a| attachment_kind::name(a.kind) == kind),
                "{case}"
            );
        }
    }
}

#[test]
fn the_echo_is_of_the_reply_the_fake_answers() {
    let vectors = vectors();
    let route = &vectors["fake_api"][0];
    assert_eq!(route["path"], settings::DEFAULT_SEND_PATH);
    let sent = send::outcome(
        route["status"].as_u64().unwrap() as u16,
        None,
        route["body"].to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        sent.provider_message_id,
        vectors["send"]["expect_provider_message_id"]
    );
    assert_eq!(
        vectors["cases"]["echo"]["expect"]["provider_message_id"],
        sent.provider_message_id.as_str()
    );
}

#[test]
fn reaction_and_status_match_their_expectations() {
    let vectors = vectors();
    let (body, expect) = accepted_event(&vectors, "reaction");
    let EventBody::Reaction(reaction) = body else {
        panic!("expected a reaction, got {body:?}");
    };
    assert_eq!(reaction.provider_message_id, expect["provider_message_id"]);
    assert_eq!(reaction.emoji, expect["emoji"]);

    let (body, expect) = accepted_event(&vectors, "status");
    let EventBody::Status(status) = body else {
        panic!("expected a status, got {body:?}");
    };
    assert_eq!(status.provider_message_id, expect["provider_message_id"]);
    assert_eq!(status.state, DeliveryState::Delivered);
    assert_eq!(expect["status"], "delivered");
}

#[test]
fn unknown_is_ignored_and_malformed_is_refused() {
    let vectors = vectors();
    let (body, _) = accepted_event(&vectors, "unknown");
    assert!(matches!(body, EventBody::Ignore(_)), "{body:?}");

    let malformed = &vectors["cases"]["malformed"];
    let request = posted(
        &vectors,
        malformed["raw"].as_str().unwrap().as_bytes().to_vec(),
    );
    match WebhookJson.verify(channel(&vectors), request) {
        Verdict::Reject(rejection) => {
            assert_eq!(u64::from(rejection.status), malformed["expect_status"])
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn forged_copies_are_refused() {
    let vectors = vectors();
    let body = vectors["cases"]["message"]["body"].to_string().into_bytes();
    let mut request = posted(&vectors, body);
    request.headers[1].1 = format!(
        "sha256={}",
        switchboard_plugin_sdk::crypto::hmac_sha256_hex(b"forged-key", &request.body)
    );
    assert!(matches!(
        WebhookJson.verify(channel(&vectors), request),
        Verdict::Reject(Rejection { status: 401, .. })
    ));
}

#[test]
fn absent_scenarios_say_why() {
    let vectors = vectors();
    assert!(vectors["handshake"]["absent"]
        .as_str()
        .is_some_and(|why| !why.is_empty()));
    assert_eq!(
        vectors["provider"],
        WebhookJson.manifest().id.as_str(),
        "the vectors name this plugin"
    );
}
