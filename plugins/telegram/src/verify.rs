//! Authenticating webhook deliveries. Runs on the request path before
//! anything is stored, so it makes no outbound call and parses only the id.

use switchboard_plugin_sdk::crypto::constant_time_eq;
use switchboard_plugin_sdk::{Channel, IncomingRequest, Verdict};

use crate::update::{parse_object, UpdateHead};

/// Telegram echoes the `secret_token` given to `setWebhook` in this header.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub(crate) fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    let expected = channel.webhook_secret.as_bytes();
    let given = request.header(SECRET_HEADER).unwrap_or_default().as_bytes();
    // An empty secret on both sides would otherwise compare equal.
    if expected.is_empty() || !constant_time_eq(given, expected) {
        return Verdict::reject(401, "invalid secret token");
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "Telegram delivers updates with POST");
    }
    match parse_object::<UpdateHead>(&request.body) {
        Ok(_) => Verdict::Accept(None),
        Err(reason) => Verdict::reject(400, format!("malformed update: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(secret: &str) -> Channel {
        Channel {
            id: "ch_1".into(),
            workspace_id: "ws_1".into(),
            provider_account_id: "7012345678".into(),
            config: vec![("bot_token".into(), "7012345678:AAE".into())],
            webhook_secret: secret.into(),
            webhook_url: "https://hooks.example/webhooks/telegram/abc".into(),
        }
    }

    fn request(method: &str, secret: Option<&str>, body: &str) -> IncomingRequest {
        IncomingRequest {
            method: method.into(),
            path: "/webhooks/telegram/abc".into(),
            query: String::new(),
            headers: secret
                .map(|secret| vec![(SECRET_HEADER.to_string(), secret.to_string())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn rejection(verdict: Verdict) -> (u16, String) {
        match verdict {
            Verdict::Reject(rejection) => (rejection.status, rejection.reason),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    const UPDATE: &str = r#"{"update_id":804112233,"message":{"message_id":512,"date":1767268800,"chat":{"id":1,"type":"private"},"text":"hi"}}"#;

    #[test]
    fn good_secret_is_accepted() {
        let verdict = verify(&channel("s3cr3t"), &request("POST", Some("s3cr3t"), UPDATE));
        assert!(matches!(verdict, Verdict::Accept(None)), "{verdict:?}");
    }

    #[test]
    fn missing_or_wrong_secret_is_401() {
        for secret in [
            None,
            Some(""),
            Some("s3cr3"),
            Some("s3cr3t "),
            Some("S3CR3T"),
        ] {
            let verdict = verify(&channel("s3cr3t"), &request("POST", secret, UPDATE));
            assert_eq!(
                rejection(verdict),
                (401, "invalid secret token".into()),
                "{secret:?}"
            );
        }
        let unset = verify(&channel(""), &request("POST", Some(""), UPDATE));
        assert_eq!(rejection(unset).0, 401);
    }

    #[test]
    fn secret_is_checked_before_anything_else() {
        let verdict = verify(&channel("s3cr3t"), &request("GET", Some("nope"), "junk"));
        assert_eq!(rejection(verdict).0, 401);
    }

    #[test]
    fn only_post_is_accepted() {
        let verdict = verify(&channel("s3cr3t"), &request("GET", Some("s3cr3t"), UPDATE));
        assert_eq!(rejection(verdict).0, 405);
    }

    #[test]
    fn malformed_bodies_are_400() {
        for body in [
            "{not json",
            "[804112233]",
            r#"{"message":{}}"#,
            r#"{"update_id":"1"}"#,
            "",
        ] {
            let (status, reason) = rejection(verify(
                &channel("s3cr3t"),
                &request("POST", Some("s3cr3t"), body),
            ));
            assert_eq!(status, 400, "{body}");
            assert!(reason.starts_with("malformed update: "), "{reason}");
        }
    }
}
