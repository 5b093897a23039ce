use super::*;
use switchboard_plugin_sdk::testing::{self, settings};

fn start(config: &[(&str, &str)]) -> OauthStart {
    OauthStart {
        client_id: "51234567".into(),
        redirect_uri: "https://desk.example/oauth/vk/callback".into(),
        state: "st.ate/1+2=".into(),
        config: testing::config(config),
    }
}

fn invalid(result: Result<impl std::fmt::Debug, ConnectError>) -> String {
    match result {
        Err(ConnectError::InvalidConfig(reason)) => reason,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

fn auth_failed(result: Result<String, ConnectError>) -> String {
    match result {
        Err(ConnectError::AuthFailed(reason)) => reason,
        other => panic!("expected auth failed, got {other:?}"),
    }
}

#[test]
fn authorize_url_names_the_community_and_encodes_everything() {
    let url = authorize_url(&start(&[("group_id", "218000001")])).unwrap();
    assert_eq!(
        url,
        "https://oauth.vk.com/authorize?client_id=51234567\
         &redirect_uri=https%3A%2F%2Fdesk.example%2Foauth%2Fvk%2Fcallback\
         &group_ids=218000001&display=page&scope=messages%2Cmanage%2Cphotos%2Cdocs\
         &response_type=code&v=5.199&state=st.ate%2F1%2B2%3D"
    );
}

#[test]
fn authorize_url_follows_api_base_and_pasted_forms() {
    let url = authorize_url(&start(&[
        ("group_id", "club218000001"),
        ("api_base", "http://127.0.0.1:8089/"),
    ]))
    .unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8089/authorize?client_id=51234567&"),
        "{url}"
    );
    assert!(url.contains("&group_ids=218000001&"), "{url}");
}

#[test]
fn authorize_url_needs_the_community_and_the_app() {
    assert!(invalid(authorize_url(&start(&[]))).contains("group_id"));
    assert!(invalid(authorize_url(&start(&[("group_id", "shop")]))).contains("group_id"));
    let mut no_client = start(&[("group_id", "1")]);
    no_client.client_id = " ".into();
    assert!(invalid(authorize_url(&no_client)).contains("SWITCHBOARD_OAUTH_VK_CLIENT_ID"));
    let mut no_redirect = start(&[("group_id", "1")]);
    no_redirect.redirect_uri = String::new();
    assert!(invalid(authorize_url(&no_redirect)).contains("redirect URI"));
}

#[test]
fn exchange_is_read_from_the_connect_request() {
    assert_eq!(
        Exchange::from_config(&settings(&[("access_token", "t")])).unwrap(),
        None
    );
    let exchange = Exchange::from_config(&settings(&[
        ("oauth_code", "c0de"),
        ("oauth_client_id", "51234567"),
        ("oauth_client_secret", "s3cr3t"),
        (
            "oauth_redirect_uri",
            "https://desk.example/oauth/vk/callback",
        ),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        exchange.url(&Origins::from_api_base(None).unwrap()),
        "https://oauth.vk.com/access_token?client_id=51234567&client_secret=s3cr3t\
         &redirect_uri=https%3A%2F%2Fdesk.example%2Foauth%2Fvk%2Fcallback&code=c0de"
    );
    assert_eq!(
        exchange.url(&Origins::from_api_base(Some("http://127.0.0.1:8089")).unwrap()),
        "http://127.0.0.1:8089/access_token?client_id=51234567&client_secret=s3cr3t\
         &redirect_uri=https%3A%2F%2Fdesk.example%2Foauth%2Fvk%2Fcallback&code=c0de"
    );
    let missing =
        Exchange::from_config(&settings(&[("oauth_code", "c"), ("oauth_client_id", "1")]));
    assert!(invalid(missing).contains("oauth_client_secret"));
}

#[test]
fn token_is_read_from_the_historical_shape() {
    let body = br#"{"access_token_218000001":"vk1.a.GROUP","access_token_218000002":"vk1.a.OTHER","expires_in":0}"#;
    assert_eq!(
        token_for_group(200, body, 218000001).unwrap(),
        "vk1.a.GROUP"
    );
    assert_eq!(
        token_for_group(200, body, 218000002).unwrap(),
        "vk1.a.OTHER"
    );
}

#[test]
fn token_is_read_from_the_groups_list_shape() {
    let body = br#"{"groups":[{"group_id":218000002,"access_token":"vk1.a.OTHER"},{"group_id":218000001,"access_token":"vk1.a.GROUP"}],"expires_in":0}"#;
    assert_eq!(
        token_for_group(200, body, 218000001).unwrap(),
        "vk1.a.GROUP"
    );
    let as_text = br#"{"groups":[{"group_id":"218000001","access_token":"vk1.a.GROUP"}]}"#;
    assert_eq!(
        token_for_group(200, as_text, 218000001).unwrap(),
        "vk1.a.GROUP"
    );
}

#[test]
fn a_missing_token_names_the_community_but_no_values() {
    let body = br#"{"access_token_218000009":"vk1.a.SECRET","expires_in":0}"#;
    let reason = auth_failed(token_for_group(200, body, 218000001));
    assert!(reason.contains("218000001"), "{reason}");
    assert!(
        reason.contains("access_token_218000009, expires_in"),
        "{reason}"
    );
    assert!(!reason.contains("vk1.a.SECRET"), "{reason}");
}

#[test]
fn oauth_errors_are_authentication_failures() {
    let body = br#"{"error":"invalid_grant","error_description":"Code is invalid or expired."}"#;
    assert_eq!(
        auth_failed(token_for_group(401, body, 1)),
        "VK refused the authorization: Code is invalid or expired."
    );
    assert_eq!(
        auth_failed(token_for_group(400, br#"{"error":"invalid_client"}"#, 1)),
        "VK refused the authorization: invalid_client"
    );
    assert!(matches!(
        token_for_group(500, br#"{"error":"server_error"}"#, 1),
        Err(ConnectError::ProviderError(_))
    ));
    assert!(matches!(
        token_for_group(502, b"<html>", 1),
        Err(ConnectError::ProviderError(ref m)) if m.contains("502")
    ));
    assert!(matches!(
        token_for_group(200, b"<html>", 1),
        Err(ConnectError::ProviderError(ref m)) if m.contains("not JSON")
    ));
}
