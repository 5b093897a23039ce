//! Clients for the server's HTTP surface: the JSON API under /api/v1 and the
//! provider webhooks.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::metrics::Metrics;

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("build an HTTP client")
}

/// One part of a `multipart/form-data` request: a field, or a file when it
/// has a file name.
pub struct Part<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub data: &'a [u8],
}

impl<'a> Part<'a> {
    pub fn text(name: &'a str, value: &'a str) -> Self {
        Part {
            name,
            file_name: None,
            content_type: None,
            data: value.as_bytes(),
        }
    }

    pub fn file(name: &'a str, file_name: &'a str, content_type: &'a str, data: &'a [u8]) -> Self {
        Part {
            name,
            file_name: Some(file_name),
            content_type: Some(content_type),
            data,
        }
    }
}

/// A response kept whole so that a failed assertion can print it.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: String,
    /// e.g. `POST /api/v1/...`, for messages.
    pub request: String,
}

impl Resp {
    /// The body as JSON; `Null` when it is empty. Panics when it is not JSON.
    pub fn json(&self) -> Value {
        if self.body.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answered {} with a body that is not JSON ({e}): {}",
                self.request, self.status, self.body
            )
        })
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16, what: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{what}: {} answered {} with {}",
            self.request,
            self.status,
            self.body
        );
        self.json()
    }

    /// Asserts an error answer: this status and a JSON `{"error": "<non-empty>"}`.
    pub fn expect_error(&self, status: u16, what: &str) -> String {
        let body = self.expect(status, what);
        let error = body["error"].as_str().unwrap_or_default().to_string();
        assert!(
            !error.is_empty(),
            "{what}: error answers carry {{\"error\": \"...\"}}, got {}",
            self.body
        );
        error
    }
}

/// The JSON API, authenticated once `login` succeeded.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        Api {
            http: client(Duration::from_secs(30)),
            base: base_url.trim_end_matches('/').to_string(),
            token: None,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub async fn login(&mut self, email: &str, password: &str) {
        let body = self
            .post(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
            )
            .await
            .expect(200, "log in");
        let token = body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login answered without a token: {body}"));
        assert!(!token.is_empty(), "login answered an empty token");
        self.token = Some(token.to_string());
    }

    /// A request with the bearer token (when logged in) and an optional JSON body.
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut builder = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        if let Some(body) = body {
            builder = builder.json(body);
        }
        self.send(builder, format!("{method} {path}")).await
    }

    /// `POST /api/v1/plugins` with a component file's bytes.
    pub async fn install_plugin(&self, component: Vec<u8>) -> Resp {
        let builder = self
            .http
            .post(format!("{}/api/v1/plugins", self.base))
            .header("content-type", "application/wasm")
            // The server compiles the component before it answers: an 18 MB
            // CPython component takes seconds alone and far longer beside
            // a whole suite on a debug build.
            .timeout(Duration::from_secs(300))
            .body(component);
        self.send(builder, "POST /api/v1/plugins".into()).await
    }

    /// A `multipart/form-data` POST, the way a browser sends a form with a file.
    pub async fn post_form(&self, path: &str, parts: &[Part<'_>]) -> Resp {
        let boundary = "switchboard-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let disposition = match part.file_name {
                Some(file_name) => format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{file_name}\"\r\n",
                    part.name
                ),
                None => format!("Content-Disposition: form-data; name=\"{}\"\r\n", part.name),
            };
            body.extend_from_slice(disposition.as_bytes());
            if let Some(content_type) = part.content_type {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(part.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let builder = self
            .http
            .post(format!("{}{}", self.base, path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(builder, format!("POST {path} (form)")).await
    }

    /// A GET whose body is kept as bytes (downloads), with the headers.
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let resp = self
            .with_token(self.http.get(format!("{}{}", self.base, path)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: read the body: {e}"));
        (status, headers, bytes.to_vec())
    }

    /// The bearer token, when logged in.
    fn with_token(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends with the bearer token (when logged in) and keeps the answer whole.
    async fn send(&self, builder: reqwest::RequestBuilder, request: String) -> Resp {
        let resp = self
            .with_token(builder)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{request}: {e}"));
        let status = resp.status();
        let body = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{request}: read the body: {e}"));
        Resp {
            status,
            body,
            request,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None).await
    }

    /// GET a path that answers 200 with a JSON list.
    pub async fn list(&self, path: &str) -> Vec<Value> {
        let body = self.get(path).await.expect(200, "list");
        match body {
            Value::Array(items) => items,
            other => panic!("GET {path} answered {other} instead of a JSON list"),
        }
    }

    pub async fn plugins(&self) -> Vec<Value> {
        self.list("/api/v1/plugins").await
    }

    pub async fn workspace_plugins(&self, ws: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/workspaces/{ws}/plugins")).await
    }

    pub async fn set_plugin_enabled(&self, ws: &str, plugin_id: &str, enabled: bool) -> Resp {
        self.put(
            &format!("/api/v1/workspaces/{ws}/plugins/{plugin_id}"),
            &json!({"enabled": enabled}),
        )
        .await
    }

    pub async fn create_channel(&self, ws: &str, body: &Value) -> Resp {
        self.post(&format!("/api/v1/workspaces/{ws}/channels"), body)
            .await
    }

    /// The raw answer of the channel list (for "the token is not in it" checks).
    pub async fn channels_resp(&self, ws: &str) -> Resp {
        self.get(&format!("/api/v1/workspaces/{ws}/channels")).await
    }

    pub async fn channels(&self, ws: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/workspaces/{ws}/channels"))
            .await
    }

    pub async fn delete_channel(&self, ws: &str, channel_id: &str) -> Resp {
        self.delete(&format!("/api/v1/workspaces/{ws}/channels/{channel_id}"))
            .await
    }

    pub async fn conversations(&self, ws: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/workspaces/{ws}/conversations"))
            .await
    }

    /// Messages of a conversation, oldest first.
    pub async fn messages(&self, conversation_id: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/conversations/{conversation_id}/messages"))
            .await
    }

    pub async fn send_message(&self, conversation_id: &str, text: &str) -> Resp {
        self.post(
            &format!("/api/v1/conversations/{conversation_id}/messages"),
            &json!({"text": text}),
        )
        .await
    }

    pub async fn contacts(&self, ws: &str) -> Vec<Value> {
        self.list(&format!("/api/v1/workspaces/{ws}/contacts"))
            .await
    }

    /// Status of an unauthenticated probe (/healthz, /readyz).
    pub async fn probe(&self, path: &str) -> StatusCode {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .status()
    }

    pub async fn metrics(&self) -> Metrics {
        let resp = self.get("/metrics").await;
        assert_eq!(resp.status, StatusCode::OK, "GET /metrics: {}", resp.body);
        Metrics::parse(&resp.body)
    }
}

/// Posts webhooks the way providers do (no API token).
#[derive(Clone)]
pub struct Webhooks {
    http: reqwest::Client,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks::new()
    }
}

pub const TELEGRAM_SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

impl Webhooks {
    pub fn new() -> Webhooks {
        Webhooks {
            http: client(Duration::from_secs(30)),
        }
    }

    /// Posts raw bytes with an optional Telegram secret header.
    pub async fn try_post(
        &self,
        url: &str,
        secret: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Result<Resp> {
        let mut builder = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(secret) = secret {
            builder = builder.header(TELEGRAM_SECRET_HEADER, secret);
        }
        let resp = builder.send().await?;
        let status = resp.status();
        let body = resp.text().await?;
        Ok(Resp {
            status,
            body,
            request: format!("POST {url}"),
        })
    }

    /// Posts a Telegram Update; panics on a transport error.
    pub async fn telegram(&self, url: &str, secret: Option<&str>, update: &Value) -> Resp {
        self.try_telegram(url, secret, update)
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }

    /// Posts a Telegram Update; transport errors are returned (a killed server).
    pub async fn try_telegram(
        &self,
        url: &str,
        secret: Option<&str>,
        update: &Value,
    ) -> reqwest::Result<Resp> {
        self.try_post(url, secret, "application/json", update.to_string())
            .await
    }

    /// Posts a plain-text body (the chaos plugin's words); panics on a transport error.
    pub async fn text(&self, url: &str, body: &str) -> Resp {
        self.try_post(url, None, "text/plain", body.to_string())
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }
}
