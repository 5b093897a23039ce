//! Applying normalized events: contacts, conversations and messages.
//!
//! A batch is one transaction. Each event first claims its dedup key in
//! `inbound_events`; a key already there means a redelivery and the event is
//! skipped. Messages are unique per (channel account, provider message id), so
//! even two events with different keys for one message write one row.
//! Creation of a thread's contact and conversation is insert-if-absent then
//! select, never select-then-insert, so concurrent writers cannot duplicate.

use sqlx::{AnyConnection, Row};

use super::{new_id, now_micros, Db};
use crate::pipeline::envelope::Normalized;
use crate::plugin::types::{
    Attachment, AttachmentKind, DeliveryState, EventBody, Message, MessageRef, Participant,
    Reaction, StatusUpdate, Thread, ThreadKind,
};

/// Attachments as stored and shown by the API: kinds in lower case, metadata
/// as an object.
fn attachments_json(attachments: &[Attachment]) -> String {
    let list: Vec<serde_json::Value> = attachments
        .iter()
        .map(|attachment| {
            let kind = match attachment.kind {
                AttachmentKind::Image => "image",
                AttachmentKind::Video => "video",
                AttachmentKind::Audio => "audio",
                AttachmentKind::Voice => "voice",
                AttachmentKind::Document => "document",
                AttachmentKind::Sticker => "sticker",
                AttachmentKind::Location => "location",
                AttachmentKind::Contact => "contact",
                AttachmentKind::Other => "other",
            };
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
    let mut results = Vec::with_capacity(batch.len());
    for event in batch {
        results.push(apply(&mut tx, event).await?);
    }
    tx.commit().await?;
    Ok(results)
}

async fn apply(conn: &mut AnyConnection, event: &Normalized) -> Result<Applied, sqlx::Error> {
    let now = now_micros();
    let claimed = sqlx::query(
        "INSERT INTO inbound_events (channel_account_id, dedup_key, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&event.channel_id)
    .bind(&event.event.dedup_key)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(Applied::Duplicate);
    }
    let mut writer = Writer { conn, event, now };
    match &event.event.body {
        EventBody::Message(message) => writer.message(message, "in").await,
        EventBody::Echo(message) => writer.message(message, "out").await,
        EventBody::Edit(message) => writer.edit(message).await,
        EventBody::Delete(target) => writer.delete(target).await,
        EventBody::Reaction(reaction) => writer.reaction(reaction).await,
        EventBody::Status(status) => writer.status(status).await,
        EventBody::Ignore(_) => Ok(Applied::Ignored),
    }
}

struct Writer<'a> {
    conn: &'a mut AnyConnection,
    event: &'a Normalized,
    now: i64,
}

impl Writer<'_> {
    /// The contact behind a provider user id on this channel, created on first sight.
    async fn identity(
        &mut self,
        provider_user_id: &str,
        name: Option<&str>,
        username: Option<&str>,
    ) -> Result<(String, String), sqlx::Error> {
        let channel = &self.event.channel_id;
        let existing = sqlx::query(
            "SELECT id, contact_id FROM contact_identities WHERE channel_account_id = $1 AND provider_user_id = $2",
        )
        .bind(channel)
        .bind(provider_user_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        if let Some(row) = existing {
            let identity_id: String = row.get("id");
            if name.is_some() || username.is_some() {
                sqlx::query("UPDATE contact_identities SET display_name = COALESCE($1, display_name), username = COALESCE($2, username) WHERE id = $3")
                    .bind(name)
                    .bind(username)
                    .bind(&identity_id)
                    .execute(&mut *self.conn)
                    .await?;
            }
            return Ok((identity_id, row.get("contact_id")));
        }
        let contact_id = new_id();
        let identity_id = new_id();
        sqlx::query(
            "INSERT INTO contacts (id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&contact_id)
        .bind(&self.event.workspace_id)
        .bind(name.or(username))
        .bind(self.now)
        .execute(&mut *self.conn)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO contact_identities (id, contact_id, channel_account_id, provider, provider_user_id, username, display_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel_account_id, provider_user_id) DO NOTHING",
        )
        .bind(&identity_id)
        .bind(&contact_id)
        .bind(channel)
        .bind(&self.event.provider)
        .bind(provider_user_id)
        .bind(username)
        .bind(name)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another writer created it first: use theirs, drop our contact.
            sqlx::query("DELETE FROM contacts WHERE id = $1")
                .bind(&contact_id)
                .execute(&mut *self.conn)
                .await?;
            let row = sqlx::query("SELECT id, contact_id FROM contact_identities WHERE channel_account_id = $1 AND provider_user_id = $2")
                .bind(channel)
                .bind(provider_user_id)
                .fetch_one(&mut *self.conn)
                .await?;
            return Ok((row.get("id"), row.get("contact_id")));
        }
        Ok((identity_id, contact_id))
    }

    async fn sender(&mut self, sender: &Participant) -> Result<String, sqlx::Error> {
        let (identity_id, _) = self
            .identity(
                &sender.id,
                sender.display_name.as_deref(),
                sender.username.as_deref(),
            )
            .await?;
        Ok(identity_id)
    }

    /// The conversation of a provider thread. Its contact is the customer for
    /// a direct thread, the group itself otherwise.
    async fn conversation(
        &mut self,
        thread: &Thread,
        sender: Option<&Participant>,
    ) -> Result<String, sqlx::Error> {
        let channel = self.event.channel_id.clone();
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE channel_account_id = $1 AND provider_thread_id = $2",
        )
        .bind(&channel)
        .bind(&thread.id)
        .fetch_optional(&mut *self.conn)
        .await?;
        if let Some(id) = found {
            return Ok(id);
        }
        let (_, contact_id) = match thread.kind {
            // In a direct thread the inbound sender is the customer; an echo
            // opening a thread names only the thread, whose id is the customer's.
            ThreadKind::Direct => match sender {
                Some(customer) => {
                    let name = customer.display_name.as_deref().or(thread.title.as_deref());
                    self.identity(&customer.id, name, customer.username.as_deref())
                        .await?
                }
                None => {
                    self.identity(&thread.id, thread.title.as_deref(), None)
                        .await?
                }
            },
            ThreadKind::Group | ThreadKind::Broadcast => {
                let key = format!("thread:{}", thread.id);
                self.identity(&key, thread.title.as_deref(), None).await?
            }
        };
        let kind = match thread.kind {
            ThreadKind::Direct => "direct",
            ThreadKind::Group => "group",
            ThreadKind::Broadcast => "broadcast",
        };
        sqlx::query(
            "INSERT INTO conversations (id, workspace_id, channel_account_id, contact_id, provider_thread_id, kind, title, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (channel_account_id, provider_thread_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(&self.event.workspace_id)
        .bind(&channel)
        .bind(&contact_id)
        .bind(&thread.id)
        .bind(kind)
        .bind(thread.title.as_deref())
        .bind(self.now)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query_scalar(
            "SELECT id FROM conversations WHERE channel_account_id = $1 AND provider_thread_id = $2",
        )
        .bind(&channel)
        .bind(&thread.id)
        .fetch_one(&mut *self.conn)
        .await
    }

    async fn message(
        &mut self,
        message: &Message,
        direction: &str,
    ) -> Result<Applied, sqlx::Error> {
        let sender_is_customer = direction == "in";
        let conversation_id = self
            .conversation(
                &message.thread,
                sender_is_customer.then_some(&message.sender),
            )
            .await?;
        let sender_identity = if sender_is_customer {
            Some(self.sender(&message.sender).await?)
        } else {
            None
        };
        let status = if direction == "in" {
            "received"
        } else {
            "sent"
        };
        let inserted = sqlx::query(
            "INSERT INTO messages (id, conversation_id, channel_account_id, direction, sender_identity_id, provider_message_id,
                                   text, attachments, reply_to, status, received_at, sent_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (channel_account_id, provider_message_id) DO NOTHING",
        )
        .bind(new_id())
        .bind(&conversation_id)
        .bind(&self.event.channel_id)
        .bind(direction)
        .bind(sender_identity)
        .bind(&message.provider_message_id)
        .bind(message.text.as_deref())
        .bind(attachments_json(&message.attachments))
        .bind(message.reply_to.as_deref())
        .bind(status)
        .bind(self.event.received_at)
        .bind(message.timestamp_ms as i64 * 1000)
        .bind(self.now)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(Applied::Duplicate);
        }
        self.touch(&conversation_id).await?;
        Ok(Applied::Written)
    }

    async fn touch(&mut self, conversation_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE conversations SET last_message_at = CASE WHEN COALESCE(last_message_at, 0) > $1 THEN last_message_at ELSE $1 END WHERE id = $2")
            .bind(self.now)
            .bind(conversation_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// An edit replaces the content of the message it names; an edit of a
    /// message never seen (sent before the channel was connected) stores it.
    async fn edit(&mut self, message: &Message) -> Result<Applied, sqlx::Error> {
        let updated = sqlx::query(
            "UPDATE messages SET text = $1, attachments = $2, edited_at = $3 WHERE channel_account_id = $4 AND provider_message_id = $5",
        )
        .bind(message.text.as_deref())
        .bind(attachments_json(&message.attachments))
        .bind(message.timestamp_ms as i64 * 1000)
        .bind(&self.event.channel_id)
        .bind(&message.provider_message_id)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        if updated > 0 {
            return Ok(Applied::Written);
        }
        let channel = self.event.channel_id.clone();
        let provider_message_id = message.provider_message_id.clone();
        let edited_at = message.timestamp_ms as i64 * 1000;
        let applied = self.message(message, "in").await?;
        sqlx::query("UPDATE messages SET edited_at = $1 WHERE channel_account_id = $2 AND provider_message_id = $3")
            .bind(edited_at)
            .bind(channel)
            .bind(provider_message_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(applied)
    }

    async fn delete(&mut self, target: &MessageRef) -> Result<Applied, sqlx::Error> {
        sqlx::query("UPDATE messages SET deleted_at = $1 WHERE channel_account_id = $2 AND provider_message_id = $3")
            .bind(target.timestamp_ms as i64 * 1000)
            .bind(&self.event.channel_id)
            .bind(&target.provider_message_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(Applied::Written)
    }

    async fn reaction(&mut self, reaction: &Reaction) -> Result<Applied, sqlx::Error> {
        let current: Option<String> = sqlx::query_scalar(
            "SELECT reactions FROM messages WHERE channel_account_id = $1 AND provider_message_id = $2",
        )
        .bind(&self.event.channel_id)
        .bind(&reaction.provider_message_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some(current) = current else {
            return Ok(Applied::Ignored);
        };
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
            .bind(&self.event.channel_id)
            .bind(&reaction.provider_message_id)
            .execute(&mut *self.conn)
            .await?;
        Ok(Applied::Written)
    }

    /// Delivery states only move forward: a late "delivered" never undoes "read".
    async fn status(&mut self, status: &StatusUpdate) -> Result<Applied, sqlx::Error> {
        let (state, rank) = match status.state {
            DeliveryState::Sent => ("sent", 1),
            DeliveryState::Delivered => ("delivered", 2),
            DeliveryState::Failed => ("failed", 2),
            DeliveryState::Read => ("read", 3),
        };
        let updated = sqlx::query(
            "UPDATE messages SET status = $1, error = COALESCE($2, error)
             WHERE channel_account_id = $3 AND provider_message_id = $4 AND direction = 'out'
               AND (CASE status WHEN 'pending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                                WHEN 'failed' THEN 2 WHEN 'read' THEN 3 ELSE 0 END) < $5",
        )
        .bind(state)
        .bind(status.error.as_deref())
        .bind(&self.event.channel_id)
        .bind(&status.provider_message_id)
        .bind(rank)
        .execute(&mut *self.conn)
        .await?
        .rows_affected();
        Ok(if updated > 0 {
            Applied::Written
        } else {
            Applied::Ignored
        })
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
