//! EHR-DB input: JP-CLINS FHIR R4 JSON bundles. 6情報 are `collection` bundles with the Patient
//! first; 退院時サマリー and 診療情報提供書 are `document` bundles with the Composition first and
//! the Patient second. The insured person's identifier is `保険者番号:記号:番号:枝番`.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::codes::{Disease, Drug};
use crate::recorded::Recorded;
use crate::rng::Rng;

/// System of the insured-person identifier (JP-CLINS), followed by the 保険者番号.
pub(crate) const INSURANCE_SYSTEM: &str = "http://jpfhir.jp/fhir/ccs/Idsysmem/JP_Insurance_member/";
/// System of a facility's patient number: this OID followed by the 10-digit facility code.
pub(crate) const PATIENT_ID_OID: &str = "urn:oid:1.2.392.100495.20.3.51.1";

/// What a bundle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BundleKind {
    /// 6情報 (collection).
    Items,
    /// 退院時サマリー (document, LOINC 18842-5).
    Discharge,
    /// 診療情報提供書 (document, LOINC 57133-1).
    Referral,
}

/// The content of one bundle.
#[derive(Debug)]
pub(crate) struct Content<'a> {
    pub(crate) kind: BundleKind,
    pub(crate) date: NaiveDate,
    pub(crate) facility_code: &'a str,
    pub(crate) facility_name: &'a str,
    pub(crate) karte: &'a str,
    pub(crate) conditions: Vec<(&'static Disease, NaiveDate)>,
    pub(crate) drugs: Vec<&'static Drug>,
    /// (JLAC10 code, name, value, unit).
    pub(crate) labs: Vec<(&'static str, &'static str, f64, &'static str)>,
    /// Drug allergies: (YJ code prefix, name).
    pub(crate) allergies: Vec<(&'static str, &'static str)>,
}

/// A deterministic UUID-shaped id.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

fn patient(rec: &Recorded, c: &Content<'_>, id: &str) -> Value {
    let cov = &rec.coverage;
    // The identifier always carries an 8-digit 保険者番号: 国保 numbers (6 digits) are zero-padded.
    let insurer = format!("{:0>8}", cov.insurer);
    let member = format!("{insurer}:{}:{}:{}", rec.symbol, rec.number, cov.branch);
    let [fam_k, given_k, fam_kana, given_kana] = &rec.parts;
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": {"profile": ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Patient_eCS"]},
        "identifier": [
            {"system": format!("{PATIENT_ID_OID}{:0>10}", c.facility_code), "value": c.karte},
            {"system": format!("{INSURANCE_SYSTEM}{insurer}"), "value": member}
        ],
        "name": [
            {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "IDE"}],
             "use": "official", "text": format!("{fam_k}　{given_k}"), "family": fam_k, "given": [given_k]},
            {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}],
             "use": "official", "text": format!("{fam_kana}　{given_kana}"), "family": fam_kana, "given": [given_kana]}
        ],
        "gender": rec.sex.fhir(),
        "birthDate": rec.birth.format("%Y-%m-%d").to_string(),
    })
}

fn entry(rng: &mut Rng, resource: Value) -> (String, Value) {
    let url = format!("urn:uuid:{}", uuid(rng));
    (url.clone(), json!({"fullUrl": url, "resource": resource}))
}

/// Builds a bundle. `rng` draws the ids.
pub(crate) fn bundle(rec: &Recorded, c: &Content<'_>, rng: &mut Rng) -> Value {
    let bundle_id = uuid(rng);
    let pid = uuid(rng);
    let (patient_url, patient_entry) = entry(rng, patient(rec, c, &pid));
    let subject = json!({"reference": patient_url});
    let date = c.date.format("%Y-%m-%d").to_string();
    let mut entries = vec![patient_entry];
    for (d, onset) in &c.conditions {
        entries.push(entry(rng, json!({
            "resourceType": "Condition",
            "meta": {"profile": ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS"]},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [
                {"system": "http://medis.or.jp/CodeSystem/master-disease-exchange", "code": d.code, "display": d.name},
                {"system": "http://jpfhir.jp/fhir/core/CodeSystem/icd-10", "code": d.icd10}
            ], "text": d.name},
            "subject": subject,
            "onsetDateTime": onset.format("%Y-%m-%d").to_string(),
            "recordedDate": date,
        })).1);
    }
    for (code, name) in &c.allergies {
        entries.push(entry(rng, json!({
            "resourceType": "AllergyIntolerance",
            "meta": {"profile": ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_AllergyIntolerance_eCS"]},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "category": ["medication"],
            "code": {"coding": [{"system": "urn:oid:1.2.392.100495.20.2.74", "code": code, "display": name}], "text": name},
            "patient": subject,
            "recordedDate": date,
        })).1);
    }
    for (code, name, value, unit) in &c.labs {
        entries.push(entry(rng, json!({
            "resourceType": "Observation",
            "meta": {"profile": ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_LabResult_eCS"]},
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "urn:oid:1.2.392.200119.4.504", "code": code, "display": name}], "text": name},
            "subject": subject,
            "effectiveDateTime": date,
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        })).1);
    }
    for d in &c.drugs {
        entries.push(entry(rng, json!({
            "resourceType": "MedicationRequest",
            "meta": {"profile": ["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS"]},
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [
                {"system": "urn:oid:1.2.392.200119.4.403.1", "code": d.code, "display": d.name},
                {"system": "urn:oid:1.2.392.100495.20.2.73", "code": d.yj}
            ], "text": d.name},
            "subject": subject,
            "authoredOn": date,
            "dosageInstruction": [{"text": if d.per_day >= 3 { "１日３回毎食後" } else { "１日１回朝食後" }}],
        })).1);
    }
    let (btype, profile) = match c.kind {
        BundleKind::Items => (
            "collection",
            "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
        ),
        _ => (
            "document",
            "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
        ),
    };
    if c.kind != BundleKind::Items {
        let (code, title) = match c.kind {
            BundleKind::Discharge => ("18842-5", "退院時サマリー"),
            _ => ("57133-1", "診療情報提供書"),
        };
        let refs: Vec<Value> = entries[1..]
            .iter()
            .map(|e| json!({"reference": e["fullUrl"]}))
            .collect();
        let composition = json!({
            "resourceType": "Composition",
            "status": "final",
            "type": {"coding": [{"system": "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes", "code": code, "display": title}]},
            "subject": subject,
            "date": date,
            "author": [{"display": c.facility_name}],
            "title": title,
            "section": [{"title": "本文", "entry": refs}],
        });
        let (_, comp_entry) = entry(rng, composition);
        entries.insert(0, comp_entry);
    }
    json!({
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"profile": [profile]},
        "identifier": {"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier", "value": bundle_id},
        "type": btype,
        "timestamp": format!("{date}T10:00:00+09:00"),
        "entry": entries,
    })
}
