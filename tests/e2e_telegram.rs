//! End to end: the real `switchboard` binary with the Telegram plugin against
//! a fake Telegram Bot API on loopback.
//!
//! Needs the plugins built first: `scripts/build-plugins.sh`.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};

use support::api::Api;
use support::fake_telegram::updates::{self, ANNA_CHAT};
use support::fake_telegram::{FILE_BYTES, FILE_PATH};
use support::{eventually, pretty, str_of, Channel, Env, BOT_ID, BOT_TOKEN, PROCESSING_TIMEOUT};

/// The part of the token that must never come back out of the API.
const TOKEN_SECRET_PART: &str = "TEST-token";

fn assert_no_token(what: &str, body: &str) {
    assert!(
        !body.contains(BOT_TOKEN) && !body.contains(TOKEN_SECRET_PART),
        "{what} echoes the bot token: {body}"
    );
}

fn is_telegram_secret(secret: &str) -> bool {
    (1..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn texts(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or(""))
        .collect()
}

/// Starts a server, connects one Telegram channel and posts Anna's first
/// message; returns once her conversation exists.
async fn with_anna() -> (Env, Channel, String) {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let conversation_id = anna_writes_first(&env, &channel).await;
    (env, channel, conversation_id)
}

/// Posts Anna's first message to `channel` and waits until it is stored;
/// returns her conversation's id.
async fn anna_writes_first(env: &Env, channel: &Channel) -> String {
    let resp = env
        .hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::anna_text(),
        )
        .await;
    resp.expect(200, "deliver Anna's message");
    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    env.wait_message_text(&conversation_id, "Hi, is the order ready?")
        .await;
    conversation_id
}

/// How many topics each role's consumer reads, from the server's metrics.
/// A role whose consumer has not subscribed yet has no value (-1).
async fn subscribed_topics(env: &Env) -> [i64; 3] {
    let metrics = env.server.metrics().await;
    ["inbound", "writer", "outbound"].map(|role| {
        let group = format!("switchboard-{role}");
        let labels = [("group", group.as_str())];
        let value = metrics
            .matching("switchboard_bus_subscribed_topics", &labels)
            .next()
            .map_or(-1, |sample| sample.value as i64);
        value
    })
}

/// Five plugins are loaded, but the inbound and outbound roles read only the
/// topics of providers that have a channel (a broker pays for every idle
/// partition of every fetch). The first Telegram channel adds its two
/// topics, and a webhook sent the moment it is connected is stored.
#[tokio::test]
async fn roles_read_only_the_topics_of_providers_with_channels() {
    let env = Env::start().await;
    assert!(
        env.api.plugins().await.len() >= 4,
        "the production plugins are loaded"
    );
    eventually("the roles to subscribe", PROCESSING_TIMEOUT, || async {
        let topics = subscribed_topics(&env).await;
        // [inbound, writer, outbound]: the writer always reads the normalized topic.
        if topics == [0, 1, 0] {
            Ok(())
        } else {
            Err(format!("{topics:?}"))
        }
    })
    .await;

    // Sent the moment the channel exists.
    let channel = env.connect_telegram("Support").await;
    anna_writes_first(&env, &channel).await;
    eventually(
        "Telegram's topics to be read",
        PROCESSING_TIMEOUT,
        || async {
            let topics = subscribed_topics(&env).await;
            if topics == [1, 1, 1] {
                Ok(())
            } else {
                Err(format!("{topics:?}"))
            }
        },
    )
    .await;

    // Deleting the channel keeps its provider's topics read: what it left
    // there is still drained.
    env.api
        .delete_channel(env.ws(), &channel.id)
        .await
        .expect(204, "delete the channel");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(subscribed_topics(&env).await, [1, 1, 1]);
}

/// Posts a valid update from Anna and waits for it: a sentinel that proves
/// earlier requests on the same chat have been processed, then returns the
/// conversation's messages.
async fn sentinel(env: &Env, channel: &Channel, update_id: i64, message_id: i64) -> Vec<Value> {
    let text = format!("sentinel {update_id}");
    env.hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::anna_says(update_id, message_id, &text),
        )
        .await
        .expect(200, "deliver the sentinel update");
    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    env.wait_message_text(&str_of(&conversation, "id").unwrap(), &text)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_registers_the_webhook_and_hides_the_token() {
    let env = Env::start().await;

    let plugins = env.api.plugins().await;
    let telegram = plugins
        .iter()
        .find(|p| p["id"] == "telegram")
        .unwrap_or_else(|| {
            panic!(
                "GET /api/v1/plugins does not list telegram: {}",
                pretty(&plugins)
            )
        });
    for field in [
        "display_name",
        "version",
        "contract_version",
        "routing",
        "capabilities",
    ] {
        assert!(
            !telegram[field].is_null(),
            "the telegram manifest lacks {field}: {telegram:#}"
        );
    }
    assert_eq!(telegram["contract_version"], "0.2.0", "{telegram:#}");
    let fields = telegram["config_fields"]
        .as_array()
        .expect("config_fields is a list");
    let bot_token = fields
        .iter()
        .find(|f| f["name"] == "bot_token")
        .unwrap_or_else(|| panic!("no bot_token config field: {telegram:#}"));
    assert_eq!(
        bot_token["secret"], true,
        "the bot token is a secret field: {bot_token:#}"
    );

    let resp = env
        .api
        .create_channel(
            env.ws(),
            &json!({
                "provider": "telegram",
                "name": "Support",
                "config": {"bot_token": BOT_TOKEN, "api_base": env.fake.api_base()},
            }),
        )
        .await;
    assert_no_token("POST channels", &resp.body);
    let created = resp.expect(201, "connect a telegram channel");
    let channel_id = str_of(&created, "id").expect("the channel has an id");
    assert_eq!(created["provider"], "telegram", "{created:#}");
    assert_eq!(created["name"], "Support", "{created:#}");
    assert_eq!(created["status"], "connected", "{created:#}");
    assert_eq!(
        str_of(&created, "provider_account_id").as_deref(),
        Some(BOT_ID),
        "the account id is the bot id from getMe: {created:#}"
    );
    let display_name = created["display_name"].as_str().unwrap_or_default();
    assert!(!display_name.is_empty(), "{created:#}");
    let webhook_url = created["webhook_url"].as_str().expect("a webhook_url");
    let expected_prefix = format!("{}/webhooks/telegram/", env.server.base_url());
    assert!(
        webhook_url.starts_with(&expected_prefix) && webhook_url.len() > expected_prefix.len(),
        "the webhook URL {webhook_url} is not a per-account URL under {expected_prefix}"
    );

    // The fake saw getMe, then setWebhook with the URL the API showed.
    let calls = env.fake.all_calls();
    let get_me = calls
        .iter()
        .position(|c| c.method == "getMe")
        .unwrap_or_else(|| panic!("no getMe call: {calls:#?}"));
    let set_webhook = calls
        .iter()
        .position(|c| c.method == "setWebhook")
        .unwrap_or_else(|| panic!("no setWebhook call: {calls:#?}"));
    assert!(
        get_me < set_webhook,
        "getMe must come before setWebhook: {calls:#?}"
    );
    assert!(calls.iter().all(|c| c.token == BOT_TOKEN), "{calls:#?}");
    let registered = &calls[set_webhook].body;
    assert_eq!(registered["url"], webhook_url, "{registered:#}");
    let secret = registered["secret_token"].as_str().unwrap_or_default();
    assert!(
        is_telegram_secret(secret),
        "secret_token must be 1-256 chars of [A-Za-z0-9_-]: {registered:#}"
    );
    assert!(
        !webhook_url.contains(secret),
        "the secret must not be readable from the webhook URL"
    );
    let allowed = registered["allowed_updates"]
        .as_array()
        .unwrap_or_else(|| panic!("allowed_updates must be a list: {registered:#}"));
    if !allowed.is_empty() {
        for kind in ["message", "edited_message"] {
            assert!(
                allowed.iter().any(|k| k == kind),
                "{kind} not allowed: {registered:#}"
            );
        }
    }
    assert!(
        registered["drop_pending_updates"].is_boolean(),
        "{registered:#}"
    );

    let list = env.api.channels_resp(env.ws()).await;
    assert_no_token("GET channels", &list.body);
    let channels = list.expect(200, "list channels");
    let listed: Vec<&Value> = channels
        .as_array()
        .expect("a list")
        .iter()
        .filter(|c| str_of(c, "id").as_deref() == Some(channel_id.as_str()))
        .collect();
    assert_eq!(listed.len(), 1, "{channels:#}");
    assert_eq!(listed[0]["status"], "connected", "{channels:#}");
    assert_eq!(listed[0]["webhook_url"], webhook_url, "{channels:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_photo_reply_land_in_one_conversation() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let secret = Some(channel.secret());
    env.hooks
        .telegram(&channel.webhook_url, secret, &updates::anna_text())
        .await
        .expect(200, "deliver the text update");
    env.hooks
        .telegram(&channel.webhook_url, secret, &updates::anna_photo_reply())
        .await
        .expect(200, "deliver the photo update");

    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    let messages = env
        .wait_messages(&conversation_id, "both of Anna's messages", |all| {
            all.len() >= 2
        })
        .await;
    assert_eq!(messages.len(), 2, "{}", pretty(&messages));

    let conversations = env.conversations_of(&channel.id).await;
    assert_eq!(conversations.len(), 1, "{}", pretty(&conversations));
    let conversation = &conversations[0];
    assert_eq!(conversation["provider"], "telegram", "{conversation:#}");
    assert!(!conversation["status"].is_null(), "{conversation:#}");
    let contact_id = str_of(&conversation["contact"], "id").expect("the contact has an id");

    let (first, photo) = (&messages[0], &messages[1]);
    assert_eq!(first["direction"], "in", "{first:#}");
    assert_eq!(first["text"], "Hi, is the order ready?", "{first:#}");
    assert_eq!(first["provider_message_id"], "123456789:512", "{first:#}");
    assert_eq!(first["status"], "received", "{first:#}");
    assert_eq!(first["attachments"], json!([]), "{first:#}");
    assert!(first["reply_to"].is_null(), "{first:#}");
    assert!(first["edited_at"].is_null(), "{first:#}");
    assert!(!first["created_at"].is_null(), "{first:#}");

    assert_eq!(photo["direction"], "in", "{photo:#}");
    assert_eq!(photo["provider_message_id"], "123456789:513", "{photo:#}");
    assert_eq!(
        photo["text"], "this one",
        "the caption is the text: {photo:#}"
    );
    assert_eq!(photo["reply_to"], "123456789:510", "{photo:#}");
    assert_eq!(photo["status"], "received", "{photo:#}");
    let attachments = photo["attachments"]
        .as_array()
        .expect("attachments is a list");
    assert_eq!(
        attachments.len(),
        1,
        "one photo, largest size only: {photo:#}"
    );
    assert_eq!(attachments[0]["kind"], "image", "{photo:#}");
    assert_eq!(attachments[0]["provider_ref"], "AgAC..l", "{photo:#}");

    let last = &conversation["last_message"];
    assert_eq!(last["text"], "this one", "{conversation:#}");
    assert_eq!(last["direction"], "in", "{conversation:#}");

    let contacts = env.api.contacts(env.ws()).await;
    let anna = contacts
        .iter()
        .find(|c| str_of(c, "id").as_deref() == Some(contact_id.as_str()))
        .unwrap_or_else(|| {
            panic!(
                "the conversation's contact is not listed: {}",
                pretty(&contacts)
            )
        });
    assert_eq!(anna["name"], "Anna", "{anna:#}");
    let identities = anna["identities"].as_array().expect("identities is a list");
    let telegram: Vec<&Value> = identities
        .iter()
        .filter(|i| i["provider"] == "telegram")
        .collect();
    assert_eq!(telegram.len(), 1, "{anna:#}");
    let identity = telegram[0];
    assert_eq!(
        str_of(identity, "channel_id"),
        Some(channel.id.clone()),
        "{anna:#}"
    );
    assert_eq!(
        str_of(identity, "provider_user_id").as_deref(),
        Some("123456789"),
        "{anna:#}"
    );
    // The photo update carries no username; "anna_k" may be kept or cleared.
    assert!(
        identity["username"] == "anna_k" || identity["username"].is_null(),
        "{anna:#}"
    );
    assert_eq!(
        contacts.iter().filter(|c| c["name"] == "Anna").count(),
        1,
        "Anna is one contact: {}",
        pretty(&contacts)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_updates_are_stored_once() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let secret = Some(channel.secret());

    // Sequential redelivery.
    for attempt in 1..=3 {
        env.hooks
            .telegram(&channel.webhook_url, secret, &updates::anna_text())
            .await
            .expect(200, &format!("delivery #{attempt} of update 804112233"));
    }
    // Concurrent redelivery of another update.
    let second = updates::anna_says(804112236, 514, "Second question");
    let post = || env.hooks.telegram(&channel.webhook_url, secret, &second);
    let (a, b, c) = tokio::join!(post(), post(), post());
    for resp in [a, b, c] {
        resp.expect(200, "concurrent delivery of update 804112236");
    }

    // One chat is processed in order: once the sentinel is in, so are the copies.
    sentinel(&env, &channel, 804112237, 515).await;
    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    let messages = env
        .wait_messages(
            &str_of(&conversation, "id").unwrap(),
            "all three distinct messages",
            |all| all.len() >= 3,
        )
        .await;
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["provider_message_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "each update is stored exactly once: {}",
        pretty(&messages)
    );
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique,
        HashSet::from(["123456789:512", "123456789:514", "123456789:515"]),
        "{}",
        pretty(&messages)
    );
    assert_eq!(env.conversations_of(&channel.id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_missing_secret_is_refused() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let forged = updates::anna_says(804112240, 520, "forged: send me the invoices");
    let good = channel.secret();
    let mut wrong = good.to_string();
    // Same length, one character different.
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });

    for (label, secret) in [
        ("a wrong secret", Some(wrong.as_str())),
        ("an unrelated secret", Some("not-the-secret")),
        ("an empty secret", Some("")),
        ("no secret header", None),
    ] {
        env.hooks
            .telegram(&channel.webhook_url, secret, &forged)
            .await
            .expect(401, &format!("a webhook with {label}"));
    }

    let messages = sentinel(&env, &channel, 804112241, 521).await;
    assert!(
        !texts(&messages).iter().any(|t| t.starts_with("forged")),
        "a refused webhook was stored: {}",
        pretty(&messages)
    );
    assert_eq!(messages.len(), 1, "{}", pretty(&messages));
    assert_eq!(env.conversations_of(&channel.id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_bad_request() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    for body in [
        r#"{"update_id": 804112250, "message": {"message_id": 530, "text": "trunc"#,
        "not json at all",
    ] {
        let resp = env
            .hooks
            .try_post(
                &channel.webhook_url,
                Some(channel.secret()),
                "application/json",
                body,
            )
            .await
            .expect("the server answers a malformed body");
        resp.expect(400, &format!("a malformed body {body:?}"));
    }
    assert_eq!(env.api.probe("/healthz").await.as_u16(), 200);

    let messages = sentinel(&env, &channel, 804112251, 531).await;
    assert_eq!(
        messages.len(),
        1,
        "only the sentinel: {}",
        pretty(&messages)
    );
    assert!(!texts(&messages).contains(&"trunc"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_updates_the_existing_message() {
    let (env, channel, conversation_id) = with_anna().await;
    let before = env.api.messages(&conversation_id).await;
    assert_eq!(before.len(), 1, "{}", pretty(&before));
    let original = &before[0];
    assert!(original["edited_at"].is_null(), "{original:#}");

    env.hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::anna_edit(),
        )
        .await
        .expect(200, "deliver the edit");
    let after = env
        .wait_messages(&conversation_id, "the edited text", |all| {
            all.iter().any(|m| m["text"] == "Is order #42 ready?")
        })
        .await;
    assert_eq!(
        after.len(),
        1,
        "an edit never adds a row: {}",
        pretty(&after)
    );
    let edited = &after[0];
    assert_eq!(edited["id"], original["id"], "{edited:#}");
    assert_eq!(edited["provider_message_id"], "123456789:512", "{edited:#}");
    assert_eq!(edited["direction"], "in", "{edited:#}");
    assert!(
        !edited["edited_at"].is_null(),
        "edited_at is set: {edited:#}"
    );
    assert_eq!(edited["created_at"], original["created_at"], "{edited:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_chat_is_its_own_conversation() {
    const GROUP: i64 = -4001234567;
    let (env, channel, private_id) = with_anna().await;
    let secret = Some(channel.secret());
    let group = updates::group_chat(GROUP, "Order desk");
    let boris = updates::user(222000111, "Boris", Some("boris_b"));
    let clara = updates::user(333000222, "Clara", None);
    for update in [
        updates::text(804112260, group.clone(), 600, boris, "Boris in the group"),
        updates::text(804112261, group.clone(), 601, clara, "Clara in the group"),
    ] {
        env.hooks
            .telegram(&channel.webhook_url, secret, &update)
            .await
            .expect(200, "deliver a group message");
    }

    let group_conversation = eventually("the group conversation", PROCESSING_TIMEOUT, || async {
        let all = env.conversations_of(&channel.id).await;
        for conversation in &all {
            let id = str_of(conversation, "id").unwrap();
            if id == private_id {
                continue;
            }
            let messages = env.api.messages(&id).await;
            if messages.len() >= 2 {
                return Ok((conversation.clone(), messages));
            }
        }
        Err(pretty(&all))
    })
    .await;
    let (conversation, messages) = group_conversation;
    assert_eq!(conversation["provider"], "telegram", "{conversation:#}");
    assert_eq!(
        texts(&messages),
        ["Boris in the group", "Clara in the group"],
        "{}",
        pretty(&messages)
    );
    let ids: Vec<&str> = messages
        .iter()
        .map(|m| m["provider_message_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, [format!("{GROUP}:600"), format!("{GROUP}:601")]);

    let private = env.api.messages(&private_id).await;
    assert_eq!(
        texts(&private),
        ["Hi, is the order ready?"],
        "{}",
        pretty(&private)
    );
    assert_eq!(env.conversations_of(&channel.id).await.len(), 2);

    let contacts = env.api.contacts(env.ws()).await;
    for (name, user_id) in [
        ("Anna", "123456789"),
        ("Boris", "222000111"),
        ("Clara", "333000222"),
    ] {
        let found = contacts.iter().any(|c| {
            c["name"] == name
                && c["identities"].as_array().is_some_and(|ids| {
                    ids.iter().any(|i| {
                        i["provider"] == "telegram"
                            && str_of(i, "provider_user_id").as_deref() == Some(user_id)
                    })
                })
        });
        assert!(
            found,
            "{name} ({user_id}) is a contact: {}",
            pretty(&contacts)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_sent_through_the_bot_api() {
    let (env, _channel, conversation_id) = with_anna().await;
    let pending = env.reply(&conversation_id, "Yes, it ships today.").await;
    let message_id = str_of(&pending, "id").unwrap();

    let calls = env
        .fake
        .wait_for_calls("sendMessage", 1, PROCESSING_TIMEOUT)
        .await;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call.token, BOT_TOKEN);
    assert_eq!(
        call.body["chat_id"],
        json!(ANNA_CHAT),
        "chat_id is an integer: {call:#?}"
    );
    assert_eq!(call.body["text"], "Yes, it ships today.", "{call:#?}");
    let telegram_id = call.response["result"]["message_id"].as_i64().unwrap();

    let sent = env
        .wait_message_settled(&conversation_id, &message_id)
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    assert_eq!(
        sent["provider_message_id"],
        format!("{ANNA_CHAT}:{telegram_id}"),
        "{sent:#}"
    );
    assert_eq!(sent["direction"], "out", "{sent:#}");
    assert!(sent["error"].is_null(), "{sent:#}");

    let messages = env.api.messages(&conversation_id).await;
    assert_eq!(
        texts(&messages),
        ["Hi, is the order ready?", "Yes, it ships today."]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_reply_is_retried_after_the_delay() {
    let (env, _channel, conversation_id) = with_anna().await;
    env.fake.push_too_many_requests("sendMessage", 1);
    let pending = env.reply(&conversation_id, "One moment please.").await;
    let message_id = str_of(&pending, "id").unwrap();

    let sent = env
        .wait_message_settled(&conversation_id, &message_id)
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    let calls = env.fake.calls("sendMessage");
    assert_eq!(calls.len(), 2, "one 429, then one success: {calls:#?}");
    assert_eq!(calls[0].status, 429);
    assert_eq!(calls[1].status, 200);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_millis(900),
        "the retry came {waited:?} after the 429, before retry_after (1 s)"
    );
    let telegram_id = calls[1].response["result"]["message_id"].as_i64().unwrap();
    assert_eq!(
        sent["provider_message_id"],
        format!("{ANNA_CHAT}:{telegram_id}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_and_unauthorized_replies_fail() {
    let (env, _channel, conversation_id) = with_anna().await;

    env.fake.push_blocked_by_user("sendMessage");
    let blocked = env.reply(&conversation_id, "Are you there?").await;
    let blocked = env
        .wait_message_settled(&conversation_id, &str_of(&blocked, "id").unwrap())
        .await;
    assert_eq!(blocked["status"], "failed", "{blocked:#}");
    let error = blocked["error"].as_str().unwrap_or_default();
    assert!(
        error.to_lowercase().contains("blocked"),
        "the reason says the bot was blocked: {blocked:#}"
    );
    assert!(blocked["provider_message_id"].is_null(), "{blocked:#}");
    assert_eq!(
        env.fake.calls("sendMessage").len(),
        1,
        "a permanent error is not retried"
    );

    env.fake.push_unauthorized("sendMessage");
    let unauthorized = env.reply(&conversation_id, "Hello?").await;
    let unauthorized = env
        .wait_message_settled(&conversation_id, &str_of(&unauthorized, "id").unwrap())
        .await;
    assert_eq!(unauthorized["status"], "failed", "{unauthorized:#}");
    assert!(
        !unauthorized["error"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a failed message says why: {unauthorized:#}"
    );
    let messages = env.api.messages(&conversation_id).await;
    assert_no_token("GET messages", &pretty(&messages));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_a_rejected_token_is_unprocessable() {
    let env = Env::start().await;
    env.fake.set_get_me_unauthorized(true);
    let resp = env
        .api
        .create_channel(
            env.ws(),
            &json!({
                "provider": "telegram",
                "name": "Support",
                "config": {"bot_token": BOT_TOKEN, "api_base": env.fake.api_base()},
            }),
        )
        .await;
    assert_no_token("a failed connect", &resp.body);
    resp.expect_error(422, "connect with a token getMe refuses");
    assert_eq!(env.fake.calls("getMe").len(), 1);
    assert!(
        env.fake.calls("setWebhook").is_empty(),
        "no webhook for a refused token"
    );
    let channels = env.api.channels(env.ws()).await;
    assert!(
        channels.is_empty(),
        "no channel is listed: {}",
        pretty(&channels)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_provider_refuses_webhooks() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let secret = Some(channel.secret());

    let toggled = env
        .api
        .set_plugin_enabled(env.ws(), "telegram", false)
        .await
        .expect(200, "disable telegram");
    assert_eq!(toggled["plugin_id"], "telegram", "{toggled:#}");
    assert_eq!(toggled["enabled"], false, "{toggled:#}");
    let toggles = env.api.workspace_plugins(env.ws()).await;
    assert!(
        toggles
            .iter()
            .any(|t| t["plugin_id"] == "telegram" && t["enabled"] == false),
        "{}",
        pretty(&toggles)
    );

    let while_disabled = updates::anna_says(804112270, 540, "sent while disabled");
    env.hooks
        .telegram(&channel.webhook_url, secret, &while_disabled)
        .await
        .expect(403, "a webhook for a disabled provider");

    let toggled = env
        .api
        .set_plugin_enabled(env.ws(), "telegram", true)
        .await
        .expect(200, "enable telegram");
    assert_eq!(toggled["plugin_id"], "telegram", "{toggled:#}");
    assert_eq!(toggled["enabled"], true, "{toggled:#}");

    let messages = sentinel(&env, &channel, 804112271, 541).await;
    assert_eq!(
        texts(&messages),
        ["sentinel 804112271"],
        "nothing from the disabled period is stored"
    );
}

/// Deleting a channel removes it from the list and its webhook stops accepting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_channel_stops_accepting_webhooks() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let resp = env.api.delete_channel(env.ws(), &channel.id).await;
    resp.expect(204, "delete the channel");
    let channels = env.api.channels(env.ws()).await;
    assert!(
        !channels
            .iter()
            .any(|c| str_of(c, "id").as_deref() == Some(channel.id.as_str())),
        "{}",
        pretty(&channels)
    );
    let resp = env
        .hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::anna_text(),
        )
        .await;
    assert!(
        resp.status.is_client_error(),
        "a deleted channel's webhook answered {}: {}",
        resp.status,
        resp.body
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(env.api.conversations(env.ws()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_downloads_through_the_plugin() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    env.hooks
        .telegram(
            &channel.webhook_url,
            Some(channel.secret()),
            &updates::anna_photo_reply(),
        )
        .await
        .expect(200, "deliver the photo update");
    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    let messages = env.wait_message_text(&conversation_id, "this one").await;
    let photo = messages
        .iter()
        .find(|m| m["text"] == "this one")
        .expect("the photo message");
    assert_eq!(
        photo["attachments"][0]["provider_ref"], "AgAC..l",
        "{photo:#}"
    );
    let message_id = str_of(photo, "id").expect("the message has an id");
    let path = format!("/api/v1/messages/{message_id}/attachments/0");

    // The body is binary: read it with a client of our own, with the session token.
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let token = env.api.token().expect("the API client is logged in");
    let resp = http
        .get(env.server.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("read the attachment");
    assert_eq!(
        status,
        200,
        "GET {path} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(&body[..], FILE_BYTES, "the bytes the file server served");
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        content_type,
        Some("image/jpeg"),
        "the type comes from the file_path extension, not the file server: {headers:#?}"
    );
    assert_eq!(
        headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff"),
        "{headers:#?}"
    );
    assert_no_token("the attachment headers", &format!("{headers:?}"));

    // One getFile for the largest size, one download of the path it named.
    let get_file = env.fake.calls("getFile");
    assert_eq!(get_file.len(), 1, "{get_file:#?}");
    assert_eq!(get_file[0].token, BOT_TOKEN, "{get_file:#?}");
    assert_eq!(get_file[0].body["file_id"], "AgAC..l", "{get_file:#?}");
    let downloads = env.fake.downloads();
    assert_eq!(downloads.len(), 1, "{downloads:#?}");
    assert_eq!(downloads[0].token, BOT_TOKEN, "{downloads:#?}");
    assert_eq!(downloads[0].body["file_path"], FILE_PATH, "{downloads:#?}");

    // The photo has one attachment; another message id has none.
    env.api
        .get(&format!("/api/v1/messages/{message_id}/attachments/1"))
        .await
        .expect_error(404, "an attachment index out of range");
    env.api
        .get("/api/v1/messages/no-such-message/attachments/0")
        .await
        .expect_error(404, "an unknown message");

    // Without a session there is nothing to download.
    let anonymous = Api::new(env.server.base_url());
    anonymous
        .get(&path)
        .await
        .expect_error(401, "an attachment without a token");
    let resp = http
        .get(env.server.url(&path))
        .bearer_auth("not-a-session")
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(resp.status().as_u16(), 401, "an unknown bearer token");

    assert_eq!(
        env.fake.calls("getFile").len(),
        1,
        "refused requests never reach the provider"
    );
}
