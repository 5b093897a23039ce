//! What Instagram's send errors mean for the host.
//!
//! Codes from Meta's Messenger/Instagram error tables (PROVIDERS.md §2);
//! whatever is not listed goes to the shared rules (5xx and lost
//! connections retried, the rest permanent).

use switchboard_meta_graph::error::{Failure, RETRY_AFTER_MS, THROTTLED_MS};
use switchboard_plugin_sdk::SendError;

/// "Outside of allowed window" comes as code 10, subcode 2534022.
const OUTSIDE_WINDOW_SUBCODE: i64 = 2534022;
/// The recipient id is not valid for this account.
const INVALID_RECIPIENT_SUBCODE: i64 = 2534014;
/// Meta's "unknown error", which it also returns for messages it delivered.
const MAYBE_SENT_SUBCODE: i64 = 1357046;

pub(crate) fn send_error(failure: Failure) -> SendError {
    let text = failure.describe();
    match (failure.code(), failure.subcode()) {
        (Some(10), _) | (_, Some(OUTSIDE_WINDOW_SUBCODE)) => SendError::Permanent(format!(
            "outside the 24-hour messaging window: the customer has to write first ({text})"
        )),
        (Some(190), _) => SendError::AuthExpired(text),
        (Some(4 | 17 | 32 | 613), _) => SendError::RateLimited(THROTTLED_MS),
        (Some(2), _) => SendError::Retry(RETRY_AFTER_MS),
        (Some(551), _) => SendError::Permanent(format!(
            "this person cannot receive messages from the account right now ({text})"
        )),
        (Some(100), Some(INVALID_RECIPIENT_SUBCODE)) => SendError::Permanent(format!(
            "the recipient is not a valid Instagram user for this account ({text})"
        )),
        (Some(100), _) => SendError::Permanent(format!("Instagram rejected the request: {text}")),
        // No idempotency key exists: resending could deliver twice.
        (Some(1), _) | (_, Some(MAYBE_SENT_SUBCODE)) => SendError::Permanent(format!(
            "Meta reported an unknown error; the message may have been delivered anyway, \
             so it is not resent automatically ({text})"
        )),
        _ => failure.into_send_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_meta_graph::interpret;
    use switchboard_plugin_sdk::http::HttpError;
    use switchboard_plugin_sdk::testing;

    fn mapped(status: u16, code: i64, subcode: Option<i64>) -> SendError {
        let subcode = subcode
            .map(|subcode| format!(r#","error_subcode":{subcode}"#))
            .unwrap_or_default();
        let body = format!(
            r#"{{"error":{{"message":"Meta says no","type":"OAuthException","code":{code}{subcode},"fbtrace_id":"A1"}}}}"#
        );
        send_error(interpret::<serde_json::Value>(status, body.as_bytes()).unwrap_err())
    }

    fn permanent(error: SendError) -> String {
        testing::permanent::<()>(Err(error))
    }

    #[test]
    fn outside_the_window_is_permanent() {
        for (code, subcode) in [(10, Some(2534022)), (10, None), (100, Some(2534022))] {
            let reason = permanent(mapped(400, code, subcode));
            assert!(
                reason.starts_with("outside the 24-hour messaging window"),
                "{reason}"
            );
            assert!(reason.contains("Meta says no"));
        }
    }

    #[test]
    fn expired_tokens_need_reconnecting() {
        assert!(matches!(
            mapped(400, 190, Some(463)),
            SendError::AuthExpired(ref m) if m == "Meta says no"
        ));
    }

    #[test]
    fn throttling_backs_off() {
        for code in [4, 17, 32, 613] {
            assert!(
                matches!(mapped(400, code, None), SendError::RateLimited(60_000)),
                "{code}"
            );
        }
    }

    #[test]
    fn transient_errors_retry() {
        assert!(matches!(mapped(400, 2, None), SendError::Retry(5_000)));
        assert!(matches!(mapped(500, 99, None), SendError::Retry(5_000)));
        let server = interpret::<serde_json::Value>(503, b"Service Unavailable").unwrap_err();
        assert!(matches!(send_error(server), SendError::Retry(5_000)));
        let timeout = Failure::from(HttpError::Timeout);
        assert!(matches!(send_error(timeout), SendError::Retry(5_000)));
    }

    #[test]
    fn unavailable_users_and_bad_requests_are_permanent() {
        assert!(permanent(mapped(400, 551, Some(1545041))).contains("cannot receive"));
        assert!(permanent(mapped(400, 100, Some(2534014))).contains("not a valid Instagram user"));
        assert_eq!(
            permanent(mapped(400, 100, None)),
            "Instagram rejected the request: Meta says no"
        );
        assert_eq!(permanent(mapped(400, 12345, None)), "Meta says no");
    }

    #[test]
    fn unknown_errors_are_never_resent_blindly() {
        for (status, code, subcode) in [
            (500, 1, None),
            (400, 1, Some(1357046)),
            (400, 2018001, Some(1357046)),
        ] {
            let reason = permanent(mapped(status, code, subcode));
            assert!(reason.contains("may have been delivered"), "{reason}");
        }
    }
}
