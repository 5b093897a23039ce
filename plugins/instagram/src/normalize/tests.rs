use super::*;
use switchboard_plugin_sdk::{testing, AttachmentKind};

const ACCOUNT: &str = "17841400000000001";
const CUSTOMER: &str = "618000000000042";

fn events(body: &str) -> Vec<Event> {
    normalize(ACCOUNT, body.as_bytes()).expect("the webhook normalizes")
}

fn only(body: &str) -> Event {
    testing::only(events(body))
}

fn ignored(body: &str) -> (String, String) {
    testing::ignored(only(body))
}

/// One messaging item from the customer to the account.
fn inbound(payload: &str) -> String {
    format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","time":1767268800123,"messaging":[{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":1767268799871,{payload}}}]}}]}}"#
    )
}

fn new_message(body: &str) -> (String, Message) {
    testing::message(only(body))
}

// The three payloads of the Instagram section of PROVIDERS.md, verbatim.

const PROVIDERS_TEXT: &str = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1767268800123,"messaging":[{
 "sender":{"id":"618000000000042"},"recipient":{"id":"17841400000000001"},"timestamp":1767268799871,
 "message":{"mid":"aWdfZAG1faXRlbToxOjE3ODQx","text":"Do you ship to Kazan?"}}]}]}"#;

const PROVIDERS_IMAGE_REPLY: &str = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1767268860456,"messaging":[{
 "sender":{"id":"618000000000042"},"recipient":{"id":"17841400000000001"},"timestamp":1767268860101,
 "message":{"mid":"aWdfZAG1faXRlbToxOjE3ODQy",
  "attachments":[{"type":"image","payload":{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=123"}}],
  "reply_to":{"mid":"aWdfZAG1faXRlbToxOjE3ODQx"}}}]}]}"#;

const PROVIDERS_ECHO_AND_READ: &str = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1767268900000,"messaging":[
 {"sender":{"id":"17841400000000001"},"recipient":{"id":"618000000000042"},"timestamp":1767268899000,
  "message":{"mid":"aWdfZAG1faXRlbToxOjE3ODQz","text":"Yes, 3-5 days.","is_echo":true}},
 {"sender":{"id":"618000000000042"},"recipient":{"id":"17841400000000001"},"timestamp":1767268950000,
  "read":{"mid":"aWdfZAG1faXRlbToxOjE3ODQz"}}]}]}"#;

#[test]
fn providers_text_message() {
    let (key, message) = new_message(PROVIDERS_TEXT);
    assert_eq!(key, "aWdfZAG1faXRlbToxOjE3ODQx");
    assert_eq!(message.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQx");
    assert_eq!(message.thread.id, CUSTOMER);
    assert!(matches!(message.thread.kind, ThreadKind::Direct));
    assert_eq!(message.thread.title, None);
    assert_eq!(message.sender.id, CUSTOMER);
    assert!(message.sender.alternate_ids.is_empty());
    assert_eq!(message.timestamp_ms, 1_767_268_799_871);
    assert_eq!(message.text.as_deref(), Some("Do you ship to Kazan?"));
    assert!(message.attachments.is_empty());
    assert_eq!(message.reply_to, None);
}

#[test]
fn providers_image_reply() {
    let (key, message) = new_message(PROVIDERS_IMAGE_REPLY);
    assert_eq!(key, "aWdfZAG1faXRlbToxOjE3ODQy");
    assert_eq!(message.text, None);
    assert_eq!(
        message.reply_to.as_deref(),
        Some("aWdfZAG1faXRlbToxOjE3ODQx")
    );
    assert_eq!(message.timestamp_ms, 1_767_268_860_101);
    assert_eq!(message.attachments.len(), 1);
    let image = &message.attachments[0];
    assert_eq!(image.kind, AttachmentKind::Image);
    assert_eq!(
        image.provider_ref,
        "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=123"
    );
}

#[test]
fn providers_echo_and_read_receipt() {
    let events = events(PROVIDERS_ECHO_AND_READ);
    assert_eq!(events.len(), 2);

    assert_eq!(events[0].dedup_key, "echo:aWdfZAG1faXRlbToxOjE3ODQz");
    let EventBody::Echo(echo) = &events[0].body else {
        panic!("expected an echo, got {:?}", events[0].body);
    };
    assert_eq!(echo.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQz");
    assert_eq!(echo.thread.id, CUSTOMER, "the thread is the customer's");
    assert_eq!(echo.sender.id, ACCOUNT);
    assert_eq!(echo.text.as_deref(), Some("Yes, 3-5 days."));
    assert_eq!(echo.timestamp_ms, 1_767_268_899_000);

    assert_eq!(events[1].dedup_key, "status:aWdfZAG1faXRlbToxOjE3ODQz:read");
    let EventBody::Status(status) = &events[1].body else {
        panic!("expected a status, got {:?}", events[1].body);
    };
    assert_eq!(status.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQz");
    assert_eq!(status.state, DeliveryState::Read);
    assert_eq!(status.thread.id, CUSTOMER);
    assert_eq!(status.error, None);
    assert_eq!(status.timestamp_ms, 1_767_268_950_000);
}

#[test]
fn messages_from_the_account_are_echoes_even_unflagged() {
    for flags in [r#""is_self":true"#, r#""is_echo":false"#] {
        let body = format!(
            r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","messaging":[{{"sender":{{"id":"{ACCOUNT}"}},"recipient":{{"id":"{CUSTOMER}"}},"timestamp":5,"message":{{"mid":"m1","text":"hi",{flags}}}}}]}}]}}"#
        );
        let event = only(&body);
        assert_eq!(event.dedup_key, "echo:m1");
        assert!(matches!(event.body, EventBody::Echo(ref m) if m.thread.id == CUSTOMER));
    }
    // is_self from a customer id still marks a self-sent message.
    let event = only(&inbound(
        r#""message":{"mid":"m2","text":"x","is_self":true}"#,
    ));
    assert!(matches!(event.body, EventBody::Echo(_)));
}

#[test]
fn the_changes_form_is_read_like_messaging() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","time":1767268800123,"changes":[{{"field":"messages","value":{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":"1767268799871","message":{{"mid":"m-test","text":"This is a test"}}}}}},{{"field":"messaging_postbacks","value":{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":1767268799900,"postback":{{"mid":"pb-1","title":"Track order","payload":"TRACK"}}}}}}]}}]}}"#
    );
    let events = events(&body);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].dedup_key, "m-test");
    assert!(
        matches!(&events[0].body, EventBody::Message(m) if m.text.as_deref() == Some("This is a test") && m.timestamp_ms == 1_767_268_799_871)
    );
    assert_eq!(events[1].dedup_key, "postback:pb-1");
}

#[test]
fn other_changes_are_ignored_by_field() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","changes":[{{"field":"comments","value":{{"id":"c1","text":"nice"}}}}]}}]}}"#
    );
    let (key, reason) = ignored(&body);
    assert!(key.starts_with("ignore:comments:"), "{key}");
    assert!(reason.contains("comments"), "{reason}");
    assert_eq!(ignored(&body).0, key, "stable across redeliveries");
}

#[test]
fn postbacks_carry_title_and_payload() {
    let (key, message) = new_message(&inbound(
        r#""postback":{"mid":"pb-9","title":"Talk to a human","payload":"AGENT"}"#,
    ));
    assert_eq!(key, "postback:pb-9");
    assert_eq!(message.provider_message_id, "pb-9");
    assert_eq!(message.text.as_deref(), Some("Talk to a human"));
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].kind, AttachmentKind::Other);
    assert_eq!(
        message.attachments[0].metadata,
        vec![
            ("type".to_string(), "postback".to_string()),
            ("payload".to_string(), "AGENT".to_string())
        ]
    );
    let (key, without_mid) = new_message(&inbound(r#""postback":{"title":"Hi"}"#));
    assert_eq!(key, format!("postback:{CUSTOMER}:1767268799871"));
    assert!(without_mid.attachments.is_empty());
}

#[test]
fn quick_replies_and_story_replies_keep_their_context() {
    let (_, message) = new_message(&inbound(
        r#""message":{"mid":"q1","text":"Blue","quick_reply":{"payload":"COLOR_BLUE"}}"#,
    ));
    assert_eq!(message.text.as_deref(), Some("Blue"));
    assert_eq!(
        message.attachments[0].metadata,
        vec![
            ("type".to_string(), "quick_reply".to_string()),
            ("payload".to_string(), "COLOR_BLUE".to_string())
        ]
    );
    let (_, message) = new_message(&inbound(
        r#""message":{"mid":"s1","text":"Love it","reply_to":{"story":{"url":"https://lookaside.fbsbx.com/story","id":"17900000000000001"}}}"#,
    ));
    assert_eq!(message.reply_to, None);
    let story = &message.attachments[0];
    assert_eq!(story.provider_ref, "https://lookaside.fbsbx.com/story");
    assert!(story
        .metadata
        .contains(&("story_id".to_string(), "17900000000000001".to_string())));
}

#[test]
fn shares_and_files_map_to_kinds() {
    let (_, message) = new_message(&inbound(
        r#""message":{"mid":"a1","attachments":[{"type":"file","payload":{"url":"https://cdn.example/f.pdf"}},{"type":"ig_reel","payload":{"url":"https://cdn.example/r","title":"Reel"}},{"type":"story_mention","payload":{"url":"https://cdn.example/s"}},{"type":"audio","payload":{"url":"https://cdn.example/a"}}]}"#,
    ));
    let kinds: Vec<AttachmentKind> = message.attachments.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            AttachmentKind::Document,
            AttachmentKind::Other,
            AttachmentKind::Other,
            AttachmentKind::Audio
        ]
    );
    assert!(message.attachments[1]
        .metadata
        .contains(&("type".to_string(), "ig_reel".to_string())));
}

#[test]
fn reactions_and_their_removal() {
    let react = only(&inbound(
        r#""reaction":{"mid":"aWdfZAG1faXRlbToxOjE3ODQz","action":"react","reaction":"love","emoji":"❤️"}"#,
    ));
    assert_eq!(
        react.dedup_key,
        format!("reaction:aWdfZAG1faXRlbToxOjE3ODQz:{CUSTOMER}:react:1767268799871")
    );
    let EventBody::Reaction(reaction) = react.body else {
        panic!("expected a reaction");
    };
    assert_eq!(reaction.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQz");
    assert_eq!(reaction.emoji, "❤️");
    assert!(!reaction.removed);
    assert_eq!(reaction.sender.id, CUSTOMER);
    assert_eq!(reaction.thread.id, CUSTOMER);

    let unreact = only(&inbound(
        r#""reaction":{"mid":"aWdfZAG1faXRlbToxOjE3ODQz","action":"unreact"}"#,
    ));
    assert!(unreact.dedup_key.contains(":unreact:"));
    assert!(matches!(unreact.body, EventBody::Reaction(ref r) if r.removed && r.emoji.is_empty()));
    let named = only(&inbound(
        r#""reaction":{"mid":"x","action":"react","reaction":"love"}"#,
    ));
    assert!(matches!(named.body, EventBody::Reaction(ref r) if r.emoji == "love"));
}

#[test]
fn edits_carry_the_new_text() {
    let event = only(&inbound(
        r#""message_edit":{"mid":"aWdfZAG1faXRlbToxOjE3ODQx","text":"Do you ship to Kazan or Samara?","num_edit":1}"#,
    ));
    assert_eq!(event.dedup_key, "edit:aWdfZAG1faXRlbToxOjE3ODQx:1");
    let EventBody::Edit(edit) = event.body else {
        panic!("expected an edit");
    };
    assert_eq!(edit.provider_message_id, "aWdfZAG1faXRlbToxOjE3ODQx");
    assert_eq!(
        edit.text.as_deref(),
        Some("Do you ship to Kazan or Samara?")
    );
    assert_eq!(edit.thread.id, CUSTOMER);
    let unnumbered = only(&inbound(r#""message_edit":{"mid":"m","text":"t"}"#));
    assert_eq!(unnumbered.dedup_key, "edit:m:1767268799871");
}

#[test]
fn deletions_name_the_message() {
    let event = only(&inbound(r#""message":{"mid":"gone-1","is_deleted":true}"#));
    assert_eq!(event.dedup_key, "delete:gone-1");
    let EventBody::Delete(reference) = event.body else {
        panic!("expected a delete");
    };
    assert_eq!(reference.provider_message_id, "gone-1");
    assert_eq!(reference.thread.id, CUSTOMER);
    assert_eq!(reference.timestamp_ms, 1_767_268_799_871);
}

#[test]
fn unsupported_content_is_shown_as_such() {
    let (key, message) = new_message(&inbound(r#""message":{"mid":"u1","is_unsupported":true}"#));
    assert_eq!(key, "u1");
    assert_eq!(message.text, None);
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].provider_ref, "");
    assert_eq!(
        message.attachments[0].metadata,
        vec![("type".to_string(), "unsupported".to_string())]
    );
}

#[test]
fn referrals_and_unknown_events_are_ignored() {
    let (key, reason) = ignored(&inbound(
        r#""referral":{"ref":"summer","source":"ADS","type":"OPEN_THREAD"}"#,
    ));
    assert_eq!(key, format!("ignore:referral:{CUSTOMER}:1767268799871"));
    assert!(reason.contains("referral"), "{reason}");
    let (key, reason) = ignored(&inbound(r#""optin":{"ref":"x"}"#));
    assert_eq!(key, format!("ignore:optin:{CUSTOMER}:1767268799871"));
    assert_eq!(reason, "unsupported messaging event `optin`");
    let (_, reason) = ignored(&inbound(r#""message":{"text":"no mid"}"#));
    assert!(reason.contains("without mid"), "{reason}");
    let (key, reason) = ignored(&inbound(r#""message":{"mid":"e1"}"#));
    assert_eq!(key, "e1");
    assert!(reason.contains("no text"), "{reason}");
}

#[test]
fn odd_items_are_ignored_without_sinking_the_batch() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","messaging":[{{"recipient":{{"id":"{ACCOUNT}"}},"message":{{"mid":"x"}}}},{{"sender":"nope"}},{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":1,"message":{{"mid":"ok","text":"fine"}}}}]}}]}}"#
    );
    let events = events(&body);
    assert_eq!(events.len(), 3);
    assert!(matches!(events[0].body, EventBody::Ignore(ref r) if r.contains("sender")));
    assert!(matches!(events[1].body, EventBody::Ignore(ref r) if r.starts_with("unreadable")));
    assert_ne!(events[0].dedup_key, events[1].dedup_key);
    assert_eq!(events[2].dedup_key, "ok");
}

#[test]
fn only_the_channels_entries_become_events() {
    let body = format!(
        r#"{{"object":"instagram","entry":[
        {{"id":"17841400000000009","messaging":[{{"sender":{{"id":"1"}},"recipient":{{"id":"17841400000000009"}},"timestamp":1,"message":{{"mid":"other-account","text":"not yours"}}}}]}},
        {{"id":{ACCOUNT},"messaging":[{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":2,"message":{{"mid":"mine","text":"yours"}}}}]}}]}}"#
    );
    let events = events(&body);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].dedup_key, "mine");
    let theirs = normalize("17841400000000009", body.as_bytes()).unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].dedup_key, "other-account");
    let nobody = normalize("1", body.as_bytes()).unwrap();
    assert!(matches!(nobody[0].body, EventBody::Ignore(ref r) if r.contains("account 1")));
}

#[test]
fn entry_time_stands_in_for_a_missing_timestamp() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","time":1767268800123,"messaging":[{{"sender":{{"id":"{CUSTOMER}"}},"recipient":{{"id":"{ACCOUNT}"}},"message":{{"mid":"t","text":"x"}}}}]}}]}}"#
    );
    let (_, message) = new_message(&body);
    assert_eq!(message.timestamp_ms, 1_767_268_800_123);
}

#[test]
fn other_objects_are_ignored_and_garbage_is_malformed() {
    let (key, reason) = ignored(r#"{"object":"page","entry":[{"id":"1"}]}"#);
    assert!(key.starts_with("ignore:"));
    assert!(reason.contains("`page`"), "{reason}");
    for body in [
        "{not json",
        "[]",
        r#"{"object":"instagram"}"#,
        r#"{"object":"instagram","entry":{}}"#,
        "",
    ] {
        assert!(
            matches!(
                normalize(ACCOUNT, body.as_bytes()),
                Err(NormalizeError::Malformed(_))
            ),
            "{body}"
        );
    }
}

#[test]
fn dedup_keys_are_stable_and_distinct_across_kinds() {
    let mid = "aWdfZAG1faXRlbToxOjE3ODQz";
    let bodies = [
        inbound(&format!(r#""message":{{"mid":"{mid}","text":"a"}}"#)),
        inbound(&format!(r#""message":{{"mid":"{mid}","is_deleted":true}}"#)),
        inbound(&format!(
            r#""message_edit":{{"mid":"{mid}","text":"b","num_edit":1}}"#
        )),
        inbound(&format!(
            r#""reaction":{{"mid":"{mid}","action":"react","emoji":"x"}}"#
        )),
        inbound(&format!(
            r#""reaction":{{"mid":"{mid}","action":"unreact"}}"#
        )),
        inbound(&format!(r#""read":{{"mid":"{mid}"}}"#)),
        inbound(&format!(r#""postback":{{"mid":"{mid}","title":"t"}}"#)),
        inbound(r#""referral":{"ref":"r"}"#),
    ];
    let keys: Vec<String> = bodies.iter().map(|body| only(body).dedup_key).collect();
    for (index, key) in keys.iter().enumerate() {
        assert_eq!(&only(&bodies[index]).dedup_key, key, "stable");
        assert!(!keys[..index].contains(key), "{key} repeats");
    }
    let echo = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","messaging":[{{"sender":{{"id":"{ACCOUNT}"}},"recipient":{{"id":"{CUSTOMER}"}},"timestamp":5,"message":{{"mid":"{mid}","text":"a","is_echo":true}}}}]}}]}}"#
    );
    assert!(!keys.contains(&only(&echo).dedup_key));
}
