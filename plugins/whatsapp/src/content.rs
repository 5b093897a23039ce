//! What a WhatsApp message holds, as text and attachments.
//!
//! Media are referenced by their media id, which `fetch-attachment` trades
//! for a download URL. Content without a file (a location, a contact card,
//! a tapped button) is an attachment too: its metadata is the one place a
//! message can carry structured extras.

use switchboard_plugin_sdk::{Attachment, AttachmentKind};

use crate::payload::{Button, InMessage, Interactive, Location, Media, SharedContact};

/// Text and attachments of a message, or why it is not shown.
pub(crate) type Content = (Option<String>, Vec<Attachment>);

pub(crate) fn read(message: &InMessage) -> Result<Content, String> {
    let kind = message.kind.as_deref().unwrap_or_default();
    let missing = || format!("a `{kind}` message without its `{kind}` object");
    match kind {
        "text" => {
            let body = message.text.as_ref().and_then(|text| text.body.clone());
            let body = body.filter(|body| !body.is_empty()).ok_or_else(missing)?;
            Ok((Some(body), Vec::new()))
        }
        "image" => media(
            message.image.as_ref().ok_or_else(missing)?,
            AttachmentKind::Image,
        ),
        "video" => media(
            message.video.as_ref().ok_or_else(missing)?,
            AttachmentKind::Video,
        ),
        "document" => media(
            message.document.as_ref().ok_or_else(missing)?,
            AttachmentKind::Document,
        ),
        "sticker" => media(
            message.sticker.as_ref().ok_or_else(missing)?,
            AttachmentKind::Sticker,
        ),
        "audio" => {
            let audio = message.audio.as_ref().ok_or_else(missing)?;
            let kind = if audio.voice == Some(true) {
                AttachmentKind::Voice
            } else {
                AttachmentKind::Audio
            };
            media(audio, kind)
        }
        "location" => Ok((
            None,
            vec![location(message.location.as_ref().ok_or_else(missing)?)],
        )),
        "contacts" => {
            let cards: Vec<Attachment> = message
                .contacts
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(contact)
                .collect();
            if cards.is_empty() {
                return Err(missing());
            }
            Ok((None, cards))
        }
        "interactive" => interactive(message.interactive.as_ref().ok_or_else(missing)?),
        "button" => button(message.button.as_ref().ok_or_else(missing)?),
        "" => Err("a message without a type".into()),
        other => Err(format!("unsupported message type `{other}`")),
    }
}

fn push(metadata: &mut Vec<(String, String)>, key: &str, value: Option<String>) {
    if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
        metadata.push((key.to_string(), value));
    }
}

fn media(media: &Media, kind: AttachmentKind) -> Result<Content, String> {
    let id = media
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or("a media message without a media id")?;
    let mut attachment = Attachment::new(kind, id);
    attachment.mime_type = media.mime_type.clone();
    attachment.file_name = media.filename.clone();
    push(&mut attachment.metadata, "sha256", media.sha256.clone());
    if media.animated == Some(true) {
        push(&mut attachment.metadata, "animated", Some("true".into()));
    }
    let caption = media.caption.clone().filter(|caption| !caption.is_empty());
    Ok((caption, vec![attachment]))
}

fn location(location: &Location) -> Attachment {
    let mut attachment = Attachment::new(AttachmentKind::Location, "");
    let metadata = &mut attachment.metadata;
    push(
        metadata,
        "latitude",
        location.latitude.map(|value| value.to_string()),
    );
    push(
        metadata,
        "longitude",
        location.longitude.map(|value| value.to_string()),
    );
    push(metadata, "name", location.name.clone());
    push(metadata, "address", location.address.clone());
    push(metadata, "url", location.url.clone());
    attachment
}

fn contact(card: &SharedContact) -> Attachment {
    let mut attachment = Attachment::new(AttachmentKind::Contact, "");
    let name = card.name.as_ref().and_then(|name| {
        name.formatted_name.clone().or_else(|| {
            let parts: Vec<&str> = [name.first_name.as_deref(), name.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
    });
    let phones = card.phones.as_deref().unwrap_or_default();
    let join = |values: Vec<String>| (!values.is_empty()).then(|| values.join(", "));
    let metadata = &mut attachment.metadata;
    push(metadata, "name", name);
    push(
        metadata,
        "phones",
        join(
            phones
                .iter()
                .filter_map(|phone| phone.phone.clone())
                .collect(),
        ),
    );
    push(
        metadata,
        "wa_ids",
        join(
            phones
                .iter()
                .filter_map(|phone| phone.wa_id.clone())
                .collect(),
        ),
    );
    push(
        metadata,
        "emails",
        join(
            card.emails
                .as_deref()
                .unwrap_or_default()
                .iter()
                .filter_map(|email| email.email.clone())
                .collect(),
        ),
    );
    push(
        metadata,
        "organization",
        card.org.as_ref().and_then(|org| org.company.clone()),
    );
    attachment
}

/// A reply to buttons or a list the business sent: the title is what the
/// customer saw and tapped; the id is what the business defined.
fn interactive(interactive: &Interactive) -> Result<Content, String> {
    let kind = interactive.kind.as_deref().unwrap_or_default();
    let choice = match kind {
        "button_reply" => interactive.button_reply.as_ref(),
        "list_reply" => interactive.list_reply.as_ref(),
        other => return Err(format!("unsupported interactive reply `{other}`")),
    }
    .ok_or_else(|| format!("an interactive `{kind}` without its choice"))?;
    let mut extra = Attachment::new(AttachmentKind::Other, "");
    push(&mut extra.metadata, "type", Some(kind.to_string()));
    push(&mut extra.metadata, "id", choice.id.clone());
    push(
        &mut extra.metadata,
        "description",
        choice.description.clone(),
    );
    Ok((choice.title.clone(), vec![extra]))
}

/// A template's quick-reply button.
fn button(button: &Button) -> Result<Content, String> {
    let mut extra = Attachment::new(AttachmentKind::Other, "");
    push(&mut extra.metadata, "type", Some("button".into()));
    push(&mut extra.metadata, "payload", button.payload.clone());
    Ok((button.text.clone(), vec![extra]))
}
