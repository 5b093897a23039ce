//! `switchboard replay`: an event an older plugin version dropped is found in
//! the retained raw webhooks and written once, on either deployment.
//!
//! "Dropped" is simulated after the fact: the stored message and its dedup
//! key are deleted, which is exactly the state a plugin that returned no
//! event for that webhook would have left.

mod support;

use sqlx::Connection;

use support::fake_telegram::updates;
use support::{pretty, Env};

/// The database the server uses.
fn database_url(env: &Env) -> String {
    match &env.server.deployment().database_url {
        Some(url) => url.clone(),
        None => format!(
            "sqlite://{}",
            env.server.data_dir().join("switchboard.db").display()
        ),
    }
}

async fn replay(env: &Env, channel: &str, apply: bool) -> String {
    let mut command = env.server.command();
    command.args(["replay", "--channel", channel, "--since", "1h"]);
    if apply {
        command.arg("--apply");
    }
    let output = command.output().await.expect("run switchboard replay");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "replay failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn a_dropped_event_is_found_in_retained_webhooks_and_written_once() {
    let env = Env::start().await;
    let channel = env.connect_telegram("Replay").await;
    for (update, message, text) in [(1, 11, "first"), (2, 12, "second"), (3, 13, "third")] {
        env.hooks
            .telegram(
                &channel.webhook_url,
                Some(channel.secret()),
                &updates::anna_says(update, message, text),
            )
            .await
            .expect(200, "a webhook");
    }
    let conversation = env.wait_conversation(&channel.id, "Anna").await;
    let conversation_id = conversation["id"].as_str().unwrap().to_string();
    env.wait_message_text(&conversation_id, "third").await;
    env.wait_message_text(&conversation_id, "first").await;

    // As if the plugin had dropped update 2.
    sqlx::any::install_default_drivers();
    let url = database_url(&env);
    let mut db = sqlx::AnyConnection::connect(&url)
        .await
        .expect("open the database");
    let provider_id = format!("{}:12", updates::ANNA_CHAT);
    sqlx::query("DELETE FROM messages WHERE channel_account_id = $1 AND provider_message_id = $2")
        .bind(&channel.id)
        .bind(&provider_id)
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM inbound_events WHERE channel_account_id = $1 AND dedup_key = 'update:2'",
    )
    .bind(&channel.id)
    .execute(&mut db)
    .await
    .unwrap();
    let _ = db.close().await;

    let dry = replay(&env, &channel.id, false).await;
    assert!(dry.contains("replaying 3 retained webhook(s)"), "{dry}");
    assert!(dry.contains("2 stored, 1 missing"), "{dry}");
    assert!(dry.contains("MISSING  update:2"), "{dry}");
    let messages = env.api.messages(&conversation_id).await;
    assert!(
        !messages.iter().any(|m| m["text"] == "second"),
        "a dry run writes nothing: {}",
        pretty(&messages)
    );

    let applied = replay(&env, &channel.id, true).await;
    assert!(applied.contains("applied: 1 written"), "{applied}");
    let messages = env.wait_message_text(&conversation_id, "second").await;
    assert_eq!(
        messages.iter().filter(|m| m["text"] == "second").count(),
        1,
        "{}",
        pretty(&messages)
    );

    let again = replay(&env, &channel.id, true).await;
    assert!(
        again.contains("3 stored, 0 missing"),
        "nothing left to write: {again}"
    );
    assert_eq!(env.api.messages(&conversation_id).await.len(), 3);
}
