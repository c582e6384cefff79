//! One CDA document read into its unit: the header identity, the checkup date and institution,
//! and every observation.

use chrono::{Datelike, NaiveDate};
use niji_core::Source;
use quick_xml::Reader;
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};

use super::{
    Attrs, DOC, OBS, OID_INSURER, OID_ITEMS, OID_NUMBER, OID_SYMBOL, ascii_digits, attrs, hl7_date,
    xml_problem, xml_text,
};
use crate::check::{InsurerProblem, insurer_problem};
use crate::{Detail, FileRef, Header, Issue, Mark, RawIdentity, Severity, Unit};

/// Parses one CDA document (the whole file's bytes) into its unit.
pub fn parse_document(bytes: Vec<u8>, file: FileRef) -> Unit {
    let mut doc = Doc::default();
    let outcome = match xml_text(&bytes) {
        None => Err((
            "CDA_BAD_ENCODING",
            "the document is neither UTF-8 nor CP932".to_string(),
        )),
        Some(text) => doc.read(&text),
    };
    let mut unit = Unit {
        source: Source::NdbCheckup,
        file,
        line: 0,
        service_month: None,
        facility: None,
        identity: RawIdentity::default(),
        header: Header::Checkup {
            date: None,
            institution: None,
        },
        details: Vec::new(),
        issues: Vec::new(),
        marks: Vec::new(),
        raw: Vec::new(),
        rejected: None,
    };
    if let Err((code, msg)) = outcome {
        // The structure is unknown past the error: count the observations by their tags.
        unit.issues.push(Issue::error(code, DOC, None, 0, msg));
        unit.rejected = Some(code);
        unit.marks.push(Mark {
            record: DOC.into(),
            line: 0,
            quarantined: Some(code),
        });
        let n = count_observation_tags(&bytes);
        unit.marks.extend((0..n).map(|_| Mark {
            record: OBS.into(),
            line: 0,
            quarantined: None,
        }));
        unit.raw = bytes;
        return unit;
    }
    let date = doc.date.or(doc.service_date);
    let header_issues = doc.header_issues(date);
    let rejected = header_issues
        .iter()
        .find(|i| i.severity == Severity::Error)
        .map(|i| i.code);
    unit.rejected = rejected;
    unit.marks.push(Mark {
        record: DOC.into(),
        line: 0,
        quarantined: rejected,
    });
    unit.marks.append(&mut doc.marks);
    unit.issues = header_issues;
    unit.issues.append(&mut doc.issues);
    unit.details = doc.details;
    unit.service_month = date.and_then(|d| d.with_day0(0));
    unit.facility = doc.institution.clone();
    unit.header = Header::Checkup {
        date,
        institution: doc.institution,
    };
    unit.identity = doc.identity;
    unit.raw = bytes;
    unit
}

/// State of a document being read.
#[derive(Default)]
struct Doc {
    stack: Vec<String>,
    identity: RawIdentity,
    kana: Option<String>,
    /// `None` when there is no `birthTime`, `Some(None)` when it is not a date.
    birth: Option<Option<NaiveDate>>,
    date: Option<NaiveDate>,
    bad_date: bool,
    service_date: Option<NaiveDate>,
    institution: Option<String>,
    custodian: Option<String>,
    obs: Vec<Obs>,
    marks: Vec<Mark>,
    details: Vec<Detail>,
    issues: Vec<Issue>,
}

/// An observation being read.
#[derive(Default)]
struct Obs {
    mark: usize,
    code: Option<(String, String)>,
    value: Option<f64>,
    value_code: Option<String>,
    unit: Option<String>,
    date: Option<NaiveDate>,
    issues: Vec<Issue>,
}

impl Doc {
    fn read(&mut self, text: &str) -> Result<(), (&'static str, String)> {
        let mut reader = Reader::from_str(text);
        let bad = |e: quick_xml::Error, pos: u64| {
            ("CDA_BAD_XML", format!("{} at byte {pos}", xml_problem(&e)))
        };
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    self.element(&e, reader.decoder())
                        .map_err(|x| bad(x, reader.buffer_position()))?;
                    self.stack
                        .push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                }
                Ok(Event::Empty(e)) => {
                    self.element(&e, reader.decoder())
                        .map_err(|x| bad(x, reader.buffer_position()))?;
                    if e.local_name().as_ref() == OBS.as_bytes() {
                        self.close_observation();
                    }
                }
                Ok(Event::End(_)) => {
                    if self.stack.pop().as_deref() == Some(OBS) {
                        self.close_observation();
                    }
                }
                Ok(Event::Text(t)) if self.in_name() => {
                    let s = t
                        .decode()
                        .map_err(|x| bad(x.into(), reader.buffer_position()))?;
                    self.kana.get_or_insert_default().push_str(&s);
                }
                Ok(Event::GeneralRef(r)) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = r.decode().unwrap_or_default();
                            let resolved = quick_xml::escape::resolve_predefined_entity(&name);
                            let msg = "undefined entity reference";
                            resolved
                                .ok_or(("CDA_BAD_XML", msg.to_string()))?
                                .to_string()
                        }
                        Err(_) => {
                            return Err(("CDA_BAD_XML", "invalid character reference".into()));
                        }
                    };
                    if self.in_name() {
                        self.kana.get_or_insert_default().push_str(&c);
                    }
                }
                Ok(Event::Eof) if self.stack.is_empty() => return Ok(()),
                Ok(Event::Eof) => {
                    return Err(("CDA_BAD_XML", "the document ends inside an element".into()));
                }
                Ok(_) => {}
                Err(e) => return Err(bad(e, reader.error_position())),
            }
            if self.stack.len() == 1 && self.stack[0] != DOC {
                return Err((
                    "CDA_NOT_CDA",
                    "the root element is not ClinicalDocument".into(),
                ));
            }
        }
    }

    fn in_name(&self) -> bool {
        self.stack.ends_with(&["patient".into(), "name".into()])
    }

    fn under(&self, path: &[&str]) -> bool {
        self.stack.len() >= path.len()
            && self.stack[self.stack.len() - path.len()..]
                .iter()
                .zip(path)
                .all(|(a, b)| a == b)
    }

    /// A start or empty element: reads what the unit needs from its attributes.
    fn element(&mut self, e: &BytesStart<'_>, decoder: Decoder) -> Result<(), quick_xml::Error> {
        let name = e.local_name();
        let attrs = |e: &BytesStart<'_>| attrs(e, decoder);
        let attr = |a: &Attrs, k: &str| {
            a.iter()
                .find(|x| x.0 == k && !x.1)
                .map(|x| x.2.trim().to_string())
        };
        match name.as_ref() {
            b"observation" => {
                self.marks.push(Mark {
                    record: OBS.into(),
                    line: 0,
                    quarantined: None,
                });
                self.obs.push(Obs {
                    mark: self.marks.len() - 1,
                    ..Obs::default()
                });
            }
            b"id" if self.under(&["recordTarget", "patientRole"]) => {
                let a = attrs(e)?;
                let ext = attr(&a, "extension").filter(|s| !s.is_empty());
                let slot = match attr(&a, "root").as_deref() {
                    Some(OID_INSURER) => &mut self.identity.insurer,
                    Some(OID_SYMBOL) => &mut self.identity.symbol,
                    Some(OID_NUMBER) => &mut self.identity.number,
                    _ => return Ok(()),
                };
                if slot.is_none() {
                    *slot = ext;
                }
            }
            b"administrativeGenderCode" if self.under(&["patient"]) => {
                self.identity.sex = Some(attr(&attrs(e)?, "code").unwrap_or_default());
            }
            b"birthTime" if self.under(&["patient"]) => {
                let v = attr(&attrs(e)?, "value").unwrap_or_default();
                let d = hl7_date(&v);
                self.identity.birth = Some(if d.is_some() { v[..8].to_string() } else { v });
                self.birth = Some(d);
            }
            b"effectiveTime" if self.stack.len() == 1 => {
                let v = attr(&attrs(e)?, "value").unwrap_or_default();
                self.date = hl7_date(&v);
                self.bad_date = self.date.is_none();
            }
            b"effectiveTime" if self.under(&["documentationOf", "serviceEvent"]) => {
                self.service_date = attr(&attrs(e)?, "value").and_then(|v| hl7_date(&v));
            }
            b"effectiveTime" if self.under(&[OBS]) => {
                let v = attr(&attrs(e)?, "value");
                if let Some(o) = self.obs.last_mut() {
                    o.date = v.as_deref().and_then(hl7_date);
                    if o.date.is_none() && v.is_some_and(|v| !v.is_empty()) {
                        o.issues.push(Issue::warning(
                            "CDA_BAD_DATE",
                            OBS,
                            Some("effectiveTime"),
                            0,
                            "observation time is not a valid date",
                        ));
                    }
                }
            }
            b"id" if self.under(&["author", "assignedAuthor"]) && self.institution.is_none() => {
                self.institution = attr(&attrs(e)?, "extension").filter(|s| !s.is_empty());
            }
            b"id"
                if self.under(&["representedCustodianOrganization"])
                    && self.custodian.is_none() =>
            {
                self.custodian = attr(&attrs(e)?, "extension").filter(|s| !s.is_empty());
            }
            b"code" if self.under(&[OBS]) => {
                let a = attrs(e)?;
                if let Some(o) = self.obs.last_mut() {
                    o.code =
                        attr(&a, "code").map(|c| (c, attr(&a, "codeSystem").unwrap_or_default()));
                }
            }
            b"value" if self.under(&[OBS]) => {
                let a = attrs(e)?;
                let Some(o) = self.obs.last_mut() else {
                    return Ok(());
                };
                let ty = a
                    .iter()
                    .find(|x| x.0 == "type" && x.1)
                    .map(|x| x.2.as_str());
                if attr(&a, "nullFlavor").is_some() {
                    return Ok(());
                }
                match ty {
                    Some("PQ" | "INT" | "REAL") | None if attr(&a, "value").is_some() => {
                        o.value = attr(&a, "value")
                            .and_then(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()));
                        o.unit = attr(&a, "unit").filter(|u| !u.is_empty());
                        if o.value.is_none() {
                            o.issues.push(Issue::error(
                                "CDA_BAD_VALUE",
                                OBS,
                                Some("value"),
                                0,
                                "numeric value does not parse",
                            ));
                        }
                    }
                    Some("CD" | "CO" | "CE" | "CV") | None => o.value_code = attr(&a, "code"),
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn close_observation(&mut self) {
        let Some(mut o) = self.obs.pop() else { return };
        let detail = match o.code.take() {
            None => {
                o.issues.push(Issue::error(
                    "CDA_MISSING_FIELD",
                    OBS,
                    Some("code"),
                    0,
                    "observation has no code",
                ));
                None
            }
            Some((code, system)) if system == OID_ITEMS => {
                if !(code.len() == 17
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
                {
                    o.issues.push(Issue::error(
                        "CDA_BAD_CODE",
                        OBS,
                        Some("code"),
                        0,
                        "result code is not a 17-character JLAC10 code",
                    ));
                }
                Some(Detail::Observation {
                    code,
                    value: o.value,
                    value_code: o.value_code,
                    unit: o.unit,
                    date: o.date.or(self.date),
                })
            }
            Some(_) => {
                o.issues.push(Issue::warning(
                    "CDA_OTHER_CODE_SYSTEM",
                    OBS,
                    Some("codeSystem"),
                    0,
                    "observation code is not in the checkup item code system",
                ));
                Some(Detail::Other {
                    record: OBS.into(),
                    fields: 0,
                })
            }
        };
        let quarantined = o
            .issues
            .iter()
            .find(|i| i.severity == Severity::Error)
            .map(|i| i.code);
        self.marks[o.mark].quarantined = quarantined;
        if let (None, Some(d)) = (quarantined, detail) {
            self.details.push(d);
        }
        self.issues.append(&mut o.issues);
    }

    /// Validates the header; errors reject the document.
    fn header_issues(&mut self, date: Option<NaiveDate>) -> Vec<Issue> {
        let mut v = Vec::new();
        let e = |code, field, msg: &str| Issue::error(code, DOC, Some(field), 0, msg);
        let id = &self.identity;
        match id
            .insurer
            .as_deref()
            .map(|s| insurer_problem(&ascii_digits(s.trim()), &[6, 8]))
        {
            None => v.push(e(
                "CDA_NO_INSURER",
                "insurer",
                "the document has no insurer number",
            )),
            Some(Some(InsurerProblem::Format)) => v.push(e(
                "CDA_BAD_INSURER",
                "insurer",
                "insurer number is not 6 or 8 digits",
            )),
            Some(Some(InsurerProblem::CheckDigit)) => v.push(e(
                "CDA_CHECK_DIGIT",
                "insurer",
                "check digit of the insurer number is wrong",
            )),
            Some(None) => {}
        }
        if id.number.is_none() {
            v.push(e(
                "CDA_MISSING_FIELD",
                "number",
                "the document has no insured number",
            ));
        }
        match id.sex.as_deref() {
            None => v.push(e(
                "CDA_MISSING_FIELD",
                "administrativeGenderCode",
                "the document has no sex",
            )),
            Some("1" | "2") => {}
            Some(_) => v.push(e(
                "CDA_BAD_SEX",
                "administrativeGenderCode",
                "sex is not 1 or 2",
            )),
        }
        match self.birth {
            None => v.push(e(
                "CDA_MISSING_FIELD",
                "birthTime",
                "the document has no birth date",
            )),
            Some(None) => v.push(e(
                "CDA_BAD_DATE",
                "birthTime",
                "birth date is not a valid date",
            )),
            Some(Some(_)) => {}
        }
        if date.is_none() {
            v.push(if self.bad_date {
                e(
                    "CDA_BAD_DATE",
                    "effectiveTime",
                    "checkup date is not a valid date",
                )
            } else {
                e(
                    "CDA_MISSING_FIELD",
                    "effectiveTime",
                    "the document has no checkup date",
                )
            });
        }
        self.identity.kana = self
            .kana
            .take()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
        if self.identity.kana.is_none() {
            v.push(Issue::warning(
                "CDA_NO_NAME",
                DOC,
                Some("name"),
                0,
                "the document has no kana name",
            ));
        }
        self.institution = self.institution.take().or(self.custodian.take());
        if !self
            .institution
            .as_deref()
            .is_some_and(|i| i.len() == 10 && i.bytes().all(|b| b.is_ascii_digit()))
        {
            v.push(Issue::warning(
                "CDA_BAD_INSTITUTION",
                DOC,
                Some("institution"),
                0,
                "institution number is missing or not 10 digits",
            ));
        }
        v
    }
}

/// Occurrences of an `<observation` (optionally prefixed) start or empty tag.
fn count_observation_tags(bytes: &[u8]) -> usize {
    let mut n = 0;
    for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'<') {
        let rest = &bytes[i + 1..];
        let name_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
            .count();
        let name = &rest[..name_len];
        let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
        let ends = rest
            .get(name_len)
            .is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'));
        if local == OBS.as_bytes() && ends {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"<ClinicalDocument><effectiveTime value="20230425"/><recordTarget><patientRole><id root="1.2.392.200119.6.101" extension="０６１３０４８８"/><id root="1.2.392.200119.6.205" extension="1"/><patient><name>ｱ&amp;&#x30A2;</name><administrativeGenderCode code="2"/><birthTime value="19500101"/></patient></patientRole></recordTarget><author><assignedAuthor><id extension="2810000026"/></assignedAuthor></author><entry><observation><code code="3D046000001906202" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="ST" value="x"/></observation></entry></ClinicalDocument>"#;

    #[test]
    fn a_minimal_document_with_references_and_full_width_insurer() {
        let file = FileRef {
            path: "t.xml".into(),
        };
        let u = parse_document(MINI.as_bytes().to_vec(), file.clone());
        assert!(
            u.issues.is_empty() && u.rejected.is_none(),
            "{:?}",
            u.issues
        );
        assert_eq!(u.identity.kana.as_deref(), Some("ｱ&ア"));
        assert_eq!(u.facility.as_deref(), Some("2810000026"));
        let Detail::Observation {
            value, value_code, ..
        } = &u.details[0]
        else {
            panic!()
        };
        assert_eq!((value, value_code), (&None, &None), "ST values are dropped");
        let bad = parse_document(MINI.replace("&amp;", "&bogus;").into_bytes(), file);
        assert_eq!((bad.rejected, bad.marks.len()), (Some("CDA_BAD_XML"), 2));
    }

    #[test]
    fn counts_observation_tags() {
        let x = b"<a><observation x='1'><observation/></observation><hl7:observation>\
                  <observationRange/><observation\n></a>";
        assert_eq!(count_observation_tags(x), 4);
    }
}
