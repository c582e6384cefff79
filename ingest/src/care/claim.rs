//! The unit of a care claim file: a 基本 (01) record and the data records that follow it.

use niji_core::Source;

use super::{first_error, key_of, truncated};
use crate::check::{InsurerProblem, insurer_problem, is_code, is_digits, ym, ymd};
use crate::{Detail, FileRef, Header, Issue, Mark, RawIdentity, Unit};

/// A unit being built: the 基本's unit, its key (service month, 被保険者番号) and the totals to
/// cross-check.
pub(super) struct Claim {
    unit: Unit,
    pub(super) key: Option<(String, String)>,
    total: Option<i64>,
    /// Sum of the 明細 サービス単位数, `None` once a 明細 lacks one.
    sum: Option<i64>,
}

impl Claim {
    pub(super) fn basic(
        file: FileRef,
        raw: &[u8],
        line: u64,
        f: &[&str],
        mut issues: Vec<Issue>,
    ) -> Claim {
        let field = |i: usize| f.get(i).copied().unwrap_or("");
        let mut unit = Unit {
            source: Source::Care,
            file,
            line,
            service_month: None,
            facility: None,
            identity: RawIdentity::default(),
            header: Header::CareClaim {
                form: field(2).to_string(),
                care_level: None,
                cert_start: None,
                cert_end: None,
                units: None,
            },
            details: Vec::new(),
            issues: Vec::new(),
            marks: Vec::new(),
            raw: raw.to_vec(),
            rejected: None,
        };
        let mut total = None;
        if f.len() < 17 {
            issues.push(truncated("01", line));
        } else {
            let e = |code, field, msg: &str| Issue::error(code, "01", Some(field), line, msg);
            let w = |code, field, msg: &str| Issue::warning(code, "01", Some(field), line, msg);
            unit.service_month = ym(f[4]);
            if unit.service_month.is_none() {
                issues.push(missing_or(
                    f[4],
                    e(
                        "CARE_BAD_DATE",
                        "service_month",
                        "service month is not a valid month",
                    ),
                    line,
                    "service_month",
                ));
            }
            if !is_digits(f[5], 10) {
                issues.push(w(
                    "CARE_BAD_CODE",
                    "facility",
                    "facility number is not 10 digits",
                ));
            }
            unit.facility = non_empty(f[5]);
            if f[6].is_empty() {
                issues.push(missing(line, "insurer"));
            } else if let Some((code, msg)) =
                insurer_problem(f[6], &[6]).map(InsurerProblem::describe)
            {
                issues.push(e(code, "insurer", msg));
            }
            if f[7].is_empty() {
                issues.push(missing(line, "insured_number"));
            } else if f[7].chars().count() != 10 {
                issues.push(w(
                    "CARE_BAD_INSURED_NUMBER",
                    "insured_number",
                    "insured number is not 10 characters",
                ));
            }
            if ymd(f[8]).is_none() {
                issues.push(missing_or(
                    f[8],
                    e(
                        "CARE_BAD_DATE",
                        "birth_date",
                        "birth date is not a valid date",
                    ),
                    line,
                    "birth_date",
                ));
            }
            if !matches!(f[9], "1" | "2") {
                issues.push(missing_or(
                    f[9],
                    e("CARE_BAD_SEX", "sex", "sex is not 1 or 2"),
                    line,
                    "sex",
                ));
            }
            if !f[10].is_empty() && !is_digits(f[10], 2) {
                issues.push(w(
                    "CARE_BAD_CODE",
                    "care_level",
                    "care level is not a 2-digit code",
                ));
            }
            let mut date = |i: usize, name: &'static str| {
                let d = ymd(f[i]);
                if d.is_none() && !f[i].is_empty() {
                    issues.push(w(
                        "CARE_BAD_DATE",
                        name,
                        &format!("{name} is not a valid date"),
                    ));
                }
                d
            };
            let (cert_start, cert_end) = (date(11, "cert_start"), date(12, "cert_end"));
            date(14, "start_date");
            date(15, "end_date");
            total = int(f[16], "total_units", "01", line, &mut issues);
            unit.header = Header::CareClaim {
                form: f[2].to_string(),
                care_level: non_empty(f[10]),
                cert_start,
                cert_end,
                units: total,
            };
            unit.identity = RawIdentity {
                sex: non_empty(f[9]),
                birth: non_empty(f[8]),
                care_number: non_empty(f[7]),
                care_insurer: non_empty(f[6]),
                ..RawIdentity::default()
            };
            if let Some(m) = f.get(17).filter(|m| !m.is_empty()) {
                match medical_number(m) {
                    Ok([ins, sym, num, br]) => {
                        unit.identity.insurer = non_empty(ins);
                        unit.identity.symbol = non_empty(sym);
                        unit.identity.number = non_empty(num);
                        unit.identity.branch = non_empty(br);
                    }
                    Err(msg) => {
                        issues.push(w("CARE_BAD_MEDICAL_NUMBER", "medical_insured_number", msg))
                    }
                }
            }
        }
        let quarantined = first_error(&issues);
        unit.rejected = quarantined;
        unit.marks.push(Mark {
            record: "01".into(),
            line,
            quarantined,
        });
        unit.issues = issues;
        Claim {
            unit,
            key: key_of(f),
            total,
            sum: Some(0),
        }
    }

    pub(super) fn add(
        &mut self,
        raw: &[u8],
        line: u64,
        rec: &str,
        f: &[&str],
        mut issues: Vec<Issue>,
    ) {
        self.unit.raw.extend_from_slice(raw);
        let mut detail = None;
        if rec == "data" {
            issues.push(if f.len() < 4 {
                truncated(rec, line)
            } else {
                let msg = "record kind is not a 2-character code";
                Issue::error("CARE_UNKNOWN_RECORD", rec, Some("record_kind"), line, msg)
            });
        } else if rec != "02" {
            detail = Some(Detail::Other {
                record: rec.to_string(),
                fields: f.len() as i32,
            });
        } else if f.len() < 13 {
            issues.push(truncated(rec, line));
        } else if !is_code(f[8], 2) || !is_code(f[9], 4) {
            let msg = "service code is not a 2-character kind and a 4-character item";
            issues.push(Issue::error(
                "CARE_BAD_SERVICE_CODE",
                rec,
                Some("service_code"),
                line,
                msg,
            ));
        } else {
            let units = int(f[10], "units", rec, line, &mut issues);
            let count =
                int(f[11], "count", rec, line, &mut issues).and_then(|c| i32::try_from(c).ok());
            let service_units = int(f[12], "service_units", rec, line, &mut issues);
            if let (Some(u), Some(c), Some(s)) = (units, count, service_units)
                && u * i64::from(c) != s
            {
                let msg = "service units differ from units times count";
                issues.push(Issue::warning(
                    "CARE_UNITS_MISMATCH",
                    rec,
                    Some("service_units"),
                    line,
                    msg,
                ));
            }
            self.sum = self.sum.zip(service_units).map(|(a, b)| a + b);
            detail = Some(Detail::CareService {
                kind: f[8].into(),
                item: f[9].into(),
                units,
                count,
                service_units,
            });
        }
        let quarantined = first_error(&issues);
        match (quarantined, detail) {
            (None, Some(d)) => self.unit.details.push(d),
            _ => self.sum = None,
        }
        self.unit.marks.push(Mark {
            record: rec.to_string(),
            line,
            quarantined,
        });
        self.unit.issues.extend(issues);
    }

    pub(super) fn finish(mut self) -> Unit {
        if self.unit.rejected.is_none()
            && let (Some(total), Some(sum)) = (self.total, self.sum)
            && total != sum
            && self
                .unit
                .details
                .iter()
                .any(|d| matches!(d, Detail::CareService { .. }))
        {
            let msg = "total units differ from the sum of the 明細 service units";
            self.unit.issues.push(Issue::warning(
                "CARE_UNITS_MISMATCH",
                "01",
                Some("total_units"),
                self.unit.line,
                msg,
            ));
        }
        self.unit
    }
}

/// Splits `保険者番号:記号:番号:枝番` (insurer 6 or 8 digits with a valid check digit, 番号 present,
/// 枝番 empty or 2 digits).
fn medical_number(s: &str) -> Result<[&str; 4], &'static str> {
    let parts: Vec<&str> = s.split(':').collect();
    let [ins, sym, num, br] = parts[..] else {
        return Err("medical insured number does not have four colon-separated parts");
    };
    match insurer_problem(ins, &[6, 8]) {
        Some(InsurerProblem::Format) => {
            Err("insurer of the medical insured number is not 6 or 8 digits")
        }
        Some(InsurerProblem::CheckDigit) => {
            Err("check digit of the medical insured number's insurer is wrong")
        }
        None if num.is_empty() => Err("number of the medical insured number is empty"),
        None if !br.is_empty() && !is_digits(br, 2) => {
            Err("branch of the medical insured number is not 2 digits")
        }
        None => Ok([ins, sym, num, br]),
    }
}

fn missing(line: u64, field: &'static str) -> Issue {
    Issue::error(
        "CARE_MISSING_FIELD",
        "01",
        Some(field),
        line,
        format!("{field} is empty"),
    )
}

/// `missing` when `value` is empty, else `bad`.
fn missing_or(value: &str, bad: Issue, line: u64, field: &'static str) -> Issue {
    if value.is_empty() {
        missing(line, field)
    } else {
        bad
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// An optional integer field; a non-integer warns and reads as `None`.
fn int(s: &str, field: &'static str, rec: &str, line: u64, issues: &mut Vec<Issue>) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let v = s.parse::<i64>().ok();
    if v.is_none() {
        issues.push(Issue::warning(
            "CARE_BAD_NUMBER",
            rec,
            Some(field),
            line,
            format!("{field} is not an integer"),
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medical_numbers() {
        assert_eq!(
            medical_number("39280011::45331745:"),
            Ok(["39280011", "", "45331745", ""])
        );
        assert_eq!(
            medical_number("06130488:１９Ｄ:0001:01"),
            Ok(["06130488", "１９Ｄ", "0001", "01"])
        );
        assert!(medical_number("06130487:a:1:01").is_err());
        assert!(medical_number("06130488:a:1").is_err());
        assert!(medical_number("06130488:a:1:1").is_err());
        assert!(medical_number("06130488:a::01").is_err());
    }
}
