//! Writes a design folder so that it is never seen half-written: the files
//! go to a temporary sibling folder, which is then renamed into place.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::EmittedFile;

/// Writes `files` into `dir`, replacing a design sprint-rtl wrote there
/// before.
///
/// The new tree is built in a temporary folder beside `dir` and renamed
/// over it; a previous design is moved aside first and removed after.
///
/// # Errors
/// Any I/O error, and `dir` being a file or a non-empty folder that does
/// not hold a sprint-rtl design (its `manifest.json`): nothing is replaced
/// then, and no temporary folder is left behind.
pub fn write_atomically(dir: &Path, files: &[EmittedFile]) -> io::Result<()> {
    check_replaceable(dir)?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let staged = tempfile::Builder::new()
        .prefix(".sprint-rtl-")
        .tempdir_in(&parent)?
        .keep();
    let result = stage(&staged, files).and_then(|()| swap_in(&staged, dir, &parent));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staged);
    }
    result
}

/// A file, or a folder holding anything but a sprint-rtl design, is never
/// replaced.
fn check_replaceable(dir: &Path) -> io::Result<()> {
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} {why}; refusing to replace it", dir.display()),
        ))
    };
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if !m.is_dir() => refuse("exists and is not a folder"),
        Ok(_) => {
            let empty = fs::read_dir(dir)?.next().is_none();
            let manifest = fs::read_to_string(dir.join("manifest.json")).unwrap_or_default();
            if empty || manifest.contains("\"generator\": \"sprint-rtl\"") {
                Ok(())
            } else {
                refuse("holds files that are not a sprint-rtl design")
            }
        }
    }
}

fn stage(staged: &Path, files: &[EmittedFile]) -> io::Result<()> {
    for f in files {
        let path = staged.join(&f.path);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p)?;
        }
        fs::write(&path, &f.contents)?;
    }
    Ok(())
}

fn swap_in(staged: &Path, dir: &Path, parent: &Path) -> io::Result<()> {
    if !dir.exists() {
        return fs::rename(staged, dir);
    }
    let old = tempfile::Builder::new()
        .prefix(".sprint-rtl-old-")
        .tempdir_in(parent)?;
    let aside = old.path().join("design");
    fs::rename(dir, &aside)?;
    if let Err(e) = fs::rename(staged, dir) {
        fs::rename(&aside, dir)?;
        return Err(e);
    }
    // `old` (with the previous design inside) is removed when dropped.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<EmittedFile> {
        vec![
            EmittedFile {
                path: "rtl/a.v".into(),
                contents: "module a; endmodule\n".into(),
            },
            EmittedFile {
                path: "manifest.json".into(),
                contents: "{\n  \"generator\": \"sprint-rtl\"\n}\n".into(),
            },
        ]
    }

    #[test]
    fn replaces_its_own_design_but_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        write_atomically(&out, &files()).unwrap();
        write_atomically(&out, &files()).unwrap();
        assert!(out.join("rtl/a.v").exists());

        let foreign = tmp.path().join("foreign");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), "mine").unwrap();
        assert!(write_atomically(&foreign, &files()).is_err());
        assert_eq!(
            fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "mine"
        );

        let file = tmp.path().join("file");
        fs::write(&file, "data").unwrap();
        assert!(write_atomically(&file, &files()).is_err());
        assert_eq!(fs::read_to_string(&file).unwrap(), "data");

        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with(".sprint-rtl")),
            "{names:?}"
        );
    }
}
