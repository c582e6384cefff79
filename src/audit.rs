//! `niji audit`: verify the hash-chained audit log of the enclave and the API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::config::Config;

/// The long help of `niji audit`.
pub(crate) const LONG_ABOUT: &str = "Check the audit log: every query (account, project, SQL, \
plan hash, result hash, what was suppressed, duration) and every state change of the review \
workflow is appended to a hash-chained log, by default <data_dir>/steward/audit.jsonl.

`verify` recomputes the chain. An edited entry breaks its own hash; a removed or reordered entry \
breaks the chain at the next one; both are reported with the entry's number and the command \
exits with status 1. Entries cut off the end leave a shorter valid chain, so `verify` prints the \
number of entries and the head hash: compare them with a copy kept elsewhere (e.g. the last \
report sent to the committee).

Example:
  niji audit verify
  niji audit verify --log /srv/niji/steward/audit.jsonl";

/// `niji audit` arguments.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    action: AuditAction,
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Recompute the hash chain; exit 1 if an entry was edited, removed or reordered.
    Verify {
        /// The log [default: <data_dir>/steward/audit.jsonl].
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
}

/// The audit log's default place.
pub(crate) fn default_log(config: &Config) -> PathBuf {
    config.data_dir.join("steward").join("audit.jsonl")
}

/// Runs `niji audit`.
pub(crate) fn run(args: AuditArgs, config: &Config) -> anyhow::Result<ExitCode> {
    match args.action {
        AuditAction::Verify { log } => {
            let path = log.unwrap_or_else(|| default_log(config));
            match niji_enclave::audit::verify(&path) {
                Ok(head) => {
                    println!(
                        "audit log {}: {} entries, chain intact; head {}",
                        path.display(),
                        head.entries,
                        head.hash
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ niji_enclave::Error::AuditBroken { .. }) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}
