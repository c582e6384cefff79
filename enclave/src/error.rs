//! The enclave's one error type.

use datafusion::error::DataFusionError;

/// Why a query or a project catalog failed. `Refused` is the policy's answer to a query it will
/// not run; its message says which rule and why, and never carries a cell value or an
/// identifier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL does not parse.
    #[error("the SQL does not parse: {message}")]
    Syntax { message: String },
    /// The policy refuses the query.
    #[error("refused by rule {rule}: {reason}")]
    Refused { rule: &'static str, reason: String },
    /// The query names a table or column the project does not have.
    #[error("the query cannot be planned: {message}")]
    Plan { message: String },
    /// The query ran past the project's time limit.
    #[error("the query ran past its time limit of {seconds} s and was stopped")]
    Timeout { seconds: u64 },
    /// The query needed more memory than the project's limit.
    #[error("the query needed more than its memory limit of {mib} MiB and was stopped")]
    MemoryLimit { mib: usize },
    /// The result has more rows than the project allows.
    #[error("the result has more than {limit} rows: aggregate to fewer groups")]
    TooManyRows { limit: usize },
    /// The project specification is invalid.
    #[error("invalid project specification: {message}")]
    Spec { message: String },
    /// A lake table could not be opened.
    #[error("cannot open lake table {table}: {source}")]
    Lake {
        table: String,
        #[source]
        source: niji_lake::Error,
    },
    /// The project key could not be used.
    #[error("project key: {0}")]
    Key(#[from] niji_pseudonymize::Error),
    /// The audit log could not be read or written.
    #[error("audit log {path}: {message}")]
    Audit { path: String, message: String },
    /// The audit log does not verify.
    #[error("audit log {path} is broken at entry {entry}: {reason}")]
    AuditBroken {
        path: String,
        entry: u64,
        reason: String,
    },
    /// The engine failed while running an admitted query.
    #[error("the query failed while running: {message}")]
    Execution { message: String },
}

/// The enclave's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn refused(rule: &'static str, reason: impl Into<String>) -> Self {
        Error::Refused {
            rule,
            reason: reason.into(),
        }
    }

    /// A stable code for clients (the API's error codes).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Syntax { .. } => "sql_syntax",
            Error::Refused { .. } => "query_refused",
            Error::Plan { .. } => "query_invalid",
            Error::Timeout { .. } => "query_timeout",
            Error::MemoryLimit { .. } => "query_memory_limit",
            Error::TooManyRows { .. } => "query_too_many_rows",
            Error::Spec { .. } => "project_invalid",
            Error::Lake { .. } | Error::Key(_) | Error::Execution { .. } => "internal",
            Error::Audit { .. } | Error::AuditBroken { .. } => "audit",
        }
    }

    /// Maps a DataFusion error met while planning: a policy refusal raised inside an analyzer
    /// rule comes back as itself, anything else as a planning error whose message names no
    /// value (DataFusion's planning errors name tables, columns and functions only).
    pub(crate) fn from_planning(e: DataFusionError) -> Self {
        match into_refusal(e) {
            Ok(refusal) => refusal,
            Err(e) => Error::Plan {
                message: strip_backtrace(&e),
            },
        }
    }

    /// Maps a DataFusion error met while executing.
    pub(crate) fn from_execution(e: DataFusionError, memory_mib: usize) -> Self {
        let root = e.find_root();
        // The variant only: an execution error's text can quote a cell value.
        tracing::debug!(kind = root_kind(root), "query execution failed");
        if matches!(root, DataFusionError::ResourcesExhausted(_)) {
            return Error::MemoryLimit { mib: memory_mib };
        }
        if let DataFusionError::NotImplemented(what) = root {
            // Names expressions and columns, never values.
            return Error::Plan {
                message: format!("the engine cannot run this form: {what}"),
            };
        }
        // Execution errors can quote data (a failed cast names the value): say what failed,
        // not with what.
        let kind = match root {
            DataFusionError::ArrowError(..) => {
                "a computation on the data failed (e.g. a cast or an overflow)"
            }
            DataFusionError::Execution(_) => "the engine stopped the query",
            _ => "internal engine error",
        };
        Error::Execution {
            message: kind.to_string(),
        }
    }
}

fn into_refusal(e: DataFusionError) -> std::result::Result<Error, DataFusionError> {
    match e {
        DataFusionError::External(inner) => match inner.downcast::<Error>() {
            Ok(err) => Ok(*err),
            Err(other) => Err(DataFusionError::External(other)),
        },
        DataFusionError::Context(ctx, inner) => {
            into_refusal(*inner).map_err(|e| DataFusionError::Context(ctx, Box::new(e)))
        }
        DataFusionError::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
            Ok(inner) => into_refusal(inner),
            Err(shared) => Err(DataFusionError::Shared(shared)),
        },
        other => Err(other),
    }
}

fn root_kind(e: &DataFusionError) -> &'static str {
    match e {
        DataFusionError::ArrowError(..) => "arrow",
        DataFusionError::ParquetError(..) => "parquet",
        DataFusionError::ObjectStore(..) => "object_store",
        DataFusionError::IoError(..) => "io",
        DataFusionError::ResourcesExhausted(..) => "resources_exhausted",
        DataFusionError::NotImplemented(..) => "not_implemented",
        DataFusionError::Execution(..) => "execution",
        DataFusionError::External(..) => "external",
        _ => "other",
    }
}

fn strip_backtrace(e: &DataFusionError) -> String {
    let s = e.find_root().to_string();
    s.split("\n\nbacktrace")
        .next()
        .unwrap_or(&s)
        .trim()
        .to_string()
}

/// A policy refusal carried through DataFusion's error type (analyzer rules return
/// `datafusion::error::Result`).
pub(crate) fn refuse<T>(
    rule: &'static str,
    reason: impl Into<String>,
) -> datafusion::error::Result<T> {
    Err(DataFusionError::External(Box::new(Error::refused(
        rule, reason,
    ))))
}
