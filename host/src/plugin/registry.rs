//! The set of installed plugins: every version of every provider, replaced
//! atomically at run time.
//!
//! A lookup returns an `Arc<Plugin>`: a call that started on one version
//! finishes on it even if an upgrade lands meanwhile, and the next lookup
//! gets the new one. Versions of one provider sit side by side; the latest
//! serves unless a workspace pins another. Every change bumps a generation
//! that workers watch to pick up new topics.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::loader::{Loader, Refusal};
use super::runtime::Plugin;

/// A plugin version as semver numbers, for ordering (`1.10.0` > `1.9.3`);
/// anything after the numbers (a pre-release tag) sorts below the release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionKey {
    numbers: [u64; 3],
    is_release: bool,
    text: String,
}

impl VersionKey {
    pub fn parse(text: &str) -> VersionKey {
        let (core, pre) = match text.split_once(['-', '+']) {
            Some((core, rest)) => (core, Some(rest)),
            None => (text, None),
        };
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(core.split('.')) {
            *slot = part.parse().unwrap_or(0);
        }
        VersionKey {
            numbers,
            is_release: pre.is_none(),
            text: text.to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Default, Clone)]
struct Snapshot {
    /// id -> version -> plugin.
    plugins: BTreeMap<String, BTreeMap<VersionKey, Arc<Plugin>>>,
    refused: Vec<Refusal>,
}

pub struct PluginRegistry {
    current: RwLock<Arc<Snapshot>>,
    generation: watch::Sender<u64>,
}

impl PluginRegistry {
    /// Loads the directory, logging each plugin loaded and each file refused.
    pub fn load(loader: &Loader, dir: &Path) -> Self {
        let (loaded, refused) = loader.load_dir(dir);
        for plugin in &loaded {
            log_loaded(plugin);
        }
        for refusal in &refused {
            tracing::error!(file = %refusal.file, reason = %refusal.reason, "plugin refused");
        }
        Self::from_plugins(loaded, refused)
    }

    pub fn from_plugins(loaded: Vec<Arc<Plugin>>, refused: Vec<Refusal>) -> Self {
        let mut snapshot = Snapshot {
            refused,
            ..Snapshot::default()
        };
        for plugin in loaded {
            snapshot
                .plugins
                .entry(plugin.id().to_string())
                .or_default()
                .insert(VersionKey::parse(&plugin.manifest.version), plugin);
        }
        PluginRegistry {
            current: RwLock::new(Arc::new(snapshot)),
            generation: watch::channel(0).0,
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Applies `change` to a copy and swaps it in; returns what it returned.
    fn update<R>(&self, change: impl FnOnce(&mut Snapshot) -> R) -> R {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**guard).clone();
        let result = change(&mut next);
        *guard = Arc::new(next);
        drop(guard);
        self.generation.send_modify(|generation| *generation += 1);
        result
    }

    /// The latest version of a provider.
    pub fn get(&self, id: &str) -> Option<Arc<Plugin>> {
        self.snapshot()
            .plugins
            .get(id)
            .and_then(|versions| versions.values().next_back().cloned())
    }

    /// One version of a provider, or the latest when `version` is None.
    pub fn resolve(&self, id: &str, version: Option<&str>) -> Option<Arc<Plugin>> {
        match version {
            None => self.get(id),
            Some(version) => self
                .snapshot()
                .plugins
                .get(id)
                .and_then(|versions| versions.get(&VersionKey::parse(version)).cloned()),
        }
    }

    /// The version a workspace uses: its pinned one, or the latest. A pin
    /// whose version is gone (removal refuses that, but files can be deleted
    /// by hand) falls back to the latest, with a warning.
    pub fn for_pin(&self, id: &str, pinned: Option<&str>) -> Option<Arc<Plugin>> {
        if let Some(version) = pinned {
            if let Some(plugin) = self.resolve(id, Some(version)) {
                return Some(plugin);
            }
            tracing::warn!(plugin = id, %version, "pinned version is not installed; serving the latest");
        }
        self.get(id)
    }

    /// The version of a provider a workspace uses (see [`Self::for_pin`]).
    pub async fn for_workspace(
        &self,
        db: &crate::store::Db,
        workspace_id: &str,
        id: &str,
    ) -> anyhow::Result<Option<Arc<Plugin>>> {
        let pinned = crate::store::accounts::plugin_pin(db, workspace_id, id).await?;
        Ok(self.for_pin(id, pinned.as_deref()))
    }

    /// The latest version of every provider, by id.
    pub fn all(&self) -> std::vec::IntoIter<Arc<Plugin>> {
        self.snapshot()
            .plugins
            .values()
            .filter_map(|versions| versions.values().next_back().cloned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Every installed version of every provider, by id then version.
    pub fn all_versions(&self) -> Vec<Arc<Plugin>> {
        self.snapshot()
            .plugins
            .values()
            .flat_map(|versions| versions.values().cloned())
            .collect()
    }

    pub fn refused(&self) -> Vec<Refusal> {
        self.snapshot().refused.clone()
    }

    /// Adds a plugin version, replacing the same id and version if present.
    /// Returns the replaced one.
    pub fn install(&self, plugin: Arc<Plugin>) -> Option<Arc<Plugin>> {
        log_loaded(&plugin);
        self.update(|snapshot| {
            snapshot
                .plugins
                .entry(plugin.id().to_string())
                .or_default()
                .insert(VersionKey::parse(&plugin.manifest.version), plugin)
        })
    }

    /// Removes one version, or every version when `version` is None; returns
    /// what was removed.
    pub fn remove(&self, id: &str, version: Option<&str>) -> Vec<Arc<Plugin>> {
        self.update(|snapshot| {
            let Some(versions) = snapshot.plugins.get_mut(id) else {
                return Vec::new();
            };
            let removed = match version {
                Some(version) => versions
                    .remove(&VersionKey::parse(version))
                    .into_iter()
                    .collect(),
                None => std::mem::take(versions).into_values().collect(),
            };
            if versions.is_empty() {
                snapshot.plugins.remove(id);
            }
            removed
        })
    }

    /// Replaces the list of refused files (the directory watcher's view).
    pub fn set_refused(&self, refused: Vec<Refusal>) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = (**guard).clone();
        next.refused = refused;
        *guard = Arc::new(next);
    }

    /// Changes whenever a plugin is installed or removed.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

fn log_loaded(plugin: &Plugin) {
    tracing::info!(
        plugin = plugin.id(),
        version = %plugin.manifest.version,
        file = %plugin.file_name,
        sha256 = %plugin.digest,
        "plugin loaded"
    );
}

#[cfg(test)]
mod tests {
    use super::VersionKey;

    #[test]
    fn versions_order_as_semver() {
        let mut versions: Vec<VersionKey> = ["1.10.0", "1.9.3", "1.10.0-rc.1", "0.2.0", "2.0.0"]
            .iter()
            .map(|v| VersionKey::parse(v))
            .collect();
        versions.sort();
        let order: Vec<&str> = versions.iter().map(VersionKey::as_str).collect();
        assert_eq!(order, ["0.2.0", "1.9.3", "1.10.0-rc.1", "1.10.0", "2.0.0"]);
    }
}
