//! 特定健診 checkup files (HL7 CDA R2, "hc08"), read with a streaming XML reader: one document
//! a unit (line 0), plus a submission's `index.xml` and `summary.xml` as file-level records.
//!
//! A document gives one `ClinicalDocument` mark and one `observation` mark per `<observation>`.
//! The header gives the identity (`recordTarget/patientRole/id` with roots `…6.101` 保険者番号,
//! `…6.204` 記号, `…6.205` 番号; `patient/name` kana; `administrativeGenderCode`; `birthTime`), the
//! checkup date (document `effectiveTime`, else `serviceEvent/effectiveTime`) and the institution
//! (author id, else custodian id). Every observation coded in `1.2.392.200119.6.1005` (JLAC10, 17
//! characters) becomes a [`Detail::Observation`](crate::Detail::Observation) (PQ value and unit, CD code; ST text dropped).
//!
//! Reason codes. Errors that reject the document: `CDA_BAD_XML`, `CDA_BAD_ENCODING`,
//! `CDA_NOT_CDA`, `CDA_NO_INSURER`, `CDA_CHECK_DIGIT`, `CDA_BAD_INSURER`, `CDA_MISSING_FIELD`,
//! `CDA_BAD_SEX`, `CDA_BAD_DATE`. Errors that quarantine one observation: `CDA_BAD_CODE`,
//! `CDA_BAD_VALUE`, `CDA_MISSING_FIELD`. Warnings: `CDA_NO_NAME`, `CDA_BAD_INSTITUTION`,
//! `CDA_OTHER_CODE_SYSTEM`, `CDA_BAD_DATE` (observation time), `CDA_NO_COUNT`, `CDA_BAD_NUMBER`,
//! `CDA_COUNT_MISMATCH` (declared `totalRecordCount` ≠ documents in `DATA/`), `CDA_NO_INDEX`,
//! `CDA_NO_SUMMARY`.

use std::borrow::Cow;
use std::path::Path;

use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};

use crate::check::western;
use crate::model::{FileRecords, Parsed};
use crate::{Error, FileRef, Issue, Mark, Result};

const OID_INSURER: &str = "1.2.392.200119.6.101";
const OID_SYMBOL: &str = "1.2.392.200119.6.204";
const OID_NUMBER: &str = "1.2.392.200119.6.205";
/// Code system of the result items (JLAC10 17-character codes).
const OID_ITEMS: &str = "1.2.392.200119.6.1005";
const DOC: &str = "ClinicalDocument";
const OBS: &str = "observation";

mod document;

pub use document::parse_document;

/// Parses one checkup file: a document gives one unit; `index.xml` or `summary.xml` (recognised
/// by its root element, else by its name) gives a file-level record, checked against the number
/// of documents in the submission's `DATA/` folder.
pub fn parse_file(path: &Path, file: FileRef) -> Result<Parsed> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let kind = root_name(&bytes).or_else(|| {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        Some(name.strip_suffix(".xml").unwrap_or(&name).to_string())
    });
    let record = match kind.as_deref() {
        Some(k @ ("index" | "summary")) => k,
        _ => {
            return Ok(Parsed {
                units: vec![parse_document(bytes, file)],
                file: FileRecords::default(),
            });
        }
    };
    let (mut records, declared) = parse_submission_file(&bytes, record);
    if let (Some(n), Some(folder)) = (declared, path.parent()) {
        records
            .issues
            .extend(count_issue(record, n, documents_in(folder)?));
    }
    Ok(Parsed {
        units: Vec::new(),
        file: records,
    })
}

/// Checks a submission folder's `index.xml` and `summary.xml` against the documents in `DATA/`
/// ([`parse_file`] of those files reports the same; use this to check a folder on its own).
pub fn check_submission(folder: &Path) -> Result<Vec<Issue>> {
    let found = documents_in(folder)?;
    let mut issues = Vec::new();
    for (record, code) in [("index", "CDA_NO_INDEX"), ("summary", "CDA_NO_SUMMARY")] {
        let path = folder.join(format!("{record}.xml"));
        match std::fs::read(&path) {
            Ok(bytes) => {
                let (records, declared) = parse_submission_file(&bytes, record);
                issues.extend(records.issues);
                issues.extend(declared.and_then(|n| count_issue(record, n, found)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                issues.push(Issue::warning(
                    code,
                    record,
                    None,
                    0,
                    format!("the submission has no {record}.xml"),
                ));
            }
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(issues)
}

/// The number of `*.xml` documents in `folder/DATA` (0 if there is no such folder).
pub fn documents_in(folder: &Path) -> Result<u64> {
    let data = folder.join("DATA");
    let entries = match std::fs::read_dir(&data) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(data, e)),
    };
    let mut n = 0;
    for entry in entries {
        let p = entry.map_err(|e| Error::io(&data, e))?.path();
        if p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")) {
            n += 1;
        }
    }
    Ok(n)
}

fn count_issue(record: &str, declared: u64, found: u64) -> Option<Issue> {
    (declared != found).then(|| {
        let msg = format!("{record} declares {declared} documents, DATA holds {found}");
        Issue::warning(
            "CDA_COUNT_MISMATCH",
            record,
            Some("totalRecordCount"),
            0,
            msg,
        )
    })
}

/// Reads `index.xml` or `summary.xml` (`record` is `"index"` or `"summary"`): its mark, and its
/// declared `totalRecordCount`.
pub fn parse_submission_file(bytes: &[u8], record: &str) -> (FileRecords, Option<u64>) {
    let mut out = FileRecords::default();
    let mut declared = None;
    let mut value = None;
    let result = xml_text(bytes)
        .ok_or(("CDA_BAD_ENCODING", "the file is neither UTF-8 nor CP932"))
        .and_then(|text| {
            let mut reader = Reader::from_str(&text);
            let mut depth = 0usize;
            loop {
                let ev = reader
                    .read_event()
                    .map_err(|e| ("CDA_BAD_XML", xml_problem(&e)))?;
                match &ev {
                    Event::Start(e) | Event::Empty(e) => {
                        depth += usize::from(matches!(ev, Event::Start(_)));
                        if e.local_name().as_ref() == b"totalRecordCount" {
                            let a = attrs(e, reader.decoder())
                                .map_err(|e| ("CDA_BAD_XML", xml_problem(&e)))?;
                            value = a.into_iter().find(|a| a.0 == "value").map(|a| a.2);
                        }
                    }
                    Event::End(_) => depth = depth.saturating_sub(1),
                    Event::Eof if depth > 0 => {
                        return Err(("CDA_BAD_XML", "the file ends inside an element"));
                    }
                    Event::Eof => return Ok(()),
                    _ => {}
                }
            }
        });
    let mut quarantined = None;
    match result {
        Err((code, msg)) => {
            out.issues.push(Issue::error(code, record, None, 0, msg));
            out.raw.push((0, bytes.to_vec()));
            quarantined = Some(code);
        }
        Ok(()) => match value.map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) => declared = Some(n),
            Some(Err(_)) => out.issues.push(Issue::warning(
                "CDA_BAD_NUMBER",
                record,
                Some("totalRecordCount"),
                0,
                "totalRecordCount is not an integer",
            )),
            None => out.issues.push(Issue::warning(
                "CDA_NO_COUNT",
                record,
                Some("totalRecordCount"),
                0,
                "totalRecordCount is missing",
            )),
        },
    }
    out.marks.push(Mark {
        record: record.to_string(),
        line: 0,
        quarantined,
    });
    (out, declared)
}

/// Attributes as (local name, prefixed, unescaped value).
type Attrs = Vec<(String, bool, String)>;

/// The attributes of `e`.
fn attrs(e: &BytesStart<'_>, decoder: Decoder) -> Result<Attrs, quick_xml::Error> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a?;
        let value = a.decode_and_unescape_value(decoder)?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        out.push((key, a.key.prefix().is_some(), value.into_owned()));
    }
    Ok(out)
}

/// The kind of problem, without any text from the document.
fn xml_problem(e: &quick_xml::Error) -> &'static str {
    match e {
        quick_xml::Error::Syntax(_) => "XML syntax error",
        quick_xml::Error::IllFormed(_) => "XML is not well-formed (unmatched or missing tags)",
        quick_xml::Error::InvalidAttr(_) => "malformed XML attribute",
        quick_xml::Error::Encoding(_) => "invalid character encoding in XML",
        quick_xml::Error::Escape(_) => "invalid XML escape",
        _ => "unreadable XML",
    }
}

/// The document as text: CP932 when its declaration says so, else UTF-8 (BOM allowed).
fn xml_text(bytes: &[u8]) -> Option<Cow<'_, str>> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).to_ascii_lowercase();
    let decl = head.split("?>").next().unwrap_or("");
    if ["shift_jis", "windows-31j", "cp932", "sjis"]
        .iter()
        .any(|e| decl.contains(e))
    {
        return encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes);
    }
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(b).ok().map(Cow::Borrowed)
}

/// The local name of the root element, if the document can be read that far.
fn root_name(bytes: &[u8]) -> Option<String> {
    let text = xml_text(bytes)?;
    let mut reader = Reader::from_str(&text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// An HL7 TS (`YYYYMMDD`, optionally followed by a time) as a date.
fn hl7_date(s: &str) -> Option<NaiveDate> {
    let d = s
        .get(..8)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
    western(&d[0..4], &d[4..6], &d[6..8])
}

/// Full-width digits (０–９) as ASCII; other characters unchanged.
fn ascii_digits(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| {
            if ('０'..='９').contains(&c) {
                char::from(b'0' + (c as u32 - '０' as u32) as u8)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_digits() {
        assert_eq!(hl7_date("20230425"), NaiveDate::from_ymd_opt(2023, 4, 25));
        assert_eq!(
            hl7_date("20230425103000+0900"),
            NaiveDate::from_ymd_opt(2023, 4, 25)
        );
        assert_eq!(hl7_date("20230431"), None);
        assert_eq!(hl7_date("2023"), None);
        assert_eq!(ascii_digits("０６１３０４８８"), "06130488");
        assert_eq!(ascii_digits("12Ａ"), "12Ａ");
    }

    #[test]
    fn encodings() {
        assert_eq!(xml_text(b"\xEF\xBB\xBF<a/>").as_deref(), Some("<a/>"));
        let sjis = b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><a>\x82\xa0</a>";
        assert!(xml_text(sjis).is_some_and(|t| t.contains('あ')));
        assert!(xml_text(b"<a>\x82\xff</a>").is_none());
        assert_eq!(
            root_name(b"<?xml version=\"1.0\"?><x:index xmlns:x='u'/>").as_deref(),
            Some("index")
        );
    }

    #[test]
    fn submission_counts() {
        let (r, n) =
            parse_submission_file(b"<index><totalRecordCount value=\"3\"/></index>", "index");
        assert_eq!((n, r.marks.len(), r.issues.len()), (Some(3), 1, 0));
        let (r, n) = parse_submission_file(
            b"<summary><totalRecordCount value=\"3\"></summary>",
            "summary",
        );
        assert_eq!((n, r.marks[0].quarantined), (None, Some("CDA_BAD_XML")));
        assert_eq!(
            count_issue("index", 3, 2).map(|i| i.code),
            Some("CDA_COUNT_MISMATCH")
        );
    }
}
