//! What a website visitor may read: their own conversation on one widget
//! channel, found by the visitor id their browser keeps (a 128-bit random
//! value, so knowing it is being that visitor).

use serde::Serialize;
use sqlx::Row;

use super::{rfc3339, Db};

/// A message as the widget shows it.
#[derive(Debug, Serialize)]
pub struct VisitorMessage {
    pub id: String,
    /// `in` from the visitor, `out` from the team.
    pub direction: String,
    pub text: Option<String>,
    pub created_at: String,
}

/// The visitor's conversation on this channel and when it last changed.
pub async fn conversation(
    db: &Db,
    channel_id: &str,
    visitor_id: &str,
) -> anyhow::Result<Option<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, updated_at FROM conversations WHERE channel_account_id = $1 AND provider_thread_id = $2",
    )
    .bind(channel_id)
    .bind(visitor_id)
    .fetch_optional(&db.read)
    .await?)
}

/// The conversation's messages the visitor may see, oldest first: theirs,
/// and the team's replies once sent (not pending or failed ones), without
/// deleted ones.
pub async fn messages(
    db: &Db,
    conversation_id: &str,
    limit: i64,
) -> anyhow::Result<Vec<VisitorMessage>> {
    let rows = sqlx::query(
        "SELECT id, direction, text, created_at FROM (
             SELECT id, direction, text, created_at FROM messages
             WHERE conversation_id = $1 AND deleted_at IS NULL
               AND (direction = 'in' OR status IN ('sent', 'delivered', 'read'))
             ORDER BY created_at DESC, id DESC LIMIT $2) recent
         ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    Ok(rows
        .iter()
        .map(|row| VisitorMessage {
            id: row.get("id"),
            direction: row.get("direction"),
            text: row.get("text"),
            created_at: rfc3339(row.get("created_at")),
        })
        .collect())
}
