//! Whether a plugin version may be removed: the one rule the API and the
//! CLI share.

use super::registry::PluginRegistry;
use crate::store::{accounts, channels, Db};

/// Why a removal is refused.
#[derive(Debug)]
pub enum Refused {
    /// No such id (or version) is installed.
    NotInstalled,
    /// A workspace pins the version, or channels use a provider that would be
    /// left with no version; the text names them.
    InUse(String),
}

/// Checks removing `id` (every version, or just `version`).
pub async fn check(
    db: &Db,
    registry: &PluginRegistry,
    id: &str,
    version: Option<&str>,
) -> anyhow::Result<Result<(), Refused>> {
    let installed: Vec<String> = registry
        .all_versions()
        .iter()
        .filter(|plugin| plugin.id() == id)
        .map(|plugin| plugin.manifest.version.clone())
        .collect();
    let removing = installed
        .iter()
        .filter(|v| version.is_none_or(|wanted| *v == wanted))
        .count();
    if removing == 0 {
        return Ok(Err(Refused::NotInstalled));
    }
    let pins: Vec<String> = accounts::plugin_pins(db, id)
        .await?
        .into_iter()
        .filter(|(_, pinned)| version.is_none_or(|v| v == pinned))
        .map(|(workspace, pinned)| format!("workspace {workspace} pins {pinned}"))
        .collect();
    if !pins.is_empty() {
        return Ok(Err(Refused::InUse(format!(
            "plugin {id} is pinned: {}; unpin first",
            pins.join(", ")
        ))));
    }
    if removing == installed.len() {
        let users = channels::using_provider(db, id).await?;
        if !users.is_empty() {
            let list: Vec<String> = users
                .iter()
                .map(|(channel, workspace, name)| {
                    format!("{name} ({channel}, workspace {workspace})")
                })
                .collect();
            return Ok(Err(Refused::InUse(format!(
                "plugin {id} is used by {} channel(s): {}; remove them first",
                users.len(),
                list.join(", ")
            ))));
        }
    }
    Ok(Ok(()))
}
