"""Operator replies, POSTed as signed JSON to `{api_base}{send_path}`.

Building the request and reading the answer are plain functions; only
`send` goes through the host."""

from dataclasses import dataclass
import json
from typing import Callable, List, Optional, Tuple

from componentize_py_types import Err
from wit_world.imports import host, types

from . import answer, attachment_kind, signature
from .settings import Settings
from .verify import header

# What sends an HTTP request: the host's `http-fetch` in the component, a
# fake in the unit tests. Raises `Err(HttpError)` when there is no answer.
Fetch = Callable[[host.OutgoingRequest], types.HttpResponse]

U64_MAX = 0xFFFF_FFFF_FFFF_FFFF
I64_MIN = -(1 << 63)


@dataclass
class Outgoing:
    """The request, before it goes through the host."""

    url: str
    # Besides `content-type: application/json`.
    headers: List[Tuple[str, str]]
    body: bytes


def send(settings: Settings, message: types.OutboundMessage, fetch: Optional[Fetch] = None) -> types.Sent:
    """Raises `Err(SendError)`."""
    outgoing = build(settings, message)
    request = host.OutgoingRequest(
        method="POST",
        url=outgoing.url,
        headers=outgoing.headers + [("content-type", "application/json")],
        body=outgoing.body,
        timeout_ms=None,
    )
    try:
        response = (fetch or host.http_fetch)(request)
    except Err as error:
        raise Err(answer.transport_failure(error.value)) from None
    return outcome(response.status, header(response.headers, "retry-after"), response.body)


def build(settings: Settings, message: types.OutboundMessage) -> Outgoing:
    """Raises `Err(SendError)` for a reply this channel cannot carry."""
    text = message.text or None
    attachment = None
    if message.attachment is not None:
        outbound = message.attachment
        # The receiving system fetches files itself; there is no upload.
        if outbound.url is None or not outbound.url.strip():
            raise Err(
                types.SendError_Permanent(
                    "this channel sends attachments as URLs, and this one has none"
                )
            )
        attachment = {
            "kind": attachment_kind.name(outbound.kind),
            "url": outbound.url,
            "file_name": outbound.file_name,
            "mime_type": outbound.mime_type,
        }
    if text is None and attachment is None:
        raise Err(types.SendError_Permanent("nothing to send: no text and no attachment"))
    # Every field present, in this order, serialized as serde_json does:
    # no spaces, UTF-8 rather than \u escapes.
    body = json.dumps(
        {
            "message_id": message.message_id,
            "thread_id": message.thread_id,
            "recipient_id": message.recipient_id,
            "text": text,
            "reply_to": message.reply_to,
            "attachment": attachment,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    return Outgoing(
        url=settings.send_url,
        headers=[
            (signature.HEADER, signature.sign(settings.signing_secret, body)),
            # Stable across retries: the receiver can drop a repeat.
            ("idempotency-key", message.message_id),
        ],
        body=body,
    )


def outcome(status: int, retry_after: Optional[str], body: bytes) -> types.Sent:
    """What the receiving system's answer means. A 2xx must name the
    message: without an id it may still have been delivered, so it is not
    retried. Raises `Err(SendError)`."""
    if not 200 <= status < 300:
        raise Err(answer.failure(status, retry_after, body))
    given = answer.json_field(body, "id")
    provider_message_id = None
    if isinstance(given, str) and given.strip():
        provider_message_id = given
    elif isinstance(given, int) and not isinstance(given, bool) and I64_MIN <= given <= U64_MAX:
        provider_message_id = str(given)
    if provider_message_id is None:
        raise Err(
            types.SendError_Permanent(
                f"the receiving system answered HTTP {status} without an `id`; "
                "not retried, as the message may have been delivered"
            )
        )
    return types.Sent(provider_message_id=provider_message_id)
