//! Finding input files and telling their format.

use std::io::Read;
use std::path::{Path, PathBuf};

use niji_core::Source;

use crate::{Error, Result};

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UKE receipts of the given source (ndb-med, ndb-dpc or ndb-pha).
    Uke(Source),
    /// A 特定健診 CDA document.
    Cda,
    /// `index.xml` or `summary.xml` of a checkup submission.
    CdaSubmission,
    /// 介護給付費明細書 CSV.
    Care,
    /// A FHIR bundle.
    Fhir,
}

impl Format {
    /// The source the format belongs to.
    pub fn source(self) -> Source {
        match self {
            Format::Uke(s) => s,
            Format::Cda | Format::CdaSubmission => Source::NdbCheckup,
            Format::Care => Source::Care,
            Format::Fhir => Source::Ehr,
        }
    }
}

/// An input file: where it is and how it is recorded (relative to the folder given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// The path recorded in the tables: relative to the folder the user named, with `/`.
    pub recorded: String,
}

/// Expands `paths` (files and folders, recursively, in name order). Folders named `truth`
/// (synthetic ground truth, never ingested) and hidden entries are skipped.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            walk(p, p, &mut out)?;
        } else {
            let recorded = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(Input {
                path: p.clone(),
                recorded,
            });
        }
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Input>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            if name != "truth" {
                walk(root, &p, out)?;
            }
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let recorded = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push(Input { path: p, recorded });
        }
    }
    Ok(())
}

/// Tells a file's format from its name and first bytes; `None` if it is not a source file.
pub fn detect(path: &Path) -> Result<Option<Format>> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let head = &head[..n];
    let text = String::from_utf8_lossy(head);
    Ok(if name.ends_with(".uke") {
        Some(Format::Uke(if head.starts_with(b"YK,") {
            Source::NdbPha
        } else if name == "receiptd.uke" {
            Source::NdbDpc
        } else {
            Source::NdbMed
        }))
    } else if name.ends_with(".xml") {
        if name == "index.xml" || name == "summary.xml" {
            Some(Format::CdaSubmission)
        } else if text.contains("ClinicalDocument") {
            Some(Format::Cda)
        } else {
            None
        }
    } else if name.ends_with(".csv") && head.starts_with(b"1,") {
        Some(Format::Care)
    } else if name.ends_with(".json") && text.trim_start().starts_with('{') {
        Some(Format::Fhir)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_name_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, body: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            p
        };
        assert_eq!(
            detect(&w("RECEIPTC.UKE", b"IR,1")).unwrap(),
            Some(Format::Uke(Source::NdbMed))
        );
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert_eq!(
            detect(&w("d/RECEIPTD.UKE", b"IR,1")).unwrap(),
            Some(Format::Uke(Source::NdbDpc))
        );
        assert_eq!(
            detect(&w("x.UKE", b"YK,1")).unwrap(),
            Some(Format::Uke(Source::NdbPha))
        );
        assert_eq!(
            detect(&w("h1.xml", b"<?xml?><ClinicalDocument>")).unwrap(),
            Some(Format::Cda)
        );
        assert_eq!(
            detect(&w("index.xml", b"<index/>")).unwrap(),
            Some(Format::CdaSubmission)
        );
        assert_eq!(detect(&w("c.csv", b"1,1,1")).unwrap(), Some(Format::Care));
        assert_eq!(
            detect(&w("b.json", b"{\"entry\":[], \"resourceType\":\"Bundle\"}")).unwrap(),
            Some(Format::Fhir)
        );
        assert_eq!(detect(&w("list.json", b"[1, 2]")).unwrap(), None);
        assert_eq!(detect(&w("notes.txt", b"hello")).unwrap(), None);
        assert_eq!(detect(&w("records.csv", b"source,file")).unwrap(), None);
    }

    #[test]
    fn discovery_skips_truth_and_hidden_and_records_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        for p in [
            "a/b/RECEIPTC.UKE",
            "truth/records.csv",
            ".hidden/x.UKE",
            "c.json",
        ] {
            let full = dir.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, b"x").unwrap();
        }
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let rec: Vec<&str> = found.iter().map(|i| i.recorded.as_str()).collect();
        assert_eq!(rec, vec!["a/b/RECEIPTC.UKE", "c.json"]);
        let err = discover(&[dir.path().join("missing")]).unwrap_err();
        assert!(err.to_string().contains("missing"));
    }
}
