use super::*;
use switchboard_meta_graph::{interpret, Body};
use switchboard_plugin_sdk::testing;

fn request(config: &[(&str, &str)]) -> ConnectRequest {
    testing::connect_request(
        config,
        "wh_S3cr3t-x",
        "https://hooks.example/webhooks/instagram",
    )
}

fn api(config: &[(&str, &str)]) -> Api {
    Api::from_config(&request(config)).unwrap()
}

fn answer(status: u16, body: &str) -> Result<serde_json::Value, ConnectError> {
    interpret(status, body.as_bytes()).map_err(Failure::into_connect_error)
}

fn invalid(result: Result<Credentials, ConnectError>) -> String {
    match result {
        Err(ConnectError::InvalidConfig(reason)) => reason,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn a_pasted_token_needs_the_app_secret() {
    let pasted = credentials(
        &request(&[("access_token", "IGAAtoken"), ("app_secret", "s")]),
        Login::Instagram,
    );
    assert_eq!(pasted.unwrap(), Credentials::Pasted("IGAAtoken".into()));
    let reason = invalid(credentials(
        &request(&[("access_token", "IGAAtoken")]),
        Login::Instagram,
    ));
    assert!(reason.contains("app_secret"), "{reason}");
    let reason = invalid(credentials(
        &request(&[("app_secret", "s")]),
        Login::Instagram,
    ));
    assert!(reason.contains("access_token"), "{reason}");
}

#[test]
fn oauth_needs_all_four_values() {
    let full = [
        ("oauth_code", "AQB"),
        (
            "oauth_redirect_uri",
            "https://inbox.example/oauth/instagram/callback",
        ),
        ("oauth_client_id", "990011223344"),
        ("oauth_client_secret", "ig-app-secret"),
    ];
    let Credentials::OAuth(grant) = credentials(&request(&full), Login::Instagram).unwrap() else {
        panic!("expected OAuth");
    };
    assert_eq!(grant.client_secret, "ig-app-secret");
    for missing in 1..full.len() {
        let partial: Vec<_> = full
            .iter()
            .enumerate()
            .filter(|(index, _)| *index != missing)
            .map(|(_, pair)| *pair)
            .collect();
        let reason = invalid(credentials(&request(&partial), Login::Instagram));
        assert!(reason.contains(full[missing].0), "{reason}");
    }
    let reason = invalid(credentials(&request(&full), Login::Facebook));
    assert!(reason.contains("Page access token"), "{reason}");
}

#[test]
fn me_names_the_instagram_account() {
    let call = me_call(&api(&[]), "IGAAlong");
    assert_eq!(call.method, "GET");
    assert_eq!(
        call.url,
        "https://graph.instagram.com/v25.0/me?fields=user_id,username"
    );
    assert_eq!(call.bearer.as_deref(), Some("IGAAlong"));
    let me = answer(
        200,
        r#"{"user_id":"17841400000000001","username":"shop.kazan","id":"27000000000000001"}"#,
    )
    .unwrap();
    assert_eq!(
        read_instagram_me(me).unwrap(),
        Account {
            id: "17841400000000001".into(),
            display_name: "@shop.kazan".into(),
            page_id: None,
        }
    );
    let nameless =
        read_instagram_me(serde_json::json!({"user_id": 17841400000000001_u64})).unwrap();
    assert_eq!(nameless.display_name, "17841400000000001");
    assert!(matches!(
        read_instagram_me(serde_json::json!({"id": "1"})),
        Err(ConnectError::ProviderError(ref m)) if m.contains("user_id")
    ));
}

#[test]
fn a_page_token_finds_the_linked_account() {
    let call = page_call(&api(&[("login", "facebook")]), "EAAG");
    assert_eq!(
        call.url,
        "https://graph.facebook.com/v25.0/me?fields=id%2Cname%2Cinstagram_business_account%7Bid%2Cusername%7D"
    );
    let page = serde_json::json!({
        "id": "104000000000001",
        "name": "Shop Kazan",
        "instagram_business_account": {"id": "17841400000000001", "username": "shop.kazan"}
    });
    assert_eq!(
        read_page_me(page).unwrap(),
        Account {
            id: "17841400000000001".into(),
            display_name: "@shop.kazan".into(),
            page_id: Some("104000000000001".into()),
        }
    );
    let unlinked = read_page_me(serde_json::json!({"id": "104000000000001", "name": "Shop"}));
    assert!(matches!(unlinked, Err(ConnectError::InvalidConfig(ref m)) if m.contains("Shop")));
}

#[test]
fn subscriptions_name_the_messaging_fields() {
    let call = subscribe_call(&api(&[]), "IGAAlong", "17841400000000001");
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.url,
        "https://graph.instagram.com/v25.0/17841400000000001/subscribed_apps?subscribed_fields=\
         messages%2Cmessaging_postbacks%2Cmessaging_seen%2Cmessage_reactions%2Cmessaging_referral%2Cmessage_edit"
    );
    assert_eq!(call.bearer.as_deref(), Some("IGAAlong"));
    assert_eq!(call.body, Body::Empty);
    let page = subscribe_call(&api(&[("login", "facebook")]), "EAAG", "104000000000001");
    assert!(page
        .url
        .starts_with("https://graph.facebook.com/v25.0/104000000000001/subscribed_apps?subscribed_fields=messages%2C"));
    let fake = subscribe_call(&api(&[("api_base", "http://127.0.0.1:9100")]), "t", "1");
    assert!(fake
        .url
        .starts_with("http://127.0.0.1:9100/v25.0/1/subscribed_apps?"));
    let off = unsubscribe_call(&api(&[]), "t", "17841400000000001");
    assert_eq!(off.method, "DELETE");
    assert_eq!(
        off.url,
        "https://graph.instagram.com/v25.0/17841400000000001/subscribed_apps"
    );
}

#[test]
fn oauth_stores_the_long_lived_token_and_the_app_secret() {
    let updates = oauth_updates(
        &request(&[]),
        "IGAAlong",
        Some(1_772_452_800),
        "ig-app-secret",
    );
    assert_eq!(
        updates,
        vec![
            ("access_token".to_string(), "IGAAlong".to_string()),
            ("token_expires_at".to_string(), "1772452800".to_string()),
            ("app_secret".to_string(), "ig-app-secret".to_string()),
        ]
    );
    let kept = oauth_updates(
        &request(&[("app_secret", "own")]),
        "IGAAlong",
        None,
        "ig-app-secret",
    );
    assert_eq!(
        kept,
        vec![("access_token".to_string(), "IGAAlong".to_string())]
    );
    assert!(!kept.iter().any(|(_, value)| value == "ig-app-secret"));
}

#[test]
fn connected_defaults_the_verify_token_to_the_webhook_secret() {
    let account = Account {
        id: "17841400000000001".into(),
        display_name: "@shop.kazan".into(),
        page_id: None,
    };
    let connected_ = connected(&request(&[]), account, vec![("a".into(), "b".into())]);
    assert_eq!(connected_.provider_account_id, "17841400000000001");
    assert_eq!(connected_.display_name, "@shop.kazan");
    assert_eq!(
        connected_.config_updates,
        vec![
            ("a".to_string(), "b".to_string()),
            ("verify_token".to_string(), "wh_S3cr3t-x".to_string())
        ]
    );
    let page_account = Account {
        id: "1".into(),
        display_name: "x".into(),
        page_id: Some("104".into()),
    };
    let given = connected(&request(&[("verify_token", "mine")]), page_account, vec![]);
    assert_eq!(
        given.config_updates,
        vec![("page_id".to_string(), "104".to_string())]
    );
}

#[test]
fn meta_refusals_are_auth_failures_with_metas_words() {
    let expired = answer(
        400,
        r#"{"error":{"message":"Error validating access token: Session has expired.","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A"}}"#,
    );
    assert!(
        matches!(expired, Err(ConnectError::AuthFailed(ref m)) if m.contains("Session has expired"))
    );
    let subscribe = interpret_success(
        400,
        br#"{"error":{"message":"(#200) Insufficient permission","type":"OAuthException","code":200}}"#,
    )
    .map_err(Failure::into_connect_error);
    assert!(
        matches!(subscribe, Err(ConnectError::AuthFailed(ref m)) if m.contains("Insufficient"))
    );
    assert!(matches!(
        answer(503, "down"),
        Err(ConnectError::ProviderError(_))
    ));
}
