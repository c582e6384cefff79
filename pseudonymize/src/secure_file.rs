//! Files that hold key material: owner-only modes, no overwriting, atomic replacement, shredding.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Creates the folders above `path` (owner-only on Unix when this creates them).
fn create_parent(path: &Path) -> Result<()> {
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(parent)
        .map_err(Error::io("create folder", parent))
}

fn open_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `contents` to a new file at `path` with mode 0600; an existing file is an error.
pub(crate) fn create_new(path: &Path, contents: &[u8]) -> Result<()> {
    create_parent(path)?;
    let mut file = open_new(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyFileExists {
                path: path.to_owned(),
            }
        } else {
            Error::Io {
                action: "create key file",
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(Error::Io {
            action: "write key file",
            path: path.to_owned(),
            source,
        });
    }
    sync_parent(path);
    Ok(())
}

/// Replaces the file at `path` with `contents`, atomically: a new 0600 file beside it is written,
/// synced and renamed over it.
pub(crate) fn replace(path: &Path, contents: &[u8]) -> Result<()> {
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(Error::Random)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.{}.tmp", crate::hex::encode(&suffix)));
    create_new(&tmp, contents)?;
    if let Err(source) = fs::rename(&tmp, path) {
        let _ = shred(&tmp);
        return Err(Error::Io {
            action: "replace key file",
            path: path.to_owned(),
            source,
        });
    }
    sync_parent(path);
    Ok(())
}

/// Reads a key file, refusing one that others may read or write.
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let metadata = fs::metadata(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::KeyFileMissing {
                path: path.to_owned(),
            }
        } else {
            Error::Io {
                action: "read key file",
                path: path.to_owned(),
                source,
            }
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    fs::read(path)
        .map(Zeroizing::new)
        .map_err(Error::io("read key file", path))
}

/// Overwrites the file at `path` with zeros, syncs it, and removes it.
///
/// On copy-on-write or journaling file systems and SSDs the old blocks may survive the
/// overwrite; what makes the destruction final is that the key never existed anywhere else.
pub(crate) fn shred(path: &Path) -> Result<()> {
    let len = fs::metadata(path)
        .map_err(Error::io("read key file", path))?
        .len();
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(Error::io("open key file", path))?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros)
        .and_then(|()| file.sync_all())
        .map_err(Error::io("overwrite key file", path))?;
    drop(file);
    fs::remove_file(path).map_err(Error::io("remove key file", path))?;
    sync_parent(path);
    Ok(())
}

/// Makes a creation, rename or removal durable (best effort: not every platform can sync a
/// folder).
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_refuses_to_overwrite_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/keys.json");
        create_new(&path, b"one").unwrap();
        assert!(matches!(
            create_new(&path, b"two"),
            Err(Error::KeyFileExists { .. })
        ));
        assert_eq!(&*read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(path.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn replace_then_shred() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        create_new(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(&*read(&path).unwrap(), b"two");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        shred(&path).unwrap();
        assert!(matches!(read(&path), Err(Error::KeyFileMissing { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_group_readable_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        create_new(&path, b"x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            read(&path),
            Err(Error::InsecurePermissions { mode: 0o640, .. })
        ));
    }
}
