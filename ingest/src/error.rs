//! The crate's error type: failures that stop a file (I/O), as opposed to data problems, which
//! are [`Issue`](crate::Issue)s with reason codes and never abort a file.

use std::path::PathBuf;

/// What can stop the ingest of a file. Messages name paths, never person-level values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A staging table could not be written or committed.
    #[error(transparent)]
    Lake(#[from] niji_lake::Error),
    /// A job manifest that cannot be written or read back.
    #[error("job manifest {}: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
}

impl Error {
    /// An I/O error while reading `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with the crate's error as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
