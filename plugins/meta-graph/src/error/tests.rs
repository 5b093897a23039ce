use super::*;

fn failure(status: u16, body: &str) -> Failure {
    interpret::<Value>(status, body.as_bytes()).expect_err("an error answer")
}

#[test]
fn reads_the_graph_error_object() {
    let body = r#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_subcode":2494010,"error_data":{"messaging_product":"whatsapp","details":"More than 24 hours have passed since the customer last replied."},"fbtrace_id":"AbCdEf"}}"#;
    let Failure::Graph { status, error } = failure(400, body) else {
        panic!("expected a Graph error");
    };
    assert_eq!(status, 400);
    assert_eq!(
        *error,
        GraphError {
            message: "(#131047) Re-engagement message".into(),
            kind: Some("OAuthException".into()),
            code: Some(131047),
            subcode: Some(2494010),
            details: Some("More than 24 hours have passed since the customer last replied.".into()),
            fbtrace_id: Some("AbCdEf".into()),
        }
    );
    assert_eq!(
        error.text(),
        "(#131047) Re-engagement message: More than 24 hours have passed since the customer last replied."
    );
}

#[test]
fn reads_the_flat_oauth_error() {
    let body = r#"{"error_type":"OAuthException","code":400,"error_message":"Invalid authorization code"}"#;
    let error = failure(400, body);
    assert_eq!(error.code(), Some(400));
    assert_eq!(error.describe(), "Invalid authorization code");
    assert_eq!(
        error.graph_error().and_then(|e| e.kind.as_deref()),
        Some("OAuthException")
    );
    let described = failure(
        400,
        r#"{"error":"invalid_request","error_description":"bad code"}"#,
    );
    assert_eq!(described.describe(), "bad code");
}

#[test]
fn an_error_object_wins_over_a_success_status() {
    let error = failure(
        200,
        r#"{"error":{"message":"Invalid OAuth access token.","code":"190"}}"#,
    );
    assert_eq!(error.code(), Some(190));
    assert!(matches!(error, Failure::Graph { status: 200, .. }));
}

#[test]
fn non_json_bodies_fall_back_to_the_status() {
    let error = failure(502, "<html>Bad Gateway</html>");
    assert!(error.describe().starts_with("HTTP 502: <html>Bad Gateway"));
    assert_eq!(failure(503, "").describe(), "HTTP 503");
    assert!(matches!(failure(200, "<html>"), Failure::Unexpected(_)));
    // JSON without an error object under an error status.
    assert_eq!(
        failure(404, r#"{"x":1}"#).describe(),
        r#"HTTP 404: {"x":1}"#
    );
}

#[test]
fn successes_deserialize_or_are_unexpected() {
    #[derive(serde::Deserialize)]
    struct Sent {
        message_id: String,
    }
    let sent: Sent = interpret(200, br#"{"recipient_id":"1","message_id":"m"}"#).unwrap();
    assert_eq!(sent.message_id, "m");
    assert!(matches!(
        interpret::<Sent>(200, br#"{"recipient_id":"1"}"#),
        Err(Failure::Unexpected(_))
    ));
    assert!(interpret_success(200, br#"{"success":true}"#).is_ok());
    assert!(matches!(
        interpret_success(200, br#"{"success":false}"#),
        Err(Failure::Unexpected(_))
    ));
}

#[test]
fn text_skips_details_it_already_holds_and_names_bare_codes() {
    let error = GraphError {
        message: "Message failed: spam".into(),
        details: Some("spam".into()),
        ..GraphError::default()
    };
    assert_eq!(error.text(), "Message failed: spam");
    let bare = GraphError {
        code: Some(2),
        ..GraphError::default()
    };
    assert_eq!(bare.text(), "Graph API error 2");
    let user_message = failure(
        400,
        r#"{"error":{"message":"Invalid parameter","code":100,"error_user_msg":"The recipient is not available."}}"#,
    );
    assert_eq!(
        user_message.describe(),
        "Invalid parameter: The recipient is not available."
    );
}

#[test]
fn fallback_send_errors() {
    assert!(matches!(
        failure(500, r#"{"error":{"message":"oops","code":1}}"#).into_send_error(),
        SendError::Retry(RETRY_AFTER_MS)
    ));
    assert!(matches!(
        failure(400, r#"{"error":{"message":"try later","code":2}}"#).into_send_error(),
        SendError::Retry(RETRY_AFTER_MS)
    ));
    assert!(matches!(
        failure(503, "").into_send_error(),
        SendError::Retry(RETRY_AFTER_MS)
    ));
    assert!(matches!(
        failure(429, "").into_send_error(),
        SendError::RateLimited(THROTTLED_MS)
    ));
    assert!(matches!(
        failure(400, r#"{"error":{"message":"limit","code":613}}"#).into_send_error(),
        SendError::RateLimited(THROTTLED_MS)
    ));
    assert!(matches!(
        failure(400, r#"{"error":{"message":"Invalid parameter","code":100}}"#).into_send_error(),
        SendError::Permanent(ref m) if m == "Invalid parameter"
    ));
    assert!(matches!(
        Failure::from(HttpError::Timeout).into_send_error(),
        SendError::Retry(RETRY_AFTER_MS)
    ));
    assert!(matches!(
        Failure::from(HttpError::Transport("reset".into())).into_send_error(),
        SendError::Retry(RETRY_AFTER_MS)
    ));
    assert!(matches!(
        Failure::from(HttpError::Denied("origin not allowed".into())).into_send_error(),
        SendError::Permanent(ref m) if m == "origin not allowed"
    ));
    assert!(matches!(
        Failure::from(HttpError::TooLarge).into_send_error(),
        SendError::Permanent(_)
    ));
}

#[test]
fn connect_errors_blame_credentials_only_when_meta_refused_them() {
    let token = failure(
        400,
        r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}}"#,
    );
    assert!(matches!(
        token.into_connect_error(),
        ConnectError::AuthFailed(ref m) if m.contains("Session has expired")
    ));
    let code = failure(
        400,
        r#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has been used"}"#,
    );
    assert!(matches!(
        code.into_connect_error(),
        ConnectError::AuthFailed(ref m) if m == "This authorization code has been used"
    ));
    for busy in [
        failure(
            500,
            r#"{"error":{"message":"An unknown error occurred","code":1}}"#,
        ),
        failure(
            400,
            r#"{"error":{"message":"Application request limit reached","code":4}}"#,
        ),
        failure(502, ""),
        Failure::from(HttpError::Timeout),
    ] {
        assert!(matches!(
            busy.into_connect_error(),
            ConnectError::ProviderError(_)
        ));
    }
}
