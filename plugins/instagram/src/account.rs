//! Where a channel's calls go, from its configuration.
//!
//! Two logins reach Instagram messaging. Business Login for Instagram uses
//! an Instagram user token on `graph.instagram.com`; Facebook Login uses the
//! token of the Facebook Page linked to the account, on `graph.facebook.com`.
//! A channel's `api_base` replaces every origin (tests run a fake Meta there).

use switchboard_meta_graph::call::{versioned, with_origin};
use switchboard_plugin_sdk::channel::Config;

pub(crate) const GRAPH_INSTAGRAM: &str = "https://graph.instagram.com";
pub(crate) const GRAPH_FACEBOOK: &str = "https://graph.facebook.com";
/// Only the OAuth code exchange lives here.
pub(crate) const API_INSTAGRAM: &str = "https://api.instagram.com";
/// Where Instagram's inbound media links point (the PROVIDERS.md sample).
pub(crate) const CDN: &str = "https://lookaside.fbsbx.com";
pub(crate) const AUTHORIZE_URL: &str = "https://www.instagram.com/oauth/authorize";

/// Config keys.
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const LOGIN: &str = "login";
pub(crate) const PAGE_ID: &str = "page_id";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Login {
    /// Business Login for Instagram (the default).
    Instagram,
    /// Facebook Login for Business, with a Page token.
    Facebook,
}

impl Login {
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        match config.get(LOGIN).map(str::to_ascii_lowercase).as_deref() {
            None | Some("instagram") => Ok(Login::Instagram),
            Some("facebook") => Ok(Login::Facebook),
            Some(other) => Err(format!(
                "`login` must be `instagram` or `facebook`, not `{other}`"
            )),
        }
    }
}

/// The origins one channel talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Api {
    pub login: Login,
    graph: String,
    oauth: String,
    /// The channel's `api_base`, when set.
    override_base: Option<String>,
}

impl Api {
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        let login = Login::from_config(config)?;
        let override_base = config
            .get("api_base")
            .map(|base| base.trim_end_matches('/').to_string());
        if let Some(base) = &override_base {
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(format!(
                    "`api_base` must be an http(s) URL such as {GRAPH_INSTAGRAM}"
                ));
            }
        }
        let default_graph = match login {
            Login::Instagram => GRAPH_INSTAGRAM,
            Login::Facebook => GRAPH_FACEBOOK,
        };
        Ok(Api {
            login,
            graph: override_base
                .clone()
                .unwrap_or_else(|| default_graph.into()),
            oauth: override_base
                .clone()
                .unwrap_or_else(|| API_INSTAGRAM.into()),
            override_base,
        })
    }

    /// `{graph}/v25.0/{path}`.
    pub fn graph(&self, path: &str) -> String {
        versioned(&self.graph, path)
    }

    /// `{graph}/{path}`, for the token endpoints Meta does not version.
    pub fn graph_unversioned(&self, path: &str) -> String {
        format!("{}/{}", self.graph, path.trim_start_matches('/'))
    }

    /// `{api.instagram.com}/{path}`.
    pub fn oauth(&self, path: &str) -> String {
        format!("{}/{}", self.oauth, path.trim_start_matches('/'))
    }

    /// A URL Meta handed out (a CDN link), moved onto `api_base` when set.
    pub fn rebase(&self, url: &str) -> Option<String> {
        match &self.override_base {
            Some(base) => with_origin(url, base),
            None => Some(url.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::settings;

    #[test]
    fn instagram_login_is_the_default() {
        let api = Api::from_config(&settings(&[])).unwrap();
        assert_eq!(api.login, Login::Instagram);
        assert_eq!(
            api.graph("me/messages"),
            "https://graph.instagram.com/v25.0/me/messages"
        );
        assert_eq!(
            api.graph_unversioned("access_token?x=1"),
            "https://graph.instagram.com/access_token?x=1"
        );
        assert_eq!(
            api.oauth("oauth/access_token"),
            "https://api.instagram.com/oauth/access_token"
        );
        let cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=123";
        assert_eq!(api.rebase(cdn).as_deref(), Some(cdn));
    }

    #[test]
    fn facebook_login_uses_the_facebook_graph() {
        let api = Api::from_config(&settings(&[("login", "Facebook")])).unwrap();
        assert_eq!(api.login, Login::Facebook);
        assert_eq!(
            api.graph("me/messages"),
            "https://graph.facebook.com/v25.0/me/messages"
        );
        let bad = Api::from_config(&settings(&[("login", "twitter")])).unwrap_err();
        assert!(bad.contains("login") && bad.contains("twitter"), "{bad}");
    }

    #[test]
    fn api_base_replaces_every_origin() {
        let api = Api::from_config(&settings(&[("api_base", "http://127.0.0.1:9100/")])).unwrap();
        assert_eq!(
            api.graph("me?fields=user_id"),
            "http://127.0.0.1:9100/v25.0/me?fields=user_id"
        );
        assert_eq!(
            api.graph_unversioned("access_token"),
            "http://127.0.0.1:9100/access_token"
        );
        assert_eq!(
            api.oauth("oauth/access_token"),
            "http://127.0.0.1:9100/oauth/access_token"
        );
        assert_eq!(
            api.rebase("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=123")
                .as_deref(),
            Some("http://127.0.0.1:9100/ig_messaging_cdn/?asset_id=123")
        );
        assert!(Api::from_config(&settings(&[("api_base", "ftp://x")])).is_err());
    }
}
