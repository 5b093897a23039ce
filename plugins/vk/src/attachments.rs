//! VK attachments as Switchboard attachments.
//!
//! VK puts media on signed CDN URLs, so `provider_ref` is the URL to download
//! (what `fetch_attachment` takes), or empty when VK offers no file (videos,
//! links, wall posts, polls, locations). VK's own id (`photo<owner>_<id>`...)
//! goes into the metadata as `vk_id`. Each item is `{type, <type>: {...}}`; an
//! item whose object cannot be read still becomes an `Other` attachment that
//! names its type, so nothing a customer sent disappears silently.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use switchboard_plugin_sdk::{Attachment, AttachmentKind};

use crate::callback::VkMessage;
use crate::media::TYPES;

/// Every attachment of a message, in VK's order, then the location, then
/// forwarded messages.
pub(crate) fn from_message(message: &VkMessage) -> Vec<Attachment> {
    let mut out: Vec<Attachment> = message.attachments.iter().map(from_item).collect();
    if let Some(geo) = message.geo.as_ref().and_then(location) {
        out.push(geo);
    }
    out.extend(message.fwd_messages.iter().map(forwarded));
    out
}

fn from_item(item: &Value) -> Attachment {
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let inner = item.get(kind).unwrap_or(&Value::Null);
    let converted = match kind {
        "photo" => read(inner).and_then(photo),
        "doc" => read(inner).map(doc),
        "audio_message" => read(inner).and_then(audio_message),
        "sticker" => read(inner).and_then(sticker),
        "audio" => read(inner).map(audio),
        "video" => read(inner).map(video),
        "graffiti" => read(inner).and_then(graffiti),
        "link" => read(inner).map(link),
        "wall" => read(inner).map(wall),
        _ => None,
    };
    converted.unwrap_or_else(|| other(kind, inner))
}

fn read<T: DeserializeOwned>(inner: &Value) -> Option<T> {
    T::deserialize(inner).ok()
}

fn blank(kind: AttachmentKind, provider_ref: &str) -> Attachment {
    Attachment {
        mime_type: TYPES.for_url(provider_ref).map(str::to_string),
        ..Attachment::new(kind, provider_ref)
    }
}

fn push_meta(attachment: &mut Attachment, key: &str, value: Option<impl ToString>) {
    if let Some(value) = value.map(|value| value.to_string()) {
        if !value.is_empty() {
            attachment.metadata.push((key.to_string(), value));
        }
    }
}

/// `photo-218000001_457239017`, the form `messages.send` takes back.
fn vk_id(kind: &str, owner_id: Option<i64>, id: Option<i64>) -> Option<String> {
    Some(format!("{kind}{}_{}", owner_id?, id?))
}

#[derive(Deserialize)]
struct Size {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
    src: Option<String>,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
}

impl Size {
    fn url(&self) -> Option<&str> {
        self.url
            .as_deref()
            .or(self.src.as_deref())
            .filter(|url| !url.is_empty())
    }

    /// Pixel count first; for the sizes VK lists without dimensions (old
    /// crops report 0x0), the letter's place in VK's size ladder.
    fn rank(&self) -> (u64, u8) {
        const LADDER: &str = "smopqrxyzw";
        let letter = self
            .kind
            .as_deref()
            .and_then(|kind| LADDER.find(kind))
            .map_or(0, |place| place as u8 + 1);
        (u64::from(self.width) * u64::from(self.height), letter)
    }
}

fn largest(sizes: &[Size]) -> Option<&Size> {
    sizes
        .iter()
        .filter(|size| size.url().is_some())
        .max_by_key(|size| size.rank())
}

#[derive(Deserialize)]
struct Photo {
    id: Option<i64>,
    owner_id: Option<i64>,
    access_key: Option<String>,
    #[serde(default)]
    sizes: Vec<Size>,
    /// The original upload, listed by newer API versions next to the sizes.
    orig_photo: Option<Size>,
    text: Option<String>,
}

fn photo(photo: Photo) -> Option<Attachment> {
    let size = largest(&photo.sizes)
        .into_iter()
        .chain(
            photo
                .orig_photo
                .as_ref()
                .filter(|size| size.url().is_some()),
        )
        .max_by_key(|size| size.rank())?;
    let mut out = blank(AttachmentKind::Image, size.url()?);
    out.width = Some(size.width).filter(|width| *width > 0);
    out.height = Some(size.height).filter(|height| *height > 0);
    push_meta(&mut out, "vk_id", vk_id("photo", photo.owner_id, photo.id));
    push_meta(&mut out, "access_key", photo.access_key);
    push_meta(&mut out, "caption", photo.text);
    Some(out)
}

#[derive(Deserialize)]
struct Doc {
    id: Option<i64>,
    owner_id: Option<i64>,
    title: Option<String>,
    size: Option<u64>,
    ext: Option<String>,
    url: Option<String>,
    /// 1 text, 2 archive, 3 gif, 4 image, 5 audio, 6 video, 7 e-book, 8 other.
    #[serde(rename = "type")]
    kind: Option<i64>,
    preview: Option<DocPreview>,
}

#[derive(Deserialize)]
struct DocPreview {
    audio_msg: Option<AudioMessage>,
}

fn doc(doc: Doc) -> Attachment {
    // Before `audio_message` became its own type, voice messages were
    // documents with an `audio_msg` preview.
    if let Some(voice) = doc
        .preview
        .and_then(|preview| preview.audio_msg)
        .and_then(audio_message)
    {
        return voice;
    }
    let mut out = blank(
        AttachmentKind::Document,
        doc.url.as_deref().unwrap_or_default(),
    );
    let ext = doc.ext.filter(|ext| !ext.is_empty());
    // VK's title usually ends with the extension, but it is the uploader's
    // text and need not.
    let file_name = match (doc.title.filter(|title| !title.is_empty()), &ext) {
        (Some(title), Some(ext))
            if !title
                .to_lowercase()
                .ends_with(&format!(".{}", ext.to_lowercase())) =>
        {
            Some(format!("{title}.{ext}"))
        }
        (Some(title), _) => Some(title),
        (None, Some(ext)) => Some(format!("document.{ext}")),
        (None, None) => None,
    };
    out.mime_type = ext
        .as_deref()
        .and_then(|ext| TYPES.for_extension(ext))
        .map(str::to_string);
    out.file_name = file_name;
    out.size_bytes = doc.size;
    push_meta(&mut out, "vk_id", vk_id("doc", doc.owner_id, doc.id));
    push_meta(&mut out, "ext", ext);
    push_meta(&mut out, "doc_type", doc.kind);
    out
}

#[derive(Deserialize)]
struct AudioMessage {
    id: Option<i64>,
    owner_id: Option<i64>,
    duration: Option<u32>,
    link_ogg: Option<String>,
    link_mp3: Option<String>,
    transcript: Option<String>,
}

fn audio_message(voice: AudioMessage) -> Option<Attachment> {
    let (url, mime) = match (voice.link_ogg.filter(|l| !l.is_empty()), voice.link_mp3) {
        (Some(ogg), _) => (ogg, "audio/ogg"),
        (None, Some(mp3)) if !mp3.is_empty() => (mp3, "audio/mpeg"),
        _ => return None,
    };
    let mut out = blank(AttachmentKind::Voice, &url);
    out.mime_type = Some(mime.into());
    out.duration_secs = voice.duration;
    push_meta(&mut out, "vk_id", vk_id("doc", voice.owner_id, voice.id));
    push_meta(&mut out, "transcript", voice.transcript);
    Some(out)
}

#[derive(Deserialize)]
struct Sticker {
    sticker_id: Option<i64>,
    product_id: Option<i64>,
    #[serde(default)]
    images: Vec<Size>,
    #[serde(default)]
    images_with_background: Vec<Size>,
    animation_url: Option<String>,
}

fn sticker(sticker: Sticker) -> Option<Attachment> {
    let image = largest(&sticker.images).or_else(|| largest(&sticker.images_with_background))?;
    let mut out = blank(AttachmentKind::Sticker, image.url()?);
    out.width = Some(image.width).filter(|width| *width > 0);
    out.height = Some(image.height).filter(|height| *height > 0);
    push_meta(&mut out, "sticker_id", sticker.sticker_id);
    push_meta(&mut out, "product_id", sticker.product_id);
    push_meta(&mut out, "animation_url", sticker.animation_url);
    Some(out)
}

#[derive(Deserialize)]
struct Audio {
    id: Option<i64>,
    owner_id: Option<i64>,
    artist: Option<String>,
    title: Option<String>,
    duration: Option<u32>,
    url: Option<String>,
}

/// VK withholds audio URLs from most apps; the track is then only named.
fn audio(audio: Audio) -> Attachment {
    let mut out = blank(
        AttachmentKind::Audio,
        audio.url.as_deref().unwrap_or_default(),
    );
    out.duration_secs = audio.duration;
    push_meta(&mut out, "vk_id", vk_id("audio", audio.owner_id, audio.id));
    push_meta(&mut out, "artist", audio.artist);
    push_meta(&mut out, "title", audio.title);
    out
}

#[derive(Deserialize)]
struct Video {
    id: Option<i64>,
    owner_id: Option<i64>,
    title: Option<String>,
    duration: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
    #[serde(default)]
    image: Vec<Size>,
    player: Option<String>,
}

/// VK gives no file for a video, only its page, player and preview image.
fn video(video: Video) -> Attachment {
    let mut out = blank(AttachmentKind::Video, "");
    out.duration_secs = video.duration;
    out.width = video.width;
    out.height = video.height;
    let id = vk_id("video", video.owner_id, video.id);
    push_meta(
        &mut out,
        "url",
        id.as_ref().map(|id| format!("https://vk.com/{id}")),
    );
    push_meta(&mut out, "vk_id", id);
    push_meta(&mut out, "title", video.title);
    push_meta(&mut out, "player", video.player);
    push_meta(
        &mut out,
        "preview_url",
        largest(&video.image).and_then(Size::url),
    );
    out
}

#[derive(Deserialize)]
struct Graffiti {
    id: Option<i64>,
    owner_id: Option<i64>,
    url: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
}

fn graffiti(graffiti: Graffiti) -> Option<Attachment> {
    let url = graffiti.url.filter(|url| !url.is_empty())?;
    let mut out = blank(AttachmentKind::Image, &url);
    out.width = graffiti.width;
    out.height = graffiti.height;
    push_meta(&mut out, "type", Some("graffiti"));
    push_meta(
        &mut out,
        "vk_id",
        vk_id("doc", graffiti.owner_id, graffiti.id),
    );
    Some(out)
}

#[derive(Deserialize)]
struct Link {
    url: Option<String>,
    title: Option<String>,
    description: Option<String>,
}

fn link(link: Link) -> Attachment {
    let mut out = blank(AttachmentKind::Other, "");
    push_meta(&mut out, "type", Some("link"));
    push_meta(&mut out, "url", link.url);
    push_meta(&mut out, "title", link.title);
    push_meta(&mut out, "description", link.description);
    out
}

#[derive(Deserialize)]
struct Wall {
    id: Option<i64>,
    owner_id: Option<i64>,
    /// Older versions name the wall's owner `to_id`.
    to_id: Option<i64>,
    from_id: Option<i64>,
    text: Option<String>,
}

fn wall(post: Wall) -> Attachment {
    let mut out = blank(AttachmentKind::Other, "");
    let id = vk_id(
        "wall",
        post.owner_id.or(post.to_id).or(post.from_id),
        post.id,
    );
    push_meta(&mut out, "type", Some("wall"));
    push_meta(
        &mut out,
        "url",
        id.as_ref().map(|id| format!("https://vk.com/{id}")),
    );
    push_meta(&mut out, "vk_id", id);
    push_meta(&mut out, "text", post.text);
    out
}

/// Polls, market items, gifts, stories, calls and whatever VK adds next.
fn other(kind: &str, inner: &Value) -> Attachment {
    let mut out = blank(AttachmentKind::Other, "");
    push_meta(&mut out, "type", Some(kind));
    let owner = inner.get("owner_id").and_then(Value::as_i64);
    let id = inner.get("id").and_then(Value::as_i64);
    push_meta(&mut out, "vk_id", vk_id(kind, owner, id));
    out
}

/// `geo`: `{type:"point", coordinates:{latitude, longitude}, place:{title}}`;
/// old versions write the coordinates as one `"lat lon"` string.
fn location(geo: &Value) -> Option<Attachment> {
    let (latitude, longitude) = match geo.get("coordinates")? {
        Value::Object(coordinates) => (
            coordinates.get("latitude")?.as_f64()?,
            coordinates.get("longitude")?.as_f64()?,
        ),
        Value::String(pair) => {
            let mut parts = pair.split_whitespace().map(str::parse::<f64>);
            (parts.next()?.ok()?, parts.next()?.ok()?)
        }
        _ => return None,
    };
    let mut out = blank(AttachmentKind::Location, "");
    push_meta(&mut out, "latitude", Some(latitude));
    push_meta(&mut out, "longitude", Some(longitude));
    let place = geo.get("place");
    let text = |key: &str| {
        place
            .and_then(|place| place.get(key))
            .and_then(Value::as_str)
    };
    push_meta(&mut out, "place", text("title"));
    push_meta(&mut out, "city", text("city"));
    push_meta(&mut out, "country", text("country"));
    Some(out)
}

/// A forwarded message is quoted content, not a message of this thread: it
/// is kept as an attachment holding its author, time and text.
fn forwarded(message: &Value) -> Attachment {
    let mut out = blank(AttachmentKind::Other, "");
    push_meta(&mut out, "type", Some("forwarded_message"));
    let field = |key: &str| message.get(key).and_then(Value::as_i64);
    push_meta(&mut out, "from_id", field("from_id"));
    push_meta(&mut out, "date", field("date"));
    push_meta(
        &mut out,
        "text",
        message.get("text").and_then(Value::as_str),
    );
    let attachments = message
        .get("attachments")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    push_meta(
        &mut out,
        "attachments",
        Some(attachments).filter(|n| *n > 0),
    );
    out
}

#[cfg(test)]
mod tests;
