//! The synthetic persons of a region: households, names, insurance histories, conditions, care
//! need and deaths, simulated over the extract period.

use chrono::{Datelike, Months, NaiveDate};
use niji_core::Sex;

use crate::codes::{self, Cond};
use crate::names::{FAMILY, FEMALE, MALE};
use crate::params::Params;
use crate::rng::Rng;
use crate::world::Region;

/// Why an identifier changed: the drift kinds the linkage quality report breaks down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drift {
    JobChange,
    Retirement,
    /// The move to 後期高齢者医療 at 75.
    Koki,
    /// A child leaves the parent's insurance for a job of their own.
    OwnJob,
    Marriage,
    /// The insured head died; dependants moved to 国保.
    HeadDied,
}

impl Drift {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Drift::JobChange => "insurer_change:job",
            Drift::Retirement => "insurer_change:retirement",
            Drift::Koki => "insurer_change:koki75",
            Drift::OwnJob => "insurer_change:own_job",
            Drift::Marriage => "marriage",
            Drift::HeadDied => "insurer_change:head_died",
        }
    }
}

/// One period of medical insurance: 保険者番号, 記号, 番号 and 枝番 from a date on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Coverage {
    pub(crate) from: NaiveDate,
    pub(crate) insurer: String,
    pub(crate) symbol: String,
    pub(crate) number: String,
    pub(crate) branch: String,
    pub(crate) reason: Option<Drift>,
}

/// An acute event (admission or outpatient episode).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Episode {
    pub(crate) cond: Cond,
    pub(crate) date: NaiveDate,
    /// Length of stay in days for admissions.
    pub(crate) days: u32,
}

/// Person-level latent values that make checkup results correlated across years.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latent {
    pub(crate) height: f64,
    pub(crate) bmi: f64,
    pub(crate) smoker: bool,
    pub(crate) ldl: f64,
}

/// A synthetic person.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: u64,
    pub(crate) household: u64,
    pub(crate) sex: Sex,
    pub(crate) birth: NaiveDate,
    pub(crate) family: usize,
    pub(crate) given: usize,
    /// A new family name (index) from a date, after marriage.
    pub(crate) married: Option<(NaiveDate, usize)>,
    pub(crate) twin_of: Option<u64>,
    pub(crate) death: Option<NaiveDate>,
    pub(crate) coverages: Vec<Coverage>,
    /// Chronic conditions with their onset (possibly before the period).
    pub(crate) chronic: Vec<(Cond, NaiveDate)>,
    pub(crate) episodes: Vec<Episode>,
    /// 要介護状態区分 (12, 13, 21–25) from a date on.
    pub(crate) care: Vec<(NaiveDate, u8)>,
    /// Care insurance 被保険者番号 (10 digits), issued by the municipality at 65.
    pub(crate) care_number: String,
    pub(crate) latent: Latent,
    pub(crate) clinic: usize,
    pub(crate) pharmacy: usize,
    pub(crate) care_provider: usize,
    /// 公費: (公費負担者番号, 受給者番号) for some conditions.
    pub(crate) kohi: Option<(String, String)>,
}

impl Person {
    pub(crate) fn age_at(&self, date: NaiveDate) -> i32 {
        age(self.birth, date)
    }

    pub(crate) fn alive_at(&self, date: NaiveDate) -> bool {
        self.death.is_none_or(|d| date <= d)
    }

    /// The family name index in force at `date`.
    pub(crate) fn family_at(&self, date: NaiveDate) -> usize {
        match self.married {
            Some((from, f)) if date >= from => f,
            _ => self.family,
        }
    }

    /// The coverage in force at `date`.
    pub(crate) fn coverage_at(&self, date: NaiveDate) -> &Coverage {
        self.coverages
            .iter()
            .rev()
            .find(|c| c.from <= date)
            .unwrap_or(&self.coverages[0])
    }

    /// The care need level at `date`, if certified.
    pub(crate) fn care_at(&self, date: NaiveDate) -> Option<u8> {
        self.care
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .map(|(_, l)| *l)
    }

    pub(crate) fn has(&self, cond: Cond, date: NaiveDate) -> bool {
        self.chronic.iter().any(|(c, on)| *c == cond && *on <= date)
    }

    pub(crate) fn given_name(&self) -> &'static crate::names::GivenName {
        match self.sex {
            Sex::Male => &MALE[self.given],
            Sex::Female => &FEMALE[self.given],
        }
    }
}

pub(crate) fn age(birth: NaiveDate, date: NaiveDate) -> i32 {
    let mut a = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        a -= 1;
    }
    a
}

/// Japan's population by five-year age band (millions, 0–4 … 95–99).
const AGE_BANDS: [f64; 20] = [
    4.3, 4.9, 5.3, 5.5, 6.2, 6.3, 6.4, 7.2, 8.0, 9.5, 9.2, 7.9, 7.4, 8.0, 9.4, 7.0, 5.8, 4.0, 2.0,
    0.6,
];

fn draw_age(rng: &mut Rng, min: i32) -> i32 {
    let lo = (min / 5) as usize;
    let band = lo + rng.weighted(&AGE_BANDS[lo..]);
    (band as i32 * 5 + rng.range(0, 4) as i32).max(min)
}

fn birth_for_age(rng: &mut Rng, age: i32, at: NaiveDate) -> NaiveDate {
    let year = at.year() - age - 1;
    let day = rng.range(0, 364) as u64;
    NaiveDate::from_ymd_opt(year, 1, 1).unwrap() + chrono::Days::new(day)
}

fn family_index(rng: &mut Rng) -> usize {
    // Zipf-like: earlier names more common.
    let w: Vec<f64> = (0..FAMILY.len()).map(|i| 1.0 / (i as f64 + 3.0)).collect();
    rng.weighted(&w)
}

/// Builds the persons of a region, ids `first..first + count`.
pub(crate) fn region_persons(
    params: &Params,
    region: &Region,
    first: u64,
    count: u64,
) -> Vec<Person> {
    let start = NaiveDate::from_ymd_opt(params.start_year, 1, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(params.start_year + params.years as i32, 1, 1).unwrap();
    let mut rng = Rng::stream(params.seed, &[crate::stream::HOUSEHOLDS, region.index]);
    let mut persons: Vec<Person> = Vec::with_capacity(count as usize);
    let mut household = 0u64;
    while (persons.len() as u64) < count {
        household += 1;
        let hh_id = region.index * 1_000_000 + household;
        let head_age = draw_age(&mut rng, 20);
        let kind = match head_age {
            20..=29 => rng.weighted(&[0.7, 0.15, 0.15]),
            30..=54 => rng.weighted(&[0.25, 0.15, 0.6]),
            55..=64 => rng.weighted(&[0.3, 0.5, 0.2]),
            _ => rng.weighted(&[0.4, 0.6, 0.0]),
        };
        let family = family_index(&mut rng);
        let head_sex = if rng.chance(0.5) {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut members: Vec<(Sex, NaiveDate, Option<usize>)> =
            vec![(head_sex, birth_for_age(&mut rng, head_age, start), None)];
        if kind >= 1 {
            let sp_age = (head_age + rng.range(-4, 4) as i32).max(20);
            let sp_sex = if head_sex == Sex::Male {
                Sex::Female
            } else {
                Sex::Male
            };
            members.push((sp_sex, birth_for_age(&mut rng, sp_age, start), None));
        }
        if kind == 2 {
            let max_child = (head_age - 22).clamp(0, 30);
            let n = rng.range(1, 3);
            for _ in 0..n {
                let a = rng.range(0, i64::from(max_child)) as i32;
                let sex = if rng.chance(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                members.push((sex, birth_for_age(&mut rng, a, start), None));
            }
            if rng.chance(params.rates.twins) {
                // Same-sex twins: the same birth date, sex and family; different given names.
                let a = rng.range(0, i64::from(max_child.min(20))) as i32;
                let sex = if rng.chance(0.5) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let b = birth_for_age(&mut rng, a, start);
                let twin_idx = members.len();
                members.push((sex, b, None));
                members.push((sex, b, Some(twin_idx)));
            }
        }
        let first_in_hh = persons.len();
        for (sex, birth, twin) in members {
            if persons.len() as u64 >= count {
                break;
            }
            let id = first + persons.len() as u64;
            let mut prng = Rng::stream(params.seed, &[crate::stream::PERSON, id]);
            let names = if sex == Sex::Male {
                MALE.len()
            } else {
                FEMALE.len()
            };
            let mut given = prng.below(names);
            let twin_of = twin.map(|t| first + (first_in_hh + t) as u64);
            if let Some(t) = twin_of {
                let sibling = &persons[(t - first) as usize];
                if given == sibling.given {
                    given = (given + 1) % names;
                }
            }
            persons.push(new_person(
                &mut prng, params, region, id, hh_id, sex, birth, family, given, twin_of, start,
                end,
            ));
        }
        simulate_insurance(
            &mut persons[first_in_hh..],
            params,
            region,
            &mut rng,
            start,
            end,
        );
    }
    persons
}

#[allow(clippy::too_many_arguments)]
fn new_person(
    rng: &mut Rng,
    params: &Params,
    region: &Region,
    id: u64,
    household: u64,
    sex: Sex,
    birth: NaiveDate,
    family: usize,
    given: usize,
    twin_of: Option<u64>,
    start: NaiveDate,
    end: NaiveDate,
) -> Person {
    let age0 = age(birth, start);
    // Chronic conditions: prevalent at the start, plus onsets during the period.
    let mut chronic = Vec::new();
    for d in codes::DISEASES.iter().filter(|d| d.chronic) {
        let p0 = codes::prevalence(d.cond, age0, sex);
        if rng.chance(p0) {
            let years_before = rng.range(0, 10) as u32;
            chronic.push((
                d.cond,
                start - Months::new(12 * years_before + rng.range(0, 11) as u32),
            ));
        } else {
            let p1 = codes::prevalence(d.cond, age0 + params.years as i32, sex);
            let onset_p = ((p1 - p0) / (1.0 - p0)).max(0.0);
            if rng.chance(onset_p) {
                let months = rng.range(0, i64::from(params.years * 12 - 1)) as u32;
                chronic.push((
                    d.cond,
                    start + Months::new(months) + chrono::Days::new(rng.range(0, 27) as u64),
                ));
            }
        }
    }
    // Latent health.
    let male = sex == Sex::Male;
    let diabetic = chronic.iter().any(|(c, _)| *c == Cond::Diabetes);
    let latent = Latent {
        height: rng.normal(if male { 170.0 } else { 157.0 }, 6.0)
            - 0.08 * f64::from((age0 - 40).max(0)),
        bmi: rng
            .normal(
                if male { 23.8 } else { 22.0 } + if diabetic { 2.5 } else { 0.0 },
                3.2,
            )
            .clamp(15.0, 42.0),
        smoker: rng.chance(if male { 0.28 } else { 0.08 }),
        ldl: rng.normal(if male { 120.0 } else { 124.0 }, 30.0),
    };
    // Acute episodes month by month, and death.
    let mut episodes = Vec::new();
    let mut death = None;
    let mut month = start;
    while month < end && death.is_none() {
        let a = age(birth, month);
        for d in codes::DISEASES.iter().filter(|d| !d.chronic) {
            if rng.chance(codes::incidence(d.cond, a, sex) / 12.0) {
                let date = month + chrono::Days::new(rng.range(0, 27) as u64);
                let days = if d.admits { rng.range(5, 40) as u32 } else { 0 };
                episodes.push(Episode {
                    cond: d.cond,
                    date,
                    days,
                });
                let fatal = match d.cond {
                    Cond::Stroke => 0.08,
                    Cond::Pneumonia if a >= 80 => 0.12,
                    Cond::GastricCancer => 0.15,
                    Cond::HipFracture => 0.03,
                    _ => 0.0,
                };
                if rng.chance(fatal) {
                    death = Some(date + chrono::Days::new(u64::from(days.max(1)) - 1));
                }
            }
        }
        let q = (-10.3 + 0.092 * f64::from(a)).exp().min(0.5) / 12.0;
        if death.is_none() && rng.chance(q) {
            death = Some(month + chrono::Days::new(rng.range(0, 27) as u64));
        }
        month = month + Months::new(1);
    }
    // Care need: certified at the start by age, then monthly hazard; dementia and hip fracture
    // raise it sharply.
    let mut care = Vec::new();
    let care_p = |a: i32| {
        if a < 65 {
            0.0
        } else {
            0.005 * (f64::from(a - 65) / 7.0).exp()
        }
    };
    let level = |rng: &mut Rng, a: i32| -> u8 {
        let w = if a < 80 {
            [0.2, 0.2, 0.25, 0.15, 0.1, 0.06, 0.04]
        } else {
            [0.12, 0.13, 0.22, 0.18, 0.15, 0.12, 0.08]
        };
        [12u8, 13, 21, 22, 23, 24, 25][rng.weighted(&w)]
    };
    if age0 >= 65 {
        let cum = 1.0 - (-0.035 * ((f64::from(age0 - 65) / 7.0).exp() - 1.0)).exp();
        let dementia = chronic
            .iter()
            .any(|(c, on)| *c == Cond::Dementia && *on <= start);
        if rng.chance(if dementia { 0.85 } else { cum }) {
            care.push((
                start - Months::new(rng.range(1, 36) as u32),
                level(rng, age0),
            ));
        }
    }
    let mut month = start;
    while month < end && death.is_none_or(|d| month <= d) {
        let a = age(birth, month);
        if a >= 65 {
            let dementia = chronic
                .iter()
                .any(|(c, on)| *c == Cond::Dementia && *on <= month);
            let fracture = episodes.iter().any(|e| {
                e.cond == Cond::HipFracture && e.date <= month && month <= e.date + Months::new(3)
            });
            let mult = if fracture {
                40.0
            } else if dementia {
                8.0
            } else {
                1.0
            };
            match care.last().copied() {
                None if rng.chance((care_p(a) * mult / 12.0).min(0.6)) => {
                    care.push((
                        month + chrono::Days::new(rng.range(0, 27) as u64),
                        level(rng, a),
                    ));
                }
                Some((_, l)) if l < 25 && rng.chance(0.2 / 12.0) => {
                    let next = if l == 13 {
                        21
                    } else if l == 12 {
                        13
                    } else {
                        l + 1
                    };
                    care.push((month + chrono::Days::new(1), next));
                }
                _ => {}
            }
        }
        month = month + Months::new(1);
    }
    let kohi = chronic
        .iter()
        .find(|(c, _)| matches!(c, Cond::Depression))
        .filter(|_| rng.chance(0.5))
        .map(|_| {
            // 21 精神通院医療: 法別 21 + 都道府県 + 実施機関 + 検証番号; 受給者番号 7 digits.
            let payer = niji_core::checkdigit::append(&format!(
                "21{:02}{:03}",
                region.pref,
                rng.range(1, 20)
            ));
            let recipient = niji_core::checkdigit::append(&rng.digits(6));
            (payer, recipient)
        });
    Person {
        id,
        household,
        sex,
        birth,
        family,
        given,
        married: None,
        twin_of,
        death,
        coverages: Vec::new(),
        chronic,
        episodes,
        care,
        care_number: format!("{:010}", rng.next_u64() % 10_000_000_000),
        latent,
        clinic: rng.below(region.clinics.len()),
        pharmacy: rng.below(region.pharmacies.len()),
        care_provider: rng.below(region.care_providers.len()),
        kohi,
    }
}

/// Symbol and number of a new household card of `insurer`.
fn card(rng: &mut Rng, insurer: &str, full_width_symbol: bool) -> (String, String) {
    match &insurer[..2.min(insurer.len())] {
        "01" => (rng.digits(8), format!("{}", rng.range(1, 9999))),
        "06" => (
            format!("{}", rng.range(1, 9999)),
            format!("{}", rng.range(1, 999)),
        ),
        "39" => (String::new(), rng.digits(8)),
        p if p.starts_with('3') => {
            let s = ["公立東", "文科", "警察", "国家"][rng.below(4)];
            (
                format!("{s}{}", rng.range(1, 99)),
                format!("{}", rng.range(1, 99999)),
            )
        }
        _ => {
            // 国保: a local symbol, sometimes kana, and a number.
            let sym = if full_width_symbol {
                ["あ", "い", "う", "か"][rng.below(4)].to_string()
            } else {
                format!("{}", rng.range(1, 99))
            };
            (sym, format!("{}", rng.range(1, 99999)))
        }
    }
}

/// Gives every member of a household their insurance history over the period.
fn simulate_insurance(
    members: &mut [Person],
    params: &Params,
    region: &Region,
    rng: &mut Rng,
    start: NaiveDate,
    end: NaiveDate,
) {
    let head_age = members[0].age_at(start);
    let retire_age = rng.range(60, 67) as i32;
    let head_employed = head_age < retire_age && rng.chance(0.82);
    let spouse_dependent = members.len() > 1 && head_employed && rng.chance(0.55);
    let head_insurer = |rng: &mut Rng, employed: bool| {
        if employed {
            if rng.chance(0.45) {
                region.kyokai()
            } else {
                region.society(rng)
            }
        } else {
            region.kokuho()
        }
    };
    let mut hh_insurer = head_insurer(rng, head_employed);
    let kana_symbol = rng.chance(0.3);
    let (hh_sym, mut hh_num) = card(rng, &hh_insurer, kana_symbol);
    let mut employed = head_employed;
    // Initial coverages.
    for (i, p) in members.iter_mut().enumerate() {
        let a = p.age_at(start);
        let own_job = i > 1 && a >= 22 || i == 1 && !spouse_dependent && a < retire_age && employed;
        let c = if a >= 75 {
            let (s, n) = card(rng, "39", false);
            Coverage {
                from: start,
                insurer: region.koki(),
                symbol: s,
                number: n,
                branch: String::new(),
                reason: None,
            }
        } else if own_job {
            let ins = region.society(rng);
            let (s, n) = card(rng, &ins, false);
            Coverage {
                from: start,
                insurer: ins,
                symbol: s,
                number: n,
                branch: "00".into(),
                reason: None,
            }
        } else {
            Coverage {
                from: start,
                insurer: hh_insurer.clone(),
                symbol: hh_sym.clone(),
                number: hh_num.clone(),
                branch: format!("{:02}", i),
                reason: None,
            }
        };
        p.coverages.push(c);
    }
    // Who follows the household card: those whose current coverage is the household's.
    let follows = |p: &Person, ins: &str, num: &str| {
        let c = p.coverages.last().unwrap();
        c.insurer == ins && c.number == num
    };
    let mut month = start + Months::new(1);
    while month < end {
        let head_alive = members[0].alive_at(month);
        let mut change: Option<Drift> = None;
        if head_alive && employed {
            if members[0].age_at(month) >= retire_age {
                change = Some(Drift::Retirement);
                employed = false;
            } else if rng.chance(params.rates.job_change / 12.0) {
                change = Some(Drift::JobChange);
            }
        } else if !head_alive
            && members[0]
                .death
                .is_some_and(|d| d + Months::new(1) > month && d < month)
            && employed
        {
            change = Some(Drift::HeadDied);
            employed = false;
        }
        if let Some(reason) = change {
            let new_ins = head_insurer(rng, employed);
            let kana_symbol = rng.chance(0.3);
            let (s, n) = card(rng, &new_ins, kana_symbol);
            for (i, p) in members.iter_mut().enumerate() {
                if p.alive_at(month) && follows(p, &hh_insurer, &hh_num) {
                    p.coverages.push(Coverage {
                        from: month,
                        insurer: new_ins.clone(),
                        symbol: s.clone(),
                        number: n.clone(),
                        branch: format!("{:02}", i),
                        reason: Some(reason),
                    });
                }
            }
            (hh_insurer, hh_num) = (new_ins, n);
        }
        for p in members.iter_mut() {
            if !p.alive_at(month) {
                continue;
            }
            let a = p.age_at(month);
            let cur = p.coverages.last().unwrap().clone();
            if a >= 75 && !cur.insurer.starts_with("39") {
                let (s, n) = card(rng, "39", false);
                p.coverages.push(Coverage {
                    from: month,
                    insurer: region.koki(),
                    symbol: s,
                    number: n,
                    branch: String::new(),
                    reason: Some(Drift::Koki),
                });
            } else if a == 22
                && month.month() == 4
                && cur.insurer == hh_insurer
                && cur.branch.as_str() >= "02"
            {
                let ins = region.society(rng);
                let (s, n) = card(rng, &ins, false);
                p.coverages.push(Coverage {
                    from: month,
                    insurer: ins,
                    symbol: s,
                    number: n,
                    branch: "00".into(),
                    reason: Some(Drift::OwnJob),
                });
            }
        }
        month = month + Months::new(1);
    }
    // Marriage of single adults: a new family name (mostly for women) and often a new insurer.
    if members.len() == 1 {
        let p = &mut members[0];
        let mut month = start;
        while month < end && p.married.is_none() {
            let a = p.age_at(month);
            if (22..=45).contains(&a)
                && p.alive_at(month)
                && rng.chance(params.rates.marriage / 12.0)
            {
                let date = month + chrono::Days::new(rng.range(0, 27) as u64);
                if p.sex == Sex::Female && rng.chance(0.95)
                    || p.sex == Sex::Male && rng.chance(0.05)
                {
                    let mut f = family_index(rng);
                    if f == p.family {
                        f = (f + 1) % FAMILY.len();
                    }
                    p.married = Some((date, f));
                }
                if rng.chance(0.5) {
                    let ins = region.society(rng);
                    let (s, n) = card(rng, &ins, false);
                    p.coverages.push(Coverage {
                        from: date,
                        insurer: ins,
                        symbol: s,
                        number: n,
                        branch: "01".into(),
                        reason: Some(Drift::Marriage),
                    });
                    p.coverages.sort_by_key(|c| c.from);
                }
            }
            month = month + Months::new(1);
        }
    }
}
