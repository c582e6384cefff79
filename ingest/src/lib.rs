//! Ingest: stream parsers of the four source formats (one module a format), validation with
//! severities and reason codes, the quarantine, and the staging tables.
//!
//! Every parser yields [`Unit`]s (a receipt, a checkup, a care claim, a FHIR bundle) holding the
//! raw identifiers of one person, the typed content, the issues found and a [`Mark`] for every
//! record read, so that the job can prove that read = landed + quarantined for every record type
//! of every file.

pub mod care;
pub mod cda;
mod check;
pub mod detect;
mod error;
pub mod fhir;
pub mod job;
pub mod keys;
pub mod manifest;
pub mod model;
pub mod quarantine;
pub mod rows;
pub mod tables;
pub mod uke;
pub mod unit;

pub use error::{Error, Result};
pub use model::{Counts, FileRecords, FileRef, Issue, Parsed, Severity, Tally};
pub use unit::{Detail, Header, Mark, RawIdentity, Unit};
