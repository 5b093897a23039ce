//! The VKontakte provider: a community's messages through the Callback API.
//!
//! Webhooks arrive on the workspace's URL (`/webhooks/vk/w/{workspace-key}`),
//! are routed by the `group_id` in the payload and authenticated by the
//! `secret` in the body. Each module holds one concern:
//!
//! | module        | holds                                                        |
//! |---------------|--------------------------------------------------------------|
//! | `callback`    | the shape of a callback and of a message in it               |
//! | `webhook`     | routing by community, the secret check, the handshake        |
//! | `normalize`   | callbacks as events (messages, edits, echoes, read receipts) |
//! | `attachments` | VK attachments, locations and forwards as attachments        |
//! | `ids`         | message, thread and community ids; `random_id`               |
//! | `send`        | outbound messages as `messages.send`                         |
//! | `upload`      | files sent through VK's upload servers                       |
//! | `media`       | downloads of inbound files                                   |
//! | `connect`     | callback server registration and removal                     |
//! | `health`      | the callback server's status as the connection's health      |
//! | `oauth`       | the community-token authorization code flow                  |
//! | `api`         | addressing VK and reading its answers                        |
//!
//! The crate is also an rlib so it can be tested and benchmarked natively;
//! calls that reach the network only work inside a host.

mod api;
mod attachments;
mod callback;
mod connect;
mod health;
mod ids;
mod media;
mod normalize;
mod oauth;
mod send;
mod upload;
mod webhook;

use std::time::{SystemTime, UNIX_EPOCH};

use switchboard_plugin_sdk::*;

use crate::api::{Api, Origins, DEFAULT_API_BASE, DEFAULT_API_VERSION, DEFAULT_OAUTH_BASE};

/// Where VK's upload servers have been seen to live (not a documented
/// promise); document and sticker links are on `vk.com` itself. Media CDN
/// hosts (`sun*.userapi.com` and others) are too many to list: see `media`.
const UPLOAD_ORIGIN: &str = "https://pu.vk.com";
const SITE_ORIGIN: &str = "https://vk.com";

/// The VK provider. Stateless: every call reads what it needs from the
/// channel it is given.
#[derive(Debug, Default)]
pub struct Vk;

impl Provider for Vk {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "vk".into(),
            display_name: "VKontakte".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::PerWorkspace,
            config_fields: config_fields(),
            allowed_hosts: vec![
                DEFAULT_API_BASE.into(),
                DEFAULT_OAUTH_BASE.into(),
                UPLOAD_ORIGIN.into(),
                SITE_ORIGIN.into(),
            ],
            capabilities: Capabilities {
                edits: true,
                deletes: false,
                // `message_reaction_event` exists, but names reactions by a
                // number whose emoji is unconfirmed; reactions are ignored.
                reactions: false,
                read_receipts: true,
                attachments: true,
                groups: true,
                // VK has no reply window; the user must have allowed messages
                // from the community (error 901 otherwise).
                reply_window_secs: None,
            },
            limits: Limits {
                memory_bytes: 64 << 20,
                call_timeout_ms: 10_000,
                max_outbound_body_bytes: 16 << 20,
            },
            oauth: Some(OauthSupport {
                start_fields: vec![group_id_field()],
            }),
        }
    }

    fn oauth_authorize_url(&self, request: OauthStart) -> Result<String, ConnectError> {
        oauth::authorize_url(&request)
    }

    fn connect(&self, request: ConnectRequest) -> Result<Connected, ConnectError> {
        connect::connect(&request)
    }

    fn disconnect(&self, channel: Channel) -> Result<(), String> {
        connect::disconnect(&channel)
    }

    fn route(&self, request: IncomingRequest) -> Routing {
        webhook::route(&request)
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        webhook::verify(&channel, &request)
    }

    fn normalize(
        &self,
        _channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        normalize::normalize(&request.body, now_ms())
    }

    fn check_connection(&self, channel: Channel) -> Result<ConnectionHealth, SendError> {
        health::check(&channel)
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        let api = Api::from_config(&channel).map_err(SendError::Permanent)?;
        send::send(&api, message)
    }

    fn fetch_attachment(
        &self,
        channel: Channel,
        provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        let origins = Origins::from_config(&channel).map_err(SendError::Permanent)?;
        media::fetch(&origins, &provider_ref)
    }
}

fn group_id_field() -> ConfigField {
    ConfigField {
        name: "group_id".into(),
        label: "Community id".into(),
        secret: false,
        required: true,
        help: Some(
            "The community's numeric id, like 218000001: shown in Manage → Working with API, \
             or in the community's address as club218000001"
                .into(),
        ),
    }
}

fn config_fields() -> Vec<ConfigField> {
    vec![
        ConfigField {
            name: "access_token".into(),
            label: "Community access token".into(),
            secret: true,
            required: false,
            help: Some(
                "Only when not connecting through VK sign-in: Manage → Working with API → \
                 Access tokens → Create token, with access to community messages, management, \
                 photos and documents"
                    .into(),
            ),
        },
        group_id_field(),
        ConfigField {
            name: "confirmation_code".into(),
            label: "Confirmation string".into(),
            secret: false,
            required: false,
            help: Some(
                "Filled in by Switchboard when it registers its callback server. Set it only \
                 when you add the server yourself (Manage → Working with API → Callback API): \
                 the string VK says the server must return"
                    .into(),
            ),
        },
        ConfigField {
            name: "secret".into(),
            label: "Callback secret key".into(),
            secret: true,
            required: false,
            help: Some(
                "Only for a callback server you add yourself: the secret key entered there. \
                 Otherwise Switchboard generates and registers one"
                    .into(),
            ),
        },
        ConfigField {
            name: "api_version".into(),
            label: "API version".into(),
            secret: false,
            required: false,
            help: Some(format!(
                "The VK API version for method calls; default {DEFAULT_API_VERSION}"
            )),
        },
        ConfigField {
            name: "api_base".into(),
            label: "API server".into(),
            secret: false,
            required: false,
            help: Some(format!(
                "Only for tests or a proxy: replaces {DEFAULT_API_BASE}, {DEFAULT_OAUTH_BASE} \
                 and VK's upload and media hosts"
            )),
        },
    ]
}

/// Wall-clock time for events that carry none; WASI provides the clock.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

// Exported only from the wasm component: a native build (tests, the host's
// benchmarks) calls `Vk` directly, and exporting the component symbols there
// would clash with any other plugin linked into the same binary.
#[cfg(target_arch = "wasm32")]
register_provider!(Vk);

#[cfg(test)]
mod tests;
