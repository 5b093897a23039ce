//! The channel's settings, read and checked in one place so that `connect`,
//! `send` and `fetch-attachment` agree on what a usable channel is.

use switchboard_plugin_sdk::channel::Config;

/// Where replies are POSTed when the channel does not say otherwise.
pub(crate) const DEFAULT_SEND_PATH: &str = "/switchboard/messages";

/// The signing secret is an HMAC key shared with the other system; anything
/// shorter than this is guessable offline from one signed request.
pub(crate) const MIN_SECRET_CHARS: usize = 16;

/// Longest `account_id` accepted: it becomes the channel's provider account id.
const MAX_ACCOUNT_ID_CHARS: usize = 256;

/// A channel's settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The id of this inbox in the sending system.
    pub account_id: String,
    /// HMAC key for both directions.
    pub signing_secret: String,
    /// `scheme://host[:port]`, lower-case, without a default port.
    pub origin: String,
    /// Starts with `/`.
    pub send_path: String,
}

impl Settings {
    /// Reads and checks every field; the error names the field at fault.
    pub fn read(config: &impl Config) -> Result<Self, String> {
        let account_id = config.require("account_id")?;
        if account_id.chars().count() > MAX_ACCOUNT_ID_CHARS {
            return Err(format!(
                "`account_id` must be at most {MAX_ACCOUNT_ID_CHARS} characters"
            ));
        }
        if account_id.chars().any(char::is_control) {
            return Err("`account_id` must not contain control characters".into());
        }

        let signing_secret = config.require("signing_secret")?;
        if signing_secret.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "`signing_secret` must be at least {MIN_SECRET_CHARS} characters"
            ));
        }

        let api_base = config.require("api_base")?;
        let origin = origin(api_base).map_err(|reason| {
            format!("`api_base` must be an origin such as https://crm.example.com: {reason}")
        })?;

        let send_path = config.get("send_path").unwrap_or(DEFAULT_SEND_PATH);
        check_path(send_path).map_err(|reason| format!("`send_path` {reason}"))?;

        Ok(Settings {
            account_id: account_id.to_string(),
            signing_secret: signing_secret.to_string(),
            origin,
            send_path: send_path.to_string(),
        })
    }

    pub fn send_url(&self) -> String {
        format!("{}{}", self.origin, self.send_path)
    }
}

/// Normalizes `http(s)://host[:port]` (one trailing `/` tolerated) to the
/// form the host compares origins in. Paths are refused rather than
/// dropped: the host allows calls to the origin only, so a path here would
/// silently not mean what the operator wrote.
pub(crate) fn origin(text: &str) -> Result<String, String> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| "it has no scheme".to_string())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("the scheme `{scheme}` is not http or https"));
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err("it has no host".into());
    }
    if let Some(at) = authority.find(['/', '?', '#']) {
        return Err(format!(
            "it has more than an origin (`{}`); give the scheme, host and port only",
            &authority[at..]
        ));
    }
    if authority.contains('@') {
        return Err("it has user info; credentials do not belong in the URL".into());
    }
    if authority
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err("it contains spaces, backslashes or control characters".into());
    }
    let (host, port) = split_port(authority)?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host = host.to_ascii_lowercase();
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// The origin of an absolute http(s) URL, normalized like [`origin`].
pub(crate) fn origin_of_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    origin(&format!("{scheme}://{}", &rest[..end]))
}

/// Splits `host[:port]`; an IPv6 literal is bracketed (`[::1]:8080`).
fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| "an IPv6 address lacks its `]`".to_string())?;
        let host = &authority[..close + 2];
        let after = &inner[close + 1..];
        if !inner[..close]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("`{host}` is not an IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{after}` after the IPv6 address"))?,
                ),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("it has no host".into());
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!("`{host}` is not a host name"));
    }
    let port = match port {
        None => None,
        Some(digits) => Some(
            digits
                .parse::<u16>()
                .ok()
                .filter(|&port| port != 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("`{digits}` is not a port"))?,
        ),
    };
    Ok((host, port))
}

/// A path appended to the origin: absolute, one line, no fragment.
fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("must start with `/`, got `{path}`"));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    if path.contains('#') {
        return Err("must not contain a fragment (`#`)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
