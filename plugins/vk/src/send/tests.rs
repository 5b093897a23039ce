use super::*;
use switchboard_plugin_sdk::testing;

fn text_message(thread_id: &str, text: &str) -> OutboundMessage {
    OutboundMessage {
        message_id: "01J9ZK6Q3M".into(),
        thread_id: thread_id.into(),
        ..testing::text_message("55501234", text)
    }
}

fn with_attachment(
    kind: AttachmentKind,
    mime: Option<&str>,
    url: Option<&str>,
    data: Option<Vec<u8>>,
) -> OutboundMessage {
    OutboundMessage {
        attachment: Some(OutboundAttachment {
            mime_type: mime.map(str::to_string),
            ..testing::outbound_attachment(kind, url, data)
        }),
        ..text_message("55501234", "Вот фото")
    }
}

fn permanent(message: OutboundMessage) -> String {
    testing::permanent(draft(message))
}

fn uploaded(message: OutboundMessage) -> Upload {
    draft(message)
        .expect("the message drafts")
        .upload
        .expect("an upload")
}

#[test]
fn text_goes_to_messages_send_with_peer_ids_and_random_id() {
    let draft = draft(text_message("55501234", "Да, доставляем по городу.")).unwrap();
    let call = build(&draft, None);
    assert_eq!(call.method, "messages.send");
    assert_eq!(
        call.params,
        vec![
            ("peer_ids", "55501234".to_string()),
            ("random_id", "-1973166925".to_string()),
            ("message", "Да, доставляем по городу.".to_string()),
        ]
    );
}

#[test]
fn the_form_body_is_encoded_with_token_and_version() {
    use crate::api::Origins;
    let api = Api::new(
        Origins::from_api_base(None).unwrap(),
        "vk1.a.T".into(),
        "5.199".into(),
    );
    let call = build(
        &draft(text_message("2000000003", "Привет всем")).unwrap(),
        None,
    );
    assert_eq!(api.url(&call), "https://api.vk.com/method/messages.send");
    assert_eq!(
        api.form(&call),
        "peer_ids=2000000003&random_id=-1973166925\
         &message=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%D0%B2%D1%81%D0%B5%D0%BC\
         &access_token=vk1.a.T&v=5.199"
    );
}

#[test]
fn random_id_is_stable_per_message_and_differs_between_messages() {
    let first = draft(text_message("5", "a")).unwrap().random_id;
    let retry = draft(text_message("5", "a")).unwrap().random_id;
    let mut other = text_message("5", "a");
    other.message_id = "01J9ZK6Q3N".into();
    assert_eq!(first, retry);
    assert_ne!(first, draft(other).unwrap().random_id);
    assert_ne!(first, 0);
}

#[test]
fn replies_forward_by_conversation_message_id() {
    let mut message = text_message("2000000003", "Ответ");
    message.reply_to = Some("2000000003_4410".into());
    let call = build(&draft(message).unwrap(), None);
    let forward: Value = serde_json::from_str(call.get("forward").unwrap()).unwrap();
    assert_eq!(
        forward,
        json!({"peer_id": 2000000003_i64, "conversation_message_ids": [4410], "is_reply": 1})
    );
    assert_eq!(call.get("reply_to"), None);

    let mut unreadable = text_message("5", "x");
    unreadable.reply_to = Some("1842".into());
    assert_eq!(
        build(&draft(unreadable).unwrap(), None).get("forward"),
        None
    );
}

#[test]
fn thread_falls_back_to_the_recipient_and_rejects_garbage() {
    assert_eq!(draft(text_message("", "hi")).unwrap().peer_id, 55501234);
    assert!(permanent(text_message("id5550", "hi")).contains("id5550"));
    assert!(permanent(text_message("0", "hi")).contains("peer id"));
}

#[test]
fn text_limit_is_enforced_never_truncated() {
    assert!(draft(text_message("5", &"я".repeat(9000))).is_ok());
    assert_eq!(
        permanent(text_message("5", &"я".repeat(9001))),
        "the message is 9001 characters long; VK takes at most 9000"
    );
    let mut empty = text_message("5", "  ");
    empty.text = Some("  ".into());
    assert!(permanent(empty).contains("nothing to send"));
}

#[test]
fn a_url_attachment_is_sent_as_a_link_in_the_text() {
    let message = with_attachment(
        AttachmentKind::Image,
        Some("image/jpeg"),
        Some("https://cdn.example/cat.jpg"),
        None,
    );
    let draft = draft(message).unwrap();
    assert_eq!(draft.upload, None);
    assert_eq!(
        draft.text.as_deref(),
        Some("Вот фото\nhttps://cdn.example/cat.jpg")
    );
    let mut bare = with_attachment(
        AttachmentKind::Document,
        None,
        Some("https://x/a.pdf"),
        None,
    );
    bare.text = None;
    assert_eq!(
        super::draft(bare).unwrap().text.as_deref(),
        Some("https://x/a.pdf")
    );
    let mut long = with_attachment(
        AttachmentKind::Document,
        None,
        Some("https://x/a.pdf"),
        None,
    );
    long.text = Some("a".repeat(8990));
    assert!(permanent(long).contains("VK takes at most 9000"));
}

#[test]
fn data_attachments_are_uploaded_by_kind() {
    let photo = uploaded(with_attachment(
        AttachmentKind::Image,
        Some("image/png"),
        None,
        Some(vec![0x89, b'P']),
    ));
    assert_eq!(photo.kind, UploadKind::Photo);
    assert_eq!(photo.file_name, "photo-01J9ZK6Q3M.png");
    assert_eq!(photo.mime_type, "image/png");

    // Formats VK's photo upload does not take still reach the customer.
    let webp = uploaded(with_attachment(
        AttachmentKind::Image,
        Some("image/webp"),
        None,
        Some(vec![1]),
    ));
    assert_eq!(webp.kind, UploadKind::Doc);
    assert_eq!(webp.file_name, "file-01J9ZK6Q3M.webp");

    let voice = uploaded(with_attachment(
        AttachmentKind::Voice,
        Some("audio/ogg"),
        None,
        Some(vec![1]),
    ));
    assert_eq!(voice.kind, UploadKind::AudioMessage);
    assert_eq!(voice.file_name, "voice-01J9ZK6Q3M.ogg");
    let mp3_voice = uploaded(with_attachment(
        AttachmentKind::Voice,
        Some("audio/mpeg"),
        None,
        Some(vec![1]),
    ));
    assert_eq!(mp3_voice.kind, UploadKind::Doc);

    for kind in [
        AttachmentKind::Document,
        AttachmentKind::Video,
        AttachmentKind::Audio,
        AttachmentKind::Other,
    ] {
        assert_eq!(
            uploaded(with_attachment(kind, None, None, Some(vec![1]))).kind,
            UploadKind::Doc
        );
    }
    let unnamed = uploaded(with_attachment(
        AttachmentKind::Other,
        None,
        None,
        Some(vec![1]),
    ));
    assert_eq!(unnamed.file_name, "file-01J9ZK6Q3M");
    assert_eq!(unnamed.mime_type, "application/octet-stream");
}

#[test]
fn data_wins_over_a_url_and_keeps_its_name() {
    let mut message = with_attachment(
        AttachmentKind::Document,
        Some("application/pdf"),
        Some("https://x/a.pdf"),
        Some(b"%PDF".to_vec()),
    );
    if let Some(attachment) = message.attachment.as_mut() {
        attachment.file_name = Some("Счёт №42.pdf".into());
    }
    let draft = draft(message).unwrap();
    assert_eq!(draft.text.as_deref(), Some("Вот фото"));
    let upload = draft.upload.as_ref().unwrap();
    assert_eq!(upload.file_name, "Счёт №42.pdf");
    assert_eq!(upload.data, b"%PDF".to_vec());
    let call = build(&draft, Some("doc-218000001_6001"));
    assert_eq!(call.get("attachment"), Some("doc-218000001_6001"));
    assert_eq!(call.get("message"), Some("Вот фото"));
}

#[test]
fn a_file_without_text_sends_no_message_field() {
    let mut message = with_attachment(
        AttachmentKind::Image,
        Some("image/jpeg"),
        None,
        Some(vec![1]),
    );
    message.text = None;
    let call = build(
        &draft(message).unwrap(),
        Some("photo-218000001_457239020_ak1"),
    );
    assert_eq!(call.get("message"), None);
    assert_eq!(
        call.get("attachment"),
        Some("photo-218000001_457239020_ak1")
    );
}

#[test]
fn unsendable_attachments_are_permanent() {
    assert!(permanent(with_attachment(
        AttachmentKind::Location,
        None,
        Some("https://x"),
        None
    ))
    .contains("locations"));
    assert!(permanent(with_attachment(
        AttachmentKind::Contact,
        None,
        None,
        Some(vec![1])
    ))
    .contains("contacts"));
    assert!(permanent(with_attachment(
        AttachmentKind::Sticker,
        None,
        Some("https://x/s.webp"),
        None
    ))
    .contains("sticker"));
    assert!(
        permanent(with_attachment(AttachmentKind::Image, None, None, None))
            .contains("neither a URL nor data")
    );
    assert!(permanent(with_attachment(
        AttachmentKind::Image,
        None,
        Some(" "),
        Some(vec![])
    ))
    .contains("neither"));
}

#[test]
fn success_names_the_message_as_the_echo_will() {
    let body =
        br#"{"response":[{"peer_id":55501234,"message_id":1851,"conversation_message_id":100}]}"#;
    assert!(
        matches!(outcome(55501234, 200, body), Ok(Sent { ref provider_message_id }) if provider_message_id == "55501234_100")
    );
    // In a group chat the global id is 0; the name does not need it.
    let chat =
        br#"{"response":[{"peer_id":2000000003,"message_id":0,"conversation_message_id":4411}]}"#;
    assert!(
        matches!(outcome(2000000003, 200, chat), Ok(Sent { ref provider_message_id }) if provider_message_id == "2000000003_4411")
    );
}

#[test]
fn per_peer_errors_map_like_call_errors() {
    let refused = br#"{"response":[{"peer_id":55501234,"error":{"code":901,"description":"Can't send messages for users without permission"}}]}"#;
    assert!(
        matches!(outcome(55501234, 200, refused), Err(SendError::Permanent(ref m)) if m == "the user has not allowed messages from the community")
    );
    let odd = br#"{"response":[{"peer_id":55501234,"error":"blocked"}]}"#;
    assert!(
        matches!(outcome(55501234, 200, odd), Err(SendError::Permanent(ref m)) if m.contains("blocked"))
    );
}

#[test]
fn answers_without_a_usable_id_are_permanent() {
    let bare = br#"{"response":1851}"#;
    assert!(matches!(
        outcome(5, 200, bare),
        Err(SendError::Permanent(_))
    ));
    let empty = br#"{"response":[]}"#;
    assert!(
        matches!(outcome(5, 200, empty), Err(SendError::Permanent(ref m)) if m.contains("no result"))
    );
    let no_cmid = br#"{"response":[{"peer_id":5,"message_id":9}]}"#;
    assert!(
        matches!(outcome(5, 200, no_cmid), Err(SendError::Permanent(ref m)) if m.contains("conversation_message_id"))
    );
}

#[test]
fn every_error_answer_maps_to_what_to_do_next() {
    let answer = |code: i64| {
        format!(
            r#"{{"error":{{"error_code":{code},"error_msg":"message {code}","request_params":[]}}}}"#
        )
    };
    type Check = fn(&SendError) -> bool;
    let cases: Vec<(i64, Check)> = vec![
        (
            5,
            |e| matches!(e, SendError::AuthExpired(m) if m == "message 5"),
        ),
        (6, |e| matches!(e, SendError::RateLimited(1_000))),
        (9, |e| matches!(e, SendError::RateLimited(10_000))),
        (29, |e| matches!(e, SendError::RateLimited(60_000))),
        (14, |e| matches!(e, SendError::RateLimited(300_000))),
        (10, |e| matches!(e, SendError::Retry(2_000))),
        (
            900,
            |e| matches!(e, SendError::Permanent(m) if m == "the user blocked the community"),
        ),
        (
            901,
            |e| matches!(e, SendError::Permanent(m) if m == "the user has not allowed messages from the community"),
        ),
        (
            902,
            |e| matches!(e, SendError::Permanent(m) if m == "the user's privacy settings forbid messages"),
        ),
        (
            914,
            |e| matches!(e, SendError::Permanent(m) if m.contains("too long")),
        ),
        (
            917,
            |e| matches!(e, SendError::Permanent(m) if m.contains("no access to this chat")),
        ),
        (
            100,
            |e| matches!(e, SendError::Permanent(m) if m == "VK error 100: message 100"),
        ),
    ];
    for (code, expected) in cases {
        let error = outcome(5, 200, answer(code).as_bytes()).unwrap_err();
        assert!(expected(&error), "{code}: {error:?}");
    }
    assert!(matches!(
        outcome(5, 502, b"Bad Gateway"),
        Err(SendError::Retry(2_000))
    ));
}
