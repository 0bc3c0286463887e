//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::demo::{self, DemoOptions};

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
        /// Also run the demo traffic generator against this server (see `headroom demo`).
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        demo_args: DemoArgs,
    },
    /// Send realistic, deterministic telemetry from a simulated shop to a Headroom server
    /// over OTLP/gRPC: first the missing history, then live traffic until stopped.
    Demo {
        /// OTLP/gRPC endpoint of the server.
        #[arg(long, default_value = "http://127.0.0.1:4317")]
        endpoint: String,
        /// Query API of the server, asked where existing demo history ends.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        #[command(flatten)]
        demo_args: DemoArgs,
    },
    /// Print the effective configuration (defaults < file < environment) as TOML.
    Config {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

/// Demo traffic options, shared by `headroom demo` and `headroom serve --demo`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Demo traffic (with `serve`: only with --demo)")]
pub struct DemoArgs {
    /// Live user requests per second at the weekly peak; the daily and weekly cycles scale it.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Days of history to backfill, ending at --until (only the part not yet stored).
    #[arg(long, default_value_t = 28)]
    pub days: u32,
    /// Sampled traces per minute at the weekly peak in the history (sparser than live;
    /// metrics still show the full --rate).
    #[arg(long, default_value_t = 30.0)]
    pub history_rate: f64,
    /// Random seed: the same seed and --until give identical telemetry.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// End of the history: RFC 3339, epoch milliseconds, or `now-1h` style [default: now].
    #[arg(long)]
    pub until: Option<String>,
    /// Stop after the backfill and print a JSON report on stdout.
    #[arg(long)]
    pub no_live: bool,
    /// Send no history, only live traffic.
    #[arg(long)]
    pub no_backfill: bool,
}

impl DemoArgs {
    /// Options for [`demo::run`]; the endpoint and resume point are the caller's.
    pub fn options(&self, endpoint: String) -> anyhow::Result<DemoOptions> {
        Ok(DemoOptions {
            endpoint,
            seed: self.seed,
            rate: self.rate,
            history_rate: self.history_rate,
            days: self.days,
            until_ns: self.until.as_deref().map(demo::parse_time).transpose()?,
            backfill: !self.no_backfill,
            live: !self.no_live,
            resume_after_ns: None,
        })
    }
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn stop_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let signal = token.clone();
    tokio::spawn(async move {
        crate::shutdown_signal().await;
        signal.cancel();
    });
    token
}

/// Runs the chosen command until it finishes or the process is asked to stop.
pub async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config,
            demo,
            demo_args,
        } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            let shutdown = stop_on_signal();
            if demo {
                // The endpoint is the server's own bound address, filled in once it listens.
                let opts = demo_args.options(String::new())?;
                crate::run_with_demo(config, opts, shutdown).await
            } else {
                crate::run(config, shutdown).await
            }
        }
        Command::Demo {
            endpoint,
            api,
            demo_args,
        } => {
            let mut opts = demo_args.options(endpoint)?;
            opts.resume_after_ns = demo::resume_point(&api).await?;
            let report = demo::run(opts, stop_on_signal()).await?;
            let report = serde_json::json!({ "demo": report });
            info!(%report, "demo finished");
            if demo_args.no_live {
                println!("{report}");
            }
            Ok(())
        }
        Command::Config { config } => {
            let config = Config::load(config.as_deref(), std::env::vars())?;
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
    }
}
