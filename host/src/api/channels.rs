//! Connecting, listing and removing channel accounts.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::bindings::HealthState;
use crate::plugin::types::{ConnectError, ConnectRequest, SendError};
use crate::plugin::Plugin;
use crate::store::accounts::{self, Role};
use crate::store::channels::{self, ChannelAccount, ChannelError, NewChannel, SealedConfig};
use crate::store::{new_id, random_token};

#[derive(Deserialize)]
pub struct CreateChannel {
    provider: String,
    name: String,
    #[serde(default)]
    config: BTreeMap<String, Value>,
}

fn view(state: &AppState, account: &ChannelAccount) -> Value {
    // The website widget's channel: the tag to paste into the site.
    let embed = (account.provider == super::widget::PROVIDER).then(|| {
        format!(
            r#"<script src="{}/widget.js" data-channel="{}" async></script>"#,
            state.public_url.trim_end_matches('/'),
            account.channel_key
        )
    });
    json!({
        "embed": embed,
        "id": account.id,
        "provider": account.provider,
        "name": account.name,
        "status": account.status,
        "last_error": account.last_error,
        "webhook_url": account.webhook_url(&state.public_url),
        "provider_account_id": account.provider_account_id,
        "display_name": account.display_name,
        "config": account.config,
        "created_at": crate::store::rfc3339(account.created_at),
    })
}

/// Configuration values as strings; numbers and booleans are accepted too.
fn stringify(config: BTreeMap<String, Value>) -> ApiResult<BTreeMap<String, String>> {
    config
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            Value::Number(number) => Ok((key, number.to_string())),
            Value::Bool(flag) => Ok((key, flag.to_string())),
            Value::Null => Ok((key, String::new())),
            _ => Err(AppError::BadRequest(format!(
                "config.{key} must be a string"
            ))),
        })
        .collect()
}

pub async fn create(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
    Json(body): Json<CreateChannel>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    let plugin = state
        .plugins
        .for_workspace(&state.db, &workspace_id, &body.provider)
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!("no provider `{}` is installed", body.provider))
        })?;
    let config = stringify(body.config)?;
    for field in plugin
        .manifest
        .config_fields
        .iter()
        .filter(|field| field.required)
    {
        if config
            .get(&field.name)
            .is_none_or(|value| value.trim().is_empty())
        {
            return Err(AppError::BadRequest(format!(
                "config.{} ({}) is required",
                field.name, field.label
            )));
        }
    }
    let account = connect(
        &state,
        &plugin,
        &workspace_id,
        &body.name,
        config,
        Vec::new(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, &account))))
}

/// Connects a channel through its plugin and stores it. `transient` values
/// reach the plugin's `connect` but are never stored (an OAuth code and the
/// app's client secret); `config` plus what the plugin returns is stored,
/// sealed.
pub async fn connect(
    state: &AppState,
    plugin: &Arc<Plugin>,
    workspace_id: &str,
    name: &str,
    mut config: BTreeMap<String, String>,
    transient: Vec<(String, String)>,
) -> ApiResult<ChannelAccount> {
    let provider = plugin.id().to_string();
    if !accounts::plugin_enabled(&state.db, workspace_id, &provider).await? {
        return Err(AppError::Forbidden(format!(
            "provider {provider} is disabled for this workspace"
        )));
    }
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::BadRequest("name must be 1-200 characters".into()));
    }
    let workspace_key = accounts::workspace_webhook_key(&state.db, workspace_id)
        .await?
        .ok_or(AppError::NotFound("workspace"))?;
    let id = new_id();
    let channel_key = random_token(16);
    let webhook_secret = random_token(24);
    let webhook_path = channels::webhook_path(
        &provider,
        plugin.manifest.routing,
        &channel_key,
        &workspace_key,
    );
    let request = ConnectRequest {
        config: config.clone().into_iter().chain(transient).collect(),
        webhook_secret: webhook_secret.clone(),
        webhook_url: format!("{}{webhook_path}", state.public_url),
    };
    let connected = match plugin.connect(request).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(ConnectError::InvalidConfig(reason))) => return Err(AppError::BadRequest(reason)),
        Ok(Err(ConnectError::AuthFailed(reason))) => {
            return Err(AppError::Unprocessable(format!(
                "the provider refused the credentials: {reason}"
            )))
        }
        Ok(Err(ConnectError::ProviderError(reason))) => {
            return Err(AppError::Unprocessable(format!(
                "the provider could not be reached: {reason}"
            )))
        }
        Err(error) => return Err(AppError::Unprocessable(error.to_string())),
    };
    config.extend(connected.config_updates);
    // Only fields the manifest declares as not secret are ever shown again;
    // anything undeclared is treated as secret.
    let public_config: serde_json::Map<String, Value> = config
        .iter()
        .filter(|(key, _)| {
            plugin
                .manifest
                .config_fields
                .iter()
                .any(|field| &field.name == *key && !field.secret)
        })
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let account = channels::insert(
        &state.db,
        &state.secrets,
        NewChannel {
            id,
            workspace_id: workspace_id.to_string(),
            provider,
            name: name.to_string(),
            channel_key,
            provider_account_id: connected.provider_account_id,
            display_name: connected.display_name,
            public_config: Value::Object(public_config),
            sealed: SealedConfig {
                config,
                webhook_secret,
            },
            webhook_path,
        },
    )
    .await
    .map_err(|error| match error {
        ChannelError::AlreadyConnected(_) => AppError::Conflict(error.to_string()),
        ChannelError::Database(error) => error.into(),
    })?;
    state.edge_cache.clear();
    tracing::info!(channel = %account.id, provider = %account.provider, "channel connected");
    Ok(account)
}

pub async fn list(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    let accounts = channels::list(&state.db, &workspace_id).await?;
    Ok(Json(Value::Array(
        accounts
            .iter()
            .map(|account| view(&state, account))
            .collect(),
    )))
}

pub async fn delete(
    State(state): State<AppState>,
    user: User,
    Path((workspace_id, channel_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    let account = channels::get(&state.db, &channel_id)
        .await?
        .filter(|account| account.workspace_id == workspace_id)
        .ok_or(AppError::NotFound("channel"))?;
    // Unregister at the provider first (best effort: a dead token must not
    // keep the channel from being removed here).
    if let (Some(plugin), Ok(channel)) = (
        state
            .plugins
            .for_workspace(&state.db, &account.workspace_id, &account.provider)
            .await?,
        account.to_plugin(&state.secrets, &state.public_url),
    ) {
        match plugin.disconnect(channel).await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                tracing::warn!(channel = %account.id, %reason, "provider disconnect failed")
            }
            Err(error) => {
                tracing::warn!(channel = %account.id, %error, "provider disconnect failed")
            }
        }
    }
    channels::delete(&state.db, &workspace_id, &channel_id).await?;
    state.edge_cache.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET .../channels/{id}/health`: asks the provider how the channel's
/// connection is (contract 0.2.0's `check-connection`). Plugins built for an
/// older contract answer `supported: false` without being called.
pub async fn health(
    State(state): State<AppState>,
    user: User,
    Path((workspace_id, channel_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    let account = channels::get(&state.db, &channel_id)
        .await?
        .filter(|account| account.workspace_id == workspace_id)
        .ok_or(AppError::NotFound("channel"))?;
    let plugin = state
        .plugins
        .for_workspace(&state.db, &workspace_id, &account.provider)
        .await?
        .ok_or_else(|| {
            AppError::Forbidden(format!(
                "provider {} is disabled for this workspace",
                account.provider
            ))
        })?;
    let channel = account
        .to_plugin(&state.secrets, &state.public_url)
        .map_err(|error| AppError::Internal(error.into()))?;
    let asked = plugin.check_connection(channel).await.map_err(|error| {
        AppError::Unavailable(format!("the {} plugin failed: {error}", account.provider))
    })?;
    let mut view = json!({
        "channel_id": account.id,
        "provider": account.provider,
        "plugin_version": plugin.manifest.version,
        "contract_version": plugin.contract_version(),
        "checked_at": crate::store::rfc3339(crate::store::now_micros()),
    });
    let fields = match asked {
        Err(unsupported) => json!({
            "supported": false,
            "state": "unknown",
            "detail": format!(
                "this version of the {} plugin is built for contract {}, which cannot report connection health",
                account.provider, unsupported.contract_version
            ),
        }),
        Ok(Ok(health)) => json!({
            "supported": true,
            "state": health_state(health.state),
            "detail": health.detail,
            "last_error": health.last_error,
            "last_error_at": health
                .last_error_at
                .map(|seconds| crate::store::rfc3339(seconds.saturating_mul(1_000_000))),
            "pending_updates": health.pending_updates,
            "registered_url": health.registered_url,
        }),
        Ok(Err(error)) => {
            let (state, detail) = match error {
                SendError::AuthExpired(reason) => {
                    ("failing", format!("credentials were refused: {reason}"))
                }
                SendError::Permanent(reason) => ("failing", reason),
                SendError::Retry(_) | SendError::RateLimited(_) => (
                    "unknown",
                    "the provider could not be asked right now; try again shortly".to_string(),
                ),
            };
            json!({ "supported": true, "state": state, "detail": detail })
        }
    };
    if let (Value::Object(view), Value::Object(fields)) = (&mut view, fields) {
        view.extend(fields);
    }
    Ok(Json(view))
}

fn health_state(state: HealthState) -> &'static str {
    match state {
        HealthState::Healthy => "healthy",
        HealthState::Failing => "failing",
        HealthState::Unknown => "unknown",
    }
}
