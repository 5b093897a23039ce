//! CPU time from /proc (Linux): per process, per thread name, and the whole
//! machine, so a benchmark can say where the time went.

use std::collections::BTreeMap;
use std::path::Path;

/// /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100.
const TICKS_PER_SEC: f64 = 100.0;

/// The pids of every process whose command name is `comm` (`postgres`, `tansu`).
pub fn pids_named(comm: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let (name, _) = task_usage(&entry.path())?;
            (name == comm).then_some(pid)
        })
        .collect()
}

/// CPU seconds used so far by all these processes together.
pub fn total_cpu(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| task_usage(&Path::new("/proc").join(pid.to_string())))
        .map(|(_, usage)| usage.cpu())
        .sum()
}

/// The pid of the `switchboard serve` process using `data_dir`: found by its
/// environment, which the harness does not expose otherwise.
pub fn server_pid(data_dir: &Path) -> Option<u32> {
    let wanted = format!("SWITCHBOARD_DATA_DIR={}", data_dir.display());
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let serves = cmdline.split(|b| *b == 0).any(|arg| arg == b"serve");
        let matches = environ
            .split(|b| *b == 0)
            .any(|var| var == wanted.as_bytes());
        if serves && matches {
            return Some(pid);
        }
    }
    None
}

/// What one thread (or a whole process) used: CPU seconds in user and
/// kernel mode, and context switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub user: f64,
    pub system: f64,
    pub switches: f64,
}

impl Usage {
    pub fn cpu(&self) -> f64 {
        self.user + self.system
    }

    pub fn add(&mut self, other: Usage) {
        self.user += other.user;
        self.system += other.system;
        self.switches += other.switches;
    }

    pub fn minus(&self, earlier: Usage) -> Usage {
        Usage {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
            switches: self.switches - earlier.switches,
        }
    }
}

/// (command name, CPU time) from a /proc `stat` file, and the context
/// switches from the `status` file beside it.
pub fn task_usage(dir: &Path) -> Option<(String, Usage)> {
    let text = std::fs::read_to_string(dir.join("stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    let switches = std::fs::read_to_string(dir.join("status"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains("ctxt_switches:"))
        .filter_map(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        .sum();
    Some((
        comm,
        Usage {
            user: user / TICKS_PER_SEC,
            system: system / TICKS_PER_SEC,
            switches,
        },
    ))
}

/// CPU time of a process in all (exited threads included) and per thread
/// name (live threads only).
#[derive(Clone, Debug, Default)]
pub struct CpuSnapshot {
    pub total: Usage,
    pub threads: BTreeMap<String, Usage>,
}

pub fn cpu_snapshot(pid: Option<u32>) -> Option<CpuSnapshot> {
    let dir = match pid {
        Some(pid) => Path::new("/proc").join(pid.to_string()),
        None => Path::new("/proc/self").to_path_buf(),
    };
    let (_, mut total) = task_usage(&dir)?;
    // The process's status counts the main thread's switches only.
    total.switches = 0.0;
    let mut threads: BTreeMap<String, Usage> = BTreeMap::new();
    if let Ok(tasks) = std::fs::read_dir(dir.join("task")) {
        for task in tasks.flatten() {
            if let Some((comm, usage)) = task_usage(&task.path()) {
                total.switches += usage.switches;
                threads.entry(comm).or_default().add(usage);
            }
        }
    }
    Some(CpuSnapshot { total, threads })
}

pub fn describe_cpu(
    who: &str,
    before: &CpuSnapshot,
    after: &CpuSnapshot,
    wall: f64,
    webhooks: usize,
) -> Vec<String> {
    let total = after.total.minus(before.total);
    let per_webhook = |usage: Usage| {
        format!(
            "{:>6.3} ms CPU/webhook, {:>5.1} switches/webhook",
            usage.cpu() * 1000.0 / webhooks.max(1) as f64,
            usage.switches / webhooks.max(1) as f64
        )
    };
    let mut lines = vec![format!(
        "  {who}: {:.2} CPU s ({:.2} user + {:.2} kernel) over {wall:.2} s wall = {:.2} cores; {}",
        total.cpu(),
        total.user,
        total.system,
        total.cpu() / wall,
        per_webhook(total)
    )];
    let mut accounted = 0.0;
    for (name, usage) in &after.threads {
        let usage = usage.minus(before.threads.get(name).copied().unwrap_or_default());
        if usage.cpu() >= 0.01 || usage.switches >= 1.0 {
            accounted += usage.cpu();
            lines.push(format!(
                "    threads {name:<16} {:>6.2} s ({:>5.2} user + {:>5.2} kernel)  {}",
                usage.cpu(),
                usage.user,
                usage.system,
                per_webhook(usage)
            ));
        }
    }
    if total.cpu() - accounted >= 0.01 {
        lines.push(format!(
            "    threads that exited      {:>6.2} s",
            total.cpu() - accounted
        ));
    }
    lines
}

/// (busy, all) CPU seconds of the whole machine since boot, from /proc/stat.
pub fn machine_cpu() -> Option<(f64, f64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let all: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0.0);
    Some(((all - idle) / TICKS_PER_SEC, all / TICKS_PER_SEC))
}
