"""Signatures of request bodies, both directions: `x-switchboard-signature:
sha256=<hex>`, the lower-case hex HMAC-SHA256 of the raw body under the
channel's signing secret. Computed over the bytes exactly as sent, never
re-serialized JSON, so either side can check it before parsing anything."""

import hashlib
import hmac

from .settings import ascii_lower

HEADER = "x-switchboard-signature"
PREFIX = "sha256="


def hmac_sha256_hex(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes) -> str:
    """The header value for `body`."""
    return PREFIX + hmac_sha256_hex(secret.encode("utf-8"), body)


def is_valid(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is a genuine signature of `body`. Compared in
    constant time; an empty secret never verifies, or an unconfigured
    channel would accept anything signed with the empty key."""
    value = header.strip()
    if not secret or not value.startswith(PREFIX):
        return False
    given = ascii_lower(value[len(PREFIX) :].strip())
    expected = hmac_sha256_hex(secret.encode("utf-8"), body)
    # Bytes, not str: compare_digest refuses non-ASCII strings with a
    # TypeError, and a forged header may hold anything.
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8"))
