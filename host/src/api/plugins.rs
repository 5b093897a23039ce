//! Loaded providers and their per-workspace toggles.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
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
    value["file"] = json!(plugin.file_name);
    value
}

pub async fn list(State(state): State<AppState>, _user: User) -> Json<Value> {
    Json(Value::Array(
        state
            .plugins
            .all()
            .map(|plugin| manifest_json(plugin))
            .collect(),
    ))
}

pub async fn list_for_workspace(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    let mut out = Vec::new();
    for plugin in state.plugins.all() {
        let enabled = accounts::plugin_enabled(&state.db, &workspace_id, plugin.id()).await?;
        out.push(json!({
            "plugin_id": plugin.id(),
            "display_name": plugin.manifest.display_name,
            "enabled": enabled,
        }));
    }
    Ok(Json(Value::Array(out)))
}

#[derive(Deserialize)]
pub struct Toggle {
    enabled: bool,
}

pub async fn set_for_workspace(
    State(state): State<AppState>,
    user: User,
    Path((workspace_id, plugin_id)): Path<(String, String)>,
    Json(body): Json<Toggle>,
) -> ApiResult<Json<Value>> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    if state.plugins.get(&plugin_id).is_none() {
        return Err(AppError::NotFound("plugin"));
    }
    accounts::set_plugin_enabled(&state.db, &workspace_id, &plugin_id, body.enabled).await?;
    state.edge_cache.clear();
    Ok(Json(
        json!({ "plugin_id": plugin_id, "enabled": body.enabled }),
    ))
}
