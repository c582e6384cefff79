//! 特定健診 CDA documents: well-formed XML, header OIDs, JLAC10 items, plausible values.

use std::collections::BTreeMap;

use niji_core::checkdigit;
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::{files, fixture};

#[derive(Default)]
struct Doc {
    ids: BTreeMap<String, String>,
    birth: String,
    effective: String,
    values: BTreeMap<String, String>,
}

fn parse(text: &str) -> Doc {
    let mut reader = Reader::from_str(text);
    let mut doc = Doc::default();
    let mut last_code = String::new();
    let mut in_target = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                let attr = |k: &str| {
                    e.attributes()
                        .map(|a| a.unwrap())
                        .find(|a| a.key.as_ref() == k.as_bytes())
                        .map(|a| a.unescape_value().unwrap().into_owned())
                        .unwrap_or_default()
                };
                match name.as_str() {
                    "recordTarget" => in_target = true,
                    "id" if in_target => {
                        doc.ids.insert(attr("root"), attr("extension"));
                    }
                    "birthTime" => doc.birth = attr("value"),
                    "effectiveTime" if doc.effective.is_empty() => doc.effective = attr("value"),
                    "code" if attr("codeSystem") == "1.2.392.200119.6.1005" => {
                        last_code = attr("code")
                    }
                    "value" if !last_code.is_empty() => {
                        let v = if attr("xsi:type") == "PQ" {
                            attr("value")
                        } else {
                            attr("code")
                        };
                        doc.values.insert(std::mem::take(&mut last_code), v);
                    }
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == b"recordTarget" => in_target = false,
            _ => {}
        }
    }
    doc
}

#[test]
fn checkups_are_well_formed_with_header_identifiers_and_plausible_values() {
    let dir = fixture();
    let docs: Vec<_> = files(&dir.join("ndb-checkup"), ".xml")
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("/DATA/"))
        .collect();
    assert!(docs.len() > 200, "only {} checkups", docs.len());
    let (mut dm_like, mut n, mut sbp_young, mut sbp_old) = (0usize, 0usize, Vec::new(), Vec::new());
    for path in &docs {
        let text = std::fs::read_to_string(path).unwrap();
        let d = parse(&text);
        let insurer = d
            .ids
            .get("1.2.392.200119.6.101")
            .unwrap_or_else(|| panic!("{}: no 保険者番号", path.display()));
        assert!(
            checkdigit::is_valid(insurer),
            "{}: 保険者番号 check digit",
            path.display()
        );
        assert!(!insurer.starts_with("39"), "後期高齢者 have no 特定健診");
        assert!(
            d.ids.contains_key("1.2.392.200119.6.205"),
            "{}: no 番号",
            path.display()
        );
        for code in d.values.keys() {
            assert_eq!(code.chars().count(), 17, "JLAC10 code {code}");
        }
        let birth = crate::any_date(&d.birth).expect("birthTime");
        let date = crate::any_date(&d.effective).expect("effectiveTime");
        let age = (date - birth).num_days() / 365;
        assert!((39..=75).contains(&age), "{}: age {age}", path.display());
        let num = |code: &str| d.values.get(code).and_then(|v| v.parse::<f64>().ok());
        let (h, w, bmi) = (
            num("9N001000000000001").unwrap(),
            num("9N006000000000001").unwrap(),
            num("9N011000000000001").unwrap(),
        );
        assert!(
            (w / (h / 100.0).powi(2) - bmi).abs() < 0.2,
            "BMI inconsistent with height and weight"
        );
        let hba1c = num("3D046000001906202").expect("HbA1c");
        assert!((4.0..=14.0).contains(&hba1c));
        n += 1;
        if hba1c >= 6.5 {
            dm_like += 1;
        }
        let sbp = num("9A755000000000001").expect("systolic");
        if age < 50 {
            sbp_young.push(sbp)
        } else if age >= 65 {
            sbp_old.push(sbp)
        }
    }
    let share = dm_like as f64 / n as f64;
    assert!(
        (0.03..0.25).contains(&share),
        "share with HbA1c ≥ 6.5: {share}"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&sbp_old) > mean(&sbp_young) + 5.0,
        "blood pressure does not rise with age"
    );
}

#[test]
fn submissions_have_index_and_summary_counting_their_documents() {
    let dir = fixture();
    for index in files(&dir.join("ndb-checkup"), "index.xml") {
        let folder = index.parent().unwrap();
        let text = std::fs::read_to_string(&index).unwrap();
        let declared: usize = text
            .split("totalRecordCount value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let actual = files(&folder.join("DATA"), ".xml").len();
        assert_eq!(declared, actual, "{}", index.display());
        assert!(folder.join("summary.xml").exists());
    }
}
