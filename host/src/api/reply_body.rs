//! The body of `POST /conversations/{id}/messages`: JSON `{"text",
//! "reply_to"}`, or `multipart/form-data` with `text`, `reply_to` and one
//! `file` part, so the reply box can send an image or a file.

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::error::AppError;
use super::inbox::MAX_REPLY_BYTES;
use crate::store::files::{self, NewFile};

/// Largest file a reply can carry. Providers take less for some kinds
/// (WhatsApp images 5 MB) and the plugin reports that as the reason.
pub const MAX_UPLOAD_BYTES: usize = 10 << 20;
/// The whole request: the file plus the text and the form's framing.
pub const MAX_REPLY_REQUEST_BYTES: usize = MAX_UPLOAD_BYTES + MAX_REPLY_BYTES + (64 << 10);
/// Longest file name kept; longer ones are cut (keeping the extension).
const MAX_FILE_NAME_CHARS: usize = 200;

#[derive(Default)]
pub struct ReplyRequest {
    pub text: Option<String>,
    /// Provider message id of the message this reply answers.
    pub reply_to: Option<String>,
    pub file: Option<NewFile>,
}

#[derive(Deserialize)]
struct JsonReply {
    text: Option<String>,
    reply_to: Option<String>,
}

impl<S: Send + Sync> FromRequest<S> for ReplyRequest {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !is_form {
            let Json(body) = Json::<JsonReply>::from_request(request, state)
                .await
                .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
            return Ok(ReplyRequest {
                text: body.text,
                reply_to: body.reply_to,
                file: None,
            });
        }
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
        let mut reply = ReplyRequest::default();
        while let Some(field) = form.next_field().await.map_err(unreadable)? {
            match field.name().unwrap_or_default() {
                "text" => reply.text = Some(field.text().await.map_err(unreadable)?),
                "reply_to" => {
                    reply.reply_to =
                        Some(field.text().await.map_err(unreadable)?).filter(|id| !id.is_empty())
                }
                "file" if reply.file.is_some() => {
                    return Err(AppError::BadRequest("a reply carries one file".into()))
                }
                "file" => reply.file = read_file(field).await?,
                other => {
                    return Err(AppError::BadRequest(format!(
                        "unexpected form field `{other}`: use text, reply_to and file"
                    )))
                }
            }
        }
        Ok(reply)
    }
}

/// Reads the file part, stopping as soon as it passes the limit. An empty
/// part without a file name (a form sent with no file chosen) is no file.
async fn read_file(mut field: Field<'_>) -> Result<Option<NewFile>, AppError> {
    let field_had_name = field.file_name().is_some_and(|name| !name.is_empty());
    let file_name = clean_file_name(field.file_name().unwrap_or_default());
    let mime_type = clean_mime_type(field.content_type());
    let mut content = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if content.len() + chunk.len() > MAX_UPLOAD_BYTES {
            return Err(too_large());
        }
        content.extend_from_slice(&chunk);
    }
    if content.is_empty() {
        // A form sent with no file chosen has an empty, unnamed part.
        return match field_had_name {
            true => Err(AppError::BadRequest(format!(
                "the file `{file_name}` is empty"
            ))),
            false => Ok(None),
        };
    }
    Ok(Some(NewFile {
        kind: files::kind_for(&mime_type),
        file_name,
        mime_type,
        content,
    }))
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "the file is larger than {} MB",
        MAX_UPLOAD_BYTES >> 20
    ))
}

fn unreadable(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::BadRequest(format!("unreadable form: {}", error.body_text()))
    }
}

/// The last path segment of what the browser sent, without control
/// characters, at most [`MAX_FILE_NAME_CHARS`] long; `file` when nothing is left.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        return "file".into();
    }
    if name.chars().count() <= MAX_FILE_NAME_CHARS {
        return name.to_string();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| extension.len() <= 16)
        .unwrap_or_default();
    let keep = MAX_FILE_NAME_CHARS - extension.chars().count() - 1;
    let stem: String = name.chars().take(keep).collect();
    if extension.is_empty() {
        stem
    } else {
        format!("{stem}.{extension}")
    }
}

/// A well-formed `type/subtype`, lower-cased without parameters; anything
/// else is `application/octet-stream`.
fn clean_mime_type(raw: Option<&str>) -> String {
    let essence = raw
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match essence.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => essence,
        _ => "application/octet-stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_the_last_segment() {
        assert_eq!(clean_file_name("C:\\Users\\olga\\photo.png"), "photo.png");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(clean_file_name(""), "file");
        assert_eq!(clean_file_name("dir/.."), "file");
        let long = format!("{}.pdf", "x".repeat(500));
        let cut = clean_file_name(&long);
        assert_eq!(cut.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cut.ends_with(".pdf"));
    }

    #[test]
    fn mime_types_are_checked() {
        assert_eq!(clean_mime_type(Some("Image/PNG")), "image/png");
        assert_eq!(
            clean_mime_type(Some("text/plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(
            clean_mime_type(Some("text/html\r\nx: y")),
            "application/octet-stream"
        );
        assert_eq!(
            clean_mime_type(Some("nonsense")),
            "application/octet-stream"
        );
        assert_eq!(clean_mime_type(None), "application/octet-stream");
    }
}
