//! What WhatsApp's error codes mean for the host (PROVIDERS.md §4).
//! Codes not listed go to the shared rules (5xx and lost connections
//! retried, the rest permanent).

use switchboard_meta_graph::error::{Failure, RETRY_AFTER_MS, THROTTLED_MS};
use switchboard_plugin_sdk::SendError;

/// WhatsApp lets about one message through per six seconds to one user;
/// a little more than that clears the per-pair queue.
const PAIR_RATE_LIMIT_MS: u32 = 10_000;

pub(crate) fn send_error(failure: Failure) -> SendError {
    let text = failure.describe();
    match failure.code() {
        Some(131047) => SendError::Permanent(format!(
            "24-hour window closed: {text}. Only an approved template can be sent until the customer writes again"
        )),
        Some(131056) => SendError::RateLimited(PAIR_RATE_LIMIT_MS),
        Some(130429 | 4 | 80007) => SendError::RateLimited(THROTTLED_MS),
        Some(190) => SendError::AuthExpired(text),
        Some(131026) => SendError::Permanent(format!(
            "undeliverable (not a WhatsApp user, outdated app, or the business is blocked): {text}"
        )),
        Some(131048) => SendError::Permanent(format!(
            "held back by WhatsApp's spam rate limit for this number: {text}"
        )),
        Some(131049) => SendError::Permanent(format!(
            "not delivered to keep per-user marketing engagement healthy: {text}"
        )),
        Some(1 | 2 | 131000) => SendError::Retry(RETRY_AFTER_MS),
        _ => failure.into_send_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_meta_graph::interpret;
    use switchboard_plugin_sdk::http::HttpError;
    use switchboard_plugin_sdk::testing;

    fn mapped(status: u16, code: i64) -> SendError {
        let body = format!(
            r#"{{"error":{{"message":"(#{code}) Meta says no","type":"OAuthException","code":{code},"error_data":{{"messaging_product":"whatsapp","details":"the details"}},"fbtrace_id":"A1"}}}}"#
        );
        send_error(interpret::<serde_json::Value>(status, body.as_bytes()).unwrap_err())
    }

    fn permanent(error: SendError) -> String {
        testing::permanent::<()>(Err(error))
    }

    #[test]
    fn a_closed_window_is_permanent() {
        let reason = permanent(mapped(400, 131047));
        assert!(
            reason.starts_with("24-hour window closed: (#131047) Meta says no: the details"),
            "{reason}"
        );
        assert!(reason.contains("template"));
    }

    #[test]
    fn throttling_backs_off() {
        assert!(matches!(
            mapped(400, 131056),
            SendError::RateLimited(10_000)
        ));
        for code in [130429, 4, 80007] {
            assert!(
                matches!(mapped(400, code), SendError::RateLimited(60_000)),
                "{code}"
            );
        }
    }

    #[test]
    fn expired_tokens_need_reconnecting() {
        assert!(matches!(
            mapped(401, 190),
            SendError::AuthExpired(ref m) if m.contains("Meta says no")
        ));
    }

    #[test]
    fn undeliverable_and_policy_limits_are_permanent() {
        assert!(permanent(mapped(400, 131026)).starts_with("undeliverable"));
        assert!(permanent(mapped(400, 131048)).contains("spam"));
        assert!(permanent(mapped(400, 131049)).contains("marketing"));
        assert_eq!(
            permanent(mapped(400, 100)),
            "(#100) Meta says no: the details"
        );
    }

    #[test]
    fn transient_errors_retry() {
        for code in [1, 2, 131000] {
            assert!(
                matches!(mapped(400, code), SendError::Retry(5_000)),
                "{code}"
            );
        }
        assert!(matches!(mapped(503, 99), SendError::Retry(5_000)));
        let gateway = interpret::<serde_json::Value>(502, b"<html>").unwrap_err();
        assert!(matches!(send_error(gateway), SendError::Retry(5_000)));
        let reset = Failure::from(HttpError::Transport("reset".into()));
        assert!(matches!(send_error(reset), SendError::Retry(5_000)));
    }
}
