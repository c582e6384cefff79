//! The UKE parser on the real sample of ../shared/samples and on synthetic and corrupted files.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use niji_ingest::model::Severity;
use niji_ingest::uke;
use niji_ingest::{FileRef, Unit};

pub(crate) fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/samples/uke/RECEIPTC_GAIRAI_SAMPLE.UKE")
}

struct Parsed {
    units: Vec<Unit>,
    file: niji_ingest::model::FileRecords,
}

fn parse_bytes(name: &str, bytes: &[u8]) -> Parsed {
    let file = FileRef { path: name.into() };
    let mut units = Vec::new();
    let (_, fp) = uke::parse(BufReader::new(bytes), &file, &mut |u| {
        units.push(u);
        Ok(())
    })
    .unwrap();
    Parsed { units, file: fp }
}

/// Read counts per record type from the marks.
fn read_counts(p: &Parsed) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for m in p
        .units
        .iter()
        .flat_map(|u| u.marks.iter())
        .chain(p.file.marks.iter())
    {
        *c.entry(m.record.clone()).or_default() += 1;
    }
    c
}

#[test]
fn the_real_sample_is_fully_accounted_for() {
    let bytes = std::fs::read(sample()).unwrap();
    let p = parse_bytes("RECEIPTC_GAIRAI_SAMPLE.UKE", &bytes);
    let c = read_counts(&p);
    let expected: BTreeMap<String, u64> = [
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(c, expected);
    assert_eq!(c.values().sum::<u64>(), 636);
    assert_eq!(p.units.len(), 75);
    // The trailer declares 140 receipts for a body of 75: a warning, not a crash.
    let trailer = p
        .file
        .issues
        .iter()
        .find(|i| i.code == "UKE_TRAILER_COUNT")
        .expect("trailer mismatch reported");
    assert_eq!(trailer.severity, Severity::Warning);
    assert_eq!(trailer.line, 636);
    // The 公費負担者番号 83136019 has a wrong check digit: its KO record is quarantined alone.
    let ko: Vec<_> = p
        .units
        .iter()
        .flat_map(|u| u.marks.iter())
        .filter(|m| m.quarantined == Some("UKE_CHECK_DIGIT"))
        .collect();
    assert_eq!(ko.len(), 1);
    assert_eq!((ko[0].record.as_str(), ko[0].line), ("KO", 4));
    let issue = p.units[0]
        .issues
        .iter()
        .find(|i| i.code == "UKE_CHECK_DIGIT")
        .unwrap();
    assert!(
        !issue.message.contains("83136019"),
        "the message quotes the value"
    );
    // Every receipt has its service month and identity; 公費単独 receipts (6) have no HO.
    assert!(
        p.units
            .iter()
            .all(|u| u.service_month.is_some() && u.identity.birth.is_some())
    );
    assert_eq!(
        p.units
            .iter()
            .filter(|u| u.identity.insurer.is_none())
            .count(),
        6
    );
    assert!(
        p.units.iter().all(|u| u.rejected.is_none()),
        "{:?}",
        p.units
            .iter()
            .filter_map(|u| u.rejected)
            .collect::<Vec<_>>()
    );
}

#[test]
fn corrupted_files_are_quarantined_record_by_record_with_reasons() {
    let bytes = std::fs::read(sample()).unwrap();
    let text = encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    // Line 2 is the first RE, line 3 its HO. Break: a bad byte in RE 2's line, a truncated HO,
    // a bad check digit in a later HO, and cut the file before the trailer.
    let mut out: Vec<u8> = Vec::new();
    let mut re_seen = 0;
    let mut broken = BTreeMap::new();
    for (i, l) in lines.iter().enumerate().take(lines.len() - 1) {
        let n = i + 1;
        let (mut line_bytes, _, _) = encoding_rs::SHIFT_JIS.encode(l);
        let mut b = line_bytes.to_mut().clone();
        if l.starts_with("RE,") {
            re_seen += 1;
        }
        if re_seen == 2 && l.starts_with("RE,") {
            b.extend_from_slice(&[0x82, 0xFF]);
            broken.insert(n, "UKE_BAD_ENCODING");
        } else if re_seen == 3 && l.starts_with("HO,") {
            b.truncate(6);
            broken.insert(n, "UKE_TRUNCATED");
        } else if re_seen == 4 && l.starts_with("HO,") {
            b[10] = if b[10] == b'0' { b'1' } else { b'0' };
            broken.insert(n, "UKE_CHECK_DIGIT");
        }
        out.extend_from_slice(&b);
        out.extend_from_slice(b"\r\n");
    }
    let p = parse_bytes("broken.UKE", &out);
    // Nothing lost: one mark per line.
    assert_eq!(
        read_counts(&p).values().sum::<u64>() as usize,
        lines.len() - 1
    );
    for (line, code) in &broken {
        let m = p
            .units
            .iter()
            .flat_map(|u| u.marks.iter())
            .find(|m| m.line == *line as u64)
            .unwrap();
        let unit = p
            .units
            .iter()
            .find(|u| u.marks.iter().any(|x| x.line == *line as u64))
            .unwrap();
        assert_eq!(unit.rejected, Some(*code), "line {line}");
        assert!(m.quarantined == Some(code) || unit.rejected.is_some());
    }
    assert!(
        p.file
            .issues
            .iter()
            .any(|i| i.code == "UKE_NO_TRAILER" && i.severity == Severity::Error)
    );
}

#[test]
fn synthetic_files_of_every_spec_parse_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = niji_synth::Params::new(400, 1, 9);
    params.region_size = 100;
    niji_synth::generate(&params, dir.path(), &mut |_| {}).unwrap();
    let truth = std::fs::read_to_string(dir.path().join("truth/records.csv")).unwrap();
    let mut files = 0;
    let mut units = 0;
    for path in crate::walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "UKE"))
    {
        let rel = path
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let p = parse_bytes(&rel, &std::fs::read(&path).unwrap());
        let errors: Vec<_> = p
            .units
            .iter()
            .flat_map(|u| u.issues.iter())
            .chain(p.file.issues.iter())
            .filter(|i| i.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{rel}: {errors:?}");
        let expected = truth
            .lines()
            .filter(|l| l.split(',').nth(1) == Some(rel.as_str()))
            .count();
        assert_eq!(p.units.len(), expected, "{rel}");
        let lines = std::fs::read(&path)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(
            read_counts(&p).values().sum::<u64>() as usize,
            lines,
            "{rel}"
        );
        files += 1;
        units += p.units.len();
    }
    assert!(files > 10 && units > 100);
}
