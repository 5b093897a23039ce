//! A private Kafka-compatible broker for one test: tansu with its SQLite
//! storage engine in a temporary folder, on a free loopback port. The test
//! can stop it (SIGKILL) and start it again on the same port and file.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

use super::server::free_port;

/// How long tansu may take to accept connections after it was started.
pub const TANSU_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the `tansu` binary is: on PATH, or where `cargo install` puts it.
pub fn tansu_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tansu"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
        Some(home.join("bin").join("tansu")).filter(|candidate| candidate.is_file())
    })
}

pub struct Tansu {
    binary: PathBuf,
    port: u16,
    /// Holds `tansu.db` (the storage engine's file) and `tansu.log`.
    root: TempDir,
    child: Option<Child>,
    starts: u32,
}

impl Tansu {
    /// Starts a broker on a free port and waits until it accepts connections.
    /// Panics with a clear message when tansu is not installed.
    pub async fn start() -> Tansu {
        let binary = tansu_binary().unwrap_or_else(|| {
            panic!(
                "the `tansu` broker is not installed (not on PATH nor in ~/.cargo/bin): \
                 run `cargo install tansu --locked --features libsql` (scripts/services.sh does), \
                 or set SWITCHBOARD_TEST_EMBEDDED_ONLY=1 to skip the distributed fault tests"
            )
        });
        let root = tempfile::Builder::new()
            .prefix("switchboard-tansu-")
            .tempdir()
            .expect("create a temporary directory for tansu");
        let mut tansu = Tansu {
            binary,
            port: free_port(),
            root,
            child: None,
            starts: 0,
        };
        tansu.spawn_until_listening().await;
        tansu
    }

    /// `127.0.0.1:<port>`: SWITCHBOARD_KAFKA_BROKERS.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("tansu.log")
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL, then reap: the broker is gone when this returns.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
            self.note("killed with SIGKILL");
        }
    }

    /// Starts the broker again on the same port and storage file.
    pub async fn resume(&mut self) {
        self.stop().await;
        self.spawn_until_listening().await;
    }

    /// The last `lines` lines tansu printed (all runs, in order).
    pub fn log_tail(&self, lines: usize) -> String {
        super::log_tail(&self.log_path(), lines)
    }

    async fn spawn_until_listening(&mut self) {
        let mut failure = String::new();
        // The port of a killed broker may take a moment to be bindable again.
        for attempt in 1..=5 {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            self.spawn();
            match self.wait_listening().await {
                Ok(()) => return,
                Err(reason) => {
                    failure = reason;
                    self.stop().await;
                }
            }
        }
        panic!(
            "tansu did not start on port {}: {failure}\n--- tansu log tail ---\n{}",
            self.port,
            self.log_tail(60)
        );
    }

    fn spawn(&mut self) {
        self.starts += 1;
        self.note(&format!("start #{}", self.starts));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the tansu log");
        let stderr = log.try_clone().expect("clone the log handle");
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.binary)
            .current_dir(self.root.path())
            .args(["broker", "--storage-engine", "sqlite://tansu.db"])
            .args(["--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            // SWITCHBOARD_TEST_TANSU_LOG=info shows the group coordinator's decisions.
            .env(
                "RUST_LOG",
                std::env::var("SWITCHBOARD_TEST_TANSU_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.binary.display()));
        self.child = Some(child);
    }

    async fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + TANSU_START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("tansu exited early with {status}"));
                }
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nothing listened on the port after {TANSU_START_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn note(&self, what: &str) {
        super::note_in_log(&self.log_path(), what);
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- tansu log tail ({}) ---\n{}\n--- end of tansu log ---",
                self.log_path().display(),
                self.log_tail(40)
            );
        }
        if let Some(kept) = super::preserve_log(&self.log_path(), "tansu") {
            eprintln!("tansu log kept at {}", kept.display());
        }
    }
}
