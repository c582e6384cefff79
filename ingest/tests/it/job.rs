//! The whole job: every source lands, nothing is lost, bad input is quarantined with reasons,
//! re-ingests are skipped or replaced, and no raw identifier reaches the staging tables.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::{Array, RecordBatch, StringArray};
use niji_ingest::job::{self, JobOptions, JobReport};
use niji_ingest::manifest::FileStatus;
use niji_pseudonymize::{LinkKeyer, MemoryKeyStore, SecretKey};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

struct Env {
    _dir: tempfile::TempDir,
    data: PathBuf,
    opts: JobOptions,
    keyer: LinkKeyer,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let opts = JobOptions {
        staging: niji_lake::ZoneRoot::parse(data.join("steward/staging").to_str().unwrap())
            .unwrap(),
        intake: data.join("intake"),
        jobs_dir: data.join("steward/jobs"),
        source: None,
        force: false,
        quarantine_retention: Duration::from_secs(86_400),
        batch_rows: 1000,
    };
    let store = MemoryKeyStore::from_keys([SecretKey::from_bytes([7; 32])]);
    Env {
        keyer: LinkKeyer::new(&store).unwrap(),
        _dir: dir,
        data,
        opts,
    }
}

fn run(env: &Env, opts: &JobOptions, paths: &[PathBuf]) -> JobReport {
    runtime()
        .block_on(job::run(opts, paths, &env.keyer, &mut |_| {}))
        .unwrap()
}

fn table(env: &Env, name: &str) -> Vec<RecordBatch> {
    let uri = env.opts.staging.table(name).unwrap();
    runtime().block_on(niji_lake::read_all(&uri, None)).unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Every string value of every column of every staging table.
fn all_strings(env: &Env) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for def in niji_ingest::tables::ALL {
        let uri = env.opts.staging.table(def.name).unwrap();
        if runtime()
            .block_on(niji_lake::table_version(&uri))
            .unwrap()
            .is_none()
        {
            continue;
        }
        for b in table(env, def.name) {
            for col in b.columns() {
                if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
                    out.extend(s.iter().flatten().map(str::to_string));
                }
            }
        }
    }
    out
}

#[test]
fn the_real_sample_lands_with_its_counts_and_its_faults_reported() {
    let env = env();
    let report = run(&env, &env.opts, &[crate::uke::sample()]);
    let m = &report.manifest;
    let input = &m.inputs[0];
    assert_eq!(input.status, FileStatus::Ingested);
    let read: u64 = input.counts.values().map(|t| t.read).sum();
    assert_eq!(read, 636);
    for (rec, n) in [
        ("IR", 1),
        ("RE", 75),
        ("HO", 69),
        ("KO", 71),
        ("SN", 2),
        ("SY", 9),
        ("SI", 320),
        ("IY", 32),
        ("CO", 56),
        ("GO", 1),
    ] {
        let t = input.counts[rec];
        assert_eq!(t.read, n, "{rec}");
        assert_eq!(t.read, t.landed + t.quarantined, "{rec}");
    }
    assert_eq!(input.counts["KO"].quarantined, 1);
    assert_eq!(input.issue_counts.get("UKE_CHECK_DIGIT"), Some(&1));
    assert_eq!(input.issue_counts.get("UKE_TRAILER_COUNT"), Some(&1));
    assert_eq!(rows(&table(&env, "receipts")), 75);
    assert_eq!(rows(&table(&env, "procedures")), 320);
    let reasons =
        std::fs::read_to_string(Path::new(m.quarantine_dir.as_ref().unwrap()).join("reasons.csv"))
            .unwrap();
    assert!(
        reasons.contains("RECEIPTC_GAIRAI_SAMPLE.UKE")
            && reasons.contains(",4,KO,UKE_CHECK_DIGIT,"),
        "{reasons}"
    );
    // The sample's names never reach the tables.
    let strings = all_strings(&env);
    assert!(
        !strings
            .iter()
            .any(|s| s.contains("テスト") || s.contains("ﾃｽﾄ")),
        "a name reached the staging tables"
    );
}

#[test]
fn synthetic_extracts_of_every_source_land_completely_and_re_ingests_are_skipped_or_replaced() {
    let env = env();
    let src = tempfile::tempdir().unwrap();
    let mut params = niji_synth::Params::new(300, 1, 5);
    params.region_size = 300;
    niji_synth::generate(&params, src.path(), &mut |_| {}).unwrap();
    let report = run(&env, &env.opts, &[src.path().to_path_buf()]);
    let m = &report.manifest;
    assert_eq!(report.unreadable, 0);
    assert!(
        m.inputs.iter().all(|i| i.status == FileStatus::Ingested),
        "{:?}",
        m.inputs.iter().find(|i| i.status != FileStatus::Ingested)
    );
    for t in m.totals.values() {
        assert_eq!(t.read, t.landed + t.quarantined);
        assert_eq!(
            t.quarantined, 0,
            "clean synthetic input quarantined something"
        );
    }
    // One unit row per truth record, per source.
    let truth = std::fs::read_to_string(src.path().join("truth/records.csv")).unwrap();
    let count = |source: &str| {
        truth
            .lines()
            .filter(|l| l.starts_with(&format!("{source},")))
            .count()
    };
    assert_eq!(
        rows(&table(&env, "receipts")),
        count("ndb-med") + count("ndb-dpc") + count("ndb-pha")
    );
    assert_eq!(rows(&table(&env, "checkups")), count("ndb-checkup"));
    assert_eq!(rows(&table(&env, "care_claims")), count("care"));
    assert_eq!(rows(&table(&env, "ehr_bundles")), count("ehr"));

    // No name, kana name or 記号/番号 of the inputs is anywhere in the staging tables.
    let mut identifiers = BTreeSet::new();
    for path in crate::walk(src.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "UKE"))
    {
        let bytes = std::fs::read(&path).unwrap();
        let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
        for line in text.lines() {
            let f: Vec<&str> = line.split(',').collect();
            match f[0] {
                "RE" => identifiers.extend([f[4].to_string(), f[36].to_string()]),
                "HO" if f[3].chars().count() >= 3 => {
                    identifiers.insert(format!("{}{}", f[2], f[3]));
                }
                _ => {}
            }
        }
    }
    identifiers.retain(|s| s.chars().count() >= 3);
    assert!(identifiers.len() > 100);
    let strings = all_strings(&env);
    let leaked: Vec<&String> = identifiers
        .iter()
        .filter(|id| strings.iter().any(|s| s.contains(id.as_str())))
        .collect();
    assert!(
        leaked.is_empty(),
        "{} identifiers reached the staging tables",
        leaked.len()
    );
    // And byte by byte: every file of the steward zone (Parquet pages, Delta log with its
    // statistics, job manifests).
    let finder = aho_corasick::AhoCorasick::new(identifiers.iter().map(String::as_bytes)).unwrap();
    let mut scanned = 0;
    for path in crate::walk(&env.data.join("steward")) {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            finder.find(&bytes).is_none(),
            "an identifier is in {}",
            path.display()
        );
        scanned += 1;
    }
    assert!(scanned > 20, "{scanned} files scanned");

    // The same files again: skipped, nothing added.
    let before = rows(&table(&env, "receipts"));
    let again = run(&env, &env.opts, &[src.path().to_path_buf()]);
    assert!(
        again
            .manifest
            .inputs
            .iter()
            .all(|i| matches!(i.status, FileStatus::Skipped { .. } | FileStatus::NotSource))
    );
    assert_eq!(rows(&table(&env, "receipts")), before);
    // --force on one folder replaces its rows: the count stays.
    let mut force = env.opts.clone();
    force.force = true;
    let one = src.path().join("ndb-med");
    let forced = run(&env, &force, &[one]);
    assert!(
        forced
            .manifest
            .inputs
            .iter()
            .all(|i| i.status == FileStatus::Ingested)
    );
    assert_eq!(rows(&table(&env, "receipts")), before);
}

#[test]
fn corrupted_copies_are_quarantined_with_reasons_and_nothing_is_lost() {
    let env = env();
    let src = tempfile::tempdir().unwrap();
    let mut params = niji_synth::Params::new(300, 1, 6);
    params.region_size = 300;
    niji_synth::generate(&params, src.path(), &mut |_| {}).unwrap();
    let files = crate::walk(src.path());
    // A UKE file with a bad byte in its first RE, a care file cut mid-line, broken XML and JSON.
    let uke = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "UKE"))
        .unwrap();
    let mut bytes = std::fs::read(uke).unwrap();
    let at = bytes.windows(4).position(|w| w == b"\nRE,").unwrap() + 8;
    bytes.splice(at..at, [0x82, 0xFF]);
    std::fs::write(uke, &bytes).unwrap();
    let care = files
        .iter()
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv") && !p.starts_with(src.path().join("truth"))
        })
        .unwrap();
    let bytes = std::fs::read(care).unwrap();
    std::fs::write(care, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let xml = files
        .iter()
        .find(|p| p.to_string_lossy().contains("/DATA/"))
        .unwrap();
    let bytes = std::fs::read(xml).unwrap();
    std::fs::write(xml, &bytes[..bytes.len() / 2]).unwrap();
    let json = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    std::fs::write(json, b"{\"resourceType\": \"Bundle\", \"entry\": [").unwrap();
    std::fs::write(src.path().join("README.txt"), b"not a source file").unwrap();

    let report = run(&env, &env.opts, &[src.path().to_path_buf()]);
    let m = &report.manifest;
    assert_eq!(
        report.unreadable, 0,
        "bad data is quarantined, not unreadable"
    );
    let codes: BTreeSet<&str> = m
        .inputs
        .iter()
        .flat_map(|i| i.issue_counts.keys().map(String::as_str))
        .collect();
    for code in ["UKE_BAD_ENCODING", "FHIR_BAD_JSON"] {
        assert!(codes.contains(code), "{code} missing from {codes:?}");
    }
    // Cut in half, the XML either ends inside a character or inside an element.
    assert!(
        codes.contains("CDA_BAD_XML") || codes.contains("CDA_BAD_ENCODING"),
        "{codes:?}"
    );
    assert!(codes.iter().any(|c| c.starts_with("CARE_")), "{codes:?}");
    for i in &m.inputs {
        for (rec, t) in &i.counts {
            assert_eq!(t.read, t.landed + t.quarantined, "{} {rec}", i.path);
        }
    }
    assert!(
        m.inputs
            .iter()
            .any(|i| i.status == FileStatus::NotSource && i.path == "README.txt")
    );
    let reasons =
        std::fs::read_to_string(Path::new(m.quarantine_dir.as_ref().unwrap()).join("reasons.csv"))
            .unwrap();
    let quarantined: u64 = m.totals.values().map(|t| t.quarantined).sum();
    assert_eq!(
        reasons.lines().count() as u64 - 1,
        quarantined,
        "one reason row per quarantined record"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(m.quarantine_dir.as_ref().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    // --source refuses files of other sources as unreadable, and the exit would be non-zero.
    let mut only = env.opts.clone();
    only.source = Some(niji_core::Source::Care);
    let r = run(&env, &only, std::slice::from_ref(uke));
    assert_eq!(r.unreadable, 1);
}
