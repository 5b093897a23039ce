//! Calls to the Bot API, and what its answers mean for the host.
//!
//! Every call goes through the host's `http-fetch`, which only lets the
//! channel's `api_base` origin through. Building a request and reading an
//! answer are plain functions so they can be tested without a host.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::http::{status_text, HttpError, Request};
use switchboard_plugin_sdk::multipart::Multipart;
use switchboard_plugin_sdk::{ConnectError, HttpResponse, SendError};

pub(crate) const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// How long to wait after a 5xx or a network failure. Telegram's own outages
/// are short; the host backs off further on repeated retries.
const RETRY_AFTER_SERVER_ERROR_MS: u32 = 2_000;

/// A bot on a Bot API server: everything needed to address a method.
pub(crate) struct Bot {
    base: String,
    token: String,
}

impl Bot {
    /// Reads `bot_token` and `api_base`; the error names the bad field.
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        let token = config.require("bot_token")?;
        check_token(token)?;
        let base = config.api_base(DEFAULT_API_BASE);
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!(
                "`api_base` must be an http(s) URL such as {DEFAULT_API_BASE}"
            ));
        }
        Ok(Bot {
            base,
            token: token.to_string(),
        })
    }

    pub fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token)
    }

    pub fn file_url(&self, file_path: &str) -> String {
        format!("{}/file/bot{}/{file_path}", self.base, self.token)
    }

    /// Performs a call; the answer still has to be read with [`interpret`].
    pub fn fetch(&self, call: ApiCall) -> Result<HttpResponse, ApiError> {
        let url = self.method_url(call.method);
        let request = match call.payload {
            Payload::Query(query) if query.is_empty() => Request::get(url),
            Payload::Query(query) => Request::get(format!("{url}?{query}")),
            Payload::Json(body) => Request::post(url).json(&body),
            Payload::Multipart(form) => Request::post(url).body(&form.content_type, form.body),
        };
        self.send(request)
    }

    /// Performs a call and reads its result.
    pub fn call<T: DeserializeOwned>(&self, call: ApiCall) -> Result<T, ApiError> {
        let answer = self.fetch(call)?;
        interpret(answer.status, &answer.body)
    }

    pub fn download(&self, file_path: &str) -> Result<HttpResponse, ApiError> {
        self.send(Request::get(self.file_url(file_path)))
    }

    /// The token is part of every URL, and a transport error may quote the
    /// URL; such messages end up in logs and in the operator's UI.
    fn send(&self, request: Request) -> Result<HttpResponse, ApiError> {
        request
            .send()
            .map_err(|error| ApiError::from(self.redact(error)))
    }

    fn redact(&self, error: HttpError) -> HttpError {
        error.redact(&self.token, "<bot token>")
    }
}

/// Tokens look like `123456789:AAE...`: the bot id, a colon, then a secret.
/// Checked up front so a pasted typo is a form error, not a failed call.
pub(crate) fn check_token(token: &str) -> Result<(), String> {
    let valid = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|byte| byte.is_ascii_digit())
            && !secret.is_empty()
            && secret
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
    });
    if valid {
        Ok(())
    } else {
        Err("`bot_token` must look like `123456789:AAE...`, as @BotFather gives it".into())
    }
}

/// One Bot API method call, not yet sent.
#[derive(Debug)]
pub(crate) struct ApiCall {
    pub method: &'static str,
    pub payload: Payload,
}

#[derive(Debug)]
pub(crate) enum Payload {
    /// A GET with this (already encoded) query string.
    Query(String),
    Json(serde_json::Value),
    Multipart(Multipart),
}

impl ApiCall {
    pub fn get(method: &'static str, query: String) -> Self {
        ApiCall {
            method,
            payload: Payload::Query(query),
        }
    }

    pub fn json(method: &'static str, body: serde_json::Value) -> Self {
        ApiCall {
            method,
            payload: Payload::Json(body),
        }
    }
}

/// `{"ok":true,"result":…}` or `{"ok":false,"error_code":N,"description":"…","parameters":{…}}`.
#[derive(Debug, Deserialize)]
struct Reply<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// The Bot API (or something in front of it) answered with an error.
    Rejected {
        code: i64,
        description: String,
        retry_after_secs: Option<u64>,
        migrate_to_chat_id: Option<i64>,
    },
    /// No answer: timeout or connection failure.
    Unreachable(String),
    /// The host refused the origin (the channel's `api_base` is not allowed).
    Denied(String),
    TooLarge,
    /// A success status with a body that is not a Bot API reply.
    Unexpected(String),
}

impl From<HttpError> for ApiError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(message) => ApiError::Denied(message),
            HttpError::Timeout => {
                ApiError::Unreachable("the Bot API did not answer in time".into())
            }
            HttpError::Transport(message) => ApiError::Unreachable(message),
            HttpError::TooLarge => ApiError::TooLarge,
        }
    }
}

/// Reads a Bot API answer. `error_code` in the body wins over the HTTP
/// status (Telegram documents it as the one to read); a body that is not a
/// Bot API reply (a proxy's error page) falls back to the status.
pub(crate) fn interpret<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    let success = (200..300).contains(&status);
    match serde_json::from_slice::<Reply<T>>(body) {
        Ok(Reply {
            ok: true,
            result: Some(result),
            ..
        }) => Ok(result),
        Ok(Reply { ok: true, .. }) => Err(ApiError::Unexpected(
            "the Bot API answered ok without a result".into(),
        )),
        Ok(reply) => {
            let parameters = reply.parameters;
            Err(ApiError::Rejected {
                code: reply.error_code.unwrap_or(i64::from(status)),
                description: reply
                    .description
                    .unwrap_or_else(|| format!("HTTP {status}")),
                retry_after_secs: parameters.as_ref().and_then(|p| p.retry_after),
                migrate_to_chat_id: parameters.and_then(|p| p.migrate_to_chat_id),
            })
        }
        Err(error) if success => Err(ApiError::Unexpected(format!(
            "unexpected answer from the Bot API: {error}"
        ))),
        Err(_) => Err(ApiError::from_status(status, body)),
    }
}

impl ApiError {
    /// An error status with a body that is not a Bot API reply.
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        ApiError::Rejected {
            code: i64::from(status),
            description: status_text(status, body),
            retry_after_secs: None,
            migrate_to_chat_id: None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ApiError::Rejected { description, .. } => description.clone(),
            ApiError::Unreachable(message) => format!("could not reach the Bot API: {message}"),
            ApiError::Denied(message) => message.clone(),
            ApiError::TooLarge => {
                "the request or the answer is larger than the plugin may send or receive".into()
            }
            ApiError::Unexpected(message) => message.clone(),
        }
    }

    pub fn into_send_error(self) -> SendError {
        match self {
            ApiError::Rejected {
                code: 429,
                retry_after_secs,
                ..
            } => {
                // Telegram never asks for less than a second; a 0 would make
                // the host retry in a tight loop.
                let secs = retry_after_secs.unwrap_or(1).max(1);
                SendError::RateLimited(u32::try_from(secs * 1000).unwrap_or(u32::MAX))
            }
            ApiError::Rejected {
                code: 401,
                description,
                ..
            } => SendError::AuthExpired(description),
            ApiError::Rejected {
                code: 500..=599, ..
            } => SendError::Retry(RETRY_AFTER_SERVER_ERROR_MS),
            ApiError::Rejected {
                description,
                migrate_to_chat_id: Some(to),
                ..
            } => SendError::Permanent(format!("{description} (the group became supergroup {to})")),
            ApiError::Unreachable(_) => SendError::Retry(RETRY_AFTER_SERVER_ERROR_MS),
            // A success status we cannot read may still mean the message went
            // out; retrying could send it twice.
            other => SendError::Permanent(other.describe()),
        }
    }

    pub fn into_connect_error(self) -> ConnectError {
        match self {
            ApiError::Rejected { code: 401, .. } => {
                ConnectError::AuthFailed("Telegram rejected the bot token".into())
            }
            other => ConnectError::ProviderError(other.describe()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_error(status: u16, body: &str) -> SendError {
        interpret::<serde_json::Value>(status, body.as_bytes())
            .expect_err("an error answer")
            .into_send_error()
    }

    #[test]
    fn tokens_must_be_id_colon_secret() {
        assert!(check_token("123456789:AAE_abc-DEF123").is_ok());
        for bad in [
            "",
            "123456789",
            ":abc",
            "123:",
            "abc:def",
            "123:ab c",
            "123:ab/c",
        ] {
            assert!(check_token(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn success_yields_the_result() {
        let result: i64 = interpret(200, br#"{"ok":true,"result":42}"#).unwrap();
        assert_eq!(result, 42);
        assert!(matches!(
            interpret::<i64>(200, br#"{"ok":true}"#),
            Err(ApiError::Unexpected(_))
        ));
        assert!(matches!(
            interpret::<i64>(200, b"<html>"),
            Err(ApiError::Unexpected(_))
        ));
    }

    #[test]
    fn error_code_in_the_body_wins_over_the_status() {
        let error = interpret::<i64>(
            200,
            br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        )
        .unwrap_err();
        assert_eq!(
            error,
            ApiError::Rejected {
                code: 403,
                description: "Forbidden: bot was blocked by the user".into(),
                retry_after_secs: None,
                migrate_to_chat_id: None,
            }
        );
    }

    #[test]
    fn a_body_that_is_not_json_falls_back_to_the_status() {
        let error = interpret::<i64>(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(matches!(
            error,
            ApiError::Rejected { code: 502, ref description, .. } if description.contains("Bad Gateway")
        ));
        assert!(matches!(error.into_send_error(), SendError::Retry(2000)));
    }

    #[test]
    fn rate_limits_wait_retry_after() {
        let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}"#;
        assert!(matches!(
            send_error(429, body),
            SendError::RateLimited(35_000)
        ));
        let bare = r#"{"ok":false,"error_code":429,"description":"Too Many Requests"}"#;
        assert!(matches!(
            send_error(429, bare),
            SendError::RateLimited(1_000)
        ));
        assert!(matches!(send_error(429, ""), SendError::RateLimited(1_000)));
    }

    #[test]
    fn unauthorized_means_the_token_expired() {
        let body = r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
        assert!(
            matches!(send_error(401, body), SendError::AuthExpired(ref d) if d == "Unauthorized")
        );
    }

    #[test]
    fn forbidden_and_bad_request_are_permanent() {
        let blocked = r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
        assert!(
            matches!(send_error(403, blocked), SendError::Permanent(ref d) if d == "Forbidden: bot was blocked by the user")
        );
        let not_found =
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
        assert!(
            matches!(send_error(400, not_found), SendError::Permanent(ref d) if d == "Bad Request: chat not found")
        );
        let migrated = r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}"#;
        assert!(
            matches!(send_error(400, migrated), SendError::Permanent(ref d) if d.contains("-1001234567890"))
        );
    }

    #[test]
    fn server_errors_are_retried() {
        let body = r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;
        assert!(matches!(send_error(500, body), SendError::Retry(2000)));
        assert!(matches!(send_error(503, ""), SendError::Retry(2000)));
    }

    #[test]
    fn transport_failures_map_by_kind() {
        let timeout = ApiError::from(HttpError::Timeout).into_send_error();
        assert!(matches!(timeout, SendError::Retry(2000)));
        let reset = ApiError::from(HttpError::Transport("connection reset".into()));
        assert!(matches!(reset.into_send_error(), SendError::Retry(2000)));
        let denied = ApiError::from(HttpError::Denied("origin not allowed".into()));
        assert!(
            matches!(denied.into_send_error(), SendError::Permanent(ref m) if m == "origin not allowed")
        );
        assert!(matches!(
            ApiError::from(HttpError::TooLarge).into_send_error(),
            SendError::Permanent(_)
        ));
    }

    #[test]
    fn connect_errors_separate_bad_tokens_from_the_rest() {
        let unauthorized = interpret::<i64>(
            401,
            br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            unauthorized.into_connect_error(),
            ConnectError::AuthFailed(ref m) if m == "Telegram rejected the bot token"
        ));
        let conflict = interpret::<i64>(
            409,
            br#"{"ok":false,"error_code":409,"description":"Conflict: something"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            conflict.into_connect_error(),
            ConnectError::ProviderError(ref m) if m == "Conflict: something"
        ));
    }

    #[test]
    fn urls_put_the_token_after_bot() {
        let bot = Bot {
            base: "https://api.telegram.org".into(),
            token: "1:abc".into(),
        };
        assert_eq!(
            bot.method_url("getMe"),
            "https://api.telegram.org/bot1:abc/getMe"
        );
        assert_eq!(
            bot.file_url("photos/file_0.jpg"),
            "https://api.telegram.org/file/bot1:abc/photos/file_0.jpg"
        );
        let failed = bot.redact(HttpError::Transport(
            "GET https://x/bot1:abc/getMe failed".into(),
        ));
        assert!(
            matches!(failed, HttpError::Transport(ref m) if m == "GET https://x/bot<bot token>/getMe failed")
        );
    }
}
