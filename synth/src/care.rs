//! 介護給付費明細書 claim files (CSV, CP932, CRLF): a control record, 基本 (01) and 明細 (02)
//! data records, and an end record, one file a care provider and processing month.
//!
//! Control: `1,<recno>,<volume>,<件数>,<データ種別>,<福祉事務所>,<保険者番号>,<事業所番号>,
//! <都道府県>,<媒体区分>,<処理対象年月>,<ファイル管理番号>`.
//! 基本 01: `2,<recno>,<交換情報識別番号>,01,<サービス提供年月>,<事業所番号>,<保険者番号>,
//! <被保険者番号>,<生年月日>,<性別>,<要介護状態区分>,<認定有効期間開始>,<認定有効期間終了>,
//! <居宅サービス計画作成区分>,<開始年月日>,<中止年月日>,<単位数合計>,<医療保険個人単位被保険者番号>`.
//! The last field is the person's oldest medical individual insured number
//! (`保険者番号:記号:番号:枝番`, as the payer's insured-number history system supplies it); it is
//! empty where the history system had none.
//! 明細 02: `2,<recno>,<交換情報識別番号>,02,<サービス提供年月>,<事業所番号>,<保険者番号>,
//! <被保険者番号>,<サービス種類コード>,<サービス項目コード>,<単位数>,<日数・回数>,<サービス単位数>,<摘要>`.
//! End: `3,<recno>`.

use chrono::{Datelike, NaiveDate};

use crate::codes::{CARE_MANAGEMENT, CARE_SERVICES, CareService, PREVENTIVE_SERVICES};
use crate::rng::Rng;

/// One month's claim of one person at one provider.
#[derive(Debug, Clone)]
pub(crate) struct CareClaim {
    pub(crate) person: u64,
    pub(crate) month: NaiveDate,
    pub(crate) insurer: String,
    pub(crate) number: String,
    pub(crate) birth: NaiveDate,
    pub(crate) sex: char,
    pub(crate) level: u8,
    pub(crate) cert_from: NaiveDate,
    pub(crate) medical_number: String,
    pub(crate) services: Vec<(CareService, u32)>,
    pub(crate) birth_typo: bool,
}

/// Services for a month at `level` (要支援 12/13 get preventive services).
pub(crate) fn services(rng: &mut Rng, level: u8) -> Vec<(CareService, u32)> {
    if level < 20 {
        let s = *rng.pick(PREVENTIVE_SERVICES);
        return vec![(s, if s.kind == "67" { 1 } else { 4 })];
    }
    let n = 1 + usize::from(level >= 23) + usize::from(rng.chance(0.4));
    let mut v: Vec<(CareService, u32)> = Vec::new();
    for _ in 0..n {
        let s = *rng.pick(CARE_SERVICES);
        if v.iter().any(|(x, _)| x.kind == s.kind && x.item == s.item) {
            continue;
        }
        let times = match s.kind {
            "17" => 1,
            "21" => rng.range(3, 10) as u32,
            _ => rng.range(4, 12) as u32 + u32::from(level - 20) * 2,
        };
        v.push((s, times));
    }
    v.push((CARE_MANAGEMENT, 1));
    v
}

fn ym(d: NaiveDate) -> String {
    format!("{:04}{:02}", d.year(), d.month())
}

/// Writes the file; returns the text and, for the truth, (line of each 基本 record, person, drift).
pub(crate) fn write(
    provider: &str,
    pref: u8,
    processing: NaiveDate,
    claims: &[CareClaim],
) -> (String, Vec<(u64, u64, String)>, u64) {
    let mut body = String::new();
    let mut recno = 1u64;
    let mut truth = Vec::new();
    let mut push = |body: &mut String, fields: Vec<String>| {
        recno += 1;
        body.push_str(&fields.join(","));
        body.push_str("\r\n");
        recno
    };
    for c in claims {
        let form = if c.level < 20 { "7143" } else { "7131" };
        let units: u32 = c.services.iter().map(|(s, t)| s.units * t).sum();
        let cert_to = c
            .cert_from
            .checked_add_months(chrono::Months::new(24))
            .and_then(|d| d.pred_opt())
            .unwrap_or(c.cert_from);
        let line = push(
            &mut body,
            vec![
                "2".into(),
                String::new(),
                form.into(),
                "01".into(),
                ym(c.month),
                provider.into(),
                c.insurer.clone(),
                c.number.clone(),
                c.birth.format("%Y%m%d").to_string(),
                c.sex.to_string(),
                c.level.to_string(),
                c.cert_from.format("%Y%m%d").to_string(),
                cert_to.format("%Y%m%d").to_string(),
                "1".into(),
                String::new(),
                String::new(),
                units.to_string(),
                c.medical_number.clone(),
            ],
        );
        truth.push((
            line,
            c.person,
            if c.birth_typo {
                "birth_typo".to_string()
            } else {
                String::new()
            },
        ));
        for (s, times) in &c.services {
            push(
                &mut body,
                vec![
                    "2".into(),
                    String::new(),
                    form.into(),
                    "02".into(),
                    ym(c.month),
                    provider.into(),
                    c.insurer.clone(),
                    c.number.clone(),
                    s.kind.into(),
                    s.item.into(),
                    s.units.to_string(),
                    times.to_string(),
                    (s.units * times).to_string(),
                    s.name.into(),
                ],
            );
        }
    }
    let data_records = recno - 1;
    // Record numbers: fill the placeholders now that the control record's place is known.
    let mut text = format!(
        "1,1,1,{data_records},711,,{},{provider},{pref:02},3,{},{}\r\n",
        claims.first().map(|c| c.insurer.as_str()).unwrap_or(""),
        ym(processing),
        ym(processing)
    );
    for (i, l) in body.split_terminator("\r\n").enumerate() {
        let rest = &l[2..];
        let rest = rest.strip_prefix(',').unwrap_or(rest);
        text.push_str(&format!("2,{},{rest}\r\n", i + 2));
    }
    text.push_str(&format!("3,{}\r\n", data_records + 2));
    (text, truth, data_records + 2)
}
