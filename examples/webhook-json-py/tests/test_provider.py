"""The exports as the host calls them, and `conformance.json` replayed
natively (the same vectors the host's suite runs against the component)."""

import json
import os
import unittest

from componentize_py_types import Err
from tests.support import SECRET, WEBHOOK_URL, channel, configured, error_of, request
from webhook_json import attachment_kind, send, signature
from webhook_json.provider import WebhookJson
from wit_world.imports import health, types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "..", "webhook-json", "conformance.json")


class Exports(unittest.TestCase):
    def test_manifest_describes_the_plugin(self):
        manifest = WebhookJson().manifest()
        self.assertEqual(manifest.id, "webhook-json")
        self.assertEqual(manifest.display_name, "JSON webhook")
        self.assertEqual(manifest.contract_version, "0.2.0")
        self.assertEqual(manifest.routing, types.RoutingMode.PER_ACCOUNT)
        self.assertEqual(manifest.allowed_hosts, [])
        self.assertIsNone(manifest.oauth)
        self.assertEqual(
            [(f.name, f.secret, f.required) for f in manifest.config_fields],
            [("account_id", False, True), ("signing_secret", True, True), ("api_base", False, True),
             ("send_path", False, False)],
        )
        self.assertIn("/switchboard/messages", manifest.config_fields[3].help)
        self.assertEqual(manifest.capabilities, types.Capabilities(True, True, True, True, True, True, None))
        self.assertEqual(manifest.limits, types.Limits(128 << 20, 5_000, 8 << 20))

    def test_verify_and_normalize_work_through_the_exports(self):
        body = b'{"event_id":"e-1","type":"echo","timestamp":1767268800000,"thread":{"id":"t-1","kind":"direct"},"message":{"id":"crm-out-1","text":"sent from the CRM"}}'
        posted = request(
            "POST", [("content-type", "application/json"), (signature.HEADER, signature.sign(SECRET, body))], body
        )
        verdict = WebhookJson().verify(configured(), posted)
        self.assertEqual(verdict.value.body, b'{"ok":true}')
        [event] = WebhookJson().normalize(configured(), posted)
        self.assertEqual(event.dedup_key, "event:e-1")
        self.assertIsInstance(event.body, types.EventBody_Echo)
        self.assertEqual(event.body.value.sender.id, "inbox-7", "the channel's account sends echoes that name no sender")

    def test_misconfigured_channels_fail_without_a_call(self):
        def no_call(_request):
            raise AssertionError("no request expected")

        provider = WebhookJson(fetch=no_call)
        message = types.OutboundMessage("01JA7Q3M8Z", "t-1", "u-1", "hi", None, None)
        no_base = channel([("account_id", "inbox-7"), ("signing_secret", SECRET)])
        self.assertIn("`api_base`", error_of(self, provider.send, no_base, message).value)
        self.assertIn("`api_base`", error_of(self, provider.fetch_attachment, no_base, "https://crm.example.com/f/1").value)
        self.assertIn(
            "may only download",
            error_of(self, provider.fetch_attachment, configured(), "https://elsewhere.example/f/1").value,
        )

    def test_connect_and_disconnect_make_no_call(self):
        connected = WebhookJson().connect(types.ConnectRequest(configured().config, "host-generated", WEBHOOK_URL))
        self.assertEqual(connected, types.Connected("inbox-7", "JSON webhook inbox-7", []))
        self.assertIsNone(WebhookJson().disconnect(configured()))

    def test_each_bad_field_is_named_at_connect(self):
        def invalid(fields):
            error = error_of(self, WebhookJson().connect, types.ConnectRequest(fields, "s", WEBHOOK_URL))
            self.assertIsInstance(error, types.ConnectError_InvalidConfig)
            return error.value

        secret, base, account = ("signing_secret", SECRET), ("api_base", "https://crm.example.com"), ("account_id", "inbox-7")
        self.assertEqual(invalid([secret, base]), "configuration field `account_id` is required")
        self.assertEqual(invalid([account, base]), "configuration field `signing_secret` is required")
        self.assertEqual(invalid([account, secret]), "configuration field `api_base` is required")
        self.assertIn("`signing_secret`", invalid([account, ("signing_secret", "short"), base]))
        self.assertTrue(invalid([account, secret, ("api_base", "https://crm.example.com/inbox")]).startswith("`api_base` must be an origin"))
        self.assertTrue(invalid([account, secret, base, ("send_path", "inbox")]).startswith("`send_path`"))

    def test_the_other_exports_answer_like_the_rust_sdk_defaults(self):
        provider = WebhookJson()
        self.assertEqual(
            provider.check_connection(configured()),
            health.ConnectionHealth(
                health.HealthState.UNKNOWN, "this provider does not report connection health", None, None, None, None
            ),
        )
        self.assertEqual(provider.route(request()), types.Routing_Unroutable("this provider uses per-account webhook URLs"))
        with self.assertRaises(Err) as raised:
            provider.oauth_authorize_url(types.OauthStart("id", "https://x", "state", []))
        self.assertIsInstance(raised.exception.value, types.ConnectError_InvalidConfig)


class Conformance(unittest.TestCase):
    """`examples/webhook-json/conformance.json`, as the host's suite posts it."""

    @classmethod
    def setUpClass(cls):
        with open(VECTORS, encoding="utf-8") as file:
            cls.vectors = json.load(file)

    def channel(self):
        config = [(k, v) for k, v in self.vectors["config"].items()]
        config.append(("api_base", "http://127.0.0.1:4010"))
        return channel(config, account=self.vectors["config"]["account_id"])

    def posted(self, body: bytes):
        auth = self.vectors["auth"]
        self.assertEqual(auth["kind"], "hmac-sha256")
        key = self.vectors["config"][auth["secret_config"]]
        value = auth["prefix"] + signature.hmac_sha256_hex(key.encode(), body)
        return request("POST", [("content-type", "application/json"), (auth["header"], value)], body)

    def accepted_event(self, case):
        case = self.vectors["cases"][case]
        posted = self.posted(json.dumps(case["body"], ensure_ascii=False).encode("utf-8"))
        verdict = WebhookJson().verify(self.channel(), posted)
        self.assertIsInstance(verdict, types.Verdict_Accept, verdict)
        self.assertEqual(verdict.value.status, self.vectors["accepted"]["status"])
        self.assertEqual(verdict.value.body.decode(), self.vectors["accepted"]["body"])
        [event] = WebhookJson().normalize(self.channel(), posted)
        return event.body, case.get("expect", {})

    def test_message_edit_media_and_echo_match_their_expectations(self):
        for case, variant in [("message", types.EventBody_Message), ("edit", types.EventBody_Edit),
                              ("media", types.EventBody_Message), ("echo", types.EventBody_Echo)]:
            body, expect = self.accepted_event(case)
            self.assertIsInstance(body, variant, case)
            self.assertEqual(body.value.provider_message_id, expect["provider_message_id"])
            if "text" in expect:
                self.assertEqual(body.value.text, expect["text"], case)
            if "attachment_kind" in expect:
                self.assertIn(expect["attachment_kind"], [attachment_kind.name(a.kind) for a in body.value.attachments])

    def test_the_echo_is_of_the_reply_the_fake_answers(self):
        route = self.vectors["fake_api"][0]
        self.assertEqual(route["path"], "/switchboard/messages")
        sent = send.outcome(route["status"], None, json.dumps(route["body"]).encode())
        self.assertEqual(sent.provider_message_id, self.vectors["send"]["expect_provider_message_id"])
        self.assertEqual(self.vectors["cases"]["echo"]["expect"]["provider_message_id"], sent.provider_message_id)

    def test_reaction_and_status_match_their_expectations(self):
        body, expect = self.accepted_event("reaction")
        self.assertIsInstance(body, types.EventBody_Reaction)
        self.assertEqual((body.value.provider_message_id, body.value.emoji), (expect["provider_message_id"], expect["emoji"]))
        body, expect = self.accepted_event("status")
        self.assertIsInstance(body, types.EventBody_Status)
        self.assertEqual(body.value.provider_message_id, expect["provider_message_id"])
        self.assertEqual(body.value.state, types.DeliveryState.DELIVERED)
        self.assertEqual(expect["status"], "delivered")

    def test_unknown_is_ignored_and_malformed_is_refused(self):
        body, _ = self.accepted_event("unknown")
        self.assertIsInstance(body, types.EventBody_Ignore)
        malformed = self.vectors["cases"]["malformed"]
        verdict = WebhookJson().verify(self.channel(), self.posted(malformed["raw"].encode()))
        self.assertIsInstance(verdict, types.Verdict_Reject)
        self.assertEqual(verdict.value.status, malformed["expect_status"])

    def test_forged_copies_are_refused(self):
        body = json.dumps(self.vectors["cases"]["message"]["body"]).encode()
        forged = request("POST", [("x-switchboard-signature", signature.sign("forged-key", body))], body)
        verdict = WebhookJson().verify(self.channel(), forged)
        self.assertEqual(verdict.value.status, 401)

    def test_the_vectors_name_this_plugin_and_its_health(self):
        self.assertEqual(self.vectors["provider"], WebhookJson().manifest().id)
        self.assertEqual(self.vectors["health"]["expect_state"], "unknown")
        self.assertTrue(self.vectors["handshake"]["absent"])


class Warmup(unittest.TestCase):
    def test_the_build_time_warm_up_runs_every_path_without_surprises(self):
        # app.py runs it while componentize-py snapshots the interpreter; an
        # unexpected exception there would fail the build.
        from webhook_json import warmup

        warmup.exercise()
