//! Authenticating an inbound webhook. Runs on the request path before
//! anything is stored: no outbound call, and only the event's head is parsed.

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::{Channel, HttpResponse, IncomingRequest, Verdict};

use crate::payload::{parse_object, Head};
use crate::signature;

/// The body every accepted webhook is answered with.
pub(crate) const ACCEPTED_BODY: &str = r#"{"ok":true}"#;

pub(crate) fn verify(channel: &Channel, request: &IncomingRequest) -> Verdict {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Verdict::reject(405, "events are delivered with POST");
    }
    let Some(header) = request.header(signature::HEADER) else {
        return Verdict::reject(401, format!("missing {} header", signature::HEADER));
    };
    let secret = channel.get("signing_secret").unwrap_or_default();
    if !signature::is_valid(secret, &request.body, header) {
        return Verdict::reject(401, "invalid signature");
    }
    // Without an event id there is no dedup key: refuse it here, where the
    // sender sees the answer, rather than dead-letter it later.
    match parse_object::<Head>(&request.body) {
        Ok(_) => Verdict::Accept(Some(accepted())),
        Err(reason) => Verdict::reject(400, format!("malformed event: {reason}")),
    }
}

pub(crate) fn accepted() -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: ACCEPTED_BODY.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sign;

    const SECRET: &str = "whsec-0123456789abcdef";
    const EVENT: &str = r#"{"event_id":"e-1","type":"message","timestamp":1767268800000,"thread":{"id":"t-1","kind":"direct"},"sender":{"id":"u-1"},"message":{"id":"m-1","text":"hi"}}"#;

    fn channel(secret: Option<&str>) -> Channel {
        let mut config = vec![
            ("account_id".to_string(), "inbox-7".to_string()),
            (
                "api_base".to_string(),
                "https://crm.example.com".to_string(),
            ),
        ];
        if let Some(secret) = secret {
            config.push(("signing_secret".into(), secret.into()));
        }
        Channel {
            id: "ch_1".into(),
            workspace_id: "ws_1".into(),
            provider_account_id: "inbox-7".into(),
            config,
            webhook_secret: "host-generated".into(),
            webhook_url: "https://inbox.example.com/webhooks/webhook-json/k1".into(),
        }
    }

    fn request(method: &str, signature: Option<String>, body: &str) -> IncomingRequest {
        IncomingRequest {
            method: method.into(),
            path: "/webhooks/webhook-json/k1".into(),
            query: String::new(),
            headers: signature
                .map(|value| vec![(signature::HEADER.to_string(), value)])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn signed(body: &str) -> IncomingRequest {
        request("POST", Some(sign(SECRET, body.as_bytes())), body)
    }

    fn rejection(verdict: Verdict) -> (u16, String) {
        match verdict {
            Verdict::Reject(rejection) => (rejection.status, rejection.reason),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_good_signature_is_accepted_with_ok_true() {
        match verify(&channel(Some(SECRET)), &signed(EVENT)) {
            Verdict::Accept(Some(response)) => {
                assert_eq!(response.status, 200);
                assert_eq!(response.body, br#"{"ok":true}"#);
                assert_eq!(
                    response.headers,
                    vec![("content-type".to_string(), "application/json".to_string())]
                );
            }
            other => panic!("expected acceptance, got {other:?}"),
        }
    }

    #[test]
    fn unknown_event_types_are_accepted_too() {
        let body = r#"{"event_id":"e-2","type":"typing"}"#;
        assert!(matches!(
            verify(&channel(Some(SECRET)), &signed(body)),
            Verdict::Accept(Some(_))
        ));
    }

    #[test]
    fn a_forged_signature_is_401() {
        let forged = request("POST", Some(sign("forged-key", EVENT.as_bytes())), EVENT);
        assert_eq!(
            rejection(verify(&channel(Some(SECRET)), &forged)),
            (401, "invalid signature".into())
        );
        // Signed over other bytes than those delivered.
        let other = r#"{"event_id":"e-1","type":"message"}"#;
        let replayed = request("POST", Some(sign(SECRET, other.as_bytes())), EVENT);
        assert_eq!(rejection(verify(&channel(Some(SECRET)), &replayed)).0, 401);
        let bare_hex = request(
            "POST",
            Some(sign(SECRET, EVENT.as_bytes()).replace("sha256=", "")),
            EVENT,
        );
        assert_eq!(rejection(verify(&channel(Some(SECRET)), &bare_hex)).0, 401);
    }

    #[test]
    fn a_missing_signature_is_401() {
        assert_eq!(
            rejection(verify(
                &channel(Some(SECRET)),
                &request("POST", None, EVENT)
            )),
            (401, "missing x-switchboard-signature header".into())
        );
    }

    #[test]
    fn a_channel_without_a_secret_accepts_nothing() {
        let unsigned = request("POST", Some(sign("", EVENT.as_bytes())), EVENT);
        assert_eq!(rejection(verify(&channel(None), &unsigned)).0, 401);
    }

    #[test]
    fn only_post_is_accepted() {
        for method in ["GET", "PUT", "DELETE"] {
            let (status, reason) = rejection(verify(
                &channel(Some(SECRET)),
                &request(method, Some(sign(SECRET, EVENT.as_bytes())), EVENT),
            ));
            assert_eq!(status, 405, "{method}");
            assert_eq!(reason, "events are delivered with POST");
        }
        assert!(matches!(
            verify(
                &channel(Some(SECRET)),
                &request("post", Some(sign(SECRET, EVENT.as_bytes())), EVENT)
            ),
            Verdict::Accept(_)
        ));
    }

    #[test]
    fn a_signed_body_that_is_not_an_event_is_400() {
        for body in [
            "{\"event_id\": \"e-1\", \"type\": ",
            "not json",
            "[\"e-1\", \"message\"]",
            "",
            r#"{"type":"message"}"#,
            r#"{"event_id":"","type":"message"}"#,
        ] {
            let (status, reason) = rejection(verify(&channel(Some(SECRET)), &signed(body)));
            assert_eq!(status, 400, "{body:?}");
            assert!(reason.starts_with("malformed event: "), "{reason}");
        }
    }

    #[test]
    fn the_signature_is_checked_before_the_body() {
        let junk = request("POST", Some("sha256=00".into()), "not json");
        assert_eq!(rejection(verify(&channel(Some(SECRET)), &junk)).0, 401);
    }
}
