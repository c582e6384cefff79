//! `niji link`: one stable person_id across the staged sources, with an optional quality report.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use niji_linkage::lake::LakeIndex;
use niji_linkage::registry::{self, Registry};
use niji_linkage::staging::{Selection, read_staging};
use niji_linkage::{LinkOptions, RecordSet, Truth, evaluate, link};

use crate::cli::GlobalArgs;
use crate::config::Config;

pub(crate) const LONG_ABOUT: &str = "Link the staged records of every source into persons: one \
stable person_id across the NDB, the care-DB and the EHR-DB.

Reads the unit tables of the staging zone (receipts, checkups, care_claims, ehr_bundles) and \
links them in two stages. The deterministic stage unites records that share a link key, strongest \
first (id5 and the care key, then id1, then the kana and kanji name keys id4 and id2), with \
guards that keep two persons apart: different sex or birth date, two insured numbers (id5) in the \
same month or on the same card (same-sex twins share id1), two names under one card in one file \
(a facility's month writes a person's name one way: twins whose receipts lack the 枝番), two \
insurers in the same month for name keys (common names). The probabilistic stage scores the pairs \
left apart (Fellegi–Sunter, m and u estimated by EM) on key agreement, birth date (exact, \
typo-like, same month), insurer prefecture, shared facilities and time, and links those above the \
threshold, still under the guards; keys hashed over the birth date count as missing when the \
birth dates differ. Two rules then take what no key can link, each only when exactly one cluster \
fits: a record or two whose birth date is a typo (a day or a year off, digits or month and day \
swapped, one digit of the year or month) of a cluster with the same sex, insurer and facility in \
the same months (`near_birth`), and care claims without the medical insured number, joined to the \
medical cluster of the same birth date and sex insured by the same municipality, else in the same \
prefecture, that has no care key of its own (`care_locality`).

The analysis lake (<data_dir>/lake) gets every staging table with the person of each row: keyed by \
person_id, partitioned by source and service month, without link keys, insurer number, file or \
line (sex and birth date stay; the enclave generalises them).

The registry lives in <data_dir>/steward/linkage: `persons` (person_id, first_seen, status, \
merged_into), `links` (record → person_id with the stage, rule and weight that decided it) and \
`lineage` (merges and splits). A person_id never changes once given: when the registry exists, \
each new cluster inherits the id its records already had; a cluster holding two earlier persons \
keeps the smaller id (a merge), an earlier person spread over two clusters keeps its id in the \
larger part (a split). Both are recorded in `lineage`.

With --evaluate DIR/truth (the truth folder of `niji synth`) it prints the quality against the \
truth: pairwise precision, recall and F1, split and merge rates, and recall by drift kind \
(insurer change, marriage, spelling and kana variants, birth-date typos, twins merged).

Example:
  niji synth --persons 2000 --out synth-data
  niji keys init && niji ingest synth-data
  niji link --evaluate synth-data/truth";

/// Options of `niji link`.
#[derive(Debug, Args)]
pub(crate) struct LinkArgs {
    /// Score the linkage against a synth truth folder (truth/records.csv, persons.csv, events.csv).
    #[arg(long, value_name = "DIR")]
    evaluate: Option<PathBuf>,
    /// Only staging rows of service months from this one on (YYYY-MM).
    #[arg(long, value_name = "YYYY-MM", requires = "to")]
    from: Option<String>,
    /// Only staging rows of service months up to this one (YYYY-MM).
    #[arg(long, value_name = "YYYY-MM", requires = "from")]
    to: Option<String>,
    /// Deterministic stage only (no Fellegi–Sunter scores).
    #[arg(long)]
    deterministic_only: bool,
    /// Match weight (log2 m/u) a scored pair needs to be linked.
    #[arg(long, default_value_t = niji_linkage::ScoreOptions::default().threshold)]
    threshold: f64,
    /// Link and report, but write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(
    args: LinkArgs,
    config: &Config,
    global: &GlobalArgs,
) -> anyhow::Result<ExitCode> {
    let staging = niji_lake::ZoneRoot::parse(&config.staging)
        .context("invalid staging location")?
        .with_storage_options(config.storage.clone());
    let linkage_dir = config.data_dir.join("steward").join("linkage");
    let zone = niji_lake::ZoneRoot::parse(&linkage_dir.display().to_string())
        .context("invalid linkage location")?
        .with_storage_options(config.storage.clone());
    let registry = Registry::new(zone.clone());
    let lake = niji_lake::ZoneRoot::parse(&config.data_dir.join("lake").display().to_string())
        .context("invalid lake location")?
        .with_storage_options(config.storage.clone());
    let runtime = crate::runtime()?;
    let started = Instant::now();

    // The registry loads on a worker thread while this one reads the staging rows.
    let loading = runtime.spawn({
        let registry = registry.clone();
        async move { registry.load().await }
    });
    let selection = Selection {
        months: args.from.clone().zip(args.to.clone()),
        jobs: None,
    };
    let bar = crate::progress::bar(0, "read staging", global.quiet);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix} {pos} records ({elapsed}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut set = RecordSet::new();
    let counts = runtime
        .block_on(read_staging(&staging, &selection, &mut set, &mut |n| {
            bar.set_position(n)
        }))
        .context("cannot read the staging tables")?;
    bar.finish_and_clear();
    let mut previous = runtime
        .block_on(loading)
        .context("the registry load stopped")?
        .context("cannot read the person registry")?;
    let read_secs = started.elapsed().as_secs_f64();
    if set.is_empty() {
        println!("no staged records to link (run `niji ingest` first)");
        return Ok(ExitCode::SUCCESS);
    }

    let t = Instant::now();
    let mut opts = LinkOptions {
        deterministic_only: args.deterministic_only,
        ..Default::default()
    };
    opts.score.threshold = args.threshold;
    // The records' earlier persons are looked up on the other core meanwhile.
    let (linkage, earlier) = std::thread::scope(|scope| {
        let earlier = scope.spawn(|| registry::earlier_persons(&set, &previous));
        (link(&set, &opts), earlier.join())
    });
    let earlier = earlier.map_err(|_| anyhow::anyhow!("the lookup of earlier persons panicked"))?;
    let link_secs = t.elapsed().as_secs_f64();

    let job = registry::job_id();
    let t = Instant::now();
    let assignment = registry::assign_earlier(&set, &linkage, &previous, &earlier, &job);
    let assign_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut lake_rows = Vec::new();
    if !args.dry_run {
        runtime
            .block_on(registry.write(&job, &set, &linkage, &assignment))
            .context("cannot write the person registry")?;
        let bar = crate::progress::bar(0, "write lake", global.quiet);
        bar.set_message("streaming staging tables with their persons");
        // The earlier links are no longer needed; the lake index takes their place.
        previous.links = Default::default();
        let index = std::sync::Arc::new(LakeIndex::new(&set, &linkage, &assignment));
        lake_rows = runtime
            .block_on(niji_linkage::lake::write_lake(&staging, &lake, &job, index))
            .context("cannot write the lake tables")?;
        bar.finish_and_clear();
    }
    let write_secs = t.elapsed().as_secs_f64();

    println!(
        "link job {job}{}: {} records ({}), {} signatures, {} persons",
        if args.dry_run {
            " (dry run, nothing written)"
        } else {
            ""
        },
        set.len(),
        counts
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        set.signatures(),
        linkage.clusters
    );
    match &previous.job_id {
        Some(p) => println!(
            "relinked into the registry of {p}: {} new persons, {} merges, {} splits",
            assignment.new_persons,
            assignment.merges.len(),
            assignment.splits.len()
        ),
        None => println!("new registry: {} persons", assignment.new_persons),
    }
    println!(
        "records by rule: {}",
        linkage
            .rule_counts(&set)
            .iter()
            .map(|(r, n)| format!("{} {n}", r.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let d = &linkage.deterministic;
    println!(
        "deterministic merges: {}; refused by guards: {}",
        d.merges
            .iter()
            .map(|(r, n)| format!("{} {n}", r.name()))
            .collect::<Vec<_>>()
            .join(", "),
        d.blocked
            .iter()
            .map(|(g, n)| format!("{g:?} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !lake_rows.is_empty() {
        println!(
            "lake tables (keyed by person_id, no link keys): {}",
            lake_rows
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let s = &linkage.score;
    println!(
        "probabilistic: {} candidate pairs, {} above threshold, {} merges ({} refused by guards), {} care-only by birth date and locality",
        s.pairs, s.accepted, s.merges, s.blocked, s.care_locality
    );
    println!(
        "seconds: read {read_secs:.2}, link {link_secs:.2} (deterministic {:.2}, probabilistic {:.2}), person ids {assign_secs:.2}, write {write_secs:.2}, total {:.2}; memory for records ~{} MiB",
        linkage.seconds.deterministic,
        linkage.seconds.probabilistic,
        started.elapsed().as_secs_f64(),
        set.heap_bytes() / (1 << 20)
    );
    let mut quality = None;
    if let Some(dir) = &args.evaluate {
        let truth = Truth::load(dir).context("cannot read the truth")?;
        let q = evaluate(&set, &linkage.record_clusters(&set), &truth);
        println!("{q}");
        quality = Some(q.to_string());
    }
    if !args.dry_run {
        // The job report the steward reads (`GET /api/v1/steward/jobs`): counts, rules,
        // timings; no record or person identifier.
        let report = serde_json::json!({
            "job_id": job,
            "kind": "link",
            "records": set.len(),
            "records_by_table": counts.iter().map(|(t, n)| (t.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "persons": linkage.clusters,
            "new_persons": assignment.new_persons,
            "merges": assignment.merges.len(),
            "splits": assignment.splits.len(),
            "records_by_rule": linkage.rule_counts(&set).iter().map(|(r, n)| (r.name().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "probabilistic": { "pairs": s.pairs, "accepted": s.accepted, "merges": s.merges, "refused_by_guards": s.blocked },
            "lake_rows": lake_rows.iter().map(|(t, n)| (t.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
            "seconds": { "read": read_secs, "link": link_secs, "deterministic": linkage.seconds.deterministic, "probabilistic": linkage.seconds.probabilistic, "person_ids": assign_secs, "write": write_secs, "total": started.elapsed().as_secs_f64() },
            "quality": quality,
        });
        let jobs = config.data_dir.join("steward").join("jobs");
        std::fs::create_dir_all(&jobs)
            .with_context(|| format!("cannot create {}", jobs.display()))?;
        let path = jobs.join(format!("{job}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
