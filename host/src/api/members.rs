//! Workspace members and invitations (owners invite; roles are enforced on
//! every route by `User::require`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{signed_in, User};
use super::error::{ApiResult, AppError};
use super::AppState;
use crate::config::DEFAULT_SESSION_TTL;
use crate::store::accounts::{self, Role};
use crate::store::invites::{self, AcceptError, Member};

/// `GET /api/v1/workspaces/{ws}/members` (admins and owners).
pub async fn list(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
) -> ApiResult<Json<Vec<Member>>> {
    user.require(&state, &workspace_id, Role::Admin).await?;
    Ok(Json(invites::members(&state.db, &workspace_id).await?))
}

#[derive(Deserialize)]
pub struct InviteRequest {
    email: String,
    role: String,
}

/// `POST /api/v1/workspaces/{ws}/invites` `{"email","role"}` (owners): the
/// token is in this answer only; the owner passes it on.
pub async fn invite(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
    Json(body): Json<InviteRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    user.require(&state, &workspace_id, Role::Owner).await?;
    let email = body.email.trim();
    if !email.contains('@') || email.len() > 254 {
        return Err(AppError::BadRequest(format!(
            "`{email}` is not an email address"
        )));
    }
    let role = match Role::parse(&body.role) {
        Some(role @ (Role::Admin | Role::Agent)) => role,
        _ => {
            return Err(AppError::BadRequest(
                "role must be admin or agent (a workspace has one owner)".into(),
            ))
        }
    };
    let invited = invites::create(&state.db, &workspace_id, email, role, &user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "email": email.to_ascii_lowercase(),
            "role": role.as_str(),
            "token": invited.token,
            "expires_at": crate::store::rfc3339(invited.expires_at),
        })),
    ))
}

#[derive(Deserialize)]
pub struct AcceptRequest {
    password: String,
}

/// `POST /api/v1/invites/{token}/accept` `{"password"}`: joins the
/// workspace and signs in.
pub async fn accept(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(body): Json<AcceptRequest>,
) -> ApiResult<Response> {
    let accepted = invites::accept(&state.db, &token, &body.password)
        .await
        .map_err(|error| match error {
            AcceptError::Unknown => AppError::NotFound("invitation"),
            AcceptError::Expired | AcceptError::WeakPassword => {
                AppError::BadRequest(error.to_string())
            }
            AcceptError::Used => AppError::Conflict(error.to_string()),
            AcceptError::WrongPassword(_) => AppError::Forbidden(error.to_string()),
            AcceptError::Database(error) => AppError::Internal(error),
        })?;
    let ttl = DEFAULT_SESSION_TTL.as_micros() as i64;
    let session = accounts::open_session(&state.db, &accepted.user_id, ttl).await?;
    Ok(signed_in(
        &state,
        &session,
        json!({ "workspace_id": accepted.workspace_id }),
    ))
}
