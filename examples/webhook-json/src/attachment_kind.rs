//! Attachment kinds by the names this channel's JSON uses, both directions.

use switchboard_plugin_sdk::AttachmentKind;

/// Every kind with its name, in the contract's order.
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

/// The kind a name stands for; a name this plugin does not know is `other`.
pub(crate) fn from_name(name: &str) -> AttachmentKind {
    NAMES
        .iter()
        .find(|(_, known)| *known == name)
        .map_or(AttachmentKind::Other, |(kind, _)| *kind)
}

pub(crate) fn name(kind: AttachmentKind) -> &'static str {
    NAMES
        .iter()
        .find(|(known, _)| *known == kind)
        .map_or("other", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (kind, expected) in NAMES {
            assert_eq!(name(kind), expected);
            assert_eq!(from_name(expected), kind);
        }
    }

    #[test]
    fn unknown_names_are_other() {
        assert_eq!(from_name("gif"), AttachmentKind::Other);
        assert_eq!(from_name("Image"), AttachmentKind::Other);
        assert_eq!(from_name(""), AttachmentKind::Other);
    }
}
