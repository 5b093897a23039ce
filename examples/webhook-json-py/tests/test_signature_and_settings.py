import unittest

from tests.support import SECRET
from webhook_json import settings, signature
from webhook_json.settings import Settings, SettingsError, origin_of_url

BODY = b'{"event_id":"e-1","type":"message"}'

VALID = [
    ("account_id", "inbox-7"),
    ("signing_secret", "0123456789abcdef"),
    ("api_base", "https://crm.example.com"),
]


def with_field(name, value):
    return settings.read([(k, v) for k, v in VALID if k != name] + [(name, value)])


class Signature(unittest.TestCase):
    def test_sign_is_prefixed_lower_case_hex_of_the_hmac(self):
        # RFC 4231 test case 2, in this header's format.
        self.assertEqual(
            signature.sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        )

    def test_own_signatures_verify_and_tampering_does_not(self):
        header = signature.sign(SECRET, BODY)
        self.assertTrue(signature.is_valid(SECRET, BODY, header))
        upper = " " + header.upper().replace("SHA256=", "sha256=") + " "
        self.assertTrue(signature.is_valid(SECRET, BODY, upper))
        self.assertFalse(signature.is_valid(SECRET, b'{"event_id":"e-2","type":"message"}', header))
        self.assertFalse(signature.is_valid("another-secret-value", BODY, header))

    def test_the_prefix_and_the_secret_are_required(self):
        hex_only = signature.hmac_sha256_hex(SECRET.encode(), BODY)
        self.assertFalse(signature.is_valid(SECRET, BODY, hex_only))
        self.assertFalse(signature.is_valid(SECRET, BODY, "sha1=" + hex_only))
        self.assertFalse(signature.is_valid(SECRET, BODY, ""))
        self.assertFalse(signature.is_valid(SECRET, BODY, "sha256="))
        self.assertFalse(signature.is_valid("", BODY, signature.sign("", BODY)))

    def test_non_ascii_headers_are_refused_not_crashed_on(self):
        self.assertFalse(signature.is_valid(SECRET, BODY, "sha256=ünïcode"))


class ReadSettings(unittest.TestCase):
    def test_valid_settings_default_the_send_path(self):
        read = settings.read(VALID)
        self.assertEqual(
            read,
            Settings("inbox-7", "0123456789abcdef", "https://crm.example.com", "/switchboard/messages"),
        )
        self.assertEqual(read.send_url, "https://crm.example.com/switchboard/messages")

    def test_a_custom_send_path_is_appended_to_the_origin(self):
        self.assertEqual(
            with_field("send_path", "/api/v2/inbox/replies?source=switchboard").send_url,
            "https://crm.example.com/api/v2/inbox/replies?source=switchboard",
        )

    def test_each_missing_field_is_named(self):
        for missing in ["account_id", "signing_secret", "api_base"]:
            with self.assertRaises(SettingsError) as raised:
                settings.read([(k, v) for k, v in VALID if k != missing])
            self.assertEqual(raised.exception.message, f"configuration field `{missing}` is required")
            # A blank value counts as missing.
            with self.assertRaises(SettingsError) as raised:
                with_field(missing, "   ")
            self.assertIn(f"`{missing}`", raised.exception.message)

    def test_values_are_trimmed(self):
        self.assertEqual(with_field("account_id", " crm-inbox-7 ").account_id, "crm-inbox-7")

    def test_short_secrets_and_odd_account_ids_are_refused(self):
        with self.assertRaises(SettingsError) as raised:
            with_field("signing_secret", "fifteen-chars!!")
        self.assertEqual(raised.exception.message, "`signing_secret` must be at least 16 characters")
        with_field("signing_secret", "sixteen-chars!!!")
        with self.assertRaisesRegex(SettingsError, "`account_id`"):
            with_field("account_id", "a\x07b")
        with self.assertRaisesRegex(SettingsError, "at most 256"):
            with_field("account_id", "x" * 257)
        with_field("account_id", "x" * 256)

    def test_api_base_must_be_a_bare_origin(self):
        for given, expected in [
            ("https://crm.example.com", "https://crm.example.com"),
            ("https://crm.example.com/", "https://crm.example.com"),
            ("HTTPS://CRM.Example.com", "https://crm.example.com"),
            ("https://crm.example.com:443", "https://crm.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:80", "http://localhost"),
            ("http://[::1]:9000", "http://[::1]:9000"),
            ("https://[2001:db8::1]", "https://[2001:db8::1]"),
        ]:
            self.assertEqual(with_field("api_base", given).origin, expected, given)
        for bad in [
            "crm.example.com",
            "ftp://crm.example.com",
            "https://",
            "https://crm.example.com/api",
            "https://crm.example.com?x=1",
            "https://user@crm.example.com",
            "https://crm.example.com:0",
            "https://crm.example.com:99999",
            "https://crm.example.com:+80",
            "https://crm.example.com:8_0",
            "https://crm example.com",
            "https://crm_example.com",
            "https://crm.exämple.com",
            "http://[::1",
            "http://[::1]x",
            "http://[zz::1]",
        ]:
            with self.assertRaises(SettingsError, msg=bad) as raised:
                with_field("api_base", bad)
            self.assertTrue(raised.exception.message.startswith("`api_base` must be an origin"), bad)

    def test_api_base_errors_say_what_is_wrong(self):
        def error(value):
            with self.assertRaises(SettingsError) as raised:
                with_field("api_base", value)
            return raised.exception.message

        self.assertEqual(
            error("https://crm.example.com/api/v1"),
            "`api_base` must be an origin such as https://crm.example.com: it has more than an "
            "origin (`/api/v1`); give the scheme, host and port only",
        )
        self.assertTrue(error("https://u:p@crm.example.com").endswith("user info; credentials do not belong in the URL"))
        self.assertTrue(error("crm.example.com").endswith("it has no scheme"))
        self.assertTrue(error("https://crm.example.com:8o").endswith("`8o` is not a port"))

    def test_send_path_must_be_an_absolute_path(self):
        for value, fragment in [("messages", "must start with `/`"), ("/a b", "spaces"), ("/a#b", "fragment")]:
            with self.assertRaises(SettingsError) as raised:
                with_field("send_path", value)
            self.assertIn(fragment, raised.exception.message)
            self.assertTrue(raised.exception.message.startswith("`send_path` "))

    def test_origins_of_attachment_urls(self):
        self.assertEqual(origin_of_url("https://CRM.example.com:443/files/1.png?sig=abc"), "https://crm.example.com")
        self.assertEqual(origin_of_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080")
        self.assertEqual(origin_of_url("https://crm.example.com#top"), "https://crm.example.com")
        for bad in ["files/1.png", "data://x/1"]:
            with self.assertRaises(SettingsError):
                origin_of_url(bad)
