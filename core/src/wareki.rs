//! Japanese era dates (和暦) as the older UKE spec writes them: `GYYMMDD` and `GYYMM`, with
//! G = 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和.

use chrono::{Datelike, NaiveDate};

use crate::{Error, Result};

/// An era of the Japanese calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Era {
    /// The one-digit code used in UKE files.
    pub code: u8,
    /// The era's name.
    pub name: &'static str,
    /// The first day of the era.
    pub start: (i32, u32, u32),
}

/// The eras UKE files use, oldest first.
pub const ERAS: [Era; 5] = [
    Era {
        code: 1,
        name: "明治",
        start: (1868, 1, 25),
    },
    Era {
        code: 2,
        name: "大正",
        start: (1912, 7, 30),
    },
    Era {
        code: 3,
        name: "昭和",
        start: (1926, 12, 25),
    },
    Era {
        code: 4,
        name: "平成",
        start: (1989, 1, 8),
    },
    Era {
        code: 5,
        name: "令和",
        start: (2019, 5, 1),
    },
];

fn era(code: u8) -> Option<&'static Era> {
    ERAS.iter().find(|e| e.code == code)
}

fn era_of(date: NaiveDate) -> &'static Era {
    ERAS.iter()
        .rev()
        .find(|e| {
            let (y, m, d) = e.start;
            (date.year(), date.month(), date.day()) >= (y, m, d)
        })
        .unwrap_or(&ERAS[0])
}

fn digits(s: &str, field: &'static str) -> Result<()> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidDate {
            field,
            reason: "not all digits",
        })
    }
}

/// Reads a `GYYMMDD` date. The day must exist and fall inside the named era.
pub fn parse_date(s: &str, field: &'static str) -> Result<NaiveDate> {
    if s.len() != 7 {
        return Err(Error::InvalidDate {
            field,
            reason: "wareki date must have 7 digits",
        });
    }
    digits(s, field)?;
    let (g, yy, mm, dd) = (&s[0..1], &s[1..3], &s[3..5], &s[5..7]);
    let era = era(g.parse().unwrap_or(0)).ok_or(Error::InvalidDate {
        field,
        reason: "unknown era",
    })?;
    let yy: i32 = yy.parse().unwrap_or(0);
    if yy == 0 {
        return Err(Error::InvalidDate {
            field,
            reason: "era year 0",
        });
    }
    let date = NaiveDate::from_ymd_opt(
        era.start.0 + yy - 1,
        mm.parse().unwrap_or(0),
        dd.parse().unwrap_or(0),
    )
    .ok_or(Error::InvalidDate {
        field,
        reason: "no such day",
    })?;
    if era_of(date).code != era.code {
        return Err(Error::InvalidDate {
            field,
            reason: "day outside its era",
        });
    }
    Ok(date)
}

/// Reads a `GYYMM` month (the first day of that month). The month must overlap the era.
pub fn parse_month(s: &str, field: &'static str) -> Result<NaiveDate> {
    if s.len() != 5 {
        return Err(Error::InvalidDate {
            field,
            reason: "wareki month must have 5 digits",
        });
    }
    digits(s, field)?;
    let era = era(s[0..1].parse().unwrap_or(0)).ok_or(Error::InvalidDate {
        field,
        reason: "unknown era",
    })?;
    let yy: i32 = s[1..3].parse().unwrap_or(0);
    if yy == 0 {
        return Err(Error::InvalidDate {
            field,
            reason: "era year 0",
        });
    }
    let first = NaiveDate::from_ymd_opt(era.start.0 + yy - 1, s[3..5].parse().unwrap_or(0), 1)
        .ok_or(Error::InvalidDate {
            field,
            reason: "no such month",
        })?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let starts_in = era_of(first).code == era.code || era_of(last).code == era.code;
    if !starts_in {
        return Err(Error::InvalidDate {
            field,
            reason: "month outside its era",
        });
    }
    Ok(first)
}

/// Writes `date` as `GYYMMDD`.
pub fn format_date(date: NaiveDate) -> String {
    let e = era_of(date);
    format!(
        "{}{:02}{:02}{:02}",
        e.code,
        date.year() - e.start.0 + 1,
        date.month(),
        date.day()
    )
}

/// Writes the month of `date` as `GYYMM`, in the era of the month's last day (so 2019-05 is 令和
/// 元年 5 月, as claims for that month were written).
pub fn format_month(date: NaiveDate) -> String {
    let first = date.with_day(1).unwrap_or(date);
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let e = era_of(last);
    format!(
        "{}{:02}{:02}",
        e.code,
        last.year() - e.start.0 + 1,
        last.month()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(parse_date("3550405", "f"), Ok(d(1980, 4, 5)));
        assert_eq!(parse_date("4010108", "f"), Ok(d(1989, 1, 8)));
        assert_eq!(parse_date("3640107", "f"), Ok(d(1989, 1, 7)));
        assert_eq!(parse_date("5010501", "f"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_date("4310430", "f"), Ok(d(2019, 4, 30)));
        assert_eq!(parse_date("1450729", "f"), Ok(d(1912, 7, 29)));
        assert_eq!(format_date(d(1980, 4, 5)), "3550405");
        assert_eq!(format_date(d(2024, 2, 29)), "5060229");
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_date("4010107", "f").is_err()); // 平成 began on the 8th
        assert!(parse_date("5010430", "f").is_err()); // 令和 began in May
        assert!(parse_date("3550230", "f").is_err()); // 30 February
        assert!(parse_date("6010101", "f").is_err()); // no era 6
        assert!(parse_date("3000101", "f").is_err()); // year 0
        assert!(parse_date("35504", "f").is_err());
        assert!(parse_date("3５50405", "f").is_err());
    }

    #[test]
    fn months() {
        assert_eq!(parse_month("50105", "f"), Ok(d(2019, 5, 1)));
        assert_eq!(parse_month("43104", "f"), Ok(d(2019, 4, 1)));
        assert_eq!(format_month(d(2019, 5, 20)), "50105");
        assert_eq!(format_month(d(2024, 11, 1)), "50611");
        assert!(parse_month("50113", "f").is_err());
    }

    #[test]
    fn round_trip_every_day_of_a_century() {
        let mut day = d(1920, 1, 1);
        while day < d(2030, 1, 1) {
            assert_eq!(parse_date(&format_date(day), "f"), Ok(day), "{day}");
            day = day.succ_opt().unwrap();
        }
    }
}
