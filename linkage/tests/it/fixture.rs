//! One synthetic population, generated and ingested once for all tests of the binary.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use niji_ingest::job::{self, JobOptions};
use niji_pseudonymize::{LinkKeyer, MemoryKeyStore, SecretKey};

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A synth run and its staging zone.
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub(crate) synth: PathBuf,
    pub(crate) data: PathBuf,
}

impl Fixture {
    pub(crate) fn staging(&self) -> niji_lake::ZoneRoot {
        niji_lake::ZoneRoot::parse(self.data.join("steward/staging").to_str().unwrap()).unwrap()
    }
    pub(crate) fn truth(&self) -> PathBuf {
        self.synth.join("truth")
    }
}

pub(crate) fn job_options(data: &std::path::Path) -> JobOptions {
    JobOptions {
        staging: niji_lake::ZoneRoot::parse(data.join("steward/staging").to_str().unwrap())
            .unwrap(),
        intake: data.join("intake"),
        jobs_dir: data.join("steward/jobs"),
        source: None,
        force: false,
        quarantine_retention: Duration::from_secs(86_400),
        batch_rows: 8192,
    }
}

pub(crate) fn keyer() -> LinkKeyer {
    let store = MemoryKeyStore::from_keys([SecretKey::from_bytes([7; 32])]);
    LinkKeyer::new(&store).unwrap()
}

/// 2,000 persons over 2 years with the default drift rates, ingested from the synth folder.
pub(crate) fn population() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let synth = dir.path().join("synth");
        let mut params = niji_synth::Params::new(2000, 2, 11);
        params.region_size = 1000;
        niji_synth::generate(&params, &synth, &mut |_| {}).unwrap();
        let data = dir.path().join("data");
        runtime()
            .block_on(job::run(
                &job_options(&data),
                std::slice::from_ref(&synth),
                &keyer(),
                &mut |_| {},
            ))
            .unwrap();
        Fixture {
            _dir: dir,
            synth,
            data,
        }
    })
}
