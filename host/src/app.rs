//! Assembling and running the process: storage, bus, plugins, pipeline, HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::api::{self, AppState};
use crate::bus::embedded::EmbeddedBus;
use crate::bus::kafka::{KafkaBus, KafkaSettings};
use crate::bus::Bus;
use crate::config::{Role, Settings};
use crate::metrics;
use crate::pipeline::Pipeline;
use crate::plugin::engine::PluginEngine;
use crate::plugin::signature::TrustedKeys;
use crate::plugin::{Installer, Loader, OperatorLimits, PluginRegistry};
use crate::secrets::SecretBox;
use crate::store::{accounts, Db};

/// Timeout of the host's own HTTP client for plugin calls; each call's
/// deadline shortens it further.
const HTTP_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

pub fn describe_metrics() {
    metrics::describe(
        "switchboard_webhooks_accepted_total",
        "Webhooks authenticated and stored on the bus.",
    );
    metrics::describe(
        "switchboard_webhooks_refused_total",
        "Webhooks refused at the edge, by reason.",
    );
    metrics::describe(
        "switchboard_deadletter_total",
        "Records sent to channel.deadletter.",
    );
    metrics::describe(
        "switchboard_plugin_calls_total",
        "Plugin calls by plugin, call and outcome.",
    );
    metrics::describe(
        "switchboard_plugin_call_seconds",
        "Plugin call latency, instantiation included.",
    );
    metrics::describe(
        "switchboard_events_applied_total",
        "Normalized events applied by the writer, by outcome.",
    );
    metrics::describe(
        "switchboard_webhook_to_commit_seconds",
        "From webhook received to its message committed.",
    );
    metrics::describe(
        "switchboard_outbound_total",
        "Outbound replies by final outcome.",
    );
    metrics::describe(
        "switchboard_bus_produced_total",
        "Records acknowledged by the Kafka broker, per topic.",
    );
    metrics::describe(
        "switchboard_bus_publish_seconds",
        "From publish to the broker's acknowledgement of every record, for publishes that succeeded; labelled by the first record's topic.",
    );
    metrics::describe(
        "switchboard_bus_subscribed_topics",
        "Topics each role's consumer reads (inbound, outbound: those of loaded plugins that have a channel).",
    );
    metrics::describe(
        "switchboard_bus_committed_total",
        "Records whose offsets were stored after processing.",
    );
    metrics::describe(
        "switchboard_bus_consumer_lag",
        "Records behind the end of the partition.",
    );
    metrics::describe(
        "switchboard_db_write_seconds",
        "Duration of the writer's batch transactions.",
    );
    metrics::describe(
        "switchboard_bus_consumed_total",
        "Records consumed per topic.",
    );
    metrics::describe(
        "switchboard_webhooks_without_account_total",
        "Authentic webhooks about no connected account (answered, not stored).",
    );
    metrics::describe(
        "switchboard_webhooks_normalized_total",
        "Raw webhooks the inbound role processed (normalized or dead-lettered), per provider.",
    );
    metrics::describe(
        "switchboard_events_normalized_total",
        "Normalized events the inbound role published, per provider.",
    );
}

/// Opens the database (creating the data dir) and applies migrations.
pub async fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    Db::open(&settings.database_url()).await
}

pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(HTTP_CLIENT_TIMEOUT)
        // Plugins see redirects as responses; following them could leave the allowlist.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// The plugin loader with the operator's limits.
pub fn plugin_loader(settings: &Settings) -> anyhow::Result<Arc<Loader>> {
    let engine = PluginEngine::new()?;
    let limits = OperatorLimits {
        max_memory_bytes: settings.plugin_max_memory_mb << 20,
        max_call_timeout: Duration::from_millis(settings.plugin_max_timeout_ms),
        ..OperatorLimits::default()
    };
    let cache = settings
        .plugin_cache_dir
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("plugin-cache"));
    let trust = TrustedKeys::parse(
        &settings.plugin_trusted_keys,
        settings.plugin_require_signature,
    )
    .map_err(|reason| anyhow::anyhow!("plugin signatures: {reason}"))?;
    Ok(Arc::new(
        Loader::new(engine, http_client()?, limits)?
            .with_cache(cache)
            .with_trust(trust),
    ))
}

/// Loads the plugins directory; the installer keeps it in sync afterwards.
pub fn load_plugins(settings: &Settings) -> anyhow::Result<Arc<Installer>> {
    let registry = Arc::new(PluginRegistry::from_plugins(Vec::new(), Vec::new()));
    let installer = Arc::new(Installer::new(
        plugin_loader(settings)?,
        registry,
        settings.plugins_dir.clone(),
    ));
    installer.rescan();
    Ok(installer)
}

/// The bus, and the same bus as Kafka when it is Kafka.
pub type Buses = (Arc<dyn Bus>, Option<Arc<KafkaBus>>);

/// The bus the settings name: Kafka when brokers are given, else the
/// embedded bus in the database. The Kafka handle is returned too, for what
/// only Kafka has (topic creation at start).
pub fn connect_bus(settings: &Settings, db: &Db) -> anyhow::Result<Buses> {
    Ok(match &settings.kafka_brokers {
        None => (EmbeddedBus::start(db.clone()), None),
        Some(brokers) => {
            let kafka = Arc::new(KafkaBus::connect(KafkaSettings {
                brokers: brokers.clone(),
                namespace: settings.kafka_namespace.clone(),
                fetch_wait_ms: settings.kafka_fetch_wait_ms,
                relaxed_fetch_wait_ms: settings.kafka_relaxed_fetch_wait_ms,
                linger_ms: settings.kafka_linger_ms,
                retention: Duration::from_secs(settings.retention_hours * 3600),
                partitions: settings.kafka_partitions,
                replication: settings.kafka_replication,
            })?);
            (kafka.clone(), Some(kafka))
        }
    })
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    describe_metrics();
    let started = Instant::now();
    let db = open_db(&settings).await?;
    let secrets = Arc::new(SecretBox::load(
        settings.secret_key.as_deref(),
        &settings.data_dir,
    )?);
    let installer = load_plugins(&settings)?;
    let plugins = Arc::clone(installer.registry());
    if plugins.all().next().is_none() {
        tracing::warn!(dir = %settings.plugins_dir.display(), "no plugins loaded; build them with scripts/build-plugins.sh");
    }
    let (bus, kafka) = connect_bus(&settings, &db)?;
    let public_url = settings.public_url();
    let pipeline = Pipeline {
        db: db.clone(),
        bus: Arc::clone(&bus),
        plugins: Arc::clone(&plugins),
        secrets: Arc::clone(&secrets),
        public_url: public_url.clone(),
    };
    if let Some(kafka) = &kafka {
        kafka
            .ensure_topics(&pipeline.topics())
            .await
            .context("creating Kafka topics")?;
        tokio::spawn(crate::pipeline::keep_topics(pipeline.clone()));
    }
    pipeline.spawn(&settings.roles);
    spawn_housekeeping(
        db.clone(),
        kafka
            .is_none()
            .then(|| Duration::from_secs(settings.retention_hours * 3600)),
    );
    Arc::clone(&installer).watch();
    let database = db.backend;
    let state = AppState {
        db,
        bus,
        plugins: Arc::clone(&plugins),
        secrets,
        public_url: public_url.clone(),
        oauth: Arc::new(api::oauth::OauthClients::from_env(
            plugins
                .all()
                .filter(|plugin| plugin.manifest.oauth.is_some())
                .map(|plugin| plugin.id().to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )),
        edge_cache: Arc::default(),
        installer: Arc::clone(&installer),
    };
    let router = if settings.runs(Role::Edge) {
        api::router(state)
    } else {
        api::health_router(state)
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let address = listener.local_addr()?;
    let ids: Vec<String> = plugins
        .all()
        .map(|plugin| plugin.id().to_string())
        .collect();
    tracing::info!(
        %address,
        plugins = ?ids,
        roles = ?settings.roles,
        bus = if kafka.is_some() { "kafka" } else { "embedded" },
        ?database,
        startup_ms = started.elapsed().as_millis() as u64,
        "switchboard is listening"
    );
    println!("Switchboard is listening on http://{address} (public URL {public_url})");
    println!(
        "Plugins loaded: {}",
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    );
    // The peer address is what the widget's rate limits key on.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("switchboard stopped");
    Ok(())
}

/// Hourly: expired sessions and OAuth states, and (embedded bus) records
/// past the retention window.
fn spawn_housekeeping(db: Db, bus_retention: Option<Duration>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            if let Err(error) = accounts::purge_sessions(&db).await {
                tracing::warn!(%error, "purging expired sessions failed");
            }
            if let Err(error) = api::oauth::purge_states(&db).await {
                tracing::warn!(%error, "purging expired OAuth states failed");
            }
            if let Some(retention) = bus_retention {
                match crate::bus::embedded::prune(&db, retention).await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "bus records past retention deleted"),
                    Err(error) => tracing::warn!(%error, "pruning the bus failed"),
                }
            }
        }
    });
}

/// Set once the process is shutting down: long-lived responses (the event
/// streams) end so the graceful shutdown does not wait on them.
pub static SHUTTING_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn shutting_down() -> bool {
    SHUTTING_DOWN.load(std::sync::atomic::Ordering::Relaxed)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    SHUTTING_DOWN.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("shutting down");
}
