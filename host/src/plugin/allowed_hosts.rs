//! Which origins a plugin may reach through the host's `http-fetch`.
//!
//! An entry is an origin: `scheme://host[:port]`. A request is allowed when
//! its scheme, host and port (defaults filled in) equal those of an entry.
//!
//! | entry                         | allows                                 |
//! |-------------------------------|----------------------------------------|
//! | `https://api.telegram.org`    | `https://api.telegram.org:443/...`     |
//! | `http://127.0.0.1:8081`       | only that port on loopback             |
//! | (empty list)                  | nothing                                |
//!
//! There are no wildcards: a channel's `api_base` replaces the manifest's list
//! for that channel, so a test's fake provider on loopback is reachable only
//! by the channel configured to use it.

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|error| format!("`{text}` is not a URL: {error}"))?;
        let scheme = url.scheme().to_string();
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{text}`: only http and https are allowed"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{text}` has no host"))?
            .to_ascii_lowercase();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("`{text}` has no port"))?;
        Ok(Origin { scheme, host, port })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    origins: Vec<Origin>,
}

impl AllowedHosts {
    /// Parses every entry; one bad entry fails the whole list so a typo never
    /// silently narrows or widens what a plugin can reach.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let origins = entries
            .iter()
            .map(|entry| Origin::parse(entry.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowedHosts { origins })
    }

    /// Checks a request URL; the error names the refused origin.
    pub fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|error| format!("invalid URL `{url}`: {error}"))?;
        let origin = Origin::parse(url)?;
        if self.origins.contains(&origin) {
            Ok(parsed)
        } else {
            Err(format!("{origin} is not an allowed host for this plugin"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_match() {
        let hosts = AllowedHosts::parse(&["https://api.telegram.org"]).unwrap();
        assert!(hosts.check("https://api.telegram.org/bot1:x/getMe").is_ok());
        assert!(hosts.check("https://API.telegram.org:443/x").is_ok());
        assert!(hosts.check("http://api.telegram.org/x").is_err());
        assert!(hosts.check("https://api.telegram.org:8443/x").is_err());
        assert!(hosts.check("https://api.telegram.org.evil.com/x").is_err());
    }

    #[test]
    fn empty_list_denies_everything() {
        let hosts = AllowedHosts::parse::<&str>(&[]).unwrap();
        let error = hosts.check("http://127.0.0.1:9/").unwrap_err();
        assert!(error.contains("not an allowed host"), "{error}");
    }

    #[test]
    fn loopback_is_port_exact() {
        let hosts = AllowedHosts::parse(&["http://127.0.0.1:8081/"]).unwrap();
        assert!(hosts.check("http://127.0.0.1:8081/bot/getMe").is_ok());
        assert!(hosts.check("http://127.0.0.1:8082/").is_err());
        assert!(hosts.check("http://localhost:8081/").is_err());
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        assert!(AllowedHosts::parse(&["file:///etc/passwd"]).is_err());
        assert!(AllowedHosts::parse(&["not a url"]).is_err());
        let hosts = AllowedHosts::parse(&["https://a.example"]).unwrap();
        assert!(hosts.check("ftp://a.example/").is_err());
    }
}
