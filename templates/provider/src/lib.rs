//! A provider plugin skeleton: copy this crate, rename it, and replace what
//! the comments point at. `docs/plugins.md` explains each call.
//!
//! | module    | holds                                             |
//! |-----------|---------------------------------------------------|
//! | `webhook` | authenticating and normalizing inbound requests  |
//! | `send`    | outbound messages as API calls                    |

mod send;
mod webhook;

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::*;

/// Replace: your provider's API origin. It is the only host the plugin may
/// call unless a channel sets `api_base`.
pub(crate) const DEFAULT_API_BASE: &str = "https://api.example.com";

/// Rename to your provider. Keep it stateless: the host may discard the
/// instance after any call.
#[derive(Debug, Default)]
pub struct Template;

impl Provider for Template {
    fn manifest(&self) -> Manifest {
        Manifest {
            // Replace: a stable lower-case id; it is also the webhook path segment.
            id: "template".into(),
            display_name: "Template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract_version: CONTRACT_VERSION.into(),
            // PerAccount: one webhook URL per channel. Use Global or
            // PerWorkspace (and implement `route`) when the provider calls
            // one URL for every account.
            routing: RoutingMode::PerAccount,
            // Replace: the settings an admin fills in to connect a channel.
            config_fields: vec![
                ConfigField {
                    name: "account_id".into(),
                    label: "Account id".into(),
                    secret: false,
                    required: true,
                    help: Some("The account's id at the provider.".into()),
                },
                ConfigField {
                    name: "api_token".into(),
                    label: "API token".into(),
                    secret: true,
                    required: true,
                    help: None,
                },
                ConfigField {
                    name: "api_base".into(),
                    label: "API server".into(),
                    secret: false,
                    required: false,
                    help: Some(format!("Default {DEFAULT_API_BASE}")),
                },
            ],
            allowed_hosts: vec![DEFAULT_API_BASE.into()],
            // Replace: what your provider can do.
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
                memory_bytes: 32 << 20,
                call_timeout_ms: 5_000,
                max_outbound_body_bytes: 8 << 20,
            },
            oauth: None,
        }
    }

    /// Replace: check the token with the provider and register
    /// `request.webhook_url` there with `request.webhook_secret`, which
    /// `verify` then expects back. This skeleton only checks the fields.
    fn connect(&self, request: ConnectRequest) -> Result<Connected, ConnectError> {
        let account_id = request
            .require("account_id")
            .map_err(ConnectError::InvalidConfig)?;
        request
            .require("api_token")
            .map_err(ConnectError::InvalidConfig)?;
        Ok(Connected {
            provider_account_id: account_id.to_string(),
            display_name: format!("Template {account_id}"),
            config_updates: Vec::new(),
        })
    }

    fn verify(&self, channel: Channel, request: IncomingRequest) -> Verdict {
        webhook::verify(&channel, &request)
    }

    fn normalize(
        &self,
        _channel: Channel,
        request: IncomingRequest,
    ) -> Result<Vec<Event>, NormalizeError> {
        webhook::normalize(&request.body)
    }

    fn send(&self, channel: Channel, message: OutboundMessage) -> Result<Sent, SendError> {
        send::send(&channel, &message)
    }
}

// Exported only from the wasm component; the native build is for tests.
#[cfg(target_arch = "wasm32")]
register_provider!(Template);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_names_missing_fields() {
        let request = |config: &[(&str, &str)]| ConnectRequest {
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            webhook_secret: "s3cr3t".into(),
            webhook_url: "https://inbox.example.com/webhooks/template/k1".into(),
        };
        let connected = Template
            .connect(request(&[("account_id", "42"), ("api_token", "t")]))
            .unwrap();
        assert_eq!(connected.provider_account_id, "42");
        assert!(matches!(
            Template.connect(request(&[("account_id", "42")])),
            Err(ConnectError::InvalidConfig(ref reason)) if reason.contains("`api_token`")
        ));
    }
}
