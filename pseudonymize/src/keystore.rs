//! Link-key secrets: the [`KeyStore`] trait, the local key file, and rotation.
//!
//! A store holds versions 1, 2, … of a 32-byte secret `K_v`. Link keys are made and re-keyed by
//! [`crate::LinkKeyer`]; see its documentation for the chain that keeps links across rotations.
//!
//! # The local key file
//! [`LocalKeyFile`] keeps every version in one JSON file (by default
//! `<data_dir>/steward/keys.json`):
//!
//! ```json
//! {
//!   "format": "niji-keys-1",
//!   "keys": [
//!     {"version": 1, "created": "2025-04-01T09:00:00Z", "fingerprint": "…16 hex…", "key": "…64 hex…"}
//!   ]
//! }
//! ```
//!
//! It is created with mode 0600 in a folder created 0700, never overwritten by `create`, replaced
//! atomically by `rotate`, and refused when others may read it. Keys come from the operating
//! system's random generator, live in memory in zeroizing buffers, and are never printed: every
//! `Debug` here shows fingerprints only. A fingerprint is the first 8 bytes, in hex, of
//! `SHA-256("niji-fingerprint" ‖ K)`: enough to tell keys apart, useless to recover one.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::Deserialize;
use sha2::Digest as _;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::{hex, secure_file};

/// The `format` value of a link-key file.
const FORMAT: &str = "niji-keys-1";

/// A 32-byte secret key, zeroized on drop. `Debug` prints its fingerprint only.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; 32]>);

impl SecretKey {
    /// A new key from the operating system's random generator.
    pub fn generate() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).map_err(Error::Random)?;
        Ok(SecretKey(key))
    }

    /// A key from known bytes (tests, or a key handed over by a KMS).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SecretKey(Zeroizing::new(bytes))
    }

    /// Reads 64 hex digits; `None` on anything else. The text is not kept.
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_into(text, key.as_mut()).then_some(SecretKey(key))
    }

    /// Appends the key's hex to `out` (for writing a key file held in a zeroizing buffer).
    pub(crate) fn hex_into(&self, out: &mut String) {
        hex::encode_into(self.0.as_ref(), out);
    }

    /// The key's bytes. Only hashing code should call this.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key's fingerprint: 16 hex digits.
    pub fn fingerprint(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"niji-fingerprint");
        h.update(self.0.as_ref());
        hex::encode(&h.finalize()[..8])
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// What a store tells about one key version, without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// The version, from 1.
    pub version: u32,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Its fingerprint (16 hex digits).
    pub fingerprint: String,
}

/// Where link-key secrets come from: a local file, a KMS, or memory in tests.
pub trait KeyStore: fmt::Debug + Send + Sync {
    /// The newest version, used for new link keys.
    fn current_version(&self) -> Result<u32>;
    /// The key of `version`.
    fn key(&self, version: u32) -> Result<SecretKey>;
    /// Every version, oldest first, with creation times and fingerprints.
    fn versions(&self) -> Result<Vec<KeyVersion>>;
}

#[derive(Debug, Clone)]
struct Entry {
    created: DateTime<Utc>,
    key: SecretKey,
}

/// Versions `1..=n` of a key in memory.
#[derive(Debug, Clone, Default)]
struct Versions(Vec<Entry>);

impl Versions {
    fn current(&self) -> Result<u32> {
        u32::try_from(self.0.len())
            .ok()
            .filter(|v| *v > 0)
            .ok_or(Error::NoKeys)
    }

    fn key(&self, version: u32) -> Result<SecretKey> {
        let i = (version as usize)
            .checked_sub(1)
            .ok_or(Error::UnknownKeyVersion { version })?;
        self.0
            .get(i)
            .map(|e| e.key.clone())
            .ok_or(Error::UnknownKeyVersion { version })
    }

    fn list(&self) -> Vec<KeyVersion> {
        self.0
            .iter()
            .zip(1..)
            .map(|(e, version)| info(version, e))
            .collect()
    }

    /// Adds the next version. Times are kept to the second, as the file writes them.
    fn push(&mut self, key: SecretKey, created: DateTime<Utc>) -> KeyVersion {
        self.0.push(Entry {
            created: created.trunc_subsecs(0),
            key,
        });
        let version = self.0.len() as u32;
        info(version, &self.0[self.0.len() - 1])
    }
}

fn info(version: u32, e: &Entry) -> KeyVersion {
    KeyVersion {
        version,
        created: e.created,
        fingerprint: e.key.fingerprint(),
    }
}

/// A key store in memory, for tests and for callers that hold keys from elsewhere.
#[derive(Debug, Clone, Default)]
pub struct MemoryKeyStore {
    versions: Versions,
}

impl MemoryKeyStore {
    /// A store with the given keys as versions 1, 2, …, created now.
    pub fn from_keys(keys: impl IntoIterator<Item = SecretKey>) -> Self {
        let mut store = MemoryKeyStore::default();
        for key in keys {
            store.versions.push(key, Utc::now());
        }
        store
    }

    /// A store with one random key.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_keys([SecretKey::generate()?]))
    }

    /// Adds a random key as the next version.
    pub fn rotate(&mut self) -> Result<KeyVersion> {
        Ok(self.versions.push(SecretKey::generate()?, Utc::now()))
    }
}

impl KeyStore for MemoryKeyStore {
    fn current_version(&self) -> Result<u32> {
        self.versions.current()
    }
    fn key(&self, version: u32) -> Result<SecretKey> {
        self.versions.key(version)
    }
    fn versions(&self) -> Result<Vec<KeyVersion>> {
        Ok(self.versions.list())
    }
}

/// The link-key file of a data steward (see the module documentation).
#[derive(Debug)]
pub struct LocalKeyFile {
    path: PathBuf,
    versions: Versions,
}

impl LocalKeyFile {
    /// Creates the file at `path` with one new random key (version 1). Refuses to overwrite a
    /// file that is already there.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        Self::create_at(path, Utc::now())
    }

    /// As [`LocalKeyFile::create`], with the creation time given.
    pub fn create_at(path: impl Into<PathBuf>, now: DateTime<Utc>) -> Result<Self> {
        let path = path.into();
        let mut versions = Versions::default();
        versions.push(SecretKey::generate()?, now);
        let file = LocalKeyFile { path, versions };
        secure_file::create_new(&file.path, file.render().as_bytes())?;
        Ok(file)
    }

    /// Opens an existing key file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let bytes = secure_file::read(&path)?;
        let versions = parse(&path, &bytes)?;
        Ok(LocalKeyFile { path, versions })
    }

    /// Adds a new random key as the next version and rewrites the file atomically.
    pub fn rotate(&mut self) -> Result<KeyVersion> {
        self.rotate_at(Utc::now())
    }

    /// As [`LocalKeyFile::rotate`], with the creation time given.
    pub fn rotate_at(&mut self, now: DateTime<Utc>) -> Result<KeyVersion> {
        let mut next = self.versions.clone();
        let added = next.push(SecretKey::generate()?, now);
        let text = render(&next);
        secure_file::replace(&self.path, text.as_bytes())?;
        self.versions = next;
        Ok(added)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn render(&self) -> Zeroizing<String> {
        render(&self.versions)
    }
}

impl KeyStore for LocalKeyFile {
    fn current_version(&self) -> Result<u32> {
        self.versions.current()
    }
    fn key(&self, version: u32) -> Result<SecretKey> {
        self.versions.key(version)
    }
    fn versions(&self) -> Result<Vec<KeyVersion>> {
        Ok(self.versions.list())
    }
}

pub(crate) fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The file's text, built in one zeroizing buffer sized up front so that it never reallocates
/// (a reallocation would leave a copy of the keys in freed memory).
fn render(versions: &Versions) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(64 + 200 * versions.0.len()));
    s.push_str("{\n  \"format\": \"");
    s.push_str(FORMAT);
    s.push_str("\",\n  \"keys\": [\n");
    for (i, (e, version)) in versions.0.iter().zip(1u32..).enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        s.push_str(&format!(
            "    {{\"version\": {version}, \"created\": \"{}\", \"fingerprint\": \"{}\", \"key\": \"",
            timestamp(&e.created),
            e.key.fingerprint()
        ));
        e.key.hex_into(&mut s);
        s.push_str("\"}");
    }
    s.push_str("\n  ]\n}\n");
    s
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr<'a> {
    #[serde(borrow)]
    format: &'a str,
    #[serde(borrow)]
    keys: Vec<EntryRepr<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryRepr<'a> {
    version: u32,
    #[serde(borrow)]
    created: &'a str,
    #[serde(borrow)]
    fingerprint: &'a str,
    #[serde(borrow)]
    key: &'a str,
}

/// A safe description of a JSON error: its category and position, never the text it quotes.
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "unexpected field or value",
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Versions> {
    let bad = |reason: String| Error::KeyFileFormat {
        path: path.to_owned(),
        reason,
    };
    let repr: FileRepr<'_> = serde_json::from_slice(bytes).map_err(|e| bad(json_reason(&e)))?;
    if repr.format != FORMAT {
        return Err(bad(format!("format must be {FORMAT}")));
    }
    if repr.keys.is_empty() {
        return Err(bad("no keys".into()));
    }
    let mut versions = Versions::default();
    for (e, want) in repr.keys.iter().zip(1u32..) {
        if e.version != want {
            return Err(bad(format!(
                "versions must run 1, 2, … in order (found {} at {want})",
                e.version
            )));
        }
        let created = DateTime::parse_from_rfc3339(e.created)
            .map_err(|_| bad(format!("created of version {want} is not an RFC 3339 time")))?
            .with_timezone(&Utc);
        let key = SecretKey::from_hex(e.key)
            .ok_or_else(|| bad(format!("key of version {want} is not 64 hex digits")))?;
        if key.fingerprint() != e.fingerprint {
            return Err(bad(format!(
                "fingerprint of version {want} does not match its key"
            )));
        }
        versions.push(key, created);
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn fingerprint_is_the_documented_hash() {
        let key = SecretKey::from_bytes([7; 32]);
        let mut h = sha2::Sha256::new();
        h.update(b"niji-fingerprint");
        h.update([7u8; 32]);
        let want = hex::encode(&h.finalize()[..8]);
        assert_eq!(key.fingerprint(), want);
        assert_eq!(want.len(), 16);
        assert_eq!(
            format!("{key:?}"),
            format!("SecretKey {{ fingerprint: \"{want}\" }}")
        );
    }

    #[test]
    fn create_open_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward/keys.json");
        let mut file = LocalKeyFile::create_at(&path, t("2025-04-01T09:00:00Z")).unwrap();
        let k1 = file.key(1).unwrap();
        assert!(matches!(
            LocalKeyFile::create(&path),
            Err(Error::KeyFileExists { .. })
        ));
        let added = file.rotate_at(t("2025-10-01T09:00:00Z")).unwrap();
        assert_eq!(added.version, 2);
        let back = LocalKeyFile::open(&path).unwrap();
        assert_eq!(back.current_version().unwrap(), 2);
        assert_eq!(back.key(1).unwrap().expose(), k1.expose());
        assert_ne!(back.key(2).unwrap().expose(), k1.expose());
        assert_eq!(back.versions().unwrap(), file.versions().unwrap());
        assert_eq!(
            back.versions().unwrap()[0].created,
            t("2025-04-01T09:00:00Z")
        );
        assert!(matches!(
            back.key(3),
            Err(Error::UnknownKeyVersion { version: 3 })
        ));
        assert!(matches!(
            back.key(0),
            Err(Error::UnknownKeyVersion { version: 0 })
        ));
    }

    #[test]
    fn debug_never_shows_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let file = LocalKeyFile::create(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut key_hex = String::new();
        file.key(1).unwrap().hex_into(&mut key_hex);
        assert!(text.contains(&key_hex));
        let debug = format!("{file:?}");
        assert!(!debug.contains(&key_hex), "{debug}");
        assert!(debug.contains(&file.key(1).unwrap().fingerprint()));
    }

    #[test]
    fn malformed_files_are_refused_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let secretish = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let cases = [
            format!("{{\"format\": \"{FORMAT}\", \"keys\": [{{\"version\": \"{secretish}\"}}]}}"),
            format!("{{\"format\": \"{FORMAT}\", \"keys\": []}}"),
            format!(
                "{{\"format\": \"{FORMAT}\", \"keys\": [{{\"version\": 1, \"created\": \"2025-01-01T00:00:00Z\", \"fingerprint\": \"0000000000000000\", \"key\": \"{secretish}\"}}]}}"
            ),
            "{".to_string(),
        ];
        for text in cases {
            let _ = std::fs::remove_file(&path);
            secure_file::create_new(&path, text.as_bytes()).unwrap();
            let err = LocalKeyFile::open(&path).unwrap_err();
            assert!(matches!(err, Error::KeyFileFormat { .. }), "{err}");
            assert!(!err.to_string().contains("0011223344"), "{err}");
        }
    }

    #[test]
    fn memory_store() {
        let mut s = MemoryKeyStore::from_keys([SecretKey::from_bytes([1; 32])]);
        assert_eq!(s.current_version().unwrap(), 1);
        s.rotate().unwrap();
        assert_eq!(s.versions().unwrap().len(), 2);
        assert!(matches!(
            MemoryKeyStore::default().current_version(),
            Err(Error::NoKeys)
        ));
    }
}
