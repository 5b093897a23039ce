//! `GET /api/v1/workspaces/{ws}/events`: the inbox's live updates as
//! server-sent events.
//!
//! Every process that serves the API can answer, whichever process wrote
//! the change: the stream polls the workspace's conversations by
//! `updated_at` (indexed), which every writer and the outbound worker move
//! forward on each change (see `store::writer::rows::mark_changed`). It
//! sends `ready` first (a client that reconnects reloads what it shows),
//! then `changes` with the conversations that changed. Writes can commit
//! slightly out of stamp order, so each poll looks back a little and skips
//! what it already sent; it pages through the window, and if a window holds
//! more than it will page through it sends `ready` again instead.
//!
//! A stream ends after [`MAX_LIFETIME`] (the browser's EventSource
//! reconnects, with its session checked again), when the user leaves the
//! workspace, and when the process shuts down.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::json;

use super::auth::User;
use super::error::ApiResult;
use super::AppState;
use crate::store::accounts::{self, Role};
use crate::store::conversation_state::{changes_after, Change};
use crate::store::now_micros;

const POLL_EVERY: Duration = Duration::from_millis(500);
/// How far behind the newest change seen each poll looks again.
const LOOKBACK_MICROS: i64 = 5_000_000;
const PAGE: i64 = 500;
/// Pages one poll reads before it gives up and tells the client to reload.
const MAX_PAGES_PER_POLL: usize = 10;
/// Polls between checks that the user is still a member.
const POLLS_PER_MEMBERSHIP_CHECK: u32 = 60;
pub const MAX_LIFETIME: Duration = Duration::from_secs(600);

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
        started: None,
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
    started: Option<Instant>,
}

/// What one poll found.
enum Found {
    Changes(Vec<Change>),
    /// More than a poll pages through: the client should reload everything.
    TooMany,
}

impl Feed {
    /// The next event, or None to end the stream.
    async fn next(&mut self) -> Option<Event> {
        let Some(started) = self.started else {
            self.started = Some(Instant::now());
            return Some(ready());
        };
        loop {
            tokio::time::sleep(POLL_EVERY).await;
            if crate::app::shutting_down() || started.elapsed() > MAX_LIFETIME {
                return None;
            }
            self.polls += 1;
            if self.polls.is_multiple_of(POLLS_PER_MEMBERSHIP_CHECK) && !self.still_member().await {
                return None;
            }
            match self.poll().await {
                Ok(Found::TooMany) => return Some(ready()),
                Ok(Found::Changes(fresh)) if !fresh.is_empty() => {
                    let data = json!({ "conversations": fresh.iter().map(|change| json!({
                        "id": change.conversation_id,
                        "updated_at": crate::store::rfc3339(change.updated_at),
                    })).collect::<Vec<_>>() });
                    return Some(Event::default().event("changes").data(data.to_string()));
                }
                Ok(Found::Changes(_)) => {}
                Err(error) => {
                    tracing::warn!(%error, "inbox events: reading changes failed; retrying")
                }
            }
        }
    }

    /// Pages through the lookback window; keeps what was not sent yet.
    async fn poll(&mut self) -> anyhow::Result<Found> {
        let mut after = (self.cursor - LOOKBACK_MICROS, String::new());
        let mut fresh = Vec::new();
        for _ in 0..MAX_PAGES_PER_POLL {
            let page = changes_after(
                &self.state.db,
                &self.workspace_id,
                (after.0, &after.1),
                PAGE,
            )
            .await?;
            let full = page.len() as i64 == PAGE;
            if let Some(last) = page.last() {
                after = (last.updated_at, last.conversation_id.clone());
            }
            fresh.extend(self.unsent(page));
            if !full {
                return Ok(Found::Changes(fresh));
            }
        }
        // Everything up to here counts as told: the client reloads.
        self.cursor = self.cursor.max(after.0);
        Ok(Found::TooMany)
    }

    /// Keeps the changes not sent yet, and moves the window forward.
    fn unsent(&mut self, changes: Vec<Change>) -> Vec<Change> {
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

fn ready() -> Event {
    Event::default().event("ready").data("{}")
}
