//! Attachment kinds as `messages.attachments` stores them (lower-case
//! names, as the API shows them) and as plugins see them, both ways.

use crate::plugin::types::AttachmentKind;

const NAMES: [(AttachmentKind, &str); 9] = [
    (AttachmentKind::Image, "image"),
    (AttachmentKind::Video, "video"),
    (AttachmentKind::Audio, "audio"),
    (AttachmentKind::Voice, "voice"),
    (AttachmentKind::Document, "document"),
    (AttachmentKind::Sticker, "sticker"),
    (AttachmentKind::Location, "location"),
    (AttachmentKind::Contact, "contact"),
    (AttachmentKind::Other, "other"),
];

/// The stored name of a kind.
pub fn name(kind: AttachmentKind) -> &'static str {
    NAMES
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, name)| *name)
        .expect("every kind has a name")
}

/// The kind a stored name stands for; a name this build does not know is
/// sent as a document, which every provider takes.
pub fn parse(name: &str) -> AttachmentKind {
    NAMES
        .iter()
        .find(|(_, known)| *known == name)
        .map_or(AttachmentKind::Document, |(kind, _)| *kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (kind, stored) in NAMES {
            assert_eq!(name(kind), stored);
            assert_eq!(parse(stored), kind);
        }
        assert_eq!(parse("hologram"), AttachmentKind::Document);
    }
}
