//! Downloading inbound files: `getFile`, then the file server.
//!
//! Telegram's file server answers `application/octet-stream` for everything,
//! so the type is read from the extension of the path `getFile` returns.

use serde::Deserialize;
use switchboard_plugin_sdk::encode;
use switchboard_plugin_sdk::media::MediaTypes;
use switchboard_plugin_sdk::{FetchedAttachment, SendError};

use crate::api::{interpret, ApiCall, ApiError, Bot};

/// Extensions Telegram uses in `file_path`, plus common document types.
pub(crate) const TYPES: MediaTypes = MediaTypes(&[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("heic", "image/heic"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
    ("webm", "video/webm"),
    ("oga", "audio/ogg"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("tgs", "application/x-tgsticker"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("json", "application/json"),
    ("txt", "text/plain"),
    ("csv", "text/csv"),
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
]);

/// `getFile`'s result; `file_path` is absent when the file cannot be downloaded.
#[derive(Debug, Deserialize)]
struct File {
    file_path: Option<String>,
}

pub(crate) fn fetch(bot: &Bot, file_id: &str) -> Result<FetchedAttachment, SendError> {
    let answer = bot
        .fetch(get_file(file_id)?)
        .map_err(ApiError::into_send_error)?;
    let path = file_path(answer.status, &answer.body)?;
    let download = bot.download(&path).map_err(ApiError::into_send_error)?;
    downloaded(&path, download.status, download.body)
}

pub(crate) fn get_file(file_id: &str) -> Result<ApiCall, SendError> {
    if file_id.is_empty() {
        // Locations and contacts have no file; the host should not ask.
        return Err(SendError::Permanent("this attachment has no file".into()));
    }
    // File ids are URL-safe today; encoding anyway keeps a future format
    // from breaking the query.
    Ok(ApiCall::get(
        "getFile",
        format!("file_id={}", encode::component(file_id)),
    ))
}

fn file_path(status: u16, body: &[u8]) -> Result<String, SendError> {
    let file: File = interpret(status, body).map_err(ApiError::into_send_error)?;
    let path = file.file_path.ok_or_else(|| {
        SendError::Permanent("Telegram offers no download for this file (over 20 MB?)".into())
    })?;
    if path.starts_with('/') {
        // A Bot API server in `--local` mode hands out paths on its own disk.
        return Err(SendError::Permanent(format!(
            "the Bot API server keeps this file on its disk ({path}) and does not serve it over HTTP"
        )));
    }
    Ok(path)
}

fn downloaded(path: &str, status: u16, body: Vec<u8>) -> Result<FetchedAttachment, SendError> {
    if !(200..300).contains(&status) {
        return Err(ApiError::from_status(status, &body).into_send_error());
    }
    let file_name = path.rsplit('/').next().filter(|name| !name.is_empty());
    Ok(FetchedAttachment {
        mime_type: TYPES.for_name(path).map(str::to_string),
        file_name: file_name.map(str::to_string),
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Payload;

    #[test]
    fn get_file_escapes_the_id() {
        let call = get_file("AgAC+x/y=").unwrap();
        assert_eq!(call.method, "getFile");
        assert!(matches!(call.payload, Payload::Query(ref q) if q == "file_id=AgAC%2Bx%2Fy%3D"));
        assert!(matches!(get_file(""), Err(SendError::Permanent(_))));
    }

    #[test]
    fn file_path_comes_from_get_file() {
        let body = br#"{"ok":true,"result":{"file_id":"x","file_unique_id":"u","file_size":10,"file_path":"photos/file_0.jpg"}}"#;
        assert_eq!(file_path(200, body).unwrap(), "photos/file_0.jpg");
        let too_big = br#"{"ok":true,"result":{"file_id":"x","file_unique_id":"u"}}"#;
        assert!(matches!(
            file_path(200, too_big),
            Err(SendError::Permanent(_))
        ));
        let gone = br#"{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}"#;
        assert!(
            matches!(file_path(400, gone), Err(SendError::Permanent(ref d)) if d == "Bad Request: invalid file_id")
        );
        let local = br#"{"ok":true,"result":{"file_path":"/var/lib/tg/photos/file_0.jpg"}}"#;
        assert!(matches!(
            file_path(200, local),
            Err(SendError::Permanent(_))
        ));
    }

    #[test]
    fn download_names_the_file_and_guesses_its_type() {
        let fetched = downloaded("voice/file_3.oga", 200, vec![1, 2, 3]).unwrap();
        assert_eq!(fetched.mime_type.as_deref(), Some("audio/ogg"));
        assert_eq!(fetched.file_name.as_deref(), Some("file_3.oga"));
        assert_eq!(fetched.body, vec![1, 2, 3]);
        assert!(matches!(
            downloaded("documents/file_1.pdf", 404, b"Not Found".to_vec()),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            downloaded("documents/file_1.pdf", 502, Vec::new()),
            Err(SendError::Retry(_))
        ));
    }

    #[test]
    fn types_follow_extensions_both_ways() {
        assert_eq!(TYPES.for_name("photos/file_0.JPG"), Some("image/jpeg"));
        assert_eq!(
            TYPES.for_name("stickers/file_9.tgs"),
            Some("application/x-tgsticker")
        );
        assert_eq!(TYPES.for_name("documents/file_2"), None);
        assert_eq!(TYPES.for_name("documents.d/file_2"), None);
        assert_eq!(TYPES.extension_for("image/png"), Some("png"));
        assert_eq!(TYPES.extension_for("audio/ogg; codecs=opus"), Some("oga"));
        assert_eq!(TYPES.extension_for("application/x-unknown"), None);
    }
}
