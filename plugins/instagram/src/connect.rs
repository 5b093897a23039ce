//! Connecting an Instagram account: get a token (pasted, or through OAuth),
//! find the account it belongs to, and subscribe the app to its messaging
//! webhooks. Disconnecting removes the subscription.
//!
//! The webhook URL itself is set once per app in Meta's dashboard (one URL
//! for every account: global routing), not per channel.

use serde::Deserialize;
use switchboard_meta_graph::error::interpret_success;
use switchboard_meta_graph::payload::{id, optional_id};
use switchboard_meta_graph::webhook::{APP_SECRET, VERIFY_TOKEN};
use switchboard_meta_graph::{Call, Failure};
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::encode;
use switchboard_plugin_sdk::{Channel, ConnectError, ConnectRequest, Connected};

use crate::account::{Api, Login, ACCESS_TOKEN, PAGE_ID};
use crate::oauth::{self, CodeGrant};

/// Webhook fields of the Instagram account (Business Login).
pub(crate) const INSTAGRAM_FIELDS: &str =
    "messages,messaging_postbacks,messaging_seen,message_reactions,messaging_referral,message_edit";
/// The same events as a Facebook Page names them (Facebook Login).
pub(crate) const PAGE_FIELDS: &str =
    "messages,messaging_postbacks,message_reads,message_reactions,messaging_referrals,message_edits";

/// How the admin proved access.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials {
    Pasted(String),
    OAuth(CodeGrant),
}

pub(crate) fn credentials(
    request: &ConnectRequest,
    login: Login,
) -> Result<Credentials, ConnectError> {
    let field = |name: &str| {
        request
            .require(name)
            .map(str::to_string)
            .map_err(ConnectError::InvalidConfig)
    };
    if request.get("oauth_code").is_some() {
        if login == Login::Facebook {
            return Err(ConnectError::InvalidConfig(
                "OAuth connects through Business Login for Instagram only; for Facebook Login, paste a Page access token".into(),
            ));
        }
        return Ok(Credentials::OAuth(CodeGrant {
            code: field("oauth_code")?,
            redirect_uri: field("oauth_redirect_uri")?,
            client_id: field("oauth_client_id")?,
            client_secret: field("oauth_client_secret")?,
        }));
    }
    let token = request.get(ACCESS_TOKEN).ok_or_else(|| {
        ConnectError::InvalidConfig(
            "configuration field `access_token` is required (or connect with Instagram login)"
                .into(),
        )
    })?;
    // Without it every webhook would be refused as unsigned.
    field(APP_SECRET)?;
    Ok(Credentials::Pasted(token.to_string()))
}

/// The account a token belongs to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Account {
    pub id: String,
    pub display_name: String,
    /// Facebook Login: the Page whose token this is (subscriptions live there).
    pub page_id: Option<String>,
}

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    let api = Api::from_config(request).map_err(ConnectError::InvalidConfig)?;
    let mut updates = Vec::new();
    let token = match credentials(request, api.login)? {
        Credentials::Pasted(token) => token,
        Credentials::OAuth(grant) => {
            let short = oauth::exchange_code(&api, &grant)
                .send()
                .and_then(|answer| oauth::read_exchange(answer.status, &answer.body))
                .map_err(Failure::into_connect_error)?;
            let long = oauth::long_lived(&api, &grant.client_secret, &short.access_token)
                .send()
                .and_then(|answer| oauth::read_long_lived(answer.status, &answer.body))
                .map_err(Failure::into_connect_error)?;
            updates.extend(oauth_updates(
                request,
                &long.access_token,
                oauth::expires_at(oauth::now_secs(), long.expires_in),
                &grant.client_secret,
            ));
            long.access_token
        }
    };
    let account = match api.login {
        Login::Instagram => read_instagram_me(fetch(me_call(&api, &token))?)?,
        Login::Facebook => read_page_me(fetch(page_call(&api, &token))?)?,
    };
    let node = account.page_id.as_deref().unwrap_or(&account.id);
    subscribe_call(&api, &token, node)
        .send()
        .and_then(|answer| interpret_success(answer.status, &answer.body))
        .map_err(Failure::into_connect_error)?;
    Ok(connected(request, account, updates))
}

fn fetch(call: Call) -> Result<serde_json::Value, ConnectError> {
    call.fetch().map_err(Failure::into_connect_error)
}

/// What the OAuth path stores: the long-lived token and when it expires,
/// and the app secret (the client secret signs the webhooks too) unless the
/// admin gave one.
pub(crate) fn oauth_updates(
    request: &ConnectRequest,
    token: &str,
    expires_at: Option<u64>,
    client_secret: &str,
) -> Vec<(String, String)> {
    let mut updates = vec![(ACCESS_TOKEN.to_string(), token.to_string())];
    if let Some(at) = expires_at {
        updates.push(("token_expires_at".to_string(), at.to_string()));
    }
    if request.get(APP_SECRET).is_none() {
        updates.push((APP_SECRET.to_string(), client_secret.to_string()));
    }
    updates
}

pub(crate) fn connected(
    request: &ConnectRequest,
    account: Account,
    mut updates: Vec<(String, String)>,
) -> Connected {
    if let Some(page_id) = &account.page_id {
        updates.push((PAGE_ID.to_string(), page_id.clone()));
    }
    if request.get(VERIFY_TOKEN).is_none() {
        updates.push((VERIFY_TOKEN.to_string(), request.webhook_secret.clone()));
    }
    Connected {
        provider_account_id: account.id,
        display_name: account.display_name,
        config_updates: updates,
    }
}

/// `GET /me?fields=user_id,username` (Business Login). `user_id` is the id
/// webhooks name in `entry.id`.
pub(crate) fn me_call(api: &Api, token: &str) -> Call {
    Call::get(api.graph("me?fields=user_id,username")).bearer(token)
}

#[derive(Deserialize)]
struct InstagramMe {
    #[serde(default, deserialize_with = "optional_id")]
    user_id: Option<String>,
    username: Option<String>,
}

pub(crate) fn read_instagram_me(answer: serde_json::Value) -> Result<Account, ConnectError> {
    let me = InstagramMe::deserialize(&answer)
        .map_err(|error| ConnectError::ProviderError(format!("unexpected /me answer: {error}")))?;
    let id = me.user_id.ok_or_else(|| {
        ConnectError::ProviderError("Instagram's /me answer has no user_id".into())
    })?;
    Ok(Account {
        display_name: me
            .username
            .map(|username| format!("@{username}"))
            .unwrap_or_else(|| id.clone()),
        id,
        page_id: None,
    })
}

/// `GET /me?fields=id,name,instagram_business_account{id,username}` with a
/// Page token (Facebook Login): the Page, and the Instagram account linked
/// to it, whose id webhooks name.
pub(crate) fn page_call(api: &Api, token: &str) -> Call {
    let query = encode::pairs(&[("fields", "id,name,instagram_business_account{id,username}")]);
    Call::get(api.graph(&format!("me?{query}"))).bearer(token)
}

#[derive(Deserialize)]
struct PageMe {
    #[serde(deserialize_with = "id")]
    id: String,
    name: Option<String>,
    instagram_business_account: Option<LinkedAccount>,
}

#[derive(Deserialize)]
struct LinkedAccount {
    #[serde(deserialize_with = "id")]
    id: String,
    username: Option<String>,
}

pub(crate) fn read_page_me(answer: serde_json::Value) -> Result<Account, ConnectError> {
    let page = PageMe::deserialize(&answer)
        .map_err(|error| ConnectError::ProviderError(format!("unexpected /me answer: {error}")))?;
    let linked = page.instagram_business_account.ok_or_else(|| {
        ConnectError::InvalidConfig(format!(
            "the Facebook Page {} has no linked Instagram professional account (or the token is not a Page token)",
            page.name.as_deref().unwrap_or(&page.id)
        ))
    })?;
    Ok(Account {
        display_name: match (linked.username, page.name) {
            (Some(username), _) => format!("@{username}"),
            (None, Some(name)) => name,
            (None, None) => linked.id.clone(),
        },
        id: linked.id,
        page_id: Some(page.id),
    })
}

/// `POST /{node}/subscribed_apps?subscribed_fields=…`; the node is the
/// Instagram account, or the Page under Facebook Login.
pub(crate) fn subscribe_call(api: &Api, token: &str, node: &str) -> Call {
    let fields = match api.login {
        Login::Instagram => INSTAGRAM_FIELDS,
        Login::Facebook => PAGE_FIELDS,
    };
    let query = encode::pairs(&[("subscribed_fields", fields)]);
    Call::post(api.graph(&format!(
        "{}/subscribed_apps?{query}",
        encode::component(node)
    )))
    .bearer(token)
}

pub(crate) fn unsubscribe_call(api: &Api, token: &str, node: &str) -> Call {
    Call::delete(api.graph(&format!("{}/subscribed_apps", encode::component(node)))).bearer(token)
}

/// Best effort: the channel goes away whatever Meta says, but a failure is
/// reported so the operator can remove the subscription by hand.
pub(crate) fn disconnect(channel: &Channel) -> Result<(), String> {
    let api = Api::from_config(channel)?;
    let token = channel.require(ACCESS_TOKEN)?;
    let node = match api.login {
        Login::Instagram => channel.provider_account_id.clone(),
        Login::Facebook => channel.require(PAGE_ID)?.to_string(),
    };
    unsubscribe_call(&api, token, &node)
        .send()
        .and_then(|answer| interpret_success(answer.status, &answer.body))
        .map_err(|failure| failure.describe())
}

#[cfg(test)]
mod tests;
