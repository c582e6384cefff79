//! Where generated files go: the output folder, the truth tables and the running counts.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use niji_core::Source;
use serde::Serialize;

use crate::{Error, Result};

/// Files and records written for one source.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
}

pub(crate) struct Sink {
    root: PathBuf,
    records: BufWriter<File>,
    persons: BufWriter<File>,
    events: BufWriter<File>,
    pub(crate) counts: BTreeMap<Source, Counts>,
    pub(crate) truth_rows: u64,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).map_err(io(path))?,
    ))
}

impl Sink {
    /// Opens `root`, which must not exist or be empty.
    pub(crate) fn open(root: &Path) -> Result<Self> {
        if root.exists() {
            let mut entries = fs::read_dir(root).map_err(io(root))?;
            if entries.next().is_some() {
                return Err(Error::OutputNotEmpty {
                    path: root.to_path_buf(),
                });
            }
        }
        let truth = root.join("truth");
        fs::create_dir_all(&truth).map_err(io(&truth))?;
        let mut records = create(&truth.join("records.csv"))?;
        let mut persons = create(&truth.join("persons.csv"))?;
        let mut events = create(&truth.join("events.csv"))?;
        let p = truth.join("records.csv");
        records
            .write_all(b"source,file,line,person_id,drift\n")
            .map_err(io(&p))?;
        persons
            .write_all(b"person_id,household,sex,birth_date,twin_of,death_date,region,prefecture\n")
            .map_err(io(&p))?;
        events
            .write_all(b"person_id,date,event\n")
            .map_err(io(&p))?;
        Ok(Sink {
            root: root.to_path_buf(),
            records,
            persons,
            events,
            counts: BTreeMap::new(),
            truth_rows: 0,
        })
    }

    /// Writes a file at `rel` (a path with `/`) holding `records` source records.
    pub(crate) fn file(
        &mut self,
        source: Source,
        rel: &str,
        bytes: &[u8],
        records: u64,
    ) -> Result<()> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io(dir))?;
        }
        fs::write(&path, bytes).map_err(io(&path))?;
        let c = self.counts.entry(source).or_default();
        c.files += 1;
        c.records += records;
        c.bytes += bytes.len() as u64;
        Ok(())
    }

    /// One truth row: the record at `line` of `rel` (0 for a whole document) belongs to `person`.
    pub(crate) fn truth(
        &mut self,
        source: Source,
        rel: &str,
        line: u64,
        person: u64,
        drift: &str,
    ) -> Result<()> {
        self.truth_rows += 1;
        writeln!(
            self.records,
            "{source},{rel},{line},{},{drift}",
            person_id(person)
        )
        .map_err(io(&self.root))
    }

    pub(crate) fn person_row(&mut self, row: &str) -> Result<()> {
        writeln!(self.persons, "{row}").map_err(io(&self.root))
    }

    pub(crate) fn event_row(&mut self, row: &str) -> Result<()> {
        writeln!(self.events, "{row}").map_err(io(&self.root))
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        for w in [&mut self.records, &mut self.persons, &mut self.events] {
            w.flush().map_err(io(&self.root))?;
        }
        Ok(())
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
}

/// The truth's text form of a person id.
pub(crate) fn person_id(id: u64) -> String {
    format!("P{id:09}")
}
