use super::*;

const SECRET: &str = "whsec-0123456789abcdef";

fn channel(config: &[(&str, &str)]) -> Channel {
    Channel {
        id: "ch_1".into(),
        workspace_id: "ws_1".into(),
        provider_account_id: "inbox-7".into(),
        config: config
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
        webhook_secret: "host-generated".into(),
        webhook_url: "https://inbox.example.com/webhooks/webhook-json/k1".into(),
    }
}

fn configured() -> Channel {
    channel(&[
        ("account_id", "inbox-7"),
        ("signing_secret", SECRET),
        ("api_base", "https://crm.example.com"),
    ])
}

#[test]
fn manifest_describes_the_plugin() {
    let manifest = WebhookJson.manifest();
    assert_eq!(manifest.id, "webhook-json");
    assert_eq!(manifest.display_name, "JSON webhook");
    assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest.contract_version, CONTRACT_VERSION);
    assert_eq!(manifest.routing, RoutingMode::PerAccount);
    assert!(manifest.allowed_hosts.is_empty());
    assert!(manifest.oauth.is_none());

    let fields: Vec<(&str, bool, bool)> = manifest
        .config_fields
        .iter()
        .map(|field| (field.name.as_str(), field.secret, field.required))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("account_id", false, true),
            ("signing_secret", true, true),
            ("api_base", false, true),
            ("send_path", false, false),
        ]
    );
    assert!(manifest.config_fields[3]
        .help
        .as_deref()
        .is_some_and(|help| help.contains("/switchboard/messages")));

    let capabilities = manifest.capabilities;
    assert!(capabilities.edits && capabilities.deletes && capabilities.reactions);
    assert!(capabilities.read_receipts && capabilities.attachments && capabilities.groups);
    assert_eq!(capabilities.reply_window_secs, None);
    assert_eq!(manifest.limits.memory_bytes, 32 * 1024 * 1024);
    assert_eq!(manifest.limits.call_timeout_ms, 5_000);
    assert_eq!(manifest.limits.max_outbound_body_bytes, 8 * 1024 * 1024);
}

#[test]
fn verify_and_normalize_work_through_the_trait() {
    let body = br#"{"event_id":"e-1","type":"echo","timestamp":1767268800000,"thread":{"id":"t-1","kind":"direct"},"message":{"id":"crm-out-1","text":"sent from the CRM"}}"#;
    let request = IncomingRequest {
        method: "POST".into(),
        path: "/webhooks/webhook-json/k1".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            (signature::HEADER.into(), signature::sign(SECRET, body)),
        ],
        body: body.to_vec(),
    };
    assert!(matches!(
        WebhookJson.verify(configured(), request.clone()),
        Verdict::Accept(Some(ref response)) if response.body == verify::ACCEPTED_BODY.as_bytes()
    ));
    let events = WebhookJson.normalize(configured(), request).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].dedup_key, "event:e-1");
    assert!(
        matches!(&events[0].body, EventBody::Echo(message) if message.sender.id == "inbox-7"),
        "the channel's account sends echoes that name no sender"
    );
}

#[test]
fn misconfigured_channels_fail_without_a_call() {
    let message = OutboundMessage {
        message_id: "01JA7Q3M8Z".into(),
        thread_id: "t-1".into(),
        recipient_id: "u-1".into(),
        text: Some("hi".into()),
        attachment: None,
        reply_to: None,
    };
    let no_base = channel(&[("account_id", "inbox-7"), ("signing_secret", SECRET)]);
    assert!(matches!(
        WebhookJson.send(no_base.clone(), message),
        Err(SendError::Permanent(ref reason)) if reason.contains("`api_base`")
    ));
    assert!(matches!(
        WebhookJson.fetch_attachment(no_base, "https://crm.example.com/f/1".into()),
        Err(SendError::Permanent(ref reason)) if reason.contains("`api_base`")
    ));
    assert!(matches!(
        WebhookJson.fetch_attachment(configured(), "https://elsewhere.example/f/1".into()),
        Err(SendError::Permanent(ref reason)) if reason.contains("may only download")
    ));
}

#[test]
fn connect_and_disconnect_make_no_call() {
    let request = ConnectRequest {
        config: configured().config,
        webhook_secret: "host-generated".into(),
        webhook_url: "https://inbox.example.com/webhooks/webhook-json/k1".into(),
    };
    let connected = WebhookJson.connect(request).unwrap();
    assert_eq!(connected.provider_account_id, "inbox-7");
    assert_eq!(connected.display_name, "JSON webhook inbox-7");
    assert_eq!(WebhookJson.disconnect(configured()), Ok(()));
}
