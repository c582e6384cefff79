//! The typed configuration: `niji.toml`, then `NIJI_*` environment variables, then options.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::cli::GlobalArgs;

/// The configuration file's contents. Every field has a default, so an empty file (or none) is
/// a working configuration.
#[derive(Debug, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    /// Root of the zones.
    data_dir: Option<PathBuf>,
    /// The link-key file (default `<data_dir>/steward/keys.json`).
    key_file: Option<PathBuf>,
    /// The staging zone: a folder or an `s3://` URL (default `<data_dir>/steward/staging`).
    staging: Option<String>,
    /// Days a job's quarantine is kept (default 30).
    quarantine_retention_days: Option<u32>,
    /// Object-store options for `s3://` zones (`aws_endpoint`, `aws_region`, …).
    storage: std::collections::HashMap<String, String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Root of niji's zones: `intake/` (the quarantine), `steward/` (keys, staging tables with
    /// link keys, linkage, job manifests), `lake/` (the analysis tables).
    pub(crate) data_dir: PathBuf,
    /// The link-key file.
    pub(crate) key_file: PathBuf,
    /// The staging zone's location (a folder or URL).
    pub(crate) staging: String,
    /// Days a job's quarantine is kept.
    pub(crate) quarantine_retention_days: u32,
    /// Object-store options for URL zones.
    pub(crate) storage: std::collections::HashMap<String, String>,
}

impl Config {
    /// Reads the file named by `--config`/`NIJI_CONFIG`, or `./niji.toml` if present, and applies
    /// the overrides of `global`.
    pub(crate) fn load(global: &GlobalArgs) -> anyhow::Result<Self> {
        let file = match &global.config {
            Some(path) => read(path)?,
            None if Path::new("niji.toml").exists() => read(Path::new("niji.toml"))?,
            None => FileConfig::default(),
        };
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("niji-data"));
        let steward = data_dir.join("steward");
        Ok(Config {
            key_file: file.key_file.unwrap_or_else(|| steward.join("keys.json")),
            staging: file
                .staging
                .unwrap_or_else(|| steward.join("staging").display().to_string()),
            quarantine_retention_days: file.quarantine_retention_days.unwrap_or(30),
            storage: file.storage,
            data_dir,
        })
    }
}

fn read(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> GlobalArgs {
        GlobalArgs {
            config,
            data_dir,
            verbose: 0,
            quiet: true,
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.toml");
        let err = Config::load(&global(Some(missing), None)).unwrap_err();
        assert!(format!("{err:#}").contains("none.toml"));
    }

    #[test]
    fn file_then_override() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("niji.toml");
        std::fs::write(&file, "data_dir = \"/srv/niji\"\n").unwrap();
        let c = Config::load(&global(Some(file.clone()), None)).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/niji"));
        assert_eq!(c.key_file, PathBuf::from("/srv/niji/steward/keys.json"));
        assert_eq!(c.staging, "/srv/niji/steward/staging");
        assert_eq!(c.quarantine_retention_days, 30);
        let c = Config::load(&global(Some(file), Some("/tmp/x".into()))).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("niji.toml");
        std::fs::write(&file, "data_dri = \"x\"\n").unwrap();
        let err = Config::load(&global(Some(file), None)).unwrap_err();
        assert!(format!("{err:#}").contains("data_dri"), "{err:#}");
    }
}
