//! Field checks shared by the parsers: 保険者番号 check digits, Western and wareki dates, code
//! shapes.

use chrono::NaiveDate;
use niji_core::{checkdigit, wareki};

/// Why a 保険者番号 cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InsurerProblem {
    /// Not ASCII digits of an allowed length.
    Format,
    /// The last digit is not the check digit of the others.
    CheckDigit,
}

impl InsurerProblem {
    /// A reason code (`CARE_BAD_INSURER` or `CARE_CHECK_DIGIT`) and a message without the value.
    pub(crate) fn describe(self) -> (&'static str, &'static str) {
        match self {
            InsurerProblem::Format => (
                "CARE_BAD_INSURER",
                "insurer number does not have the expected number of digits",
            ),
            InsurerProblem::CheckDigit => (
                "CARE_CHECK_DIGIT",
                "check digit of the insurer number is wrong",
            ),
        }
    }
}

/// Checks a 保険者番号 of one of `lengths` ASCII digits and its check digit. Leading zeros do not
/// change the check digit, so a 国保 number zero-padded to 8 digits checks like the 6-digit one.
pub(crate) fn insurer_problem(s: &str, lengths: &[usize]) -> Option<InsurerProblem> {
    if !lengths.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        Some(InsurerProblem::Format)
    } else if !checkdigit::is_valid(s) {
        Some(InsurerProblem::CheckDigit)
    } else {
        None
    }
}

/// `YYYYMMDD` or wareki `GYYMMDD`.
pub(crate) fn ymd(s: &str) -> Option<NaiveDate> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.len() {
        8 => western(&s[0..4], &s[4..6], &s[6..8]),
        7 => wareki::parse_date(s, "date").ok(),
        _ => None,
    }
}

/// `YYYYMM` or wareki `GYYMM`, as the first day of the month.
pub(crate) fn ym(s: &str) -> Option<NaiveDate> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.len() {
        6 => western(&s[0..4], &s[4..6], "01"),
        5 => wareki::parse_month(s, "month").ok(),
        _ => None,
    }
}

/// A Western date from its digit parts, in years niji can meet (明治 onwards).
pub(crate) fn western(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let y: i32 = y.parse().ok()?;
    if !(1868..=2200).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?)
}

pub(crate) fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// `n` ASCII digits or upper-case letters (care service codes such as `A2`).
pub(crate) fn is_code(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn dates_western_and_wareki() {
        assert_eq!(ymd("19350911"), Some(d(1935, 9, 11)));
        assert_eq!(ymd("3100911"), Some(d(1935, 9, 11)));
        assert_eq!(ymd("19350231"), None);
        assert_eq!(ymd("1935091"), None);
        assert_eq!(ymd("１9350911"), None);
        assert_eq!(ym("202312"), Some(d(2023, 12, 1)));
        assert_eq!(ym("50512"), Some(d(2023, 12, 1)));
        assert_eq!(ym("202313"), None);
        assert_eq!(ym("00001"), None);
    }

    #[test]
    fn insurer_numbers() {
        assert_eq!(insurer_problem("286096", &[6]), None);
        assert_eq!(insurer_problem("00286096", &[6, 8]), None);
        assert_eq!(
            insurer_problem("286097", &[6]),
            Some(InsurerProblem::CheckDigit)
        );
        assert_eq!(insurer_problem("28609", &[6]), Some(InsurerProblem::Format));
        assert_eq!(
            insurer_problem("２86096", &[6]),
            Some(InsurerProblem::Format)
        );
    }

    #[test]
    fn code_shapes() {
        assert!(is_code("A2", 2) && is_code("1111", 4) && !is_code("a2", 2) && !is_code("111", 4));
        assert!(
            is_digits("0123456789", 10) && !is_digits("012345678", 10) && !is_digits("１２", 2)
        );
    }
}
