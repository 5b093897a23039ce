//! What the pipeline benchmarks share: the webhook bodies, the load
//! generator and latency quantiles. Each benchmark binary uses a part of it.
#![allow(dead_code)]

pub mod cpu;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;

use crate::support::api::TELEGRAM_SECRET_HEADER;
use crate::support::fake_telegram::updates;

/// Private chats the updates are spread over (one conversation each).
pub const CHATS: usize = 200;
const FIRST_CHAT: i64 = 810_000_001;

/// p50/p90/p99/max of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub struct Quantiles {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    /// Nearest-rank quantiles of microsecond samples; None when empty.
    pub fn of_micros(mut samples: Vec<i64>) -> Option<Quantiles> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = (q * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1] as f64 / 1000.0
        };
        Some(Quantiles {
            count: samples.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: samples[samples.len() - 1] as f64 / 1000.0,
        })
    }
}

pub fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(value) => format!("{value:.decimals$}"),
        None => "n/a".to_string(),
    }
}

pub fn fmt_quantiles(q: Option<Quantiles>) -> String {
    match q {
        Some(q) => format!("{:.1} / {:.1} / {:.1} / {:.1}", q.p50, q.p90, q.p99, q.max),
        None => "n/a".to_string(),
    }
}

/// A positive integer from the environment, or `default` when unset.
pub fn env_usize(name: &str, default: usize) -> Result<usize, String> {
    match env_count(name, default)? {
        0 => Err(format!("{name}=0: it must be a positive integer")),
        value => Ok(value),
    }
}

/// Like [`env_usize`], but 0 is allowed (it turns a phase off).
pub fn env_count(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("{name}={text:?} is not a whole number")),
    }
}

pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_micros() as i64)
        .unwrap_or(0)
}

/// The `index`-th update of a run (warm-up first, then the burst): update
/// ids count up from 1, chats take turns, message ids count up per chat.
pub fn update_body(index: usize) -> String {
    let chat = FIRST_CHAT + (index % CHATS) as i64;
    let message_id = 1 + (index / CHATS) as i64;
    let name = format!("Bench customer {}", index % CHATS + 1);
    let text = format!("bench message {}", index + 1);
    updates::private_text(index as i64 + 1, chat, message_id, &name, &text).to_string()
}

/// What one webhook got.
pub struct Sample {
    pub rtt: Duration,
    /// HTTP status, or None for a transport error.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub answered_at: Instant,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// Where and how to post.
#[derive(Clone)]
pub struct Target {
    pub client: reqwest::Client,
    pub url: String,
    pub secret: String,
}

/// Posts every body once with `concurrency` senders sharing one client. With
/// `per_sec`, body `i` is not sent before `i / per_sec` seconds after the
/// start (an open-loop steady rate); without, as fast as answers come back.
pub async fn post_all(
    target: Target,
    bodies: Arc<Vec<String>>,
    concurrency: usize,
    per_sec: Option<f64>,
    answered: Arc<AtomicUsize>,
) -> Vec<Sample> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for _ in 0..concurrency.min(bodies.len()) {
        let target = target.clone();
        let (bodies, next, answered) = (
            Arc::clone(&bodies),
            Arc::clone(&next),
            Arc::clone(&answered),
        );
        senders.spawn(async move {
            let mut samples = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(index) else {
                    return samples;
                };
                if let Some(rate) = per_sec {
                    let due = started + Duration::from_secs_f64(index as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                samples.push(post_one(&target, body.clone()).await);
                answered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut all = Vec::with_capacity(bodies.len());
    while let Some(result) = senders.join_next().await {
        all.extend(result.expect("a sender task"));
    }
    all
}

async fn post_one(target: &Target, body: String) -> Sample {
    let started = Instant::now();
    let result = target
        .client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TELEGRAM_SECRET_HEADER, &target.secret)
        .body(body)
        .send()
        .await;
    let (status, error) = match result {
        // Read the body so the connection goes back to the pool.
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(_) => (Some(status), None),
                Err(error) => (Some(status), Some(error.to_string())),
            }
        }
        Err(error) => (None, Some(error.to_string())),
    };
    Sample {
        rtt: started.elapsed(),
        status,
        error,
        answered_at: Instant::now(),
    }
}
