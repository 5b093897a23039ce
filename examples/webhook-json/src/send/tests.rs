use serde_json::{json, Value};
use switchboard_plugin_sdk::{AttachmentKind, OutboundAttachment};

use super::*;

const SECRET: &str = "whsec-0123456789abcdef";

fn settings(send_path: &str) -> Settings {
    Settings {
        account_id: "inbox-7".into(),
        signing_secret: SECRET.into(),
        origin: "https://crm.example.com".into(),
        send_path: send_path.into(),
    }
}

fn reply(text: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        message_id: "01JA7Q3M8Z".into(),
        thread_id: "t-1".into(),
        recipient_id: "u-1".into(),
        text: text.map(str::to_string),
        attachment: None,
        reply_to: None,
    }
}

fn attachment(url: Option<&str>, data: Option<Vec<u8>>) -> OutboundAttachment {
    OutboundAttachment {
        kind: AttachmentKind::Document,
        file_name: Some("invoice.pdf".into()),
        mime_type: Some("application/pdf".into()),
        url: url.map(str::to_string),
        data,
    }
}

fn built(message: &OutboundMessage) -> (Outgoing, Value) {
    let outgoing = build(&settings("/switchboard/messages"), message).expect("the reply builds");
    let body = serde_json::from_slice(&outgoing.body).expect("the body is JSON");
    (outgoing, body)
}

fn permanent(result: Result<impl std::fmt::Debug, SendError>) -> String {
    match result {
        Err(SendError::Permanent(reason)) => reason,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

#[test]
fn a_text_reply_is_signed_json_with_an_idempotency_key() {
    let (outgoing, body) = built(&reply(Some("Yes, it is ready.")));
    assert_eq!(outgoing.url, "https://crm.example.com/switchboard/messages");
    assert_eq!(
        String::from_utf8(outgoing.body.clone()).unwrap(),
        r#"{"message_id":"01JA7Q3M8Z","thread_id":"t-1","recipient_id":"u-1","text":"Yes, it is ready.","reply_to":null,"attachment":null}"#,
        "every field is present, in the documented order"
    );
    assert_eq!(
        body,
        json!({"message_id": "01JA7Q3M8Z", "thread_id": "t-1", "recipient_id": "u-1",
               "text": "Yes, it is ready.", "reply_to": null, "attachment": null})
    );
    assert_eq!(
        outgoing.headers,
        vec![
            (
                "x-switchboard-signature".to_string(),
                signature::sign(SECRET, &outgoing.body)
            ),
            ("idempotency-key".to_string(), "01JA7Q3M8Z".to_string()),
        ]
    );
    assert!(signature::is_valid(
        SECRET,
        &outgoing.body,
        &outgoing.headers[0].1
    ));
}

#[test]
fn the_send_path_is_the_channels() {
    let outgoing = build(&settings("/api/inbox?via=sb"), &reply(Some("hi"))).unwrap();
    assert_eq!(outgoing.url, "https://crm.example.com/api/inbox?via=sb");
}

#[test]
fn replies_name_the_message_they_answer() {
    let mut message = reply(Some("Which one?"));
    message.reply_to = Some("m-1".into());
    let (_, body) = built(&message);
    assert_eq!(body["reply_to"], json!("m-1"));
}

#[test]
fn url_attachments_go_as_an_object() {
    let mut message = reply(Some("Your invoice"));
    message.attachment = Some(attachment(Some("https://files.example.com/inv.pdf"), None));
    let (_, body) = built(&message);
    assert_eq!(
        body["attachment"],
        json!({"kind": "document", "url": "https://files.example.com/inv.pdf",
               "file_name": "invoice.pdf", "mime_type": "application/pdf"})
    );
    assert_eq!(body["text"], json!("Your invoice"));

    let mut bare = reply(None);
    bare.attachment = Some(OutboundAttachment {
        kind: AttachmentKind::Image,
        file_name: None,
        mime_type: None,
        url: Some("https://files.example.com/a.png".into()),
        data: None,
    });
    let (_, body) = built(&bare);
    assert_eq!(body["text"], Value::Null, "an attachment alone is a reply");
    assert_eq!(
        body["attachment"],
        json!({"kind": "image", "url": "https://files.example.com/a.png",
               "file_name": null, "mime_type": null})
    );
}

#[test]
fn bytes_only_attachments_are_permanent() {
    let mut message = reply(Some("Your invoice"));
    message.attachment = Some(attachment(None, Some(b"%PDF-1.7".to_vec())));
    let reason = permanent(build(&settings("/m"), &message));
    assert_eq!(
        reason,
        "this channel sends attachments as URLs, and this one has none"
    );
    message.attachment = Some(attachment(Some(" "), Some(b"%PDF-1.7".to_vec())));
    assert!(permanent(build(&settings("/m"), &message)).contains("as URLs"));
}

#[test]
fn an_empty_reply_is_permanent() {
    assert_eq!(
        permanent(build(&settings("/m"), &reply(None))),
        "nothing to send: no text and no attachment"
    );
    assert!(permanent(build(&settings("/m"), &reply(Some("")))).contains("nothing to send"));
}

#[test]
fn a_2xx_with_an_id_is_sent() {
    for (status, body, expected) in [
        (200, r#"{"id": "crm-out-1"}"#, "crm-out-1"),
        (201, r#"{"id": "crm-out-2", "queued": true}"#, "crm-out-2"),
        (202, r#"{"id": 9007199254740993}"#, "9007199254740993"),
    ] {
        let sent = outcome(status, None, body.as_bytes()).unwrap();
        assert_eq!(sent.provider_message_id, expected);
    }
}

#[test]
fn a_2xx_without_an_id_is_not_retried() {
    for body in [
        "",
        "{}",
        r#"{"id": ""}"#,
        r#"{"id": null}"#,
        r#"{"id": 1.5}"#,
        "ok",
    ] {
        let reason = permanent(outcome(200, None, body.as_bytes()));
        assert!(reason.contains("without an `id`"), "{body}: {reason}");
    }
}

#[test]
fn error_answers_follow_the_shared_mapping() {
    assert!(matches!(
        outcome(429, Some("7"), b""),
        Err(SendError::RateLimited(7_000))
    ));
    assert!(matches!(
        outcome(429, None, b""),
        Err(SendError::RateLimited(30_000))
    ));
    assert!(matches!(
        outcome(401, None, b""),
        Err(SendError::AuthExpired(_))
    ));
    assert!(matches!(
        outcome(403, None, br#"{"error":"bad signature"}"#),
        Err(SendError::AuthExpired(ref reason)) if reason.ends_with("HTTP 403: bad signature")
    ));
    assert!(matches!(
        outcome(408, None, b""),
        Err(SendError::Retry(5_000))
    ));
    assert!(matches!(
        outcome(503, None, b""),
        Err(SendError::Retry(5_000))
    ));
    assert_eq!(
        permanent(outcome(
            422,
            None,
            br#"{"error":"recipient u-1 unsubscribed"}"#
        )),
        "HTTP 422: recipient u-1 unsubscribed"
    );
    assert_eq!(permanent(outcome(404, None, b"")), "HTTP 404");
}
