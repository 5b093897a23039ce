//! The provider through its trait: what the host sees.

use super::*;
use switchboard_plugin_sdk::testing;

const ACCOUNT: &str = "17841400000000001";
const PATH: &str = "/webhooks/instagram";

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        id: "ch_ig".into(),
        webhook_url: "https://hooks.example/webhooks/instagram".into(),
        ..testing::channel(ACCOUNT, config)
    }
}

fn post(body: &str, secret: &str) -> IncomingRequest {
    switchboard_meta_graph::testing::signed_post(PATH, body, secret)
}

#[test]
fn manifest_describes_the_plugin() {
    let manifest = Instagram.manifest();
    assert_eq!(manifest.id, "instagram");
    assert_eq!(manifest.display_name, "Instagram");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.contract_version, CONTRACT_VERSION);
    assert!(matches!(manifest.routing, RoutingMode::Global));
    assert_eq!(
        manifest.allowed_hosts,
        vec![
            "https://graph.instagram.com",
            "https://api.instagram.com",
            "https://graph.facebook.com",
            "https://lookaside.fbsbx.com"
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
            ("app_secret", true, false),
            ("verify_token", false, false),
            ("login", false, false),
            ("api_base", false, false),
        ]
    );
    assert!(manifest
        .config_fields
        .iter()
        .all(|field| field.help.as_deref().is_some_and(|help| help.len() > 20)));
    let capabilities = manifest.capabilities;
    assert!(capabilities.edits && capabilities.deletes && capabilities.reactions);
    assert!(capabilities.read_receipts && capabilities.attachments);
    assert!(!capabilities.groups);
    assert_eq!(capabilities.reply_window_secs, Some(86_400));
    assert_eq!(manifest.limits.memory_bytes, 64 * 1024 * 1024);
    assert_eq!(manifest.limits.call_timeout_ms, 10_000);
    assert_eq!(manifest.limits.max_outbound_body_bytes, 25 * 1024 * 1024);
    assert!(matches!(manifest.oauth, Some(ref oauth) if oauth.start_fields.is_empty()));
}

#[test]
fn route_names_every_account_once() {
    let body = r#"{"object":"instagram","entry":[{"id":"1","messaging":[]},{"id":"2","messaging":[]},{"id":"1","messaging":[]}]}"#;
    match Instagram.route(post(body, "x")) {
        Routing::Accounts(ids) => assert_eq!(ids, vec!["1", "2"]),
        other => panic!("expected accounts, got {other:?}"),
    }
    let handshake = switchboard_meta_graph::testing::handshake(
        PATH,
        "hub.mode=subscribe&hub.challenge=5&hub.verify_token=t",
    );
    assert!(matches!(Instagram.route(handshake), Routing::Handshake));
    assert!(matches!(
        Instagram.route(post(r#"{"object":"instagram"}"#, "x")),
        Routing::Unroutable(_)
    ));
    assert!(matches!(
        Instagram.route(post(r#"{"object":"instagram","entry":[]}"#, "x")),
        Routing::Accounts(ref accounts) if accounts.is_empty()
    ));
}

#[test]
fn verify_and_normalize_through_the_trait() {
    let body = format!(
        r#"{{"object":"instagram","entry":[{{"id":"{ACCOUNT}","time":1,"messaging":[{{"sender":{{"id":"618"}},"recipient":{{"id":"{ACCOUNT}"}},"timestamp":2,"message":{{"mid":"m1","text":"hi"}}}}]}}]}}"#
    );
    let channel = channel(&[("app_secret", "app-secret"), ("access_token", "t")]);
    assert!(matches!(
        Instagram.verify(channel.clone(), post(&body, "app-secret")),
        Verdict::Accept(None)
    ));
    assert!(matches!(
        Instagram.verify(channel.clone(), post(&body, "forged")),
        Verdict::Reject(ref r) if r.status == 401
    ));
    let events = Instagram
        .normalize(channel, post(&body, "app-secret"))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].dedup_key, "m1");
}

#[test]
fn misconfigured_channels_fail_without_a_call() {
    let message = testing::text_message("618", "hi");
    assert!(matches!(
        Instagram.send(channel(&[]), message.clone()),
        Err(SendError::Permanent(ref m)) if m.contains("access_token")
    ));
    assert!(matches!(
        Instagram.send(channel(&[("access_token", "t"), ("login", "x")]), message.clone()),
        Err(SendError::Permanent(ref m)) if m.contains("login")
    ));
    // Limits are checked before anything goes out.
    let mut long = message;
    long.text = Some("a".repeat(1001));
    assert!(matches!(
        Instagram.send(channel(&[("access_token", "t")]), long),
        Err(SendError::Permanent(ref m)) if m.contains("1000 bytes")
    ));
    assert!(matches!(
        Instagram.fetch_attachment(channel(&[]), String::new()),
        Err(SendError::Permanent(_))
    ));
    assert!(matches!(
        Instagram.connect(testing::connect_request(&[], "s", "")),
        Err(ConnectError::InvalidConfig(ref m)) if m.contains("access_token")
    ));
}
