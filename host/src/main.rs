//! The `switchboard` command.

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::Settings;
use switchboard::{app, store};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Customer messaging apps, one inbox."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every role (edge, inbound, writer, outbound) in one process.
    Serve {
        #[command(flatten)]
        settings: Settings,
    },
    /// Install, inspect and remove provider plugins.
    Plugins {
        #[command(subcommand)]
        command: switchboard::plugins_cli::PluginsCommand,
    },
    /// Run retained webhooks of a channel through a plugin version, show what
    /// is missing from the database, and with --apply write it.
    Replay(switchboard::replay::ReplayArgs),
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a workspace and its owner (idempotent); prints their ids as JSON.
    Bootstrap {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value = "Default")]
        workspace: String,
        #[command(flatten)]
        settings: Settings,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn,cranelift=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { settings } => app::serve(settings).await,
        Command::Plugins { command } => switchboard::plugins_cli::run(command).await,
        Command::Replay(args) => switchboard::replay::run(args).await,
        Command::Admin {
            command:
                AdminCommand::Bootstrap {
                    email,
                    password,
                    workspace,
                    settings,
                },
        } => {
            let db = app::open_db(&settings).await?;
            let created = store::accounts::bootstrap(&db, &email, &password, &workspace)
                .await
                .context("bootstrapping the workspace")?;
            println!("{}", serde_json::to_string(&created)?);
            Ok(())
        }
    }
}
