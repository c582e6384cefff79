//! The Patient of a bundle: the insured-person identifier, names, gender, birth date and the
//! facility of its patient number.

use serde_json::Value;

use super::{PATIENT_ID_OID, array, fhir_date, str_at};
use crate::check::{InsurerProblem, insurer_problem};
use crate::{Issue, Unit};

/// Reads the Patient into the unit's identity and facility; rejects the unit when no usable
/// identity remains.
pub(super) fn patient(unit: &mut Unit, res: &Value, issues: &mut Vec<Issue>) {
    let id = &mut unit.identity;
    let err = |code, field, msg: &str| Issue::error(code, "Patient", Some(field), 0, msg);
    let mut member = None;
    for ident in array(res, "identifier") {
        let (Some(system), Some(value)) = (str_at(ident, "system"), str_at(ident, "value")) else {
            continue;
        };
        if system.contains("JP_Insurance_member") {
            member = member.or(Some(value));
        } else if let Some(code) = system
            .strip_prefix(PATIENT_ID_OID)
            .filter(|c| c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()))
        {
            unit.facility = unit.facility.take().or(Some(code.to_string()));
        }
    }
    let mut member_ok = false;
    let mut fatal = None;
    match member.map(|m| (m, member_parts(m))) {
        None => issues.push(Issue::warning(
            "FHIR_NO_MEMBER_ID",
            "Patient",
            Some("identifier"),
            0,
            "the Patient has no insured-person identifier",
        )),
        Some((_, None)) => issues.push(err(
            "FHIR_BAD_MEMBER_ID",
            "identifier",
            "insured-person identifier does not match 保険者番号:記号:番号:枝番",
        )),
        Some((_, Some([ins, sym, num, br]))) => match insurer_problem(ins, &[8]) {
            Some(InsurerProblem::CheckDigit) => {
                fatal = Some(err(
                    "FHIR_CHECK_DIGIT",
                    "identifier",
                    "check digit of the insurer number is wrong",
                ))
            }
            Some(InsurerProblem::Format) => issues.push(err(
                "FHIR_BAD_MEMBER_ID",
                "identifier",
                "insurer number is not 8 digits",
            )),
            None => {
                member_ok = true;
                let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
                (id.insurer, id.symbol, id.number, id.branch) =
                    (some(ins), some(sym), some(num), some(br));
            }
        },
    }
    for name in array(res, "name") {
        let repr = array(name, "extension")
            .find(|x| str_at(x, "url").is_some_and(|u| u.ends_with("iso21090-EN-representation")))
            .and_then(|x| str_at(x, "valueCode"));
        let parts: Vec<&str> = str_at(name, "family")
            .into_iter()
            .chain(array(name, "given").filter_map(Value::as_str))
            .collect();
        let text = if parts.is_empty() {
            str_at(name, "text").map(str::to_string)
        } else {
            Some(parts.join("　"))
        };
        let slot = match repr {
            Some("SYL") => &mut id.kana,
            Some("IDE") | None => &mut id.name,
            Some(_) => continue,
        };
        if slot.is_none() {
            *slot = text.filter(|t| !t.trim().is_empty());
        }
    }
    match str_at(res, "gender") {
        None => {
            fatal = fatal.or(Some(err(
                "FHIR_MISSING_FIELD",
                "gender",
                "the Patient has no gender",
            )))
        }
        Some(g @ ("male" | "female")) => id.sex = Some(g.to_string()),
        Some(_) => {
            fatal = fatal.or(Some(err(
                "FHIR_BAD_GENDER",
                "gender",
                "gender is not male or female",
            )))
        }
    }
    match str_at(res, "birthDate") {
        None => {
            fatal = fatal.or(Some(err(
                "FHIR_MISSING_FIELD",
                "birthDate",
                "the Patient has no birth date",
            )))
        }
        Some(b) if b.len() == 10 && fhir_date(b).is_some() => id.birth = Some(b.to_string()),
        Some(_) => {
            fatal = fatal.or(Some(err(
                "FHIR_BAD_DATE",
                "birthDate",
                "birth date is not a full valid date",
            )))
        }
    }
    if fatal.is_none() && !member_ok && id.name.is_none() && id.kana.is_none() {
        fatal = Some(err(
            "FHIR_NO_IDENTITY",
            "identifier",
            "the Patient has neither a usable insured-person identifier nor a name",
        ));
    }
    if let Some(f) = fatal {
        unit.rejected = unit.rejected.or(Some(f.code));
        issues.insert(0, f);
    }
}

/// The parts of `保険者番号:記号:番号:枝番` if it matches
/// `^[0-9]{8}:[^:\s　]*:[^:\s　]*:(|[0-9]{2})$`.
fn member_parts(v: &str) -> Option<[&str; 4]> {
    let parts: Vec<&str> = v.split(':').collect();
    let [ins, sym, num, br] = parts[..] else {
        return None;
    };
    let digits = |s: &str, n| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let free = |s: &str| !s.chars().any(|c| c.is_whitespace() || c == '　');
    (digits(ins, 8) && free(sym) && free(num) && (br.is_empty() || digits(br, 2)))
        .then_some([ins, sym, num, br])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_pattern() {
        assert_eq!(
            member_parts("00012345:あいう:１８７:05"),
            Some(["00012345", "あいう", "１８７", "05"])
        );
        assert_eq!(
            member_parts("39280011::01065140:"),
            Some(["39280011", "", "01065140", ""])
        );
        assert_eq!(member_parts("0012345:a:1:05"), None);
        assert_eq!(member_parts("00012345:a b:1:05"), None);
        assert_eq!(member_parts("00012345:a　b:1:05"), None);
        assert_eq!(member_parts("00012345:a:1:5"), None);
        assert_eq!(member_parts("00012345:a:1"), None);
        assert_eq!(member_parts("00012345:a:1:05:"), None);
    }
}
