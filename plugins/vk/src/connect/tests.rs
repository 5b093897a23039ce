use std::cell::RefCell;

use serde_json::json;

use super::*;
use switchboard_plugin_sdk::testing;

/// Answers calls from a script, in order, and records what was called.
struct Script {
    answers: RefCell<Vec<Result<Value, ApiError>>>,
    calls: RefCell<Vec<ApiCall>>,
}

impl Script {
    fn new(answers: Vec<Result<Value, ApiError>>) -> Self {
        Script {
            answers: RefCell::new(answers),
            calls: RefCell::new(Vec::new()),
        }
    }

    fn methods(&self) -> Vec<&'static str> {
        self.calls.borrow().iter().map(|call| call.method).collect()
    }

    fn call(&self, n: usize) -> ApiCall {
        self.calls.borrow()[n].clone()
    }
}

impl Calls for Script {
    fn call_json(&self, call: &ApiCall) -> Result<Value, ApiError> {
        self.calls.borrow_mut().push(call.clone());
        let mut answers = self.answers.borrow_mut();
        assert!(!answers.is_empty(), "unexpected call {}", call.method);
        answers.remove(0)
    }
}

fn vk(code: i64, message: &str) -> Result<Value, ApiError> {
    Err(ApiError::Vk {
        code,
        message: message.into(),
    })
}

const URL: &str = "https://desk.example/webhooks/vk/w/wk_1";

fn request(config: &[(&str, &str)]) -> ConnectRequest {
    testing::connect_request(config, "hostSecret_42", URL)
}

fn settings() -> Settings {
    Settings::from_request(&request(&[
        ("group_id", "218000001"),
        ("access_token", "t"),
    ]))
    .unwrap()
}

fn group() -> Result<Value, ApiError> {
    Ok(
        json!({"groups":[{"id":218000001,"name":"Магазин «Ромашка»","screen_name":"romashka_shop","type":"group"}],"profiles":[]}),
    )
}

fn invalid(result: Result<Settings, ConnectError>) -> String {
    match result {
        Err(ConnectError::InvalidConfig(reason)) => reason,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn settings_name_what_is_missing() {
    assert!(invalid(Settings::from_request(&request(&[]))).contains("`group_id`"));
    assert!(
        invalid(Settings::from_request(&request(&[("group_id", "shop")]))).contains("group_id")
    );
    let mut no_url = request(&[("group_id", "1")]);
    no_url.webhook_url = " ".into();
    assert!(invalid(Settings::from_request(&no_url)).contains("webhook URL"));
    let mut no_secret = request(&[("group_id", "1")]);
    no_secret.webhook_secret = String::new();
    assert!(invalid(Settings::from_request(&no_secret)).contains("secret"));
}

#[test]
fn settings_use_the_secret_verify_expects() {
    assert_eq!(
        settings(),
        Settings {
            group_id: 218000001,
            webhook_url: URL.into(),
            secret: "hostSecret_42".into(),
            manual: false,
        }
    );
    let explicit = Settings::from_request(&request(&[
        ("group_id", "club218000001"),
        ("secret", "mine"),
        ("confirmation_code", "a1b2"),
    ]))
    .unwrap();
    assert_eq!(explicit.group_id, 218000001);
    assert_eq!(explicit.secret, "mine");
    assert!(explicit.manual);
    let mut long = request(&[("group_id", "1")]);
    long.webhook_secret = "y".repeat(64);
    assert_eq!(
        Settings::from_request(&long).unwrap().secret,
        "y".repeat(50)
    );
}

#[test]
fn a_new_server_is_added_and_subscribed() {
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Ok(
            json!({"count":1,"items":[{"id":3,"title":"Other","url":"https://other.example/hook","status":"ok"}]}),
        ),
        Ok(json!({"server_id":4})),
        Ok(json!(1)),
    ]);
    let connected = connect_with(&script, &settings()).unwrap();
    assert_eq!(
        script.methods(),
        vec![
            "groups.getById",
            "groups.getCallbackConfirmationCode",
            "groups.getCallbackServers",
            "groups.addCallbackServer",
            "groups.setCallbackSettings",
        ]
    );
    assert_eq!(
        script.call(0).params,
        vec![("group_id", "218000001".to_string())]
    );
    assert_eq!(
        script.call(3).params,
        vec![
            ("group_id", "218000001".to_string()),
            ("url", URL.to_string()),
            ("title", "Switchboard".to_string()),
            ("secret_key", "hostSecret_42".to_string()),
        ]
    );
    assert_eq!(connected.provider_account_id, "218000001");
    assert_eq!(connected.display_name, "Магазин «Ромашка»");
    assert_eq!(
        connected.config_updates,
        vec![
            ("group_id".to_string(), "218000001".to_string()),
            ("confirmation_code".to_string(), "a1b2c3d4".to_string()),
            ("callback_server_id".to_string(), "4".to_string()),
        ]
    );
}

#[test]
fn callback_settings_pin_the_version_and_pick_the_events() {
    let call = settings_call(218000001, 4);
    assert_eq!(call.method, "groups.setCallbackSettings");
    assert_eq!(
        call.params,
        vec![
            ("group_id", "218000001".to_string()),
            ("server_id", "4".to_string()),
            ("api_version", "5.199".to_string()),
            ("message_new", "1".to_string()),
            ("message_reply", "1".to_string()),
            ("message_edit", "1".to_string()),
            ("message_allow", "1".to_string()),
            ("message_deny", "1".to_string()),
            ("message_read", "1".to_string()),
            ("message_typing_state", "0".to_string()),
            ("message_event", "1".to_string()),
        ]
    );
}

#[test]
fn reconnecting_reuses_the_server_at_the_same_url() {
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Ok(json!({"count":1,"items":[{"id":7,"title":"Switchboard","url":URL,"status":"ok"}]})),
        Ok(json!(1)),
        Ok(json!(1)),
    ]);
    let connected = connect_with(&script, &settings()).unwrap();
    assert_eq!(script.methods()[3], "groups.editCallbackServer");
    assert_eq!(script.call(3).get("server_id"), Some("7"));
    assert_eq!(script.call(3).get("secret_key"), Some("hostSecret_42"));
    assert_eq!(script.call(4).get("server_id"), Some("7"));
    assert!(connected
        .config_updates
        .contains(&("callback_server_id".to_string(), "7".to_string())));
}

#[test]
fn a_server_that_cannot_be_subscribed_is_removed_again() {
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Ok(json!({"count":0,"items":[]})),
        Ok(json!({"server_id":4})),
        vk(
            100,
            "One of the parameters specified was missing or invalid",
        ),
        Ok(json!(1)),
    ]);
    let error = connect_with(&script, &settings()).unwrap_err();
    assert!(matches!(error, ConnectError::ProviderError(ref m) if m.starts_with("VK error 100")));
    assert_eq!(script.methods()[5], "groups.deleteCallbackServer");
    assert_eq!(script.call(5).get("server_id"), Some("4"));
}

#[test]
fn an_unreadable_server_list_means_adding_one() {
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Ok(json!(1)),
        Ok(json!({"server_id":4})),
        Ok(json!(1)),
    ]);
    connect_with(&script, &settings()).unwrap();
    assert_eq!(script.methods()[3], "groups.addCallbackServer");
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Err(ApiError::Unreachable("reset".into())),
        Ok(json!({"server_id":4})),
        Ok(json!(1)),
    ]);
    connect_with(&script, &settings()).unwrap();
    assert_eq!(script.methods()[3], "groups.addCallbackServer");
}

#[test]
fn old_get_by_id_answers_are_read() {
    let group =
        group_from(json!([{"id":218000001,"name":"","screen_name":"romashka_shop"}])).unwrap();
    assert_eq!(group.display_name(), "romashka_shop");
    let bare = group_from(json!({"groups":[{"id":5}]})).unwrap();
    assert_eq!(bare.display_name(), "club5");
    assert!(matches!(
        group_from(json!({"groups":[]})),
        Err(ConnectError::ProviderError(_))
    ));
    assert!(matches!(
        group_from(json!(1)),
        Err(ConnectError::ProviderError(_))
    ));
}

#[test]
fn a_rejected_token_fails_authentication() {
    let script = Script::new(vec![vk(
        5,
        "User authorization failed: invalid access_token (4).",
    )]);
    let error = connect_with(&script, &settings()).unwrap_err();
    assert!(
        matches!(error, ConnectError::AuthFailed(ref m) if m == "User authorization failed: invalid access_token (4).")
    );
}

#[test]
fn another_communitys_answer_is_refused() {
    let script = Script::new(vec![Ok(json!({"groups":[{"id":9,"name":"x"}]}))]);
    assert!(matches!(
        connect_with(&script, &settings()),
        Err(ConnectError::ProviderError(ref m)) if m.contains("community 9")
    ));
}

#[test]
fn without_manage_the_admin_is_told_what_to_do() {
    let script = Script::new(vec![
        group(),
        vk(15, "Access denied: no access to call this method"),
    ]);
    let error = connect_with(&script, &settings()).unwrap_err();
    let ConnectError::AuthFailed(reason) = error else {
        panic!("expected auth failed, got {error:?}");
    };
    assert!(reason.starts_with("VK error 15: Access denied"), "{reason}");
    assert!(
        reason.contains("manage") && reason.contains("confirmation_code"),
        "{reason}"
    );
}

#[test]
fn without_manage_a_manual_setup_still_connects() {
    let manual = Settings::from_request(&request(&[
        ("group_id", "218000001"),
        ("access_token", "t"),
        ("confirmation_code", "a1b2c3d4"),
        ("secret", "mine"),
    ]))
    .unwrap();
    let script = Script::new(vec![
        group(),
        Ok(json!({"code":"a1b2c3d4"})),
        Ok(json!({"count":0,"items":[]})),
        vk(
            27,
            "Group authorization failed: method is unavailable with group auth.",
        ),
    ]);
    let connected = connect_with(&script, &manual).unwrap();
    assert_eq!(connected.provider_account_id, "218000001");
    assert_eq!(
        connected.config_updates,
        vec![("group_id".to_string(), "218000001".to_string())]
    );
}

#[test]
fn other_failures_are_provider_errors() {
    let script = Script::new(vec![
        group(),
        Err(ApiError::Unreachable("connection reset".into())),
    ]);
    assert!(matches!(
        connect_with(&script, &settings()),
        Err(ConnectError::ProviderError(ref m)) if m.contains("could not reach VK")
    ));
    let script = Script::new(vec![group(), Ok(json!({"no_code":1}))]);
    assert!(matches!(
        connect_with(&script, &settings()),
        Err(ConnectError::ProviderError(ref m)) if m.contains("groups.getCallbackConfirmationCode")
    ));
}

#[test]
fn disconnect_deletes_the_server_and_tolerates_its_absence() {
    let script = Script::new(vec![Ok(json!(1))]);
    assert_eq!(disconnect_with(&script, 218000001, 4), Ok(()));
    assert_eq!(
        script.call(0),
        ApiCall::new("groups.deleteCallbackServer")
            .param("group_id", 218000001)
            .param("server_id", 4)
    );
    let gone = Script::new(vec![vk(104, "Not found")]);
    assert_eq!(disconnect_with(&gone, 218000001, 4), Ok(()));
    let denied = Script::new(vec![vk(15, "Access denied")]);
    assert_eq!(
        disconnect_with(&denied, 218000001, 4),
        Err("VK error 15: Access denied".to_string())
    );
}

#[test]
fn disconnect_without_a_server_does_nothing() {
    let channel = Channel {
        id: "ch".into(),
        workspace_id: "ws".into(),
        provider_account_id: "218000001".into(),
        config: vec![("access_token".into(), "t".into())],
        webhook_secret: "s".into(),
        webhook_url: URL.into(),
    };
    assert_eq!(disconnect(&channel), Ok(()));
    let mut broken = channel;
    broken
        .config
        .push(("callback_server_id".into(), "four".into()));
    assert!(disconnect(&broken)
        .unwrap_err()
        .contains("callback_server_id"));
}
