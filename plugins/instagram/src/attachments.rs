//! Instagram message content as attachments.
//!
//! Media point at Meta's CDN, and that URL is what `fetch-attachment` takes
//! back (`provider_ref`). Content with no file of its own (a tapped button,
//! a story being answered, something Instagram will not show to apps) also
//! travels as an attachment of kind `Other`, because an attachment's
//! metadata is the one place a message can carry structured extras.

use switchboard_plugin_sdk::{Attachment, AttachmentKind};

use crate::payload::{InAttachment, StoryRef};

fn attachment(
    kind: AttachmentKind,
    provider_ref: String,
    metadata: Vec<(String, String)>,
) -> Attachment {
    Attachment {
        metadata,
        ..Attachment::new(kind, provider_ref)
    }
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

/// One entry of `message.attachments[]`.
pub(crate) fn from_message(item: InAttachment) -> Attachment {
    let payload = item.payload.unwrap_or_default();
    let url = payload.url.unwrap_or_default();
    let kind = match item.kind.as_str() {
        "image" if payload.sticker_id.is_some() => AttachmentKind::Sticker,
        "image" | "animated_image" => AttachmentKind::Image,
        "audio" => AttachmentKind::Audio,
        "video" => AttachmentKind::Video,
        "file" => AttachmentKind::Document,
        _ => AttachmentKind::Other,
    };
    let mut metadata = Vec::new();
    if matches!(kind, AttachmentKind::Other) || item.kind == "animated_image" {
        // Shares, reels, story mentions and posts: the type says what the
        // link is, and the link is the content.
        metadata.push(pair("type", &item.kind));
        if !url.is_empty() {
            metadata.push(pair("url", &url));
        }
    }
    if let Some(title) = payload.title.filter(|title| !title.trim().is_empty()) {
        metadata.push(pair("title", &title));
    }
    if let Some(sticker) = payload.sticker_id {
        metadata.push(pair("sticker_id", &sticker));
    }
    attachment(kind, url, metadata)
}

/// A reply to one of the account's stories: the story is the context.
pub(crate) fn story_reply(story: StoryRef) -> Attachment {
    let url = story.url.unwrap_or_default();
    let mut metadata = vec![pair("type", "story_reply")];
    if let Some(id) = story.id {
        metadata.push(pair("story_id", &id));
    }
    if !url.is_empty() {
        metadata.push(pair("url", &url));
    }
    attachment(AttachmentKind::Other, url, metadata)
}

/// The payload behind a tapped button or quick reply (the title is the text).
pub(crate) fn button_payload(kind: &str, payload: &str) -> Attachment {
    attachment(
        AttachmentKind::Other,
        String::new(),
        vec![pair("type", kind), pair("payload", payload)],
    )
}

/// Content Instagram does not pass to apps (it shows "unsupported" in the app too).
pub(crate) fn unsupported() -> Attachment {
    attachment(
        AttachmentKind::Other,
        String::new(),
        vec![pair("type", "unsupported")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::metadata;

    fn read(json: &str) -> Attachment {
        from_message(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn media_kinds_keep_the_cdn_url() {
        for (kind, expected) in [
            ("image", AttachmentKind::Image),
            ("audio", AttachmentKind::Audio),
            ("video", AttachmentKind::Video),
            ("file", AttachmentKind::Document),
        ] {
            let attachment = read(&format!(
                r#"{{"type":"{kind}","payload":{{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}}}"#
            ));
            assert_eq!(attachment.kind, expected, "{kind}");
            assert_eq!(
                attachment.provider_ref,
                "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"
            );
            assert!(attachment.metadata.is_empty(), "{kind}");
        }
    }

    #[test]
    fn links_become_other_with_their_type() {
        for kind in ["share", "ig_reel", "story_mention", "ig_post", "reel"] {
            let attachment = read(&format!(
                r#"{{"type":"{kind}","payload":{{"url":"https://cdn.example/x","title":"Summer drop"}}}}"#
            ));
            assert_eq!(attachment.kind, AttachmentKind::Other);
            assert_eq!(attachment.provider_ref, "https://cdn.example/x");
            assert_eq!(
                metadata(&attachment),
                vec![
                    ("type", kind),
                    ("url", "https://cdn.example/x"),
                    ("title", "Summer drop")
                ]
            );
        }
        let bare = read(r#"{"type":"template"}"#);
        assert_eq!(bare.provider_ref, "");
        assert_eq!(metadata(&bare), vec![("type", "template")]);
    }

    #[test]
    fn stickers_and_gifs_are_recognised() {
        let sticker = read(
            r#"{"type":"image","payload":{"url":"https://cdn.example/h","sticker_id":369239263222822}}"#,
        );
        assert_eq!(sticker.kind, AttachmentKind::Sticker);
        assert_eq!(metadata(&sticker), vec![("sticker_id", "369239263222822")]);
        let gif = read(r#"{"type":"animated_image","payload":{"url":"https://cdn.example/g"}}"#);
        assert_eq!(gif.kind, AttachmentKind::Image);
        assert_eq!(
            metadata(&gif),
            vec![("type", "animated_image"), ("url", "https://cdn.example/g")]
        );
    }

    #[test]
    fn extras_without_files() {
        let story = story_reply(StoryRef {
            url: Some("https://cdn.example/story".into()),
            id: Some("1789".into()),
        });
        assert_eq!(story.kind, AttachmentKind::Other);
        assert_eq!(story.provider_ref, "https://cdn.example/story");
        assert_eq!(
            metadata(&story),
            vec![
                ("type", "story_reply"),
                ("story_id", "1789"),
                ("url", "https://cdn.example/story")
            ]
        );
        let button = button_payload("postback", "ORDER_STATUS");
        assert_eq!(button.provider_ref, "");
        assert_eq!(
            metadata(&button),
            vec![("type", "postback"), ("payload", "ORDER_STATUS")]
        );
        assert_eq!(metadata(&unsupported()), vec![("type", "unsupported")]);
    }
}
