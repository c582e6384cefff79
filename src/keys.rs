//! `niji keys`: the data steward's link-key file (init, rotate, list).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use niji_pseudonymize::{KeyStore, LocalKeyFile, keystore::KeyVersion};

use crate::config::Config;

/// The long help of `niji keys`.
pub(crate) const LONG_ABOUT: &str = "Manage the link-key file: the secret keys that turn \
identifiers into link keys (HMAC-SHA256).

The file lives in the steward zone, by default <data_dir>/steward/keys.json, and can be moved \
with --key-file or NIJI_KEY_FILE. It is created with mode 0600 and refused when others can read \
it. Keys never appear in arguments, output, logs or errors: `list` shows versions, creation \
times and fingerprints only.

Rotation adds a key version; link keys of the old version are re-keyed to the new one from the \
link keys themselves (no raw identifiers are needed), and keys made before and after a rotation \
still match. Keep every version: new records are keyed through the whole chain.";

/// `niji keys` arguments.
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    /// The link-key file [default: <data_dir>/steward/keys.json].
    #[arg(long, global = true, env = "NIJI_KEY_FILE", value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) action: KeysAction,
}

/// What to do with the key file.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysAction {
    /// Create the key file with one random key (version 1). Refuses to overwrite a file.
    Init,
    /// Add a new random key version; the older versions stay (they are part of the chain).
    Rotate,
    /// Show each version's number, creation time and fingerprint (never the key).
    List,
}

/// Runs `niji keys`.
pub(crate) fn run(args: KeysArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let path = args.key_file.unwrap_or_else(|| config.key_file.clone());
    execute(&args.action, &path, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

fn execute(action: &KeysAction, path: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    match action {
        KeysAction::Init => {
            let file = LocalKeyFile::create(path)?;
            let v = file.versions()?.remove(0);
            tracing::info!(path = %path.display(), version = v.version, fingerprint = %v.fingerprint, "key file created");
            writeln!(
                out,
                "created {} with key version 1 (fingerprint {})",
                path.display(),
                v.fingerprint
            )?;
        }
        KeysAction::Rotate => {
            let mut file = open(path)?;
            let v = file.rotate()?;
            tracing::info!(path = %path.display(), version = v.version, fingerprint = %v.fingerprint, "key rotated");
            writeln!(
                out,
                "added key version {} (fingerprint {}) to {}\nre-key stored link keys of version {} to it with the next linkage run",
                v.version,
                v.fingerprint,
                path.display(),
                v.version - 1
            )?;
        }
        KeysAction::List => {
            let file = open(path)?;
            let current = file.current_version()?;
            writeln!(out, "{}", path.display())?;
            writeln!(
                out,
                "{:>7}  {:<20}  {:<16}",
                "version", "created (UTC)", "fingerprint"
            )?;
            for KeyVersion {
                version,
                created,
                fingerprint,
            } in file.versions()?
            {
                let mark = if version == current { "  current" } else { "" };
                writeln!(
                    out,
                    "{version:>7}  {:<20}  {fingerprint:<16}{mark}",
                    created.format("%Y-%m-%dT%H:%M:%SZ")
                )?;
            }
        }
    }
    Ok(())
}

pub(crate) fn open(path: &Path) -> anyhow::Result<LocalKeyFile> {
    match LocalKeyFile::open(path) {
        Ok(file) => Ok(file),
        Err(e @ niji_pseudonymize::Error::KeyFileMissing { .. }) => {
            Err(anyhow::anyhow!("{e}; create one with `niji keys init`"))
        }
        Err(e) => Err(e).context("cannot open the link-key file"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn run_to_string(action: KeysAction, path: &Path) -> anyhow::Result<String> {
        let mut out = Vec::new();
        execute(&action, path, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn init_rotate_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward").join("keys.json");

        let text = run_to_string(KeysAction::Init, &path).unwrap();
        assert!(text.contains("key version 1"), "{text}");
        let err = run_to_string(KeysAction::Init, &path).unwrap_err();
        assert!(
            format!("{err:#}").contains("refusing to overwrite"),
            "{err:#}"
        );

        let text = run_to_string(KeysAction::Rotate, &path).unwrap();
        assert!(text.contains("added key version 2"), "{text}");

        let list = run_to_string(KeysAction::List, &path).unwrap();
        let file = LocalKeyFile::open(&path).unwrap();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 4, "{list}");
        for (line, v) in lines[2..].iter().zip(file.versions().unwrap()) {
            assert!(line.contains(&v.fingerprint), "{line}");
            assert!(
                line.trim_start().starts_with(&v.version.to_string()),
                "{line}"
            );
        }
        assert!(lines[3].ends_with("current"), "{list}");
        // No key material: no run of 64 hex digits anywhere in the output.
        for v in 1..=2 {
            let mut key_hex = String::new();
            for b in file.key(v).unwrap().expose() {
                key_hex.push_str(&format!("{b:02x}"));
            }
            assert!(!list.contains(&key_hex[..16]), "{list}");
        }
    }

    #[test]
    fn rotate_and_list_without_a_file_say_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.json");
        for action in [KeysAction::Rotate, KeysAction::List] {
            let err = run_to_string(action, &path).unwrap_err();
            assert!(format!("{err:#}").contains("niji keys init"), "{err:#}");
        }
    }

    #[test]
    fn key_file_option_parses_before_and_after_the_action() {
        for argv in [
            ["niji", "keys", "--key-file", "/k.json", "list"],
            ["niji", "keys", "list", "--key-file", "/k.json"],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap();
            let Command::Keys(args) = cli.command else {
                panic!("not keys")
            };
            assert_eq!(args.key_file, Some(PathBuf::from("/k.json")));
            assert!(matches!(args.action, KeysAction::List));
        }
    }
}
