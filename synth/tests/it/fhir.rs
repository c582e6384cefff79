//! JP-CLINS FHIR bundles: Patient first (or Composition first in documents), valid identifiers.

use serde_json::Value;

use crate::{files, fixture};

/// DOMAIN.md's pattern `^[0-9]{8}:[^:\s　]*:[^:\s　]*:(|[0-9]{2})$`, checked by hand.
fn insured_identifier_ok(v: &str) -> bool {
    let parts: Vec<&str> = v.split(':').collect();
    let free = |s: &str| !s.chars().any(|c| c.is_whitespace() || c == '　');
    parts.len() == 4
        && parts[0].len() == 8
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && free(parts[1])
        && free(parts[2])
        && (parts[3].is_empty()
            || parts[3].len() == 2 && parts[3].bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn the_pattern_checker_works() {
    assert!(insured_identifier_ok("00012345:あいう:１８７:05"));
    assert!(insured_identifier_ok("39131156::12345678:"));
    assert!(!insured_identifier_ok("012345:あ:1:05"));
    assert!(!insured_identifier_ok("00012345:あ い:1:05"));
    assert!(!insured_identifier_ok("00012345:あ:1:5"));
}

#[test]
fn bundles_have_patient_first_and_valid_identifiers() {
    let dir = fixture();
    let all = files(&dir.join("ehr"), ".json");
    assert!(all.len() > 50, "only {} bundles", all.len());
    let (mut docs, mut collections, mut allergies, mut meds) = (0, 0, 0, 0);
    for path in &all {
        let b: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(b["resourceType"], "Bundle");
        let entries = b["entry"].as_array().unwrap();
        let patient = match b["type"].as_str().unwrap() {
            "collection" => {
                collections += 1;
                &entries[0]["resource"]
            }
            "document" => {
                docs += 1;
                let comp = &entries[0]["resource"];
                assert_eq!(comp["resourceType"], "Composition", "{}", path.display());
                let code = comp["type"]["coding"][0]["code"].as_str().unwrap();
                assert!(["57133-1", "18842-5", "53576-5"].contains(&code));
                let subject = comp["subject"]["reference"].as_str().unwrap();
                assert_eq!(entries[1]["fullUrl"].as_str().unwrap(), subject);
                &entries[1]["resource"]
            }
            other => panic!("bundle type {other}"),
        };
        assert_eq!(patient["resourceType"], "Patient", "{}", path.display());
        let ids = patient["identifier"].as_array().unwrap();
        let insured = ids
            .iter()
            .find(|i| {
                i["system"]
                    .as_str()
                    .unwrap()
                    .contains("JP_Insurance_member")
            })
            .expect("insured-person identifier");
        let value = insured["value"].as_str().unwrap();
        assert!(
            insured_identifier_ok(value),
            "{}: identifier shape",
            path.display()
        );
        // Leading zeros weigh nothing in the check digit, so a padded 国保 number still verifies.
        assert!(niji_core::checkdigit::is_valid(
            value.split(':').next().unwrap()
        ));
        assert!(matches!(
            patient["gender"].as_str(),
            Some("male" | "female")
        ));
        assert!(
            chrono::NaiveDate::parse_from_str(patient["birthDate"].as_str().unwrap(), "%Y-%m-%d")
                .is_ok()
        );
        for e in entries {
            match e["resource"]["resourceType"].as_str().unwrap() {
                "AllergyIntolerance" => allergies += 1,
                "MedicationRequest" => meds += 1,
                _ => {}
            }
        }
    }
    assert!(
        docs > 0 && collections > 0 && allergies > 0 && meds > 0,
        "{docs} {collections} {allergies} {meds}"
    );
}
