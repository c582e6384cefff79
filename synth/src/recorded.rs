//! How one facility records a person: the identifiers as they appear in that facility's files,
//! with the facility's habits (spacing, width, kana-only registration) and per-record drift
//! (variant kanji, missing small kana, mistyped birth dates).

use chrono::{Datelike, NaiveDate};
use niji_core::Sex;

use crate::names::{self, FAMILY};
use crate::params::Rates;
use crate::population::{Coverage, Person};
use crate::rng::Rng;
use crate::world::{Facility, Spacing};

/// Record-level drift, written to the truth so linkage can be scored by drift kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecordDrift {
    /// The family name is written with a variant kanji.
    pub(crate) spelling: bool,
    /// The kana name lost its small kana.
    pub(crate) kana: bool,
    /// The birth date is mistyped.
    pub(crate) birth_typo: bool,
}

impl RecordDrift {
    pub(crate) fn labels(self) -> String {
        let mut v = Vec::new();
        if self.spelling {
            v.push("spelling_variant");
        }
        if self.kana {
            v.push("kana_variant");
        }
        if self.birth_typo {
            v.push("birth_typo");
        }
        v.join(";")
    }
}

/// A person's identifiers as one record shows them.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// 氏名 as the facility writes it (kanji, or kana where the facility registers only kana).
    pub(crate) name: String,
    /// カナ氏名, full- or half-width as the facility writes it.
    pub(crate) kana: String,
    /// Family and given name in kanji and full-width kana, for FHIR's structured names.
    pub(crate) parts: [String; 4],
    pub(crate) sex: Sex,
    pub(crate) birth: NaiveDate,
    pub(crate) coverage: Coverage,
    /// 記号 and 番号 as written (maybe full-width).
    pub(crate) symbol: String,
    pub(crate) number: String,
    pub(crate) drift: RecordDrift,
}

fn facility_hash(code: &str) -> u64 {
    code.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A plausible typo of a birth date: transposed day digits, a day or year off by one, or month
/// and day swapped. Always a valid date different from `d`.
fn typo(rng: &mut Rng, d: NaiveDate) -> NaiveDate {
    for _ in 0..8 {
        let cand = match rng.below(4) {
            0 => NaiveDate::from_ymd_opt(d.year(), d.month(), (d.day() % 10) * 10 + d.day() / 10),
            1 => d.checked_add_days(chrono::Days::new(1)),
            2 => NaiveDate::from_ymd_opt(
                d.year() + if rng.chance(0.5) { 1 } else { -1 },
                d.month(),
                d.day().min(28),
            ),
            _ => NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()),
        };
        if let Some(c) = cand.filter(|c| *c != d) {
            return c;
        }
    }
    d.pred_opt().unwrap_or(d)
}

/// How `facility` records `person` on `date`. `record_rng` draws the per-record drift.
pub(crate) fn recorded(
    seed: u64,
    person: &Person,
    facility: &Facility,
    date: NaiveDate,
    rates: &Rates,
    record_rng: &mut Rng,
) -> Recorded {
    let (birth_typo_rate, spelling_rate, kana_rate) =
        (rates.birth_typo, rates.spelling_variant, rates.kana_variant);
    // Spelling habits are fixed per (person, facility): a facility keeps what it registered.
    let mut habit = Rng::stream(
        seed,
        &[
            crate::stream::HABIT,
            person.id,
            facility_hash(&facility.code),
        ],
    );
    let fam = &FAMILY[person.family_at(date)];
    let given = person.given_name();
    let mut drift = RecordDrift::default();
    let family_kanji = if !fam.variants.is_empty() && habit.chance(spelling_rate * 4.0) {
        drift.spelling = true;
        *habit.pick(fam.variants)
    } else {
        fam.kanji
    };
    let mut kana_full = format!("{}　{}", fam.kana, given.kana);
    if habit.chance(kana_rate) && names::large_kana(&kana_full) != kana_full {
        kana_full = names::large_kana(&kana_full);
        drift.kana = true;
    }
    let sep = match facility.spacing {
        Spacing::Full => "　",
        Spacing::Half => " ",
        Spacing::None => "",
    };
    let kanji_name = format!("{family_kanji}{sep}{}", given.kanji);
    let kana = if facility.half_width_kana {
        names::half_width_kana(&kana_full)
    } else {
        kana_full.clone()
    };
    let name = if facility.kana_only {
        kana.clone()
    } else {
        kanji_name
    };
    let birth = if record_rng.chance(birth_typo_rate) {
        drift.birth_typo = true;
        typo(record_rng, person.birth)
    } else {
        person.birth
    };
    let coverage = person.coverage_at(date).clone();
    let (symbol, number) = if facility.full_width_ids {
        (
            names::full_width_ascii(&coverage.symbol),
            names::full_width_ascii(&coverage.number),
        )
    } else {
        (coverage.symbol.clone(), coverage.number.clone())
    };
    let kana_parts: Vec<&str> = kana_full.split('　').collect();
    let parts = [
        family_kanji.to_string(),
        given.kanji.to_string(),
        kana_parts.first().copied().unwrap_or_default().to_string(),
        kana_parts.get(1).copied().unwrap_or_default().to_string(),
    ];
    Recorded {
        name,
        kana,
        parts,
        sex: person.sex,
        birth,
        coverage,
        symbol,
        number,
        drift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_valid_and_different() {
        let mut rng = Rng::stream(5, &[]);
        for d in [
            NaiveDate::from_ymd_opt(1950, 12, 31).unwrap(),
            NaiveDate::from_ymd_opt(1980, 2, 29).unwrap(),
            NaiveDate::from_ymd_opt(2001, 1, 1).unwrap(),
        ] {
            for _ in 0..200 {
                let t = typo(&mut rng, d);
                assert_ne!(t, d);
                assert!((t - d).num_days().abs() < 800, "{d} → {t}");
            }
        }
    }
}
