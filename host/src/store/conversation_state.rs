//! What operators change about a conversation (resolved or open, read up to
//! now) and the per-workspace change feed the inbox's live updates read.

use sqlx::Row;

use super::{now_micros, Db, MOVE_UPDATED_AT};

/// Resolves or reopens; false when there is no such conversation.
pub async fn set_status(db: &Db, conversation_id: &str, status: &str) -> anyhow::Result<bool> {
    anyhow::ensure!(
        matches!(status, "open" | "resolved"),
        "status must be open or resolved"
    );
    let updated = sqlx::query(&format!(
        "UPDATE conversations SET status = $2, {MOVE_UPDATED_AT} WHERE id = $3"
    ))
    .bind(now_micros())
    .bind(status)
    .bind(conversation_id)
    .execute(&db.write)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Records that `user_id` has read the conversation up to now.
pub async fn mark_read(db: &Db, user_id: &str, conversation_id: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO conversation_reads (user_id, conversation_id, read_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_at = excluded.read_at",
    )
    .bind(user_id)
    .bind(conversation_id)
    .bind(now_micros())
    .execute(&db.write)
    .await?;
    Ok(())
}

/// A conversation that changed, and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub conversation_id: String,
    pub updated_at: i64,
}

/// A page of a workspace's conversations changed after `after` (an
/// `updated_at` and a conversation id: a page that ends inside a run of
/// equal stamps continues there), the oldest first, at most `limit`.
pub async fn changes_after(
    db: &Db,
    workspace_id: &str,
    after: (i64, &str),
    limit: i64,
) -> anyhow::Result<Vec<Change>> {
    Ok(sqlx::query(
        "SELECT id, updated_at FROM conversations
         WHERE workspace_id = $1 AND (updated_at > $2 OR (updated_at = $2 AND id > $3))
         ORDER BY updated_at, id LIMIT $4",
    )
    .bind(workspace_id)
    .bind(after.0)
    .bind(after.1)
    .bind(limit)
    .fetch_all(&db.read)
    .await?
    .into_iter()
    .map(|row| Change {
        conversation_id: row.get("id"),
        updated_at: row.get("updated_at"),
    })
    .collect())
}
