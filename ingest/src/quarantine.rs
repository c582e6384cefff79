//! The quarantine: raw bytes of what could not land, with the reason, file and line of each
//! record. It holds identifiers, so it lives in the intake zone (`<data_dir>/intake/quarantine/
//! <job_id>/`, folders 0700, files 0600), never in the lake, and is purged after the retention
//! period.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::model::Issue;
use crate::{Error, Result};

/// The quarantine of one job.
pub struct Quarantine {
    dir: PathBuf,
    index: Option<BufWriter<File>>,
    raw: HashMap<String, (BufWriter<File>, u64)>,
    /// Records quarantined so far.
    pub records: u64,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine")
            .field("dir", &self.dir)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn private_dir(path: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

fn private_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Quarantine {
    /// The quarantine folder of `job_id` under `intake`. Nothing is created until something is
    /// quarantined.
    pub fn new(intake: &Path, job_id: &str) -> Self {
        Quarantine {
            dir: intake.join("quarantine").join(job_id),
            index: None,
            raw: HashMap::new(),
            records: 0,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index(&mut self) -> Result<&mut BufWriter<File>> {
        if self.index.is_none() {
            private_dir(&self.dir)?;
            let path = self.dir.join("reasons.csv");
            let mut w = BufWriter::new(private_file(&path)?);
            w.write_all(b"file,file_id,line,record,code,severity,field,message,raw_file,raw_offset,raw_length\n").map_err(io(&path))?;
            self.index = Some(w);
        }
        Ok(self.index.as_mut().expect("set above"))
    }

    /// Stores `raw` (the bytes of a unit or record) and one reason row per quarantined record.
    /// `records` are (record type, line, reason code); `issues` supply severity, field and message.
    pub fn put(
        &mut self,
        file: &str,
        file_id: &str,
        raw: &[u8],
        records: &[(String, u64, &'static str)],
        issues: &[Issue],
    ) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let (offset, length) = if raw.is_empty() {
            (0, 0)
        } else {
            if !self.raw.contains_key(file_id) {
                private_dir(&self.dir)?;
                let path = self.dir.join(format!("{file_id}.raw"));
                self.raw.insert(
                    file_id.to_string(),
                    (BufWriter::new(private_file(&path)?), 0),
                );
            }
            let (w, pos) = self.raw.get_mut(file_id).expect("inserted above");
            let at = *pos;
            w.write_all(raw).map_err(|source| Error::Io {
                path: self.dir.join(format!("{file_id}.raw")),
                source,
            })?;
            *pos += raw.len() as u64;
            (at, raw.len() as u64)
        };
        let raw_name = if length > 0 {
            format!("{file_id}.raw")
        } else {
            String::new()
        };
        for (record, line, code) in records {
            let issue = issues
                .iter()
                .find(|i| i.code == *code && (i.line == *line || i.line == 0))
                .or_else(|| issues.iter().find(|i| i.code == *code));
            let (sev, field, msg) = issue.map_or(("error", "", "quarantined with its unit"), |i| {
                (
                    if i.severity == crate::Severity::Error {
                        "error"
                    } else {
                        "warning"
                    },
                    i.field.unwrap_or(""),
                    i.message.as_str(),
                )
            });
            let row = format!(
                "{},{file_id},{line},{},{code},{sev},{field},{},{raw_name},{offset},{length}\n",
                csv_field(file),
                csv_field(record),
                csv_field(msg)
            );
            let path = self.dir.join("reasons.csv");
            self.index()?.write_all(row.as_bytes()).map_err(io(&path))?;
            self.records += 1;
        }
        Ok(())
    }

    /// Flushes everything written.
    pub fn finish(mut self) -> Result<()> {
        if let Some(w) = self.index.as_mut() {
            w.flush().map_err(io(&self.dir))?;
        }
        for (w, _) in self.raw.values_mut() {
            w.flush().map_err(io(&self.dir))?;
        }
        Ok(())
    }
}

/// Removes quarantine folders of jobs older than `retention`. Returns what was removed.
pub fn purge_expired(intake: &Path, retention: Duration, now: SystemTime) -> Result<Vec<PathBuf>> {
    let root = intake.join("quarantine");
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(&root) else {
        return Ok(removed);
    };
    for e in entries {
        let e = e.map_err(io(&root))?;
        let path = e.path();
        let modified = e.metadata().and_then(|m| m.modified()).map_err(io(&path))?;
        if now.duration_since(modified).unwrap_or_default() > retention && path.is_dir() {
            fs::remove_dir_all(&path).map_err(io(&path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::Severity;

    #[test]
    fn stores_raw_bytes_privately_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Quarantine::new(dir.path(), "job-1");
        let issue = Issue {
            severity: Severity::Error,
            code: "UKE_CHECK_DIGIT",
            record: "HO".into(),
            field: Some("insurer_number"),
            line: 3,
            message: "保険者番号 has a wrong check digit".into(),
        };
        q.put(
            "a/RECEIPTC.UKE",
            "abcd",
            b"RE,1\r\nHO,1\r\n",
            &[
                ("RE".into(), 2, "UKE_CHECK_DIGIT"),
                ("HO".into(), 3, "UKE_CHECK_DIGIT"),
            ],
            &[issue],
        )
        .unwrap();
        assert_eq!(q.records, 2);
        let d = q.dir().to_path_buf();
        q.finish().unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let reasons = fs::read_to_string(d.join("reasons.csv")).unwrap();
        assert_eq!(reasons.lines().count(), 3);
        assert!(reasons.contains("UKE_CHECK_DIGIT,error,insurer_number"));
        assert_eq!(
            fs::metadata(d.join("reasons.csv"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        assert_eq!(fs::read(d.join("abcd.raw")).unwrap(), b"RE,1\r\nHO,1\r\n");
    }

    #[test]
    fn purges_only_expired_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Quarantine::new(dir.path(), "old");
        q.put("f", "id", b"x", &[("RE".into(), 1, "C")], &[])
            .unwrap();
        q.finish().unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600 * 24 * 31);
        assert!(
            purge_expired(dir.path(), Duration::from_secs(3600 * 24 * 60), later)
                .unwrap()
                .is_empty()
        );
        let removed =
            purge_expired(dir.path(), Duration::from_secs(3600 * 24 * 30), later).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(!dir.path().join("quarantine/old").exists());
    }
}
