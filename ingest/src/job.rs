//! The ingest job: find the files, skip those already ingested, parse, validate, pseudonymize,
//! quarantine what cannot land, write the staging tables, and commit once per table.
//!
//! A file is staged on its own: only when it has been read to the end do its rows go to the
//! table writers, so a file that fails half-way leaves nothing behind. Data files are written as
//! the job goes but stay invisible until the job commits ([`niji_lake::commit_all`]); a job that
//! fails aborts them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use niji_core::Source;
use niji_lake::{CommitInfo, Prepared, TableWriter, WriteOptions, ZoneRoot};
use niji_pseudonymize::{LinkKeyer, RULESET_VERSION};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::detect::{self, Format, Input};
use crate::keys::key_unit;
use crate::manifest::{
    FileStatus, InputReport, IssueRow, JobStatus, MAX_LISTED_ISSUES, Manifest, Timings, tally_rows,
};
use crate::model::{Counts, FileRecords, FileRef, Issue, Severity};
use crate::quarantine::{self, Quarantine};
use crate::rows::{Provenance, Staging};
use crate::tables::{self, PARTITIONS};
use crate::unit::Unit;
use crate::{Error, Result, care, cda, fhir, uke};

/// Where a job reads and writes, and how.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// The steward zone's staging tables.
    pub staging: ZoneRoot,
    /// The intake zone (the quarantine lives under it).
    pub intake: PathBuf,
    /// Where job manifests go.
    pub jobs_dir: PathBuf,
    /// Only files of this source are accepted (others are reported as unreadable).
    pub source: Option<Source>,
    /// Re-ingest files already ingested, replacing their rows.
    pub force: bool,
    /// Quarantine folders of older jobs are removed after this long.
    pub quarantine_retention: Duration,
    /// Rows gathered before a batch goes to a table writer.
    pub batch_rows: usize,
}

/// What the job tells its caller while it runs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// Inputs found: files and bytes.
    Found { files: u64, bytes: u64 },
    /// A file done (its bytes), with the records read so far.
    File { bytes: u64, records: u64 },
    /// Committing the tables.
    Committing,
}

/// The outcome of a job.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    /// Files that could not be read (the command exits non-zero when there are any).
    pub unreadable: usize,
    /// Quarantine folders of expired jobs removed at the start.
    pub purged: Vec<PathBuf>,
}

fn job_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let mut r = [0u8; 3];
    let suffix = getrandom::fill(&mut r).map_or_else(
        |_| format!("{:06x}", std::process::id() & 0xff_ffff),
        |_| format!("{:02x}{:02x}{:02x}", r[0], r[1], r[2]),
    );
    format!("job-{}-{suffix}", now.format("%Y%m%dT%H%M%SZ"))
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    let digest = h.finalize();
    Ok((digest.iter().map(|b| format!("{b:02x}")).collect(), n_total))
}

/// A file being parsed on a blocking thread.
type Parsing = JoinHandle<Result<FileWork>>;

/// What goes to the quarantine: a unit's (or record's) bytes and its quarantined records.
struct Pending {
    raw: Vec<u8>,
    records: Vec<(String, u64, &'static str)>,
    issues: Vec<Issue>,
}

/// One file's staged rows, accounting and quarantine, kept apart until the file is read to the
/// end: a file that fails half-way leaves nothing behind.
struct FileWork {
    keyer: LinkKeyer,
    job_id: String,
    recorded: String,
    file_id: String,
    staging: Staging,
    counts: Counts,
    issues: Vec<Issue>,
    units_landed: u64,
    units_quarantined: u64,
    quarantine: Vec<Pending>,
}

impl FileWork {
    fn unit(&mut self, unit: Unit) {
        for m in &unit.marks {
            self.counts.read(&m.record);
        }
        if let Some(reason) = unit.rejected {
            let records: Vec<(String, u64, &'static str)> = unit
                .marks
                .iter()
                .map(|m| (m.record.clone(), m.line, m.quarantined.unwrap_or(reason)))
                .collect();
            for (record, _, _) in &records {
                self.counts.quarantined(record, 1);
            }
            self.units_quarantined += 1;
            self.issues.extend(unit.issues.iter().cloned());
            self.quarantine.push(Pending {
                raw: unit.raw,
                records,
                issues: unit.issues,
            });
            return;
        }
        let keyed = key_unit(&self.keyer, &unit);
        let mut q: Vec<(String, u64, &'static str)> = Vec::new();
        for m in &unit.marks {
            match m.quarantined {
                Some(code) => {
                    self.counts.quarantined(&m.record, 1);
                    q.push((m.record.clone(), m.line, code));
                }
                None => self.counts.landed(&m.record, 1),
            }
        }
        let mut flags: Vec<&str> = unit
            .issues
            .iter()
            .chain(&keyed.issues)
            .filter(|i| i.severity == Severity::Warning)
            .map(|i| i.code)
            .collect();
        flags.sort_unstable();
        flags.dedup();
        let prov = Provenance {
            job_id: &self.job_id,
            file: &self.recorded,
            file_id: &self.file_id,
        };
        self.staging.push(&unit, &keyed, &prov, &flags.join(","));
        self.units_landed += 1;
        if !q.is_empty() {
            self.quarantine.push(Pending {
                raw: unit.raw,
                records: q,
                issues: unit.issues.clone(),
            });
        }
        self.issues.extend(unit.issues);
        self.issues.extend(keyed.issues);
    }

    fn file_records(&mut self, fr: FileRecords) {
        for m in &fr.marks {
            self.counts.read(&m.record);
            match m.quarantined {
                Some(code) => {
                    self.counts.quarantined(&m.record, 1);
                    let raw = fr
                        .raw
                        .iter()
                        .find(|(l, _)| *l == m.line)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default();
                    self.quarantine.push(Pending {
                        raw,
                        records: vec![(m.record.clone(), m.line, code)],
                        issues: fr.issues.clone(),
                    });
                }
                None => self.counts.landed(&m.record, 1),
            }
        }
        self.issues.extend(fr.issues);
    }
}

/// Parses one file into `work`. I/O errors end the file.
fn parse_file(format: Format, input: &Input, work: &mut FileWork) -> Result<()> {
    let file = FileRef {
        path: input.recorded.as_str().into(),
    };
    let open = || {
        File::open(&input.path)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .map_err(|e| Error::io(&input.path, e))
    };
    let mut emit = |u: Unit| -> Result<()> {
        work.unit(u);
        Ok(())
    };
    let fr = match format {
        Format::Uke(_) => uke::parse(open()?, &file, &mut emit)?.1,
        Format::Care => care::parse(open()?, &file, &mut emit)?,
        Format::Cda | Format::CdaSubmission | Format::Fhir => {
            let parsed = if format == Format::Fhir {
                fhir::parse_file(&input.path, file)?
            } else {
                cda::parse_file(&input.path, file)?
            };
            for u in parsed.units {
                emit(u)?;
            }
            parsed.file
        }
    };
    work.file_records(fr);
    Ok(())
}

/// Staging writes keep many partitions open at once (source × service month × table), so row
/// groups and files are kept small to bound the job's memory.
fn staging_write_options() -> WriteOptions {
    WriteOptions {
        target_file_size: 32 * 1024 * 1024,
        max_row_group_bytes: 1024 * 1024,
        ..WriteOptions::default()
    }
}

struct Writers {
    open: BTreeMap<&'static str, TableWriter>,
}

impl Writers {
    async fn write(&mut self, staging: &ZoneRoot, mut from: Staging) -> Result<()> {
        for buf in &mut from.bufs {
            if let Some(batch) = buf.take() {
                let name = buf.def.name;
                if !self.open.contains_key(name) {
                    let uri = staging.table(name)?;
                    let w = TableWriter::open_with(
                        &uri,
                        buf.def.schema(),
                        &PARTITIONS,
                        staging_write_options(),
                    )
                    .await?;
                    self.open.insert(name, w);
                }
                self.open
                    .get_mut(name)
                    .expect("opened above")
                    .write(batch)
                    .await?;
            }
        }
        Ok(())
    }

    async fn abort(self) {
        for (name, w) in self.open {
            if let Err(e) = w.abort().await {
                tracing::warn!(table = name, error = %e, "aborting a table write failed");
            }
        }
    }
}

/// Deletes the rows an earlier job staged from the file with `file_id` (for `--force`).
async fn remove_file_rows(staging: &ZoneRoot, file_id: &str, info: &CommitInfo) -> Result<()> {
    for def in tables::ALL {
        let uri = staging.table(def.name)?;
        if niji_lake::table_version(&uri).await?.is_none() {
            continue;
        }
        let predicate = if def.unit {
            format!("file_id = '{file_id}'")
        } else {
            format!("starts_with(record_id, '{file_id}:')")
        };
        niji_lake::delete_where(&uri, &predicate, info).await?;
    }
    Ok(())
}

/// Decides what to do with one input: a report already complete (unreadable, not a source
/// file, of another source, already ingested), or a file to parse with its format and id.
fn plan(
    opts: &JobOptions,
    ingested: &HashMap<String, String>,
    input: &Input,
    hashed: Result<(String, u64)>,
) -> (InputReport, Option<(Format, String)>) {
    let mut report = InputReport {
        path: input.recorded.clone(),
        sha256: String::new(),
        bytes: 0,
        source: None,
        status: FileStatus::Ingested,
        counts: BTreeMap::new(),
        units_landed: 0,
        units_quarantined: 0,
        issue_counts: BTreeMap::new(),
        issues: Vec::new(),
    };
    let unreadable = |mut report: InputReport, reason: String| {
        report.status = FileStatus::Unreadable { reason };
        (report, None)
    };
    let (sha, bytes) = match hashed {
        Ok(h) => h,
        Err(e) => return unreadable(report, e.to_string()),
    };
    report.sha256.clone_from(&sha);
    report.bytes = bytes;
    let format = match detect::detect(&input.path) {
        Ok(Some(f)) => f,
        Ok(None) => {
            report.status = FileStatus::NotSource;
            return (report, None);
        }
        Err(e) => return unreadable(report, e.to_string()),
    };
    report.source = Some(format.source().name().to_string());
    if let Some(want) = opts.source
        && want != format.source()
    {
        return unreadable(
            report,
            format!("the file is {} data, not {want}", format.source()),
        );
    }
    if let Some(by) = ingested.get(&sha)
        && !opts.force
    {
        tracing::info!(file = %input.recorded, job = %by, "already ingested; skipped (use --force to replace)");
        report.status = FileStatus::Skipped { by_job: by.clone() };
        return (report, None);
    }
    (report, Some((format, sha[..16].to_string())))
}

/// Completes one input in order: its quarantine, its rows to the table writers, its report.
async fn finish(
    mut report: InputReport,
    handle: Option<Parsing>,
    writers: &mut Writers,
    quarantine: &mut Quarantine,
    opts: &JobOptions,
    totals: &mut Counts,
    records_read: &mut u64,
) -> Result<InputReport> {
    let Some(handle) = handle else {
        return Ok(report);
    };
    let work = match handle.await {
        Ok(Ok(work)) => work,
        Ok(Err(e)) => {
            report.status = FileStatus::Unreadable {
                reason: e.to_string(),
            };
            return Ok(report);
        }
        Err(e) => {
            report.status = FileStatus::Unreadable {
                reason: format!("the parser stopped: {e}"),
            };
            return Ok(report);
        }
    };
    let FileWork {
        staging,
        counts,
        issues,
        units_landed,
        units_quarantined,
        quarantine: pending,
        recorded,
        file_id,
        ..
    } = work;
    for p in &pending {
        quarantine.put(&recorded, &file_id, &p.raw, &p.records, &p.issues)?;
    }
    if let Err(e) = writers.write(&opts.staging, staging).await {
        std::mem::replace(
            writers,
            Writers {
                open: BTreeMap::new(),
            },
        )
        .abort()
        .await;
        return Err(e);
    }
    *records_read += counts.total().read;
    totals.merge(&counts);
    report.counts = tally_rows(&counts);
    report.units_landed = units_landed;
    report.units_quarantined = units_quarantined;
    for i in &issues {
        *report.issue_counts.entry(i.code.to_string()).or_default() += 1;
    }
    report.issues = issues
        .iter()
        .take(MAX_LISTED_ISSUES)
        .map(IssueRow::from)
        .collect();
    Ok(report)
}

/// Runs an ingest job over `paths`.
pub async fn run(
    opts: &JobOptions,
    paths: &[PathBuf],
    keyer: &LinkKeyer,
    progress: &mut dyn FnMut(Progress),
) -> Result<JobReport> {
    let started_at = Instant::now();
    let now = chrono::Utc::now();
    let job = job_id(now);
    let purged =
        quarantine::purge_expired(&opts.intake, opts.quarantine_retention, SystemTime::now())?;
    let inputs = detect::discover(paths)?;
    let ingested = Manifest::ingested(&opts.jobs_dir)?;
    let mut timings = Timings::default();

    // Hash every file first: a file already ingested is skipped before anything is read.
    let t = Instant::now();
    let mut planned = Vec::with_capacity(inputs.len());
    let mut total_bytes = 0;
    for input in &inputs {
        let hashed = sha256_file(&input.path);
        if let Ok((_, bytes)) = &hashed {
            total_bytes += bytes;
        }
        planned.push(hashed);
    }
    timings.hash_secs = t.elapsed().as_secs_f64();
    progress(Progress::Found {
        files: inputs.len() as u64,
        bytes: total_bytes,
    });

    let info = CommitInfo::new(job.clone(), "ingest")
        .with("ruleset", RULESET_VERSION)
        .with("keyVersion", keyer.version());
    // --force: the earlier rows of files ingested again go first, before any table is opened
    // for writing, so the job's own commits build on the deletions.
    if opts.force {
        for (sha, _) in planned.iter().flatten() {
            if ingested.contains_key(sha) {
                remove_file_rows(&opts.staging, &sha[..16], &info).await?;
            }
        }
    }
    let mut quarantine = Quarantine::new(&opts.intake, &job);
    let mut writers = Writers {
        open: BTreeMap::new(),
    };
    let mut reports = Vec::with_capacity(inputs.len());
    let mut totals = Counts::default();
    let mut records_read = 0u64;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Files are parsed on blocking threads, a few ahead, and finished here in input order.
    let mut queue: VecDeque<(InputReport, u64, Option<Parsing>)> = VecDeque::new();
    let t = Instant::now();
    let mut planned = inputs.iter().zip(planned);
    loop {
        let next = planned.next();
        let more = next.is_some();
        if let Some((input, hashed)) = next {
            let (report, task) = plan(opts, &ingested, input, hashed);
            let bytes = report.bytes;
            let handle = task.map(|(format, file_id)| {
                let mut work = FileWork {
                    keyer: keyer.clone(),
                    job_id: job.clone(),
                    recorded: input.recorded.clone(),
                    file_id,
                    staging: Staging::default(),
                    counts: Counts::default(),
                    issues: Vec::new(),
                    units_landed: 0,
                    units_quarantined: 0,
                    quarantine: Vec::new(),
                };
                let input = input.clone();
                tokio::task::spawn_blocking(move || {
                    parse_file(format, &input, &mut work).map(|()| work)
                })
            });
            queue.push_back((report, bytes, handle));
        }
        // Keep a few files ahead while there are more; at the end, drain the queue.
        let ahead = if more { workers * 2 } else { 0 };
        while queue.len() > ahead {
            let (report, bytes, handle) = queue.pop_front().expect("not empty");
            let report = finish(
                report,
                handle,
                &mut writers,
                &mut quarantine,
                opts,
                &mut totals,
                &mut records_read,
            )
            .await?;
            reports.push(report);
            progress(Progress::File {
                bytes,
                records: records_read,
            });
        }
        if !more {
            break;
        }
    }
    timings.parse_secs = t.elapsed().as_secs_f64();
    quarantine.finish()?;

    progress(Progress::Committing);
    let t = Instant::now();
    let mut prepared: Vec<Prepared> = Vec::new();
    for (_, w) in std::mem::take(&mut writers.open) {
        match w.prepare().await {
            Ok(p) => prepared.push(p),
            Err(e) => {
                for p in prepared {
                    let _ = p.abort().await;
                }
                return Err(e.into());
            }
        }
    }
    let committed = niji_lake::commit_all(prepared, &info).await?;
    timings.commit_secs = t.elapsed().as_secs_f64();
    timings.total_secs = started_at.elapsed().as_secs_f64();

    let qdir = opts.intake.join("quarantine").join(&job);
    let unreadable = reports
        .iter()
        .filter(|r| matches!(r.status, FileStatus::Unreadable { .. }))
        .count();
    let manifest = Manifest {
        job_id: job.clone(),
        status: JobStatus::Committed,
        started: now.to_rfc3339(),
        finished: chrono::Utc::now().to_rfc3339(),
        source: opts.source.map(|s| s.name().to_string()),
        key_version: keyer.version(),
        ruleset_version: RULESET_VERSION.to_string(),
        inputs: reports,
        totals: tally_rows(&totals),
        tables: committed
            .into_iter()
            .map(|(uri, v)| (table_name(&uri), v))
            .collect(),
        quarantine_dir: qdir.exists().then(|| qdir.display().to_string()),
        timings,
        error: None,
    };
    let manifest_path = manifest.write(&opts.jobs_dir)?;
    Ok(JobReport {
        manifest,
        manifest_path,
        unreadable,
        purged,
    })
}

/// The table name at the end of a table URI.
fn table_name(uri: &str) -> String {
    uri.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(uri)
        .to_string()
}
