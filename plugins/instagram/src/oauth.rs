//! Business Login for Instagram: the authorize URL, the code exchange and
//! the long-lived token. Only this login connects through OAuth; a Facebook
//! Login channel is connected with a pasted Page token.

use serde::Deserialize;
use switchboard_meta_graph::payload::{optional_id, optional_u64};
use switchboard_meta_graph::{interpret, Call, Failure};
use switchboard_plugin_sdk::channel::config_value;
use switchboard_plugin_sdk::encode;
use switchboard_plugin_sdk::{ConnectError, OauthStart};

use crate::account::{Api, AUTHORIZE_URL, LOGIN};

/// What the channel needs: the profile, and messaging.
pub(crate) const SCOPES: &str = "instagram_business_basic,instagram_business_manage_messages";

pub(crate) fn authorize_url(start: &OauthStart) -> Result<String, ConnectError> {
    if config_value(&start.config, LOGIN)
        .is_some_and(|login| !login.eq_ignore_ascii_case("instagram"))
    {
        return Err(ConnectError::InvalidConfig(
            "OAuth connects through Business Login for Instagram only; for Facebook Login, paste a Page access token instead".into(),
        ));
    }
    let required = |value: &str, what: &str| {
        let value = value.trim();
        if value.is_empty() {
            Err(ConnectError::InvalidConfig(format!(
                "the OAuth {what} is missing"
            )))
        } else {
            Ok(value.to_string())
        }
    };
    let client_id = required(&start.client_id, "client id")?;
    let redirect_uri = required(&start.redirect_uri, "redirect URI")?;
    let state = required(&start.state, "state")?;
    let base = match config_value(&start.config, "api_base") {
        Some(base) => format!("{}/oauth/authorize", base.trim_end_matches('/')),
        None => AUTHORIZE_URL.to_string(),
    };
    let query = encode::pairs(&[
        ("client_id", &client_id),
        ("redirect_uri", &redirect_uri),
        ("response_type", "code"),
        ("scope", SCOPES),
        ("state", &state),
    ]);
    Ok(format!("{base}?{query}"))
}

/// What the host passes to `connect` after the redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeGrant {
    pub code: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub client_secret: String,
}

impl CodeGrant {
    /// Instagram appends `#_` to the redirect; a browser keeps the fragment
    /// out of the query, but a pasted code may still carry it.
    pub fn clean_code(&self) -> &str {
        self.code.trim().trim_end_matches("#_")
    }
}

/// `POST api.instagram.com/oauth/access_token`, form-encoded.
pub(crate) fn exchange_code(api: &Api, grant: &CodeGrant) -> Call {
    let body = encode::pairs(&[
        ("client_id", &grant.client_id),
        ("client_secret", &grant.client_secret),
        ("grant_type", "authorization_code"),
        ("redirect_uri", &grant.redirect_uri),
        ("code", grant.clean_code()),
    ]);
    Call::post(api.oauth("oauth/access_token"))
        .form(body)
        .hide(&grant.client_secret)
        .hide(grant.clean_code())
}

/// The one-hour token the code buys.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct ShortLived {
    pub access_token: String,
    #[serde(default, deserialize_with = "optional_id")]
    pub user_id: Option<String>,
}

/// Documented as `{"data":[{…}]}`, also seen flat.
#[derive(Deserialize)]
#[serde(untagged)]
enum Exchanged {
    Wrapped { data: Vec<ShortLived> },
    Flat(ShortLived),
}

pub(crate) fn read_exchange(status: u16, body: &[u8]) -> Result<ShortLived, Failure> {
    match interpret::<Exchanged>(status, body)? {
        Exchanged::Flat(token) => Ok(token),
        Exchanged::Wrapped { data } => data.into_iter().next().ok_or_else(|| {
            Failure::Unexpected("Instagram exchanged the code but returned no token".into())
        }),
    }
}

/// `GET graph.instagram.com/access_token?grant_type=ig_exchange_token…`:
/// the short-lived token for one that lasts about 60 days.
pub(crate) fn long_lived(api: &Api, client_secret: &str, short_token: &str) -> Call {
    let query = encode::pairs(&[
        ("grant_type", "ig_exchange_token"),
        ("client_secret", client_secret),
        ("access_token", short_token),
    ]);
    Call::get(api.graph_unversioned(&format!("access_token?{query}")))
        .hide(client_secret)
        .hide(short_token)
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct LongLived {
    pub access_token: String,
    /// Seconds.
    #[serde(default, deserialize_with = "optional_u64")]
    pub expires_in: Option<u64>,
}

pub(crate) fn read_long_lived(status: u16, body: &[u8]) -> Result<LongLived, Failure> {
    interpret(status, body)
}

/// Unix seconds the token expires at. A guest clock reading before 2020 is
/// not a clock, and a wrong expiry is worse than none.
pub(crate) fn expires_at(now_secs: Option<u64>, expires_in: Option<u64>) -> Option<u64> {
    const EARLIEST_PLAUSIBLE: u64 = 1_577_836_800;
    let now = now_secs.filter(|&now| now >= EARLIEST_PLAUSIBLE)?;
    Some(now.saturating_add(expires_in?))
}

pub(crate) fn now_secs() -> Option<u64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_meta_graph::Body;
    use switchboard_plugin_sdk::testing;

    fn start(config: &[(&str, &str)]) -> OauthStart {
        OauthStart {
            client_id: "990011223344".into(),
            redirect_uri: "https://inbox.example/oauth/instagram/callback".into(),
            state: "st.a+b/c=".into(),
            config: testing::config(config),
        }
    }

    fn api(pairs: &[(&str, &str)]) -> Api {
        Api::from_config(&testing::settings(pairs)).unwrap()
    }

    fn grant() -> CodeGrant {
        CodeGrant {
            code: "AQBx-code#_".into(),
            redirect_uri: "https://inbox.example/oauth/instagram/callback".into(),
            client_id: "990011223344".into(),
            client_secret: "ig-app-secret".into(),
        }
    }

    #[test]
    fn authorize_url_is_fully_encoded() {
        assert_eq!(
            authorize_url(&start(&[])).unwrap(),
            "https://www.instagram.com/oauth/authorize?client_id=990011223344\
             &redirect_uri=https%3A%2F%2Finbox.example%2Foauth%2Finstagram%2Fcallback\
             &response_type=code\
             &scope=instagram_business_basic%2Cinstagram_business_manage_messages\
             &state=st.a%2Bb%2Fc%3D"
        );
    }

    #[test]
    fn authorize_url_follows_api_base() {
        let url = authorize_url(&start(&[("api_base", "http://127.0.0.1:9100/")])).unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9100/oauth/authorize?client_id=990011223344&"),
            "{url}"
        );
    }

    #[test]
    fn authorize_url_needs_its_parts_and_instagram_login() {
        let mut missing = start(&[]);
        missing.client_id = " ".into();
        assert!(matches!(
            authorize_url(&missing),
            Err(ConnectError::InvalidConfig(ref m)) if m.contains("client id")
        ));
        let mut missing = start(&[]);
        missing.state = String::new();
        assert!(matches!(
            authorize_url(&missing),
            Err(ConnectError::InvalidConfig(_))
        ));
        assert!(matches!(
            authorize_url(&start(&[("login", "facebook")])),
            Err(ConnectError::InvalidConfig(ref m)) if m.contains("Page access token")
        ));
        assert!(authorize_url(&start(&[("login", "instagram")])).is_ok());
    }

    #[test]
    fn the_code_is_exchanged_with_a_form() {
        let call = exchange_code(&api(&[]), &grant());
        assert_eq!(call.method, "POST");
        assert_eq!(call.url, "https://api.instagram.com/oauth/access_token");
        assert_eq!(call.bearer, None);
        assert_eq!(
            call.body,
            Body::Form(
                "client_id=990011223344&client_secret=ig-app-secret&grant_type=authorization_code\
                 &redirect_uri=https%3A%2F%2Finbox.example%2Foauth%2Finstagram%2Fcallback&code=AQBx-code"
                    .into()
            )
        );
        let fake = exchange_code(&api(&[("api_base", "http://127.0.0.1:9100")]), &grant());
        assert_eq!(fake.url, "http://127.0.0.1:9100/oauth/access_token");
    }

    #[test]
    fn both_exchange_shapes_are_read() {
        let wrapped = read_exchange(
            200,
            br#"{"data":[{"access_token":"IGAAshort","user_id":"27000000000000001","permissions":"instagram_business_basic,instagram_business_manage_messages"}]}"#,
        )
        .unwrap();
        let flat = read_exchange(
            200,
            br#"{"access_token":"IGAAshort","user_id":27000000000000001,"permissions":["instagram_business_basic"]}"#,
        )
        .unwrap();
        assert_eq!(wrapped, flat);
        assert_eq!(flat.user_id.as_deref(), Some("27000000000000001"));
        assert!(matches!(
            read_exchange(200, br#"{"data":[]}"#),
            Err(Failure::Unexpected(_))
        ));
        let refused = read_exchange(
            400,
            br#"{"error_type":"OAuthException","code":400,"error_message":"This authorization code has expired"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            refused.into_connect_error(),
            ConnectError::AuthFailed(ref m) if m == "This authorization code has expired"
        ));
    }

    #[test]
    fn the_long_lived_exchange_is_a_get_with_the_secret() {
        let call = long_lived(&api(&[]), "ig-app-secret", "IGAA short/+");
        assert_eq!(call.method, "GET");
        assert_eq!(
            call.url,
            "https://graph.instagram.com/access_token?grant_type=ig_exchange_token\
             &client_secret=ig-app-secret&access_token=IGAA%20short%2F%2B"
        );
        let token = read_long_lived(
            200,
            br#"{"access_token":"IGAAlong","token_type":"bearer","expires_in":5183944}"#,
        )
        .unwrap();
        assert_eq!(token.access_token, "IGAAlong");
        assert_eq!(token.expires_in, Some(5_183_944));
    }

    #[test]
    fn expiry_needs_a_plausible_clock() {
        assert_eq!(
            expires_at(Some(1_767_268_800), Some(5_184_000)),
            Some(1_772_452_800)
        );
        assert_eq!(expires_at(Some(0), Some(5_184_000)), None);
        assert_eq!(expires_at(None, Some(5_184_000)), None);
        assert_eq!(expires_at(Some(1_767_268_800), None), None);
    }
}
