//! Integration tests of `niji-ingest`, one binary for the crate: the parsers run over a small
//! synthetic population and over corrupted copies of its files.

mod care;
mod cda;
mod fhir;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use niji_ingest::model::Parsed;
use niji_ingest::{FileRef, Issue, Mark, RawIdentity, Severity};
use tempfile::TempDir;

/// A fresh synthetic population: 300 persons, one year, seed 5, in one region (two regions of
/// 150 give too few hospitals for document bundles).
fn synth() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let params = niji_synth::Params::new(300, 1, 5);
    niji_synth::generate(&params, dir.path(), &mut |_| {}).expect("synthetic extracts");
    dir
}

/// Files under `root/sub` whose names end with `suffix`, sorted.
fn files(root: &Path, sub: &str, suffix: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, suffix, out);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root.join(sub), suffix, &mut out);
    out.sort();
    out
}

/// The path of `path` relative to `root`, with `/`, as the truth writes it.
fn rel(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).expect("under root");
    r.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn file_ref(root: &Path, path: &Path) -> FileRef {
    FileRef {
        path: rel(root, path).into(),
    }
}

/// `(file, line)` of every truth row of `source`.
fn truth(root: &Path, source: &str) -> BTreeSet<(String, u64)> {
    let text = std::fs::read_to_string(root.join("truth/records.csv")).expect("truth");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == source).then(|| (f[1].to_string(), f[2].parse().expect("line")))
        })
        .collect()
}

/// Every mark of a parse: the units' and the file's.
fn marks(p: &Parsed) -> Vec<&Mark> {
    p.units
        .iter()
        .flat_map(|u| &u.marks)
        .chain(&p.file.marks)
        .collect()
}

/// Every issue of a parse.
fn issues(p: &Parsed) -> Vec<&Issue> {
    p.units
        .iter()
        .flat_map(|u| &u.issues)
        .chain(&p.file.issues)
        .collect()
}

/// Marks per record type.
fn by_record<'a>(marks: impl IntoIterator<Item = &'a Mark>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for mark in marks {
        *m.entry(mark.record.clone()).or_default() += 1;
    }
    m
}

/// Issues whose code is `code`.
fn with_code<'a>(p: &'a Parsed, code: &str) -> Vec<&'a Issue> {
    issues(p).into_iter().filter(|i| i.code == code).collect()
}

fn errors(p: &Parsed) -> Vec<&Issue> {
    issues(p)
        .into_iter()
        .filter(|i| i.severity == Severity::Error)
        .collect()
}

/// The identifier values of `ids` worth searching for: names, kana, birth dates, insurer and
/// insured numbers, 記号 (values under 4 characters, such as 枝番 and sex, would match counts).
fn identifier_values<'a>(ids: impl IntoIterator<Item = &'a RawIdentity>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for id in ids {
        let fields = [
            &id.name,
            &id.kana,
            &id.birth,
            &id.insurer,
            &id.symbol,
            &id.number,
            &id.care_number,
            &id.care_insurer,
        ];
        for v in fields.into_iter().flatten() {
            let v = v.trim();
            if v.chars().count() >= 4 {
                out.insert(v.to_string());
            }
            // Family and given names on their own.
            for part in v
                .split([' ', '　'])
                .filter(|p| p.chars().count() >= 2 && !p.is_ascii())
            {
                out.insert(part.to_string());
            }
        }
    }
    out
}

/// Fails if a message or record name of `issues` holds one of `values`.
fn assert_no_identifiers<'a>(
    values: &BTreeSet<String>,
    issues: impl IntoIterator<Item = &'a Issue>,
) {
    let mut n = 0;
    for i in issues {
        n += 1;
        for v in values {
            assert!(
                !i.message.contains(v.as_str()) && !i.record.contains(v.as_str()),
                "issue {} leaks an identifier value",
                i.code
            );
        }
    }
    assert!(n > 0, "no issues were scanned");
}

/// Asserts that the marks of a line format cover lines `1..=lines` exactly once each.
fn assert_every_line_once(p: &Parsed, lines: u64) {
    let mut seen: Vec<u64> = marks(p).iter().map(|m| m.line).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=lines).collect::<Vec<_>>(),
        "every line has exactly one mark"
    );
}

/// Splits bytes into lines, each keeping its terminator.
fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

mod uke;

/// Every file under `dir`, sorted.
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
mod job;
