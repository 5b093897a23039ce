//! One Graph API request as plain data, so what a plugin would send can be
//! checked in native tests; [`Call::send`] hands it to the host.

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_plugin_sdk::http::{HttpError, Request};
use switchboard_plugin_sdk::HttpResponse;

use crate::error::{interpret, Failure};
use crate::GRAPH_API_VERSION;

/// `{base}/v25.0/{path}`; `path` has no leading slash and may carry a query.
pub fn versioned(base: &str, path: &str) -> String {
    format!(
        "{}/{GRAPH_API_VERSION}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `url` with its origin (`scheme://host[:port]`) replaced by `base`. When a
/// channel sets `api_base` (a test's fake Meta), the host lets the plugin
/// reach only that origin, so URLs Meta hands out (media downloads, CDN
/// links) are rebased onto it. None when `url` is not absolute.
pub fn with_origin(url: &str, base: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || rest.is_empty() {
        return None;
    }
    let tail = rest.find(['/', '?', '#']).map_or("", |at| &rest[at..]);
    let base = base.trim_end_matches('/');
    Some(if tail.starts_with('/') || tail.is_empty() {
        format!("{base}{tail}")
    } else {
        format!("{base}/{tail}")
    })
}

/// What a request carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    /// An `application/x-www-form-urlencoded` body, already encoded.
    Form(String),
    /// Anything else (multipart uploads), with its content type.
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// A request not yet sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub url: String,
    /// Sent as `Authorization: Bearer …`.
    pub bearer: Option<String>,
    pub body: Body,
    /// Values kept out of error messages (tokens a URL carries in its query).
    hidden: Vec<String>,
}

impl Call {
    pub fn new(method: &'static str, url: impl Into<String>) -> Self {
        Call {
            method,
            url: url.into(),
            bearer: None,
            body: Body::Empty,
            hidden: Vec::new(),
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_string());
        self.hide(token)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn form(mut self, encoded: String) -> Self {
        self.body = Body::Form(encoded);
        self
    }

    pub fn raw(mut self, content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.body = Body::Raw {
            content_type: content_type.into(),
            bytes,
        };
        self
    }

    /// Keeps `secret` out of any error message this call produces.
    pub fn hide(mut self, secret: &str) -> Self {
        if !secret.is_empty() {
            self.hidden.push(secret.to_string());
        }
        self
    }

    /// The headers [`Call::send`] adds, lower-case.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        if let Some(token) = &self.bearer {
            headers.push(("authorization".to_string(), format!("Bearer {token}")));
        }
        match &self.body {
            Body::Empty => {}
            Body::Json(_) => headers.push(("content-type".into(), "application/json".into())),
            Body::Form(_) => headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )),
            Body::Raw { content_type, .. } => {
                headers.push(("content-type".into(), content_type.clone()))
            }
        }
        headers
    }

    /// Sends through the host. The answer still has to be read (see
    /// [`Call::fetch`]); only a request that got no answer fails here.
    pub fn send(self) -> Result<HttpResponse, Failure> {
        let mut request = Request::new(self.method, &self.url);
        if let Some(token) = &self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request = match self.body {
            Body::Empty => request,
            Body::Json(body) => request.json(&body),
            Body::Form(body) => {
                request.body("application/x-www-form-urlencoded", body.into_bytes())
            }
            Body::Raw {
                content_type,
                bytes,
            } => request.body(&content_type, bytes),
        };
        let hidden = self.hidden;
        request
            .send()
            .map_err(|error| Failure::from(redact(error, &hidden)))
    }

    /// Sends and reads a Graph answer.
    pub fn fetch<T: DeserializeOwned>(self) -> Result<T, Failure> {
        let answer = self.send()?;
        interpret(answer.status, &answer.body)
    }
}

/// Transport errors may quote the URL, and these messages reach logs and
/// the operator's screen.
fn redact(error: HttpError, hidden: &[String]) -> HttpError {
    hidden
        .iter()
        .fold(error, |error, secret| error.redact(secret, "<redacted>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versioned_paths_name_the_pinned_version() {
        assert_eq!(
            versioned("https://graph.facebook.com", "106540352242922/messages"),
            "https://graph.facebook.com/v25.0/106540352242922/messages"
        );
        assert_eq!(
            versioned("http://127.0.0.1:9000/", "/me?fields=user_id"),
            "http://127.0.0.1:9000/v25.0/me?fields=user_id"
        );
    }

    #[test]
    fn with_origin_keeps_path_and_query() {
        assert_eq!(
            with_origin(
                "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2",
                "http://127.0.0.1:9000/"
            )
            .as_deref(),
            Some("http://127.0.0.1:9000/whatsapp_business/attachments/?mid=1&ext=2")
        );
        assert_eq!(
            with_origin("https://cdn.example?x=1", "http://127.0.0.1:9000").as_deref(),
            Some("http://127.0.0.1:9000/?x=1")
        );
        assert_eq!(
            with_origin("https://cdn.example", "http://127.0.0.1:9000/base").as_deref(),
            Some("http://127.0.0.1:9000/base")
        );
        assert_eq!(with_origin("not a url", "http://x"), None);
        assert_eq!(with_origin("https://", "http://x"), None);
    }

    #[test]
    fn headers_follow_the_token_and_body() {
        let call = Call::post("https://graph.facebook.com/v25.0/1/messages")
            .bearer("EAAG")
            .json(json!({"a": 1}));
        assert_eq!(
            call.headers(),
            vec![
                ("authorization".to_string(), "Bearer EAAG".to_string()),
                ("content-type".to_string(), "application/json".to_string()),
            ]
        );
        let form = Call::post("https://api.instagram.com/oauth/access_token").form("a=1".into());
        assert_eq!(
            form.headers(),
            vec![(
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string()
            )]
        );
        assert!(Call::get("https://x").headers().is_empty());
        let raw = Call::post("https://x").raw("multipart/form-data; boundary=b", vec![1]);
        assert_eq!(raw.headers()[0].1, "multipart/form-data; boundary=b");
    }

    #[test]
    fn transport_errors_never_quote_tokens() {
        let hidden = vec!["IGQV-long".to_string(), "app-secret".to_string()];
        let failure = Failure::from(redact(
            HttpError::Transport(
                "error sending request for url (https://graph.instagram.com/access_token?client_secret=app-secret&access_token=IGQV-long)".into(),
            ),
            &hidden,
        ));
        let message = failure.describe();
        assert!(
            !message.contains("IGQV-long") && !message.contains("app-secret"),
            "{message}"
        );
        assert!(message.contains("<redacted>"));
        let denied = Failure::from(redact(
            HttpError::Denied("https://x/?t=IGQV-long".into()),
            &hidden,
        ));
        assert_eq!(denied.describe(), "https://x/?t=<redacted>");
    }
}
