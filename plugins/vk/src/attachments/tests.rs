use super::*;
use switchboard_plugin_sdk::testing::meta;

fn message(attachments: &str) -> VkMessage {
    serde_json::from_str(&format!(
        r#"{{"date":1,"peer_id":5,"conversation_message_id":1,"attachments":[{attachments}]}}"#
    ))
    .expect("test message parses")
}

fn one(attachment: &str) -> Attachment {
    let mut found = from_message(&message(attachment));
    assert_eq!(found.len(), 1, "one attachment expected");
    found.remove(0)
}

#[test]
fn photo_takes_the_largest_size_whatever_the_order() {
    let photo = one(
        r#"{"type":"photo","photo":{"id":1,"owner_id":-218000001,"text":"витрина","sizes":[
        {"type":"m","url":"https://sun9-2.userapi.com/m.jpg","width":130,"height":97},
        {"type":"w","url":"https://sun9-2.userapi.com/w.jpg","width":2560,"height":1920},
        {"type":"s","url":"https://sun9-2.userapi.com/s.jpg","width":75,"height":56}]}}"#,
    );
    assert!(matches!(photo.kind, AttachmentKind::Image));
    assert_eq!(photo.provider_ref, "https://sun9-2.userapi.com/w.jpg");
    assert_eq!((photo.width, photo.height), (Some(2560), Some(1920)));
    assert_eq!(meta(&photo, "vk_id"), Some("photo-218000001_1"));
    assert_eq!(meta(&photo, "caption"), Some("витрина"));
    assert_eq!(meta(&photo, "access_key"), None);
}

#[test]
fn sizes_without_dimensions_rank_by_letter() {
    let photo = one(r#"{"type":"photo","photo":{"id":1,"owner_id":5,"sizes":[
        {"type":"z","url":"https://a/z.jpg","width":0,"height":0},
        {"type":"o","url":"https://a/o.jpg","width":0,"height":0},
        {"type":"x","url":"","width":0,"height":0}]}}"#);
    assert_eq!(photo.provider_ref, "https://a/z.jpg");
    assert_eq!((photo.width, photo.height), (None, None));
}

#[test]
fn the_original_photo_wins_when_larger() {
    let photo = one(r#"{"type":"photo","photo":{"id":1,"owner_id":5,
        "sizes":[{"type":"x","url":"https://a/x.jpg","width":604,"height":453}],
        "orig_photo":{"type":"base","url":"https://a/orig.jpg","width":4032,"height":3024}}}"#);
    assert_eq!(photo.provider_ref, "https://a/orig.jpg");
    assert_eq!(photo.width, Some(4032));
}

#[test]
fn a_photo_without_any_url_is_kept_as_other() {
    let photo = one(r#"{"type":"photo","photo":{"id":1,"owner_id":5,"sizes":[]}}"#);
    assert!(matches!(photo.kind, AttachmentKind::Other));
    assert_eq!(meta(&photo, "type"), Some("photo"));
    assert_eq!(meta(&photo, "vk_id"), Some("photo5_1"));
}

#[test]
fn doc_titles_get_their_extension() {
    let doc = one(
        r#"{"type":"doc","doc":{"id":2,"owner_id":5,"title":"Прайс","ext":"xlsx","size":10,"url":"https://vk.com/doc5_2?hash=h"}}"#,
    );
    assert_eq!(doc.file_name.as_deref(), Some("Прайс.xlsx"));
    assert_eq!(
        doc.mime_type.as_deref(),
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    );
    let doc = one(
        r#"{"type":"doc","doc":{"id":2,"owner_id":5,"title":"SCAN.PDF","ext":"pdf","url":"u"}}"#,
    );
    assert_eq!(doc.file_name.as_deref(), Some("SCAN.PDF"));
    let doc = one(r#"{"type":"doc","doc":{"id":2,"owner_id":5,"ext":"zip","url":"u"}}"#);
    assert_eq!(doc.file_name.as_deref(), Some("document.zip"));
    let doc = one(r#"{"type":"doc","doc":{"id":2,"owner_id":5,"url":"u","type":8}}"#);
    assert_eq!(doc.file_name, None);
    assert_eq!(doc.mime_type, None);
    assert_eq!(meta(&doc, "doc_type"), Some("8"));
}

#[test]
fn old_voice_messages_came_as_documents() {
    let voice = one(
        r#"{"type":"doc","doc":{"id":3,"owner_id":5,"title":"Audio Message","ext":"ogg","url":"https://vk.com/doc5_3",
        "preview":{"audio_msg":{"duration":4,"waveform":[1],"link_ogg":"https://psv4.userapi.com/a.ogg","link_mp3":"https://psv4.userapi.com/a.mp3"}}}}"#,
    );
    assert!(matches!(voice.kind, AttachmentKind::Voice));
    assert_eq!(voice.provider_ref, "https://psv4.userapi.com/a.ogg");
    assert_eq!(voice.duration_secs, Some(4));
}

#[test]
fn voice_falls_back_to_mp3() {
    let voice = one(
        r#"{"type":"audio_message","audio_message":{"id":1,"owner_id":5,"duration":2,"link_ogg":"","link_mp3":"https://psv4.userapi.com/a.mp3"}}"#,
    );
    assert_eq!(voice.provider_ref, "https://psv4.userapi.com/a.mp3");
    assert_eq!(voice.mime_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(meta(&voice, "vk_id"), Some("doc5_1"));
    let silent = one(r#"{"type":"audio_message","audio_message":{"id":1,"owner_id":5}}"#);
    assert!(matches!(silent.kind, AttachmentKind::Other));
}

#[test]
fn audio_keeps_artist_and_title_even_without_a_url() {
    let audio = one(
        r#"{"type":"audio","audio":{"id":4,"owner_id":5,"artist":"Кино","title":"Группа крови","duration":285,"url":""}}"#,
    );
    assert!(matches!(audio.kind, AttachmentKind::Audio));
    assert_eq!(audio.provider_ref, "");
    assert_eq!(audio.duration_secs, Some(285));
    assert_eq!(meta(&audio, "artist"), Some("Кино"));
    assert_eq!(meta(&audio, "title"), Some("Группа крови"));
    let audio = one(
        r#"{"type":"audio","audio":{"id":4,"owner_id":5,"url":"https://cs1.vkuseraudio.net/a.mp3?extra=1"}}"#,
    );
    assert_eq!(audio.mime_type.as_deref(), Some("audio/mpeg"));
}

#[test]
fn video_has_no_file_but_a_page_and_preview() {
    let video = one(
        r#"{"type":"video","video":{"id":456239017,"owner_id":-218000001,"title":"Обзор","duration":95,"width":1280,"height":720,
        "image":[{"url":"https://sun9-3.userapi.com/s.jpg","width":130,"height":96},{"url":"https://sun9-3.userapi.com/l.jpg","width":800,"height":450}],
        "access_key":"k"}}"#,
    );
    assert!(matches!(video.kind, AttachmentKind::Video));
    assert_eq!(video.provider_ref, "");
    assert_eq!(video.duration_secs, Some(95));
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    assert_eq!(
        meta(&video, "url"),
        Some("https://vk.com/video-218000001_456239017")
    );
    assert_eq!(meta(&video, "title"), Some("Обзор"));
    assert_eq!(
        meta(&video, "preview_url"),
        Some("https://sun9-3.userapi.com/l.jpg")
    );
}

#[test]
fn links_and_wall_posts_are_other_with_their_type() {
    let link = one(
        r#"{"type":"link","link":{"url":"https://shop.example/item/1","title":"Товар","description":"Описание"}}"#,
    );
    assert!(matches!(link.kind, AttachmentKind::Other));
    assert_eq!(link.provider_ref, "");
    assert_eq!(meta(&link, "type"), Some("link"));
    assert_eq!(meta(&link, "url"), Some("https://shop.example/item/1"));
    assert_eq!(meta(&link, "title"), Some("Товар"));

    let wall = one(
        r#"{"type":"wall","wall":{"id":77,"owner_id":-218000001,"from_id":-218000001,"text":"Акция!"}}"#,
    );
    assert_eq!(meta(&wall, "type"), Some("wall"));
    assert_eq!(meta(&wall, "url"), Some("https://vk.com/wall-218000001_77"));
    assert_eq!(meta(&wall, "text"), Some("Акция!"));
    let old_wall = one(r#"{"type":"wall","wall":{"id":78,"to_id":-218000001}}"#);
    assert_eq!(meta(&old_wall, "vk_id"), Some("wall-218000001_78"));
}

#[test]
fn graffiti_is_an_image() {
    let graffiti = one(
        r#"{"type":"graffiti","graffiti":{"id":9,"owner_id":5,"url":"https://sun9-4.userapi.com/g.png","width":720,"height":720}}"#,
    );
    assert!(matches!(graffiti.kind, AttachmentKind::Image));
    assert_eq!(graffiti.mime_type.as_deref(), Some("image/png"));
    assert_eq!(meta(&graffiti, "type"), Some("graffiti"));
}

#[test]
fn unknown_kinds_keep_their_type_and_id() {
    let poll = one(r#"{"type":"poll","poll":{"id":31,"owner_id":5,"question":"?"}}"#);
    assert!(matches!(poll.kind, AttachmentKind::Other));
    assert_eq!(meta(&poll, "type"), Some("poll"));
    assert_eq!(meta(&poll, "vk_id"), Some("poll5_31"));
    let odd = one(r#"{"type":"market"}"#);
    assert_eq!(meta(&odd, "type"), Some("market"));
    assert_eq!(meta(&odd, "vk_id"), None);
    let untyped = one(r#"{"foo":1}"#);
    assert_eq!(meta(&untyped, "type"), Some("unknown"));
    // A known type whose object is unreadable is still kept.
    let broken = one(r#"{"type":"doc","doc":"oops"}"#);
    assert!(matches!(broken.kind, AttachmentKind::Other));
    assert_eq!(meta(&broken, "type"), Some("doc"));
}

#[test]
fn old_geo_coordinates_are_one_string() {
    let message: VkMessage = serde_json::from_str(
        r#"{"peer_id":5,"geo":{"type":"point","coordinates":"59.9386 30.3141"}}"#,
    )
    .unwrap();
    let found = from_message(&message);
    assert_eq!(meta(&found[0], "latitude"), Some("59.9386"));
    assert_eq!(meta(&found[0], "longitude"), Some("30.3141"));
    let broken: VkMessage =
        serde_json::from_str(r#"{"peer_id":5,"geo":{"coordinates":"north"}}"#).unwrap();
    assert!(from_message(&broken).is_empty());
}

#[test]
fn forwarded_messages_are_quoted() {
    let message: VkMessage = serde_json::from_str(
        r#"{"peer_id":5,"text":"смотрите","fwd_messages":[
        {"date":1767268000,"from_id":42,"text":"Где мой заказ?","attachments":[{"type":"photo"}]}]}"#,
    )
    .unwrap();
    let found = from_message(&message);
    assert_eq!(found.len(), 1);
    let quoted = &found[0];
    assert!(matches!(quoted.kind, AttachmentKind::Other));
    assert_eq!(meta(quoted, "type"), Some("forwarded_message"));
    assert_eq!(meta(quoted, "from_id"), Some("42"));
    assert_eq!(meta(quoted, "date"), Some("1767268000"));
    assert_eq!(meta(quoted, "text"), Some("Где мой заказ?"));
    assert_eq!(meta(quoted, "attachments"), Some("1"));
}

#[test]
fn order_is_attachments_then_location_then_forwards() {
    let message: VkMessage = serde_json::from_str(
        r#"{"peer_id":5,"attachments":[{"type":"poll"},{"type":"link","link":{"url":"u"}}],
        "geo":{"coordinates":{"latitude":1.5,"longitude":2.5}},"fwd_messages":[{"text":"x"}]}"#,
    )
    .unwrap();
    let kinds: Vec<String> = from_message(&message)
        .iter()
        .map(|a| meta(a, "type").unwrap_or("location").to_string())
        .collect();
    assert_eq!(kinds, vec!["poll", "link", "location", "forwarded_message"]);
}
