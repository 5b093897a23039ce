//! Fault tolerance of the distributed deployment: several `switchboard serve`
//! processes, each with some of the roles, on one PostgreSQL database and one
//! Kafka namespace. Every test starts its own tansu broker (SQLite storage, a
//! free port) and creates its own database, so it can break them without
//! disturbing anything else:
//!
//! 1. a writer killed with SIGKILL during a burst of 2,000 webhooks;
//! 2. the broker down for 10 s during a burst (503s, /readyz, retries);
//! 3. PostgreSQL sessions terminated during a burst, and PostgreSQL refusing
//!    connections while the inbound role has a backlog;
//! 4. one update delivered 5 times at once to two edge processes.
//!
//! In every case each update must end up stored exactly once.
//!
//! One test is `#[ignore]`d, naming why: a bug of tansu 0.6.0 (the broker
//! these tests run on) that no Switchboard change avoids; a test beside it
//! covers the same fault in a way tansu survives. `-- --include-ignored`
//! runs it. A second tansu bug, which broke the broker after an outage, is
//! worked around by the bus (see `broker_outage_answers_503_then_recovers_exactly_once`).
//!
//! Needs the plugins (`scripts/build-plugins.sh`), `tansu` (on PATH or in
//! ~/.cargo/bin) and PostgreSQL (SWITCHBOARD_TEST_POSTGRES, default
//! postgres://postgres@127.0.0.1:5432/postgres). With
//! SWITCHBOARD_TEST_EMBEDDED_ONLY=1 the tests return at once.
//!
//! Run with `cargo test -p switchboard --test e2e_faults -- --test-threads=1`.

mod support;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use support::api::Webhooks;
use support::cluster::{distributed_tests_enabled, occurrences, Cluster, StoredMessage};
use support::fake_telegram::updates;
use support::metrics::Metrics;
use support::server::Server;

/// Concurrent webhook senders in a burst.
const SENDERS: usize = 16;
/// Hard limit of one test, set-up included.
const TEST_BUDGET: Duration = Duration::from_secs(240);
/// Senders give up on an update that got no 2xx for this long after the
/// burst started (then the test names it).
const SEND_DEADLINE: Duration = Duration::from_secs(120);
/// librdkafka's default session timeout (45 s) plus a margin: by then the
/// broker has evicted a killed consumer from its group.
const SESSION_TIMEOUT_MARGIN: Duration = Duration::from_secs(52);
/// Partitions of every topic: two writers each get some.
const PARTITIONS: u32 = 4;

/// Runs one test body within [`TEST_BUDGET`]; on timeout the body (and with
/// it every process it started) is dropped and the test fails.
async fn bounded(name: &str, body: impl Future<Output = ()>) {
    let started = Instant::now();
    match tokio::time::timeout(TEST_BUDGET, body).await {
        Ok(()) => eprintln!("{name}: passed in {:?}", started.elapsed()),
        Err(_) => panic!("{name}: did not finish within {TEST_BUDGET:?}"),
    }
}

/// One Telegram update of a burst and the message it must become.
struct Planned {
    body: Value,
    provider_message_id: String,
    text: String,
}

/// `count` updates with ids from `first_update`, spread over `chats` private
/// chats; message ids count up per chat.
fn plan(count: usize, chats: i64, first_chat: i64, tag: &str) -> Arc<Vec<Planned>> {
    Arc::new(
        (0..count as i64)
            .map(|i| {
                let update_id = 10_000 + i;
                let chat = first_chat + i % chats;
                let message_id = 1 + i / chats;
                let text = format!("{tag} {update_id}");
                let name = format!("Customer {}", i % chats + 1);
                Planned {
                    body: updates::private_text(update_id, chat, message_id, &name, &text),
                    provider_message_id: format!("{chat}:{message_id}"),
                    text,
                }
            })
            .collect(),
    )
}

/// One POST of a webhook and what came back.
#[derive(Clone, Debug)]
struct Attempt {
    index: usize,
    /// Since the burst started.
    started: Duration,
    finished: Duration,
    /// `None`: a transport error.
    status: Option<u16>,
}

impl Attempt {
    fn ok(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
}

/// How a burst sends.
#[derive(Clone, Copy, Debug)]
struct Pace {
    /// Concurrent senders.
    senders: usize,
    /// Each sender waits this long before each update (not before retries).
    pause: Duration,
    /// No request starts later than this after the burst's start.
    give_up: Duration,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            senders: SENDERS,
            pause: Duration::ZERO,
            give_up: SEND_DEADLINE,
        }
    }
}

/// Senders posting a plan the way Telegram does: every update until it is
/// answered 2xx, retrying non-2xx answers and transport errors with backoff.
struct Burst {
    t0: Instant,
    answered: Arc<AtomicUsize>,
    acked: Arc<Vec<AtomicBool>>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    senders: JoinSet<Vec<String>>,
}

struct BurstOutcome {
    /// When the burst started: attempts' times count from here.
    t0: Instant,
    acked: Vec<bool>,
    attempts: Vec<Attempt>,
    /// Updates tried but never answered 2xx before the senders gave up, with
    /// the last answer.
    undelivered: Vec<String>,
    elapsed: Duration,
}

impl Burst {
    /// Starts `SENDERS` senders over the updates `indices` of `plan`, in
    /// order; update `i` goes to `targets[i % targets.len()]`. Senders retry
    /// until [`SEND_DEADLINE`].
    fn start(
        hooks: &Webhooks,
        targets: &[String],
        secret: &str,
        plan: &Arc<Vec<Planned>>,
        indices: std::ops::Range<usize>,
    ) -> Burst {
        Burst::start_with(hooks, targets, secret, plan, indices, Pace::default())
    }

    /// As [`Burst::start`]; no request starts after `give_up`, counted from
    /// the start of the burst (updates not tried by then are left out).
    fn start_until(
        hooks: &Webhooks,
        targets: &[String],
        secret: &str,
        plan: &Arc<Vec<Planned>>,
        indices: std::ops::Range<usize>,
        give_up: Duration,
    ) -> Burst {
        let pace = Pace {
            give_up,
            ..Pace::default()
        };
        Burst::start_with(hooks, targets, secret, plan, indices, pace)
    }

    fn start_with(
        hooks: &Webhooks,
        targets: &[String],
        secret: &str,
        plan: &Arc<Vec<Planned>>,
        indices: std::ops::Range<usize>,
        pace: Pace,
    ) -> Burst {
        let Pace {
            senders: sender_count,
            pause,
            give_up,
        } = pace;
        let t0 = Instant::now();
        let queue = Arc::new(Mutex::new(indices.collect::<VecDeque<usize>>()));
        let answered = Arc::new(AtomicUsize::new(0));
        let acked: Arc<Vec<AtomicBool>> =
            Arc::new((0..plan.len()).map(|_| AtomicBool::new(false)).collect());
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let mut senders = JoinSet::new();
        for _ in 0..sender_count {
            let (hooks, targets, secret) = (hooks.clone(), targets.to_vec(), secret.to_string());
            let (plan, queue) = (Arc::clone(plan), Arc::clone(&queue));
            let (answered, acked, attempts) = (
                Arc::clone(&answered),
                Arc::clone(&acked),
                Arc::clone(&attempts),
            );
            senders.spawn(async move {
                let mut undelivered = Vec::new();
                loop {
                    if t0.elapsed() >= give_up {
                        return undelivered;
                    }
                    let Some(index) = queue.lock().unwrap().pop_front() else {
                        return undelivered;
                    };
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                    let url = &targets[index % targets.len()];
                    let mut tries = 0u32;
                    loop {
                        let started = t0.elapsed();
                        let result = hooks
                            .try_telegram(url, Some(&secret), &plan[index].body)
                            .await;
                        let attempt = Attempt {
                            index,
                            started,
                            finished: t0.elapsed(),
                            status: result.as_ref().ok().map(|resp| resp.status.as_u16()),
                        };
                        let ok = attempt.ok();
                        attempts.lock().unwrap().push(attempt);
                        if ok {
                            acked[index].store(true, Ordering::SeqCst);
                            answered.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if t0.elapsed() >= give_up {
                            let last = match result {
                                Ok(resp) => format!("{} {}", resp.status, resp.body),
                                Err(error) => error.to_string(),
                            };
                            undelivered
                                .push(format!("update #{index} after {} tries: {last}", tries + 1));
                            break;
                        }
                        tries += 1;
                        let backoff = 250u64 << tries.min(3);
                        tokio::time::sleep(Duration::from_millis(backoff)).await;
                    }
                }
            });
        }
        Burst {
            t0,
            answered,
            acked,
            attempts,
            senders,
        }
    }

    /// Updates answered 2xx so far.
    fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Non-2xx answers and transport errors so far.
    fn refusals(&self) -> usize {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| !a.ok())
            .count()
    }

    /// Waits until `count` updates were answered 2xx; panics after `timeout`.
    async fn wait_answered(&self, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.answered() < count {
            assert!(
                Instant::now() < deadline,
                "the burst did not reach {count} answered webhooks in {timeout:?}: {} answered, {} refused",
                self.answered(),
                self.refusals()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `at` as an offset from the start of the burst.
    fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.t0)
    }

    async fn finish(mut self) -> BurstOutcome {
        let mut undelivered = Vec::new();
        while let Some(result) = self.senders.join_next().await {
            undelivered.extend(result.expect("a sender task"));
        }
        let attempts = self.attempts.lock().unwrap().clone();
        BurstOutcome {
            t0: self.t0,
            acked: self
                .acked
                .iter()
                .map(|a| a.load(Ordering::SeqCst))
                .collect(),
            attempts,
            undelivered,
            elapsed: self.t0.elapsed(),
        }
    }
}

impl BurstOutcome {
    fn summary(&self) -> String {
        let mut by_status: HashMap<String, usize> = HashMap::new();
        for attempt in &self.attempts {
            let key = attempt
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "transport error".into());
            *by_status.entry(key).or_default() += 1;
        }
        let mut statuses: Vec<_> = by_status.into_iter().collect();
        statuses.sort();
        format!(
            "{} of {} updates answered 2xx in {:.1?} over {} attempts {:?}",
            self.acked.iter().filter(|a| **a).count(),
            self.acked.len(),
            self.elapsed,
            self.attempts.len(),
            statuses
        )
    }
}

/// Waits until the channel holds `expected` inbound messages (then a moment
/// more, for late duplicates), printing progress; gives up when the count
/// stops moving for `stall` or after `limit`, and returns what is stored.
async fn wait_stored(
    cluster: &Cluster,
    channel_id: &str,
    expected: usize,
    stall: Duration,
    limit: Duration,
) -> Vec<StoredMessage> {
    let started = Instant::now();
    let (mut last_count, mut last_change) = (0, Instant::now());
    let mut last_print = Instant::now();
    loop {
        let stored = match cluster.stored_inbound(channel_id).await {
            Ok(stored) => stored,
            Err(error) => {
                eprintln!("  (reading the messages failed: {error}; retrying)");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let count = stored.len();
        if count >= expected {
            eprintln!(
                "  {count} of {expected} stored after {:.1?}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_secs(3)).await;
            return cluster.stored_inbound_retrying(channel_id).await;
        }
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "  {count} of {expected} stored after {:.1?}",
                started.elapsed()
            );
            last_print = Instant::now();
        }
        if last_change.elapsed() >= stall || started.elapsed() >= limit {
            eprintln!(
                "  gave up waiting with {count} of {expected} stored after {:.1?} (unchanged for {:.1?})",
                started.elapsed(),
                last_change.elapsed()
            );
            return stored;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Everything wrong with `stored` against `plan`: missing, duplicated,
/// altered and unexpected messages.
fn exactly_once_problems(plan: &[Planned], stored: &[StoredMessage]) -> Vec<String> {
    let mut seen = occurrences(stored);
    let mut problems = Vec::new();
    for (index, planned) in plan.iter().enumerate() {
        match seen.remove(planned.provider_message_id.as_str()) {
            None => problems.push(format!(
                "{} (update #{index}) is missing",
                planned.provider_message_id
            )),
            Some(rows) if rows.len() > 1 => problems.push(format!(
                "{} is stored {} times",
                planned.provider_message_id,
                rows.len()
            )),
            Some(rows) if rows[0].text != planned.text => problems.push(format!(
                "{} has text {:?}, expected {:?}",
                planned.provider_message_id, rows[0].text, planned.text
            )),
            Some(_) => {}
        }
    }
    for (extra, rows) in seen {
        problems.push(format!("unexpected message {extra}: {} rows", rows.len()));
    }
    problems
}

/// Panics with the problems, the counters of every node and the log lines
/// that explain them, unless there are none.
async fn assert_exactly_once(
    cluster: &Cluster,
    plan: &[Planned],
    stored: &[StoredMessage],
    what: &str,
) {
    let problems = exactly_once_problems(plan, stored);
    if problems.is_empty() {
        eprintln!(
            "{what}: all {} updates stored exactly once ({} rows)",
            plan.len(),
            stored.len()
        );
        return;
    }
    let mut logs = String::new();
    for name in cluster.node_names() {
        let lines = cluster.grep_log(
            &name,
            &["ERROR", "WARN", "dead-lettered", "retrying", "revoked"],
            25,
        );
        logs.push_str(&format!("--- {name}: {} notable lines ---\n", lines.len()));
        for line in lines {
            logs.push_str(&line);
            logs.push('\n');
        }
    }
    panic!(
        "{what}: {} problems in {} stored messages (of {} planned):\n{}\n--- counters ---\n{}\n{logs}",
        problems.len(),
        stored.len(),
        plan.len(),
        problems[..problems.len().min(40)].join("\n"),
        cluster.metrics_summary().await,
    );
}

/// Status of GET /readyz on a node (`None`: no answer within 10 s).
async fn readyz(server: &Server) -> Option<u16> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    client
        .get(server.url("/readyz"))
        .send()
        .await
        .ok()
        .map(|resp| resp.status().as_u16())
}

// ---------------------------------------------------------------------------

/// Two writer processes share the writer group; writer-b is killed with
/// SIGKILL a quarter into a burst of 2,000 webhooks, and started again (as a
/// supervisor would) once the survivor has written what it could. The
/// records the dead writer had consumed but not committed are redone: every
/// message exactly once, nothing extra.
///
/// Started again because tansu 0.6.0 never hands a dead member's partitions
/// to the survivor (see the ignored test below); a new member joining makes
/// it rebalance for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_writer_killed_mid_burst_loses_and_duplicates_nothing() {
    writer_killed_mid_burst("writer_killed_mid_burst", true).await;
}

/// As above, without starting the dead writer again: the survivor alone must
/// take over its partitions once the group has noticed the death (45 s,
/// librdkafka's default session timeout).
///
/// Fails with tansu 0.6.0 as the broker, whichever writer dies: its group
/// coordinator evicts the dead member after the session timeout ("missed
/// heartbeat for rdkafka-<dead> ... in generation: 1") and the survivor
/// rejoins, but the group stays `Formed` in the same generation, and its
/// SyncGroup answer ignores the new assignment the leader sent (all 4
/// partitions) and returns the old one: the survivor then fetches offsets for
/// partitions [0, 1] only, and the dead writer's partitions are never read
/// again. When the dead writer was the leader, the survivor is even told the
/// dead member is still the leader. Nothing of Switchboard is involved; with
/// Apache Kafka the survivor takes every partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "tansu 0.6.0 group coordinator bug: a dead member's partitions are never reassigned to the survivor (not a Switchboard bug)"]
async fn distributed_fault_writer_killed_mid_burst_survivor_takes_over_alone() {
    writer_killed_mid_burst("writer_killed_survivor_alone", false).await;
}

async fn writer_killed_mid_burst(name: &str, restart_victim: bool) {
    // writer-a formed the group (it leads it); writer-b joined it second.
    let victim = "writer-b";
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const UPDATES: usize = 2_000;
        const CHATS: i64 = 20;
        /// Updates sent before the burst at most, waiting for the group to settle.
        const MAX_WARM_UP: usize = 400;
        const KILL_AFTER: usize = 500;
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge", "edge,inbound,outbound").await;
        cluster.add_node("writer-a", "writer").await;
        cluster.add_node("writer-b", "writer").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(UPDATES, CHATS, 710_000_001, "writer-kill");

        // Warm-up, one update per chat a round, until both writers were given
        // partitions and consumed something (the group settles in seconds).
        let consumed = |m: &Metrics| m.sum("switchboard_bus_consumed_total", &[]);
        let writers_consumed = || async {
            (
                consumed(&cluster.node("writer-a").metrics().await),
                consumed(&cluster.node("writer-b").metrics().await),
            )
        };
        let spread = Instant::now();
        let mut warm_up = 0;
        let (a, b) = loop {
            let round = Burst::start(
                &cluster.hooks,
                std::slice::from_ref(&channel.webhook_url),
                channel.secret(),
                &plan,
                warm_up..warm_up + CHATS as usize,
            )
            .finish()
            .await;
            assert!(
                round.undelivered.is_empty(),
                "warm-up webhooks refused:\n{}",
                round.undelivered.join("\n")
            );
            warm_up += CHATS as usize;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let (a, b) = writers_consumed().await;
            if (a > 0.0 && b > 0.0) || warm_up >= MAX_WARM_UP {
                break (a, b);
            }
        };
        eprintln!(
            "warm-up: {warm_up} updates in {:.1?}; consumed by writer-a {a}, writer-b {b}",
            spread.elapsed()
        );
        assert!(
            a > 0.0 && b > 0.0,
            "the writer group did not spread the partitions over both writers \
             after {warm_up} updates: writer-a consumed {a}, writer-b {b}"
        );

        // The burst; a quarter in, kill the victim.
        let burst = Burst::start(
            &cluster.hooks,
            std::slice::from_ref(&channel.webhook_url),
            channel.secret(),
            &plan,
            warm_up..UPDATES,
        );
        burst
            .wait_answered(KILL_AFTER - warm_up, Duration::from_secs(90))
            .await;
        let (a, b) = writers_consumed().await;
        let killed_at = Instant::now();
        cluster.node_mut(victim).kill().await;
        let stored_at_kill = cluster.stored_inbound_retrying(&channel.id).await.len();
        eprintln!(
            "killed {victim} (SIGKILL) at {:.1?} into the burst: {} answered 2xx, {stored_at_kill} stored; \
             consumed so far: writer-a {a}, writer-b {b}",
            burst.offset(killed_at),
            warm_up + burst.answered()
        );

        let outcome = burst.finish().await;
        eprintln!("burst: {}", outcome.summary());
        assert!(
            outcome.undelivered.is_empty(),
            "webhooks never answered 2xx (the edge was not touched):\n{}",
            outcome.undelivered.join("\n")
        );
        assert!(
            stored_at_kill < UPDATES,
            "everything was stored before the kill: nothing was interrupted"
        );

        let stored = if restart_victim {
            // What the survivor writes by itself, then the restart.
            let alone = wait_stored(
                &cluster,
                &channel.id,
                UPDATES,
                Duration::from_secs(8),
                Duration::from_secs(60),
            )
            .await;
            if alone.len() < UPDATES {
                // Started again before the broker evicted the dead member, the
                // writer would share the partitions with the dead one, which
                // keeps its share for good (the same tansu bug): wait for the
                // eviction (session timeout, 45 s) first.
                eprintln!(
                    "the survivor stopped at {} of {UPDATES}; waiting for the session timeout",
                    alone.len()
                );
                tokio::time::sleep_until((killed_at + SESSION_TIMEOUT_MARGIN).into()).await;
                eprintln!(
                    "starting {victim} again {:.1?} after the kill",
                    killed_at.elapsed()
                );
                cluster.node_mut(victim).restart().await;
                wait_stored(
                    &cluster,
                    &channel.id,
                    UPDATES,
                    Duration::from_secs(60),
                    Duration::from_secs(100),
                )
                .await
            } else {
                alone
            }
        } else {
            // The group notices the dead member after its session timeout
            // (45 s by default), so allow more than that without progress.
            wait_stored(
                &cluster,
                &channel.id,
                UPDATES,
                Duration::from_secs(80),
                Duration::from_secs(120),
            )
            .await
        };
        eprintln!(
            "drained {} messages {:.1?} after the kill",
            stored.len(),
            killed_at.elapsed()
        );
        eprintln!("counters:\n{}", cluster.metrics_summary().await);
        assert_exactly_once(&cluster, &plan, &stored, name).await;
        assert_eq!(
            cluster.conversation_count(&channel.id).await.unwrap(),
            CHATS,
            "one conversation per chat"
        );
        cluster.shutdown().await;
    })
    .await;
}

/// How long the broker stays down in the outage tests.
const OUTAGE: Duration = Duration::from_secs(10);

/// One GET /readyz while the broker was down; times from the stop.
#[derive(Debug)]
struct Probe {
    node: &'static str,
    started: Duration,
    finished: Duration,
    status: Option<u16>,
}

/// Kills the broker and returns when it was dead.
async fn stop_broker(cluster: &mut Cluster) -> Instant {
    cluster.tansu.stop().await;
    Instant::now()
}

/// With the broker stopped at `stopped`: probes /readyz of `nodes` (one
/// after the other) until [`OUTAGE`] has passed, awaits `hold` (the broker
/// stays down until it is done), starts the broker again on the same port
/// and storage, and checks that every probe made entirely while it was down
/// answered 503. Returns when the restart began, and what `hold` gave.
async fn outage_then_restart<T>(
    cluster: &mut Cluster,
    nodes: &[&'static str],
    stopped: Instant,
    hold: impl Future<Output = T>,
) -> (Instant, T) {
    let mut probes: Vec<Probe> = Vec::new();
    'probing: while stopped.elapsed() < OUTAGE {
        for &node in nodes {
            let started = stopped.elapsed();
            if started >= OUTAGE {
                break 'probing;
            }
            let status = readyz(cluster.node(node)).await;
            probes.push(Probe {
                node,
                started,
                finished: stopped.elapsed(),
                status,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let held = hold.await;
    let resumed = Instant::now();
    cluster.tansu.resume().await;
    eprintln!(
        "broker started again {:.1?} after the stop (listening {:.1?} later)",
        resumed.duration_since(stopped),
        resumed.elapsed()
    );
    eprintln!("/readyz while down: {probes:?}");
    // A probe that began after the stop (plus a second for librdkafka to
    // notice) and ended before the restart saw the broker down throughout.
    let outage = resumed.duration_since(stopped);
    let during: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.started >= Duration::from_secs(1) && p.finished < outage)
        .collect();
    for &node in nodes {
        assert!(
            during.iter().any(|p| p.node == node),
            "no /readyz probe of {node} ran while the broker was down: {probes:?}"
        );
    }
    assert!(
        during.iter().all(|p| p.status == Some(503)),
        "/readyz must answer 503 while the broker is down: {during:?}"
    );
    (resumed, held)
}

/// Waits until /readyz of every node answers 200 again (60 s each at most).
async fn wait_ready_again(cluster: &Cluster, nodes: &[&str], resumed: Instant) {
    let mut ready_after = Vec::new();
    for &node in nodes {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let status = readyz(cluster.node(node)).await;
            if status == Some(200) {
                ready_after.push((node, resumed.elapsed()));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz of {node} did not answer 200 within 60 s of the broker's restart (last {status:?})"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    eprintln!("/readyz 200 again after the restart: {ready_after:?}");
}

/// While the broker is down: webhooks are answered 503, never 2xx, and
/// /readyz of every process answers 503; once it is back, /readyz answers
/// 200. Webhooks are sent only while nothing else is in flight (everything
/// sent before the outage is stored first), at the start of the outage, and
/// the broker stays down until they are all answered, so nothing is left to
/// publish when it returns. (It predates the bus's workaround for tansu's
/// epoch bug, see `broker_outage_answers_503_then_recovers_exactly_once`;
/// it stays for the 503s and /readyz of an outage with nothing in flight.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_broker_outage_answers_503_and_readyz_follows_the_broker() {
    broker_outage_503("broker_outage_503", None).await;
}

/// As above, and each 503 comes within [`PUBLISH_TIMEOUT_BOUND`], as
/// host/src/bus/kafka.rs promises ("fails within `PUBLISH_TIMEOUT` [5 s]
/// when the broker is unreachable").
///
/// This caught a host bug, since fixed: the edge answered after 8-11 s,
/// because `KafkaBus::publish` relied on librdkafka's `message.timeout.ms`
/// alone, and librdkafka only notices expired messages of a partition whose
/// broker is down when its reconnect backoff lets it (up to 10 s). Publish
/// now has a deadline of its own around the delivery futures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_broker_outage_answers_503_within_the_publish_timeout() {
    broker_outage_503("broker_outage_503_in_time", Some(PUBLISH_TIMEOUT_BOUND)).await;
}

/// The edge's PUBLISH_TIMEOUT (5 s) plus slack for a busy machine.
const PUBLISH_TIMEOUT_BOUND: Duration = Duration::from_secs(7);

async fn broker_outage_503(name: &str, latency_bound: Option<Duration>) {
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const BEFORE: usize = 300;
        const DURING: usize = 100;
        let nodes = ["edge", "writer"];
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge", "edge,inbound,outbound").await;
        cluster.add_node("writer", "writer").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(BEFORE + DURING, 10, 725_000_001, "outage-503");

        let before = Burst::start(
            &cluster.hooks,
            std::slice::from_ref(&channel.webhook_url),
            channel.secret(),
            &plan,
            0..BEFORE,
        )
        .finish()
        .await;
        eprintln!("before the outage: {}", before.summary());
        assert!(before.undelivered.is_empty(), "{:?}", before.undelivered);
        let stored = wait_stored(
            &cluster,
            &channel.id,
            BEFORE,
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(stored.len(), BEFORE, "stored before the outage");

        // Senders during the first 4 s of the outage only.
        let stopped = stop_broker(&mut cluster).await;
        eprintln!("broker killed");
        let hooks = cluster.hooks.clone();
        let url = channel.webhook_url.clone();
        let secret = channel.secret().to_string();
        let during_plan = Arc::clone(&plan);
        let senders = tokio::spawn(async move {
            Burst::start_until(
                &hooks,
                std::slice::from_ref(&url),
                &secret,
                &during_plan,
                BEFORE..BEFORE + DURING,
                Duration::from_secs(4),
            )
            .finish()
            .await
        });
        // The broker stays down until every webhook sent meanwhile was
        // answered: nothing is left to publish when it returns.
        let (resumed, during) = outage_then_restart(&mut cluster, &nodes, stopped, async {
            senders.await.expect("the senders")
        })
        .await;
        let last_answer = during
            .attempts
            .iter()
            .map(|a| during.t0 + a.finished)
            .max()
            .unwrap_or(during.t0);
        eprintln!(
            "during the outage: {} (last answer {:.1?} after the stop, restart {:.1?} after it)",
            during.summary(),
            last_answer.duration_since(stopped),
            resumed.duration_since(stopped)
        );
        assert!(
            !during.attempts.is_empty(),
            "no webhook was sent during the outage"
        );
        let not_503: Vec<&Attempt> = during
            .attempts
            .iter()
            .filter(|a| a.status != Some(503))
            .collect();
        assert!(
            not_503.is_empty(),
            "while the broker was down every webhook must be answered 503: {not_503:?}"
        );
        let mut latencies: Vec<Duration> = during
            .attempts
            .iter()
            .map(|a| a.finished - a.started)
            .collect();
        latencies.sort();
        eprintln!(
            "503 answered after (sent at {:?} from the stop at the latest): {latencies:.1?}",
            during
                .attempts
                .iter()
                .map(|a| (during.t0 + a.started).duration_since(stopped))
                .max()
        );
        if let Some(bound) = latency_bound {
            let slow: Vec<&Duration> = latencies.iter().filter(|l| **l > bound).collect();
            assert!(
                slow.is_empty(),
                "with the broker down, {} of {} webhooks were answered 503 only after more than \
                 {bound:?}: {slow:.1?}",
                slow.len(),
                latencies.len()
            );
        }

        wait_ready_again(&cluster, &nodes, resumed).await;
        let stored = cluster.stored_inbound_retrying(&channel.id).await;
        let plan_before: Vec<Planned> = plan[..BEFORE]
            .iter()
            .map(|p| Planned {
                body: Value::Null,
                provider_message_id: p.provider_message_id.clone(),
                text: p.text.clone(),
            })
            .collect();
        assert_exactly_once(&cluster, &plan_before, &stored, name).await;
        cluster.shutdown().await;
    })
    .await;
}

/// The broker is killed a fifth into a burst and started again 10 s later on
/// the same port and storage. While it is down the edge answers 503 (never
/// 2xx) and /readyz answers 503; afterwards /readyz is 200 again, the
/// senders' retries go through, and every update is stored exactly once.
///
/// This is the test that made the bus retire a producer whose records timed
/// out (host/src/bus/kafka/lanes.rs). Before, it failed on tansu 0.6.0:
/// publishes that time out during the outage make librdkafka's idempotent
/// producer bump its epoch locally (as the Kafka protocol allows), and the
/// first produce with the new epoch after the restart panicked tansu's SQLite
/// engine ("more or less than one row", tansu-storage-0.6.0/src/lite.rs:503,
/// in idempotent_message_check: producer_select_for_update.sql finds no row
/// for producer 1, epoch 2). The panic killed its storage task, so every
/// later request was answered UNKNOWN_SERVER_ERROR and the edge answered 503
/// for good. Now the producer is replaced by a fresh one (a new producer id
/// from the broker) before it can send with the bumped epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_broker_outage_answers_503_then_recovers_exactly_once() {
    let name = "broker_outage";
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const UPDATES: usize = 1_000;
        const STOP_AFTER: usize = 200;
        let nodes = ["writer", "edge"];
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge", "edge,inbound,outbound").await;
        cluster.add_node("writer", "writer").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(UPDATES, 10, 720_000_001, "outage");

        let burst = Burst::start(
            &cluster.hooks,
            std::slice::from_ref(&channel.webhook_url),
            channel.secret(),
            &plan,
            0..plan.len(),
        );
        burst.wait_answered(STOP_AFTER, Duration::from_secs(90)).await;
        let stopped = stop_broker(&mut cluster).await;
        let answered_at_stop = burst.answered();
        let (resumed, ()) = outage_then_restart(&mut cluster, &nodes, stopped, async {}).await;
        let stop_at = burst.offset(stopped);
        eprintln!(
            "broker was killed at {stop_at:.1?} into the burst ({answered_at_stop} answered 2xx by then)"
        );
        wait_ready_again(&cluster, &nodes, resumed).await;

        let outcome = burst.finish().await;
        eprintln!("burst: {}", outcome.summary());
        let resume_at = stop_at + resumed.duration_since(stopped);
        // Attempts that began after the broker died and were answered before
        // it came back cannot have been acknowledged by it.
        let blind: Vec<&Attempt> = outcome
            .attempts
            .iter()
            .filter(|a| a.started >= stop_at + Duration::from_secs(1) && a.finished < resume_at)
            .collect();
        let late: Vec<&Attempt> = outcome
            .attempts
            .iter()
            .filter(|a| a.started >= stop_at + Duration::from_secs(6))
            .collect();
        let refused_503 = outcome
            .attempts
            .iter()
            .filter(|a| a.started >= stop_at && a.status == Some(503))
            .count();
        eprintln!(
            "stop at {stop_at:.1?}, restart at {resume_at:.1?}: {} attempts started and answered \
             inside the outage ({} 2xx), {refused_503} answered 503 after the stop, \
             {} attempts started 6 s or more after the stop",
            blind.len(),
            blind.iter().filter(|a| a.ok()).count(),
            late.len()
        );
        assert!(
            refused_503 > 0,
            "the edge never answered 503 while the broker was down: {}",
            outcome.summary()
        );
        let wrongly_ok: Vec<String> = blind
            .iter()
            .filter(|a| a.ok())
            .map(|a| {
                format!(
                    "update #{} sent at {:.1?}, answered {:?} at {:.1?}",
                    a.index, a.started, a.status, a.finished
                )
            })
            .collect();
        assert!(
            wrongly_ok.is_empty(),
            "webhooks answered 2xx while the broker was down (not acknowledged by anyone): {wrongly_ok:?}"
        );
        assert!(
            outcome.undelivered.is_empty(),
            "webhooks still refused {:?} after the broker came back:\n{}",
            SEND_DEADLINE,
            outcome.undelivered.join("\n")
        );

        let stored = wait_stored(
            &cluster,
            &channel.id,
            UPDATES,
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
        .await;
        // Everything answered 2xx first (the promise of a 2xx), then all.
        let seen = occurrences(&stored);
        let lost_acked: Vec<&str> = plan
            .iter()
            .zip(&outcome.acked)
            .filter(|(p, acked)| **acked && !seen.contains_key(p.provider_message_id.as_str()))
            .map(|(p, _)| p.provider_message_id.as_str())
            .collect();
        assert!(
            lost_acked.is_empty(),
            "{} webhooks answered 2xx are not stored: {:?}\n{}",
            lost_acked.len(),
            &lost_acked[..lost_acked.len().min(40)],
            cluster.metrics_summary().await
        );
        eprintln!("counters:\n{}", cluster.metrics_summary().await);
        assert_exactly_once(&cluster, &plan, &stored, name).await;
        cluster.shutdown().await;
    })
    .await;
}

/// PostgreSQL sessions of the deployment are terminated a few times during a
/// burst: the writer's transaction fails, it pauses and retries the batch,
/// and the pipeline resumes; nothing is lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_postgres_sessions_cut_mid_burst_lose_and_duplicate_nothing() {
    let name = "postgres_cut";
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const UPDATES: usize = 1_000;
        /// Cuts while webhooks are still coming, at least.
        const MIN_CUTS: usize = 3;
        const MAX_CUTS: usize = 12;
        const CUT_EVERY: Duration = Duration::from_millis(600);
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge", "edge,inbound,outbound").await;
        cluster.add_node("writer", "writer").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(UPDATES, 10, 730_000_001, "pg-cut");

        // A paced burst (about 70 a second) so that the writer commits many
        // small transactions while the cuts come.
        let burst = Burst::start_with(
            &cluster.hooks,
            std::slice::from_ref(&channel.webhook_url),
            channel.secret(),
            &plan,
            0..plan.len(),
            Pace {
                senders: 8,
                pause: Duration::from_millis(100),
                ..Pace::default()
            },
        );
        burst.wait_answered(100, Duration::from_secs(90)).await;
        // From 10% on, cuts 600 ms apart, each at a moment a transaction is
        // open (a writer batch, most likely), until the writer was caught in
        // one at least once and there were a few cuts mid-burst.
        let writer_retries = |m: &Metrics| m.sum("switchboard_writer_retries_total", &[]);
        let mut cuts: Vec<(usize, usize, usize)> = Vec::new();
        loop {
            let (terminated, in_transaction) = cluster
                .database
                .terminate_connections_mid_transaction(Duration::from_secs(2))
                .await
                .unwrap_or_else(|e| panic!("cut #{}: {e}", cuts.len() + 1));
            let answered = burst.answered();
            let stored = cluster.stored_inbound_retrying(&channel.id).await.len();
            eprintln!(
                "cut #{}: terminated {terminated} sessions{} at {:.1?} into the burst \
                 ({answered} answered 2xx, {stored} stored)",
                cuts.len() + 1,
                if in_transaction {
                    " during a transaction"
                } else {
                    ""
                },
                burst.offset(Instant::now()),
            );
            cuts.push((terminated, answered, stored));
            tokio::time::sleep(CUT_EVERY).await;
            let mid_burst = cuts.iter().filter(|(_, a, _)| *a < UPDATES).count();
            let retried = writer_retries(&cluster.node("writer").metrics().await);
            if (mid_burst >= MIN_CUTS && retried > 0.0)
                || burst.answered() >= UPDATES
                || cuts.len() >= MAX_CUTS
            {
                break;
            }
        }
        let mid_burst = cuts.iter().filter(|(_, a, _)| *a < UPDATES).count();
        assert!(
            mid_burst >= MIN_CUTS,
            "only {mid_burst} cuts came while webhooks were still being sent: {cuts:?}"
        );
        assert!(
            cuts.iter()
                .map(|(terminated, _, _)| terminated)
                .sum::<usize>()
                > 0,
            "no session was ever terminated: {cuts:?}"
        );

        let outcome = burst.finish().await;
        eprintln!("burst: {}", outcome.summary());
        assert!(
            outcome.undelivered.is_empty(),
            "webhooks never answered 2xx:\n{}",
            outcome.undelivered.join("\n")
        );
        let stored = wait_stored(
            &cluster,
            &channel.id,
            UPDATES,
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
        .await;
        let retried = writer_retries(&cluster.node("writer").metrics().await);
        eprintln!(
            "{} cuts ({mid_burst} mid-burst); the writer retried {retried} transactions; {} stored",
            cuts.len(),
            stored.len()
        );
        eprintln!("counters:\n{}", cluster.metrics_summary().await);
        assert_exactly_once(&cluster, &plan, &stored, name).await;
        assert!(
            retried > 0.0,
            "in {} cuts no writer transaction was interrupted (switchboard_writer_retries_total \
             stayed 0): the test did not exercise the writer's retry",
            cuts.len()
        );
        cluster.shutdown().await;
    })
    .await;
}

/// PostgreSQL refuses connections for 15 s while the inbound role has a
/// backlog of accepted webhooks: the inbound process is frozen (SIGSTOP)
/// while the edge accepts 100 webhooks, then the database stops accepting
/// connections (ALLOW_CONNECTIONS false, sessions terminated) and the inbound
/// process resumes. Webhooks answered 2xx must not be lost to a database
/// outage: once the database is back every update is stored exactly once.
///
/// This caught a host bug, since fixed: the inbound role used to treat a
/// database error while loading the channel account as poison and
/// dead-letter the backlog; it now redoes the batch, as the writer does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_postgres_down_while_inbound_has_a_backlog_loses_nothing() {
    let name = "postgres_down_backlog";
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const FIRST: usize = 100;
        const BACKLOG: usize = 100;
        const DOWN: Duration = Duration::from_secs(15);
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge", "edge,outbound").await;
        cluster.add_node("inbound", "inbound").await;
        cluster.add_node("writer", "writer").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(FIRST + BACKLOG, 10, 735_000_001, "pg-down");
        let send = |indices: std::ops::Range<usize>| {
            Burst::start(
                &cluster.hooks,
                std::slice::from_ref(&channel.webhook_url),
                channel.secret(),
                &plan,
                indices,
            )
            .finish()
        };

        let first = send(0..FIRST).await;
        assert!(first.undelivered.is_empty(), "{:?}", first.undelivered);
        wait_stored(
            &cluster,
            &channel.id,
            FIRST,
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
        .await;

        cluster.node("inbound").signal("STOP").await;
        let backlog = send(FIRST..FIRST + BACKLOG).await;
        eprintln!(
            "backlog with the inbound process frozen: {}",
            backlog.summary()
        );
        assert!(backlog.undelivered.is_empty(), "{:?}", backlog.undelivered);

        cluster
            .database
            .allow_connections(false)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let terminated = cluster
            .database
            .terminate_connections()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let down_at = Instant::now();
        cluster.node("inbound").signal("CONT").await;
        eprintln!(
            "database refuses connections ({terminated} sessions terminated); inbound resumed"
        );
        tokio::time::sleep(DOWN).await;
        cluster
            .database
            .allow_connections(true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!("database back after {:.1?}", down_at.elapsed());

        let stored = wait_stored(
            &cluster,
            &channel.id,
            FIRST + BACKLOG,
            Duration::from_secs(30),
            Duration::from_secs(90),
        )
        .await;
        eprintln!("counters:\n{}", cluster.metrics_summary().await);
        assert_exactly_once(&cluster, &plan, &stored, name).await;
        cluster.shutdown().await;
    })
    .await;
}

/// Every update is posted 5 times at once, 3 times to one edge process and
/// twice to another: one message each, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distributed_fault_same_update_to_two_edges_five_times_is_one_message() {
    let name = "two_edges_five_times";
    if !distributed_tests_enabled(name) {
        return;
    }
    bounded(name, async {
        const UPDATES: usize = 50;
        const COPIES: usize = 5;
        /// Updates in flight at once (each with its 5 copies).
        const PARALLEL: usize = 4;
        let mut cluster = Cluster::start(PARTITIONS).await;
        cluster.add_node("edge-a", "edge").await;
        cluster.add_node("edge-b", "edge").await;
        cluster.add_node("workers", "inbound,writer,outbound").await;
        cluster.bootstrap().await;
        let channel = cluster.connect_telegram("Support").await;
        let plan = plan(UPDATES, 5, 740_000_001, "dup");
        let url_a = channel.webhook_url.clone();
        let url_b = url_a.replacen(
            cluster.node("edge-a").base_url(),
            cluster.node("edge-b").base_url(),
            1,
        );
        assert_ne!(url_a, url_b, "the webhook URL is on edge-a's public URL");

        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = JoinSet::new();
        for _ in 0..PARALLEL {
            let (hooks, secret) = (cluster.hooks.clone(), channel.secret().to_string());
            let (url_a, url_b) = (url_a.clone(), url_b.clone());
            let (plan, next) = (Arc::clone(&plan), Arc::clone(&next));
            workers.spawn(async move {
                let mut answers = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= plan.len() {
                        return answers;
                    }
                    // The 5 copies at once; each retried until 2xx.
                    let copies = (0..COPIES).map(|copy| {
                        let url = if copy % 2 == 0 { &url_a } else { &url_b };
                        let (hooks, secret, body) = (&hooks, &secret, &plan[index].body);
                        async move {
                            let mut statuses = Vec::new();
                            for attempt in 0..10u64 {
                                if attempt > 0 {
                                    tokio::time::sleep(Duration::from_millis(250 * attempt)).await;
                                }
                                let status = hooks
                                    .try_telegram(url, Some(secret), body)
                                    .await
                                    .map(|resp| resp.status.as_u16())
                                    .unwrap_or(0);
                                statuses.push(status);
                                if (200..300).contains(&status) {
                                    break;
                                }
                            }
                            statuses
                        }
                    });
                    let statuses = futures_util::future::join_all(copies).await;
                    answers.push((index, statuses));
                }
            });
        }
        let mut answers = Vec::new();
        while let Some(result) = workers.join_next().await {
            answers.extend(result.expect("a delivery task"));
        }
        let refused: Vec<_> = answers
            .iter()
            .filter(|(_, copies)| {
                copies
                    .iter()
                    .any(|statuses| !(200..300).contains(statuses.last().unwrap()))
            })
            .collect();
        let retried = answers
            .iter()
            .flat_map(|(_, copies)| copies)
            .filter(|statuses| statuses.len() > 1)
            .count();
        eprintln!(
            "{} deliveries of {UPDATES} updates answered in {:.1?} ({retried} needed a retry)",
            UPDATES * COPIES,
            started.elapsed()
        );
        assert!(
            refused.is_empty(),
            "copies never answered 2xx (index, statuses per copy): {refused:?}"
        );

        let stored = wait_stored(
            &cluster,
            &channel.id,
            UPDATES,
            Duration::from_secs(30),
            Duration::from_secs(60),
        )
        .await;
        let summary = cluster.metrics_summary().await;
        eprintln!("counters:\n{summary}");
        assert_exactly_once(&cluster, &plan, &stored, name).await;
        let accepted: f64 = [
            cluster.node("edge-a").metrics().await,
            cluster.node("edge-b").metrics().await,
        ]
        .iter()
        .map(|m| m.sum("switchboard_webhooks_accepted_total", &[]))
        .sum();
        assert!(
            accepted >= (UPDATES * COPIES) as f64,
            "both edges together accepted {accepted} webhooks, expected at least {}",
            UPDATES * COPIES
        );
        let written = cluster.node("workers").metrics().await.sum(
            "switchboard_events_applied_total",
            &[("outcome", "written")],
        );
        assert_eq!(
            written, UPDATES as f64,
            "the writer wrote {written} events for {UPDATES} distinct updates\n{summary}"
        );
        cluster.shutdown().await;
    })
    .await;
}
