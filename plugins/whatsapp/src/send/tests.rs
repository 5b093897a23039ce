use super::*;
use switchboard_meta_graph::Body;
use switchboard_plugin_sdk::testing::{self, settings};

const PHONE: &str = "106540352242922";
const CUSTOMER: &str = "79161234567";

fn api() -> Api {
    Api::from_config(&settings(&[("access_token", "EAAG")])).unwrap()
}

fn text(text: &str) -> OutboundMessage {
    testing::text_message(CUSTOMER, text)
}

fn with_attachment(
    kind: AttachmentKind,
    url: Option<&str>,
    data: Option<Vec<u8>>,
    caption: Option<&str>,
) -> OutboundMessage {
    OutboundMessage {
        text: caption.map(String::from),
        attachment: Some(testing::outbound_attachment(kind, url, data)),
        ..text("")
    }
}

fn permanent(message: OutboundMessage) -> String {
    testing::permanent(plan(message))
}

#[test]
fn text_messages_have_the_documented_shape() {
    let plan = plan(text("Можно, до 20:00")).unwrap();
    assert_eq!(plan.media, None);
    let body = text_body(
        &plan.to,
        plan.reply_to.as_deref(),
        plan.text.as_deref().unwrap(),
    );
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Можно, до 20:00", "preview_url": false}
        })
    );
    let call = message_call(&api(), PHONE, body);
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.url,
        "https://graph.facebook.com/v25.0/106540352242922/messages"
    );
    assert!(call
        .headers()
        .contains(&("authorization".to_string(), "Bearer EAAG".to_string())));
    assert!(matches!(call.body, Body::Json(_)));
}

#[test]
fn replies_quote_the_message() {
    let mut message = text("yes");
    message.reply_to = Some("wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFC".into());
    let plan = plan(message).unwrap();
    let body = text_body(&plan.to, plan.reply_to.as_deref(), "yes");
    assert_eq!(
        body["context"],
        json!({"message_id": "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFC"})
    );
    assert!(text_body(CUSTOMER, None, "x").get("context").is_none());
}

#[test]
fn the_recipient_is_the_wa_id() {
    let mut message = text("hi");
    message.recipient_id = "+79161234567".into();
    assert_eq!(plan(message).unwrap().to, CUSTOMER);
    let mut message = text("hi");
    message.recipient_id = String::new();
    assert_eq!(plan(message).unwrap().to, CUSTOMER);
    let mut message = text("hi");
    message.recipient_id = String::new();
    message.thread_id = String::new();
    assert!(permanent(message).contains("recipient"));
}

#[test]
fn text_is_limited_to_4096_characters() {
    assert!(plan(text(&"я".repeat(4096))).is_ok());
    let reason = permanent(text(&"я".repeat(4097)));
    assert!(
        reason.contains("4096") && reason.contains("4097"),
        "{reason}"
    );
    let mut empty = text("");
    empty.text = None;
    assert!(permanent(empty).contains("nothing to send"));
}

#[test]
fn links_carry_caption_and_filename_where_whatsapp_takes_them() {
    let mut document = with_attachment(
        AttachmentKind::Document,
        Some("https://files.example/invoice.pdf"),
        None,
        Some("Your invoice"),
    );
    if let Some(attachment) = document.attachment.as_mut() {
        attachment.file_name = Some("invoice.pdf".into());
    }
    document.reply_to = Some("wamid.Q".into());
    let plan = plan(document).unwrap();
    let (spec, source) = plan.media.as_ref().unwrap();
    assert_eq!(plan.text, None, "the text became the caption");
    let Source::Link(url) = source else {
        panic!("expected a link, got {source:?}");
    };
    let body = media_body(
        &plan.to,
        plan.reply_to.as_deref(),
        spec,
        &MediaRef::Link(url.clone()),
    );
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "document",
            "document": {"link": "https://files.example/invoice.pdf", "caption": "Your invoice", "filename": "invoice.pdf"},
            "context": {"message_id": "wamid.Q"}
        })
    );
}

#[test]
fn each_kind_maps_to_its_message_type() {
    for (kind, expected) in [
        (AttachmentKind::Image, "image"),
        (AttachmentKind::Video, "video"),
        (AttachmentKind::Audio, "audio"),
        (AttachmentKind::Voice, "audio"),
        (AttachmentKind::Document, "document"),
        (AttachmentKind::Other, "document"),
        (AttachmentKind::Sticker, "sticker"),
    ] {
        let plan = plan(with_attachment(
            kind,
            Some("https://files.example/f"),
            None,
            None,
        ))
        .unwrap();
        let (spec, source) = plan.media.unwrap();
        assert_eq!(spec.kind, expected, "{kind:?}");
        assert_eq!(source, Source::Link("https://files.example/f".into()));
        let body = media_body(
            CUSTOMER,
            None,
            &spec,
            &MediaRef::Link("https://files.example/f".into()),
        );
        assert_eq!(body["type"], json!(expected));
        assert_eq!(body[expected], json!({"link": "https://files.example/f"}));
    }
    for kind in [AttachmentKind::Location, AttachmentKind::Contact] {
        assert!(
            permanent(with_attachment(kind, Some("https://x"), None, None))
                .contains("cannot be sent")
        );
    }
}

#[test]
fn text_that_cannot_be_a_caption_follows_the_media() {
    let audio = plan(with_attachment(
        AttachmentKind::Audio,
        Some("https://f/a.mp3"),
        None,
        Some("listen"),
    ))
    .unwrap();
    assert_eq!(audio.media.as_ref().unwrap().0.caption, None);
    assert_eq!(audio.text.as_deref(), Some("listen"));
    let long = "c".repeat(1025);
    let image = plan(with_attachment(
        AttachmentKind::Image,
        Some("https://f/a.jpg"),
        None,
        Some(&long),
    ))
    .unwrap();
    assert_eq!(image.media.as_ref().unwrap().0.caption, None);
    assert_eq!(image.text.as_deref(), Some(long.as_str()));
    let fits = plan(with_attachment(
        AttachmentKind::Image,
        Some("https://f/a.jpg"),
        None,
        Some(&long[..1024]),
    ))
    .unwrap();
    assert_eq!(
        fits.media.as_ref().unwrap().0.caption.as_deref(),
        Some(&long[..1024])
    );
    assert_eq!(fits.text, None);
}

#[test]
fn bytes_are_uploaded_then_sent_by_id() {
    let mut message = with_attachment(
        AttachmentKind::Image,
        None,
        Some(vec![0xff, 0xd8, 0xff]),
        Some("photo"),
    );
    if let Some(attachment) = message.attachment.as_mut() {
        attachment.mime_type = Some("image/jpeg".into());
    }
    let plan = plan(message).unwrap();
    let (spec, source) = plan.media.unwrap();
    assert_eq!(
        source,
        Source::Upload {
            mime_type: "image/jpeg".into(),
            file_name: "image.jpg".into(),
            data: vec![0xff, 0xd8, 0xff],
        }
    );
    let call = upload_call(
        &api(),
        PHONE,
        "01JA",
        "image/jpeg",
        "image.jpg",
        &[0xff, 0xd8, 0xff],
    );
    assert_eq!(
        call.url,
        "https://graph.facebook.com/v25.0/106540352242922/media"
    );
    assert_eq!(call.bearer.as_deref(), Some("EAAG"));
    let Body::Raw {
        content_type,
        bytes,
    } = &call.body
    else {
        panic!("expected a multipart body");
    };
    assert!(content_type.starts_with("multipart/form-data; boundary=switchboard-"));
    let text = String::from_utf8_lossy(bytes);
    assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
    assert!(text.contains("name=\"type\"\r\n\r\nimage/jpeg\r\n"));
    assert!(
        text.contains("name=\"file\"; filename=\"image.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
    );
    assert_eq!(
        uploaded(200, br#"{"id":"1037543291543636"}"#).unwrap(),
        "1037543291543636"
    );
    let body = media_body(
        CUSTOMER,
        None,
        &spec,
        &MediaRef::Id("1037543291543636".into()),
    );
    assert_eq!(
        body["image"],
        json!({"id": "1037543291543636", "caption": "photo"})
    );
}

#[test]
fn bytes_win_over_a_link() {
    let mut message = with_attachment(
        AttachmentKind::Document,
        Some("https://switchboard.example/media/abc"),
        Some(b"%PDF".to_vec()),
        None,
    );
    if let Some(attachment) = message.attachment.as_mut() {
        attachment.mime_type = Some("application/pdf".into());
    }
    let (_, source) = plan(message).unwrap().media.unwrap();
    assert!(matches!(source, Source::Upload { .. }), "{source:?}");
}

#[test]
fn uploads_need_a_type() {
    let mut named = with_attachment(AttachmentKind::Document, None, Some(vec![1]), None);
    if let Some(attachment) = named.attachment.as_mut() {
        attachment.file_name = Some("terms.pdf".into());
    }
    let plan = plan(named).unwrap();
    let (spec, source) = plan.media.unwrap();
    assert!(
        matches!(source, Source::Upload { ref mime_type, ref file_name, .. } if mime_type == "application/pdf" && file_name == "terms.pdf")
    );
    assert_eq!(spec.filename.as_deref(), Some("terms.pdf"));
    let unknown = with_attachment(AttachmentKind::Document, None, Some(vec![1]), None);
    assert!(permanent(unknown).contains("MIME type"));
    assert!(
        permanent(with_attachment(AttachmentKind::Image, None, None, None)).contains("neither")
    );
    assert!(matches!(
        uploaded(
            400,
            br#"{"error":{"message":"(#131053) Media upload error","code":131053}}"#
        ),
        Err(SendError::Permanent(_))
    ));
}

#[test]
fn success_names_the_wamid() {
    let sent = outcome(
        200,
        br#"{"messaging_product":"whatsapp","contacts":[{"input":"79161234567","wa_id":"79161234567"}],"messages":[{"id":"wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk==","message_status":"accepted"}]}"#,
    )
    .unwrap();
    assert_eq!(
        sent.provider_message_id,
        "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk=="
    );
    for unreadable in [&br#"{"messages":[]}"#[..], br#"{"contacts":[]}"#, b"ok"] {
        assert!(matches!(
            outcome(200, unreadable),
            Err(SendError::Permanent(ref m)) if m.contains("may have been delivered")
        ));
    }
}

#[test]
fn error_answers_are_mapped() {
    let window = outcome(
        400,
        br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"A"}}"#,
    );
    assert!(
        matches!(window, Err(SendError::Permanent(ref m)) if m.starts_with("24-hour window closed: "))
    );
    let throughput = outcome(
        400,
        br#"{"error":{"message":"(#130429) Rate limit hit","code":130429}}"#,
    );
    assert!(matches!(throughput, Err(SendError::RateLimited(60_000))));
    assert!(matches!(outcome(503, b""), Err(SendError::Retry(_))));
}

#[test]
fn gifs_and_webp_go_as_documents() {
    for (mime, kind) in [
        ("image/gif", "document"),
        ("image/webp", "document"),
        ("image/png", "image"),
        ("IMAGE/JPEG", "image"),
    ] {
        let mut message = with_attachment(AttachmentKind::Image, None, Some(vec![1, 2]), None);
        if let Some(attachment) = message.attachment.as_mut() {
            attachment.mime_type = Some(mime.into());
        }
        let (spec, _) = plan(message).unwrap().media.unwrap();
        assert_eq!(spec.kind, kind, "{mime}");
    }
}
