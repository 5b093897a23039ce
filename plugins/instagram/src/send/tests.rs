use super::*;
use switchboard_meta_graph::Body;
use switchboard_plugin_sdk::testing::{self, settings};

const CUSTOMER: &str = "618000000000042";

fn api(pairs: &[(&str, &str)]) -> Api {
    Api::from_config(&settings(pairs)).unwrap()
}

fn text(text: &str) -> OutboundMessage {
    testing::text_message(CUSTOMER, text)
}

fn with_attachment(
    kind: AttachmentKind,
    url: Option<&str>,
    data: Option<Vec<u8>>,
) -> OutboundMessage {
    OutboundMessage {
        text: None,
        attachment: Some(testing::outbound_attachment(kind, url, data)),
        ..text("")
    }
}

fn bodies(message: &OutboundMessage) -> Vec<Value> {
    build(&api(&[]), "IGQVJ-token", message)
        .expect("the message builds")
        .into_iter()
        .map(|call| match call.body {
            Body::Json(body) => body,
            other => panic!("expected JSON, got {other:?}"),
        })
        .collect()
}

fn permanent(message: &OutboundMessage) -> String {
    testing::permanent(build(&api(&[]), "t", message))
}

#[test]
fn text_goes_to_me_messages_with_the_bearer_token() {
    let calls = build(&api(&[]), "IGQVJ-token", &text("Yes, 3-5 days.")).unwrap();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.url, "https://graph.instagram.com/v25.0/me/messages");
    assert!(call.headers().contains(&(
        "authorization".to_string(),
        "Bearer IGQVJ-token".to_string()
    )));
    assert_eq!(
        call.body,
        Body::Json(json!({"recipient": {"id": CUSTOMER}, "message": {"text": "Yes, 3-5 days."}}))
    );
}

#[test]
fn facebook_login_and_api_base_change_the_origin() {
    let facebook = build(&api(&[("login", "facebook")]), "EAAG", &text("hi")).unwrap();
    assert_eq!(
        facebook[0].url,
        "https://graph.facebook.com/v25.0/me/messages"
    );
    let fake = build(
        &api(&[("api_base", "http://127.0.0.1:9100")]),
        "t",
        &text("hi"),
    )
    .unwrap();
    assert_eq!(fake[0].url, "http://127.0.0.1:9100/v25.0/me/messages");
}

#[test]
fn replies_name_the_message_they_answer() {
    let mut message = text("Here it is");
    message.reply_to = Some("aWdfZAG1faXRlbToxOjE3ODQx".into());
    assert_eq!(
        bodies(&message),
        vec![json!({
            "recipient": {"id": CUSTOMER},
            "message": {"text": "Here it is", "reply_to": {"mid": "aWdfZAG1faXRlbToxOjE3ODQx"}}
        })]
    );
    message.reply_to = Some(String::new());
    assert!(bodies(&message)[0]["message"].get("reply_to").is_none());
}

#[test]
fn the_recipient_falls_back_to_the_thread() {
    let mut message = text("hi");
    message.recipient_id = String::new();
    assert_eq!(bodies(&message)[0]["recipient"]["id"], json!(CUSTOMER));
    message.thread_id = " ".into();
    assert!(permanent(&message).contains("recipient"));
}

#[test]
fn text_is_limited_to_1000_bytes_not_characters() {
    assert_eq!(bodies(&text(&"a".repeat(1000))).len(), 1);
    // 500 two-byte characters fit; 501 do not.
    assert_eq!(bodies(&text(&"я".repeat(500))).len(), 1);
    let reason = permanent(&text(&"я".repeat(501)));
    assert!(
        reason.contains("1000 bytes") && reason.contains("1002"),
        "{reason}"
    );
    let mut empty = text("");
    empty.text = None;
    assert!(permanent(&empty).contains("nothing to send"));
}

#[test]
fn attachments_go_by_url_with_their_type() {
    for (kind, expected) in [
        (AttachmentKind::Image, "image"),
        (AttachmentKind::Sticker, "image"),
        (AttachmentKind::Audio, "audio"),
        (AttachmentKind::Voice, "audio"),
        (AttachmentKind::Video, "video"),
        (AttachmentKind::Document, "file"),
        (AttachmentKind::Other, "file"),
    ] {
        let message = with_attachment(kind, Some("https://files.example/a"), None);
        assert_eq!(
            bodies(&message),
            vec![json!({
                "recipient": {"id": CUSTOMER},
                "message": {"attachment": {"type": expected, "payload": {"url": "https://files.example/a"}}}
            })],
            "{kind:?}"
        );
    }
}

#[test]
fn text_with_an_attachment_is_sent_after_it() {
    let mut message = with_attachment(
        AttachmentKind::Image,
        Some("https://files.example/cat.jpg"),
        None,
    );
    message.text = Some("this one".into());
    message.reply_to = Some("mid-1".into());
    let bodies = bodies(&message);
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["message"]["attachment"]["type"], json!("image"));
    assert_eq!(
        bodies[1]["message"],
        json!({"text": "this one", "reply_to": {"mid": "mid-1"}})
    );
}

#[test]
fn bytes_locations_and_contacts_cannot_be_sent() {
    let upload = with_attachment(AttachmentKind::Image, None, Some(vec![1, 2, 3]));
    assert!(permanent(&upload).contains("cannot upload"));
    let empty_url = with_attachment(AttachmentKind::Image, Some(""), None);
    assert!(permanent(&empty_url).contains("public URL"));
    for kind in [AttachmentKind::Location, AttachmentKind::Contact] {
        let message = with_attachment(kind, Some("https://x"), None);
        assert!(permanent(&message).contains("locations or contact"));
    }
}

#[test]
fn success_names_the_new_message() {
    let sent = outcome(
        200,
        br#"{"recipient_id":"618000000000042","message_id":"aWdfZAG1faXRlbToxOjE3ODQz"}"#,
    )
    .unwrap();
    assert_eq!(sent.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQz");
    let unreadable = outcome(200, br#"{"recipient_id":"618000000000042"}"#).unwrap_err();
    assert!(
        matches!(unreadable, SendError::Permanent(ref m) if m.contains("may have been delivered"))
    );
}

#[test]
fn error_answers_are_mapped() {
    let window = outcome(
        400,
        br#"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2534022,"fbtrace_id":"Ab"}}"#,
    );
    assert!(
        matches!(window, Err(SendError::Permanent(ref m)) if m.starts_with("outside the 24-hour messaging window"))
    );
    let token = outcome(
        401,
        br#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"#,
    );
    assert!(matches!(token, Err(SendError::AuthExpired(_))));
    assert!(matches!(outcome(502, b"<html>"), Err(SendError::Retry(_))));
}
