//! Conversations, messages, replies and contacts.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::auth::User;
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::bus::Record;
use crate::pipeline::envelope::{topics, OutboundJob};
use crate::store::accounts::Role;
use crate::store::channels;
use crate::store::conversation_state;
use crate::store::inbox::{self, ContactView, ConversationFilter, ConversationView, MessageView};

use super::reply_body::ReplyRequest;

/// Longest reply text accepted; providers have their own, smaller limits
/// (Telegram 4096 characters) and the plugin reports those.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct Page {
    limit: Option<i64>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(200).clamp(1, 1000)
    }
}

#[derive(Deserialize)]
pub struct ConversationQuery {
    limit: Option<i64>,
    /// `open`, `resolved`, or absent/`all` for both.
    status: Option<String>,
    /// Text to find in contact names, titles and messages.
    q: Option<String>,
}

/// `GET /api/v1/workspaces/{ws}/conversations[?status=open|resolved&q=..&limit=..]`.
pub async fn conversations(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
    Query(query): Query<ConversationQuery>,
) -> ApiResult<Json<Vec<ConversationView>>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    let status = match query.status.as_deref() {
        None | Some("" | "all") => None,
        Some(status @ ("open" | "resolved")) => Some(status.to_string()),
        Some(other) => {
            return Err(AppError::BadRequest(format!(
                "status must be open, resolved or all, not `{other}`"
            )))
        }
    };
    let filter = ConversationFilter {
        status,
        search: query.q,
    };
    let limit = Page { limit: query.limit }.limit();
    Ok(Json(
        inbox::conversations(&state.db, &workspace_id, &user.id, &filter, limit).await?,
    ))
}

#[derive(Deserialize)]
pub struct StatusChange {
    status: String,
}

/// `PATCH /api/v1/conversations/{id}` `{"status": "open"|"resolved"}`.
pub async fn set_status(
    State(state): State<AppState>,
    user: User,
    Path(conversation_id): Path<String>,
    Json(body): Json<StatusChange>,
) -> ApiResult<StatusCode> {
    authorize_conversation(&state, &user, &conversation_id).await?;
    if !matches!(body.status.as_str(), "open" | "resolved") {
        return Err(AppError::BadRequest(
            "status must be open or resolved".into(),
        ));
    }
    if !conversation_state::set_status(&state.db, &conversation_id, &body.status).await? {
        return Err(AppError::NotFound("conversation"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/conversations/{id}/read`: the signed-in user has read it.
pub async fn mark_read(
    State(state): State<AppState>,
    user: User,
    Path(conversation_id): Path<String>,
) -> ApiResult<StatusCode> {
    authorize_conversation(&state, &user, &conversation_id).await?;
    conversation_state::mark_read(&state.db, &user.id, &conversation_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks that the user may see a conversation.
async fn authorize_conversation(
    state: &AppState,
    user: &User,
    conversation_id: &str,
) -> ApiResult<()> {
    let workspace_id = inbox::conversation_workspace(&state.db, conversation_id)
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    user.require_or_hide(state, &workspace_id, Role::Agent, "conversation")
        .await?;
    Ok(())
}

pub async fn messages(
    State(state): State<AppState>,
    user: User,
    Path(conversation_id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<MessageView>>> {
    authorize_conversation(&state, &user, &conversation_id).await?;
    Ok(Json(
        inbox::messages(&state.db, &conversation_id, page.limit()).await?,
    ))
}

pub async fn reply(
    State(state): State<AppState>,
    user: User,
    Path(conversation_id): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    // Who may reply is settled before up to 10 MB of body is read.
    authorize_conversation(&state, &user, &conversation_id).await?;
    let body = ReplyRequest::from_request(request, &state).await?;
    let text = body.text.filter(|text| !text.trim().is_empty());
    if text.is_none() && body.file.is_none() {
        return Err(AppError::BadRequest("a reply needs text or a file".into()));
    }
    if text
        .as_ref()
        .is_some_and(|text| text.len() > MAX_REPLY_BYTES)
    {
        return Err(AppError::BadRequest(format!(
            "text is longer than {MAX_REPLY_BYTES} bytes"
        )));
    }
    if body.file.is_some() {
        ensure_attachments_supported(&state, &conversation_id).await?;
    }
    let (message_id, channel_id) = inbox::insert_reply(
        &state.db,
        &conversation_id,
        text.as_deref(),
        body.file.as_ref(),
        body.reply_to.as_deref(),
    )
    .await?
    .ok_or(AppError::NotFound("conversation"))?;
    queue(&state, &message_id, &channel_id, &conversation_id).await?;
    let message = inbox::message(&state.db, &message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

/// Refuses a file for a conversation whose provider cannot send one (its
/// manifest says so), rather than failing the reply later.
async fn ensure_attachments_supported(state: &AppState, conversation_id: &str) -> ApiResult<()> {
    let Some((workspace_id, provider)) =
        inbox::conversation_provider(&state.db, conversation_id).await?
    else {
        return Err(AppError::NotFound("conversation"));
    };
    let plugin = state
        .plugins
        .for_workspace(&state.db, &workspace_id, &provider)
        .await?
        .ok_or_else(|| AppError::Unavailable(format!("no plugin `{provider}` is loaded")))?;
    if !plugin.manifest.capabilities.attachments {
        return Err(AppError::Unprocessable(format!(
            "{} cannot send files or images",
            plugin.manifest.display_name
        )));
    }
    Ok(())
}

/// Puts a pending reply on its provider's outbound topic; a reply that
/// cannot be queued is marked failed with the reason (and can be retried).
async fn queue(
    state: &AppState,
    message_id: &str,
    channel_id: &str,
    conversation_id: &str,
) -> ApiResult<()> {
    let account = channels::get(&state.db, channel_id).await?;
    let queued = match account {
        None => Err("the channel has been disconnected".to_string()),
        Some(account) => {
            let job = OutboundJob {
                message_id: message_id.to_string(),
                channel_id: channel_id.to_string(),
            };
            let record = Record {
                topic: topics::outbound(&account.provider),
                key: format!("{channel_id}:{conversation_id}"),
                partition: None,
                payload: serde_json::to_vec(&job).expect("a job always serializes"),
            };
            state
                .bus
                .publish(vec![record])
                .await
                .map_err(|error| error.to_string())
        }
    };
    if let Err(reason) = queued {
        inbox::mark_failed(
            &state.db,
            message_id,
            &format!("could not be queued: {reason}"),
        )
        .await?;
    }
    Ok(())
}

/// `POST /api/v1/messages/{id}/retry`: sends a failed reply again.
pub async fn retry(
    State(state): State<AppState>,
    user: User,
    Path(message_id): Path<String>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let message = inbox::message(&state.db, &message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    authorize_conversation(&state, &user, &message.conversation_id).await?;
    let channel_id = inbox::requeue_failed(&state.db, &message_id)
        .await?
        .ok_or_else(|| AppError::Conflict("only a failed reply can be retried".into()))?;
    queue(&state, &message_id, &channel_id, &message.conversation_id).await?;
    let message = inbox::message(&state.db, &message_id)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok((StatusCode::ACCEPTED, Json(message)))
}

pub async fn contacts(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<ContactView>>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    Ok(Json(
        inbox::contacts(&state.db, &workspace_id, page.limit()).await?,
    ))
}
