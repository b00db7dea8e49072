//! The project's JSON files (synthesis baselines, thresholds), read and
//! written with errors that name the file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// A JSON file that could not be read or written.
#[derive(Debug, Error)]
pub enum FileError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl FileError {
    /// Whether the file is not there.
    pub fn is_missing(&self) -> bool {
        matches!(self, FileError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Reads `path` as JSON.
///
/// # Errors
/// [`FileError::Io`] when the file cannot be read, [`FileError::Json`] when
/// it does not hold a `T`.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    serde_json::from_str(&text).map_err(|source| FileError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` to `path` as pretty JSON with a final newline, creating
/// the parent folder. The text goes to a file beside `path` first, then
/// is renamed over it, so that a reader (or an interrupted run) never
/// sees half a file.
///
/// # Errors
/// [`FileError::Io`] when the folder or the file cannot be written.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(value).expect("a serde value serialises") + "\n";
    create_parent(path).map_err(io)?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    std::fs::write(&partial, text).map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

/// Creates the folder a file at `path` is to be written in, with its
/// parents (nothing for a bare file name).
///
/// # Errors
/// The folder cannot be created.
pub fn create_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// Checks, before a long run, that a file can later be written at `path`,
/// its folder created if missing (as [`write_json`] does): `path` is not a
/// folder, and it, or the folder it would be written in, accepts writes.
/// Creates nothing that stays (a probe file is removed at once).
///
/// # Errors
/// [`FileError::Io`] naming `path`, with why it cannot be written.
pub fn check_file_writable(path: &Path) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(io(std::io::Error::other("is a folder, not a file")));
    }
    if path.exists() {
        return std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(io);
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => check_dir_writable(p).map_err(|e| match e {
            FileError::Io { source, .. } => io(source),
            other => other,
        }),
        _ => check_dir_writable(Path::new(".")),
    }
}

/// Checks, before a long run, that files can later be written into the
/// folder `dir`, created with its parents if missing: `dir` (or its
/// nearest existing ancestor, where it would be created) is a folder that
/// accepts writes. Creates nothing that stays.
///
/// # Errors
/// [`FileError::Io`] naming `dir`, with why nothing can be written there.
pub fn check_dir_writable(dir: &Path) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let existing = dir
        .ancestors()
        .map(|a| {
            if a.as_os_str().is_empty() {
                Path::new(".")
            } else {
                a
            }
        })
        .find(|a| a.exists())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(io(std::io::Error::other(format!(
            "{} exists and is not a folder",
            existing.display()
        ))));
    }
    tempfile::NamedTempFile::new_in(existing)
        .map(drop)
        .map_err(|e| {
            io(std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create a file in {}: {}",
                    existing.display(),
                    e.kind()
                ),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writability_is_checked_without_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f.json");
        assert!(check_file_writable(&file).is_ok());
        assert!(check_dir_writable(&tmp.path().join("a/b")).is_ok());
        assert!(!file.exists() && !tmp.path().join("a").exists());

        std::fs::write(&file, "x").unwrap();
        assert!(check_file_writable(&file).is_ok());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
        let e = check_dir_writable(&file.join("out"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("exists and is not a folder"), "{e}");
        let e = check_file_writable(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
        assert!(check_file_writable(&tmp.path().join("missing/f.json")).is_ok());
        let e = check_file_writable(&file.join("f.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("exists and is not a folder"), "{e}");
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "only f.json remains");
    }

    #[test]
    fn json_is_written_whole_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("out/r.json");
        write_json(&file, &vec![1, 2, 3]).unwrap();
        write_json(&file, &vec![4]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&file).unwrap(), [4]);
        let names: Vec<_> = std::fs::read_dir(tmp.path().join("out")).unwrap().collect();
        assert_eq!(names.len(), 1, "no partial file is left");
    }
}
