//! A signed JSON webhook channel: any system that can POST JSON and receive
//! JSON (a website backend, a CRM, another chat tool) becomes a Switchboard
//! channel. It is built outside the host's workspace, as a third party
//! would build a provider.
//!
//! # Settings
//!
//! | field            | required | meaning                                                       |
//! |------------------|----------|---------------------------------------------------------------|
//! | `account_id`     | yes      | the id of this inbox in the sending system                    |
//! | `signing_secret` | yes      | HMAC key for both directions (secret, at least 16 characters) |
//! | `api_base`       | yes      | origin replies go to, `http(s)://host[:port]`, no path         |
//! | `send_path`      | no       | path replies are POSTed to; default `/switchboard/messages`   |
//!
//! The manifest allows no host: every channel names its own `api_base`, and
//! the host lets the channel reach that origin only.
//!
//! # Signatures
//!
//! Both directions carry `x-switchboard-signature: sha256=<hex>`, the
//! lower-case hex HMAC-SHA256 of the raw body under `signing_secret`.
//!
//! # Inbound: `POST /webhooks/webhook-json/{channel key}`
//!
//! One event per request, `content-type: application/json`:
//!
//! ```json
//! {
//!   "event_id": "e-1",
//!   "type": "message",
//!   "timestamp": 1767268800000,
//!   "thread": {"id": "t-1", "kind": "direct", "title": "Order #1042"},
//!   "sender": {"id": "u-1", "name": "Anna", "username": "anna"},
//!   "message": {
//!     "id": "m-1", "text": "Is my order ready?", "reply_to": "m-0",
//!     "attachments": [{"kind": "image", "url": "https://crm.example.com/files/7.jpg",
//!                      "mime_type": "image/jpeg", "file_name": "parcel.jpg", "size_bytes": 48213}]
//!   },
//!   "reaction": {"message_id": "m-1", "emoji": "👍", "removed": false},
//!   "status": {"message_id": "crm-out-1", "state": "delivered", "error": null}
//! }
//! ```
//!
//! - `event_id` (required): unique per event in the sending system; the
//!   event is written once per id (dedup key `event:<event_id>`), so a
//!   redelivery is harmless. Ids here and below are strings or integers.
//! - `type` (required): one of the types below. Any other type is accepted
//!   and ignored (with its name as the reason), never an error.
//! - `timestamp` (required for every known type): Unix time in milliseconds.
//! - `thread` (required for every known type): `id`, `kind` `direct` or
//!   `group`, optional `title`. One thread is one conversation.
//! - `sender`: `id`, optional `name` and `username`.
//! - `message`: `id` (the message's id in the sending system, which names it
//!   in edits, deletes, reactions and replies), optional `text`, `reply_to`
//!   (the id of the message answered) and `attachments`. An attachment has
//!   `kind` (`image`, `video`, `audio`, `voice`, `document`, `sticker`,
//!   `location`, `contact` or `other`; an unknown kind is kept as `other`)
//!   and `url`, and optionally `mime_type`, `file_name` and `size_bytes`.
//!
//! | `type`     | needs                          | becomes                                    |
//! |------------|--------------------------------|--------------------------------------------|
//! | `message`  | `sender`, `message`            | a new inbound message                      |
//! | `edit`     | `sender`, `message`            | new content for message `message.id`       |
//! | `delete`   | `message` (`id` only)          | message `message.id` deleted               |
//! | `reaction` | `sender`, `reaction`           | `emoji` added (or `removed: true`) on `reaction.message_id` |
//! | `status`   | `status`                       | `state` (`sent`, `delivered`, `read`, `failed`, with an optional `error`) of one of our replies |
//! | `echo`     | `message`; `sender` optional   | a message the business sent itself; `message.id` equal to the `id` our send got back folds it into that reply |
//!
//! A `message`, `edit` or `echo` with neither text nor attachments is
//! ignored. A body that is not such an object, or a known type lacking a
//! part it needs, is malformed: refused with 400 when the head (`event_id`,
//! `type`) is wrong, dead-lettered with the reason otherwise.
//!
//! Answers: 200 `{"ok":true}` when accepted; 405 for a method other than
//! POST; 401 for a missing or wrong signature; 400 for a malformed head.
//!
//! An attachment's `url` is what Switchboard downloads when an agent opens
//! it: a plain GET, which works only for URLs on the `api_base` origin.
//!
//! # Outbound: `POST {api_base}{send_path}`
//!
//! ```json
//! {"message_id": "01JA7Q3M8Z", "thread_id": "t-1", "recipient_id": "u-1",
//!  "text": "Yes, it is ready.", "reply_to": "m-1",
//!  "attachment": {"kind": "document", "url": "https://...", "file_name": "a.pdf", "mime_type": "application/pdf"}}
//! ```
//!
//! `text`, `reply_to` and `attachment` may be `null`. The request carries
//! `x-switchboard-signature` and `idempotency-key: <message_id>` (the same on
//! every retry). The receiving system answers 2xx `{"id": "<its message
//! id>"}`; 429 waits `Retry-After` seconds (default 30); 401/403 marks the
//! channel as needing reconnection; 408, 5xx and network failures are
//! retried; other answers fail the reply with the body's `error`.
//!
//! # Modules
//!
//! | module            | holds                                           |
//! |-------------------|-------------------------------------------------|
//! | `settings`        | the channel's fields, checked; origins          |
//! | `signature`       | signing and checking bodies                     |
//! | `verify`          | authenticating inbound requests                 |
//! | `payload`         | the serde shape of an inbound event             |
//! | `normalize`       | inbound events as Switchboard events            |
//! | `attachment_kind` | attachment kinds by name                        |
//! | `send`            | replies as signed POSTs                         |
//! | `fetch`           | attachment downloads                            |
//! | `answer`          | what a failed call means for the host           |
//! | `connect`         | connecting a channel                            |
//! | `conformance`     | (tests) `conformance.json` replayed natively    |

mod answer;
mod attachment_kind;
mod connect;
mod fetch;
mod normalize;
mod payload;
mod send;
mod settings;
mod signature;
mod verify;

use switchboard_plugin_sdk::*;

use crate::settings::Settings;

/// The provider. Stateless: every call reads what it needs from its channel.
#[derive(Debug, Default)]
pub struct WebhookJson;

impl Provider for WebhookJson {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "webhook-json".into(),
            display_name: "JSON webhook".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::PerAccount,
            config_fields: config_fields(),
            // None by default: each channel's `api_base` is its only origin.
            allowed_hosts: Vec::new(),
            capabilities: Capabilities {
                edits: true,
                deletes: true,
                reactions: true,
                read_receipts: true,
                attachments: true,
                groups: true,
                reply_window_secs: None,
            },
            limits: Limits {
                memory_bytes: 32 << 20,
                call_timeout_ms: 5_000,
                max_outbound_body_bytes: 8 << 20,
            },
            oauth: None,
        }
    }

    fn connect(&self, request: ConnectRequest) -> Result<Connected, ConnectError> {
        connect::connect(&request)
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        verify::verify(&channel, &request)
    }

    fn normalize(
        &self,
        channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        normalize::normalize(&channel.provider_account_id, &request.body)
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        let settings = Settings::read(&channel).map_err(SendError::Permanent)?;
        send::send(&settings, &message)
    }

    fn fetch_attachment(
        &self,
        channel: Channel,
        provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        let settings = Settings::read(&channel).map_err(SendError::Permanent)?;
        fetch::fetch(&settings, &provider_ref)
    }
}

fn config_fields() -> Vec<ConfigField> {
    let field = |name: &str, label: &str, secret: bool, required: bool, help: String| ConfigField {
        name: name.into(),
        label: label.into(),
        secret,
        required,
        help: Some(help),
    };
    vec![
        field(
            "account_id",
            "Account id",
            false,
            true,
            "The id of this inbox in the sending system.".into(),
        ),
        field(
            "signing_secret",
            "Signing secret",
            true,
            true,
            format!(
                "HMAC-SHA256 key both sides sign request bodies with, at least {} characters.",
                settings::MIN_SECRET_CHARS
            ),
        ),
        field(
            "api_base",
            "Receiving system",
            false,
            true,
            "Origin replies are POSTed to, like https://crm.example.com (no path).".into(),
        ),
        field(
            "send_path",
            "Send path",
            false,
            false,
            format!(
                "Path replies are POSTed to; default {}",
                settings::DEFAULT_SEND_PATH
            ),
        ),
    ]
}

// Exported only from the wasm component; the native build is for tests.
#[cfg(target_arch = "wasm32")]
register_provider!(WebhookJson);

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod tests;
