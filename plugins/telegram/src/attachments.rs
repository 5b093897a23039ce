//! Telegram media objects as Switchboard attachments.
//!
//! `provider_ref` is always the `file_id`, which is what `getFile` takes;
//! `file_unique_id` goes into the metadata because it is the only id that
//! stays the same across bots and over time.

use switchboard_plugin_sdk::{Attachment, AttachmentKind};

use crate::update::{
    Audio, Contact, Document, Location, Message, PhotoSize, Sticker, Video, VideoNote, Voice,
};

/// Every attachment a message carries, in a stable order.
pub(crate) fn from_message(message: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    if let Some(photo) = message.photo.as_deref().and_then(largest_photo) {
        out.push(photo_attachment(photo));
    }
    if let Some(animation) = &message.animation {
        out.push(animation_attachment(animation));
    } else if let Some(document) = &message.document {
        // An animation also comes with a `document` copy of itself for old
        // clients; taking both would store the same file twice.
        out.push(document_attachment(document));
    }
    if let Some(voice) = &message.voice {
        out.push(voice_attachment(voice));
    }
    if let Some(audio) = &message.audio {
        out.push(audio_attachment(audio));
    }
    if let Some(video) = &message.video {
        out.push(video_attachment(video));
    }
    if let Some(note) = &message.video_note {
        out.push(video_note_attachment(note));
    }
    if let Some(sticker) = &message.sticker {
        out.push(sticker_attachment(sticker));
    }
    if let Some(location) = &message.location {
        out.push(location_attachment(location));
    }
    if let Some(contact) = &message.contact {
        out.push(contact_attachment(contact));
    }
    out
}

/// Telegram lists sizes smallest first, but the order is not a documented
/// promise; the pixel count is.
fn largest_photo(sizes: &[PhotoSize]) -> Option<&PhotoSize> {
    sizes.iter().max_by_key(|size| {
        (
            u64::from(size.width) * u64::from(size.height),
            size.file_size.unwrap_or(0),
        )
    })
}

fn push_meta(attachment: &mut Attachment, key: &str, value: Option<impl ToString>) {
    if let Some(value) = value {
        attachment
            .metadata
            .push((key.to_string(), value.to_string()));
    }
}

fn photo_attachment(photo: &PhotoSize) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Image, &photo.file_id);
    // Telegram re-encodes every photo (as opposed to an image sent as a file) to JPEG.
    out.mime_type = Some("image/jpeg".into());
    out.width = Some(photo.width);
    out.height = Some(photo.height);
    out.size_bytes = photo.file_size;
    push_meta(&mut out, "file_unique_id", photo.file_unique_id.as_ref());
    out
}

fn document_attachment(document: &Document) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Document, &document.file_id);
    out.mime_type = document.mime_type.clone();
    out.file_name = document.file_name.clone();
    out.size_bytes = document.file_size;
    push_meta(&mut out, "file_unique_id", document.file_unique_id.as_ref());
    out
}

fn voice_attachment(voice: &Voice) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Voice, &voice.file_id);
    out.mime_type = voice.mime_type.clone();
    out.duration_secs = voice.duration;
    out.size_bytes = voice.file_size;
    push_meta(&mut out, "file_unique_id", voice.file_unique_id.as_ref());
    out
}

fn audio_attachment(audio: &Audio) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Audio, &audio.file_id);
    out.mime_type = audio.mime_type.clone();
    out.file_name = audio.file_name.clone();
    out.duration_secs = audio.duration;
    out.size_bytes = audio.file_size;
    push_meta(&mut out, "file_unique_id", audio.file_unique_id.as_ref());
    push_meta(&mut out, "title", audio.title.as_ref());
    push_meta(&mut out, "performer", audio.performer.as_ref());
    out
}

fn video_attachment(video: &Video) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Video, &video.file_id);
    out.mime_type = video.mime_type.clone();
    out.file_name = video.file_name.clone();
    out.width = video.width;
    out.height = video.height;
    out.duration_secs = video.duration;
    out.size_bytes = video.file_size;
    push_meta(&mut out, "file_unique_id", video.file_unique_id.as_ref());
    out
}

/// GIFs arrive as silent MP4 "animations"; they are videos to download and
/// play, marked so a client can loop them.
fn animation_attachment(animation: &Video) -> Attachment {
    let mut out = video_attachment(animation);
    push_meta(&mut out, "animation", Some("true"));
    out
}

fn video_note_attachment(note: &VideoNote) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Video, &note.file_id);
    // Round video messages are always MP4; the Bot API does not say so per file.
    out.mime_type = Some("video/mp4".into());
    out.width = note.length;
    out.height = note.length;
    out.duration_secs = note.duration;
    out.size_bytes = note.file_size;
    push_meta(&mut out, "file_unique_id", note.file_unique_id.as_ref());
    push_meta(&mut out, "video_note", Some("true"));
    out
}

fn sticker_attachment(sticker: &Sticker) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Sticker, &sticker.file_id);
    let mime = if sticker.is_animated {
        "application/x-tgsticker"
    } else if sticker.is_video {
        "video/webm"
    } else {
        "image/webp"
    };
    out.mime_type = Some(mime.into());
    out.width = sticker.width;
    out.height = sticker.height;
    out.size_bytes = sticker.file_size;
    push_meta(&mut out, "file_unique_id", sticker.file_unique_id.as_ref());
    push_meta(&mut out, "emoji", sticker.emoji.as_ref());
    push_meta(&mut out, "set_name", sticker.set_name.as_ref());
    push_meta(&mut out, "sticker_type", sticker.kind.as_ref());
    out
}

fn location_attachment(location: &Location) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Location, "");
    push_meta(&mut out, "latitude", Some(location.latitude));
    push_meta(&mut out, "longitude", Some(location.longitude));
    push_meta(
        &mut out,
        "horizontal_accuracy",
        location.horizontal_accuracy,
    );
    out
}

fn contact_attachment(contact: &Contact) -> Attachment {
    let mut out = Attachment::new(AttachmentKind::Contact, "");
    push_meta(&mut out, "phone_number", Some(&contact.phone_number));
    push_meta(&mut out, "first_name", contact.first_name.as_ref());
    push_meta(&mut out, "last_name", contact.last_name.as_ref());
    push_meta(&mut out, "user_id", contact.user_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::meta;

    fn message(json: &str) -> Message {
        let base = r#""message_id":1,"date":1,"chat":{"id":1,"type":"private"}"#;
        serde_json::from_str(&format!("{{{base},{json}}}")).expect("test message parses")
    }

    #[test]
    fn photo_takes_the_largest_size_whatever_the_order() {
        let found = from_message(&message(
            r#""photo":[
                {"file_id":"mid","file_unique_id":"u2","width":320,"height":240,"file_size":9000},
                {"file_id":"big","file_unique_id":"u3","width":1280,"height":960,"file_size":88000},
                {"file_id":"small","file_unique_id":"u1","width":90,"height":67}]"#,
        ));
        assert_eq!(found.len(), 1);
        let photo = &found[0];
        assert!(matches!(photo.kind, AttachmentKind::Image));
        assert_eq!(photo.provider_ref, "big");
        assert_eq!((photo.width, photo.height), (Some(1280), Some(960)));
        assert_eq!(photo.size_bytes, Some(88000));
        assert_eq!(meta(photo, "file_unique_id"), Some("u3"));
    }

    #[test]
    fn document_keeps_name_type_and_size() {
        let found = from_message(&message(
            r#""document":{"file_id":"D1","file_unique_id":"UD1","file_name":"invoice.pdf",
                "mime_type":"application/pdf","file_size":48213}"#,
        ));
        let document = &found[0];
        assert!(matches!(document.kind, AttachmentKind::Document));
        assert_eq!(document.provider_ref, "D1");
        assert_eq!(document.file_name.as_deref(), Some("invoice.pdf"));
        assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(document.size_bytes, Some(48213));
    }

    #[test]
    fn voice_keeps_duration_and_type() {
        let found = from_message(&message(
            r#""voice":{"file_id":"V1","file_unique_id":"UV1","duration":7,"mime_type":"audio/ogg","file_size":12000}"#,
        ));
        let voice = &found[0];
        assert!(matches!(voice.kind, AttachmentKind::Voice));
        assert_eq!(voice.duration_secs, Some(7));
        assert_eq!(voice.mime_type.as_deref(), Some("audio/ogg"));
    }

    #[test]
    fn audio_keeps_title_and_performer() {
        let found = from_message(&message(
            r#""audio":{"file_id":"A1","duration":200,"performer":"Band","title":"Song","mime_type":"audio/mpeg"}"#,
        ));
        let audio = &found[0];
        assert!(matches!(audio.kind, AttachmentKind::Audio));
        assert_eq!(audio.duration_secs, Some(200));
        assert_eq!(meta(audio, "title"), Some("Song"));
        assert_eq!(meta(audio, "performer"), Some("Band"));
    }

    #[test]
    fn video_and_video_note_are_videos() {
        let found = from_message(&message(
            r#""video":{"file_id":"VID","width":640,"height":360,"duration":12,"mime_type":"video/mp4"},
               "video_note":{"file_id":"NOTE","length":240,"duration":5}"#,
        ));
        assert_eq!(found.len(), 2);
        assert!(matches!(found[0].kind, AttachmentKind::Video));
        assert_eq!((found[0].width, found[0].height), (Some(640), Some(360)));
        assert_eq!(found[0].duration_secs, Some(12));
        assert!(matches!(found[1].kind, AttachmentKind::Video));
        assert_eq!(found[1].provider_ref, "NOTE");
        assert_eq!((found[1].width, found[1].height), (Some(240), Some(240)));
        assert_eq!(meta(&found[1], "video_note"), Some("true"));
    }

    #[test]
    fn animation_replaces_its_document_copy() {
        let found = from_message(&message(
            r#""animation":{"file_id":"ANI","width":320,"height":240,"duration":3,"file_name":"cat.mp4","mime_type":"video/mp4"},
               "document":{"file_id":"ANI","file_name":"cat.mp4","mime_type":"video/mp4"}"#,
        ));
        assert_eq!(found.len(), 1);
        assert!(matches!(found[0].kind, AttachmentKind::Video));
        assert_eq!(meta(&found[0], "animation"), Some("true"));
    }

    #[test]
    fn sticker_mime_follows_its_format() {
        let cases = [
            (r#""is_animated":false,"is_video":false"#, "image/webp"),
            (
                r#""is_animated":true,"is_video":false"#,
                "application/x-tgsticker",
            ),
            (r#""is_animated":false,"is_video":true"#, "video/webm"),
        ];
        for (flags, mime) in cases {
            let found = from_message(&message(&format!(
                r#""sticker":{{"file_id":"S1","file_unique_id":"US1","type":"regular","width":512,"height":512,{flags},"emoji":"😀","set_name":"pack"}}"#
            )));
            let sticker = &found[0];
            assert!(matches!(sticker.kind, AttachmentKind::Sticker));
            assert_eq!(sticker.mime_type.as_deref(), Some(mime));
            assert_eq!((sticker.width, sticker.height), (Some(512), Some(512)));
            assert_eq!(meta(sticker, "emoji"), Some("😀"));
            assert_eq!(meta(sticker, "set_name"), Some("pack"));
        }
    }

    #[test]
    fn location_has_no_file_and_keeps_coordinates() {
        let found = from_message(&message(
            r#""location":{"latitude":55.755826,"longitude":37.6173}"#,
        ));
        let location = &found[0];
        assert!(matches!(location.kind, AttachmentKind::Location));
        assert_eq!(location.provider_ref, "");
        assert_eq!(meta(location, "latitude"), Some("55.755826"));
        assert_eq!(meta(location, "longitude"), Some("37.6173"));
    }

    #[test]
    fn contact_keeps_phone_names_and_user_id() {
        let found = from_message(&message(
            r#""contact":{"phone_number":"+15550100","first_name":"Bob","last_name":"Stone","user_id":5550100123}"#,
        ));
        let contact = &found[0];
        assert!(matches!(contact.kind, AttachmentKind::Contact));
        assert_eq!(contact.provider_ref, "");
        assert_eq!(meta(contact, "phone_number"), Some("+15550100"));
        assert_eq!(meta(contact, "first_name"), Some("Bob"));
        assert_eq!(meta(contact, "last_name"), Some("Stone"));
        assert_eq!(meta(contact, "user_id"), Some("5550100123"));
    }
}
