//! Job manifests: what a job read (files with SHA-256), what it landed and quarantined, the
//! issues, the key and rule-set versions, the table versions it committed, and its timings.
//! Written to `<data_dir>/steward/jobs/<job_id>.json`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Counts, Issue, Severity, Tally};
use crate::{Error, Result};

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Committed,
    Failed,
}

/// What became of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Ingested,
    /// Already ingested by an earlier job (its id), and `--force` was not given.
    Skipped {
        by_job: String,
    },
    /// Not a source file (unknown format); nothing read.
    NotSource,
    /// The file could not be read; nothing from it landed.
    Unreadable {
        reason: String,
    },
}

/// One issue as the manifest keeps it (messages carry no values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRow {
    pub code: String,
    pub severity: String,
    pub record: String,
    pub field: Option<String>,
    pub line: u64,
    pub message: String,
}

impl From<&Issue> for IssueRow {
    fn from(i: &Issue) -> Self {
        IssueRow {
            code: i.code.to_string(),
            severity: if i.severity == Severity::Error {
                "error"
            } else {
                "warning"
            }
            .to_string(),
            record: i.record.clone(),
            field: i.field.map(str::to_string),
            line: i.line,
            message: i.message.clone(),
        }
    }
}

/// The issues of a file listed in full up to this many; beyond, only counted by code.
pub const MAX_LISTED_ISSUES: usize = 200;

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReport {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub source: Option<String>,
    pub status: FileStatus,
    /// Per record type: read, landed, quarantined.
    pub counts: BTreeMap<String, TallyRow>,
    /// Units (receipts, documents, claims, bundles): landed and quarantined.
    pub units_landed: u64,
    pub units_quarantined: u64,
    /// Issue counts by code.
    pub issue_counts: BTreeMap<String, u64>,
    /// The first issues, in file order.
    pub issues: Vec<IssueRow>,
}

/// [`Tally`] in the manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    pub read: u64,
    pub landed: u64,
    pub quarantined: u64,
}

impl From<&Tally> for TallyRow {
    fn from(t: &Tally) -> Self {
        TallyRow {
            read: t.read,
            landed: t.landed,
            quarantined: t.quarantined,
        }
    }
}

/// Converts per-record-type counts for the manifest.
pub fn tally_rows(c: &Counts) -> BTreeMap<String, TallyRow> {
    c.0.iter()
        .map(|(k, t)| (k.clone(), TallyRow::from(t)))
        .collect()
}

/// Seconds spent in each phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub hash_secs: f64,
    pub parse_secs: f64,
    pub commit_secs: f64,
    pub total_secs: f64,
}

/// A job's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub job_id: String,
    pub status: JobStatus,
    pub started: String,
    pub finished: String,
    pub source: Option<String>,
    pub key_version: u32,
    pub ruleset_version: String,
    pub inputs: Vec<InputReport>,
    /// Sums over the ingested files, per record type.
    pub totals: BTreeMap<String, TallyRow>,
    /// Delta table versions this job committed (table → version).
    pub tables: BTreeMap<String, u64>,
    pub quarantine_dir: Option<String>,
    pub timings: Timings,
    pub error: Option<String>,
}

impl Manifest {
    /// Writes the manifest atomically into `jobs_dir`.
    pub fn write(&self, jobs_dir: &Path) -> Result<PathBuf> {
        fs::create_dir_all(jobs_dir).map_err(|source| Error::Io {
            path: jobs_dir.to_path_buf(),
            source,
        })?;
        let path = jobs_dir.join(format!("{}.json", self.job_id));
        let tmp = jobs_dir.join(format!(".{}.json.tmp", self.job_id));
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&tmp, text).map_err(|source| Error::Io {
            path: tmp.to_path_buf(),
            source,
        })?;
        fs::rename(&tmp, &path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(path)
    }

    /// Every manifest in `jobs_dir`, oldest first.
    pub fn read_all(jobs_dir: &Path) -> Result<Vec<Manifest>> {
        let Ok(entries) = fs::read_dir(jobs_dir) else {
            return Ok(Vec::new());
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let text = fs::read_to_string(p).map_err(|source| Error::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                serde_json::from_str(&text).map_err(|e| Error::Manifest {
                    path: p.clone(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// SHA-256 of every file a committed job ingested → that job's id.
    pub fn ingested(jobs_dir: &Path) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for m in Manifest::read_all(jobs_dir)?
            .into_iter()
            .filter(|m| m.status == JobStatus::Committed)
        {
            for i in m.inputs.iter().filter(|i| i.status == FileStatus::Ingested) {
                out.insert(i.sha256.clone(), m.job_id.clone());
            }
        }
        Ok(out)
    }
}
