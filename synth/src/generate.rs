//! The month-by-month simulation of one region, turning persons into source records.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use niji_core::Source;

use crate::care::{self, CareClaim};
use crate::codes::{self, Cond, DISEASES, Disease, Drug};
use crate::fhir::{self, BundleKind, Content};
use crate::params::Params;
use crate::population::{Person, age};
use crate::recorded::{Recorded, recorded};
use crate::rng::Rng;
use crate::sink::{RegionSink as Sink, person_id};
use crate::uke::{self, Dx, Receipt, Stay, UkeKind};
use crate::world::{Facility, Region};
use crate::{Error, Result, stream};

/// Which facility of the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum At {
    Clinic(usize),
    Hospital,
}

struct MonthFiles {
    med: BTreeMap<(At, u8), Vec<Receipt>>,
    dpc: BTreeMap<u8, Vec<Receipt>>,
    pha: BTreeMap<(usize, u8), Vec<Receipt>>,
    care: BTreeMap<usize, Vec<CareClaim>>,
}

/// Diagnoses written uncoded (`0000999`) with their name as free text.
const UNCODED: [&str; 4] = ["めまい症の疑い", "右肩関節痛", "不眠症の疑い", "腰痛症"];

/// Drug allergies some persons have (YJ prefix, name), recorded in EHR documents.
const ALLERGENS: [(&str, &str, &str); 3] = [
    ("1149019", "ロキソプロフェンナトリウム", "620098801"),
    ("6132419", "セフトリアキソンナトリウム", "620007384"),
    ("1141007", "アセトアミノフェン", "620003853"),
];

fn allergy(seed: u64, p: &Person) -> Option<(&'static str, &'static str, &'static str)> {
    let mut r = Rng::stream(seed, &[stream::ALLERGY, p.id]);
    r.chance(0.04).then(|| *r.pick(&ALLERGENS))
}

fn month_end(m: NaiveDate) -> NaiveDate {
    m + Months::new(1) - Days::new(1)
}

fn karte(p: &Person, facility: &Facility) -> String {
    let h = facility
        .code
        .bytes()
        .fold(p.id.wrapping_mul(0x9E37_79B9), |h, b| {
            h.rotate_left(5) ^ u64::from(b)
        });
    format!("{:08}", h % 100_000_000)
}

fn encode(text: &str, field: &'static str) -> Result<Vec<u8>> {
    let (bytes, _, errors) = encoding_rs::SHIFT_JIS.encode(text);
    if errors {
        return Err(Error::Encoding { field });
    }
    Ok(bytes.into_owned())
}

fn ym(d: NaiveDate) -> String {
    format!("{:04}{:02}", d.year(), d.month())
}

fn insured_class(p: &Person, rec: &Recorded, date: NaiveDate) -> u8 {
    let a = p.age_at(date);
    if a >= 70 || rec.coverage.insurer.starts_with("39") {
        8
    } else if a < 6 {
        4
    } else if rec.coverage.branch == "00" || rec.coverage.branch.is_empty() {
        2
    } else {
        6
    }
}

struct Ctx<'a> {
    params: &'a Params,
    region: &'a Region,
}

impl Ctx<'_> {
    fn record(&self, p: &Person, f: &Facility, date: NaiveDate, rng: &mut Rng) -> Recorded {
        recorded(self.params.seed, p, f, date, &self.params.rates, rng)
    }

    fn receipt(
        &self,
        p: &Person,
        f: &Facility,
        month: NaiveDate,
        day: u32,
        rng: &mut Rng,
    ) -> Receipt {
        let date = month.with_day(day).unwrap_or(month);
        let rec = self.record(p, f, date, rng);
        Receipt {
            person: p.id,
            insured_class: insured_class(p, &rec, date),
            koki: rec.coverage.insurer.starts_with("39"),
            rec,
            month,
            kohi: p.kohi.clone().filter(|_| p.has(Cond::Depression, date)),
            stay: None,
            dx: Vec::new(),
            acts: Vec::new(),
            drugs: Vec::new(),
            days: 1,
            karte: karte(p, f),
        }
    }
}

fn dx(d: &'static Disease, start: NaiveDate, outcome: u8, main: bool) -> Dx {
    Dx {
        code: d.code,
        name: d.name,
        icd10: d.icd10,
        start,
        outcome,
        main,
        uncoded: false,
    }
}

fn drugs_for(
    seed: u64,
    p: &Person,
    d: &'static Disease,
    days: u32,
    day: u32,
) -> Vec<(&'static Drug, u32, u32)> {
    let mut r = Rng::stream(seed, &[stream::REGIMEN, p.id, d.cond as u64]);
    let n = if d.drugs.len() > 1 && r.chance(0.4) {
        2
    } else {
        1
    };
    let allergic = allergy(seed, p);
    let heeds_allergy = r.chance(0.8);
    d.drugs
        .iter()
        .take(n)
        .filter(|drug| !(heeds_allergy && allergic.is_some_and(|(_, _, code)| code == drug.code)))
        .map(|drug| (drug, days, day))
        .collect()
}

/// Generates every record of `region` for its `persons` into `sink`.
pub(crate) fn region(
    params: &Params,
    region: &Region,
    persons: &[Person],
    sink: &mut Sink,
) -> Result<()> {
    let ctx = Ctx { params, region };
    let seed = params.seed;
    let start = NaiveDate::from_ymd_opt(params.start_year, 1, 1).expect("validated year");
    let months = params.years * 12;
    // (institution code, fiscal year) → documents written so far.
    let mut submissions: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for mi in 0..months {
        let month = start + Months::new(mi);
        let end = month_end(month);
        let mut files = MonthFiles {
            med: BTreeMap::new(),
            dpc: BTreeMap::new(),
            pha: BTreeMap::new(),
            care: BTreeMap::new(),
        };
        for p in persons {
            if p.death.is_some_and(|d| d < month) || p.birth > end {
                continue;
            }
            let mut rng = Rng::stream(seed, &[stream::MONTH, p.id, u64::from(mi)]);
            let last_day = p
                .death
                .filter(|d| *d <= end)
                .map_or(28, |d| d.day().min(28));
            person_month(&ctx, p, month, last_day, &mut rng, &mut files, sink)?;
            checkup(&ctx, p, month, &mut rng, &mut submissions, sink)?;
        }
        flush(&ctx, month, files, sink)?;
    }
    for ((institution, fy), count) in &submissions {
        let dir = format!("ndb-checkup/{fy}/{institution}");
        let created = NaiveDate::from_ymd_opt(fy + 1, 4, 30).unwrap_or(start);
        sink.file(
            Source::NdbCheckup,
            &format!("{dir}/index.xml"),
            cda_index(institution, created, *count).as_bytes(),
            0,
        )?;
        sink.file(
            Source::NdbCheckup,
            &format!("{dir}/summary.xml"),
            crate::cda::summary(*count).as_bytes(),
            0,
        )?;
    }
    truth_people(params, region, persons, sink)
}

fn cda_index(institution: &str, created: NaiveDate, count: usize) -> String {
    crate::cda::index(institution, created, count)
}

#[allow(clippy::too_many_arguments)]
fn person_month(
    ctx: &Ctx<'_>,
    p: &Person,
    month: NaiveDate,
    last_day: u32,
    rng: &mut Rng,
    files: &mut MonthFiles,
    sink: &mut Sink,
) -> Result<()> {
    let seed = ctx.params.seed;
    let region = ctx.region;
    let end = month_end(month);
    let mi = (month.year() - ctx.params.start_year) as u32 * 12 + month.month0();
    let chronic: Vec<(&'static Disease, NaiveDate)> = p
        .chronic
        .iter()
        .filter(|(_, on)| *on <= end)
        .map(|(c, on)| (codes::disease_of(*c), *on))
        .collect();
    let hospital_managed =
        |c: Cond| matches!(c, Cond::HeartFailure | Cond::Ckd) && p.id.is_multiple_of(2);
    let acute_this_month: Vec<_> = p
        .episodes
        .iter()
        .filter(|e| e.date >= month && e.date <= end)
        .collect();
    let follow_up = p.episodes.iter().any(|e| {
        codes::disease_of(e.cond).admits
            && e.date + Days::new(u64::from(e.days)) < month
            && month <= e.date + Months::new(6)
    });
    let in_hospital = |day: NaiveDate| {
        p.episodes.iter().any(|e| {
            codes::disease_of(e.cond).admits
                && e.date <= day
                && day < e.date + Days::new(u64::from(e.days))
        })
    };
    let day = rng.range(1, i64::from(last_day)) as u32;
    let visit_date = month.with_day(day).unwrap_or(month);

    // Clinic visit: chronic care and acute minor illness.
    let clinic_conds: Vec<_> = chronic
        .iter()
        .filter(|(d, _)| !hospital_managed(d.cond))
        .collect();
    let uri = acute_this_month
        .iter()
        .find(|e| e.cond == Cond::Uri)
        .filter(|e| e.date.day() <= last_day);
    let chronic_visit = !clinic_conds.is_empty() && rng.chance(0.85);
    if (chronic_visit || uri.is_some()) && !in_hospital(visit_date) {
        let f = &region.clinics[p.clinic];
        let mut r = ctx.receipt(p, f, month, day, rng);
        if chronic_visit {
            for (i, (d, on)) in clinic_conds.iter().enumerate() {
                r.dx.push(dx(d, *on, 1, i == 0));
                r.drugs.extend(drugs_for(seed, p, d, 28, day));
            }
            r.acts.push((codes::REVISIT, vec![day]));
            r.acts.push((codes::OUTPATIENT_MGMT, vec![day]));
            if clinic_conds.iter().any(|(d, _)| {
                matches!(
                    d.cond,
                    Cond::Hypertension | Cond::Diabetes | Cond::Dyslipidemia
                )
            }) {
                r.acts.push((codes::DISEASE_MGMT, vec![day]));
            }
            let dm = clinic_conds.iter().any(|(d, _)| d.cond == Cond::Diabetes);
            let lipid = clinic_conds
                .iter()
                .any(|(d, _)| matches!(d.cond, Cond::Dyslipidemia | Cond::Ckd));
            if dm && mi.is_multiple_of(3) || lipid && mi % 3 == 1 {
                r.acts.push((codes::BLOOD_DRAW, vec![day]));
                if dm && mi.is_multiple_of(3) {
                    r.acts.push((codes::HBA1C, vec![day]));
                }
                r.acts.push((codes::BIOCHEM, vec![day]));
            }
            if mi % 12 == 5
                && clinic_conds
                    .iter()
                    .any(|(d, _)| d.cond == Cond::Hypertension)
            {
                r.acts.push((codes::ECG, vec![day]));
            }
        } else {
            r.acts.push((codes::FIRST_VISIT, vec![day]));
        }
        if let Some(e) = uri {
            let d = codes::disease_of(Cond::Uri);
            let main = r.dx.is_empty();
            r.dx.push(dx(d, e.date, 2, main));
            r.drugs.extend(drugs_for(seed, p, d, 5, day));
        }
        if rng.chance(0.04) {
            // An uncoded diagnosis (0000999) written as free text.
            r.dx.push(Dx {
                code: "0000999",
                name: UNCODED[rng.below(UNCODED.len())],
                icd10: "",
                start: visit_date,
                outcome: 1,
                main: false,
                uncoded: true,
            });
        }
        prescribe(ctx, p, f, r, files, rng, At::Clinic(p.clinic), day);
    }

    // Hospital outpatient: hospital-managed chronic disease and follow-up after an admission.
    let hosp_conds: Vec<_> = chronic
        .iter()
        .filter(|(d, _)| hospital_managed(d.cond))
        .collect();
    if (!hosp_conds.is_empty() || follow_up) && rng.chance(0.8) {
        let hday = rng.range(1, i64::from(last_day)) as u32;
        let hdate = month.with_day(hday).unwrap_or(month);
        if !in_hospital(hdate) {
            let f = &region.hospital;
            let mut r = ctx.receipt(p, f, month, hday, rng);
            for (i, (d, on)) in hosp_conds.iter().enumerate() {
                r.dx.push(dx(d, *on, 1, i == 0));
                r.drugs.extend(drugs_for(seed, p, d, 28, hday));
            }
            for e in p.episodes.iter().filter(|e| {
                codes::disease_of(e.cond).admits
                    && e.date < month
                    && month <= e.date + Months::new(6)
            }) {
                let d = codes::disease_of(e.cond);
                let main = r.dx.is_empty();
                r.dx.push(dx(d, e.date, 1, main));
            }
            r.acts.push((codes::REVISIT, vec![hday]));
            r.acts.push((codes::BLOOD_DRAW, vec![hday]));
            r.acts.push((codes::BIOCHEM, vec![hday]));
            if f.ehr && mi % 6 == (p.id % 6) as u32 {
                let conds =
                    r.dx.iter()
                        .filter_map(|x| DISEASES.iter().find(|d| d.code == x.code))
                        .map(|d| (d, hdate))
                        .collect();
                let drugs = r.drugs.iter().map(|(d, _, _)| *d).collect();
                ehr(ctx, p, f, BundleKind::Items, hdate, conds, drugs, rng, sink)?;
            }
            prescribe(ctx, p, f, r, files, rng, At::Hospital, hday);
        }
    }

    // Admissions: a DPC receipt for each month of a stay.
    for e in p
        .episodes
        .iter()
        .filter(|e| codes::disease_of(e.cond).admits)
    {
        let last = e.date + Days::new(u64::from(e.days.max(1)) - 1);
        let last = p.death.map_or(last, |d| last.min(d));
        if last < month || e.date > end {
            continue;
        }
        let d = codes::disease_of(e.cond);
        let from = e.date.max(month);
        let to = last.min(end);
        let days: Vec<u32> = (from.day()..=to.day()).collect();
        let f = &region.hospital;
        let mut r = ctx.receipt(p, f, month, from.day(), rng);
        let discharged = (last <= end).then_some(last);
        let died = p.death.is_some_and(|x| x == last) && discharged.is_some();
        r.stay = Some(Stay {
            dpc: d.dpc,
            admitted: e.date,
            discharged,
            died,
        });
        r.days = days.len() as u32;
        r.dx.push(dx(
            d,
            e.date,
            if died {
                3
            } else if discharged.is_some() {
                2
            } else {
                1
            },
            true,
        ));
        for (c, on) in &chronic {
            r.dx.push(dx(c, *on, 1, false));
        }
        r.acts.push((codes::ADMISSION_FEE, days.clone()));
        if from == e.date {
            r.acts.push((codes::XRAY, vec![from.day()]));
        }
        r.drugs
            .extend(drugs_for(seed, p, d, days.len().min(14) as u32, from.day()));
        if let (true, Some(dis)) = (f.ehr, discharged) {
            let mut conds = vec![(d, e.date)];
            conds.extend(chronic.iter().copied());
            let drugs = chronic
                .iter()
                .flat_map(|(c, _)| c.drugs.iter().take(1))
                .collect();
            ehr(
                ctx,
                p,
                f,
                BundleKind::Discharge,
                dis,
                conds,
                drugs,
                rng,
                sink,
            )?;
        }
        if from == e.date && region.clinics[p.clinic].ehr && !chronic.is_empty() && rng.chance(0.5)
        {
            let clinic = &region.clinics[p.clinic];
            let drugs = chronic
                .iter()
                .flat_map(|(c, _)| c.drugs.iter().take(1))
                .collect();
            ehr(
                ctx,
                p,
                clinic,
                BundleKind::Referral,
                e.date,
                chronic.clone(),
                drugs,
                rng,
                sink,
            )?;
        }
        files.dpc.entry(r.payer()).or_default().push(r);
    }

    // Clinic 6情報, once a year for chronic patients of participating clinics.
    let clinic = &region.clinics[p.clinic];
    if clinic.ehr && chronic_visit && mi % 12 == (p.id % 12) as u32 {
        let conds = clinic_conds.iter().map(|(d, on)| (*d, *on)).collect();
        let drugs = clinic_conds
            .iter()
            .flat_map(|(d, _)| d.drugs.iter().take(1))
            .collect();
        ehr(
            ctx,
            p,
            clinic,
            BundleKind::Items,
            visit_date,
            conds,
            drugs,
            rng,
            sink,
        )?;
    }

    // Care claim for certified persons aged 65+ who used services this month.
    if let Some(level) = p.care_at(end)
        && p.age_at(month) >= 65
        && !in_hospital(end)
        && rng.chance(0.9)
    {
        let mut habit = Rng::stream(seed, &[stream::CARE_HISTORY, p.id]);
        let first = &p.coverages[0];
        let medical_number = if habit.chance(ctx.params.rates.care_medical_number) {
            format!(
                "{}:{}:{}:{}",
                first.insurer, first.symbol, first.number, first.branch
            )
        } else {
            String::new()
        };
        let typo = rng.chance(ctx.params.rates.birth_typo);
        let birth = if typo {
            p.birth.succ_opt().unwrap_or(p.birth)
        } else {
            p.birth
        };
        let cert_from = p
            .care
            .iter()
            .rev()
            .find(|(f, _)| *f <= end)
            .map_or(month, |(f, _)| *f);
        files
            .care
            .entry(p.care_provider)
            .or_default()
            .push(CareClaim {
                person: p.id,
                month,
                insurer: region.kokuho(),
                number: p.care_number.clone(),
                birth,
                sex: p.sex.code(),
                level,
                cert_from,
                medical_number,
                services: care::services(rng, level),
                birth_typo: typo,
            });
    }
    Ok(())
}

/// Puts a receipt in its file, sending drugs to the person's pharmacy when prescribed out of house.
#[allow(clippy::too_many_arguments)]
fn prescribe(
    ctx: &Ctx<'_>,
    p: &Person,
    f: &Facility,
    mut r: Receipt,
    files: &mut MonthFiles,
    rng: &mut Rng,
    at: At,
    day: u32,
) {
    if !r.drugs.is_empty() {
        if f.outside_rx {
            r.acts.push((codes::PRESCRIPTION, vec![day]));
            let ph = &ctx.region.pharmacies[p.pharmacy];
            let mut pr = ctx.receipt(p, ph, r.month, day, rng);
            pr.drugs = std::mem::take(&mut r.drugs);
            files
                .pha
                .entry((p.pharmacy, pr.payer()))
                .or_default()
                .push(pr);
        } else {
            r.acts.push((codes::DISPENSING, vec![day]));
        }
    }
    files.med.entry((at, r.payer())).or_default().push(r);
}

#[allow(clippy::too_many_arguments)]
fn ehr(
    ctx: &Ctx<'_>,
    p: &Person,
    f: &Facility,
    kind: BundleKind,
    date: NaiveDate,
    conditions: Vec<(&'static Disease, NaiveDate)>,
    drugs: Vec<&'static Drug>,
    rng: &mut Rng,
    sink: &mut Sink,
) -> Result<()> {
    let rec = ctx.record(p, f, date, rng);
    let mut labs = Vec::new();
    if conditions.iter().any(|(d, _)| d.cond == Cond::Diabetes) {
        labs.push((
            "3D046000001906202",
            "HbA1c(NGSP)",
            (rng.normal(7.1, 0.8) * 10.0).round() / 10.0,
            "%",
        ));
    }
    if conditions
        .iter()
        .any(|(d, _)| matches!(d.cond, Cond::Ckd | Cond::HeartFailure))
    {
        labs.push((
            "3C015000002327101",
            "クレアチニン",
            (rng.normal(1.4, 0.3) * 100.0).round() / 100.0,
            "mg/dL",
        ));
    }
    let allergies = allergy(ctx.params.seed, p)
        .map(|(c, n, _)| vec![(c, n)])
        .unwrap_or_default();
    let karte = karte(p, f);
    let content = Content {
        kind,
        date,
        facility_code: &f.code,
        facility_name: &f.name,
        karte: &karte,
        conditions,
        drugs,
        labs,
        allergies,
    };
    let bundle = fhir::bundle(&rec, &content, rng);
    let id = bundle["id"].as_str().unwrap_or_default().to_string();
    let rel = format!("ehr/{}/{}/{id}.json", ym(date), f.code);
    let text = serde_json::to_string(&bundle).unwrap_or_default();
    let entries = bundle["entry"].as_array().map_or(0, Vec::len) as u64;
    sink.file(Source::Ehr, &rel, text.as_bytes(), entries)?;
    sink.truth(Source::Ehr, &rel, 0, p.id, &rec.drift.labels())
}

/// A 特定健診 in this month, if this is the person's checkup month of the fiscal year.
fn checkup(
    ctx: &Ctx<'_>,
    p: &Person,
    month: NaiveDate,
    rng: &mut Rng,
    submissions: &mut BTreeMap<(String, i32), usize>,
    sink: &mut Sink,
) -> Result<()> {
    let fy = if month.month() >= 4 {
        month.year()
    } else {
        month.year() - 1
    };
    let mut plan = Rng::stream(ctx.params.seed, &[stream::CHECKUP, p.id, fy as u64]);
    let participates = plan.chance(ctx.params.rates.checkup_participation);
    let when = [4u32, 5, 6, 6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 12, 1, 2][plan.below(16)];
    if !participates || month.month() != when {
        return Ok(());
    }
    let day = plan.range(1, 28) as u32;
    let date = month.with_day(day).unwrap_or(month);
    let fy_end = NaiveDate::from_ymd_opt(fy + 1, 3, 31).unwrap_or(date);
    let a = age(p.birth, fy_end);
    if !(40..=74).contains(&a) || !p.alive_at(date) || p.coverage_at(date).insurer.starts_with("39")
    {
        return Ok(());
    }
    let f = if plan.chance(0.5) {
        &ctx.region.hospital
    } else {
        &ctx.region.clinics[plan.below(ctx.region.clinics.len())]
    };
    let institution = format!("{:02}{}{}", ctx.region.pref, 1, f.code);
    let n = submissions.entry((institution.clone(), fy)).or_default();
    *n += 1;
    let doc_id = format!("{institution}{fy}{:07}", *n);
    let rec = ctx.record(p, f, date, rng);
    let xml = crate::cda::document(p, &rec, date, &institution, &doc_id, rng);
    let rel = format!("ndb-checkup/{fy}/{institution}/DATA/h{doc_id}.xml");
    sink.file(Source::NdbCheckup, &rel, xml.as_bytes(), 1)?;
    sink.truth(Source::NdbCheckup, &rel, 0, p.id, &rec.drift.labels())
}

fn flush(ctx: &Ctx<'_>, month: NaiveDate, files: MonthFiles, sink: &mut Sink) -> Result<()> {
    let billing = month + Months::new(1);
    let pref = ctx.region.pref;
    let uke_out = |sink: &mut Sink,
                   source: Source,
                   kind: UkeKind,
                   f: &Facility,
                   payer: u8,
                   receipts: &[Receipt]|
     -> Result<()> {
        let file = uke::write(kind, f, payer, pref, billing, receipts);
        let rel = format!(
            "{source}/{}/{}/{payer}/{}",
            ym(billing),
            f.code,
            kind.file_name()
        );
        sink.file(source, &rel, &encode(&file.text, "UKE file")?, file.records)?;
        for (line, person, drift) in &file.receipts {
            sink.truth(source, &rel, *line, *person, drift)?;
        }
        Ok(())
    };
    for ((at, payer), receipts) in &files.med {
        let f = match at {
            At::Clinic(i) => &ctx.region.clinics[*i],
            At::Hospital => &ctx.region.hospital,
        };
        uke_out(sink, Source::NdbMed, UkeKind::Med, f, *payer, receipts)?;
    }
    for (payer, receipts) in &files.dpc {
        uke_out(
            sink,
            Source::NdbDpc,
            UkeKind::Dpc,
            &ctx.region.hospital,
            *payer,
            receipts,
        )?;
    }
    for ((i, payer), receipts) in &files.pha {
        uke_out(
            sink,
            Source::NdbPha,
            UkeKind::Pha,
            &ctx.region.pharmacies[*i],
            *payer,
            receipts,
        )?;
    }
    for (i, claims) in &files.care {
        let provider = &ctx.region.care_providers[*i].code;
        let (text, truth, records) = care::write(provider, pref, billing, claims);
        let rel = format!("care/{}/{provider}.csv", ym(billing));
        sink.file(
            Source::Care,
            &rel,
            &encode(&text, "care claim file")?,
            records,
        )?;
        for (line, person, drift) in &truth {
            sink.truth(Source::Care, &rel, *line, *person, drift)?;
        }
    }
    Ok(())
}

fn truth_people(
    params: &Params,
    region: &Region,
    persons: &[Person],
    sink: &mut Sink,
) -> Result<()> {
    let _ = params;
    for p in persons {
        let row = format!(
            "{},{},{},{},{},{},{},{:02}",
            person_id(p.id),
            p.household,
            p.sex.code(),
            p.birth,
            p.twin_of.map(person_id).unwrap_or_default(),
            p.death.map(|d| d.to_string()).unwrap_or_default(),
            region.index,
            region.pref
        );
        sink.person_row(&row)?;
        for c in p.coverages.iter().skip(1) {
            if let Some(reason) = c.reason {
                sink.event_row(&format!("{},{},{}", person_id(p.id), c.from, reason.name()))?;
            }
        }
        if let Some((date, _)) = p.married {
            sink.event_row(&format!(
                "{},{},name_change:marriage",
                person_id(p.id),
                date
            ))?;
        }
        if let Some(d) = p.death {
            sink.event_row(&format!("{},{},death", person_id(p.id), d))?;
        }
    }
    Ok(())
}
