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
/// the parent folder.
///
/// # Errors
/// [`FileError::Io`] when the folder or the file cannot be written.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(value).expect("a serde value serialises") + "\n";
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}
