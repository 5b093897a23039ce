//! Loading plugin components from the plugins directory.
//!
//! Each file is checked before it is compiled: size, the contract version the
//! SDK stamped into it, then compilation, the imports it needs and the exports
//! it has, and finally its manifest. A file that fails any step is refused
//! with a message naming the file and the reason; the others still load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::Store;

use super::allowed_hosts::AllowedHosts;
use super::bindings::{self, ProviderPre, SUPPORTED_CONTRACT_VERSIONS};
use super::engine::{PluginEngine, MAX_PLUGIN_MEMORY_BYTES, POOLED_INSTANCES};
use super::host_api::{CallState, Outbound};
use super::runtime::{Plugin, PluginLimits};
use super::signature::TrustedKeys;
use super::warm::WarmInstances;

/// Where a component's signature lives: `<file>.sig` beside it.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Name of the custom section the SDK writes the contract version into.
pub const CONTRACT_SECTION: &str = "switchboard:contract-version";

/// Components larger than this are refused before parsing.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// Deadline for the one `manifest()` call made while loading.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Operator caps applied on top of what a manifest asks for.
#[derive(Debug, Clone)]
pub struct OperatorLimits {
    pub max_memory_bytes: u64,
    pub max_call_timeout: Duration,
    pub max_body_bytes: u64,
}

impl Default for OperatorLimits {
    fn default() -> Self {
        OperatorLimits {
            max_memory_bytes: MAX_PLUGIN_MEMORY_BYTES,
            max_call_timeout: Duration::from_secs(30),
            max_body_bytes: 50 << 20,
        }
    }
}

/// A file that was not loaded, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Refusal {
    pub file: String,
    pub reason: String,
}

pub struct Loader {
    engine: Arc<PluginEngine>,
    linker: Linker<CallState>,
    http: reqwest::Client,
    limits: OperatorLimits,
    permits: Arc<Semaphore>,
    /// Pool slots all plugins together may hold with parked instances.
    warm_budget: Arc<Semaphore>,
    /// Compiled components kept between starts, by digest and engine settings.
    cache_dir: Option<PathBuf>,
    trust: TrustedKeys,
}

/// What `switchboard plugins inspect` shows beyond the manifest.
pub struct Description {
    pub contract_version: String,
    pub digest: String,
    pub size: usize,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl Loader {
    pub fn new(
        engine: Arc<PluginEngine>,
        http: reqwest::Client,
        limits: OperatorLimits,
    ) -> anyhow::Result<Self> {
        let mut linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::add_to_linker(&mut linker)?;
        Ok(Loader {
            engine,
            linker,
            http,
            limits,
            // Leave headroom in the pool for loading and benchmarks.
            permits: Arc::new(Semaphore::new((POOLED_INSTANCES / 2) as usize)),
            warm_budget: WarmInstances::budget(),
            cache_dir: None,
            trust: TrustedKeys::default(),
        })
    }

    /// Checks components' signatures against the operator's keys.
    pub fn with_trust(mut self, trust: TrustedKeys) -> Self {
        self.trust = trust;
        self
    }

    /// Keeps compiled components in `dir`: a warm start deserializes them
    /// instead of compiling (Cranelift takes most of a cold start).
    pub fn with_cache(mut self, dir: PathBuf) -> Self {
        self.cache_dir = Some(dir);
        self
    }

    /// Compiles a component, or loads its compiled form from the cache.
    fn compile(&self, bytes: &[u8], digest: &str) -> Result<Component, String> {
        let Some(dir) = &self.cache_dir else {
            return Component::new(&self.engine.engine, bytes)
                .map_err(|error| format!("not a valid component: {error:#}"));
        };
        // The engine's settings and wasmtime's version are part of the key:
        // an artifact of another configuration is never loaded.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(
            &self.engine.engine.precompile_compatibility_hash(),
            &mut hasher,
        );
        let key = std::hash::Hasher::finish(&hasher);
        let path = dir.join(format!("{digest}-{key:016x}.cwasm"));
        if path.exists() {
            // SAFETY: the file was written by `serialize` below, in the
            // operator's own cache directory, for this exact component digest
            // and engine configuration. Anyone able to write there can already
            // replace the host binary.
            match unsafe { Component::deserialize_file(&self.engine.engine, &path) } {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "unusable cached component; compiling")
                }
            }
        }
        let component = Component::new(&self.engine.engine, bytes)
            .map_err(|error| format!("not a valid component: {error:#}"))?;
        match component.serialize() {
            Ok(compiled) => {
                let staged = dir.join(format!(".{digest}.{}.tmp", uuid::Uuid::new_v4()));
                let written = std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&staged, compiled))
                    .and_then(|()| std::fs::rename(&staged, &path));
                if let Err(error) = written {
                    let _ = std::fs::remove_file(&staged);
                    tracing::warn!(dir = %dir.display(), %error, "cannot cache a compiled component");
                }
            }
            Err(error) => tracing::warn!(%error, "cannot serialize a compiled component"),
        }
        Ok(component)
    }

    /// Everything `inspect` shows: compiles the component (no instance).
    pub fn describe(&self, bytes: &[u8]) -> Result<Description, String> {
        let contract_version = contract_version(bytes)?;
        let digest = hex::encode(Sha256::digest(bytes));
        let component = Component::new(&self.engine.engine, bytes)
            .map_err(|error| format!("not a valid component: {error:#}"))?;
        let ty = component.component_type();
        Ok(Description {
            contract_version,
            digest,
            size: bytes.len(),
            imports: ty
                .imports(&self.engine.engine)
                .map(|(name, _)| name.to_string())
                .collect(),
            exports: ty
                .exports(&self.engine.engine)
                .map(|(name, _)| name.to_string())
                .collect(),
        })
    }

    /// Loads every `*.wasm` in `dir`, in name order. Duplicate plugin ids
    /// keep the first file and refuse the rest.
    pub fn load_dir(&self, dir: &Path) -> (Vec<Arc<Plugin>>, Vec<Refusal>) {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
                .collect(),
            Err(error) => {
                let refusal = Refusal {
                    file: dir.display().to_string(),
                    reason: format!("cannot read the plugins directory: {error}"),
                };
                return (Vec::new(), vec![refusal]);
            }
        };
        files.sort();
        let mut loaded: Vec<Arc<Plugin>> = Vec::new();
        let mut refused = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for path in files {
            let file = path.display().to_string();
            match self.load_file(&path) {
                Ok(plugin) => {
                    if let Some(first) = seen.get(plugin.id()) {
                        refused.push(Refusal {
                            file,
                            reason: format!(
                                "plugin id `{}` is already loaded from {first}",
                                plugin.id()
                            ),
                        });
                        continue;
                    }
                    seen.insert(plugin.id().to_string(), file);
                    loaded.push(Arc::new(plugin));
                }
                Err(reason) => refused.push(Refusal { file, reason }),
            }
        }
        (loaded, refused)
    }

    /// Loads one component file, with its signature from `<file>.sig` when
    /// there is one; the error is a sentence for the operator.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, String> {
        let bytes = std::fs::read(path).map_err(|error| format!("cannot read: {error}"))?;
        let signature = std::fs::read_to_string(signature_path(path)).ok();
        self.load_signed(&bytes, path, signature.as_deref())
    }

    /// An unsigned component (refused when signatures are required).
    pub fn load_bytes(&self, bytes: &[u8], path: &Path) -> Result<Plugin, String> {
        self.load_signed(bytes, path, None)
    }

    pub fn load_signed(
        &self,
        bytes: &[u8],
        path: &Path,
        signature: Option<&str>,
    ) -> Result<Plugin, String> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(format!(
                "component is {} bytes; the limit is {MAX_COMPONENT_BYTES}",
                bytes.len()
            ));
        }
        let version = contract_version(bytes)?;
        if !SUPPORTED_CONTRACT_VERSIONS.contains(&version.as_str()) {
            return Err(format!(
                "built for contract {version}; this host supports {}",
                SUPPORTED_CONTRACT_VERSIONS.join(", ")
            ));
        }
        let raw_digest = Sha256::digest(bytes);
        let signed_by = self.trust.check(&raw_digest, signature)?;
        let digest = hex::encode(raw_digest);
        let component = self.compile(bytes, &digest)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| format!("imports something this host does not provide: {error:#}"))?;
        let pre = ProviderPre::new(&version, instance_pre).map_err(|error| {
            format!("does not export switchboard:provider/provider-api@{version}: {error:#}")
        })?;
        let manifest = self.read_manifest(&pre)?;
        if manifest.contract_version != version {
            return Err(format!(
                "manifest says contract {} but the component was built for {version}",
                manifest.contract_version
            ));
        }
        validate_id(&manifest.id)?;
        let default_hosts = AllowedHosts::parse(&manifest.allowed_hosts)
            .map_err(|reason| format!("manifest allowed-hosts: {reason}"))?;
        let limits = PluginLimits {
            memory_bytes: manifest
                .limits
                .memory_bytes
                .clamp(1 << 20, self.limits.max_memory_bytes),
            call_timeout: Duration::from_millis(manifest.limits.call_timeout_ms.max(10).into())
                .min(self.limits.max_call_timeout),
            max_body_bytes: manifest
                .limits
                .max_outbound_body_bytes
                .min(self.limits.max_body_bytes),
        };
        Ok(Plugin {
            manifest,
            digest,
            signed_by,
            file_name: path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            limits,
            pre,
            engine: Arc::clone(&self.engine),
            default_hosts,
            http: self.http.clone(),
            permits: Arc::clone(&self.permits),
            warm: WarmInstances::new(Arc::clone(&self.warm_budget)),
        })
    }

    fn read_manifest(&self, pre: &ProviderPre) -> Result<bindings::types::PluginManifest, String> {
        let outbound = Outbound {
            plugin_id: "(loading)".into(),
            allowed: AllowedHosts::default(),
            client: self.http.clone(),
            runtime: tokio::runtime::Handle::try_current()
                .map_err(|_| "plugins must be loaded inside the tokio runtime".to_string())?,
            max_body_bytes: 0,
            deadline: std::time::Instant::now(),
        };
        let mut store = Store::new(&self.engine.engine, CallState::new(64 << 20, outbound));
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(super::engine::deadline_ticks(MANIFEST_TIMEOUT));
        let world = pre
            .instantiate(&mut store)
            .map_err(|error| format!("cannot be instantiated: {error:#}"))?;
        world
            .api()
            .call_manifest(&mut store)
            .map_err(|error| format!("manifest() failed: {error:#}"))
    }
}

/// Reads the contract version from the custom section, searching nested
/// modules too (the SDK's section lives in the component's core module).
pub fn contract_version(bytes: &[u8]) -> Result<String, String> {
    if !wasmparser::Parser::is_component(bytes) {
        return Err(if wasmparser::Parser::is_core_wasm(bytes) {
            "is a core wasm module, not a component (build for wasm32-wasip2)".into()
        } else {
            "is not a WebAssembly component".into()
        });
    }
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|error| format!("malformed component: {error}"))?;
        if let wasmparser::Payload::CustomSection(section) = payload {
            if section.name() == CONTRACT_SECTION {
                return std::str::from_utf8(section.data())
                    .map(|text| text.trim().to_string())
                    .map_err(|_| "contract version section is not UTF-8".into());
            }
        }
    }
    Err(format!(
        "has no `{CONTRACT_SECTION}` section: not built with the Switchboard plugin SDK"
    ))
}

fn validate_id(id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "plugin id `{id}` must be 1-32 characters of [a-z0-9_-]"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_components() {
        assert!(contract_version(b"hello")
            .unwrap_err()
            .contains("not a WebAssembly component"));
        let core = b"\0asm\x01\0\0\0";
        assert!(contract_version(core)
            .unwrap_err()
            .contains("core wasm module"));
    }

    #[test]
    fn validates_ids() {
        assert!(validate_id("telegram").is_ok());
        assert!(validate_id("my-provider_2").is_ok());
        assert!(validate_id("").is_err());
        assert!(validate_id("Telegram").is_err());
        assert!(validate_id("../etc").is_err());
    }
}
