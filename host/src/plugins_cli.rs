//! `switchboard plugins ...`: the operator's view of the plugins directory.
//!
//! These commands work on files and the database, not on a running server:
//! a server watching the same directory picks up an install or a removal
//! within a few seconds (see [`crate::plugin::installer`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};

use crate::app;
use crate::config::Settings;
use crate::plugin::loader::signature_path;
use crate::plugin::removal::{self, Refused};
use crate::plugin::{Installer, PluginRegistry};

#[derive(Debug, clap::Subcommand)]
pub enum PluginsCommand {
    /// The plugins in the directory: id, version, contract, sha256, file;
    /// then every refused file with the reason.
    List {
        #[command(flatten)]
        settings: Settings,
    },
    /// Manifest, contract version, digest, imports and exports of a component.
    Inspect { file: PathBuf },
    /// Whether this host would load a component (with `FILE.sig` when
    /// present, checked against the configured trusted keys); exits 1 with
    /// the reason if not.
    Check {
        file: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Checks a component and copies it into the plugins directory as
    /// `<id>-<version>.wasm` (a running server loads it within seconds). Its
    /// signature is read from `FILE.sig` when present.
    Install {
        file: PathBuf,
        #[command(flatten)]
        settings: Settings,
    },
    /// Removes a plugin's files (`ID` every version, `ID@VERSION` one);
    /// refused while channels use a provider that would be left with no version.
    Remove {
        target: String,
        #[command(flatten)]
        settings: Settings,
    },
}

/// A loader with default settings, for commands that only read a file.
fn file_settings() -> anyhow::Result<Settings> {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        settings: Settings,
    }
    Ok(Defaults::try_parse_from(["switchboard"])?.settings)
}

fn installer(settings: &Settings) -> anyhow::Result<Installer> {
    let registry = Arc::new(PluginRegistry::from_plugins(Vec::new(), Vec::new()));
    Ok(Installer::new(
        app::plugin_loader(settings)?,
        registry,
        settings.plugins_dir.clone(),
    ))
}

fn read(file: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

pub async fn run(command: PluginsCommand) -> anyhow::Result<()> {
    match command {
        PluginsCommand::List { settings } => {
            let installer = installer(&settings)?;
            installer.rescan();
            let registry = installer.registry();
            println!("plugins in {}:", settings.plugins_dir.display());
            for plugin in registry.all_versions() {
                println!(
                    "  {:<16} {:<10} contract {:<6} sha256 {}  {}",
                    plugin.id(),
                    plugin.manifest.version,
                    plugin.manifest.contract_version,
                    plugin.digest,
                    plugin.file_name
                );
            }
            for refusal in registry.refused() {
                println!("  refused {}: {}", refusal.file, refusal.reason);
            }
            Ok(())
        }
        PluginsCommand::Inspect { file } => {
            let bytes = read(&file)?;
            let loader = app::plugin_loader(&file_settings()?)?;
            let description = loader
                .describe(&bytes)
                .map_err(|reason| anyhow::anyhow!("{}: {reason}", file.display()))?;
            let plugin = loader
                .load_bytes(&bytes, &file)
                .map_err(|reason| anyhow::anyhow!("{}: {reason}", file.display()))?;
            let report = serde_json::json!({
                "file": file.display().to_string(),
                "size_bytes": description.size,
                "sha256": description.digest,
                "contract_version": description.contract_version,
                "imports": description.imports,
                "exports": description.exports,
                "manifest": crate::api::plugins::manifest_json(&plugin),
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        PluginsCommand::Check { file, settings } => {
            let loader = app::plugin_loader(&settings)?;
            match loader.load_file(&file) {
                Ok(plugin) => {
                    println!(
                        "ok: {} {} (contract {}, sha256 {}, {})",
                        plugin.id(),
                        plugin.manifest.version,
                        plugin.manifest.contract_version,
                        plugin.digest,
                        match &plugin.signed_by {
                            Some(key) => format!("signed by trusted key {key}"),
                            None => "not verified by a signature".to_string(),
                        }
                    );
                    Ok(())
                }
                Err(reason) => bail!("{}: refused: {reason}", file.display()),
            }
        }
        PluginsCommand::Install { file, settings } => {
            let bytes = read(&file)?;
            let signature = std::fs::read_to_string(signature_path(&file)).ok();
            let plugin = installer(&settings)?
                .install_bytes(&bytes, signature.as_deref())
                .map_err(|reason| anyhow::anyhow!("{}: refused: {reason}", file.display()))?;
            println!(
                "installed {} {} as {} (sha256 {})",
                plugin.id(),
                plugin.manifest.version,
                settings.plugins_dir.join(&plugin.file_name).display(),
                plugin.digest
            );
            Ok(())
        }
        PluginsCommand::Remove { target, settings } => {
            let (id, version) = match target.split_once('@') {
                Some((id, version)) => (id.to_string(), Some(version.to_string())),
                None => (target.clone(), None),
            };
            let installer = installer(&settings)?;
            installer.rescan();
            let db = app::open_db(&settings).await?;
            match removal::check(&db, installer.registry(), &id, version.as_deref()).await? {
                Ok(()) => {}
                Err(Refused::NotInstalled) => {
                    bail!("no plugin {target} in {}", settings.plugins_dir.display())
                }
                Err(Refused::InUse(reason)) => bail!(reason),
            }
            for plugin in installer.remove(&id, version.as_deref()) {
                println!("removed {} {}", plugin.id(), plugin.manifest.version);
            }
            Ok(())
        }
    }
}
