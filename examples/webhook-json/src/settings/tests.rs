use super::*;
use switchboard_plugin_sdk::ConnectRequest;

fn request(fields: &[(&str, &str)]) -> ConnectRequest {
    ConnectRequest {
        config: fields
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
        webhook_secret: "generated".into(),
        webhook_url: "https://inbox.example.com/webhooks/webhook-json/k1".into(),
    }
}

const VALID: [(&str, &str); 3] = [
    ("account_id", "inbox-7"),
    ("signing_secret", "0123456789abcdef"),
    ("api_base", "https://crm.example.com"),
];

fn with(field: &str, value: &str) -> Result<Settings, String> {
    let mut fields: Vec<(&str, &str)> =
        VALID.iter().copied().filter(|(k, _)| *k != field).collect();
    fields.push((field, value));
    Settings::read(&request(&fields))
}

#[test]
fn valid_settings_default_the_send_path() {
    let settings = Settings::read(&request(&VALID)).unwrap();
    assert_eq!(
        settings,
        Settings {
            account_id: "inbox-7".into(),
            signing_secret: "0123456789abcdef".into(),
            origin: "https://crm.example.com".into(),
            send_path: "/switchboard/messages".into(),
        }
    );
    assert_eq!(
        settings.send_url(),
        "https://crm.example.com/switchboard/messages"
    );
}

#[test]
fn a_custom_send_path_is_appended_to_the_origin() {
    let settings = with("send_path", "/api/v2/inbox/replies?source=switchboard").unwrap();
    assert_eq!(
        settings.send_url(),
        "https://crm.example.com/api/v2/inbox/replies?source=switchboard"
    );
}

#[test]
fn each_missing_field_is_named() {
    for missing in ["account_id", "signing_secret", "api_base"] {
        let fields: Vec<(&str, &str)> = VALID
            .iter()
            .copied()
            .filter(|(k, _)| *k != missing)
            .collect();
        let error = Settings::read(&request(&fields)).unwrap_err();
        assert_eq!(
            error,
            format!("configuration field `{missing}` is required")
        );
        // A blank value counts as missing.
        let error = with(missing, "   ").unwrap_err();
        assert!(error.contains(&format!("`{missing}`")), "{error}");
    }
}

#[test]
fn short_secrets_and_odd_account_ids_are_refused() {
    let error = with("signing_secret", "fifteen-chars!!").unwrap_err();
    assert_eq!(error, "`signing_secret` must be at least 16 characters");
    assert!(with("signing_secret", "sixteen-chars!!!").is_ok());

    assert!(with("account_id", "a\u{7}b")
        .unwrap_err()
        .contains("`account_id`"));
    assert!(with("account_id", &"x".repeat(257))
        .unwrap_err()
        .contains("at most 256"));
    assert!(with("account_id", &"x".repeat(256)).is_ok());
}

#[test]
fn api_base_must_be_a_bare_origin() {
    for (given, expected) in [
        ("https://crm.example.com", "https://crm.example.com"),
        ("https://crm.example.com/", "https://crm.example.com"),
        ("HTTPS://CRM.Example.com", "https://crm.example.com"),
        ("https://crm.example.com:443", "https://crm.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:80", "http://localhost"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
    ] {
        let settings = with("api_base", given).unwrap_or_else(|e| panic!("{given}: {e}"));
        assert_eq!(settings.origin, expected, "{given}");
    }
    for bad in [
        "crm.example.com",
        "ftp://crm.example.com",
        "https://",
        "https://crm.example.com/api",
        "https://crm.example.com?x=1",
        "https://user@crm.example.com",
        "https://crm.example.com:0",
        "https://crm.example.com:99999",
        "https://crm.example.com:+80",
        "https://crm example.com",
        "https://crm_example.com",
        "http://[::1",
        "http://[::1]x",
        "http://[zz::1]",
    ] {
        let error = with("api_base", bad).unwrap_err();
        assert!(
            error.starts_with("`api_base` must be an origin"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn api_base_errors_say_what_is_wrong() {
    let error = with("api_base", "https://crm.example.com/api/v1").unwrap_err();
    assert_eq!(
        error,
        "`api_base` must be an origin such as https://crm.example.com: it has more than an \
         origin (`/api/v1`); give the scheme, host and port only"
    );
    assert!(with("api_base", "https://u:p@crm.example.com")
        .unwrap_err()
        .ends_with("user info; credentials do not belong in the URL"));
    assert!(with("api_base", "crm.example.com")
        .unwrap_err()
        .ends_with("it has no scheme"));
    assert!(with("api_base", "https://crm.example.com:8o")
        .unwrap_err()
        .ends_with("`8o` is not a port"));
}

#[test]
fn send_path_must_be_an_absolute_path() {
    assert!(with("send_path", "messages")
        .unwrap_err()
        .contains("must start with `/`"));
    assert!(with("send_path", "/a b").unwrap_err().contains("spaces"));
    assert!(with("send_path", "/a#b").unwrap_err().contains("fragment"));
}

#[test]
fn origins_of_attachment_urls() {
    assert_eq!(
        origin_of_url("https://CRM.example.com:443/files/1.png?sig=abc").unwrap(),
        "https://crm.example.com"
    );
    assert_eq!(
        origin_of_url("http://127.0.0.1:8080").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(
        origin_of_url("https://crm.example.com#top").unwrap(),
        "https://crm.example.com"
    );
    assert!(origin_of_url("files/1.png").is_err());
    assert!(origin_of_url("data://x/1").is_err());
}
