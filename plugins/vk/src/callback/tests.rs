use super::*;

#[test]
fn reads_the_envelope() {
    let callback = parse(
        br#"{"group_id":218000001,"type":"message_typing_state","event_id":"0c1d2e3f","v":"5.199","secret":"s","object":{"state":"typing"}}"#,
    )
    .unwrap();
    assert_eq!(callback.kind, "message_typing_state");
    assert_eq!(callback.group_id, Some(218000001));
    assert_eq!(callback.event_id.as_deref(), Some("0c1d2e3f"));
    assert_eq!(callback.secret.as_deref(), Some("s"));
    assert_eq!(callback.object["state"], "typing");
}

#[test]
fn ids_may_be_strings_or_numbers() {
    let callback = parse(br#"{"type":"x","group_id":"218000001","event_id":77}"#).unwrap();
    assert_eq!(callback.group_id, Some(218000001));
    assert_eq!(callback.event_id.as_deref(), Some("77"));
    let callback = parse(br#"{"type":"x","group_id":-5,"event_id":""}"#).unwrap();
    assert_eq!(callback.group_id, None);
    assert_eq!(callback.event_id, None);
    assert!(callback.object.is_null());
}

#[test]
fn malformed_envelopes_say_why() {
    assert!(parse(b"{oops").unwrap_err().contains("not JSON"));
    assert!(parse(b"[1]").unwrap_err().contains("not a JSON object"));
    assert!(parse(br#"{"group_id":1}"#)
        .unwrap_err()
        .contains("no `type`"));
    assert!(parse(br#"{"type":5}"#)
        .unwrap_err()
        .contains("not a string"));
    assert!(parse(br#"{"type":""}"#)
        .unwrap_err()
        .contains("not a string"));
}

#[test]
fn message_is_found_in_both_layouts() {
    let wrapped = serde_json::json!({"message":{"peer_id":1,"text":"a"},"client_info":{}});
    assert_eq!(message_of(&wrapped).unwrap().text().as_deref(), Some("a"));
    let bare = serde_json::json!({"peer_id":1,"text":"b","out":1});
    let message = message_of(&bare).unwrap();
    assert_eq!(message.text().as_deref(), Some("b"));
    assert!(message.out);
    assert!(message_of(&Value::Null).is_err());
    assert!(message_of(&serde_json::json!({"peer_id":"x"})).is_err());
}

#[test]
fn old_field_names_are_fallbacks() {
    let old: VkMessage =
        serde_json::from_value(serde_json::json!({"user_id":55501234,"body":"hi","out":true}))
            .unwrap();
    assert_eq!(old.peer_id(), Some(55501234));
    assert_eq!(old.author(), Some(55501234));
    assert_eq!(old.text().as_deref(), Some("hi"));
    assert!(old.out);
    let chat: VkMessage =
        serde_json::from_value(serde_json::json!({"user_id":55501234,"chat_id":3})).unwrap();
    assert_eq!(chat.peer_id(), Some(2000000003));
    assert_eq!(chat.author(), Some(55501234));
}

#[test]
fn int_fields_accept_strings() {
    let object = serde_json::json!({"a": 5, "b": "6", "c": [1]});
    let object = object.as_object().unwrap();
    assert_eq!(int_field(object, "a"), Some(5));
    assert_eq!(int_field(object, "b"), Some(6));
    assert_eq!(int_field(object, "c"), None);
    assert_eq!(int_field(object, "d"), None);
}
