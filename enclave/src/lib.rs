//! The enclave: researchers write ordinary SQL over an approved project's views, and the engine
//! itself guarantees that only disclosure-controlled aggregates come out.
//!
//! - [`Catalog`]: one view per approved lake table, `pid` (the project's pseudonym) instead of
//!   `person_id`, approved columns and period only, birth date as year-month unless approved.
//! - The SQL gate admits queries only (no DDL, DML, COPY, EXPLAIN, SET, SHOW); the session
//!   knows allow-listed functions only, and no table function, file format or URL table.
//! - The policy ([`policy`]) is a set of DataFusion analyzer rules on the logical plan: the
//!   output must be one aggregation over person-level data; `pid` may be joined on and counted,
//!   never compared with a value; aggregates and windows inside a query are per person; MIN,
//!   MAX, medians and percentiles are refused on the output (they return one person's value).
//! - Disclosure control is a rewrite of the plan: hidden distinct-person counts withhold every
//!   group of fewer than k persons; sums and means obey dominance NK(2, 0.9) and need k non-zero
//!   contributors; counts get sticky noise (a keyed function of the set of persons, so
//!   repeating or rephrasing a query cannot average it away) and are rounded to base 5.
//! - Every result carries a [`DisclosureReport`]; every query is appended to a hash-chained
//!   [`AuditLog`] that [`audit::verify`] checks.
//!
//! ```no_run
//! use niji_enclave::{Enclave, ProjectSpec};
//! use niji_lake::ZoneRoot;
//! use niji_pseudonymize::ProjectKey;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let lake = ZoneRoot::parse("data/lake")?;
//! let spec = ProjectSpec::new("p-2026-001", &["receipts", "diagnoses"]);
//! let key = ProjectKey::generate("p-2026-001")?;
//! let enclave = Enclave::open(&lake, spec, key).await?;
//! let result = enclave
//!     .query("alice", "SELECT sex, count(DISTINCT pid) AS persons FROM receipts GROUP BY sex")
//!     .await?;
//! println!("{} rows; {} groups withheld", result.rows(), result.report.groups_withheld);
//! # Ok(())
//! # }
//! ```

pub mod audit;
mod catalog;
mod error;
mod functions;
pub mod policy;
mod query;
mod session;
mod spec;

pub use audit::{AuditLog, AuditRecord, Clock, SystemClock};
pub use catalog::Catalog;
pub use error::{Error, Result};
pub use query::{CellReport, DisclosureReport, Enclave, MAX_SQL_BYTES, QueryResult};
pub use spec::{DatasetSpec, DisclosureSettings, Limits, Period, ProjectSpec};
