//! Delta Lake tables of niji's zones (the steward's staging tables, the analysis lake): table
//! locations, two-phase writes, pinned-version reads through DataFusion, and deletes.
//!
//! **One job is one commit per table, and a failed job leaves no partial version.** A
//! [`TableWriter`] streams a job's record batches into Parquet data files as they come (bounded
//! memory, files rolled at a target size); [`TableWriter::prepare`] finishes them into a
//! [`Prepared`] write, still invisible to readers; [`Prepared::commit`] makes them visible in a
//! single Delta commit that records the job ([`CommitInfo`]), and [`Prepared::abort`] (or dropping
//! either value) removes them. [`commit_all`] commits a job's tables one after another; see
//! there for the window between tables.
//!
//! Reads go through deltalake's DataFusion table provider: [`register`] a table (optionally pinned
//! at a version, as a project's approval pins them) in a `SessionContext` and query it with SQL.
//!
//! Locations are local folders (relative or absolute) or `file://` URLs by default; `s3://` needs
//! the cargo feature `s3` (it brings the AWS SDK); without it such a location is refused with
//! [`Error::S3NotEnabled`].
//!
//! Versions are `u64`, as in deltalake 1.x. Commits made here never clean up old log entries,
//! so pinned versions stay readable until someone deliberately vacuums / cleans up.
//!
//! ```no_run
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use datafusion::prelude::SessionContext;
//! use niji_lake::{CommitInfo, TableUri, TableWriter, register};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let uri = TableUri::in_zone("lake", "claims")?;
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("source", DataType::Utf8, false),
//!     Field::new("service_month", DataType::Utf8, false),
//!     Field::new("points", DataType::Int64, true),
//! ]));
//! let mut writer = TableWriter::open(&uri, schema.clone(), &["source", "service_month"]).await?;
//! writer
//!     .write(RecordBatch::try_new(schema, vec![
//!         Arc::new(StringArray::from(vec!["ndb-med"])),
//!         Arc::new(StringArray::from(vec!["2024-04"])),
//!         Arc::new(Int64Array::from(vec![120])),
//!     ])?)
//!     .await?;
//! let prepared = writer.prepare().await?; // files written, not visible
//! let version = prepared.commit(&CommitInfo::new("job-42", "ingest ndb-med")).await?;
//!
//! let ctx = SessionContext::new();
//! register(&ctx, "claims", &uri, Some(version)).await?;
//! ctx.sql("SELECT service_month, sum(points) FROM claims GROUP BY 1").await?.show().await?;
//! # Ok(())
//! # }
//! ```

mod commit;
mod delete;
mod error;
mod read;
mod store;
mod uri;
mod writer;

pub use commit::{COMMIT_INFO_KEY, CommitInfo, Prepared, commit_all, find_job_commit};
pub use delete::{DeleteOutcome, delete_where};
pub use error::{Error, Result};
pub use read::{open_table, read_all, register, table_version};
pub use uri::{TableUri, ZoneRoot};
pub use writer::{Compression, TableWriter, WriteOptions};

/// A Delta table version (0 is the commit that created the table).
pub type Version = deltalake::kernel::Version;

/// The deltalake crate this one is built on (for its table and snapshot types).
pub use deltalake;
