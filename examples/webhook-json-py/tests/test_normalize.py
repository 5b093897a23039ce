import unittest

from componentize_py_types import Err
from webhook_json.normalize import normalize
from webhook_json.payload import PayloadError, parse_object, read_head
from wit_world.imports import types

ACCOUNT = "inbox-7"

MESSAGE = """{
  "event_id": "e-1", "type": "message", "timestamp": 1767268800123,
  "thread": {"id": "t-1", "kind": "direct", "title": "Order #1042"},
  "sender": {"id": "u-1", "name": "Anna Petrova", "username": "anna"},
  "message": {"id": "m-1", "text": "Is my order ready?", "reply_to": "m-0"},
  "delivered_by": "crm-7"
}"""


class Normalize(unittest.TestCase):
    def only(self, body):
        events = normalize(ACCOUNT, body.encode("utf-8"))
        self.assertEqual(len(events), 1, "one webhook, one event")
        return events[0].dedup_key, events[0].body

    def malformed(self, body):
        with self.assertRaises(Err) as raised:
            normalize(ACCOUNT, body.encode("utf-8"))
        self.assertIsInstance(raised.exception.value, types.NormalizeError_Malformed)
        return raised.exception.value.value

    def test_a_message_keeps_every_field(self):
        key, body = self.only(MESSAGE)
        self.assertEqual(key, "event:e-1")
        self.assertEqual(
            body,
            types.EventBody_Message(
                types.Message(
                    provider_message_id="m-1",
                    thread=types.Thread("t-1", types.ThreadKind.DIRECT, "Order #1042"),
                    sender=types.Participant("u-1", "Anna Petrova", "anna", None, []),
                    timestamp_ms=1_767_268_800_123,
                    text="Is my order ready?",
                    attachments=[],
                    reply_to="m-0",
                )
            ),
        )

    def test_optional_parts_may_be_absent_and_ids_may_be_numbers(self):
        key, body = self.only(
            """{"event_id": 981, "type": "message", "timestamp": 5,
                "thread": {"id": 12, "kind": "group", "title": " "},
                "sender": {"id": 34}, "message": {"id": 56, "text": "hi"}}"""
        )
        self.assertEqual(key, "event:981")
        message = body.value
        self.assertEqual((message.thread.id, message.sender.id, message.provider_message_id), ("12", "34", "56"))
        self.assertEqual(message.thread.kind, types.ThreadKind.GROUP)
        self.assertIsNone(message.thread.title, "a blank title is no title")
        self.assertIsNone(message.sender.display_name)
        self.assertIsNone(message.reply_to)

    def test_attachments_carry_their_url_as_the_reference(self):
        _, body = self.only(
            """{"event_id": "e-2", "type": "message", "timestamp": 1767268830000,
                "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1"},
                "message": {"id": "m-2", "attachments": [
                  {"kind": "image", "url": "https://crm.example.com/files/7.jpg", "mime_type": "image/jpeg",
                   "file_name": "parcel.jpg", "size_bytes": 48213},
                  {"kind": "voice", "url": "https://crm.example.com/files/8.ogg"},
                  {"kind": "hologram", "url": "https://crm.example.com/files/9.bin"},
                  {"kind": "other", "url": "https://crm.example.com/files/10.bin"}
                ]}}"""
        )
        self.assertIsInstance(body, types.EventBody_Message)
        self.assertIsNone(body.value.text, "attachments alone make a message")
        image, voice, unknown, other = body.value.attachments
        self.assertEqual(
            image,
            types.Attachment(
                types.AttachmentKind.IMAGE, "https://crm.example.com/files/7.jpg", "image/jpeg",
                "parcel.jpg", 48213, None, None, None, [],
            ),
        )
        self.assertEqual(voice.kind, types.AttachmentKind.VOICE)
        self.assertEqual((voice.mime_type, voice.size_bytes), (None, None))
        self.assertEqual(unknown.kind, types.AttachmentKind.OTHER)
        self.assertEqual(unknown.metadata, [("kind", "hologram")])
        self.assertEqual(other.kind, types.AttachmentKind.OTHER)
        self.assertEqual(other.metadata, [])

    def test_an_edit_is_the_new_content_of_the_same_message(self):
        key, body = self.only(
            """{"event_id": "e-3", "type": "edit", "timestamp": 1767268900000,
                "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1"},
                "message": {"id": "m-1", "text": "Is order #1042 ready?"}}"""
        )
        self.assertEqual(key, "event:e-3")
        self.assertIsInstance(body, types.EventBody_Edit)
        self.assertEqual(body.value.provider_message_id, "m-1")
        self.assertEqual(body.value.text, "Is order #1042 ready?")
        self.assertEqual(body.value.timestamp_ms, 1_767_268_900_000)

    def test_a_delete_names_the_message(self):
        key, body = self.only(
            """{"event_id": "e-4", "type": "delete", "timestamp": 1767268950000,
                "thread": {"id": "t-1", "kind": "direct"}, "message": {"id": "m-1"}}"""
        )
        self.assertEqual(key, "event:e-4")
        self.assertEqual(
            body,
            types.EventBody_Delete(
                types.MessageRef("m-1", types.Thread("t-1", types.ThreadKind.DIRECT, None), 1_767_268_950_000)
            ),
        )

    def test_reactions_are_added_or_removed(self):
        def reaction(removed):
            return (
                '{"event_id": "e-5", "type": "reaction", "timestamp": 1767269000000,'
                ' "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1", "name": "Anna"},'
                ' "reaction": {"message_id": "m-9", "emoji": "\U0001F44D"' + removed + "}}"
            )

        key, body = self.only(reaction(""))
        self.assertEqual(key, "event:e-5")
        self.assertIsInstance(body, types.EventBody_Reaction)
        self.assertEqual(body.value.provider_message_id, "m-9")
        self.assertEqual(body.value.emoji, "\U0001F44D")
        self.assertFalse(body.value.removed, "`removed` defaults to false")
        self.assertEqual(body.value.sender.display_name, "Anna")
        self.assertEqual(body.value.timestamp_ms, 1_767_269_000_000)
        _, body = self.only(reaction(', "removed": true'))
        self.assertTrue(body.value.removed)

    def test_statuses_map_every_state(self):
        for state, expected in [
            ("sent", types.DeliveryState.SENT),
            ("delivered", types.DeliveryState.DELIVERED),
            ("read", types.DeliveryState.READ),
            ("failed", types.DeliveryState.FAILED),
        ]:
            key, body = self.only(
                f'{{"event_id": "s-{state}", "type": "status", "timestamp": 1767269100000,'
                f' "thread": {{"id": "t-1", "kind": "direct"}},'
                f' "status": {{"message_id": "crm-out-1", "state": "{state}"}}}}'
            )
            self.assertEqual(key, f"event:s-{state}")
            self.assertEqual(
                body,
                types.EventBody_Status(
                    types.StatusUpdate(
                        "crm-out-1", types.Thread("t-1", types.ThreadKind.DIRECT, None), expected, None,
                        1_767_269_100_000,
                    )
                ),
            )
        _, body = self.only(
            """{"event_id": "s-f", "type": "status", "timestamp": 1,
                "thread": {"id": "t-1", "kind": "direct"},
                "status": {"message_id": "crm-out-1", "state": "failed", "error": "recipient unsubscribed"}}"""
        )
        self.assertEqual(body.value.error, "recipient unsubscribed")

    def test_an_echo_is_our_own_message_and_defaults_its_sender_to_the_account(self):
        key, body = self.only(
            """{"event_id": "e-6", "type": "echo", "timestamp": 1767269200000,
                "thread": {"id": "t-1", "kind": "direct"},
                "message": {"id": "crm-out-1", "text": "Yes, it is ready."}}"""
        )
        self.assertEqual(key, "event:e-6")
        self.assertIsInstance(body, types.EventBody_Echo)
        self.assertEqual(body.value.provider_message_id, "crm-out-1")
        self.assertEqual(body.value.sender.id, ACCOUNT)
        _, body = self.only(
            """{"event_id": "e-7", "type": "echo", "timestamp": 1,
                "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "agent-3", "name": "Boris"},
                "message": {"id": "crm-out-2", "text": "typed in the CRM"}}"""
        )
        self.assertEqual(body.value.sender.id, "agent-3")

    def test_content_free_messages_are_ignored_not_stored(self):
        for kind in ["message", "edit", "echo"]:
            key, body = self.only(
                f'{{"event_id": "e-8", "type": "{kind}", "timestamp": 1,'
                f' "thread": {{"id": "t-1", "kind": "direct"}}, "sender": {{"id": "u-1"}},'
                f' "message": {{"id": "m-8", "text": ""}}}}'
            )
            self.assertEqual(key, "event:e-8")
            self.assertEqual(body, types.EventBody_Ignore(f"{kind} m-8 has neither text nor attachments"))

    def test_unknown_types_are_ignored_with_the_reason_whatever_their_body(self):
        key, body = self.only('{"event_id": "e-9", "type": "typing", "thread": "t-1", "message": [1, 2]}')
        self.assertEqual(key, "event:e-9", "ignored events are deduplicated too")
        self.assertEqual(body, types.EventBody_Ignore("unsupported event type `typing`"))
        _, body = self.only('{"event_id": "e-10", "type": "Message"}')
        self.assertIn("`Message`", body.value)

    def test_missing_parts_are_malformed_and_named(self):
        t = '"thread": {"id": "t", "kind": "direct"}'
        for body, reason in [
            ('{"event_id": "e", "type": "message", ' + t + ', "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}',
             "`message` events need `timestamp`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}',
             "`message` events need `thread`"),
            ('{"event_id": "e", "type": "edit", "timestamp": 1, ' + t + ', "message": {"id": "m", "text": "x"}}',
             "`edit` events need `sender`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ', "sender": {"id": "u"}}',
             "`message` events need `message`"),
            ('{"event_id": "e", "type": "delete", "timestamp": 1, ' + t + "}",
             "`delete` events need `message`"),
            ('{"event_id": "e", "type": "reaction", "timestamp": 1, ' + t + ', "sender": {"id": "u"}}',
             "`reaction` events need `reaction`"),
            ('{"event_id": "e", "type": "reaction", "timestamp": 1, ' + t + ', "reaction": {"message_id": "m", "emoji": "x"}}',
             "`reaction` events need `sender`"),
            ('{"event_id": "e", "type": "reaction", "timestamp": 1, ' + t + ', "sender": {"id": "u"}, "reaction": {"message_id": "m", "emoji": " "}}',
             "a reaction needs a non-empty `emoji`"),
            ('{"event_id": "e", "type": "status", "timestamp": 1, ' + t + "}",
             "`status` events need `status`"),
        ]:
            self.assertEqual(self.malformed(body), f"malformed event: {reason}", body)

    def test_structurally_wrong_bodies_are_malformed(self):
        t = '"thread": {"id": "t", "kind": "direct"}'
        m = '"sender": {"id": "u"}, "message": {"id": "m", "text": "x"}'
        for body, fragment in [
            # Python's json words this one its own way (serde: "key must be a string").
            ("{not json", "Expecting property name"),
            ("[1, 2]", "not a JSON object"),
            ("", "not a JSON object"),
            ('{"type": "message"}', "missing field `event_id`"),
            ('{"event_id": "e"}', "missing field `type`"),
            ('{"event_id": "", "type": "message"}', "non-empty string or an integer id"),
            ('{"event_id": true, "type": "message"}', "invalid type: boolean `true`"),
            ('{"event_id": "e", "type": "message", "timestamp": "yesterday", ' + t + ", " + m + "}",
             'invalid type: string "yesterday"'),
            ('{"event_id": "e", "type": "message", "timestamp": -1, ' + t + ", " + m + "}",
             "invalid value: integer `-1`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1.0, ' + t + ", " + m + "}",
             "invalid type: floating point `1.0`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, "thread": {"id": "t", "kind": "channel"}, ' + m + "}",
             "unknown variant `channel`, expected `direct` or `group`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ', "sender": {"id": "u"}, "message": {"id": "m", "attachments": [{"kind": "image"}]}}',
             "missing field `url`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ', "sender": {"id": "u"}, "message": {"id": "m", "text": "x", "attachments": null}}',
             "invalid type: null, expected a sequence"),
            ('{"event_id": "e", "type": "status", "timestamp": 1, ' + t + ', "status": {"message_id": "m", "state": "seen"}}',
             "unknown variant `seen`, expected one of `sent`, `delivered`, `read`, `failed`"),
            # A part the type does not use must still be well-formed, as in serde.
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ", " + m + ', "status": {"state": "read"}}',
             "missing field `message_id`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ", " + m + ', "timestamp": 2}',
             "duplicate field `timestamp`"),
            ('{"event_id": "e", "type": "message", "timestamp": 1, ' + t + ', "sender": {"id": "u"}, "message": {"id": "m", "text": "\\udc00"}}',
             "lone surrogate"),
        ]:
            reason = self.malformed(body)
            self.assertTrue(reason.startswith("malformed event: "), reason)
            self.assertIn(fragment, reason, body)

    def test_duplicates_of_fields_nobody_reads_are_harmless(self):
        _, body = self.only('{"event_id": "e", "type": "typing", "extra": 1, "extra": 2}')
        self.assertIsInstance(body, types.EventBody_Ignore)


class Payload(unittest.TestCase):
    def test_ids_are_strings_or_integers(self):
        for body, expected in [
            (b'{"event_id": 42, "type": "message"}', "42"),
            (b'{"event_id": -7, "type": "x"}', "-7"),
            (b'{"event_id": "e-1", "type": "x"}', "e-1"),
        ]:
            self.assertEqual(read_head(parse_object(body)).event_id, expected)

    def test_blank_fractional_and_structured_ids_are_refused(self):
        for body in [
            b'{"event_id": "", "type": "message"}',
            b'{"event_id": "  ", "type": "message"}',
            b'{"event_id": 1.5, "type": "message"}',
            b'{"event_id": {"id": 1}, "type": "message"}',
            b'{"event_id": null, "type": "message"}',
        ]:
            with self.assertRaises(PayloadError) as raised:
                read_head(parse_object(body))
            self.assertIn("a non-empty string or an integer id", raised.exception.message, body)

    def test_only_objects_parse(self):
        for body in [b'["e-1", "message"]', b"  "]:
            with self.assertRaises(PayloadError) as raised:
                parse_object(body)
            self.assertEqual(raised.exception.message, "the body is not a JSON object")
        parse_object(b' \n{"event_id":"e","type":"t"}')
