//! Identifier normalisation, rule set `norm-1` ([`RULESET_VERSION`]), applied before hashing.
//!
//! Two records of one person must give byte-identical fields, or their link keys differ. The
//! sources disagree on width, spacing, script and calendar, so every field goes through the
//! rules below. The version string is recorded with every job; any change to these rules, the
//! kanji table included, is a new version.
//!
//! # Text rules (names, kana names)
//! 1. Unicode NFKC. This alone turns half-width katakana into full-width, composing voiced marks
//!    (`ﾀﾞ` → `ダ`, `ﾊﾟ` → `パ`), full-width digits and Latin letters into ASCII (`１２Ａ` →
//!    `12A`), the ideographic space into a space, and compatibility ideographs into their
//!    unified forms.
//! 2. Dropped everywhere: whitespace of every kind (half- and full-width spaces, tabs, NBSP …),
//!    control characters, zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and variation
//!    selectors (U+FE00–U+FE0F and the ideographic variation selectors U+E0100–U+E01EF, which
//!    registers use for glyph variants of one kanji).
//! 3. Hiragana → katakana (`さとう` → `サトウ`; `ゝゞ` → `ヽヾ`).
//! 4. Small kana → the large kana (`ァィゥェォ ッ ャュョ ヮ ヵ ヶ` → `アイウエオ ツ ヤユヨ ワ カ ケ`,
//!    and the Ainu small kana `ㇰ…ㇿ` → `ク…ロ`): records disagree on them (`キャ`/`キヤ`) far more
//!    often than two names differ only by them.
//! 5. Long-vowel marks and dashes are removed, not expanded: `ー` (and half-width `ｰ`), ASCII
//!    `-`, `‐ ‑ ‒ – — ―`, `−`, box-drawing `─ ━`, wave dashes `〜 ~`. Removing is the one rule
//!    that needs no guess about the vowel (`コージ` is `コウジ` or `コオジ`); `サトー` and
//!    `サトウ` still differ after it.
//! 6. Name separators are removed: `・` (and half-width `･`), `·`, `=` (from `＝`), `゠`.
//! 7. ASCII letters to upper case (`Smith` → `SMITH`).
//! 8. Names as recorded (kanji) only: the [variant table](crate::normalize#kanji-variants).
//! 9. Unicode NFC of the result, so that a voiced mark separated from its kana by a dropped
//!    space (`カ ゛`) composes (`ガ`). The whole rule set is idempotent (a property test holds it
//!    to that).
//!
//! An empty result (a name of spaces only) is an error. A kana name that still holds a kanji is
//! an error: the wrong field was filled, and a key from it could never match.
//!
//! # Kanji variants
//! Old and variant forms that records use for one name are folded to one form (渡邊/渡邉 →
//! 渡辺, 齋藤/齊藤/斎藤 → 斉藤, 髙 → 高, 﨑/嵜 → 崎, 濱 → 浜, 澤 → 沢 …): 63 pairs, listed in
//! `variants.rs`. `々` and other iteration marks are kept as written.
//!
//! # Code rules
//! Every code field gets NFKC, rule 2 and ASCII upper case (so `１９Ｄ０００１` → `19D0001`), then:
//! - **保険者番号**: ASCII digits only, 6 (国保), 7 or 8 digits, zero-padded on the left to 8;
//!   the 検証番号 must match ([`niji_core::checkdigit`]), else [`Error::CheckDigit`]; all zeros
//!   is rejected as a placeholder.
//! - **記号**: kept as written after the common rules; may be empty (後期高齢者 cards have none).
//! - **番号**: as 記号, but may not be empty.
//! - **枝番**: empty, or one or two digits, zero-padded to two.
//! - **生年月日**: `YYYYMMDD`; `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` (one- or two-digit month
//!   and day); wareki `GYYMMDD` with G = 1 明治 … 5 令和 ([`niji_core::wareki`]); `S550405`,
//!   `S55.4.5` with the letters M T S H R; `昭和55年4月5日` (and `元年`). Written as `YYYYMMDD`;
//!   the year must lie in 1868–2100.
//! - **性別**: `1`, `男`, `M`, `male` → `1`; `2`, `女`, `F`, `female` → `2`; nothing else.
//! - **介護 被保険者番号**: ten characters, digits or upper-case letters (a leading `H` marks a
//!   person on public assistance who is not insured).
//! - **介護 保険者番号**: six digits (eight with a leading `00` are cut to six); no check digit is
//!   verified, as the rule for it has not been confirmed against data.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};
use crate::field::Field;
use crate::variants;

/// The version of the normalisation rules in this module. Recorded with every job.
pub const RULESET_VERSION: &str = "norm-1";

/// Normalises `raw` as a value of `field`.
///
/// ```
/// use niji_pseudonymize::{normalize, Field};
/// assert_eq!(normalize::normalize(Field::KanaName, "ｻﾄｳ ﾀﾛｳ").unwrap(), "サトウタロウ");
/// assert_eq!(normalize::normalize(Field::BirthDate, "3550405").unwrap(), "19800405");
/// ```
pub fn normalize(field: Field, raw: &str) -> Result<String> {
    let mut out = String::with_capacity(raw.len() + 8);
    normalize_into(field, raw, &mut out)?;
    Ok(out)
}

/// Normalises `raw` as a value of `field` into `out` (cleared first), so that a loop can reuse
/// one buffer. On error `out` holds no meaningful value.
pub fn normalize_into(field: Field, raw: &str, out: &mut String) -> Result<()> {
    out.clear();
    match field {
        Field::Name => text_into(raw, true, field, out),
        Field::KanaName => {
            text_into(raw, false, field, out)?;
            if out.chars().any(is_ideograph) {
                return Err(Error::invalid(field, "contains kanji"));
            }
            Ok(())
        }
        Field::InsurerNumber => insurer_number_into(raw, out),
        Field::Symbol => {
            code_into(raw, out);
            Ok(())
        }
        Field::Number => {
            code_into(raw, out);
            nonempty(field, out)
        }
        Field::Branch => branch_into(raw, out),
        Field::BirthDate => {
            code_into(raw, out);
            let date = crate::dates::parse(out)?;
            out.clear();
            write_date(date, out);
            Ok(())
        }
        Field::Sex => sex_into(raw, out),
        Field::CareInsuredNumber => {
            code_into(raw, out);
            if out.len() == 10
                && out
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            {
                Ok(())
            } else {
                Err(Error::invalid(field, "must be 10 digits or letters"))
            }
        }
        Field::CareInsurerNumber => {
            code_into(raw, out);
            if out.len() == 8 && out.starts_with("00") {
                out.drain(..2);
            }
            if out.len() == 6 && out.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(Error::invalid(field, "must be 6 digits"))
            }
        }
    }
}

/// 氏名 as recorded (kanji or kana), by the text rules and the kanji table.
pub fn name(raw: &str) -> Result<String> {
    normalize(Field::Name, raw)
}

/// カナ氏名, by the text rules.
pub fn kana_name(raw: &str) -> Result<String> {
    normalize(Field::KanaName, raw)
}

/// 保険者番号: eight digits with a valid check digit.
pub fn insurer_number(raw: &str) -> Result<String> {
    normalize(Field::InsurerNumber, raw)
}

/// 記号 (may be empty).
pub fn symbol(raw: &str) -> Result<String> {
    normalize(Field::Symbol, raw)
}

/// 番号.
pub fn number(raw: &str) -> Result<String> {
    normalize(Field::Number, raw)
}

/// 枝番: two digits or empty.
pub fn branch(raw: &str) -> Result<String> {
    normalize(Field::Branch, raw)
}

/// 生年月日 as `YYYYMMDD`.
pub fn birth_date(raw: &str) -> Result<String> {
    normalize(Field::BirthDate, raw)
}

/// 男女区分 as `1` or `2`.
pub fn sex(raw: &str) -> Result<String> {
    normalize(Field::Sex, raw)
}

/// 介護保険 被保険者番号: ten digits or upper-case letters.
pub fn care_insured_number(raw: &str) -> Result<String> {
    normalize(Field::CareInsuredNumber, raw)
}

/// 介護保険 保険者番号: six digits.
pub fn care_insurer_number(raw: &str) -> Result<String> {
    normalize(Field::CareInsurerNumber, raw)
}

/// A birth date in any accepted form, as a date.
pub fn parse_birth_date(raw: &str) -> Result<NaiveDate> {
    let mut s = String::with_capacity(raw.len());
    code_into(raw, &mut s);
    crate::dates::parse(&s)
}

/// Characters every field drops: whitespace, controls, zero-width characters, variation selectors.
fn is_dropped(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
        || matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Long-vowel marks, dashes and name separators: removed from names.
fn is_name_mark(c: char) -> bool {
    matches!(
        c,
        'ー' | '-' | '\u{2010}'
            ..='\u{2015}' | '−' | '─' | '━' | '〜' | '~' | '・' | '·' | '=' | '゠'
    )
}

/// Hiragana → katakana, then small kana → large.
fn fold_kana(c: char) -> char {
    let c = match c {
        '\u{3041}'..='\u{3096}' | 'ゝ' | 'ゞ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        _ => c,
    };
    match c {
        'ァ' | 'ィ' | 'ゥ' | 'ェ' | 'ォ' | 'ッ' | 'ャ' | 'ュ' | 'ョ' | 'ヮ' => {
            char::from_u32(c as u32 + 1).unwrap_or(c)
        }
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        'ㇰ' => 'ク',
        'ㇱ' => 'シ',
        'ㇲ' => 'ス',
        'ㇳ' => 'ト',
        'ㇴ' => 'ヌ',
        'ㇵ' => 'ハ',
        'ㇶ' => 'ヒ',
        'ㇷ' => 'フ',
        'ㇸ' => 'ヘ',
        'ㇹ' => 'ホ',
        'ㇺ' => 'ム',
        'ㇻ' => 'ラ',
        'ㇼ' => 'リ',
        'ㇽ' => 'ル',
        'ㇾ' => 'レ',
        'ㇿ' => 'ロ',
        _ => c,
    }
}

fn is_ideograph(c: char) -> bool {
    matches!(
        c,
        '々' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3FFFF}'
    )
}

/// The text rules, into `out`.
fn text_into(raw: &str, kanji: bool, field: Field, out: &mut String) -> Result<()> {
    let folded = raw.nfkc().filter_map(|c| {
        if is_dropped(c) || is_name_mark(c) {
            return None;
        }
        let c = fold_kana(c.to_ascii_uppercase());
        Some(if kanji { variants::fold(c) } else { c })
    });
    out.extend(folded.nfc());
    nonempty(field, out)
}

/// The common code rules (NFKC, drop, ASCII upper case), into `out`.
fn code_into(raw: &str, out: &mut String) {
    out.extend(
        raw.nfkc()
            .filter(|c| !is_dropped(*c))
            .map(|c| c.to_ascii_uppercase())
            .nfc(),
    );
}

fn nonempty(field: Field, out: &str) -> Result<()> {
    if out.is_empty() {
        Err(Error::invalid(field, "empty"))
    } else {
        Ok(())
    }
}

fn insurer_number_into(raw: &str, out: &mut String) -> Result<()> {
    let field = Field::InsurerNumber;
    code_into(raw, out);
    if out.is_empty() {
        return Err(Error::invalid(field, "empty"));
    }
    if !out.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(field, "must be digits"));
    }
    if !(6..=8).contains(&out.len()) {
        return Err(Error::invalid(field, "must have 6 to 8 digits"));
    }
    while out.len() < 8 {
        out.insert(0, '0');
    }
    if out.bytes().all(|b| b == b'0') {
        return Err(Error::invalid(field, "all zeros"));
    }
    if !niji_core::checkdigit::is_valid(out) {
        return Err(Error::CheckDigit { field });
    }
    Ok(())
}

fn branch_into(raw: &str, out: &mut String) -> Result<()> {
    code_into(raw, out);
    match out.len() {
        0 | 2 if out.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        1 if out.as_bytes()[0].is_ascii_digit() => {
            out.insert(0, '0');
            Ok(())
        }
        _ => Err(Error::invalid(Field::Branch, "must be two digits or empty")),
    }
}

fn sex_into(raw: &str, out: &mut String) -> Result<()> {
    code_into(raw, out);
    let code = match out.as_str() {
        "1" | "男" | "M" | "MALE" => '1',
        "2" | "女" | "F" | "FEMALE" => '2',
        _ => return Err(Error::invalid(Field::Sex, "must be 1 (male) or 2 (female)")),
    };
    out.clear();
    out.push(code);
    Ok(())
}

fn write_date(date: NaiveDate, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:04}{:02}{:02}",
        date.year(),
        date.month(),
        date.day()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("渡邊　太郎").unwrap(), "渡辺太郎");
        assert_eq!(name("渡邉 太郎").unwrap(), "渡辺太郎");
        assert_eq!(name("齋藤花子").unwrap(), name("斎藤 花子").unwrap());
        assert_eq!(name("Smith  John").unwrap(), "SMITHJOHN");
        assert!(matches!(
            name(" 　\t"),
            Err(Error::InvalidField {
                field: Field::Name,
                reason: "empty"
            })
        ));
    }

    #[test]
    fn kana_names() {
        assert_eq!(kana_name("ｻﾄｳ ﾀﾛｳ").unwrap(), "サトウタロウ");
        assert_eq!(kana_name("さとう　たろう").unwrap(), "サトウタロウ");
        assert_eq!(kana_name("ﾀﾞｲｽｹ").unwrap(), "ダイスケ");
        assert_eq!(kana_name("キャッスル").unwrap(), "キヤツスル");
        assert_eq!(kana_name("サトー").unwrap(), "サト");
        assert_eq!(kana_name("カ ゛ク").unwrap(), "ガク");
        assert!(matches!(
            kana_name("佐藤"),
            Err(Error::InvalidField {
                field: Field::KanaName,
                ..
            })
        ));
    }

    #[test]
    fn insurer_numbers() {
        assert_eq!(insurer_number("06130488").unwrap(), "06130488");
        assert_eq!(insurer_number("０６１３０４８８").unwrap(), "06130488");
        assert_eq!(insurer_number("6130488").unwrap(), "06130488");
        let kokuho = niji_core::checkdigit::append("13810");
        assert_eq!(insurer_number(&kokuho).unwrap(), format!("00{kokuho}"));
        assert!(matches!(
            insurer_number("06130487"),
            Err(Error::CheckDigit {
                field: Field::InsurerNumber
            })
        ));
        assert!(matches!(
            insurer_number("0613O488"),
            Err(Error::InvalidField {
                reason: "must be digits",
                ..
            })
        ));
        assert!(insurer_number("12345").is_err());
        assert!(insurer_number("123456789").is_err());
        assert!(insurer_number("00000000").is_err());
    }

    #[test]
    fn codes() {
        assert_eq!(symbol("１９Ｄ０００１").unwrap(), "19D0001");
        assert_eq!(symbol("").unwrap(), "");
        assert_eq!(number(" １８７ ").unwrap(), "187");
        assert!(number("　").is_err());
        assert_eq!(branch("").unwrap(), "");
        assert_eq!(branch("５").unwrap(), "05");
        assert_eq!(branch("05").unwrap(), "05");
        assert!(branch("123").is_err());
        assert!(branch("A").is_err());
        assert_eq!(
            care_insured_number("０１２３４５６７８９").unwrap(),
            "0123456789"
        );
        assert_eq!(care_insured_number("h123456789").unwrap(), "H123456789");
        assert!(care_insured_number("123").is_err());
        assert_eq!(care_insurer_number("131011").unwrap(), "131011");
        assert_eq!(care_insurer_number("00131011").unwrap(), "131011");
        assert!(care_insurer_number("1310").is_err());
    }

    #[test]
    fn sexes() {
        for (raw, want) in [
            ("1", "1"),
            ("１", "1"),
            ("男", "1"),
            ("male", "1"),
            ("F", "2"),
            ("女", "2"),
            (" 2 ", "2"),
        ] {
            assert_eq!(sex(raw).unwrap(), want, "{raw}");
        }
        assert!(sex("3").is_err());
        assert!(sex("").is_err());
    }

    #[test]
    fn errors_carry_no_value() {
        let e = insurer_number("06130487").unwrap_err().to_string();
        assert!(!e.contains("0613"), "{e}");
        let e = kana_name("佐藤").unwrap_err().to_string();
        assert!(!e.contains("佐藤"), "{e}");
    }
}
