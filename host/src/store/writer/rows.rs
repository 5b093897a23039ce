//! The writer's multi-row statements. A batch of hundreds of events costs a
//! handful of round trips instead of several per event: on PostgreSQL each
//! statement is a network round trip, and the writer's throughput is bounded
//! by how many it makes.

use std::collections::HashSet;

use sqlx::{AnyConnection, Row};

use crate::pipeline::envelope::Normalized;
use crate::plugin::types::Attachment;
use crate::store::attachment_kind;
use crate::store::MOVE_UPDATED_AT;

/// Rows per statement: 13 columns x 200 rows stays far below both SQLite's
/// (32,766) and PostgreSQL's (65,535) limit on bound parameters.
const ROWS_PER_STATEMENT: usize = 200;

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` parameters.
fn values_list(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// `$first, $first+1, ...` for an `IN (...)` list of `count` parameters.
pub(super) fn in_list(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims the dedup key of every event; true where the event is the first to
/// claim its key (a key already stored, or met earlier in the batch, is a
/// redelivery).
pub(super) async fn claim_keys(
    conn: &mut AnyConnection,
    batch: &[Normalized],
    now: i64,
) -> Result<Vec<bool>, sqlx::Error> {
    let mut fresh: HashSet<(String, String)> = HashSet::new();
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO inbound_events (channel_account_id, dedup_key, applied_at) VALUES {}
             ON CONFLICT DO NOTHING RETURNING channel_account_id, dedup_key",
            values_list(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(&event.channel_id)
                .bind(&event.event.dedup_key)
                .bind(now);
        }
        for row in query.fetch_all(&mut *conn).await? {
            fresh.insert((row.try_get(0)?, row.try_get(1)?));
        }
    }
    // The statement inserted each fresh key once; hand it to the first event
    // that carries it.
    Ok(batch
        .iter()
        .map(|event| fresh.remove(&(event.channel_id.clone(), event.event.dedup_key.clone())))
        .collect())
}

/// A message row waiting for the batch's next multi-row insert.
#[derive(Clone)]
pub(super) struct NewMessage {
    pub id: String,
    pub conversation_id: String,
    pub channel_id: String,
    pub direction: &'static str,
    pub sender_identity_id: Option<String>,
    pub provider_message_id: String,
    pub text: Option<String>,
    pub attachments: String,
    pub reply_to: Option<String>,
    pub status: &'static str,
    pub received_at: i64,
    pub sent_at: i64,
    pub created_at: i64,
}

/// Inserts the rows (skipping any whose provider message id is already
/// stored for its channel); returns, per row, whether it was inserted.
pub(super) async fn insert_messages(
    conn: &mut AnyConnection,
    rows: &[NewMessage],
) -> Result<Vec<bool>, sqlx::Error> {
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO messages (id, conversation_id, channel_account_id, direction, sender_identity_id,
                                   provider_message_id, text, attachments, reply_to, status, received_at,
                                   sent_at, created_at)
             VALUES {}
             ON CONFLICT (channel_account_id, provider_message_id) DO NOTHING RETURNING id",
            values_list(chunk.len(), 13)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            query = query
                .bind(&row.id)
                .bind(&row.conversation_id)
                .bind(&row.channel_id)
                .bind(row.direction)
                .bind(row.sender_identity_id.as_deref())
                .bind(&row.provider_message_id)
                .bind(row.text.as_deref())
                .bind(&row.attachments)
                .bind(row.reply_to.as_deref())
                .bind(row.status)
                .bind(row.received_at)
                .bind(row.sent_at)
                .bind(row.created_at);
        }
        for row in query.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get(0)?);
        }
    }
    Ok(rows.iter().map(|row| inserted.contains(&row.id)).collect())
}

/// New messages arrived at `at` (now): moves `last_message_at` forward and
/// marks the conversations changed.
pub(super) async fn touch_conversations(
    conn: &mut AnyConnection,
    conversation_ids: &[String],
    at: i64,
) -> Result<(), sqlx::Error> {
    for chunk in conversation_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE conversations
             SET last_message_at = CASE WHEN COALESCE(last_message_at, 0) < $1 THEN $1 ELSE last_message_at END,
                 {MOVE_UPDATED_AT}
             WHERE id IN ({})",
            in_list(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(at);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Something shown in these conversations changed at `at` (an edit, a
/// reaction, a status): the inbox's live updates pick them up (see
/// [`MOVE_UPDATED_AT`]).
pub(super) async fn mark_changed(
    conn: &mut AnyConnection,
    conversation_ids: &[String],
    at: i64,
) -> Result<(), sqlx::Error> {
    for chunk in conversation_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE conversations SET {MOVE_UPDATED_AT} WHERE id IN ({})",
            in_list(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(at);
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Attachments as stored and shown by the API: kinds in lower case, metadata
/// as an object.
pub(super) fn attachments_json(attachments: &[Attachment]) -> String {
    let list: Vec<serde_json::Value> = attachments
        .iter()
        .map(|attachment| {
            let kind = attachment_kind::name(attachment.kind);
            let metadata: serde_json::Map<String, serde_json::Value> = attachment
                .metadata
                .iter()
                .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
                .collect();
            serde_json::json!({
                "kind": kind,
                "provider_ref": attachment.provider_ref,
                "mime_type": attachment.mime_type,
                "file_name": attachment.file_name,
                "size_bytes": attachment.size_bytes,
                "width": attachment.width,
                "height": attachment.height,
                "duration_secs": attachment.duration_secs,
                "metadata": metadata,
            })
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_list_numbers_parameters_row_by_row() {
        assert_eq!(values_list(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(1, 1), "($1)");
    }

    #[test]
    fn in_list_starts_where_asked() {
        assert_eq!(in_list(2, 3), "$2, $3, $4");
    }
}
