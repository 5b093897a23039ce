use super::*;
use switchboard_plugin_sdk::testing::{self, meta};
use switchboard_plugin_sdk::{AttachmentKind, ThreadKind};

const NOW_MS: u64 = 1_767_300_000_000;

fn event(body: &str) -> Event {
    testing::only(normalize(body.as_bytes(), NOW_MS).expect("the callback normalizes"))
}

fn only(body: &str) -> (String, EventBody) {
    let event = event(body);
    (event.dedup_key, event.body)
}

fn new_message(body: &str) -> Message {
    testing::message(event(body)).1
}

fn ignored(body: &str) -> String {
    testing::ignored(event(body)).1
}

fn malformed(body: &str) -> String {
    testing::malformed(normalize(body.as_bytes(), NOW_MS))
}

/// A `message_new` (5.199 layout) carrying `message`, the fields given.
fn message_new(event_id: &str, message: &str) -> String {
    format!(
        r#"{{"group_id":218000001,"type":"message_new","event_id":"{event_id}","v":"5.199","secret":"s3cr3t",
        "object":{{"message":{message},"client_info":{{"button_actions":["text"],"keyboard":true,"inline_keyboard":true,"carousel":true,"lang_id":0}}}}}}"#
    )
}

fn with_attachments(attachments: &str) -> Message {
    new_message(&message_new(
        "e1",
        &format!(
            r#"{{"date":1767268800,"from_id":55501234,"id":1900,"out":0,"peer_id":55501234,"text":"",
            "conversation_message_id":120,"attachments":[{attachments}]}}"#
        ),
    ))
}

// The four payloads of the VK section of PROVIDERS.md, verbatim.

const PROVIDERS_TEXT: &str = r#"{"group_id":218000001,"type":"message_new","event_id":"3f1b0a9c2e7d4c55aa0e9f6b12cd34ef","v":"5.199","secret":"s3cr3t",
 "object":{"message":{"date":1767268800,"from_id":55501234,"id":1842,"out":0,"peer_id":55501234,
  "text":"Здравствуйте! Есть доставка?","conversation_message_id":97,"fwd_messages":[],"attachments":[],"random_id":0},
  "client_info":{"button_actions":["text","callback"],"keyboard":true,"inline_keyboard":true,"carousel":true,"lang_id":0}}}"#;

const PROVIDERS_CHAT_PHOTO: &str = r#"{"group_id":218000001,"type":"message_new","event_id":"a6c55d01f0b94c0f8e3e2b7a9d1c0e42","v":"5.199","secret":"s3cr3t",
 "object":{"message":{"date":1767268860,"from_id":55501234,"id":0,"out":0,"peer_id":2000000003,"text":"",
  "conversation_message_id":4410,"fwd_messages":[],"attachments":[{"type":"photo","photo":{"id":457239017,"owner_id":55501234,
  "access_key":"b1c2d3","sizes":[{"type":"x","url":"https://sun9-1.userapi.com/x.jpg","width":604,"height":453}]}}]}}}"#;

const PROVIDERS_CONFIRMATION: &str = r#"{"type":"confirmation","group_id":218000001}"#;

const PROVIDERS_TYPING: &str = r#"{"group_id":218000001,"type":"message_typing_state","event_id":"0c1d2e3f","v":"5.199","object":{"state":"typing","from_id":55501234,"to_id":-218000001}}"#;

#[test]
fn providers_text_message_keeps_the_cyrillic_text() {
    let (key, body) = only(PROVIDERS_TEXT);
    assert_eq!(key, "event:3f1b0a9c2e7d4c55aa0e9f6b12cd34ef");
    let EventBody::Message(message) = body else {
        panic!("expected a message, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "55501234_97");
    assert_eq!(message.thread.id, "55501234");
    assert!(matches!(message.thread.kind, ThreadKind::Direct));
    assert_eq!(message.thread.title, None);
    assert_eq!(message.sender.id, "55501234");
    assert_eq!(message.timestamp_ms, 1_767_268_800_000);
    assert_eq!(
        message.text.as_deref(),
        Some("Здравствуйте! Есть доставка?")
    );
    assert!(message.attachments.is_empty());
    assert_eq!(message.reply_to, None);
}

#[test]
fn providers_group_chat_photo_with_id_zero() {
    let (key, _) = only(PROVIDERS_CHAT_PHOTO);
    assert_eq!(key, "event:a6c55d01f0b94c0f8e3e2b7a9d1c0e42");
    let message = new_message(PROVIDERS_CHAT_PHOTO);
    // `id` is 0 here: the name comes from the peer and its counter.
    assert_eq!(message.provider_message_id, "2000000003_4410");
    assert_eq!(message.thread.id, "2000000003");
    assert!(matches!(message.thread.kind, ThreadKind::Group));
    assert_eq!(message.sender.id, "55501234");
    assert_eq!(message.timestamp_ms, 1_767_268_860_000);
    assert_eq!(message.text, None);
    assert_eq!(message.attachments.len(), 1);
    let photo = &message.attachments[0];
    assert!(matches!(photo.kind, AttachmentKind::Image));
    assert_eq!(photo.provider_ref, "https://sun9-1.userapi.com/x.jpg");
    assert_eq!((photo.width, photo.height), (Some(604), Some(453)));
    assert_eq!(photo.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(meta(photo, "vk_id"), Some("photo55501234_457239017"));
    assert_eq!(meta(photo, "access_key"), Some("b1c2d3"));
}

#[test]
fn providers_confirmation_reaching_normalize_is_ignored() {
    let (key, body) = only(PROVIDERS_CONFIRMATION);
    assert!(key.starts_with("body:"), "{key}");
    assert!(matches!(body, EventBody::Ignore(ref r) if r.contains("confirmation")));
}

#[test]
fn providers_typing_is_ignored() {
    let (key, body) = only(PROVIDERS_TYPING);
    assert_eq!(key, "event:0c1d2e3f");
    assert!(
        matches!(body, EventBody::Ignore(ref r) if r == "typing indicator (typing) from user 55501234")
    );
}

#[test]
fn dedup_keys_are_stable_across_redelivery() {
    let first = normalize(PROVIDERS_TEXT.as_bytes(), NOW_MS).unwrap();
    let again = normalize(PROVIDERS_TEXT.as_bytes(), NOW_MS + 60_000).unwrap();
    assert_eq!(first[0].dedup_key, again[0].dedup_key);
    assert_eq!(dedup_key(None, b"{}"), dedup_key(None, b"{}"));
    assert_ne!(dedup_key(None, b"{}"), dedup_key(None, b"{ }"));
    assert_eq!(dedup_key(Some("abc"), b"anything"), "event:abc");
    assert_eq!(dedup_key(None, b"{}").len(), "body:".len() + 32);
}

#[test]
fn messages_in_different_chats_with_id_zero_stay_distinct() {
    let a = new_message(&message_new(
        "e1",
        r#"{"date":1,"from_id":5,"id":0,"peer_id":2000000003,"text":"a","conversation_message_id":7}"#,
    ));
    let b = new_message(&message_new(
        "e2",
        r#"{"date":1,"from_id":5,"id":0,"peer_id":2000000004,"text":"a","conversation_message_id":7}"#,
    ));
    assert_eq!(a.provider_message_id, "2000000003_7");
    assert_eq!(b.provider_message_id, "2000000004_7");
}

#[test]
fn reply_message_names_the_answered_message() {
    let message = new_message(&message_new(
        "e1",
        r#"{"date":1767268900,"from_id":55501234,"id":1850,"out":0,"peer_id":55501234,"text":"Да, этот",
        "conversation_message_id":99,"attachments":[],
        "reply_message":{"date":1767268800,"from_id":-218000001,"text":"Какой цвет?","id":1849,"peer_id":55501234,"conversation_message_id":98,"attachments":[]}}"#,
    ));
    assert_eq!(message.reply_to.as_deref(), Some("55501234_98"));
    assert_eq!(message.text.as_deref(), Some("Да, этот"));

    // Without a peer in the replied message, it is the same conversation.
    let message = new_message(&message_new(
        "e2",
        r#"{"date":1,"from_id":5,"id":0,"peer_id":2000000003,"text":"x","conversation_message_id":12,
        "reply_message":{"date":1,"from_id":6,"text":"y","conversation_message_id":11}}"#,
    ));
    assert_eq!(message.reply_to.as_deref(), Some("2000000003_11"));
}

#[test]
fn message_reply_is_an_echo_of_the_community() {
    let body = r#"{"group_id":218000001,"type":"message_reply","event_id":"r1","v":"5.199","secret":"s3cr3t",
        "object":{"date":1767268950,"from_id":-218000001,"id":1851,"out":1,"peer_id":55501234,"text":"Да, доставляем по городу.",
        "conversation_message_id":100,"attachments":[],"random_id":-1973166925,"admin_author_id":777}}"#;
    let (key, body) = only(body);
    assert_eq!(key, "event:r1");
    let EventBody::Echo(message) = body else {
        panic!("expected an echo, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "55501234_100");
    assert_eq!(message.thread.id, "55501234");
    assert_eq!(message.sender.id, "-218000001");
    assert_eq!(message.text.as_deref(), Some("Да, доставляем по городу."));
    assert_eq!(message.timestamp_ms, 1_767_268_950_000);
}

#[test]
fn outgoing_message_new_is_an_echo_too() {
    let body = message_new(
        "e1",
        r#"{"date":1,"from_id":-218000001,"id":5,"out":1,"peer_id":55501234,"text":"hi","conversation_message_id":3}"#,
    );
    assert!(
        matches!(only(&body).1, EventBody::Echo(ref m) if m.provider_message_id == "55501234_3")
    );
}

#[test]
fn message_edit_upserts_with_the_edit_time() {
    let body = r#"{"group_id":218000001,"type":"message_edit","event_id":"ed1","v":"5.199","secret":"s3cr3t",
        "object":{"date":1767268800,"update_time":1767269000,"from_id":55501234,"id":1842,"out":0,"peer_id":55501234,
        "text":"Здравствуйте! Есть доставка в Казань?","conversation_message_id":97,"attachments":[]}}"#;
    let (key, body) = only(body);
    assert_eq!(key, "event:ed1");
    let EventBody::Edit(message) = body else {
        panic!("expected an edit, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "55501234_97");
    assert_eq!(message.timestamp_ms, 1_767_269_000_000);
    assert_eq!(
        message.text.as_deref(),
        Some("Здравствуйте! Есть доставка в Казань?")
    );
    let without_update_time = r#"{"type":"message_edit","group_id":1,"event_id":"ed2",
        "object":{"date":1767268800,"from_id":5,"peer_id":5,"text":"x","conversation_message_id":2}}"#;
    assert!(
        matches!(only(without_update_time).1, EventBody::Edit(ref m) if m.timestamp_ms == 1_767_268_800_000)
    );
}

#[test]
fn message_read_is_a_read_status() {
    let body = r#"{"group_id":218000001,"type":"message_read","event_id":"rd1","v":"5.199",
        "object":{"from_id":55501234,"peer_id":55501234,"read_message_id":1851,"conversation_message_id":100}}"#;
    let (key, body) = only(body);
    assert_eq!(key, "event:rd1");
    let EventBody::Status(status) = body else {
        panic!("expected a status, got {body:?}");
    };
    assert_eq!(status.provider_message_id, "55501234_100");
    assert_eq!(status.thread.id, "55501234");
    assert!(matches!(status.thread.kind, ThreadKind::Direct));
    assert!(matches!(status.state, DeliveryState::Read));
    assert_eq!(status.error, None);
    assert_eq!(status.timestamp_ms, NOW_MS);
}

#[test]
fn message_read_without_a_conversation_message_id_is_ignored() {
    let body = r#"{"group_id":1,"type":"message_read","event_id":"rd2","object":{"from_id":5,"peer_id":2000000003,"read_message_id":1851}}"#;
    assert!(ignored(body).contains("2000000003"));
    let no_peer = r#"{"group_id":1,"type":"message_read","event_id":"rd3","object":{"conversation_message_id":4}}"#;
    assert!(malformed(no_peer).contains("peer_id"));
}

#[test]
fn allow_and_deny_say_what_happened() {
    let allow = r#"{"group_id":218000001,"type":"message_allow","event_id":"al1","v":"5.199","object":{"user_id":55501234,"key":"promo"}}"#;
    assert_eq!(
        ignored(allow),
        "user 55501234 allowed messages from the community (subscription key `promo`)"
    );
    let allow = r#"{"group_id":218000001,"type":"message_allow","event_id":"al2","object":{"user_id":55501234,"key":""}}"#;
    assert_eq!(
        ignored(allow),
        "user 55501234 allowed messages from the community"
    );
    let deny = r#"{"group_id":218000001,"type":"message_deny","event_id":"dn1","v":"5.199","object":{"user_id":55501234}}"#;
    assert!(ignored(deny).starts_with("user 55501234 denied messages from the community"));
}

#[test]
fn buttons_reactions_and_other_events_are_ignored() {
    let button = r#"{"group_id":1,"type":"message_event","event_id":"b1","object":{"user_id":5,"peer_id":5,"event_id":"x","payload":{"a":1}}}"#;
    assert!(ignored(button).contains("callback button pressed by user 5"));
    let reaction = r#"{"group_id":1,"type":"message_reaction_event","event_id":"re1","object":{"reacted_id":5,"peer_id":5,"cmid":3,"reaction_id":2}}"#;
    assert!(ignored(reaction).contains("reaction"));
    let wall = r#"{"group_id":1,"type":"wall_post_new","event_id":"w1","object":{"id":1}}"#;
    assert!(ignored(wall).contains("`wall_post_new`"));
}

#[test]
fn service_actions_and_empty_messages_are_ignored() {
    let invite = message_new(
        "e1",
        r#"{"date":1,"from_id":5,"id":0,"peer_id":2000000003,"text":"","conversation_message_id":1,
        "action":{"type":"chat_invite_user","member_id":-218000001}}"#,
    );
    assert!(ignored(&invite).contains("chat_invite_user"));
    let empty = message_new(
        "e2",
        r#"{"date":1,"from_id":5,"id":9,"peer_id":5,"text":"","conversation_message_id":2,"attachments":[]}"#,
    );
    assert!(ignored(&empty).contains("5_2"));
}

#[test]
fn the_old_layout_without_the_message_wrapper_is_read() {
    // API versions before 5.103: `object` is the message itself.
    let body = r#"{"type":"message_new","group_id":218000001,"event_id":"old1","v":"5.101","secret":"s3cr3t",
        "object":{"date":1767268800,"from_id":55501234,"id":1842,"out":0,"peer_id":55501234,"text":"Привет","conversation_message_id":97,"fwd_messages":[],"attachments":[]}}"#;
    let message = new_message(body);
    assert_eq!(message.provider_message_id, "55501234_97");
    assert_eq!(message.text.as_deref(), Some("Привет"));
    // Older still: `user_id` and `body`, and `chat_id` in group chats.
    let older = r#"{"type":"message_new","group_id":1,
        "object":{"date":1,"user_id":55501234,"chat_id":3,"body":"старый","conversation_message_id":8}}"#;
    let message = new_message(older);
    assert_eq!(message.provider_message_id, "2000000003_8");
    assert_eq!(message.sender.id, "55501234");
    assert_eq!(message.text.as_deref(), Some("старый"));
}

#[test]
fn malformed_callbacks_are_reported() {
    assert!(malformed("{nope").contains("not JSON"));
    assert!(malformed(r#"{"group_id":1,"object":{}}"#).contains("no `type`"));
    let no_message = r#"{"type":"message_new","group_id":1,"event_id":"x","object":"text"}"#;
    assert!(malformed(no_message).contains("no message object"));
    let no_cmid = message_new("e", r#"{"date":1,"from_id":5,"peer_id":5,"text":"a"}"#);
    assert!(malformed(&no_cmid).contains("conversation_message_id"));
    let no_peer = message_new("e", r#"{"date":1,"text":"a","conversation_message_id":2}"#);
    assert!(malformed(&no_peer).contains("peer_id"));
    let no_date = message_new(
        "e",
        r#"{"from_id":5,"peer_id":5,"text":"a","conversation_message_id":2}"#,
    );
    assert!(malformed(&no_date).contains("date"));
    let bad_type = message_new(
        "e",
        r#"{"date":"yesterday","peer_id":5,"conversation_message_id":2}"#,
    );
    assert!(malformed(&bad_type).contains("unreadable message"));
}

#[test]
fn doc_keeps_name_type_and_size() {
    let message = with_attachments(
        r#"{"type":"doc","doc":{"id":6001,"owner_id":55501234,"title":"Счёт.pdf","size":48213,"ext":"pdf",
        "url":"https://vk.com/doc55501234_6001?hash=abc&dl=xyz","date":1767268800,"type":1}}"#,
    );
    let doc = &message.attachments[0];
    assert!(matches!(doc.kind, AttachmentKind::Document));
    assert_eq!(
        doc.provider_ref,
        "https://vk.com/doc55501234_6001?hash=abc&dl=xyz"
    );
    assert_eq!(doc.file_name.as_deref(), Some("Счёт.pdf"));
    assert_eq!(doc.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(doc.size_bytes, Some(48213));
    assert_eq!(meta(doc, "ext"), Some("pdf"));
    assert_eq!(meta(doc, "vk_id"), Some("doc55501234_6001"));
}

#[test]
fn audio_message_is_a_voice_note() {
    let message = with_attachments(
        r#"{"type":"audio_message","audio_message":{"id":7001,"owner_id":55501234,"duration":7,"waveform":[0,5,9],
        "link_ogg":"https://psv4.userapi.com/c1/u1/audiomsg/d1/a.ogg","link_mp3":"https://psv4.userapi.com/c1/u1/audiomsg/d1/a.mp3",
        "transcript":"привет"}}"#,
    );
    let voice = &message.attachments[0];
    assert!(matches!(voice.kind, AttachmentKind::Voice));
    assert_eq!(
        voice.provider_ref,
        "https://psv4.userapi.com/c1/u1/audiomsg/d1/a.ogg"
    );
    assert_eq!(voice.mime_type.as_deref(), Some("audio/ogg"));
    assert_eq!(voice.duration_secs, Some(7));
    assert_eq!(meta(voice, "transcript"), Some("привет"));
}

#[test]
fn sticker_takes_its_largest_image() {
    let message = with_attachments(
        r#"{"type":"sticker","sticker":{"product_id":279,"sticker_id":9014,"images":[
        {"url":"https://vk.com/sticker/1-9014-64","width":64,"height":64},
        {"url":"https://vk.com/sticker/1-9014-512","width":512,"height":512},
        {"url":"https://vk.com/sticker/1-9014-128","width":128,"height":128}]}}"#,
    );
    let sticker = &message.attachments[0];
    assert!(matches!(sticker.kind, AttachmentKind::Sticker));
    assert_eq!(sticker.provider_ref, "https://vk.com/sticker/1-9014-512");
    assert_eq!((sticker.width, sticker.height), (Some(512), Some(512)));
    assert_eq!(meta(sticker, "sticker_id"), Some("9014"));
    assert_eq!(meta(sticker, "product_id"), Some("279"));
}

#[test]
fn geo_is_a_location() {
    let message = new_message(&message_new(
        "e1",
        r#"{"date":1,"from_id":5,"id":1,"peer_id":5,"text":"Я здесь","conversation_message_id":4,
        "geo":{"type":"point","coordinates":{"latitude":55.755826,"longitude":37.6173},"place":{"title":"Москва"}}}"#,
    ));
    assert_eq!(message.text.as_deref(), Some("Я здесь"));
    let location = &message.attachments[0];
    assert!(matches!(location.kind, AttachmentKind::Location));
    assert_eq!(location.provider_ref, "");
    assert_eq!(meta(location, "latitude"), Some("55.755826"));
    assert_eq!(meta(location, "longitude"), Some("37.6173"));
    assert_eq!(meta(location, "place"), Some("Москва"));
}
