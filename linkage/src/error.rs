//! The crate's one error type.

/// What can go wrong while linking. Messages never carry a link key, a birth date or any other
/// identifier value: only table names, counts and the kind of failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a Delta table failed.
    #[error(transparent)]
    Lake(#[from] niji_lake::Error),
    /// A DataFusion query over the staging or registry tables failed.
    #[error("{what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// Building an Arrow batch failed.
    #[error("cannot build a batch of table {table}: {source}")]
    Arrow {
        table: &'static str,
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A column had an unexpected type or was missing.
    #[error("table {table}: column {column} is missing or has an unexpected type")]
    Column { table: String, column: &'static str },
    /// A truth file could not be read or parsed.
    #[error("truth file {path}: {reason}")]
    Truth { path: String, reason: String },
    /// A task stopped before it finished (it panicked or was cancelled).
    #[error("the task {task} {reason}")]
    Stopped { task: String, reason: &'static str },
    /// More records than the in-memory registry can address.
    #[error("too many records or keys for one linkage run (limit {limit})")]
    TooLarge { limit: u64 },
}

impl Error {
    pub(crate) fn query(what: &'static str, e: datafusion::error::DataFusionError) -> Self {
        Error::Query {
            what,
            source: Box::new(e),
        }
    }

    /// A task that did not finish: `task` says what it did ("writing table receipts").
    pub(crate) fn stopped(task: impl Into<String>, e: &tokio::task::JoinError) -> Self {
        Error::Stopped {
            task: task.into(),
            // Not the panic's message, which could quote a value.
            reason: if e.is_panic() {
                "panicked"
            } else {
                "was cancelled"
            },
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
