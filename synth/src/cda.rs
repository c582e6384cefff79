//! 特定健診 checkup files: one HL7 CDA R2 document a person-year (the "hc08" layout), plus the
//! submission's `index.xml` and `summary.xml`.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::codes::{self, CheckItem, Cond};
use crate::population::Person;
use crate::recorded::Recorded;
use crate::rng::Rng;

/// OIDs of the header identifiers.
pub(crate) const OID_INSURER: &str = "1.2.392.200119.6.101";
pub(crate) const OID_SYMBOL: &str = "1.2.392.200119.6.204";
pub(crate) const OID_NUMBER: &str = "1.2.392.200119.6.205";
/// Code system of the result items (JLAC10 17-character codes).
pub(crate) const OID_ITEMS: &str = "1.2.392.200119.6.1005";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

enum Value {
    Pq(f64, u8),
    Cd(&'static str, &'static str),
}

fn observation(out: &mut String, item: CheckItem, value: Value) {
    let _ = write!(
        out,
        "<entry><observation classCode=\"OBS\" moodCode=\"EVN\"><code code=\"{}\" codeSystem=\"{OID_ITEMS}\" displayName=\"{}\"/>",
        item.code,
        esc(item.name)
    );
    match value {
        Value::Pq(v, decimals) => {
            let _ = write!(
                out,
                "<value xsi:type=\"PQ\" value=\"{v:.prec$}\" unit=\"{}\"/>",
                esc(item.unit),
                prec = decimals as usize
            );
        }
        Value::Cd(code, name) => {
            let _ = write!(
                out,
                "<value xsi:type=\"CD\" code=\"{code}\" codeSystem=\"1.2.392.200119.6.2101\" displayName=\"{}\"/>",
                esc(name)
            );
        }
    }
    out.push_str("</observation></entry>\n");
}

/// The results of one checkup, correlated with age, sex, BMI and the person's conditions.
pub(crate) fn document(
    person: &Person,
    rec: &Recorded,
    date: NaiveDate,
    institution: &str,
    doc_id: &str,
    rng: &mut Rng,
) -> String {
    let age = person.age_at(date);
    let male = person.sex == niji_core::Sex::Male;
    let l = person.latent;
    let dm = person.has(Cond::Diabetes, date);
    let htn = person.has(Cond::Hypertension, date);
    let lipid = person.has(Cond::Dyslipidemia, date);
    let height = l.height + rng.normal(0.0, 0.3);
    let bmi = (l.bmi + rng.normal(0.0, 0.4)).clamp(14.0, 45.0);
    let weight = bmi * (height / 100.0).powi(2);
    let bmi = weight / (height / 100.0).powi(2);
    let waist =
        (if male { 62.0 } else { 58.0 } + 1.15 * bmi + rng.normal(0.0, 3.0)).clamp(50.0, 150.0);
    let sbp_mu = 112.0
        + 0.45 * f64::from(age - 40)
        + 1.2 * (bmi - 22.0)
        + if htn { 16.0 } else { 0.0 }
        + if male { 4.0 } else { 0.0 };
    let sbp = rng.normal(sbp_mu, 12.0).clamp(80.0, 230.0).round();
    let dbp = (sbp * 0.6 + rng.normal(2.0, 7.0))
        .clamp(40.0, 140.0)
        .round();
    let hba1c = if dm {
        rng.normal(7.1, 0.9).clamp(5.8, 13.0)
    } else {
        (rng.normal(5.5, 0.3) + 0.03 * (bmi - 22.0) + 0.004 * f64::from(age - 40)).clamp(4.3, 6.4)
    };
    let fpg = (hba1c * 28.0 - 60.0 + rng.normal(0.0, 8.0))
        .clamp(60.0, 350.0)
        .round();
    let tg =
        (rng.normal(4.5, 0.5).exp() * (1.0 + 0.04 * (bmi - 22.0)) * if male { 1.25 } else { 1.0 })
            .clamp(30.0, 1500.0)
            .round();
    let hdl = (if male { 55.0 } else { 66.0 } - 1.2 * (bmi - 22.0) + rng.normal(0.0, 12.0))
        .clamp(20.0, 130.0)
        .round();
    let ldl = (l.ldl + if lipid { 18.0 } else { 0.0 } + rng.normal(0.0, 10.0))
        .clamp(40.0, 300.0)
        .round();
    let ast = (rng.normal(22.0, 6.0) + 0.4 * (bmi - 22.0))
        .clamp(8.0, 300.0)
        .round();
    let alt = (rng.normal(20.0, 9.0) + 1.6 * (bmi - 22.0))
        .clamp(4.0, 400.0)
        .round();
    let ggt = (rng.normal(3.2, 0.55).exp() * if male { 1.5 } else { 1.0 })
        .clamp(5.0, 900.0)
        .round();
    let metabo_risks = u8::from(sbp >= 130.0 || dbp >= 85.0)
        + u8::from(fpg >= 110.0 || hba1c >= 6.0)
        + u8::from(tg >= 150.0 || hdl < 40.0);
    let waist_cut = if male { 85.0 } else { 90.0 };
    let metabo = if waist >= waist_cut && metabo_risks >= 2 {
        ("1", "基準該当")
    } else if waist >= waist_cut && metabo_risks == 1 {
        ("2", "予備群該当")
    } else {
        ("3", "非該当")
    };
    let guidance = match (metabo.0, age < 65) {
        ("1", true) => ("1", "積極的支援"),
        ("1" | "2", _) => ("2", "動機付け支援"),
        _ => ("3", "なし"),
    };
    let yes_no = |b: bool| {
        if b {
            Value::Cd("1", "はい")
        } else {
            Value::Cd("2", "いいえ")
        }
    };
    let urine = |p: f64| {
        if p > 0.9 {
            Value::Cd("3", "+")
        } else if p > 0.8 {
            Value::Cd("2", "±")
        } else {
            Value::Cd("1", "-")
        }
    };
    let mut obs = String::new();
    observation(&mut obs, codes::HEIGHT, Value::Pq(height, 1));
    observation(&mut obs, codes::WEIGHT, Value::Pq(weight, 1));
    observation(&mut obs, codes::BMI, Value::Pq(bmi, 1));
    observation(&mut obs, codes::WAIST, Value::Pq(waist, 1));
    observation(&mut obs, codes::SBP, Value::Pq(sbp, 0));
    observation(&mut obs, codes::DBP, Value::Pq(dbp, 0));
    observation(&mut obs, codes::TG, Value::Pq(tg, 0));
    observation(&mut obs, codes::HDL, Value::Pq(hdl, 0));
    observation(&mut obs, codes::LDL, Value::Pq(ldl, 0));
    observation(&mut obs, codes::AST, Value::Pq(ast, 0));
    observation(&mut obs, codes::ALT, Value::Pq(alt, 0));
    observation(&mut obs, codes::GGT, Value::Pq(ggt, 0));
    if rng.chance(0.7) {
        observation(&mut obs, codes::FPG, Value::Pq(fpg, 0));
    }
    observation(&mut obs, codes::HBA1C_NGSP, Value::Pq(hba1c, 1));
    observation(
        &mut obs,
        codes::URINE_GLUCOSE,
        urine(if hba1c > 8.0 { 0.95 } else { rng.f64() * 0.85 }),
    );
    observation(
        &mut obs,
        codes::URINE_PROTEIN,
        urine(if person.has(Cond::Ckd, date) {
            0.95
        } else {
            rng.f64() * 0.85
        }),
    );
    observation(&mut obs, codes::METABO, Value::Cd(metabo.0, metabo.1));
    observation(&mut obs, codes::GUIDANCE, Value::Cd(guidance.0, guidance.1));
    observation(&mut obs, codes::MED_BP, yes_no(htn));
    observation(&mut obs, codes::MED_GLUCOSE, yes_no(dm));
    observation(&mut obs, codes::MED_LIPID, yes_no(lipid));
    observation(&mut obs, codes::SMOKING, yes_no(l.smoker));

    let mut ids = format!(
        "<id root=\"{OID_INSURER}\" extension=\"{}\"/>",
        esc(&rec.coverage.insurer)
    );
    if !rec.symbol.is_empty() {
        let _ = write!(
            ids,
            "<id root=\"{OID_SYMBOL}\" extension=\"{}\"/>",
            esc(&rec.symbol)
        );
    }
    let _ = write!(
        ids,
        "<id root=\"{OID_NUMBER}\" extension=\"{}\"/>",
        esc(&rec.number)
    );
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
<id root="1.2.392.200119.6.102.{institution}" extension="{doc_id}"/>
<code code="10" codeSystem="1.2.392.200119.6.1001" displayName="特定健診情報ファイル"/>
<effectiveTime value="{date}"/>
<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
<recordTarget><patientRole>{ids}
<patient><name use="SYL">{name}</name><administrativeGenderCode code="{sex}" codeSystem="1.2.392.200119.6.1104"/><birthTime value="{birth}"/></patient>
</patientRole></recordTarget>
<author><time value="{date}"/><assignedAuthor><id root="1.2.392.200119.6.102" extension="{institution}"/></assignedAuthor></author>
<custodian><assignedCustodian><representedCustodianOrganization><id root="1.2.392.200119.6.102" extension="{institution}"/></representedCustodianOrganization></assignedCustodian></custodian>
<documentationOf><serviceEvent classCode="PCPR"><code code="1" codeSystem="1.2.392.200119.6.1002" displayName="特定健康診査"/><effectiveTime value="{date}"/></serviceEvent></documentationOf>
<component><structuredBody><component><section>
<code code="01010" codeSystem="1.2.392.200119.6.1010" displayName="検査・問診結果セクション"/>
<title>検査・問診結果セクション</title>
{obs}</section></component></structuredBody></component>
</ClinicalDocument>
"#,
        date = date.format("%Y%m%d"),
        name = esc(&rec.kana),
        sex = rec.sex.code(),
        birth = rec.birth.format("%Y%m%d"),
    )
}

/// `index.xml` of a submission: the sender, the receiver and the number of documents.
pub(crate) fn index(institution: &str, created: NaiveDate, count: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="http://tokuteikenshin.jp/checkup/2013">
<interactionType code="1"/>
<creationTime value="{}"/>
<sender><id root="1.2.392.200119.6.102" extension="{institution}"/></sender>
<receiver><id root="1.2.392.200119.6.101" extension="NDB"/></receiver>
<serviceEventType code="1"/>
<totalRecordCount value="{count}"/>
</index>
"#,
        created.format("%Y%m%d")
    )
}

/// `summary.xml`: counts of documents and persons in the submission.
pub(crate) fn summary(count: usize) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<summary xmlns="http://tokuteikenshin.jp/checkup/2013">
<serviceEventType code="1"/>
<totalRecordCount value="{count}"/>
<totalCostAmount value="0"/>
</summary>
"#
    )
}
