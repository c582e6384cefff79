//! レセプト電算 (UKE) receipt files: 医科 (RECEIPTC), DPC (RECEIPTD) and 調剤 (RECEIPTY).
//!
//! A streaming parser: lines are read one at a time (CP932, CRLF), typed by their record ID and
//! grouped into receipts (`RE` up to the next `RE` or the `GO` trailer). The facility record
//! (`IR`/`YK`) and the trailer (`GO`) are file-level records. Record types without a typed
//! mapping (`JD`, `MF`, `SJ`, `SH`, `KK` …) are kept as [`Detail::Other`], never dropped; their
//! text is not (it may be free text). Dates may be Western (`YYYYMMDD`, `YYYYMM`) or wareki
//! (`GYYMMDD`, `GYYMM`).
//!
//! Validation: an unusable `RE` (sex, birth date, service month) or `HO` (保険者番号 with a bad
//! check digit, no 番号), or a missing `HO` on an insured receipt, rejects the whole receipt. A
//! bad 公費負担者番号 quarantines its `KO` record alone. Points that do not add up and a trailer
//! whose 件数 or 総合計点数 differ from the body are warnings.

use std::io::BufRead;

use niji_core::{Source, checkdigit};

use crate::check::{ym as month, ymd as date};

use crate::model::{FileRecords, FileRef, Issue, Severity};
use crate::unit::{Detail, Header, Mark, RawIdentity, Unit};
use crate::{Error, Result};

fn int(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

fn opt(s: Option<&&str>) -> Option<String> {
    s.map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The kind of UKE file, from its first record and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UkeKind {
    Medical,
    Dpc,
    Pharmacy,
}

impl UkeKind {
    pub fn source(self) -> Source {
        match self {
            UkeKind::Medical => Source::NdbMed,
            UkeKind::Dpc => Source::NdbDpc,
            UkeKind::Pharmacy => Source::NdbPha,
        }
    }
}

struct Receipt {
    unit: Unit,
    has_ho: bool,
    insured: bool,
    declared: Option<i64>,
    summed: i64,
}

struct State<'a> {
    file: &'a FileRef,
    kind: UkeKind,
    facility: Option<String>,
    payer: Option<String>,
    current: Option<Receipt>,
    out: FileRecords,
    receipts: i64,
    ho_total: i64,
    trailer_seen: bool,
}

fn issue(
    sev: Severity,
    code: &'static str,
    record: &str,
    field: Option<&'static str>,
    line: u64,
    msg: &str,
) -> Issue {
    Issue {
        severity: sev,
        code,
        record: record.to_string(),
        field,
        line,
        message: msg.to_string(),
    }
}

impl State<'_> {
    fn file_issue(&mut self, i: Issue) {
        self.out.issues.push(i);
    }

    fn file_mark(&mut self, record: &str, line: u64, quarantined: Option<&'static str>) {
        self.out.marks.push(Mark {
            record: record.to_string(),
            line,
            quarantined,
        });
    }

    /// A file-level record quarantined: its mark and its bytes.
    fn file_quarantine(&mut self, record: &str, line: u64, raw: &[u8], code: &'static str) {
        self.file_mark(record, line, Some(code));
        self.out.raw.push((line, raw.to_vec()));
    }

    fn close(&mut self, emit: &mut dyn FnMut(Unit) -> Result<()>) -> Result<()> {
        let Some(mut r) = self.current.take() else {
            return Ok(());
        };
        let line = r.unit.line;
        if r.insured && !r.has_ho && r.unit.rejected.is_none() {
            r.unit.issues.push(issue(
                Severity::Error,
                "UKE_NO_HO",
                "RE",
                None,
                line,
                "insured receipt without an HO record",
            ));
            r.unit.rejected = Some("UKE_NO_HO");
        }
        if let Some(d) = r.declared
            && d != r.summed
            && r.summed > 0
        {
            r.unit.issues.push(issue(
                Severity::Warning,
                "UKE_POINTS_MISMATCH",
                "HO",
                Some("total_points"),
                line,
                "合計点数 differs from the sum of the receipt's acts and drugs",
            ));
        }
        if let Header::Receipt { points, .. } = &mut r.unit.header {
            *points = r.declared;
        }
        self.receipts += 1;
        self.ho_total += r.declared.unwrap_or(0);
        emit(r.unit)
    }
}

/// Parses one UKE file, calling `emit` for each receipt as soon as it is complete. Returns the
/// file-level records and issues. I/O errors stop the parse; everything else is an issue.
pub fn parse(
    reader: impl BufRead,
    file: &FileRef,
    emit: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<(UkeKind, FileRecords)> {
    let mut reader = reader;
    let mut st = State {
        file,
        kind: UkeKind::Medical,
        facility: None,
        payer: None,
        current: None,
        out: FileRecords::default(),
        receipts: 0,
        ho_total: 0,
        trailer_seen: false,
    };
    if file.path.to_ascii_uppercase().ends_with("RECEIPTD.UKE") {
        st.kind = UkeKind::Dpc;
    }
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(file.path.as_ref(), e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let raw: &[u8] = &buf;
        let mut bytes: &[u8] = &buf;
        if let Some(b) = bytes.strip_suffix(b"\n") {
            bytes = b;
        }
        if let Some(b) = bytes.strip_suffix(b"\r") {
            bytes = b;
        }
        let tag: String = bytes
            .iter()
            .take(2)
            .map(|&b| {
                if b.is_ascii_alphanumeric() {
                    b as char
                } else {
                    '?'
                }
            })
            .collect();
        if bytes.is_empty() {
            st.file_mark("(empty)", line_no, None);
            continue;
        }
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(bytes);
        if bad {
            record_error(
                &mut st,
                &tag,
                line_no,
                raw,
                "UKE_BAD_ENCODING",
                "bytes that are not valid CP932",
            );
            continue;
        }
        let fields: Vec<&str> = text.split(',').collect();
        record(&mut st, &fields, line_no, raw, emit)?;
    }
    st.close(emit)?;
    if !st.trailer_seen {
        st.file_issue(issue(
            Severity::Error,
            "UKE_NO_TRAILER",
            "GO",
            None,
            line_no,
            "the file ends without a GO trailer (truncated?)",
        ));
    }
    Ok((st.kind, st.out))
}

/// A record that cannot be read: it is quarantined; inside a receipt an unreadable RE or HO
/// rejects the receipt.
fn record_error(
    st: &mut State<'_>,
    tag: &str,
    line: u64,
    raw: &[u8],
    code: &'static str,
    what: &str,
) {
    let msg = format!("{tag} record: {what}");
    match &mut st.current {
        Some(r) if tag != "GO" && tag != "IR" && tag != "YK" => {
            r.unit.raw.extend_from_slice(raw);
            r.unit
                .issues
                .push(issue(Severity::Error, code, tag, None, line, &msg));
            r.unit.marks.push(Mark {
                record: tag.to_string(),
                line,
                quarantined: Some(code),
            });
            if tag == "RE" || tag == "HO" {
                r.unit.rejected.get_or_insert(code);
            }
        }
        _ => {
            st.file_issue(issue(Severity::Error, code, tag, None, line, &msg));
            st.file_quarantine(tag, line, raw, code);
        }
    }
}

fn need(fields: &[&str], n: usize) -> bool {
    fields.len() >= n
}

fn record(
    st: &mut State<'_>,
    f: &[&str],
    line: u64,
    raw: &[u8],
    emit: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<()> {
    let tag = f[0];
    if st.trailer_seen {
        record_error(
            st,
            tag,
            line,
            raw,
            "UKE_AFTER_TRAILER",
            "record after the GO trailer",
        );
        return Ok(());
    }
    match tag {
        "IR" | "YK" => {
            if tag == "YK" {
                st.kind = UkeKind::Pharmacy;
            }
            if line != 1 {
                st.file_issue(issue(
                    Severity::Warning,
                    "UKE_FACILITY_NOT_FIRST",
                    tag,
                    None,
                    line,
                    "facility record is not the first line",
                ));
            }
            if !need(f, 8) {
                record_error(st, tag, line, raw, "UKE_TRUNCATED", "too few fields");
                return Ok(());
            }
            st.payer = opt(f.get(1));
            st.facility = opt(f.get(4));
            st.file_mark(tag, line, None);
        }
        "GO" => {
            st.close(emit)?;
            st.trailer_seen = true;
            st.file_mark("GO", line, None);
            let count = f.get(1).and_then(|s| int(s));
            let total = f.get(2).and_then(|s| int(s));
            if count != Some(st.receipts) {
                st.file_issue(issue(
                    Severity::Warning,
                    "UKE_TRAILER_COUNT",
                    "GO",
                    Some("count"),
                    line,
                    "GO 件数 differs from the number of RE records in the file",
                ));
            }
            if total != Some(st.ho_total) {
                st.file_issue(issue(
                    Severity::Warning,
                    "UKE_TRAILER_POINTS",
                    "GO",
                    Some("total_points"),
                    line,
                    "GO 総合計点数 differs from the sum of the receipts' 合計点数",
                ));
            }
        }
        "RE" => {
            st.close(emit)?;
            let mut unit = Unit {
                source: st.kind.source(),
                file: st.file.clone(),
                line,
                service_month: None,
                facility: st.facility.clone(),
                identity: RawIdentity::default(),
                header: Header::Receipt {
                    kind: String::new(),
                    payer: st.payer.clone(),
                    points: None,
                    days: None,
                    kohi: 0,
                    admission: None,
                    discharge: None,
                    dpc_code: None,
                    dpc_outcome: None,
                    died: None,
                },
                details: Vec::new(),
                issues: Vec::new(),
                marks: vec![Mark {
                    record: "RE".into(),
                    line,
                    quarantined: None,
                }],
                raw: raw.to_vec(),
                rejected: None,
            };
            let mut insured = true;
            let reject = |unit: &mut Unit, code: &'static str, field: &'static str, msg: &str| {
                unit.issues
                    .push(issue(Severity::Error, code, "RE", Some(field), line, msg));
                unit.rejected.get_or_insert(code);
            };
            if !need(f, 7) {
                reject(
                    &mut unit,
                    "UKE_TRUNCATED",
                    "record",
                    "RE record has too few fields",
                );
            } else {
                let kind = f[2].trim();
                if kind.len() != 4 || !kind.bytes().all(|b| b.is_ascii_digit()) {
                    unit.issues.push(issue(
                        Severity::Warning,
                        "UKE_BAD_CODE",
                        "RE",
                        Some("receipt_kind"),
                        line,
                        "レセプト種別 is not four digits",
                    ));
                } else {
                    insured = &kind[1..2] != "2";
                }
                unit.service_month = month(f[3].trim());
                if unit.service_month.is_none() {
                    reject(
                        &mut unit,
                        "UKE_BAD_DATE",
                        "service_month",
                        "診療年月 is not a valid month",
                    );
                }
                if !matches!(f[5].trim(), "1" | "2") {
                    reject(&mut unit, "UKE_BAD_CODE", "sex", "男女区分 is not 1 or 2");
                }
                if date(f[6].trim()).is_none() {
                    reject(
                        &mut unit,
                        "UKE_BAD_DATE",
                        "birth_date",
                        "生年月日 is not a valid date",
                    );
                }
                unit.identity.name = opt(f.get(4));
                unit.identity.sex = opt(f.get(5));
                unit.identity.birth = opt(f.get(6));
                unit.identity.kana = opt(f.get(36));
                if unit.identity.name.is_none() && unit.identity.kana.is_none() {
                    unit.issues.push(issue(
                        Severity::Warning,
                        "UKE_NO_NAME",
                        "RE",
                        Some("name"),
                        line,
                        "no 氏名 nor カタカナ氏名: name keys cannot be made",
                    ));
                }
                if let Header::Receipt {
                    kind: k, admission, ..
                } = &mut unit.header
                {
                    *k = kind.to_string();
                    *admission = f.get(8).and_then(|s| date(s.trim()));
                }
            }
            st.current = Some(Receipt {
                unit,
                has_ho: false,
                insured,
                declared: None,
                summed: 0,
            });
        }
        _ => {
            let Some(r) = st.current.as_mut() else {
                record_error(
                    st,
                    tag,
                    line,
                    raw,
                    "UKE_ORPHAN_RECORD",
                    "record outside any receipt",
                );
                return Ok(());
            };
            r.unit.raw.extend_from_slice(raw);
            let quarantined = body_record(r, f, line);
            r.unit.marks.push(Mark {
                record: tag.to_string(),
                line,
                quarantined,
            });
        }
    }
    Ok(())
}

/// A record inside a receipt. Returns the reason code when this record alone is quarantined.
fn body_record(r: &mut Receipt, f: &[&str], line: u64) -> Option<&'static str> {
    let tag = f[0];
    let u = &mut r.unit;
    let err = |u: &mut Unit, code: &'static str, field: Option<&'static str>, msg: &str| {
        u.issues
            .push(issue(Severity::Error, code, tag, field, line, msg));
        Some(code)
    };
    let num = |i: usize| f.get(i).and_then(|s| int(s));
    match tag {
        "HO" => {
            r.has_ho = true;
            if !need(f, 6) {
                u.rejected.get_or_insert("UKE_TRUNCATED");
                return err(
                    u,
                    "UKE_TRUNCATED",
                    Some("record"),
                    "HO record has too few fields",
                );
            }
            let insurer = f[1].trim();
            if !(6..=8).contains(&insurer.len()) || !checkdigit::is_valid(insurer) {
                u.rejected.get_or_insert("UKE_CHECK_DIGIT");
                return err(
                    u,
                    "UKE_CHECK_DIGIT",
                    Some("insurer_number"),
                    "保険者番号 has a wrong check digit or length",
                );
            }
            if f[3].trim().is_empty() {
                u.rejected.get_or_insert("UKE_MISSING_FIELD");
                return err(u, "UKE_MISSING_FIELD", Some("number"), "HO has no 番号");
            }
            u.identity.insurer = opt(f.get(1));
            u.identity.symbol = opt(f.get(2));
            u.identity.number = opt(f.get(3));
            r.declared = num(5);
            if let Header::Receipt { days, .. } = &mut u.header {
                *days = num(4).and_then(|d| i32::try_from(d).ok());
            }
            None
        }
        "KO" => {
            let payer = f.get(1).map(|s| s.trim()).unwrap_or("");
            if payer.len() != 8 || !checkdigit::is_valid(payer) {
                return err(
                    u,
                    "UKE_CHECK_DIGIT",
                    Some("kohi_payer_number"),
                    "公費負担者番号 has a wrong check digit or length",
                );
            }
            if let Header::Receipt { kohi, .. } = &mut u.header {
                *kohi += 1;
            }
            if !r.has_ho && r.declared.is_none() {
                r.declared = num(5);
            }
            None
        }
        "SN" => {
            let branch = f.get(6).map(|s| s.trim()).unwrap_or("");
            if !(branch.is_empty()
                || branch.len() <= 2 && branch.bytes().all(|b| b.is_ascii_digit()))
            {
                return err(u, "UKE_BAD_CODE", Some("branch"), "枝番 is not two digits");
            }
            if !branch.is_empty() {
                u.identity.branch = Some(branch.to_string());
            }
            None
        }
        "SY" => {
            let code = f.get(1).map(|s| s.trim()).unwrap_or("");
            if code.len() != 7 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return err(
                    u,
                    "UKE_BAD_CODE",
                    Some("diagnosis_code"),
                    "傷病名コード is not seven digits",
                );
            }
            let name = (code == "0000999").then(|| opt(f.get(5))).flatten();
            u.details.push(Detail::Diagnosis {
                code: code.to_string(),
                icd10: None,
                name,
                start: f.get(2).and_then(|s| date(s.trim())),
                outcome: opt(f.get(3)),
                main: f.get(6).map(|s| s.trim()) == Some("01"),
            });
            None
        }
        "SB" => {
            u.details.push(Detail::Diagnosis {
                code: f.get(1).map(|s| s.trim().to_string()).unwrap_or_default(),
                icd10: opt(f.get(2)),
                name: None,
                start: None,
                outcome: None,
                main: f.get(4).map(|s| s.trim()) == Some("01"),
            });
            None
        }
        "BU" => {
            if let Header::Receipt {
                dpc_code,
                admission,
                discharge,
                dpc_outcome,
                died,
                ..
            } = &mut u.header
            {
                *dpc_code = opt(f.get(1));
                *admission = f.get(2).and_then(|s| date(s.trim())).or(*admission);
                *discharge = f.get(3).and_then(|s| date(s.trim()));
                *dpc_outcome = opt(f.get(4));
                *died = f
                    .get(5)
                    .map(|s| s.trim() == "1")
                    .filter(|_| f.get(5).is_some_and(|s| !s.trim().is_empty()));
            }
            None
        }
        "KI" => {
            // 調剤 fees: KI,<調剤行為コード>,<点数>,<回数>.
            let (p, c) = (num(2), num(3));
            r.summed += p.unwrap_or(0) * c.unwrap_or(0);
            u.details.push(Detail::Procedure {
                kind: None,
                code: f.get(1).map(|s| s.trim().to_string()).unwrap_or_default(),
                points: p,
                count: c.and_then(|c| i32::try_from(c).ok()),
            });
            None
        }
        "SI" | "IY" | "TO" => {
            if !need(f, 7) {
                return err(
                    u,
                    "UKE_TRUNCATED",
                    Some("record"),
                    "record has too few fields",
                );
            }
            let code = f[3].trim();
            if code.len() != 9 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return err(u, "UKE_BAD_CODE", Some("code"), "code is not nine digits");
            }
            let (p, c) = (num(5), num(6));
            r.summed += p.unwrap_or(0) * c.unwrap_or(0);
            let count = c.and_then(|c| i32::try_from(c).ok());
            let kind_field = opt(f.get(1));
            u.details.push(match tag {
                "SI" => Detail::Procedure {
                    kind: kind_field,
                    code: code.to_string(),
                    points: p,
                    count,
                },
                "IY" => Detail::Drug {
                    kind: kind_field,
                    code: code.to_string(),
                    quantity: f[4].trim().parse().ok(),
                    points: p,
                    count,
                    date: None,
                },
                _ => Detail::Material {
                    code: code.to_string(),
                    quantity: f[4].trim().parse().ok(),
                    points: p,
                    count,
                },
            });
            None
        }
        _ => {
            u.details.push(Detail::Other {
                record: tag.to_string(),
                fields: i32::try_from(f.len()).unwrap_or(i32::MAX),
            });
            None
        }
    }
}
