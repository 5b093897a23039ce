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

    /// The media type of `content-type`, parameters dropped and trimmed
    /// (`image/jpeg` for `image/jpeg; charset=binary`); empty when the
    /// header is, None without the header.
    pub fn media_type(&self) -> Option<&str> {
        self.header("content-type")
            .and_then(|value| value.split(';').next())
            .map(str::trim)
    }
}

/// How an error status reads when its body is not in the provider's error
/// format (a proxy's page, a CDN's answer): `HTTP 502`, or `HTTP 502: ` and
/// the body's first 200 characters.
pub fn status_text(status: u16, body: &[u8]) -> String {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(200).collect();
    let excerpt = excerpt.trim();
    if excerpt.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {excerpt}")
    }
}

impl HttpError {
    /// The error with `secret` replaced by `placeholder` in its message.
    /// Transport errors may quote the URL, which can carry a token, and
    /// these messages end up in logs and on the operator's screen.
    pub fn redact(self, secret: &str, placeholder: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        match self {
            HttpError::Denied(message) => HttpError::Denied(message.replace(secret, placeholder)),
            HttpError::Transport(message) => {
                HttpError::Transport(message.replace(secret, placeholder))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn the_media_type_drops_parameters() {
        let typed = response(&[("Content-Type", " image/jpeg ; charset=binary")]);
        assert_eq!(typed.media_type(), Some("image/jpeg"));
        assert_eq!(response(&[("content-type", "")]).media_type(), Some(""));
        assert_eq!(response(&[]).media_type(), None);
    }

    #[test]
    fn error_statuses_quote_the_start_of_the_body() {
        assert_eq!(status_text(502, b""), "HTTP 502");
        assert_eq!(status_text(404, b" Not Found\n"), "HTTP 404: Not Found");
        let long = "x".repeat(500);
        assert_eq!(
            status_text(500, long.as_bytes()).len(),
            "HTTP 500: ".len() + 200
        );
    }

    #[test]
    fn redaction_keeps_secrets_out_of_messages() {
        let transport = HttpError::Transport("GET https://x/bot1:abc/getMe failed".into());
        assert!(matches!(
            transport.redact("1:abc", "<bot token>"),
            HttpError::Transport(ref m) if m == "GET https://x/bot<bot token>/getMe failed"
        ));
        let denied = HttpError::Denied("https://x/?t=IGQV".into()).redact("IGQV", "<redacted>");
        assert!(matches!(denied, HttpError::Denied(ref m) if m == "https://x/?t=<redacted>"));
        let kept = HttpError::Transport("reset".into()).redact("", "<redacted>");
        assert!(matches!(kept, HttpError::Transport(ref m) if m == "reset"));
        assert!(matches!(
            HttpError::Timeout.redact("x", "y"),
            HttpError::Timeout
        ));
    }
}
