//! `GET /api/v1/workspaces/{ws}/events`: the inbox's live updates as
//! server-sent events.
//!
//! Every process that serves the API can answer, whichever process wrote
//! the change: the stream polls the workspace's conversations by
//! `updated_at` (indexed), which every writer and the outbound worker move
//! forward. It sends `ready` first (a client that reconnects reloads what it
//! shows), then `changes` with the conversations that changed. Writes can
//! commit slightly out of stamp order, so each poll looks back a little and
//! skips what it already sent.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::json;

use super::auth::User;
use super::error::ApiResult;
use super::AppState;
use crate::store::accounts::{self, Role};
use crate::store::conversation_state::{changes_since, Change};
use crate::store::now_micros;

const POLL_EVERY: Duration = Duration::from_millis(500);
/// How far behind the newest change seen each poll looks again.
const LOOKBACK_MICROS: i64 = 5_000_000;
const MAX_CHANGES_PER_POLL: i64 = 500;
/// Polls between checks that the user is still a member.
const POLLS_PER_MEMBERSHIP_CHECK: u32 = 60;

pub async fn stream(
    State(state): State<AppState>,
    user: User,
    Path(workspace_id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    user.require(&state, &workspace_id, Role::Agent).await?;
    let feed = Feed {
        state,
        user_id: user.id,
        workspace_id,
        cursor: now_micros(),
        sent: HashMap::new(),
        polls: 0,
        started: false,
    };
    let events = stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

struct Feed {
    state: AppState,
    user_id: String,
    workspace_id: String,
    /// The newest `updated_at` seen.
    cursor: i64,
    /// What was sent within the lookback window, to send each change once.
    sent: HashMap<String, i64>,
    polls: u32,
    started: bool,
}

impl Feed {
    /// The next event, or None to end the stream (membership revoked).
    async fn next(&mut self) -> Option<Event> {
        if !self.started {
            self.started = true;
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            tokio::time::sleep(POLL_EVERY).await;
            self.polls += 1;
            if self.polls.is_multiple_of(POLLS_PER_MEMBERSHIP_CHECK) && !self.still_member().await {
                return None;
            }
            let changes = match changes_since(
                &self.state.db,
                &self.workspace_id,
                self.cursor - LOOKBACK_MICROS,
                MAX_CHANGES_PER_POLL,
            )
            .await
            {
                Ok(changes) => changes,
                Err(error) => {
                    tracing::warn!(%error, "inbox events: reading changes failed; retrying");
                    continue;
                }
            };
            let fresh = self.fresh(changes);
            if !fresh.is_empty() {
                let data = json!({ "conversations": fresh.iter().map(|change| json!({
                    "id": change.conversation_id,
                    "updated_at": crate::store::rfc3339(change.updated_at),
                })).collect::<Vec<_>>() });
                return Some(Event::default().event("changes").data(data.to_string()));
            }
        }
    }

    /// Keeps the changes not sent yet, and moves the window forward.
    fn fresh(&mut self, changes: Vec<Change>) -> Vec<Change> {
        let fresh: Vec<Change> = changes
            .into_iter()
            .filter(|change| self.sent.get(&change.conversation_id) != Some(&change.updated_at))
            .collect();
        for change in &fresh {
            self.cursor = self.cursor.max(change.updated_at);
            self.sent
                .insert(change.conversation_id.clone(), change.updated_at);
        }
        let horizon = self.cursor - LOOKBACK_MICROS;
        self.sent.retain(|_, updated_at| *updated_at >= horizon);
        fresh
    }

    async fn still_member(&self) -> bool {
        // A database error keeps the stream: the next check decides.
        !matches!(
            accounts::role_in(&self.state.db, &self.user_id, &self.workspace_id).await,
            Ok(None)
        )
    }
}
