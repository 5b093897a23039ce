use super::*;
use switchboard_plugin_sdk::testing;
use switchboard_plugin_sdk::AttachmentKind;

fn events(body: &str) -> Vec<Event> {
    normalize(body.as_bytes()).expect("the update normalizes")
}

fn only(body: &str) -> (String, EventBody) {
    let event = testing::only(events(body));
    (event.dedup_key, event.body)
}

fn new_message(body: &str) -> Message {
    testing::message(testing::only(events(body))).1
}

fn ignored(body: &str) -> String {
    testing::ignored(testing::only(events(body))).1
}

fn malformed(body: &str) -> String {
    testing::malformed(normalize(body.as_bytes()))
}

// The three payloads of the Telegram section of PROVIDERS.md, verbatim.

const PROVIDERS_TEXT: &str = r#"{"update_id":804112233,"message":{"message_id":512,"date":1767268800,
 "from":{"id":123456789,"is_bot":false,"first_name":"Anna","username":"anna_k"},
 "chat":{"id":123456789,"type":"private","first_name":"Anna"},"text":"Hi, is the order ready?"}}"#;

const PROVIDERS_PHOTO: &str = r#"{"update_id":804112234,"message":{"message_id":513,"date":1767268830,
 "from":{"id":123456789,"is_bot":false,"first_name":"Anna"},"chat":{"id":123456789,"type":"private"},
 "photo":[{"file_id":"AgAC..s","file_unique_id":"AQs1","width":90,"height":67},{"file_id":"AgAC..l","file_unique_id":"AQs2","width":1280,"height":960}],
 "caption":"this one","reply_to_message":{"message_id":510,"date":1767268700,"chat":{"id":123456789,"type":"private"},"text":"Which colour?"}}}"#;

const PROVIDERS_EDIT: &str = r#"{"update_id":804112235,"edited_message":{"message_id":512,"date":1767268800,"edit_date":1767268900,
 "chat":{"id":123456789,"type":"private"},"from":{"id":123456789,"is_bot":false,"first_name":"Anna"},"text":"Is order #42 ready?"}}"#;

#[test]
fn providers_text_message() {
    let (key, body) = only(PROVIDERS_TEXT);
    assert_eq!(key, "update:804112233");
    let EventBody::Message(message) = body else {
        panic!("expected a message");
    };
    assert_eq!(message.provider_message_id, "123456789:512");
    assert_eq!(message.thread.id, "123456789");
    assert!(matches!(message.thread.kind, ThreadKind::Direct));
    assert_eq!(message.thread.title.as_deref(), Some("Anna"));
    assert_eq!(message.sender.id, "123456789");
    assert_eq!(message.sender.display_name.as_deref(), Some("Anna"));
    assert_eq!(message.sender.username.as_deref(), Some("anna_k"));
    assert_eq!(message.timestamp_ms, 1_767_268_800_000);
    assert_eq!(message.text.as_deref(), Some("Hi, is the order ready?"));
    assert!(message.attachments.is_empty());
    assert_eq!(message.reply_to, None);
}

#[test]
fn providers_photo_with_caption_and_reply() {
    let (key, _) = only(PROVIDERS_PHOTO);
    assert_eq!(key, "update:804112234");
    let message = new_message(PROVIDERS_PHOTO);
    assert_eq!(message.provider_message_id, "123456789:513");
    assert_eq!(message.text.as_deref(), Some("this one"));
    assert_eq!(message.reply_to.as_deref(), Some("123456789:510"));
    assert_eq!(message.attachments.len(), 1);
    let photo = &message.attachments[0];
    assert!(matches!(photo.kind, AttachmentKind::Image));
    assert_eq!(photo.provider_ref, "AgAC..l");
    assert_eq!((photo.width, photo.height), (Some(1280), Some(960)));
    assert!(photo
        .metadata
        .contains(&("file_unique_id".to_string(), "AQs2".to_string())));
}

#[test]
fn providers_edit_upserts_the_same_message() {
    let original = new_message(PROVIDERS_TEXT);
    let (key, body) = only(PROVIDERS_EDIT);
    assert_eq!(key, "update:804112235");
    let EventBody::Edit(edit) = body else {
        panic!("expected an edit");
    };
    assert_eq!(edit.provider_message_id, original.provider_message_id);
    assert_eq!(edit.thread.id, original.thread.id);
    assert_eq!(edit.text.as_deref(), Some("Is order #42 ready?"));
    assert_eq!(edit.timestamp_ms, 1_767_268_900_000, "edit_date, not date");
}

#[test]
fn group_chat_has_a_negative_64_bit_id_and_a_title() {
    let message = new_message(
        r#"{"update_id":9,"message":{"message_id":77,"date":1700000000,
        "from":{"id":8123456789,"first_name":"Ivan","last_name":"Petrov","username":"ivanp"},
        "chat":{"id":-1001234567890,"type":"supergroup","title":"Support group"},"text":"hello"}}"#,
    );
    assert_eq!(message.provider_message_id, "-1001234567890:77");
    assert_eq!(message.thread.id, "-1001234567890");
    assert!(matches!(message.thread.kind, ThreadKind::Group));
    assert_eq!(message.thread.title.as_deref(), Some("Support group"));
    assert_eq!(message.sender.id, "8123456789");
    assert_eq!(message.sender.display_name.as_deref(), Some("Ivan Petrov"));
}

#[test]
fn forum_topic_is_part_of_the_thread_id() {
    let message = new_message(
        r#"{"update_id":10,"message":{"message_id":900,"message_thread_id":42,"is_topic_message":true,
        "date":1700000000,"from":{"id":5,"first_name":"Eve"},
        "chat":{"id":-1009876543210,"type":"supergroup","title":"Forum","is_forum":true},
        "reply_to_message":{"message_id":42,"date":1700000000,"chat":{"id":-1009876543210,"type":"supergroup"}},
        "text":"in a topic"}}"#,
    );
    assert_eq!(message.thread.id, "-1009876543210:42");
    assert_eq!(message.provider_message_id, "-1009876543210:900");
    assert_eq!(
        message.reply_to, None,
        "the topic's opening message is not a reply"
    );
}

#[test]
fn reply_chain_in_a_plain_supergroup_stays_in_the_chat_thread() {
    let message = new_message(
        r#"{"update_id":11,"message":{"message_id":901,"message_thread_id":880,
        "date":1700000000,"from":{"id":5,"first_name":"Eve"},
        "chat":{"id":-1001111111111,"type":"supergroup","title":"Plain"},
        "reply_to_message":{"message_id":880,"date":1700000000,"chat":{"id":-1001111111111,"type":"supergroup"}},
        "text":"a reply"}}"#,
    );
    assert_eq!(message.thread.id, "-1001111111111");
    assert_eq!(message.reply_to.as_deref(), Some("-1001111111111:880"));
}

#[test]
fn channel_post_comes_from_the_channel() {
    let message = new_message(
        r#"{"update_id":12,"channel_post":{"message_id":3,"date":1700000000,
        "sender_chat":{"id":-1002222222222,"type":"channel","title":"News","username":"news"},
        "chat":{"id":-1002222222222,"type":"channel","title":"News","username":"news"},
        "text":"announcement"}}"#,
    );
    assert!(matches!(message.thread.kind, ThreadKind::Broadcast));
    assert_eq!(message.sender.id, "-1002222222222");
    assert_eq!(message.sender.display_name.as_deref(), Some("News"));
    assert_eq!(message.sender.username.as_deref(), Some("news"));
}

#[test]
fn edited_channel_post_is_an_edit() {
    let (_, body) = only(
        r#"{"update_id":13,"edited_channel_post":{"message_id":3,"date":1700000000,"edit_date":1700000100,
        "chat":{"id":-1002222222222,"type":"channel","title":"News"},"text":"fixed"}}"#,
    );
    let EventBody::Edit(edit) = body else {
        panic!("expected an edit");
    };
    assert_eq!(edit.provider_message_id, "-1002222222222:3");
    assert_eq!(edit.sender.id, "-1002222222222", "falls back to the chat");
}

const REACTION: &str = r#"{"update_id":20,"message_reaction":{
    "chat":{"id":123456789,"type":"private","first_name":"Anna"},"message_id":512,
    "user":{"id":123456789,"first_name":"Anna"},"date":1767269000,
    "old_reaction":[{"type":"emoji","emoji":"👍"},{"type":"emoji","emoji":"🔥"}],
    "new_reaction":[{"type":"emoji","emoji":"🔥"},{"type":"emoji","emoji":"❤"},{"type":"custom_emoji","custom_emoji_id":"5368324170671202286"},{"type":"paid"}]}}"#;

#[test]
fn reaction_changes_become_one_event_each() {
    let found = events(REACTION);
    let summary: Vec<(String, String, bool)> = found
        .iter()
        .map(|event| match &event.body {
            EventBody::Reaction(reaction) => {
                assert_eq!(reaction.provider_message_id, "123456789:512");
                assert_eq!(reaction.thread.id, "123456789");
                assert_eq!(reaction.sender.id, "123456789");
                assert_eq!(reaction.timestamp_ms, 1_767_269_000_000);
                (
                    event.dedup_key.clone(),
                    reaction.emoji.clone(),
                    reaction.removed,
                )
            }
            other => panic!("expected a reaction, got {other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("update:20".to_string(), "👍".to_string(), true),
            ("update:20:1".to_string(), "❤".to_string(), false),
            (
                "update:20:2".to_string(),
                "custom_emoji:5368324170671202286".to_string(),
                false
            ),
        ]
    );
}

#[test]
fn reaction_without_change_is_ignored() {
    let reason = ignored(
        r#"{"update_id":21,"message_reaction":{"chat":{"id":1,"type":"private"},"message_id":2,
        "user":{"id":1,"first_name":"A"},"date":1,
        "old_reaction":[{"type":"emoji","emoji":"👍"}],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}"#,
    );
    assert!(reason.contains("reaction"), "{reason}");
}

#[test]
fn unknown_update_types_are_ignored_by_name() {
    let (key, body) = only(
        r#"{"update_id":30,"callback_query":{"id":"1","from":{"id":1,"first_name":"A"},"chat_instance":"x","data":"buy"}}"#,
    );
    assert_eq!(key, "update:30");
    assert!(
        matches!(body, EventBody::Ignore(ref reason) if reason == "unsupported update type `callback_query`"),
        "{body:?}"
    );
    assert_eq!(
        ignored(r#"{"update_id":31,"my_chat_member":{}}"#),
        "unsupported update type `my_chat_member`"
    );
}

#[test]
fn group_migration_and_service_messages_are_ignored() {
    let reason = ignored(
        r#"{"update_id":40,"message":{"message_id":5,"date":1,"chat":{"id":-123,"type":"group","title":"G"},
        "from":{"id":1,"first_name":"A"},"migrate_to_chat_id":-1001234567890}}"#,
    );
    assert!(reason.contains("-1001234567890"), "{reason}");
    let reason = ignored(
        r#"{"update_id":41,"message":{"message_id":6,"date":1,"chat":{"id":-123,"type":"group","title":"G"},
        "from":{"id":1,"first_name":"A"},"new_chat_members":[{"id":2,"first_name":"B"}]}}"#,
    );
    assert!(reason.contains("service message"), "{reason}");
}

#[test]
fn bodies_that_are_not_updates_are_malformed() {
    assert!(malformed("not json").starts_with("malformed update:"));
    assert!(
        malformed(r#"{"message":{"message_id":1,"date":1,"chat":{"id":1},"text":"x"}}"#)
            .contains("missing field `update_id`")
    );
    assert!(malformed(r#"{"update_id":1,"message":{"text":"no chat"}}"#).contains("message_id"));
    assert!(malformed(r#"{"update_id":"seven"}"#).starts_with("malformed update:"));
    assert!(malformed("[1]").contains("not a JSON object"));
    assert!(malformed("").starts_with("malformed update:"));
}
