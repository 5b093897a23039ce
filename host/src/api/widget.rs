//! The website widget's public endpoints, under `/widget/{channel_key}/`.
//!
//! A `<script src="/widget.js" data-channel="{channel_key}">` tag on any
//! site opens a chat bubble that talks to these routes. The visitor is who
//! holds a random visitor id (kept in the browser's localStorage, so it
//! survives reloads). A visitor's message goes through the same path as a
//! provider webhook: the `website` plugin verifies it and it is stored on
//! the bus before this answers 202, then normalized and written into the
//! same contacts, conversations and messages as every other channel.
//!
//! Nothing here needs a session, so everything is rate limited per visitor
//! and per address, bodies are capped, and cross-origin use is limited to
//! the channel's `allowed_origins` (any site when empty).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value};

use super::rate_limit::RateLimiter;
use super::webhooks::for_channel_key;
use super::AppState;
use crate::plugin::types::IncomingRequest;
use crate::store::channels::{self, ChannelAccount};
use crate::store::widget;

/// The provider id of the widget's plugin.
pub const PROVIDER: &str = "website";
/// The header the host adds so the plugin knows the request came through
/// here (browsers never see the secret).
pub const SECRET_HEADER: &str = "x-switchboard-widget-secret";
/// Bytes of a visitor's message request (the plugin caps the text at 4,000
/// characters; this is that in UTF-8 and the JSON around it).
const MAX_MESSAGE_BYTES: usize = 20 * 1024;
const MAX_MESSAGES_SHOWN: i64 = 200;
const EVENTS_POLL: Duration = Duration::from_secs(1);
/// A visitor's stream ends after this (the widget's EventSource reconnects).
const EVENTS_LIFETIME: Duration = Duration::from_secs(600);
/// Visitor streams one process keeps open at once; each polls once a second.
const MAX_OPEN_STREAMS: usize = 2_000;

struct Limits {
    send_per_visitor: RateLimiter,
    send_per_address: RateLimiter,
    read_per_address: RateLimiter,
    open_streams: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct WidgetState {
    app: AppState,
    limits: Arc<Limits>,
}

pub fn router(app: AppState) -> Router {
    let state = WidgetState {
        app,
        limits: Arc::new(Limits {
            send_per_visitor: RateLimiter::new(10, 0.5),
            send_per_address: RateLimiter::new(30, 2.0),
            read_per_address: RateLimiter::new(120, 4.0),
            open_streams: Arc::new(AtomicUsize::new(0)),
        }),
    };
    Router::new()
        .route("/{key}/config", get(config).options(preflight))
        .route(
            "/{key}/messages",
            get(read)
                .post(send)
                .options(preflight)
                .layer(DefaultBodyLimit::max(MAX_MESSAGE_BYTES)),
        )
        .route("/{key}/events", get(events).options(preflight))
        .with_state(state)
}

/// An error answer the widget can read cross-origin.
fn refuse(status: StatusCode, cors: Option<&HeaderValue>, message: &str) -> Response {
    with_cors(
        (status, Json(json!({ "error": message }))).into_response(),
        cors,
    )
}

fn with_cors(mut response: Response, cors: Option<&HeaderValue>) -> Response {
    if let Some(origin) = cors {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The widget channel behind a key, and the CORS origin to answer with.
async fn channel_for(
    state: &WidgetState,
    key: &str,
    headers: &HeaderMap,
) -> Result<(ChannelAccount, Option<HeaderValue>), Response> {
    let origin = headers.get(header::ORIGIN).cloned();
    let any = HeaderValue::from_static("*");
    let account = match channels::by_key(&state.app.db, PROVIDER, key).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                Some(&any),
                "no such chat on this server",
            ))
        }
        Err(error) => {
            tracing::warn!(%error, "widget: channel lookup failed");
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&any),
                "the chat is unavailable right now; try again shortly",
            ));
        }
    };
    let allowed: Vec<String> = account.config["allowed_origins"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
        .filter(|origin| !origin.is_empty())
        .collect();
    let cors = match (&origin, allowed.is_empty()) {
        (_, true) => Some(any),
        (None, false) => None,
        (Some(origin), false) => {
            let asked = origin.to_str().unwrap_or_default().to_ascii_lowercase();
            if !allowed.contains(&asked) {
                return Err(refuse(
                    StatusCode::FORBIDDEN,
                    None,
                    "this site may not embed this chat",
                ));
            }
            Some(origin.clone())
        }
    };
    Ok((account, cors))
}

/// Spends one request of `key`; the refusal to answer when it has none.
fn over_limit(limiter: &RateLimiter, key: &str, cors: Option<&HeaderValue>) -> Option<Response> {
    let wait = limiter.check(key).err()?;
    let mut response = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        cors,
        "too many messages; wait a moment and try again",
    );
    let seconds = wait.as_secs().max(1).to_string();
    if let Ok(value) = HeaderValue::from_str(&seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// A visitor id as the widget makes them: 22-64 URL-safe characters.
fn valid_visitor(visitor: &str) -> bool {
    (22..=64).contains(&visitor.len())
        && visitor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn preflight(
    State(state): State<WidgetState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match channel_for(&state, &key, &headers).await {
        Ok((_, cors)) => {
            let mut response = with_cors(StatusCode::NO_CONTENT.into_response(), cors.as_ref());
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            response
        }
        Err(response) => response,
    }
}

/// `GET /widget/{key}/config`: what the bubble shows before any message.
async fn config(
    State(state): State<WidgetState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    match channel_for(&state, &key, &headers).await {
        Ok((account, cors)) => {
            let greeting = account.config["greeting"]
                .as_str()
                .filter(|text| !text.trim().is_empty())
                .unwrap_or("Hi! Send us a message and we will answer here.");
            with_cors(
                Json(json!({ "title": account.name, "greeting": greeting })).into_response(),
                cors.as_ref(),
            )
        }
        Err(response) => response,
    }
}

/// `POST /widget/{key}/messages` `{"visitor_id","message_id","text","name"?,"page"?}`:
/// 202 once stored (the same guarantee as a provider webhook's 2xx).
async fn send(
    State(state): State<WidgetState>,
    Path(key): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (account, cors) = match channel_for(&state, &key, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let cors = cors.as_ref();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                cors,
                "the message is too long (at most 4000 characters)",
            )
        }
        Err(rejection) => return refuse(rejection.status(), cors, &rejection.body_text()),
    };
    let visitor = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value["visitor_id"].as_str().map(str::to_string))
        .filter(|visitor| valid_visitor(visitor));
    let Some(visitor) = visitor else {
        return refuse(
            StatusCode::BAD_REQUEST,
            cors,
            "the request needs a JSON body with a visitor_id of 22-64 letters, digits, - or _",
        );
    };
    let limits = &state.limits;
    let address = format!("{key}:{}", peer.ip());
    let visitor_key = format!("{key}:{visitor}");
    if let Some(response) = over_limit(&limits.send_per_address, &address, cors)
        .or_else(|| over_limit(&limits.send_per_visitor, &visitor_key, cors))
    {
        return response;
    }
    let secret = match account.unseal(&state.app.secrets) {
        Ok(sealed) => sealed.webhook_secret,
        Err(error) => {
            tracing::error!(%error, channel = %account.id, "widget: cannot unseal the channel");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                cors,
                "the chat is unavailable right now",
            );
        }
    };
    let request = IncomingRequest {
        method: Method::POST.to_string(),
        path: format!("/widget/{key}/messages"),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (SECRET_HEADER.into(), secret),
        ],
        body: body.to_vec(),
    };
    match for_channel_key(&state.app, PROVIDER.into(), key, request).await {
        Ok(response) if response.status().is_success() => with_cors(
            (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response(),
            cors,
        ),
        Ok(response) => with_cors(response, cors),
        Err(error) => with_cors(error.into_response(), cors),
    }
}

#[derive(Deserialize)]
struct VisitorQuery {
    visitor: String,
}

/// What every read of a visitor's conversation checks first: the channel
/// and origin, the visitor id's shape, and the address's read budget.
async fn visitor_reading(
    state: &WidgetState,
    key: &str,
    visitor: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(ChannelAccount, Option<HeaderValue>), Response> {
    let (account, cors) = channel_for(state, key, headers).await?;
    if !valid_visitor(visitor) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            cors.as_ref(),
            "visitor must be 22-64 letters, digits, - or _",
        ));
    }
    let address = format!("{key}:{}", peer.ip());
    if let Some(response) = over_limit(&state.limits.read_per_address, &address, cors.as_ref()) {
        return Err(response);
    }
    Ok((account, cors))
}

/// `GET /widget/{key}/messages?visitor=ID`: the visitor's conversation.
async fn read(
    State(state): State<WidgetState>,
    Path(key): Path<String>,
    Query(query): Query<VisitorQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (account, cors) = match visitor_reading(&state, &key, &query.visitor, peer, &headers).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let cors = cors.as_ref();
    let found = widget::conversation(&state.app.db, &account.id, &query.visitor).await;
    let messages = match found {
        Ok(None) => Ok(Vec::new()),
        Ok(Some((conversation_id, _))) => {
            widget::messages(&state.app.db, &conversation_id, MAX_MESSAGES_SHOWN).await
        }
        Err(error) => Err(error),
    };
    match messages {
        Ok(messages) => with_cors(Json(json!({ "messages": messages })).into_response(), cors),
        Err(error) => {
            tracing::warn!(%error, "widget: reading messages failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                cors,
                "the chat is unavailable right now",
            )
        }
    }
}

/// `GET /widget/{key}/events?visitor=ID`: `changes` whenever the visitor's
/// conversation changes (a reply arrived); the widget then reads it again.
async fn events(
    State(state): State<WidgetState>,
    Path(key): Path<String>,
    Query(query): Query<VisitorQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let (account, cors) = match visitor_reading(&state, &key, &query.visitor, peer, &headers).await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(slot) = StreamSlot::take(&state.limits.open_streams) else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            cors.as_ref(),
            "too many open chats right now; replies will show when you reopen it",
        );
    };
    let watch = Watch {
        db: state.app.db.clone(),
        channel_id: account.id,
        visitor: query.visitor,
        seen: None,
        started: Instant::now(),
        _slot: slot,
    };
    let stream = visitor_changes(watch);
    with_cors(
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        cors.as_ref(),
    )
}

struct Watch {
    db: crate::store::Db,
    channel_id: String,
    visitor: String,
    /// The conversation's `updated_at` last announced.
    seen: Option<i64>,
    started: Instant,
    _slot: StreamSlot,
}

/// One of the open-stream places, given back when the stream is dropped.
struct StreamSlot(Arc<AtomicUsize>);

impl StreamSlot {
    fn take(open: &Arc<AtomicUsize>) -> Option<StreamSlot> {
        let taken = open.fetch_add(1, Ordering::AcqRel);
        let slot = StreamSlot(Arc::clone(open));
        (taken < MAX_OPEN_STREAMS).then_some(slot)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn visitor_changes(watch: Watch) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(watch, |mut watch| async move {
        loop {
            tokio::time::sleep(EVENTS_POLL).await;
            if crate::app::shutting_down() || watch.started.elapsed() > EVENTS_LIFETIME {
                return None;
            }
            let current = widget::conversation(&watch.db, &watch.channel_id, &watch.visitor)
                .await
                .ok()
                .flatten()
                .map(|(_, updated_at)| updated_at);
            if current.is_some() && current != watch.seen {
                watch.seen = current;
                let event = Event::default().event("changes").data("{}");
                return Some((Ok(event), watch));
            }
        }
    })
}
