//! The web UI: a few static files under `web/`, built into the binary so the
//! host serves the product with nothing else installed and nothing fetched
//! from elsewhere (it works offline).
//!
//! Every page path answers `index.html`; the script draws the page for the
//! path (Settings -> Channels, Chat...). `SWITCHBOARD_WEB_DIR` serves the
//! files from a directory instead, read on each request, for working on the
//! UI without rebuilding the host.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The files, by the name they are served under `/assets/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/app.js"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/chat.js"),
    ),
    (
        "contacts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/contacts.js"),
    ),
    (
        "members.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/members.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/style.css"),
    ),
];
const INDEX: &[u8] = include_bytes!("../../web/index.html");
/// The website chat widget, loaded by other sites (see `api::widget`).
const WIDGET: &[u8] = include_bytes!("../../web/widget.js");

/// Where the files come from.
#[derive(Clone)]
pub struct WebAssets {
    dir: Option<Arc<PathBuf>>,
}

impl WebAssets {
    /// Built-in files, unless `SWITCHBOARD_WEB_DIR` names a directory.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("SWITCHBOARD_WEB_DIR")
            .filter(|dir| !dir.is_empty())
            .map(|dir| Arc::new(PathBuf::from(dir)));
        if let Some(dir) = &dir {
            tracing::info!(dir = %dir.display(), "serving the web UI from a directory");
        }
        WebAssets { dir }
    }

    fn read(&self, name: &str, built_in: &'static [u8]) -> Vec<u8> {
        match &self.dir {
            Some(dir) => std::fs::read(dir.join(name)).unwrap_or_else(|error| {
                tracing::warn!(%error, file = name, "web file unreadable; serving the built-in one");
                built_in.to_vec()
            }),
            None => built_in.to_vec(),
        }
    }
}

/// Page paths (all answer the same document) and `/assets/{file}`.
pub fn router(assets: WebAssets) -> Router {
    let page = get(index);
    Router::new()
        .route("/", page.clone())
        .route("/login", page.clone())
        .route("/chat", page.clone())
        .route("/chat/{*rest}", page.clone())
        .route("/contacts", page.clone())
        .route("/contacts/{*rest}", page.clone())
        .route("/settings", page.clone())
        .route("/settings/{*rest}", page.clone())
        .route("/invite/{token}", page)
        .route("/assets/{file}", get(asset))
        .route("/widget.js", get(widget_script))
        .with_state(assets)
}

async fn index(State(assets): State<WebAssets>) -> Response {
    respond(
        assets.read("index.html", INDEX),
        "text/html; charset=utf-8",
        "no-cache",
    )
}

async fn asset(State(assets): State<WebAssets>, Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((name, content_type, built_in)) => {
            respond(assets.read(name, built_in), content_type, "no-cache")
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

async fn widget_script(State(assets): State<WebAssets>) -> Response {
    respond(
        assets.read("widget.js", WIDGET),
        "text/javascript; charset=utf-8",
        "public, max-age=300",
    )
}

/// The headers every UI response carries: scripts and styles only from this
/// host, no framing by other sites, no content-type guessing.
fn respond(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
