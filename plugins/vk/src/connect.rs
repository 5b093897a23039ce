//! Connecting a community: get its token (pasted, or through OAuth), name
//! it, and register Switchboard as one of its Callback API servers.
//!
//! Calls, in order: `groups.getById` (name and id),
//! `groups.getCallbackConfirmationCode` (the string `verify` answers the
//! handshake with), `groups.getCallbackServers` (a server already pointing
//! at this URL is reused: VK allows ten per community, and reconnecting must
//! not use them up), `groups.addCallbackServer` or `groups.editCallbackServer`
//! (URL, title, secret), `groups.setCallbackSettings` (API version, events).
//!
//! Without the community's `manage` right the server cannot be registered;
//! an admin who set it up by hand and filled in `confirmation_code` and
//! `secret` still connects.

use serde::Deserialize;
use serde_json::Value;
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::{Channel, ConnectError, ConnectRequest, Connected};

use crate::api::{api_version, Api, ApiCall, ApiError, Calls, Origins, DEFAULT_API_VERSION};
use crate::ids::parse_group_id;
use crate::oauth::Exchange;
use crate::webhook::expected_secret;

/// Shown in the community's list of servers; VK allows 14 characters.
const SERVER_TITLE: &str = "Switchboard";

/// The events the callback server sends, as `groups.setCallbackSettings`
/// names them. Typing would be one webhook per keystroke burst for nothing.
const EVENTS: [(&str, u8); 8] = [
    ("message_new", 1),
    ("message_reply", 1),
    ("message_edit", 1),
    ("message_allow", 1),
    ("message_deny", 1),
    ("message_read", 1),
    ("message_typing_state", 0),
    ("message_event", 1),
];

/// VK's "not found": the server is already gone.
const NOT_FOUND: i64 = 104;

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    let settings = Settings::from_request(request)?;
    let origins = Origins::from_config(request).map_err(ConnectError::InvalidConfig)?;
    let (token, exchanged) = match Exchange::from_config(request)? {
        Some(exchange) => (exchange.run(&origins, settings.group_id)?, true),
        None => (
            request
                .require("access_token")
                .map_err(ConnectError::InvalidConfig)?
                .to_string(),
            false,
        ),
    };
    let api = Api::new(origins, token.clone(), api_version(request));
    let mut connected = connect_with(&api, &settings)?;
    if exchanged {
        connected
            .config_updates
            .push(("access_token".into(), token));
    }
    Ok(connected)
}

/// What connect needs from the request, checked before any call.
#[derive(Debug, PartialEq)]
pub(crate) struct Settings {
    pub group_id: i64,
    pub webhook_url: String,
    pub secret: String,
    /// Filled in by an admin who set the callback server up by hand.
    pub manual: bool,
}

impl Settings {
    pub fn from_request(request: &ConnectRequest) -> Result<Self, ConnectError> {
        let group = request
            .require("group_id")
            .map_err(ConnectError::InvalidConfig)?;
        let group_id = parse_group_id(group).map_err(ConnectError::InvalidConfig)?;
        let webhook_url = request.webhook_url.trim().to_string();
        if webhook_url.is_empty() {
            return Err(ConnectError::InvalidConfig(
                "the host gave no webhook URL for this channel".into(),
            ));
        }
        let secret = expected_secret(request, &request.webhook_secret);
        if secret.is_empty() {
            return Err(ConnectError::InvalidConfig(
                "the host gave no webhook secret for this channel".into(),
            ));
        }
        Ok(Settings {
            group_id,
            webhook_url,
            secret,
            manual: request.get("confirmation_code").is_some() && request.get("secret").is_some(),
        })
    }
}

/// Everything after the token: naming the community and registering.
pub(crate) fn connect_with(
    calls: &impl Calls,
    settings: &Settings,
) -> Result<Connected, ConnectError> {
    let group = community(calls, settings.group_id)?;
    let mut config_updates = vec![("group_id".to_string(), group.id.to_string())];
    match register(calls, settings) {
        Ok(registration) => {
            config_updates.push(("confirmation_code".into(), registration.confirmation_code));
            config_updates.push((
                "callback_server_id".into(),
                registration.server_id.to_string(),
            ));
        }
        Err(error) if error.lacks_permission() && settings.manual => {}
        Err(error) if error.lacks_permission() => {
            return Err(ConnectError::AuthFailed(format!(
                "{}: the token may not manage the community's Callback API servers (it lacks \
                 the `manage` right). Grant it, or add the server by hand (Manage → Working with \
                 API → Callback API) and fill in `confirmation_code` and `secret`",
                error.describe()
            )))
        }
        Err(error) => return Err(error.into_connect_error()),
    }
    Ok(Connected {
        provider_account_id: group.id.to_string(),
        display_name: group.display_name(),
        config_updates,
    })
}

/// Undoes the registration: deletes the callback server connect added.
/// Best effort; channels set up by hand have no server id and nothing to undo.
pub(crate) fn disconnect(channel: &Channel) -> Result<(), String> {
    let Some(server) = channel.get("callback_server_id") else {
        return Ok(());
    };
    let server_id: i64 = server
        .parse()
        .map_err(|_| format!("`callback_server_id` is not a number: {server}"))?;
    let group = if channel.provider_account_id.trim().is_empty() {
        channel.require("group_id")?
    } else {
        channel.provider_account_id.as_str()
    };
    let group_id = parse_group_id(group)?;
    let api = Api::from_config(channel)?;
    disconnect_with(&api, group_id, server_id)
}

pub(crate) fn disconnect_with(
    calls: &impl Calls,
    group_id: i64,
    server_id: i64,
) -> Result<(), String> {
    match calls.call_json(&delete_server_call(group_id, server_id)) {
        Ok(_)
        | Err(ApiError::Vk {
            code: NOT_FOUND, ..
        }) => Ok(()),
        Err(error) => Err(error.describe()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Group {
    pub id: i64,
    pub name: Option<String>,
    pub screen_name: Option<String>,
}

impl Group {
    fn display_name(&self) -> String {
        self.name
            .clone()
            .filter(|name| !name.trim().is_empty())
            .or_else(|| self.screen_name.clone().filter(|name| !name.is_empty()))
            .unwrap_or_else(|| format!("club{}", self.id))
    }
}

fn community(calls: &impl Calls, group_id: i64) -> Result<Group, ConnectError> {
    let answer = calls
        .call_json(&get_by_id_call(group_id))
        .map_err(ApiError::into_connect_error)?;
    let group = group_from(answer)?;
    if group.id != group_id {
        return Err(ConnectError::ProviderError(format!(
            "VK answered with community {} for community {group_id}",
            group.id
        )));
    }
    Ok(group)
}

/// `groups.getById` answers `{"groups":[...]}` since 5.194 and a bare list
/// before.
pub(crate) fn group_from(answer: Value) -> Result<Group, ConnectError> {
    let list = match answer {
        Value::Object(mut fields) => fields.remove("groups").unwrap_or(Value::Null),
        other => other,
    };
    let first = match list {
        Value::Array(mut groups) if !groups.is_empty() => groups.swap_remove(0),
        _ => {
            return Err(ConnectError::ProviderError(
                "VK did not describe the community".into(),
            ))
        }
    };
    serde_json::from_value(first)
        .map_err(|error| ConnectError::ProviderError(format!("unreadable community: {error}")))
}

#[derive(Debug, PartialEq)]
pub(crate) struct Registration {
    pub confirmation_code: String,
    pub server_id: i64,
}

#[derive(Deserialize)]
struct ConfirmationCode {
    code: String,
}

/// `groups.getCallbackServers`' answer (also read by `health`).
#[derive(Deserialize)]
pub(crate) struct Servers {
    #[serde(default)]
    pub items: Vec<Server>,
}

#[derive(Deserialize)]
pub(crate) struct Server {
    pub id: i64,
    pub url: Option<String>,
    /// `ok`, `wait`, `failed` or `unconfigured`.
    pub status: Option<String>,
}

#[derive(Deserialize)]
struct AddedServer {
    server_id: i64,
}

pub(crate) fn register(calls: &impl Calls, settings: &Settings) -> Result<Registration, ApiError> {
    let group_id = settings.group_id;
    let code: ConfirmationCode = calls.call_as(&confirmation_code_call(group_id))?;
    // Reuse is an optimisation: a list that cannot be read (or fetched)
    // means adding a server, which fails on its own if it must.
    let servers: Servers = calls
        .call_as(&servers_call(group_id))
        .unwrap_or(Servers { items: Vec::new() });
    let existing = servers
        .items
        .iter()
        .find(|server| server.url.as_deref().map(str::trim) == Some(settings.webhook_url.as_str()))
        .map(|server| server.id);
    let (server_id, added) = match existing {
        Some(server_id) => {
            calls.call_json(&edit_server_call(settings, server_id))?;
            (server_id, false)
        }
        None => {
            let added: AddedServer = calls.call_as(&add_server_call(settings))?;
            (added.server_id, true)
        }
    };
    if let Err(error) = calls.call_json(&settings_call(group_id, server_id)) {
        // A server without events would sit in the community's list doing
        // nothing; the failure is what gets reported either way.
        if added {
            let _ = calls.call_json(&delete_server_call(group_id, server_id));
        }
        return Err(error);
    }
    Ok(Registration {
        confirmation_code: code.code,
        server_id,
    })
}

pub(crate) fn get_by_id_call(group_id: i64) -> ApiCall {
    ApiCall::new("groups.getById").param("group_id", group_id)
}

pub(crate) fn confirmation_code_call(group_id: i64) -> ApiCall {
    ApiCall::new("groups.getCallbackConfirmationCode").param("group_id", group_id)
}

pub(crate) fn servers_call(group_id: i64) -> ApiCall {
    ApiCall::new("groups.getCallbackServers").param("group_id", group_id)
}

pub(crate) fn add_server_call(settings: &Settings) -> ApiCall {
    ApiCall::new("groups.addCallbackServer")
        .param("group_id", settings.group_id)
        .param("url", &settings.webhook_url)
        .param("title", SERVER_TITLE)
        .param("secret_key", &settings.secret)
}

pub(crate) fn edit_server_call(settings: &Settings, server_id: i64) -> ApiCall {
    ApiCall::new("groups.editCallbackServer")
        .param("group_id", settings.group_id)
        .param("server_id", server_id)
        .param("url", &settings.webhook_url)
        .param("title", SERVER_TITLE)
        .param("secret_key", &settings.secret)
}

/// The payload version is pinned to the one `normalize` is written against,
/// whatever version the channel uses for its calls.
pub(crate) fn settings_call(group_id: i64, server_id: i64) -> ApiCall {
    EVENTS.iter().fold(
        ApiCall::new("groups.setCallbackSettings")
            .param("group_id", group_id)
            .param("server_id", server_id)
            .param("api_version", DEFAULT_API_VERSION),
        |call, &(event, on)| call.param(event, on),
    )
}

pub(crate) fn delete_server_call(group_id: i64, server_id: i64) -> ApiCall {
    ApiCall::new("groups.deleteCallbackServer")
        .param("group_id", group_id)
        .param("server_id", server_id)
}

#[cfg(test)]
mod tests;
