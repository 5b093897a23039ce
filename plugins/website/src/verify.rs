//! Authenticating a visitor message. The host's widget endpoint adds the
//! channel's webhook secret in a header (the browser never sees it), so a
//! request without it did not come through the widget endpoint.

use switchboard_plugin_sdk::crypto::constant_time_eq;
use switchboard_plugin_sdk::{Channel, IncomingRequest, Verdict};

use crate::payload;

/// The header carrying the channel's `webhook-secret`.
pub(crate) const SECRET_HEADER: &str = "x-switchboard-widget-secret";

pub(crate) fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    let expected = channel.webhook_secret.as_bytes();
    let given = request.header(SECRET_HEADER).unwrap_or_default().as_bytes();
    // An empty secret on both sides would otherwise compare equal.
    if expected.is_empty() || !constant_time_eq(given, expected) {
        return Verdict::reject(401, "invalid widget secret");
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "the widget delivers messages with POST");
    }
    match payload::parse(&request.body) {
        // The host answers the widget itself.
        Ok(_) => Verdict::Accept(None),
        Err(invalid) => Verdict::reject(invalid.status, invalid.reason),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::payload::tests::body;
    use serde_json::json;
    use switchboard_plugin_sdk::testing;

    pub(crate) fn channel() -> Channel {
        Channel {
            webhook_secret: "Wh-s3cr3t_0123456789abcd".into(),
            webhook_url: "https://inbox.example/webhooks/website/k3yK3yk3y".into(),
            ..testing::channel("k3yK3yk3y", &[])
        }
    }

    pub(crate) fn request(method: &str, secret: Option<&str>, body: &str) -> IncomingRequest {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(secret) = secret {
            headers.push((SECRET_HEADER.to_string(), secret.to_string()));
        }
        IncomingRequest {
            headers,
            ..testing::request(method, "/webhooks/website/k3yK3yk3y", body)
        }
    }

    fn rejection(verdict: Verdict) -> (u16, String) {
        match verdict {
            Verdict::Reject(rejection) => (rejection.status, rejection.reason),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    const SECRET: &str = "Wh-s3cr3t_0123456789abcd";

    #[test]
    fn a_good_request_is_accepted_without_a_response_body() {
        let verdict = verify(&channel(), &request("POST", Some(SECRET), &body(json!({}))));
        assert!(matches!(verdict, Verdict::Accept(None)), "{verdict:?}");
    }

    #[test]
    fn the_secret_header_name_is_case_insensitive() {
        let mut request = request("post", None, &body(json!({})));
        request
            .headers
            .push(("X-Switchboard-Widget-Secret".into(), SECRET.into()));
        assert!(matches!(
            verify(&channel(), &request),
            Verdict::Accept(None)
        ));
    }

    #[test]
    fn a_missing_or_wrong_secret_is_401() {
        for secret in [
            None,
            Some(""),
            Some("Wh-s3cr3t_0123456789abc"),
            Some("Wh-s3cr3t_0123456789abcd "),
            Some("WH-S3CR3T_0123456789ABCD"),
            Some("wh_secret"),
        ] {
            let verdict = verify(&channel(), &request("POST", secret, &body(json!({}))));
            assert_eq!(
                rejection(verdict),
                (401, "invalid widget secret".into()),
                "{secret:?}"
            );
        }
        let unset = Channel {
            webhook_secret: String::new(),
            ..channel()
        };
        let verdict = verify(&unset, &request("POST", Some(""), &body(json!({}))));
        assert_eq!(rejection(verdict).0, 401);
    }

    #[test]
    fn the_secret_is_checked_before_anything_else() {
        let verdict = verify(&channel(), &request("GET", Some("nope"), "junk"));
        assert_eq!(rejection(verdict).0, 401);
    }

    #[test]
    fn only_post_is_accepted() {
        for method in ["GET", "PUT", "OPTIONS"] {
            let verdict = verify(&channel(), &request(method, Some(SECRET), &body(json!({}))));
            assert_eq!(rejection(verdict).0, 405, "{method}");
        }
    }

    #[test]
    fn malformed_bodies_are_400_naming_the_field() {
        let cases = [
            (json!({"visitor_id": "short"}), "`visitor_id`"),
            (json!({"message_id": "a b c d e f"}), "`message_id`"),
            (json!({"text": ""}), "`text`"),
            (json!({"name": "n".repeat(81)}), "`name`"),
            (json!({"page": "p".repeat(501)}), "`page`"),
            (json!({"sent_at_ms": -5}), "`sent_at_ms`"),
        ];
        for (change, field) in cases {
            let (status, reason) = rejection(verify(
                &channel(),
                &request("POST", Some(SECRET), &body(change.clone())),
            ));
            assert_eq!(status, 400, "{change}");
            assert!(reason.contains(field), "{reason}");
        }
        let (status, reason) = rejection(verify(&channel(), &request("POST", Some(SECRET), "{")));
        assert_eq!(status, 400);
        assert!(reason.starts_with("the body is not JSON"), "{reason}");
    }

    #[test]
    fn a_text_over_the_limit_is_413() {
        let long = body(json!({"text": "a".repeat(4001)}));
        let (status, reason) = rejection(verify(&channel(), &request("POST", Some(SECRET), &long)));
        assert_eq!(status, 413);
        assert!(
            reason.contains("`text`") && reason.contains("4000"),
            "{reason}"
        );
    }
}
