//! Applying normalized events: contacts, conversations and messages.
//!
//! A batch is one transaction:
//! 1. every event claims its dedup key in `inbound_events` (one multi-row
//!    insert); a key already there means a redelivery and the event is skipped;
//! 2. the identities and conversations the batch names are loaded in one
//!    query each ([`threads`]); new ones are created as they are met;
//! 3. new messages wait in a buffer and go in with one multi-row insert,
//!    flushed before any event that may read them (an edit, a reaction...) so
//!    events still apply in order.
//!
//! Messages are unique per (channel account, provider message id), so even
//! two events with different keys for one message write one row.

mod rows;
mod threads;

use sqlx::AnyConnection;

use self::rows::{attachments_json, NewMessage};
use self::threads::{Context, Threads};
use super::{new_id, now_micros, Db};
use crate::pipeline::envelope::Normalized;
use crate::plugin::types::{DeliveryState, EventBody, Message, MessageRef, Reaction, StatusUpdate};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Written,
    Duplicate,
    Ignored,
}

impl Applied {
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Written => "written",
            Applied::Duplicate => "duplicate",
            Applied::Ignored => "ignored",
        }
    }
}

/// Applies a batch in one transaction; results are in input order.
pub async fn apply_batch(db: &Db, batch: &[Normalized]) -> Result<Vec<Applied>, sqlx::Error> {
    let mut tx = db.write.begin().await?;
    let now = now_micros();
    let claimed = rows::claim_keys(&mut tx, batch, now).await?;
    let threads = Threads::preload(&mut tx, batch).await?;
    let mut writer = Writer {
        conn: &mut tx,
        threads,
        pending: Vec::new(),
        changed: Vec::new(),
        results: vec![Applied::Duplicate; batch.len()],
        now,
    };
    for (index, event) in batch.iter().enumerate() {
        if claimed[index] {
            writer.apply(index, event).await?;
        }
    }
    writer.flush().await?;
    rows::mark_changed(writer.conn, &writer.changed, now).await?;
    let results = writer.results;
    tx.commit().await?;
    Ok(results)
}

/// A buffered message row and the event it answers for.
struct Pending {
    index: usize,
    row: NewMessage,
}

struct Writer<'c> {
    conn: &'c mut AnyConnection,
    threads: Threads,
    /// New messages not inserted yet.
    pending: Vec<Pending>,
    /// Conversations whose existing messages changed (edits, reactions...).
    changed: Vec<String>,
    results: Vec<Applied>,
    now: i64,
}

impl Writer<'_> {
    async fn apply(&mut self, index: usize, event: &Normalized) -> Result<(), sqlx::Error> {
        let cx = Context::of(event, self.now);
        let applied = match &event.event.body {
            EventBody::Message(message) => {
                return self.buffer_message(index, &cx, event, message, "in").await
            }
            EventBody::Echo(message) => {
                return self.buffer_message(index, &cx, event, message, "out").await
            }
            // Everything else may read rows the buffer still holds.
            body => {
                self.flush().await?;
                match body {
                    EventBody::Edit(message) => self.edit(index, &cx, event, message).await?,
                    EventBody::Delete(target) => self.delete(&cx, target).await?,
                    EventBody::Reaction(reaction) => self.reaction(&cx, reaction).await?,
                    EventBody::Status(status) => self.status(&cx, status).await?,
                    EventBody::Ignore(_) => Applied::Ignored,
                    EventBody::Message(_) | EventBody::Echo(_) => unreachable!("matched above"),
                }
            }
        };
        self.results[index] = applied;
        Ok(())
    }

    /// Resolves the message's conversation and sender and queues its row.
    async fn buffer_message(
        &mut self,
        index: usize,
        cx: &Context<'_>,
        event: &Normalized,
        message: &Message,
        direction: &'static str,
    ) -> Result<(), sqlx::Error> {
        let inbound = direction == "in";
        let customer = inbound.then_some(&message.sender);
        let conversation_id = self
            .threads
            .conversation(self.conn, cx, &message.thread, customer)
            .await?;
        let sender_identity_id = match customer {
            Some(sender) => Some(self.threads.sender(self.conn, cx, sender).await?),
            None => None,
        };
        // A second row for the same provider message in this buffer is a
        // duplicate of the first, whatever its dedup key.
        if self.pending.iter().any(|p| {
            p.row.channel_id == cx.channel_id
                && p.row.provider_message_id == message.provider_message_id
        }) {
            self.results[index] = Applied::Duplicate;
            return Ok(());
        }
        self.pending.push(Pending {
            index,
            row: NewMessage {
                id: new_id(),
                conversation_id,
                channel_id: cx.channel_id.to_string(),
                direction,
                sender_identity_id,
                provider_message_id: message.provider_message_id.clone(),
                text: message.text.clone(),
                attachments: attachments_json(&message.attachments),
                reply_to: message.reply_to.clone(),
                status: if inbound { "received" } else { "sent" },
                received_at: event.received_at,
                sent_at: message.timestamp_ms as i64 * 1000,
                created_at: self.now,
            },
        });
        Ok(())
    }

    fn changed(&mut self, conversation_id: String) {
        if !self.changed.contains(&conversation_id) {
            self.changed.push(conversation_id);
        }
    }

    /// Inserts the buffered messages and moves their conversations forward.
    async fn flush(&mut self) -> Result<(), sqlx::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let rows: Vec<NewMessage> = pending.iter().map(|p| p.row.clone()).collect();
        let inserted = rows::insert_messages(self.conn, &rows).await?;
        let mut touched: Vec<String> = Vec::new();
        for (p, inserted) in pending.iter().zip(inserted) {
            self.results[p.index] = if inserted {
                if !touched.contains(&p.row.conversation_id) {
                    touched.push(p.row.conversation_id.clone());
                }
                Applied::Written
            } else {
                Applied::Duplicate
            };
        }
        rows::touch_conversations(self.conn, &touched, self.now).await
    }

    /// An edit replaces the content of the message it names; an edit of a
    /// message never seen (sent before the channel was connected) stores it.
    async fn edit(
        &mut self,
        index: usize,
        cx: &Context<'_>,
        event: &Normalized,
        message: &Message,
    ) -> Result<Applied, sqlx::Error> {
        let edited_at = message.timestamp_ms as i64 * 1000;
        let updated: Option<String> = sqlx::query_scalar(
            "UPDATE messages SET text = $1, attachments = $2, edited_at = $3 WHERE channel_account_id = $4 AND provider_message_id = $5
             RETURNING conversation_id",
        )
        .bind(message.text.as_deref())
        .bind(attachments_json(&message.attachments))
        .bind(edited_at)
        .bind(cx.channel_id)
        .bind(&message.provider_message_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        if let Some(conversation_id) = updated {
            self.changed(conversation_id);
            return Ok(Applied::Written);
        }
        self.buffer_message(index, cx, event, message, "in").await?;
        self.flush().await?;
        sqlx::query("UPDATE messages SET edited_at = $1 WHERE channel_account_id = $2 AND provider_message_id = $3")
            .bind(edited_at)
            .bind(cx.channel_id)
            .bind(&message.provider_message_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(self.results[index])
    }

    async fn delete(
        &mut self,
        cx: &Context<'_>,
        target: &MessageRef,
    ) -> Result<Applied, sqlx::Error> {
        let deleted: Option<String> = sqlx::query_scalar(
            "UPDATE messages SET deleted_at = $1 WHERE channel_account_id = $2 AND provider_message_id = $3
             RETURNING conversation_id",
        )
        .bind(target.timestamp_ms as i64 * 1000)
        .bind(cx.channel_id)
        .bind(&target.provider_message_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        if let Some(conversation_id) = deleted {
            self.changed(conversation_id);
        }
        Ok(Applied::Written)
    }

    async fn reaction(
        &mut self,
        cx: &Context<'_>,
        reaction: &Reaction,
    ) -> Result<Applied, sqlx::Error> {
        let current: Option<(String, String)> = sqlx::query_as(
            "SELECT reactions, conversation_id FROM messages WHERE channel_account_id = $1 AND provider_message_id = $2",
        )
        .bind(cx.channel_id)
        .bind(&reaction.provider_message_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some((current, conversation_id)) = current else {
            return Ok(Applied::Ignored);
        };
        self.changed(conversation_id);
        let mut reactions: Vec<serde_json::Value> =
            serde_json::from_str(&current).unwrap_or_default();
        reactions.retain(|existing| {
            !(existing["by"] == reaction.sender.id.as_str()
                && existing["emoji"] == reaction.emoji.as_str())
        });
        if !reaction.removed {
            reactions.push(serde_json::json!({
                "emoji": reaction.emoji,
                "by": reaction.sender.id,
                "at": reaction.timestamp_ms,
            }));
        }
        sqlx::query("UPDATE messages SET reactions = $1 WHERE channel_account_id = $2 AND provider_message_id = $3")
            .bind(serde_json::Value::Array(reactions).to_string())
            .bind(cx.channel_id)
            .bind(&reaction.provider_message_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(Applied::Written)
    }

    /// Delivery states only move forward: a late "delivered" never undoes "read".
    async fn status(
        &mut self,
        cx: &Context<'_>,
        status: &StatusUpdate,
    ) -> Result<Applied, sqlx::Error> {
        let (state, rank) = match status.state {
            DeliveryState::Sent => ("sent", 1),
            DeliveryState::Delivered => ("delivered", 2),
            DeliveryState::Failed => ("failed", 2),
            DeliveryState::Read => ("read", 3),
        };
        let updated: Option<String> = sqlx::query_scalar(
            "UPDATE messages SET status = $1, error = COALESCE($2, error)
             WHERE channel_account_id = $3 AND provider_message_id = $4 AND direction = 'out'
               AND (CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                                WHEN 'failed' THEN 2 WHEN 'read' THEN 3 ELSE 0 END) < $5
             RETURNING conversation_id",
        )
        .bind(state)
        .bind(status.error.as_deref())
        .bind(cx.channel_id)
        .bind(&status.provider_message_id)
        .bind(rank)
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(match updated {
            Some(conversation_id) => {
                self.changed(conversation_id);
                Applied::Written
            }
            None => Applied::Ignored,
        })
    }
}

#[cfg(test)]
mod tests;
