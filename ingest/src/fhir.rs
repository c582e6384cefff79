//! FHIR R4 JSON bundles: JP-CLINS 6情報 (`collection`, Patient first) and documents
//! (`document`, Composition then Patient), and plain R4 bundles of other producers
//! (`searchset`, `transaction`, `batch` …). One bundle is one unit (line 0) with a `Bundle` mark
//! and one mark per entry (its `resourceType`, or `entry` when it has none). Unknown fields and
//! resource types are tolerated; free text (names of persons, notes) never becomes a detail.
//!
//! The Patient gives the identity: the identifier whose system contains `JP_Insurance_member`
//! (`保険者番号:記号:番号:枝番`, pattern `^[0-9]{8}:[^:\s　]*:[^:\s　]*:(|[0-9]{2})$`), the names
//! (`IDE` representation → name, `SYL` → kana; family and given joined by a full-width space),
//! `gender` and `birthDate`; the facility comes from a patient identifier system
//! `urn:oid:1.2.392.100495.20.3.51.1<10-digit facility>`.
//!
//! Reason codes. Errors that reject the bundle: `FHIR_BAD_JSON`, `FHIR_NOT_BUNDLE`,
//! `FHIR_NO_PATIENT`, `FHIR_MULTIPLE_PATIENTS`, `FHIR_CHECK_DIGIT`, `FHIR_MISSING_FIELD`
//! (gender, birthDate), `FHIR_BAD_GENDER`, `FHIR_BAD_DATE` (birthDate), `FHIR_NO_IDENTITY`.
//! Errors that quarantine one entry: `FHIR_BAD_MEMBER_ID` (the Patient; the bundle still lands
//! when a name, birth date and gender remain), `FHIR_BAD_ENTRY`, `FHIR_NO_CODE`. Warnings:
//! `FHIR_PATIENT_NOT_FIRST`, `FHIR_COMPOSITION_NOT_FIRST`, `FHIR_NO_COMPOSITION`,
//! `FHIR_NO_MEMBER_ID`, `FHIR_MISSING_FIELD` (type), `FHIR_BAD_DATE` (other dates),
//! `FHIR_BAD_CODE`, `FHIR_NO_DATE`.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use niji_core::Source;
use serde_json::Value;

use crate::check::western;
use crate::model::{FileRecords, Parsed};
use crate::{Detail, Error, FileRef, Header, Issue, Mark, RawIdentity, Result, Severity, Unit};

/// System of a facility's patient number: this OID followed by the 10-digit facility code.
const PATIENT_ID_OID: &str = "urn:oid:1.2.392.100495.20.3.51.1";
/// System of JLAC10 laboratory codes.
const JLAC10: &str = "urn:oid:1.2.392.200119.4.504";
const BUNDLE: &str = "Bundle";

mod patient;

use patient::patient;

/// Parses one bundle file into its unit.
pub fn parse_file(path: &Path, file: FileRef) -> Result<Parsed> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(Parsed {
        units: vec![parse_bundle(bytes, file)],
        file: FileRecords::default(),
    })
}

/// Parses one bundle (the whole file's bytes) into its unit.
pub fn parse_bundle(bytes: Vec<u8>, file: FileRef) -> Unit {
    let mut unit = Unit {
        source: Source::Ehr,
        file,
        line: 0,
        service_month: None,
        facility: None,
        identity: RawIdentity::default(),
        header: Header::EhrBundle {
            bundle_type: String::new(),
            document_type: None,
            date: None,
        },
        details: Vec::new(),
        issues: Vec::new(),
        marks: vec![Mark {
            record: BUNDLE.into(),
            line: 0,
            quarantined: None,
        }],
        raw: Vec::new(),
        rejected: None,
    };
    let json = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match serde_json::from_slice::<Value>(json) {
        Err(e) => {
            let kind = match e.classify() {
                serde_json::error::Category::Eof => "the JSON ends early",
                _ => "malformed JSON",
            };
            let msg = format!("{kind} at line {} column {}", e.line(), e.column());
            reject(
                &mut unit,
                Issue::error("FHIR_BAD_JSON", BUNDLE, None, 0, msg),
            );
        }
        Ok(v) => bundle(&mut unit, &v),
    }
    unit.raw = bytes;
    unit
}

fn reject(unit: &mut Unit, issue: Issue) {
    unit.rejected = unit.rejected.or(Some(issue.code));
    if unit.marks[0].quarantined.is_none() {
        unit.marks[0].quarantined = Some(issue.code);
    }
    unit.issues.push(issue);
}

fn bundle(unit: &mut Unit, v: &Value) {
    if v.get("resourceType").and_then(Value::as_str) != Some(BUNDLE) {
        return reject(
            unit,
            Issue::error(
                "FHIR_NOT_BUNDLE",
                BUNDLE,
                Some("resourceType"),
                0,
                "the JSON is not a FHIR Bundle",
            ),
        );
    }
    let bundle_type = str_at(v, "type").unwrap_or_default().to_string();
    if bundle_type.is_empty() {
        unit.issues.push(Issue::warning(
            "FHIR_MISSING_FIELD",
            BUNDLE,
            Some("type"),
            0,
            "the bundle has no type",
        ));
    }
    let entries: &[Value] = match v.get("entry") {
        None => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            return reject(
                unit,
                Issue::error(
                    "FHIR_BAD_ENTRY",
                    BUNDLE,
                    Some("entry"),
                    0,
                    "entry is not an array",
                ),
            );
        }
    };
    let resources: Vec<Option<(&str, &Value)>> = entries
        .iter()
        .map(|e| {
            let r = e.get("resource").filter(|r| r.is_object())?;
            Some((r.get("resourceType")?.as_str()?, r))
        })
        .collect();
    let patients: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_some_and(|r| r.0 == "Patient"))
        .map(|(i, _)| i)
        .collect();
    let first_is_composition = resources
        .first()
        .is_some_and(|r| r.is_some_and(|r| r.0 == "Composition"));
    match bundle_type.as_str() {
        "document" if !first_is_composition => {
            let msg = "the first entry of a document bundle is not its Composition";
            unit.issues.push(Issue::warning(
                "FHIR_COMPOSITION_NOT_FIRST",
                "Composition",
                None,
                0,
                msg,
            ));
        }
        _ => {}
    }
    let expected = match bundle_type.as_str() {
        "collection" => Some(0),
        "document" => Some(usize::from(first_is_composition)),
        _ => None,
    };
    if let (Some(want), Some(&at)) = (expected, patients.first())
        && at != want
    {
        let msg = "the Patient is not in the position the bundle type requires";
        unit.issues.push(Issue::warning(
            "FHIR_PATIENT_NOT_FIRST",
            "Patient",
            None,
            0,
            msg,
        ));
    }
    let mut document_type = None;
    let mut date = None;
    let mut saw_composition = false;
    for (i, r) in resources.iter().enumerate() {
        let Some((rt, res)) = *r else {
            let msg = format!("entry {} has no resource with a resourceType", i + 1);
            let issue = Issue::error("FHIR_BAD_ENTRY", "entry", None, 0, msg);
            unit.marks.push(Mark {
                record: "entry".into(),
                line: 0,
                quarantined: Some(issue.code),
            });
            unit.issues.push(issue);
            continue;
        };
        let mut issues = Vec::new();
        let detail = match rt {
            "Patient" if patients[0] == i => {
                patient(unit, res, &mut issues);
                None
            }
            "Patient" => None,
            "Composition" => {
                saw_composition = true;
                document_type =
                    document_type.or(first_coding(res.get("type")).map(|c| c.1.to_string()));
                date = date.or(date_at(res, "date", rt, &mut issues));
                None
            }
            _ => resource(rt, res, &mut issues),
        };
        let quarantined = issues
            .iter()
            .find(|i| i.severity == Severity::Error)
            .map(|i| i.code);
        if let (None, Some(d)) = (quarantined, detail) {
            unit.details.push(d);
        }
        unit.marks.push(Mark {
            record: rt.to_string(),
            line: 0,
            quarantined,
        });
        unit.issues.append(&mut issues);
    }
    match patients.len() {
        0 => reject(
            unit,
            Issue::error(
                "FHIR_NO_PATIENT",
                BUNDLE,
                None,
                0,
                "the bundle has no Patient",
            ),
        ),
        1 => {}
        _ => reject(
            unit,
            Issue::error(
                "FHIR_MULTIPLE_PATIENTS",
                BUNDLE,
                None,
                0,
                "the bundle has more than one Patient",
            ),
        ),
    }
    if bundle_type == "document" && !saw_composition {
        unit.issues.push(Issue::warning(
            "FHIR_NO_COMPOSITION",
            BUNDLE,
            None,
            0,
            "the document bundle has no Composition",
        ));
    }
    let date = date.or_else(|| str_at(v, "timestamp").and_then(fhir_date));
    if date.is_none() {
        unit.issues.push(Issue::warning(
            "FHIR_NO_DATE",
            BUNDLE,
            Some("timestamp"),
            0,
            "the bundle has no usable date",
        ));
    }
    unit.service_month = date.and_then(|d| d.with_day0(0));
    unit.header = Header::EhrBundle {
        bundle_type,
        document_type,
        date,
    };
}

/// The detail of a non-Patient, non-Composition resource.
fn resource(rt: &str, res: &Value, issues: &mut Vec<Issue>) -> Option<Detail> {
    let mut no_code = |field| {
        issues.push(Issue::error(
            "FHIR_NO_CODE",
            rt,
            Some(field),
            0,
            format!("{rt} has no coded {field}"),
        ));
        None
    };
    match rt {
        "Condition" => {
            let codings: Vec<(&str, &str)> = codings(res.get("code")).collect();
            let has = |needle: &str| {
                codings
                    .iter()
                    .find(|c| c.0.to_ascii_lowercase().contains(needle))
                    .map(|c| c.1)
            };
            let Some(code) = has("medis").or(codings.first().map(|c| c.1)) else {
                return no_code("code");
            };
            let icd10 = has("icd-10").map(str::to_string);
            let outcome = first_coding(res.get("clinicalStatus")).map(|c| c.1.to_string());
            let start = date_at(res, "onsetDateTime", rt, issues);
            Some(Detail::Diagnosis {
                code: code.to_string(),
                icd10,
                name: None,
                start,
                outcome,
                main: false,
            })
        }
        "AllergyIntolerance" => {
            let Some((system, code)) = first_coding(res.get("code")) else {
                return no_code("code");
            };
            let category = array(res, "category")
                .next()
                .and_then(Value::as_str)
                .map(str::to_string);
            let date = date_at(res, "recordedDate", rt, issues)
                .or_else(|| date_at(res, "onsetDateTime", rt, issues));
            let system = (!system.is_empty()).then(|| system.to_string());
            Some(Detail::Allergy {
                code: code.to_string(),
                system,
                category,
                date,
            })
        }
        "Observation" => {
            let Some((system, code)) = first_coding(res.get("code")) else {
                return no_code("code");
            };
            if system == JLAC10
                && !(code.len() == 17
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
            {
                issues.push(Issue::warning(
                    "FHIR_BAD_CODE",
                    rt,
                    Some("code"),
                    0,
                    "JLAC10 code is not 17 characters",
                ));
            }
            let q = res.get("valueQuantity");
            let value = q.and_then(|q| q.get("value")).and_then(Value::as_f64);
            let unit = q
                .and_then(|q| str_at(q, "unit").or_else(|| str_at(q, "code")))
                .map(str::to_string);
            let value_code = first_coding(res.get("valueCodeableConcept")).map(|c| c.1.to_string());
            let date = date_at(res, "effectiveDateTime", rt, issues);
            Some(Detail::Observation {
                code: code.to_string(),
                value,
                value_code,
                unit,
                date,
            })
        }
        "MedicationRequest" => {
            let Some((_, code)) = first_coding(res.get("medicationCodeableConcept")) else {
                return no_code("medicationCodeableConcept");
            };
            let date = date_at(res, "authoredOn", rt, issues);
            Some(Detail::Drug {
                kind: None,
                code: code.to_string(),
                quantity: None,
                points: None,
                count: None,
                date,
            })
        }
        _ => Some(Detail::Other {
            record: rt.to_string(),
            fields: res.as_object().map_or(0, |o| o.len() as i32),
        }),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// `(system, code)` of each coding of a CodeableConcept that has a code.
fn codings(cc: Option<&Value>) -> impl Iterator<Item = (&str, &str)> {
    cc.into_iter()
        .flat_map(|c| array(c, "coding"))
        .filter_map(|c| {
            Some((
                str_at(c, "system").unwrap_or(""),
                str_at(c, "code").filter(|s| !s.is_empty())?,
            ))
        })
}

fn first_coding(cc: Option<&Value>) -> Option<(&str, &str)> {
    codings(cc).next()
}

/// A date or dateTime field; present but unreadable warns and reads as `None`.
fn date_at(res: &Value, key: &'static str, rt: &str, issues: &mut Vec<Issue>) -> Option<NaiveDate> {
    let s = str_at(res, key)?;
    let d = fhir_date(s);
    if d.is_none() {
        issues.push(Issue::warning(
            "FHIR_BAD_DATE",
            rt,
            Some(key),
            0,
            format!("{key} is not a valid date"),
        ));
    }
    d
}

/// The date of a FHIR `date` or `dateTime` (`YYYY-MM-DD…`); partial dates give `None`.
fn fhir_date(s: &str) -> Option<NaiveDate> {
    let d = s.get(..10)?;
    let b = d.as_bytes();
    if b[4] != b'-' || b[7] != b'-' || !(s.len() == 10 || b"T ".contains(&s.as_bytes()[10])) {
        return None;
    }
    western(&d[0..4], &d[5..7], &d[8..10])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            fhir_date("2023-11-06"),
            NaiveDate::from_ymd_opt(2023, 11, 6)
        );
        assert_eq!(
            fhir_date("2023-11-06T10:00:00+09:00"),
            NaiveDate::from_ymd_opt(2023, 11, 6)
        );
        assert_eq!(fhir_date("2023-11"), None);
        assert_eq!(fhir_date("2023-02-30"), None);
        assert_eq!(fhir_date("20231106xx"), None);
        assert_eq!(fhir_date("2023-11-06X"), None);
    }

    #[test]
    fn codings_skip_empty_codes() {
        let v: Value =
            serde_json::json!({"coding": [{"system": "s"}, {"system": "t", "code": "c"}]});
        assert_eq!(first_coding(Some(&v)), Some(("t", "c")));
        assert_eq!(first_coding(None), None);
    }

    #[test]
    fn unknown_resources_are_kept_as_other() {
        let mut issues = Vec::new();
        let d = resource(
            "Encounter",
            &serde_json::json!({"resourceType": "Encounter", "status": "finished"}),
            &mut issues,
        );
        assert_eq!(
            d,
            Some(Detail::Other {
                record: "Encounter".into(),
                fields: 2
            })
        );
        let d = resource(
            "MedicationRequest",
            &serde_json::json!({"medicationReference": {}}),
            &mut issues,
        );
        assert_eq!((d, issues[0].code), (None, "FHIR_NO_CODE"));
    }
}
