//! The 検証番号 of 保険者番号 and 公費負担者番号 (DOMAIN.md, "Identifiers and linkage").
//!
//! Take the digits before the check digit from the right, multiply them alternately by 2, 1, 2, …,
//! replace each product ≥ 10 by the sum of its digits, add them up; the check digit is
//! `(10 − sum mod 10) mod 10`.

/// The check digit for `body` (the digits before it), or `None` if `body` is empty or holds a
/// character that is not an ASCII digit.
pub fn compute(body: &str) -> Option<u8> {
    if body.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    for (i, c) in body.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = u32::from(c - b'0');
        let p = if i % 2 == 0 { d * 2 } else { d };
        sum += p / 10 + p % 10;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether the last digit of `number` is the check digit of the digits before it.
pub fn is_valid(number: &str) -> bool {
    let Some((last, body)) = number.as_bytes().split_last() else {
        return false;
    };
    if !last.is_ascii_digit() {
        return false;
    }
    // `body` is a prefix of a str split before an ASCII byte, so it is valid UTF-8.
    let body = &number[..body.len()];
    compute(body) == Some(last - b'0')
}

/// `body` followed by its check digit. Panics only if `body` is not all ASCII digits, which
/// callers that build numbers from digits never pass.
pub fn append(body: &str) -> String {
    let d = compute(body).expect("body must be ASCII digits");
    format!("{body}{d}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_from_domain_md() {
        assert_eq!(compute("0613048"), Some(8));
        assert!(is_valid("06130488"));
        assert!(!is_valid("06130487"));
    }

    #[test]
    fn kokuho_six_digit_numbers() {
        // 国保 numbers have six digits: five before the check digit.
        let n = append("13810");
        assert_eq!(n.len(), 6);
        assert!(is_valid(&n));
    }

    #[test]
    fn the_wrong_kohi_number_of_the_sample_is_caught() {
        // ../shared/samples/uke/PROVENANCE.md: 83136019 has a wrong check digit.
        assert!(!is_valid("83136019"));
        assert!(is_valid(&append("8313601")));
    }

    #[test]
    fn rejects_non_digits_and_empty() {
        assert_eq!(compute(""), None);
        assert_eq!(compute("06１3048"), None);
        assert!(!is_valid(""));
        assert!(!is_valid("0613048X"));
        assert!(!is_valid("8"));
    }

    #[test]
    fn every_single_digit_error_is_detected() {
        let good = "06130488";
        for pos in 0..good.len() {
            for d in b'0'..=b'9' {
                let mut b = good.as_bytes().to_vec();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(!is_valid(&s), "{s} passed");
            }
        }
    }
}
