//! Assembling and running the process: storage, bus, plugins, pipeline, HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::api::{self, AppState};
use crate::bus::embedded::EmbeddedBus;
use crate::bus::Bus;
use crate::config::Settings;
use crate::metrics;
use crate::pipeline::Pipeline;
use crate::plugin::engine::PluginEngine;
use crate::plugin::{Loader, OperatorLimits, PluginRegistry};
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
        "switchboard_bus_consumed_total",
        "Records consumed per topic.",
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

pub fn load_plugins(settings: &Settings) -> anyhow::Result<Arc<PluginRegistry>> {
    let engine = PluginEngine::new()?;
    let limits = OperatorLimits {
        max_memory_bytes: settings.plugin_max_memory_mb << 20,
        max_call_timeout: Duration::from_millis(settings.plugin_max_timeout_ms),
        ..OperatorLimits::default()
    };
    let loader = Loader::new(engine, http_client()?, limits)?;
    Ok(Arc::new(PluginRegistry::load(
        &loader,
        &settings.plugins_dir,
    )))
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    describe_metrics();
    let started = Instant::now();
    let db = open_db(&settings).await?;
    let secrets = Arc::new(SecretBox::load(
        settings.secret_key.as_deref(),
        &settings.data_dir,
    )?);
    if settings.kafka_brokers.is_some() {
        anyhow::bail!(
            "SWITCHBOARD_KAFKA_BROKERS is set, but this build has only the embedded bus; unset it"
        );
    }
    let bus: Arc<dyn Bus> = EmbeddedBus::start(db.clone());
    let plugins = load_plugins(&settings)?;
    if plugins.all().next().is_none() {
        tracing::warn!(dir = %settings.plugins_dir.display(), "no plugins loaded; build them with scripts/build-plugins.sh");
    }
    let public_url = settings.public_url();
    let pipeline = Pipeline {
        db: db.clone(),
        bus: Arc::clone(&bus),
        plugins: Arc::clone(&plugins),
        secrets: Arc::clone(&secrets),
        public_url: public_url.clone(),
    };
    pipeline.spawn_all();
    spawn_housekeeping(db.clone());
    let state = AppState {
        db,
        bus,
        plugins: Arc::clone(&plugins),
        secrets,
        public_url: public_url.clone(),
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let address = listener.local_addr()?;
    let ids: Vec<&str> = plugins.all().map(|plugin| plugin.id()).collect();
    tracing::info!(%address, plugins = ?ids, startup_ms = started.elapsed().as_millis() as u64, "switchboard is listening");
    println!("Switchboard is listening on http://{address} (public URL {public_url})");
    println!(
        "Plugins loaded: {}",
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    );
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("switchboard stopped");
    Ok(())
}

fn spawn_housekeeping(db: Db) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        loop {
            interval.tick().await;
            if let Err(error) = accounts::purge_sessions(&db).await {
                tracing::warn!(%error, "purging expired sessions failed");
            }
        }
    });
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
    tracing::info!("shutting down");
}
