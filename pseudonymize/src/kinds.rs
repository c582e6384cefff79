//! Key kinds, their fields and domain labels, the raw identity they are made from, and link keys.
//!
//! A link key of kind `k` is `HMAC-SHA256(K, label(k) ‖ 0x1F ‖ f₁ ‖ 0x1F ‖ f₂ …)` over the
//! kind's fields, normalised (see [`crate::normalize`]). The label is the kind's name (`id1`,
//! `id2`, `id4`, `id5`, `care`). Normalised fields never hold 0x1F (control characters are
//! dropped), and no label is a prefix of another up to the first 0x1F, so the encoding is
//! injective: two kinds, or two field lists, never give the same message.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::field::Field;

/// The separator between the label and the fields of a message (ASCII unit separator).
pub const SEPARATOR: u8 = 0x1F;

/// The kinds of link key, after NDB's ID1 … ID5 (DOMAIN.md, "Identifiers and linkage").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// 保険者番号, 記号, 番号, 生年月日, 性別. Changes with the insurer.
    Id1,
    /// 氏名 as recorded (often kanji), 生年月日, 性別. Changes with marriage.
    Id2,
    /// カナ氏名, 生年月日, 性別. Links the public databases.
    Id4,
    /// 保険者番号, 記号, 番号, 枝番: the individual insured number. Links NDB and care-DB.
    Id5,
    /// 介護 被保険者番号, 介護 保険者番号, 生年月日, 性別: the care-DB key.
    Care,
}

impl KeyKind {
    /// Every kind, in a fixed order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Id1,
        KeyKind::Id2,
        KeyKind::Id4,
        KeyKind::Id5,
        KeyKind::Care,
    ];

    /// The kind's name, which is also its domain label.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Id1 => "id1",
            KeyKind::Id2 => "id2",
            KeyKind::Id4 => "id4",
            KeyKind::Id5 => "id5",
            KeyKind::Care => "care",
        }
    }

    /// The fields of the kind, in message order.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            KeyKind::Id1 => &[InsurerNumber, Symbol, Number, BirthDate, Sex],
            KeyKind::Id2 => &[Name, BirthDate, Sex],
            KeyKind::Id4 => &[KanaName, BirthDate, Sex],
            KeyKind::Id5 => &[InsurerNumber, Symbol, Number, Branch],
            KeyKind::Care => &[CareInsuredNumber, CareInsurerNumber, BirthDate, Sex],
        }
    }

    /// The domain label that opens every message of this kind.
    pub fn label(self) -> &'static [u8] {
        self.name().as_bytes()
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        KeyKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or(Error::UnknownKind)
    }
}

/// Writes the message of `kind` over normalised `fields` into `buf` (cleared first).
pub fn write_message<'f>(
    kind: KeyKind,
    fields: impl IntoIterator<Item = &'f str>,
    buf: &mut Vec<u8>,
) {
    buf.clear();
    buf.extend_from_slice(kind.label());
    for f in fields {
        buf.push(SEPARATOR);
        buf.extend_from_slice(f.as_bytes());
    }
}

/// The raw identifier fields of one record, as read from a source, before normalisation.
///
/// Built with one setter a field; [`crate::LinkKeyer::key`] normalises the fields a kind needs
/// and hashes them. Its `Debug` shows which fields are set, never their values.
///
/// ```
/// use niji_pseudonymize::{Field, Identity};
/// let id = Identity::new().kana_name("ｻﾄｳ ﾊﾅｺ").birth_date("3550405").sex("2");
/// assert_eq!(id.get(Field::Sex), Some("2"));
/// assert_eq!(format!("{id:?}"), r#"Identity { set: ["birth_date", "sex", "kana_name"] }"#);
/// ```
#[derive(Clone, Copy, Default)]
pub struct Identity<'a> {
    values: [Option<&'a str>; Field::ALL.len()],
}

impl<'a> Identity<'a> {
    /// An identity with no field set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `field`.
    pub fn with(mut self, field: Field, value: &'a str) -> Self {
        self.values[field.index()] = Some(value);
        self
    }

    /// The raw value of `field`, if set.
    pub fn get(&self, field: Field) -> Option<&'a str> {
        self.values[field.index()]
    }

    /// Sets the 保険者番号.
    pub fn insurer_number(self, v: &'a str) -> Self {
        self.with(Field::InsurerNumber, v)
    }
    /// Sets the 記号.
    pub fn symbol(self, v: &'a str) -> Self {
        self.with(Field::Symbol, v)
    }
    /// Sets the 番号.
    pub fn number(self, v: &'a str) -> Self {
        self.with(Field::Number, v)
    }
    /// Sets the 枝番.
    pub fn branch(self, v: &'a str) -> Self {
        self.with(Field::Branch, v)
    }
    /// Sets the 生年月日.
    pub fn birth_date(self, v: &'a str) -> Self {
        self.with(Field::BirthDate, v)
    }
    /// Sets the 性別.
    pub fn sex(self, v: &'a str) -> Self {
        self.with(Field::Sex, v)
    }
    /// Sets the 氏名 as recorded.
    pub fn name(self, v: &'a str) -> Self {
        self.with(Field::Name, v)
    }
    /// Sets the カナ氏名.
    pub fn kana_name(self, v: &'a str) -> Self {
        self.with(Field::KanaName, v)
    }
    /// Sets the 介護 被保険者番号.
    pub fn care_insured_number(self, v: &'a str) -> Self {
        self.with(Field::CareInsuredNumber, v)
    }
    /// Sets the 介護 保険者番号.
    pub fn care_insurer_number(self, v: &'a str) -> Self {
        self.with(Field::CareInsurerNumber, v)
    }

    /// The normalised fields of `kind`, in message order; the first unusable field is the error.
    pub fn normalized(&self, kind: KeyKind) -> Result<Vec<String>> {
        kind.fields()
            .iter()
            .map(|&field| {
                let raw = self.get(field).ok_or(Error::MissingField { field })?;
                crate::normalize::normalize(field, raw)
            })
            .collect()
    }
}

impl fmt::Debug for Identity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<&str> = Field::ALL
            .into_iter()
            .filter(|field| self.get(*field).is_some())
            .map(Field::name)
            .collect();
        f.debug_struct("Identity").field("set", &set).finish()
    }
}

/// A link key: 32 bytes, with its kind and the key version that made it.
///
/// Its `Debug` shows the kind and version only: link keys stay out of logs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkKey {
    kind: KeyKind,
    version: u32,
    bytes: [u8; 32],
}

impl LinkKey {
    /// A link key read back from storage.
    pub fn from_parts(kind: KeyKind, version: u32, bytes: [u8; 32]) -> Self {
        LinkKey {
            kind,
            version,
            bytes,
        }
    }

    /// A link key read back from a stored slice, which must be 32 bytes.
    pub fn from_slice(kind: KeyKind, version: u32, bytes: &[u8]) -> Result<Self> {
        let bytes = bytes
            .try_into()
            .map_err(|_| Error::LinkKeyLength { found: bytes.len() })?;
        Ok(LinkKey {
            kind,
            version,
            bytes,
        })
    }

    /// The kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key version (1 for the first key of a store).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The 32 bytes, to store.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkKey")
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_labels_are_distinct() {
        for k in KeyKind::ALL {
            assert_eq!(k.name().parse::<KeyKind>().unwrap(), k);
            assert!(!k.label().contains(&SEPARATOR));
        }
        assert!(matches!("id3".parse::<KeyKind>(), Err(Error::UnknownKind)));
    }

    #[test]
    fn message_layout() {
        let mut buf = Vec::new();
        write_message(KeyKind::Id4, ["サトウ", "19800405", "1"], &mut buf);
        let mut want = b"id4\x1f".to_vec();
        want.extend_from_slice("サトウ".as_bytes());
        want.extend_from_slice(b"\x1f19800405\x1f1");
        assert_eq!(buf, want);
    }

    #[test]
    fn missing_and_bad_fields_are_named() {
        let id = Identity::new().kana_name("ｻﾄｳ").birth_date("19800405");
        assert!(matches!(
            id.normalized(KeyKind::Id4),
            Err(Error::MissingField { field: Field::Sex })
        ));
        let id = id.sex("9");
        assert!(matches!(
            id.normalized(KeyKind::Id4),
            Err(Error::InvalidField {
                field: Field::Sex,
                ..
            })
        ));
        let id = id.sex("1");
        assert_eq!(
            id.normalized(KeyKind::Id4).unwrap(),
            ["サトウ", "19800405", "1"]
        );
    }

    #[test]
    fn debug_hides_values() {
        let id = Identity::new().name("渡辺太郎");
        assert!(!format!("{id:?}").contains("渡辺"));
        let k = LinkKey::from_parts(KeyKind::Id1, 2, [0xAB; 32]);
        let s = format!("{k:?}");
        assert!(
            !s.to_lowercase().contains("ab") && !s.contains("171"),
            "{s}"
        );
    }
}
