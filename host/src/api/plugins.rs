//! Loaded providers and their per-workspace toggles.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::removal::{self, Refused};
use crate::plugin::types::RoutingMode;
use crate::plugin::Plugin;
use crate::store::accounts::{self, Role};

pub fn routing_name(mode: RoutingMode) -> &'static str {
    match mode {
        RoutingMode::PerAccount => "per-account",
        RoutingMode::Global => "global",
        RoutingMode::PerWorkspace => "per-workspace",
    }
}

/// A plugin's manifest as the API shows it, with its digest.
pub fn manifest_json(plugin: &Plugin) -> Value {
    let mut value = serde_json::to_value(&plugin.manifest).unwrap_or_default();
    value["routing"] = json!(routing_name(plugin.manifest.routing));
    value["sha256"] = json!(plugin.digest);
    value["signed_by"] = json!(plugin.signed_by);
    value["file"] = json!(plugin.file_name);
    value
}

/// The latest version of each provider, with every installed version.
pub async fn list(State(state): State<AppState>, _user: User) -> Json<Value> {
    let versions = state.plugins.all_versions();
    Json(Value::Array(
        state
            .plugins
            .all()
            .map(|plugin| {
                let mut value = manifest_json(&plugin);
                value["versions"] = versions
                    .iter()
                    .filter(|other| other.id() == plugin.id())
                    .map(|other| json!({"version": other.manifest.version, "sha256": other.digest, "file": other.file_name}))
                    .collect();
                value
            })
            .collect(),
    ))
}

/// Files in the plugins directory that were refused, with the reason.
pub async fn refused(State(state): State<AppState>, _user: User) -> Json<Value> {
    Json(json!(state.plugins.refused()))
}

async fn require_owner(state: &AppState, user: &User) -> ApiResult<()> {
    if accounts::owns_a_workspace(&state.db, &user.id).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "installing and removing plugins needs the owner role".into(),
        ))
    }
}

/// `POST /api/v1/plugins` with the component as the body (and its ed25519
/// signature, hex, in `x-plugin-signature`): checked, written to the plugins
/// directory and live at once (no restart).
pub async fn install(
    State(state): State<AppState>,
    user: User,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_owner(&state, &user).await?;
    let signature = headers
        .get("x-plugin-signature")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let installer = Arc::clone(&state.installer);
    let previous: Vec<String> = state
        .plugins
        .all_versions()
        .iter()
        .map(|plugin| format!("{}@{}", plugin.id(), plugin.manifest.version))
        .collect();
    // Compiling a component is CPU-bound: off the async workers.
    let plugin =
        tokio::task::spawn_blocking(move || installer.install_bytes(&body, signature.as_deref()))
            .await
            .map_err(|error| AppError::Internal(error.into()))?
            .map_err(|reason| AppError::BadRequest(format!("plugin refused: {reason}")))?;
    state.edge_cache.clear();
    let key = format!("{}@{}", plugin.id(), plugin.manifest.version);
    let mut value = manifest_json(&plugin);
    value["replaced"] = json!(previous.contains(&key));
    Ok((StatusCode::CREATED, Json(value)))
}

/// `DELETE /api/v1/plugins/{id}` (every version) or
/// `/api/v1/plugins/{id}/versions/{version}`. Refused while channels use the
/// provider and no other version would remain.
pub async fn remove(
    State(state): State<AppState>,
    user: User,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult<StatusCode> {
    require_owner(&state, &user).await?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let id = param("plugin_id").unwrap_or_default();
    let version = param("version");
    match removal::check(&state.db, &state.plugins, &id, version.as_deref()).await? {
        Ok(()) => {}
        Err(Refused::NotInstalled) => return Err(AppError::NotFound("plugin version")),
        Err(Refused::InUse(reason)) => return Err(AppError::Conflict(reason)),
    }
    let installer = Arc::clone(&state.installer);
    tokio::task::spawn_blocking(move || installer.remove(&id, version.as_deref()))
        .await
        .map_err(|error| AppError::Internal(error.into()))?;
    state.edge_cache.clear();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_for_workspace(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    let mut out = Vec::new();
    for plugin in state.plugins.all() {
        let setting = accounts::plugin_setting(&state.db, &workspace_id, plugin.id()).await?;
        let serving = state
            .plugins
            .for_pin(plugin.id(), setting.pinned.as_deref());
        out.push(json!({
            "plugin_id": plugin.id(),
            "display_name": plugin.manifest.display_name,
            "enabled": setting.enabled,
            "pinned_version": setting.pinned,
            "serving_version": serving.map(|p| p.manifest.version.clone()),
            "latest_version": plugin.manifest.version,
        }));
    }
    Ok(Json(Value::Array(out)))
}

/// What an admin may change of a provider in a workspace; absent fields
/// stay as they are.
#[derive(Deserialize)]
pub struct WorkspacePlugin {
    enabled: Option<bool>,
    /// A version to pin; `null` unpins (the latest serves).
    #[serde(default, deserialize_with = "present")]
    version: Option<Option<String>>,
}

/// Tells an explicit `null` apart from an absent field.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PUT /api/v1/workspaces/{ws}/plugins/{id}` `{"enabled"?, "version"?}`.
pub async fn set_for_workspace(
    State(state): State<AppState>,
    user: User,
    Path((workspace_id, plugin_id)): Path<(String, String)>,
    Json(body): Json<WorkspacePlugin>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    if state.plugins.get(&plugin_id).is_none() {
        return Err(AppError::NotFound("plugin"));
    }
    if let Some(Some(version)) = &body.version {
        if state.plugins.resolve(&plugin_id, Some(version)).is_none() {
            return Err(AppError::BadRequest(format!(
                "version {version} of {plugin_id} is not installed"
            )));
        }
    }
    if let Some(enabled) = body.enabled {
        accounts::set_plugin_enabled(&state.db, &workspace_id, &plugin_id, enabled).await?;
    }
    if let Some(version) = &body.version {
        accounts::set_plugin_pin(&state.db, &workspace_id, &plugin_id, version.as_deref()).await?;
    }
    state.edge_cache.clear();
    let setting = accounts::plugin_setting(&state.db, &workspace_id, &plugin_id).await?;
    let serving = state.plugins.for_pin(&plugin_id, setting.pinned.as_deref());
    Ok(Json(json!({
        "plugin_id": plugin_id,
        "enabled": setting.enabled,
        "pinned_version": setting.pinned,
        "serving_version": serving.map(|p| p.manifest.version.clone()),
    })))
}
