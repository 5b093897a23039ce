//! The HTTP surface: operator API under `/api/v1`, provider webhooks under
//! `/webhooks`, and health/metrics. `router(state)` builds it without a
//! socket, so tests can drive it directly.

pub mod attachments;
pub mod auth;
pub mod channels;
pub mod edge_cache;
pub mod error;
pub mod events;
pub mod health;
pub mod inbox;
pub mod members;
pub mod oauth;
pub mod plugins;
pub mod rate_limit;
mod reply_body;
pub mod webhooks;
pub mod widget;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use tower_http::timeout::TimeoutLayer;

use crate::bus::Bus;
use crate::config::MAX_WEBHOOK_BYTES;
use crate::plugin::PluginRegistry;
use crate::secrets::SecretBox;
use crate::store::Db;

/// Longest any request may take: above the largest plugin deadline a
/// connect call can use (getMe + setWebhook), below typical proxy timeouts.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub bus: Arc<dyn Bus>,
    pub plugins: Arc<PluginRegistry>,
    pub secrets: Arc<SecretBox>,
    pub public_url: String,
    /// The operator's OAuth apps at the providers that connect through OAuth.
    pub oauth: Arc<oauth::OauthClients>,
    /// Channels and plugin toggles the webhook edge looked up lately.
    pub edge_cache: Arc<edge_cache::EdgeCache>,
    /// Installs and removes plugins at run time.
    pub installer: Arc<crate::plugin::Installer>,
}

/// Health, readiness and metrics only: what a process without the edge role serves.
pub fn health_router(state: AppState) -> Router {
    health_routes().with_state(state)
}

fn health_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/invites/{token}/accept", post(members::accept))
        .route("/workspaces/{ws}/members", get(members::list))
        .route("/workspaces/{ws}/invites", post(members::invite))
        .route(
            "/plugins",
            get(plugins::list)
                .post(plugins::install)
                .layer(DefaultBodyLimit::max(
                    crate::plugin::loader::MAX_COMPONENT_BYTES,
                )),
        )
        .route("/plugins/refused", get(plugins::refused))
        .route("/plugins/{plugin_id}", delete(plugins::remove))
        .route(
            "/plugins/{plugin_id}/versions/{version}",
            delete(plugins::remove),
        )
        .route("/workspaces/{ws}/plugins", get(plugins::list_for_workspace))
        .route(
            "/workspaces/{ws}/plugins/{plugin_id}",
            put(plugins::set_for_workspace),
        )
        .route(
            "/workspaces/{ws}/channels",
            get(channels::list).post(channels::create),
        )
        .route("/workspaces/{ws}/channels/{id}", delete(channels::delete))
        .route(
            "/workspaces/{ws}/channels/{id}/health",
            get(channels::health),
        )
        .route("/workspaces/{ws}/conversations", get(inbox::conversations))
        .route("/workspaces/{ws}/events", get(events::stream))
        .route("/conversations/{id}", patch(inbox::set_status))
        .route("/conversations/{id}/read", post(inbox::mark_read))
        .route("/messages/{id}/retry", post(inbox::retry))
        .route("/workspaces/{ws}/contacts", get(inbox::contacts))
        .route(
            "/conversations/{id}/messages",
            get(inbox::messages)
                .post(inbox::reply)
                .layer(DefaultBodyLimit::max(reply_body::MAX_REPLY_REQUEST_BYTES)),
        )
        .route(
            "/messages/{id}/attachments/{index}",
            get(attachments::download),
        );
    let webhooks = Router::new()
        .route("/{provider}", any(webhooks::global))
        .route(
            "/{provider}/w/{workspace_key}",
            any(webhooks::per_workspace),
        )
        .route("/{provider}/{channel_key}", any(webhooks::per_account))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES));
    let oauth = Router::new()
        .route("/{provider}/start", get(oauth::start))
        .route("/{provider}/callback", get(oauth::callback));
    Router::new()
        .nest("/api/v1", api)
        .nest("/webhooks", webhooks)
        .nest("/oauth", oauth)
        .route("/media/{token}", get(attachments::public_file))
        .merge(health_routes())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state.clone())
        .nest("/widget", widget::router(state))
        .merge(crate::web::router(crate::web::WebAssets::from_env()))
}
