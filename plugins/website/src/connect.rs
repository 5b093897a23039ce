//! Connecting a website: nothing to call. The channel is named by its key,
//! the last segment of the per-account webhook URL the host generated, and
//! the optional `allowed_origins` are checked so the host can compare them
//! with a browser's `Origin` header as plain strings.

use switchboard_plugin_sdk::channel::Config;
use switchboard_plugin_sdk::{ConnectError, ConnectRequest, Connected};

pub(crate) const DISPLAY_NAME: &str = "Website chat";
pub(crate) const ALLOWED_ORIGINS: &str = "allowed_origins";

pub(crate) fn connect(request: &ConnectRequest) -> Result<Connected, ConnectError> {
    if let Some(origins) = request.get(ALLOWED_ORIGINS) {
        allowed_origins(origins).map_err(ConnectError::InvalidConfig)?;
    }
    let key = channel_key(&request.webhook_url).ok_or_else(|| {
        ConnectError::InvalidConfig("the host gave no webhook URL for this channel".into())
    })?;
    Ok(Connected {
        provider_account_id: key.to_string(),
        display_name: DISPLAY_NAME.into(),
        config_updates: Vec::new(),
    })
}

/// The last path segment of the webhook URL, ignoring a query, a fragment and
/// a trailing slash: `https://inbox.example/webhooks/website/<key>`.
fn channel_key(webhook_url: &str) -> Option<&str> {
    let url = webhook_url.trim();
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    // Without a `/` after the host there is no path segment at all.
    let (_, path) = path.split_once('/')?;
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|key| !key.is_empty())
}

/// The comma-separated origins, each `http(s)://host[:port]` as a browser
/// sends it in `Origin`: no default port, no path (one trailing `/` is
/// tolerated), no user name. The host compares an entry with the `Origin`
/// header after trimming it, dropping trailing slashes and lower-casing both,
/// so letter case is not checked here. Blank entries (a trailing comma) are
/// skipped.
pub(crate) fn allowed_origins(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            origin(entry)
                .map(|()| entry.to_string())
                .map_err(|why| format!("`{ALLOWED_ORIGINS}`: `{entry}` {why}"))
        })
        .collect()
}

fn origin(entry: &str) -> Result<(), String> {
    const SHAPE: &str = "origins look like https://shop.example or http://localhost:8080";
    let lower = entry.to_ascii_lowercase();
    let entry = lower.strip_suffix('/').unwrap_or(&lower);
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| format!("is not an origin; {SHAPE}"))?;
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return Err(format!("must start with https:// or http://; {SHAPE}")),
    };
    if rest.contains(['/', '?', '#']) {
        let bare = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return Err(format!(
            "has a path; write the origin alone: `{scheme}://{bare}`"
        ));
    }
    if rest.contains('@') {
        return Err(format!("must not contain a user name; {SHAPE}"));
    }
    let (host, port) = split_port(rest).ok_or_else(|| format!("has a malformed port; {SHAPE}"))?;
    if !valid_host(host) {
        return Err(format!(
            "has no valid host name (write international names in their xn-- form); {SHAPE}"
        ));
    }
    if let Some(port) = port {
        let number: u32 = port.parse().unwrap_or(0);
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.starts_with('0')
            || !(1..=65535).contains(&number)
        {
            return Err(format!("has a malformed port; {SHAPE}"));
        }
        if port == default_port {
            return Err(format!(
                "names the default port, which browsers leave out: `{scheme}://{host}`"
            ));
        }
    }
    Ok(())
}

/// `host[:port]`, with an IPv6 host in brackets.
fn split_port(rest: &str) -> Option<(&str, Option<&str>)> {
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        let (host, after) = rest.split_at(end + 1);
        return match after {
            "" => Some((host, None)),
            _ => after.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    Some(match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    })
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing;

    const URL: &str = "https://inbox.example/webhooks/website/Xk3_qP9zLm2aB7cD";

    fn connect_with(config: &[(&str, &str)], url: &str) -> Result<Connected, ConnectError> {
        connect(&testing::connect_request(config, "wh_s3cr3t", url))
    }

    fn invalid(result: Result<Connected, ConnectError>) -> String {
        match result {
            Err(ConnectError::InvalidConfig(reason)) => reason,
            other => panic!("expected invalid config, got {other:?}"),
        }
    }

    #[test]
    fn connecting_names_the_channel_by_its_key() {
        let connected = connect_with(&[], URL).unwrap();
        assert_eq!(connected.provider_account_id, "Xk3_qP9zLm2aB7cD");
        assert_eq!(connected.display_name, "Website chat");
        assert!(connected.config_updates.is_empty());
        let configured = connect_with(
            &[
                ("greeting", "Hi! How can we help?"),
                (
                    "allowed_origins",
                    "https://shop.example, http://localhost:8080",
                ),
            ],
            URL,
        )
        .unwrap();
        assert_eq!(configured.provider_account_id, "Xk3_qP9zLm2aB7cD");
        assert!(configured.config_updates.is_empty());
    }

    #[test]
    fn the_key_is_the_last_path_segment() {
        for (url, key) in [
            (URL, Some("Xk3_qP9zLm2aB7cD")),
            ("https://inbox.example/webhooks/website/abc/", Some("abc")),
            (
                "https://inbox.example/webhooks/website/abc?x=1#f",
                Some("abc"),
            ),
            ("http://127.0.0.1:8080/sb/webhooks/website/k", Some("k")),
            ("https://inbox.example", None),
            ("https://inbox.example/", None),
            ("", None),
        ] {
            assert_eq!(channel_key(url), key, "{url}");
        }
        let reason = invalid(connect_with(&[], " "));
        assert!(reason.contains("webhook URL"), "{reason}");
    }

    #[test]
    fn different_channels_get_different_account_ids() {
        let a = connect_with(&[], "https://i.example/webhooks/website/aaaa").unwrap();
        let b = connect_with(&[], "https://i.example/webhooks/website/bbbb").unwrap();
        assert_ne!(a.provider_account_id, b.provider_account_id);
    }

    #[test]
    fn good_origins_are_accepted() {
        assert_eq!(allowed_origins(""), Ok(vec![]));
        assert_eq!(allowed_origins(" , "), Ok(vec![]));
        assert_eq!(
            allowed_origins(
                "https://shop.example, http://localhost:8080,https://www.xn--bcher-kva.example,\
                 http://127.0.0.1:3000,http://[::1]:8080,https://a-b.c9.example:8443,\
                 HTTPS://Shop.Example,https://shop.example/,"
            ),
            Ok(vec![
                "https://shop.example".to_string(),
                "http://localhost:8080".into(),
                "https://www.xn--bcher-kva.example".into(),
                "http://127.0.0.1:3000".into(),
                "http://[::1]:8080".into(),
                "https://a-b.c9.example:8443".into(),
                "HTTPS://Shop.Example".into(),
                "https://shop.example/".into(),
            ])
        );
    }

    #[test]
    fn bad_origins_are_refused_with_a_reason() {
        for (entry, why) in [
            ("shop.example", "is not an origin"),
            ("ftp://shop.example", "https:// or http://"),
            (
                "https://shop.example//",
                "has a path; write the origin alone: `https://shop.example`",
            ),
            ("https://shop.example/chat", "has a path"),
            ("https://shop.example/chat/", "has a path"),
            ("https://shop.example?x", "has a path"),
            (
                "HTTPS://Shop.example:443",
                "default port, which browsers leave out: `https://shop.example`",
            ),
            ("https://shop.example:443", "default port"),
            ("http://shop.example:80", "default port"),
            ("https://shop.example:", "malformed port"),
            ("https://shop.example:99999", "malformed port"),
            ("https://shop.example:08", "malformed port"),
            ("https://shop.example:8a", "malformed port"),
            ("https://user@shop.example", "user name"),
            ("https://", "is not an origin"),
            ("https://:8080", "no valid host"),
            ("https://shop..example", "no valid host"),
            ("https://-shop.example", "no valid host"),
            ("https://shop_1.example", "no valid host"),
            ("https://bücher.example", "xn--"),
            ("https://*.shop.example", "no valid host"),
            ("https://[zz]", "no valid host"),
        ] {
            let reason = allowed_origins(entry).expect_err(entry);
            assert!(
                reason.starts_with(&format!("`allowed_origins`: `{entry}` ")),
                "{reason}"
            );
            assert!(reason.contains(why), "{entry}: {reason}");
        }
    }

    #[test]
    fn one_bad_origin_fails_the_connect() {
        let reason = invalid(connect_with(
            &[("allowed_origins", "https://shop.example, shop2.example")],
            URL,
        ));
        assert!(reason.contains("`shop2.example`"), "{reason}");
    }
}
