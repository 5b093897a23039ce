//! Downloading attachments: inbound ones through their provider plugin, so an
//! operator can open them without the provider's credentials ever leaving the
//! host, and files operators attached to replies from the database.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::types::{FetchedAttachment, SendError};
use crate::store::accounts::Role;
use crate::store::inbox::{self, AttachmentOrigin};
use crate::store::{channels, files};

/// `GET /api/v1/messages/{id}/attachments/{index}`: an inbound attachment
/// through its provider, or a file an operator attached to a reply.
pub async fn download(
    State(state): State<AppState>,
    user: User,
    Path((message_id, index)): Path<(String, usize)>,
) -> ApiResult<Response> {
    let source = inbox::attachment_source(&state.db, &message_id, index)
        .await?
        .ok_or(AppError::NotFound("attachment"))?;
    user.require_or_hide(&state, &source.workspace_id, Role::Agent, "attachment")
        .await?;
    let (body, mime_type, file_name) = match source.origin {
        AttachmentOrigin::Provider {
            channel_id,
            provider_ref,
        } => {
            let fetched = fetch_from_provider(&state, &channel_id, provider_ref).await?;
            (fetched.body, fetched.mime_type, fetched.file_name)
        }
        AttachmentOrigin::Stored { file_id } => {
            let file = files::of_message(&state.db, &message_id, &file_id)
                .await?
                .ok_or(AppError::NotFound("attachment"))?;
            (file.content, Some(file.mime_type), Some(file.file_name))
        }
    };
    Ok(file_response(
        body,
        mime_type.or(source.mime_type),
        file_name.or(source.file_name),
    ))
}

/// `GET /media/{token}`: a reply's file by its public link, for providers
/// that fetch attachments by URL instead of taking an upload. The token is
/// 256 random bits and the link expires (see `files::PUBLIC_LINK_LIFETIME_MICROS`).
pub async fn public_file(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let file = files::by_public_token(&state.db, &token)
        .await?
        .ok_or(AppError::NotFound("file"))?;
    Ok(file_response(
        file.content,
        Some(file.mime_type),
        Some(file.file_name),
    ))
}

async fn fetch_from_provider(
    state: &AppState,
    channel_id: &str,
    provider_ref: String,
) -> ApiResult<FetchedAttachment> {
    let account = channels::get(&state.db, channel_id).await?.ok_or_else(|| {
        AppError::Unavailable("the channel of this attachment is disconnected".into())
    })?;
    let plugin = state
        .plugins
        .for_workspace(&state.db, &account.workspace_id, &account.provider)
        .await?
        .ok_or_else(|| {
            AppError::Unavailable(format!("no plugin `{}` is loaded", account.provider))
        })?;
    let channel = account
        .to_plugin(&state.secrets, &state.public_url)
        .map_err(|error| AppError::Internal(error.into()))?;
    match plugin.fetch_attachment(channel, provider_ref).await {
        Ok(Ok(fetched)) => Ok(fetched),
        Ok(Err(error)) => {
            let reason = match error {
                SendError::Retry(_) | SendError::RateLimited(_) => {
                    "the provider is busy; try again shortly".to_string()
                }
                SendError::AuthExpired(reason) => {
                    format!("the channel's authorization expired: {reason}")
                }
                SendError::Permanent(reason) => reason,
            };
            Err(AppError::Unavailable(format!(
                "cannot download the attachment: {reason}"
            )))
        }
        Err(error) => Err(AppError::Unavailable(error.to_string())),
    }
}

/// A file download that can never run as a page of ours.
fn file_response(body: Vec<u8>, mime_type: Option<String>, file_name: Option<String>) -> Response {
    let content_type = mime_type.unwrap_or_else(|| "application/octet-stream".into());
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if let Some(name) = file_name {
        if let Ok(value) = HeaderValue::from_str(&content_disposition(&name)) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// `attachment` with an ASCII `filename` for old clients and the exact name
/// as RFC 5987 `filename*` (so "фото.jpg" stays "фото.jpg").
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' ' => ' ',
            c if c.is_ascii_graphic() && c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn file_names_survive_in_both_forms() {
        assert_eq!(
            content_disposition("фото 1.jpg"),
            "attachment; filename=\"____ 1.jpg\"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%201.jpg"
        );
        assert_eq!(
            content_disposition("a\"b\\c\r\n.txt"),
            "attachment; filename=\"a_b_c__.txt\"; filename*=UTF-8''a%22b%5Cc%0D%0A.txt"
        );
    }
}
