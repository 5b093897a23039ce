//! Downloading an inbound attachment through its provider plugin, so an
//! operator can open it without the provider's credentials ever leaving the host.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::plugin::types::SendError;
use crate::store::accounts::Role;
use crate::store::{channels, inbox};

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
    let account = channels::get(&state.db, &source.channel_id)
        .await?
        .ok_or_else(|| {
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
    let fetched = match plugin.fetch_attachment(channel, source.provider_ref).await {
        Ok(Ok(fetched)) => fetched,
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
            return Err(AppError::Unavailable(format!(
                "cannot download the attachment: {reason}"
            )));
        }
        Err(error) => return Err(AppError::Unavailable(error.to_string())),
    };
    let content_type = fetched
        .mime_type
        .or(source.mime_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let mut response = Response::new(Body::from(fetched.body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    // Never let a downloaded file run as a page of ours.
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if let Some(name) = fetched.file_name.or(source.file_name) {
        let safe: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}
