//! Pseudonymization: the one place where identifiers become keys.
//!
//! - [`normalize`]: the versioned rule set ([`RULESET_VERSION`]) that makes two records of one
//!   person give the same bytes (NFKC, kana, spaces, kanji variants, wareki dates, 保険者番号
//!   check digits …).
//! - [`KeyKind`]: the link-key kinds `id1`, `id2`, `id4`, `id5` and `care`, each
//!   `HMAC-SHA256(K_v, label ‖ 0x1F ‖ field ‖ 0x1F ‖ …)` over its normalised fields
//!   ([`kinds`]).
//! - [`LinkKeyer`]: makes link keys one at a time ([`LinkKeyer::key`]) or by Arrow batch
//!   ([`LinkKeyer::key_batch`], `FixedSizeBinary(32)` out), and re-keys old link keys after a
//!   rotation without the raw identifiers ([`LinkKeyer::upgrade`], [`keyer`] has the chain).
//! - [`HmacSha256`]: HMAC-SHA256 with precomputed keyed midstates: two SHA-256 block
//!   compressions for a message of up to 55 bytes.
//! - [`KeyStore`]: where keys come from; [`LocalKeyFile`] (mode 0600, zeroized in memory,
//!   never printed) and [`MemoryKeyStore`].
//! - [`ProjectKey`]: per-project pseudonyms `pid` and crypto-shredding.
//! - [`anonymize`]: generalisation for anonymized extracts and the k-anonymity check.
//!
//! No error message, `Debug` output or log line of this crate carries an identifier, a link key
//! or key material.
//!
//! ```
//! use niji_pseudonymize::{Identity, KeyKind, LinkKeyer, MemoryKeyStore};
//!
//! let mut store = MemoryKeyStore::generate()?;
//! let v1 = LinkKeyer::new(&store)?;
//! // A claim (half-width kana, wareki date) and a checkup (hiragana, Western date) of one person.
//! let claim = Identity::new().kana_name("ｽｽﾞｷ ｲﾁﾛｳ").birth_date("3550405").sex("1");
//! let checkup = Identity::new().kana_name("すずき　いちろう").birth_date("19800405").sex("1");
//! let old = v1.key(KeyKind::Id4, &claim)?;
//! assert_eq!(old, v1.key(KeyKind::Id4, &checkup)?);
//!
//! // After a rotation, old link keys are brought forward and still match new ones.
//! store.rotate()?;
//! let v2 = LinkKeyer::new(&store)?;
//! assert_eq!(v2.upgrade(&old)?, v2.key(KeyKind::Id4, &checkup)?);
//! # Ok::<(), niji_pseudonymize::Error>(())
//! ```

pub mod anonymize;
mod batch;
mod dates;
pub mod error;
pub mod field;
mod hasher;
mod hex;
pub mod keyer;
pub mod keystore;
pub mod kinds;
pub mod normalize;
pub mod project;
mod secure_file;
mod variants;

pub use batch::{KeyBatch, RowError};
pub use error::{Error, Result};
pub use field::Field;
pub use hasher::HmacSha256;
pub use keyer::LinkKeyer;
pub use keystore::{KeyStore, KeyVersion, LocalKeyFile, MemoryKeyStore, SecretKey};
pub use kinds::{Identity, KeyKind, LinkKey};
pub use normalize::RULESET_VERSION;
pub use project::{IdPermutation, PermutationDomain, ProjectKey};
