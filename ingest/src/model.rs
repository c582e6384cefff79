//! What every parser produces: locations, validation issues with severities and reason codes, and
//! the per-record-type counts that must add up (read = landed + quarantined).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record lands with a data-quality flag.
    Warning,
    /// The record (or the whole unit, when its identity records are unusable) is quarantined.
    Error,
}

/// A validation finding. `message` names fields and kinds of problems, never a value: it goes to
/// logs and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// A stable reason code, e.g. `UKE_CHECK_DIGIT`, `CDA_BAD_XML`.
    pub code: &'static str,
    /// The record type the issue is about (`RE`, `HO`, `observation`, `Patient` …).
    pub record: String,
    /// The field, if one.
    pub field: Option<&'static str>,
    /// 1-based line of the record in its file (0 for whole-document formats without lines).
    pub line: u64,
    pub message: String,
}

impl Issue {
    pub fn error(
        code: &'static str,
        record: impl Into<String>,
        field: Option<&'static str>,
        line: u64,
        message: impl Into<String>,
    ) -> Self {
        Issue {
            severity: Severity::Error,
            code,
            record: record.into(),
            field,
            line,
            message: message.into(),
        }
    }

    pub fn warning(
        code: &'static str,
        record: impl Into<String>,
        field: Option<&'static str>,
        line: u64,
        message: impl Into<String>,
    ) -> Self {
        Issue {
            severity: Severity::Warning,
            code,
            record: record.into(),
            field,
            line,
            message: message.into(),
        }
    }
}

/// A file being ingested: its path as given (for messages) and as recorded (relative to the
/// input root, for provenance columns).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileRef {
    pub path: Arc<str>,
}

/// Counts of one record type in one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub read: u64,
    pub landed: u64,
    pub quarantined: u64,
}

impl Tally {
    /// Whether every record read was landed or quarantined.
    pub fn balanced(&self) -> bool {
        self.read == self.landed + self.quarantined
    }
}

/// Per-record-type counts for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts(pub BTreeMap<String, Tally>);

impl Counts {
    pub fn read(&mut self, record: &str) {
        self.entry(record).read += 1;
    }

    pub fn landed(&mut self, record: &str, n: u64) {
        self.entry(record).landed += n;
    }

    pub fn quarantined(&mut self, record: &str, n: u64) {
        self.entry(record).quarantined += n;
    }

    fn entry(&mut self, record: &str) -> &mut Tally {
        if !self.0.contains_key(record) {
            self.0.insert(record.to_string(), Tally::default());
        }
        self.0.get_mut(record).expect("inserted above")
    }

    /// Adds another file's counts.
    pub fn merge(&mut self, other: &Counts) {
        for (k, t) in &other.0 {
            let e = self.entry(k);
            e.read += t.read;
            e.landed += t.landed;
            e.quarantined += t.quarantined;
        }
    }

    /// The sum over record types.
    pub fn total(&self) -> Tally {
        self.0.values().fold(Tally::default(), |a, t| Tally {
            read: a.read + t.read,
            landed: a.landed + t.landed,
            quarantined: a.quarantined + t.quarantined,
        })
    }
}

/// The records of a file that belong to no unit (care control and end records, CDA `index.xml`
/// and `summary.xml`, orphan records), with the issues about them and about the file as a whole
/// (declared counts, record order). Every parser returns one per file, so that the marks of its
/// units plus these marks cover every record read exactly once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileRecords {
    /// One mark for every record outside every unit, in file order.
    pub marks: Vec<crate::unit::Mark>,
    /// The bytes (line terminator included) of every quarantined file-level record, with its
    /// line (0 for a whole file), in file order.
    pub raw: Vec<(u64, Vec<u8>)>,
    /// Issues about file-level records and about the file as a whole.
    pub issues: Vec<Issue>,
}

/// A whole file parsed at once: its units, then its file-level records.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub units: Vec<crate::unit::Unit>,
    pub file: FileRecords,
}
