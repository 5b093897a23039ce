//! The set of loaded plugins, by provider id.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::loader::{Loader, Refusal};
use super::runtime::Plugin;

pub struct PluginRegistry {
    plugins: BTreeMap<String, Arc<Plugin>>,
    refused: Vec<Refusal>,
}

impl PluginRegistry {
    /// Loads the directory, logging each plugin loaded and each file refused.
    pub fn load(loader: &Loader, dir: &Path) -> Self {
        let (loaded, refused) = loader.load_dir(dir);
        for plugin in &loaded {
            tracing::info!(
                plugin = plugin.id(),
                version = %plugin.manifest.version,
                file = %plugin.file_name,
                sha256 = %plugin.digest,
                "plugin loaded"
            );
        }
        for refusal in &refused {
            tracing::error!(file = %refusal.file, reason = %refusal.reason, "plugin refused");
        }
        Self::from_plugins(loaded, refused)
    }

    pub fn from_plugins(loaded: Vec<Arc<Plugin>>, refused: Vec<Refusal>) -> Self {
        let plugins = loaded
            .into_iter()
            .map(|plugin| (plugin.id().to_string(), plugin))
            .collect();
        PluginRegistry { plugins, refused }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Plugin>> {
        self.plugins.get(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Plugin>> {
        self.plugins.values()
    }

    pub fn refused(&self) -> &[Refusal] {
        &self.refused
    }
}
