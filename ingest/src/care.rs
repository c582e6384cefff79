//! 介護給付費明細書 (care claim) CSV files: CP932, CRLF, a control record `1,…`, data records
//! `2,<recno>,<form>,<kind>,…` and an end record `3,<recno>`, read one line at a time.
//!
//! # The shape every parser returns
//!
//! Each parser turns one file into [`Unit`]s and one [`FileRecords`]:
//! - a unit is what lands or is quarantined as a whole (here a 基本 record with its 明細; a CDA
//!   document; a FHIR bundle). `unit.marks` has one [`Mark`] per record of the unit, in file order
//!   (for line formats, the lines of `unit.raw` in the same order); `mark.quarantined` is set when
//!   that record alone is quarantined while the unit lands; `unit.rejected` is set when the unit
//!   is unusable as a whole (no usable birth date or sex, a bad check digit, broken structure).
//! - [`FileRecords`] holds one mark per record outside every unit (here control, end, orphan and
//!   unknown records), the raw bytes of those quarantined, and file-level issues (counts, order).
//!
//! Streaming formats give a reader ([`CareReader`]): an iterator of `Result<Unit>` (an `Err` is an
//! I/O failure and ends the stream) followed by [`CareReader::finish`] for the file's records;
//! [`parse`] drives it with a callback. [`parse_file`] collects both into a [`Parsed`];
//! whole-document formats (CDA, FHIR) offer the same `parse_file`. Data problems are never `Err`: they are [`Issue`]s with stable reason codes
//! whose messages name fields, never values.
//!
//! # Layout (see `niji_synth`'s care module)
//! 基本 01: 4 サービス提供年月, 5 事業所番号, 6 保険者番号, 7 被保険者番号, 8 生年月日, 9 性別,
//! 10 要介護状態区分, 11–12 認定有効期間, 13 計画作成区分, 14 開始日, 15 中止日, 16 単位数合計,
//! 17 医療保険個人単位被保険者番号 `保険者番号:記号:番号:枝番` (optional). 明細 02: 4–7 as 基本,
//! 8 サービス種類コード, 9 サービス項目コード, 10 単位数, 11 日数・回数, 12 サービス単位数, 13 摘要.
//! A unit is a 基本 and the data records that follow it for the same 被保険者番号 and month; other
//! kinds (10 集計 …) join it as [`Detail::Other`](crate::Detail::Other).
//!
//! # Reason codes
//! Errors: `CARE_BAD_ENCODING`, `CARE_TRUNCATED`, `CARE_MISSING_FIELD`, `CARE_BAD_DATE` (service
//! month, birth date), `CARE_BAD_SEX`, `CARE_BAD_INSURER`, `CARE_CHECK_DIGIT`,
//! `CARE_BAD_SERVICE_CODE`, `CARE_ORPHAN_RECORD`, `CARE_UNKNOWN_RECORD`. Warnings: `CARE_BAD_DATE`
//! (other dates), `CARE_BAD_CODE`, `CARE_BAD_NUMBER`, `CARE_BAD_INSURED_NUMBER`,
//! `CARE_BAD_MEDICAL_NUMBER`, `CARE_UNITS_MISMATCH`, `CARE_RECNO_SEQUENCE`,
//! `CARE_COUNT_MISMATCH`, `CARE_NO_CONTROL`, `CARE_NO_END_RECORD`, `CARE_AFTER_END`,
//! `CARE_CHECK_DIGIT` (control record).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

mod claim;

use crate::check::{InsurerProblem, insurer_problem, is_code, is_digits, ym};
use claim::Claim;

use crate::model::{FileRecords, Parsed};
use crate::{Error, FileRef, Issue, Mark, Result, Severity, Unit};

/// Opens a care claim file for streaming.
pub fn open(path: &Path, file: FileRef) -> Result<CareReader<BufReader<File>>> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(CareReader::new(
        BufReader::with_capacity(1 << 16, f),
        path,
        file,
    ))
}

/// Parses a whole care claim file (its units are held in memory: use [`open`] for large files).
pub fn parse_file(path: &Path, file: FileRef) -> Result<Parsed> {
    let mut reader = open(path, file)?;
    let units = reader.by_ref().collect::<Result<Vec<_>>>()?;
    Ok(Parsed {
        units,
        file: reader.finish(),
    })
}

/// Streams `reader`, handing each unit to `emit` as soon as it is complete (the same shape as
/// `uke::parse`), and returns the file-level records. I/O errors and errors of `emit` stop it.
pub fn parse(
    reader: impl BufRead,
    file: &FileRef,
    emit: &mut dyn FnMut(Unit) -> Result<()>,
) -> Result<FileRecords> {
    let path = PathBuf::from(&*file.path);
    let mut r = CareReader::new(reader, &path, file.clone());
    for unit in r.by_ref() {
        emit(unit?)?;
    }
    Ok(r.finish())
}

/// Streams the units of a care claim file; see the module doc.
pub struct CareReader<R> {
    input: R,
    path: PathBuf,
    file: FileRef,
    line: u64,
    buf: Vec<u8>,
    claim: Option<Claim>,
    ready: VecDeque<Unit>,
    done: bool,
    out: FileRecords,
    /// The open control record: (line, declared 件数, data records seen since).
    control: Option<(u64, Option<u64>, u64)>,
    saw_control: bool,
    end_line: Option<u64>,
    after_end: bool,
    records: u64,
    next_recno: u64,
}

impl<R> std::fmt::Debug for CareReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CareReader")
            .field("path", &self.path)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> CareReader<R> {
    /// Reads `input`; `path` names the file in I/O errors.
    pub fn new(input: R, path: &Path, file: FileRef) -> Self {
        CareReader {
            input,
            path: path.to_path_buf(),
            file,
            line: 0,
            buf: Vec::new(),
            claim: None,
            ready: VecDeque::new(),
            done: false,
            out: FileRecords::default(),
            control: None,
            saw_control: false,
            end_line: None,
            after_end: false,
            records: 0,
            next_recno: 1,
        }
    }

    /// The file's records outside units and its file-level issues. Call it once the iterator has
    /// returned `None` (or an `Err`).
    pub fn finish(self) -> FileRecords {
        debug_assert!(self.done, "CareReader::finish before the end of the file");
        self.out
    }

    fn record(&mut self, raw: &[u8]) {
        self.line += 1;
        let line = self.line;
        let body = strip_eol(raw);
        let (text, bad) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(body);
        let fields: Vec<&str> = text.split(',').collect();
        let rec = match fields[0] {
            "1" => "control".to_string(),
            "3" => "end".to_string(),
            "2" => fields
                .get(3)
                .filter(|k| is_code(k, 2))
                .map_or("data".to_string(), |k| k.to_string()),
            _ => "unknown".to_string(),
        };
        let mut issues = Vec::new();
        if bad {
            issues.push(Issue::error(
                "CARE_BAD_ENCODING",
                &rec,
                None,
                line,
                "the line is not valid CP932 (Windows-31J)",
            ));
        }
        if matches!(fields[0], "1" | "2" | "3") {
            self.records += 1;
        }
        if matches!(fields[0], "1" | "2") {
            match fields.get(1).and_then(|n| n.parse::<u64>().ok()) {
                Some(n) if n == self.next_recno => self.next_recno = n + 1,
                Some(n) => {
                    issues.push(Issue::warning(
                        "CARE_RECNO_SEQUENCE",
                        &rec,
                        Some("record_number"),
                        line,
                        "record number out of sequence",
                    ));
                    self.next_recno = n + 1;
                }
                None => {
                    issues.push(Issue::warning(
                        "CARE_BAD_NUMBER",
                        &rec,
                        Some("record_number"),
                        line,
                        "record number is not an integer",
                    ));
                    self.next_recno += 1;
                }
            }
        }
        match fields[0] {
            "1" => {
                self.close();
                self.control(raw, line, &fields, issues);
            }
            "2" => self.data(raw, line, &rec, &fields, issues),
            "3" => {
                self.close();
                self.end(raw, line, &fields, issues);
            }
            _ => {
                let msg = if body.is_empty() {
                    "empty line"
                } else {
                    "record ID is not 1, 2 or 3"
                };
                issues.push(Issue::error(
                    "CARE_UNKNOWN_RECORD",
                    &rec,
                    Some("record_id"),
                    line,
                    msg,
                ));
                self.file_record(raw, line, &rec, issues);
            }
        }
    }

    /// A record outside every unit: its mark (quarantined on the first error) and its issues.
    fn file_record(&mut self, raw: &[u8], line: u64, rec: &str, issues: Vec<Issue>) {
        let quarantined = first_error(&issues);
        if quarantined.is_some() {
            self.out.raw.push((line, raw.to_vec()));
        }
        self.out.marks.push(Mark {
            record: rec.to_string(),
            line,
            quarantined,
        });
        self.out.issues.extend(issues);
    }

    fn control(&mut self, raw: &[u8], line: u64, f: &[&str], mut issues: Vec<Issue>) {
        self.check_control_count();
        self.saw_control = true;
        let mut declared = None;
        if f.len() < 11 {
            issues.push(truncated("control", line));
        } else {
            declared = f[3].parse::<u64>().ok();
            if declared.is_none() {
                issues.push(Issue::warning(
                    "CARE_BAD_NUMBER",
                    "control",
                    Some("record_count"),
                    line,
                    "record count is not an integer",
                ));
            }
            if !f[6].is_empty()
                && let Some((code, msg)) = insurer_problem(f[6], &[6]).map(InsurerProblem::describe)
            {
                issues.push(Issue::warning(code, "control", Some("insurer"), line, msg));
            }
            if !is_digits(f[7], 10) {
                issues.push(Issue::warning(
                    "CARE_BAD_CODE",
                    "control",
                    Some("facility"),
                    line,
                    "facility number is not 10 digits",
                ));
            }
            if ym(f[10]).is_none() {
                issues.push(Issue::warning(
                    "CARE_BAD_DATE",
                    "control",
                    Some("processing_month"),
                    line,
                    "processing month is not a valid month",
                ));
            }
        }
        self.control = Some((line, declared, 0));
        self.file_record(raw, line, "control", issues);
    }

    fn end(&mut self, raw: &[u8], line: u64, f: &[&str], mut issues: Vec<Issue>) {
        self.check_control_count();
        if self.end_line.is_none() {
            self.end_line = Some(line);
        }
        match f.get(1).map(|n| n.parse::<u64>()) {
            None => issues.push(truncated("end", line)),
            Some(Err(_)) => issues.push(Issue::warning(
                "CARE_BAD_NUMBER",
                "end",
                Some("record_number"),
                line,
                "record number is not an integer",
            )),
            Some(Ok(n)) if n != self.records => issues.push(Issue::warning(
                "CARE_COUNT_MISMATCH",
                "end",
                Some("record_number"),
                line,
                format!(
                    "end record number {n} differs from the {} records read",
                    self.records
                ),
            )),
            Some(Ok(_)) => {}
        }
        self.file_record(raw, line, "end", issues);
    }

    fn data(&mut self, raw: &[u8], line: u64, rec: &str, f: &[&str], mut issues: Vec<Issue>) {
        if let Some(c) = &mut self.control {
            c.2 += 1;
        }
        if self.end_line.is_some() && !std::mem::replace(&mut self.after_end, true) {
            self.out.issues.push(Issue::warning(
                "CARE_AFTER_END",
                rec,
                None,
                line,
                "data records after the end record",
            ));
        }
        if rec == "01" {
            self.close();
            self.claim = Some(Claim::basic(self.file.clone(), raw, line, f, issues));
            return;
        }
        let key = key_of(f);
        let joins = self.claim.as_ref().is_some_and(|c| match (&c.key, &key) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        });
        if let (true, Some(claim)) = (joins, &mut self.claim) {
            claim.add(raw, line, rec, f, issues);
        } else {
            self.close();
            issues.push(Issue::error(
                "CARE_ORPHAN_RECORD",
                rec,
                None,
                line,
                "data record without a preceding 基本 record for the same person and month",
            ));
            self.file_record(raw, line, rec, issues);
        }
    }

    fn close(&mut self) {
        if let Some(c) = self.claim.take() {
            self.ready.push_back(c.finish());
        }
    }

    fn check_control_count(&mut self) {
        if let Some((line, Some(declared), found)) = self.control.take()
            && declared != found
        {
            self.out.issues.push(Issue::warning(
                "CARE_COUNT_MISMATCH",
                "control",
                Some("record_count"),
                line,
                format!("control record declares {declared} data records, the file holds {found}"),
            ));
        }
    }

    fn end_of_file(&mut self) {
        self.close();
        self.check_control_count();
        if !self.saw_control {
            self.out.issues.push(Issue::warning(
                "CARE_NO_CONTROL",
                "control",
                None,
                0,
                "the file has no control record",
            ));
        }
        if self.end_line.is_none() {
            self.out.issues.push(Issue::warning(
                "CARE_NO_END_RECORD",
                "end",
                None,
                self.line,
                "the file has no end record (cut short?)",
            ));
        }
    }
}

impl<R: BufRead> Iterator for CareReader<R> {
    type Item = Result<Unit>;

    fn next(&mut self) -> Option<Result<Unit>> {
        loop {
            if let Some(u) = self.ready.pop_front() {
                return Some(Ok(u));
            }
            if self.done {
                return None;
            }
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            match self.input.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    self.done = true;
                    self.end_of_file();
                }
                Ok(_) => self.record(&buf),
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io(&self.path, e)));
                }
            }
            self.buf = buf;
        }
    }
}

fn strip_eol(raw: &[u8]) -> &[u8] {
    let b = raw.strip_suffix(b"\n").unwrap_or(raw);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// `(サービス提供年月, 被保険者番号)` of a data record, if it has them.
fn key_of(f: &[&str]) -> Option<(String, String)> {
    Some((f.get(4)?.to_string(), f.get(7)?.to_string()))
}

fn first_error(issues: &[Issue]) -> Option<&'static str> {
    issues
        .iter()
        .find(|i| i.severity == Severity::Error)
        .map(|i| i.code)
}

fn truncated(rec: &str, line: u64) -> Issue {
    Issue::error(
        "CARE_TRUNCATED",
        rec,
        None,
        line,
        "record has too few fields",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_encoding() {
        assert_eq!(strip_eol(b"1,2\r\n"), b"1,2");
        assert_eq!(strip_eol(b"1,2\n"), b"1,2");
        assert_eq!(strip_eol(b"1,2"), b"1,2");
        let decode = |b: &[u8]| encoding_rs::SHIFT_JIS.decode_without_bom_handling(b).1;
        assert!(!decode(&[0x82, 0xA0]));
        assert!(decode(&[0x82, 0xFF]));
        assert!(
            !decode(&[0x87, 0x40]),
            "NEC extension ① decodes in Windows-31J"
        );
    }

    #[test]
    fn a_small_file_streams_its_units() {
        let text = "1,1,1,3,711,,286096,2870000004,28,3,202401,202401\r\n\
                    2,2,7131,01,202312,2870000004,286096,6302055939,19320618,2,22,20230802,20250801,1,,,1000,\r\n\
                    2,3,7131,02,202312,2870000004,286096,6302055939,13,1111,500,2,1000,x\r\n\
                    2,4,7131,10,202312,2870000004,286096,6302055939,1\r\n\
                    3,5\r\n";
        let mut r = CareReader::new(
            text.as_bytes(),
            Path::new("t.csv"),
            FileRef {
                path: "t.csv".into(),
            },
        );
        let units: Vec<Unit> = r.by_ref().map(|u| u.unwrap()).collect();
        let file = r.finish();
        assert_eq!(units.len(), 1);
        let u = &units[0];
        assert_eq!(
            u.marks
                .iter()
                .map(|m| m.record.as_str())
                .collect::<Vec<_>>(),
            ["01", "02", "10"]
        );
        assert!(u.issues.is_empty(), "{:?}", u.issues);
        assert_eq!(u.details.len(), 2);
        assert_eq!(u.identity.care_number.as_deref(), Some("6302055939"));
        assert_eq!(file.marks.len(), 2);
        assert!(file.issues.is_empty(), "{:?}", file.issues);
        let mut seen = Vec::new();
        let records = parse(
            text.as_bytes(),
            &FileRef {
                path: "t.csv".into(),
            },
            &mut |u| {
                seen.push(u.line);
                Ok(())
            },
        );
        assert_eq!(
            (seen, records.map(|r| r.marks.len()).ok()),
            (vec![2], Some(2))
        );
    }
}
