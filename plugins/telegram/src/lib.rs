//! The Telegram provider: a bot on the Bot API, one channel per bot.
//!
//! Webhooks arrive on a per-account URL registered with `setWebhook`, and are
//! authenticated by the secret token Telegram echoes in a header. Each module
//! holds one concern:
//!
//! | module        | holds                                                     |
//! |---------------|-----------------------------------------------------------|
//! | `update`      | the serde shape of Telegram's `Update`                    |
//! | `verify`      | the webhook secret and body check                         |
//! | `normalize`   | updates as events (messages, edits, reactions, ignores)   |
//! | `attachments` | media objects as attachments                              |
//! | `connect`     | `getMe`, `setWebhook`, `deleteWebhook`                    |
//! | `send`        | outbound messages as `send*` calls                        |
//! | `files`       | `getFile` and downloads                                   |
//! | `health`      | `getWebhookInfo` as the channel's connection health       |
//! | `api`         | addressing the Bot API and reading its answers            |
//!
//! The crate is also an rlib so the host can benchmark [`Telegram`] natively;
//! calls that reach the network only work inside a host.

mod api;
mod attachments;
mod connect;
mod files;
mod health;
mod normalize;
mod send;
mod update;
mod verify;

use switchboard_plugin_sdk::*;

use crate::api::{Bot, DEFAULT_API_BASE};

/// The Telegram provider. Stateless: every call reads what it needs from the
/// channel it is given.
#[derive(Debug, Default)]
pub struct Telegram;

impl Provider for Telegram {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "telegram".into(),
            display_name: "Telegram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::PerAccount,
            config_fields: vec![
                ConfigField {
                    name: "bot_token".into(),
                    label: "Bot token".into(),
                    secret: true,
                    required: true,
                    help: Some(
                        "The token @BotFather gives when you create a bot with /newbot \
                         (or shows with /token), like 123456789:AAE..."
                            .into(),
                    ),
                },
                ConfigField {
                    name: "api_base".into(),
                    label: "Bot API server".into(),
                    secret: false,
                    required: false,
                    help: Some(format!(
                        "Only for a self-hosted Bot API server; default {DEFAULT_API_BASE}"
                    )),
                },
            ],
            allowed_hosts: vec![DEFAULT_API_BASE.into()],
            capabilities: Capabilities {
                edits: true,
                deletes: false,
                reactions: true,
                read_receipts: false,
                attachments: true,
                groups: true,
                reply_window_secs: None,
            },
            limits: Limits {
                memory_bytes: 64 << 20,
                call_timeout_ms: 10_000,
                // The Bot API's own cap on downloads; uploads of up to 50 MB
                // would need more memory than a call is given.
                max_outbound_body_bytes: 20 << 20,
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

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        verify::verify(&channel, &request)
    }

    fn normalize(
        &self,
        _channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        normalize::normalize(&request.body)
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        let bot = Bot::from_config(&channel).map_err(SendError::Permanent)?;
        send::send(&bot, message)
    }

    fn fetch_attachment(
        &self,
        channel: Channel,
        provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        let bot = Bot::from_config(&channel).map_err(SendError::Permanent)?;
        files::fetch(&bot, &provider_ref)
    }

    fn check_connection(&self, channel: Channel) -> Result<ConnectionHealth, SendError> {
        health::check(&channel)
    }
}

// Exported only from the wasm component: a native build (tests, the host's
// benchmarks) calls `Telegram` directly, and exporting the component symbols
// there would clash with any other plugin linked into the same binary.
#[cfg(target_arch = "wasm32")]
register_provider!(Telegram);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing;

    #[test]
    fn manifest_describes_the_plugin() {
        let manifest = Telegram.manifest();
        assert_eq!(manifest.id, "telegram");
        assert_eq!(manifest.display_name, "Telegram");
        assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.contract_version, CONTRACT_VERSION);
        assert!(matches!(manifest.routing, RoutingMode::PerAccount));
        assert_eq!(manifest.allowed_hosts, vec!["https://api.telegram.org"]);

        let fields: Vec<(&str, &str, bool, bool)> = manifest
            .config_fields
            .iter()
            .map(|field| {
                (
                    field.name.as_str(),
                    field.label.as_str(),
                    field.secret,
                    field.required,
                )
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                ("bot_token", "Bot token", true, true),
                ("api_base", "Bot API server", false, false),
            ]
        );
        assert!(manifest.config_fields[0]
            .help
            .as_deref()
            .is_some_and(|help| help.contains("@BotFather")));
        assert!(manifest.config_fields[1]
            .help
            .as_deref()
            .is_some_and(|help| help.contains("self-hosted") && help.contains(DEFAULT_API_BASE)));

        let capabilities = manifest.capabilities;
        assert!(capabilities.edits && capabilities.reactions);
        assert!(capabilities.attachments && capabilities.groups);
        assert!(!capabilities.deletes && !capabilities.read_receipts);
        assert_eq!(capabilities.reply_window_secs, None);
        assert_eq!(manifest.limits.memory_bytes, 64 * 1024 * 1024);
        assert_eq!(manifest.limits.call_timeout_ms, 10_000);
        assert_eq!(manifest.limits.max_outbound_body_bytes, 20 * 1024 * 1024);
    }

    #[test]
    fn misconfigured_channels_fail_to_send_without_a_call() {
        let channel = testing::channel("1", &[]);
        assert!(matches!(
            Telegram.send(channel, testing::text_message("1", "hi")),
            Err(SendError::Permanent(ref m)) if m.contains("bot_token")
        ));
    }

    #[test]
    fn normalize_and_verify_work_through_the_trait() {
        let channel = Channel {
            webhook_secret: "secret".into(),
            ..testing::channel("1", &[("bot_token", "1:a")])
        };
        let request = IncomingRequest {
            headers: vec![("x-telegram-bot-api-secret-token".into(), "secret".into())],
            ..testing::request(
                "POST",
                "/webhooks/telegram/ch",
                r#"{"update_id":5,"poll":{"id":"1"}}"#,
            )
        };
        assert!(matches!(
            Telegram.verify(channel.clone(), request.clone()),
            Verdict::Accept(None)
        ));
        let events = Telegram.normalize(channel, request).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].dedup_key, "update:5");
    }
}
