//! The checkup (CDA) parser over synthetic submissions and corrupted copies.

use std::path::{Path, PathBuf};

use niji_ingest::model::Parsed;
use niji_ingest::{Detail, RawIdentity, cda};

use crate::{
    assert_no_identifiers, by_record, file_ref, files, identifier_values, issues, marks, rel,
    synth, truth, with_code,
};

fn parse(root: &Path, path: &Path) -> Parsed {
    cda::parse_file(path, file_ref(root, path)).expect("readable")
}

/// `<observation` tags counted on the bytes, independently of the parser.
fn observations(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes)
        .matches("<observation ")
        .count()
}

/// Copies the submission folder `from` (with its `DATA/`) into a new temp dir.
fn copy_submission(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("sub");
    std::fs::create_dir_all(to.join("DATA")).unwrap();
    for f in ["index.xml", "summary.xml"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    for e in std::fs::read_dir(from.join("DATA")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join("DATA").join(p.file_name().unwrap())).unwrap();
    }
    (dir, to)
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(new, text, "the edit changed {}", path.display());
    std::fs::write(path, new).unwrap();
}

#[test]
fn clean_synthetic_checkups_parse_completely() {
    let dir = synth();
    let root = dir.path();
    let mut positions = std::collections::BTreeSet::new();
    let paths = files(root, "ndb-checkup", ".xml");
    let mut control = 0;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let p = parse(root, path);
        assert!(
            issues(&p).is_empty(),
            "{}: {:?}",
            rel(root, path),
            issues(&p)
        );
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "index.xml" || name == "summary.xml" {
            assert!(p.units.is_empty());
            assert_eq!(p.file.marks.len(), 1);
            assert_eq!(p.file.marks[0].record, name.trim_end_matches(".xml"));
            control += 1;
            continue;
        }
        assert_eq!(p.units.len(), 1);
        let u = &p.units[0];
        positions.insert((rel(root, path), u.line));
        let kinds = by_record(marks(&p));
        assert_eq!(
            (kinds["ClinicalDocument"], kinds["observation"]),
            (1, observations(&bytes))
        );
        assert_eq!(
            u.details.len(),
            observations(&bytes),
            "every observation lands"
        );
        let id = &u.identity;
        assert!(
            id.insurer.is_some()
                && id.number.is_some()
                && id.kana.is_some()
                && id.sex.is_some()
                && id.birth.is_some()
        );
        assert!(u.service_month.is_some() && u.facility.as_ref().is_some_and(|f| f.len() == 10));
        assert!(u.details.iter().any(|d| matches!(
            d,
            Detail::Observation {
                value: Some(_),
                unit: Some(_),
                ..
            }
        )));
        assert!(u.details.iter().any(|d| matches!(
            d,
            Detail::Observation {
                value: None,
                value_code: Some(_),
                ..
            }
        )));
        assert_eq!(u.raw, bytes);
    }
    assert!(control >= 2);
    assert_eq!(
        positions,
        truth(root, "ndb-checkup"),
        "one unit per truth row"
    );
}

#[test]
fn corrupted_checkups_are_rejected_or_flagged_and_lose_nothing() {
    let dir = synth();
    let root = dir.path();
    let index = files(root, "ndb-checkup", "index.xml")
        .into_iter()
        .max_by_key(|p| cda::documents_in(p.parent().unwrap()).unwrap())
        .unwrap();
    let (_tmp, sub) = copy_submission(index.parent().unwrap());
    let docs = files(&sub, "DATA", ".xml");
    assert!(docs.len() >= 8);
    // Cut in the middle; wrong check digit; no insurer; a 16-character result code; an impossible
    // birth date; a value that is not a number; a nested observation; one document deleted.
    let text = std::fs::read_to_string(&docs[0]).unwrap();
    std::fs::write(&docs[0], &text[..text.len() / 2]).unwrap();
    edit(&docs[1], |t| {
        let (a, b) = t
            .split_once("root=\"1.2.392.200119.6.101\" extension=\"")
            .unwrap();
        let mut b = b.to_string();
        let end = b.find('"').unwrap();
        let last = b.as_bytes()[end - 1];
        b.replace_range(end - 1..end, if last == b'0' { "1" } else { "0" });
        format!("{a}root=\"1.2.392.200119.6.101\" extension=\"{b}")
    });
    edit(&docs[2], |t| {
        t.replace("root=\"1.2.392.200119.6.101\"", "root=\"9.9\"")
    });
    edit(&docs[3], |t| {
        t.replacen("code=\"9N001000000000001\"", "code=\"9N00100000000001\"", 1)
    });
    edit(&docs[4], |t| {
        let at = t.find("<birthTime value=\"").unwrap() + 18;
        format!("{}19990231{}", &t[..at], &t[at + 8..])
    });
    edit(&docs[5], |t| {
        t.replacen("xsi:type=\"PQ\" value=\"", "xsi:type=\"PQ\" value=\"x", 1)
    });
    edit(&docs[6], |t| {
        t.replacen("</observation></entry>", "<entryRelationship><observation classCode=\"OBS\"><code code=\"X\" codeSystem=\"9.9\"/></observation></entryRelationship></observation></entry>", 1)
    });
    std::fs::remove_file(&docs[7]).unwrap();

    let parsed: Vec<Parsed> = docs[..7].iter().map(|d| parse(&sub, d)).collect();
    for (d, p) in docs.iter().zip(&parsed) {
        let bytes = std::fs::read(d).unwrap();
        let kinds = by_record(marks(p));
        assert_eq!(p.units.len(), 1);
        assert_eq!(
            (
                kinds["ClinicalDocument"],
                kinds.get("observation").copied().unwrap_or(0)
            ),
            (1, observations(&bytes)),
            "{}",
            d.display()
        );
    }
    let rejected: Vec<Option<&str>> = parsed.iter().map(|p| p.units[0].rejected).collect();
    assert_eq!(
        rejected,
        [
            Some("CDA_BAD_XML"),
            Some("CDA_CHECK_DIGIT"),
            Some("CDA_NO_INSURER"),
            None,
            Some("CDA_BAD_DATE"),
            None,
            None
        ]
    );
    let quarantined = |p: &Parsed| {
        marks(p)
            .iter()
            .filter_map(|m| m.quarantined)
            .collect::<Vec<_>>()
    };
    assert_eq!(quarantined(&parsed[3]), ["CDA_BAD_CODE"]);
    assert_eq!(quarantined(&parsed[5]), ["CDA_BAD_VALUE"]);
    assert!(quarantined(&parsed[6]).is_empty());
    assert_eq!(with_code(&parsed[6], "CDA_OTHER_CODE_SYSTEM").len(), 1);
    assert_eq!(
        parsed[3].units[0].details.len() + 1,
        observations(&std::fs::read(&docs[3]).unwrap())
    );

    // The submission now holds one document fewer than index.xml and summary.xml declare.
    let index = parse(&sub, &sub.join("index.xml"));
    let summary = parse(&sub, &sub.join("summary.xml"));
    assert_eq!(with_code(&index, "CDA_COUNT_MISMATCH").len(), 1);
    assert_eq!(with_code(&summary, "CDA_COUNT_MISMATCH").len(), 1);
    let folder = cda::check_submission(&sub).unwrap();
    assert_eq!(
        folder
            .iter()
            .map(|i| (i.code, i.record.as_str()))
            .collect::<Vec<_>>(),
        [
            ("CDA_COUNT_MISMATCH", "index"),
            ("CDA_COUNT_MISMATCH", "summary")
        ]
    );

    // A broken summary.xml is one quarantined file-level record with its bytes.
    edit(&sub.join("summary.xml"), |t| {
        t.replace("</summary>", "</summ>")
    });
    let summary = parse(&sub, &sub.join("summary.xml"));
    assert_eq!(summary.file.marks[0].quarantined, Some("CDA_BAD_XML"));
    assert_eq!(summary.file.raw.len(), 1);
}

#[test]
fn no_checkup_issue_message_holds_an_identifier() {
    let dir = synth();
    let root = dir.path();
    let bad = tempfile::tempdir().unwrap();
    let mut ids: Vec<RawIdentity> = Vec::new();
    let mut all = Vec::new();
    for (n, path) in files(root, "ndb-checkup", ".xml")
        .iter()
        .filter(|p| p.to_string_lossy().contains("DATA"))
        .enumerate()
    {
        let p = parse(root, path);
        ids.extend(p.units.iter().map(|u| u.identity.clone()));
        let text = std::fs::read_to_string(path).unwrap();
        let id = &p.units[0].identity;
        let kana = id.kana.clone().unwrap();
        let broken = match n % 5 {
            0 => text.replace(&kana, &format!("{kana}&bogus;<")),
            1 => text.replace(
                "root=\"1.2.392.200119.6.101\" extension=\"",
                "root=\"1.2.392.200119.6.101\" extension=\"x",
            ),
            2 => text.replace("<birthTime value=\"", "<birthTime value=\"9"),
            3 => text.replacen(
                "codeSystem=\"1.2.392.200119.6.1005\"",
                &format!("codeSystem=\"1.2.392.200119.6.1005\" x=\"{kana}\" y"),
                1,
            ),
            _ => text.replace("</patient>", &format!("</patient><{kana}>")),
        };
        let out = bad.path().join(format!("{n}.xml"));
        std::fs::write(&out, broken).unwrap();
        let p = parse(bad.path(), &out);
        assert!(p.units[0].rejected.is_some(), "case {}", n % 5);
        all.extend(issues(&p).into_iter().cloned());
    }
    assert_no_identifiers(&identifier_values(&ids), &all);
}
