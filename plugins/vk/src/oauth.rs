//! Getting a community token through VK's authorization code flow.
//!
//! The admin names the community (`group_id`) before the redirect; VK asks
//! them to grant the app access to that community and sends back a code,
//! which is exchanged for the community's token. The shape of the exchange's
//! answer is unconfirmed: historically `{"access_token_<group_id>": "..."}`,
//! possibly `{"groups":[{"group_id":N,"access_token":"..."}]}`. Both are read.

use serde_json::{Map, Value};
use switchboard_plugin_sdk::channel::{config_value, Config};
use switchboard_plugin_sdk::encode;
use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{ConnectError, OauthStart};

use crate::api::{ApiError, Origins, DEFAULT_API_VERSION};
use crate::ids::parse_group_id;

/// What the community token may do: send and receive messages, register the
/// callback server, and upload photos and documents to send.
pub(crate) const SCOPE: &str = "messages,manage,photos,docs";

/// The URL that starts the flow. `api_base` in the start fields (tests) moves
/// it off `oauth.vk.com` like every other URL.
pub(crate) fn authorize_url(request: &OauthStart) -> Result<String, ConnectError> {
    let group = config_value(&request.config, "group_id").ok_or_else(|| {
        ConnectError::InvalidConfig("configuration field `group_id` is required".into())
    })?;
    let group_id = parse_group_id(group).map_err(ConnectError::InvalidConfig)?;
    let client_id = required(&request.client_id, "the OAuth client id")?;
    let redirect_uri = required(&request.redirect_uri, "the OAuth redirect URI")?;
    let origins = Origins::from_api_base(config_value(&request.config, "api_base"))
        .map_err(ConnectError::InvalidConfig)?;
    let group_ids = group_id.to_string();
    let query = encode::pairs(&[
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("group_ids", group_ids.as_str()),
        ("display", "page"),
        ("scope", SCOPE),
        ("response_type", "code"),
        ("v", DEFAULT_API_VERSION),
        ("state", request.state.as_str()),
    ]);
    Ok(format!("{}?{query}", origins.oauth_url("/authorize")))
}

fn required<'a>(value: &'a str, what: &str) -> Result<&'a str, ConnectError> {
    let value = value.trim();
    if value.is_empty() {
        Err(ConnectError::InvalidConfig(format!(
            "the host passed no {what}; set SWITCHBOARD_OAUTH_VK_CLIENT_ID and \
             SWITCHBOARD_OAUTH_VK_CLIENT_SECRET"
        )))
    } else {
        Ok(value)
    }
}

/// The code exchange, from what the host put into the connect request.
#[derive(Debug, PartialEq)]
pub(crate) struct Exchange {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub code: String,
}

impl Exchange {
    /// `None` when the request carries no `oauth_code` (a pasted token).
    pub fn from_config(config: &impl Config) -> Result<Option<Self>, ConnectError> {
        let Some(code) = config.get("oauth_code") else {
            return Ok(None);
        };
        let field = |name: &str| {
            config
                .require(name)
                .map(str::to_string)
                .map_err(ConnectError::InvalidConfig)
        };
        Ok(Some(Exchange {
            client_id: field("oauth_client_id")?,
            client_secret: field("oauth_client_secret")?,
            redirect_uri: field("oauth_redirect_uri")?,
            code: code.to_string(),
        }))
    }

    pub fn url(&self, origins: &Origins) -> String {
        let query = encode::pairs(&[
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code", self.code.as_str()),
        ]);
        format!("{}?{query}", origins.oauth_url("/access_token"))
    }

    /// Performs the exchange and picks the community's token.
    pub fn run(&self, origins: &Origins, group_id: i64) -> Result<String, ConnectError> {
        let answer = Request::get(self.url(origins)).send().map_err(|error| {
            // The URL holds the client secret and the code; a transport
            // error may quote it.
            let message = ApiError::from(error)
                .describe()
                .replace(&self.client_secret, "<client secret>")
                .replace(&self.code, "<code>");
            ConnectError::ProviderError(format!("OAuth code exchange failed: {message}"))
        })?;
        token_for_group(answer.status, &answer.body, group_id)
    }
}

/// Reads the exchange's answer: the token for `group_id`, or why not.
pub(crate) fn token_for_group(
    status: u16,
    body: &[u8],
    group_id: i64,
) -> Result<String, ConnectError> {
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let Some(fields) = parsed else {
        let error = ApiError::from_status(status, body);
        return Err(match status {
            200..=299 => ConnectError::ProviderError(format!(
                "VK's OAuth answer is not JSON: {}",
                error.describe()
            )),
            _ => ConnectError::ProviderError(error.describe()),
        });
    };
    if let Some(error) = fields.get("error") {
        let description = fields
            .get("error_description")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| error.as_str().map(str::to_string))
            .unwrap_or_else(|| error.to_string());
        // invalid_grant, invalid_client, a used or expired code: the admin
        // has to start again. A server-side failure is VK's.
        return Err(if status >= 500 {
            ConnectError::ProviderError(format!("VK OAuth: {description}"))
        } else {
            ConnectError::AuthFailed(format!("VK refused the authorization: {description}"))
        });
    }
    if let Some(token) = fields
        .get(&format!("access_token_{group_id}"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
    {
        return Ok(token.to_string());
    }
    let listed = fields
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|entry| {
            entry
                .get("group_id")
                .and_then(|id| id.as_i64().or_else(|| id.as_str()?.parse().ok()))
                == Some(group_id)
        })
        .and_then(|entry| entry.get("access_token"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty());
    if let Some(token) = listed {
        return Ok(token.to_string());
    }
    // Only the names of what came back: the values may be other tokens.
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    Err(ConnectError::AuthFailed(format!(
        "VK granted no token for community {group_id} (answer had: {}); \
         was access to that community granted?",
        keys.join(", ")
    )))
}

#[cfg(test)]
mod tests;
