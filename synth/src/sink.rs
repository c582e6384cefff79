//! Where generated files go: the output folder, the truth tables and the running counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
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

/// The output folder and the three truth tables, written in region order.
pub(crate) struct Truth {
    root: PathBuf,
    records: BufWriter<File>,
    persons: BufWriter<File>,
    events: BufWriter<File>,
}

impl std::fmt::Debug for Truth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Truth")
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

fn create(path: &Path, header: &str) -> Result<BufWriter<File>> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io(path))?);
    w.write_all(header.as_bytes()).map_err(io(path))?;
    Ok(w)
}

impl Truth {
    /// Opens `root`, which must not exist or be empty, and starts the truth tables.
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
        Ok(Truth {
            root: root.to_path_buf(),
            records: create(
                &truth.join("records.csv"),
                "source,file,line,person_id,drift\n",
            )?,
            persons: create(
                &truth.join("persons.csv"),
                "person_id,household,sex,birth_date,twin_of,death_date,region,prefecture\n",
            )?,
            events: create(&truth.join("events.csv"), "person_id,date,event\n")?,
        })
    }

    /// Appends the truth rows a region collected.
    pub(crate) fn append(&mut self, region: &RegionSink) -> Result<()> {
        let path = self.root.join("truth");
        self.records
            .write_all(region.records.as_bytes())
            .map_err(io(&path))?;
        self.persons
            .write_all(region.persons.as_bytes())
            .map_err(io(&path))?;
        self.events
            .write_all(region.events.as_bytes())
            .map_err(io(&path))
    }

    pub(crate) fn finish(mut self) -> Result<()> {
        let path = self.root.join("truth");
        for w in [&mut self.records, &mut self.persons, &mut self.events] {
            w.flush().map_err(io(&path))?;
        }
        Ok(())
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
}

/// What one region writes: its files go straight to disk (paths are region-local); its truth
/// rows and counts are kept until the region's turn to be appended.
#[derive(Debug)]
pub(crate) struct RegionSink {
    root: PathBuf,
    pub(crate) counts: BTreeMap<Source, Counts>,
    pub(crate) truth_rows: u64,
    records: String,
    persons: String,
    events: String,
}

impl RegionSink {
    pub(crate) fn new(root: &Path) -> Self {
        RegionSink {
            root: root.to_path_buf(),
            counts: BTreeMap::new(),
            truth_rows: 0,
            records: String::new(),
            persons: String::new(),
            events: String::new(),
        }
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
        let _ = writeln!(
            self.records,
            "{source},{rel},{line},{},{drift}",
            person_id(person)
        );
        Ok(())
    }

    pub(crate) fn person_row(&mut self, row: &str) -> Result<()> {
        self.persons.push_str(row);
        self.persons.push('\n');
        Ok(())
    }

    pub(crate) fn event_row(&mut self, row: &str) -> Result<()> {
        self.events.push_str(row);
        self.events.push('\n');
        Ok(())
    }
}

/// The truth's text form of a person id.
pub(crate) fn person_id(id: u64) -> String {
    format!("P{id:09}")
}
