import json
import unittest

from componentize_py_types import Err
from tests.support import SECRET, error_of, permanent
from webhook_json import answer, fetch, send, signature
from webhook_json.settings import Settings
from wit_world.imports import host, types


def settings(send_path="/switchboard/messages"):
    return Settings("inbox-7", SECRET, "https://crm.example.com", send_path)


def reply(text=None, attachment=None, reply_to=None):
    return types.OutboundMessage("01JA7Q3M8Z", "t-1", "u-1", text, attachment, reply_to)


def document(url=None, data=None):
    return types.OutboundAttachment(types.AttachmentKind.DOCUMENT, "invoice.pdf", "application/pdf", url, data)


class FakeHost:
    """Stands in for the host's `http-fetch`: records requests, answers
    with a response or raises an `Err(HttpError)`."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def __call__(self, request: host.OutgoingRequest) -> types.HttpResponse:
        self.requests.append(request)
        if isinstance(self.answer, types.HttpResponse):
            return self.answer
        raise Err(self.answer)


class Build(unittest.TestCase):
    def built(self, message):
        outgoing = send.build(settings(), message)
        return outgoing, json.loads(outgoing.body)

    def test_a_text_reply_is_signed_json_with_an_idempotency_key(self):
        outgoing, _ = self.built(reply("Yes, it is ready."))
        self.assertEqual(outgoing.url, "https://crm.example.com/switchboard/messages")
        self.assertEqual(
            outgoing.body,
            b'{"message_id":"01JA7Q3M8Z","thread_id":"t-1","recipient_id":"u-1","text":"Yes, it is ready.","reply_to":null,"attachment":null}',
            "every field is present, in the documented order",
        )
        self.assertEqual(
            outgoing.headers,
            [
                ("x-switchboard-signature", signature.sign(SECRET, outgoing.body)),
                ("idempotency-key", "01JA7Q3M8Z"),
            ],
        )

    def test_non_ascii_text_is_sent_as_utf8_like_serde(self):
        outgoing, body = self.built(reply("Готово \U0001F44D\n"))
        self.assertIn("Готово \U0001F44D\\n".encode("utf-8"), outgoing.body)
        self.assertEqual(body["text"], "Готово \U0001F44D\n")

    def test_the_send_path_is_the_channels(self):
        outgoing = send.build(settings("/api/inbox?via=sb"), reply("hi"))
        self.assertEqual(outgoing.url, "https://crm.example.com/api/inbox?via=sb")

    def test_replies_name_the_message_they_answer(self):
        _, body = self.built(reply("Which one?", reply_to="m-1"))
        self.assertEqual(body["reply_to"], "m-1")

    def test_url_attachments_go_as_an_object(self):
        _, body = self.built(reply("Your invoice", document("https://files.example.com/inv.pdf")))
        self.assertEqual(
            body["attachment"],
            {"kind": "document", "url": "https://files.example.com/inv.pdf",
             "file_name": "invoice.pdf", "mime_type": "application/pdf"},
        )
        bare = types.OutboundAttachment(types.AttachmentKind.IMAGE, None, None, "https://files.example.com/a.png", None)
        _, body = self.built(reply(None, bare))
        self.assertIsNone(body["text"], "an attachment alone is a reply")
        self.assertEqual(
            body["attachment"],
            {"kind": "image", "url": "https://files.example.com/a.png", "file_name": None, "mime_type": None},
        )

    def test_bytes_only_attachments_are_permanent(self):
        self.assertEqual(
            permanent(self, send.build, settings(), reply("Your invoice", document(None, b"%PDF-1.7"))),
            "this channel sends attachments as URLs, and this one has none",
        )
        self.assertIn("as URLs", permanent(self, send.build, settings(), reply("x", document(" ", b"%PDF"))))

    def test_an_empty_reply_is_permanent(self):
        self.assertEqual(
            permanent(self, send.build, settings(), reply(None)), "nothing to send: no text and no attachment"
        )
        self.assertIn("nothing to send", permanent(self, send.build, settings(), reply("")))


class Outcome(unittest.TestCase):
    def test_a_2xx_with_an_id_is_sent(self):
        for status, body, expected in [
            (200, b'{"id": "crm-out-1"}', "crm-out-1"),
            (201, b'{"id": "crm-out-2", "queued": true}', "crm-out-2"),
            (202, b'{"id": 9007199254740993}', "9007199254740993"),
        ]:
            self.assertEqual(send.outcome(status, None, body), types.Sent(expected))

    def test_a_2xx_without_an_id_is_not_retried(self):
        for body in [b"", b"{}", b'{"id": ""}', b'{"id": null}', b'{"id": 1.5}', b'{"id": true}', b"ok", b"[1]"]:
            self.assertIn("without an `id`", permanent(self, send.outcome, 200, None, body), body)

    def test_error_answers_follow_the_shared_mapping(self):
        self.assertEqual(error_of(self, send.outcome, 429, "7", b""), types.SendError_RateLimited(7_000))
        self.assertEqual(error_of(self, send.outcome, 429, None, b""), types.SendError_RateLimited(30_000))
        self.assertIsInstance(error_of(self, send.outcome, 401, None, b""), types.SendError_AuthExpired)
        error = error_of(self, send.outcome, 403, None, b'{"error":"bad signature"}')
        self.assertTrue(error.value.endswith("HTTP 403: bad signature"), error)
        self.assertEqual(error_of(self, send.outcome, 408, None, b""), types.SendError_Retry(5_000))
        self.assertEqual(error_of(self, send.outcome, 503, None, b""), types.SendError_Retry(5_000))
        self.assertEqual(
            permanent(self, send.outcome, 422, None, b'{"error":"recipient u-1 unsubscribed"}'),
            "HTTP 422: recipient u-1 unsubscribed",
        )
        self.assertEqual(permanent(self, send.outcome, 404, None, b""), "HTTP 404")


class SendThroughTheHost(unittest.TestCase):
    def test_the_request_goes_out_signed_and_the_answer_names_the_message(self):
        fake = FakeHost(types.HttpResponse(201, [("content-type", "application/json")], b'{"id":"crm-out-9"}'))
        sent = send.send(settings(), reply("hi"), fake)
        self.assertEqual(sent, types.Sent("crm-out-9"))
        [request] = fake.requests
        self.assertEqual((request.method, request.url), ("POST", "https://crm.example.com/switchboard/messages"))
        self.assertEqual(
            [name for name, _ in request.headers], ["x-switchboard-signature", "idempotency-key", "content-type"]
        )
        self.assertTrue(signature.is_valid(SECRET, request.body, request.headers[0][1]))
        self.assertIsNone(request.timeout_ms)

    def test_retry_after_is_read_from_the_answer(self):
        fake = FakeHost(types.HttpResponse(429, [("Retry-After", "3")], b""))
        self.assertEqual(error_of(self, send.send, settings(), reply("hi"), fake), types.SendError_RateLimited(3_000))

    def test_no_answer_is_retried_and_a_denial_is_permanent(self):
        for error, expected in [
            (host.HttpError_Timeout(), types.SendError_Retry(5_000)),
            (host.HttpError_Transport("connection refused"), types.SendError_Retry(5_000)),
            (host.HttpError_Denied("https://evil.example:443 is not an allowed host"),
             types.SendError_Permanent("https://evil.example:443 is not an allowed host")),
        ]:
            self.assertEqual(error_of(self, send.send, settings(), reply("hi"), FakeHost(error)), expected)
        self.assertIn("larger", permanent(self, send.send, settings(), reply("hi"), FakeHost(host.HttpError_TooLarge())))


class Answer(unittest.TestCase):
    def test_rate_limits_wait_retry_after_seconds(self):
        for given, expected in [("12", 12_000), (" 3 ", 3_000), ("0", 1_000), ("+2", 2_000), ("99999999", 0xFFFF_FFFF)]:
            self.assertEqual(answer.failure(429, given, b""), types.SendError_RateLimited(expected), given)
        for unusable in [None, "", "soon", "1_0", "-1", "Wed, 21 Oct 2026 07:28:00 GMT", "99999999999999999999999"]:
            self.assertEqual(answer.failure(429, unusable, b""), types.SendError_RateLimited(30_000), unusable)

    def test_refused_signatures_mean_reconnecting(self):
        for status in [401, 403]:
            self.assertEqual(
                answer.failure(status, None, b'{"error":"unknown key"}'),
                types.SendError_AuthExpired(f"the receiving system refused the signature: HTTP {status}: unknown key"),
            )

    def test_timeouts_and_server_errors_are_retried(self):
        for status in [408, 500, 502, 503, 599]:
            self.assertEqual(answer.failure(status, None, b"<html>down</html>"), types.SendError_Retry(5_000))

    def test_other_answers_are_permanent_and_quote_the_error(self):
        for status, body, expected in [
            (422, b'{"error":"thread t-9 is closed"}', "HTTP 422: thread t-9 is closed"),
            (404, b"Not Found", "HTTP 404"),
            (400, b'{"error":{"code":7}}', "HTTP 400"),
            (400, b'{"error":"  "}', "HTTP 400"),
            (302, b"", "HTTP 302"),
        ]:
            self.assertEqual(answer.failure(status, None, body), types.SendError_Permanent(expected))


class Fetch(unittest.TestCase):
    def test_urls_on_the_api_base_origin_are_downloadable(self):
        for url in ["https://crm.example.com/files/7.jpg", "https://CRM.example.com:443/files/7.jpg?sig=abc&exp=1"]:
            fetch.check_url(settings(), url)

    def test_other_origins_are_refused_with_the_reason(self):
        self.assertEqual(
            permanent(self, fetch.check_url, settings(), "https://cdn.example.net/7.jpg"),
            "the attachment is on https://cdn.example.net, and this channel may only download from its "
            "api_base https://crm.example.com",
        )
        for url in [
            "http://crm.example.com/files/7.jpg",
            "https://crm.example.com:8443/files/7.jpg",
            "https://crm.example.com.evil.example/files/7.jpg",
        ]:
            self.assertIn("may only download", permanent(self, fetch.check_url, settings(), url), url)
        self.assertEqual(permanent(self, fetch.check_url, settings(), ""), "this attachment has no URL")
        self.assertIn("cannot be downloaded", permanent(self, fetch.check_url, settings(), "/files/7.jpg"))

    def test_a_2xx_is_the_file_with_its_type(self):
        self.assertEqual(
            fetch.downloaded(200, None, "image/jpeg", b"\xff\xd8\xff"),
            types.FetchedAttachment("image/jpeg", None, b"\xff\xd8\xff"),
        )
        self.assertIsNone(fetch.downloaded(200, None, " ", b"").mime_type)

    def test_failed_downloads_follow_the_shared_mapping(self):
        self.assertEqual(
            permanent(self, fetch.downloaded, 404, None, "application/json", b'{"error":"expired link"}'),
            "HTTP 404: expired link",
        )
        self.assertEqual(error_of(self, fetch.downloaded, 503, None, None, b""), types.SendError_Retry(5_000))
        self.assertEqual(error_of(self, fetch.downloaded, 429, "2", None, b""), types.SendError_RateLimited(2_000))
        for status in [401, 403]:
            # An unsigned download cannot have expired credentials.
            self.assertEqual(
                permanent(self, fetch.downloaded, status, None, None, b'{"error":"link expired"}'),
                f"HTTP {status}: link expired",
            )

    def test_a_download_is_a_plain_get_through_the_host(self):
        fake = FakeHost(types.HttpResponse(200, [("Content-Type", "image/png")], b"\x89PNG"))
        file = fetch.fetch(settings(), "https://crm.example.com/f/1.png", fake)
        self.assertEqual(file, types.FetchedAttachment("image/png", None, b"\x89PNG"))
        self.assertEqual(
            fake.requests,
            [host.OutgoingRequest("GET", "https://crm.example.com/f/1.png", [], b"", None)],
        )
