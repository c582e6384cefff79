//! Table locations: a zone root (local folder or URL) plus a table name gives a [`TableUri`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use deltalake::DeltaTableBuilder;
use url::Url;

use crate::error::{Error, Result};

/// Where one Delta table lives: a normalised URL (`file:///abs/path/` or `s3://bucket/prefix/`)
/// plus the storage options (endpoint, region, credentials…) the object store needs.
///
/// Local folders may be given as relative or absolute paths; they are made absolute (against the
/// current directory) but not required to exist: writers create them, readers report "no table".
/// Storage options are never shown by `Debug` or `Display` (they may hold credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct TableUri {
    url: Url,
    storage_options: HashMap<String, String>,
}

/// The root of one zone (the steward's staging area, the analysis lake…): a local folder or a
/// URL under which each table is a sub-folder named after the table.
#[derive(Clone, PartialEq, Eq)]
pub struct ZoneRoot {
    url: Url,
    storage_options: HashMap<String, String>,
}

impl ZoneRoot {
    /// A zone root from a local folder path (relative or absolute) or a URL.
    pub fn parse(location: &str) -> Result<Self> {
        Ok(Self {
            url: parse_location(location)?,
            storage_options: HashMap::new(),
        })
    }

    /// Storage options passed to the object store of every table in the zone (for S3: e.g.
    /// `aws_endpoint`, `aws_region`, `aws_allow_http`, `aws_conditional_put`). Unset keys fall
    /// back to the usual environment variables (`AWS_ENDPOINT_URL`, …).
    #[must_use]
    pub fn with_storage_options(mut self, options: HashMap<String, String>) -> Self {
        self.storage_options = options;
        self
    }

    /// The location of table `name` in this zone.
    pub fn table(&self, name: &str) -> Result<TableUri> {
        check_table_name(name)?;
        let url = self
            .url
            .join(&format!("{name}/"))
            .map_err(|_| Error::InvalidTableName {
                name: name.to_owned(),
                reason: "it does not form a valid URL under the zone root",
            })?;
        Ok(TableUri {
            url,
            storage_options: self.storage_options.clone(),
        })
    }

    /// The root as a normalised URL (with a trailing slash).
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl TableUri {
    /// The table at `location`, a local folder path (relative or absolute) or a URL.
    pub fn parse(location: &str) -> Result<Self> {
        Ok(Self {
            url: parse_location(location)?,
            storage_options: HashMap::new(),
        })
    }

    /// The table `name` under the zone root `zone_root` (a folder path or URL).
    pub fn in_zone(zone_root: &str, name: &str) -> Result<Self> {
        ZoneRoot::parse(zone_root)?.table(name)
    }

    /// Storage options for the table's object store (see [`ZoneRoot::with_storage_options`]).
    #[must_use]
    pub fn with_storage_options(mut self, options: HashMap<String, String>) -> Self {
        self.storage_options = options;
        self
    }

    /// The normalised URL (with a trailing slash).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The table's name: the last segment of its location.
    pub fn name(&self) -> &str {
        self.url
            .path_segments()
            .and_then(|s| s.rev().find(|s| !s.is_empty()))
            .unwrap_or("")
    }

    /// The folder, for a table on the local file system.
    pub fn local_path(&self) -> Option<PathBuf> {
        (self.url.scheme() == "file")
            .then(|| self.url.to_file_path().ok())
            .flatten()
    }

    /// Creates the table's folder (and its parents) for a local table; nothing for object stores.
    pub(crate) fn ensure_dir(&self) -> Result<()> {
        if let Some(path) = self.local_path() {
            std::fs::create_dir_all(&path).map_err(|source| Error::CreateDir { path, source })?;
        }
        Ok(())
    }

    /// A deltalake table builder for this location (storage handlers registered first).
    pub(crate) fn builder(&self) -> Result<DeltaTableBuilder> {
        register_storage_handlers();
        let builder = DeltaTableBuilder::from_url(self.url.clone())
            .map_err(|e| Error::delta(self, "resolve the table location", e))?;
        Ok(builder.with_storage_options(self.storage_options.clone()))
    }
}

impl fmt::Display for TableUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.local_path() {
            Some(path) => write!(f, "{}", path.display()),
            None => f.write_str(&redacted(&self.url)),
        }
    }
}

impl fmt::Debug for TableUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.storage_options.keys().collect();
        keys.sort();
        f.debug_struct("TableUri")
            .field("url", &redacted(&self.url))
            .field("storage_option_keys", &keys)
            .finish()
    }
}

impl fmt::Debug for ZoneRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.storage_options.keys().collect();
        keys.sort();
        f.debug_struct("ZoneRoot")
            .field("url", &redacted(&self.url))
            .field("storage_option_keys", &keys)
            .finish()
    }
}

impl FromStr for TableUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl FromStr for ZoneRoot {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A URL without credentials, query or fragment, for messages.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// Parses a location into a normalised directory URL with a trailing slash.
fn parse_location(location: &str) -> Result<Url> {
    let shown = |loc: &str| match Url::parse(loc) {
        Ok(url) => redacted(&url),
        Err(_) => loc.to_owned(),
    };
    let invalid = |reason| Error::InvalidLocation {
        location: shown(location),
        reason,
    };
    if location.trim().is_empty() {
        return Err(invalid("it is empty"));
    }
    let url = match Url::parse(location) {
        // One-letter "schemes" are Windows drive letters: a local path.
        Ok(url) if url.scheme().len() > 1 => url,
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
            return local_url(Path::new(location)).ok_or_else(|| invalid("not a valid local path"));
        }
        Err(_) => return Err(invalid("it is neither a local path nor a valid URL")),
    };
    match url.scheme() {
        "file" => {
            let path = url
                .to_file_path()
                .map_err(|()| invalid("not a valid file:// URL"))?;
            local_url(&path).ok_or_else(|| invalid("not a valid local path"))
        }
        "s3" | "s3a" => {
            if cfg!(feature = "s3") {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("an s3:// URL needs a bucket"));
                }
                Ok(normalized(url))
            } else {
                Err(Error::S3NotEnabled {
                    location: shown(location),
                })
            }
        }
        "memory" => Ok(normalized(url)),
        other => Err(Error::UnsupportedScheme {
            location: shown(location),
            scheme: other.to_owned(),
        }),
    }
}

/// An absolute, lexically normalised directory URL for a local path.
fn local_url(path: &Path) -> Option<Url> {
    let absolute = std::path::absolute(path).ok()?;
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    Url::from_directory_path(clean).ok()
}

/// The URL with redundant slashes removed and one trailing slash (as deltalake expects).
fn normalized(url: Url) -> Url {
    deltalake::table::normalize_table_url(&url)
}

/// Table names are single folder names: letters, digits, `_`, `-`, `.`; not hidden.
fn check_table_name(name: &str) -> Result<()> {
    let invalid = |reason| Error::InvalidTableName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.starts_with(['.', '_']) {
        return Err(invalid("it must not start with `.` or `_`"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(invalid(
            "only ASCII letters, digits, `_`, `-` and `.` are allowed",
        ));
    }
    Ok(())
}

/// Registers the object-store factories of optional backends (idempotent).
fn register_storage_handlers() {
    #[cfg(feature = "s3")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| deltalake::aws::register_handlers(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute_local_paths_become_directory_urls() {
        let abs = TableUri::parse("/tmp/lake/claims").unwrap();
        assert_eq!(abs.url().as_str(), "file:///tmp/lake/claims/");
        assert_eq!(abs.name(), "claims");
        assert_eq!(
            abs.local_path().unwrap(),
            PathBuf::from("/tmp/lake/claims/")
        );

        let rel = TableUri::parse("lake/./x/../claims").unwrap();
        let expected = std::env::current_dir().unwrap().join("lake/claims");
        assert_eq!(rel.local_path().unwrap(), expected);
        assert!(rel.url().as_str().ends_with("/lake/claims/"));
    }

    #[test]
    fn zone_root_joins_table_names() {
        let zone = ZoneRoot::parse("/srv/steward/").unwrap();
        let t = zone.table("staging_ndb_med").unwrap();
        assert_eq!(t.url().as_str(), "file:///srv/steward/staging_ndb_med/");
        assert_eq!(
            TableUri::in_zone("file:///srv/steward", "x")
                .unwrap()
                .url()
                .as_str(),
            "file:///srv/steward/x/"
        );
        assert_eq!(
            TableUri::in_zone("memory:///z", "t")
                .unwrap()
                .url()
                .as_str(),
            "memory:///z/t/"
        );
    }

    #[test]
    fn bad_table_names_are_refused() {
        let zone = ZoneRoot::parse("/srv/lake").unwrap();
        for bad in ["", "../x", "a/b", "_delta_log", ".hidden", "名前"] {
            assert!(
                matches!(zone.table(bad), Err(Error::InvalidTableName { .. })),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let err = TableUri::parse("gs://bucket/t").unwrap_err();
        assert!(matches!(err, Error::UnsupportedScheme { ref scheme, .. } if scheme == "gs"));
    }

    #[cfg(not(feature = "s3"))]
    #[test]
    fn s3_without_the_feature_says_how_to_get_it() {
        let err = TableUri::in_zone("s3://bucket/lake", "claims").unwrap_err();
        assert!(matches!(err, Error::S3NotEnabled { .. }), "{err:?}");
        assert!(err.to_string().contains("--features s3"), "{err}");
    }

    #[cfg(feature = "s3")]
    #[tokio::test]
    async fn s3_with_the_feature_builds_a_table_handle() {
        let t = TableUri::in_zone("s3://bucket/lake", "claims")
            .unwrap()
            .with_storage_options(HashMap::from([
                ("aws_region".into(), "ap-northeast-1".into()),
                ("aws_endpoint".into(), "http://127.0.0.1:9".into()),
                ("aws_allow_http".into(), "true".into()),
            ]));
        assert_eq!(t.url().as_str(), "s3://bucket/lake/claims/");
        // No network: building the object store and log store must work offline.
        let table = t.builder().unwrap().build().unwrap();
        assert_eq!(table.table_url().scheme(), "s3");
    }

    #[test]
    fn display_and_debug_hide_credentials() {
        let t = TableUri::parse("memory://user:secret@host/t?token=abc")
            .unwrap()
            .with_storage_options(HashMap::from([(
                "aws_secret_access_key".into(),
                "s3cr3t".into(),
            )]));
        let shown = format!("{t} {t:?}");
        assert!(!shown.contains("secret@") && !shown.contains("abc") && !shown.contains("s3cr3t"));
        assert!(shown.contains("aws_secret_access_key"), "{shown}");
    }
}
