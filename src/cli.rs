//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// Headroom: observability and capacity planning. OTLP in, Parquet storage, SQL out.
#[derive(Debug, Parser)]
#[command(name = "headroom", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process: OTLP receivers, storage, query API.
    Serve {
        /// TOML configuration file; `HEADROOM_*` environment variables override it.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (defaults < file < environment) as TOML.
    Config {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// Runs the chosen command until it finishes or the process is asked to stop.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            let shutdown = CancellationToken::new();
            let signal = shutdown.clone();
            tokio::spawn(async move {
                crate::shutdown_signal().await;
                signal.cancel();
            });
            crate::run(config, shutdown).await
        }
        Command::Config { config } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
    }
}
