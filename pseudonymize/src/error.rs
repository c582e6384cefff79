//! The error type of `niji-pseudonymize`.
//!
//! No message carries an identifier, a name, key material or a link key: errors name the field
//! (or file, or column) and the kind of problem only, so they can be logged and shown as they are.

use std::path::PathBuf;

use crate::field::Field;

/// Everything that can go wrong while normalising, hashing or handling keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field a key kind needs was not given (or was null).
    #[error("{field} is missing")]
    MissingField {
        /// The missing field.
        field: Field,
    },
    /// A field that cannot be normalised into a usable value.
    #[error("{field} is not usable: {reason}")]
    InvalidField {
        /// The field.
        field: Field,
        /// What is wrong with it, in general terms.
        reason: &'static str,
    },
    /// A 保険者番号 whose 検証番号 does not match: reported, never hashed.
    #[error("{field} has a wrong check digit")]
    CheckDigit {
        /// The field.
        field: Field,
    },
    /// A batch got a different number of columns than its key kind has fields.
    #[error("key kind {kind} takes {expected} columns, got {found}")]
    ColumnCount {
        /// The key kind's name.
        kind: &'static str,
        /// How many columns the kind takes.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// Columns of one batch with different lengths.
    #[error("columns of one batch differ in length ({expected} and {found} rows)")]
    LengthMismatch {
        /// The length of the first column.
        expected: usize,
        /// The length of the column that differs.
        found: usize,
    },
    /// An unknown key kind name.
    #[error("unknown key kind (expected one of id1, id2, id4, id5, care)")]
    UnknownKind,
    /// A link key of the wrong length.
    #[error("a link key must be 32 bytes, got {found}")]
    LinkKeyLength {
        /// The length found.
        found: usize,
    },
    /// A key version the store does not hold.
    #[error("key version {version} is not in the key store")]
    UnknownKeyVersion {
        /// The version asked for.
        version: u32,
    },
    /// A link key of a newer version than the keys at hand, which cannot be brought back.
    #[error("a link key of version {from} cannot be re-keyed to the older version {to}")]
    Downgrade {
        /// The link key's version.
        from: u32,
        /// The version asked for.
        to: u32,
    },
    /// A key store that holds no key at all.
    #[error("the key store holds no key")]
    NoKeys,
    /// `init` on a key file that is already there.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    KeyFileExists {
        /// The file.
        path: PathBuf,
    },
    /// A key file that is not there: never created, or destroyed (crypto-shredded).
    #[error("key file {} does not exist (never created, or destroyed)", path.display())]
    KeyFileMissing {
        /// The file.
        path: PathBuf,
    },
    /// A key file that others than its owner may read or write.
    #[error("key file {} has mode {mode:o}; it must be readable by its owner only (chmod 600)", path.display())]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file whose contents are not a valid key file. The reason never quotes the file.
    #[error("key file {} is malformed: {reason}", path.display())]
    KeyFileFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong, without quoting the contents.
        reason: String,
    },
    /// A project key file that belongs to another project.
    #[error("key file {} belongs to another project", path.display())]
    ProjectMismatch {
        /// The file.
        path: PathBuf,
    },
    /// An I/O failure on a key file or its folder.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done ("read key file", "create folder" …).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
    /// An anonymization parameter out of range (a band width of 0, k of 0 …).
    #[error("invalid parameter: {what}")]
    InvalidParameter {
        /// Which parameter and why.
        what: &'static str,
    },
    /// A value an anonymization transform cannot place (NaN, an impossible date …).
    #[error("value not usable for {what}")]
    InvalidValue {
        /// The transform.
        what: &'static str,
    },
    /// A column named in a k-anonymity check that the batch does not have.
    #[error("no column named {column}")]
    UnknownColumn {
        /// The column's name.
        column: String,
    },
    /// A column of a type a transform does not read.
    #[error("column {column} must be {expected}")]
    ColumnType {
        /// The column's name.
        column: String,
        /// The type expected.
        expected: &'static str,
    },
}

impl Error {
    pub(crate) fn invalid(field: Field, reason: &'static str) -> Self {
        Error::InvalidField { field, reason }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

/// `Result` with the crate's error as default.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_only() {
        let e = Error::CheckDigit {
            field: Field::InsurerNumber,
        };
        assert_eq!(e.to_string(), "insurer_number has a wrong check digit");
        let e = Error::invalid(Field::BirthDate, "not a date");
        assert_eq!(e.to_string(), "birth_date is not usable: not a date");
        let e = Error::InsecurePermissions {
            path: "/k/keys.json".into(),
            mode: 0o644,
        };
        assert!(e.to_string().contains("644"), "{e}");
    }
}
