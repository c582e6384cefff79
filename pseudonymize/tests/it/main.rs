//! Integration tests of niji-pseudonymize, in one binary.

mod known_answers;
mod normalizer_table;
mod properties;
mod rotation;
mod shredding;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
