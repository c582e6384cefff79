//! The error type of `niji-synth`.

use std::path::PathBuf;

/// What can stop a generation run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter out of range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// The output folder exists and is not empty.
    #[error("output folder {} is not empty; choose a new folder or remove it first", path.display())]
    OutputNotEmpty { path: PathBuf },
    /// Writing a file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A text could not be written in CP932 (a generator bug: every name table entry must encode).
    #[error("text not encodable in CP932 in {field}")]
    Encoding { field: &'static str },
}

/// `Result` with the crate's error as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
