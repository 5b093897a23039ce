//! What a plugin instance can reach: the `host` interface of the contract,
//! and a WASI context that grants nothing (no env, no preopens, no sockets;
//! stdout is discarded and stderr is kept, bounded, to explain panics).

use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::allowed_hosts::AllowedHosts;
use super::bindings::types::HttpResponse;
use super::bindings::{v0_1_0, v0_2_0, HttpError, LogLevel, OutgoingRequest};

/// Bytes of guest stderr kept per instance: enough for a panic message.
const STDERR_CAPTURE_BYTES: usize = 4096;

/// Per-instance state: one per Store, never shared between channel accounts.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limits: StoreLimits,
    pub(super) stderr: MemoryOutputPipe,
    pub(super) outbound: Outbound,
}

/// Everything `http-fetch` needs, fixed for the life of the instance.
pub struct Outbound {
    pub plugin_id: String,
    pub allowed: AllowedHosts,
    pub client: reqwest::Client,
    pub runtime: tokio::runtime::Handle,
    pub max_body_bytes: u64,
    /// The current call's deadline; outbound requests never outlive it.
    pub deadline: Instant,
}

impl CallState {
    pub fn new(memory_bytes: u64, outbound: Outbound) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes as usize)
                .trap_on_grow_failure(false)
                .build(),
            stderr,
            outbound,
        }
    }

    /// Last lines the guest wrote to stderr (a Rust panic message lands here).
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        text.trim()
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl v0_1_0::switchboard::provider::types::Host for CallState {}

impl v0_1_0::switchboard::provider::host::Host for CallState {
    fn http_fetch(&mut self, request: OutgoingRequest) -> Result<HttpResponse, HttpError> {
        let outbound = &self.outbound;
        let url = outbound.allowed.check(&request.url).map_err(|reason| {
            tracing::warn!(plugin = %outbound.plugin_id, url = %request.url, "outbound request denied");
            HttpError::Denied(reason)
        })?;
        if request.body.len() as u64 > outbound.max_body_bytes {
            return Err(HttpError::TooLarge);
        }
        let remaining = outbound.deadline.saturating_duration_since(Instant::now());
        let timeout = request
            .timeout_ms
            .map(|ms| Duration::from_millis(ms.into()).min(remaining))
            .unwrap_or(remaining);
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::Transport(format!("invalid method `{}`", request.method)))?;
        let mut builder = outbound.client.request(method, url).timeout(timeout);
        for (name, value) in &request.headers {
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            builder = builder.header(name, value);
        }
        let builder = builder.body(request.body);
        let max_body = outbound.max_body_bytes;
        outbound.runtime.block_on(fetch(builder, max_body))
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let plugin = &self.outbound.plugin_id;
        match level {
            LogLevel::Trace => tracing::trace!(target: "plugin", %plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "plugin", %plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "plugin", %plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", %plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "plugin", %plugin, "{message}"),
        }
    }
}

async fn fetch(builder: reqwest::RequestBuilder, max_body: u64) -> Result<HttpResponse, HttpError> {
    let mut response = builder.send().await.map_err(transport_error)?;
    if response
        .content_length()
        .is_some_and(|length| length > max_body)
    {
        return Err(HttpError::TooLarge);
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if (body.len() + chunk.len()) as u64 > max_body {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        HttpError::Timeout
    } else {
        HttpError::Transport(error.to_string())
    }
}

/// Contract 0.2.0's `host` is 0.1.0's under a new package version: its
/// records are distinct Rust types of the same shape, converted here.
mod v0_2_host {
    use super::*;
    use v0_2_0::switchboard::provider::host as v2;

    impl v0_2_0::switchboard::provider::health::Host for CallState {}

    impl v2::Host for CallState {
        fn http_fetch(
            &mut self,
            request: v2::OutgoingRequest,
        ) -> Result<HttpResponse, v2::HttpError> {
            let request = OutgoingRequest {
                method: request.method,
                url: request.url,
                headers: request.headers,
                body: request.body,
                timeout_ms: request.timeout_ms,
            };
            v0_1_0::switchboard::provider::host::Host::http_fetch(self, request).map_err(|error| {
                match error {
                    HttpError::Denied(reason) => v2::HttpError::Denied(reason),
                    HttpError::Timeout => v2::HttpError::Timeout,
                    HttpError::Transport(reason) => v2::HttpError::Transport(reason),
                    HttpError::TooLarge => v2::HttpError::TooLarge,
                }
            })
        }

        fn log(&mut self, level: v2::LogLevel, message: String) {
            let level = match level {
                v2::LogLevel::Trace => LogLevel::Trace,
                v2::LogLevel::Debug => LogLevel::Debug,
                v2::LogLevel::Info => LogLevel::Info,
                v2::LogLevel::Warn => LogLevel::Warn,
                v2::LogLevel::Error => LogLevel::Error,
            };
            v0_1_0::switchboard::provider::host::Host::log(self, level, message)
        }
    }
}
