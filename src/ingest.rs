//! `niji ingest`: the data steward's job.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use niji_core::Source;
use niji_ingest::job::{self, JobOptions, Progress};
use niji_ingest::manifest::FileStatus;
use niji_pseudonymize::LinkKeyer;

use crate::cli::GlobalArgs;
use crate::config::Config;

pub(crate) const LONG_ABOUT: &str =
    "Ingest source extracts into the staging tables: stream-parse, \
validate, pseudonymize, quarantine what cannot land, and commit once per table.

Files and folders (searched recursively; `truth/` folders are skipped) are recognised by name \
and content: *.UKE receipts (医科, DPC, 調剤), 特定健診 CDA XML (with index.xml and \
summary.xml), 介護 claim CSV, and FHIR JSON bundles. Every record read is either landed or \
quarantined with a reason code, file and line; the report shows read = landed + quarantined per \
record type. Names, 記号・番号 and other direct identifiers are dropped after the link keys are \
made; the quarantine (raw bytes) stays in <data_dir>/intake, readable by the owner only.

A file already ingested (same SHA-256) is skipped; --force replaces its rows. The job's \
manifest (files, hashes, counts, issues, key and rule-set versions, table versions, timings) is \
written to <data_dir>/steward/jobs/. The exit status is non-zero if any file could not be read.";

/// Options of `niji ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// Files or folders to ingest.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Accept only files of this source (ndb-med, ndb-dpc, ndb-pha, ndb-checkup, care, ehr);
    /// by default each file's source is detected.
    #[arg(long, value_parser = parse_source)]
    source: Option<Source>,
    /// Re-ingest files already ingested, replacing their rows.
    #[arg(long)]
    force: bool,
    /// The link-key file [default: <data_dir>/steward/keys.json].
    #[arg(long, env = "NIJI_KEY_FILE", value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Print the issues of each file (first 20), not only their counts.
    #[arg(long)]
    issues: bool,
}

fn parse_source(s: &str) -> Result<Source, String> {
    s.parse().map_err(|_| format!("unknown source {s:?}; expected one of ndb-med, ndb-dpc, ndb-pha, ndb-checkup, care, ehr"))
}

pub(crate) fn run(
    args: IngestArgs,
    config: &Config,
    global: &GlobalArgs,
) -> anyhow::Result<ExitCode> {
    let key_file = args
        .key_file
        .clone()
        .unwrap_or_else(|| config.key_file.clone());
    let store = crate::keys::open(&key_file)?;
    let keyer = LinkKeyer::new(&store).context("cannot prepare the link keys")?;
    let staging = niji_lake::ZoneRoot::parse(&config.staging)
        .context("invalid staging location")?
        .with_storage_options(config.storage.clone());
    let opts = JobOptions {
        staging,
        intake: config.data_dir.join("intake"),
        jobs_dir: config.data_dir.join("steward").join("jobs"),
        source: args.source,
        force: args.force,
        quarantine_retention: Duration::from_secs(
            u64::from(config.quarantine_retention_days) * 86_400,
        ),
        batch_rows: 65_536,
    };
    let bar = crate::progress::bar(0, "ingest", global.quiet);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let runtime = crate::runtime()?;
    let report = runtime.block_on(job::run(&opts, &args.paths, &keyer, &mut |p| match p {
        Progress::Found { bytes, .. } => bar.set_length(bytes),
        Progress::File { bytes, records } => {
            bar.inc(bytes);
            let rate = records as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{records} records, {rate:.0} records/s"));
        }
        Progress::Committing => bar.set_message("committing"),
    }))?;
    bar.finish_and_clear();
    print_report(&report, args.issues);
    Ok(if report.unreadable > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_report(report: &job::JobReport, show_issues: bool) {
    let m = &report.manifest;
    println!(
        "job {} ({} s): key version {}, rule set {}",
        m.job_id,
        format_secs(m.timings.total_secs),
        m.key_version,
        m.ruleset_version
    );
    let (mut ingested, mut skipped, mut not_source) = (0, 0, 0);
    for input in &m.inputs {
        match &input.status {
            FileStatus::Ingested => ingested += 1,
            FileStatus::Skipped { by_job } => {
                skipped += 1;
                println!(
                    "  skipped {} (already ingested by {by_job}; --force replaces it)",
                    input.path
                );
            }
            FileStatus::NotSource => not_source += 1,
            FileStatus::Unreadable { reason } => {
                println!("  could not read {}: {reason}", input.path)
            }
        }
        if show_issues && !input.issues.is_empty() {
            println!("  {}:", input.path);
            for i in input.issues.iter().take(20) {
                println!(
                    "    line {:>6} {:<7} {:<24} {} {}",
                    i.line, i.severity, i.code, i.record, i.message
                );
            }
        }
    }
    println!(
        "files: {ingested} ingested, {skipped} skipped, {not_source} not source files, {} unreadable",
        report.unreadable
    );
    println!(
        "{:<18} {:>12} {:>12} {:>12}",
        "record", "read", "landed", "quarantined"
    );
    let mut balanced = true;
    for (record, t) in &m.totals {
        balanced &= t.read == t.landed + t.quarantined;
        println!(
            "{record:<18} {:>12} {:>12} {:>12}",
            t.read, t.landed, t.quarantined
        );
    }
    let (r, l, q) = m.totals.values().fold((0, 0, 0), |a, t| {
        (a.0 + t.read, a.1 + t.landed, a.2 + t.quarantined)
    });
    println!(
        "{:<18} {r:>12} {l:>12} {q:>12}  {}",
        "total",
        if balanced && r == l + q {
            "(read = landed + quarantined)"
        } else {
            "(COUNTS DO NOT ADD UP)"
        }
    );
    let mut codes: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for input in &m.inputs {
        for (c, n) in &input.issue_counts {
            *codes.entry(c.as_str()).or_default() += n;
        }
    }
    if !codes.is_empty() {
        println!(
            "issues: {}",
            codes
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(q) = &m.quarantine_dir {
        println!("quarantine: {q}");
    }
    let secs = m.timings.parse_secs.max(1e-9);
    println!(
        "{:.0} records/s; tables committed: {}",
        r as f64 / secs,
        m.tables
            .iter()
            .map(|(t, v)| format!("{t}@{v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("manifest: {}", report.manifest_path.display());
    if !report.purged.is_empty() {
        println!(
            "removed {} expired quarantine folder(s)",
            report.purged.len()
        );
    }
}

fn format_secs(s: f64) -> String {
    format!("{s:.1}")
}
