//! The error type of `niji-core`.

/// What can go wrong when reading a shared value. Messages never carry the value itself when it
/// may be an identifier: they name the field and the kind of problem.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A date that does not parse or does not exist.
    #[error("invalid date in {field}: {reason}")]
    InvalidDate {
        field: &'static str,
        reason: &'static str,
    },
    /// A code outside its code list.
    #[error("unknown code in {field}")]
    UnknownCode { field: &'static str },
}

/// `Result` with the crate's error as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
