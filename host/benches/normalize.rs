//! Telegram `normalize`: the plugin as a sandboxed wasm component against the
//! same Rust code compiled natively.
//!
//! Run with `cargo bench -p switchboard --bench normalize` after
//! `scripts/build-plugins.sh`. Prints per-call figures; asserts nothing about
//! time. `SWITCHBOARD_BENCH_ITERATIONS` sets the calls per mode (default 20000).
//!
//! Modes:
//! - native: the plugin crate linked into this binary, no sandbox;
//! - fresh: a new Store and instance for every call (the strictest isolation);
//! - batch: one instance per 256 calls of one channel account, as the inbound
//!   worker does (an instance never serves two accounts and is dropped after
//!   any failure);
//! - reused: one instance for everything (the floor; not how the host runs).

use std::path::Path;
use std::time::{Duration, Instant};

use switchboard::plugin::engine::PluginEngine;
use switchboard::plugin::types as host;
use switchboard::plugin::{CallKind, Loader, OperatorLimits, Plugin};
use switchboard_plugin_sdk::Provider;
use switchboard_plugin_telegram::Telegram;

/// Calls per instance in the batch mode; the inbound worker polls up to 256
/// records at a time.
const BATCH: usize = 256;

const UPDATES: &[&str] = &[
    r#"{"update_id":804112233,"message":{"message_id":512,"date":1767268800,"from":{"id":123456789,"is_bot":false,"first_name":"Anna","username":"anna_k"},"chat":{"id":123456789,"type":"private","first_name":"Anna"},"text":"Hi, is the order ready?"}}"#,
    r#"{"update_id":804112234,"message":{"message_id":513,"date":1767268830,"from":{"id":123456789,"is_bot":false,"first_name":"Anna"},"chat":{"id":123456789,"type":"private"},"photo":[{"file_id":"AgAC..s","file_unique_id":"AQs1","width":90,"height":67},{"file_id":"AgAC..l","file_unique_id":"AQs2","width":1280,"height":960}],"caption":"this one","reply_to_message":{"message_id":510,"date":1767268700,"chat":{"id":123456789,"type":"private"},"text":"Which colour?"}}}"#,
    r#"{"update_id":804112235,"edited_message":{"message_id":512,"date":1767268800,"edit_date":1767268900,"chat":{"id":123456789,"type":"private"},"from":{"id":123456789,"is_bot":false,"first_name":"Anna"},"text":"Is order #42 ready?"}}"#,
    r#"{"update_id":804112236,"message":{"message_id":77,"date":1767268960,"from":{"id":555,"is_bot":false,"first_name":"Oleg","last_name":"P"},"chat":{"id":-1001234567890,"type":"supergroup","title":"Shop chat"},"text":"Any discounts today?"}}"#,
];

struct Figures {
    name: &'static str,
    mean: Duration,
    p50: Duration,
    p99: Duration,
}

fn summarize(name: &'static str, mut samples: Vec<Duration>) -> Figures {
    samples.sort();
    let total: Duration = samples.iter().sum();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Figures {
        name,
        mean: total / samples.len() as u32,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn host_request(body: &str) -> host::IncomingRequest {
    host::IncomingRequest {
        method: "POST".into(),
        path: "/webhooks/telegram/key".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn host_channel() -> host::Channel {
    host::Channel {
        id: "channel-1".into(),
        workspace_id: "workspace-1".into(),
        provider_account_id: "123456".into(),
        config: vec![("bot_token".into(), "123456:TOKEN".into())],
        webhook_secret: "secret".into(),
        webhook_url: "https://example.test/webhooks/telegram/key".into(),
    }
}

fn native(iterations: usize) -> (Figures, usize) {
    let telegram = Telegram;
    let channel = switchboard_plugin_sdk::Channel {
        id: "channel-1".into(),
        workspace_id: "workspace-1".into(),
        provider_account_id: "123456".into(),
        config: vec![("bot_token".into(), "123456:TOKEN".into())],
        webhook_secret: "secret".into(),
        webhook_url: "https://example.test/webhooks/telegram/key".into(),
    };
    let requests: Vec<_> = UPDATES
        .iter()
        .map(|body| switchboard_plugin_sdk::IncomingRequest {
            method: "POST".into(),
            path: "/webhooks/telegram/key".into(),
            query: String::new(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        })
        .collect();
    let mut events = 0;
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let request = requests[i % requests.len()].clone();
        let started = Instant::now();
        let result = telegram.normalize(channel.clone(), request);
        samples.push(started.elapsed());
        events += result.expect("the sample updates are valid").len();
    }
    (summarize("native (no sandbox)", samples), events)
}

/// How a mode opens its sessions.
#[derive(Clone, Copy, PartialEq)]
enum Opening {
    /// A session with a fresh instance, dropped at its end.
    Fresh,
    /// A channel session: it resumes the instance parked for the channel and
    /// parks it again at its end (what verify and send do).
    Warm,
}

/// Runs `iterations` normalize calls, opening a new session every
/// `calls_per_instance` calls.
fn wasm(
    plugin: &Plugin,
    name: &'static str,
    iterations: usize,
    calls_per_instance: usize,
    opening: Opening,
) -> (Figures, usize) {
    let channel = host_channel();
    let requests: Vec<_> = UPDATES.iter().map(|body| host_request(body)).collect();
    let mut events = 0;
    let mut samples = Vec::with_capacity(iterations);
    let mut session = None;
    for i in 0..iterations {
        let request = &requests[i % requests.len()];
        let started = Instant::now();
        if i % calls_per_instance == 0 {
            // The previous session ends (and parks its instance) first.
            drop(session.take());
            session = Some(
                match opening {
                    Opening::Fresh => plugin.session(&channel.config),
                    Opening::Warm => plugin.channel_session(&channel),
                }
                .expect("channel config is valid"),
            );
        }
        let result = session
            .as_mut()
            .expect("opened above")
            .call(CallKind::Normalize, |api, store| {
                api.call_normalize(store, &channel, request)
            })
            .expect("the plugin does not trap on valid updates");
        samples.push(started.elapsed());
        events += result.expect("the sample updates are valid").len();
    }
    (summarize(name, samples), events)
}

fn main() -> anyhow::Result<()> {
    let iterations: usize = std::env::var("SWITCHBOARD_BENCH_ITERATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(20_000);
    let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/telegram.wasm");
    anyhow::ensure!(
        component.exists(),
        "{} is missing: run scripts/build-plugins.sh first",
        component.display()
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let _context = runtime.enter();
    let engine = PluginEngine::new()?;
    let pooling = engine.pooling;
    let loader = Loader::new(
        engine,
        switchboard::app::http_client()?,
        OperatorLimits::default(),
    )?;
    let loading = Instant::now();
    let plugin = loader
        .load_file(&component)
        .map_err(|reason| anyhow::anyhow!(reason))?;
    let load_time = loading.elapsed();

    // Warm caches and the allocator in every mode before measuring.
    let warm = iterations / 10 + 1;
    native(warm);
    wasm(&plugin, "warm-up", warm, 1, Opening::Fresh);
    wasm(&plugin, "warm-up", warm, BATCH, Opening::Fresh);
    wasm(&plugin, "warm-up", warm, 1, Opening::Warm);

    let (native, native_events) = native(iterations);
    let runs = [
        wasm(
            &plugin,
            "wasm, fresh instance per call",
            iterations,
            1,
            Opening::Fresh,
        ),
        wasm(
            &plugin,
            "wasm, channel session per call (parked instance)",
            iterations,
            1,
            Opening::Warm,
        ),
        wasm(
            &plugin,
            "wasm, instance per 256-call batch",
            iterations,
            BATCH,
            Opening::Fresh,
        ),
        wasm(
            &plugin,
            "wasm, one reused instance",
            iterations,
            usize::MAX,
            Opening::Fresh,
        ),
    ];
    for (figures, events) in &runs {
        assert_eq!(
            *events, native_events,
            "{} produced different events than native code",
            figures.name
        );
    }

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "Telegram normalize, {iterations} calls per mode over {} sample updates; {cores} cores; pooling allocator: {pooling}; component load (compile + manifest): {:.0} ms",
        UPDATES.len(),
        load_time.as_secs_f64() * 1e3
    );
    println!(
        "{:<50} {:>10} {:>10} {:>10} {:>18}",
        "mode", "mean µs", "p50 µs", "p99 µs", "overhead vs native"
    );
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:<50} {:>10.2} {:>10.2} {:>10.2} {:>18}",
        native.name,
        micros(native.mean),
        micros(native.p50),
        micros(native.p99),
        "-"
    );
    for (figures, _) in &runs {
        println!(
            "{:<50} {:>10.2} {:>10.2} {:>10.2} {:>15.2} µs",
            figures.name,
            micros(figures.mean),
            micros(figures.p50),
            micros(figures.p99),
            micros(figures.mean) - micros(native.mean)
        );
    }
    let batch_overhead = micros(runs[2].0.mean) - micros(native.mean);
    println!(
        "target: at most 20 µs wasm overhead per call; the host's inbound path (batch mode) {} it at {batch_overhead:.2} µs",
        if batch_overhead <= 20.0 { "meets" } else { "misses" }
    );
    Ok(())
}
