//! End to end: the plugin sandbox holds against a misbehaving plugin (the
//! `chaos` test plugin) and the rest of the server keeps working.
//!
//! Needs the plugins built first: `scripts/build-plugins.sh`.

mod support;

use std::time::{Duration, Instant};

use support::canary::Canary;
use support::fake_telegram::updates::{self, ANNA_CHAT};
use support::{eventually, pretty, str_of, Channel, Env};

/// Dead-lettering (or failing a send) includes the 1 s deadline and whatever
/// retries the host makes before giving up.
const DEADLETTER_TIMEOUT: Duration = Duration::from_secs(60);

/// A verify that spins or panics must fail the request within this.
const VERIFY_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

const DEADLETTER_TOTAL: &str = "switchboard_deadletter_total";
const PLUGIN_CALLS_TOTAL: &str = "switchboard_plugin_calls_total";

fn texts(messages: &[serde_json::Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap_or(""))
        .collect()
}

/// Posts a plain word to the chaos channel and waits until it is stored;
/// returns the chaos conversation's id and messages.
async fn chaos_word_arrives(
    env: &Env,
    chaos: &Channel,
    word: &str,
) -> (String, Vec<serde_json::Value>) {
    env.hooks
        .text(&chaos.webhook_url, word)
        .await
        .expect(200, &format!("deliver {word:?}"));
    let conversation = env.wait_conversation(&chaos.id, "Chaos Monkey").await;
    let id = str_of(&conversation, "id").unwrap();
    let messages = env.wait_message_text(&id, word).await;
    (id, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_normalize_is_dead_lettered_and_the_server_keeps_working() {
    let env = Env::start_with_chaos().await;
    let canary = Canary::start().await;
    let chaos = env.connect_chaos(&canary.url("/x")).await;
    assert!(
        chaos.webhook_url.contains("/webhooks/chaos/"),
        "{:#}",
        chaos.created
    );

    for word in ["loop", "alloc", "panic", "forbidden"] {
        let started = Instant::now();
        env.hooks.text(&chaos.webhook_url, word).await.expect(
            200,
            &format!("verify accepts {word:?}; normalize runs later"),
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the webhook for {word:?} waited on normalize ({:?})",
            started.elapsed()
        );
    }

    let metrics = eventually("four dead-lettered events", DEADLETTER_TIMEOUT, || async {
        let metrics = env.api.metrics().await;
        if metrics.sum(DEADLETTER_TOTAL, &[]) >= 4.0 {
            Ok(metrics)
        } else {
            Err(metrics.text)
        }
    })
    .await;
    let normalize = |outcome: &str| {
        metrics.sum(
            PLUGIN_CALLS_TOTAL,
            &[
                ("plugin", "chaos"),
                ("call", "normalize"),
                ("outcome", outcome),
            ],
        )
    };
    assert!(
        normalize("timeout") >= 1.0,
        "`loop` ends in a timeout:\n{}",
        metrics.text
    );
    assert!(
        normalize("trap") >= 2.0,
        "`panic` and `alloc` end in traps:\n{}",
        metrics.text
    );
    assert!(
        normalize("error") >= 1.0,
        "`forbidden` returns an error:\n{}",
        metrics.text
    );
    assert_eq!(
        canary.hits(),
        0,
        "the sandbox let `forbidden` reach its target"
    );

    // The pipeline goes on: an ordinary word arrives, alone.
    let (_, messages) = chaos_word_arrives(&env, &chaos, "still-standing").await;
    assert_eq!(
        texts(&messages),
        ["still-standing"],
        "{}",
        pretty(&messages)
    );
    let metrics = env.api.metrics().await;
    assert_eq!(
        metrics.sum(DEADLETTER_TOTAL, &[]),
        4.0,
        "only the four poison events are dead-lettered:\n{}",
        metrics.text
    );
    assert!(
        metrics.sum("switchboard_webhooks_accepted_total", &[]) >= 5.0,
        "{}",
        metrics.text
    );
    assert_eq!(env.api.probe("/healthz").await.as_u16(), 200);
    assert_eq!(env.api.probe("/readyz").await.as_u16(), 200);

    // Telegram on the same server still works both ways.
    let telegram = env.connect_telegram("Support").await;
    env.hooks
        .telegram(
            &telegram.webhook_url,
            Some(telegram.secret()),
            &updates::anna_text(),
        )
        .await
        .expect(200, "deliver Anna's message");
    let conversation = env.wait_conversation(&telegram.id, "Anna").await;
    let conversation_id = str_of(&conversation, "id").unwrap();
    env.wait_message_text(&conversation_id, "Hi, is the order ready?")
        .await;
    let reply = env.reply(&conversation_id, "Yes").await;
    let sent = env
        .wait_message_settled(&conversation_id, &str_of(&reply, "id").unwrap())
        .await;
    assert_eq!(sent["status"], "sent", "{sent:#}");
    let calls = env.fake.calls("sendMessage");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].body["chat_id"], ANNA_CHAT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_verify_fails_the_request_only() {
    let env = Env::start_with_chaos().await;
    let canary = Canary::start().await;
    let chaos = env.connect_chaos(&canary.url("/x")).await;

    for word in ["verify-loop", "verify-panic"] {
        let started = Instant::now();
        let resp = tokio::time::timeout(
            VERIFY_ANSWER_TIMEOUT,
            env.hooks.text(&chaos.webhook_url, word),
        )
        .await
        .unwrap_or_else(|_| panic!("{word}: no answer within {VERIFY_ANSWER_TIMEOUT:?}"));
        assert!(
            resp.status.is_server_error(),
            "{word}: expected a 5xx after {:?}, got {} {}",
            started.elapsed(),
            resp.status,
            resp.body
        );
    }

    // The request path stays responsive while a verify spins.
    let spinning = env.hooks.text(&chaos.webhook_url, "verify-loop");
    let probe = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let status = env.api.probe("/healthz").await;
        (status, started.elapsed())
    };
    let (spun, (status, took)) = tokio::join!(spinning, probe);
    assert!(
        spun.status.is_server_error(),
        "{} {}",
        spun.status,
        spun.body
    );
    assert_eq!(status.as_u16(), 200);
    assert!(
        took < Duration::from_secs(3),
        "/healthz took {took:?} beside a spinning verify"
    );

    let (conversation_id, messages) = chaos_word_arrives(&env, &chaos, "after-verify").await;
    assert_eq!(texts(&messages), ["after-verify"], "{}", pretty(&messages));
    let conversations = env.conversations_of(&chaos.id).await;
    assert_eq!(conversations.len(), 1, "{}", pretty(&conversations));
    assert_eq!(str_of(&conversations[0], "id"), Some(conversation_id));
    assert_eq!(canary.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_send_fails_that_message_only() {
    let env = Env::start_with_chaos().await;
    let canary = Canary::start().await;
    let chaos = env.connect_chaos(&canary.url("/x")).await;
    let (conversation_id, _) = chaos_word_arrives(&env, &chaos, "hello").await;

    let mut replies = Vec::new();
    for text in ["loop", "panic", "alloc", "all good"] {
        let pending = env.reply(&conversation_id, text).await;
        replies.push((text, str_of(&pending, "id").unwrap()));
    }
    for (text, message_id) in replies {
        // Each misbehaving send may cost a deadline (and retries) first.
        let settled = env
            .wait_message_settled_within(&conversation_id, &message_id, DEADLETTER_TIMEOUT)
            .await;
        if text == "all good" {
            assert_eq!(settled["status"], "sent", "{settled:#}");
            assert_eq!(
                settled["provider_message_id"],
                format!("chaos-{message_id}"),
                "{settled:#}"
            );
        } else {
            assert_eq!(settled["status"], "failed", "{text}: {settled:#}");
            assert!(
                !settled["error"].as_str().unwrap_or_default().is_empty(),
                "{text}: a failed message says why: {settled:#}"
            );
        }
    }
    assert_eq!(env.api.probe("/healthz").await.as_u16(), 200);
    assert_eq!(canary.hits(), 0);
}
