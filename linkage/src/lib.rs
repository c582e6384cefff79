//! Linkage: one stable `person_id` across the NDB, the care-DB and the EHR-DB, built from the
//! link keys of the staged sources (see DOMAIN.md, "Identifiers and linkage").
//!
//! Records (one per receipt, checkup, care claim or EHR bundle) are interned into a compact
//! [`RecordSet`]: keys become `u32` ids and records with the same identity collapse into one
//! signature. [`link`] then runs two stages:
//!
//! 1. **Deterministic**: records sharing a key are united, strongest kind first (id5 and the
//!    care key, then id1, then id4 and id2), unless a [`Guard`] says the clusters are two
//!    persons: conflicting sex or birth date, different id5 values in the same month or under
//!    the same card (twins), different insurers in the same month (common names).
//! 2. **Probabilistic**: Fellegi–Sunter over candidate pairs the first stage left apart
//!    (blocked keys, exact birth date + sex, birth year-month + sex + facility), with m and u
//!    estimated by EM; accepted pairs merge by decreasing weight, still under the hard guards.
//!    Then the rules of `neighbours` take what no key can link, each only when one cluster
//!    fits: a record with a typo-like birth date at the same insurer and facility, and care
//!    claims without the medical number by birth date, sex and the insuring municipality.
//!
//! Every record keeps the rule that linked it and, for scores, the match weight. [`evaluate()`]
//! scores a linkage against the synthetic truth.
//!
//! ```
//! use niji_core::Source;
//! use niji_linkage::{LinkOptions, RecordIn, RecordSet, link};
//!
//! let (card, name) = ([1u8; 32], [2u8; 32]);
//! let mut set = RecordSet::new();
//! for (id, keys) in [
//!     ("r1", [Some(&card), Some(&name), None, None, None]),
//!     ("r2", [None, Some(&name), None, None, None]),
//! ] {
//!     set.push(&RecordIn {
//!         record_id: id,
//!         source: Source::NdbMed,
//!         month: 2024 * 12,
//!         facility: None,
//!         sex: 1,
//!         birth: Some(3650),
//!         insurer: None,
//!         keys,
//!         file: "f",
//!         line: 1,
//!     })?;
//! }
//! let linkage = link(&set, &LinkOptions::default());
//! assert_eq!(linkage.clusters, 1);
//! # Ok::<(), niji_linkage::Error>(())
//! ```

mod birth;
mod cluster;
mod deterministic;
mod error;
pub mod evaluate;
pub mod lake;
mod link;
mod neighbours;
mod probabilistic;
mod record;
pub mod registry;
pub mod staging;

pub use cluster::Guard;
pub use deterministic::{DeterministicStats, Rule};
pub use error::{Error, Result};
pub use evaluate::{Quality, Truth, evaluate};
pub use link::{LinkOptions, Linkage, StageSeconds, link};
pub use probabilistic::{FIELDS, ScoreOptions, ScoreStats};
pub use record::{KEY_KINDS, RecordIn, RecordMap, RecordSet};
