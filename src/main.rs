//! The `niji` command: one binary for the data steward, the reviewer and the researcher.
//! It parses arguments, sets up tracing and hands over to the library crates.

use std::process::ExitCode;

use clap::Parser;

mod audit;
mod cli;
mod config;
mod ingest;
mod keys;
mod link;
mod progress;
mod serve;
mod synth;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole chain of contexts on one line.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime for the commands that need one (Delta Lake I/O, the server).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // The Delta kernel logs at error level when it probes for a table that does not exist yet,
    // which niji does on purpose before creating one: its errors reach niji as values anyway.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},buoyant_kernel=off")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 0)
        .init();
}
