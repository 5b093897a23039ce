//! The webhook edge: authenticate with the plugin, store on the bus, answer.
//!
//! A 2xx is sent only after the bus acknowledged the raw event, so a webhook
//! the provider saw accepted is never lost. Handlers take the raw bytes:
//! signatures are computed over the body exactly as received.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::edge_cache::{ChannelKey, ResolvedChannel};
use super::error::AppError;
use super::AppState;
use crate::bus::Record;
use crate::metrics;
use crate::pipeline::envelope::{topics, RawWebhook, WireRequest};
use crate::plugin::types::{HttpResponse, IncomingRequest, Routing, RoutingMode, Verdict};
use crate::plugin::Plugin;
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

/// The request as a plugin sees it; the body is filled in once read.
fn incoming(parts: &axum::http::request::Parts) -> IncomingRequest {
    IncomingRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| !DROPPED_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect(),
        body: Vec::new(),
    }
}

/// A webhook request as the plugin sees it, taken from the HTTP request.
pub struct Webhook(IncomingRequest);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Webhook {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let mut incoming = incoming(&parts);
        // Read through `Bytes` so the route's body limit applies.
        incoming.body = Bytes::from_request(axum::extract::Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?
            .to_vec();
        Ok(Webhook(incoming))
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

/// The answer to an accepted webhook: the plugin's, or an empty 200.
fn accepted(reply: Option<HttpResponse>) -> Response {
    match reply {
        Some(response) => plugin_response(response),
        None => StatusCode::OK.into_response(),
    }
}

fn refused(provider: &str, reason: &str) {
    metrics::inc(
        "switchboard_webhooks_refused_total",
        &[("provider", provider), ("reason", reason)],
    );
}

/// What a webhook request is, before any channel is resolved.
struct Arrival {
    provider: String,
    plugin: Arc<Plugin>,
    request: IncomingRequest,
    received_at: i64,
}

impl Arrival {
    fn new(
        state: &AppState,
        provider: String,
        request: IncomingRequest,
    ) -> Result<Arrival, AppError> {
        let plugin = state
            .plugins
            .get(&provider)
            .ok_or(AppError::NotFound("provider"))?;
        Ok(Arrival {
            provider,
            plugin,
            request,
            received_at: now_micros(),
        })
    }
}

/// `POST|GET /webhooks/{provider}/{channel_key}`: per-account URLs.
pub async fn per_account(
    State(state): State<AppState>,
    Path((provider, channel_key)): Path<(String, String)>,
    Webhook(request): Webhook,
) -> Result<Response, AppError> {
    for_channel_key(&state, provider, channel_key, request).await
}

/// A request for one per-account channel, however it arrived (a provider's
/// webhook, or the website widget's endpoint speaking for a visitor).
pub(super) async fn for_channel_key(
    state: &AppState,
    provider: String,
    channel_key: String,
    request: IncomingRequest,
) -> Result<Response, AppError> {
    let arrival = Arrival::new(state, provider, request)?;
    if arrival.plugin.manifest.routing != RoutingMode::PerAccount {
        return Err(AppError::NotFound("webhook URL"));
    }
    let key = ChannelKey::Url(arrival.provider.clone(), channel_key);
    let Some(resolved) = resolve(state, key).await? else {
        refused(&arrival.provider, "unknown_channel");
        return Err(AppError::NotFound("channel"));
    };
    admit(state, &arrival, vec![resolved]).await
}

/// `POST|GET /webhooks/{provider}`: one URL for the whole host; the plugin
/// names the accounts from the payload.
pub async fn global(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Webhook(request): Webhook,
) -> Result<Response, AppError> {
    let arrival = Arrival::new(&state, provider, request)?;
    routed(&state, &arrival, None).await
}

/// `POST|GET /webhooks/{provider}/w/{workspace_key}`: one URL per
/// workspace; only that workspace's channels are candidates.
pub async fn per_workspace(
    State(state): State<AppState>,
    Path((provider, workspace_key)): Path<(String, String)>,
    Webhook(request): Webhook,
) -> Result<Response, AppError> {
    let arrival = Arrival::new(&state, provider, request)?;
    let Some(workspace_id) = accounts::workspace_by_webhook_key(&state.db, &workspace_key).await?
    else {
        refused(&arrival.provider, "unknown_workspace");
        return Err(AppError::NotFound("webhook URL"));
    };
    routed(&state, &arrival, Some(&workspace_id)).await
}

/// Global and per-workspace URLs: asks the plugin which accounts the request
/// is for, then admits it for those of them connected here.
async fn routed(
    state: &AppState,
    arrival: &Arrival,
    workspace_id: Option<&str>,
) -> Result<Response, AppError> {
    let provider = &arrival.provider;
    if arrival.plugin.manifest.routing == RoutingMode::PerAccount {
        return Err(AppError::NotFound(
            "webhook URL (this provider uses per-account URLs)",
        ));
    }
    let routing = arrival
        .plugin
        .route(arrival.request.clone())
        .await
        .map_err(|error| {
            refused(provider, "plugin_failure");
            AppError::Unavailable(format!(
                "the {provider} plugin could not route this request: {error}"
            ))
        })?;
    let in_scope = |resolved: &ResolvedChannel| {
        workspace_id.is_none_or(|workspace_id| resolved.account.workspace_id == workspace_id)
    };
    match routing {
        Routing::Unroutable(reason) => {
            refused(provider, "unroutable");
            Err(AppError::BadRequest(reason))
        }
        Routing::Handshake => offer(state, arrival, workspace_id, Offer::Handshake).await,
        Routing::Accounts(ids) if ids.is_empty() => {
            offer(state, arrival, workspace_id, Offer::NoAccount).await
        }
        Routing::Accounts(ids) => {
            let mut matched = Vec::new();
            for id in &ids {
                let key = ChannelKey::Account(provider.clone(), id.clone());
                match resolve(state, key).await? {
                    Some(resolved) if in_scope(&resolved) => matched.push(resolved),
                    _ => {
                        refused(provider, "unknown_account");
                        tracing::warn!(%provider, account = %id, "webhook for an account not connected here");
                    }
                }
            }
            if matched.is_empty() {
                return Err(AppError::NotFound(
                    "channel for the accounts this webhook names",
                ));
            }
            admit(state, arrival, matched).await
        }
    }
}

/// Why a request is offered to every candidate channel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// A handshake (Meta's verification GET): the first candidate whose
    /// `verify` answers it wins; none -> 403.
    Handshake,
    /// An authentic-looking request about no account (WhatsApp's
    /// account-level events): answered 2xx once a candidate's `verify`
    /// accepts it, and stored nowhere, since no channel owns it; none -> 401.
    NoAccount,
}

/// Offers the request to every channel of the provider (in the workspace,
/// on a per-workspace URL).
async fn offer(
    state: &AppState,
    arrival: &Arrival,
    workspace_id: Option<&str>,
    why: Offer,
) -> Result<Response, AppError> {
    let provider = &arrival.provider;
    for account in channels::of_provider(&state.db, provider, workspace_id).await? {
        let Some(plugin) = workspace_plugin(state, &account.workspace_id, provider).await? else {
            continue;
        };
        let channel = account
            .to_plugin(&state.secrets, &state.public_url)
            .map_err(|error| AppError::Internal(error.into()))?;
        match plugin.verify(channel, arrival.request.clone()).await {
            Ok(Verdict::Respond(response)) => return Ok(plugin_response(response)),
            Ok(Verdict::Accept(reply)) if why == Offer::NoAccount => {
                metrics::inc(
                    "switchboard_webhooks_without_account_total",
                    &[("provider", provider)],
                );
                tracing::info!(%provider, verified_by = %account.id, "authentic webhook about no connected account; answered, not stored");
                return Ok(accepted(reply));
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%provider, channel = %account.id, %error, "verify of an unrouted request failed")
            }
        }
    }
    match why {
        Offer::Handshake => {
            refused(provider, "handshake_unmatched");
            Err(AppError::Forbidden(
                "no connected channel recognises this verification request".into(),
            ))
        }
        Offer::NoAccount => {
            refused(provider, "unauthenticated_without_account");
            Ok((
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "no connected channel could authenticate this request"
                })),
            )
                .into_response())
        }
    }
}

/// The channel a webhook names, with its credentials unsealed; cached
/// briefly (see [`super::edge_cache`]).
async fn resolve(state: &AppState, key: ChannelKey) -> Result<Option<ResolvedChannel>, AppError> {
    if let Some(resolved) = state.edge_cache.channel(&key) {
        return Ok(Some(resolved));
    }
    let account = match &key {
        ChannelKey::Url(provider, channel_key) => {
            channels::by_key(&state.db, provider, channel_key).await?
        }
        ChannelKey::Account(provider, account_id) => {
            channels::by_provider_account(&state.db, provider, account_id).await?
        }
    };
    let Some(account) = account else {
        return Ok(None);
    };
    let channel = account
        .to_plugin(&state.secrets, &state.public_url)
        .map_err(|error| AppError::Internal(error.into()))?;
    let resolved = ResolvedChannel { account, channel };
    state.edge_cache.put_channel(key, resolved.clone());
    Ok(Some(resolved))
}

/// The version of the provider this workspace uses, or None when the
/// workspace turned it off; cached briefly.
async fn workspace_plugin(
    state: &AppState,
    workspace_id: &str,
    provider: &str,
) -> Result<Option<Arc<Plugin>>, AppError> {
    let setting = match state.edge_cache.plugin_setting(workspace_id, provider) {
        Some(setting) => setting,
        None => {
            let setting = accounts::plugin_setting(&state.db, workspace_id, provider).await?;
            state
                .edge_cache
                .put_plugin_setting(workspace_id, provider, setting.clone());
            setting
        }
    };
    Ok(if setting.enabled {
        state.plugins.for_pin(provider, setting.pinned.as_deref())
    } else {
        None
    })
}

/// Authenticates the request for each account it is for and stores it once
/// per account; answers 2xx only after the bus acknowledged every record.
async fn admit(
    state: &AppState,
    arrival: &Arrival,
    accounts_named: Vec<ResolvedChannel>,
) -> Result<Response, AppError> {
    let provider = &arrival.provider;
    let mut records = Vec::with_capacity(accounts_named.len());
    let mut reply = None;
    let mut disabled = 0;
    for ResolvedChannel { account, channel } in accounts_named {
        let Some(plugin) = workspace_plugin(state, &account.workspace_id, provider).await? else {
            disabled += 1;
            continue;
        };
        let verdict = plugin
            .verify(channel, arrival.request.clone())
            .await
            .map_err(|error| {
                refused(provider, "plugin_failure");
                AppError::Unavailable(format!(
                    "the {provider} plugin could not check this request: {error}"
                ))
            })?;
        match verdict {
            Verdict::Respond(response) => return Ok(plugin_response(response)),
            Verdict::Reject(rejection) => {
                refused(provider, "rejected");
                let status = StatusCode::from_u16(rejection.status)
                    .ok()
                    .filter(|status| status.is_client_error())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                let body = axum::Json(serde_json::json!({ "error": rejection.reason }));
                return Ok((status, body).into_response());
            }
            Verdict::Accept(response) => {
                reply = reply.or(response);
            }
        }
        let raw = RawWebhook {
            provider: provider.clone(),
            channel_id: Some(account.id.clone()),
            workspace_id: Some(account.workspace_id.clone()),
            accounts: vec![account.provider_account_id.clone()],
            received_at: arrival.received_at,
            request: WireRequest::from(&arrival.request),
        };
        records.push(Record {
            topic: topics::webhook(provider),
            key: account.id.clone(),
            partition: None,
            payload: serde_json::to_vec(&raw).expect("a raw webhook always serializes"),
        });
    }
    if records.is_empty() && disabled > 0 {
        refused(provider, "disabled");
        return Err(AppError::Forbidden(format!(
            "provider {provider} is disabled for this workspace"
        )));
    }
    let stored = records.len();
    state.bus.publish(records).await.map_err(|error| {
        refused(provider, "bus_unavailable");
        AppError::Unavailable(format!("cannot store the webhook right now: {error}"))
    })?;
    metrics::add(
        "switchboard_webhooks_accepted_total",
        &[("provider", provider)],
        stored as u64,
    );
    Ok(accepted(reply))
}
