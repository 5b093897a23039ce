//! Declaring a channel's configuration fields, and reading their values.

use crate::{Channel, ConfigField, ConnectRequest};

impl ConfigField {
    /// An optional field that is not secret; chain [`ConfigField::secret`]
    /// and [`ConfigField::required`] to change that.
    pub fn new(name: &str, label: &str, help: impl Into<String>) -> Self {
        ConfigField {
            name: name.into(),
            label: label.into(),
            secret: false,
            required: false,
            help: Some(help.into()),
        }
    }

    /// Encrypted at rest and never shown again.
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Must be filled in to connect the channel.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// Looks up a configuration value; empty strings count as absent.
pub fn config_value<'a>(config: &'a [(String, String)], name: &str) -> Option<&'a str> {
    config
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Configuration access shared by [`Channel`] and [`ConnectRequest`].
pub trait Config {
    fn config(&self) -> &[(String, String)];

    fn get(&self, name: &str) -> Option<&str> {
        config_value(self.config(), name)
    }

    /// A required value, or an error message naming the missing field.
    fn require(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("configuration field `{name}` is required"))
    }

    /// The provider API base URL: the channel's `api_base` when set (a
    /// self-hosted API server, or a fake provider in tests), else `default`.
    /// Trailing slashes are dropped so callers can append `/method`.
    fn api_base(&self, default: &str) -> String {
        self.get("api_base")
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string()
    }
}

impl Config for Channel {
    fn config(&self) -> &[(String, String)] {
        &self.config
    }
}

impl Config for ConnectRequest {
    fn config(&self) -> &[(String, String)] {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_optional_and_plain_unless_said_otherwise() {
        let plain = ConfigField::new("api_base", "API server", "Only for tests");
        assert_eq!(
            (
                plain.name.as_str(),
                plain.label.as_str(),
                plain.help.as_deref()
            ),
            ("api_base", "API server", Some("Only for tests"))
        );
        assert!(!plain.secret && !plain.required);
        let token = ConfigField::new("access_token", "Access token", "x")
            .secret()
            .required();
        assert!(token.secret && token.required);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let config = vec![
            ("token".to_string(), " t ".to_string()),
            ("blank".to_string(), "  ".to_string()),
            ("api_base".to_string(), "http://127.0.0.1:9/".to_string()),
        ];
        assert_eq!(config_value(&config, "token"), Some("t"));
        assert_eq!(config_value(&config, "blank"), None);
        let request = ConnectRequest {
            config,
            webhook_secret: String::new(),
            webhook_url: String::new(),
        };
        assert!(request.require("blank").unwrap_err().contains("`blank`"));
        assert_eq!(request.api_base("https://x"), "http://127.0.0.1:9");
    }
}
