//! Connecting a channel through the provider's OAuth authorization-code flow
//! (Instagram, VK): the host owns the state and the redirect, the plugin owns
//! the provider's URLs and the code exchange.
//!
//! `GET /oauth/{provider}/start?workspace_id=..&name=..&<start fields>`
//! (owner or admin) answers 303 to the provider's authorize URL. The `state`
//! it carries is sealed with the server's secret key (authenticated
//! encryption: it cannot be forged or read), names the workspace, the user,
//! the channel name and the start fields, expires after
//! [`STATE_TTL`], and is accepted once: its nonce is claimed in
//! `oauth_states` on the callback, so a replay is refused.
//!
//! `GET /oauth/{provider}/callback?code=..&state=..` checks the state, calls
//! the plugin's `connect` with the code, stores the channel, and answers 303
//! to the settings page with `connected=<channel id>` (or `error=<reason>`
//! when the provider or the admin cancelled, or the exchange failed). A bad,
//! expired or replayed state is refused with 400 and nothing is stored.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::auth::User;
use super::channels::connect;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::types::{ConnectError, OauthStart};
use crate::store::accounts::{self, Role};
use crate::store::{now_micros, random_token};

/// How long an admin has to finish the provider's consent screen.
pub const STATE_TTL: Duration = Duration::from_secs(15 * 60);
/// What the sealed state is bound to, so no other sealed value passes as one.
const STATE_BINDING: &str = "oauth-state";

/// The OAuth apps the operator registered at each provider, by provider id:
/// `SWITCHBOARD_OAUTH_<PROVIDER>_CLIENT_ID` and `..._CLIENT_SECRET`.
#[derive(Clone, Default)]
pub struct OauthClients {
    clients: HashMap<String, OauthClient>,
}

#[derive(Clone)]
pub struct OauthClient {
    pub client_id: String,
    pub client_secret: String,
}

impl OauthClients {
    /// Reads the clients of these providers from the environment.
    pub fn from_env<'a>(providers: impl IntoIterator<Item = &'a str>) -> OauthClients {
        let mut clients = HashMap::new();
        for provider in providers {
            let prefix = format!(
                "SWITCHBOARD_OAUTH_{}",
                provider.to_ascii_uppercase().replace('-', "_")
            );
            let id = std::env::var(format!("{prefix}_CLIENT_ID")).ok();
            let secret = std::env::var(format!("{prefix}_CLIENT_SECRET")).ok();
            if let (Some(client_id), Some(client_secret)) = (id, secret) {
                if !client_id.trim().is_empty() && !client_secret.trim().is_empty() {
                    clients.insert(
                        provider.to_string(),
                        OauthClient {
                            client_id: client_id.trim().to_string(),
                            client_secret: client_secret.trim().to_string(),
                        },
                    );
                }
            }
        }
        OauthClients { clients }
    }

    pub fn get(&self, provider: &str) -> Option<&OauthClient> {
        self.clients.get(provider)
    }
}

/// What the sealed state carries through the provider and back.
#[derive(Serialize, Deserialize)]
struct StateClaims {
    nonce: String,
    provider: String,
    workspace_id: String,
    user_id: String,
    name: String,
    fields: BTreeMap<String, String>,
    /// Unix microseconds.
    expires_at: i64,
}

fn seal_state(state: &AppState, claims: &StateClaims) -> String {
    let json = serde_json::to_vec(claims).expect("claims always serialize");
    BASE64URL.encode(state.secrets.seal(&json, STATE_BINDING))
}

fn open_state(state: &AppState, token: &str) -> Option<StateClaims> {
    let sealed = BASE64URL.decode(token.trim()).ok()?;
    let json = state.secrets.open(&sealed, STATE_BINDING).ok()?;
    serde_json::from_slice(&json).ok()
}

fn redirect(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn callback_url(state: &AppState, provider: &str) -> String {
    format!("{}/oauth/{provider}/callback", state.public_url)
}

/// Where the admin lands after the callback.
fn settings_url(state: &AppState, provider: &str, outcome: (&str, &str)) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(outcome.0, outcome.1)
        .finish();
    format!("{}/settings/channels/{provider}?{query}", state.public_url)
}

pub async fn start(
    State(state): State<AppState>,
    user: User,
    Path(provider): Path<String>,
    Query(mut params): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let workspace_id = params
        .remove("workspace_id")
        .ok_or_else(|| AppError::BadRequest("workspace_id is required".into()))?;
    user.require(&state, &workspace_id, Role::Admin).await?;
    let plugin = state
        .plugins
        .get(&provider)
        .ok_or(AppError::NotFound("provider"))?;
    let Some(support) = plugin.manifest.oauth.clone() else {
        return Err(AppError::BadRequest(format!(
            "{provider} channels are not connected through OAuth"
        )));
    };
    if !accounts::plugin_enabled(&state.db, &workspace_id, &provider).await? {
        return Err(AppError::Forbidden(format!(
            "provider {provider} is disabled for this workspace"
        )));
    }
    let client = state.oauth.get(&provider).ok_or_else(|| {
        let variable = format!("SWITCHBOARD_OAUTH_{}", provider.to_ascii_uppercase());
        AppError::Conflict(format!(
            "OAuth for {provider} is not configured on this server: the operator sets \
             {variable}_CLIENT_ID and {variable}_CLIENT_SECRET"
        ))
    })?;
    let name = params
        .remove("name")
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| plugin.manifest.display_name.clone());
    // Only the declared start fields (and `api_base`, which points a channel
    // at a self-hosted or test API) travel through the state.
    let mut fields = BTreeMap::new();
    for field in &support.start_fields {
        match params.get(&field.name).map(|value| value.trim()) {
            Some(value) if !value.is_empty() => {
                fields.insert(field.name.clone(), value.to_string());
            }
            _ if field.required => {
                return Err(AppError::BadRequest(format!(
                    "{} ({}) is required",
                    field.name, field.label
                )))
            }
            _ => {}
        }
    }
    if let Some(api_base) = params.get("api_base").filter(|v| !v.trim().is_empty()) {
        fields.insert("api_base".into(), api_base.trim().to_string());
    }
    let claims = StateClaims {
        nonce: random_token(24),
        provider: provider.clone(),
        workspace_id,
        user_id: user.id,
        name,
        fields: fields.clone(),
        expires_at: now_micros() + STATE_TTL.as_micros() as i64,
    };
    let request = OauthStart {
        client_id: client.client_id.clone(),
        redirect_uri: callback_url(&state, &provider),
        state: seal_state(&state, &claims),
        config: fields.into_iter().collect(),
    };
    match plugin.oauth_authorize_url(request).await {
        Ok(Ok(url)) => Ok(redirect(&url)),
        Ok(Err(ConnectError::InvalidConfig(reason))) => Err(AppError::BadRequest(reason)),
        Ok(Err(ConnectError::AuthFailed(reason) | ConnectError::ProviderError(reason))) => {
            Err(AppError::Unprocessable(reason))
        }
        Err(error) => Err(AppError::Unprocessable(error.to_string())),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_reason: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> ApiResult<Response> {
    let claims = query
        .state
        .as_deref()
        .and_then(|token| open_state(&state, token))
        .filter(|claims| claims.provider == provider)
        .ok_or_else(|| AppError::BadRequest("invalid OAuth state".into()))?;
    if claims.expires_at < now_micros() {
        return Err(AppError::BadRequest(
            "this OAuth state has expired; start connecting again".into(),
        ));
    }
    let fresh = sqlx::query(
        "INSERT INTO oauth_states (nonce, used_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&claims.nonce)
    .bind(now_micros())
    .bind(claims.expires_at)
    .execute(&state.db.write)
    .await?
    .rows_affected();
    if fresh == 0 {
        return Err(AppError::BadRequest(
            "this OAuth state was already used".into(),
        ));
    }
    // The admin may have lost the role since the redirect.
    let role = accounts::role_in(&state.db, &claims.user_id, &claims.workspace_id).await?;
    if role.is_none_or(|role| role < Role::Admin) {
        return Err(AppError::Forbidden(
            "connecting channels needs the admin role or higher".into(),
        ));
    }
    if let Some(error) = query.error {
        let reason = query
            .error_description
            .or(query.error_reason)
            .unwrap_or(error);
        return Ok(redirect(&settings_url(
            &state,
            &provider,
            ("error", &reason),
        )));
    }
    let code = query
        .code
        .map(|code| code.trim_end_matches("#_").to_string())
        .filter(|code| !code.is_empty())
        .ok_or_else(|| AppError::BadRequest("the provider sent no code".into()))?;
    let plugin = state
        .plugins
        .get(&provider)
        .ok_or(AppError::NotFound("provider"))?;
    let client = state
        .oauth
        .get(&provider)
        .cloned()
        .ok_or_else(|| AppError::Conflict(format!("OAuth for {provider} is not configured")))?;
    let transient = vec![
        ("oauth_code".to_string(), code),
        (
            "oauth_redirect_uri".to_string(),
            callback_url(&state, &provider),
        ),
        ("oauth_client_id".to_string(), client.client_id),
        ("oauth_client_secret".to_string(), client.client_secret),
    ];
    match connect(
        &state,
        &plugin,
        &claims.workspace_id,
        &claims.name,
        claims.fields,
        transient,
    )
    .await
    {
        Ok(account) => Ok(redirect(&settings_url(
            &state,
            &provider,
            ("connected", &account.id),
        ))),
        Err(AppError::Internal(error)) => Err(AppError::Internal(error)),
        Err(error) => Ok(redirect(&settings_url(
            &state,
            &provider,
            ("error", &error.to_string()),
        ))),
    }
}

/// Forgets claimed states once they could no longer be replayed anyway.
pub async fn purge_states(db: &crate::store::Db) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(now_micros())
            .execute(&db.write)
            .await?
            .rows_affected(),
    )
}
