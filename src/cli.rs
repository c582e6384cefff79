//! Command-line arguments and the dispatch to each subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

const ABOUT: &str = "niji: secondary use of pseudonymized health data.

Data stewards turn extracts of the national claims database (NDB), the long-term-care database \
(care-DB) and the EHR database (EHR-DB) into pseudonymized, linked Delta Lake tables; researchers \
of approved projects query them through an API that only ever returns disclosure-controlled \
aggregates.";

const AFTER_HELP: &str = "Configuration is read from niji.toml (or --config FILE) and from NIJI_* \
environment variables; command-line options win. Set RUST_LOG (e.g. RUST_LOG=debug) for detailed \
logs on stderr.

Start with:  niji demo";

/// The `niji` command line.
#[derive(Debug, Parser)]
#[command(name = "niji", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Configuration file (TOML). Defaults to ./niji.toml when it exists.
    #[arg(long, global = true, env = "NIJI_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Root folder of niji's zones (intake, steward, lake). Overrides `data_dir` in the file.
    #[arg(long, global = true, env = "NIJI_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// More log output (-v info, -vv debug). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// No progress bars (they are also off when stderr is not a terminal).
    #[arg(long, global = true)]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate realistic synthetic source extracts, with the linkage truth kept aside.
    #[command(long_about = crate::synth::LONG_ABOUT)]
    Synth(crate::synth::SynthArgs),
    /// Ingest source extracts into pseudonymized staging tables, losing nothing.
    #[command(long_about = crate::ingest::LONG_ABOUT)]
    Ingest(crate::ingest::IngestArgs),
    /// Manage the link-key file: create it, rotate keys, list versions and fingerprints.
    #[command(long_about = crate::keys::LONG_ABOUT)]
    Keys(crate::keys::KeysArgs),
    /// Link the staged records into persons with stable ids; optionally score against a truth.
    #[command(long_about = crate::link::LONG_ABOUT)]
    Link(crate::link::LinkArgs),
    /// Verify the hash-chained audit log of queries and review decisions.
    #[command(long_about = crate::audit::LONG_ABOUT)]
    Audit(crate::audit::AuditArgs),
    /// Serve the query API (accounts, review workflow, disclosure-controlled queries).
    #[command(long_about = crate::serve::SERVE_ABOUT)]
    Serve(crate::serve::ServeArgs),
    /// Run everything on embedded defaults: synthesize, ingest, link, serve, show a query.
    #[command(long_about = crate::serve::DEMO_ABOUT)]
    Demo(crate::serve::DemoArgs),
    /// Manage accounts of the query API (the first administrator, say).
    Account(crate::serve::AccountArgs),
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&cli.global)?;
    match cli.command {
        Command::Synth(args) => crate::synth::run(args, &config, &cli.global),
        Command::Ingest(args) => crate::ingest::run(args, &config, &cli.global),
        Command::Keys(args) => crate::keys::run(args, &config),
        Command::Link(args) => crate::link::run(args, &config, &cli.global),
        Command::Audit(args) => crate::audit::run(args, &config),
        Command::Serve(args) => crate::serve::serve(args, &config),
        Command::Demo(args) => crate::serve::demo(args, &cli.global),
        Command::Account(args) => crate::serve::account(args, &config),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_synth_arguments_are_refused_by_name() {
        let err =
            Cli::try_parse_from(["niji", "synth", "--persons", "0", "--out", "x"]).unwrap_err();
        assert!(err.to_string().contains("--persons"), "{err}");
        let err = Cli::try_parse_from(["niji", "synth", "--persons", "10"]).unwrap_err();
        assert!(err.to_string().contains("--out"), "{err}");
        let ok = Cli::try_parse_from([
            "niji",
            "synth",
            "--persons",
            "10",
            "--years",
            "3",
            "--start-year",
            "2022",
            "--out",
            "x",
        ]);
        assert!(ok.is_ok());
    }
}
