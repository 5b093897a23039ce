//! What the operator API reads and writes: conversations, messages, contacts,
//! and outbound replies with their delivery status.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{files, new_id, now_micros, rfc3339, Db, MOVE_UPDATED_AT};

#[derive(Debug, Serialize)]
pub struct ContactRef {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LastMessage {
    pub text: Option<String>,
    /// Kind and file name of each attachment, for a one-line summary.
    pub attachments: Vec<AttachmentSummary>,
    pub direction: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct AttachmentSummary {
    pub kind: String,
    pub file_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ConversationView {
    pub id: String,
    pub channel_id: String,
    pub provider: String,
    pub kind: String,
    pub title: Option<String>,
    pub contact: ContactRef,
    pub status: String,
    /// The customer's messages since the requesting user last read it.
    pub unread: i64,
    pub last_message: Option<LastMessage>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: String,
    pub conversation_id: String,
    pub direction: String,
    pub text: Option<String>,
    pub attachments: serde_json::Value,
    pub provider_message_id: Option<String>,
    pub reply_to: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub reactions: serde_json::Value,
    pub sender: Option<ContactRef>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IdentityView {
    pub channel_id: String,
    pub provider: String,
    pub provider_user_id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ContactView {
    pub id: String,
    pub name: Option<String>,
    pub identities: Vec<IdentityView>,
    pub created_at: String,
}

/// The workspace a conversation belongs to (for access checks).
pub async fn conversation_workspace(
    db: &Db,
    conversation_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT workspace_id FROM conversations WHERE id = $1")
        .bind(conversation_id)
        .fetch_optional(&db.read)
        .await
}

/// The workspace of a conversation and the provider of its channel.
pub async fn conversation_provider(
    db: &Db,
    conversation_id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT c.workspace_id, a.provider FROM conversations c
         JOIN channel_accounts a ON a.id = c.channel_account_id WHERE c.id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(|row| (row.get("workspace_id"), row.get("provider"))))
}

/// Which conversations a list shows.
#[derive(Debug, Default)]
pub struct ConversationFilter {
    /// `open` or `resolved`; None for both.
    pub status: Option<String>,
    /// Words to find in the contact's name, the title or any message text.
    pub search: Option<String>,
}

/// A LIKE pattern matching `text` anywhere, with LIKE's wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A workspace's conversations, the latest first, with `user_id`'s unread
/// counts (the customer's messages since the user last read each one).
pub async fn conversations(
    db: &Db,
    workspace_id: &str,
    user_id: &str,
    filter: &ConversationFilter,
    limit: i64,
) -> Result<Vec<ConversationView>, sqlx::Error> {
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(contains_pattern);
    let rows = sqlx::query(
        "SELECT c.id, c.channel_account_id, ch.provider, c.kind, c.title, c.contact_id, ct.name AS contact_name,
                c.status, c.created_at, c.updated_at,
                m.text AS last_text, m.attachments AS last_attachments, m.direction AS last_direction,
                m.created_at AS last_created_at,
                (SELECT COUNT(*) FROM messages um
                  WHERE um.conversation_id = c.id AND um.direction = 'in'
                    AND um.created_at > COALESCE(
                        (SELECT r.read_at FROM conversation_reads r WHERE r.user_id = $2 AND r.conversation_id = c.id), 0)
                ) AS unread
         FROM conversations c
         JOIN channel_accounts ch ON ch.id = c.channel_account_id
         JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN messages m ON m.id = (
             SELECT id FROM messages WHERE conversation_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1)
         WHERE c.workspace_id = $1
           AND ($3 = '' OR c.status = $3)
           AND ($4 = '' OR LOWER(COALESCE(ct.name, '')) LIKE $4 ESCAPE '\\'
                OR LOWER(COALESCE(c.title, '')) LIKE $4 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM messages sm WHERE sm.conversation_id = c.id
                           AND LOWER(COALESCE(sm.text, '')) LIKE $4 ESCAPE '\\'))
         ORDER BY COALESCE(c.last_message_at, c.created_at) DESC
         LIMIT $5",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(filter.status.as_deref().unwrap_or(""))
    .bind(search.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.read)
    .await?;
    Ok(rows
        .iter()
        .map(|row| ConversationView {
            id: row.get("id"),
            channel_id: row.get("channel_account_id"),
            provider: row.get("provider"),
            kind: row.get("kind"),
            title: row.get("title"),
            contact: ContactRef {
                id: row.get("contact_id"),
                name: row.get("contact_name"),
            },
            status: row.get("status"),
            unread: row.get("unread"),
            last_message: row
                .get::<Option<String>, _>("last_direction")
                .map(|direction| LastMessage {
                    text: row.get("last_text"),
                    attachments: row
                        .get::<Option<String>, _>("last_attachments")
                        .and_then(|json| serde_json::from_str(&json).ok())
                        .unwrap_or_default(),
                    direction,
                    created_at: rfc3339(row.get("last_created_at")),
                }),
            created_at: rfc3339(row.get("created_at")),
            updated_at: rfc3339(row.get("updated_at")),
        })
        .collect())
}

const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.direction, m.text, m.attachments, m.provider_message_id, m.reply_to,
    m.status, m.error, m.reactions, m.created_at, m.edited_at, m.deleted_at,
    ci.contact_id AS sender_contact_id, COALESCE(ci.display_name, ci.username) AS sender_name";

fn message_from_row(row: &AnyRow) -> MessageView {
    let json = |column: &str| {
        serde_json::from_str(&row.get::<String, _>(column))
            .unwrap_or(serde_json::Value::Array(vec![]))
    };
    MessageView {
        id: row.get("id"),
        conversation_id: row.get("conversation_id"),
        direction: row.get("direction"),
        text: row.get("text"),
        attachments: json("attachments"),
        provider_message_id: row.get("provider_message_id"),
        reply_to: row.get("reply_to"),
        status: row.get("status"),
        error: row.get("error"),
        reactions: json("reactions"),
        sender: row
            .get::<Option<String>, _>("sender_contact_id")
            .map(|id| ContactRef {
                id,
                name: row.get("sender_name"),
            }),
        created_at: rfc3339(row.get("created_at")),
        edited_at: row.get::<Option<i64>, _>("edited_at").map(rfc3339),
        deleted_at: row.get::<Option<i64>, _>("deleted_at").map(rfc3339),
    }
}

pub async fn messages(
    db: &Db,
    conversation_id: &str,
    limit: i64,
) -> Result<Vec<MessageView>, sqlx::Error> {
    let query = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m LEFT JOIN contact_identities ci ON ci.id = m.sender_identity_id
         WHERE m.conversation_id = $1 ORDER BY m.created_at, m.id LIMIT $2"
    );
    let rows = sqlx::query(&query)
        .bind(conversation_id)
        .bind(limit)
        .fetch_all(&db.read)
        .await?;
    Ok(rows.iter().map(message_from_row).collect())
}

pub async fn message(db: &Db, message_id: &str) -> Result<Option<MessageView>, sqlx::Error> {
    let query = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m LEFT JOIN contact_identities ci ON ci.id = m.sender_identity_id WHERE m.id = $1"
    );
    Ok(sqlx::query(&query)
        .bind(message_id)
        .fetch_optional(&db.write)
        .await?
        .as_ref()
        .map(message_from_row))
}

pub async fn contacts(
    db: &Db,
    workspace_id: &str,
    limit: i64,
) -> Result<Vec<ContactView>, sqlx::Error> {
    let contacts = sqlx::query("SELECT id, name, created_at FROM contacts WHERE workspace_id = $1 ORDER BY created_at DESC LIMIT $2")
        .bind(workspace_id)
        .bind(limit)
        .fetch_all(&db.read)
        .await?;
    let identities = sqlx::query(
        "SELECT ci.contact_id, ci.channel_account_id, ci.provider, ci.provider_user_id, ci.username, ci.display_name
         FROM contact_identities ci JOIN contacts c ON c.id = ci.contact_id WHERE c.workspace_id = $1",
    )
    .bind(workspace_id)
    .fetch_all(&db.read)
    .await?;
    Ok(contacts
        .iter()
        .map(|row| {
            let id: String = row.get("id");
            let identities = identities
                .iter()
                .filter(|identity| identity.get::<String, _>("contact_id") == id)
                .map(|identity| IdentityView {
                    channel_id: identity.get("channel_account_id"),
                    provider: identity.get("provider"),
                    provider_user_id: identity.get("provider_user_id"),
                    username: identity.get("username"),
                    display_name: identity.get("display_name"),
                })
                .collect();
            ContactView {
                id,
                name: row.get("name"),
                identities,
                created_at: rfc3339(row.get("created_at")),
            }
        })
        .collect())
}

/// What the outbound worker needs to deliver a reply.
#[derive(Debug)]
pub struct OutboundWork {
    pub message_id: String,
    pub channel_id: String,
    pub thread_id: String,
    pub recipient_id: String,
    pub text: Option<String>,
    pub reply_to: Option<String>,
    pub status: String,
    pub attempts: i64,
    /// The file the operator attached, if any: its `file_id` and kind.
    pub file: Option<(String, String)>,
}

/// Stores an operator reply (text, a file, or both) as pending. Returns its
/// id and channel, or None when the conversation does not exist.
pub async fn insert_reply(
    db: &Db,
    conversation_id: &str,
    text: Option<&str>,
    file: Option<&files::NewFile>,
    reply_to: Option<&str>,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let channel: Option<String> =
        sqlx::query_scalar("SELECT channel_account_id FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(&db.read)
            .await?;
    let Some(channel_id) = channel else {
        return Ok(None);
    };
    let id = new_id();
    let now = now_micros();
    let file = file.map(|file| (new_id(), file));
    let attachments: Vec<serde_json::Value> = file
        .iter()
        .map(|(file_id, file)| file.attachment_entry(file_id))
        .collect();
    let mut tx = db.write.begin().await?;
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, channel_account_id, direction, text, attachments, reply_to, status, created_at)
         VALUES ($1, $2, $3, 'out', $4, $5, $6, 'pending', $7)",
    )
    .bind(&id)
    .bind(conversation_id)
    .bind(&channel_id)
    .bind(text)
    .bind(serde_json::Value::Array(attachments).to_string())
    .bind(reply_to)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if let Some((file_id, file)) = &file {
        files::insert(&mut tx, file_id, &id, file).await?;
    }
    sqlx::query(&format!(
        "UPDATE conversations SET last_message_at = $1, {MOVE_UPDATED_AT} WHERE id = $2"
    ))
    .bind(now)
    .bind(conversation_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((id, channel_id)))
}

pub async fn outbound_work(db: &Db, message_id: &str) -> Result<Option<OutboundWork>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT m.id, m.channel_account_id, c.provider_thread_id, ci.provider_user_id AS recipient, m.text, m.attachments, m.reply_to, m.status, m.attempts
         FROM messages m
         JOIN conversations c ON c.id = m.conversation_id
         LEFT JOIN contact_identities ci ON ci.contact_id = c.contact_id AND ci.channel_account_id = c.channel_account_id
         WHERE m.id = $1 AND m.direction = 'out'",
    )
    .bind(message_id)
    .fetch_optional(&db.write)
    .await?;
    Ok(row.map(|row| {
        let thread_id: String = row.get("provider_thread_id");
        OutboundWork {
            message_id: row.get("id"),
            channel_id: row.get("channel_account_id"),
            recipient_id: row
                .get::<Option<String>, _>("recipient")
                .unwrap_or_else(|| thread_id.clone()),
            thread_id,
            text: row.get("text"),
            reply_to: row.get("reply_to"),
            status: row.get("status"),
            attempts: row.get("attempts"),
            file: stored_file_of(&row.get::<String, _>("attachments")),
        }
    }))
}

/// The first uploaded file among a message's attachments (a reply carries at
/// most one), as its `file_id` and kind.
fn stored_file_of(attachments: &str) -> Option<(String, String)> {
    let list: Vec<serde_json::Value> = serde_json::from_str(attachments).unwrap_or_default();
    list.iter().find_map(|entry| {
        let file_id = entry["file_id"].as_str()?;
        let kind = entry["kind"].as_str().unwrap_or("document");
        Some((file_id.to_string(), kind.to_string()))
    })
}

pub async fn mark_sent(
    db: &Db,
    message_id: &str,
    provider_message_id: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.write.begin().await?;
    // The provider's echo of this very message may have been written first
    // (as an outbound row with this provider id): fold it into ours, keeping
    // the later delivery state it may carry.
    let echo_status: Option<String> = sqlx::query_scalar(
        "DELETE FROM messages WHERE direction = 'out' AND id <> $1 AND provider_message_id = $2
           AND channel_account_id = (SELECT channel_account_id FROM messages WHERE id = $3)
         RETURNING status",
    )
    .bind(message_id)
    .bind(provider_message_id)
    .bind(message_id)
    .fetch_optional(&mut *tx)
    .await?;
    // Echo rows start as "sent" and only move forward from there.
    let status = echo_status.as_deref().unwrap_or("sent");
    sqlx::query(
        "UPDATE messages SET status = CASE WHEN status = 'pending' THEN $1 ELSE status END, provider_message_id = $2,
                error = NULL, sent_at = $3, attempts = attempts + 1 WHERE id = $4",
    )
    .bind(status)
    .bind(provider_message_id)
    .bind(now_micros())
    .bind(message_id)
    .execute(&mut *tx)
    .await?;
    touch_conversation_of(&mut tx, message_id).await?;
    tx.commit().await
}

/// Marks the conversation of a message changed (the inbox's live updates).
async fn touch_conversation_of(
    conn: &mut sqlx::AnyConnection,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE conversations SET {MOVE_UPDATED_AT}
         WHERE id = (SELECT conversation_id FROM messages WHERE id = $2)"
    ))
    .bind(now_micros())
    .bind(message_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_failed(db: &Db, message_id: &str, reason: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.write.begin().await?;
    sqlx::query("UPDATE messages SET status = 'failed', error = $1, attempts = attempts + 1 WHERE id = $2 AND status = 'pending'")
        .bind(reason)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    touch_conversation_of(&mut tx, message_id).await?;
    tx.commit().await
}

pub async fn note_attempt(db: &Db, message_id: &str, reason: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.write.begin().await?;
    sqlx::query("UPDATE messages SET error = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(reason)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    touch_conversation_of(&mut tx, message_id).await?;
    tx.commit().await
}

/// A failed reply goes back to pending for another try; None when the
/// message is not an outbound failure. Returns its channel.
pub async fn requeue_failed(db: &Db, message_id: &str) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.write.begin().await?;
    let channel: Option<String> = sqlx::query_scalar(
        "UPDATE messages SET status = 'pending', error = NULL, attempts = 0
         WHERE id = $1 AND direction = 'out' AND status = 'failed'
         RETURNING channel_account_id",
    )
    .bind(message_id)
    .fetch_optional(&mut *tx)
    .await?;
    if channel.is_some() {
        touch_conversation_of(&mut tx, message_id).await?;
        // The file's public link counts from the retry: a provider that
        // fetches by URL must find it however long the reply sat failed.
        sqlx::query("UPDATE message_files SET created_at = $1 WHERE message_id = $2")
            .bind(now_micros())
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(channel)
}

/// Where an attachment's bytes come from.
pub enum AttachmentOrigin {
    /// An inbound attachment: fetched through the channel's plugin.
    Provider {
        channel_id: String,
        provider_ref: String,
    },
    /// A file an operator attached to a reply, stored with the message.
    Stored { file_id: String },
}

/// An attachment of a message: its workspace (who may see it), where its
/// bytes come from, and the stored file name and type.
pub struct AttachmentSource {
    pub workspace_id: String,
    pub origin: AttachmentOrigin,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
}

pub async fn attachment_source(
    db: &Db,
    message_id: &str,
    index: usize,
) -> Result<Option<AttachmentSource>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT c.workspace_id, m.channel_account_id, m.attachments FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1",
    )
    .bind(message_id)
    .fetch_optional(&db.read)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let attachments: Vec<serde_json::Value> =
        serde_json::from_str(&row.get::<String, _>("attachments")).unwrap_or_default();
    let Some(attachment) = attachments.get(index) else {
        return Ok(None);
    };
    let text = |key: &str| {
        attachment[key]
            .as_str()
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    let origin = match (text("file_id"), text("provider_ref")) {
        (Some(file_id), _) => AttachmentOrigin::Stored { file_id },
        (None, Some(provider_ref)) => AttachmentOrigin::Provider {
            channel_id: row.get("channel_account_id"),
            provider_ref,
        },
        (None, None) => return Ok(None),
    };
    Ok(Some(AttachmentSource {
        workspace_id: row.get("workspace_id"),
        origin,
        file_name: text("file_name"),
        mime_type: text("mime_type"),
    }))
}
