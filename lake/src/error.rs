//! The crate's one error type.
//!
//! Messages name the table (its location) and the operation, never a data value: a cell value,
//! partition value or predicate literal can identify a person. The underlying deltalake /
//! DataFusion / object-store error is kept as the `source` for operators; its text is not part of
//! this crate's messages.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use deltalake::DeltaTableError;

use crate::Version;

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong reading or writing a lake table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The table location (a folder path or URL) cannot be used.
    #[error("table location `{location}` is not usable: {reason}")]
    InvalidLocation {
        /// The location as given (URL query and credentials removed).
        location: String,
        /// Why.
        reason: &'static str,
    },

    /// A table name that is not a plain folder name.
    #[error("table name `{name}` is not valid: {reason}")]
    InvalidTableName {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },

    /// An `s3://` location in a build without the `s3` cargo feature.
    #[error(
        "table location `{location}` is on S3-compatible storage, but this build of niji has no \
         S3 support: build with `--features s3` (cargo feature `s3` of niji-lake)"
    )]
    S3NotEnabled {
        /// The location as given.
        location: String,
    },

    /// A URL scheme the lake does not support.
    #[error(
        "table location `{location}`: storage scheme `{scheme}` is not supported (use a local folder, file:// or s3://)"
    )]
    UnsupportedScheme {
        /// The location as given.
        location: String,
        /// The URL scheme.
        scheme: String,
    },

    /// A local folder for a table could not be created.
    #[error("could not create the folder `{}` for a table", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// No Delta table exists at the location.
    #[error("{table}: there is no Delta table at this location")]
    TableNotFound {
        /// Table location.
        table: String,
    },

    /// The requested version does not exist (or its log has been cleaned up).
    #[error("{table}: version {version} cannot be read")]
    VersionNotFound {
        /// Table location.
        table: String,
        /// The requested version.
        version: Version,
        /// The underlying error.
        #[source]
        source: Box<DeltaTableError>,
    },

    /// The schema given to a writer does not match the existing table's.
    #[error("{table}: the writer's schema does not match the existing table: {detail}")]
    SchemaMismatch {
        /// Table location.
        table: String,
        /// Which columns differ (names and types only).
        detail: String,
    },

    /// The partition columns given to a writer do not match the existing table's, or are not
    /// usable partition columns.
    #[error("{table}: partition columns {requested:?} do not fit: {detail}")]
    PartitionMismatch {
        /// Table location.
        table: String,
        /// The partition columns asked for.
        requested: Vec<String>,
        /// Why they do not fit (names and types only).
        detail: String,
    },

    /// A record batch whose schema differs from the writer's.
    #[error("{table}: a record batch does not match the writer's schema: {detail}")]
    BatchSchema {
        /// Table location.
        table: String,
        /// Which columns differ (names and types only).
        detail: String,
    },

    /// A write failed earlier, so the writer cannot go on; abort it (or drop it).
    #[error("{table}: an earlier write failed; this writer can only be aborted")]
    WriterFailed {
        /// Table location.
        table: String,
    },

    /// A deltalake operation failed.
    #[error("{table}: {operation} failed")]
    Delta {
        /// Table location.
        table: String,
        /// The operation, e.g. "write data files" or "commit".
        operation: &'static str,
        /// The underlying error (its text may quote data; log it only where that is allowed).
        #[source]
        source: Box<DeltaTableError>,
    },

    /// A DataFusion step (registering or reading a table) failed.
    #[error("{table}: {operation} failed")]
    DataFusion {
        /// Table location.
        table: String,
        /// The operation.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: Box<DataFusionError>,
    },

    /// An object-store step (removing uncommitted files, reading the log) failed.
    #[error("{table}: {operation} failed")]
    Storage {
        /// Table location.
        table: String,
        /// The operation.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: Box<deltalake::ObjectStoreError>,
    },

    /// `commit_all` committed some tables and then failed on one; the tables after it were
    /// aborted (their files removed).
    #[error(
        "commit of job `{job_id}` stopped at table {failed}: {} table(s) were committed before it \
         and stay committed, the remaining {aborted} were aborted",
        committed.len()
    )]
    PartialCommit {
        /// The job.
        job_id: String,
        /// The tables committed before the failure, with their new versions.
        committed: Vec<(String, Version)>,
        /// The table whose commit failed.
        failed: String,
        /// How many prepared tables after it were aborted.
        aborted: usize,
        /// Why the commit failed.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Wraps a deltalake error, turning "not a table" into [`Error::TableNotFound`].
    pub(crate) fn delta(
        table: &impl ToString,
        operation: &'static str,
        source: DeltaTableError,
    ) -> Self {
        match source {
            DeltaTableError::NotATable(_) => Error::TableNotFound {
                table: table.to_string(),
            },
            source => Error::Delta {
                table: table.to_string(),
                operation,
                source: Box::new(source),
            },
        }
    }

    /// Wraps a DataFusion error.
    pub(crate) fn datafusion(
        table: &impl ToString,
        operation: &'static str,
        source: DataFusionError,
    ) -> Self {
        Error::DataFusion {
            table: table.to_string(),
            operation,
            source: Box::new(source),
        }
    }

    /// Wraps an object-store error.
    pub(crate) fn storage(
        table: &impl ToString,
        operation: &'static str,
        source: deltalake::ObjectStoreError,
    ) -> Self {
        Error::Storage {
            table: table.to_string(),
            operation,
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_table_becomes_table_not_found() {
        let err = Error::delta(&"lake/t", "load", DeltaTableError::NotATable("x".into()));
        assert!(matches!(err, Error::TableNotFound { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "lake/t: there is no Delta table at this location"
        );
    }

    #[test]
    fn delta_errors_do_not_repeat_their_source_text() {
        let err = Error::delta(
            &"lake/t",
            "commit",
            DeltaTableError::Generic("value 42".into()),
        );
        assert_eq!(err.to_string(), "lake/t: commit failed");
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn errors_stay_small() {
        assert!(
            std::mem::size_of::<Error>() <= 96,
            "{}",
            std::mem::size_of::<Error>()
        );
    }

    #[test]
    fn s3_message_says_how_to_enable_it() {
        let err = Error::S3NotEnabled {
            location: "s3://b/t".into(),
        };
        assert!(err.to_string().contains("--features s3"), "{err}");
    }
}
