//! Writes a design folder so that it is never seen half-written: the files
//! go to a temporary sibling folder, which is then renamed into place.

use std::fs;
use std::io;
use std::path::Path;

use super::EmittedFile;

/// Writes `files` into `dir`, replacing its previous contents.
///
/// The new tree is built in a temporary folder beside `dir` and renamed
/// over it; a previous `dir` is moved aside first and removed after.
///
/// # Errors
/// Any I/O error; `dir` is then left as it was.
pub fn write_atomically(dir: &Path, files: &[EmittedFile]) -> io::Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    fs::create_dir_all(&parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".sprint-rtl-")
        .tempdir_in(&parent)?;
    for f in files {
        let path = staging.path().join(&f.path);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        fs::write(&path, &f.contents)?;
    }
    let staged = staging.keep();
    if dir.exists() {
        let old = tempfile::Builder::new()
            .prefix(".sprint-rtl-old-")
            .tempdir_in(&parent)?
            .keep();
        fs::rename(dir, old.join("design"))?;
        if let Err(e) = fs::rename(&staged, dir) {
            fs::rename(old.join("design"), dir)?;
            return Err(e);
        }
        fs::remove_dir_all(old)?;
    } else {
        fs::rename(&staged, dir)?;
    }
    Ok(())
}
