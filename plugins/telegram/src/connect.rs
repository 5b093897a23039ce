//! Connecting a bot: check the token with `getMe`, then point the bot's
//! webhook at the channel's URL with the channel's secret.

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_plugin_sdk::{Channel, ConnectError, ConnectRequest, Connected};

use crate::api::{ApiCall, ApiError, Bot};

/// The update kinds Switchboard normalizes. Listed explicitly because an
/// empty list means "all but reactions", and reactions are wanted.
const ALLOWED_UPDATES: [&str; 5] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "message_reaction",
];

/// `getMe`'s result.
#[derive(Debug, Deserialize)]
struct BotUser {
    id: i64,
    first_name: Option<String>,
    username: Option<String>,
}

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    let bot = Bot::from_config(request).map_err(ConnectError::InvalidConfig)?;
    let set_webhook = set_webhook(&request.webhook_url, &request.webhook_secret)?;
    let me: BotUser = bot
        .call(ApiCall::get("getMe", String::new()))
        .map_err(ApiError::into_connect_error)?;
    // `setWebhook` answers `true`; only `ok` matters.
    let _: Value = bot
        .call(set_webhook)
        .map_err(ApiError::into_connect_error)?;
    Ok(connected(me))
}

/// Best effort: the channel is going away whatever Telegram says, but the
/// host reports a failure so the operator can clean up by hand.
pub(crate) fn disconnect(channel: &Channel) -> Result<(), String> {
    let bot = Bot::from_config(channel)?;
    let _: Value = bot
        .call(delete_webhook())
        .map_err(|error| error.describe())?;
    Ok(())
}

fn set_webhook(url: &str, secret: &str) -> Result<ApiCall, ConnectError> {
    // An empty URL would silently remove the bot's webhook instead.
    if url.trim().is_empty() {
        return Err(ConnectError::InvalidConfig(
            "the host gave no webhook URL for this channel".into(),
        ));
    }
    Ok(ApiCall::json(
        "setWebhook",
        json!({
            "url": url,
            "secret_token": secret,
            "allowed_updates": ALLOWED_UPDATES,
            "drop_pending_updates": false,
        }),
    ))
}

fn delete_webhook() -> ApiCall {
    // Updates still queued are kept: reconnecting later delivers them.
    ApiCall::json("deleteWebhook", json!({"drop_pending_updates": false}))
}

fn connected(me: BotUser) -> Connected {
    let display_name = match (&me.username, &me.first_name) {
        (Some(username), _) => format!("@{username}"),
        (None, Some(first_name)) => first_name.clone(),
        (None, None) => me.id.to_string(),
    };
    Connected {
        provider_account_id: me.id.to_string(),
        display_name,
        config_updates: me
            .username
            .map(|username| vec![("bot_username".to_string(), username)])
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{interpret, Payload};
    use switchboard_plugin_sdk::testing;

    fn request(config: &[(&str, &str)]) -> ConnectRequest {
        testing::connect_request(
            config,
            "s3cr3t_-X",
            "https://hooks.example/webhooks/telegram/abc",
        )
    }

    #[test]
    fn token_is_required_and_checked() {
        let missing = Bot::from_config(&request(&[])).err().unwrap();
        assert!(missing.contains("bot_token"), "{missing}");
        let malformed = Bot::from_config(&request(&[("bot_token", "hello")]))
            .err()
            .unwrap();
        assert!(malformed.contains("bot_token"), "{malformed}");
        let bad_base = Bot::from_config(&request(&[("bot_token", "1:a"), ("api_base", "ftp://x")]));
        assert!(bad_base.is_err());
    }

    #[test]
    fn api_base_overrides_the_default() {
        let default = Bot::from_config(&request(&[("bot_token", "123:abc")])).unwrap();
        assert_eq!(
            default.method_url("getMe"),
            "https://api.telegram.org/bot123:abc/getMe"
        );
        let local = Bot::from_config(&request(&[
            ("bot_token", "123:abc"),
            ("api_base", "http://127.0.0.1:8081/"),
        ]))
        .unwrap();
        assert_eq!(
            local.method_url("getMe"),
            "http://127.0.0.1:8081/bot123:abc/getMe"
        );
    }

    #[test]
    fn set_webhook_registers_url_secret_and_update_kinds() {
        let call = set_webhook("https://hooks.example/w", "s3cr3t").unwrap();
        assert_eq!(call.method, "setWebhook");
        let Payload::Json(body) = call.payload else {
            panic!("expected JSON");
        };
        assert_eq!(
            body,
            json!({
                "url": "https://hooks.example/w",
                "secret_token": "s3cr3t",
                "allowed_updates": ["message","edited_message","channel_post","edited_channel_post","message_reaction"],
                "drop_pending_updates": false,
            })
        );
        assert!(matches!(
            set_webhook(" ", "s"),
            Err(ConnectError::InvalidConfig(_))
        ));
    }

    #[test]
    fn get_me_names_the_account() {
        let me: BotUser = interpret(
            200,
            br#"{"ok":true,"result":{"id":7012345678,"is_bot":true,"first_name":"Shop","username":"shop_bot"}}"#,
        )
        .unwrap();
        let connected = connected(me);
        assert_eq!(connected.provider_account_id, "7012345678");
        assert_eq!(connected.display_name, "@shop_bot");
        assert_eq!(
            connected.config_updates,
            vec![("bot_username".to_string(), "shop_bot".to_string())]
        );
        let unnamed = connected_from(r#"{"id":1,"is_bot":true,"first_name":"Shop"}"#);
        assert_eq!(unnamed.display_name, "Shop");
        assert!(unnamed.config_updates.is_empty());
    }

    fn connected_from(user: &str) -> Connected {
        connected(serde_json::from_str(user).unwrap())
    }

    #[test]
    fn rejected_token_fails_authentication() {
        let error = interpret::<Value>(
            401,
            br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        )
        .unwrap_err()
        .into_connect_error();
        assert!(
            matches!(error, ConnectError::AuthFailed(ref m) if m == "Telegram rejected the bot token")
        );
        let error = interpret::<Value>(
            400,
            br#"{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: HTTPS url must be provided for webhook"}"#,
        )
        .unwrap_err()
        .into_connect_error();
        assert!(matches!(error, ConnectError::ProviderError(ref m) if m.contains("HTTPS url")));
    }

    #[test]
    fn delete_webhook_keeps_pending_updates() {
        let call = delete_webhook();
        assert_eq!(call.method, "deleteWebhook");
        assert!(
            matches!(call.payload, Payload::Json(ref body) if body["drop_pending_updates"] == json!(false))
        );
    }
}
