//! The tricky names and numbers of real extracts, and what rule set norm-1 makes of them.

use niji_pseudonymize::normalize::{self, RULESET_VERSION};
use niji_pseudonymize::{Error, Field};

/// `Ok(value)` is the normalised value; `Err(reason)` names the kind of error expected.
type Want = Result<&'static str, &'static str>;

const TABLE: &[(Field, &str, Want)] = &[
    // Spacing: half, full, several, tabs, none; zero-width and variation selectors.
    (Field::Name, "山田 太郎", Ok("山田太郎")),
    (Field::Name, "山田　太郎", Ok("山田太郎")),
    (Field::Name, " 山田  \t太郎　", Ok("山田太郎")),
    (Field::Name, "山田\u{200B}太郎", Ok("山田太郎")),
    (Field::Name, "葛\u{E0100}西", Ok("葛西")),
    (Field::Name, "\u{3000}\u{3000}", Err("empty")),
    // Half-width and full-width katakana, hiragana, voiced marks.
    (Field::KanaName, "ﾔﾏﾀﾞ ﾀﾛｳ", Ok("ヤマダタロウ")),
    (Field::KanaName, "やまだ　たろう", Ok("ヤマダタロウ")),
    (Field::KanaName, "ヤマダ タロウ", Ok("ヤマダタロウ")),
    (Field::KanaName, "ﾊﾟｸ ｼﾞｭﾝﾎ", Ok("パクジユンホ")),
    (Field::KanaName, "ヤマタ\u{309B}", Ok("ヤマダ")),
    (Field::KanaName, "ｳﾞｨｯｸ", Ok("ヴイツク")),
    // Small kana and long-vowel marks.
    (Field::KanaName, "キョウコ", Ok("キヨウコ")),
    (Field::KanaName, "ｷｮｳｺ", Ok("キヨウコ")),
    (Field::KanaName, "ハットリ", Ok("ハツトリ")),
    (Field::KanaName, "ヶ谷", Err("contains kanji")),
    (Field::KanaName, "ヵヶヮ", Ok("カケワ")),
    (Field::KanaName, "ゆうこ", Ok("ユウコ")),
    (Field::KanaName, "サトー", Ok("サト")),
    (Field::KanaName, "ｻﾄｰ", Ok("サト")),
    (Field::KanaName, "マリー＝アンヌ", Ok("マリアンヌ")),
    (Field::KanaName, "スミス・ジョン", Ok("スミスジヨン")),
    (Field::KanaName, "ｽﾐｽ･ｼﾞｮﾝ", Ok("スミスジヨン")),
    (Field::KanaName, "佐藤", Err("contains kanji")),
    // Kanji variants.
    (Field::Name, "渡邊 健", Ok("渡辺健")),
    (Field::Name, "渡邉健", Ok("渡辺健")),
    (Field::Name, "渡辺健", Ok("渡辺健")),
    (Field::Name, "齋藤", Ok("斉藤")),
    (Field::Name, "齊藤", Ok("斉藤")),
    (Field::Name, "斎藤", Ok("斉藤")),
    (Field::Name, "髙橋", Ok("高橋")),
    (Field::Name, "山﨑", Ok("山崎")),
    (Field::Name, "山嵜", Ok("山崎")),
    (Field::Name, "濱田", Ok("浜田")),
    (Field::Name, "澤田", Ok("沢田")),
    (Field::Name, "廣瀬", Ok("広瀬")),
    (Field::Name, "櫻井", Ok("桜井")),
    (Field::Name, "中嶋", Ok("中島")),
    (Field::Name, "𠮷田", Ok("吉田")),
    (Field::Name, "槇原", Ok("槙原")),
    (Field::Name, "冨田", Ok("富田")),
    (Field::Name, "\u{FA10}本", Ok("塚本")),
    (Field::Name, "ｽｽﾞｷ ｲﾁﾛｰ", Ok("スズキイチロ")),
    (Field::Name, "Ｓｍｉｔｈ　Ｊｏｈｎ", Ok("SMITHJOHN")),
    // 保険者番号: widths, 国保 six digits, bad check digits, placeholders.
    (Field::InsurerNumber, "06130488", Ok("06130488")),
    (Field::InsurerNumber, "０６１３０４８８", Ok("06130488")),
    (Field::InsurerNumber, "0613 0488", Ok("06130488")),
    (Field::InsurerNumber, "6130488", Ok("06130488")),
    (Field::InsurerNumber, "138107", Ok("00138107")),
    (Field::InsurerNumber, "１３８１０７", Ok("00138107")),
    (Field::InsurerNumber, "06130487", Err("check digit")),
    (Field::InsurerNumber, "138106", Err("check digit")),
    (Field::InsurerNumber, "16130488", Err("check digit")),
    (Field::InsurerNumber, "00000000", Err("all zeros")),
    (
        Field::InsurerNumber,
        "12345",
        Err("must have 6 to 8 digits"),
    ),
    (
        Field::InsurerNumber,
        "061304888",
        Err("must have 6 to 8 digits"),
    ),
    (Field::InsurerNumber, "0613-0488", Err("must be digits")),
    (Field::InsurerNumber, "", Err("empty")),
    // 記号・番号・枝番.
    (Field::Symbol, "１９Ｄ０００１", Ok("19D0001")),
    (Field::Symbol, "あいう", Ok("あいう")),
    (Field::Symbol, "19d 0001", Ok("19D0001")),
    (Field::Symbol, "", Ok("")),
    (Field::Number, "１８７", Ok("187")),
    (Field::Number, "００１８７", Ok("00187")),
    (Field::Number, "　", Err("empty")),
    (Field::Branch, "05", Ok("05")),
    (Field::Branch, "０５", Ok("05")),
    (Field::Branch, "5", Ok("05")),
    (Field::Branch, "", Ok("")),
    (Field::Branch, "005", Err("must be two digits or empty")),
    // Birth dates: Western, separated, wareki codes, letters, era names, era boundaries.
    (Field::BirthDate, "19800405", Ok("19800405")),
    (Field::BirthDate, "１９８００４０５", Ok("19800405")),
    (Field::BirthDate, "1980-04-05", Ok("19800405")),
    (Field::BirthDate, "1980/4/5", Ok("19800405")),
    (Field::BirthDate, "3550405", Ok("19800405")),
    (Field::BirthDate, "S55.04.05", Ok("19800405")),
    (Field::BirthDate, "昭和55年4月5日", Ok("19800405")),
    (Field::BirthDate, "3640107", Ok("19890107")),
    (Field::BirthDate, "4010108", Ok("19890108")),
    (Field::BirthDate, "平成元年1月8日", Ok("19890108")),
    (Field::BirthDate, "4310430", Ok("20190430")),
    (Field::BirthDate, "5010501", Ok("20190501")),
    (Field::BirthDate, "1450729", Ok("19120729")),
    (Field::BirthDate, "4010107", Err("day outside its era")),
    (Field::BirthDate, "5010430", Err("day outside its era")),
    (Field::BirthDate, "3550230", Err("no such day")),
    (Field::BirthDate, "6010101", Err("unknown era")),
    (Field::BirthDate, "19800230", Err("no such day")),
    (Field::BirthDate, "18000101", Err("year out of range")),
    (
        Field::BirthDate,
        "198004",
        Err("must be YYYYMMDD or GYYMMDD"),
    ),
    // Sex and care numbers.
    (Field::Sex, "１", Ok("1")),
    (Field::Sex, "女", Ok("2")),
    (Field::Sex, "9", Err("must be 1 (male) or 2 (female)")),
    (
        Field::CareInsuredNumber,
        "０００１２３４５６７",
        Ok("0001234567"),
    ),
    (Field::CareInsuredNumber, "H000123456", Ok("H000123456")),
    (
        Field::CareInsuredNumber,
        "000123456",
        Err("must be 10 digits or letters"),
    ),
    (Field::CareInsurerNumber, "１３１０１１", Ok("131011")),
    (Field::CareInsurerNumber, "13101", Err("must be 6 digits")),
];

#[test]
fn ruleset_version() {
    assert_eq!(RULESET_VERSION, "norm-1");
}

#[test]
fn the_table() {
    let mut failures = Vec::new();
    for (i, (field, raw, want)) in TABLE.iter().enumerate() {
        let got = normalize::normalize(*field, raw);
        let ok = match (&got, want) {
            (Ok(v), Ok(w)) => v == w,
            (Err(Error::CheckDigit { field: f }), Err("check digit")) => f == field,
            (Err(Error::InvalidField { field: f, reason }), Err(w)) => f == field && reason == w,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "row {i}: {field} {raw:?}: got {got:?}, want {want:?}"
            ));
        }
        if let Ok(v) = &got {
            assert_eq!(
                normalize::normalize(*field, v).as_ref().ok(),
                Some(v),
                "row {i} not idempotent"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_never_quote_the_value() {
    for (field, raw, _) in TABLE {
        if let Err(e) = normalize::normalize(*field, raw) {
            let text = e.to_string();
            if raw.chars().count() >= 3 {
                assert!(!text.contains(raw), "{text} quotes its value");
            }
            assert!(
                text.starts_with(field.name()),
                "{text} does not name {field}"
            );
        }
    }
}
