//! Addressing VK and reading its answers.
//!
//! Every call goes through the host's `http-fetch`, which only lets through
//! the manifest's origins, or the channel's `api_base` origin alone when it is
//! set. Building a call and reading an answer are plain functions so they are
//! tested without a host.

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::encode;
use switchboard_plugin_sdk::http::{status_text, HttpError, Request};
use switchboard_plugin_sdk::multipart::Multipart;
use switchboard_plugin_sdk::{ConnectError, HttpResponse, SendError};

pub(crate) const DEFAULT_API_BASE: &str = "https://api.vk.com";
pub(crate) const DEFAULT_OAUTH_BASE: &str = "https://oauth.vk.com";
/// The version every call and the callback server use; payload parsing also
/// accepts the shapes of older versions.
pub(crate) const DEFAULT_API_VERSION: &str = "5.199";

/// After a 5xx, a network failure or VK's "internal error"; the host backs
/// off further on repeated retries.
const RETRY_AFTER_SERVER_ERROR_MS: u32 = 2_000;
/// Error 6, "too many requests per second": the limit is per second.
const TOO_MANY_PER_SECOND_MS: u32 = 1_000;
/// Error 9, flood control: VK gives no duration; ten seconds is a guess that
/// stays clear of tripping it again at once.
const FLOOD_CONTROL_MS: u32 = 10_000;
/// Error 29, a per-method quota: quotas are counted over longer periods.
const METHOD_QUOTA_MS: u32 = 60_000;
/// Error 14: a captcha cannot be solved here; only time clears it.
const CAPTCHA_MS: u32 = 300_000;

/// Where calls go. Without `api_base` these are VK's own origins; with it,
/// every URL the plugin calls (methods, OAuth, uploads, downloads) is moved
/// onto that origin, because the host then allows nothing else.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Origins {
    api: String,
    oauth: String,
    forced: Option<String>,
}

impl Origins {
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        Self::from_api_base(config.get("api_base"))
    }

    pub fn from_api_base(api_base: Option<&str>) -> Result<Self, String> {
        let forced = api_base
            .map(|base| base.trim().trim_end_matches('/').to_string())
            .filter(|base| !base.is_empty());
        if let Some(base) = &forced {
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(format!(
                    "`api_base` must be an http(s) URL such as {DEFAULT_API_BASE}"
                ));
            }
        }
        Ok(Origins {
            api: forced.clone().unwrap_or_else(|| DEFAULT_API_BASE.into()),
            oauth: forced.clone().unwrap_or_else(|| DEFAULT_OAUTH_BASE.into()),
            forced,
        })
    }

    pub fn method_url(&self, method: &str) -> String {
        format!("{}/method/{method}", self.api)
    }

    /// `path` starts with a slash: `/authorize`, `/access_token`.
    pub fn oauth_url(&self, path: &str) -> String {
        format!("{}{path}", self.oauth)
    }

    /// A URL VK handed out (an upload server, a media file). Kept as is,
    /// unless `api_base` is set: then its path and query move onto that
    /// origin, so a fake provider in tests serves them too.
    pub fn rebase(&self, url: &str) -> String {
        let Some(forced) = &self.forced else {
            return url.to_string();
        };
        if url == forced || url.starts_with(&format!("{forced}/")) {
            return url.to_string();
        }
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let rest = after_scheme
            .find(['/', '?'])
            .map_or("", |start| &after_scheme[start..]);
        if rest.starts_with('?') {
            format!("{forced}/{rest}")
        } else {
            format!("{forced}{rest}")
        }
    }
}

/// The `v` every call carries: the channel's `api_version`, else 5.199.
pub(crate) fn api_version(config: &impl Config) -> String {
    config
        .get("api_version")
        .unwrap_or(DEFAULT_API_VERSION)
        .to_string()
}

/// A community token and where to use it.
pub(crate) struct Api {
    origins: Origins,
    token: String,
    version: String,
}

impl Api {
    /// Reads `access_token`, `api_version` and `api_base`; the error names
    /// the bad field.
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        let token = config.require("access_token")?;
        Ok(Api::new(
            Origins::from_config(config)?,
            token.to_string(),
            api_version(config),
        ))
    }

    pub fn new(origins: Origins, token: String, version: String) -> Self {
        Api {
            origins,
            token,
            version,
        }
    }

    pub fn url(&self, call: &ApiCall) -> String {
        self.origins.method_url(call.method)
    }

    /// The form body: the call's parameters, then the token and version. The
    /// token goes in the body, not the URL, so it never shows up in a log
    /// line that quotes a URL.
    pub fn form(&self, call: &ApiCall) -> String {
        let params: Vec<(&str, &str)> = call
            .params
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .chain([
                ("access_token", self.token.as_str()),
                ("v", self.version.as_str()),
            ])
            .collect();
        encode::pairs(&params)
    }

    /// Performs a call; the answer still has to be read with [`interpret`].
    pub fn fetch(&self, call: &ApiCall) -> Result<HttpResponse, ApiError> {
        let request = Request::post(self.url(call)).body(
            "application/x-www-form-urlencoded",
            self.form(call).into_bytes(),
        );
        self.send(request)
    }

    /// Performs a call and reads its `response`.
    pub fn call<T: DeserializeOwned>(&self, call: &ApiCall) -> Result<T, ApiError> {
        let answer = self.fetch(call)?;
        interpret(answer.status, &answer.body)
    }

    /// Sends a file to an upload server VK named.
    pub fn upload(&self, url: &str, form: Multipart) -> Result<HttpResponse, ApiError> {
        let request = Request::post(self.origins.rebase(url)).body(&form.content_type, form.body);
        self.send(request)
    }

    /// A transport error may quote what was sent, and such messages end up
    /// in logs and in the operator's UI: the token is taken out.
    fn send(&self, request: Request) -> Result<HttpResponse, ApiError> {
        request
            .send()
            .map_err(|error| ApiError::from(error.redact(&self.token, "<access token>")))
    }
}

/// Something that performs method calls: the [`Api`], or a scripted fake in
/// tests, so flows of several calls (connect) are tested without a host.
pub(crate) trait Calls {
    fn call_json(&self, call: &ApiCall) -> Result<Value, ApiError>;

    /// Performs a call and reads its `response` as `T`.
    fn call_as<T: DeserializeOwned>(&self, call: &ApiCall) -> Result<T, ApiError> {
        let response = self.call_json(call)?;
        serde_json::from_value(response).map_err(|error| {
            ApiError::Unexpected(format!(
                "unexpected answer from VK to {}: {error}",
                call.method
            ))
        })
    }
}

impl Calls for Api {
    fn call_json(&self, call: &ApiCall) -> Result<Value, ApiError> {
        self.call(call)
    }
}

/// One method call, not yet sent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiCall {
    pub method: &'static str,
    pub params: Vec<(&'static str, String)>,
}

impl ApiCall {
    pub fn new(method: &'static str) -> Self {
        ApiCall {
            method,
            params: Vec::new(),
        }
    }

    pub fn param(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    /// The value of a parameter.
    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Why a call did not produce a result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// VK answered `{"error":{"error_code":N,"error_msg":"…"}}` (with HTTP 200).
    Vk {
        code: i64,
        message: String,
    },
    /// An error status with a body that is not a VK answer.
    Http {
        status: u16,
        description: String,
    },
    /// No answer: timeout or connection failure.
    Unreachable(String),
    /// The host refused the origin.
    Denied(String),
    TooLarge,
    /// A success status with a body that is not the expected answer.
    Unexpected(String),
}

impl From<HttpError> for ApiError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(message) => ApiError::Denied(message),
            HttpError::Timeout => ApiError::Unreachable("VK did not answer in time".into()),
            HttpError::Transport(message) => ApiError::Unreachable(message),
            HttpError::TooLarge => ApiError::TooLarge,
        }
    }
}

/// Reads a VK answer: `error` wins over the HTTP status (VK reports errors
/// with 200), `response` is the result, and a body that is neither falls
/// back to the status.
pub(crate) fn interpret<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    if let Some(error) = parsed.as_ref().and_then(|value| value.get("error")) {
        if let Some(error) = vk_error(error) {
            return Err(error);
        }
    }
    if !(200..300).contains(&status) {
        return Err(ApiError::from_status(status, body));
    }
    match parsed.and_then(|mut value| value.get_mut("response").map(Value::take)) {
        Some(response) => serde_json::from_value(response)
            .map_err(|error| ApiError::Unexpected(format!("unexpected answer from VK: {error}"))),
        None => Err(ApiError::Unexpected(
            "VK answered without a `response`".into(),
        )),
    }
}

/// An error object, as the API gives it (`error_code`/`error_msg`) or as a
/// per-peer result of `messages.send` may (`code`/`description`, unconfirmed).
pub(crate) fn vk_error(error: &Value) -> Option<ApiError> {
    let code = error
        .get("error_code")
        .or_else(|| error.get("code"))
        .and_then(Value::as_i64)?;
    let message = ["error_msg", "description", "message"]
        .iter()
        .find_map(|key| error.get(key).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    Some(ApiError::Vk { code, message })
}

impl ApiError {
    pub fn from_status(status: u16, body: &[u8]) -> Self {
        ApiError::Http {
            status,
            description: status_text(status, body),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ApiError::Vk { code, message } => format!("VK error {code}: {message}"),
            ApiError::Http { description, .. } => description.clone(),
            ApiError::Unreachable(message) => format!("could not reach VK: {message}"),
            ApiError::Denied(message) => format!("host not allowed: {message}"),
            ApiError::TooLarge => {
                "the request or the answer is larger than the plugin may send or receive".into()
            }
            ApiError::Unexpected(message) => message.clone(),
        }
    }

    pub fn into_send_error(self) -> SendError {
        match self {
            ApiError::Vk { code, message } => vk_send_error(code, message),
            ApiError::Http { status: 429, .. } => SendError::RateLimited(TOO_MANY_PER_SECOND_MS),
            ApiError::Http {
                status: 500..=599, ..
            }
            | ApiError::Unreachable(_) => SendError::Retry(RETRY_AFTER_SERVER_ERROR_MS),
            // A success status we cannot read may still mean the message went
            // out; retrying could send it twice (random_id guards only
            // messages.send itself, not the uploads before it).
            other => SendError::Permanent(other.describe()),
        }
    }

    pub fn into_connect_error(self) -> ConnectError {
        match self {
            ApiError::Vk {
                code: 5 | 15 | 27,
                message,
            } => ConnectError::AuthFailed(message),
            other => ConnectError::ProviderError(other.describe()),
        }
    }

    /// Errors a token without the community's `manage` right meets when
    /// registering a callback server: access denied (15), no permission (7),
    /// or a method a community token may not call (27).
    pub fn lacks_permission(&self) -> bool {
        matches!(
            self,
            ApiError::Vk {
                code: 7 | 15 | 27,
                ..
            }
        )
    }
}

/// What VK's error codes mean for delivery (codes from VK's errors list).
fn vk_send_error(code: i64, message: String) -> SendError {
    match code {
        // 1: unknown error, 10: internal server error; both pass.
        1 | 10 => SendError::Retry(RETRY_AFTER_SERVER_ERROR_MS),
        5 => SendError::AuthExpired(message),
        6 => SendError::RateLimited(TOO_MANY_PER_SECOND_MS),
        9 => SendError::RateLimited(FLOOD_CONTROL_MS),
        14 => SendError::RateLimited(CAPTCHA_MS),
        29 => SendError::RateLimited(METHOD_QUOTA_MS),
        900 => SendError::Permanent("the user blocked the community".into()),
        901 => SendError::Permanent("the user has not allowed messages from the community".into()),
        902 => SendError::Permanent("the user's privacy settings forbid messages".into()),
        914 => SendError::Permanent("the message is too long for VK (error 914)".into()),
        917 => SendError::Permanent("the community has no access to this chat (error 917)".into()),
        _ => SendError::Permanent(format!("VK error {code}: {message}")),
    }
}

#[cfg(test)]
mod tests;
