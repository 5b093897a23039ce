//! The sandboxed plugin runtime: one wasmtime Engine, one pre-instantiated
//! component per provider plugin, a fresh Store per call (or per batch of one
//! channel account's calls) with a memory cap and an epoch deadline.

pub mod allowed_hosts;
pub mod bindings;
pub mod engine;
mod host_api;
pub mod installer;
pub mod loader;
pub mod registry;
pub mod removal;
pub mod runtime;
pub mod signature;

pub use bindings::types;
pub use installer::Installer;
pub use loader::{Loader, OperatorLimits, Refusal};
pub use registry::PluginRegistry;
pub use runtime::{CallKind, Plugin, PluginError};
