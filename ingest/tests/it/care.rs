//! The care claim parser over synthetic files and corrupted copies.

use std::path::Path;

use niji_ingest::model::Parsed;
use niji_ingest::{Detail, RawIdentity, Unit, care};
use niji_pseudonymize::{LinkKeyer, MemoryKeyStore, SecretKey};

use crate::{
    assert_every_line_once, assert_no_identifiers, by_record, errors, file_ref, files,
    identifier_values, issues, marks, rel, split_lines, synth, truth, with_code,
};

fn parse(root: &Path, path: &Path) -> Parsed {
    care::parse_file(path, file_ref(root, path)).expect("readable")
}

/// Replaces field `i` of a CRLF line.
fn set_field(line: &[u8], i: usize, value: &[u8]) -> Vec<u8> {
    let body = line.strip_suffix(b"\r\n").expect("CRLF");
    let mut fields: Vec<Vec<u8>> = body.split(|b| *b == b',').map(<[u8]>::to_vec).collect();
    fields[i] = value.to_vec();
    let mut out = fields.join(&b","[..]);
    out.extend_from_slice(b"\r\n");
    out
}

/// Keeps the first `n` fields of a CRLF line.
fn cut_fields(line: &[u8], n: usize) -> Vec<u8> {
    let body = line.strip_suffix(b"\r\n").expect("CRLF");
    let mut out = body
        .split(|b| *b == b',')
        .take(n)
        .collect::<Vec<_>>()
        .join(&b","[..]);
    out.extend_from_slice(b"\r\n");
    out
}

fn field(line: &[u8], i: usize) -> Vec<u8> {
    line.strip_suffix(b"\r\n")
        .unwrap_or(line)
        .split(|b| *b == b',')
        .nth(i)
        .unwrap_or_default()
        .to_vec()
}

fn unit_at(p: &Parsed, line: u64) -> &Unit {
    p.units
        .iter()
        .find(|u| u.line == line)
        .expect("a unit at that line")
}

fn quarantined_at(p: &Parsed, line: u64) -> Option<&'static str> {
    marks(p)
        .into_iter()
        .find(|m| m.line == line)
        .expect("a mark at that line")
        .quarantined
}

#[test]
fn clean_synthetic_care_files_parse_completely() {
    let dir = synth();
    let root = dir.path();
    let paths = files(root, "care", ".csv");
    assert!(!paths.is_empty());
    let mut positions = std::collections::BTreeSet::new();
    let (mut units, mut with_medical) = (0, 0);
    let store = MemoryKeyStore::from_keys([SecretKey::from_bytes([7; 32])]);
    let keyer = LinkKeyer::new(&store).unwrap();
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let p = parse(root, path);
        assert!(
            issues(&p).is_empty(),
            "{}: {:?}",
            rel(root, path),
            issues(&p)
        );
        let lines = split_lines(&bytes);
        assert_every_line_once(&p, lines.len() as u64);
        let kinds = by_record(marks(&p));
        let count = |f: &dyn Fn(&[u8]) -> bool| lines.iter().filter(|l| f(l)).count();
        assert_eq!(
            kinds["01"],
            count(&|l| l.starts_with(b"2,") && field(l, 3) == b"01")
        );
        assert_eq!(
            kinds["02"],
            count(&|l| l.starts_with(b"2,") && field(l, 3) == b"02")
        );
        assert_eq!((kinds["control"], kinds["end"]), (1, 1));
        for u in &p.units {
            positions.insert((rel(root, path), u.line));
            assert!(u.rejected.is_none());
            // The raw bytes are exactly the unit's lines, in order.
            let first = u.line as usize - 1;
            assert_eq!(u.raw, lines[first..first + u.marks.len()].concat());
            let id = &u.identity;
            assert!(
                id.care_number.is_some()
                    && id.care_insurer.is_some()
                    && id.birth.is_some()
                    && id.sex.is_some()
            );
            with_medical += usize::from(id.insurer.is_some() && id.number.is_some());
            // The staged insurer of a care claim is its own: the municipality, not the medical
            // insurer on the claim (that one only feeds id5).
            let keyed = niji_ingest::keys::key_unit(&keyer, u);
            let municipality = format!("{:0>8}", id.care_insurer.as_deref().unwrap_or_default());
            assert_eq!(keyed.insurer.as_deref(), Some(municipality.as_str()));
            assert!(u.service_month.is_some() && u.facility.is_some());
            let services = u
                .details
                .iter()
                .filter(|d| matches!(d, Detail::CareService { .. }))
                .count();
            assert_eq!(services + 1, u.marks.len(), "one CareService per 明細");
            units += 1;
        }
    }
    assert_eq!(
        positions,
        truth(root, "care"),
        "one unit per truth row, at its 基本 line"
    );
    assert!(
        with_medical * 10 > units * 6,
        "most claims carry the medical insured number"
    );
}

#[test]
fn corrupted_care_file_is_reported_line_by_line_and_loses_nothing() {
    let dir = synth();
    let root = dir.path();
    let path = files(root, "care", ".csv")
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let clean = parse(root, &path);
    let mut lines = split_lines(&std::fs::read(&path).unwrap());
    let claims: Vec<u64> = clean
        .units
        .iter()
        .filter(|u| u.marks.len() >= 2)
        .map(|u| u.line)
        .collect();
    assert!(claims.len() >= 8, "need claims with 明細 to corrupt");
    let ix = |line: u64| line as usize - 1;
    // A 明細 cut short; a 明細 with bytes that are not CP932; a 基本 without birth date; a 基本
    // whose insurer has a wrong check digit; a 基本 with an impossible birth date; a 明細 with a
    // malformed service code; and the file cut in its last record (no end record).
    lines[ix(claims[0] + 1)] = cut_fields(&lines[ix(claims[0] + 1)], 6);
    lines[ix(claims[1] + 1)] = set_field(&lines[ix(claims[1] + 1)], 13, &[0x82, 0xFF]);
    lines[ix(claims[2])] = set_field(&lines[ix(claims[2])], 8, b"");
    let insurer = field(&lines[ix(claims[3])], 6);
    let mut wrong = insurer.clone();
    *wrong.last_mut().unwrap() = if insurer.ends_with(b"0") { b'1' } else { b'0' };
    lines[ix(claims[3])] = set_field(&lines[ix(claims[3])], 6, &wrong);
    lines[ix(claims[4])] = set_field(&lines[ix(claims[4])], 8, b"19350231");
    lines[ix(claims[5] + 1)] = set_field(&lines[ix(claims[5] + 1)], 9, b"11A");
    lines.pop();
    let last = lines.len() - 1;
    lines[last].truncate(12);
    let bad_dir = tempfile::tempdir().unwrap();
    let bad = bad_dir.path().join("care.csv");
    std::fs::write(&bad, lines.concat()).unwrap();
    let p = parse(bad_dir.path(), &bad);

    assert_every_line_once(&p, lines.len() as u64);
    assert_eq!(
        p.units.iter().map(|u| u.line).collect::<Vec<_>>(),
        clean.units.iter().map(|u| u.line).collect::<Vec<_>>()
    );
    let code_at = |code: &str| {
        with_code(&p, code)
            .iter()
            .map(|i| i.line)
            .collect::<Vec<_>>()
    };
    assert_eq!(quarantined_at(&p, claims[0] + 1), Some("CARE_TRUNCATED"));
    assert_eq!(quarantined_at(&p, claims[1] + 1), Some("CARE_BAD_ENCODING"));
    assert_eq!(
        quarantined_at(&p, claims[5] + 1),
        Some("CARE_BAD_SERVICE_CODE")
    );
    assert_eq!(code_at("CARE_BAD_ENCODING"), [claims[1] + 1]);
    assert_eq!(code_at("CARE_BAD_SERVICE_CODE"), [claims[5] + 1]);
    for (claim, code) in [
        (claims[0], None),
        (claims[1], None),
        (claims[2], Some("CARE_MISSING_FIELD")),
    ] {
        assert_eq!(unit_at(&p, claim).rejected, code);
    }
    assert_eq!(unit_at(&p, claims[3]).rejected, Some("CARE_CHECK_DIGIT"));
    assert_eq!(unit_at(&p, claims[4]).rejected, Some("CARE_BAD_DATE"));
    assert_eq!(
        code_at("CARE_TRUNCATED"),
        [claims[0] + 1, lines.len() as u64]
    );
    assert_eq!(code_at("CARE_NO_END_RECORD").len(), 1);
    // The landed claims lost only their quarantined 明細.
    let services = |u: &Unit| {
        u.details
            .iter()
            .filter(|d| matches!(d, Detail::CareService { .. }))
            .count()
    };
    assert_eq!(
        services(unit_at(&p, claims[0])) + 1,
        services(unit_at(&clean, claims[0]))
    );
    assert!(errors(&p).iter().all(|i| i.line > 0));
}

#[test]
fn a_missing_basic_record_orphans_its_details_and_breaks_the_counts() {
    let dir = synth();
    let root = dir.path();
    let path = files(root, "care", ".csv")
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let clean = parse(root, &path);
    let mut lines = split_lines(&std::fs::read(&path).unwrap());
    let victim = clean
        .units
        .iter()
        .filter(|u| u.marks.len() >= 3)
        .nth(1)
        .expect("a claim with two 明細");
    let details = victim.marks.len() as u64 - 1;
    lines.remove(victim.line as usize - 1);
    let bad_dir = tempfile::tempdir().unwrap();
    let bad = bad_dir.path().join("care.csv");
    std::fs::write(&bad, lines.concat()).unwrap();
    let p = parse(bad_dir.path(), &bad);

    assert_every_line_once(&p, lines.len() as u64);
    assert_eq!(p.units.len(), clean.units.len() - 1);
    let orphans: Vec<u64> = p
        .file
        .marks
        .iter()
        .filter(|m| m.quarantined == Some("CARE_ORPHAN_RECORD"))
        .map(|m| m.line)
        .collect();
    assert_eq!(
        orphans,
        (victim.line..victim.line + details).collect::<Vec<_>>()
    );
    assert_eq!(
        p.file.raw.iter().map(|r| r.0).collect::<Vec<_>>(),
        orphans,
        "orphans keep their bytes"
    );
    assert_eq!(
        with_code(&p, "CARE_COUNT_MISMATCH").len(),
        2,
        "control 件数 and end record number"
    );
    assert_eq!(
        with_code(&p, "CARE_RECNO_SEQUENCE")
            .iter()
            .map(|i| i.line)
            .collect::<Vec<_>>(),
        [victim.line]
    );
}

#[test]
fn no_care_issue_message_holds_an_identifier() {
    let dir = synth();
    let root = dir.path();
    let bad_dir = tempfile::tempdir().unwrap();
    let mut ids: Vec<RawIdentity> = Vec::new();
    let mut all = Vec::new();
    for (n, path) in files(root, "care", ".csv").iter().enumerate() {
        let clean = parse(root, path);
        ids.extend(clean.units.iter().map(|u| u.identity.clone()));
        let mut lines = split_lines(&std::fs::read(path).unwrap());
        for (k, u) in clean.units.iter().enumerate() {
            let i = u.line as usize - 1;
            let l = lines[i].clone();
            lines[i] = match k % 7 {
                0 => set_field(&l, 8, &[field(&l, 8), b"9".to_vec()].concat()),
                1 => set_field(&l, 9, b"3"),
                2 => set_field(&l, 6, &[field(&l, 6), b"1".to_vec()].concat()),
                3 => cut_fields(&l, 10),
                4 => set_field(
                    &l,
                    17,
                    &field(&l, 17)
                        .split(|b| *b == b':')
                        .take(3)
                        .collect::<Vec<_>>()
                        .join(&b":"[..]),
                ),
                5 => set_field(&l, 7, &[field(&l, 7), vec![0x82, 0xFF]].concat()),
                _ => set_field(&l, 8, &[field(&l, 8), b"\x82\xff".to_vec()].concat()),
            };
        }
        let bad = bad_dir.path().join(format!("{n}.csv"));
        std::fs::write(&bad, lines.concat()).unwrap();
        let p = parse(bad_dir.path(), &bad);
        assert!(p.units.iter().filter(|u| u.rejected.is_some()).count() * 2 > p.units.len());
        all.extend(issues(&p).into_iter().cloned());
    }
    assert_no_identifiers(&identifier_values(&ids), &all);
}
