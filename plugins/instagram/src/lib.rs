//! The Instagram provider: Instagram Messaging on Meta's Graph API, one
//! channel per Instagram professional account.
//!
//! Webhooks arrive on one URL for the whole app (global routing): `route`
//! names the accounts of a batch from `entry[].id`, `verify` answers Meta's
//! `hub.*` handshake and checks `X-Hub-Signature-256`, and `normalize` keeps
//! the entries of the channel it is given. Each module holds one concern:
//!
//! | module        | holds                                                   |
//! |---------------|---------------------------------------------------------|
//! | `account`     | the two logins, and where a channel's calls go          |
//! | `payload`     | the serde shape of messaging webhooks                   |
//! | `normalize`   | webhook items as events (and the dedup keys)            |
//! | `attachments` | message content as attachments                          |
//! | `send`        | outbound messages through the Send API                  |
//! | `errors`      | Instagram's error codes as host decisions               |
//! | `media`       | downloading CDN media                                   |
//! | `connect`     | token to account, webhook subscription, disconnect      |
//! | `oauth`       | Business Login for Instagram: authorize URL and tokens  |
//!
//! What Instagram shares with WhatsApp (the webhook protocol, Graph errors,
//! encoding) lives in `switchboard-meta-graph`. The crate is also an rlib so
//! it can be tested natively; calls that reach the network need a host.

mod account;
mod attachments;
mod connect;
mod errors;
mod media;
mod normalize;
mod oauth;
mod payload;
mod send;

use switchboard_meta_graph::webhook;
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::*;

use crate::account::{Api, ACCESS_TOKEN, API_INSTAGRAM, CDN, GRAPH_FACEBOOK, GRAPH_INSTAGRAM};

/// The Instagram provider. Stateless: every call reads what it needs from
/// the channel it is given.
#[derive(Debug, Default)]
pub struct Instagram;

impl Provider for Instagram {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "instagram".into(),
            display_name: "Instagram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::Global,
            // Nothing is required up front: an OAuth connect brings the token
            // and the app secret itself; `connect` checks the pasted path.
            config_fields: vec![
                ConfigField::new(
                    "access_token",
                    "Access token",
                    "An Instagram user token with instagram_business_basic and \
                     instagram_business_manage_messages (Business Login), or a Facebook Page \
                     token (Facebook Login). Leave empty when connecting with Instagram login.",
                )
                .secret(),
                ConfigField::new(
                    "app_secret",
                    "App secret",
                    "The secret of the Meta app that receives the webhooks; it signs every \
                     delivery. Business Login apps: Instagram > API setup > Instagram app secret. \
                     Filled in by Instagram login when left empty.",
                )
                .secret(),
                webhook::verify_token_field(),
                ConfigField::new(
                    "login",
                    "Login type",
                    "instagram (Business Login for Instagram, the default) or facebook \
                     (Facebook Login with a Page token).",
                ),
                ConfigField::new(
                    "api_base",
                    "API server",
                    "Only for testing against a fake Graph API: replaces graph.instagram.com, \
                     graph.facebook.com, api.instagram.com and the media CDN.",
                ),
            ],
            allowed_hosts: vec![
                GRAPH_INSTAGRAM.into(),
                API_INSTAGRAM.into(),
                GRAPH_FACEBOOK.into(),
                CDN.into(),
            ],
            capabilities: Capabilities {
                edits: true,
                deletes: true,
                reactions: true,
                read_receipts: true,
                attachments: true,
                groups: false,
                // Free-form replies only within 24 hours of the customer's
                // last message.
                reply_window_secs: Some(86_400),
            },
            limits: Limits {
                memory_bytes: 64 << 20,
                call_timeout_ms: 10_000,
                // Instagram's largest media (audio, video, PDF) are 25 MB;
                // the plugin only ever holds a downloaded one.
                max_outbound_body_bytes: 25 << 20,
            },
            oauth: Some(OauthSupport {
                start_fields: Vec::new(),
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
        webhook::route(&request, payload::account_ids)
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        webhook::verify(&channel, &request)
    }

    fn normalize(
        &self,
        channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        normalize::normalize(&channel.provider_account_id, &request.body)
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        let api = Api::from_config(&channel).map_err(SendError::Permanent)?;
        let token = channel
            .require(ACCESS_TOKEN)
            .map_err(SendError::Permanent)?;
        send::send(&api, token, &message)
    }

    fn fetch_attachment(
        &self,
        channel: Channel,
        provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        let api = Api::from_config(&channel).map_err(SendError::Permanent)?;
        media::fetch(&api, &provider_ref)
    }
}

// Exported only from the wasm component: a native build (tests) calls
// `Instagram` directly, and exporting the component symbols there would
// clash with any other plugin linked into the same binary.
#[cfg(target_arch = "wasm32")]
register_provider!(Instagram);

#[cfg(test)]
mod tests;
