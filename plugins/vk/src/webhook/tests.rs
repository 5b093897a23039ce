use super::*;
use switchboard_plugin_sdk::testing;

const GROUP: &str = "218000001";

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        webhook_secret: "hostSecret_42".into(),
        webhook_url: "https://hooks.example/webhooks/vk/w/wk1".into(),
        ..testing::channel(GROUP, config)
    }
}

fn post(body: &str) -> IncomingRequest {
    request("POST", body)
}

fn request(method: &str, body: &str) -> IncomingRequest {
    IncomingRequest {
        headers: vec![("content-type".into(), "application/json".into())],
        ..testing::request(method, "/webhooks/vk/w/wk1", body)
    }
}

fn event(secret: Option<&str>) -> String {
    let secret = secret
        .map(|secret| format!(r#","secret":"{secret}""#))
        .unwrap_or_default();
    format!(
        r#"{{"group_id":218000001,"type":"message_typing_state","event_id":"0c1d2e3f","v":"5.199"{secret},"object":{{"state":"typing","from_id":55501234,"to_id":-218000001}}}}"#
    )
}

fn rejection(verdict: Verdict) -> (u16, String) {
    match verdict {
        Verdict::Reject(rejection) => (rejection.status, rejection.reason),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn accepted_body(verdict: Verdict) -> String {
    match verdict {
        Verdict::Accept(Some(response)) => {
            assert_eq!(response.status, 200);
            String::from_utf8(response.body).unwrap()
        }
        other => panic!("expected an accept with a body, got {other:?}"),
    }
}

#[test]
fn confirmation_is_answered_with_the_code_alone() {
    let verdict = verify(
        &channel(&[("confirmation_code", "a1b2c3d4")]),
        &post(r#"{"type":"confirmation","group_id":218000001}"#),
    );
    let Verdict::Respond(response) = verdict else {
        panic!("expected a respond, got {verdict:?}");
    };
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"a1b2c3d4");
    assert_eq!(
        response.headers,
        vec![(
            "content-type".to_string(),
            "text/plain; charset=utf-8".to_string()
        )]
    );
}

#[test]
fn confirmation_without_a_configured_code_is_refused_with_a_reason() {
    let (status, reason) = rejection(verify(
        &channel(&[]),
        &post(r#"{"type":"confirmation","group_id":218000001}"#),
    ));
    assert_eq!(status, 503);
    assert!(reason.contains("confirmation_code"), "{reason}");
}

#[test]
fn confirmation_for_another_community_is_refused() {
    let (status, reason) = rejection(verify(
        &channel(&[("confirmation_code", "a1b2c3d4")]),
        &post(r#"{"type":"confirmation","group_id":218000002}"#),
    ));
    assert_eq!(status, 403);
    assert!(
        reason.contains("218000002") && reason.contains(GROUP),
        "{reason}"
    );
}

#[test]
fn the_host_secret_is_accepted_and_answered_ok() {
    let verdict = verify(&channel(&[]), &post(&event(Some("hostSecret_42"))));
    assert_eq!(accepted_body(verdict), "ok");
}

#[test]
fn an_explicit_secret_replaces_the_host_secret() {
    let configured = channel(&[("secret", "s3cr3t")]);
    assert_eq!(
        accepted_body(verify(&configured, &post(&event(Some("s3cr3t"))))),
        "ok"
    );
    let (status, _) = rejection(verify(&configured, &post(&event(Some("hostSecret_42")))));
    assert_eq!(status, 401);
}

#[test]
fn forged_or_missing_secrets_are_401() {
    for secret in [
        Some("hostSecret_4"),
        Some("HOSTSECRET_42"),
        Some("hostSecret_42 "),
    ] {
        let (status, reason) = rejection(verify(&channel(&[]), &post(&event(secret))));
        assert_eq!(
            (status, reason.as_str()),
            (401, "invalid `secret`"),
            "{secret:?}"
        );
    }
    for secret in [None, Some("")] {
        let (status, reason) = rejection(verify(&channel(&[]), &post(&event(secret))));
        assert_eq!(status, 401);
        assert!(reason.contains("no `secret`"), "{reason}");
    }
}

#[test]
fn a_channel_without_any_secret_accepts_nothing() {
    let mut unset = channel(&[]);
    unset.webhook_secret = String::new();
    let (status, _) = rejection(verify(&unset, &post(&event(Some("")))));
    assert_eq!(status, 401);
}

#[test]
fn long_host_secrets_are_cut_to_what_vk_stores() {
    let mut long = channel(&[]);
    long.webhook_secret = "x".repeat(64);
    assert_eq!(expected_secret(&long, &long.webhook_secret), "x".repeat(50));
    let body = event(Some(&"x".repeat(50)));
    assert_eq!(accepted_body(verify(&long, &post(&body))), "ok");
    let body = event(Some(&"x".repeat(64)));
    assert_eq!(rejection(verify(&long, &post(&body))).0, 401);
}

#[test]
fn events_for_another_community_are_403() {
    let body = event(Some("hostSecret_42")).replace("218000001,", "218000009,");
    let (status, reason) = rejection(verify(&channel(&[]), &post(&body)));
    assert_eq!(status, 403);
    assert!(reason.contains("218000009"), "{reason}");
}

#[test]
fn only_post_is_accepted() {
    let (status, _) = rejection(verify(
        &channel(&[]),
        &request("GET", &event(Some("hostSecret_42"))),
    ));
    assert_eq!(status, 405);
}

#[test]
fn malformed_bodies_are_400() {
    for body in [
        "{not json",
        "[]",
        r#"{"group_id":218000001}"#,
        r#"{"type":"message_new"}"#,
        "",
    ] {
        let (status, reason) = rejection(verify(&channel(&[]), &post(body)));
        assert_eq!(status, 400, "{body}");
        assert!(reason.starts_with("malformed callback"), "{reason}");
    }
}

#[test]
fn route_names_the_community() {
    let routing = route(&post(&event(Some("x"))));
    assert!(matches!(routing, Routing::Accounts(ref ids) if ids == &vec![GROUP.to_string()]));
    let routing = route(&post(r#"{"type":"confirmation","group_id":218000001}"#));
    assert!(matches!(routing, Routing::Accounts(ref ids) if ids == &vec![GROUP.to_string()]));
}

#[test]
fn route_refuses_what_it_cannot_place() {
    for body in [
        r#"{"type":"message_new"}"#,
        r#"{"type":"message_new","group_id":"abc"}"#,
    ] {
        assert!(matches!(route(&post(body)), Routing::Unroutable(ref r) if r.contains("group_id")));
    }
    assert!(
        matches!(route(&post("junk")), Routing::Unroutable(ref r) if r.contains("not a VK callback"))
    );
    assert!(matches!(route(&request("GET", "")), Routing::Unroutable(ref r) if r.contains("POST")));
}
