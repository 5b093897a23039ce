//! Connected channel accounts. Credentials are sealed with the secret key and
//! only ever leave this module decrypted on their way into a plugin call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{now_micros, Db};
use crate::plugin::types::{Channel, RoutingMode};
use crate::secrets::{SecretBox, UnsealError};

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelAccount {
    pub id: String,
    pub workspace_id: String,
    pub provider: String,
    pub name: String,
    #[serde(skip)]
    pub channel_key: String,
    pub provider_account_id: String,
    pub display_name: String,
    pub status: String,
    pub last_error: Option<String>,
    /// Non-secret configuration fields.
    pub config: serde_json::Value,
    #[serde(skip)]
    pub sealed_config: Vec<u8>,
    pub created_at: i64,
    /// Where the provider calls, under the public URL; see [`webhook_path`].
    #[serde(skip)]
    pub webhook_path: Option<String>,
}

/// What is sealed: the full configuration and the webhook secret.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SealedConfig {
    pub config: BTreeMap<String, String>,
    pub webhook_secret: String,
}

pub struct NewChannel {
    pub id: String,
    pub workspace_id: String,
    pub provider: String,
    pub name: String,
    pub channel_key: String,
    pub provider_account_id: String,
    pub display_name: String,
    pub public_config: serde_json::Value,
    pub sealed: SealedConfig,
    pub webhook_path: String,
}

/// The path a provider calls for a channel, by the plugin's routing mode:
/// its own URL (per-account), the provider's (global), or the workspace's
/// (per-workspace).
pub fn webhook_path(
    provider: &str,
    routing: RoutingMode,
    channel_key: &str,
    workspace_webhook_key: &str,
) -> String {
    match routing {
        RoutingMode::PerAccount => format!("/webhooks/{provider}/{channel_key}"),
        RoutingMode::Global => format!("/webhooks/{provider}"),
        RoutingMode::PerWorkspace => format!("/webhooks/{provider}/w/{workspace_webhook_key}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("this {0} account is already connected")]
    AlreadyConnected(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

const COLUMNS: &str = "id, workspace_id, provider, name, channel_key, provider_account_id, display_name, status, last_error, public_config, sealed_config, created_at, webhook_path";

fn from_row(row: &AnyRow) -> ChannelAccount {
    let public: String = row.get("public_config");
    ChannelAccount {
        id: row.get("id"),
        workspace_id: row.get("workspace_id"),
        provider: row.get("provider"),
        name: row.get("name"),
        channel_key: row.get("channel_key"),
        provider_account_id: row.get("provider_account_id"),
        display_name: row.get("display_name"),
        status: row.get("status"),
        last_error: row.get("last_error"),
        config: serde_json::from_str(&public).unwrap_or_default(),
        sealed_config: row.get("sealed_config"),
        created_at: row.get("created_at"),
        webhook_path: row.get("webhook_path"),
    }
}

pub async fn insert(
    db: &Db,
    secrets: &SecretBox,
    new: NewChannel,
) -> Result<ChannelAccount, ChannelError> {
    let sealed_json = serde_json::to_vec(&new.sealed).expect("a string map always serializes");
    let sealed = secrets.seal(&sealed_json, &new.id);
    let result = sqlx::query(
        "INSERT INTO channel_accounts (id, workspace_id, provider, name, channel_key, provider_account_id, display_name, status, public_config, sealed_config, created_at, webhook_path)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'connected', $8, $9, $10, $11)",
    )
    .bind(&new.id)
    .bind(&new.workspace_id)
    .bind(&new.provider)
    .bind(&new.name)
    .bind(&new.channel_key)
    .bind(&new.provider_account_id)
    .bind(&new.display_name)
    .bind(new.public_config.to_string())
    .bind(sealed)
    .bind(now_micros())
    .bind(&new.webhook_path)
    .execute(&db.write)
    .await;
    match result {
        Ok(_) => {
            CONNECTED.send_modify(|count| *count += 1);
            Ok(get(db, &new.id).await?.expect("inserted above"))
        }
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
            Err(ChannelError::AlreadyConnected(new.provider))
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<ChannelAccount>, sqlx::Error> {
    let query =
        format!("SELECT {COLUMNS} FROM channel_accounts WHERE id = $1 AND deleted_at IS NULL");
    Ok(sqlx::query(&query)
        .bind(id)
        .fetch_optional(&db.read)
        .await?
        .as_ref()
        .map(from_row))
}

pub async fn by_key(
    db: &Db,
    provider: &str,
    channel_key: &str,
) -> Result<Option<ChannelAccount>, sqlx::Error> {
    let query = format!("SELECT {COLUMNS} FROM channel_accounts WHERE channel_key = $1 AND provider = $2 AND deleted_at IS NULL");
    Ok(sqlx::query(&query)
        .bind(channel_key)
        .bind(provider)
        .fetch_optional(&db.read)
        .await?
        .as_ref()
        .map(from_row))
}

/// The live channel of a provider account (the id a webhook payload names).
pub async fn by_provider_account(
    db: &Db,
    provider: &str,
    provider_account_id: &str,
) -> Result<Option<ChannelAccount>, sqlx::Error> {
    let query = format!("SELECT {COLUMNS} FROM channel_accounts WHERE provider = $1 AND provider_account_id = $2 AND deleted_at IS NULL");
    Ok(sqlx::query(&query)
        .bind(provider)
        .bind(provider_account_id)
        .fetch_optional(&db.read)
        .await?
        .as_ref()
        .map(from_row))
}

/// Every live channel of a provider, in one workspace or in all.
pub async fn of_provider(
    db: &Db,
    provider: &str,
    workspace_id: Option<&str>,
) -> Result<Vec<ChannelAccount>, sqlx::Error> {
    let rows = match workspace_id {
        Some(workspace_id) => {
            let query = format!("SELECT {COLUMNS} FROM channel_accounts WHERE provider = $1 AND workspace_id = $2 AND deleted_at IS NULL ORDER BY created_at");
            sqlx::query(&query)
                .bind(provider)
                .bind(workspace_id)
                .fetch_all(&db.read)
                .await?
        }
        None => {
            let query = format!("SELECT {COLUMNS} FROM channel_accounts WHERE provider = $1 AND deleted_at IS NULL ORDER BY created_at");
            sqlx::query(&query)
                .bind(provider)
                .fetch_all(&db.read)
                .await?
        }
    };
    Ok(rows.iter().map(from_row).collect())
}

pub async fn list(db: &Db, workspace_id: &str) -> Result<Vec<ChannelAccount>, sqlx::Error> {
    let query = format!("SELECT {COLUMNS} FROM channel_accounts WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY created_at");
    Ok(sqlx::query(&query)
        .bind(workspace_id)
        .fetch_all(&db.read)
        .await?
        .iter()
        .map(from_row)
        .collect())
}

/// Marks a channel deleted; its conversations and messages stay readable.
pub async fn delete(db: &Db, workspace_id: &str, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("UPDATE channel_accounts SET deleted_at = $1, status = 'disconnected' WHERE id = $2 AND workspace_id = $3 AND deleted_at IS NULL")
        .bind(now_micros())
        .bind(id)
        .bind(workspace_id)
        .execute(&db.write)
        .await?
        .rows_affected()
        > 0)
}

pub async fn set_status(
    db: &Db,
    id: &str,
    status: &str,
    last_error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channel_accounts SET status = $1, last_error = $2 WHERE id = $3")
        .bind(status)
        .bind(last_error)
        .bind(id)
        .execute(&db.write)
        .await?;
    Ok(())
}

impl ChannelAccount {
    pub fn webhook_url(&self, public_url: &str) -> String {
        match &self.webhook_path {
            Some(path) => format!("{public_url}{path}"),
            None => format!(
                "{public_url}/webhooks/{}/{}",
                self.provider, self.channel_key
            ),
        }
    }

    pub fn unseal(&self, secrets: &SecretBox) -> Result<SealedConfig, UnsealError> {
        let plain = secrets.open(&self.sealed_config, &self.id)?;
        serde_json::from_slice(&plain).map_err(|_| UnsealError)
    }

    /// The channel as a plugin call sees it, secrets included.
    pub fn to_plugin(&self, secrets: &SecretBox, public_url: &str) -> Result<Channel, UnsealError> {
        let sealed = self.unseal(secrets)?;
        Ok(Channel {
            id: self.id.clone(),
            workspace_id: self.workspace_id.clone(),
            provider_account_id: self.provider_account_id.clone(),
            config: sealed.config.into_iter().collect(),
            webhook_secret: sealed.webhook_secret,
            webhook_url: self.webhook_url(public_url),
        })
    }
}

/// Live channels of a provider in any workspace: (channel id, workspace id, name).
pub async fn using_provider(
    db: &Db,
    provider: &str,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, workspace_id, name FROM channel_accounts WHERE provider = $1 AND deleted_at IS NULL ORDER BY created_at",
    )
    .bind(provider)
    .fetch_all(&db.read)
    .await
}

/// Bumped whenever this process connects a channel account.
static CONNECTED: LazyLock<tokio::sync::watch::Sender<u64>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(0));

/// Changes whenever this process connects a channel account (another
/// process's connections are seen by asking [`providers_with_channels`]).
pub fn connections() -> tokio::sync::watch::Receiver<u64> {
    CONNECTED.subscribe()
}

/// Every provider that has, or once had, a channel account: only these can
/// have records on their webhook and outbound topics. Deleted accounts count,
/// so what they left on a topic is still read (and dead-lettered).
pub async fn providers_with_channels(db: &Db) -> Result<BTreeSet<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT provider FROM channel_accounts")
        .fetch_all(&db.read)
        .await
        .map(|providers: Vec<String>| providers.into_iter().collect())
}
