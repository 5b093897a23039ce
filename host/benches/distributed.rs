//! The inbound pipeline on the distributed deployment (Kafka through tansu,
//! PostgreSQL), beside ceilings measured in the same run on the same machine.
//!
//! Run with `cargo bench -p switchboard --bench distributed` after
//! `scripts/build-plugins.sh`, with tansu installed and PostgreSQL reachable
//! (`scripts/services.sh` does both). Prints a table; asserts nothing about
//! time. Every figure comes from this run:
//!
//! 1. ceilings, on the cluster's own broker and database:
//!    - Kafka: the burst's webhook bodies produced through rdkafka with the
//!      bus's producer settings (idempotent, acks=all) to a fresh topic, and
//!      consumed by a consumer group at the same time: first produce to last
//!      consume;
//!    - PostgreSQL: the burst's message rows inserted into a copy of the
//!      `messages` table with the writer's own statement shape (multi-row
//!      `INSERT ... ON CONFLICT DO NOTHING`, one transaction per 512 rows);
//! 2. bursts: N webhooks as fast as `concurrency` senders get answers;
//!    end to end = N / (first send .. last row committed). Twice: with 64
//!    senders, where each sender waits on the broker's acknowledgement and
//!    the machine is not saturated, and with enough senders (256) to keep it
//!    busy, as the Kafka ceiling keeps up to 1,024 records in flight;
//! 3. steady: webhooks at a fixed rate (open loop), latency from the edge's
//!    `received_at` to the row's `created_at` (both stamped by the servers).
//!
//! A webhook passes through two topics (`channel.webhook.<provider>`, then
//! `channel.inbound.normalized`), so the end-to-end rate is compared with the
//! Kafka ceiling divided by two.
//!
//! Environment (all optional):
//! - `SWITCHBOARD_BENCH_WEBHOOKS` burst size (default 20000);
//! - `SWITCHBOARD_BENCH_CONCURRENCY` senders in the first burst (default 64);
//! - `SWITCHBOARD_BENCH_SATURATING_CONCURRENCY` senders in the second burst
//!   (default 256; 0 skips it);
//! - `SWITCHBOARD_BENCH_STEADY_RATE` webhooks/s of the steady phase (default 1000);
//! - `SWITCHBOARD_BENCH_STEADY_SECS` its length (default 15);
//! - `SWITCHBOARD_BENCH_PARTITIONS` partitions per topic (default 4);
//! - `SWITCHBOARD_BENCH_LAYOUT` processes and their roles, `/`-separated
//!   (default `edge,inbound,writer,outbound`: one process; for instance
//!   `edge,outbound/inbound/writer` runs three);
//! - `SWITCHBOARD_BENCH_TIMEOUT_SECS` overall limit (default 900).

#[path = "../../tests/support/mod.rs"]
mod support;

mod common;

use std::process::ExitCode;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use sqlx::postgres::{PgPool, PgPoolOptions};

use common::cpu;
use common::{
    env_count, env_usize, fmt_opt, fmt_quantiles, now_micros, post_all, update_body, Quantiles,
    Target, CHATS,
};
use support::cluster::Cluster;

/// Topics a webhook passes through on its way to the database.
const TOPICS_PER_WEBHOOK: f64 = 2.0;
/// The targets on the 2-core machine.
const TARGET_PER_SEC: f64 = 3_000.0;
const TARGET_SHARE_OF_CEILING: f64 = 0.5;
const TARGET_STEADY_P99_MS: f64 = 100.0;
/// Rows per transaction in the PostgreSQL ceiling: the writer's batch.
const PG_BATCH: usize = 512;
/// Rows per statement: the writer's.
const PG_ROWS_PER_STATEMENT: usize = 200;
/// Give up waiting for commits when the count stops moving this long.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(50);

struct Config {
    webhooks: usize,
    concurrency: usize,
    saturating_concurrency: usize,
    steady_rate: usize,
    steady_secs: usize,
    partitions: usize,
    layout: Vec<String>,
    timeout: Duration,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let layout = std::env::var("SWITCHBOARD_BENCH_LAYOUT")
            .unwrap_or_else(|_| "edge,inbound,writer,outbound".into());
        Ok(Config {
            webhooks: env_usize("SWITCHBOARD_BENCH_WEBHOOKS", 20_000)?,
            concurrency: env_usize("SWITCHBOARD_BENCH_CONCURRENCY", 64)?,
            saturating_concurrency: env_count("SWITCHBOARD_BENCH_SATURATING_CONCURRENCY", 256)?,
            steady_rate: env_usize("SWITCHBOARD_BENCH_STEADY_RATE", 1_000)?,
            steady_secs: env_usize("SWITCHBOARD_BENCH_STEADY_SECS", 15)?,
            partitions: env_usize("SWITCHBOARD_BENCH_PARTITIONS", 4)?,
            layout: layout
                .split('/')
                .map(|roles| roles.trim().to_string())
                .filter(|roles| !roles.is_empty())
                .collect(),
            timeout: Duration::from_secs(env_usize("SWITCHBOARD_BENCH_TIMEOUT_SECS", 900)? as u64),
        })
    }
}

/// One pipeline run: how many, how fast, how long each took.
#[derive(Default)]
struct Phase {
    sent: usize,
    accepted: usize,
    refused: usize,
    /// Accepted webhooks per second at the edge.
    edge_rate: Option<f64>,
    /// Committed rows per second, first send .. last commit.
    e2e_rate: Option<f64>,
    latency: Option<Quantiles>,
    committed: usize,
}

/// One burst: its senders, figures, and where the CPU went.
struct Burst {
    senders: usize,
    phase: Phase,
    cpu: Vec<String>,
}

#[derive(Default)]
struct Results {
    kafka_ceiling: Option<f64>,
    pg_ceiling: Option<f64>,
    bursts: Vec<Burst>,
    steady: Option<Phase>,
    /// Where the CPU went during the Kafka ceiling.
    ceiling_cpu: Vec<String>,
}

/// CPU seconds used so far by each party of the run.
struct CpuParts {
    at: Instant,
    servers: f64,
    broker: f64,
    database: f64,
    benchmark: f64,
    machine: Option<(f64, f64)>,
}

impl CpuParts {
    fn read(server_pids: &[u32]) -> CpuParts {
        CpuParts {
            at: Instant::now(),
            servers: cpu::total_cpu(server_pids),
            broker: cpu::total_cpu(&cpu::pids_named("tansu")),
            database: cpu::total_cpu(&cpu::pids_named("postgres")),
            benchmark: cpu::cpu_snapshot(None).map_or(0.0, |s| s.total.cpu()),
            machine: cpu::machine_cpu(),
        }
    }

    /// One line per party: CPU seconds, cores, and CPU per item (`unit`).
    fn describe(&self, before: &CpuParts, title: &str, items: usize, unit: &str) -> Vec<String> {
        let wall = self.at.duration_since(before.at).as_secs_f64();
        let line = |who: &str, seconds: f64| {
            format!(
                "  {who:<44} {seconds:>6.2} CPU s = {:>4.2} cores, {:>6.3} ms per {unit}",
                seconds / wall,
                seconds * 1000.0 / items.max(1) as f64
            )
        };
        let mut lines = vec![
            format!("CPU during {title} ({wall:.2} s wall):"),
            line("switchboard processes", self.servers - before.servers),
            line("tansu (broker)", self.broker - before.broker),
            line("postgres (all backends)", self.database - before.database),
            line(
                "this benchmark (HTTP client or rdkafka client)",
                self.benchmark - before.benchmark,
            ),
        ];
        if let (Some(after), Some(earlier)) = (self.machine, before.machine) {
            let (busy, all) = (after.0 - earlier.0, after.1 - earlier.1);
            lines.push(format!(
                "  {:<44} {busy:>6.2} CPU s busy of {all:.2} ({:.0}%)",
                "whole machine",
                if all > 0.0 { busy / all * 100.0 } else { 0.0 }
            ));
        }
        lines
    }
}

async fn inbound_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE direction = 'in'")
        .fetch_one(pool)
        .await
}

/// Polls until `target` inbound rows exist; false after a stall.
async fn wait_committed(pool: &PgPool, target: i64) -> bool {
    let (mut last, mut last_change) = (-1, Instant::now());
    loop {
        let count = inbound_count(pool).await.unwrap_or(last);
        if count >= target {
            return true;
        }
        if count != last {
            (last, last_change) = (count, Instant::now());
        }
        if last_change.elapsed() >= STALL_TIMEOUT {
            eprintln!("distributed bench: stuck at {count} of {target} committed rows");
            return false;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Sends `bodies` (at `per_sec` when given), waits for their rows, and
/// measures from the database's own stamps.
async fn run_phase(
    name: &str,
    target: &Target,
    pool: &PgPool,
    bodies: Vec<String>,
    concurrency: usize,
    per_sec: Option<f64>,
) -> Result<Phase, String> {
    let before = inbound_count(pool)
        .await
        .map_err(|e| format!("count messages: {e}"))?;
    let sent = bodies.len();
    eprintln!(
        "distributed bench: {name}: {sent} webhooks{}",
        per_sec.map_or(String::new(), |r| format!(" at {r:.0}/s"))
    );
    let start_us = now_micros();
    let start = Instant::now();
    let samples = post_all(
        target.clone(),
        Arc::new(bodies),
        concurrency,
        per_sec,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let accepted = samples.iter().filter(|s| s.ok()).count();
    let last_answer = samples.iter().map(|s| s.answered_at).max().unwrap_or(start);
    if let Some(failed) = samples.iter().find(|s| !s.ok()) {
        eprintln!(
            "distributed bench: {name}: {} not accepted; first: {:?} {:?}",
            sent - accepted,
            failed.status,
            failed.error
        );
    }
    let complete = wait_committed(pool, before + accepted as i64).await;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT received_at, created_at FROM messages WHERE direction = 'in' AND received_at >= $1",
    )
    .bind(start_us)
    .fetch_all(pool)
    .await
    .map_err(|e| format!("read the {name} rows: {e}"))?;
    let last_commit = rows.iter().map(|(_, created)| *created).max();
    let phase = Phase {
        sent,
        accepted,
        refused: sent - accepted,
        edge_rate: Some(accepted as f64 / last_answer.duration_since(start).as_secs_f64()),
        e2e_rate: last_commit.map(|last| rows.len() as f64 / ((last - start_us) as f64 / 1e6)),
        latency: Quantiles::of_micros(rows.iter().map(|(r, c)| c - r).collect()),
        committed: rows.len(),
    };
    if !complete {
        return Err(format!(
            "{name}: only {} of {accepted} accepted webhooks were committed",
            rows.len()
        ));
    }
    Ok(phase)
}

/// Produces `bodies` to a fresh topic while a consumer group reads them:
/// messages per second from the first produce to the last consume, and
/// where the CPU went meanwhile. The Switchboard processes (`server_pids`)
/// are idle then, but their consumers' fetches still cost the broker.
async fn kafka_ceiling(
    brokers: &str,
    partitions: usize,
    bodies: &[String],
    server_pids: &[u32],
) -> Result<(f64, Vec<String>), String> {
    let topic = format!("bench.ceiling.{}", now_micros());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| format!("kafka admin client: {e}"))?;
    admin
        .create_topics(
            &[NewTopic::new(
                &topic,
                partitions as i32,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .map_err(|e| format!("create {topic}: {e}"))?;
    // The bus's producer and consumer settings (host/src/bus/kafka), without
    // its lanes: up to 1,024 records in flight keyed over every partition.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // As the bus: SWITCHBOARD_KAFKA_LINGER_MS when set (the servers read
        // it too). Measured here, the ceiling was no lower at 0.5 ms than at
        // 2 ms (18,940-20,569 against 17,256-19,361 msg/s).
        .set(
            "linger.ms",
            std::env::var("SWITCHBOARD_KAFKA_LINGER_MS")
                .unwrap_or_else(|_| switchboard::bus::kafka::DEFAULT_LINGER_MS.to_string()),
        )
        .set("socket.nagle.disable", "true")
        .create()
        .map_err(|e| format!("kafka producer: {e}"))?;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}.readers"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("fetch.wait.max.ms", "10")
        .set("socket.nagle.disable", "true")
        .create()
        .map_err(|e| format!("kafka consumer: {e}"))?;
    consumer
        .subscribe(&[&topic])
        .map_err(|e| format!("subscribe {topic}: {e}"))?;
    // Let the group settle before the clock starts.
    let _ = tokio::time::timeout(Duration::from_secs(3), consumer.recv()).await;

    let total = bodies.len();
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < total {
            match tokio::time::timeout(STALL_TIMEOUT, consumer.recv()).await {
                Ok(Ok(_)) => seen += 1,
                Ok(Err(error)) => return Err(format!("consume: {error}")),
                Err(_) => return Err(format!("consumer stalled at {seen} of {total}")),
            }
        }
        Ok(Instant::now())
    });
    // Keys per provider thread, as the issue asks of the bus (the edge keys
    // raw webhooks by channel account: it cannot know the thread before the
    // plugin normalized them).
    let keys: Vec<String> = (0..CHATS).map(|chat| chat.to_string()).collect();
    let cpu_before = CpuParts::read(server_pids);
    let start = Instant::now();
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    for (index, body) in bodies.iter().enumerate() {
        let record = FutureRecord::to(&topic)
            .key(&keys[index % CHATS])
            .payload(body.as_bytes());
        in_flight.push(producer.send(record, Duration::from_secs(30)));
        // Bounded like the edge, which has at most `concurrency` requests open.
        if in_flight.len() >= 1024 {
            next_delivery(&mut in_flight).await?;
        }
    }
    while !in_flight.is_empty() {
        next_delivery(&mut in_flight).await?;
    }
    let done = reader.await.map_err(|e| format!("consumer task: {e}"))??;
    let cpu = CpuParts::read(server_pids).describe(
        &cpu_before,
        "the Kafka ceiling (first produce to last consume)",
        total,
        "record",
    );
    Ok((total as f64 / done.duration_since(start).as_secs_f64(), cpu))
}

async fn next_delivery<F>(
    in_flight: &mut futures_util::stream::FuturesUnordered<F>,
) -> Result<(), String>
where
    F: std::future::Future<
        Output = Result<
            rdkafka::producer::future_producer::Delivery,
            (rdkafka::error::KafkaError, rdkafka::message::OwnedMessage),
        >,
    >,
{
    use futures_util::StreamExt;
    match in_flight.next().await {
        Some(Ok(_)) | None => Ok(()),
        Some(Err((error, _))) => Err(format!("produce: {error}")),
    }
}

/// Inserts `rows` message rows into a copy of `messages` the way the writer
/// does: rows per second.
async fn postgres_ceiling(pool: &PgPool, rows: usize) -> Result<f64, String> {
    sqlx::query("CREATE TABLE bench_messages (LIKE messages INCLUDING ALL)")
        .execute(pool)
        .await
        .map_err(|e| format!("create bench_messages: {e}"))?;
    let columns = [
        "id",
        "conversation_id",
        "channel_account_id",
        "direction",
        "sender_identity_id",
        "provider_message_id",
        "text",
        "attachments",
        "reply_to",
        "status",
        "received_at",
        "sent_at",
        "created_at",
    ];
    let start = Instant::now();
    let all: Vec<usize> = (0..rows).collect();
    for batch in all.chunks(PG_BATCH) {
        let mut tx = pool.begin().await.map_err(|e| format!("begin: {e}"))?;
        for chunk in batch.chunks(PG_ROWS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let params: Vec<String> = (1..=columns.len())
                        .map(|column| format!("${}", row * columns.len() + column))
                        .collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO bench_messages ({}) VALUES {} ON CONFLICT (channel_account_id, provider_message_id) DO NOTHING RETURNING id",
                columns.join(", "),
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for &index in chunk {
                let now = now_micros();
                query = query
                    .bind(format!("bench-{index}"))
                    .bind(format!("conversation-{}", index % CHATS))
                    .bind("bench-channel")
                    .bind("in")
                    .bind(format!("identity-{}", index % CHATS))
                    .bind(format!("{}:{}", index % CHATS, index))
                    .bind(format!("bench message {}", index + 1))
                    .bind("[]")
                    .bind(None::<String>)
                    .bind("received")
                    .bind(now)
                    .bind(now)
                    .bind(now);
            }
            query
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| format!("insert: {e}"))?;
        }
        tx.commit().await.map_err(|e| format!("commit: {e}"))?;
    }
    let rate = rows as f64 / start.elapsed().as_secs_f64();
    let _ = sqlx::query("DROP TABLE bench_messages").execute(pool).await;
    Ok(rate)
}

async fn run(config: &Config, results: &mut Results) -> Result<(), String> {
    let mut cluster = Cluster::start(config.partitions as u32).await;
    for (index, roles) in config.layout.iter().enumerate() {
        cluster.add_node(&format!("n{}", index + 1), roles).await;
    }
    cluster.bootstrap().await;
    let channel = cluster.connect_telegram("Bench").await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&cluster.database.url)
        .await
        .map_err(|e| format!("connect to {}: {e}", cluster.database.name))?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(config.concurrency.max(config.saturating_concurrency))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let target = Target {
        client,
        url: channel.webhook_url.clone(),
        secret: channel.secret().to_string(),
    };

    let burst_start = CHATS;
    let burst: Vec<String> = (burst_start..burst_start + config.webhooks)
        .map(update_body)
        .collect();
    let server_pids: Vec<u32> = cluster
        .node_names()
        .iter()
        .filter_map(|name| cluster.node(name).pid())
        .collect();
    eprintln!("distributed bench: Kafka ceiling ({} records)", burst.len());
    let (rate, cpu) = kafka_ceiling(
        &cluster.tansu.brokers(),
        config.partitions,
        &burst,
        &server_pids,
    )
    .await?;
    (results.kafka_ceiling, results.ceiling_cpu) = (Some(rate), cpu);
    eprintln!(
        "distributed bench: PostgreSQL ceiling ({} rows)",
        burst.len()
    );
    results.pg_ceiling = Some(postgres_ceiling(&pool, burst.len()).await?);

    // One webhook per chat first: the burst then finds every contact and
    // conversation in place, as in the steady state of a real inbox.
    run_phase(
        "warm-up",
        &target,
        &pool,
        (0..CHATS).map(update_body).collect(),
        config.concurrency,
        None,
    )
    .await?;
    // Each burst sends fresh updates, following the previous phase's (the
    // first burst sends the ones the ceilings were measured with).
    let mut next_body = burst_start;
    for senders in [config.concurrency, config.saturating_concurrency] {
        if senders == 0 {
            continue;
        }
        let bodies: Vec<String> = (next_body..next_body + config.webhooks)
            .map(update_body)
            .collect();
        next_body += config.webhooks;
        let name = format!("burst ({senders} senders)");
        let before = CpuParts::read(&server_pids);
        let phase = run_phase(&name, &target, &pool, bodies, senders, None).await?;
        let cpu = CpuParts::read(&server_pids).describe(
            &before,
            &format!("the {name} (first send to last commit)"),
            config.webhooks,
            "webhook",
        );
        results.bursts.push(Burst {
            senders,
            phase,
            cpu,
        });
    }
    let steady_first = next_body;
    let steady_count = config.steady_rate * config.steady_secs;
    results.steady = Some(
        run_phase(
            "steady",
            &target,
            &pool,
            (steady_first..steady_first + steady_count)
                .map(update_body)
                .collect(),
            // Open loop: enough senders that none waits on another's answer.
            config.concurrency.max(config.steady_rate / 10),
            Some(config.steady_rate as f64),
        )
        .await?,
    );
    eprintln!("{}", cluster.metrics_summary().await);
    pool.close().await;
    cluster.shutdown().await;
    Ok(())
}

fn verdict(meets: bool) -> &'static str {
    if meets {
        "meets"
    } else {
        "misses"
    }
}

fn print(config: &Config, results: &Results) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let per_topic_ceiling = results.kafka_ceiling.map(|c| c / TOPICS_PER_WEBHOOK);
    let steady = results.steady.as_ref();
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let mut rows: Vec<(String, String)> = vec![
        ("cores".into(), cores.to_string()),
        ("processes (roles)".into(), config.layout.join(" | ")),
        ("partitions per topic".into(), config.partitions.to_string()),
        (
            "ceiling: rdkafka produce+consume (msg/s)".into(),
            fmt_opt(results.kafka_ceiling, 0),
        ),
        (
            format!("  / {TOPICS_PER_WEBHOOK} topics per webhook (msg/s)"),
            fmt_opt(per_topic_ceiling, 0),
        ),
        (
            "ceiling: PostgreSQL batched insert (rows/s)".into(),
            fmt_opt(results.pg_ceiling, 0),
        ),
    ];
    for burst in &results.bursts {
        let (b, label) = (&burst.phase, format!("burst, {} senders", burst.senders));
        rows.extend([
            (
                format!("{label}: sent / accepted / committed"),
                format!("{} / {} / {}", b.sent, b.accepted, b.committed),
            ),
            (format!("{label}: edge accepted/s"), fmt_opt(b.edge_rate, 0)),
            (
                format!("{label}: end-to-end committed/s"),
                fmt_opt(b.e2e_rate, 0),
            ),
            (
                format!("{label}: received->committed p50/p90/p99/max (ms)"),
                fmt_quantiles(b.latency),
            ),
            (
                "  ratio to Kafka ceiling / topics".into(),
                fmt_opt(ratio(b.e2e_rate, per_topic_ceiling), 2),
            ),
            (
                "  ratio to PostgreSQL ceiling".into(),
                fmt_opt(ratio(b.e2e_rate, results.pg_ceiling), 2),
            ),
        ]);
    }
    rows.extend([
        (
            format!(
                "steady {}/s: sent / accepted / committed",
                config.steady_rate
            ),
            steady.map_or("n/a".into(), |s| {
                format!("{} / {} / {}", s.sent, s.accepted, s.committed)
            }),
        ),
        (
            "steady: refused (non-2xx)".into(),
            steady.map_or("n/a".into(), |s| s.refused.to_string()),
        ),
        (
            "steady: received->committed p50/p90/p99/max (ms)".into(),
            fmt_quantiles(steady.and_then(|s| s.latency)),
        ),
    ]);
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let value_width = rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let rule = format!("+-{}-+-{}-+", "-".repeat(width), "-".repeat(value_width));
    println!();
    println!("Switchboard distributed benchmark: webhook -> Kafka (tansu) -> normalize -> Kafka -> writer -> PostgreSQL");
    println!("{rule}");
    for (key, value) in &rows {
        println!("| {key:<width$} | {value:>value_width$} |");
    }
    println!("{rule}");
    let cpu_lines = results.bursts.iter().flat_map(|burst| &burst.cpu);
    for line in results.ceiling_cpu.iter().chain(cpu_lines) {
        println!("{line}");
    }
    let steady_p99 = steady.and_then(|s| s.latency).map(|q| q.p99);
    for burst in &results.bursts {
        let e2e = burst.phase.e2e_rate;
        let senders = burst.senders;
        println!(
            "target >= {TARGET_PER_SEC:.0} webhooks/s end to end, {senders} senders: {}",
            e2e.map_or("misses (no figure)".to_string(), |rate| format!(
                "{} ({rate:.0}/s)",
                verdict(rate >= TARGET_PER_SEC)
            ))
        );
        println!(
            "target >= {TARGET_SHARE_OF_CEILING} x (Kafka ceiling / topics per webhook), {senders} senders: {}",
            ratio(e2e, per_topic_ceiling).map_or("misses (no figure)".to_string(), |r| format!(
                "{} ({r:.2})",
                verdict(r >= TARGET_SHARE_OF_CEILING)
            ))
        );
    }
    println!(
        "target p99 <= {TARGET_STEADY_P99_MS:.0} ms at a steady {}/s: {}",
        config.steady_rate,
        steady_p99.map_or("misses (no figure)".to_string(), |p99| format!(
            "{} ({p99:.1} ms)",
            verdict(p99 <= TARGET_STEADY_P99_MS)
        ))
    );
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("distributed bench: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("distributed bench: cannot build the tokio runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let mut results = Results::default();
    let outcome = runtime.block_on(async {
        match tokio::time::timeout(config.timeout, run(&config, &mut results)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("overall timeout of {:?} reached", config.timeout)),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    print(&config, &results);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            println!("distributed bench FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}
