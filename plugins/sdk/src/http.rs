//! Outbound HTTP through the host. The host checks every URL against the
//! plugin's allowed origins for the current channel and caps sizes and time.

pub use crate::wit::switchboard::provider::host::HttpError;
use crate::wit::switchboard::provider::host::{self, OutgoingRequest};
use crate::HttpResponse;

/// A request under construction.
pub struct Request {
    inner: OutgoingRequest,
}

impl Request {
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            inner: OutgoingRequest {
                method: method.to_string(),
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
            },
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.inner
            .headers
            .push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn json(mut self, body: &serde_json::Value) -> Self {
        self.inner.body = serde_json::to_vec(body).expect("a JSON value always serializes");
        self.header("content-type", "application/json")
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.inner.body = body;
        self.header("content-type", content_type)
    }

    pub fn timeout_ms(mut self, timeout_ms: u32) -> Self {
        self.inner.timeout_ms = Some(timeout_ms);
        self
    }

    pub fn send(self) -> Result<HttpResponse, HttpError> {
        host::http_fetch(&self.inner)
    }
}

impl HttpResponse {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}
