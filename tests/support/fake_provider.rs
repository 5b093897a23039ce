//! A scriptable fake provider API on loopback, for providers whose tests
//! describe the API in data (the conformance vectors): each route is a
//! method and a path (a trailing `*` matches any rest), answered with a
//! status and a body. Records every request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Clone, Debug, Deserialize)]
pub struct Route {
    /// An HTTP method, or `*` for any.
    pub method: String,
    /// Exact path, or a prefix ending in `*`.
    pub path: String,
    #[serde(default = "ok")]
    pub status: u16,
    /// JSON answered as `application/json`; a string is answered as text.
    #[serde(default)]
    pub body: Value,
    /// Raw bytes to answer instead of `body` (downloads), as UTF-8 text.
    #[serde(default)]
    pub raw: Option<String>,
}

fn ok() -> u16 {
    200
}

impl Route {
    fn matches(&self, method: &Method, path: &str) -> bool {
        if self.method != "*" && !self.method.eq_ignore_ascii_case(method.as_str()) {
            return false;
        }
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
}

impl Request {
    /// The body as JSON, or form/query parameters as a JSON object of strings.
    pub fn params(&self) -> Value {
        if let Ok(json) = serde_json::from_str::<Value>(&self.body) {
            return json;
        }
        let mut map = serde_json::Map::new();
        for text in [self.query.as_str(), self.body.as_str()] {
            for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
                map.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
        Value::Object(map)
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<Vec<Route>>,
    requests: Mutex<Vec<Request>>,
}

pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeProvider {
    pub async fn start(routes: Vec<Route>) -> FakeProvider {
        let shared = Arc::new(Shared {
            routes: Mutex::new(routes),
            ..Shared::default()
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake provider API");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake provider API");
        });
        FakeProvider { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>`: the channel's `config.api_base`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts more routes; a later route wins over an earlier one.
    pub fn add_routes(&self, routes: impl IntoIterator<Item = Route>) {
        self.shared.routes.lock().unwrap().extend(routes);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests to paths starting with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    /// Waits until `count` requests matched `prefix`; returns them.
    pub async fn wait_requests(
        &self,
        prefix: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Request> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.requests_to(prefix);
            if seen.len() >= count || Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let route = shared
        .routes
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|route| route.matches(&method, &path))
        .cloned();
    let status = route.as_ref().map_or(404, |route| route.status);
    shared.requests.lock().unwrap().push(Request {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status,
    });
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    match route {
        None => (
            status_code,
            axum::Json(serde_json::json!({"error": format!("no route for {method} {path}")})),
        )
            .into_response(),
        Some(Route { raw: Some(raw), .. }) => (status_code, raw).into_response(),
        Some(Route {
            body: Value::String(text),
            ..
        }) => (status_code, text).into_response(),
        Some(route) => (status_code, axum::Json(route.body)).into_response(),
    }
}
