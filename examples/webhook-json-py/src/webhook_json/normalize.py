"""Inbound events as Switchboard events: one webhook, one event, keyed
`event:<event_id>` so a redelivered webhook is written once."""

from typing import List, Optional

from componentize_py_types import Err
from wit_world.imports import types

from . import attachment_kind, payload
from .payload import PayloadError

# The event types this plugin reads; any other `type` is ignored.
KINDS = ("message", "edit", "delete", "reaction", "status", "echo")

_THREAD_KINDS = {"direct": types.ThreadKind.DIRECT, "group": types.ThreadKind.GROUP}
_STATES = {
    "sent": types.DeliveryState.SENT,
    "delivered": types.DeliveryState.DELIVERED,
    "read": types.DeliveryState.READ,
    "failed": types.DeliveryState.FAILED,
}


def normalize(account_id: str, body: bytes) -> List[types.Event]:
    """`account_id` is the channel's own id in the sending system: the sender
    of an echo that names none. Raises `Err(NormalizeError)`."""
    try:
        obj = payload.parse_object(body)
        head = payload.read_head(obj)
        if head.kind in KINDS:
            event_body = _event_body(head.kind, payload.read_envelope(obj), account_id)
        else:
            event_body = types.EventBody_Ignore(f"unsupported event type `{head.kind}`")
    except PayloadError as error:
        raise Err(types.NormalizeError_Malformed(f"malformed event: {error.message}")) from None
    return [types.Event(dedup_key=f"event:{head.event_id}", body=event_body)]


def _event_body(kind: str, envelope: payload.Envelope, account_id: str) -> types.EventBody:
    def need(part: str) -> PayloadError:
        return PayloadError(f"`{kind}` events need `{part}`")

    if envelope.timestamp is None:
        raise need("timestamp")
    timestamp_ms = envelope.timestamp
    if envelope.thread is None:
        raise need("thread")
    thread = _thread(envelope.thread)

    if kind in ("message", "edit", "echo"):
        if envelope.sender is not None:
            sender = _participant(envelope.sender)
        elif kind == "echo":
            # Our own messages: the writer does not file them under a contact.
            sender = _account(account_id)
        else:
            raise need("sender")
        if envelope.message is None:
            raise need("message")
        message = types.Message(
            provider_message_id=envelope.message.id,
            thread=thread,
            sender=sender,
            timestamp_ms=timestamp_ms,
            text=envelope.message.text or None,
            attachments=[_attachment(a) for a in envelope.message.attachments],
            reply_to=envelope.message.reply_to,
        )
        if message.text is None and not message.attachments:
            return types.EventBody_Ignore(
                f"{kind} {message.provider_message_id} has neither text nor attachments"
            )
        if kind == "message":
            return types.EventBody_Message(message)
        if kind == "edit":
            return types.EventBody_Edit(message)
        return types.EventBody_Echo(message)

    if kind == "delete":
        if envelope.message is None:
            raise need("message")
        return types.EventBody_Delete(
            types.MessageRef(
                provider_message_id=envelope.message.id,
                thread=thread,
                timestamp_ms=timestamp_ms,
            )
        )

    if kind == "reaction":
        if envelope.sender is None:
            raise need("sender")
        sender = _participant(envelope.sender)
        if envelope.reaction is None:
            raise need("reaction")
        reaction = envelope.reaction
        if not reaction.emoji.strip():
            raise PayloadError("a reaction needs a non-empty `emoji`")
        return types.EventBody_Reaction(
            types.Reaction(
                provider_message_id=reaction.message_id,
                thread=thread,
                sender=sender,
                emoji=reaction.emoji,
                removed=reaction.removed,
                timestamp_ms=timestamp_ms,
            )
        )

    # kind == "status"
    if envelope.status is None:
        raise need("status")
    status = envelope.status
    return types.EventBody_Status(
        types.StatusUpdate(
            provider_message_id=status.message_id,
            thread=thread,
            state=_STATES[status.state],
            error=status.error or None,
            timestamp_ms=timestamp_ms,
        )
    )


def _thread(thread: payload.Thread) -> types.Thread:
    return types.Thread(id=thread.id, kind=_THREAD_KINDS[thread.kind], title=non_blank(thread.title))


def _participant(sender: payload.Sender) -> types.Participant:
    return types.Participant(
        id=sender.id,
        display_name=non_blank(sender.name),
        username=non_blank(sender.username),
        phone=None,
        alternate_ids=[],
    )


def _account(account_id: str) -> types.Participant:
    return types.Participant(
        id=account_id, display_name=None, username=None, phone=None, alternate_ids=[]
    )


def _attachment(attachment: payload.Attachment) -> types.Attachment:
    """The attachment's URL is what `fetch-attachment` downloads later."""
    kind = attachment_kind.from_name(attachment.kind)
    # An unknown kind is kept as `other`, its name kept beside it.
    unknown = kind == types.AttachmentKind.OTHER and attachment.kind != "other"
    return types.Attachment(
        kind=kind,
        provider_ref=attachment.url,
        mime_type=non_blank(attachment.mime_type),
        file_name=non_blank(attachment.file_name),
        size_bytes=attachment.size_bytes,
        width=None,
        height=None,
        duration_secs=None,
        metadata=[("kind", attachment.kind)] if unknown else [],
    )


def non_blank(text: Optional[str]) -> Optional[str]:
    return text if text is not None and text.strip() else None
