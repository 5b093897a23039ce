"""Attachment kinds by the names this channel's JSON uses, both directions."""

from wit_world.imports.types import AttachmentKind

# Every kind with its name, in the contract's order.
NAMES = (
    (AttachmentKind.IMAGE, "image"),
    (AttachmentKind.VIDEO, "video"),
    (AttachmentKind.AUDIO, "audio"),
    (AttachmentKind.VOICE, "voice"),
    (AttachmentKind.DOCUMENT, "document"),
    (AttachmentKind.STICKER, "sticker"),
    (AttachmentKind.LOCATION, "location"),
    (AttachmentKind.CONTACT, "contact"),
    (AttachmentKind.OTHER, "other"),
)

_BY_NAME = {name: kind for kind, name in NAMES}
_BY_KIND = {kind: name for kind, name in NAMES}


def from_name(name: str) -> AttachmentKind:
    """The kind a name stands for; a name this plugin does not know is `other`
    (case matters: `Image` is not a known name)."""
    return _BY_NAME.get(name, AttachmentKind.OTHER)


def name(kind: AttachmentKind) -> str:
    return _BY_KIND.get(kind, "other")
