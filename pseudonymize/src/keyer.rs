//! Making link keys from identities, and re-keying them on rotation.
//!
//! # Versions and the re-keying chain
//! A link key of version 1 is `L₁ = HMAC(K₁, message)` (see [`crate::kinds`]). Rotation adds a
//! key `K_{v+1}` and brings every stored link key of version `v` forward *without the raw
//! identifiers*:
//!
//! ```text
//! rekey(L_v, kind) = HMAC(K_{v+1}, "rekey" ‖ 0x1F ‖ kind ‖ 0x1F ‖ L_v)        (32 bytes)
//! ```
//!
//! A link key made from raw identifiers at version `v` is defined as the same chain,
//! `L_v = rekey_v(… rekey_2(HMAC(K₁, message)))`, so a record hashed after the rotation matches
//! a record hashed before it and re-keyed. What rotation buys: a table of link keys of an old
//! version that leaks is useless against the new version without `K_{v+1}`, and a stolen old key
//! no longer reproduces the current keys. What it does not: every `K₁ … K_v` stays needed to key
//! new records, so old keys are kept in the store (retire a compromised store by re-keying from
//! the raw identifiers under a new store). The `rekey` label cannot collide with a kind's label,
//! and the kind inside the message keeps the kinds apart across versions too.

use crate::error::{Error, Result};
use crate::hasher::HmacSha256;
use crate::keystore::KeyStore;
use crate::kinds::{self, Identity, KeyKind, LinkKey, SEPARATOR};

/// The label of re-keying messages.
pub const REKEY_LABEL: &[u8] = b"rekey";

/// Makes link keys of one version: holds the prepared keys of versions `1..=version`.
///
/// ```
/// use niji_pseudonymize::{Identity, KeyKind, LinkKeyer, MemoryKeyStore, SecretKey};
/// let store = MemoryKeyStore::from_keys([SecretKey::from_bytes([9; 32])]);
/// let keyer = LinkKeyer::new(&store).unwrap();
/// let a = Identity::new().kana_name("ｻﾄｳ ﾀﾛｳ").birth_date("3550405").sex("1");
/// let b = Identity::new().kana_name("さとう　たろう").birth_date("1980-04-05").sex("男");
/// assert_eq!(keyer.key(KeyKind::Id4, &a).unwrap(), keyer.key(KeyKind::Id4, &b).unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct LinkKeyer {
    /// `chain[i]` is the prepared key of version `i + 1`.
    chain: Vec<HmacSha256>,
}

impl LinkKeyer {
    /// A keyer at the store's current version.
    pub fn new(store: &dyn KeyStore) -> Result<Self> {
        Self::at_version(store, store.current_version()?)
    }

    /// A keyer at `version`.
    pub fn at_version(store: &dyn KeyStore, version: u32) -> Result<Self> {
        if version == 0 {
            return Err(Error::UnknownKeyVersion { version });
        }
        let chain = (1..=version)
            .map(|v| store.key(v).map(|k| HmacSha256::new(k.expose())))
            .collect::<Result<_>>()?;
        Ok(LinkKeyer { chain })
    }

    /// The version of the keys this keyer makes.
    pub fn version(&self) -> u32 {
        self.chain.len() as u32
    }

    /// Normalises the fields `kind` needs from `identity` and makes the link key. The error
    /// names the first missing or unusable field.
    pub fn key(&self, kind: KeyKind, identity: &Identity<'_>) -> Result<LinkKey> {
        let fields = identity.normalized(kind)?;
        self.key_normalized(kind, &fields)
    }

    /// Makes the link key of fields already normalised (in [`KeyKind::fields`] order).
    pub fn key_normalized<S: AsRef<str>>(&self, kind: KeyKind, fields: &[S]) -> Result<LinkKey> {
        let expected = kind.fields().len();
        if fields.len() != expected {
            return Err(Error::ColumnCount {
                kind: kind.name(),
                expected,
                found: fields.len(),
            });
        }
        let mut buf = Vec::with_capacity(64);
        kinds::write_message(kind, fields.iter().map(AsRef::as_ref), &mut buf);
        Ok(LinkKey::from_parts(
            kind,
            self.version(),
            self.hash_message(kind, &buf),
        ))
    }

    /// The link key of a message at this keyer's version: the version-1 MAC, then the chain.
    #[inline]
    pub(crate) fn hash_message(&self, kind: KeyKind, message: &[u8]) -> [u8; 32] {
        let mut key = self.chain[0].mac(message);
        for next in &self.chain[1..] {
            key = rekey_with(next, kind, &key);
        }
        key
    }

    /// One step of the chain: the version `from_version + 1` link key of a version
    /// `from_version` link key `old` of `kind`.
    pub fn rekey(&self, kind: KeyKind, old: &[u8; 32], from_version: u32) -> Result<[u8; 32]> {
        let next = self
            .chain
            .get(from_version as usize)
            .filter(|_| from_version > 0)
            .ok_or(Error::UnknownKeyVersion {
                version: from_version.saturating_add(1),
            })?;
        Ok(rekey_with(next, kind, old))
    }

    /// Brings `key` (of this version or older) to this keyer's version.
    pub fn upgrade(&self, key: &LinkKey) -> Result<LinkKey> {
        let (from, to) = (key.version(), self.version());
        if from > to {
            return Err(Error::Downgrade { from, to });
        }
        if from == 0 {
            return Err(Error::UnknownKeyVersion { version: 0 });
        }
        let mut bytes = *key.bytes();
        for next in &self.chain[from as usize..] {
            bytes = rekey_with(next, key.kind(), &bytes);
        }
        Ok(LinkKey::from_parts(key.kind(), to, bytes))
    }

    /// The prepared key of `version`, for callers that re-key in bulk.
    pub(crate) fn prepared(&self, version: u32) -> Option<&HmacSha256> {
        version
            .checked_sub(1)
            .and_then(|i| self.chain.get(i as usize))
    }
}

/// `HMAC(K_next, "rekey" ‖ 0x1F ‖ kind ‖ 0x1F ‖ old)`.
#[inline]
pub(crate) fn rekey_with(next: &HmacSha256, kind: KeyKind, old: &[u8; 32]) -> [u8; 32] {
    // 5 + 1 + 4 + 1 + 32 = 43 bytes at most: one block.
    let mut msg = [0u8; 48];
    let mut n = 0;
    for part in [REKEY_LABEL, &[SEPARATOR], kind.label(), &[SEPARATOR], old] {
        msg[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    next.mac(&msg[..n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::{MemoryKeyStore, SecretKey};

    fn store(n: u8) -> MemoryKeyStore {
        MemoryKeyStore::from_keys((1..=n).map(|i| SecretKey::from_bytes([i; 32])))
    }

    fn id() -> Identity<'static> {
        Identity::new()
            .insurer_number("06130488")
            .symbol("19D")
            .number("187")
            .branch("01")
            .birth_date("19800405")
            .sex("1")
    }

    #[test]
    fn version_one_is_the_plain_hmac_of_the_documented_message() {
        let keyer = LinkKeyer::new(&store(1)).unwrap();
        let key = keyer.key(KeyKind::Id5, &id()).unwrap();
        let want = HmacSha256::new(&[1; 32]).mac(b"id5\x1f06130488\x1f19D\x1f187\x1f01");
        assert_eq!(key.bytes(), &want);
        assert_eq!(key.version(), 1);
    }

    #[test]
    fn raw_at_v3_equals_v1_rekeyed_twice() {
        let s = store(3);
        let v1 = LinkKeyer::at_version(&s, 1).unwrap();
        let v3 = LinkKeyer::new(&s).unwrap();
        let old = v1.key(KeyKind::Id1, &id()).unwrap();
        let step2 = v3.rekey(KeyKind::Id1, old.bytes(), 1).unwrap();
        let step3 = v3.rekey(KeyKind::Id1, &step2, 2).unwrap();
        let fresh = v3.key(KeyKind::Id1, &id()).unwrap();
        assert_eq!(fresh.bytes(), &step3);
        assert_eq!(v3.upgrade(&old).unwrap(), fresh);
        assert_ne!(old.bytes(), fresh.bytes());
        assert!(matches!(
            v3.rekey(KeyKind::Id1, &step3, 3),
            Err(Error::UnknownKeyVersion { version: 4 })
        ));
        assert!(matches!(
            v1.upgrade(&fresh),
            Err(Error::Downgrade { from: 3, to: 1 })
        ));
    }

    #[test]
    fn wrong_field_counts_are_refused() {
        let keyer = LinkKeyer::new(&store(1)).unwrap();
        let err = keyer.key_normalized(KeyKind::Id4, &["サトウ"]).unwrap_err();
        assert!(matches!(
            err,
            Error::ColumnCount {
                expected: 3,
                found: 1,
                ..
            }
        ));
    }
}
