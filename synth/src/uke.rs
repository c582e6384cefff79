//! レセプト電算 (UKE) files: 医科 (RECEIPTC), DPC (RECEIPTD) and 調剤 (RECEIPTY), CP932 and CRLF.
//!
//! Field positions follow DOMAIN.md (0-based, field 0 the record ID). The current spec writes
//! Western dates (`YYYYMM`, `YYYYMMDD`) and an `SN` record with the 枝番; facilities on the older
//! spec write wareki dates (`GYYMM`, `GYYMMDD`) and no `SN`. Pharmacy files use `YK` for the
//! pharmacy, then per receipt `RE`, `HO`, `KO`, `SN`, and per drug group `SH` (剤形, 用法), `CZ`
//! (調剤年月日, 調剤数量, 薬剤料) and `IY`, with the pharmacy fees in `KI` records. DPC files add
//! `BU` (診断群分類番号, 入院/退院年月日, 転帰, 死亡) and `SB` (傷病名 with ICD-10).

use chrono::{Datelike, NaiveDate};
use niji_core::wareki;

use crate::codes::{Act, Drug, PHARMACY_ACTS};
use crate::recorded::Recorded;
use crate::world::Facility;

/// Which kind of UKE file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UkeKind {
    Med,
    Dpc,
    Pha,
}

impl UkeKind {
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            UkeKind::Med => "RECEIPTC.UKE",
            UkeKind::Dpc => "RECEIPTD.UKE",
            UkeKind::Pha => "RECEIPTY.UKE",
        }
    }
}

/// A diagnosis line.
#[derive(Debug, Clone)]
pub(crate) struct Dx {
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) icd10: &'static str,
    pub(crate) start: NaiveDate,
    /// 転帰区分: 1 継続, 2 治ゆ, 3 死亡, 4 中止.
    pub(crate) outcome: u8,
    pub(crate) main: bool,
    /// Written as uncoded (`0000999`) with the name in field 5.
    pub(crate) uncoded: bool,
}

/// An admission, for DPC receipts.
#[derive(Debug, Clone)]
pub(crate) struct Stay {
    pub(crate) dpc: &'static str,
    pub(crate) admitted: NaiveDate,
    /// Discharge date if the stay ends in the receipt's month.
    pub(crate) discharged: Option<NaiveDate>,
    pub(crate) died: bool,
}

/// One receipt: a person's care at one facility in one service month.
#[derive(Debug, Clone)]
pub(crate) struct Receipt {
    pub(crate) person: u64,
    pub(crate) rec: Recorded,
    pub(crate) month: NaiveDate,
    pub(crate) kohi: Option<(String, String)>,
    pub(crate) stay: Option<Stay>,
    pub(crate) dx: Vec<Dx>,
    /// Procedures with the days of the month they were done on.
    pub(crate) acts: Vec<(Act, Vec<u32>)>,
    /// Drugs with the number of days supplied, and the day of the visit.
    pub(crate) drugs: Vec<(&'static Drug, u32, u32)>,
    pub(crate) days: u32,
    pub(crate) karte: String,
    /// 4th digit of レセプト種別 for outpatients (2 本人, 4 未就学者, 6 家族, 8 高齢者).
    pub(crate) insured_class: u8,
    pub(crate) koki: bool,
}

impl Receipt {
    /// 審査支払機関: 1 支払基金 (employees' insurers), 2 国保連 (国保 and 後期高齢者).
    pub(crate) fn payer(&self) -> u8 {
        if self.koki || self.rec.coverage.insurer.len() == 6 {
            2
        } else {
            1
        }
    }
}

/// A file being built: its lines and, for the truth, the line of each receipt's `RE`.
#[derive(Debug)]
pub(crate) struct UkeFile {
    pub(crate) text: String,
    pub(crate) lines: u64,
    /// (1-based line of RE, person id, drift labels).
    pub(crate) receipts: Vec<(u64, u64, String)>,
    pub(crate) records: u64,
}

struct W<'a> {
    f: &'a mut UkeFile,
}

impl W<'_> {
    fn line(&mut self, fields: &[&str]) {
        self.f.text.push_str(&fields.join(","));
        self.f.text.push_str("\r\n");
        self.f.lines += 1;
        self.f.records += 1;
    }
}

fn month_text(wareki_spec: bool, d: NaiveDate) -> String {
    if wareki_spec {
        wareki::format_month(d)
    } else {
        format!("{:04}{:02}", d.year(), d.month())
    }
}

fn date_text(wareki_spec: bool, d: NaiveDate) -> String {
    if wareki_spec {
        wareki::format_date(d)
    } else {
        d.format("%Y%m%d").to_string()
    }
}

/// Sum of points × counts over acts and drugs: the receipt's 合計点数.
pub(crate) fn total_points(r: &Receipt, pharmacy: bool) -> u64 {
    let acts: u64 = r
        .acts
        .iter()
        .map(|(a, days)| u64::from(a.points) * days.len() as u64)
        .sum();
    let drugs: u64 = r
        .drugs
        .iter()
        .map(|(d, days, _)| u64::from(d.points) * u64::from(*days))
        .sum();
    let fees: u64 = if pharmacy && !r.drugs.is_empty() {
        PHARMACY_ACTS.iter().map(|a| u64::from(a.points)).sum()
    } else {
        0
    };
    acts + drugs + fees
}

fn day_fields(days: &[u32]) -> Vec<String> {
    let mut v = vec![String::new(); 31];
    for d in days {
        let slot = &mut v[(*d as usize).clamp(1, 31) - 1];
        let n: u32 = slot.parse().unwrap_or(0) + 1;
        *slot = n.to_string();
    }
    v
}

/// Writes one file of `kind` for `facility` and billing month `billing`.
pub(crate) fn write(
    kind: UkeKind,
    facility: &Facility,
    payer: u8,
    pref: u8,
    billing: NaiveDate,
    receipts: &[Receipt],
) -> UkeFile {
    let mut f = UkeFile {
        text: String::new(),
        lines: 0,
        receipts: Vec::new(),
        records: 0,
    };
    let wk = facility.wareki;
    let mut w = W { f: &mut f };
    let head = if kind == UkeKind::Pha { "YK" } else { "IR" };
    let table = if kind == UkeKind::Pha { "4" } else { "1" };
    let phone = format!("0{}", &facility.code[..6]);
    w.line(&[
        head,
        &payer.to_string(),
        &format!("{pref:02}"),
        table,
        &facility.code,
        "",
        &facility.name,
        &month_text(wk, billing),
        "00",
        &phone,
    ]);
    let mut grand = 0u64;
    for (i, r) in receipts.iter().enumerate() {
        let line = w.f.lines + 1;
        w.f.receipts.push((line, r.person, r.rec.drift.labels()));
        let points = total_points(r, kind == UkeKind::Pha);
        grand += points;
        let kohi_n = u8::from(r.kohi.is_some());
        let first = match kind {
            UkeKind::Pha => '4',
            _ => '1',
        };
        let second = if r.koki { '3' } else { '1' };
        let fourth = if r.stay.is_some() {
            r.insured_class - 1
        } else {
            r.insured_class
        };
        let kind_code = format!("{first}{second}{}{fourth}", kohi_n + 1);
        let mut re = vec![String::new(); 38];
        re[0] = "RE".into();
        re[1] = (i + 1).to_string();
        re[2] = kind_code;
        re[3] = month_text(wk, r.month);
        re[4] = r.rec.name.clone();
        re[5] = r.rec.sex.code().to_string();
        re[6] = date_text(wk, r.rec.birth);
        re[7] = if r.koki { "90".into() } else { "70".into() };
        if let Some(s) = &r.stay {
            re[8] = date_text(wk, s.admitted);
        }
        re[13] = r.karte.clone();
        re[36] = r.rec.kana.clone();
        let re_refs: Vec<&str> = re.iter().map(String::as_str).collect();
        w.line(&re_refs);
        let burden = if r.koki { points / 10 } else { points * 3 / 10 } * 10;
        let (pts, days, burden_s) = (points.to_string(), r.days.to_string(), burden.to_string());
        w.line(&[
            "HO",
            &r.rec.coverage.insurer,
            &r.rec.symbol,
            &r.rec.number,
            &days,
            &pts,
            "",
            "",
            "",
            "",
            "",
            &burden_s,
            "",
            "",
            "",
        ]);
        let share = if r.kohi.is_some() { "2" } else { "1" };
        if let Some((payer_no, recipient)) = &r.kohi {
            w.line(&[
                "KO", payer_no, recipient, "", &days, &pts, "0", "", "", "", "", "",
            ]);
        }
        if !wk && !r.rec.coverage.branch.is_empty() {
            w.line(&["SN", "1", "01", "", "", "", &r.rec.coverage.branch, "", ""]);
        }
        if kind == UkeKind::Dpc {
            if let Some(s) = &r.stay {
                let dis = s.discharged.map(|d| date_text(wk, d)).unwrap_or_default();
                let (outcome, died) = match (s.discharged, s.died) {
                    (None, _) => ("", ""),
                    (Some(_), true) => ("6", "1"),
                    (Some(_), false) => ("1", "0"),
                };
                w.line(&["BU", s.dpc, &date_text(wk, s.admitted), &dis, outcome, died]);
            }
            for dx in r.dx.iter().filter(|d| d.main) {
                w.line(&["SB", dx.code, dx.icd10, dx.name, "01"]);
            }
        }
        if kind != UkeKind::Pha {
            for dx in &r.dx {
                let (code, name) = if dx.uncoded {
                    ("0000999", dx.name)
                } else {
                    (dx.code, "")
                };
                w.line(&[
                    "SY",
                    code,
                    &date_text(wk, dx.start),
                    &dx.outcome.to_string(),
                    "",
                    name,
                    if dx.main { "01" } else { "" },
                    "",
                ]);
            }
            for (act, days) in &r.acts {
                let mut v: Vec<String> = vec![
                    "SI".into(),
                    act.kind.into(),
                    share.into(),
                    act.code.into(),
                    String::new(),
                    act.points.to_string(),
                    days.len().to_string(),
                ];
                v.extend(std::iter::repeat_n(String::new(), 6));
                v.extend(day_fields(days));
                let refs: Vec<&str> = v.iter().map(String::as_str).collect();
                w.line(&refs);
            }
            for (drug, n, day) in &r.drugs {
                let kind = if drug.form == 4 { "33" } else { "21" };
                let mut v: Vec<String> = vec![
                    "IY".into(),
                    kind.into(),
                    share.into(),
                    drug.code.into(),
                    drug.per_day.to_string(),
                    drug.points.to_string(),
                    n.to_string(),
                ];
                v.extend(std::iter::repeat_n(String::new(), 6));
                v.extend(day_fields(&vec![*day; *n as usize]));
                let refs: Vec<&str> = v.iter().map(String::as_str).collect();
                w.line(&refs);
                if drug.form == 1 {
                    w.line(&[
                        "CO",
                        kind,
                        share,
                        crate::codes::COMMENT_CODE,
                        "１日３回毎食後",
                    ]);
                }
            }
        } else {
            for (j, (drug, n, day)) in r.drugs.iter().enumerate() {
                let no = (j + 1).to_string();
                let usage = if drug.per_day >= 3 {
                    "１日３回毎食後"
                } else {
                    "１日１回朝食後"
                };
                w.line(&["SH", &no, &drug.form.to_string(), "1013044400000000", usage]);
                let dispensed = NaiveDate::from_ymd_opt(r.month.year(), r.month.month(), *day)
                    .unwrap_or(r.month);
                let drug_pts = (u64::from(drug.points) * u64::from(*n)).to_string();
                w.line(&[
                    "CZ",
                    &no,
                    &date_text(wk, dispensed),
                    &n.to_string(),
                    &drug_pts,
                    "",
                ]);
                w.line(&[
                    "IY",
                    &no,
                    share,
                    drug.code,
                    &drug.per_day.to_string(),
                    &drug.points.to_string(),
                    &n.to_string(),
                ]);
            }
            if !r.drugs.is_empty() {
                for a in PHARMACY_ACTS {
                    w.line(&["KI", a.code, &a.points.to_string(), "1"]);
                }
            }
        }
    }
    let (count, total) = (receipts.len().to_string(), grand.to_string());
    w.line(&["GO", &count, &total, "99"]);
    f
}
