//! The writer against a real SQLite file: idempotency, contacts and
//! conversations, edits, echoes, reactions, deletes and delivery states.

use sqlx::any::AnyRow;
use sqlx::Row;
use tempfile::TempDir;

use super::{apply_batch, Applied};
use crate::pipeline::envelope::Normalized;
use crate::plugin::types::{
    Attachment, AttachmentKind, DeliveryState, Event, EventBody, Message, MessageRef, Participant,
    Reaction, StatusUpdate, Thread, ThreadKind,
};
use crate::store::{inbox, new_id, now_micros, random_token, Db};

const PROVIDER: &str = "telegram";
/// Anna: a private chat whose id is her user id, as on Telegram.
const ANNA: &str = "123456789";
/// Unix milliseconds of the first test message.
const T0: u64 = 1_767_268_800_000;

struct Fixture {
    /// Keeps the database file alive for the test.
    _dir: TempDir,
    db: Db,
    workspace_id: String,
    channel_id: String,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let db = Db::open(&url).await.expect("open the database");
    let workspace_id = new_id();
    sqlx::query(
        "INSERT INTO workspaces (id, name, webhook_key, created_at) VALUES (?, 'Test', ?, ?)",
    )
    .bind(&workspace_id)
    .bind(random_token(16))
    .bind(now_micros())
    .execute(&db.write)
    .await
    .expect("insert the workspace");
    let mut fixture = Fixture {
        _dir: dir,
        db,
        workspace_id,
        channel_id: String::new(),
    };
    fixture.channel_id = fixture.add_channel("123456").await;
    fixture
}

impl Fixture {
    /// A connected channel account of the workspace; returns its id.
    async fn add_channel(&self, provider_account_id: &str) -> String {
        let id = new_id();
        sqlx::query(
            "INSERT INTO channel_accounts (id, workspace_id, provider, name, channel_key, provider_account_id,
                                           display_name, status, public_config, sealed_config, created_at)
             VALUES (?, ?, ?, 'Support', ?, ?, 'Test Bot', 'connected', '{}', ?, ?)",
        )
        .bind(&id)
        .bind(&self.workspace_id)
        .bind(PROVIDER)
        .bind(random_token(16))
        .bind(provider_account_id)
        .bind(vec![0u8, 1, 2, 3])
        .bind(now_micros())
        .execute(&self.db.write)
        .await
        .expect("insert the channel account");
        id
    }

    fn event(&self, dedup_key: &str, body: EventBody) -> Normalized {
        self.event_on(&self.channel_id, dedup_key, body)
    }

    fn event_on(&self, channel_id: &str, dedup_key: &str, body: EventBody) -> Normalized {
        Normalized {
            channel_id: channel_id.to_string(),
            workspace_id: self.workspace_id.clone(),
            provider: PROVIDER.to_string(),
            received_at: 1_767_268_801_000_000,
            event: Event {
                dedup_key: dedup_key.to_string(),
                body,
            },
        }
    }

    async fn apply(&self, batch: &[Normalized]) -> Vec<Applied> {
        apply_batch(&self.db, batch).await.expect("apply the batch")
    }

    async fn apply_one(&self, event: Normalized) -> Applied {
        let results = self.apply(&[event]).await;
        assert_eq!(results.len(), 1, "{results:?}");
        results[0]
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.db.read)
            .await
            .expect("count rows")
    }

    /// The message row of a provider message id on the default channel.
    async fn message_row(&self, provider_message_id: &str) -> AnyRow {
        sqlx::query(
            "SELECT * FROM messages WHERE channel_account_id = ? AND provider_message_id = ?",
        )
        .bind(&self.channel_id)
        .bind(provider_message_id)
        .fetch_optional(&self.db.read)
        .await
        .expect("select the message")
        .unwrap_or_else(|| panic!("no message {provider_message_id}"))
    }

    async fn status_of(&self, message_id: &str) -> (String, Option<String>) {
        let row = sqlx::query("SELECT status, error FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_one(&self.db.read)
            .await
            .expect("select the message");
        (row.get("status"), row.get("error"))
    }

    /// The identity (id, contact id) of a provider user on the default channel.
    async fn identity(&self, provider_user_id: &str) -> (String, String) {
        let row = sqlx::query(
            "SELECT id, contact_id FROM contact_identities WHERE channel_account_id = ? AND provider_user_id = ?",
        )
        .bind(&self.channel_id)
        .bind(provider_user_id)
        .fetch_optional(&self.db.read)
        .await
        .expect("select the identity")
        .unwrap_or_else(|| panic!("no identity for {provider_user_id}"));
        (row.get("id"), row.get("contact_id"))
    }

    async fn conversation_id(&self, provider_thread_id: &str) -> String {
        sqlx::query_scalar(
            "SELECT id FROM conversations WHERE channel_account_id = ? AND provider_thread_id = ?",
        )
        .bind(&self.channel_id)
        .bind(provider_thread_id)
        .fetch_one(&self.db.read)
        .await
        .expect("select the conversation")
    }

    /// Anna's first message, then an operator reply that the provider
    /// accepted as `provider_message_id` but that is still pending here.
    /// Returns the reply's id.
    async fn pending_reply(&self, provider_message_id: &str) -> String {
        let first = anna_says("update:1", &format!("{ANNA}:512"), "Hi");
        assert_eq!(self.apply_one(self.event_of(first)).await, Applied::Written);
        let conversation_id = self.conversation_id(ANNA).await;
        let (id, channel) =
            inbox::insert_reply(&self.db, &conversation_id, Some("On its way"), None, None)
                .await
                .expect("insert the reply")
                .expect("the conversation exists");
        assert_eq!(channel, self.channel_id);
        sqlx::query("UPDATE messages SET provider_message_id = ? WHERE id = ?")
            .bind(provider_message_id)
            .bind(&id)
            .execute(&self.db.write)
            .await
            .expect("set the provider message id");
        id
    }

    fn event_of(&self, (dedup_key, body): (String, EventBody)) -> Normalized {
        self.event(&dedup_key, body)
    }
}

fn person(id: &str, name: &str, username: Option<&str>) -> Participant {
    Participant {
        id: id.to_string(),
        display_name: Some(name.to_string()),
        username: username.map(str::to_string),
        phone: None,
        alternate_ids: Vec::new(),
    }
}

fn direct(id: &str) -> Thread {
    Thread {
        id: id.to_string(),
        kind: ThreadKind::Direct,
        title: None,
    }
}

fn group(id: &str, title: &str) -> Thread {
    Thread {
        id: id.to_string(),
        kind: ThreadKind::Group,
        title: Some(title.to_string()),
    }
}

fn message(
    provider_message_id: &str,
    thread: Thread,
    sender: Participant,
    text: &str,
    timestamp_ms: u64,
) -> Message {
    Message {
        provider_message_id: provider_message_id.to_string(),
        thread,
        sender,
        timestamp_ms,
        text: Some(text.to_string()),
        attachments: Vec::new(),
        reply_to: None,
    }
}

fn anna() -> Participant {
    person(ANNA, "Anna", Some("anna_k"))
}

fn bot() -> Participant {
    person("123456", "Test Bot", Some("test_bot"))
}

/// A message from Anna in her private chat.
fn anna_message(provider_message_id: &str, text: &str) -> Message {
    message(provider_message_id, direct(ANNA), anna(), text, T0)
}

fn anna_says(dedup_key: &str, provider_message_id: &str, text: &str) -> (String, EventBody) {
    (
        dedup_key.to_string(),
        EventBody::Message(anna_message(provider_message_id, text)),
    )
}

fn status(provider_message_id: &str, state: DeliveryState, error: Option<&str>) -> EventBody {
    EventBody::Status(StatusUpdate {
        provider_message_id: provider_message_id.to_string(),
        thread: direct(ANNA),
        state,
        error: error.map(str::to_string),
        timestamp_ms: T0 + 5_000,
    })
}

fn reaction(provider_message_id: &str, emoji: &str, removed: bool, at: u64) -> EventBody {
    EventBody::Reaction(Reaction {
        provider_message_id: provider_message_id.to_string(),
        thread: direct(ANNA),
        sender: anna(),
        emoji: emoji.to_string(),
        removed,
        timestamp_ms: at,
    })
}

fn json_column(row: &AnyRow, column: &str) -> serde_json::Value {
    serde_json::from_str(&row.get::<String, _>(column)).expect("the column holds JSON")
}

#[tokio::test]
async fn a_message_creates_one_contact_identity_conversation_and_message() {
    let fx = fixture().await;
    let mut photo = anna_message("123456789:513", "this one");
    photo.reply_to = Some("123456789:510".into());
    photo.attachments.push(Attachment {
        kind: AttachmentKind::Image,
        provider_ref: "AgAC..l".into(),
        mime_type: None,
        file_name: None,
        size_bytes: Some(1234),
        width: Some(1280),
        height: Some(960),
        duration_secs: None,
        metadata: vec![("file_unique_id".into(), "AQs2".into())],
    });
    let event = fx.event("update:804112234", EventBody::Message(photo));

    assert_eq!(fx.apply(&[event]).await, [Applied::Written]);

    for (table, expected) in [
        ("contacts", 1),
        ("contact_identities", 1),
        ("conversations", 1),
        ("messages", 1),
        ("inbound_events", 1),
    ] {
        assert_eq!(fx.count(table).await, expected, "rows in {table}");
    }
    let identity = sqlx::query("SELECT * FROM contact_identities")
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(identity.get::<String, _>("provider"), PROVIDER);
    assert_eq!(identity.get::<String, _>("provider_user_id"), ANNA);
    assert_eq!(
        identity.get::<Option<String>, _>("display_name").as_deref(),
        Some("Anna")
    );
    assert_eq!(
        identity.get::<Option<String>, _>("username").as_deref(),
        Some("anna_k")
    );
    let contact_id: String = identity.get("contact_id");
    let contact_name: Option<String> =
        sqlx::query_scalar("SELECT name FROM contacts WHERE id = ? AND workspace_id = ?")
            .bind(&contact_id)
            .bind(&fx.workspace_id)
            .fetch_one(&fx.db.read)
            .await
            .unwrap();
    assert_eq!(contact_name.as_deref(), Some("Anna"));

    let conversation = sqlx::query("SELECT * FROM conversations")
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(conversation.get::<String, _>("provider_thread_id"), ANNA);
    assert_eq!(conversation.get::<String, _>("kind"), "direct");
    assert_eq!(conversation.get::<String, _>("contact_id"), contact_id);
    assert_eq!(
        conversation.get::<String, _>("workspace_id"),
        fx.workspace_id
    );
    assert!(conversation
        .get::<Option<i64>, _>("last_message_at")
        .is_some());

    let row = fx.message_row("123456789:513").await;
    assert_eq!(row.get::<String, _>("direction"), "in");
    assert_eq!(row.get::<String, _>("status"), "received");
    assert_eq!(
        row.get::<Option<String>, _>("text").as_deref(),
        Some("this one")
    );
    assert_eq!(
        row.get::<Option<String>, _>("reply_to").as_deref(),
        Some("123456789:510")
    );
    assert_eq!(
        row.get::<String, _>("conversation_id"),
        conversation.get::<String, _>("id")
    );
    assert_eq!(
        row.get::<Option<String>, _>("sender_identity_id"),
        Some(identity.get::<String, _>("id"))
    );
    assert_eq!(row.get::<Option<i64>, _>("sent_at"), Some(T0 as i64 * 1000));
    assert_eq!(
        row.get::<Option<i64>, _>("received_at"),
        Some(1_767_268_801_000_000)
    );
    assert!(row.get::<Option<i64>, _>("edited_at").is_none());
    assert!(row.get::<Option<i64>, _>("deleted_at").is_none());
    let attachments = json_column(&row, "attachments");
    assert_eq!(
        attachments,
        serde_json::json!([{
            "kind": "image",
            "provider_ref": "AgAC..l",
            "mime_type": null,
            "file_name": null,
            "size_bytes": 1234,
            "width": 1280,
            "height": 960,
            "duration_secs": null,
            "metadata": {"file_unique_id": "AQs2"},
        }])
    );
    assert_eq!(json_column(&row, "reactions"), serde_json::json!([]));
}

#[tokio::test]
async fn a_second_message_from_the_same_person_reuses_contact_and_conversation() {
    let fx = fixture().await;
    let batch = [
        fx.event_of(anna_says("update:1", "123456789:512", "one")),
        fx.event_of(anna_says("update:2", "123456789:514", "two")),
    ];
    assert_eq!(fx.apply(&batch).await, [Applied::Written, Applied::Written]);
    assert_eq!(
        fx.apply_one(fx.event_of(anna_says("update:3", "123456789:515", "three")))
            .await,
        Applied::Written
    );
    assert_eq!(fx.count("contacts").await, 1);
    assert_eq!(fx.count("contact_identities").await, 1);
    assert_eq!(fx.count("conversations").await, 1);
    assert_eq!(fx.count("messages").await, 3);
}

#[tokio::test]
async fn the_same_event_twice_in_one_batch_is_a_duplicate() {
    let fx = fixture().await;
    let event = fx.event_of(anna_says("update:804112233", "123456789:512", "Hi"));
    let results = fx.apply(&[event.clone(), event]).await;
    assert_eq!(results, [Applied::Written, Applied::Duplicate]);
    assert_eq!(fx.count("messages").await, 1);
    assert_eq!(fx.count("contacts").await, 1);
    assert_eq!(fx.count("inbound_events").await, 1);
}

#[tokio::test]
async fn the_same_event_in_separate_batches_is_a_duplicate() {
    let fx = fixture().await;
    let event = fx.event_of(anna_says("update:804112233", "123456789:512", "Hi"));
    assert_eq!(fx.apply_one(event.clone()).await, Applied::Written);
    assert_eq!(fx.apply_one(event.clone()).await, Applied::Duplicate);
    assert_eq!(fx.apply_one(event).await, Applied::Duplicate);
    assert_eq!(fx.count("messages").await, 1);
    assert_eq!(fx.count("contacts").await, 1);
    assert_eq!(fx.count("conversations").await, 1);
    assert_eq!(fx.count("inbound_events").await, 1);
}

#[tokio::test]
async fn two_keys_for_one_provider_message_write_one_row() {
    let fx = fixture().await;
    let first = fx.event_of(anna_says("update:1", "123456789:512", "first copy"));
    let second = fx.event_of(anna_says("update:2", "123456789:512", "second copy"));
    assert_eq!(
        fx.apply(&[first, second]).await,
        [Applied::Written, Applied::Duplicate]
    );
    // And in a later batch, under a third key.
    let third = fx.event_of(anna_says("update:3", "123456789:512", "third copy"));
    assert_eq!(fx.apply_one(third).await, Applied::Duplicate);

    assert_eq!(fx.count("messages").await, 1);
    let row = fx.message_row("123456789:512").await;
    assert_eq!(
        row.get::<Option<String>, _>("text").as_deref(),
        Some("first copy"),
        "the first write wins"
    );
    // Every key is claimed, so each redelivery is cheap.
    assert_eq!(fx.count("inbound_events").await, 3);
}

#[tokio::test]
async fn the_same_provider_message_on_two_channels_is_two_rows() {
    let fx = fixture().await;
    let other = fx.add_channel("654321").await;
    let body = || EventBody::Message(anna_message("123456789:512", "Hi"));
    let batch = [
        fx.event("update:1", body()),
        fx.event_on(&other, "update:1", body()),
    ];
    assert_eq!(fx.apply(&batch).await, [Applied::Written, Applied::Written]);
    assert_eq!(fx.count("messages").await, 2);
    assert_eq!(fx.count("conversations").await, 2);
    assert_eq!(fx.count("contact_identities").await, 2);
}

#[tokio::test]
async fn an_edit_updates_text_and_edited_at_without_a_new_row() {
    let fx = fixture().await;
    let original = anna_says(
        "update:804112233",
        "123456789:512",
        "Hi, is the order ready?",
    );
    assert_eq!(fx.apply_one(fx.event_of(original)).await, Applied::Written);
    let before = fx.message_row("123456789:512").await;

    let edited = message(
        "123456789:512",
        direct(ANNA),
        anna(),
        "Is order #42 ready?",
        T0 + 100_000,
    );
    let event = fx.event("update:804112235", EventBody::Edit(edited));
    assert_eq!(fx.apply_one(event).await, Applied::Written);

    assert_eq!(fx.count("messages").await, 1);
    let after = fx.message_row("123456789:512").await;
    assert_eq!(after.get::<String, _>("id"), before.get::<String, _>("id"));
    assert_eq!(
        after.get::<Option<String>, _>("text").as_deref(),
        Some("Is order #42 ready?")
    );
    assert_eq!(
        after.get::<Option<i64>, _>("edited_at"),
        Some((T0 as i64 + 100_000) * 1000)
    );
    assert_eq!(
        after.get::<i64, _>("created_at"),
        before.get::<i64, _>("created_at")
    );
    assert_eq!(after.get::<String, _>("direction"), "in");
    assert_eq!(after.get::<String, _>("status"), "received");
}

#[tokio::test]
async fn an_edit_of_an_unseen_message_stores_it() {
    let fx = fixture().await;
    let edited = message(
        "123456789:400",
        direct(ANNA),
        anna(),
        "written before the channel was connected",
        T0 + 100_000,
    );
    let event = fx.event("update:9", EventBody::Edit(edited));
    assert_eq!(fx.apply_one(event).await, Applied::Written);

    assert_eq!(fx.count("messages").await, 1);
    assert_eq!(fx.count("conversations").await, 1);
    assert_eq!(fx.count("contacts").await, 1);
    let row = fx.message_row("123456789:400").await;
    assert_eq!(row.get::<String, _>("direction"), "in");
    assert_eq!(
        row.get::<Option<String>, _>("text").as_deref(),
        Some("written before the channel was connected")
    );
    assert_eq!(
        row.get::<Option<i64>, _>("edited_at"),
        Some((T0 as i64 + 100_000) * 1000)
    );
    let (identity_id, _) = fx.identity(ANNA).await;
    assert_eq!(
        row.get::<Option<String>, _>("sender_identity_id"),
        Some(identity_id)
    );
}

#[tokio::test]
async fn a_group_thread_belongs_to_the_group_and_each_sender_has_an_identity() {
    let fx = fixture().await;
    let desk = group("-4001234567", "Order desk");
    let boris = person("222000111", "Boris", Some("boris_b"));
    let clara = person("333000222", "Clara", None);
    let batch = [
        fx.event(
            "update:1",
            EventBody::Message(message(
                "-4001234567:600",
                desk.clone(),
                boris,
                "Boris in the group",
                T0,
            )),
        ),
        fx.event(
            "update:2",
            EventBody::Message(message(
                "-4001234567:601",
                desk,
                clara,
                "Clara in the group",
                T0 + 1_000,
            )),
        ),
    ];
    assert_eq!(fx.apply(&batch).await, [Applied::Written, Applied::Written]);

    assert_eq!(fx.count("conversations").await, 1);
    assert_eq!(fx.count("messages").await, 2);
    // The group, Boris and Clara.
    assert_eq!(fx.count("contacts").await, 3);
    assert_eq!(fx.count("contact_identities").await, 3);

    let conversation = sqlx::query("SELECT * FROM conversations")
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(
        conversation.get::<String, _>("provider_thread_id"),
        "-4001234567"
    );
    assert_eq!(conversation.get::<String, _>("kind"), "group");
    assert_eq!(
        conversation.get::<Option<String>, _>("title").as_deref(),
        Some("Order desk")
    );
    let (_, group_contact) = fx.identity("thread:-4001234567").await;
    assert_eq!(conversation.get::<String, _>("contact_id"), group_contact);
    let group_name: Option<String> = sqlx::query_scalar("SELECT name FROM contacts WHERE id = ?")
        .bind(&group_contact)
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(group_name.as_deref(), Some("Order desk"));

    let (boris_identity, boris_contact) = fx.identity("222000111").await;
    let (clara_identity, clara_contact) = fx.identity("333000222").await;
    assert_ne!(boris_identity, clara_identity);
    assert_ne!(boris_contact, clara_contact);
    assert_ne!(boris_contact, group_contact);
    assert_ne!(clara_contact, group_contact);
    let from_boris = fx.message_row("-4001234567:600").await;
    let from_clara = fx.message_row("-4001234567:601").await;
    assert_eq!(
        from_boris.get::<Option<String>, _>("sender_identity_id"),
        Some(boris_identity)
    );
    assert_eq!(
        from_clara.get::<Option<String>, _>("sender_identity_id"),
        Some(clara_identity)
    );
    let clara_name: Option<String> = sqlx::query_scalar("SELECT name FROM contacts WHERE id = ?")
        .bind(&clara_contact)
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(clara_name.as_deref(), Some("Clara"));
}

#[tokio::test]
async fn status_updates_move_forward_and_never_back() {
    let fx = fixture().await;
    let reply = fx.pending_reply("123456789:1000").await;
    assert_eq!(fx.status_of(&reply).await.0, "pending");

    let steps = [
        ("s1", DeliveryState::Sent, Applied::Written, "sent"),
        (
            "s2",
            DeliveryState::Delivered,
            Applied::Written,
            "delivered",
        ),
        ("s3", DeliveryState::Read, Applied::Written, "read"),
        // Late or out-of-order updates leave "read" alone.
        ("s4", DeliveryState::Delivered, Applied::Ignored, "read"),
        ("s5", DeliveryState::Sent, Applied::Ignored, "read"),
    ];
    for (key, state, expected, after) in steps {
        let event = fx.event(key, status("123456789:1000", state, None));
        assert_eq!(fx.apply_one(event).await, expected, "status {key}");
        assert_eq!(fx.status_of(&reply).await.0, after, "after status {key}");
    }
    let failed = fx.event(
        "s6",
        status(
            "123456789:1000",
            DeliveryState::Failed,
            Some("bot was blocked"),
        ),
    );
    assert_eq!(fx.apply_one(failed).await, Applied::Ignored);
    assert_eq!(fx.status_of(&reply).await, ("read".to_string(), None));
    assert_eq!(fx.count("messages").await, 2, "statuses never add rows");
}

#[tokio::test]
async fn a_failed_status_records_its_error_and_a_late_sent_does_not_undo_it() {
    let fx = fixture().await;
    let reply = fx.pending_reply("123456789:1000").await;
    let failed = fx.event(
        "s1",
        status(
            "123456789:1000",
            DeliveryState::Failed,
            Some("bot was blocked"),
        ),
    );
    assert_eq!(fx.apply_one(failed).await, Applied::Written);
    let sent = fx.event("s2", status("123456789:1000", DeliveryState::Sent, None));
    assert_eq!(fx.apply_one(sent).await, Applied::Ignored);
    assert_eq!(
        fx.status_of(&reply).await,
        ("failed".to_string(), Some("bot was blocked".to_string()))
    );
}

#[tokio::test]
async fn a_status_never_touches_an_inbound_message_or_an_unknown_one() {
    let fx = fixture().await;
    let inbound = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(inbound)).await, Applied::Written);
    let on_inbound = fx.event("s1", status("123456789:512", DeliveryState::Read, None));
    assert_eq!(fx.apply_one(on_inbound).await, Applied::Ignored);
    let row = fx.message_row("123456789:512").await;
    assert_eq!(row.get::<String, _>("status"), "received");

    let unknown = fx.event("s2", status("123456789:9999", DeliveryState::Read, None));
    assert_eq!(fx.apply_one(unknown).await, Applied::Ignored);
    assert_eq!(fx.count("messages").await, 1);
}

#[tokio::test]
async fn an_echo_of_our_own_reply_writes_no_new_row() {
    let fx = fixture().await;
    let first = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(first)).await, Applied::Written);
    let conversation_id = fx.conversation_id(ANNA).await;
    let (reply, _) = inbox::insert_reply(&fx.db, &conversation_id, Some("On its way"), None, None)
        .await
        .unwrap()
        .unwrap();
    inbox::mark_sent(&fx.db, &reply, "123456789:1000")
        .await
        .unwrap();

    let echo = message(
        "123456789:1000",
        direct(ANNA),
        bot(),
        "On its way",
        T0 + 9_000,
    );
    let event = fx.event("update:2", EventBody::Echo(echo));
    assert_eq!(fx.apply_one(event).await, Applied::Duplicate);

    assert_eq!(
        fx.count("messages").await,
        2,
        "Anna's message and the reply"
    );
    let row = fx.message_row("123456789:1000").await;
    assert_eq!(row.get::<String, _>("id"), reply);
    assert_eq!(row.get::<String, _>("direction"), "out");
    assert_eq!(row.get::<String, _>("status"), "sent");
    assert_eq!(fx.count("contacts").await, 1, "the bot is not a contact");
}

#[tokio::test]
async fn an_echo_that_overtakes_mark_sent_still_leaves_one_sent_row() {
    let fx = fixture().await;
    let first = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(first)).await, Applied::Written);
    let conversation_id = fx.conversation_id(ANNA).await;
    let (reply, _) = inbox::insert_reply(&fx.db, &conversation_id, Some("On its way"), None, None)
        .await
        .unwrap()
        .unwrap();

    // The provider accepted the reply and its echo webhook is written before
    // the outbound worker records the provider's answer.
    let echo = message(
        "123456789:1000",
        direct(ANNA),
        bot(),
        "On its way",
        T0 + 9_000,
    );
    fx.apply_one(fx.event("update:2", EventBody::Echo(echo)))
        .await;
    let marked = inbox::mark_sent(&fx.db, &reply, "123456789:1000").await;

    assert!(marked.is_ok(), "mark_sent failed: {marked:?}");
    assert_eq!(
        fx.count("messages").await,
        2,
        "Anna's message and one reply"
    );
    assert_eq!(fx.status_of(&reply).await.0, "sent");
}

#[tokio::test]
async fn an_echo_from_the_native_app_is_stored_as_outbound() {
    let fx = fixture().await;
    // The business writes first, from the provider's own app: the thread is
    // the customer's, and the customer is the conversation's contact.
    let mut thread = direct("555000111");
    thread.title = Some("Dan".into());
    let echo = message("555000111:1", thread.clone(), bot(), "Hello Dan", T0);
    assert_eq!(
        fx.apply_one(fx.event("update:1", EventBody::Echo(echo)))
            .await,
        Applied::Written
    );
    let row = fx.message_row("555000111:1").await;
    assert_eq!(row.get::<String, _>("direction"), "out");
    assert_eq!(row.get::<String, _>("status"), "sent");
    assert!(row.get::<Option<String>, _>("sender_identity_id").is_none());
    let (_, dan_contact) = fx.identity("555000111").await;
    let conversation_id = fx.conversation_id("555000111").await;
    let contact: String = sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
        .bind(&conversation_id)
        .fetch_one(&fx.db.read)
        .await
        .unwrap();
    assert_eq!(contact, dan_contact);

    // Dan answers: same contact, same conversation.
    let answer = message(
        "555000111:2",
        thread,
        person("555000111", "Dan", None),
        "Hi!",
        T0 + 1_000,
    );
    assert_eq!(
        fx.apply_one(fx.event("update:2", EventBody::Message(answer)))
            .await,
        Applied::Written
    );
    assert_eq!(fx.count("contacts").await, 1);
    assert_eq!(fx.count("conversations").await, 1);
    assert_eq!(fx.count("messages").await, 2);
}

#[tokio::test]
async fn a_reaction_is_added_then_removed() {
    let fx = fixture().await;
    let first = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(first)).await, Applied::Written);

    let add = fx.event(
        "update:2",
        reaction("123456789:512", "👍", false, T0 + 1_000),
    );
    assert_eq!(fx.apply_one(add).await, Applied::Written);
    let row = fx.message_row("123456789:512").await;
    assert_eq!(
        json_column(&row, "reactions"),
        serde_json::json!([{"emoji": "👍", "by": ANNA, "at": T0 + 1_000}])
    );

    // The same reaction again (another update) does not stack.
    let again = fx.event(
        "update:3",
        reaction("123456789:512", "👍", false, T0 + 2_000),
    );
    assert_eq!(fx.apply_one(again).await, Applied::Written);
    let row = fx.message_row("123456789:512").await;
    let reactions = json_column(&row, "reactions");
    assert_eq!(reactions.as_array().map(Vec::len), Some(1), "{reactions}");

    let remove = fx.event(
        "update:4",
        reaction("123456789:512", "👍", true, T0 + 3_000),
    );
    assert_eq!(fx.apply_one(remove).await, Applied::Written);
    let row = fx.message_row("123456789:512").await;
    assert_eq!(json_column(&row, "reactions"), serde_json::json!([]));
    assert_eq!(fx.count("messages").await, 1);
}

#[tokio::test]
async fn events_on_a_message_in_its_own_batch_apply_after_it() {
    // The message waits in the writer's buffer; the reaction and the edit
    // behind it in the batch must still find it.
    let fx = fixture().await;
    let batch = vec![
        fx.event_of(anna_says("update:1", "123456789:512", "Hi")),
        fx.event(
            "update:2",
            reaction("123456789:512", "👍", false, T0 + 1_000),
        ),
        fx.event(
            "update:3",
            EventBody::Edit(message(
                "123456789:512",
                direct(ANNA),
                anna(),
                "Hi there",
                T0 + 2_000,
            )),
        ),
        fx.event_of(anna_says("update:4", "123456789:513", "Still there?")),
    ];
    assert_eq!(
        fx.apply(&batch).await,
        vec![Applied::Written; 4],
        "every event of the batch applies"
    );
    let row = fx.message_row("123456789:512").await;
    assert_eq!(
        row.get::<Option<String>, _>("text").as_deref(),
        Some("Hi there")
    );
    assert_eq!(
        json_column(&row, "reactions"),
        serde_json::json!([{"emoji": "👍", "by": ANNA, "at": T0 + 1_000}])
    );
    assert_eq!(fx.count("messages").await, 2);
    assert_eq!(fx.count("conversations").await, 1);
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_writes_every_message_once() {
    // 450 messages from 300 people: more rows than one multi-row statement
    // takes, and more people than one preload query names.
    let fx = fixture().await;
    let people = 300;
    let batch: Vec<Normalized> = (0..450)
        .map(|i| {
            let user = (1_000 + i % people).to_string();
            let body = EventBody::Message(message(
                &format!("{user}:{i}"),
                direct(&user),
                person(&user, &format!("Customer {user}"), None),
                &format!("message {i}"),
                T0 + i as u64,
            ));
            fx.event(&format!("update:{i}"), body)
        })
        .collect();
    assert_eq!(fx.apply(&batch).await, vec![Applied::Written; 450]);
    assert_eq!(fx.count("messages").await, 450);
    assert_eq!(fx.count("contacts").await, people as i64);
    assert_eq!(fx.count("conversations").await, people as i64);

    // Redelivered together with one new message: only the new one is written.
    let mut again = batch.clone();
    again.push(fx.event_of(anna_says("update:9999", "123456789:1", "New")));
    let applied = fx.apply(&again).await;
    assert_eq!(applied[..450], vec![Applied::Duplicate; 450][..]);
    assert_eq!(applied[450], Applied::Written);
    assert_eq!(fx.count("messages").await, 451);
    assert_eq!(fx.count("contacts").await, people as i64 + 1);
}

#[tokio::test]
async fn a_renamed_customer_is_renamed_once_the_batch_sees_it() {
    let fx = fixture().await;
    let first = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(first)).await, Applied::Written);
    let renamed = message(
        "123456789:513",
        direct(ANNA),
        person(ANNA, "Anna K.", Some("anna_k")),
        "It's me",
        T0 + 1_000,
    );
    assert_eq!(
        fx.apply_one(fx.event("update:2", EventBody::Message(renamed)))
            .await,
        Applied::Written
    );
    let name: Option<String> = sqlx::query_scalar(
        "SELECT display_name FROM contact_identities WHERE provider_user_id = ?",
    )
    .bind(ANNA)
    .fetch_one(&fx.db.read)
    .await
    .expect("select the identity");
    assert_eq!(name.as_deref(), Some("Anna K."));
}

#[tokio::test]
async fn alternate_ids_of_a_sender_are_identities_of_the_same_contact() {
    // WhatsApp: the phone number (wa_id) and the business-scoped user id.
    let fx = fixture().await;
    let mut sender = person("79161234567", "Ivan", None);
    sender.alternate_ids = vec!["US.1349".to_string()];
    let body = EventBody::Message(message(
        "wamid.1",
        direct("79161234567"),
        sender.clone(),
        "Hello",
        T0,
    ));
    assert_eq!(
        fx.apply_one(fx.event("wamid.1", body)).await,
        Applied::Written
    );
    let (_, by_phone) = fx.identity("79161234567").await;
    let (_, by_bsuid) = fx.identity("US.1349").await;
    assert_eq!(by_phone, by_bsuid, "one contact, two identities");
    assert_eq!(fx.count("contacts").await, 1);

    let again = EventBody::Message(message(
        "wamid.2",
        direct("79161234567"),
        sender,
        "Again",
        T0 + 1,
    ));
    assert_eq!(
        fx.apply_one(fx.event("wamid.2", again)).await,
        Applied::Written
    );
    assert_eq!(fx.count("contact_identities").await, 2);
}

#[tokio::test]
async fn a_reaction_to_an_unknown_message_is_ignored() {
    let fx = fixture().await;
    let event = fx.event("update:1", reaction("123456789:404", "👍", false, T0));
    assert_eq!(fx.apply_one(event).await, Applied::Ignored);
    assert_eq!(fx.count("messages").await, 0);
}

#[tokio::test]
async fn a_delete_sets_deleted_at_and_keeps_the_row() {
    let fx = fixture().await;
    let first = anna_says("update:1", "123456789:512", "Hi");
    assert_eq!(fx.apply_one(fx.event_of(first)).await, Applied::Written);
    let delete = EventBody::Delete(MessageRef {
        provider_message_id: "123456789:512".into(),
        thread: direct(ANNA),
        timestamp_ms: T0 + 60_000,
    });
    assert_eq!(
        fx.apply_one(fx.event("update:2", delete)).await,
        Applied::Written
    );
    assert_eq!(fx.count("messages").await, 1);
    let row = fx.message_row("123456789:512").await;
    assert_eq!(
        row.get::<Option<i64>, _>("deleted_at"),
        Some((T0 as i64 + 60_000) * 1000)
    );
    assert_eq!(row.get::<Option<String>, _>("text").as_deref(), Some("Hi"));
}

#[tokio::test]
async fn ignore_is_ignored_and_still_claims_its_key() {
    let fx = fixture().await;
    let event = fx.event(
        "update:77",
        EventBody::Ignore("a service message".to_string()),
    );
    assert_eq!(fx.apply_one(event.clone()).await, Applied::Ignored);
    let claimed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM inbound_events WHERE channel_account_id = ? AND dedup_key = 'update:77'",
    )
    .bind(&fx.channel_id)
    .fetch_one(&fx.db.read)
    .await
    .unwrap();
    assert_eq!(claimed, 1);
    assert_eq!(fx.apply_one(event).await, Applied::Duplicate);
    for table in [
        "messages",
        "conversations",
        "contacts",
        "contact_identities",
    ] {
        assert_eq!(fx.count(table).await, 0, "rows in {table}");
    }
}

#[test]
fn applied_names() {
    assert_eq!(Applied::Written.as_str(), "written");
    assert_eq!(Applied::Duplicate.as_str(), "duplicate");
    assert_eq!(Applied::Ignored.as_str(), "ignored");
}
