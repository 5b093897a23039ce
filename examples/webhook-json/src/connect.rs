//! Connecting a channel: the settings are checked and nothing is called.
//! The other system is configured by its operator (the webhook URL and the
//! signing secret), so there is no webhook to register from here.

use switchboard_plugin_sdk::{ConnectError, ConnectRequest, Connected};

use crate::settings::Settings;

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    let settings = Settings::read(request).map_err(ConnectError::InvalidConfig)?;
    Ok(Connected {
        display_name: format!("JSON webhook {}", settings.account_id),
        provider_account_id: settings.account_id,
        config_updates: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(fields: &[(&str, &str)]) -> ConnectRequest {
        ConnectRequest {
            config: fields
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
            webhook_secret: "host-generated".into(),
            webhook_url: "https://inbox.example.com/webhooks/webhook-json/k1".into(),
        }
    }

    fn invalid(fields: &[(&str, &str)]) -> String {
        match connect(&request(fields)) {
            Err(ConnectError::InvalidConfig(reason)) => reason,
            other => panic!("expected invalid config, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_channel_is_named_after_its_account() {
        let connected = connect(&request(&[
            ("account_id", " crm-inbox-7 "),
            ("signing_secret", "whsec-0123456789abcdef"),
            ("api_base", "https://crm.example.com"),
            ("send_path", "/hooks/switchboard"),
        ]))
        .unwrap();
        assert_eq!(connected.provider_account_id, "crm-inbox-7");
        assert_eq!(connected.display_name, "JSON webhook crm-inbox-7");
        assert!(connected.config_updates.is_empty());
    }

    #[test]
    fn each_bad_field_is_named() {
        let secret = ("signing_secret", "whsec-0123456789abcdef");
        let base = ("api_base", "https://crm.example.com");
        let account = ("account_id", "inbox-7");
        assert_eq!(
            invalid(&[secret, base]),
            "configuration field `account_id` is required"
        );
        assert_eq!(
            invalid(&[account, base]),
            "configuration field `signing_secret` is required"
        );
        assert_eq!(
            invalid(&[account, secret]),
            "configuration field `api_base` is required"
        );
        assert!(invalid(&[account, ("signing_secret", "short"), base]).contains("`signing_secret`"));
        assert!(invalid(&[
            account,
            secret,
            ("api_base", "https://crm.example.com/inbox")
        ])
        .starts_with("`api_base` must be an origin"));
        assert!(
            invalid(&[account, secret, base, ("send_path", "inbox")]).starts_with("`send_path`")
        );
    }
}
