"""Connecting a channel: the settings are checked and nothing is called.
The other system is configured by its operator (the webhook URL and the
signing secret), so there is no webhook to register from here."""

from componentize_py_types import Err
from wit_world.imports import types

from . import settings


def connect(request: types.ConnectRequest) -> types.Connected:
    """Raises `Err(ConnectError)`."""
    try:
        checked = settings.read(request.config)
    except settings.SettingsError as error:
        raise Err(types.ConnectError_InvalidConfig(error.message)) from None
    return types.Connected(
        provider_account_id=checked.account_id,
        display_name=f"JSON webhook {checked.account_id}",
        config_updates=[],
    )
