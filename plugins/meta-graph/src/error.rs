//! Graph API answers and what a failure means for the host.
//!
//! Every Graph error has the shape
//! `{"error":{"message","type","code","error_subcode","error_data","fbtrace_id"}}`;
//! Instagram's OAuth endpoint alone answers flat
//! (`{"error_type","code","error_message"}`). A provider maps the codes it
//! knows to a [`SendError`] first and hands the rest to
//! [`Failure::into_send_error`].

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_plugin_sdk::http::{status_text, HttpError};
use switchboard_plugin_sdk::{ConnectError, SendError};

/// How long to wait after a 5xx or a dropped connection. Meta's transient
/// errors clear in seconds; the host backs off further on repeats.
pub const RETRY_AFTER_MS: u32 = 5_000;

/// How long to wait when Meta throttles. Its rate-limit errors carry no
/// retry-after; the windows they count are a minute or longer.
pub const THROTTLED_MS: u32 = 60_000;

/// Codes Meta uses for "too many calls" across both APIs.
const THROTTLING_CODES: [i64; 7] = [4, 17, 32, 613, 80007, 130429, 131056];
/// Codes Meta documents as transient.
const TRANSIENT_CODES: [i64; 3] = [1, 2, 131000];

/// One Graph error object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    pub message: String,
    /// `type`, e.g. `OAuthException`.
    pub kind: Option<String>,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    /// `error_data.details` (WhatsApp's explanation), or `error_user_msg`.
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
}

impl GraphError {
    /// Reads `{"error":{…}}` or the flat OAuth form; None when `body` is neither.
    pub fn from_body(body: &Value) -> Option<Self> {
        match body.get("error") {
            Some(Value::Object(error)) => Some(GraphError {
                message: text(error.get("message")).unwrap_or_default(),
                kind: text(error.get("type")),
                code: number(error.get("code")),
                subcode: number(error.get("error_subcode")),
                details: match error.get("error_data") {
                    Some(Value::Object(data)) => text(data.get("details")),
                    Some(Value::String(data)) if !data.trim().is_empty() => Some(data.clone()),
                    _ => None,
                }
                .or_else(|| text(error.get("error_user_msg"))),
                fbtrace_id: text(error.get("fbtrace_id")),
            }),
            // Some OAuth endpoints answer `{"error":"…","error_description":"…"}`.
            Some(Value::String(kind)) => Some(GraphError {
                message: text(body.get("error_description")).unwrap_or_else(|| kind.clone()),
                kind: Some(kind.clone()),
                ..GraphError::default()
            }),
            _ if body.get("error_type").is_some() || body.get("error_message").is_some() => {
                Some(GraphError {
                    message: text(body.get("error_message")).unwrap_or_default(),
                    kind: text(body.get("error_type")),
                    code: number(body.get("code")),
                    ..GraphError::default()
                })
            }
            _ => None,
        }
    }

    /// An error status with a body that is not a Graph error (a proxy's page).
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        GraphError {
            message: status_text(status, body),
            ..GraphError::default()
        }
    }

    /// The message, with the details when they add something.
    pub fn text(&self) -> String {
        let message = if self.message.trim().is_empty() {
            match self.code {
                Some(code) => format!("Graph API error {code}"),
                None => "Graph API error".to_string(),
            }
        } else {
            self.message.trim().to_string()
        };
        match self.details.as_deref().map(str::trim) {
            Some(details) if !details.is_empty() && !message.contains(details) => {
                format!("{message}: {details}")
            }
            _ => message,
        }
    }

    pub fn is_throttling(&self) -> bool {
        self.code
            .is_some_and(|code| THROTTLING_CODES.contains(&code))
    }

    pub fn is_transient(&self) -> bool {
        self.code
            .is_some_and(|code| TRANSIENT_CODES.contains(&code))
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn number(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Why a call produced no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Meta (or something in front of it) answered with an error. Boxed:
    /// every `Result` of a call carries the size of its error.
    Graph {
        status: u16,
        error: Box<GraphError>,
    },
    /// No answer: timeout or connection failure.
    Unreachable(String),
    /// The host refused the origin (not in the plugin's allowed hosts).
    Denied(String),
    TooLarge,
    /// A success status with a body we cannot read.
    Unexpected(String),
}

impl From<HttpError> for Failure {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(message) => Failure::Denied(message),
            HttpError::Timeout => Failure::Unreachable("Meta did not answer in time".into()),
            HttpError::Transport(message) => Failure::Unreachable(message),
            HttpError::TooLarge => Failure::TooLarge,
        }
    }
}

/// Reads a Graph answer. An error object wins even under a 2xx status; a
/// body that is not JSON falls back to the status.
pub fn interpret<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, Failure> {
    let success = (200..300).contains(&status);
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) if success => {
            return Err(Failure::Unexpected(format!(
                "Meta answered HTTP {status} with a body that is not JSON"
            )))
        }
        Err(_) => {
            return Err(Failure::from_status(status, body));
        }
    };
    if let Some(error) = GraphError::from_body(&value) {
        return Err(Failure::graph(status, error));
    }
    if !success {
        return Err(Failure::from_status(status, body));
    }
    serde_json::from_value(value)
        .map_err(|error| Failure::Unexpected(format!("unexpected answer from Meta: {error}")))
}

/// Reads an answer that must be `{"success":true}` (subscriptions).
pub fn interpret_success(status: u16, body: &[u8]) -> Result<(), Failure> {
    #[derive(serde::Deserialize)]
    struct Success {
        success: bool,
    }
    match interpret::<Success>(status, body)? {
        Success { success: true } => Ok(()),
        Success { success: false } => {
            Err(Failure::Unexpected("Meta answered success:false".into()))
        }
    }
}

impl Failure {
    pub fn graph(status: u16, error: GraphError) -> Self {
        Failure::Graph {
            status,
            error: Box::new(error),
        }
    }

    /// An error status whose body is not a Graph error (a proxy's page, a CDN).
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        Failure::graph(status, GraphError::from_status(status, body))
    }

    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            Failure::Graph { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<i64> {
        self.graph_error().and_then(|error| error.code)
    }

    pub fn subcode(&self) -> Option<i64> {
        self.graph_error().and_then(|error| error.subcode)
    }

    pub fn describe(&self) -> String {
        match self {
            Failure::Graph { error, .. } => error.text(),
            Failure::Unreachable(message) => format!("could not reach Meta: {message}"),
            Failure::Denied(message) => message.clone(),
            Failure::TooLarge => {
                "the request or the answer is larger than the plugin may send or receive".into()
            }
            Failure::Unexpected(message) => message.clone(),
        }
    }

    /// What a failure no provider-specific rule matched means for a send or
    /// a download: server trouble and lost connections are retried, anything
    /// else is permanent.
    pub fn into_send_error(self) -> SendError {
        match &self {
            Failure::Graph { status: 429, .. } => SendError::RateLimited(THROTTLED_MS),
            Failure::Graph { error, .. } if error.is_throttling() => {
                SendError::RateLimited(THROTTLED_MS)
            }
            Failure::Graph { status, error } if *status >= 500 || error.is_transient() => {
                SendError::Retry(RETRY_AFTER_MS)
            }
            Failure::Unreachable(_) => SendError::Retry(RETRY_AFTER_MS),
            _ => SendError::Permanent(self.describe()),
        }
    }

    /// What a failure during `connect` means: Meta refusing the request is a
    /// credentials problem the admin can fix, with Meta's words; Meta being
    /// down or busy is not.
    pub fn into_connect_error(self) -> ConnectError {
        match &self {
            Failure::Graph { status, error }
                if *status < 500 && !error.is_transient() && !error.is_throttling() =>
            {
                ConnectError::AuthFailed(error.text())
            }
            _ => ConnectError::ProviderError(self.describe()),
        }
    }
}

#[cfg(test)]
mod tests;
