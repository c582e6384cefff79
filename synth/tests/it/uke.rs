//! UKE receipts: encoding, line ends, field counts, trailer totals and check digits.

use std::collections::BTreeMap;

use niji_core::checkdigit;

use crate::{cp932, crlf_lines, files, fixture};

fn points(fields: &[&str], at: usize, count_at: usize) -> u64 {
    let p: u64 = fields.get(at).and_then(|s| s.parse().ok()).unwrap_or(0);
    let n: u64 = fields
        .get(count_at)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    p * n
}

#[test]
fn go_trailers_match_the_body_and_check_digits_are_valid() {
    let dir = fixture();
    let all = files(dir, ".UKE");
    assert!(all.len() > 50, "only {} UKE files", all.len());
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let (mut wareki_files, mut western_files, mut full_width, mut sn) = (0, 0, 0, 0);
    for path in &all {
        let text = cp932(path);
        let lines = crlf_lines(path, &text);
        let head: Vec<&str> = lines[0].split(',').collect();
        assert!(
            head[0] == "IR" || head[0] == "YK",
            "{}: first record {}",
            path.display(),
            head[0]
        );
        assert_eq!(head[4].len(), 7, "{}: 医療機関コード", path.display());
        if head[7].len() == 5 {
            wareki_files += 1
        } else {
            western_files += 1
        }
        let pharmacy = head[0] == "YK";
        let (mut receipts, mut ho_total, mut body_total, mut receipt_points) =
            (0u64, 0u64, 0u64, 0u64);
        let mut declared: Option<u64> = None;
        let close = |declared: &mut Option<u64>, receipt_points: &mut u64, line: usize| {
            if let Some(d) = declared.take() {
                assert_eq!(
                    d,
                    *receipt_points,
                    "{}:{line}: HO 合計点数 differs from SI/IY/KI",
                    path.display()
                );
            }
            *receipt_points = 0;
        };
        for (i, line) in lines.iter().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            *kinds.entry(f[0].to_string()).or_default() += 1;
            match f[0] {
                "RE" => {
                    close(&mut declared, &mut receipt_points, i);
                    receipts += 1;
                    assert_eq!(
                        f.len(),
                        38,
                        "{}:{}: RE has {} fields",
                        path.display(),
                        i + 1,
                        f.len()
                    );
                    assert!(matches!(f[5], "1" | "2"));
                    assert!(
                        crate::any_date(f[6]).is_some(),
                        "{}:{}: birth date {}",
                        path.display(),
                        i + 1,
                        f[6].len()
                    );
                    assert!(crate::any_month(f[3]).is_some());
                    assert_eq!(f[2].len(), 4);
                    assert!(!f[36].is_empty(), "カナ氏名 missing");
                }
                "HO" => {
                    assert_eq!(f.len(), 15);
                    assert!(
                        f[1].len() == 8 || f[1].len() == 6,
                        "保険者番号 length {}",
                        f[1].len()
                    );
                    assert!(
                        checkdigit::is_valid(f[1]),
                        "{}:{}: 保険者番号 check digit",
                        path.display(),
                        i + 1
                    );
                    if f[2]
                        .chars()
                        .chain(f[3].chars())
                        .any(|c| ('０'..='９').contains(&c))
                    {
                        full_width += 1;
                    }
                    let t: u64 = f[5].parse().unwrap();
                    ho_total += t;
                    declared = Some(t);
                }
                "KO" => {
                    assert_eq!(f.len(), 12);
                    assert!(checkdigit::is_valid(f[1]), "公費負担者番号 check digit");
                }
                "SN" => {
                    assert_eq!(f.len(), 9);
                    assert!(f[6].len() == 2 && f[6].bytes().all(|b| b.is_ascii_digit()));
                    sn += 1;
                }
                "SY" => {
                    assert_eq!(f.len(), 8);
                    assert_eq!(f[1].len(), 7);
                    if f[1] == "0000999" {
                        assert!(!f[5].is_empty(), "uncoded diagnosis without a name");
                    }
                }
                "SI" => {
                    assert_eq!(f.len(), 44, "SI fields");
                    let days: u64 = f[13..44].iter().filter_map(|d| d.parse::<u64>().ok()).sum();
                    assert_eq!(
                        days.to_string(),
                        f[6],
                        "{}:{}: 算定日 do not add up to 回数",
                        path.display(),
                        i + 1
                    );
                    receipt_points += points(&f, 5, 6);
                }
                "IY" if pharmacy => receipt_points += points(&f, 5, 6),
                "IY" => {
                    assert_eq!(f.len(), 44, "IY fields");
                    receipt_points += points(&f, 5, 6);
                }
                "KI" => receipt_points += points(&f, 2, 3),
                "GO" => {
                    close(&mut declared, &mut receipt_points, i);
                    assert_eq!(i, lines.len() - 1, "GO is not last");
                    assert_eq!(
                        f[1].parse::<u64>().unwrap(),
                        receipts,
                        "{}: GO 件数",
                        path.display()
                    );
                    assert_eq!(
                        f[2].parse::<u64>().unwrap(),
                        ho_total,
                        "{}: GO 総合計点数",
                        path.display()
                    );
                    body_total = ho_total;
                }
                "CO" | "SH" | "CZ" | "BU" | "SB" => {}
                other => panic!("{}: unexpected record {other}", path.display()),
            }
        }
        assert!(body_total > 0 || receipts == 0);
    }
    for rec in [
        "RE", "HO", "SY", "SI", "IY", "CO", "GO", "BU", "SB", "SH", "CZ", "KI", "SN",
    ] {
        assert!(
            kinds.get(rec).copied().unwrap_or(0) > 0,
            "no {rec} record in the extracts: {kinds:?}"
        );
    }
    assert!(
        kinds.get("KO").copied().unwrap_or(0) > 0,
        "no 公費 (KO) at all"
    );
    assert!(
        wareki_files > 0 && western_files > wareki_files,
        "wareki {wareki_files}, western {western_files}"
    );
    assert!(full_width > 0, "no full-width 記号/番号");
    assert!(sn > 0);
}

#[test]
fn names_show_the_drift_of_real_files() {
    let dir = fixture();
    let (mut half_kana, mut variant, mut no_space, mut kana_only) = (0, 0, 0, 0);
    for path in files(dir, ".UKE") {
        for line in cp932(&path).lines().filter(|l| l.starts_with("RE,")) {
            let f: Vec<&str> = line.split(',').collect();
            if f[36]
                .chars()
                .any(|c| ('\u{FF66}'..='\u{FF9F}').contains(&c))
            {
                half_kana += 1;
            }
            if [
                "渡邊", "渡邉", "髙橋", "齋藤", "斎藤", "齊藤", "山﨑", "濱田", "澤田", "廣瀬",
                "櫻井",
            ]
            .iter()
            .any(|v| f[4].contains(v))
            {
                variant += 1;
            }
            if !f[4].contains('　') && !f[4].contains(' ') {
                no_space += 1;
            }
            if f[4]
                .chars()
                .all(|c| matches!(c, 'ァ'..='ヶ' | 'ｦ'..='ﾟ' | '　' | ' ' | 'ー'))
            {
                kana_only += 1;
            }
        }
    }
    assert!(
        half_kana > 0 && variant > 0 && no_space > 0 && kana_only > 0,
        "{half_kana} {variant} {no_space} {kana_only}"
    );
}
