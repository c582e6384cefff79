//! The unit of landing and quarantine: one receipt, checkup, care claim or FHIR bundle, with the
//! raw identifiers of its person (to be pseudonymized, never stored), its typed content, and the
//! records it was read from.

use chrono::NaiveDate;
use niji_core::Source;

use crate::model::{FileRef, Issue};

/// The identifiers of a unit's person as the source wrote them. They exist only in memory during
/// the job: the job turns them into link keys and drops them. `Debug` shows which are present,
/// never the values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawIdentity {
    /// 氏名 as recorded (kanji, or kana where the facility registers only kana).
    pub name: Option<String>,
    /// カナ氏名.
    pub kana: Option<String>,
    /// 男女区分 / gender as written.
    pub sex: Option<String>,
    /// 生年月日 as written (Western `YYYYMMDD`, `YYYY-MM-DD` or wareki `GYYMMDD`).
    pub birth: Option<String>,
    /// 保険者番号.
    pub insurer: Option<String>,
    /// 記号.
    pub symbol: Option<String>,
    /// 番号.
    pub number: Option<String>,
    /// 枝番.
    pub branch: Option<String>,
    /// Care 被保険者番号 (10 characters).
    pub care_number: Option<String>,
    /// Care 保険者番号 (municipality, 6 digits).
    pub care_insurer: Option<String>,
}

impl std::fmt::Debug for RawIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present = |o: &Option<String>| if o.is_some() { "present" } else { "absent" };
        f.debug_struct("RawIdentity")
            .field("name", &present(&self.name))
            .field("kana", &present(&self.kana))
            .field("sex", &present(&self.sex))
            .field("birth", &present(&self.birth))
            .field("insurer", &present(&self.insurer))
            .field("symbol", &present(&self.symbol))
            .field("number", &present(&self.number))
            .field("branch", &present(&self.branch))
            .field("care_number", &present(&self.care_number))
            .field("care_insurer", &present(&self.care_insurer))
            .finish()
    }
}

/// What kind of unit, with its header fields (no identifiers).
#[derive(Debug, Clone, PartialEq)]
pub enum Header {
    /// A receipt (医科, DPC or 調剤).
    Receipt {
        /// レセプト種別 (4 digits).
        kind: String,
        /// 審査支払機関 of the file (1 支払基金, 2 国保連).
        payer: Option<String>,
        /// 合計点数 of HO (or of the first KO for 公費単独 receipts).
        points: Option<i64>,
        /// 診療実日数.
        days: Option<i32>,
        /// Number of 公費 (KO records) landed.
        kohi: i32,
        admission: Option<NaiveDate>,
        discharge: Option<NaiveDate>,
        /// 診断群分類番号 (DPC, 14 characters).
        dpc_code: Option<String>,
        /// DPC転帰区分.
        dpc_outcome: Option<String>,
        died: Option<bool>,
    },
    /// A 特定健診 document.
    Checkup {
        date: Option<NaiveDate>,
        /// 健診機関 number from the document id / author.
        institution: Option<String>,
    },
    /// A care claim (基本 record and its 明細).
    CareClaim {
        /// 交換情報識別番号 (form).
        form: String,
        /// 要介護状態区分.
        care_level: Option<String>,
        cert_start: Option<NaiveDate>,
        cert_end: Option<NaiveDate>,
        units: Option<i64>,
    },
    /// A FHIR bundle.
    EhrBundle {
        /// `collection` or `document`.
        bundle_type: String,
        /// Composition.type code for documents (57133-1, 18842-5, 53576-5).
        document_type: Option<String>,
        date: Option<NaiveDate>,
    },
}

/// A coded fact of a unit. Free text that could identify someone is not carried.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// SY / SB diagnosis, or FHIR Condition.
    Diagnosis {
        code: String,
        /// ICD-10 where the source gives it (SB, FHIR).
        icd10: Option<String>,
        /// The name of an uncoded diagnosis (`0000999`); the only free text kept.
        name: Option<String>,
        start: Option<NaiveDate>,
        /// 転帰区分 or FHIR clinicalStatus.
        outcome: Option<String>,
        main: bool,
    },
    /// SI, KI (pharmacy fees) or similar acts.
    Procedure {
        kind: Option<String>,
        code: String,
        points: Option<i64>,
        count: Option<i32>,
    },
    /// IY (and the 調剤 IY with its CZ), or FHIR MedicationRequest.
    Drug {
        kind: Option<String>,
        code: String,
        /// 使用量 per day (or per unit) as a number.
        quantity: Option<f64>,
        points: Option<i64>,
        /// 回数 / days supplied.
        count: Option<i32>,
        date: Option<NaiveDate>,
    },
    /// TO (特定器材).
    Material {
        code: String,
        quantity: Option<f64>,
        points: Option<i64>,
        count: Option<i32>,
    },
    /// A checkup or EHR lab observation.
    Observation {
        code: String,
        /// PQ value.
        value: Option<f64>,
        /// CD code.
        value_code: Option<String>,
        unit: Option<String>,
        date: Option<NaiveDate>,
    },
    /// A 明細 (02) care service.
    CareService {
        kind: String,
        item: String,
        units: Option<i64>,
        count: Option<i32>,
        service_units: Option<i64>,
    },
    /// A FHIR AllergyIntolerance.
    Allergy {
        code: String,
        system: Option<String>,
        category: Option<String>,
        date: Option<NaiveDate>,
    },
    /// A record type without a typed mapping (kept with its tag and field count, not its text).
    Other { record: String, fields: i32 },
}

/// One record of a unit, for the accounting: its type, line and whether it was quarantined
/// (with the reason code) while the unit landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub record: String,
    pub line: u64,
    pub quarantined: Option<&'static str>,
}

/// One unit.
#[derive(Debug, Clone)]
pub struct Unit {
    pub source: Source,
    pub file: FileRef,
    /// First line (1-based) of the unit in its file; 0 for a whole document.
    pub line: u64,
    /// First day of the service month.
    pub service_month: Option<NaiveDate>,
    /// 医療機関コード, 事業所番号 or the FHIR facility code.
    pub facility: Option<String>,
    pub identity: RawIdentity,
    pub header: Header,
    pub details: Vec<Detail>,
    pub issues: Vec<Issue>,
    pub marks: Vec<Mark>,
    /// The unit's bytes as read, for the quarantine.
    pub raw: Vec<u8>,
    /// Set when the whole unit must be quarantined (its identity records are unusable or its
    /// structure is broken): the reason code of the deciding error in `issues`.
    pub rejected: Option<&'static str>,
}
