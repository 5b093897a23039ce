//! End to end: a webhook answered 2xx survives kill -9, and redelivery after
//! a restart stores every update exactly once.
//!
//! Needs the plugins built first: `scripts/build-plugins.sh`.

mod support;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use support::api::Webhooks;
use support::fake_telegram::updates;
use support::{str_of, Env};

const UPDATES: i64 = 500;
const CHATS: i64 = 10;
const FIRST_CHAT: i64 = 700_000_001;
const SENDERS: usize = 16;
/// Kill the server once this many webhooks were answered 2xx.
const KILL_AFTER: usize = 150;
/// Acknowledged updates delivered again after the restart, to prove dedup.
const REDELIVER_ACKED: usize = 50;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Give up early when the stored count stops growing for this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One Telegram update of the burst and the message it must become.
struct Planned {
    body: Value,
    provider_message_id: String,
    text: String,
}

/// Update ids 1..=500 spread over 10 private chats; message ids count up per chat.
fn plan() -> Vec<Planned> {
    (1..=UPDATES)
        .map(|update_id| {
            let chat = FIRST_CHAT + (update_id - 1) % CHATS;
            let message_id = 1 + (update_id - 1) / CHATS;
            let text = format!("burst {update_id}");
            let name = format!("Customer {}", chat - FIRST_CHAT + 1);
            Planned {
                body: updates::private_text(update_id, chat, message_id, &name, &text),
                provider_message_id: format!("{chat}:{message_id}"),
                text,
            }
        })
        .collect()
}

/// Every inbound (provider_message_id, text) on the channel, over all its conversations.
async fn stored(env: &Env, channel_id: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for conversation in env.conversations_of(channel_id).await {
        let id = str_of(&conversation, "id").unwrap();
        for message in env.api.messages(&id).await {
            if message["direction"] == "in" {
                all.push((
                    message["provider_message_id"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                    message["text"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    all
}

/// Delivers `indices` of the plan with `SENDERS` concurrent senders, retrying
/// each non-2xx a few times as Telegram would. Panics if any never gets a 2xx.
async fn redeliver(
    hooks: &Webhooks,
    url: &str,
    secret: &str,
    plan: &Arc<Vec<Planned>>,
    indices: Vec<usize>,
) {
    let queue = Arc::new(Mutex::new(VecDeque::from(indices)));
    let mut senders = JoinSet::new();
    for _ in 0..SENDERS {
        let (hooks, url, secret) = (hooks.clone(), url.to_string(), secret.to_string());
        let (plan, queue) = (Arc::clone(plan), Arc::clone(&queue));
        senders.spawn(async move {
            let mut refused = Vec::new();
            loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    return refused;
                };
                let mut last = String::new();
                let mut delivered = false;
                for attempt in 0..5u64 {
                    if attempt > 0 {
                        tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                    }
                    match hooks.try_telegram(&url, Some(&secret), &plan[i].body).await {
                        Ok(resp) if resp.status.is_success() => {
                            delivered = true;
                            break;
                        }
                        Ok(resp) => last = format!("{} {}", resp.status, resp.body),
                        Err(e) => last = e.to_string(),
                    }
                }
                if !delivered {
                    refused.push(format!("update {}: {last}", i + 1));
                }
            }
        });
    }
    let mut refused = Vec::new();
    while let Some(result) = senders.join_next().await {
        refused.extend(result.expect("a sender task"));
    }
    assert!(
        refused.is_empty(),
        "redelivery after the restart was refused: {refused:#?}"
    );
}

/// Waits until the channel holds at least `UPDATES` messages, or until the
/// count stops moving for `STALL_TIMEOUT` (then the caller's checks name what
/// is missing), or `DRAIN_TIMEOUT` in all.
async fn wait_for_drain(env: &Env, channel_id: &str) {
    let started = Instant::now();
    let (mut last_count, mut last_change) = (0, Instant::now());
    loop {
        let count = stored(env, channel_id).await.len();
        if count >= UPDATES as usize {
            return;
        }
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        }
        if last_change.elapsed() >= STALL_TIMEOUT || started.elapsed() >= DRAIN_TIMEOUT {
            eprintln!("gave up waiting with {count} of {UPDATES} messages stored");
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_and_duplicates_nothing() {
    let mut env = Env::start().await;
    let channel = env.connect_telegram("Support").await;
    let secret = channel.secret().to_string();
    let plan = Arc::new(plan());

    // The burst: senders pull the next update; the 150th 2xx wakes the killer.
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Vec<AtomicBool>> =
        Arc::new((0..plan.len()).map(|_| AtomicBool::new(false)).collect());
    let running = Arc::new(AtomicUsize::new(SENDERS));
    let wake = Arc::new(Notify::new());
    let mut senders = JoinSet::new();
    for _ in 0..SENDERS {
        let (hooks, url, secret) = (
            env.hooks.clone(),
            channel.webhook_url.clone(),
            secret.clone(),
        );
        let (plan, next, answered, acked) = (
            Arc::clone(&plan),
            Arc::clone(&next),
            Arc::clone(&answered),
            Arc::clone(&acked),
        );
        let (running, wake) = (Arc::clone(&running), Arc::clone(&wake));
        senders.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= plan.len() {
                    break;
                }
                if let Ok(resp) = hooks.try_telegram(&url, Some(&secret), &plan[i].body).await {
                    if resp.status.is_success() {
                        acked[i].store(true, Ordering::SeqCst);
                        if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                            wake.notify_one();
                        }
                    }
                }
            }
            if running.fetch_sub(1, Ordering::SeqCst) == 1 {
                wake.notify_one();
            }
        });
    }
    tokio::time::timeout(Duration::from_secs(120), wake.notified())
        .await
        .expect("the burst neither reached 150 answers nor finished");
    env.server.kill().await;
    let at_kill = answered.load(Ordering::SeqCst);
    while let Some(result) = senders.join_next().await {
        result.expect("a sender task");
    }
    let acked: Vec<bool> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let acked_count = acked.iter().filter(|a| **a).count();
    assert!(
        at_kill >= KILL_AFTER,
        "only {at_kill} of {UPDATES} webhooks were answered 2xx before the senders gave up"
    );
    assert!(
        acked_count < plan.len(),
        "all {UPDATES} updates were answered before the kill: nothing was interrupted"
    );
    eprintln!("killed after {at_kill} answers; {acked_count} answered 2xx in all");

    env.server.restart().await;
    env.relogin().await;

    // Telegram redelivers everything not answered 2xx; add some that were.
    let unacked = (0..plan.len()).filter(|&i| !acked[i]);
    let acked_indices: Vec<usize> = (0..plan.len()).filter(|&i| acked[i]).collect();
    let step = (acked_indices.len() / REDELIVER_ACKED).max(1);
    let again = acked_indices
        .iter()
        .copied()
        .step_by(step)
        .take(REDELIVER_ACKED);
    let redelivered: Vec<usize> = unacked.chain(again).collect();
    redeliver(
        &env.hooks,
        &channel.webhook_url,
        &secret,
        &plan,
        redelivered,
    )
    .await;

    wait_for_drain(&env, &channel.id).await;
    // Late duplicates would show up after the count first reaches 500.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let stored = stored(&env, &channel.id).await;
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    for (provider_message_id, text) in &stored {
        seen.entry(provider_message_id).or_default().push(text);
    }
    let mut problems = Vec::new();
    for planned in plan.iter() {
        match seen.remove(planned.provider_message_id.as_str()) {
            None => problems.push(format!("{} is missing", planned.provider_message_id)),
            Some(texts) if texts.len() > 1 => problems.push(format!(
                "{} is stored {} times",
                planned.provider_message_id,
                texts.len()
            )),
            Some(texts) if texts[0] != planned.text => problems.push(format!(
                "{} has text {:?}, expected {:?}",
                planned.provider_message_id, texts[0], planned.text
            )),
            Some(_) => {}
        }
    }
    for (extra, texts) in seen {
        problems.push(format!("unexpected message {extra}: {texts:?}"));
    }
    assert!(
        problems.is_empty(),
        "{} problems in {} stored messages:\n{}",
        problems.len(),
        stored.len(),
        problems[..problems.len().min(40)].join("\n")
    );
    assert_eq!(stored.len(), UPDATES as usize);
    assert_eq!(
        env.conversations_of(&channel.id).await.len(),
        CHATS as usize
    );
}
