"""Downloading an inbound attachment: a plain GET of its URL.

The host lets this plugin reach the channel's `api_base` origin and nothing
else, so only URLs on that origin can be downloaded; others are refused
here with a reason instead of by the host with a bare denial."""

from typing import Optional

from componentize_py_types import Err
from wit_world.imports import host, types

from . import answer
from .send import Fetch
from .settings import Settings, SettingsError, origin_of_url
from .verify import header


def fetch(settings: Settings, url: str, fetch: Optional[Fetch] = None) -> types.FetchedAttachment:
    """Raises `Err(SendError)`."""
    check_url(settings, url)
    request = host.OutgoingRequest(method="GET", url=url, headers=[], body=b"", timeout_ms=None)
    try:
        response = (fetch or host.http_fetch)(request)
    except Err as error:
        raise Err(answer.transport_failure(error.value)) from None
    return downloaded(
        response.status,
        header(response.headers, "retry-after"),
        header(response.headers, "content-type"),
        response.body,
    )


def check_url(settings: Settings, url: str) -> None:
    if not url.strip():
        raise Err(types.SendError_Permanent("this attachment has no URL"))
    try:
        origin = origin_of_url(url)
    except SettingsError as error:
        raise Err(
            types.SendError_Permanent(f"the attachment URL cannot be downloaded: {error.message}")
        ) from None
    if origin != settings.origin:
        raise Err(
            types.SendError_Permanent(
                f"the attachment is on {origin}, and this channel may only download from its "
                f"api_base {settings.origin}"
            )
        )


def downloaded(
    status: int, retry_after: Optional[str], content_type: Optional[str], body: bytes
) -> types.FetchedAttachment:
    """The file's name is not read from the answer: the host keeps the one
    the inbound event gave."""
    if status in (401, 403):
        # The GET carries no credentials, so a refusal is about the link
        # (expired, revoked), not the channel's authorization.
        raise Err(types.SendError_Permanent(answer.describe(status, body)))
    if not 200 <= status <= 299:
        raise Err(answer.failure(status, retry_after, body))
    mime_type = content_type.strip() if content_type is not None else None
    return types.FetchedAttachment(mime_type=mime_type or None, file_name=None, body=body)
