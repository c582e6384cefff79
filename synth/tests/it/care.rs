//! 介護給付費明細書 CSV: control, data and end records.

use crate::{cp932, crlf_lines, files, fixture};

#[test]
fn care_files_have_consistent_control_and_end_records() {
    let dir = fixture();
    let all = files(&dir.join("care"), ".csv");
    assert!(!all.is_empty());
    let (mut kihon, mut with_medical) = (0, 0);
    for path in &all {
        let text = cp932(path);
        let lines = crlf_lines(path, &text);
        let control: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(control[0], "1");
        let declared: usize = control[3].parse().unwrap();
        assert_eq!(declared, lines.len() - 2, "{}: 件数", path.display());
        let end: Vec<&str> = lines.last().unwrap().split(',').collect();
        assert_eq!(end, vec!["3", &lines.len().to_string()]);
        for (i, l) in lines[1..lines.len() - 1].iter().enumerate() {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[0], "2");
            assert_eq!(f[1], (i + 2).to_string(), "record numbers run on");
            match f[3] {
                "01" => {
                    kihon += 1;
                    assert_eq!(f.len(), 18);
                    assert_eq!(f[7].len(), 10, "被保険者番号 has 10 digits");
                    assert!(f[7].bytes().all(|b| b.is_ascii_digit()));
                    assert!(crate::any_date(f[8]).is_some());
                    assert!(matches!(f[9], "1" | "2"));
                    assert!(matches!(
                        f[10],
                        "12" | "13" | "21" | "22" | "23" | "24" | "25"
                    ));
                    let birth = crate::any_date(f[8]).unwrap();
                    let month = crate::any_month(f[4]).unwrap();
                    assert!(
                        (month - birth).num_days() / 365 >= 64,
                        "care claim under 65"
                    );
                    if !f[17].is_empty() {
                        with_medical += 1;
                        let parts: Vec<&str> = f[17].split(':').collect();
                        assert_eq!(parts.len(), 4);
                        assert!(niji_core::checkdigit::is_valid(parts[0]));
                    }
                }
                "02" => {
                    assert_eq!(f.len(), 14);
                    let units: u64 = f[10].parse().unwrap();
                    let times: u64 = f[11].parse().unwrap();
                    assert_eq!(units * times, f[12].parse::<u64>().unwrap());
                }
                other => panic!("unexpected record kind {other}"),
            }
        }
    }
    assert!(kihon > 50);
    let share = f64::from(with_medical) / f64::from(kihon);
    assert!(
        (0.75..=0.99).contains(&share),
        "share with the medical number {share}"
    );
}
