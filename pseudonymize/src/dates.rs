//! Birth dates in the forms the sources write them (rule set `norm-1`, see [`crate::normalize`]).

use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};
use crate::field::Field;

const DATE: Field = Field::BirthDate;

/// Parses a date already through the code rules (NFKC, no spaces, upper case).
pub(crate) fn parse(s: &str) -> Result<NaiveDate> {
    if s.is_empty() {
        return Err(Error::invalid(DATE, "empty"));
    }
    let date = if s.bytes().all(|b| b.is_ascii_digit()) {
        match s.len() {
            8 => western(num(&s[0..4]), num(&s[4..6]), num(&s[6..8]))?,
            7 => wareki(s)?,
            _ => return Err(Error::invalid(DATE, "must be YYYYMMDD or GYYMMDD")),
        }
    } else if let Some(rest) = era_name(s) {
        return kanji_era(rest.0, rest.1);
    } else {
        separated(s)?
    };
    if !(1868..=2100).contains(&date.year()) {
        return Err(Error::invalid(DATE, "year out of range"));
    }
    Ok(date)
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

fn western(y: u32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(Error::invalid(DATE, "no such day"))
}

fn wareki(gyymmdd: &str) -> Result<NaiveDate> {
    niji_core::wareki::parse_date(gyymmdd, "birth_date").map_err(|e| match e {
        niji_core::Error::InvalidDate { reason, .. } => Error::invalid(DATE, reason),
        _ => Error::invalid(DATE, "not a wareki date"),
    })
}

/// A wareki date from its era code and year, month, day numbers.
fn wareki_parts(era: u8, yy: u32, mm: u32, dd: u32) -> Result<NaiveDate> {
    if yy > 99 || mm > 99 || dd > 99 {
        return Err(Error::invalid(DATE, "no such day"));
    }
    let mut buf = [b'0'; 7];
    buf[0] = b'0' + era;
    for (i, v) in [yy, mm, dd].into_iter().enumerate() {
        buf[1 + 2 * i] = b'0' + (v / 10) as u8;
        buf[2 + 2 * i] = b'0' + (v % 10) as u8;
    }
    wareki(std::str::from_utf8(&buf).unwrap_or_default())
}

fn era_letter(c: u8) -> Option<u8> {
    match c {
        b'M' => Some(1),
        b'T' => Some(2),
        b'S' => Some(3),
        b'H' => Some(4),
        b'R' => Some(5),
        _ => None,
    }
}

/// `YYYY-MM-DD` and friends, `S550405`, `S55.4.5`.
fn separated(s: &str) -> Result<NaiveDate> {
    let bad = || Error::invalid(DATE, "not a recognised date form");
    let bytes = s.as_bytes();
    let era = era_letter(bytes[0]);
    let body = if era.is_some() { &s[1..] } else { s };
    if let Some(era) = era
        && body.len() == 6
        && body.bytes().all(|b| b.is_ascii_digit())
    {
        return wareki_parts(era, num(&body[0..2]), num(&body[2..4]), num(&body[4..6]));
    }
    let mut parts = body.split(['-', '/', '.']);
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let ok = |p: &str, max: usize| {
        !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
    };
    if !(ok(b, 2) && ok(c, 2)) {
        return Err(bad());
    }
    match era {
        Some(era) if ok(a, 2) => wareki_parts(era, num(a), num(b), num(c)),
        None if a.len() == 4 && ok(a, 4) => western(num(a), num(b), num(c)),
        _ => Err(bad()),
    }
}

/// Splits `昭和55年4月5日` into the era code and the rest.
fn era_name(s: &str) -> Option<(u8, &str)> {
    niji_core::wareki::ERAS
        .iter()
        .find_map(|e| s.strip_prefix(e.name).map(|rest| (e.code, rest)))
}

fn kanji_era(era: u8, rest: &str) -> Result<NaiveDate> {
    let bad = || Error::invalid(DATE, "not a recognised date form");
    let rest = rest.strip_suffix('日').ok_or_else(bad)?;
    let (y, rest) = rest.split_once('年').ok_or_else(bad)?;
    let (m, d) = rest.split_once('月').ok_or_else(bad)?;
    let ok = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    let yy = if y == "元" {
        1
    } else if ok(y) {
        num(y)
    } else {
        return Err(bad());
    };
    if !(ok(m) && ok(d)) {
        return Err(bad());
    }
    wareki_parts(era, yy, num(m), num(d))
}

#[cfg(test)]
mod tests {
    use crate::normalize::birth_date;

    #[test]
    fn dates() {
        for raw in [
            "19800405",
            "１９８００４０５",
            "1980-04-05",
            "1980/4/5",
            "1980.04.05",
            "3550405",
            "S550405",
            "s55.4.5",
            "昭和55年4月5日",
            "昭和５５年４月５日",
        ] {
            assert_eq!(birth_date(raw).unwrap(), "19800405", "{raw}");
        }
        assert_eq!(birth_date("平成元年1月8日").unwrap(), "19890108");
        assert_eq!(birth_date("R010501").unwrap(), "20190501");
        for bad in [
            "19800230",
            "4010107",
            "1980-4",
            "abc",
            "",
            "00000000",
            "21010101",
            "X550405",
            "1980-04-05-01",
        ] {
            assert!(birth_date(bad).is_err(), "{bad}");
        }
    }
}
