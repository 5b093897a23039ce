//! Reading a channel's configuration.

use crate::{Channel, ConnectRequest};

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
