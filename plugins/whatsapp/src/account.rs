//! Where a channel's calls go: the Cloud API on `graph.facebook.com` (or the
//! channel's `api_base`), as one business phone number, with one token.

use switchboard_meta_graph::call::{versioned, with_origin};
use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::encode;

pub(crate) const GRAPH_FACEBOOK: &str = "https://graph.facebook.com";
/// Where `GET /{media-id}` sends media downloads.
pub(crate) const LOOKASIDE: &str = "https://lookaside.fbsbx.com";

/// Config keys.
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const PHONE_NUMBER_ID: &str = "phone_number_id";
pub(crate) const WABA_ID: &str = "waba_id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Api {
    base: String,
    /// Set when the channel's `api_base` replaces Meta's origins.
    overridden: bool,
    pub token: String,
}

impl Api {
    pub fn from_config(config: &impl Config) -> Result<Self, String> {
        let token = config.require(ACCESS_TOKEN)?.to_string();
        let base = config.api_base(GRAPH_FACEBOOK);
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!(
                "`api_base` must be an http(s) URL such as {GRAPH_FACEBOOK}"
            ));
        }
        Ok(Api {
            overridden: config.get("api_base").is_some(),
            base,
            token,
        })
    }

    /// `{base}/v25.0/{node}` plus `rest` (already encoded), with the node
    /// id escaped: ids come from configuration and webhooks.
    pub fn node(&self, node: &str, rest: &str) -> String {
        versioned(&self.base, &format!("{}{rest}", encode::component(node)))
    }

    /// A URL Meta handed out (a media download), moved onto `api_base` when set.
    pub fn rebase(&self, url: &str) -> Option<String> {
        if self.overridden {
            with_origin(url, &self.base)
        } else {
            Some(url.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::settings;

    #[test]
    fn calls_go_to_the_facebook_graph_by_default() {
        let api = Api::from_config(&settings(&[("access_token", "EAAG")])).unwrap();
        assert_eq!(api.token, "EAAG");
        assert_eq!(
            api.node("106540352242922", "/messages"),
            "https://graph.facebook.com/v25.0/106540352242922/messages"
        );
        assert_eq!(
            api.node("a/b", ""),
            "https://graph.facebook.com/v25.0/a%2Fb"
        );
        let url = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1";
        assert_eq!(api.rebase(url).as_deref(), Some(url));
    }

    #[test]
    fn api_base_replaces_every_origin() {
        let api = Api::from_config(&settings(&[
            ("access_token", "EAAG"),
            ("api_base", "http://127.0.0.1:9200/"),
        ]))
        .unwrap();
        assert_eq!(
            api.node("1", "/media"),
            "http://127.0.0.1:9200/v25.0/1/media"
        );
        assert_eq!(
            api.rebase("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
                .as_deref(),
            Some("http://127.0.0.1:9200/whatsapp_business/attachments/?mid=1")
        );
    }

    #[test]
    fn the_token_is_required_and_the_base_checked() {
        assert!(Api::from_config(&settings(&[]))
            .unwrap_err()
            .contains("access_token"));
        assert!(
            Api::from_config(&settings(&[("access_token", "t"), ("api_base", "ftp://x")])).is_err()
        );
    }
}
