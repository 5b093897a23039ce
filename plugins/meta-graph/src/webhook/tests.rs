use super::*;
use switchboard_plugin_sdk::crypto::hmac_sha256_hex;
use switchboard_plugin_sdk::testing;

const SECRET: &str = "6f1c0e2b9a";
const BODY: &str = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1767268800123,"messaging":[]}]}"#;

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        webhook_secret: "generated-secret".into(),
        webhook_url: "https://hooks.example/webhooks/instagram".into(),
        ..testing::channel("17841400000000001", config)
    }
}

fn signed_channel() -> Channel {
    channel(&[("app_secret", SECRET), ("verify_token", "tok-123")])
}

fn request(method: &str, query: &str, signature: Option<&str>, body: &str) -> IncomingRequest {
    IncomingRequest {
        method: method.into(),
        path: "/webhooks/instagram".into(),
        query: query.into(),
        headers: signature
            .map(|value| vec![(SIGNATURE_HEADER.to_string(), value.to_string())])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

fn signature(body: &str) -> String {
    format!(
        "sha256={}",
        hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes())
    )
}

fn rejection(verdict: Verdict) -> (u16, String) {
    match verdict {
        Verdict::Reject(rejection) => (rejection.status, rejection.reason),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn signed_posts_are_accepted() {
    let verdict = verify(
        &signed_channel(),
        &request("POST", "", Some(&signature(BODY)), BODY),
    );
    assert!(matches!(verdict, Verdict::Accept(None)), "{verdict:?}");
    let upper = signature(BODY).replace("sha256=", "SHA256=").to_uppercase();
    let verdict = verify(&signed_channel(), &request("POST", "", Some(&upper), BODY));
    assert!(matches!(verdict, Verdict::Accept(None)), "{verdict:?}");
}

#[test]
fn forged_or_missing_signatures_are_401() {
    let other_key = format!("sha256={}", hmac_sha256_hex(b"other", BODY.as_bytes()));
    let tampered = BODY.replace("17841400000000001", "17841400000000002");
    for (header, body) in [
        (None, BODY),
        (Some(String::new()), BODY),
        (Some(other_key), BODY),
        (Some(signature(BODY)), tampered.as_str()),
        (Some(signature(BODY).replace("sha256=", "sha1=")), BODY),
        (Some(signature(BODY).replace("sha256=", "")), BODY),
        (Some("sha256=zz".into()), BODY),
    ] {
        let verdict = verify(
            &signed_channel(),
            &request("POST", "", header.as_deref(), body),
        );
        assert_eq!(rejection(verdict).0, 401, "{header:?}");
    }
}

#[test]
fn the_signature_covers_the_raw_bytes() {
    // Meta signs the escaped form; the same JSON written differently is forged.
    let escaped = r#"{"text":"\u00e9"}"#;
    let raw = r#"{"text":"é"}"#;
    let verdict = verify(
        &signed_channel(),
        &request("POST", "", Some(&signature(escaped)), raw),
    );
    assert_eq!(rejection(verdict).0, 401);
}

#[test]
fn a_channel_without_app_secret_accepts_nothing() {
    let unsigned = channel(&[("verify_token", "tok-123")]);
    let (status, reason) = rejection(verify(
        &unsigned,
        &request("POST", "", Some(&signature(BODY)), BODY),
    ));
    assert_eq!(status, 401);
    assert!(reason.contains("app_secret"), "{reason}");
}

#[test]
fn only_get_and_post_are_answered() {
    for method in ["PUT", "DELETE", "PATCH"] {
        let verdict = verify(
            &signed_channel(),
            &request(method, "", Some(&signature(BODY)), BODY),
        );
        assert_eq!(rejection(verdict).0, 405, "{method}");
    }
}

#[test]
fn signed_bodies_that_are_not_json_objects_are_400() {
    for body in ["{not json", "", "[1,2]", "\"entry\""] {
        let verdict = verify(
            &signed_channel(),
            &request("POST", "", Some(&signature(body)), body),
        );
        assert_eq!(rejection(verdict).0, 400, "{body:?}");
    }
}

#[test]
fn handshake_echoes_the_raw_challenge() {
    let verdict = verify(
        &signed_channel(),
        &request(
            "GET",
            "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok-123",
            None,
            "",
        ),
    );
    let Verdict::Respond(response) = verdict else {
        panic!("expected a response, got {verdict:?}");
    };
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"1158201444");
    assert!(response
        .headers
        .iter()
        .any(|(name, value)| name == "content-type" && value.starts_with("text/plain")));
}

#[test]
fn handshake_with_a_wrong_or_missing_token_is_403() {
    for query in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=tok-12",
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=tok-123",
        "hub.challenge=1&hub.verify_token=tok-123",
    ] {
        let verdict = verify(&signed_channel(), &request("GET", query, None, ""));
        assert_eq!(rejection(verdict).0, 403, "{query}");
    }
    let missing_challenge = verify(
        &signed_channel(),
        &request(
            "GET",
            "hub.mode=subscribe&hub.verify_token=tok-123",
            None,
            "",
        ),
    );
    assert_eq!(rejection(missing_challenge).0, 400);
}

#[test]
fn handshake_falls_back_to_the_webhook_secret() {
    let bare = channel(&[("app_secret", SECRET)]);
    let query = "hub.mode=subscribe&hub.challenge=7&hub.verify_token=generated-secret";
    assert!(matches!(
        verify(&bare, &request("GET", query, None, "")),
        Verdict::Respond(_)
    ));
    // An explicit verify_token replaces the fallback.
    assert_eq!(
        rejection(verify(&signed_channel(), &request("GET", query, None, ""))).0,
        403
    );
    let mut empty = bare.clone();
    empty.webhook_secret = String::new();
    let query = "hub.mode=subscribe&hub.challenge=7&hub.verify_token=";
    assert_eq!(
        rejection(verify(&empty, &request("GET", query, None, ""))).0,
        403
    );
}

#[test]
fn handshake_decodes_the_query() {
    let channel = channel(&[("verify_token", "a b&c")]);
    let verdict = verify(
        &channel,
        &request(
            "GET",
            "hub.mode=subscribe&hub.verify_token=a+b%26c&hub.challenge=42",
            None,
            "",
        ),
    );
    assert!(matches!(verdict, Verdict::Respond(ref r) if r.body == b"42"));
}

fn ids(body: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(body).map_err(|error| error.to_string())?;
    if text == "bad" {
        return Err("unreadable".into());
    }
    Ok(text
        .split(',')
        .filter(|id| !id.is_empty())
        .map(String::from)
        .collect())
}

#[test]
fn route_finds_handshakes_and_accounts() {
    let handshake = request("GET", "hub.mode=subscribe&hub.challenge=1", None, "");
    assert!(matches!(route(&handshake, ids), Routing::Handshake));
    assert!(is_handshake(&handshake));

    let batch = request("POST", "", None, "2,1,2,3,1");
    match route(&batch, ids) {
        Routing::Accounts(accounts) => assert_eq!(accounts, vec!["2", "1", "3"]),
        other => panic!("expected accounts, got {other:?}"),
    }
    // Well-formed, about no account: the host answers it once verified.
    assert!(matches!(
        route(&request("POST", "", None, ""), ids),
        Routing::Accounts(ref accounts) if accounts.is_empty()
    ));
    assert!(matches!(
        route(&request("POST", "", None, "bad"), ids),
        Routing::Unroutable(ref r) if r == "unreadable"
    ));
    let plain_get = request("GET", "x=1", None, "1");
    assert!(!is_handshake(&plain_get));
    assert!(matches!(route(&plain_get, ids), Routing::Unroutable(_)));
    assert!(matches!(
        route(&request("PUT", "", None, "1"), ids),
        Routing::Unroutable(_)
    ));
}
