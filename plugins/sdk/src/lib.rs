//! The guest SDK for Switchboard provider plugins.
//!
//! A plugin implements [`Provider`] (every method but [`Provider::manifest`]
//! has a default that answers "not supported") and calls
//! [`register_provider!`] once. The generated WIT bindings stay private to
//! this crate; plugins see the explicit list of types re-exported below.
//!
//! ```ignore
//! #[derive(Default)]
//! struct Echo;
//! impl switchboard_plugin_sdk::Provider for Echo {
//!     fn manifest(&self) -> Manifest { /* ... */ }
//! }
//! switchboard_plugin_sdk::register_provider!(Echo);
//! ```

mod adapter;
pub mod channel;
pub mod crypto;
pub mod encode;
pub mod http;
pub mod log;
pub mod media;
pub mod multipart;
pub mod parts;
pub mod request;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

/// The contract this build targets: the newest, unless the
/// `contract-0-1-0` feature asks for the older one (for plugins that must
/// also run on hosts that predate 0.2.0).
#[doc(hidden)]
#[cfg(not(feature = "contract-0-1-0"))]
pub mod wit {
    wit_bindgen::generate!({
        world: "provider",
        path: "../../wit/v0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_provider",
        default_bindings_module: "switchboard_plugin_sdk::wit",
        generate_all,
    });
}

#[doc(hidden)]
#[cfg(feature = "contract-0-1-0")]
pub mod wit {
    wit_bindgen::generate!({
        world: "provider",
        path: "../../wit/v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_provider",
        default_bindings_module: "switchboard_plugin_sdk::wit",
        generate_all,
    });
}

#[doc(hidden)]
pub use adapter::Adapter;
pub use serde_json as json;
#[cfg(not(feature = "contract-0-1-0"))]
pub use wit::switchboard::provider::health::{ConnectionHealth, HealthState};
pub use wit::switchboard::provider::types::{
    Attachment, AttachmentKind, Capabilities, Channel, ConfigField, ConnectError, ConnectRequest,
    Connected, DeliveryState, Event, EventBody, FetchedAttachment, HttpResponse, IncomingRequest,
    Limits, Message, MessageRef, NormalizeError, OauthStart, OauthSupport, OutboundAttachment,
    OutboundMessage, Participant, PluginManifest as Manifest, Reaction, Rejection, Routing,
    RoutingMode, SendError, Sent, StatusUpdate, Thread, ThreadKind, Verdict,
};

/// The contract version this SDK builds against. `register_provider!` writes
/// it into the component's `switchboard:contract-version` custom section so
/// the host can refuse an incompatible plugin before compiling it.
#[cfg(not(feature = "contract-0-1-0"))]
pub const CONTRACT_VERSION: &str = "0.2.0";
#[cfg(feature = "contract-0-1-0")]
pub const CONTRACT_VERSION: &str = "0.1.0";

/// What a provider plugin implements.
///
/// One instance serves one call at a time; the host may discard it after any
/// call, so keep no state you cannot lose.
pub trait Provider: Default + Send + Sync + 'static {
    fn manifest(&self) -> Manifest;

    /// Only for providers whose manifest declares `oauth`.
    fn oauth_authorize_url(&self, _request: OauthStart) -> Result<String, ConnectError> {
        Err(ConnectError::InvalidConfig(
            "this provider does not connect through OAuth".into(),
        ))
    }

    fn connect(&self, _request: ConnectRequest) -> Result<Connected, ConnectError> {
        Err(ConnectError::InvalidConfig(
            "this provider cannot be connected from Switchboard".into(),
        ))
    }

    fn disconnect(&self, _channel: Channel) -> Result<(), String> {
        Ok(())
    }

    fn route(&self, _request: IncomingRequest) -> Routing {
        Routing::Unroutable("this provider uses per-account webhook URLs".into())
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict;

    fn normalize(
        &self,
        channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError>;

    fn send(&self, _channel: Channel, _message: OutboundMessage) -> Result<Sent, SendError> {
        Err(SendError::Permanent(
            "this provider does not send messages".into(),
        ))
    }

    fn fetch_attachment(
        &self,
        _channel: Channel,
        _provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        Err(SendError::Permanent(
            "this provider cannot download attachments".into(),
        ))
    }

    /// What the provider says about the channel's connection (contract
    /// 0.2.0). The default says the provider offers no way to ask.
    #[cfg(not(feature = "contract-0-1-0"))]
    fn check_connection(&self, _channel: Channel) -> Result<ConnectionHealth, SendError> {
        Ok(ConnectionHealth::unknown(
            "this provider does not report connection health",
        ))
    }
}

#[cfg(not(feature = "contract-0-1-0"))]
impl ConnectionHealth {
    /// Nothing known beyond `detail`.
    pub fn unknown(detail: impl Into<String>) -> Self {
        ConnectionHealth {
            state: HealthState::Unknown,
            detail: Some(detail.into()),
            last_error: None,
            last_error_at: None,
            pending_updates: None,
            registered_url: None,
        }
    }
}

/// Exports `$provider` (a type implementing [`Provider`]) as the component's
/// `provider-api`, and stamps the contract version into the component.
#[macro_export]
macro_rules! register_provider {
    ($provider:ty) => {
        #[used]
        #[link_section = "switchboard:contract-version"]
        static __SWITCHBOARD_CONTRACT_VERSION: [u8; $crate::CONTRACT_VERSION.len()] = {
            let bytes = $crate::CONTRACT_VERSION.as_bytes();
            let mut out = [0u8; $crate::CONTRACT_VERSION.len()];
            let mut i = 0;
            while i < out.len() {
                out[i] = bytes[i];
                i += 1;
            }
            out
        };
        type __SwitchboardAdapter = $crate::Adapter<$provider>;
        $crate::wit::export_provider!(__SwitchboardAdapter with_types_in $crate::wit);
    };
}
