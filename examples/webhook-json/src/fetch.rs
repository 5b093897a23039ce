//! Downloading an inbound attachment: a plain GET of its URL.
//!
//! The host lets this plugin reach the channel's `api_base` origin and
//! nothing else, so only URLs on that origin can be downloaded; others are
//! refused here with a reason instead of by the host with a bare denial.

use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{FetchedAttachment, SendError};

use crate::answer;
use crate::settings::{origin_of_url, Settings};

pub(crate) fn fetch(settings: &Settings, url: &str) -> Result<FetchedAttachment, SendError> {
    check_url(settings, url)?;
    let response = Request::get(url)
        .send()
        .map_err(answer::transport_failure)?;
    let retry_after = response.header("retry-after").map(str::to_string);
    let content_type = response.header("content-type").map(str::to_string);
    downloaded(
        response.status,
        retry_after.as_deref(),
        content_type.as_deref(),
        response.body,
    )
}

pub(crate) fn check_url(settings: &Settings, url: &str) -> Result<(), SendError> {
    if url.trim().is_empty() {
        return Err(SendError::Permanent("this attachment has no URL".into()));
    }
    let origin = origin_of_url(url).map_err(|reason| {
        SendError::Permanent(format!("the attachment URL cannot be downloaded: {reason}"))
    })?;
    if origin != settings.origin {
        return Err(SendError::Permanent(format!(
            "the attachment is on {origin}, and this channel may only download from its \
             api_base {}",
            settings.origin
        )));
    }
    Ok(())
}

/// The file's name is not read from the answer: the host keeps the one the
/// inbound event gave.
pub(crate) fn downloaded(
    status: u16,
    retry_after: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<FetchedAttachment, SendError> {
    match status {
        200..=299 => {}
        // The GET carries no credentials, so a refusal is about the link
        // (expired, revoked), not the channel's authorization.
        401 | 403 => return Err(SendError::Permanent(answer::describe(status, &body))),
        _ => return Err(answer::failure(status, retry_after, &body)),
    }
    Ok(FetchedAttachment {
        mime_type: content_type
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string),
        file_name: None,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            account_id: "inbox-7".into(),
            signing_secret: "whsec-0123456789abcdef".into(),
            origin: "https://crm.example.com".into(),
            send_path: "/switchboard/messages".into(),
        }
    }

    fn permanent(result: Result<impl std::fmt::Debug, SendError>) -> String {
        match result {
            Err(SendError::Permanent(reason)) => reason,
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    #[test]
    fn urls_on_the_api_base_origin_are_downloadable() {
        for url in [
            "https://crm.example.com/files/7.jpg",
            "https://CRM.example.com:443/files/7.jpg?sig=abc&exp=1767268800",
        ] {
            assert!(check_url(&settings(), url).is_ok(), "{url}");
        }
    }

    #[test]
    fn other_origins_are_refused_with_the_reason() {
        let reason = permanent(check_url(&settings(), "https://cdn.example.net/7.jpg"));
        assert_eq!(
            reason,
            "the attachment is on https://cdn.example.net, and this channel may only download \
             from its api_base https://crm.example.com"
        );
        for url in [
            "http://crm.example.com/files/7.jpg",
            "https://crm.example.com:8443/files/7.jpg",
            "https://crm.example.com.evil.example/files/7.jpg",
        ] {
            assert!(
                permanent(check_url(&settings(), url)).contains("may only download"),
                "{url}"
            );
        }
        assert_eq!(
            permanent(check_url(&settings(), "")),
            "this attachment has no URL"
        );
        assert!(permanent(check_url(&settings(), "/files/7.jpg")).contains("cannot be downloaded"));
    }

    #[test]
    fn a_2xx_is_the_file_with_its_type() {
        let file = downloaded(200, None, Some("image/jpeg"), b"\xff\xd8\xff".to_vec()).unwrap();
        assert_eq!(file.body, b"\xff\xd8\xff");
        assert_eq!(file.mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(file.file_name, None);
        let untyped = downloaded(200, None, Some(" "), Vec::new()).unwrap();
        assert_eq!(untyped.mime_type, None);
    }

    #[test]
    fn failed_downloads_follow_the_shared_mapping() {
        assert_eq!(
            permanent(downloaded(
                404,
                None,
                Some("application/json"),
                br#"{"error":"expired link"}"#.to_vec()
            )),
            "HTTP 404: expired link"
        );
        assert!(matches!(
            downloaded(503, None, None, Vec::new()),
            Err(SendError::Retry(5_000))
        ));
        assert!(matches!(
            downloaded(429, Some("2"), None, Vec::new()),
            Err(SendError::RateLimited(2_000))
        ));
        for status in [401, 403] {
            assert_eq!(
                permanent(downloaded(
                    status,
                    None,
                    None,
                    br#"{"error":"link expired"}"#.to_vec()
                )),
                format!("HTTP {status}: link expired"),
                "an unsigned download cannot have expired credentials"
            );
        }
    }
}
