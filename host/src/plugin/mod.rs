//! The sandboxed plugin runtime: one wasmtime Engine, one pre-instantiated
//! component per provider plugin, and Stores with a memory cap and an epoch
//! deadline, each serving one channel account (kept warm between that
//! account's calls, see `warm`).

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
pub mod warm;

pub use bindings::types;
pub use installer::Installer;
pub use loader::{Loader, OperatorLimits, Refusal};
pub use registry::PluginRegistry;
pub use runtime::{CallKind, Plugin, PluginError};
