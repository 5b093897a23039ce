//! Downloading inbound media. Instagram hands out CDN URLs that need no
//! token and expire after a while; the URL is the attachment's reference.

use switchboard_meta_graph::{Call, Failure};
use switchboard_plugin_sdk::media::{download_url, url_file_name};
use switchboard_plugin_sdk::{FetchedAttachment, HttpResponse, SendError};

use crate::account::Api;

pub(crate) fn fetch(api: &Api, url: &str) -> Result<FetchedAttachment, SendError> {
    let answer = download_call(api, url)?
        .send()
        .map_err(Failure::into_send_error)?;
    downloaded(url, answer)
}

/// The download of a media URL. Postbacks, quick replies and unsupported
/// content have no file, and an empty reference.
pub(crate) fn download_call(api: &Api, url: &str) -> Result<Call, SendError> {
    let url = download_url(url, "an Instagram media URL")?;
    let url = api
        .rebase(url)
        .ok_or_else(|| SendError::Permanent(format!("`{url}` is not a URL")))?;
    Ok(Call::get(url))
}

pub(crate) fn downloaded(url: &str, answer: HttpResponse) -> Result<FetchedAttachment, SendError> {
    match answer.status {
        200..=299 => Ok(FetchedAttachment {
            mime_type: answer
                .media_type()
                .filter(|mime| !mime.is_empty())
                .map(str::to_string),
            file_name: file_name(url),
            body: answer.body,
        }),
        // The CDN answers these once a link has expired or been revoked.
        status @ (403 | 404 | 410) => Err(SendError::Permanent(format!(
            "Instagram's CDN no longer serves this file (HTTP {status}); the link has expired"
        ))),
        status => Err(Failure::from_status(status, &answer.body).into_send_error()),
    }
}

/// The last path segment when it looks like a file name; CDN links are
/// often opaque (`/ig_messaging_cdn/?asset_id=…`) and then there is none.
fn file_name(url: &str) -> Option<String> {
    url_file_name(url)
        .filter(|name| name.contains('.'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::settings;

    fn api(config: &[(&str, &str)]) -> Api {
        Api::from_config(&settings(config)).unwrap()
    }

    fn response(status: u16, content_type: Option<&str>, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status,
            headers: content_type
                .map(|value| vec![("content-type".to_string(), value.to_string())])
                .unwrap_or_default(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn downloads_go_to_the_cdn_without_a_token() {
        let url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=123&signature=abc";
        let call = download_call(&api(&[]), url).unwrap();
        assert_eq!(call.method, "GET");
        assert_eq!(call.url, url);
        assert!(call.headers().is_empty());
        let fake = download_call(&api(&[("api_base", "http://127.0.0.1:9100")]), url).unwrap();
        assert_eq!(
            fake.url,
            "http://127.0.0.1:9100/ig_messaging_cdn/?asset_id=123&signature=abc"
        );
    }

    #[test]
    fn references_without_a_file_are_refused() {
        assert!(matches!(
            download_call(&api(&[]), ""),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            download_call(&api(&[]), "ftp://x/y"),
            Err(SendError::Permanent(ref m)) if m.contains("ftp://x/y")
        ));
    }

    #[test]
    fn downloads_keep_the_type_and_any_file_name() {
        let fetched = downloaded(
            "https://scontent.cdninstagram.com/v/t51/photo_1.jpg?stp=x",
            response(200, Some("image/jpeg; charset=binary"), &[0xff, 0xd8]),
        )
        .unwrap();
        assert_eq!(fetched.mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(fetched.file_name.as_deref(), Some("photo_1.jpg"));
        assert_eq!(fetched.body, vec![0xff, 0xd8]);
        let opaque = downloaded(
            "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1",
            response(200, None, b"x"),
        )
        .unwrap();
        assert_eq!(opaque.mime_type, None);
        assert_eq!(opaque.file_name, None);
        assert_eq!(file_name("https://cdn.example"), None);
    }

    #[test]
    fn expired_links_are_permanent_and_outages_retried() {
        for status in [403, 404, 410] {
            assert!(matches!(
                downloaded("https://x/a", response(status, None, b"")),
                Err(SendError::Permanent(ref m)) if m.contains("expired")
            ));
        }
        assert!(matches!(
            downloaded("https://x/a", response(502, None, b"")),
            Err(SendError::Retry(_))
        ));
        assert!(matches!(
            downloaded("https://x/a", response(429, None, b"")),
            Err(SendError::RateLimited(_))
        ));
    }
}
