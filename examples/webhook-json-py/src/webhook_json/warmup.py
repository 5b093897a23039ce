"""Drives every export through its main paths once, without the host.

`app.py` runs this while componentize-py builds the component, so that
whatever the standard library imports lazily on first use is imported
before the interpreter is snapshotted (the component has no files to import
from at run time). It also fails the build, rather than a live call, if a
path raises something other than its documented `Err`."""

import gc

from componentize_py_types import Err
from wit_world.imports import host, types

from . import signature
from .provider import WebhookJson

_SECRET = "warm-up-signing-secret"
_CONFIG = [
    ("account_id", "warm-up"),
    ("signing_secret", _SECRET),
    ("api_base", "https://warm-up.example:8443/"),
    ("send_path", "/replies"),
]

_THREAD = '"timestamp": 1, "thread": {"id": 1, "kind": "group", "title": "t"}'
_SENDER = '"sender": {"id": "u", "name": "n", "username": "u"}'
_MESSAGE = (
    '"message": {"id": "m", "text": "hi \\u00e9\\ud83d\\udc4d", "reply_to": 2, "attachments": ['
    '{"kind": "image", "url": "https://warm-up.example:8443/f", "mime_type": "image/png",'
    ' "file_name": "f.png", "size_bytes": 3}, {"kind": "gif", "url": "u"}]}'
)
_BODIES = [
    "{" + f'"event_id": "e", "type": "{kind}", {_THREAD}, {_SENDER}, {_MESSAGE}' + "}"
    for kind in ("message", "edit", "echo", "delete")
] + [
    '{"event_id": 1, "type": "reaction", ' + _THREAD + ", " + _SENDER
    + ', "reaction": {"message_id": "m", "emoji": "+", "removed": true}}',
    '{"event_id": 2, "type": "status", ' + _THREAD + ', "status": {"message_id": "m", "state": "failed", "error": "x"}}',
    '{"event_id": 3, "type": "typing"}',
    # The malformed paths: each error is built and formatted once.
    '{"event_id": "e", "type": "message", "message": {"id": "m"}}',
    '{"event_id": "e", "type": "message", ' + _THREAD + ', "sender": {"id": 1.5}}',
    '{"event_id": "e", "type": "status", ' + _THREAD + ', "status": {"message_id": "m", "state": "x"}}',
    '{"event_id": "e", "type": "message", "event_id": "f", "x": NaN}',
    '{"event_id": "e", "type": "\\udc00"}',
    '{"event_id": "e", "type": ',
    "[]",
]


def _responses():
    yield types.HttpResponse(201, [("content-type", "application/json")], b'{"id": 7}')
    yield types.HttpResponse(200, [], b'{"id": "x"}')
    yield types.HttpResponse(200, [], b"not json")
    yield types.HttpResponse(429, [("retry-after", "2")], b"")
    yield types.HttpResponse(403, [], b'{"error": "no"}')
    yield types.HttpResponse(503, [], b"")
    yield types.HttpResponse(422, [], b'{"error": "closed"}')
    yield host.HttpError_Timeout()
    yield host.HttpError_Denied("denied")
    yield host.HttpError_TooLarge()


class _FakeHost:
    def __init__(self):
        self.answers = _responses()

    def __call__(self, request):
        answer = next(self.answers, types.HttpResponse(404, [], b""))
        if isinstance(answer, types.HttpResponse):
            return answer
        raise Err(answer)


def _request(method: str, body: bytes, signed_with: str = _SECRET) -> types.IncomingRequest:
    headers = [("content-type", "application/json"), ("X-Switchboard-Signature", signature.sign(signed_with, body))]
    return types.IncomingRequest(method, "/webhooks/webhook-json/k", "", headers, body)


def _answer(call, *args):
    try:
        return call(*args)
    except Err as error:
        return error.value


def exercise() -> None:
    provider = WebhookJson(fetch=_FakeHost())
    channel = types.Channel("c", "w", "warm-up", _CONFIG, "s", "https://sb.example/webhooks/webhook-json/k")
    provider.manifest()
    provider.route(_request("POST", b"{}"))
    provider.check_connection(channel)
    provider.disconnect(channel)
    _answer(provider.oauth_authorize_url, types.OauthStart("i", "r", "s", []))
    _answer(provider.connect, types.ConnectRequest(_CONFIG, "s", "u"))
    for bad in ([], [("account_id", "\x07")], [("account_id", "a"), ("signing_secret", "short")],
                [("account_id", "a"), ("signing_secret", _SECRET), ("api_base", "ftp://[zz]:x/p")]):
        _answer(provider.connect, types.ConnectRequest(bad, "s", "u"))
    for text in _BODIES:
        body = text.encode("utf-8")
        provider.verify(channel, _request("POST", body))
        _answer(provider.normalize, channel, _request("POST", body))
    provider.verify(channel, _request("GET", b"{}"))
    provider.verify(channel, _request("POST", b"{}", signed_with="forged-secret"))
    provider.verify(channel, types.IncomingRequest("POST", "/", "", [], b"\xff"))
    provider.verify(channel, types.IncomingRequest("POST", "/", "", [("x-switchboard-signature", "sha256=\u00e9")], b""))
    _answer(provider.normalize, channel, _request("POST", b"{\xff}"))
    attachment = types.OutboundAttachment(types.AttachmentKind.DOCUMENT, "a.pdf", "application/pdf", "https://f/a.pdf", None)
    for _ in range(8):
        _answer(provider.send, channel, types.OutboundMessage("m", "t", "r", "h\u00e9 \n", attachment, "p"))
    _answer(provider.send, channel, types.OutboundMessage("m", "t", "r", None, None, None))
    for url in ("https://warm-up.example:8443/f", "https://warm-up.example:8443/g", "https://elsewhere/f", "x"):
        _answer(provider.fetch_attachment, channel, url)
    # What the warm-up allocated is garbage now; keep it out of the snapshot.
    gc.collect()
