"""Authenticating an inbound webhook. Runs on the request path before
anything is stored: no outbound call, and only the event's head is parsed."""

from typing import Optional

from wit_world.imports import types

from . import payload, signature
from .settings import ascii_lower, config_value

# The body every accepted webhook is answered with.
ACCEPTED_BODY = b'{"ok":true}'


def header(headers, name: str) -> Optional[str]:
    """First value of a header; names are compared case-insensitively
    (ASCII only, as HTTP means)."""
    name = ascii_lower(name)
    for key, value in headers:
        if ascii_lower(key) == name:
            return value
    return None


def reject(status: int, reason: str) -> types.Verdict:
    return types.Verdict_Reject(types.Rejection(status=status, reason=reason))


def verify(channel: types.Channel, request: types.IncomingRequest) -> types.Verdict:
    if ascii_lower(request.method) != "post":
        return reject(405, "events are delivered with POST")
    given = header(request.headers, signature.HEADER)
    if given is None:
        return reject(401, f"missing {signature.HEADER} header")
    secret = config_value(channel.config, "signing_secret") or ""
    if not signature.is_valid(secret, request.body, given):
        return reject(401, "invalid signature")
    # Without an event id there is no dedup key: refuse it here, where the
    # sender sees the answer, rather than dead-letter it later.
    try:
        payload.read_head(payload.parse_object(request.body))
    except payload.PayloadError as error:
        return reject(400, f"malformed event: {error.message}")
    return types.Verdict_Accept(accepted())


def accepted() -> types.HttpResponse:
    return types.HttpResponse(
        status=200,
        headers=[("content-type", "application/json")],
        body=ACCEPTED_BODY,
    )
