//! The plugins directory as the source of truth, changed at run time.
//!
//! Plugins arrive three ways, all ending as a file in the directory and a
//! version in the registry, with no restart:
//! - `POST /api/v1/plugins` and `switchboard plugins install` check the
//!   component, then write `<id>-<version>.wasm` (atomically: a temporary
//!   file renamed into place);
//! - any `*.wasm` an operator copies into the directory is picked up by the
//!   watcher, which rescans every [`WATCH_EVERY`];
//! - a file removed from the directory (or through the API) removes its
//!   version from the registry.
//!
//! A file that fails its checks is refused with the reason and keeps being
//! reported until it changes; what was loaded stays loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::loader::{signature_path, Loader, Refusal};
use super::registry::PluginRegistry;
use super::runtime::Plugin;

/// How often the directory is rescanned.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What the watcher last saw of one file.
#[derive(Clone)]
struct Seen {
    modified: Option<SystemTime>,
    len: u64,
    /// The `.sig` file's modification time: a signature added or replaced
    /// later reloads the component.
    signature_modified: Option<SystemTime>,
    /// (id, version) loaded from it, or why it was refused.
    outcome: Result<(String, String), String>,
}

impl Seen {
    /// Whether this file is where `plugin`'s id and version were loaded from.
    fn holds(&self, plugin: &Plugin) -> bool {
        self.outcome
            .as_ref()
            .is_ok_and(|(id, version)| id == plugin.id() && *version == plugin.manifest.version)
    }
}

pub struct Installer {
    loader: Arc<Loader>,
    registry: Arc<PluginRegistry>,
    dir: PathBuf,
    /// One scan or install at a time.
    files: Mutex<BTreeMap<PathBuf, Seen>>,
}

/// The canonical file name of an installed version.
pub fn file_name(id: &str, version: &str) -> String {
    format!("{id}-{version}.wasm")
}

/// Plugin versions become part of a file name: semver characters only.
fn validate_version(version: &str) -> Result<(), String> {
    let valid = !version.is_empty()
        && version.len() <= 64
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        && !version.starts_with('.');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "plugin version `{version}` must be a semantic version (e.g. 1.2.0)"
        ))
    }
}

impl Installer {
    pub fn new(loader: Arc<Loader>, registry: Arc<PluginRegistry>, dir: PathBuf) -> Self {
        Installer {
            loader,
            registry,
            dir,
            files: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn registry(&self) -> &Arc<PluginRegistry> {
        &self.registry
    }

    /// Checks a component (and its signature, hex, when given) and installs
    /// it: written to the directory, then live. The same id and version
    /// installed again replaces the old file.
    pub fn install_bytes(
        &self,
        bytes: &[u8],
        signature: Option<&str>,
    ) -> Result<Arc<Plugin>, String> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let staged = self
            .dir
            .join(format!(".upload-{}.tmp", uuid::Uuid::new_v4()));
        let plugin = self.loader.load_signed(bytes, &staged, signature)?;
        validate_version(&plugin.manifest.version)?;
        let name = file_name(plugin.id(), &plugin.manifest.version);
        let target = self.dir.join(&name);
        // The signature goes first: the watcher must never see the component
        // without it.
        let sig_path = signature_path(&target);
        let written = match signature {
            Some(signature) => std::fs::create_dir_all(&self.dir)
                .and_then(|()| std::fs::write(&sig_path, signature.trim())),
            None => match std::fs::remove_file(&sig_path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            },
        };
        written
            .and_then(|()| std::fs::create_dir_all(&self.dir))
            .and_then(|()| std::fs::write(&staged, bytes))
            .and_then(|()| std::fs::rename(&staged, &target))
            .map_err(|error| {
                let _ = std::fs::remove_file(&staged);
                format!("cannot write {}: {error}", target.display())
            })?;
        let plugin = Arc::new(plugin.with_file_name(name));
        // Another file of the same id and version (copied in by hand) steps aside.
        let duplicates: Vec<PathBuf> = files
            .iter()
            .filter(|(path, seen)| **path != target && seen.holds(&plugin))
            .map(|(path, _)| path.clone())
            .collect();
        for path in duplicates {
            tracing::info!(file = %path.display(), "replaced by an installed plugin; removing");
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(signature_path(&path));
            files.remove(&path);
        }
        files.insert(target.clone(), seen_ok(&target, &plugin));
        self.registry.install(Arc::clone(&plugin));
        Ok(plugin)
    }

    /// Removes one version (or all) from the registry and the directory;
    /// returns what was removed.
    pub fn remove(&self, id: &str, version: Option<&str>) -> Vec<Arc<Plugin>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let removed = self.registry.remove(id, version);
        for plugin in &removed {
            let path = self.dir.join(&plugin.file_name);
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), %error, "cannot delete a removed plugin's file");
            }
            let _ = std::fs::remove_file(signature_path(&path));
            files.remove(&path);
            tracing::info!(plugin = id, version = %plugin.manifest.version, "plugin removed");
        }
        removed
    }

    /// Brings the registry in line with the directory: loads new and changed
    /// files, removes versions whose file is gone.
    pub fn rescan(&self) {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut present: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
                .collect(),
            Err(error) => {
                self.registry.set_refused(vec![Refusal {
                    file: self.dir.display().to_string(),
                    reason: format!("cannot read the plugins directory: {error}"),
                }]);
                return;
            }
        };
        present.sort();
        // Gone files take their version with them.
        let gone: Vec<PathBuf> = files
            .keys()
            .filter(|path| !present.contains(path))
            .cloned()
            .collect();
        for path in gone {
            if let Some(Seen {
                outcome: Ok((id, version)),
                ..
            }) = files.remove(&path)
            {
                tracing::info!(file = %path.display(), plugin = %id, %version, "plugin file removed; unloading");
                self.registry.remove(&id, Some(&version));
            }
        }
        for path in present {
            let metadata = std::fs::metadata(&path).ok();
            let modified = metadata.as_ref().and_then(|m| m.modified().ok());
            let len = metadata.as_ref().map_or(0, |m| m.len());
            let signature_modified = signature_modified(&path);
            if files.get(&path).is_some_and(|seen| {
                seen.modified == modified
                    && seen.len == len
                    && seen.signature_modified == signature_modified
            }) {
                continue;
            }
            let outcome = match self.loader.load_file(&path) {
                Err(reason) => Err(reason),
                Ok(plugin) => {
                    let taken_by = files
                        .iter()
                        .find(|(other, seen)| **other != path && seen.holds(&plugin));
                    match taken_by {
                        Some((other, _)) => Err(format!(
                            "plugin `{}` {} is already loaded from {}",
                            plugin.id(),
                            plugin.manifest.version,
                            other.display()
                        )),
                        None => {
                            let plugin = Arc::new(plugin);
                            // A changed file may carry another version than before.
                            if let Some(Seen {
                                outcome: Ok((id, version)),
                                ..
                            }) = files.get(&path)
                            {
                                if *version != plugin.manifest.version || *id != plugin.id() {
                                    self.registry.remove(id, Some(version));
                                }
                            }
                            self.registry.install(Arc::clone(&plugin));
                            Ok((plugin.id().to_string(), plugin.manifest.version.clone()))
                        }
                    }
                }
            };
            if let Err(reason) = &outcome {
                tracing::error!(file = %path.display(), %reason, "plugin refused");
            }
            files.insert(
                path,
                Seen {
                    modified,
                    len,
                    signature_modified,
                    outcome,
                },
            );
        }
        self.registry.set_refused(
            files
                .iter()
                .filter_map(|(path, seen)| {
                    seen.outcome.as_ref().err().map(|reason| Refusal {
                        file: path.display().to_string(),
                        reason: reason.clone(),
                    })
                })
                .collect(),
        );
    }

    /// Rescans the directory every [`WATCH_EVERY`] (on a blocking thread:
    /// compiling a component takes a while).
    pub fn watch(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(WATCH_EVERY);
            interval.tick().await;
            loop {
                interval.tick().await;
                let installer = Arc::clone(&self);
                if let Err(error) = tokio::task::spawn_blocking(move || installer.rescan()).await {
                    tracing::error!(%error, "plugin directory scan failed");
                }
            }
        });
    }
}

fn signature_modified(component: &Path) -> Option<SystemTime> {
    std::fs::metadata(signature_path(component))
        .and_then(|m| m.modified())
        .ok()
}

fn seen_ok(path: &Path, plugin: &Plugin) -> Seen {
    let metadata = std::fs::metadata(path).ok();
    Seen {
        modified: metadata.as_ref().and_then(|m| m.modified().ok()),
        len: metadata.as_ref().map_or(0, |m| m.len()),
        signature_modified: signature_modified(path),
        outcome: Ok((plugin.id().to_string(), plugin.manifest.version.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_that_are_not_file_safe_are_refused() {
        assert!(validate_version("1.2.0").is_ok());
        assert!(validate_version("1.2.0-rc.1+build.5").is_ok());
        assert!(validate_version("../1").is_err());
        assert!(validate_version("1/2").is_err());
        assert!(validate_version("").is_err());
        assert_eq!(
            file_name("webhook-json", "0.1.0"),
            "webhook-json-0.1.0.wasm"
        );
    }
}
