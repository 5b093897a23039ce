use super::*;
use serde_json::json;
use switchboard_meta_graph::{interpret, Body};
use switchboard_plugin_sdk::testing;

const PHONE: &str = "106540352242922";

fn request(config: &[(&str, &str)]) -> ConnectRequest {
    testing::connect_request(
        config,
        "wh_S3cr3t-x",
        "https://hooks.example/webhooks/whatsapp",
    )
}

fn complete() -> Vec<(&'static str, &'static str)> {
    vec![
        ("access_token", "EAAG-system-user"),
        ("app_secret", "meta-app-secret"),
        ("phone_number_id", PHONE),
        ("waba_id", "102290129340398"),
    ]
}

fn invalid(config: &[(&str, &str)]) -> String {
    match checked(&request(config)) {
        Err(ConnectError::InvalidConfig(reason)) => reason,
        Err(other) => panic!("expected invalid config, got {other:?}"),
        Ok(_) => panic!("expected invalid config, got a checked request"),
    }
}

#[test]
fn every_required_field_is_named_when_missing() {
    let (api, phone) = checked(&request(&complete())).unwrap();
    assert_eq!(api.token, "EAAG-system-user");
    assert_eq!(phone, PHONE);
    for missing in ["access_token", "app_secret", "phone_number_id"] {
        let config: Vec<_> = complete()
            .into_iter()
            .filter(|(key, _)| *key != missing)
            .collect();
        let reason = invalid(&config);
        assert!(reason.contains(missing), "{reason}");
    }
    let mut phone_number = complete();
    phone_number[2] = ("phone_number_id", "+1 555 078 3881");
    assert!(invalid(&phone_number).contains("not the phone number"));
}

#[test]
fn the_token_is_checked_against_the_number() {
    let (api, phone) = checked(&request(&complete())).unwrap();
    let call = phone_call(&api, &phone);
    assert_eq!(call.method, "GET");
    assert_eq!(
        call.url,
        "https://graph.facebook.com/v25.0/106540352242922?fields=display_phone_number,verified_name"
    );
    assert_eq!(call.bearer.as_deref(), Some("EAAG-system-user"));
    let answer = json!({"verified_name": "Shop Kazan", "display_phone_number": "+1 555-078-3881", "id": PHONE});
    assert_eq!(
        display_name(&answer, PHONE).unwrap(),
        "Shop Kazan (+1 555-078-3881)"
    );
    assert_eq!(
        display_name(&json!({"display_phone_number": "15550783881"}), PHONE).unwrap(),
        "15550783881"
    );
    assert_eq!(display_name(&json!({}), PHONE).unwrap(), PHONE);
    assert!(matches!(
        display_name(&json!({"id": "1"}), PHONE),
        Err(ConnectError::ProviderError(_))
    ));
}

#[test]
fn meta_refusals_are_auth_failures() {
    let refused = interpret::<Value>(
        400,
        br#"{"error":{"message":"Unsupported get request. Object with ID '106540352242922' does not exist, cannot be loaded due to missing permissions, or does not support this operation.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"A"}}"#,
    )
    .unwrap_err()
    .into_connect_error();
    assert!(matches!(refused, ConnectError::AuthFailed(ref m) if m.contains("does not exist")));
    let down = interpret::<Value>(500, b"")
        .unwrap_err()
        .into_connect_error();
    assert!(matches!(down, ConnectError::ProviderError(_)));
}

#[test]
fn the_app_subscribes_to_the_business_account() {
    let (api, _) = checked(&request(&complete())).unwrap();
    let call = subscribe_call(&api, "102290129340398");
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.url,
        "https://graph.facebook.com/v25.0/102290129340398/subscribed_apps"
    );
    assert_eq!(call.bearer.as_deref(), Some("EAAG-system-user"));
    assert_eq!(call.body, Body::Empty);
    let mut local = complete();
    local.push(("api_base", "http://127.0.0.1:9200"));
    let (api, _) = checked(&request(&local)).unwrap();
    assert_eq!(
        subscribe_call(&api, "102290129340398").url,
        "http://127.0.0.1:9200/v25.0/102290129340398/subscribed_apps"
    );
    assert_eq!(unsubscribe_call(&api, "102290129340398").method, "DELETE");
    assert_eq!(
        numbers_call(&api, "102290129340398").url,
        "http://127.0.0.1:9200/v25.0/102290129340398/phone_numbers?fields=id"
    );
}

#[test]
fn connected_defaults_the_verify_token_to_the_webhook_secret() {
    let connected_ = connected(&request(&complete()), PHONE.into(), "Shop".into());
    assert_eq!(connected_.provider_account_id, PHONE);
    assert_eq!(connected_.display_name, "Shop");
    assert_eq!(
        connected_.config_updates,
        vec![("verify_token".to_string(), "wh_S3cr3t-x".to_string())]
    );
    let mut own = complete();
    own.push(("verify_token", "mine"));
    assert!(connected(&request(&own), PHONE.into(), "Shop".into())
        .config_updates
        .is_empty());
}

#[test]
fn the_subscription_is_kept_while_other_numbers_share_the_account() {
    assert!(!shares_the_account(
        &json!({"data": [{"id": PHONE}]}),
        PHONE
    ));
    assert!(!shares_the_account(&json!({"data": []}), PHONE));
    assert!(shares_the_account(
        &json!({"data": [{"id": PHONE}, {"id": "2"}]}),
        PHONE
    ));
    assert!(shares_the_account(
        &json!({"data": [{"id": PHONE}], "paging": {"next": "https://x"}}),
        PHONE
    ));
    assert!(!shares_the_account(
        &json!({"data": [{"id": 106540352242922_u64}]}),
        PHONE
    ));
    assert!(shares_the_account(&json!({"error": {}}), PHONE));
}

#[test]
fn disconnect_without_a_business_account_has_nothing_to_undo() {
    let channel = Channel {
        id: "ch".into(),
        workspace_id: "ws".into(),
        provider_account_id: PHONE.into(),
        config: vec![("access_token".into(), "t".into())],
        webhook_secret: "s".into(),
        webhook_url: String::new(),
    };
    assert_eq!(disconnect(&channel), Ok(()));
}
