//! The webhook edge: authenticate with the plugin, store on the bus, answer.
//!
//! A 2xx is sent only after the bus acknowledged the raw event, so a webhook
//! the provider saw accepted is never lost. Handlers take the raw bytes:
//! signatures are computed over the body exactly as received.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::AppState;
use crate::bus::Record;
use crate::metrics;
use crate::pipeline::envelope::{topics, RawWebhook, WireRequest};
use crate::plugin::types::{HttpResponse, IncomingRequest, RoutingMode, Verdict};
use crate::store::{accounts, channels, now_micros};

/// Headers never forwarded into the stored event (credentials of our own
/// infrastructure, hop-by-hop noise).
const DROPPED_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

fn incoming(
    method: &Method,
    uri: &Uri,
    query: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> IncomingRequest {
    IncomingRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: query.unwrap_or_default(),
        headers: headers
            .iter()
            .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect(),
        body: body.to_vec(),
    }
}

fn plugin_response(response: HttpResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut builder = axum::http::Response::builder().status(status);
    for (name, value) in response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(axum::body::Body::from(response.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn refused(provider: &str, reason: &str) {
    metrics::inc(
        "switchboard_webhooks_refused_total",
        &[("provider", provider), ("reason", reason)],
    );
}

/// `POST|GET /webhooks/{provider}/{channel_key}`: per-account URLs.
pub async fn per_account(
    State(state): State<AppState>,
    Path((provider, channel_key)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let plugin = state
        .plugins
        .get(&provider)
        .cloned()
        .ok_or(AppError::NotFound("provider"))?;
    if plugin.manifest.routing != RoutingMode::PerAccount {
        return Err(AppError::NotFound("webhook URL"));
    }
    let Some(account) = channels::by_key(&state.db, &provider, &channel_key).await? else {
        refused(&provider, "unknown_channel");
        return Err(AppError::NotFound("channel"));
    };
    if !accounts::plugin_enabled(&state.db, &account.workspace_id, &provider).await? {
        refused(&provider, "disabled");
        return Err(AppError::Forbidden(format!(
            "provider {provider} is disabled for this workspace"
        )));
    }
    let channel = account
        .to_plugin(&state.secrets, &state.public_url)
        .map_err(|error| AppError::Internal(error.into()))?;
    let request = incoming(&method, &uri, query, &headers, body);
    let received_at = now_micros();
    let verdict = plugin
        .verify(channel, request.clone())
        .await
        .map_err(|error| {
            refused(&provider, "plugin_failure");
            AppError::Unavailable(format!(
                "the {provider} plugin could not check this request: {error}"
            ))
        })?;
    let reply = match verdict {
        Verdict::Respond(response) => return Ok(plugin_response(response)),
        Verdict::Reject(rejection) => {
            refused(&provider, "rejected");
            let status = StatusCode::from_u16(rejection.status)
                .ok()
                .filter(|status| status.is_client_error())
                .unwrap_or(StatusCode::BAD_REQUEST);
            let body = axum::Json(serde_json::json!({ "error": rejection.reason }));
            return Ok((status, body).into_response());
        }
        Verdict::Accept(reply) => reply,
    };
    let raw = RawWebhook {
        provider: provider.clone(),
        channel_id: Some(account.id.clone()),
        workspace_id: Some(account.workspace_id.clone()),
        accounts: Vec::new(),
        received_at,
        request: WireRequest::from(&request),
    };
    let record = Record {
        topic: topics::webhook(&provider),
        key: account.id.clone(),
        payload: serde_json::to_vec(&raw).expect("a raw webhook always serializes"),
    };
    state.bus.publish(vec![record]).await.map_err(|error| {
        refused(&provider, "bus_unavailable");
        AppError::Unavailable(format!("cannot store the webhook right now: {error}"))
    })?;
    metrics::inc(
        "switchboard_webhooks_accepted_total",
        &[("provider", &provider)],
    );
    Ok(match reply {
        Some(response) => plugin_response(response),
        None => StatusCode::OK.into_response(),
    })
}

/// `POST|GET /webhooks/{provider}` and `/webhooks/{provider}/w/{workspace_key}`:
/// global and per-workspace URLs, for providers that route by account id.
pub async fn routed(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let provider = params
        .iter()
        .find(|(name, _)| name == "provider")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    match state.plugins.get(&provider) {
        None => Err(AppError::NotFound("provider")),
        Some(plugin) => Err(AppError::NotFound(match plugin.manifest.routing {
            RoutingMode::PerAccount => "webhook URL (this provider uses per-account URLs)",
            // Routing by account id arrives with the providers that use it.
            RoutingMode::Global | RoutingMode::PerWorkspace => {
                "webhook route (no provider with global routing is installed)"
            }
        })),
    }
}
