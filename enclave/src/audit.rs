//! The audit log: every query, admitted or refused, appended to a hash-chained JSON-lines file.
//!
//! Entry n carries `prev` (entry n−1's hash, 64 zeros for the first) and `hash` = SHA-256 of
//! `prev` ‖ the entry's canonical JSON without `hash`. [`verify`] recomputes the chain: an
//! edited entry breaks its own hash, a removed or reordered one breaks the next entry's `prev`
//! and the sequence numbers. Cutting entries off the end leaves a valid shorter chain, so
//! `verify` reports the head (count and last hash) for comparison with a copy kept elsewhere.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::query::{QueryResult, hex};
use crate::{Error, Result};

/// Source of the time stamped on entries (injected in tests).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What is recorded of one query (or of another audited event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// `query`, or the event's kind.
    pub kind: String,
    /// The account that acted.
    pub account: String,
    /// The project.
    pub project: String,
    /// The SQL as submitted (or the event's description).
    pub sql: String,
    /// `ok`, or the error code.
    pub outcome: String,
    /// SHA-256 of the protected plan.
    #[serde(default)]
    pub plan_hash: Option<String>,
    /// SHA-256 of the result.
    #[serde(default)]
    pub result_hash: Option<String>,
    /// Result rows.
    #[serde(default)]
    pub rows: u64,
    /// Groups withheld for fewer than k persons.
    #[serde(default)]
    pub groups_withheld: u64,
    /// Cells suppressed (dominance, contributors).
    #[serde(default)]
    pub cells_suppressed: u64,
    /// Milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
}

impl AuditRecord {
    /// The record of a query and its outcome.
    pub fn of_query(
        account: &str,
        project: &str,
        sql: &str,
        outcome: &Result<QueryResult>,
        duration: Duration,
    ) -> Self {
        let mut r = AuditRecord::event("query", account, project, sql);
        r.duration_ms = duration.as_millis() as u64;
        match outcome {
            Ok(q) => {
                r.plan_hash = Some(q.plan_hash.clone());
                r.result_hash = Some(q.result_hash.clone());
                r.rows = q.rows() as u64;
                r.groups_withheld = q.report.groups_withheld;
                r.cells_suppressed = q.report.cells_suppressed();
            }
            Err(e) => r.outcome = e.code().into(),
        }
        r
    }

    /// The record of a non-query event (a state change of the review workflow, say).
    pub fn event(kind: &str, account: &str, project: &str, what: &str) -> Self {
        AuditRecord {
            kind: kind.into(),
            account: account.into(),
            project: project.into(),
            sql: what.into(),
            outcome: "ok".into(),
            plan_hash: None,
            result_hash: None,
            rows: 0,
            groups_withheld: 0,
            cells_suppressed: 0,
            duration_ms: 0,
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    seq: u64,
    time: String,
    #[serde(flatten)]
    record: AuditRecord,
    prev: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(e: &Entry) -> Result<String> {
    let mut unhashed = e.clone();
    unhashed.hash = None;
    let json = serde_json::to_string(&unhashed).map_err(|err| Error::Audit {
        path: String::new(),
        message: err.to_string(),
    })?;
    let mut h = Sha256::new();
    h.update(e.prev.as_bytes());
    h.update(json.as_bytes());
    Ok(hex(&h.finalize()))
}

/// An append-only, hash-chained audit log in a file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    clock: Box<dyn Clock>,
    head: Mutex<(u64, String)>,
}

/// The state of a verified log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Entries in the log.
    pub entries: u64,
    /// Hash of the last entry (64 zeros for an empty log).
    pub hash: String,
}

impl AuditLog {
    /// Opens (verifying) or creates the log at `path`.
    pub fn open(path: impl Into<PathBuf>, clock: Box<dyn Clock>) -> Result<Self> {
        let path = path.into();
        let head = if path.exists() {
            verify(&path)?
        } else {
            Head {
                entries: 0,
                hash: GENESIS.into(),
            }
        };
        Ok(AuditLog {
            path,
            clock,
            head: Mutex::new((head.entries, head.hash)),
        })
    }

    /// Appends a record; returns its sequence number.
    pub fn append(&self, record: AuditRecord) -> Result<u64> {
        let err = |message: String| Error::Audit {
            path: self.path.display().to_string(),
            message,
        };
        let mut head = self.head.lock().map_err(|_| err("lock poisoned".into()))?;
        let mut entry = Entry {
            seq: head.0 + 1,
            time: self
                .clock
                .now()
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            record,
            prev: head.1.clone(),
            hash: None,
        };
        let hash = entry_hash(&entry)?;
        entry.hash = Some(hash.clone());
        let line = serde_json::to_string(&entry).map_err(|e| err(e.to_string()))?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| err(e.to_string()))?;
        f.write_all(line.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_data())
            .map_err(|e| err(e.to_string()))?;
        *head = (entry.seq, hash);
        Ok(entry.seq)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Verifies the chain of the log at `path`.
pub fn verify(path: &Path) -> Result<Head> {
    let p = path.display().to_string();
    let f = File::open(path).map_err(|e| Error::Audit {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let mut prev = GENESIS.to_string();
    let mut n = 0u64;
    for line in BufReader::new(f).lines() {
        let line = line.map_err(|e| Error::Audit {
            path: p.clone(),
            message: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let broken = |reason: &str| Error::AuditBroken {
            path: p.clone(),
            entry: n + 1,
            reason: reason.to_string(),
        };
        let entry: Entry = serde_json::from_str(&line).map_err(|_| broken("not a valid entry"))?;
        if entry.seq != n + 1 {
            return Err(broken(
                "sequence number out of order (an entry was removed or moved)",
            ));
        }
        if entry.prev != prev {
            return Err(broken("does not chain to the entry before it"));
        }
        let hash = entry_hash(&entry)?;
        if entry.hash.as_deref() != Some(hash.as_str()) {
            return Err(broken("its content does not match its hash (edited)"));
        }
        prev = hash;
        n += 1;
    }
    Ok(Head {
        entries: n,
        hash: prev,
    })
}
