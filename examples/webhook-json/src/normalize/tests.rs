use super::*;

const ACCOUNT: &str = "inbox-7";

fn only(body: &str) -> (String, EventBody) {
    let mut events = normalize(ACCOUNT, body.as_bytes()).expect("the event normalizes");
    assert_eq!(events.len(), 1, "one webhook, one event");
    let event = events.remove(0);
    (event.dedup_key, event.body)
}

fn malformed(body: &str) -> String {
    match normalize(ACCOUNT, body.as_bytes()) {
        Err(NormalizeError::Malformed(reason)) => reason,
        other => panic!("expected malformed, got {other:?}"),
    }
}

const MESSAGE: &str = r#"{
  "event_id": "e-1", "type": "message", "timestamp": 1767268800123,
  "thread": {"id": "t-1", "kind": "direct", "title": "Order #1042"},
  "sender": {"id": "u-1", "name": "Anna Petrova", "username": "anna"},
  "message": {"id": "m-1", "text": "Is my order ready?", "reply_to": "m-0"},
  "delivered_by": "crm-7"
}"#;

#[test]
fn a_message_keeps_every_field() {
    let (key, body) = only(MESSAGE);
    assert_eq!(key, "event:e-1");
    let EventBody::Message(message) = body else {
        panic!("expected a message, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "m-1");
    assert_eq!(message.thread.id, "t-1");
    assert_eq!(message.thread.kind, ThreadKind::Direct);
    assert_eq!(message.thread.title.as_deref(), Some("Order #1042"));
    assert_eq!(message.sender.id, "u-1");
    assert_eq!(message.sender.display_name.as_deref(), Some("Anna Petrova"));
    assert_eq!(message.sender.username.as_deref(), Some("anna"));
    assert_eq!(message.sender.phone, None);
    assert!(message.sender.alternate_ids.is_empty());
    assert_eq!(message.timestamp_ms, 1_767_268_800_123);
    assert_eq!(message.text.as_deref(), Some("Is my order ready?"));
    assert_eq!(message.reply_to.as_deref(), Some("m-0"));
    assert!(message.attachments.is_empty());
}

#[test]
fn optional_parts_may_be_absent_and_ids_may_be_numbers() {
    let (key, body) = only(
        r#"{"event_id": 981, "type": "message", "timestamp": 5,
            "thread": {"id": 12, "kind": "group", "title": " "},
            "sender": {"id": 34}, "message": {"id": 56, "text": "hi"}}"#,
    );
    assert_eq!(key, "event:981");
    let EventBody::Message(message) = body else {
        panic!("expected a message, got {body:?}");
    };
    assert_eq!(
        (
            message.thread.id.as_str(),
            message.sender.id.as_str(),
            message.provider_message_id.as_str()
        ),
        ("12", "34", "56")
    );
    assert_eq!(message.thread.kind, ThreadKind::Group);
    assert_eq!(message.thread.title, None, "a blank title is no title");
    assert_eq!(message.sender.display_name, None);
    assert_eq!(message.reply_to, None);
}

#[test]
fn attachments_carry_their_url_as_the_reference() {
    let (_, body) = only(
        r#"{"event_id": "e-2", "type": "message", "timestamp": 1767268830000,
            "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1"},
            "message": {"id": "m-2", "attachments": [
              {"kind": "image", "url": "https://crm.example.com/files/7.jpg", "mime_type": "image/jpeg",
               "file_name": "parcel.jpg", "size_bytes": 48213},
              {"kind": "voice", "url": "https://crm.example.com/files/8.ogg"},
              {"kind": "hologram", "url": "https://crm.example.com/files/9.bin"},
              {"kind": "other", "url": "https://crm.example.com/files/10.bin"}
            ]}}"#,
    );
    let EventBody::Message(message) = body else {
        panic!("expected a message, got {body:?}");
    };
    assert_eq!(message.text, None, "attachments alone make a message");
    let [image, voice, unknown, other] = message.attachments.as_slice() else {
        panic!("four attachments expected: {:?}", message.attachments);
    };
    assert_eq!(image.kind, AttachmentKind::Image);
    assert_eq!(image.provider_ref, "https://crm.example.com/files/7.jpg");
    assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(image.file_name.as_deref(), Some("parcel.jpg"));
    assert_eq!(image.size_bytes, Some(48213));
    assert!(image.metadata.is_empty());

    assert_eq!(voice.kind, AttachmentKind::Voice);
    assert_eq!(voice.provider_ref, "https://crm.example.com/files/8.ogg");
    assert_eq!((voice.mime_type.as_ref(), voice.size_bytes), (None, None));

    assert_eq!(unknown.kind, AttachmentKind::Other);
    assert_eq!(
        unknown.metadata,
        vec![("kind".to_string(), "hologram".to_string())]
    );
    assert_eq!(other.kind, AttachmentKind::Other);
    assert!(other.metadata.is_empty());
}

#[test]
fn an_edit_is_the_new_content_of_the_same_message() {
    let (key, body) = only(
        r#"{"event_id": "e-3", "type": "edit", "timestamp": 1767268900000,
            "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "u-1"},
            "message": {"id": "m-1", "text": "Is order #1042 ready?"}}"#,
    );
    assert_eq!(key, "event:e-3");
    let EventBody::Edit(message) = body else {
        panic!("expected an edit, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "m-1");
    assert_eq!(message.text.as_deref(), Some("Is order #1042 ready?"));
    assert_eq!(message.timestamp_ms, 1_767_268_900_000);
}

#[test]
fn a_delete_names_the_message() {
    let (key, body) = only(
        r#"{"event_id": "e-4", "type": "delete", "timestamp": 1767268950000,
            "thread": {"id": "t-1", "kind": "direct"}, "message": {"id": "m-1"}}"#,
    );
    assert_eq!(key, "event:e-4");
    let EventBody::Delete(target) = body else {
        panic!("expected a delete, got {body:?}");
    };
    assert_eq!(target.provider_message_id, "m-1");
    assert_eq!(target.thread.id, "t-1");
    assert_eq!(target.timestamp_ms, 1_767_268_950_000);
}

#[test]
fn reactions_are_added_or_removed() {
    let body = |removed: &str| {
        format!(
            r#"{{"event_id": "e-5", "type": "reaction", "timestamp": 1767269000000,
                "thread": {{"id": "t-1", "kind": "direct"}}, "sender": {{"id": "u-1", "name": "Anna"}},
                "reaction": {{"message_id": "m-9", "emoji": "👍"{removed}}}}}"#
        )
    };
    let (key, event) = only(&body(""));
    assert_eq!(key, "event:e-5");
    let EventBody::Reaction(reaction) = event else {
        panic!("expected a reaction, got {event:?}");
    };
    assert_eq!(reaction.provider_message_id, "m-9");
    assert_eq!(reaction.emoji, "👍");
    assert!(!reaction.removed, "`removed` defaults to false");
    assert_eq!(reaction.sender.display_name.as_deref(), Some("Anna"));
    assert_eq!(reaction.thread.id, "t-1");
    assert_eq!(reaction.timestamp_ms, 1_767_269_000_000);

    let (_, event) = only(&body(r#", "removed": true"#));
    assert!(matches!(
        event,
        EventBody::Reaction(Reaction { removed: true, .. })
    ));
}

#[test]
fn statuses_map_every_state() {
    for (state, expected) in [
        ("sent", DeliveryState::Sent),
        ("delivered", DeliveryState::Delivered),
        ("read", DeliveryState::Read),
        ("failed", DeliveryState::Failed),
    ] {
        let (key, body) = only(&format!(
            r#"{{"event_id": "s-{state}", "type": "status", "timestamp": 1767269100000,
                "thread": {{"id": "t-1", "kind": "direct"}},
                "status": {{"message_id": "crm-out-1", "state": "{state}"}}}}"#
        ));
        assert_eq!(key, format!("event:s-{state}"));
        let EventBody::Status(status) = body else {
            panic!("expected a status, got {body:?}");
        };
        assert_eq!(status.provider_message_id, "crm-out-1");
        assert_eq!(status.state, expected);
        assert_eq!(status.error, None);
        assert_eq!(status.timestamp_ms, 1_767_269_100_000);
    }
    let (_, body) = only(
        r#"{"event_id": "s-f", "type": "status", "timestamp": 1,
            "thread": {"id": "t-1", "kind": "direct"},
            "status": {"message_id": "crm-out-1", "state": "failed", "error": "recipient unsubscribed"}}"#,
    );
    assert!(matches!(
        body,
        EventBody::Status(StatusUpdate { error: Some(ref e), .. }) if e == "recipient unsubscribed"
    ));
}

#[test]
fn an_echo_is_our_own_message_and_defaults_its_sender_to_the_account() {
    let (key, body) = only(
        r#"{"event_id": "e-6", "type": "echo", "timestamp": 1767269200000,
            "thread": {"id": "t-1", "kind": "direct"},
            "message": {"id": "crm-out-1", "text": "Yes, it is ready."}}"#,
    );
    assert_eq!(key, "event:e-6");
    let EventBody::Echo(message) = body else {
        panic!("expected an echo, got {body:?}");
    };
    assert_eq!(message.provider_message_id, "crm-out-1");
    assert_eq!(message.sender.id, ACCOUNT);
    assert_eq!(message.text.as_deref(), Some("Yes, it is ready."));

    let (_, body) = only(
        r#"{"event_id": "e-7", "type": "echo", "timestamp": 1,
            "thread": {"id": "t-1", "kind": "direct"}, "sender": {"id": "agent-3", "name": "Boris"},
            "message": {"id": "crm-out-2", "text": "typed in the CRM"}}"#,
    );
    assert!(matches!(body, EventBody::Echo(ref m) if m.sender.id == "agent-3"));
}

#[test]
fn content_free_messages_are_ignored_not_stored() {
    for kind in ["message", "edit", "echo"] {
        let (key, body) = only(&format!(
            r#"{{"event_id": "e-8", "type": "{kind}", "timestamp": 1,
                "thread": {{"id": "t-1", "kind": "direct"}}, "sender": {{"id": "u-1"}},
                "message": {{"id": "m-8", "text": ""}}}}"#
        ));
        assert_eq!(key, "event:e-8");
        assert!(
            matches!(body, EventBody::Ignore(ref reason) if reason == &format!("{kind} m-8 has neither text nor attachments")),
            "{kind}: {body:?}"
        );
    }
}

#[test]
fn unknown_types_are_ignored_with_the_reason_whatever_their_body() {
    let (key, body) =
        only(r#"{"event_id": "e-9", "type": "typing", "thread": "t-1", "message": [1, 2]}"#);
    assert_eq!(key, "event:e-9", "ignored events are deduplicated too");
    assert!(
        matches!(body, EventBody::Ignore(ref reason) if reason == "unsupported event type `typing`"),
        "{body:?}"
    );
    let (_, body) = only(r#"{"event_id": "e-10", "type": "Message"}"#);
    assert!(matches!(body, EventBody::Ignore(ref reason) if reason.contains("`Message`")));
}

#[test]
fn missing_parts_are_malformed_and_named() {
    let cases = [
        (
            r#"{"event_id": "e", "type": "message", "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}"#,
            "`message` events need `timestamp`",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": 1, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}"#,
            "`message` events need `thread`",
        ),
        (
            r#"{"event_id": "e", "type": "edit", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "message": {"id": "m", "text": "x"}}"#,
            "`edit` events need `sender`",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}}"#,
            "`message` events need `message`",
        ),
        (
            r#"{"event_id": "e", "type": "delete", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}}"#,
            "`delete` events need `message`",
        ),
        (
            r#"{"event_id": "e", "type": "reaction", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}}"#,
            "`reaction` events need `reaction`",
        ),
        (
            r#"{"event_id": "e", "type": "reaction", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "reaction": {"message_id": "m", "emoji": "x"}}"#,
            "`reaction` events need `sender`",
        ),
        (
            r#"{"event_id": "e", "type": "reaction", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}, "reaction": {"message_id": "m", "emoji": " "}}"#,
            "a reaction needs a non-empty `emoji`",
        ),
        (
            r#"{"event_id": "e", "type": "status", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}}"#,
            "`status` events need `status`",
        ),
    ];
    for (body, reason) in cases {
        assert_eq!(
            malformed(body),
            format!("malformed event: {reason}"),
            "{body}"
        );
    }
}

#[test]
fn structurally_wrong_bodies_are_malformed() {
    for (body, fragment) in [
        ("{not json", "key must be a string"),
        ("[1, 2]", "not a JSON object"),
        ("", "not a JSON object"),
        (r#"{"type": "message"}"#, "missing field `event_id`"),
        (r#"{"event_id": "e"}"#, "missing field `type`"),
        (
            r#"{"event_id": "", "type": "message"}"#,
            "non-empty string or an integer id",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": "yesterday", "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}"#,
            "invalid type: string \"yesterday\"",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": -1, "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}"#,
            "invalid value: integer `-1`",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": 1, "thread": {"id": "t", "kind": "channel"}, "sender": {"id": "u"}, "message": {"id": "m", "text": "x"}}"#,
            "unknown variant `channel`",
        ),
        (
            r#"{"event_id": "e", "type": "message", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "sender": {"id": "u"}, "message": {"id": "m", "attachments": [{"kind": "image"}]}}"#,
            "missing field `url`",
        ),
        (
            r#"{"event_id": "e", "type": "status", "timestamp": 1, "thread": {"id": "t", "kind": "direct"}, "status": {"message_id": "m", "state": "seen"}}"#,
            "unknown variant `seen`",
        ),
    ] {
        let reason = malformed(body);
        assert!(reason.starts_with("malformed event: "), "{reason}");
        assert!(reason.contains(fragment), "{body}: {reason}");
    }
}
