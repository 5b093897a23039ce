//! Runs the real `switchboard` binary: start, readiness, kill -9, restart on
//! the same data directory and port, and the admin CLI with the same settings.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};

use super::built_plugin;
use super::deployment::Deployment;

/// How long a fresh process may take to answer 200 on /readyz.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which plugins the server loads.
#[derive(Clone, Copy, Debug)]
pub enum Plugins {
    /// `<workspace>/target/plugins`, as built by scripts/build-plugins.sh.
    Production,
    /// A temporary folder with telegram.wasm and the chaos test plugin.
    WithChaos,
    /// A temporary folder with a copy of every production plugin: for tests
    /// that install or remove plugins while the server runs.
    Private,
}

/// The ids `switchboard admin bootstrap` printed.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub workspace_id: String,
    pub user_id: String,
}

/// How to start a server beyond the defaults of [`Server::start`]: the
/// distributed fault tests run several processes of one deployment, each
/// with its own roles, sharing one database, broker, key and public URL.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub plugins: Plugins,
    /// `None`: [`Deployment::provision`] (what the environment asks for).
    pub deployment: Option<Deployment>,
    /// SWITCHBOARD_ROLES, e.g. `"writer"`; `None`: every role.
    pub roles: Option<String>,
    /// SWITCHBOARD_PUBLIC_URL; `None`: this server's own base URL.
    pub public_url: Option<String>,
    /// More environment, applied last (overrides the deployment's).
    pub env: Vec<(String, String)>,
    /// Prefix of the temporary directory, to tell processes' logs apart.
    pub label: String,
}

impl ServerOptions {
    pub fn new(plugins: Plugins) -> ServerOptions {
        ServerOptions {
            plugins,
            deployment: None,
            roles: None,
            public_url: None,
            env: Vec::new(),
            label: "switchboard-e2e-".to_string(),
        }
    }
}

pub struct Server {
    port: u16,
    base_url: String,
    /// SWITCHBOARD_PUBLIC_URL (the base URL unless the options said otherwise).
    public_url: String,
    roles: Option<String>,
    env: Vec<(String, String)>,
    /// Holds `data/` (SWITCHBOARD_DATA_DIR), `server.log` and, for
    /// [`Plugins::WithChaos`] and [`Plugins::Private`], `plugins/`.
    root: TempDir,
    plugins_dir: PathBuf,
    child: Option<Child>,
    starts: u32,
    deployment: Deployment,
}

impl Server {
    /// Starts a server on a free loopback port and waits until it is ready.
    pub async fn start(plugins: Plugins) -> Server {
        Server::start_with(ServerOptions::new(plugins)).await
    }

    /// Starts a server as `options` say and waits until it is ready.
    pub async fn start_with(options: ServerOptions) -> Server {
        let ServerOptions {
            plugins,
            deployment,
            roles,
            public_url,
            env,
            label,
        } = options;
        let root = tempfile::Builder::new()
            .prefix(&label)
            .tempdir()
            .expect("create a temporary directory");
        std::fs::create_dir_all(root.path().join("data")).expect("create the data dir");
        let plugins_dir = match plugins {
            Plugins::Production => {
                let telegram = built_plugin("plugins/telegram.wasm");
                telegram.parent().unwrap().to_path_buf()
            }
            Plugins::WithChaos | Plugins::Private => {
                let dir = root.path().join("plugins");
                std::fs::create_dir_all(&dir).expect("create the plugins dir");
                let sources = match plugins {
                    Plugins::WithChaos => vec![
                        built_plugin("plugins/telegram.wasm"),
                        built_plugin("test-plugins/chaos.wasm"),
                    ],
                    _ => {
                        let production = built_plugin("plugins/telegram.wasm");
                        let folder = production.parent().unwrap().to_path_buf();
                        std::fs::read_dir(&folder)
                            .expect("read target/plugins")
                            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                            .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
                            .collect()
                    }
                };
                for source in sources {
                    let target = dir.join(source.file_name().unwrap());
                    std::fs::copy(&source, &target).unwrap_or_else(|e| {
                        panic!("copy {} to {}: {e}", source.display(), target.display())
                    });
                }
                dir
            }
        };
        let port = free_port();
        let base_url = format!("http://127.0.0.1:{port}");
        let deployment = match deployment {
            Some(deployment) => deployment,
            None => Deployment::provision().await,
        };
        let mut server = Server {
            port,
            public_url: public_url.unwrap_or_else(|| base_url.clone()),
            base_url,
            roles,
            env,
            root,
            plugins_dir,
            child: None,
            starts: 0,
            deployment,
        };
        server.spawn_until_ready(1).await;
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`, also the SWITCHBOARD_PUBLIC_URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// This process's `/metrics`; panics when it does not answer.
    pub async fn metrics(&self) -> super::metrics::Metrics {
        self.fetch_metrics()
            .await
            .unwrap_or_else(|e| panic!("GET {}: {e}", self.url("/metrics")))
    }

    /// This process's `/metrics`, or why it could not be read (a killed node).
    pub async fn fetch_metrics(&self) -> Result<super::metrics::Metrics, reqwest::Error> {
        let text = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .get(self.url("/metrics"))
            .send()
            .await?
            .text()
            .await
            .unwrap_or_default();
        Ok(super::metrics::Metrics::parse(&text))
    }

    /// SWITCHBOARD_PUBLIC_URL of this process.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// SWITCHBOARD_ROLES as given, or `None` for every role.
    pub fn roles(&self) -> Option<&str> {
        self.roles.as_deref()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The plugins directory the server watches.
    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// The binary with the same environment as the server (for the admin CLI).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SWITCHBOARD_DATA_DIR", self.data_dir())
            .env("SWITCHBOARD_PLUGINS_DIR", &self.plugins_dir)
            .env("SWITCHBOARD_PUBLIC_URL", &self.public_url)
            .env("RUST_LOG", "info")
            // Everything in the suite is on loopback; never route it through a proxy.
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        self.deployment.apply(&mut command);
        if let Some(roles) = &self.roles {
            command.env("SWITCHBOARD_ROLES", roles);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// `switchboard admin bootstrap`; panics unless it succeeds and prints the ids.
    pub async fn bootstrap(&self, email: &str, password: &str, workspace: &str) -> Bootstrap {
        let output = self
            .command()
            .args([
                "admin",
                "bootstrap",
                "--email",
                email,
                "--password",
                password,
            ])
            .args(["--workspace", workspace])
            .output()
            .await
            .expect("run switchboard admin bootstrap");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "admin bootstrap failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            output.status
        );
        // Logs may share stdout: take the last line that is the expected JSON.
        let printed = stdout
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
            .find(|v| v.get("workspace_id").is_some())
            .or_else(|| serde_json::from_str::<Value>(stdout.trim()).ok())
            .unwrap_or_else(|| panic!("admin bootstrap printed no JSON:\n{stdout}\n{stderr}"));
        let field = |name: &str| {
            super::str_of(&printed, name)
                .unwrap_or_else(|| panic!("admin bootstrap printed no {name}: {printed}"))
        };
        Bootstrap {
            workspace_id: field("workspace_id"),
            user_id: field("user_id"),
        }
    }

    /// SIGKILL, then reap the process. Nothing is flushed or drained.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
            self.note("killed with SIGKILL");
        }
    }

    /// The process id of the running server, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|child| child.id())
    }

    /// Sends a signal (`"STOP"`, `"CONT"`, `"TERM"`, ...) through `kill`;
    /// panics when there is no process or `kill` fails.
    pub async fn signal(&self, signal: &str) {
        let pid = self
            .pid()
            .unwrap_or_else(|| panic!("no running server to send SIG{signal}"));
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .unwrap_or_else(|e| panic!("run kill -{signal} {pid}: {e}"));
        assert!(status.success(), "kill -{signal} {pid} failed: {status}");
        self.note(&format!("sent SIG{signal}"));
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the binary again on the same data dir and port (killing the
    /// current process first, if any) and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill().await;
        // The port may take a moment to be bindable again: allow a few tries.
        self.spawn_until_ready(3).await;
    }

    /// The last `lines` lines the server printed (all runs, in order).
    pub fn log_tail(&self, lines: usize) -> String {
        super::log_tail(&self.log_path(), lines)
    }

    async fn spawn_until_ready(&mut self, attempts: u32) {
        let mut failure = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            self.spawn();
            match self.wait_ready().await {
                Ok(()) => return,
                Err(reason) => {
                    failure = reason;
                    self.kill().await;
                }
            }
        }
        panic!(
            "switchboard did not become ready: {failure}\n--- server log tail ---\n{}",
            self.log_tail(100)
        );
    }

    fn spawn(&mut self) {
        self.starts += 1;
        self.note(&format!("start #{}", self.starts));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open the server log");
        let stderr = log.try_clone().expect("clone the log handle");
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "spawn {}: {e}",
                    Path::new(env!("CARGO_BIN_EXE_switchboard")).display()
                )
            });
        self.child = Some(child);
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let url = self.url("/readyz");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("the process exited early with {status}"));
                }
            }
            if let Ok(resp) = client.get(&url).send().await {
                if resp.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "GET /readyz did not answer 200 in {READY_TIMEOUT:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a marker line into the server log, to tell runs apart.
    fn note(&self, what: &str) {
        super::note_in_log(&self.log_path(), what);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- switchboard log tail ({}) ---\n{}\n--- end of log ---",
                self.log_path().display(),
                self.log_tail(120)
            );
        }
        if let Some(kept) = super::preserve_log(
            &self.log_path(),
            &self
                .root
                .path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
        ) {
            eprintln!("switchboard log kept at {}", kept.display());
        }
    }
}

/// A loopback port that was free a moment ago and that this test process has
/// not handed out before. The port is released before the server binds it,
/// so without the record two tests running side by side could be given the
/// same port: the second harness then sees the first server's `/readyz` and
/// talks to the wrong server.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}
