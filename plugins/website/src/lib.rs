//! The website chat provider: the chat bubble a business embeds on its site.
//!
//! Nothing here talks to a provider. The host's widget endpoints turn each
//! visitor message into a webhook request on the channel's per-account URL,
//! adding the channel's webhook secret in `x-switchboard-widget-secret`, so
//! visitor messages go through the same pipeline as every other channel.
//! Replies are read by the widget from the host's database, so `send` only
//! names them.
//!
//! | module      | holds                                                  |
//! |-------------|--------------------------------------------------------|
//! | `payload`   | the request body and its limits                        |
//! | `verify`    | the widget secret, the method and the body check       |
//! | `normalize` | a visitor message as a `message` event                 |
//! | `connect`   | the channel key and the `allowed_origins` check        |
//! | `send`      | replies, named after Switchboard's message id          |

mod connect;
mod normalize;
mod payload;
mod send;
mod verify;

use switchboard_plugin_sdk::*;

/// The website chat provider. Stateless.
#[derive(Debug, Default)]
pub struct Website;

/// What `check_connection` says: there is no provider to ask.
pub const HEALTH_DETAIL: &str =
    "The widget talks to this server directly; nothing to check at a provider";

impl Provider for Website {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "website".into(),
            display_name: connect::DISPLAY_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            routing: RoutingMode::PerAccount,
            config_fields: vec![
                ConfigField {
                    name: "greeting".into(),
                    label: "Greeting shown in the widget".into(),
                    secret: false,
                    required: false,
                    help: None,
                },
                ConfigField {
                    name: connect::ALLOWED_ORIGINS.into(),
                    label: "Sites allowed to embed the widget".into(),
                    secret: false,
                    required: false,
                    help: Some(
                        "Comma-separated origins such as https://shop.example; empty allows any"
                            .into(),
                    ),
                },
            ],
            // It never calls out.
            allowed_hosts: Vec::new(),
            capabilities: Capabilities {
                edits: false,
                deletes: false,
                reactions: false,
                read_receipts: false,
                attachments: false,
                groups: false,
                reply_window_secs: None,
            },
            limits: Limits {
                memory_bytes: 16 << 20,
                call_timeout_ms: 2_000,
                max_outbound_body_bytes: 0,
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
        _channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        normalize::normalize(&request.body)
    }

    fn send(&self, _channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        send::send(&message)
    }

    fn fetch_attachment(
        &self,
        _channel: Channel,
        _provider_ref: String,
    ) -> Result<FetchedAttachment, SendError> {
        Err(SendError::Permanent(
            "website chat messages have no attachments".into(),
        ))
    }

    fn check_connection(&self, _channel: Channel) -> Result<ConnectionHealth, SendError> {
        Ok(ConnectionHealth {
            state: HealthState::Healthy,
            detail: Some(HEALTH_DETAIL.into()),
            last_error: None,
            last_error_at: None,
            pending_updates: None,
            registered_url: None,
        })
    }
}

// Exported only from the wasm component, as in the other plugins.
#[cfg(target_arch = "wasm32")]
register_provider!(Website);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::tests::{body, MESSAGE, VISITOR};
    use serde_json::json;
    use switchboard_plugin_sdk::testing;

    #[test]
    fn manifest_describes_the_plugin() {
        let manifest = Website.manifest();
        assert_eq!(manifest.id, "website");
        assert_eq!(manifest.display_name, "Website chat");
        assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.contract_version, CONTRACT_VERSION);
        assert!(matches!(manifest.routing, RoutingMode::PerAccount));
        assert!(manifest.allowed_hosts.is_empty());
        assert!(manifest.oauth.is_none());

        let fields: Vec<(&str, &str, bool, bool, Option<&str>)> = manifest
            .config_fields
            .iter()
            .map(|field| {
                (
                    field.name.as_str(),
                    field.label.as_str(),
                    field.secret,
                    field.required,
                    field.help.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                (
                    "greeting",
                    "Greeting shown in the widget",
                    false,
                    false,
                    None
                ),
                (
                    "allowed_origins",
                    "Sites allowed to embed the widget",
                    false,
                    false,
                    Some("Comma-separated origins such as https://shop.example; empty allows any")
                ),
            ]
        );

        let c = manifest.capabilities;
        assert!(!(c.edits || c.deletes || c.reactions || c.read_receipts));
        assert!(!(c.attachments || c.groups));
        assert_eq!(c.reply_window_secs, None);
        assert_eq!(manifest.limits.memory_bytes, 16 * 1024 * 1024);
        assert_eq!(manifest.limits.call_timeout_ms, 2_000);
        assert_eq!(manifest.limits.max_outbound_body_bytes, 0);
    }

    #[test]
    fn a_visitor_message_goes_through_verify_and_normalize() {
        let channel = verify::tests::channel();
        let request =
            verify::tests::request("POST", Some(&channel.webhook_secret), &body(json!({})));
        assert!(matches!(
            Website.verify(channel.clone(), request.clone()),
            Verdict::Accept(None)
        ));
        let (key, message) =
            testing::message(testing::only(Website.normalize(channel, request).unwrap()));
        assert_eq!(key, format!("{VISITOR}:{MESSAGE}"));
        assert_eq!(message.provider_message_id, key);
    }

    #[test]
    fn connect_send_and_health_call_nothing() {
        let connected = Website
            .connect(testing::connect_request(
                &[],
                "s",
                "https://inbox.example/webhooks/website/key123",
            ))
            .unwrap();
        assert_eq!(connected.provider_account_id, "key123");
        let channel = testing::channel("key123", &[]);
        let sent = Website
            .send(channel.clone(), testing::text_message(VISITOR, "hi"))
            .unwrap();
        assert_eq!(sent.provider_message_id, "op-01JA0000000000000000000000");
        let health = Website.check_connection(channel.clone()).unwrap();
        assert_eq!(health.state, HealthState::Healthy);
        assert_eq!(health.detail.as_deref(), Some(HEALTH_DETAIL));
        assert!(Website.disconnect(channel.clone()).is_ok());
        assert!(
            testing::permanent(Website.fetch_attachment(channel, "x".into()))
                .contains("no attachments")
        );
    }
}
