//! Invitations: an owner invites an email into a workspace with a role; the
//! invitee accepts once, before the invitation expires, by choosing a
//! password (a new user) or giving theirs (an existing one).

use sqlx::Row;

use super::accounts::{hash_password, password_matches, token_hash, Role};
use super::{new_id, now_micros, random_token, Db};

/// How long an invitation can be accepted.
pub const INVITE_TTL_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

#[derive(Debug)]
pub struct Invited {
    /// Given once, to the owner, to pass on; only its hash is stored.
    pub token: String,
    pub expires_at: i64,
}

pub async fn create(
    db: &Db,
    workspace_id: &str,
    email: &str,
    role: Role,
    invited_by: &str,
) -> anyhow::Result<Invited> {
    let token = random_token(32);
    let now = now_micros();
    let expires_at = now + INVITE_TTL_MICROS;
    sqlx::query(
        "INSERT INTO invites (token_hash, workspace_id, email, role, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token_hash(&token))
    .bind(workspace_id)
    .bind(email.trim().to_ascii_lowercase())
    .bind(role.as_str())
    .bind(invited_by)
    .bind(now)
    .bind(expires_at)
    .execute(&db.write)
    .await?;
    Ok(Invited { token, expires_at })
}

/// Why an invitation could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("no such invitation")]
    Unknown,
    #[error("this invitation has expired; ask for a new one")]
    Expired,
    #[error("this invitation has already been accepted")]
    Used,
    #[error("the password must be at least 8 characters")]
    WeakPassword,
    #[error("{0} already has an account: give its password")]
    WrongPassword(String),
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AcceptError {
    fn from(error: sqlx::Error) -> Self {
        AcceptError::Database(error.into())
    }
}

#[derive(Debug)]
pub struct Accepted {
    pub user_id: String,
    pub workspace_id: String,
}

/// Accepts an invitation: creates the user (or checks an existing user's
/// password) and adds the membership, once.
pub async fn accept(db: &Db, token: &str, password: &str) -> Result<Accepted, AcceptError> {
    let hash = token_hash(token);
    let row = sqlx::query(
        "SELECT workspace_id, email, role, expires_at, accepted_at FROM invites WHERE token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&db.read)
    .await?
    .ok_or(AcceptError::Unknown)?;
    let workspace_id: String = row.get("workspace_id");
    let email: String = row.get("email");
    let role: String = row.get("role");
    if row.get::<Option<i64>, _>("accepted_at").is_some() {
        return Err(AcceptError::Used);
    }
    if row.get::<i64, _>("expires_at") <= now_micros() {
        return Err(AcceptError::Expired);
    }
    let existing = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(&db.read)
        .await?;
    let (user_id, new_hash) = match existing {
        Some(user) => {
            let stored: String = user.get("password_hash");
            let given = password.to_string();
            let matches = tokio::task::spawn_blocking(move || password_matches(&given, &stored))
                .await
                .map_err(anyhow::Error::from)?;
            if !matches {
                return Err(AcceptError::WrongPassword(email));
            }
            (user.get::<String, _>("id"), None)
        }
        None => {
            if password.len() < 8 {
                return Err(AcceptError::WeakPassword);
            }
            let given = password.to_string();
            let hashed = tokio::task::spawn_blocking(move || hash_password(&given))
                .await
                .map_err(anyhow::Error::from)??;
            (new_id(), Some(hashed))
        }
    };
    let now = now_micros();
    let mut tx = db.write.begin().await?;
    // Claimed first, inside the transaction: of two concurrent accepts, one
    // updates the row and the other finds it taken.
    let claimed = sqlx::query(
        "UPDATE invites SET accepted_at = $1 WHERE token_hash = $2 AND accepted_at IS NULL",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        return Err(AcceptError::Used);
    }
    if let Some(password_hash) = new_hash {
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user_id)
        .bind(&email)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // Someone already a member keeps the role they have.
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(&workspace_id)
    .bind(&user_id)
    .bind(&role)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Accepted {
        user_id,
        workspace_id,
    })
}

#[derive(Debug, serde::Serialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: String,
}

pub async fn members(db: &Db, workspace_id: &str) -> anyhow::Result<Vec<Member>> {
    Ok(sqlx::query(
        "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 ORDER BY u.email",
    )
    .bind(workspace_id)
    .fetch_all(&db.read)
    .await?
    .into_iter()
    .map(|row| Member {
        user_id: row.get("id"),
        email: row.get("email"),
        role: row.get("role"),
    })
    .collect())
}
