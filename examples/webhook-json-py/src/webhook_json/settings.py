"""The channel's settings, read and checked in one place so that `connect`,
`send` and `fetch-attachment` agree on what a usable channel is."""

from dataclasses import dataclass
import re
from typing import List, Optional, Tuple

# Where replies are POSTed when the channel does not say otherwise.
DEFAULT_SEND_PATH = "/switchboard/messages"

# The signing secret is an HMAC key shared with the other system; anything
# shorter than this is guessable offline from one signed request.
MIN_SECRET_CHARS = 16

# Longest `account_id` accepted: it becomes the channel's provider account id.
MAX_ACCOUNT_ID_CHARS = 256

Config = List[Tuple[str, str]]

_PORT = re.compile(r"[0-9]+")
_HEX = frozenset("0123456789abcdefABCDEF")
# Rust's `u8::is_ascii_alphanumeric`: str.isalnum() would also take letters
# and digits outside ASCII, which are not host-name characters.
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class SettingsError(Exception):
    """A field is missing or malformed; the message names it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def config_value(config: Config, name: str) -> Optional[str]:
    """A configuration value, trimmed; empty strings count as absent (as in
    the Rust SDK, so a form left blank means "not set")."""
    for key, value in config:
        if key == name:
            value = value.strip()
            return value or None
    return None


def require(config: Config, name: str) -> str:
    value = config_value(config, name)
    if value is None:
        raise SettingsError(f"configuration field `{name}` is required")
    return value


@dataclass(frozen=True)
class Settings:
    """A channel's settings, validated."""

    # The id of this inbox in the sending system.
    account_id: str
    # HMAC key for both directions.
    signing_secret: str
    # `scheme://host[:port]`, lower-case, without a default port.
    origin: str
    # Starts with `/`.
    send_path: str

    @property
    def send_url(self) -> str:
        return self.origin + self.send_path


def read(config: Config) -> Settings:
    """Reads and checks every field; the error names the field at fault."""
    account_id = require(config, "account_id")
    if len(account_id) > MAX_ACCOUNT_ID_CHARS:
        raise SettingsError(f"`account_id` must be at most {MAX_ACCOUNT_ID_CHARS} characters")
    if any(is_control(c) for c in account_id):
        raise SettingsError("`account_id` must not contain control characters")

    signing_secret = require(config, "signing_secret")
    if len(signing_secret) < MIN_SECRET_CHARS:
        raise SettingsError(f"`signing_secret` must be at least {MIN_SECRET_CHARS} characters")

    api_base = require(config, "api_base")
    try:
        base = origin(api_base)
    except SettingsError as error:
        raise SettingsError(
            f"`api_base` must be an origin such as https://crm.example.com: {error.message}"
        ) from None

    send_path = config_value(config, "send_path") or DEFAULT_SEND_PATH
    try:
        check_path(send_path)
    except SettingsError as error:
        raise SettingsError(f"`send_path` {error.message}") from None

    return Settings(account_id, signing_secret, base, send_path)


def is_control(c: str) -> bool:
    """Unicode general category Cc, like Rust's `char::is_control`; spelled
    out so the component does not need the `unicodedata` tables."""
    code = ord(c)
    return code < 0x20 or 0x7F <= code <= 0x9F


def ascii_lower(text: str) -> str:
    """Lower-cases A-Z only, as Rust's `to_ascii_lowercase` (str.lower()
    would also fold letters a host-name check must still refuse)."""
    return text.translate(_ASCII_LOWER)


def origin(text: str) -> str:
    """Normalizes `http(s)://host[:port]` (one trailing `/` tolerated) to the
    form the host compares origins in. Paths are refused rather than
    dropped: the host allows calls to the origin only, so a path here would
    silently not mean what the operator wrote."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise SettingsError("it has no scheme")
    scheme = ascii_lower(scheme)
    if scheme not in ("http", "https"):
        raise SettingsError(f"the scheme `{scheme}` is not http or https")
    authority = rest[:-1] if rest.endswith("/") else rest
    if not authority:
        raise SettingsError("it has no host")
    at = _first_of(authority, "/?#")
    if at is not None:
        raise SettingsError(
            f"it has more than an origin (`{authority[at:]}`); give the scheme, host and port only"
        )
    if "@" in authority:
        raise SettingsError("it has user info; credentials do not belong in the URL")
    if any(c == "\\" or c.isspace() or is_control(c) for c in authority):
        raise SettingsError("it contains spaces, backslashes or control characters")
    host, port = _split_port(authority)
    default_port = 443 if scheme == "https" else 80
    host = ascii_lower(host)
    if port is not None and port != default_port:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def origin_of_url(url: str) -> str:
    """The origin of an absolute http(s) URL, normalized like `origin`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise SettingsError(f"`{url}` is not an absolute URL")
    end = _first_of(rest, "/?#")
    return origin(f"{scheme}://{rest if end is None else rest[:end]}")


def check_path(path: str) -> None:
    """A path appended to the origin: absolute, one line, no fragment."""
    if not path.startswith("/"):
        raise SettingsError(f"must start with `/`, got `{path}`")
    if any(c.isspace() or is_control(c) for c in path):
        raise SettingsError("must not contain spaces or control characters")
    if "#" in path:
        raise SettingsError("must not contain a fragment (`#`)")


def _first_of(text: str, chars: str) -> Optional[int]:
    positions = [i for i in (text.find(c) for c in chars) if i >= 0]
    return min(positions) if positions else None


def _split_port(authority: str) -> Tuple[str, Optional[int]]:
    """Splits `host[:port]`; an IPv6 literal is bracketed (`[::1]:8080`)."""
    if authority.startswith("["):
        inner = authority[1:]
        close = inner.find("]")
        if close < 0:
            raise SettingsError("an IPv6 address lacks its `]`")
        host = authority[: close + 2]
        after = inner[close + 1 :]
        if not all(c in _HEX or c in ":." for c in inner[:close]):
            raise SettingsError(f"`{host}` is not an IPv6 address")
        if not after:
            digits = None
        elif after.startswith(":"):
            digits = after[1:]
        else:
            raise SettingsError(f"unexpected `{after}` after the IPv6 address")
    else:
        host, sep, digits = authority.partition(":")
        if not sep:
            digits = None
    if not host:
        raise SettingsError("it has no host")
    if not host.startswith("[") and not all(c in _HOST_CHARS for c in host):
        raise SettingsError(f"`{host}` is not a host name")
    if digits is None:
        return host, None
    # ASCII digits only: int() would also take `+80`, `8_0` and other
    # scripts' digits.
    if not _PORT.fullmatch(digits) or not 0 < int(digits) <= 0xFFFF:
        raise SettingsError(f"`{digits}` is not a port")
    return host, int(digits)
