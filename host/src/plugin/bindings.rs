//! Host bindings for each released contract version, side by side.
//!
//! One module per version under `wit/`. The host's pipeline speaks the
//! 0.1.0 `types` (they derive serde so normalized events go onto the bus as
//! they are). A later version that leaves `types` unchanged maps them onto
//! the same Rust types (`with:` below), so no conversion runs on the hot
//! path; what it adds lives in new interfaces.
//!
//! [`ProviderPre`], [`ProviderInstance`] and [`ProviderApi`] hide which
//! version a component was built for: the loader picks the module from the
//! version the component declares, and a call to an export an older version
//! lacks answers [`Unsupported`] instead of reaching the guest.

use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::Store;

use super::host_api::CallState;

pub mod v0_1_0 {
    wasmtime::component::bindgen!({
        world: "provider",
        path: "../wit/v0.1.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });

    pub const CONTRACT_VERSION: &str = "0.1.0";
}

/// 0.2.0 = 0.1.0 + the `health` interface and `check-connection`.
pub mod v0_2_0 {
    wasmtime::component::bindgen!({
        world: "provider",
        path: "../wit/v0.2.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "switchboard:provider/types@0.2.0": super::v0_1_0::switchboard::provider::types,
        },
    });

    pub const CONTRACT_VERSION: &str = "0.2.0";
}

pub use v0_1_0::switchboard::provider::host::{HttpError, LogLevel, OutgoingRequest};
pub use v0_1_0::switchboard::provider::types;
pub use v0_2_0::switchboard::provider::health::{ConnectionHealth, HealthState};

/// Contract versions this host can load, newest first.
pub const SUPPORTED_CONTRACT_VERSIONS: &[&str] =
    &[v0_2_0::CONTRACT_VERSION, v0_1_0::CONTRACT_VERSION];

/// An export the component's contract version does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub contract_version: &'static str,
}

/// Defines every supported version's imports (the `host` interface of each,
/// and WASI) in `linker`.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    v0_1_0::Provider::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    v0_2_0::Provider::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    Ok(())
}

/// A component prepared for instantiation against its contract version.
pub enum ProviderPre {
    V0_1(v0_1_0::ProviderPre<CallState>),
    V0_2(v0_2_0::ProviderPre<CallState>),
}

impl ProviderPre {
    /// Checks the component's exports against the version it declares
    /// (already checked to be one of [`SUPPORTED_CONTRACT_VERSIONS`]).
    pub fn new(contract_version: &str, pre: InstancePre<CallState>) -> wasmtime::Result<Self> {
        match contract_version {
            v0_1_0::CONTRACT_VERSION => Ok(Self::V0_1(v0_1_0::ProviderPre::new(pre)?)),
            v0_2_0::CONTRACT_VERSION => Ok(Self::V0_2(v0_2_0::ProviderPre::new(pre)?)),
            other => Err(wasmtime::format_err!(
                "unsupported contract version {other}"
            )),
        }
    }

    pub fn contract_version(&self) -> &'static str {
        match self {
            Self::V0_1(_) => v0_1_0::CONTRACT_VERSION,
            Self::V0_2(_) => v0_2_0::CONTRACT_VERSION,
        }
    }

    /// Whether the component exports `check-connection` (0.2.0 on).
    pub fn check_connection_support(&self) -> Result<(), Unsupported> {
        match self {
            Self::V0_1(_) => Err(Unsupported {
                contract_version: v0_1_0::CONTRACT_VERSION,
            }),
            Self::V0_2(_) => Ok(()),
        }
    }

    pub fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<ProviderInstance> {
        Ok(match self {
            Self::V0_1(pre) => ProviderInstance::V0_1(pre.instantiate(store)?),
            Self::V0_2(pre) => ProviderInstance::V0_2(pre.instantiate(store)?),
        })
    }
}

/// A live instance of a component.
pub enum ProviderInstance {
    V0_1(v0_1_0::Provider),
    V0_2(v0_2_0::Provider),
}

impl ProviderInstance {
    pub fn api(&self) -> ProviderApi<'_> {
        match self {
            Self::V0_1(world) => ProviderApi::V0_1(world.switchboard_provider_provider_api()),
            Self::V0_2(world) => ProviderApi::V0_2(world.switchboard_provider_provider_api()),
        }
    }
}

/// The `provider-api` exports of an instance, whatever its version.
pub enum ProviderApi<'a> {
    V0_1(&'a v0_1_0::exports::switchboard::provider::provider_api::Guest),
    V0_2(&'a v0_2_0::exports::switchboard::provider::provider_api::Guest),
}

/// Calls an export every version has: the signatures are the same because
/// the versions share `types`.
macro_rules! common_export {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) -> $out:ty) => {
        $(#[$doc])*
        pub fn $name(&self, store: &mut Store<CallState>, $($arg: $ty),*) -> wasmtime::Result<$out> {
            match self {
                Self::V0_1(api) => api.$name(store, $($arg),*),
                Self::V0_2(api) => api.$name(store, $($arg),*),
            }
        }
    };
}

use types::{
    Channel, ConnectError, ConnectRequest, Connected, Event, FetchedAttachment, IncomingRequest,
    NormalizeError, OauthStart, OutboundMessage, PluginManifest, Routing, SendError, Sent, Verdict,
};

impl ProviderApi<'_> {
    common_export!(call_manifest() -> PluginManifest);
    common_export!(call_oauth_authorize_url(request: &OauthStart) -> Result<String, ConnectError>);
    common_export!(call_connect(request: &ConnectRequest) -> Result<Connected, ConnectError>);
    common_export!(call_disconnect(channel: &Channel) -> Result<(), String>);
    common_export!(call_route(request: &IncomingRequest) -> Routing);
    common_export!(call_verify(channel: &Channel, request: &IncomingRequest) -> Verdict);
    common_export!(call_normalize(channel: &Channel, request: &IncomingRequest) -> Result<Vec<Event>, NormalizeError>);
    common_export!(call_send(channel: &Channel, message: &OutboundMessage) -> Result<Sent, SendError>);
    common_export!(call_fetch_attachment(channel: &Channel, provider_ref: &str) -> Result<FetchedAttachment, SendError>);

    /// `check-connection`, new in 0.2.0.
    pub fn call_check_connection(
        &self,
        store: &mut Store<CallState>,
        channel: &Channel,
    ) -> wasmtime::Result<Result<Result<ConnectionHealth, SendError>, Unsupported>> {
        match self {
            Self::V0_1(_) => Ok(Err(Unsupported {
                contract_version: v0_1_0::CONTRACT_VERSION,
            })),
            Self::V0_2(api) => api.call_check_connection(store, channel).map(Ok),
        }
    }
}
