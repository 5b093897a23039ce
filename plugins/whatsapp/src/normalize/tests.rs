use super::*;
use switchboard_plugin_sdk::testing::{self, metadata};
use switchboard_plugin_sdk::AttachmentKind;

const PHONE: &str = "106540352242922";
const CUSTOMER: &str = "79161234567";

fn events(body: &str) -> Vec<Event> {
    normalize(PHONE, body.as_bytes()).expect("the webhook normalizes")
}

fn only(body: &str) -> Event {
    testing::only(events(body))
}

fn new_message(body: &str) -> (String, Message) {
    testing::message(only(body))
}

fn ignored(body: &str) -> (String, String) {
    testing::ignored(only(body))
}

/// A `messages` change for PHONE with the given `value` members.
fn change(members: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{
        "messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"{PHONE}"}},{members}}}}}]}}]}}"#
    )
}

/// One inbound message from Ivan with the given type members.
fn inbound(members: &str) -> String {
    change(&format!(
        r#""contacts":[{{"profile":{{"name":"Ivan"}},"wa_id":"{CUSTOMER}"}}],
        "messages":[{{"from":"{CUSTOMER}","id":"wamid.X1","timestamp":"1767268800",{members}}}]"#
    ))
}

// The three payloads of the WhatsApp section of PROVIDERS.md, verbatim.

const PROVIDERS_TEXT: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "contacts":[{"profile":{"name":"Ivan"},"wa_id":"79161234567"}],
 "messages":[{"from":"79161234567","id":"wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFC","timestamp":"1767268800",
  "type":"text","text":{"body":"Можно забрать сегодня?"}}]}}]}]}"#;

const PROVIDERS_DOCUMENT_REPLY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "contacts":[{"profile":{"name":"Ivan"},"wa_id":"79161234567"}],
 "messages":[{"from":"79161234567","id":"wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFD","timestamp":"1767268900",
  "context":{"from":"15550783881","id":"wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk=="},
  "type":"document","document":{"filename":"invoice.pdf","mime_type":"application/pdf","sha256":"V5OPpLD/gEG6Xjg0MbmQDLFg=","id":"622684793477189"}}]}}]}]}"#;

const PROVIDERS_FAILED_STATUS: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "statuses":[{"id":"wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk==","status":"failed","timestamp":"1767269000","recipient_id":"79161234567",
  "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"More than 24 hours have passed since the customer last replied."}}]}]}}]}]}"#;

#[test]
fn providers_text_message() {
    let (key, message) = new_message(PROVIDERS_TEXT);
    assert_eq!(key, "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFC");
    assert_eq!(
        message.provider_message_id,
        "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFC"
    );
    assert_eq!(message.thread.id, CUSTOMER);
    assert!(matches!(message.thread.kind, ThreadKind::Direct));
    assert_eq!(message.thread.title.as_deref(), Some("Ivan"));
    assert_eq!(message.sender.id, CUSTOMER);
    assert_eq!(message.sender.display_name.as_deref(), Some("Ivan"));
    assert_eq!(message.sender.phone.as_deref(), Some(CUSTOMER));
    assert!(message.sender.alternate_ids.is_empty());
    assert_eq!(message.timestamp_ms, 1_767_268_800_000);
    assert_eq!(message.text.as_deref(), Some("Можно забрать сегодня?"));
    assert!(message.attachments.is_empty());
    assert_eq!(message.reply_to, None);
}

#[test]
fn providers_document_reply() {
    let (key, message) = new_message(PROVIDERS_DOCUMENT_REPLY);
    assert_eq!(key, "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFD");
    assert_eq!(
        message.reply_to.as_deref(),
        Some("wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk==")
    );
    assert_eq!(message.text, None);
    assert_eq!(message.timestamp_ms, 1_767_268_900_000);
    let document = &message.attachments[0];
    assert_eq!(document.kind, AttachmentKind::Document);
    assert_eq!(document.provider_ref, "622684793477189");
    assert_eq!(document.file_name.as_deref(), Some("invoice.pdf"));
    assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        metadata(document),
        vec![("sha256", "V5OPpLD/gEG6Xjg0MbmQDLFg=")]
    );
}

#[test]
fn providers_failed_status() {
    let event = only(PROVIDERS_FAILED_STATUS);
    assert_eq!(
        event.dedup_key,
        "status:wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk==:failed"
    );
    let EventBody::Status(status) = event.body else {
        panic!("expected a status");
    };
    assert_eq!(
        status.provider_message_id,
        "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJBQk=="
    );
    assert_eq!(status.state, DeliveryState::Failed);
    assert_eq!(status.thread.id, CUSTOMER);
    assert_eq!(
        status.error.as_deref(),
        Some("131047 Re-engagement message: More than 24 hours have passed since the customer last replied.")
    );
    assert_eq!(status.timestamp_ms, 1_767_269_000_000);
}

#[test]
fn every_delivery_state_has_its_own_key() {
    let mut keys = Vec::new();
    for (name, state) in [
        ("sent", DeliveryState::Sent),
        ("delivered", DeliveryState::Delivered),
        ("read", DeliveryState::Read),
    ] {
        let event = only(&change(&format!(
            r#""statuses":[{{"id":"wamid.S","status":"{name}","timestamp":"1767269000","recipient_id":"{CUSTOMER}","conversation":{{"id":"c"}},"pricing":{{"billable":true}}}}]"#
        )));
        assert!(
            matches!(event.body, EventBody::Status(ref s) if s.state == state && s.error.is_none()),
            "{name}"
        );
        keys.push(event.dedup_key);
    }
    assert_eq!(
        keys,
        vec![
            "status:wamid.S:sent",
            "status:wamid.S:delivered",
            "status:wamid.S:read"
        ]
    );
    let (key, reason) = ignored(&change(
        r#""statuses":[{"id":"wamid.S","status":"deleted","timestamp":"1"}]"#,
    ));
    assert_eq!(key, "status:wamid.S:deleted");
    assert!(reason.contains("deleted"));
    let failed = only(&change(
        r#""statuses":[{"id":"wamid.S","status":"failed","timestamp":"1"}]"#,
    ));
    assert!(
        matches!(failed.body, EventBody::Status(ref s) if s.error.as_deref().is_some_and(|e| e.contains("without a reason")))
    );
}

#[test]
fn media_messages_keep_their_ids_and_captions() {
    let (_, image) = new_message(&inbound(
        r#""type":"image","image":{"caption":"this one","mime_type":"image/jpeg","sha256":"abc","id":"1479537139650973"}"#,
    ));
    assert_eq!(image.text.as_deref(), Some("this one"));
    assert_eq!(image.attachments[0].kind, AttachmentKind::Image);
    assert_eq!(image.attachments[0].provider_ref, "1479537139650973");
    assert_eq!(
        image.attachments[0].mime_type.as_deref(),
        Some("image/jpeg")
    );

    let (_, video) = new_message(&inbound(
        r#""type":"video","video":{"mime_type":"video/mp4","id":"v1"}"#,
    ));
    assert_eq!(video.attachments[0].kind, AttachmentKind::Video);
    assert_eq!(video.text, None);

    let (_, voice) = new_message(&inbound(
        r#""type":"audio","audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"s","id":"a1","voice":true}"#,
    ));
    assert_eq!(voice.attachments[0].kind, AttachmentKind::Voice);
    let (_, audio) = new_message(&inbound(
        r#""type":"audio","audio":{"mime_type":"audio/mpeg","id":"a2","voice":false}"#,
    ));
    assert_eq!(audio.attachments[0].kind, AttachmentKind::Audio);

    let (_, sticker) = new_message(&inbound(
        r#""type":"sticker","sticker":{"mime_type":"image/webp","sha256":"s","id":"st1","animated":true}"#,
    ));
    assert_eq!(sticker.attachments[0].kind, AttachmentKind::Sticker);
    assert!(metadata(&sticker.attachments[0]).contains(&("animated", "true")));

    let (key, reason) = ignored(&inbound(r#""type":"image","image":{"caption":"x"}"#));
    assert_eq!(key, "wamid.X1");
    assert!(reason.contains("media id"), "{reason}");
}

#[test]
fn locations_and_contacts_are_metadata_attachments() {
    let (_, message) = new_message(&inbound(
        r#""type":"location","location":{"latitude":55.7558,"longitude":37.6173,"name":"Pickup point","address":"Tverskaya 1, Moscow"}"#,
    ));
    let location = &message.attachments[0];
    assert_eq!(location.kind, AttachmentKind::Location);
    assert_eq!(location.provider_ref, "");
    assert_eq!(
        metadata(location),
        vec![
            ("latitude", "55.7558"),
            ("longitude", "37.6173"),
            ("name", "Pickup point"),
            ("address", "Tverskaya 1, Moscow")
        ]
    );

    let (_, message) = new_message(&inbound(
        r#""type":"contacts","contacts":[
          {"name":{"formatted_name":"Anna Petrova","first_name":"Anna"},"phones":[{"phone":"+7 916 000-00-01","wa_id":"79160000001","type":"CELL"},{"phone":"+7 495 000-00-02","type":"WORK"}],"emails":[{"email":"anna@example.com"}],"org":{"company":"Acme"}},
          {"name":{"first_name":"Oleg","last_name":"Ivanov"}}]"#,
    ));
    assert_eq!(message.attachments.len(), 2);
    assert_eq!(message.attachments[0].kind, AttachmentKind::Contact);
    assert_eq!(
        metadata(&message.attachments[0]),
        vec![
            ("name", "Anna Petrova"),
            ("phones", "+7 916 000-00-01, +7 495 000-00-02"),
            ("wa_ids", "79160000001"),
            ("emails", "anna@example.com"),
            ("organization", "Acme")
        ]
    );
    assert_eq!(
        metadata(&message.attachments[1]),
        vec![("name", "Oleg Ivanov")]
    );
}

#[test]
fn button_and_list_replies_keep_title_and_id() {
    let (_, button) = new_message(&inbound(
        r#""context":{"from":"15550783881","id":"wamid.Q"},"type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"confirm-42","title":"Confirm"}}"#,
    ));
    assert_eq!(button.text.as_deref(), Some("Confirm"));
    assert_eq!(button.reply_to.as_deref(), Some("wamid.Q"));
    assert_eq!(
        metadata(&button.attachments[0]),
        vec![("type", "button_reply"), ("id", "confirm-42")]
    );
    let (_, list) = new_message(&inbound(
        r#""type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"slot-3","title":"Tomorrow 10:00","description":"Pickup"}}"#,
    ));
    assert_eq!(list.text.as_deref(), Some("Tomorrow 10:00"));
    assert_eq!(
        metadata(&list.attachments[0]),
        vec![
            ("type", "list_reply"),
            ("id", "slot-3"),
            ("description", "Pickup")
        ]
    );
    let (_, template) = new_message(&inbound(
        r#""type":"button","button":{"text":"Stop promotions","payload":"STOP"}"#,
    ));
    assert_eq!(template.text.as_deref(), Some("Stop promotions"));
    assert_eq!(
        metadata(&template.attachments[0]),
        vec![("type", "button"), ("payload", "STOP")]
    );
    let (_, reason) = ignored(&inbound(
        r#""type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{}}"#,
    ));
    assert!(reason.contains("nfm_reply"));
}

#[test]
fn reactions_and_their_removal() {
    let event = only(&inbound(
        r#""type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":"👍"}"#,
    ));
    assert_eq!(
        event.dedup_key,
        format!("reaction:wamid.OUT:{CUSTOMER}:react:1767268800000")
    );
    let EventBody::Reaction(reaction) = event.body else {
        panic!("expected a reaction");
    };
    assert_eq!(reaction.provider_message_id, "wamid.OUT");
    assert_eq!(reaction.emoji, "👍");
    assert!(!reaction.removed);
    assert_eq!(reaction.sender.display_name.as_deref(), Some("Ivan"));
    assert_eq!(reaction.thread.id, CUSTOMER);
    for removal in [
        r#""type":"reaction","reaction":{"message_id":"wamid.OUT"}"#,
        r#""type":"reaction","reaction":{"message_id":"wamid.OUT","emoji":""}"#,
    ] {
        let event = only(&inbound(removal));
        assert_eq!(
            event.dedup_key,
            format!("reaction:wamid.OUT:{CUSTOMER}:unreact:1767268800000")
        );
        assert!(
            matches!(event.body, EventBody::Reaction(ref r) if r.removed && r.emoji.is_empty())
        );
    }
    let (key, _) = ignored(&inbound(r#""type":"reaction","reaction":{"emoji":"x"}"#));
    assert_eq!(key, "wamid.X1");
}

#[test]
fn unsupported_messages_are_ignored_with_whatsapps_reason() {
    let (key, reason) = ignored(&inbound(
        r#""type":"unsupported","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]"#,
    ));
    assert_eq!(key, "wamid.X1");
    assert_eq!(
        reason,
        "unsupported message: 131051 Message type unknown: Message type is currently not supported."
    );
    let (_, reason) = ignored(&inbound(r#""type":"order","order":{"catalog_id":"1"}"#));
    assert_eq!(reason, "unsupported message type `order`");
    let (_, reason) = ignored(&inbound(r#""type":"text""#));
    assert!(reason.contains("`text`"), "{reason}");
}

#[test]
fn bsuid_is_an_alternate_id_or_the_id_when_the_number_is_hidden() {
    let (_, both) = new_message(&change(&format!(
        r#""contacts":[{{"profile":{{"name":"Ivan"}},"wa_id":"{CUSTOMER}","user_id":"US.13491208655302741918"}}],
        "messages":[{{"from":"{CUSTOMER}","from_user_id":"US.13491208655302741918","id":"wamid.B1","timestamp":"1","type":"text","text":{{"body":"hi"}}}}]"#
    )));
    assert_eq!(both.sender.id, CUSTOMER);
    assert_eq!(both.sender.alternate_ids, vec!["US.13491208655302741918"]);
    assert_eq!(both.thread.id, CUSTOMER);

    let (_, hidden) = new_message(&change(
        r#""contacts":[{"profile":{"name":"ivan_k"},"user_id":"US.13491208655302741918"}],
        "messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.B2","timestamp":"1","type":"text","text":{"body":"hi"}}]"#,
    ));
    assert_eq!(hidden.sender.id, "US.13491208655302741918");
    assert_eq!(hidden.thread.id, "US.13491208655302741918");
    assert_eq!(hidden.sender.phone, None);
    assert!(hidden.sender.alternate_ids.is_empty());
    assert_eq!(hidden.sender.display_name.as_deref(), Some("ivan_k"));

    let (key, reason) = ignored(&change(
        r#""messages":[{"id":"wamid.B3","timestamp":"1","type":"text","text":{"body":"hi"}}]"#,
    ));
    assert_eq!(key, "wamid.B3");
    assert!(reason.contains("no sender"));
}

#[test]
fn contacts_are_matched_to_their_messages() {
    let events = events(&change(
        r#""contacts":[{"profile":{"name":"Ivan"},"wa_id":"1"},{"profile":{"name":"Olga"},"wa_id":"2"}],
        "messages":[{"from":"2","id":"wamid.O","timestamp":"1","type":"text","text":{"body":"a"}},
                    {"from":"1","id":"wamid.I","timestamp":"1","type":"text","text":{"body":"b"}},
                    {"from":"3","id":"wamid.N","timestamp":"1","type":"text","text":{"body":"c"}}]"#,
    ));
    let names: Vec<Option<String>> = events
        .iter()
        .map(|event| match &event.body {
            EventBody::Message(message) => message.sender.display_name.clone(),
            other => panic!("expected a message, got {other:?}"),
        })
        .collect();
    assert_eq!(names, vec![Some("Olga".into()), Some("Ivan".into()), None]);
}

#[test]
fn only_the_channels_phone_number_becomes_events() {
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[
        {{"field":"messages","value":{{"metadata":{{"phone_number_id":"999"}},"messages":[{{"from":"1","id":"wamid.OTHER","timestamp":"1","type":"text","text":{{"body":"not yours"}}}}]}}}},
        {{"field":"messages","value":{{"metadata":{{"phone_number_id":{PHONE}}},"messages":[{{"from":"1","id":"wamid.MINE","timestamp":"1","type":"text","text":{{"body":"yours"}}}}]}}}},
        {{"field":"account_update","value":{{"event":"VERIFIED_ACCOUNT"}}}}]}}]}}"#
    );
    let mine = events(&body);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].dedup_key, "wamid.MINE");
    let theirs = normalize("999", body.as_bytes()).unwrap();
    assert_eq!(theirs[0].dedup_key, "wamid.OTHER");
    let nobody = normalize("1", body.as_bytes()).unwrap();
    assert!(matches!(nobody[0].body, EventBody::Ignore(ref r) if r.contains("phone number 1")));
}

#[test]
fn other_fields_and_odd_values_are_ignored() {
    let body = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"message_template_status_update","value":{{"metadata":{{"phone_number_id":"{PHONE}"}},"event":"APPROVED"}}}}]}}]}}"#
    );
    let (key, reason) = ignored(&body);
    assert!(
        key.starts_with("ignore:message_template_status_update:"),
        "{key}"
    );
    assert!(reason.contains("not chat traffic"));
    assert_eq!(ignored(&body).0, key, "stable");

    let (key, reason) = ignored(&change(
        r#""errors":[{"code":131000,"title":"Something went wrong"}]"#,
    ));
    assert!(key.starts_with("ignore:errors:"));
    assert!(reason.contains("131000 Something went wrong"));
    let (_, reason) = ignored(&change(r#""messages":"oops""#));
    assert!(reason.starts_with("unreadable messages change"));
    let (_, reason) = ignored(&change(r#""contacts":[]"#));
    assert!(reason.contains("no messages or statuses"));
}

#[test]
fn odd_items_are_ignored_without_sinking_the_batch() {
    let events = events(&change(
        r#""messages":[{"from":"1","id":"wamid.T","timestamp":"yesterday","type":"text","text":{"body":"a"}},
                       {"from":"1","timestamp":"1","type":"text","text":{"body":"b"}},
                       {"from":"1","id":"wamid.OK","timestamp":"1","type":"text","text":{"body":"c"}}],
        "statuses":[{"status":"read"}]"#,
    ));
    assert_eq!(events.len(), 4);
    assert!(
        matches!(events[0].body, EventBody::Ignore(ref r) if r.starts_with("unreadable message"))
    );
    assert!(matches!(events[1].body, EventBody::Ignore(ref r) if r.contains("without id")));
    assert_ne!(events[0].dedup_key, events[1].dedup_key);
    assert_eq!(events[2].dedup_key, "wamid.OK");
    assert!(matches!(events[3].body, EventBody::Ignore(ref r) if r.contains("without message id")));
}

#[test]
fn other_objects_are_ignored_and_garbage_is_malformed() {
    let (_, reason) = ignored(r#"{"object":"instagram","entry":[]}"#);
    assert!(reason.contains("`instagram`"));
    for body in [
        "{",
        "null",
        r#"{"object":"whatsapp_business_account"}"#,
        r#"{"entry":"x"}"#,
    ] {
        assert!(
            matches!(
                normalize(PHONE, body.as_bytes()),
                Err(NormalizeError::Malformed(_))
            ),
            "{body}"
        );
    }
}

#[test]
fn dedup_keys_are_stable_and_distinct_across_kinds() {
    let bodies = [
        inbound(r#""type":"text","text":{"body":"a"}"#),
        inbound(r#""type":"reaction","reaction":{"message_id":"wamid.X1","emoji":"👍"}"#),
        inbound(r#""type":"reaction","reaction":{"message_id":"wamid.X1"}"#),
        change(r#""statuses":[{"id":"wamid.X1","status":"delivered","timestamp":"1"}]"#),
        change(r#""statuses":[{"id":"wamid.X1","status":"read","timestamp":"1"}]"#),
    ];
    let keys: Vec<String> = bodies.iter().map(|body| only(body).dedup_key).collect();
    for (index, key) in keys.iter().enumerate() {
        assert_eq!(&only(&bodies[index]).dedup_key, key, "stable");
        assert!(!keys[..index].contains(key), "{key} repeats");
    }
}
