"""Shared helpers for the unit tests."""

from componentize_py_types import Err
from wit_world.imports import types

SECRET = "whsec-0123456789abcdef"
WEBHOOK_URL = "https://inbox.example.com/webhooks/webhook-json/k1"


def channel(config, account="inbox-7") -> types.Channel:
    return types.Channel(
        id="ch_1",
        workspace_id="ws_1",
        provider_account_id=account,
        config=list(config),
        webhook_secret="host-generated",
        webhook_url=WEBHOOK_URL,
    )


def configured() -> types.Channel:
    return channel(
        [("account_id", "inbox-7"), ("signing_secret", SECRET), ("api_base", "https://crm.example.com")]
    )


def request(method="POST", headers=(), body=b"") -> types.IncomingRequest:
    return types.IncomingRequest(
        method=method, path="/webhooks/webhook-json/k1", query="", headers=list(headers), body=body
    )


def error_of(test, call, *args):
    """The value of the `Err` a call raises."""
    with test.assertRaises(Err) as raised:
        call(*args)
    return raised.exception.value


def permanent(test, call, *args) -> str:
    error = error_of(test, call, *args)
    test.assertIsInstance(error, types.SendError_Permanent, error)
    return error.value
