"""Reading an inbound event (its format is in the Rust crate's docs).

The Rust version reads events with serde; this module reads them with the
same rules, so that one body is accepted, ignored or refused alike by both
versions:

- unknown fields are skipped, so a sending system may include more than
  Switchboard reads;
- a part that is present must be well-formed even when the event's type
  does not use it, and `null` counts as absent for optional parts;
- a field named twice is refused when it is one this plugin reads (serde's
  "duplicate field"), instead of Python's silent last-one-wins;
- ids are non-blank strings or integers (`42` and `"42"` are the same id);
  timestamps and sizes are integers in 0..2^64; `1.0` is not an integer.

Which optional parts an event type needs is checked in `normalize`, where
the error can name the type. Errors are `PayloadError`s whose text follows
serde's ("missing field `url`", "invalid type: null, expected a string").
"""

from dataclasses import dataclass, field
import json
from typing import Any, Callable, List, Optional, TypeVar

T = TypeVar("T")

U64_MAX = 0xFFFF_FFFF_FFFF_FFFF
I64_MIN = -(1 << 63)

# Rust's `u8::is_ascii_whitespace`.
_ASCII_WHITESPACE = b" \t\n\x0c\r"


class PayloadError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class JsonObject(dict):
    """A JSON object that remembers which keys appeared more than once."""

    duplicates: frozenset = frozenset()


def _object(pairs) -> JsonObject:
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        seen = set()
        obj.duplicates = frozenset(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


def _no_constant(name: str):
    # NaN and Infinity are not JSON; Python's parser takes them unless told.
    raise PayloadError(f"`{name}` is not a JSON value")


def parse_object(body: bytes) -> JsonObject:
    """Parses a body, refusing anything but a JSON object."""
    first = body.lstrip(_ASCII_WHITESPACE)[:1]
    if first != b"{":
        raise PayloadError("the body is not a JSON object")
    try:
        # Decoded here, strictly: json.loads(bytes) would also guess UTF-16
        # and UTF-32, which no sender means.
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the body is not UTF-8: {error.reason} at byte {error.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise PayloadError(str(error)) from None
    except RecursionError:
        raise PayloadError("recursion limit exceeded") from None


# ----- serde-like readers: each takes a JSON value, returns a Python value
# ----- or raises PayloadError.


def _unexpected(value: Any) -> str:
    """How serde names the JSON value it did not expect."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _invalid_type(value: Any, expected: str) -> PayloadError:
    return PayloadError(f"invalid type: {_unexpected(value)}, expected {expected}")


def _checked_text(text: str) -> str:
    # JSON's `\ud800` escapes decode to lone surrogates, which are not
    # Unicode text and cannot cross the component boundary (serde refuses
    # them too).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("lone surrogate in a string") from None
    return text


def read_string(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid_type(value, "a string")
    return _checked_text(value)


def read_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid_type(value, "a boolean")
    return value


def read_u64(value: Any) -> int:
    # bool is a subclass of int in Python; JSON's true is not a number.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid_type(value, "u64")
    if value < 0:
        raise PayloadError(f"invalid value: integer `{value}`, expected u64")
    if value > U64_MAX:
        # serde_json reads integers past u64 as floating point.
        raise PayloadError(f"invalid type: floating point `{float(value)}`, expected u64")
    return value


_ID_EXPECTED = "a non-empty string or an integer id"


def read_id(value: Any) -> str:
    """An id in the sending system: a non-blank JSON string, or an integer,
    since many systems number records. Kept as text."""
    if isinstance(value, str):
        if not value.strip():
            raise PayloadError(f"invalid value: {_unexpected(value)}, expected {_ID_EXPECTED}")
        return _checked_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and I64_MIN <= value <= U64_MAX:
        return str(value)
    raise _invalid_type(value, _ID_EXPECTED)


def read_variant(names: List[str]) -> Callable[[Any], str]:
    """A unit enum given by name, like serde's `rename_all = "lowercase"`."""
    quoted = [f"`{name}`" for name in names]
    # serde's wording: "`a` or `b`", "one of `a`, `b`, `c`".
    expected = " or ".join(quoted) if len(names) <= 2 else "one of " + ", ".join(quoted)

    def read(value: Any) -> str:
        if not isinstance(value, str):
            raise _invalid_type(value, "a variant name")
        if value not in names:
            raise PayloadError(f"unknown variant `{_checked_text(value)}`, expected {expected}")
        return value

    return read


_MISSING = object()


def _field(obj: JsonObject, name: str) -> Any:
    if name in obj.duplicates:
        raise PayloadError(f"duplicate field `{name}`")
    return obj.get(name, _MISSING)


def required(obj: JsonObject, name: str, read: Callable[[Any], T]) -> T:
    value = _field(obj, name)
    if value is _MISSING:
        raise PayloadError(f"missing field `{name}`")
    return read(value)


def optional(obj: JsonObject, name: str, read: Callable[[Any], T]) -> Optional[T]:
    """Absent or `null`: None (serde's `Option<T>`)."""
    value = _field(obj, name)
    if value is _MISSING or value is None:
        return None
    return read(value)


def defaulted(obj: JsonObject, name: str, read: Callable[[Any], T], default: T) -> T:
    """Absent: the default; `null` is refused (serde's `#[serde(default)]`)."""
    value = _field(obj, name)
    if value is _MISSING:
        return default
    return read(value)


def struct(name: str, read: Callable[[JsonObject], T]) -> Callable[[Any], T]:
    def read_struct(value: Any) -> T:
        if not isinstance(value, dict):
            raise _invalid_type(value, f"struct {name}")
        return read(value)

    return read_struct


def sequence(read: Callable[[Any], T]) -> Callable[[Any], List[T]]:
    def read_sequence(value: Any) -> List[T]:
        if not isinstance(value, list):
            raise _invalid_type(value, "a sequence")
        return [read(item) for item in value]

    return read_sequence


# ----- The event's shape.


@dataclass
class Head:
    """What every event has; read on its own first, so an event type this
    plugin does not know is ignored whatever the rest of its body looks like."""

    event_id: str
    kind: str


def read_head(obj: JsonObject) -> Head:
    return Head(
        event_id=required(obj, "event_id", read_id),
        kind=required(obj, "type", read_string),
    )


@dataclass
class Thread:
    id: str
    # `direct` or `group`.
    kind: str
    title: Optional[str]


@dataclass
class Sender:
    id: str
    name: Optional[str]
    username: Optional[str]


@dataclass
class Attachment:
    # Read leniently (an unknown kind becomes `other` in `normalize`), so a
    # sender adding a kind never loses the message it is attached to.
    kind: str
    url: str
    mime_type: Optional[str]
    file_name: Optional[str]
    size_bytes: Optional[int]


@dataclass
class Message:
    id: str
    text: Optional[str]
    reply_to: Optional[str]
    attachments: List[Attachment] = field(default_factory=list)


@dataclass
class Reaction:
    message_id: str
    emoji: str
    removed: bool


@dataclass
class Status:
    message_id: str
    # `sent`, `delivered`, `read` or `failed`.
    state: str
    error: Optional[str]


@dataclass
class Envelope:
    # Unix time in milliseconds.
    timestamp: Optional[int]
    thread: Optional[Thread]
    sender: Optional[Sender]
    message: Optional[Message]
    reaction: Optional[Reaction]
    status: Optional[Status]


THREAD_KINDS = ["direct", "group"]
DELIVERY_STATES = ["sent", "delivered", "read", "failed"]


def _thread(obj: JsonObject) -> Thread:
    return Thread(
        id=required(obj, "id", read_id),
        kind=required(obj, "kind", read_variant(THREAD_KINDS)),
        title=optional(obj, "title", read_string),
    )


def _sender(obj: JsonObject) -> Sender:
    return Sender(
        id=required(obj, "id", read_id),
        name=optional(obj, "name", read_string),
        username=optional(obj, "username", read_string),
    )


def _attachment(obj: JsonObject) -> Attachment:
    return Attachment(
        kind=required(obj, "kind", read_string),
        url=required(obj, "url", read_string),
        mime_type=optional(obj, "mime_type", read_string),
        file_name=optional(obj, "file_name", read_string),
        size_bytes=optional(obj, "size_bytes", read_u64),
    )


def _message(obj: JsonObject) -> Message:
    return Message(
        id=required(obj, "id", read_id),
        text=optional(obj, "text", read_string),
        reply_to=optional(obj, "reply_to", read_id),
        attachments=defaulted(
            obj, "attachments", sequence(struct("Attachment", _attachment)), []
        ),
    )


def _reaction(obj: JsonObject) -> Reaction:
    return Reaction(
        message_id=required(obj, "message_id", read_id),
        emoji=required(obj, "emoji", read_string),
        removed=defaulted(obj, "removed", read_bool, False),
    )


def _status(obj: JsonObject) -> Status:
    return Status(
        message_id=required(obj, "message_id", read_id),
        state=required(obj, "state", read_variant(DELIVERY_STATES)),
        error=optional(obj, "error", read_string),
    )


def read_envelope(obj: JsonObject) -> Envelope:
    return Envelope(
        timestamp=optional(obj, "timestamp", read_u64),
        thread=optional(obj, "thread", struct("Thread", _thread)),
        sender=optional(obj, "sender", struct("Sender", _sender)),
        message=optional(obj, "message", struct("Message", _message)),
        reaction=optional(obj, "reaction", struct("Reaction", _reaction)),
        status=optional(obj, "status", struct("Status", _status)),
    )
