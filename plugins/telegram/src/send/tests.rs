use super::*;
use switchboard_plugin_sdk::testing;

fn text_message(thread_id: &str, text: &str) -> OutboundMessage {
    OutboundMessage {
        message_id: "01J9ZK6Q3M".into(),
        thread_id: thread_id.into(),
        ..testing::text_message("123456789", text)
    }
}

fn with_attachment(
    kind: AttachmentKind,
    url: Option<&str>,
    data: Option<Vec<u8>>,
) -> OutboundMessage {
    OutboundMessage {
        attachment: Some(testing::outbound_attachment(kind, url, data)),
        ..text_message("123456789", "look")
    }
}

fn json_call(message: OutboundMessage) -> (&'static str, Value) {
    let call = build(message).expect("the message builds");
    match call.payload {
        Payload::Json(body) => (call.method, body),
        other => panic!("expected JSON, got {other:?}"),
    }
}

fn permanent(message: OutboundMessage) -> String {
    testing::permanent(build(message))
}

#[test]
fn text_goes_to_send_message_without_optional_fields() {
    let (method, body) = json_call(text_message("123456789", "Your order is ready"));
    assert_eq!(method, "sendMessage");
    assert_eq!(
        body,
        json!({"chat_id": 123456789, "text": "Your order is ready"})
    );
}

#[test]
fn reply_parameters_only_when_replying() {
    let mut message = text_message("-1001234567890", "yes");
    message.reply_to = Some("-1001234567890:510".into());
    let (_, body) = json_call(message);
    assert_eq!(
        body["reply_parameters"],
        json!({"message_id": 510, "allow_sending_without_reply": true})
    );
    assert_eq!(body["chat_id"], json!(-1001234567890_i64));

    let (_, body) = json_call(text_message("-1001234567890", "yes"));
    assert!(body.get("reply_parameters").is_none());
}

#[test]
fn forum_topic_becomes_message_thread_id() {
    let (_, body) = json_call(text_message("-1009876543210:42", "in the topic"));
    assert_eq!(body["chat_id"], json!(-1009876543210_i64));
    assert_eq!(body["message_thread_id"], json!(42));
}

#[test]
fn thread_falls_back_to_the_recipient_and_rejects_garbage() {
    let (_, body) = json_call(text_message("", "hi"));
    assert_eq!(body["chat_id"], json!(123456789));
    assert!(permanent(text_message("not-a-chat", "hi")).contains("not-a-chat"));
    assert!(permanent(text_message("12:topic", "hi")).contains("12:topic"));
}

#[test]
fn text_and_caption_limits() {
    assert!(build(text_message("1", &"a".repeat(4096))).is_ok());
    assert_eq!(
        permanent(text_message("1", &"я".repeat(4097))),
        "message longer than 4096 characters"
    );
    let mut message = with_attachment(AttachmentKind::Image, Some("https://x/cat.jpg"), None);
    message.text = Some("c".repeat(1025));
    assert_eq!(permanent(message), "caption longer than 1024 characters");
    let mut empty = text_message("1", "");
    empty.text = None;
    assert!(permanent(empty).contains("nothing to send"));
}

#[test]
fn url_attachments_pick_the_method_for_their_kind() {
    let cases = [
        (AttachmentKind::Image, "sendPhoto", "photo"),
        (AttachmentKind::Document, "sendDocument", "document"),
        (AttachmentKind::Other, "sendDocument", "document"),
        (AttachmentKind::Voice, "sendVoice", "voice"),
        (AttachmentKind::Audio, "sendAudio", "audio"),
        (AttachmentKind::Video, "sendVideo", "video"),
    ];
    for (kind, expected_method, field) in cases {
        let (method, body) = json_call(with_attachment(kind, Some("https://cdn.example/f"), None));
        assert_eq!(method, expected_method);
        assert_eq!(body[field], json!("https://cdn.example/f"));
        assert_eq!(body["caption"], json!("look"));
        assert_eq!(body["chat_id"], json!(123456789));
    }
    let mut gif = with_attachment(AttachmentKind::Image, Some("https://x/a.gif"), None);
    if let Some(attachment) = gif.attachment.as_mut() {
        attachment.mime_type = Some("image/gif".into());
    }
    assert_eq!(json_call(gif).0, "sendAnimation");
}

#[test]
fn unsendable_attachments_are_permanent() {
    assert!(permanent(with_attachment(
        AttachmentKind::Location,
        Some("https://x"),
        None
    ))
    .contains("location"));
    assert!(
        permanent(with_attachment(AttachmentKind::Sticker, Some("CAAC"), None)).contains("sticker")
    );
    assert!(
        permanent(with_attachment(AttachmentKind::Image, None, None))
            .contains("neither a URL nor data")
    );
    let mut sticker = with_attachment(AttachmentKind::Sticker, Some("CAAC"), None);
    sticker.text = None;
    assert_eq!(json_call(sticker).0, "sendSticker");
}

#[test]
fn data_attachments_are_uploaded_as_multipart() {
    let mut message = with_attachment(AttachmentKind::Document, None, Some(b"%PDF-1.7".to_vec()));
    message.thread_id = "-1009876543210:42".into();
    message.reply_to = Some("-1009876543210:900".into());
    if let Some(attachment) = message.attachment.as_mut() {
        attachment.file_name = Some("invoice.pdf".into());
        attachment.mime_type = Some("application/pdf".into());
    }
    let call = build(message).unwrap();
    assert_eq!(call.method, "sendDocument");
    let Payload::Multipart(form) = call.payload else {
        panic!("expected multipart");
    };
    let boundary = form
        .content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    let body = String::from_utf8(form.body.clone()).unwrap();
    let part = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    assert!(body.contains(&part("chat_id", "-1009876543210")));
    assert!(body.contains(&part("message_thread_id", "42")));
    assert!(body.contains(&part("caption", "look")));
    let marker = "name=\"reply_parameters\"\r\n\r\n";
    let start = body.find(marker).expect("reply_parameters part") + marker.len();
    let end = start + body[start..].find("\r\n").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body[start..end]).unwrap(),
        json!({"message_id": 900, "allow_sending_without_reply": true})
    );
    assert!(body.contains(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"invoice.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{boundary}--\r\n"
    )));
}

#[test]
fn bytes_win_over_a_url() {
    let message = with_attachment(
        AttachmentKind::Image,
        Some("https://switchboard.example/media/abc"),
        Some(b"\x89PNG".to_vec()),
    );
    let call = build(message).unwrap();
    assert_eq!(call.method, "sendPhoto");
    let Payload::Multipart(form) = call.payload else {
        panic!("expected an upload, not the URL");
    };
    assert!(!String::from_utf8_lossy(&form.body).contains("switchboard.example"));
}

#[test]
fn uploads_without_a_name_get_one_from_their_type() {
    let mut message = with_attachment(AttachmentKind::Image, None, Some(vec![0xff, 0xd8]));
    if let Some(attachment) = message.attachment.as_mut() {
        attachment.mime_type = Some("image/jpeg".into());
    }
    let call = build(message).unwrap();
    assert_eq!(call.method, "sendPhoto");
    let Payload::Multipart(form) = call.payload else {
        panic!("expected multipart");
    };
    let body = String::from_utf8_lossy(&form.body);
    assert!(body.contains("name=\"photo\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg"));
}

#[test]
fn answers_map_to_sent_or_what_to_do_next() {
    let ok = br#"{"ok":true,"result":{"message_id":514,"date":1767268900,
        "chat":{"id":123456789,"type":"private"},"text":"Your order is ready"}}"#;
    assert!(
        matches!(outcome(200, ok), Ok(Sent { ref provider_message_id }) if provider_message_id == "123456789:514")
    );

    let limited = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
    assert!(matches!(
        outcome(429, limited),
        Err(SendError::RateLimited(7000))
    ));

    let unauthorized = br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
    assert!(
        matches!(outcome(401, unauthorized), Err(SendError::AuthExpired(ref d)) if d == "Unauthorized")
    );

    let blocked =
        br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
    assert!(
        matches!(outcome(403, blocked), Err(SendError::Permanent(ref d)) if d == "Forbidden: bot was blocked by the user")
    );

    let bad = br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    assert!(
        matches!(outcome(400, bad), Err(SendError::Permanent(ref d)) if d == "Bad Request: chat not found")
    );

    let broken = br#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;
    assert!(matches!(outcome(500, broken), Err(SendError::Retry(2000))));
}

#[test]
fn text_that_cannot_be_a_caption_follows_the_attachment() {
    let long = "word ".repeat(300);
    let mut message = with_attachment(AttachmentKind::Image, None, Some(b"\x89PNG".to_vec()));
    message.text = Some(long.clone());
    message.reply_to = Some("123456789:900".into());
    let calls = build_all(message).unwrap();
    let methods: Vec<&str> = calls.iter().map(|call| call.method).collect();
    assert_eq!(methods, ["sendPhoto", "sendMessage"]);
    let Payload::Multipart(form) = &calls[0].payload else {
        panic!("the photo is uploaded");
    };
    let photo = String::from_utf8_lossy(&form.body);
    assert!(!photo.contains("name=\"caption\""), "{photo}");
    assert!(
        photo.contains("reply_parameters"),
        "the first message answers"
    );
    let Payload::Json(text) = &calls[1].payload else {
        panic!("the text is JSON");
    };
    assert_eq!(text["text"], long.as_str());
    assert!(text.get("reply_parameters").is_none());

    let mut sticker = with_attachment(AttachmentKind::Sticker, Some("CAAC"), None);
    sticker.text = Some("thanks".into());
    let methods: Vec<&str> = build_all(sticker)
        .unwrap()
        .iter()
        .map(|call| call.method)
        .collect();
    assert_eq!(methods, ["sendSticker", "sendMessage"]);

    // A short caption stays one message; text too long for any message
    // fails before the attachment goes out.
    let short = with_attachment(AttachmentKind::Image, None, Some(vec![1]));
    assert_eq!(build_all(short).unwrap().len(), 1);
    let mut huge = with_attachment(AttachmentKind::Image, None, Some(vec![1]));
    huge.text = Some("a".repeat(5000));
    assert!(testing::permanent(build_all(huge)).contains("longer than 4096"));
}
