"""The provider: every export of the `provider-api` interface. Stateless:
each call reads what it needs from its channel, so the host may reuse an
instance for several calls or make a new one for each."""

from typing import List, Optional

from componentize_py_types import Err
from wit_world.imports import health, types

from . import connect as connecting
from . import fetch as fetching
from . import normalize as normalizing
from . import send as sending
from . import settings, verify as verifying
from .send import Fetch

# The contract this component is built against (`wit/v0.2.0`); build.sh
# stamps the same version into the component's custom section.
CONTRACT_VERSION = "0.2.0"

# This port's own version; it is the same provider as the Rust crate.
VERSION = "0.1.0"

# CPython's heap and the interpreter snapshot componentize-py takes need far
# more than the Rust build's 32 MiB; see the README for the measurement.
MEMORY_BYTES = 128 << 20


class WebhookJson:
    """Implements the exports. `fetch` replaces the host's `http-fetch` in
    the unit tests; None means the host's."""

    def __init__(self, fetch: Optional[Fetch] = None):
        self._fetch = fetch

    def manifest(self) -> types.PluginManifest:
        return types.PluginManifest(
            id="webhook-json",
            display_name="JSON webhook",
            version=VERSION,
            contract_version=CONTRACT_VERSION,
            routing=types.RoutingMode.PER_ACCOUNT,
            config_fields=config_fields(),
            # None by default: each channel's `api_base` is its only origin.
            allowed_hosts=[],
            capabilities=types.Capabilities(
                edits=True,
                deletes=True,
                reactions=True,
                read_receipts=True,
                attachments=True,
                groups=True,
                reply_window_secs=None,
            ),
            limits=types.Limits(
                memory_bytes=MEMORY_BYTES,
                call_timeout_ms=5_000,
                max_outbound_body_bytes=8 << 20,
            ),
            oauth=None,
        )

    def oauth_authorize_url(self, request: types.OauthStart) -> str:
        raise Err(types.ConnectError_InvalidConfig("this provider does not connect through OAuth"))

    def connect(self, request: types.ConnectRequest) -> types.Connected:
        return connecting.connect(request)

    def disconnect(self, channel: types.Channel) -> None:
        # connect registered nothing, so there is nothing to undo.
        return None

    def route(self, request: types.IncomingRequest) -> types.Routing:
        return types.Routing_Unroutable("this provider uses per-account webhook URLs")

    def verify(self, channel: types.Channel, request: types.IncomingRequest) -> types.Verdict:
        return verifying.verify(channel, request)

    def normalize(self, channel: types.Channel, request: types.IncomingRequest) -> List[types.Event]:
        return normalizing.normalize(channel.provider_account_id, request.body)

    def send(self, channel: types.Channel, message: types.OutboundMessage) -> types.Sent:
        return sending.send(_settings(channel), message, self._fetch)

    def fetch_attachment(self, channel: types.Channel, provider_ref: str) -> types.FetchedAttachment:
        return fetching.fetch(_settings(channel), provider_ref, self._fetch)

    def check_connection(self, channel: types.Channel) -> health.ConnectionHealth:
        # The sending system has no API to ask about webhook delivery: say so
        # rather than guess (the Rust SDK's default answer).
        return health.ConnectionHealth(
            state=health.HealthState.UNKNOWN,
            detail="this provider does not report connection health",
            last_error=None,
            last_error_at=None,
            pending_updates=None,
            registered_url=None,
        )


def _settings(channel: types.Channel) -> settings.Settings:
    """The channel's settings, or `Err(Permanent)`: a misconfigured channel
    fails without a call, and retrying will not fix it."""
    try:
        return settings.read(channel.config)
    except settings.SettingsError as error:
        raise Err(types.SendError_Permanent(error.message)) from None


def config_fields() -> List[types.ConfigField]:
    def field(name: str, label: str, secret: bool, required: bool, help: str) -> types.ConfigField:
        return types.ConfigField(name=name, label=label, secret=secret, required=required, help=help)

    return [
        field("account_id", "Account id", False, True, "The id of this inbox in the sending system."),
        field(
            "signing_secret",
            "Signing secret",
            True,
            True,
            "HMAC-SHA256 key both sides sign request bodies with, at least "
            f"{settings.MIN_SECRET_CHARS} characters.",
        ),
        field(
            "api_base",
            "Receiving system",
            False,
            True,
            "Origin replies are POSTed to, like https://crm.example.com (no path).",
        ),
        field(
            "send_path",
            "Send path",
            False,
            False,
            f"Path replies are POSTed to; default {settings.DEFAULT_SEND_PATH}",
        ),
    ]
