//! Login, bearer-token sessions and role checks.

use axum::extract::{FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// `POST /api/v1/auth/login`: the token in the body (API clients) and in an
/// HttpOnly cookie (the web UI, whose scripts never see it).
pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Response> {
    let ttl = DEFAULT_SESSION_TTL.as_micros() as i64;
    let Some(token) = accounts::login(&state.db, &body.email, &body.password, ttl).await? else {
        return Err(AppError::Unauthorized);
    };
    Ok(signed_in(&state, &token, serde_json::json!({})))
}

/// The answer that starts a session: `extra` plus the token and its
/// lifetime in the body, and the session cookie.
pub fn signed_in(state: &AppState, token: &str, extra: serde_json::Value) -> Response {
    let max_age = DEFAULT_SESSION_TTL.as_secs();
    let cookie = session_cookie(state, token, max_age);
    let mut body = serde_json::json!({ "token": token, "expires_in": max_age });
    if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    ([(SET_COOKIE, cookie)], Json(body)).into_response()
}

/// `POST /api/v1/auth/logout`: ends the session the request carries and
/// clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = session_token(&headers) {
        accounts::logout(&state.db, token).await?;
    }
    let cleared = session_cookie(&state, "", 0);
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cleared)]).into_response())
}

/// `GET /api/v1/me`: who is signed in and their workspaces with roles.
pub async fn me(State(state): State<AppState>, user: User) -> ApiResult<Json<accounts::Me>> {
    accounts::me(&state.db, &user.id)
        .await?
        .map(Json)
        .ok_or(AppError::Unauthorized)
}

/// HttpOnly (scripts cannot read it), SameSite=Lax (not sent on cross-site
/// POSTs, so other sites cannot act with it), Secure when served over https.
fn session_cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("session tokens are URL-safe")
}

/// The cookie a browser session's token travels in (the web UI sets it at
/// login); the API also takes the token as `Authorization: Bearer`.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// The session token of a request: the bearer token, else the session cookie.
fn session_token(headers: &HeaderMap) -> Option<&str> {
    session_credential(headers).map(|(token, _)| token)
}

/// The session token and whether it came in the cookie (which a browser
/// attaches by itself, unlike an `Authorization` header).
fn session_credential(headers: &HeaderMap) -> Option<(&str, bool)> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let cookie = || {
        headers
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
        .map(|token| (token, false))
        .or_else(|| cookie().map(|token| (token, true)))
        .map(|(token, from_cookie)| (token.trim(), from_cookie))
        .filter(|(token, _)| !token.is_empty())
}

/// Refuses a change made with the session cookie from another site. A
/// multipart POST (a reply with a file) needs no CORS preflight, and
/// SameSite=Lax still sends the cookie from a sibling subdomain, so the
/// browser's own word on where the request comes from decides:
/// `Sec-Fetch-Site`, else `Origin` against this request's `Host` or the
/// public URL (behind a proxy that rewrites `Host`). A client that sends
/// neither is not a browser acting for someone else.
fn refuse_cross_site(parts: &Parts, public_url: &str) -> Result<(), AppError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let same_site = match (header("sec-fetch-site"), header("origin")) {
        (Some(site), _) => matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            let authority = origin.split_once("://").map(|(_, rest)| rest);
            (authority.is_some() && authority == header("host"))
                || origin == public_url.trim_end_matches('/')
        }
        (None, None) => true,
    };
    if same_site {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "a request from another site cannot use this session; send the token as a bearer token"
                .into(),
        ))
    }
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
        let (token, from_cookie) =
            session_credential(&parts.headers).ok_or(AppError::Unauthorized)?;
        if from_cookie {
            refuse_cross_site(parts, &state.public_url)?;
        }
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
