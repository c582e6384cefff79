//! Deterministic, realistic synthetic extracts of the NDB (医科, DPC and 調剤 receipts as UKE
//! files; 特定健診 as CDA XML), the care-DB (介護給付費明細書 CSV) and the EHR-DB (JP-CLINS FHIR
//! JSON), for one synthetic population, with the truth about who is who kept aside in `truth/`.
//!
//! The same [`Params`] give byte-identical output. Persons are generated region by region (a
//! region has its own facilities), so memory stays bounded whatever the population size.
//!
//! ```no_run
//! let params = niji_synth::Params::new(1_000, 1, 42);
//! let summary = niji_synth::generate(&params, std::path::Path::new("synth-data"), &mut |_| {})?;
//! println!("{} files", summary.total().files);
//! # Ok::<(), niji_synth::Error>(())
//! ```

mod care;
mod cda;
mod codes;
mod error;
mod fhir;
mod generate;
mod names;
mod params;
mod population;
mod recorded;
mod rng;
mod sink;
mod uke;
mod world;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;

use niji_core::Source;
use serde::Serialize;

pub use error::{Error, Result};
pub use params::{Params, Rates};
pub use sink::Counts;

/// Labels of the random streams, so that each draws independently of the others.
pub(crate) mod stream {
    pub(crate) const REGION: u64 = 1;
    pub(crate) const HOUSEHOLDS: u64 = 2;
    pub(crate) const PERSON: u64 = 3;
    pub(crate) const MONTH: u64 = 4;
    pub(crate) const HABIT: u64 = 5;
    pub(crate) const CHECKUP: u64 = 6;
    pub(crate) const REGIMEN: u64 = 7;
    pub(crate) const ALLERGY: u64 = 8;
    pub(crate) const CARE_HISTORY: u64 = 9;
}

/// How far a run has got.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub persons_done: u64,
    pub persons_total: u64,
    pub files: u64,
    pub records: u64,
}

/// What a run wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub persons: u64,
    pub regions: u64,
    /// Files, records and bytes per source.
    pub sources: BTreeMap<Source, Counts>,
    /// Rows of `truth/records.csv`.
    pub truth_records: u64,
}

impl Summary {
    /// Sums over every source.
    pub fn total(&self) -> Counts {
        self.sources
            .values()
            .fold(Counts::default(), |a, c| Counts {
                files: a.files + c.files,
                records: a.records + c.records,
                bytes: a.bytes + c.bytes,
            })
    }
}

/// Generates the extracts of `params` into `out` (which must not exist or be empty), calling
/// `progress` after each region. Regions are generated on all cores and their truth appended in
/// region order, so the output does not depend on the number of threads.
pub fn generate(
    params: &Params,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary> {
    params.validate()?;
    let mut truth = sink::Truth::open(out)?;
    let size = u64::from(params.region_size);
    let regions = params.persons.div_ceil(size);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(regions as usize)
        .max(1);
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let mut summary = Summary {
        persons: params.persons,
        regions,
        sources: BTreeMap::new(),
        truth_records: 0,
    };
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(u64, Result<sink::RegionSink>)>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, failed) = (&next, &failed);
            scope.spawn(move || {
                loop {
                    let r = next.fetch_add(1, Ordering::Relaxed);
                    if r >= regions || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let out = region(params, out, r, size);
                    if tx.send((r, out)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, sink::RegionSink> = BTreeMap::new();
        let (mut written, mut done) = (0u64, 0u64);
        for (r, result) in rx {
            match result {
                Ok(region) => {
                    pending.insert(r, region);
                }
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            while let Some(region) = pending.remove(&written) {
                truth.append(&region)?;
                for (source, c) in &region.counts {
                    let t = summary.sources.entry(*source).or_default();
                    t.files += c.files;
                    t.records += c.records;
                    t.bytes += c.bytes;
                }
                summary.truth_records += region.truth_rows;
                done = (done + size).min(params.persons);
                written += 1;
                let total = summary.total();
                progress(Progress {
                    persons_done: done,
                    persons_total: params.persons,
                    files: total.files,
                    records: total.records,
                });
            }
        }
        Ok(())
    })?;
    let manifest = serde_json::json!({ "generator": "niji-synth", "version": env!("CARGO_PKG_VERSION"), "params": params, "summary": summary });
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    let path = truth.root().join("truth").join("synth.json");
    std::fs::write(&path, text).map_err(|source| Error::Io { path, source })?;
    truth.finish()?;
    Ok(summary)
}

/// Generates region `r` (persons `r * size ..`), writing its files under `out`.
fn region(params: &Params, out: &Path, r: u64, size: u64) -> Result<sink::RegionSink> {
    let first = r * size;
    let count = size.min(params.persons - first);
    let region = world::Region::new(
        params.seed,
        r,
        count as u32,
        params.rates.ehr_participation,
        params.rates.wareki_spec,
    );
    let persons = population::region_persons(params, &region, first, count);
    let mut sink = sink::RegionSink::new(out);
    generate::region(params, &region, &persons, &mut sink)?;
    Ok(sink)
}
