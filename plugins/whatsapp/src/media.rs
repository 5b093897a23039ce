//! Media downloads, and the file types WhatsApp takes.
//!
//! A webhook names media by id. `GET /{media-id}` answers with a short-lived
//! download URL (minutes) that needs the same bearer token; ids themselves
//! expire after some days.

use serde::Deserialize;
use switchboard_meta_graph::payload::optional_u64;
use switchboard_meta_graph::{interpret, Call, Failure};
use switchboard_plugin_sdk::media::MediaTypes;
use switchboard_plugin_sdk::{FetchedAttachment, HttpResponse, SendError};

use crate::account::Api;
use crate::errors::send_error;

/// Extensions of the types the Cloud API accepts, both ways.
pub(crate) const TYPES: MediaTypes = MediaTypes(&[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("mp4", "video/mp4"),
    ("3gp", "video/3gpp"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/aac"),
    ("amr", "audio/amr"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
]);

/// `GET /{media-id}`'s answer.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub(crate) struct MediaInfo {
    pub url: String,
    pub mime_type: Option<String>,
    #[serde(default, deserialize_with = "optional_u64")]
    pub file_size: Option<u64>,
}

pub(crate) fn fetch(api: &Api, media_id: &str) -> Result<FetchedAttachment, SendError> {
    let answer = info_call(api, media_id)?.send().map_err(send_error)?;
    let info = read_info(answer.status, &answer.body)?;
    let download = download_call(api, &info)?
        .send()
        .map_err(Failure::into_send_error)?;
    downloaded(info, download)
}

pub(crate) fn info_call(api: &Api, media_id: &str) -> Result<Call, SendError> {
    if media_id.trim().is_empty() {
        // Locations, contacts and button replies have no file.
        return Err(SendError::Permanent(
            "this attachment has no file to download".into(),
        ));
    }
    Ok(Call::get(api.node(media_id.trim(), "")).bearer(&api.token))
}

pub(crate) fn read_info(status: u16, body: &[u8]) -> Result<MediaInfo, SendError> {
    interpret(status, body).map_err(send_error)
}

/// The download needs the bearer token too.
pub(crate) fn download_call(api: &Api, info: &MediaInfo) -> Result<Call, SendError> {
    let invalid = || SendError::Permanent(format!("`{}` is not a download URL", info.url));
    if !(info.url.starts_with("https://") || info.url.starts_with("http://")) {
        return Err(invalid());
    }
    let url = api.rebase(&info.url).ok_or_else(invalid)?;
    Ok(Call::get(url).bearer(&api.token))
}

pub(crate) fn downloaded(
    info: MediaInfo,
    answer: HttpResponse,
) -> Result<FetchedAttachment, SendError> {
    match answer.status {
        200..=299 => {
            let mime_type = info
                .mime_type
                .or_else(|| answer.media_type().map(str::to_string));
            Ok(FetchedAttachment {
                file_name: None,
                mime_type,
                body: answer.body,
            })
        }
        status @ (404 | 410) => Err(SendError::Permanent(format!(
            "WhatsApp no longer serves this media (HTTP {status})"
        ))),
        // The URL lives for minutes; a new `GET /{media-id}` gives a fresh one.
        401 | 403 => Err(SendError::Retry(
            switchboard_meta_graph::error::RETRY_AFTER_MS,
        )),
        status => Err(Failure::from_status(status, &answer.body).into_send_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::testing::settings;

    fn api(config: &[(&str, &str)]) -> Api {
        let pairs = [&[("access_token", "EAAG")], config].concat();
        Api::from_config(&settings(&pairs)).unwrap()
    }

    fn info() -> MediaInfo {
        MediaInfo {
            url: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=622684793477189&ext=1767268900&hash=AT"
                .into(),
            mime_type: Some("application/pdf".into()),
            file_size: Some(52311),
        }
    }

    fn response(status: u16, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn the_media_id_is_looked_up_with_the_token() {
        let call = info_call(&api(&[]), "622684793477189").unwrap();
        assert_eq!(call.method, "GET");
        assert_eq!(call.url, "https://graph.facebook.com/v25.0/622684793477189");
        assert_eq!(call.bearer.as_deref(), Some("EAAG"));
        assert!(matches!(
            info_call(&api(&[]), " "),
            Err(SendError::Permanent(_))
        ));
        let read = read_info(
            200,
            br#"{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=622684793477189&ext=1767268900&hash=AT","mime_type":"application/pdf","sha256":"abc","file_size":"52311","id":"622684793477189"}"#,
        )
        .unwrap();
        assert_eq!(read, info());
        let expired = read_info(
            400,
            br#"{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}"#,
        );
        assert!(matches!(expired, Err(SendError::Permanent(_))));
        let token = read_info(401, br#"{"error":{"message":"expired","code":190}}"#);
        assert!(matches!(token, Err(SendError::AuthExpired(_))));
    }

    #[test]
    fn the_download_carries_the_token_and_follows_api_base() {
        let call = download_call(&api(&[]), &info()).unwrap();
        assert_eq!(call.url, info().url);
        assert_eq!(call.bearer.as_deref(), Some("EAAG"));
        let fake = download_call(&api(&[("api_base", "http://127.0.0.1:9200")]), &info()).unwrap();
        assert_eq!(
            fake.url,
            "http://127.0.0.1:9200/whatsapp_business/attachments/?mid=622684793477189&ext=1767268900&hash=AT"
        );
        let mut bad = info();
        bad.url = "nonsense".into();
        assert!(matches!(
            download_call(&api(&[]), &bad),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn downloads_prefer_the_declared_type() {
        let fetched = downloaded(info(), response(200, b"%PDF")).unwrap();
        assert_eq!(fetched.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(fetched.body, b"%PDF");
        let mut untyped = info();
        untyped.mime_type = None;
        let fetched = downloaded(untyped, response(200, b"x")).unwrap();
        assert_eq!(
            fetched.mime_type.as_deref(),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn download_failures_map_by_status() {
        assert!(matches!(
            downloaded(info(), response(404, b"")),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            downloaded(info(), response(401, b"")),
            Err(SendError::Retry(_))
        ));
        assert!(matches!(
            downloaded(info(), response(500, b"")),
            Err(SendError::Retry(_))
        ));
        assert!(matches!(
            downloaded(info(), response(429, b"")),
            Err(SendError::RateLimited(_))
        ));
    }

    #[test]
    fn types_follow_extensions_both_ways() {
        assert_eq!(TYPES.for_name("scan.PDF"), Some("application/pdf"));
        assert_eq!(TYPES.for_name("voice.opus"), Some("audio/ogg"));
        assert_eq!(TYPES.for_name("README"), None);
        assert_eq!(TYPES.extension_for("image/jpeg"), Some("jpg"));
        assert_eq!(TYPES.extension_for("audio/ogg; codecs=opus"), Some("ogg"));
        assert_eq!(TYPES.extension_for("application/x-unknown"), None);
    }
}
