//! The provider through its trait: what the host sees.

use super::*;
use switchboard_plugin_sdk::testing;

const PHONE: &str = "106540352242922";
const PATH: &str = "/webhooks/whatsapp";

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        id: "ch_wa".into(),
        webhook_url: "https://hooks.example/webhooks/whatsapp".into(),
        ..testing::channel(PHONE, config)
    }
}

fn post(body: &str, secret: &str) -> IncomingRequest {
    switchboard_meta_graph::testing::signed_post(PATH, body, secret)
}

fn batch(phones: &[&str]) -> String {
    let changes: Vec<String> = phones
        .iter()
        .map(|phone| {
            format!(
                r#"{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"{phone}"}},"contacts":[{{"profile":{{"name":"Ivan"}},"wa_id":"7916"}}],"messages":[{{"from":"7916","id":"wamid.{phone}","timestamp":"1767268800","type":"text","text":{{"body":"hi"}}}}]}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{}]}}]}}"#,
        changes.join(",")
    )
}

#[test]
fn manifest_describes_the_plugin() {
    let manifest = WhatsApp.manifest();
    assert_eq!(manifest.id, "whatsapp");
    assert_eq!(manifest.display_name, "WhatsApp");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.contract_version, CONTRACT_VERSION);
    assert!(matches!(manifest.routing, RoutingMode::Global));
    assert_eq!(
        manifest.allowed_hosts,
        vec!["https://graph.facebook.com", "https://lookaside.fbsbx.com"]
    );
    let fields: Vec<(&str, bool, bool)> = manifest
        .config_fields
        .iter()
        .map(|field| (field.name.as_str(), field.secret, field.required))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("access_token", true, true),
            ("app_secret", true, true),
            ("phone_number_id", false, true),
            ("waba_id", false, false),
            ("verify_token", false, false),
            ("api_base", false, false),
        ]
    );
    assert!(manifest
        .config_fields
        .iter()
        .all(|field| field.help.as_deref().is_some_and(|help| help.len() > 20)));
    let capabilities = manifest.capabilities;
    assert!(!capabilities.edits && !capabilities.deletes && !capabilities.groups);
    assert!(capabilities.reactions && capabilities.read_receipts && capabilities.attachments);
    assert_eq!(capabilities.reply_window_secs, Some(86_400));
    assert_eq!(manifest.limits.memory_bytes, 64 * 1024 * 1024);
    assert_eq!(manifest.limits.call_timeout_ms, 10_000);
    assert_eq!(manifest.limits.max_outbound_body_bytes, 16 * 1024 * 1024);
    assert!(manifest.oauth.is_none());
}

#[test]
fn route_names_every_phone_number_once() {
    let body = batch(&[PHONE, "222", PHONE]);
    match WhatsApp.route(post(&body, "x")) {
        Routing::Accounts(ids) => assert_eq!(ids, vec![PHONE, "222"]),
        other => panic!("expected accounts, got {other:?}"),
    }
    let handshake = switchboard_meta_graph::testing::handshake(
        PATH,
        "hub.mode=subscribe&hub.challenge=5&hub.verify_token=t",
    );
    assert!(matches!(WhatsApp.route(handshake), Routing::Handshake));
    let account_update = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#;
    // An account-level event names no phone number: no account, yet
    // answered once a channel verifies its signature (else Meta retries).
    assert!(matches!(
        WhatsApp.route(post(account_update, "x")),
        Routing::Accounts(ref accounts) if accounts.is_empty()
    ));
    assert!(matches!(
        WhatsApp.route(post("{", "x")),
        Routing::Unroutable(_)
    ));
}

#[test]
fn each_channel_gets_its_own_part_of_a_batch() {
    let body = batch(&[PHONE, "222"]);
    let secret = [("app_secret", "meta-app-secret")];
    assert!(matches!(
        WhatsApp.verify(channel(&secret), post(&body, "meta-app-secret")),
        Verdict::Accept(None)
    ));
    assert!(matches!(
        WhatsApp.verify(channel(&secret), post(&body, "forged")),
        Verdict::Reject(ref r) if r.status == 401
    ));
    let mine = WhatsApp
        .normalize(channel(&secret), post(&body, "meta-app-secret"))
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].dedup_key, format!("wamid.{PHONE}"));
    let mut other = channel(&secret);
    other.provider_account_id = "222".into();
    let theirs = WhatsApp
        .normalize(other, post(&body, "meta-app-secret"))
        .unwrap();
    assert_eq!(theirs[0].dedup_key, "wamid.222");
}

#[test]
fn misconfigured_channels_fail_without_a_call() {
    let message = testing::text_message("7916", "hi");
    assert!(matches!(
        WhatsApp.send(channel(&[]), message.clone()),
        Err(SendError::Permanent(ref m)) if m.contains("access_token")
    ));
    let mut unnamed = channel(&[("access_token", "t")]);
    unnamed.provider_account_id = String::new();
    assert!(matches!(
        WhatsApp.send(unnamed, message.clone()),
        Err(SendError::Permanent(ref m)) if m.contains("phone_number_id")
    ));
    let mut long = message;
    long.text = Some("a".repeat(4097));
    assert!(matches!(
        WhatsApp.send(channel(&[("access_token", "t")]), long),
        Err(SendError::Permanent(ref m)) if m.contains("4096")
    ));
    assert!(matches!(
        WhatsApp.fetch_attachment(channel(&[("access_token", "t")]), String::new()),
        Err(SendError::Permanent(_))
    ));
    assert!(matches!(
        WhatsApp.connect(testing::connect_request(&[("access_token", "t")], "s", "")),
        Err(ConnectError::InvalidConfig(ref m)) if m.contains("app_secret")
    ));
    assert!(matches!(
        WhatsApp.oauth_authorize_url(OauthStart {
            client_id: "1".into(),
            redirect_uri: "https://x".into(),
            state: "s".into(),
            config: vec![],
        }),
        Err(ConnectError::InvalidConfig(_))
    ));
}
