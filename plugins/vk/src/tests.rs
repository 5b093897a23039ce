//! The provider as the host sees it: through the `Provider` trait.

use super::*;
use switchboard_plugin_sdk::testing;

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        webhook_secret: "hostSecret_42".into(),
        webhook_url: "https://desk.example/webhooks/vk/w/wk_1".into(),
        ..testing::channel("218000001", config)
    }
}

fn post(body: &str) -> IncomingRequest {
    testing::request("POST", "/webhooks/vk/w/wk_1", body)
}

#[test]
fn manifest_describes_the_plugin() {
    let manifest = Vk.manifest();
    assert_eq!(manifest.id, "vk");
    assert_eq!(manifest.display_name, "VKontakte");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.contract_version, CONTRACT_VERSION);
    assert!(matches!(manifest.routing, RoutingMode::PerWorkspace));
    assert_eq!(
        manifest.allowed_hosts,
        vec![
            "https://api.vk.com",
            "https://oauth.vk.com",
            "https://pu.vk.com",
            "https://vk.com"
        ]
    );

    let fields: Vec<(&str, bool, bool)> = manifest
        .config_fields
        .iter()
        .map(|field| (field.name.as_str(), field.secret, field.required))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("access_token", true, false),
            ("group_id", false, true),
            ("confirmation_code", false, false),
            ("secret", true, false),
            ("api_version", false, false),
            ("api_base", false, false),
        ]
    );
    for field in &manifest.config_fields {
        assert!(!field.label.is_empty(), "{}", field.name);
        assert!(
            field.help.as_deref().is_some_and(|help| help.len() > 20),
            "{}",
            field.name
        );
    }
    assert!(manifest.config_fields[4]
        .help
        .as_deref()
        .is_some_and(|help| help.contains("5.199")));

    let capabilities = manifest.capabilities;
    assert!(capabilities.edits && capabilities.read_receipts);
    assert!(capabilities.attachments && capabilities.groups);
    assert!(!capabilities.deletes && !capabilities.reactions);
    assert_eq!(capabilities.reply_window_secs, None);
    assert_eq!(manifest.limits.memory_bytes, 64 * 1024 * 1024);
    assert_eq!(manifest.limits.call_timeout_ms, 10_000);
    assert_eq!(manifest.limits.max_outbound_body_bytes, 16 * 1024 * 1024);
}

#[test]
fn oauth_starts_with_the_community_id() {
    let oauth = Vk.manifest().oauth.expect("VK connects through OAuth");
    assert_eq!(oauth.start_fields.len(), 1);
    let field = &oauth.start_fields[0];
    assert_eq!(
        (
            field.name.as_str(),
            field.label.as_str(),
            field.secret,
            field.required
        ),
        ("group_id", "Community id", false, true)
    );
    let url = Vk
        .oauth_authorize_url(OauthStart {
            client_id: "51234567".into(),
            redirect_uri: "https://desk.example/oauth/vk/callback".into(),
            state: "s".into(),
            config: vec![("group_id".into(), "218000001".into())],
        })
        .unwrap();
    assert!(url.starts_with("https://oauth.vk.com/authorize?client_id=51234567&"));
}

#[test]
fn misconfigured_channels_fail_without_a_call() {
    assert!(matches!(
        Vk.send(channel(&[]), testing::text_message("55501234", "hi")),
        Err(SendError::Permanent(ref m)) if m.contains("access_token")
    ));
    assert!(matches!(
        Vk.fetch_attachment(channel(&[("api_base", "ftp://x")]), "https://vk.com/x".into()),
        Err(SendError::Permanent(ref m)) if m.contains("api_base")
    ));
    assert!(matches!(
        Vk.fetch_attachment(channel(&[]), String::new()),
        Err(SendError::Permanent(ref m)) if m.contains("no file")
    ));
    assert!(matches!(
        Vk.connect(ConnectRequest {
            config: vec![("group_id".into(), "218000001".into())],
            webhook_secret: "s".into(),
            webhook_url: "https://x".into(),
        }),
        Err(ConnectError::InvalidConfig(ref m)) if m.contains("access_token")
    ));
}

#[test]
fn route_verify_and_normalize_work_through_the_trait() {
    let body = r#"{"group_id":218000001,"type":"message_new","event_id":"ev1","v":"5.199","secret":"hostSecret_42",
        "object":{"message":{"date":1767268800,"from_id":55501234,"id":1842,"out":0,"peer_id":55501234,"text":"Привет","conversation_message_id":97}}}"#;
    assert!(matches!(
        Vk.route(post(body)),
        Routing::Accounts(ref ids) if ids == &vec!["218000001".to_string()]
    ));
    match Vk.verify(channel(&[]), post(body)) {
        Verdict::Accept(Some(response)) => assert_eq!(response.body, b"ok"),
        other => panic!("expected accept, got {other:?}"),
    }
    let events = Vk.normalize(channel(&[]), post(body)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].dedup_key, "event:ev1");
    assert!(
        matches!(events[0].body, EventBody::Message(ref m) if m.provider_message_id == "55501234_97")
    );
}

#[test]
fn read_receipts_get_the_current_time() {
    let body = r#"{"group_id":218000001,"type":"message_read","event_id":"rd","object":{"from_id":5,"peer_id":5,"read_message_id":9,"conversation_message_id":3}}"#;
    let before = now_ms();
    let events = Vk.normalize(channel(&[]), post(body)).unwrap();
    let EventBody::Status(ref status) = events[0].body else {
        panic!("expected a status");
    };
    assert!(status.timestamp_ms >= before && status.timestamp_ms <= now_ms());
}
