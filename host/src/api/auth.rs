//! Login, bearer-token sessions and role checks.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use serde::Deserialize;

use super::error::{ApiResult, AppError};
use super::AppState;
use crate::config::DEFAULT_SESSION_TTL;
use crate::store::accounts::{self, Role};

#[derive(Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let ttl = DEFAULT_SESSION_TTL.as_micros() as i64;
    match accounts::login(&state.db, &body.email, &body.password, ttl).await? {
        Some(token) => Ok(Json(
            serde_json::json!({ "token": token, "expires_in": DEFAULT_SESSION_TTL.as_secs() }),
        )),
        None => Err(AppError::Unauthorized),
    }
}

/// The cookie a browser session's token travels in (the web UI sets it at
/// login); the API also takes the token as `Authorization: Bearer`.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// The session token of a request: the bearer token, else the session cookie.
fn session_token(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let cookie = || {
        parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then_some(value)
            })
    };
    bearer
        .or_else(cookie)
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The signed-in user, from `Authorization: Bearer <token>` or the session cookie.
pub struct User {
    pub id: String,
}

impl FromRequestParts<AppState> for User {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(parts).ok_or(AppError::Unauthorized)?;
        match accounts::session_user(&state.db, token).await? {
            Some(id) => Ok(User { id }),
            None => Err(AppError::Unauthorized),
        }
    }
}

impl User {
    /// Like [`User::require`], but a workspace the user is not a member of
    /// reads as a missing `what`: a resource of another workspace is not
    /// acknowledged to exist.
    pub async fn require_or_hide(
        &self,
        state: &AppState,
        workspace_id: &str,
        at_least: Role,
        what: &'static str,
    ) -> ApiResult<Role> {
        self.require(state, workspace_id, at_least)
            .await
            .map_err(|error| match error {
                AppError::NotFound(_) => AppError::NotFound(what),
                other => other,
            })
    }

    /// The user's role in a workspace, refusing non-members and roles below `at_least`.
    pub async fn require(
        &self,
        state: &AppState,
        workspace_id: &str,
        at_least: Role,
    ) -> ApiResult<Role> {
        match accounts::role_in(&state.db, &self.id, workspace_id).await? {
            None => Err(AppError::NotFound("workspace")),
            Some(role) if role < at_least => Err(AppError::Forbidden(format!(
                "this needs the {} role or higher",
                at_least.as_str()
            ))),
            Some(role) => Ok(role),
        }
    }
}
