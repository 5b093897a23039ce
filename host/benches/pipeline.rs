//! End-to-end throughput of the inbound pipeline on the embedded default
//! (SQLite bus and store in one file): the real `switchboard` binary (the
//! release build under `cargo bench`), a fake Telegram Bot API, one connected
//! Telegram channel, and a burst of distinct text updates posted to its
//! webhook URL over keep-alive connections.
//!
//! Run with `cargo bench -p switchboard --bench pipeline` after
//! `scripts/build-plugins.sh`. Prints figures; asserts nothing about time.
//!
//! Measured:
//! - edge: time until every webhook of the burst was answered, and the HTTP
//!   round trip each sender saw;
//! - end to end: N / (last commit - first send), reading the database
//!   directly (`messages.received_at` is stamped when the edge received the
//!   webhook, `messages.created_at` when the writer applied it);
//! - where the time goes: the same clock read at each bus hop, the server's
//!   /metrics histograms, and CPU seconds per process and thread group.
//!
//! Caveats: `messages.created_at` is stamped as each event is applied inside
//! the writer's batch transaction, so it precedes the commit by the rest of
//! the batch (the server's `switchboard_webhook_to_commit_seconds`, printed
//! too, is observed after the commit). The CPU figures read /proc (Linux);
//! the whole-machine line says when other processes took CPU during the
//! burst, which makes the rates lower than the server can do.
//!
//! Environment:
//! - `SWITCHBOARD_BENCH_WEBHOOKS`: webhooks in the burst (default 20000);
//! - `SWITCHBOARD_BENCH_CONCURRENCY`: concurrent senders (default 64);
//! - `SWITCHBOARD_BENCH_TIMEOUT_SECS`: overall limit (default 600); past it
//!   the benchmark prints what it has and exits non-zero.

#[path = "../../tests/support/mod.rs"]
mod support;

mod common;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use common::cpu::{cpu_snapshot, describe_cpu, machine_cpu, server_pid};
use common::{
    env_usize, fmt_opt, fmt_quantiles, now_micros, post_all, update_body, Quantiles, Target, CHATS,
};
use support::metrics::Metrics;
use support::Env;

const DEFAULT_WEBHOOKS: usize = 20_000;
const DEFAULT_CONCURRENCY: usize = 64;
const DEFAULT_TIMEOUT_SECS: usize = 600;
/// Webhooks sent before the burst: one per chat, so the burst finds every
/// contact and conversation already there and measures the steady state.
const WARMUP: usize = 200;
/// The target on the 2-core machine, end to end.
const TARGET_PER_SEC: f64 = 2_000.0;
const POLL_EVERY: Duration = Duration::from_millis(100);
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Give up waiting for commits when the count stops moving this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
const WARMUP_TIMEOUT: Duration = Duration::from_secs(120);

struct Config {
    webhooks: usize,
    concurrency: usize,
    timeout: Duration,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        Ok(Config {
            webhooks: env_usize("SWITCHBOARD_BENCH_WEBHOOKS", DEFAULT_WEBHOOKS)?,
            concurrency: env_usize("SWITCHBOARD_BENCH_CONCURRENCY", DEFAULT_CONCURRENCY)?,
            timeout: Duration::from_secs(env_usize(
                "SWITCHBOARD_BENCH_TIMEOUT_SECS",
                DEFAULT_TIMEOUT_SECS,
            )? as u64),
        })
    }
}

/// One hop of the pipeline as seen in the database: how long after the
/// webhook was received its record (or row) was stamped, and when the last
/// one of the burst was.
struct Stage {
    name: &'static str,
    latency: Option<Quantiles>,
    /// Seconds from the first send to the last record of the burst.
    last_secs: Option<f64>,
}

/// Everything measured so far; printed at the end, or when the run is cut
/// short by the overall timeout or a failure.
#[derive(Default)]
struct Report {
    cores: usize,
    webhooks: usize,
    concurrency: usize,
    phase: String,
    warmup_committed: Option<i64>,
    /// Burst webhooks answered so far (any outcome).
    answered: usize,
    ok: Option<usize>,
    non_2xx: Option<usize>,
    transport_errors: Option<usize>,
    statuses: BTreeMap<String, usize>,
    edge_secs: Option<f64>,
    rtt: Option<Quantiles>,
    /// Burst messages committed so far and when that was seen.
    committed: usize,
    committed_seen_secs: f64,
    /// First send to the last commit, from the database's own stamps.
    e2e_secs: Option<f64>,
    latency: Option<Quantiles>,
    stages: Vec<Stage>,
    details: Vec<String>,
    complete: bool,
}

impl Report {
    fn edge_rate(&self) -> Option<f64> {
        Some(self.ok? as f64 / self.edge_secs?)
    }

    fn e2e_rate(&self) -> Option<f64> {
        let committed = self.latency.map(|q| q.count).unwrap_or(self.committed);
        Some(committed as f64 / self.e2e_secs?)
    }

    fn print(&self) {
        let rows: Vec<(String, String)> = vec![
            (
                "machine cores (available_parallelism)".into(),
                self.cores.to_string(),
            ),
            (
                "webhooks in the burst (N)".into(),
                self.webhooks.to_string(),
            ),
            ("concurrent senders".into(), self.concurrency.to_string()),
            (
                "edge accepted/s (2xx / first send..last answer)".into(),
                fmt_opt(self.edge_rate(), 0),
            ),
            (
                "end-to-end committed/s (first send..last commit)".into(),
                fmt_opt(self.e2e_rate(), 0),
            ),
            (
                "received->committed p50/p90/p99/max (ms)".into(),
                fmt_quantiles(self.latency),
            ),
            (
                "client RTT p50 / p99 (ms)".into(),
                match self.rtt {
                    Some(q) => format!("{:.1} / {:.1}", q.p50, q.p99),
                    None => "n/a".into(),
                },
            ),
            (
                "non-2xx answers".into(),
                self.non_2xx
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "n/a".into()),
            ),
            (
                "transport errors".into(),
                self.transport_errors
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "n/a".into()),
            ),
            (
                "edge: first send..last answer (s)".into(),
                fmt_opt(self.edge_secs, 2),
            ),
            (
                "end to end: first send..last commit (s)".into(),
                fmt_opt(self.e2e_secs, 2),
            ),
            (
                "burst messages committed".into(),
                format!(
                    "{} of {}",
                    self.latency.map(|q| q.count).unwrap_or(self.committed),
                    self.ok.unwrap_or(self.webhooks)
                ),
            ),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let value_width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        println!();
        println!("Switchboard pipeline benchmark: webhook -> embedded bus -> normalize -> writer -> SQLite");
        if !self.complete {
            println!(
                "INCOMPLETE RUN (stopped during: {}); figures below are what was measured so far",
                self.phase
            );
            if self.ok.is_none() {
                println!("  answered so far: {} of {}", self.answered, self.webhooks);
            }
            if self.committed_seen_secs > 0.0 {
                println!(
                    "  committed so far: {} after {:.1} s ({:.0}/s)",
                    self.committed,
                    self.committed_seen_secs,
                    self.committed as f64 / self.committed_seen_secs
                );
            }
        }
        let rule = format!("+-{}-+-{}-+", "-".repeat(width), "-".repeat(value_width));
        println!("{rule}");
        for (key, value) in &rows {
            println!("| {key:<width$} | {value:>value_width$} |");
        }
        println!("{rule}");
        if !self.statuses.is_empty() {
            let list: Vec<String> = self
                .statuses
                .iter()
                .map(|(status, count)| format!("{status}: {count}"))
                .collect();
            println!("answers by status: {}", list.join(", "));
        }
        if !self.stages.is_empty() {
            println!();
            println!(
                "Per hop, from the webhook received at the edge (database stamps, same clock):"
            );
            println!(
                "  {:<44} {:>30} {:>14} {:>8}",
                "hop (stamp)", "p50 / p90 / p99 / max (ms)", "last at (s)", "rate/s"
            );
            for stage in &self.stages {
                let rate = match (stage.latency, stage.last_secs) {
                    (Some(q), Some(secs)) if secs > 0.0 => format!("{:.0}", q.count as f64 / secs),
                    _ => "n/a".into(),
                };
                println!(
                    "  {:<44} {:>30} {:>14} {:>8}",
                    stage.name,
                    fmt_quantiles(stage.latency),
                    fmt_opt(stage.last_secs, 2),
                    rate
                );
            }
        }
        if !self.details.is_empty() {
            println!();
            for line in &self.details {
                println!("{line}");
            }
        }
        println!();
        match self.e2e_rate() {
            Some(rate) if self.complete => println!(
                "target >= {TARGET_PER_SEC:.0} webhooks/s end to end on {} cores: {} ({rate:.0}/s)",
                self.cores,
                if rate >= TARGET_PER_SEC { "meets" } else { "misses" }
            ),
            Some(rate) => println!(
                "target >= {TARGET_PER_SEC:.0} webhooks/s end to end on {} cores: misses (incomplete run; {rate:.0}/s so far)",
                self.cores
            ),
            None => println!(
                "target >= {TARGET_PER_SEC:.0} webhooks/s end to end on {} cores: misses (no end-to-end figure)",
                self.cores
            ),
        }
    }
}

type Shared = Arc<Mutex<Report>>;

fn set_phase(report: &Shared, phase: &str) {
    eprintln!("pipeline bench: {phase}");
    report.lock().unwrap().phase = phase.to_string();
}

async fn inbound_count(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE direction = 'in'")
        .fetch_one(pool)
        .await
}

/// Polls until at least `target` inbound messages are committed; returns the
/// last count and whether it got there (false after a stall or the timeout).
async fn wait_committed(pool: &SqlitePool, target: i64, timeout: Duration) -> (i64, bool) {
    let started = Instant::now();
    let (mut last, mut last_change) = (-1, Instant::now());
    loop {
        let count = inbound_count(pool).await.unwrap_or(last);
        if count >= target {
            return (count, true);
        }
        if count != last {
            (last, last_change) = (count, Instant::now());
        }
        if last_change.elapsed() >= STALL_TIMEOUT || started.elapsed() >= timeout {
            return (count, false);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Cumulative latency from `received_at` to the stamp of each record the
/// burst left on a bus topic, and when the last one was stamped.
async fn bus_stage(
    pool: &SqlitePool,
    name: &'static str,
    topic: &str,
    since_us: i64,
) -> Result<Stage, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received, created_at FROM (
             SELECT CAST(json_extract(CAST(payload AS TEXT), '$.received_at') AS INTEGER) AS received,
                    created_at
             FROM bus_records WHERE topic = ?)
         WHERE received >= ?",
    )
    .bind(topic)
    .bind(since_us)
    .fetch_all(pool)
    .await?;
    Ok(stage_of(name, &rows, since_us))
}

fn stage_of(name: &'static str, rows: &[(i64, i64)], since_us: i64) -> Stage {
    let last = rows.iter().map(|(_, stamped)| *stamped).max();
    Stage {
        name,
        latency: Quantiles::of_micros(
            rows.iter()
                .map(|(received, stamped)| stamped - received)
                .collect(),
        ),
        last_secs: last.map(|last| (last - since_us) as f64 / 1e6),
    }
}

/// A Prometheus histogram (one series, or the sum of the matching ones).
#[derive(Clone, Debug, Default)]
struct Hist {
    count: f64,
    sum: f64,
    /// (upper bound in seconds, cumulative count), ascending.
    buckets: Vec<(f64, f64)>,
}

impl Hist {
    fn read(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> Hist {
        let bucket_name = format!("{name}_bucket");
        let mut by_le: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
        for sample in metrics.matching(&bucket_name, labels) {
            let Some(le) = sample.labels.get("le") else {
                continue;
            };
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                match le.parse::<f64>() {
                    Ok(le) => le,
                    Err(_) => continue,
                }
            };
            by_le.entry(le.to_bits()).or_insert((le, 0.0)).1 += sample.value;
        }
        let mut buckets: Vec<(f64, f64)> = by_le.into_values().collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Hist {
            count: metrics.sum(&format!("{name}_count"), labels),
            sum: metrics.sum(&format!("{name}_sum"), labels),
            buckets,
        }
    }

    /// What was observed between `before` and `self`.
    fn since(&self, before: &Hist) -> Hist {
        let buckets = self
            .buckets
            .iter()
            .map(|(le, count)| {
                let earlier = before
                    .buckets
                    .iter()
                    .find(|(b, _)| b.to_bits() == le.to_bits())
                    .map(|(_, c)| *c)
                    .unwrap_or(0.0);
                (*le, count - earlier)
            })
            .collect();
        Hist {
            count: self.count - before.count,
            sum: self.sum - before.sum,
            buckets,
        }
    }

    /// The upper bound of the bucket holding quantile `q`, in ms.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        let wanted = q * self.count;
        self.buckets
            .iter()
            .find(|(_, cumulative)| *cumulative >= wanted)
            .map(|(le, _)| le * 1000.0)
    }

    fn describe(&self, what: &str) -> String {
        if self.count <= 0.0 {
            return format!("  {what}: no observations");
        }
        let bound = |q| match self.quantile_ms(q) {
            Some(ms) if ms.is_finite() => format!("<= {ms} ms"),
            Some(_) => "> 10 s".to_string(),
            None => "n/a".to_string(),
        };
        format!(
            "  {what}: {:.0} calls, mean {:.3} ms, total {:.2} s; p50 {}, p99 {}",
            self.count,
            self.sum / self.count * 1000.0,
            self.sum,
            bound(0.5),
            bound(0.99)
        )
    }
}

fn server_log_problems(text: &str) -> (usize, usize, Option<String>) {
    let (mut warns, mut errors, mut first) = (0, 0, None);
    for line in text.lines() {
        let error = line.contains("ERROR");
        let warn = line.contains("WARN");
        if error {
            errors += 1;
        } else if warn {
            warns += 1;
        }
        if (error || warn) && first.is_none() {
            first = Some(line.chars().take(300).collect());
        }
    }
    (warns, errors, first)
}

async fn run(config: Arc<Config>, report: Shared) -> Result<(), String> {
    set_phase(
        &report,
        "starting the server (release binary) and the fake Telegram API",
    );
    let env = Env::start().await;
    let channel = env.connect_telegram("Bench").await;
    let secret = channel.secret().to_string();
    let url = channel.webhook_url.clone();
    let db_path = env.server.data_dir().join("switchboard.db");
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&db_path)
                .read_only(true),
        )
        .await
        .map_err(|e| format!("open {} read-only: {e}", db_path.display()))?;
    let pid = server_pid(&env.server.data_dir());
    if pid.is_none() {
        eprintln!("pipeline bench: could not find the server's pid; no CPU figures");
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(config.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("build the HTTP client: {e}"))?;

    set_phase(
        &report,
        &format!("warm-up: {WARMUP} webhooks over {CHATS} chats"),
    );
    let warmup: Arc<Vec<String>> = Arc::new((0..WARMUP).map(update_body).collect());
    let target = Target {
        client: client.clone(),
        url: url.clone(),
        secret: secret.clone(),
    };
    let samples = post_all(
        target.clone(),
        warmup,
        config.concurrency,
        None,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let warm_ok = samples.iter().filter(|s| s.ok()).count();
    if warm_ok < WARMUP {
        let first = samples.iter().find(|s| !s.ok());
        return Err(format!(
            "warm-up: only {warm_ok} of {WARMUP} webhooks answered 2xx; first other: {:?} {:?}",
            first.and_then(|s| s.status),
            first.and_then(|s| s.error.clone())
        ));
    }
    let (warm_count, warmed) = wait_committed(&pool, warm_ok as i64, WARMUP_TIMEOUT).await;
    report.lock().unwrap().warmup_committed = Some(warm_count);
    if !warmed {
        return Err(format!(
            "warm-up: {warm_count} of {warm_ok} messages committed before giving up"
        ));
    }

    let bodies: Arc<Vec<String>> = Arc::new(
        (WARMUP..WARMUP + config.webhooks)
            .map(update_body)
            .collect(),
    );
    let metrics_before = env.api.metrics().await;
    let log_before = std::fs::read(env.server.log_path())
        .map(|b| b.len())
        .unwrap_or(0);
    let cpu_server_before = cpu_snapshot(pid);
    let cpu_self_before = cpu_snapshot(None);
    let machine_before = machine_cpu();

    set_phase(
        &report,
        &format!(
            "burst: {} webhooks, {} senders",
            config.webhooks, config.concurrency
        ),
    );
    let answered = Arc::new(AtomicUsize::new(0));
    let burst_start_us = now_micros();
    let burst_start = Instant::now();
    let mut senders = Some(tokio::spawn(post_all(
        target,
        Arc::clone(&bodies),
        config.concurrency,
        None,
        Arc::clone(&answered),
    )));
    let mut target: Option<i64> = None;
    let (mut last_count, mut last_change) = (warm_count, Instant::now());
    let mut next_progress = burst_start + PROGRESS_EVERY;
    let reached = loop {
        tokio::time::sleep(POLL_EVERY).await;
        if senders.as_ref().is_some_and(|handle| handle.is_finished()) {
            let samples = senders
                .take()
                .unwrap()
                .await
                .map_err(|e| format!("the senders failed: {e}"))?;
            let mut r = report.lock().unwrap();
            let ok = samples.iter().filter(|s| s.ok()).count();
            let transport = samples.iter().filter(|s| s.status.is_none()).count();
            for sample in &samples {
                let key = match sample.status {
                    Some(status) => status.to_string(),
                    None => "transport error".to_string(),
                };
                *r.statuses.entry(key).or_insert(0) += 1;
            }
            if let Some(sample) = samples.iter().find(|s| !s.ok()) {
                r.details.push(format!(
                    "first failed answer: status {:?}, error {:?}",
                    sample.status, sample.error
                ));
            }
            let last_answer = samples
                .iter()
                .map(|s| s.answered_at)
                .max()
                .unwrap_or(burst_start);
            r.ok = Some(ok);
            r.non_2xx = Some(samples.len() - ok - transport);
            r.transport_errors = Some(transport);
            r.edge_secs = Some(last_answer.duration_since(burst_start).as_secs_f64());
            r.rtt =
                Quantiles::of_micros(samples.iter().map(|s| s.rtt.as_micros() as i64).collect());
            r.answered = samples.len();
            target = Some(warm_count + ok as i64);
            eprintln!(
                "pipeline bench: all {} answered after {:.2} s ({ok} 2xx); waiting for commits",
                samples.len(),
                r.edge_secs.unwrap_or(0.0)
            );
        }
        let count = inbound_count(&pool).await.unwrap_or(last_count);
        let elapsed = burst_start.elapsed().as_secs_f64();
        {
            let mut r = report.lock().unwrap();
            r.committed = (count - warm_count).max(0) as usize;
            r.committed_seen_secs = elapsed;
            if senders.is_some() {
                r.answered = answered.load(Ordering::Relaxed);
            }
        }
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            eprintln!(
                "  [{elapsed:6.1} s] answered {:>6} / {}   committed {:>6}",
                answered.load(Ordering::Relaxed),
                config.webhooks,
                count - warm_count
            );
        }
        if let Some(target) = target {
            if count >= target {
                break true;
            }
        }
        if count != last_count {
            (last_count, last_change) = (count, Instant::now());
        }
        if senders.is_none() && last_change.elapsed() >= STALL_TIMEOUT {
            break false;
        }
    };
    let burst_wall = burst_start.elapsed().as_secs_f64();
    let cpu_server_after = cpu_snapshot(pid);
    let cpu_self_after = cpu_snapshot(None);
    let machine_after = machine_cpu();
    if !reached {
        report.lock().unwrap().details.push(format!(
            "the committed count stopped moving for {STALL_TIMEOUT:?}; analysing what was committed"
        ));
    }

    set_phase(&report, "reading the database and /metrics");
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received_at, created_at FROM messages WHERE direction = 'in' AND received_at >= ?",
    )
    .bind(burst_start_us)
    .fetch_all(&pool)
    .await
    .map_err(|e| format!("read the burst's messages: {e}"))?;
    let raw = bus_stage(
        &pool,
        "edge: raw webhook on the bus (group commit)",
        "channel.webhook.telegram",
        burst_start_us,
    )
    .await
    .map_err(|e| format!("read the raw webhook topic: {e}"))?;
    let normalized = bus_stage(
        &pool,
        "inbound: normalized event on the bus",
        "channel.inbound.normalized",
        burst_start_us,
    )
    .await
    .map_err(|e| format!("read the normalized topic: {e}"))?;
    let committed = stage_of(
        "writer: message row (messages.created_at)",
        &rows,
        burst_start_us,
    );
    let metrics_after = env.api.metrics().await;
    {
        let mut r = report.lock().unwrap();
        r.latency = committed.latency;
        r.e2e_secs = committed.last_secs;
        r.committed = rows.len();
        r.stages = vec![raw, normalized, committed];
        r.details.push(format!(
            "commit seen by polling COUNT(*) after {burst_wall:.2} s (poll every {} ms)",
            POLL_EVERY.as_millis()
        ));
    }

    let mut details = vec!["Server /metrics during the burst:".to_string()];
    for (what, name, labels) in [
        (
            "plugin verify (edge, per webhook)",
            "switchboard_plugin_call_seconds",
            vec![("call", "verify")],
        ),
        (
            "plugin normalize (inbound worker)",
            "switchboard_plugin_call_seconds",
            vec![("call", "normalize")],
        ),
        (
            "webhook_to_commit (after the writer's commit)",
            "switchboard_webhook_to_commit_seconds",
            vec![],
        ),
    ] {
        let delta = Hist::read(&metrics_after, name, &labels).since(&Hist::read(
            &metrics_before,
            name,
            &labels,
        ));
        details.push(delta.describe(what));
    }
    let counter = |name: &str, labels: &[(&str, &str)]| {
        metrics_after.sum(name, labels) - metrics_before.sum(name, labels)
    };
    details.push(format!(
        "  webhooks accepted {:.0}, refused {:.0}; events written {:.0}, duplicate {:.0}; dead letters {:.0}",
        counter("switchboard_webhooks_accepted_total", &[]),
        counter("switchboard_webhooks_refused_total", &[]),
        counter("switchboard_events_applied_total", &[("outcome", "written")]),
        counter("switchboard_events_applied_total", &[("outcome", "duplicate")]),
        counter("switchboard_deadletter_total", &[]),
    ));
    details.push(format!(
        "CPU during the burst (first send..all committed), {} cores:",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    ));
    if let (Some(before), Some(after)) = (machine_before, machine_after) {
        let (busy, all) = (after.0 - before.0, after.1 - before.1);
        let ours = match (
            &cpu_server_before,
            &cpu_server_after,
            &cpu_self_before,
            &cpu_self_after,
        ) {
            (Some(sb), Some(sa), Some(cb), Some(ca)) => {
                Some(sa.total.cpu() - sb.total.cpu() + ca.total.cpu() - cb.total.cpu())
            }
            _ => None,
        };
        details.push(format!(
            "  whole machine: {busy:.2} busy CPU s = {:.0}% of all cores{}",
            if all > 0.0 { busy / all * 100.0 } else { 0.0 },
            match ours {
                Some(ours) => format!(
                    "; other processes: {:.2} CPU s{}",
                    (busy - ours).max(0.0),
                    if busy - ours > 0.1 * burst_wall {
                        " (something else was running: figures are disturbed)"
                    } else {
                        ""
                    }
                ),
                None => String::new(),
            }
        ));
    }
    if let (Some(before), Some(after)) = (&cpu_server_before, &cpu_server_after) {
        details.extend(describe_cpu(
            "server",
            before,
            after,
            burst_wall,
            config.webhooks,
        ));
    }
    if let (Some(before), Some(after)) = (&cpu_self_before, &cpu_self_after) {
        details.extend(describe_cpu(
            "this benchmark (client + fake API)",
            before,
            after,
            burst_wall,
            config.webhooks,
        ));
    }
    let log = std::fs::read(env.server.log_path()).unwrap_or_default();
    let burst_log = String::from_utf8_lossy(&log[log_before.min(log.len())..]).into_owned();
    let (warns, errors, first) = server_log_problems(&burst_log);
    details.push(format!(
        "server.log during the burst: {warns} WARN, {errors} ERROR lines{}",
        first
            .map(|line| format!("; first: {line}"))
            .unwrap_or_default()
    ));
    {
        let mut r = report.lock().unwrap();
        r.details.extend(details);
        r.complete = reached;
        r.phase = "done".into();
    }
    pool.close().await;
    drop(env);
    if reached {
        Ok(())
    } else {
        Err("not every accepted webhook was committed".into())
    }
}

/// Settings that would move the server (or the harness) off the embedded
/// default; the server inherits this process's environment.
const NON_DEFAULT_DEPLOYMENT: &[&str] = &[
    "SWITCHBOARD_TEST_POSTGRES",
    "SWITCHBOARD_TEST_KAFKA",
    "SWITCHBOARD_DATABASE_URL",
    "SWITCHBOARD_KAFKA_BROKERS",
    "SWITCHBOARD_KAFKA_NAMESPACE",
    "SWITCHBOARD_ROLES",
];

fn main() -> ExitCode {
    // Still one thread here: nothing reads the environment concurrently.
    for name in NON_DEFAULT_DEPLOYMENT {
        if std::env::var_os(name).is_some() {
            eprintln!(
                "pipeline bench: ignoring {name}: this benchmark measures the embedded default"
            );
            std::env::remove_var(name);
        }
    }
    let config = match Config::from_env() {
        Ok(config) => Arc::new(config),
        Err(error) => {
            eprintln!("pipeline bench: {error}");
            return ExitCode::from(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let report: Shared = Arc::new(Mutex::new(Report {
        cores,
        webhooks: config.webhooks,
        concurrency: config.concurrency,
        phase: "starting".into(),
        ..Report::default()
    }));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pipeline bench: cannot build the tokio runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        let task = tokio::spawn(run(Arc::clone(&config), Arc::clone(&report)));
        let abort = task.abort_handle();
        match tokio::time::timeout(config.timeout, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(join)) => Err(format!("the benchmark task failed: {join}")),
            Err(_) => {
                // Dropping the task drops the harness, which kills the server.
                abort.abort();
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(format!("overall timeout of {:?} reached", config.timeout))
            }
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    report.lock().unwrap_or_else(|e| e.into_inner()).print();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            println!("pipeline bench FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}
