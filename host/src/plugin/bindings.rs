//! Host bindings for each released contract version.
//!
//! One module per version under `wit/`; today that is only 0.1.0. The host's
//! pipeline speaks the 0.1.0 types (they derive serde so normalized events go
//! onto the bus as they are); a later contract version gets its own module
//! here and `From` conversions into these types, never edits to them.

pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        world: "provider",
        path: "../wit/v0.1.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });

    /// Semver range of contract versions this module can host.
    pub const CONTRACT_VERSION: &str = "0.1.0";
}

pub use v0_1_0::exports::switchboard::provider::provider_api::Guest as ProviderApi;
pub use v0_1_0::switchboard::provider::host::{HttpError, LogLevel, OutgoingRequest};
pub use v0_1_0::switchboard::provider::types;
pub use v0_1_0::{Provider as ProviderWorld, ProviderPre};

/// Contract versions this host can load, newest first.
pub const SUPPORTED_CONTRACT_VERSIONS: &[&str] = &[v0_1_0::CONTRACT_VERSION];
