//! What a failed call to the receiving system tells the host to do, shared
//! by replies and attachment downloads.

use switchboard_plugin_sdk::http::HttpError;
use switchboard_plugin_sdk::SendError;

/// Pause after a timeout, a 408 or a 5xx; the host backs off further on
/// repeated failures.
pub(crate) const RETRY_MS: u32 = 5_000;

/// Pause after a 429 without a usable `Retry-After`.
pub(crate) const RATE_LIMIT_DEFAULT_MS: u32 = 30_000;

/// A non-2xx answer. `retry_after` is the `Retry-After` header; `body` may
/// hold `{"error": "..."}`, quoted in the reason.
pub(crate) fn failure(status: u16, retry_after: Option<&str>, body: &[u8]) -> SendError {
    match status {
        429 => SendError::RateLimited(rate_limit_ms(retry_after)),
        401 | 403 => SendError::AuthExpired(format!(
            "the receiving system refused the signature: {}",
            describe(status, body)
        )),
        408 | 500..=599 => SendError::Retry(RETRY_MS),
        _ => SendError::Permanent(describe(status, body)),
    }
}

/// No answer at all.
pub(crate) fn transport_failure(error: HttpError) -> SendError {
    match error {
        HttpError::Timeout | HttpError::Transport(_) => SendError::Retry(RETRY_MS),
        // The origin is the channel's `api_base`; retrying will not change it.
        HttpError::Denied(reason) => SendError::Permanent(reason),
        HttpError::TooLarge => SendError::Permanent(
            "the request or the answer is larger than the plugin may send or receive".into(),
        ),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the systems
/// this talks to, and falls back to the default). At least a second, so a
/// `0` does not make the host retry in a tight loop.
fn rate_limit_ms(retry_after: Option<&str>) -> u32 {
    retry_after
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(RATE_LIMIT_DEFAULT_MS, |secs| {
            u32::try_from(secs.max(1).saturating_mul(1000)).unwrap_or(u32::MAX)
        })
}

/// `HTTP <status>`, plus the body's `error` when it has one.
pub(crate) fn describe(status: u16, body: &[u8]) -> String {
    let error = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|answer| answer.get("error")?.as_str().map(str::to_string))
        .filter(|error| !error.trim().is_empty());
    match error {
        Some(error) => format!("HTTP {status}: {error}"),
        None => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_wait_retry_after_seconds() {
        assert!(matches!(
            failure(429, Some("12"), b""),
            SendError::RateLimited(12_000)
        ));
        assert!(matches!(
            failure(429, Some(" 3 "), b""),
            SendError::RateLimited(3_000)
        ));
        assert!(matches!(
            failure(429, Some("0"), b""),
            SendError::RateLimited(1_000)
        ));
        assert!(matches!(
            failure(429, Some("99999999"), b""),
            SendError::RateLimited(u32::MAX)
        ));
        for unusable in [
            None,
            Some(""),
            Some("soon"),
            Some("Wed, 21 Oct 2026 07:28:00 GMT"),
        ] {
            assert!(
                matches!(failure(429, unusable, b""), SendError::RateLimited(30_000)),
                "{unusable:?}"
            );
        }
    }

    #[test]
    fn refused_signatures_mean_reconnecting() {
        for status in [401, 403] {
            match failure(status, None, br#"{"error":"unknown key"}"#) {
                SendError::AuthExpired(reason) => assert_eq!(
                    reason,
                    format!(
                        "the receiving system refused the signature: HTTP {status}: unknown key"
                    )
                ),
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn timeouts_and_server_errors_are_retried() {
        for status in [408, 500, 502, 503, 599] {
            assert!(
                matches!(
                    failure(status, None, b"<html>down</html>"),
                    SendError::Retry(5_000)
                ),
                "{status}"
            );
        }
        assert!(matches!(
            transport_failure(HttpError::Timeout),
            SendError::Retry(5_000)
        ));
        assert!(matches!(
            transport_failure(HttpError::Transport("connection refused".into())),
            SendError::Retry(5_000)
        ));
    }

    #[test]
    fn other_answers_are_permanent_and_quote_the_error() {
        assert!(matches!(
            failure(422, None, br#"{"error":"thread t-9 is closed"}"#),
            SendError::Permanent(ref reason) if reason == "HTTP 422: thread t-9 is closed"
        ));
        assert!(matches!(
            failure(404, None, b"Not Found"),
            SendError::Permanent(ref reason) if reason == "HTTP 404"
        ));
        assert!(matches!(
            failure(400, None, br#"{"error":{"code":7}}"#),
            SendError::Permanent(ref reason) if reason == "HTTP 400"
        ));
        assert!(matches!(
            failure(302, None, b""),
            SendError::Permanent(ref reason) if reason == "HTTP 302"
        ));
    }

    #[test]
    fn refusals_by_the_host_are_permanent() {
        assert!(matches!(
            transport_failure(HttpError::Denied("https://evil.example:443 is not an allowed host".into())),
            SendError::Permanent(ref reason) if reason.contains("not an allowed host")
        ));
        assert!(matches!(
            transport_failure(HttpError::TooLarge),
            SendError::Permanent(ref reason) if reason.contains("larger")
        ));
    }
}
