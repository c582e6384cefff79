//! Per-project pseudonyms (pid) and their destruction (crypto-shredding).
//!
//! Each approved project gets its own random 32-byte key, created at approval and stored in its
//! own file (mode 0600). A person's pid in that project is
//!
//! ```text
//! pid = i64 of the first 8 bytes (big-endian) of HMAC-SHA256(K_project, "pid" ‖ 0x1F ‖ person_id)
//! ```
//!
//! with `person_id` as 8 big-endian bytes ([`ProjectKey::pid`]; textual ids use the label
//! `pid-str` instead, [`ProjectKey::pid_str`]). A pid is a signed 64-bit integer because that is
//! what SQL engines join and group fastest (`BIGINT`, Arrow `Int64`). Two different persons get
//! the same pid with probability about n²/2⁶⁵ for n persons in a project: 4 × 10⁻⁴ for the whole
//! population of Japan, so a project that materialises pids should check them for uniqueness
//! (a `COUNT(DISTINCT)`), which costs nothing next to building the view.
//!
//! The project key is random, never derived from the link keys or any master key: a derived key
//! could be derived again, and then destroying it would destroy nothing. [`ProjectKey::destroy`]
//! overwrites and removes the file and zeroizes the key in memory; after it, no pid of the
//! project can be recomputed, so results kept from a closed project cannot be joined back to
//! persons, and two projects' pids for one person differ and cannot be joined with each other.

use std::fmt;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt64Type};
use arrow_array::{Array, Int64Array};
use arrow_schema::DataType;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::hasher::HmacSha256;
use crate::keystore::{SecretKey, json_reason, timestamp};
use crate::kinds::SEPARATOR;
use crate::secure_file;

/// The `format` value of a project key file.
const FORMAT: &str = "niji-project-key-1";

/// A project's pseudonym key. `Debug` shows the project and the key's fingerprint only.
pub struct ProjectKey {
    project: String,
    created: DateTime<Utc>,
    key: SecretKey,
    hasher: HmacSha256,
    path: Option<PathBuf>,
}

impl ProjectKey {
    /// A new random key held in memory only (tests, or a caller that stores it elsewhere).
    pub fn generate(project: &str) -> Result<Self> {
        check_project_id(project)?;
        Ok(Self::from_key(
            project,
            SecretKey::generate()?,
            Utc::now(),
            None,
        ))
    }

    /// A new random key for `project`, written to a new file at `path` (mode 0600). Refuses to
    /// overwrite an existing file.
    pub fn create(path: impl Into<PathBuf>, project: &str) -> Result<Self> {
        let mut key = Self::generate(project)?;
        let path = path.into();
        secure_file::create_new(&path, key.render().as_bytes())?;
        key.path = Some(path);
        Ok(key)
    }

    /// Opens the key file of `project` at `path`. A destroyed key gives
    /// [`Error::KeyFileMissing`].
    pub fn open(path: impl Into<PathBuf>, project: &str) -> Result<Self> {
        let path = path.into();
        let bytes = secure_file::read(&path)?;
        let bad = |reason: String| Error::KeyFileFormat {
            path: path.clone(),
            reason,
        };
        let repr: Repr<'_> = serde_json::from_slice(&bytes).map_err(|e| bad(json_reason(&e)))?;
        if repr.format != FORMAT {
            return Err(bad(format!("format must be {FORMAT}")));
        }
        if repr.project != project {
            return Err(Error::ProjectMismatch { path });
        }
        let created = DateTime::parse_from_rfc3339(repr.created)
            .map_err(|_| bad("created is not an RFC 3339 time".into()))?
            .with_timezone(&Utc);
        let key =
            SecretKey::from_hex(repr.key).ok_or_else(|| bad("key is not 64 hex digits".into()))?;
        if key.fingerprint() != repr.fingerprint {
            return Err(bad("fingerprint does not match the key".into()));
        }
        Ok(Self::from_key(project, key, created, Some(path)))
    }

    /// The conventional place of a project's key file under the steward's folder:
    /// `<steward_dir>/projects/<project>.key.json`.
    pub fn path_in(steward_dir: &Path, project: &str) -> Result<PathBuf> {
        check_project_id(project)?;
        Ok(steward_dir
            .join("projects")
            .join(format!("{project}.key.json")))
    }

    fn from_key(
        project: &str,
        key: SecretKey,
        created: DateTime<Utc>,
        path: Option<PathBuf>,
    ) -> Self {
        let hasher = HmacSha256::new(key.expose());
        ProjectKey {
            project: project.to_owned(),
            created: created.trunc_subsecs(0),
            key,
            hasher,
            path,
        }
    }

    /// The project's id.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// When the key was created.
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }

    /// The key's fingerprint (16 hex digits).
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// The pid of a numeric person id.
    #[inline]
    pub fn pid(&self, person_id: u64) -> i64 {
        self.labelled(b"pid", person_id)
    }

    /// The engine-internal form of the project's person (`pid`) or unit (`unit_key`)
    /// pseudonyms: a keyed permutation of 64-bit ids whose four round keys are
    /// `HMAC(K_project, "perm-pid" | "perm-unit" ‖ 0x1F)`. See [`IdPermutation`].
    pub fn permutation(&self, domain: PermutationDomain) -> IdPermutation {
        let label: &[u8] = match domain {
            PermutationDomain::Person => b"perm-pid\x1f",
            PermutationDomain::Unit => b"perm-unit\x1f",
        };
        let mac = Zeroizing::new(self.hasher.mac(label));
        let mut k = [0u64; 4];
        for (i, chunk) in mac.chunks_exact(8).enumerate() {
            k[i] = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        }
        IdPermutation { k }
    }

    #[inline]
    fn labelled(&self, label: &[u8], id: u64) -> i64 {
        let mut msg = [0u8; 16];
        let n = label.len().min(7);
        msg[..n].copy_from_slice(&label[..n]);
        msg[n] = SEPARATOR;
        msg[n + 1..n + 9].copy_from_slice(&id.to_be_bytes());
        first_i64(&self.hasher.mac(&msg[..n + 9]))
    }

    /// The pid of a textual person id.
    pub fn pid_str(&self, person_id: &str) -> i64 {
        let mut msg = Vec::with_capacity(8 + person_id.len());
        msg.extend_from_slice(b"pid-str");
        msg.push(SEPARATOR);
        msg.extend_from_slice(person_id.as_bytes());
        first_i64(&self.hasher.mac(&msg))
    }

    /// The pids of a column of person ids (`Int64`, `UInt64` or `Utf8`); nulls stay null. An
    /// `Int64` id `i` gets the pid of the `UInt64` id `i as u64`.
    pub fn pid_array(&self, person_ids: &dyn Array) -> Result<Int64Array> {
        let out: Int64Array = match person_ids.data_type() {
            DataType::Int64 => person_ids
                .as_primitive::<Int64Type>()
                .unary(|v| self.pid(v as u64)),
            DataType::UInt64 => person_ids
                .as_primitive::<UInt64Type>()
                .unary(|v| self.pid(v)),
            DataType::Utf8 => person_ids
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(|s| self.pid_str(s)))
                .collect(),
            _ => {
                return Err(Error::ColumnType {
                    column: "person_id".into(),
                    expected: "Int64, UInt64 or Utf8",
                });
            }
        };
        Ok(out)
    }

    /// Destroys the key: overwrites and removes its file (if it has one) and zeroizes it in
    /// memory. Afterwards nothing can recompute this project's pids.
    pub fn destroy(self) -> Result<()> {
        if let Some(path) = &self.path {
            secure_file::shred(path)?;
        }
        // Dropping `self` zeroizes the key and the prepared hasher.
        Ok(())
    }

    fn render(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(256 + self.project.len()));
        s.push_str(&format!(
            "{{\n  \"format\": \"{FORMAT}\",\n  \"project\": \"{}\",\n  \"created\": \"{}\",\n  \"fingerprint\": \"{}\",\n  \"key\": \"",
            self.project,
            timestamp(&self.created),
            self.key.fingerprint()
        ));
        self.key.hex_into(&mut s);
        s.push_str("\"\n}\n");
        s
    }
}

impl fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProjectKey")
            .field("project", &self.project)
            .field("fingerprint", &self.key.fingerprint())
            .field("path", &self.path)
            .finish()
    }
}

/// Which ids an [`IdPermutation`] permutes: a domain apart for persons and units, so a unit
/// never gets a person's pseudonym.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermutationDomain {
    Person,
    Unit,
}

/// A keyed permutation of 64-bit ids (key whitening, then three xor-shift-multiply rounds with
/// round keys between them; every step is invertible, so two ids never share a pseudonym).
///
/// This is how the enclave computes `pid` and `unit_key` on every row: a few nanoseconds where
/// an HMAC takes ninety, which is most of what a query would otherwise spend on pseudonyms.
/// It is not a MAC and makes no claim against someone who sees many of its outputs: it is only
/// sound because the disclosure policy never lets a pseudonym value out of the engine (they
/// may be joined on and counted, nothing else). Anything that does leave a project (an extract)
/// uses [`ProjectKey::pid`]. The round keys come from the project key, so they differ between
/// projects and die with the key.
#[derive(Clone, PartialEq, Eq)]
pub struct IdPermutation {
    k: [u64; 4],
}

impl IdPermutation {
    /// The pseudonym of `id`.
    #[inline]
    pub fn apply(&self, id: u64) -> u64 {
        let mut x = id ^ self.k[0];
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = x.wrapping_add(self.k[1]);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= self.k[2];
        x = (x ^ (x >> 31)).wrapping_mul(0xd6e8_feb8_6659_fd93);
        (x ^ (x >> 32)).wrapping_add(self.k[3])
    }

    /// The pseudonyms of a column of `Int64` ids; nulls stay null.
    pub fn apply_array(&self, ids: &Int64Array) -> Int64Array {
        ids.unary(|v| self.apply(v as u64) as i64)
    }
}

impl Drop for IdPermutation {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.k);
    }
}

impl fmt::Debug for IdPermutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdPermutation(..)")
    }
}

fn first_i64(mac: &[u8; 32]) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&mac[..8]);
    i64::from_be_bytes(b)
}

/// Project ids name files, so they are kept to `[A-Za-z0-9._-]{1,64}`, not starting with a dot.
fn check_project_id(project: &str) -> Result<()> {
    let ok = !project.is_empty()
        && project.len() <= 64
        && !project.starts_with('.')
        && project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            what: "a project id is 1 to 64 letters, digits, '.', '_' or '-'",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr<'a> {
    #[serde(borrow)]
    format: &'a str,
    #[serde(borrow)]
    project: &'a str,
    #[serde(borrow)]
    created: &'a str,
    #[serde(borrow)]
    fingerprint: &'a str,
    #[serde(borrow)]
    key: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{StringArray, UInt64Array};

    #[test]
    fn permutations_are_keyed_by_project_and_domain_and_never_collide() {
        let a = ProjectKey::from_key("p1", SecretKey::from_bytes([3; 32]), Utc::now(), None);
        let b = ProjectKey::from_key("p2", SecretKey::from_bytes([4; 32]), Utc::now(), None);
        let (pa, ua) = (
            a.permutation(PermutationDomain::Person),
            a.permutation(PermutationDomain::Unit),
        );
        let pb = b.permutation(PermutationDomain::Person);
        assert_eq!(pa, a.permutation(PermutationDomain::Person));
        let mut seen = std::collections::HashSet::new();
        for id in (0..200_000u64).chain([u64::MAX, u64::MAX - 1, 1 << 63]) {
            assert!(seen.insert(pa.apply(id)), "collision at {id}");
            assert_ne!(pa.apply(id), ua.apply(id));
            assert_ne!(pa.apply(id), pb.apply(id));
        }
        // Consecutive ids land far apart: about half the bits differ.
        let flips: u32 = (0..1000u64)
            .map(|id| (pa.apply(id) ^ pa.apply(id + 1)).count_ones())
            .sum();
        assert!((28_000..36_000).contains(&flips), "{flips}");
        let ids = Int64Array::from(vec![Some(5), None]);
        let out = pa.apply_array(&ids);
        assert_eq!(out.value(0), pa.apply(5) as i64);
        assert!(out.is_null(1));
        assert_eq!(format!("{pa:?}"), "IdPermutation(..)");
    }

    #[test]
    fn pid_is_the_documented_hmac() {
        let key = ProjectKey::from_key("p1", SecretKey::from_bytes([3; 32]), Utc::now(), None);
        let mut msg = b"pid\x1f".to_vec();
        msg.extend_from_slice(&42u64.to_be_bytes());
        let mac = HmacSha256::new(&[3; 32]).mac(&msg);
        assert_eq!(
            key.pid(42),
            i64::from_be_bytes(mac[..8].try_into().unwrap())
        );
        assert_ne!(key.pid(42), key.pid(43));
        assert_ne!(key.pid_str("42"), key.pid(42));
    }

    #[test]
    fn arrays() {
        let key = ProjectKey::generate("p1").unwrap();
        let ids = Int64Array::from(vec![Some(1), None, Some(7)]);
        let pids = key.pid_array(&ids).unwrap();
        assert_eq!(pids.value(0), key.pid(1));
        assert!(pids.is_null(1));
        assert_eq!(pids.value(2), key.pid(7));
        assert_eq!(
            key.pid_array(&UInt64Array::from(vec![7u64]))
                .unwrap()
                .value(0),
            key.pid(7)
        );
        assert_eq!(
            key.pid_array(&StringArray::from(vec!["x"]))
                .unwrap()
                .value(0),
            key.pid_str("x")
        );
        assert!(
            key.pid_array(&arrow_array::Int32Array::from(vec![1]))
                .is_err()
        );
    }

    #[test]
    fn project_ids_are_checked() {
        for bad in ["", "../x", ".hidden", "a/b", "名前", &"x".repeat(65)] {
            assert!(ProjectKey::generate(bad).is_err(), "{bad}");
        }
        assert!(ProjectKey::generate("P-2025_001.v2").is_ok());
    }

    #[test]
    fn open_checks_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let path = ProjectKey::path_in(dir.path(), "p1").unwrap();
        let key = ProjectKey::create(&path, "p1").unwrap();
        assert!(matches!(
            ProjectKey::open(&path, "p2"),
            Err(Error::ProjectMismatch { .. })
        ));
        let back = ProjectKey::open(&path, "p1").unwrap();
        assert_eq!(back.pid(5), key.pid(5));
        assert_eq!(back.created(), key.created());
        assert!(!format!("{key:?}").contains(&crate::hex::encode(key.key.expose())));
    }
}
