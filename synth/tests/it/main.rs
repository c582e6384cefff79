//! Checks of `niji synth` output that do not reuse the generator's code paths: the files are read
//! back as a consumer would (CP932 decoding, XML and JSON parsers, field positions of DOMAIN.md).

mod care;
mod cda;
mod determinism;
mod fhir;
mod truth;
mod uke;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One population shared by the read-back tests: 3,000 persons over two years, in ten regions so
/// that facility habits (half-width kana, no name spacing, wareki spec) all occur.
pub(crate) fn fixture() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut params = niji_synth::Params::new(3000, 2, 7);
        params.region_size = 300;
        niji_synth::generate(&params, dir.path(), &mut |_| {}).unwrap();
        dir
    })
    .path()
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub(crate) fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Decodes a CP932 file strictly: any malformed byte fails the test.
pub(crate) fn cp932(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(&bytes);
    assert!(!had_errors, "{} is not valid CP932", path.display());
    text.into_owned()
}

/// Lines of a CRLF file; fails on a bare LF or a missing final CRLF.
pub(crate) fn crlf_lines(path: &Path, text: &str) -> Vec<String> {
    assert!(
        text.ends_with("\r\n"),
        "{} does not end with CRLF",
        path.display()
    );
    let lines: Vec<String> = text.split_terminator("\r\n").map(str::to_string).collect();
    for (i, l) in lines.iter().enumerate() {
        assert!(
            !l.contains('\n') && !l.contains('\r'),
            "{}:{} has a bare line break",
            path.display(),
            i + 1
        );
    }
    lines
}

/// A date written as YYYYMMDD, or as wareki GYYMMDD (era starts: 明治 1868, 大正 1912, 昭和 1926,
/// 平成 1989, 令和 2019), read independently of niji-core.
pub(crate) fn any_date(s: &str) -> Option<chrono::NaiveDate> {
    let ymd = |y: i32, m: &str, d: &str| {
        chrono::NaiveDate::from_ymd_opt(y, m.parse().ok()?, d.parse().ok()?)
    };
    match s.len() {
        8 => ymd(s[..4].parse().ok()?, &s[4..6], &s[6..]),
        7 => {
            let base = [0, 1868, 1912, 1926, 1989, 2019][s[..1]
                .parse::<usize>()
                .ok()
                .filter(|g| (1..=5).contains(g))?];
            ymd(base + s[1..3].parse::<i32>().ok()? - 1, &s[3..5], &s[5..])
        }
        _ => None,
    }
}

/// A month written as YYYYMM or GYYMM.
pub(crate) fn any_month(s: &str) -> Option<chrono::NaiveDate> {
    any_date(&format!("{s}01"))
}

#[test]
fn wareki_reader_of_the_tests_agrees_with_known_dates() {
    assert_eq!(
        any_date("3550405"),
        chrono::NaiveDate::from_ymd_opt(1980, 4, 5)
    );
    assert_eq!(
        any_date("5060229"),
        chrono::NaiveDate::from_ymd_opt(2024, 2, 29)
    );
    assert_eq!(
        any_month("50512"),
        chrono::NaiveDate::from_ymd_opt(2023, 12, 1)
    );
    assert_eq!(any_date("20240230"), None);
}
