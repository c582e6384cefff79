//! Birth dates as days since 1970-01-01: how near two are, and the typos of one.

use chrono::{Datelike, NaiveDate};

use crate::record::NO_BIRTH;

/// Year, month and day of a date.
pub(crate) fn ymd(days: i32) -> Option<(i32, u32, u32)> {
    let d = epoch()?.checked_add_signed(chrono::Duration::days(i64::from(days)))?;
    Some((d.year(), d.month(), d.day()))
}

fn epoch() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)
}

fn days(y: i32, m: u32, d: u32) -> Option<i32> {
    Some((NaiveDate::from_ymd_opt(y, m, d)? - epoch()?).num_days() as i32)
}

/// The digits of `YYYYMMDD`.
fn digits((y, m, d): (i32, u32, u32)) -> [u32; 8] {
    let y = y.rem_euclid(10_000) as u32;
    [
        y / 1000,
        y / 100 % 10,
        y / 10 % 10,
        y % 10,
        m / 10,
        m % 10,
        d / 10,
        d % 10,
    ]
}

/// Birth date level of two dates: 0 exact, 1 typo-like, 2 the same year and month, 3 other,
/// 4 missing.
pub(crate) fn birth_level(a: i32, b: i32) -> u8 {
    if a == NO_BIRTH || b == NO_BIRTH {
        return 4;
    }
    if a == b {
        return 0;
    }
    let (Some(x), Some(y)) = (ymd(a), ymd(b)) else {
        return 3;
    };
    if typo_like(a, b, x, y) {
        1
    } else if x.0 == y.0 && x.1 == y.1 {
        2
    } else {
        3
    }
}

/// The mistakes of typing a date: a day off, a year off, month and day swapped, two adjacent
/// digits swapped, or one digit of the year or the month wrong (one digit of the day is left
/// out: most days of a month are one digit from each other).
fn typo_like(a: i32, b: i32, x: (i32, u32, u32), y: (i32, u32, u32)) -> bool {
    if (a - b).abs() == 1
        || (x.1 == y.1 && x.2 == y.2 && (x.0 - y.0).abs() == 1)
        || (x.0 == y.0 && x.1 == y.2 && x.2 == y.1)
    {
        return true;
    }
    let (dx, dy) = (digits(x), digits(y));
    let mut diff = (0..8).filter(|&i| dx[i] != dy[i]);
    match (diff.next(), diff.next(), diff.next()) {
        (Some(i), None, _) => i < 6,
        (Some(i), Some(j), None) => j == i + 1 && dx[i] == dy[j] && dx[j] == dy[i],
        _ => false,
    }
}

/// Every date [`birth_level`] calls typo-like next to `birth`, sorted.
pub(crate) fn typo_variants(birth: i32) -> Vec<i32> {
    let Some((y, m, d)) = ymd(birth) else {
        return Vec::new();
    };
    let of_digits = |g: &[u32; 8]| {
        let y = g[..4].iter().fold(0, |a, &x| a * 10 + x) as i32;
        days(y, g[4] * 10 + g[5], g[6] * 10 + g[7])
    };
    let mut out = vec![birth - 1, birth + 1];
    out.extend(
        [days(y - 1, m, d), days(y + 1, m, d), days(y, d, m)]
            .into_iter()
            .flatten(),
    );
    let g0 = digits((y, m, d));
    for i in 0..7 {
        let mut g = g0;
        g.swap(i, i + 1);
        out.extend(of_digits(&g));
    }
    for i in 0..6 {
        for v in 0..10 {
            let mut g = g0;
            g[i] = v;
            out.extend(of_digits(&g));
        }
    }
    out.retain(|&x| x != birth);
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> i32 {
        days(y, m, d).unwrap()
    }

    #[test]
    fn birth_levels() {
        let a = date(1980, 3, 12);
        assert_eq!(birth_level(a, a), 0);
        // Typo-like: a day off, day digits swapped, year digits swapped, month and day swapped,
        // a year off.
        for b in [
            date(1980, 3, 13),
            date(1980, 3, 21),
            date(1908, 3, 12),
            date(1980, 12, 3),
            date(1979, 3, 12),
        ] {
            assert_eq!(birth_level(a, b), 1, "{b}");
        }
        assert_eq!(birth_level(date(1989, 12, 31), date(1990, 1, 1)), 1);
        assert_eq!(birth_level(a, date(1980, 3, 28)), 2);
        assert_eq!(birth_level(a, date(1980, 3, 19)), 2);
        assert_eq!(birth_level(a, date(1975, 6, 1)), 3);
        assert_eq!(birth_level(a, NO_BIRTH), 4);
    }

    #[test]
    fn typo_variants_are_the_typo_like_dates() {
        for a in [date(1980, 3, 12), date(1999, 12, 31), date(2004, 2, 29)] {
            let v = typo_variants(a);
            assert!(v.len() > 10, "{}", v.len());
            assert!(v.iter().all(|&b| birth_level(a, b) == 1));
            // Every typo-like date within two years is among them.
            for b in a - 800..a + 800 {
                assert_eq!(
                    birth_level(a, b) == 1,
                    v.binary_search(&b).is_ok(),
                    "{a} {b}"
                );
            }
        }
    }
}
