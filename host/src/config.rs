//! Process configuration, by flag or environment (see the README's table).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so a fresh install is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./switchboard-data";
/// How long a login session lasts.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Largest webhook body the edge accepts. WhatsApp documents payloads up to
/// 3 MB; 4 MiB leaves headroom.
pub const MAX_WEBHOOK_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Address the HTTP server listens on.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Directory for the SQLite database and the generated secret key.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Database URL; default: sqlite file `switchboard.db` in the data dir.
    #[arg(long, env = "SWITCHBOARD_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Kafka bootstrap servers; unset: the embedded bus in the database.
    #[arg(long, env = "SWITCHBOARD_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// Partitions of each topic Switchboard creates (existing topics keep theirs).
    /// More partitions allow more processes per role.
    #[arg(long, env = "SWITCHBOARD_KAFKA_PARTITIONS", default_value_t = 6)]
    pub kafka_partitions: i32,

    /// Replication factor of the topics Switchboard creates.
    #[arg(long, env = "SWITCHBOARD_KAFKA_REPLICATION", default_value_t = 1)]
    pub kafka_replication: i32,

    /// Prefix of every topic and consumer group name (several deployments on
    /// one cluster); empty by default.
    #[arg(long, env = "SWITCHBOARD_KAFKA_NAMESPACE", default_value = "")]
    pub kafka_namespace: String,

    /// How long raw webhooks (and every other topic record) are kept for
    /// `switchboard replay`, in hours: Kafka topics are created with this
    /// retention; the embedded bus prunes older records once every consumer
    /// group has processed them.
    #[arg(long, env = "SWITCHBOARD_RETENTION_HOURS", default_value_t = 168)]
    pub retention_hours: u64,

    /// Longest a consumer's fetch waits at the broker for new records (ms).
    /// Low values cut latency on brokers that hold a fetch for the whole wait
    /// (tansu); with Apache Kafka, which answers as soon as records arrive,
    /// 500 saves idle requests at no latency cost.
    #[arg(long, env = "SWITCHBOARD_KAFKA_FETCH_WAIT_MS", default_value_t = crate::bus::kafka::DEFAULT_FETCH_WAIT_MS)]
    pub kafka_fetch_wait_ms: u32,

    /// The same for consumers off the webhook path (the outbound role's
    /// operator replies), where a tenth of a second is not noticed (ms).
    #[arg(long, env = "SWITCHBOARD_KAFKA_RELAXED_FETCH_WAIT_MS", default_value_t = crate::bus::kafka::DEFAULT_RELAXED_FETCH_WAIT_MS)]
    pub kafka_relaxed_fetch_wait_ms: u32,

    /// How long the producer waits before building a request (linger.ms;
    /// fractions allowed). Records already gather per partition while the
    /// previous request is in flight; this only needs to cover handing such
    /// a batch over, and every request pays it once.
    #[arg(long, env = "SWITCHBOARD_KAFKA_LINGER_MS", default_value_t = crate::bus::kafka::DEFAULT_LINGER_MS)]
    pub kafka_linger_ms: f64,

    /// Roles this process runs: any of edge (HTTP API and webhooks), inbound,
    /// writer, outbound. Health and metrics are served whatever the roles.
    #[arg(
        long,
        env = "SWITCHBOARD_ROLES",
        value_delimiter = ',',
        default_value = "edge,inbound,writer,outbound"
    )]
    pub roles: Vec<Role>,

    /// Directory of provider plugin components (*.wasm).
    #[arg(
        long,
        env = "SWITCHBOARD_PLUGINS_DIR",
        default_value = "./target/plugins"
    )]
    pub plugins_dir: PathBuf,

    /// Where compiled plugins are cached between starts (keyed by the
    /// component's digest and the engine's settings). Default:
    /// `plugin-cache` in the data dir.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,

    /// Public base URL of this server, used in the webhook URLs given to
    /// providers (e.g. https://inbox.example.com). Default: http://<listen>.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// 32-byte key (64 hex characters) that encrypts stored credentials.
    /// Unset: read or generate `secret.key` in the data dir.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Cap on any plugin's linear memory, in MiB.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_MAX_MEMORY_MB", default_value_t = 256)]
    pub plugin_max_memory_mb: u64,

    /// Cap on any plugin call's deadline, in milliseconds.
    #[arg(
        long,
        env = "SWITCHBOARD_PLUGIN_MAX_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub plugin_max_timeout_ms: u64,

    /// ed25519 public keys (hex, comma-separated) whose signatures over a
    /// component's sha256 the host trusts.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_TRUSTED_KEYS", value_delimiter = ',')]
    pub plugin_trusted_keys: Vec<String>,

    /// Refuse plugins that are not signed by a trusted key.
    #[arg(
        long,
        env = "SWITCHBOARD_PLUGIN_REQUIRE_SIGNATURE",
        default_value_t = false
    )]
    pub plugin_require_signature: bool,
}

/// A part of the pipeline a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// The operator API and the provider webhooks.
    Edge,
    /// Raw webhooks -> normalized events (plugin normalize).
    Inbound,
    /// Normalized events -> database.
    Writer,
    /// Replies -> provider (plugin send).
    Outbound,
}

impl Settings {
    pub fn runs(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("switchboard.db").display()
            )
        })
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }
}
