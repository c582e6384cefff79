//! `niji synth`: realistic synthetic source extracts for tests, demos and benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use crate::cli::GlobalArgs;
use crate::config::Config;

pub(crate) const LONG_ABOUT: &str =
    "Generate realistic synthetic source extracts for one synthetic \
population, with the truth about who is who kept aside.

Writes, under --out:
  ndb-med/<billing month>/<facility>/<payer>/RECEIPTC.UKE   医科 receipts (CP932, CRLF)
  ndb-dpc/<billing month>/<hospital>/<payer>/RECEIPTD.UKE   DPC inpatient receipts
  ndb-pha/<billing month>/<pharmacy>/<payer>/RECEIPTY.UKE   調剤 (pharmacy) receipts
  ndb-checkup/<fiscal year>/<institution>/                   特定健診 CDA R2 submissions
  care/<processing month>/<provider>.csv                     介護給付費明細書
  ehr/<month>/<facility>/<bundle id>.json                    JP-CLINS FHIR bundles
  truth/records.csv, persons.csv, events.csv, synth.json     linkage ground truth (never ingested)

The same arguments always give byte-identical output. Identifiers drift as in life: insurer \
changes (job change, retirement, 後期高齢者 at 75), marriage, kanji and kana spelling variants, \
full- and half-width characters, birth-date typos, same-sex twins, and deaths.";

/// Options of `niji synth`.
#[derive(Debug, Args)]
pub(crate) struct SynthArgs {
    /// Number of synthetic persons.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=200_000_000))]
    persons: u64,
    /// Calendar years of service months.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    years: u32,
    /// Random seed; the same seed gives the same extracts.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First calendar year of the extracts.
    #[arg(long, default_value_t = 2023, value_parser = clap::value_parser!(i32).range(2000..=2100))]
    start_year: i32,
    /// Output folder; must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Yearly chance that an employed household head changes insurer.
    #[arg(long, default_value_t = niji_synth::Rates::default().job_change, help_heading = "Drift rates")]
    job_change_rate: f64,
    /// Yearly chance that a single adult aged 22–45 marries (a new family name for most women).
    #[arg(long, default_value_t = niji_synth::Rates::default().marriage, help_heading = "Drift rates")]
    marriage_rate: f64,
    /// Chance that a facility records a family name with a variant kanji (渡邊 for 渡辺).
    #[arg(long, default_value_t = niji_synth::Rates::default().spelling_variant, help_heading = "Drift rates")]
    spelling_variant_rate: f64,
    /// Chance that one record carries a mistyped birth date.
    #[arg(long, default_value_t = niji_synth::Rates::default().birth_typo, help_heading = "Drift rates")]
    birth_typo_rate: f64,
    /// Chance that a family with children has a pair of same-sex twins.
    #[arg(long, default_value_t = niji_synth::Rates::default().twins, help_heading = "Drift rates")]
    twin_rate: f64,
    /// Share of care claims carrying the person's oldest medical individual insured number.
    #[arg(long, default_value_t = niji_synth::Rates::default().care_medical_number, help_heading = "Drift rates")]
    care_medical_number_rate: f64,
}

pub(crate) fn run(
    args: SynthArgs,
    _config: &Config,
    global: &GlobalArgs,
) -> anyhow::Result<ExitCode> {
    let mut params = niji_synth::Params::new(args.persons, args.years, args.seed);
    params.start_year = args.start_year;
    params.rates.job_change = args.job_change_rate;
    params.rates.marriage = args.marriage_rate;
    params.rates.spelling_variant = args.spelling_variant_rate;
    params.rates.birth_typo = args.birth_typo_rate;
    params.rates.twins = args.twin_rate;
    params.rates.care_medical_number = args.care_medical_number_rate;
    params.validate()?;

    let started = Instant::now();
    let bar = crate::progress::bar(args.persons, "persons", global.quiet);
    let summary = niji_synth::generate(&params, &args.out, &mut |p| {
        bar.set_position(p.persons_done);
        bar.set_message(format!("{} files, {} records", p.files, p.records));
    })?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let total = summary.total();
    println!(
        "Synthetic extracts for {} persons × {} year(s) (seed {}) in {}",
        summary.persons,
        args.years,
        args.seed,
        args.out.display()
    );
    println!(
        "{:<12} {:>10} {:>12} {:>14}",
        "source", "files", "records", "bytes"
    );
    for (source, c) in &summary.sources {
        println!(
            "{:<12} {:>10} {:>12} {:>14}",
            source.name(),
            c.files,
            c.records,
            c.bytes
        );
    }
    println!(
        "{:<12} {:>10} {:>12} {:>14}",
        "total", total.files, total.records, total.bytes
    );
    println!(
        "{} truth rows in {}; {:.1} s, {:.0} records/s",
        summary.truth_records,
        args.out.join("truth").display(),
        secs,
        total.records as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
