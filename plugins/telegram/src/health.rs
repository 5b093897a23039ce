//! Connection health (contract 0.2.0): `getWebhookInfo` says where Telegram
//! delivers the bot's updates, how many it is holding, and the last error it
//! saw delivering them.

use serde::Deserialize;
use switchboard_plugin_sdk::{Channel, ConnectionHealth, HealthState, SendError};

use crate::api::{ApiCall, ApiError, Bot};

/// `getWebhookInfo`'s result (fields we read).
#[derive(Debug, Deserialize)]
pub(crate) struct WebhookInfo {
    #[serde(default)]
    url: String,
    #[serde(default)]
    pending_update_count: u32,
    last_error_date: Option<i64>,
    last_error_message: Option<String>,
}

pub(crate) fn check(channel: &Channel) -> Result<ConnectionHealth, SendError> {
    let bot = Bot::from_config(channel).map_err(SendError::Permanent)?;
    let info: WebhookInfo = bot
        .call(ApiCall::get("getWebhookInfo", String::new()))
        .map_err(ApiError::into_send_error)?;
    Ok(assess(info, &channel.webhook_url))
}

/// Telegram keeps the last error after later deliveries succeed, so an error
/// alone is history; an error with updates still waiting means delivery is
/// failing now.
pub(crate) fn assess(info: WebhookInfo, expected_url: &str) -> ConnectionHealth {
    let (state, detail) = if info.url.is_empty() {
        (
            HealthState::Failing,
            "the bot has no webhook: updates are not delivered (reconnect the channel)".to_string(),
        )
    } else if info.url != expected_url {
        (
            HealthState::Failing,
            format!(
                "the bot delivers updates to {}, not to this channel (another system took the bot over; reconnect to take it back)",
                info.url
            ),
        )
    } else if info.pending_update_count > 0 && info.last_error_message.is_some() {
        (
            HealthState::Failing,
            format!(
                "Telegram cannot deliver: {} updates waiting",
                info.pending_update_count
            ),
        )
    } else {
        (
            HealthState::Healthy,
            "Telegram delivers updates to this channel".to_string(),
        )
    };
    ConnectionHealth {
        state,
        detail: Some(detail),
        last_error: info.last_error_message,
        last_error_at: info.last_error_date,
        pending_updates: Some(info.pending_update_count),
        registered_url: (!info.url.is_empty()).then_some(info.url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::interpret;

    const URL: &str = "https://hooks.example/webhooks/telegram/abc";

    fn info(body: &str) -> WebhookInfo {
        interpret(200, body.as_bytes()).unwrap()
    }

    #[test]
    fn our_url_and_nothing_waiting_is_healthy() {
        let health = assess(
            info(&format!(
                r#"{{"ok":true,"result":{{"url":"{URL}","pending_update_count":0,"last_error_date":1700000000,"last_error_message":"Read timeout expired"}}}}"#
            )),
            URL,
        );
        assert_eq!(health.state, HealthState::Healthy);
        // An old error is still shown, with its date.
        assert_eq!(health.last_error.as_deref(), Some("Read timeout expired"));
        assert_eq!(health.last_error_at, Some(1_700_000_000));
        assert_eq!(health.registered_url.as_deref(), Some(URL));
    }

    #[test]
    fn an_error_with_updates_waiting_is_failing() {
        let health = assess(
            info(&format!(
                r#"{{"ok":true,"result":{{"url":"{URL}","pending_update_count":12,"last_error_date":1700000000,"last_error_message":"Wrong response from the webhook: 503 Service Unavailable"}}}}"#
            )),
            URL,
        );
        assert_eq!(health.state, HealthState::Failing);
        assert_eq!(health.pending_updates, Some(12));
        assert!(health.detail.unwrap().contains("12 updates waiting"));
    }

    #[test]
    fn no_webhook_or_another_url_is_failing() {
        let none = assess(
            info(r#"{"ok":true,"result":{"url":"","pending_update_count":3}}"#),
            URL,
        );
        assert_eq!(none.state, HealthState::Failing);
        assert_eq!(none.registered_url, None);
        let taken = assess(
            info(
                r#"{"ok":true,"result":{"url":"https://elsewhere.example/hook","pending_update_count":0}}"#,
            ),
            URL,
        );
        assert_eq!(taken.state, HealthState::Failing);
        assert!(taken.detail.unwrap().contains("elsewhere.example"));
    }
}
