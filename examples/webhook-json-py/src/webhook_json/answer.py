"""What a failed call to the receiving system tells the host to do, shared
by replies and attachment downloads."""

import json
import re
from typing import Optional

from wit_world.imports import host
from wit_world.imports.types import (
    SendError,
    SendError_AuthExpired,
    SendError_Permanent,
    SendError_RateLimited,
    SendError_Retry,
)

# Pause after a timeout, a 408 or a 5xx; the host backs off further on
# repeated failures.
RETRY_MS = 5_000

# Pause after a 429 without a usable `Retry-After`.
RATE_LIMIT_DEFAULT_MS = 30_000

U32_MAX = 0xFFFF_FFFF
U64_MAX = 0xFFFF_FFFF_FFFF_FFFF

# What Rust's `u64::from_str` takes: ASCII digits, an optional `+`.
_SECONDS = re.compile(r"\+?[0-9]+")


def failure(status: int, retry_after: Optional[str], body: bytes) -> SendError:
    """A non-2xx answer. `retry_after` is the `Retry-After` header; `body`
    may hold `{"error": "..."}`, quoted in the reason."""
    if status == 429:
        return SendError_RateLimited(rate_limit_ms(retry_after))
    if status in (401, 403):
        return SendError_AuthExpired(
            f"the receiving system refused the signature: {describe(status, body)}"
        )
    if status == 408 or 500 <= status <= 599:
        return SendError_Retry(RETRY_MS)
    return SendError_Permanent(describe(status, body))


def transport_failure(error: host.HttpError) -> SendError:
    """No answer at all."""
    if isinstance(error, (host.HttpError_Timeout, host.HttpError_Transport)):
        return SendError_Retry(RETRY_MS)
    if isinstance(error, host.HttpError_Denied):
        # The origin is the channel's `api_base`; retrying will not change it.
        return SendError_Permanent(error.value)
    return SendError_Permanent(
        "the request or the answer is larger than the plugin may send or receive"
    )


def rate_limit_ms(retry_after: Optional[str]) -> int:
    """`Retry-After` in seconds (the HTTP-date form is not used by the
    systems this talks to, and falls back to the default). At least a
    second, so a `0` does not make the host retry in a tight loop."""
    if retry_after is None:
        return RATE_LIMIT_DEFAULT_MS
    value = retry_after.strip()
    if not _SECONDS.fullmatch(value) or int(value) > U64_MAX:
        return RATE_LIMIT_DEFAULT_MS
    return min(max(int(value), 1) * 1000, U32_MAX)


def describe(status: int, body: bytes) -> str:
    """`HTTP <status>`, plus the body's `error` when it has one."""
    error = json_field(body, "error")
    if isinstance(error, str) and error.strip():
        return f"HTTP {status}: {error}"
    return f"HTTP {status}"


def json_field(body: bytes, name: str):
    """`body[name]` when the body is a JSON object that has it, else None.
    Answers are read leniently: any body that is not such an object is
    simply one without the field."""
    try:
        answer = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return answer.get(name) if isinstance(answer, dict) else None


def _no_constant(name: str):
    # NaN and Infinity are not JSON; Python's parser takes them unless told.
    raise ValueError(f"{name} is not JSON")
