//! Connecting, listing and removing channel accounts.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::types::{ConnectError, ConnectRequest};
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
    json!({
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
    let plugin = state.plugins.get(&body.provider).cloned().ok_or_else(|| {
        AppError::BadRequest(format!("no provider `{}` is installed", body.provider))
    })?;
    if !accounts::plugin_enabled(&state.db, &workspace_id, &body.provider).await? {
        return Err(AppError::Forbidden(format!(
            "provider {} is disabled for this workspace",
            body.provider
        )));
    }
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(AppError::BadRequest("name must be 1-200 characters".into()));
    }
    let mut config = stringify(body.config)?;
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
    let id = new_id();
    let channel_key = random_token(16);
    let webhook_secret = random_token(24);
    let webhook_url = format!(
        "{}/webhooks/{}/{}",
        state.public_url, body.provider, channel_key
    );
    let request = ConnectRequest {
        config: config.clone().into_iter().collect(),
        webhook_secret: webhook_secret.clone(),
        webhook_url,
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
    let secret_fields: Vec<&str> = plugin
        .manifest
        .config_fields
        .iter()
        .filter(|field| field.secret)
        .map(|field| field.name.as_str())
        .collect();
    // Only fields the manifest declares as not secret are ever shown again;
    // anything undeclared is treated as secret.
    let public_config: serde_json::Map<String, Value> = config
        .iter()
        .filter(|(key, _)| {
            !secret_fields.contains(&key.as_str())
                && plugin
                    .manifest
                    .config_fields
                    .iter()
                    .any(|field| &field.name == *key)
        })
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let account = channels::insert(
        &state.db,
        &state.secrets,
        NewChannel {
            id,
            workspace_id,
            provider: body.provider,
            name: name.to_string(),
            channel_key,
            provider_account_id: connected.provider_account_id,
            display_name: connected.display_name,
            public_config: Value::Object(public_config),
            sealed: SealedConfig {
                config,
                webhook_secret,
            },
        },
    )
    .await
    .map_err(|error| match error {
        ChannelError::AlreadyConnected(_) => AppError::Conflict(error.to_string()),
        ChannelError::Database(error) => error.into(),
    })?;
    tracing::info!(channel = %account.id, provider = %account.provider, "channel connected");
    Ok((StatusCode::CREATED, Json(view(&state, &account))))
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
        state.plugins.get(&account.provider).cloned(),
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
    Ok(StatusCode::NO_CONTENT)
}
