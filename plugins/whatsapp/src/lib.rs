//! The WhatsApp provider: the WhatsApp Business Cloud API, one channel per
//! business phone number.
//!
//! Webhooks arrive on one URL for the whole app (global routing): `route`
//! names the phone numbers of a batch from
//! `entry[].changes[].value.metadata.phone_number_id`, `verify` answers
//! Meta's `hub.*` handshake and checks `X-Hub-Signature-256`, and
//! `normalize` keeps the changes of the channel it is given. Each module
//! holds one concern:
//!
//! | module      | holds                                                 |
//! |-------------|-------------------------------------------------------|
//! | `account`   | where a channel's calls go, with which token          |
//! | `payload`   | the serde shape of Cloud API webhooks                 |
//! | `normalize` | messages, reactions and statuses as events            |
//! | `content`   | message types as text and attachments                 |
//! | `send`      | outbound messages: text, media by link or by upload   |
//! | `errors`    | WhatsApp's error codes as host decisions              |
//! | `media`     | media downloads, and the file types WhatsApp takes    |
//! | `connect`   | checking the number, subscribing the business account |
//!
//! What WhatsApp shares with Instagram (the webhook protocol, Graph errors,
//! encoding) lives in `switchboard-meta-graph`. The crate is also an rlib so
//! it can be tested natively; calls that reach the network need a host.

mod account;
mod connect;
mod content;
mod errors;
mod media;
mod normalize;
mod payload;
mod send;

use switchboard_meta_graph::webhook;
use switchboard_plugin_sdk::*;

use crate::account::{Api, GRAPH_FACEBOOK, LOOKASIDE};

/// The WhatsApp provider. Stateless: every call reads what it needs from
/// the channel it is given.
#[derive(Debug, Default)]
pub struct WhatsApp;

impl Provider for WhatsApp {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "whatsapp".into(),
            display_name: "WhatsApp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::Global,
            config_fields: vec![
                ConfigField::new(
                    "access_token",
                    "Access token",
                    "A System User token (Business Settings > System users) with \
                     whatsapp_business_messaging and whatsapp_business_management. The temporary \
                     token on the API Setup page expires after 24 hours.",
                )
                .secret()
                .required(),
                ConfigField::new(
                    "app_secret",
                    "App secret",
                    "App Dashboard > App settings > Basic > App secret. It signs every webhook.",
                )
                .secret()
                .required(),
                ConfigField::new(
                    "phone_number_id",
                    "Phone number ID",
                    "WhatsApp > API Setup > Phone number ID: a numeric id, not the phone number.",
                )
                .required(),
                ConfigField::new(
                    "waba_id",
                    "WhatsApp Business Account ID",
                    "WhatsApp > API Setup > WhatsApp Business Account ID. When set, connecting \
                     subscribes the app to the account's webhooks.",
                ),
                webhook::verify_token_field(),
                ConfigField::new(
                    "api_base",
                    "API server",
                    "Only for testing against a fake Graph API: replaces graph.facebook.com and \
                     the media download host.",
                ),
            ],
            allowed_hosts: vec![GRAPH_FACEBOOK.into(), LOOKASIDE.into()],
            capabilities: Capabilities {
                // The Cloud API documents no webhook for a customer editing
                // or deleting a message; `send` cannot edit or delete either.
                edits: false,
                deletes: false,
                reactions: true,
                read_receipts: true,
                attachments: true,
                groups: false,
                // Free-form messages only within 24 hours of the customer's
                // last message; templates otherwise.
                reply_window_secs: Some(86_400),
            },
            limits: Limits {
                memory_bytes: 64 << 20,
                call_timeout_ms: 10_000,
                // WhatsApp's cap for audio and video. An upload is held twice
                // (the bytes and the multipart body), which has to fit in
                // the call's memory; larger documents go by link.
                max_outbound_body_bytes: 16 << 20,
            },
            oauth: None,
        }
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
        let phone_id = phone_number_id(&channel)?;
        send::send(&api, &phone_id, message)
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

/// The channel's account id is its phone number id; the config value is the
/// fallback for a channel stored without one.
fn phone_number_id(channel: &Channel) -> Result<String, SendError> {
    use switchboard_plugin_sdk::channel::Config;
    let id = channel.provider_account_id.trim();
    if !id.is_empty() {
        return Ok(id.to_string());
    }
    channel
        .require(account::PHONE_NUMBER_ID)
        .map(str::to_string)
        .map_err(SendError::Permanent)
}

// Exported only from the wasm component: a native build (tests) calls
// `WhatsApp` directly, and exporting the component symbols there would
// clash with any other plugin linked into the same binary.
#[cfg(target_arch = "wasm32")]
register_provider!(WhatsApp);

#[cfg(test)]
mod tests;
