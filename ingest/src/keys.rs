//! Pseudonymization on the way in: a unit's raw identifiers become link keys and normalised
//! attributes (sex, birth date, insurer number); the raw values go no further.

use chrono::NaiveDate;
use niji_pseudonymize::{Field, Identity, KeyKind, LinkKeyer, normalize};

use crate::model::{Issue, Severity};
use crate::unit::Unit;

/// The kinds made for every unit, in the column order of the unit tables.
pub const KINDS: [KeyKind; 5] = [
    KeyKind::Id1,
    KeyKind::Id2,
    KeyKind::Id4,
    KeyKind::Id5,
    KeyKind::Care,
];

/// What the staging tables keep of a unit's identity.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyed {
    pub sex: Option<String>,
    pub birth: Option<NaiveDate>,
    /// 保険者番号 of the unit's insurer (the municipality for a care claim), zero-padded to 8
    /// (it names the insurer, not the person).
    pub insurer: Option<String>,
    /// Link keys in the order of [`KINDS`]; `None` where the unit lacks the fields.
    pub keys: [Option<[u8; 32]>; 5],
    pub version: u32,
    /// Warnings for fields present but unusable (the key of that kind is left out).
    pub issues: Vec<Issue>,
}

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let made: Vec<&str> = KINDS
            .iter()
            .zip(&self.keys)
            .filter(|(_, k)| k.is_some())
            .map(|(k, _)| k.name())
            .collect();
        f.debug_struct("Keyed")
            .field("keys", &made)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Makes the link keys of `unit` with `keyer`.
pub fn key_unit(keyer: &LinkKeyer, unit: &Unit) -> Keyed {
    let r = &unit.identity;
    let mut id = Identity::new();
    for (field, v) in [
        (Field::Name, &r.name),
        (Field::KanaName, &r.kana),
        (Field::Sex, &r.sex),
        (Field::BirthDate, &r.birth),
        (Field::InsurerNumber, &r.insurer),
        (Field::Number, &r.number),
        (Field::Branch, &r.branch),
        (Field::CareInsuredNumber, &r.care_number),
        (Field::CareInsurerNumber, &r.care_insurer),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            id = id.with(field, v);
        }
    }
    // 後期高齢者 cards have no 記号: an insured number without one has an empty 記号.
    let empty = String::new();
    if r.insurer.is_some() && r.number.is_some() {
        id = id.symbol(r.symbol.as_deref().unwrap_or(&empty));
    }
    let mut issues = Vec::new();
    let mut keys = [None; 5];
    for (slot, kind) in keys.iter_mut().zip(KINDS) {
        // Only kinds whose fields are all present: the others simply do not apply.
        if kind.fields().iter().any(|f| id.get(*f).is_none()) {
            continue;
        }
        match keyer.key(kind, &id) {
            Ok(k) => *slot = Some(*k.bytes()),
            Err(e) => {
                let msg = format!("{} key not made: {e}", kind.name());
                if !issues.iter().any(|i: &Issue| i.message == msg) {
                    issues.push(Issue {
                        severity: Severity::Warning,
                        code: "PSEUDO_UNUSABLE_FIELD",
                        record: "identity".into(),
                        field: None,
                        line: unit.line,
                        message: msg,
                    });
                }
            }
        }
    }
    Keyed {
        sex: r
            .sex
            .as_deref()
            .and_then(|s| normalize::normalize(Field::Sex, s).ok()),
        birth: r
            .birth
            .as_deref()
            .and_then(|s| normalize::parse_birth_date(s).ok()),
        // A care claim's own insurer is the municipality; the medical insurer on it only feeds
        // id5 (it is the person's oldest, with no time meaning).
        insurer: r
            .care_insurer
            .as_deref()
            .or(r.insurer.as_deref())
            .and_then(|s| normalize::normalize(Field::InsurerNumber, s).ok()),
        keys,
        version: keyer.version(),
        issues,
    }
}
