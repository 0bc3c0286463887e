//! The `headroom` command: parse the command line, load configuration, run.

use clap::Parser;

/// mimalloc returns memory freed on one thread to others far better than glibc's per-thread
/// arenas do; the ingest path allocates on many threads (see the benchmark's peak RSS).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = headroom::cli::Cli::parse();
    headroom::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(headroom::cli::dispatch(cli))
}
