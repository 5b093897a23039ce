//! Process-wide counters and histograms, rendered in the Prometheus text format
//! at `GET /metrics`.
//!
//! Deliberately small: a handful of metric families with few label values
//! (plugin ids, call kinds, topics), so one mutex-guarded map is plenty.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

/// Latency buckets in seconds: from 50 µs (a warm plugin call) to 10 s (a
/// plugin call at its deadline, a slow provider API).
const BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

type Key = (&'static str, String);

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<Key, u64>,
    gauges: BTreeMap<Key, i64>,
    histograms: BTreeMap<Key, Histogram>,
    help: BTreeMap<&'static str, &'static str>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{name}=\"{value}\"");
    }
    out
}

/// Documents a metric family; call once at start-up per family.
pub fn describe(name: &'static str, help: &'static str) {
    REGISTRY.lock().unwrap().help.insert(name, help);
}

pub fn inc(name: &'static str, pairs: &[(&str, &str)]) {
    add(name, pairs, 1);
}

pub fn add(name: &'static str, pairs: &[(&str, &str)], value: u64) {
    let mut registry = REGISTRY.lock().unwrap();
    *registry.counters.entry((name, labels(pairs))).or_default() += value;
}

pub fn set_gauge(name: &'static str, pairs: &[(&str, &str)], value: i64) {
    let mut registry = REGISTRY.lock().unwrap();
    registry.gauges.insert((name, labels(pairs)), value);
}

pub fn observe(name: &'static str, pairs: &[(&str, &str)], seconds: f64) {
    let mut registry = REGISTRY.lock().unwrap();
    let histogram = registry
        .histograms
        .entry((name, labels(pairs)))
        .or_default();
    if histogram.counts.is_empty() {
        histogram.counts = vec![0; BUCKETS.len()];
    }
    for (bucket, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
        if seconds <= *bucket {
            *count += 1;
        }
    }
    histogram.sum += seconds;
    histogram.count += 1;
}

/// Current value of a counter (tests and readiness use it).
pub fn counter(name: &'static str, pairs: &[(&str, &str)]) -> u64 {
    let registry = REGISTRY.lock().unwrap();
    registry
        .counters
        .get(&(name, labels(pairs)))
        .copied()
        .unwrap_or(0)
}

fn header(out: &mut String, registry: &Registry, name: &str, kind: &str, last: &mut &str) {
    if *last == name {
        return;
    }
    if let Some(help) = registry.help.get(name) {
        let _ = writeln!(out, "# HELP {name} {help}");
    }
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn series(name: &str, suffix: &str, labels: &str, extra: Option<String>) -> String {
    let all = match (labels.is_empty(), extra) {
        (true, None) => String::new(),
        (true, Some(extra)) => format!("{{{extra}}}"),
        (false, None) => format!("{{{labels}}}"),
        (false, Some(extra)) => format!("{{{labels},{extra}}}"),
    };
    format!("{name}{suffix}{all}")
}

/// The whole registry in the Prometheus text exposition format.
pub fn render() -> String {
    let registry = REGISTRY.lock().unwrap();
    let mut out = String::new();
    let mut last = "";
    for ((name, labels), value) in &registry.counters {
        header(&mut out, &registry, name, "counter", &mut last);
        last = name;
        let _ = writeln!(out, "{} {value}", series(name, "", labels, None));
    }
    for ((name, labels), value) in &registry.gauges {
        header(&mut out, &registry, name, "gauge", &mut last);
        last = name;
        let _ = writeln!(out, "{} {value}", series(name, "", labels, None));
    }
    for ((name, labels), histogram) in &registry.histograms {
        header(&mut out, &registry, name, "histogram", &mut last);
        last = name;
        for (bucket, count) in BUCKETS.iter().zip(&histogram.counts) {
            let le = Some(format!("le=\"{bucket}\""));
            let _ = writeln!(out, "{} {count}", series(name, "_bucket", labels, le));
        }
        let inf = Some("le=\"+Inf\"".to_string());
        let _ = writeln!(
            out,
            "{} {}",
            series(name, "_bucket", labels, inf),
            histogram.count
        );
        let _ = writeln!(
            out,
            "{} {}",
            series(name, "_sum", labels, None),
            histogram.sum
        );
        let _ = writeln!(
            out,
            "{} {}",
            series(name, "_count", labels, None),
            histogram.count
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        inc("test_render_total", &[("plugin", "x\"y")]);
        observe("test_render_seconds", &[("call", "verify")], 0.0003);
        let text = render();
        assert!(text.contains("# TYPE test_render_total counter"));
        assert!(text.contains("test_render_total{plugin=\"x\\\"y\"} 1"));
        assert!(text.contains("test_render_seconds_bucket{call=\"verify\",le=\"0.0005\"} 1"));
        assert!(text.contains("test_render_seconds_bucket{call=\"verify\",le=\"0.00025\"} 0"));
        assert!(text.contains("test_render_seconds_count{call=\"verify\"} 1"));
    }
}
