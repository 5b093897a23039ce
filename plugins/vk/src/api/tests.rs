use super::*;
use switchboard_plugin_sdk::testing::settings;

fn send_error(status: u16, body: &str) -> SendError {
    interpret::<Value>(status, body.as_bytes())
        .expect_err("an error answer")
        .into_send_error()
}

fn vk(code: i64, message: &str) -> String {
    format!(
        r#"{{"error":{{"error_code":{code},"error_msg":"{message}","request_params":[{{"key":"v","value":"5.199"}}]}}}}"#
    )
}

#[test]
fn default_origins_are_vks_own() {
    let origins = Origins::from_api_base(None).unwrap();
    assert_eq!(
        origins.method_url("messages.send"),
        "https://api.vk.com/method/messages.send"
    );
    assert_eq!(
        origins.oauth_url("/access_token"),
        "https://oauth.vk.com/access_token"
    );
    let media = "https://sun9-1.userapi.com/x.jpg";
    assert_eq!(origins.rebase(media), media);
}

#[test]
fn api_base_moves_every_url_onto_its_origin() {
    let origins = Origins::from_api_base(Some("http://127.0.0.1:8089/")).unwrap();
    assert_eq!(
        origins.method_url("messages.send"),
        "http://127.0.0.1:8089/method/messages.send"
    );
    assert_eq!(
        origins.oauth_url("/access_token"),
        "http://127.0.0.1:8089/access_token"
    );
    assert_eq!(
        origins.rebase("https://sun9-1.userapi.com/x.jpg"),
        "http://127.0.0.1:8089/x.jpg"
    );
    assert_eq!(
        origins.rebase("https://pu.vk.com/c123/upload.php?act=do_add&mid=1"),
        "http://127.0.0.1:8089/c123/upload.php?act=do_add&mid=1"
    );
    assert_eq!(
        origins.rebase("https://vk.com?x=1"),
        "http://127.0.0.1:8089/?x=1"
    );
    assert_eq!(origins.rebase("https://vk.com"), "http://127.0.0.1:8089");
    // A URL the fake provider already put on its own origin stays as it is.
    assert_eq!(
        origins.rebase("http://127.0.0.1:8089/upload/1"),
        "http://127.0.0.1:8089/upload/1"
    );
}

#[test]
fn api_base_with_a_path_prefix_keeps_it() {
    let origins = Origins::from_api_base(Some("http://127.0.0.1:9000/vk")).unwrap();
    assert_eq!(
        origins.method_url("groups.getById"),
        "http://127.0.0.1:9000/vk/method/groups.getById"
    );
    assert_eq!(
        origins.rebase("https://psv4.userapi.com/c1/doc.pdf"),
        "http://127.0.0.1:9000/vk/c1/doc.pdf"
    );
    assert_eq!(
        origins.rebase("http://127.0.0.1:9000/vk/c1/doc.pdf"),
        "http://127.0.0.1:9000/vk/c1/doc.pdf"
    );
}

#[test]
fn api_base_must_be_http() {
    let error = Origins::from_api_base(Some("ftp://x")).unwrap_err();
    assert!(error.contains("api_base"), "{error}");
    assert_eq!(
        Origins::from_api_base(Some("  ")).unwrap(),
        Origins::from_api_base(None).unwrap()
    );
}

#[test]
fn api_reads_token_version_and_base_from_config() {
    let missing = Api::from_config(&settings(&[])).err().unwrap();
    assert!(missing.contains("access_token"), "{missing}");

    let api = Api::from_config(&settings(&[("access_token", "vk1.a.TOKEN")])).unwrap();
    let call = ApiCall::new("groups.getById").param("group_id", 218000001);
    assert_eq!(api.url(&call), "https://api.vk.com/method/groups.getById");
    assert_eq!(
        api.form(&call),
        "group_id=218000001&access_token=vk1.a.TOKEN&v=5.199"
    );

    let api = Api::from_config(&settings(&[
        ("access_token", "t"),
        ("api_version", "5.131"),
        ("api_base", "http://127.0.0.1:1"),
    ]))
    .unwrap();
    assert_eq!(api.url(&call), "http://127.0.0.1:1/method/groups.getById");
    assert!(api.form(&call).ends_with("&access_token=t&v=5.131"));
}

#[test]
fn form_encodes_cyrillic_and_json_values() {
    let api = Api::new(
        Origins::from_api_base(None).unwrap(),
        "t".into(),
        "5.199".into(),
    );
    let call = ApiCall::new("messages.send")
        .param("message", "Здравствуйте! Есть доставка?")
        .param("forward", r#"{"peer_id":1}"#);
    assert_eq!(
        api.form(&call),
        "message=%D0%97%D0%B4%D1%80%D0%B0%D0%B2%D1%81%D1%82%D0%B2%D1%83%D0%B9%D1%82%D0%B5%21%20\
         %D0%95%D1%81%D1%82%D1%8C%20%D0%B4%D0%BE%D1%81%D1%82%D0%B0%D0%B2%D0%BA%D0%B0%3F\
         &forward=%7B%22peer_id%22%3A1%7D&access_token=t&v=5.199"
    );
    assert_eq!(call.get("forward"), Some(r#"{"peer_id":1}"#));
    assert_eq!(call.get("nothing"), None);
}

#[test]
fn response_is_the_result() {
    let value: i64 = interpret(200, br#"{"response":42}"#).unwrap();
    assert_eq!(value, 42);
    assert!(matches!(
        interpret::<i64>(200, br#"{"something":1}"#),
        Err(ApiError::Unexpected(_))
    ));
    assert!(matches!(
        interpret::<i64>(200, br#"{"response":"x"}"#),
        Err(ApiError::Unexpected(_))
    ));
    assert!(matches!(
        interpret::<i64>(200, b"<html>"),
        Err(ApiError::Unexpected(_))
    ));
}

#[test]
fn errors_come_with_http_200() {
    let error = interpret::<Value>(
        200,
        vk(901, "Can't send messages for users without permission").as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        ApiError::Vk {
            code: 901,
            message: "Can't send messages for users without permission".into()
        }
    );
    assert_eq!(
        error.describe(),
        "VK error 901: Can't send messages for users without permission"
    );
}

#[test]
fn a_body_that_is_not_vk_falls_back_to_the_status() {
    let error = interpret::<Value>(502, b"<html>Bad Gateway</html>").unwrap_err();
    assert!(
        matches!(error, ApiError::Http { status: 502, ref description } if description.contains("Bad Gateway"))
    );
    assert!(matches!(error.into_send_error(), SendError::Retry(2000)));
    assert!(matches!(send_error(503, ""), SendError::Retry(2000)));
    assert!(matches!(send_error(429, ""), SendError::RateLimited(1000)));
    assert!(
        matches!(send_error(404, "Not Found"), SendError::Permanent(ref m) if m == "HTTP 404: Not Found")
    );
}

#[test]
fn rate_limits_wait_by_kind() {
    assert!(matches!(
        send_error(200, &vk(6, "Too many requests per second")),
        SendError::RateLimited(1_000)
    ));
    assert!(matches!(
        send_error(200, &vk(9, "Flood control")),
        SendError::RateLimited(10_000)
    ));
    assert!(matches!(
        send_error(200, &vk(29, "Rate limit reached")),
        SendError::RateLimited(60_000)
    ));
    assert!(matches!(
        send_error(200, &vk(14, "Captcha needed")),
        SendError::RateLimited(300_000)
    ));
}

#[test]
fn expired_token_needs_reconnecting() {
    let error = send_error(
        200,
        &vk(5, "User authorization failed: invalid access_token (4)."),
    );
    assert!(
        matches!(error, SendError::AuthExpired(ref m) if m == "User authorization failed: invalid access_token (4).")
    );
}

#[test]
fn recipient_refusals_are_permanent_with_a_plain_reason() {
    let cases = [
        (900, "the user blocked the community"),
        (901, "the user has not allowed messages from the community"),
        (902, "the user's privacy settings forbid messages"),
        (914, "the message is too long for VK (error 914)"),
        (917, "the community has no access to this chat (error 917)"),
    ];
    for (code, expected) in cases {
        let error = send_error(200, &vk(code, "whatever VK says"));
        assert!(
            matches!(error, SendError::Permanent(ref m) if m == expected),
            "{code}: {error:?}"
        );
    }
}

#[test]
fn internal_errors_are_retried_and_others_are_permanent() {
    assert!(matches!(
        send_error(200, &vk(10, "Internal server error")),
        SendError::Retry(2000)
    ));
    assert!(matches!(
        send_error(200, &vk(1, "Unknown error occurred")),
        SendError::Retry(2000)
    ));
    let error = send_error(
        200,
        &vk(
            100,
            "One of the parameters specified was missing or invalid",
        ),
    );
    assert!(
        matches!(error, SendError::Permanent(ref m) if m == "VK error 100: One of the parameters specified was missing or invalid")
    );
    // An error body wins even over an error status.
    assert!(matches!(
        send_error(500, &vk(901, "x")),
        SendError::Permanent(ref m) if m.contains("not allowed messages")
    ));
}

#[test]
fn transport_failures_map_by_kind() {
    let timeout = ApiError::from(HttpError::Timeout).into_send_error();
    assert!(matches!(timeout, SendError::Retry(2000)));
    let reset = ApiError::from(HttpError::Transport("connection reset".into()));
    assert!(matches!(reset.into_send_error(), SendError::Retry(2000)));
    let denied = ApiError::from(HttpError::Denied(
        "origin https://x:443 is not allowed".into(),
    ));
    assert!(
        matches!(denied.into_send_error(), SendError::Permanent(ref m) if m == "host not allowed: origin https://x:443 is not allowed")
    );
    assert!(matches!(
        ApiError::from(HttpError::TooLarge).into_send_error(),
        SendError::Permanent(_)
    ));
}

#[test]
fn connect_errors_separate_credentials_from_the_rest() {
    for code in [5, 15, 27] {
        let error = interpret::<Value>(200, vk(code, "Access denied").as_bytes())
            .unwrap_err()
            .into_connect_error();
        assert!(
            matches!(error, ConnectError::AuthFailed(ref m) if m == "Access denied"),
            "{code}"
        );
    }
    let error = interpret::<Value>(200, vk(100, "invalid url").as_bytes())
        .unwrap_err()
        .into_connect_error();
    assert!(
        matches!(error, ConnectError::ProviderError(ref m) if m == "VK error 100: invalid url")
    );
    let error = ApiError::from(HttpError::Timeout).into_connect_error();
    assert!(
        matches!(error, ConnectError::ProviderError(ref m) if m.contains("could not reach VK"))
    );
}

#[test]
fn permission_errors_are_recognised() {
    for code in [7, 15, 27] {
        assert!(ApiError::Vk {
            code,
            message: String::new()
        }
        .lacks_permission());
    }
    assert!(!ApiError::Vk {
        code: 5,
        message: String::new()
    }
    .lacks_permission());
    assert!(!ApiError::Unreachable("x".into()).lacks_permission());
}

#[test]
fn per_peer_errors_read_either_spelling() {
    assert_eq!(
        vk_error(&serde_json::json!({"code": 901, "description": "no permission"})),
        Some(ApiError::Vk {
            code: 901,
            message: "no permission".into()
        })
    );
    assert_eq!(
        vk_error(&serde_json::json!({"error_code": 7, "error_msg": "denied"})),
        Some(ApiError::Vk {
            code: 7,
            message: "denied".into()
        })
    );
    assert_eq!(vk_error(&serde_json::json!("invalid_grant")), None);
}
