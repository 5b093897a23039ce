import unittest

from tests.support import SECRET, channel, request
from webhook_json import signature
from webhook_json.verify import verify
from wit_world.imports import types

EVENT = b'{"event_id":"e-1","type":"message","timestamp":1767268800000,"thread":{"id":"t-1","kind":"direct"},"sender":{"id":"u-1"},"message":{"id":"m-1","text":"hi"}}'


def channel_with(secret):
    config = [("account_id", "inbox-7"), ("api_base", "https://crm.example.com")]
    if secret is not None:
        config.append(("signing_secret", secret))
    return channel(config)


def signed(body, method="POST"):
    return request(method, [(signature.HEADER, signature.sign(SECRET, body))], body)


class Verify(unittest.TestCase):
    def rejection(self, verdict):
        self.assertIsInstance(verdict, types.Verdict_Reject, verdict)
        return verdict.value.status, verdict.value.reason

    def test_a_good_signature_is_accepted_with_ok_true(self):
        verdict = verify(channel_with(SECRET), signed(EVENT))
        self.assertEqual(
            verdict,
            types.Verdict_Accept(
                types.HttpResponse(200, [("content-type", "application/json")], b'{"ok":true}')
            ),
        )

    def test_unknown_event_types_are_accepted_too(self):
        verdict = verify(channel_with(SECRET), signed(b'{"event_id":"e-2","type":"typing"}'))
        self.assertIsInstance(verdict, types.Verdict_Accept)

    def test_a_forged_signature_is_401(self):
        forged = request("POST", [(signature.HEADER, signature.sign("forged-key", EVENT))], EVENT)
        self.assertEqual(self.rejection(verify(channel_with(SECRET), forged)), (401, "invalid signature"))
        other = b'{"event_id":"e-1","type":"message"}'
        replayed = request("POST", [(signature.HEADER, signature.sign(SECRET, other))], EVENT)
        self.assertEqual(self.rejection(verify(channel_with(SECRET), replayed))[0], 401)
        bare = request("POST", [(signature.HEADER, signature.sign(SECRET, EVENT)[7:])], EVENT)
        self.assertEqual(self.rejection(verify(channel_with(SECRET), bare))[0], 401)

    def test_a_missing_signature_is_401(self):
        self.assertEqual(
            self.rejection(verify(channel_with(SECRET), request("POST", [], EVENT))),
            (401, "missing x-switchboard-signature header"),
        )

    def test_header_names_are_case_insensitive(self):
        upper = request("POST", [("X-Switchboard-Signature", signature.sign(SECRET, EVENT))], EVENT)
        self.assertIsInstance(verify(channel_with(SECRET), upper), types.Verdict_Accept)

    def test_a_channel_without_a_secret_accepts_nothing(self):
        unsigned = request("POST", [(signature.HEADER, signature.sign("", EVENT))], EVENT)
        self.assertEqual(self.rejection(verify(channel_with(None), unsigned))[0], 401)

    def test_only_post_is_accepted(self):
        for method in ["GET", "PUT", "DELETE"]:
            self.assertEqual(
                self.rejection(verify(channel_with(SECRET), signed(EVENT, method))),
                (405, "events are delivered with POST"),
            )
        self.assertIsInstance(verify(channel_with(SECRET), signed(EVENT, "post")), types.Verdict_Accept)

    def test_a_signed_body_that_is_not_an_event_is_400(self):
        for body in [
            b'{"event_id": "e-1", "type": ',
            b"not json",
            b'["e-1", "message"]',
            b"",
            b'{"type":"message"}',
            b'{"event_id":"","type":"message"}',
            b'{"event_id":"e-1","type":"message","event_id":"e-2"}',
            b'{"event_id":NaN,"type":"message"}',
            b'{"event_id":"e-1","type":"\\ud800"}',
            b'{"event_id":"e-1","type":"message"}\xff',
        ]:
            status, reason = self.rejection(verify(channel_with(SECRET), signed(body)))
            self.assertEqual(status, 400, body)
            self.assertTrue(reason.startswith("malformed event: "), reason)

    def test_the_signature_is_checked_before_the_body(self):
        junk = request("POST", [(signature.HEADER, "sha256=00")], b"not json")
        self.assertEqual(self.rejection(verify(channel_with(SECRET), junk))[0], 401)
