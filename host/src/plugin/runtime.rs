//! Calling into a loaded plugin.
//!
//! Each call runs in a Store built from the plugin's pre-instantiated
//! component, with the plugin's memory cap and an epoch deadline. A trap, a
//! timeout or a panic fails that one call and the instance is thrown away.
//! An instance serves only one channel account: it may serve several of its
//! calls in a row (a batch of webhooks to normalize), and between sessions
//! it is parked for that account (`warm`), which spreads the cost of
//! instantiation without sharing guest state between accounts.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::Store;

use super::allowed_hosts::AllowedHosts;
use super::bindings::types::{
    Channel, ConnectError, ConnectRequest, Connected, Event, FetchedAttachment, IncomingRequest,
    NormalizeError, OauthStart, OutboundMessage, PluginManifest, Routing, SendError, Sent, Verdict,
};
use super::bindings::{ConnectionHealth, ProviderApi, ProviderPre, Unsupported};
use super::engine::{deadline_ticks, PluginEngine};
use super::host_api::{CallState, Outbound};
use super::warm::{Live, WarmInstances, WarmKey};
use crate::metrics;

/// What a call is, for metrics and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Manifest,
    OauthAuthorizeUrl,
    Connect,
    Disconnect,
    Route,
    Verify,
    Normalize,
    Send,
    FetchAttachment,
    CheckConnection,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Manifest => "manifest",
            CallKind::OauthAuthorizeUrl => "oauth_authorize_url",
            CallKind::Connect => "connect",
            CallKind::Disconnect => "disconnect",
            CallKind::Route => "route",
            CallKind::Verify => "verify",
            CallKind::Normalize => "normalize",
            CallKind::Send => "send",
            CallKind::FetchAttachment => "fetch_attachment",
            CallKind::CheckConnection => "check_connection",
        }
    }
}

/// A call that did not return normally. The plugin's own typed errors
/// (send-error, normalize-error...) are not this: they come back as values.
#[derive(Debug, thiserror::Error, Clone)]
pub enum PluginError {
    #[error("plugin `{plugin}` {call} exceeded its {timeout_ms} ms deadline")]
    Timeout {
        plugin: String,
        call: &'static str,
        timeout_ms: u128,
    },
    #[error("plugin `{plugin}` {call} trapped: {reason}")]
    Trap {
        plugin: String,
        call: &'static str,
        reason: String,
    },
    #[error("plugin `{plugin}` could not be instantiated: {reason}")]
    Instantiate { plugin: String, reason: String },
    #[error("channel configuration refused: {0}")]
    Config(String),
}

impl PluginError {
    fn outcome(&self) -> &'static str {
        match self {
            PluginError::Timeout { .. } => "timeout",
            PluginError::Trap { .. } => "trap",
            PluginError::Instantiate { .. } | PluginError::Config(_) => "error",
        }
    }
}

/// Whether a call's returned value is the plugin's own error: counted as
/// outcome "error" (traps and timeouts have their own outcomes).
pub trait CallOutcome {
    fn is_plugin_error(&self) -> bool;
}

impl<T, E> CallOutcome for Result<T, E> {
    fn is_plugin_error(&self) -> bool {
        self.is_err()
    }
}

impl CallOutcome for Verdict {
    fn is_plugin_error(&self) -> bool {
        matches!(self, Verdict::Reject(_))
    }
}

impl CallOutcome for Routing {
    fn is_plugin_error(&self) -> bool {
        matches!(self, Routing::Unroutable(_))
    }
}

/// Resource limits for one plugin, already capped by the operator.
#[derive(Debug, Clone)]
pub struct PluginLimits {
    pub memory_bytes: u64,
    pub call_timeout: Duration,
    pub max_body_bytes: u64,
}

/// Time a send may take per MiB it uploads, beyond the plugin's deadline
/// (about 8 Mbit/s).
pub const UPLOAD_ALLOWANCE_PER_MIB: Duration = Duration::from_secs(1);
/// Longest a send that uploads a file may take.
pub const MAX_SEND_WITH_FILE: Duration = Duration::from_secs(60);

/// The deadline of a send that uploads `upload_bytes`.
fn send_deadline(call_timeout: Duration, upload_bytes: usize) -> Duration {
    if upload_bytes == 0 {
        return call_timeout;
    }
    let mib = upload_bytes.div_ceil(1 << 20) as u32;
    (call_timeout + UPLOAD_ALLOWANCE_PER_MIB * mib).min(MAX_SEND_WITH_FILE.max(call_timeout))
}

/// A plugin ready to be called: its manifest and pre-instantiated component.
pub struct Plugin {
    pub manifest: PluginManifest,
    /// sha256 of the component file, hex.
    pub digest: String,
    /// The trusted key that signed the digest (its id), if any.
    pub signed_by: Option<String>,
    pub file_name: String,
    pub limits: PluginLimits,
    pub(super) pre: ProviderPre,
    pub(super) engine: Arc<PluginEngine>,
    pub(super) default_hosts: AllowedHosts,
    pub(super) http: reqwest::Client,
    /// Bounds concurrent instances so a flood of calls waits instead of
    /// exhausting the instance pool.
    pub(super) permits: Arc<Semaphore>,
    /// Instances parked between calls, per channel account.
    pub(super) warm: WarmInstances,
}

impl Plugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The same plugin, known by the file it was installed as.
    pub fn with_file_name(mut self, file_name: String) -> Self {
        self.file_name = file_name;
        self
    }

    /// Hosts this plugin may call for a channel with `config`: its `api_base`
    /// origin when set, else the manifest's list.
    fn allowed_hosts(&self, config: &[(String, String)]) -> Result<AllowedHosts, PluginError> {
        match config
            .iter()
            .find(|(key, value)| key == "api_base" && !value.trim().is_empty())
        {
            Some((_, base)) => AllowedHosts::parse(&[base.trim()])
                .map_err(|reason| PluginError::Config(format!("api_base: {reason}"))),
            None => Ok(self.default_hosts.clone()),
        }
    }

    /// A session bound to one configuration (its allowed hosts), with a
    /// fresh instance that is dropped at the end: for calls outside any
    /// connected channel (OAuth, connect, disconnect).
    pub fn session(&self, config: &[(String, String)]) -> Result<Session<'_>, PluginError> {
        Ok(Session {
            plugin: self,
            allowed: self.allowed_hosts(config)?,
            live: None,
            warm_key: None,
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// A session for one channel account: it resumes the instance parked for
    /// this account and configuration, if any, and parks its own at the end.
    pub fn channel_session(&self, channel: &Channel) -> Result<Session<'_>, PluginError> {
        let key = WarmKey {
            channel_id: channel.id.clone(),
            config_digest: config_digest(&channel.config),
        };
        Ok(Session {
            plugin: self,
            allowed: self.allowed_hosts(&channel.config)?,
            live: self.warm.take(&key),
            warm_key: Some(key),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// Instances parked for reuse now.
    pub fn warm_instances(&self) -> usize {
        self.warm.len()
    }

    /// Runs `work` on a blocking thread with a concurrency permit: guest code
    /// is CPU-bound and its HTTP import blocks, so it must not run on the
    /// async workers.
    async fn blocking<R: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Plugin) -> R + Send + 'static,
    ) -> R {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the plugin semaphore is never closed");
        let plugin = Arc::clone(self);
        tokio::task::spawn_blocking(move || work(&plugin))
            .await
            .expect("plugin calls catch their own failures")
    }

    pub async fn verify(
        self: &Arc<Self>,
        channel: Channel,
        request: IncomingRequest,
    ) -> Result<Verdict, PluginError> {
        self.blocking(move |plugin| {
            plugin
                .channel_session(&channel)?
                .call(CallKind::Verify, |api, store| {
                    api.call_verify(store, &channel, &request)
                })
        })
        .await
    }

    pub async fn route(self: &Arc<Self>, request: IncomingRequest) -> Result<Routing, PluginError> {
        self.blocking(move |plugin| {
            // Route reads requests of every account before any is known, so
            // its instance is never kept: nothing it saw can reach another.
            plugin.session(&[])?.call(CallKind::Route, |api, store| {
                api.call_route(store, &request)
            })
        })
        .await
    }

    /// Normalizes several requests of one channel account on one instance
    /// (replaced after any failure). Results are in input order.
    pub async fn normalize_batch(
        self: &Arc<Self>,
        channel: Channel,
        requests: Vec<IncomingRequest>,
    ) -> Vec<Result<Result<Vec<Event>, NormalizeError>, PluginError>> {
        self.blocking(move |plugin| {
            let mut session = match plugin.channel_session(&channel) {
                Ok(session) => session,
                Err(error) => return requests.iter().map(|_| Err(error.clone())).collect(),
            };
            requests
                .iter()
                .map(|request| {
                    session.call(CallKind::Normalize, |api, store| {
                        api.call_normalize(store, &channel, request)
                    })
                })
                .collect()
        })
        .await
    }

    /// Delivers a reply. A reply that uploads a file gets [`UPLOAD_ALLOWANCE_PER_MIB`]
    /// more per MiB on top of the plugin's deadline (at most [`MAX_SEND_WITH_FILE`]):
    /// the upload's time on the wire counts against the call.
    pub async fn send(
        self: &Arc<Self>,
        channel: Channel,
        message: OutboundMessage,
    ) -> Result<Result<Sent, SendError>, PluginError> {
        let upload_bytes = message
            .attachment
            .as_ref()
            .and_then(|attachment| attachment.data.as_ref())
            .map_or(0, Vec::len);
        let timeout = send_deadline(self.limits.call_timeout, upload_bytes);
        self.blocking(move |plugin| {
            plugin
                .channel_session(&channel)?
                .call_within(CallKind::Send, timeout, |api, store| {
                    api.call_send(store, &channel, &message)
                })
        })
        .await
    }

    pub async fn oauth_authorize_url(
        self: &Arc<Self>,
        request: OauthStart,
    ) -> Result<Result<String, ConnectError>, PluginError> {
        self.blocking(move |plugin| {
            plugin
                .session(&request.config)?
                .call(CallKind::OauthAuthorizeUrl, |api, store| {
                    api.call_oauth_authorize_url(store, &request)
                })
        })
        .await
    }

    pub async fn connect(
        self: &Arc<Self>,
        request: ConnectRequest,
    ) -> Result<Result<Connected, ConnectError>, PluginError> {
        self.blocking(move |plugin| {
            plugin
                .session(&request.config)?
                .call(CallKind::Connect, |api, store| {
                    api.call_connect(store, &request)
                })
        })
        .await
    }

    pub async fn disconnect(
        self: &Arc<Self>,
        channel: Channel,
    ) -> Result<Result<(), String>, PluginError> {
        self.blocking(move |plugin| {
            plugin
                .session(&channel.config)?
                .call(CallKind::Disconnect, |api, store| {
                    api.call_disconnect(store, &channel)
                })
        })
        .await
    }

    pub async fn fetch_attachment(
        self: &Arc<Self>,
        channel: Channel,
        provider_ref: String,
    ) -> Result<Result<FetchedAttachment, SendError>, PluginError> {
        self.blocking(move |plugin| {
            plugin
                .channel_session(&channel)?
                .call(CallKind::FetchAttachment, |api, store| {
                    api.call_fetch_attachment(store, &channel, &provider_ref)
                })
        })
        .await
    }

    /// What the provider says about the channel's connection; `Unsupported`
    /// (without instantiating anything) for components built for a contract
    /// older than 0.2.0.
    pub async fn check_connection(
        self: &Arc<Self>,
        channel: Channel,
    ) -> Result<Result<Result<ConnectionHealth, SendError>, Unsupported>, PluginError> {
        if let Err(unsupported) = self.pre.check_connection_support() {
            return Ok(Err(unsupported));
        }
        self.blocking(move |plugin| {
            plugin
                .channel_session(&channel)?
                .call(CallKind::CheckConnection, |api, store| {
                    api.call_check_connection(store, &channel)
                })
        })
        .await
    }

    /// The contract version the component was built for.
    pub fn contract_version(&self) -> &'static str {
        self.pre.contract_version()
    }
}

/// Calls on behalf of one channel account. The instance is resumed from the
/// parked ones or created on the first call, dropped after a failure, and
/// parked again when the session ends (channel sessions only).
pub struct Session<'p> {
    plugin: &'p Plugin,
    allowed: AllowedHosts,
    live: Option<Live>,
    warm_key: Option<WarmKey>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // Unwinding from a host panic may cut a call off mid-way: that
        // instance is not known to be clean.
        if std::thread::panicking() {
            return;
        }
        if let (Some(key), Some(live)) = (self.warm_key.take(), self.live.take()) {
            self.plugin.warm.park(key, live);
        }
    }
}

/// Tells configurations apart without keeping them (they hold secrets).
fn config_digest(config: &[(String, String)]) -> u64 {
    let mut hasher = DefaultHasher::new();
    config.hash(&mut hasher);
    hasher.finish()
}

impl Session<'_> {
    fn instantiate(&self) -> Result<Live, PluginError> {
        let plugin = self.plugin;
        let outbound = Outbound {
            plugin_id: plugin.manifest.id.clone(),
            allowed: self.allowed.clone(),
            client: plugin.http.clone(),
            runtime: self.runtime.clone(),
            max_body_bytes: plugin.limits.max_body_bytes,
            deadline: Instant::now(),
        };
        let state = CallState::new(plugin.limits.memory_bytes, outbound);
        let mut store = Store::new(&plugin.engine.engine, state);
        store.limiter(|state| &mut state.limits);
        // Instantiation runs guest start functions: give it the call budget too.
        store.set_epoch_deadline(deadline_ticks(plugin.limits.call_timeout));
        let instance =
            plugin
                .pre
                .instantiate(&mut store)
                .map_err(|error| PluginError::Instantiate {
                    plugin: plugin.manifest.id.clone(),
                    reason: format!("{error:#}"),
                })?;
        Ok(Live {
            store,
            instance,
            calls: 0,
            born: Instant::now(),
        })
    }

    /// Runs one export call under the plugin's deadline and records metrics.
    pub fn call<R: CallOutcome>(
        &mut self,
        kind: CallKind,
        invoke: impl FnOnce(&ProviderApi<'_>, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_within(kind, self.plugin.limits.call_timeout, invoke)
    }

    /// [`Self::call`] with a deadline of its own (a send that uploads a file).
    pub fn call_within<R: CallOutcome>(
        &mut self,
        kind: CallKind,
        timeout: Duration,
        invoke: impl FnOnce(&ProviderApi<'_>, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let started = Instant::now();
        let result = self.call_inner(kind, timeout, invoke);
        let plugin = self.plugin.manifest.id.as_str();
        let outcome = match &result {
            Ok(value) if value.is_plugin_error() => "error",
            Ok(_) => "ok",
            Err(error) => error.outcome(),
        };
        let labels = [
            ("plugin", plugin),
            ("version", self.plugin.manifest.version.as_str()),
            ("call", kind.as_str()),
            ("outcome", outcome),
        ];
        metrics::inc("switchboard_plugin_calls_total", &labels);
        metrics::observe(
            "switchboard_plugin_call_seconds",
            &[("plugin", plugin), ("call", kind.as_str())],
            started.elapsed().as_secs_f64(),
        );
        if let Err(error) = &result {
            tracing::warn!(%error, "plugin call failed");
        }
        result
    }

    fn call_inner<R>(
        &mut self,
        kind: CallKind,
        timeout: Duration,
        invoke: impl FnOnce(&ProviderApi<'_>, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let live = self.live.as_mut().expect("instantiated above");
        live.store.set_epoch_deadline(deadline_ticks(timeout));
        live.store.data_mut().outbound.deadline = Instant::now() + timeout;
        live.calls += 1;
        match invoke(&live.instance.api(), &mut live.store) {
            Ok(value) => Ok(value),
            Err(error) => {
                let live = self.live.take().expect("instance is live");
                Err(self.classify(kind, timeout, error, live.store.data()))
            }
        }
    }

    fn classify(
        &self,
        kind: CallKind,
        timeout: Duration,
        error: wasmtime::Error,
        state: &CallState,
    ) -> PluginError {
        let plugin = self.plugin.manifest.id.clone();
        let call = kind.as_str();
        if matches!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::Interrupt)
        ) {
            return PluginError::Timeout {
                plugin,
                call,
                timeout_ms: timeout.as_millis(),
            };
        }
        let stderr = state.stderr_tail();
        let mut reason = error
            .downcast_ref::<wasmtime::Trap>()
            .map(|trap| trap.to_string())
            .unwrap_or_else(|| format!("{error:#}"));
        if !stderr.is_empty() {
            reason = format!("{reason}; guest said: {stderr}");
        }
        PluginError::Trap {
            plugin,
            call,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_extend_the_send_deadline_within_a_cap() {
        let ten = Duration::from_secs(10);
        assert_eq!(send_deadline(ten, 0), ten);
        assert_eq!(send_deadline(ten, 1), Duration::from_secs(11));
        assert_eq!(send_deadline(ten, 10 << 20), Duration::from_secs(20));
        assert_eq!(send_deadline(ten, 500 << 20), MAX_SEND_WITH_FILE);
        // A plugin that already asks for more keeps it.
        let long = Duration::from_secs(90);
        assert_eq!(send_deadline(long, 1 << 20), long);
    }
}
