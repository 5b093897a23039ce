//! Conversations, messages, replies and contacts.

use axum::extract::{Path, Query, State};
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
use crate::store::inbox::{self, ContactView, ConversationView, MessageView};

/// Longest reply text accepted; providers have their own, smaller limits
/// (Telegram 4096 characters) and the plugin reports those.
const MAX_REPLY_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
pub struct Page {
    limit: Option<i64>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(200).clamp(1, 1000)
    }
}

pub async fn conversations(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<ConversationView>>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    Ok(Json(
        inbox::conversations(&state.db, &workspace_id, page.limit()).await?,
    ))
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

#[derive(Deserialize)]
pub struct Reply {
    text: String,
    /// Provider message id of the message this reply answers.
    reply_to: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    user: User,
    Path(conversation_id): Path<String>,
    Json(body): Json<Reply>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    authorize_conversation(&state, &user, &conversation_id).await?;
    if body.text.trim().is_empty() {
        return Err(AppError::BadRequest("text must not be empty".into()));
    }
    if body.text.len() > MAX_REPLY_BYTES {
        return Err(AppError::BadRequest(format!(
            "text is longer than {MAX_REPLY_BYTES} bytes"
        )));
    }
    let (message_id, channel_id) = inbox::insert_reply(
        &state.db,
        &conversation_id,
        &body.text,
        body.reply_to.as_deref(),
    )
    .await?
    .ok_or(AppError::NotFound("conversation"))?;
    let account = channels::get(&state.db, &channel_id).await?;
    let queued = match account {
        None => Err("the channel has been disconnected".to_string()),
        Some(account) => {
            let job = OutboundJob {
                message_id: message_id.clone(),
                channel_id: channel_id.clone(),
            };
            let record = Record {
                topic: topics::outbound(&account.provider),
                key: format!("{channel_id}:{conversation_id}"),
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
            &message_id,
            &format!("could not be queued: {reason}"),
        )
        .await?;
    }
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
