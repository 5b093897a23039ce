//! Workspaces, users, roles, login sessions and per-workspace plugin toggles.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{new_id, now_micros, random_token, Db};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Bootstrapped {
    pub workspace_id: String,
    pub user_id: String,
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("hashing password: {error}"))
}

pub(crate) fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates the workspace and its owner if absent; an existing user keeps its
/// password unless `reset_password` (the CLI never resets silently).
pub async fn bootstrap(
    db: &Db,
    email: &str,
    password: &str,
    workspace: &str,
) -> anyhow::Result<Bootstrapped> {
    let email = email.trim().to_ascii_lowercase();
    anyhow::ensure!(email.contains('@'), "`{email}` is not an email address");
    anyhow::ensure!(
        password.len() >= 8,
        "the password must be at least 8 characters"
    );
    let hash = hash_password(password)?;
    let now = now_micros();
    let mut tx = db.write.begin().await?;
    sqlx::query("INSERT INTO workspaces (id, name, webhook_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
        .bind(new_id())
        .bind(workspace)
        .bind(random_token(16))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let workspace_id: String = sqlx::query_scalar("SELECT id FROM workspaces WHERE name = $1")
        .bind(workspace)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
        .bind(new_id())
        .bind(&email)
        .bind(&hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let user_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO memberships (workspace_id, user_id, role) VALUES ($1, $2, 'owner') ON CONFLICT DO NOTHING")
        .bind(&workspace_id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Bootstrapped {
        workspace_id,
        user_id,
    })
}

/// Hash compared against when the email is unknown, so both failures cost the same.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a real password").unwrap_or_default());

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks the password and opens a session; None for a wrong email or password.
pub async fn login(
    db: &Db,
    email: &str,
    password: &str,
    ttl_micros: i64,
) -> anyhow::Result<Option<String>> {
    let email = email.trim().to_ascii_lowercase();
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(&db.read)
        .await?;
    let Some(row) = row else {
        // Hash anyway so a missing account takes as long as a wrong password.
        let password = password.to_string();
        tokio::task::spawn_blocking(move || password_matches(&password, &DUMMY_HASH)).await?;
        return Ok(None);
    };
    let user_id: String = row.get("id");
    let stored: String = row.get("password_hash");
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || password_matches(&password, &stored)).await?;
    if !matches {
        return Ok(None);
    }
    open_session(db, &user_id, ttl_micros).await.map(Some)
}

/// A new session for a user whose credentials were checked; its token.
pub async fn open_session(db: &Db, user_id: &str, ttl_micros: i64) -> anyhow::Result<String> {
    let token = random_token(32);
    let now = now_micros();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + ttl_micros)
    .execute(&db.write)
    .await?;
    Ok(token)
}

/// Ends a session (sign-out); an unknown or expired token is not an error.
pub async fn logout(db: &Db, token: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.write)
        .await?;
    Ok(())
}

/// A signed-in user as the web UI shows them.
#[derive(Debug, serde::Serialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub workspaces: Vec<Membership>,
}

#[derive(Debug, serde::Serialize)]
pub struct Membership {
    pub id: String,
    pub name: String,
    pub role: String,
}

pub async fn me(db: &Db, user_id: &str) -> anyhow::Result<Option<Me>> {
    let Some(email) = sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.read)
        .await?
    else {
        return Ok(None);
    };
    let workspaces = sqlx::query(
        "SELECT w.id, w.name, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.user_id = $1 ORDER BY w.name",
    )
    .bind(user_id)
    .fetch_all(&db.read)
    .await?
    .into_iter()
    .map(|row| Membership {
        id: row.get("id"),
        name: row.get("name"),
        role: row.get("role"),
    })
    .collect();
    Ok(Some(Me {
        id: user_id.to_string(),
        email,
        workspaces,
    }))
}

/// The user behind a bearer token, if the session is live.
pub async fn session_user(db: &Db, token: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(now_micros())
        .fetch_optional(&db.read)
        .await?,
    )
}

pub async fn role_in(db: &Db, user_id: &str, workspace_id: &str) -> anyhow::Result<Option<Role>> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE user_id = $1 AND workspace_id = $2")
            .bind(user_id)
            .bind(workspace_id)
            .fetch_optional(&db.read)
            .await?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// A workspace's setting of one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSetting {
    /// Providers are on by default: a loaded plugin is usable until an
    /// admin turns it off.
    pub enabled: bool,
    /// The version the workspace is pinned to; None follows the latest.
    pub pinned: Option<String>,
}

/// Both parts of a workspace's setting of a provider, in one query.
pub async fn plugin_setting(
    db: &Db,
    workspace_id: &str,
    plugin_id: &str,
) -> anyhow::Result<PluginSetting> {
    let row: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT enabled, pinned_version FROM plugin_settings WHERE workspace_id = $1 AND plugin_id = $2",
    )
    .bind(workspace_id)
    .bind(plugin_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(match row {
        Some((enabled, pinned)) => PluginSetting {
            enabled: enabled != 0,
            pinned,
        },
        None => PluginSetting {
            enabled: true,
            pinned: None,
        },
    })
}

/// Whether a provider is enabled in a workspace.
pub async fn plugin_enabled(db: &Db, workspace_id: &str, plugin_id: &str) -> anyhow::Result<bool> {
    Ok(plugin_setting(db, workspace_id, plugin_id).await?.enabled)
}

/// The version of a provider a workspace is pinned to, if any.
pub async fn plugin_pin(
    db: &Db,
    workspace_id: &str,
    plugin_id: &str,
) -> anyhow::Result<Option<String>> {
    Ok(plugin_setting(db, workspace_id, plugin_id).await?.pinned)
}

/// Pins a workspace to a version of a provider (None: follow the latest).
pub async fn set_plugin_pin(
    db: &Db,
    workspace_id: &str,
    plugin_id: &str,
    version: Option<&str>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO plugin_settings (workspace_id, plugin_id, enabled, updated_at, pinned_version) VALUES ($1, $2, 1, $3, $4)
         ON CONFLICT (workspace_id, plugin_id) DO UPDATE SET pinned_version = excluded.pinned_version, updated_at = excluded.updated_at",
    )
    .bind(workspace_id)
    .bind(plugin_id)
    .bind(now_micros())
    .bind(version)
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Workspaces pinned to a version of a provider: (workspace id, version).
pub async fn plugin_pins(db: &Db, plugin_id: &str) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, pinned_version FROM plugin_settings WHERE plugin_id = $1 AND pinned_version IS NOT NULL",
    )
    .bind(plugin_id)
    .fetch_all(&db.read)
    .await?)
}

pub async fn set_plugin_enabled(
    db: &Db,
    workspace_id: &str,
    plugin_id: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO plugin_settings (workspace_id, plugin_id, enabled, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, plugin_id) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
    )
    .bind(workspace_id)
    .bind(plugin_id)
    .bind(i64::from(enabled))
    .bind(now_micros())
    .execute(&db.write)
    .await?;
    Ok(())
}

/// Drops expired sessions; run periodically.
pub async fn purge_sessions(db: &Db) -> anyhow::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_micros())
        .execute(&db.write)
        .await?
        .rows_affected())
}

/// The path segment of a workspace's per-workspace webhook URLs.
pub async fn workspace_webhook_key(db: &Db, workspace_id: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT webhook_key FROM workspaces WHERE id = $1")
            .bind(workspace_id)
            .fetch_optional(&db.read)
            .await?,
    )
}

/// The workspace a per-workspace webhook URL names.
pub async fn workspace_by_webhook_key(
    db: &Db,
    webhook_key: &str,
) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM workspaces WHERE webhook_key = $1")
            .bind(webhook_key)
            .fetch_optional(&db.read)
            .await?,
    )
}

/// Whether the user owns at least one workspace: plugins are installed for
/// the whole host, so only owners may change them.
pub async fn owns_a_workspace(db: &Db, user_id: &str) -> anyhow::Result<bool> {
    let owned: Option<String> = sqlx::query_scalar(
        "SELECT workspace_id FROM memberships WHERE user_id = $1 AND role = 'owner' LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(&db.read)
    .await?;
    Ok(owned.is_some())
}
