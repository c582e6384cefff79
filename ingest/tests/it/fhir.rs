//! The FHIR bundle parser over synthetic JP-CLINS bundles, corrupted copies and a plain R4
//! bundle of another producer.

use std::collections::BTreeMap;
use std::path::Path;

use niji_ingest::model::Parsed;
use niji_ingest::{Detail, Header, RawIdentity, fhir};
use serde_json::{Value, json};

use crate::{
    assert_no_identifiers, by_record, errors, file_ref, files, identifier_values, issues, marks,
    rel, synth, truth, with_code,
};

fn parse(root: &Path, path: &Path) -> Parsed {
    fhir::parse_file(path, file_ref(root, path)).expect("readable")
}

fn parse_value(v: &Value) -> Parsed {
    let unit = fhir::parse_bundle(
        serde_json::to_vec(v).unwrap(),
        niji_ingest::FileRef {
            path: "t.json".into(),
        },
    );
    Parsed {
        units: vec![unit],
        file: Default::default(),
    }
}

/// Records per type counted on the JSON, independently of the parser.
fn records(v: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::from([("Bundle".to_string(), 1)]);
    for e in v["entry"].as_array().unwrap() {
        *m.entry(e["resource"]["resourceType"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

/// The Patient's insured-person identifier value.
fn member(v: &mut Value) -> &mut Value {
    let i = patient_index(v);
    let ids = v["entry"][i]["resource"]["identifier"].as_array().unwrap();
    let k = ids
        .iter()
        .position(|x| {
            x["system"]
                .as_str()
                .unwrap()
                .contains("JP_Insurance_member")
        })
        .unwrap();
    &mut v["entry"][i]["resource"]["identifier"][k]["value"]
}

fn patient_index(v: &Value) -> usize {
    v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap()
}

/// The synthetic bundles, parsed as JSON, with their paths.
fn bundles(root: &Path, kind: &str) -> Vec<(std::path::PathBuf, Value)> {
    files(root, "ehr", ".json")
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p, v)
        })
        .filter(|(_, v)| v["type"] == kind)
        .collect()
}

#[test]
fn clean_synthetic_bundles_parse_completely() {
    let dir = synth();
    let root = dir.path();
    let mut positions = std::collections::BTreeSet::new();
    let mut document_types = BTreeMap::<String, usize>::new();
    for path in files(root, "ehr", ".json") {
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let p = parse(root, &path);
        assert!(
            issues(&p).is_empty(),
            "{}: {:?}",
            rel(root, &path),
            issues(&p)
        );
        assert_eq!(
            by_record(marks(&p)),
            records(&v),
            "one mark per entry and one for the bundle"
        );
        let u = &p.units[0];
        positions.insert((rel(root, &path), u.line));
        let id = &u.identity;
        for f in [
            &id.name,
            &id.kana,
            &id.sex,
            &id.birth,
            &id.insurer,
            &id.number,
        ] {
            assert!(f.is_some(), "{id:?}");
        }
        assert!(u.facility.as_ref().is_some_and(|f| f.len() == 10) && u.service_month.is_some());
        let Header::EhrBundle {
            bundle_type,
            document_type,
            date,
        } = &u.header
        else {
            panic!("not a bundle header")
        };
        assert!(date.is_some());
        assert_eq!(bundle_type == "document", document_type.is_some());
        *document_types
            .entry(document_type.clone().unwrap_or_default())
            .or_default() += 1;
        let entries = records(&v).values().sum::<usize>() - 1;
        let no_detail = records(&v).get("Composition").copied().unwrap_or(0) + 1;
        assert_eq!(
            u.details.len(),
            entries - no_detail,
            "a detail per clinical entry"
        );
        for d in &u.details {
            if let Detail::Diagnosis { icd10, .. } = d {
                assert!(icd10.is_some());
            }
        }
    }
    assert_eq!(positions, truth(root, "ehr"), "one unit per truth row");
    assert!(
        document_types.contains_key("") && document_types.len() >= 2,
        "{document_types:?}"
    );
}

#[test]
fn corrupted_bundles_give_the_right_codes_and_lose_nothing() {
    let dir = synth();
    let root = dir.path();
    let collections = bundles(root, "collection");
    let documents = bundles(root, "document");
    let (path, v) = &collections[0];

    // Malformed JSON: the bundle is one quarantined record.
    let bytes = std::fs::read(path).unwrap();
    let cut = fhir::parse_bundle(bytes[..bytes.len() / 2].to_vec(), file_ref(root, path));
    assert_eq!((cut.rejected, cut.marks.len()), (Some("FHIR_BAD_JSON"), 1));
    assert_eq!(cut.marks[0].quarantined, Some("FHIR_BAD_JSON"));
    assert_eq!(cut.raw.len(), bytes.len() / 2);

    // The Patient last in a collection: a warning, the bundle lands.
    let mut moved = v.clone();
    let patient = moved["entry"].as_array_mut().unwrap().remove(0);
    moved["entry"].as_array_mut().unwrap().push(patient);
    let p = parse_value(&moved);
    assert_eq!(with_code(&p, "FHIR_PATIENT_NOT_FIRST").len(), 1);
    assert!(p.units[0].rejected.is_none() && errors(&p).is_empty());
    assert_eq!(by_record(marks(&p)), records(&moved));
    // In a document the Patient follows the Composition.
    let (_, doc) = &documents[0];
    assert_eq!(patient_index(doc), 1);
    let mut swapped = doc.clone();
    swapped["entry"].as_array_mut().unwrap().swap(0, 1);
    let codes = |v: &Value| {
        issues(&parse_value(v))
            .iter()
            .map(|i| i.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&swapped), ["FHIR_COMPOSITION_NOT_FIRST"]);
    let mut last = doc.clone();
    let patient = last["entry"].as_array_mut().unwrap().remove(1);
    last["entry"].as_array_mut().unwrap().push(patient);
    assert_eq!(codes(&last), ["FHIR_PATIENT_NOT_FIRST"]);

    // A member identifier without its colons: the Patient is quarantined, the bundle lands on
    // its names, birth date and gender; without names nothing usable is left.
    let mut bad_member = v.clone();
    let joined = member(&mut bad_member).as_str().unwrap().replace(':', "");
    *member(&mut bad_member) = json!(joined);
    let p = parse_value(&bad_member);
    let patient_mark = marks(&p)
        .into_iter()
        .find(|m| m.record == "Patient")
        .unwrap();
    assert_eq!(patient_mark.quarantined, Some("FHIR_BAD_MEMBER_ID"));
    assert!(p.units[0].rejected.is_none() && p.units[0].identity.insurer.is_none());
    let i = patient_index(&bad_member);
    bad_member["entry"][i]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert_eq!(
        parse_value(&bad_member).units[0].rejected,
        Some("FHIR_NO_IDENTITY")
    );

    // A wrong check digit, a missing gender, an impossible birth date: rejected.
    let mut wrong = v.clone();
    let value = member(&mut wrong).as_str().unwrap().to_string();
    let d = value.as_bytes()[7];
    *member(&mut wrong) = json!(format!(
        "{}{}{}",
        &value[..7],
        if d == b'0' { '1' } else { '0' },
        &value[8..]
    ));
    assert_eq!(
        parse_value(&wrong).units[0].rejected,
        Some("FHIR_CHECK_DIGIT")
    );
    let mut no_gender = v.clone();
    no_gender["entry"][0]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("gender");
    assert_eq!(
        parse_value(&no_gender).units[0].rejected,
        Some("FHIR_MISSING_FIELD")
    );
    let mut bad_birth = v.clone();
    bad_birth["entry"][0]["resource"]["birthDate"] = json!("1950-02-30");
    assert_eq!(
        parse_value(&bad_birth).units[0].rejected,
        Some("FHIR_BAD_DATE")
    );

    // An entry without a resource and a MedicationRequest without a code: quarantined alone.
    let mut holes = v.clone();
    holes["entry"]
        .as_array_mut()
        .unwrap()
        .push(json!({"fullUrl": "urn:uuid:x", "request": {"method": "DELETE"}}));
    holes["entry"].as_array_mut().unwrap().push(json!({"resource": {"resourceType": "MedicationRequest", "medicationReference": {"reference": "x"}}}));
    let p = parse_value(&holes);
    let q: Vec<(&str, Option<&str>)> = marks(&p)
        .iter()
        .rev()
        .take(2)
        .map(|m| (m.record.as_str(), m.quarantined))
        .collect();
    assert_eq!(
        q,
        [
            ("MedicationRequest", Some("FHIR_NO_CODE")),
            ("entry", Some("FHIR_BAD_ENTRY"))
        ]
    );
    assert!(p.units[0].rejected.is_none());
    assert_eq!(
        marks(&p).len(),
        1 + holes["entry"].as_array().unwrap().len()
    );

    // Not a bundle at all.
    assert_eq!(
        parse_value(&json!({"resourceType": "Patient"})).units[0].rejected,
        Some("FHIR_NOT_BUNDLE")
    );
    assert_eq!(
        parse_value(&json!({"resourceType": "Bundle", "type": "collection", "entry": []})).units[0]
            .rejected,
        Some("FHIR_NO_PATIENT")
    );
}

#[test]
fn a_plain_r4_searchset_from_another_producer_lands() {
    let bundle = json!({
        "resourceType": "Bundle", "type": "searchset", "total": 5, "link": [{"relation": "self", "url": "http://x"}],
        "entry": [
            {"resource": {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "Condition", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E11"}], "text": "free text"},
                          "onsetDateTime": "2022-03-01", "note": [{"text": "a note"}]}},
            {"resource": {"resourceType": "Observation", "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                          "valueQuantity": {"value": 6.9, "code": "%"}, "effectiveDateTime": "2023-01-05T09:00:00Z"}},
            {"resource": {"resourceType": "AllergyIntolerance", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005"}]}}},
            {"resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1950-04-01",
                          "name": [{"family": "Doe", "given": ["Jane", "Q"]}], "unknownField": {"x": 1}}}
        ]
    });
    let p = parse_value(&bundle);
    let u = &p.units[0];
    assert!(
        u.rejected.is_none() && errors(&p).is_empty(),
        "{:?}",
        issues(&p)
    );
    let codes: Vec<&str> = issues(&p).iter().map(|i| i.code).collect();
    assert_eq!(codes, ["FHIR_NO_MEMBER_ID", "FHIR_NO_DATE"]);
    assert_eq!(u.identity.name.as_deref(), Some("Doe　Jane　Q"));
    assert_eq!(by_record(marks(&p)), records(&bundle));
    assert_eq!(u.details.len(), 4);
    assert!(matches!(&u.details[0], Detail::Other { record, .. } if record == "Encounter"));
    assert!(
        matches!(&u.details[1], Detail::Diagnosis { code, icd10: Some(i), name: None, .. } if code == "E11" && i == "E11")
    );
    assert!(
        matches!(&u.details[2], Detail::Observation { value: Some(v), unit: Some(_), date: Some(_), .. } if (*v - 6.9).abs() < 1e-9)
    );
}

#[test]
fn no_fhir_issue_message_holds_an_identifier() {
    let dir = synth();
    let root = dir.path();
    let mut ids: Vec<RawIdentity> = Vec::new();
    let mut all = Vec::new();
    for (n, path) in files(root, "ehr", ".json").iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        let clean = parse(root, path);
        let id = clean.units[0].identity.clone();
        let v: Value = serde_json::from_str(&text).unwrap();
        let i = patient_index(&v);
        let mut bad = v.clone();
        let res = &mut bad["entry"][i]["resource"];
        let broken = match n % 5 {
            0 => {
                let birth = id.birth.as_deref().unwrap();
                text.replacen(&format!("\"{birth}\""), &format!("{birth}\""), 1)
            }
            1 => {
                res["birthDate"] = json!(format!("{}x", id.birth.as_deref().unwrap()));
                bad.to_string()
            }
            2 => {
                res["gender"] = json!(id.name.clone());
                bad.to_string()
            }
            3 => {
                let ids = res["identifier"].as_array_mut().unwrap();
                for x in ids.iter_mut() {
                    let value = x["value"].as_str().unwrap().to_string();
                    x["value"] = json!(format!("{value}: {}", id.name.as_deref().unwrap()));
                }
                res.as_object_mut().unwrap().remove("name");
                bad.to_string()
            }
            _ => text.replacen(
                id.number.as_deref().unwrap(),
                &format!("{}\\q", id.number.as_deref().unwrap()),
                1,
            ),
        };
        ids.push(id);
        let p = fhir::parse_bundle(broken.into_bytes(), file_ref(root, path));
        assert!(p.rejected.is_some(), "case {}", n % 5);
        all.extend(p.issues);
    }
    assert_no_identifiers(&identifier_values(&ids), &all);
}
