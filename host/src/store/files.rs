//! Files an operator attaches to a reply. They are stored in the database
//! beside the message, so the process that took the upload, the outbound
//! worker that sends it and the API that shows it all read one copy.
//!
//! A message row lists its files in `attachments` (JSON) with a `file_id`;
//! inbound attachments carry a `provider_ref` instead and are fetched from the
//! provider on demand.

use sqlx::Row;

use super::{now_micros, random_token, Db};

/// How long a file's public link answers after the upload (or after the
/// reply's last retry). Providers that fetch attachments by URL (Instagram)
/// do so while the reply is being sent; the link need not outlive that much.
pub const PUBLIC_LINK_LIFETIME_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

/// What an upload becomes: the attachment kind the reply is sent as, and
/// the file itself.
pub struct NewFile {
    /// `image`, `video`, `audio` or `document` (see [`kind_for`]).
    pub kind: &'static str,
    pub file_name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// A stored file with the bytes.
pub struct StoredFile {
    pub public_token: String,
    pub file_name: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// The attachment kind a file of this MIME type is sent as. Only formats
/// every provider shows inline count as images; anything else (SVG, HEIC,
/// TIFF) goes as a document, which every provider takes.
pub fn kind_for(mime_type: &str) -> &'static str {
    let mime_type = mime_type.to_ascii_lowercase();
    match mime_type.split_once('/') {
        Some(("image", "jpeg" | "png" | "gif" | "webp")) => "image",
        Some(("video", _)) => "video",
        Some(("audio", _)) => "audio",
        _ => "document",
    }
}

impl NewFile {
    /// The entry for this file in the message's `attachments`.
    pub(super) fn attachment_entry(&self, file_id: &str) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind,
            "file_id": file_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size_bytes": self.content.len(),
        })
    }
}

/// Inserts the file of a reply, inside the transaction that inserts the reply.
pub(super) async fn insert(
    conn: &mut sqlx::AnyConnection,
    file_id: &str,
    message_id: &str,
    file: &NewFile,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO message_files (id, message_id, public_token, file_name, mime_type, size_bytes, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(file_id)
    .bind(message_id)
    .bind(random_token(32))
    .bind(&file.file_name)
    .bind(&file.mime_type)
    .bind(file.content.len() as i64)
    .bind(&file.content)
    .bind(now_micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const COLUMNS: &str = "public_token, file_name, mime_type, content";

fn stored(row: sqlx::any::AnyRow) -> StoredFile {
    StoredFile {
        public_token: row.get("public_token"),
        file_name: row.get("file_name"),
        mime_type: row.get("mime_type"),
        content: row.get("content"),
    }
}

/// A file of a message, by the `file_id` in the message's attachments.
pub async fn of_message(
    db: &Db,
    message_id: &str,
    file_id: &str,
) -> Result<Option<StoredFile>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM message_files WHERE id = $1 AND message_id = $2"
    ))
    .bind(file_id)
    .bind(message_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(stored))
}

/// A file by its public link, while the link is valid.
pub async fn by_public_token(db: &Db, token: &str) -> Result<Option<StoredFile>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM message_files WHERE public_token = $1 AND created_at > $2"
    ))
    .bind(token)
    .bind(now_micros() - PUBLIC_LINK_LIFETIME_MICROS)
    .fetch_optional(&db.read)
    .await?;
    Ok(row.map(stored))
}

#[cfg(test)]
mod tests {
    use super::kind_for;

    #[test]
    fn kinds_follow_what_providers_show_inline() {
        assert_eq!(kind_for("image/png"), "image");
        assert_eq!(kind_for("IMAGE/JPEG"), "image");
        assert_eq!(kind_for("image/svg+xml"), "document");
        assert_eq!(kind_for("image/heic"), "document");
        assert_eq!(kind_for("video/mp4"), "video");
        assert_eq!(kind_for("audio/ogg"), "audio");
        assert_eq!(kind_for("application/pdf"), "document");
        assert_eq!(kind_for("nonsense"), "document");
    }
}
