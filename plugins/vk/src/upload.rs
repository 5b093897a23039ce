//! Uploading a file so a message can carry it. VK cannot attach a URL; a
//! file goes up in three steps, each a plain function here:
//!
//! 1. ask for an upload server: `photos.getMessagesUploadServer`, or
//!    `docs.getMessagesUploadServer` with `type=doc|audio_message`;
//! 2. POST the bytes as multipart to the `upload_url` it names (field
//!    `photo` or `file`);
//! 3. save what the upload server answered: `photos.saveMessagesPhoto` or
//!    `docs.save`, which yield the `photo<owner>_<id>` / `doc<owner>_<id>`
//!    string `messages.send` takes as `attachment`.
//!
//! Upload servers live on their own hosts (`pu.vk.com` in what VK has been
//! seen to hand out; not a documented promise), which the manifest lists.

use serde::Deserialize;
use serde_json::Value;
use switchboard_plugin_sdk::multipart::{Form, Multipart};
use switchboard_plugin_sdk::SendError;

use crate::api::{interpret, Api, ApiCall, ApiError};

/// What VK stores the file as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum UploadKind {
    /// Shown inline; VK takes JPEG, PNG and GIF.
    Photo,
    /// Any file, shown as a download.
    Doc,
    /// A voice message; VK expects OGG/Opus.
    AudioMessage,
}

/// A file to upload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Upload {
    pub kind: UploadKind,
    pub file_name: String,
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// Runs the three steps; the result is the `attachment` value.
pub(crate) fn upload(
    api: &Api,
    peer_id: i64,
    upload: &Upload,
    seed: &str,
) -> Result<String, SendError> {
    let server = api
        .fetch(&server_call(upload.kind, peer_id))
        .map_err(ApiError::into_send_error)?;
    let url = upload_url(server.status, &server.body)?;
    let uploaded = api
        .upload(&url, form(upload, seed))
        .map_err(ApiError::into_send_error)?;
    let save = save_call(upload, uploaded.status, &uploaded.body)?;
    let saved = api.fetch(&save).map_err(ApiError::into_send_error)?;
    attachment(upload.kind, saved.status, &saved.body)
}

pub(crate) fn server_call(kind: UploadKind, peer_id: i64) -> ApiCall {
    match kind {
        UploadKind::Photo => {
            ApiCall::new("photos.getMessagesUploadServer").param("peer_id", peer_id)
        }
        UploadKind::Doc => ApiCall::new("docs.getMessagesUploadServer")
            .param("type", "doc")
            .param("peer_id", peer_id),
        UploadKind::AudioMessage => ApiCall::new("docs.getMessagesUploadServer")
            .param("type", "audio_message")
            .param("peer_id", peer_id),
    }
}

#[derive(Deserialize)]
struct UploadServer {
    upload_url: String,
}

pub(crate) fn upload_url(status: u16, body: &[u8]) -> Result<String, SendError> {
    let server: UploadServer = interpret(status, body).map_err(ApiError::into_send_error)?;
    if server.upload_url.trim().is_empty() {
        return Err(SendError::Permanent("VK named no upload server".into()));
    }
    Ok(server.upload_url)
}

pub(crate) fn form(upload: &Upload, seed: &str) -> Multipart {
    let field = match upload.kind {
        UploadKind::Photo => "photo",
        UploadKind::Doc | UploadKind::AudioMessage => "file",
    };
    // VK's upload servers take one file per request.
    Form::new(seed)
        .file(
            field,
            &upload.file_name,
            &upload.mime_type,
            upload.data.as_slice(),
        )
        .finish()
}

/// Reads the upload server's answer (not an API answer: bare JSON) and
/// builds the call that saves the file.
pub(crate) fn save_call(upload: &Upload, status: u16, body: &[u8]) -> Result<ApiCall, SendError> {
    if !(200..300).contains(&status) {
        return Err(ApiError::from_status(status, body).into_send_error());
    }
    let answer: Value = serde_json::from_slice(body).map_err(|_| {
        SendError::Permanent(format!(
            "VK's upload server answered something else than JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })?;
    if let Some(error) = answer.get("error") {
        let detail = answer
            .get("error_descr")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        return Err(SendError::Permanent(format!(
            "VK's upload server refused the file: {detail}"
        )));
    }
    let text = |name: &str| match answer.get(name) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    match upload.kind {
        UploadKind::Photo => {
            let photo = text("photo").filter(|photo| !photo.is_empty() && photo != "[]");
            match (text("server"), photo, text("hash")) {
                (Some(server), Some(photo), Some(hash)) => {
                    Ok(ApiCall::new("photos.saveMessagesPhoto")
                        .param("server", server)
                        .param("photo", photo)
                        .param("hash", hash))
                }
                // An empty `photo` is how the server says it could not read
                // the image.
                _ => Err(SendError::Permanent(
                    "VK's upload server did not accept the image (VK takes JPEG, PNG and GIF)"
                        .into(),
                )),
            }
        }
        UploadKind::Doc | UploadKind::AudioMessage => {
            let file = text("file")
                .filter(|file| !file.is_empty())
                .ok_or_else(|| {
                    SendError::Permanent("VK's upload server did not accept the file".into())
                })?;
            Ok(ApiCall::new("docs.save")
                .param("file", file)
                .param("title", &upload.file_name))
        }
    }
}

#[derive(Deserialize)]
struct Saved {
    id: i64,
    owner_id: i64,
    access_key: Option<String>,
}

impl Saved {
    fn attachment(&self, kind: &str) -> String {
        match self.access_key.as_deref().filter(|key| !key.is_empty()) {
            Some(key) => format!("{kind}{}_{}_{key}", self.owner_id, self.id),
            None => format!("{kind}{}_{}", self.owner_id, self.id),
        }
    }
}

/// `photos.saveMessagesPhoto` answers a list of photos; `docs.save` answers
/// `{type, <type>: {...}}` (an audio message is a document to `messages.send`),
/// or in versions before 5.103 a list.
pub(crate) fn attachment(kind: UploadKind, status: u16, body: &[u8]) -> Result<String, SendError> {
    let saved: Value = interpret(status, body).map_err(ApiError::into_send_error)?;
    let unexpected = || {
        SendError::Permanent(format!(
            "unexpected answer from VK after an upload: {saved}"
        ))
    };
    let item = match (&saved, kind) {
        (Value::Array(items), _) => items.first().cloned(),
        (Value::Object(fields), UploadKind::Doc | UploadKind::AudioMessage) => fields
            .get("type")
            .and_then(Value::as_str)
            .and_then(|kind| fields.get(kind))
            .cloned(),
        _ => None,
    }
    .ok_or_else(unexpected)?;
    let saved_item: Saved = serde_json::from_value(item).map_err(|_| unexpected())?;
    Ok(match kind {
        UploadKind::Photo => saved_item.attachment("photo"),
        UploadKind::Doc | UploadKind::AudioMessage => saved_item.attachment("doc"),
    })
}

#[cfg(test)]
mod tests;
