//! Connection health (contract 0.2.0): `groups.getCallbackServers` says
//! whether VK confirmed the callback server `connect` registered, and its
//! status (`ok`, `wait`, `failed`, `unconfigured`).

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::{Channel, ConnectionHealth, HealthState, SendError};

use crate::api::{Api, ApiError, Calls};
use crate::connect::{servers_call, Servers};
use crate::ids::parse_group_id;

pub(crate) fn check(channel: &Channel) -> Result<ConnectionHealth, SendError> {
    let group = if channel.provider_account_id.trim().is_empty() {
        channel.require("group_id").map_err(SendError::Permanent)?
    } else {
        channel.provider_account_id.as_str()
    };
    let group_id = parse_group_id(group).map_err(SendError::Permanent)?;
    let server_id = channel
        .get("callback_server_id")
        .and_then(|id| id.parse().ok());
    let api = Api::from_config(channel).map_err(SendError::Permanent)?;
    check_with(&api, group_id, server_id, &channel.webhook_url).map_err(ApiError::into_send_error)
}

/// Finds our server by the id `connect` stored, else by URL (a callback
/// server the admin added by hand).
pub(crate) fn check_with(
    calls: &impl Calls,
    group_id: i64,
    server_id: Option<i64>,
    webhook_url: &str,
) -> Result<ConnectionHealth, ApiError> {
    let servers: Servers = calls.call_as(&servers_call(group_id))?;
    let ours = servers.items.into_iter().find(|server| {
        Some(server.id) == server_id || server.url.as_deref().map(str::trim) == Some(webhook_url)
    });
    let Some(server) = ours else {
        return Ok(health(
            HealthState::Failing,
            format!("community {group_id} has no callback server for this channel (reconnect it)"),
            None,
        ));
    };
    let (state, detail) = match server.status.as_deref() {
        Some("ok") => (HealthState::Healthy, "VK delivers events to this channel".into()),
        Some("wait") => (
            HealthState::Failing,
            "VK is waiting for the server to confirm (press Confirm in the community's Callback API settings)".into(),
        ),
        Some("failed") => (
            HealthState::Failing,
            "VK could not confirm the server: the address did not answer the confirmation code".into(),
        ),
        Some("unconfigured") => (
            HealthState::Failing,
            "the callback server is not configured at VK".into(),
        ),
        other => (
            HealthState::Unknown,
            format!("VK reports status {}", other.unwrap_or("(none)")),
        ),
    };
    Ok(health(state, detail, server.url))
}

fn health(state: HealthState, detail: String, registered_url: Option<String>) -> ConnectionHealth {
    ConnectionHealth {
        state,
        detail: Some(detail),
        last_error: None,
        last_error_at: None,
        pending_updates: None,
        registered_url,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::api::ApiCall;

    /// Answers every call with one value.
    struct Answer(Value);

    impl Calls for Answer {
        fn call_json(&self, call: &ApiCall) -> Result<Value, ApiError> {
            assert_eq!(call.method, "groups.getCallbackServers");
            Ok(self.0.clone())
        }
    }

    const URL: &str = "https://desk.example/webhooks/vk/w/wk_1";

    fn servers(status: &str) -> Answer {
        Answer(json!({"count": 2, "items": [
            {"id": 3, "url": "https://other.example/hook", "status": "failed"},
            {"id": 7, "url": URL, "status": status},
        ]}))
    }

    #[test]
    fn our_server_confirmed_is_healthy() {
        let health = check_with(&servers("ok"), 1, Some(7), URL).unwrap();
        assert_eq!(health.state, HealthState::Healthy);
        assert_eq!(health.registered_url.as_deref(), Some(URL));
    }

    #[test]
    fn unconfirmed_or_failed_servers_are_failing_with_a_reason() {
        let waiting = check_with(&servers("wait"), 1, Some(7), URL).unwrap();
        assert_eq!(waiting.state, HealthState::Failing);
        assert!(waiting.detail.unwrap().contains("Confirm"));
        let failed = check_with(&servers("failed"), 1, None, URL).unwrap();
        assert_eq!(failed.state, HealthState::Failing);
        assert!(failed.detail.unwrap().contains("confirmation code"));
    }

    #[test]
    fn a_missing_server_is_failing() {
        let health = check_with(
            &servers("ok"),
            1,
            Some(99),
            "https://desk.example/elsewhere",
        )
        .unwrap();
        assert_eq!(health.state, HealthState::Failing);
        assert!(health.detail.unwrap().contains("no callback server"));
    }
}
