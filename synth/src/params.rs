//! The generator's parameters and their defaults.

use serde::Serialize;

use crate::{Error, Result};

/// What to generate.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Number of synthetic persons.
    pub persons: u64,
    /// Number of calendar years of service months, starting in January of `start_year`.
    pub years: u32,
    /// Seed: the same parameters give byte-identical output.
    pub seed: u64,
    /// First calendar year of the extracts.
    pub start_year: i32,
    /// Persons per region. A region has its own clinics, hospital, pharmacies and care providers,
    /// and is generated at once, so it bounds the memory the generator uses.
    pub region_size: u32,
    /// Rates of identifier drift and of participation.
    pub rates: Rates,
}

/// Rates of the events that make linkage hard, and of participation in each source. Defaults
/// follow DOMAIN.md where it gives a figure.
#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    /// Yearly chance that an employed household head changes jobs (new insurer and 記号・番号).
    /// With retirements, the move to 後期高齢者 at 75 and marriages this gives roughly the 11% of
    /// patients whose ID1 changes within a year.
    pub job_change: f64,
    /// Yearly chance that a single adult aged 22–45 marries.
    pub marriage: f64,
    /// Chance that a facility records a person's family name with a variant kanji (渡邊 for 渡辺).
    pub spelling_variant: f64,
    /// Chance that a facility records a person's kana name without small kana (ジヨウ for ジョウ).
    pub kana_variant: f64,
    /// Chance that one record carries a mistyped birth date.
    pub birth_typo: f64,
    /// Chance that a family with children has a pair of same-sex twins.
    pub twins: f64,
    /// Share of care claims that carry the person's oldest medical individual insured number.
    pub care_medical_number: f64,
    /// Share of hospitals and clinics that send documents to the EHR information-sharing service.
    pub ehr_participation: f64,
    /// Yearly participation in 特定健診 of insured persons aged 40–74.
    pub checkup_participation: f64,
    /// Share of facilities still writing the older wareki spec (no SN record).
    pub wareki_spec: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            job_change: 0.2,
            marriage: 0.06,
            spelling_variant: 0.05,
            kana_variant: 0.03,
            birth_typo: 0.002,
            twins: 0.04,
            care_medical_number: 0.9,
            ehr_participation: 0.6,
            checkup_participation: 0.55,
            wareki_spec: 0.2,
        }
    }
}

impl Params {
    /// Parameters with default rates.
    pub fn new(persons: u64, years: u32, seed: u64) -> Self {
        Params {
            persons,
            years,
            seed,
            start_year: 2023,
            region_size: 2000,
            rates: Rates::default(),
        }
    }

    /// Checks every value, naming the first one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad =
            |name: &'static str, reason: String| Err(Error::InvalidParameter { name, reason });
        if self.persons == 0 {
            return bad("persons", "must be at least 1".into());
        }
        if self.persons > 200_000_000 {
            return bad("persons", "must be at most 200,000,000".into());
        }
        if !(1..=10).contains(&self.years) {
            return bad(
                "years",
                format!("must be between 1 and 10, got {}", self.years),
            );
        }
        if !(2000..=2100).contains(&self.start_year) {
            return bad(
                "start_year",
                format!("must be between 2000 and 2100, got {}", self.start_year),
            );
        }
        if !(100..=100_000).contains(&self.region_size) {
            return bad(
                "region_size",
                format!("must be between 100 and 100000, got {}", self.region_size),
            );
        }
        let r = &self.rates;
        for (name, v) in [
            ("job_change", r.job_change),
            ("marriage", r.marriage),
            ("spelling_variant", r.spelling_variant),
            ("kana_variant", r.kana_variant),
            ("birth_typo", r.birth_typo),
            ("twins", r.twins),
            ("care_medical_number", r.care_medical_number),
            ("ehr_participation", r.ehr_participation),
            ("checkup_participation", r.checkup_participation),
            ("wareki_spec", r.wareki_spec),
        ] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                return bad(
                    name,
                    format!("must be a probability between 0 and 1, got {v}"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        assert!(Params::new(10, 1, 1).validate().is_ok());
        let e = Params::new(0, 1, 1).validate().unwrap_err();
        assert!(e.to_string().contains("persons"), "{e}");
        let e = Params::new(10, 0, 1).validate().unwrap_err();
        assert!(e.to_string().contains("years"), "{e}");
        let mut p = Params::new(10, 1, 1);
        p.rates.birth_typo = 1.5;
        let e = p.validate().unwrap_err();
        assert!(e.to_string().contains("birth_typo"), "{e}");
    }
}
