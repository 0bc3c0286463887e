//! The `headroom` command: parse the command line, load configuration, run.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = headroom::cli::Cli::parse();
    headroom::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(headroom::cli::dispatch(cli))
}
