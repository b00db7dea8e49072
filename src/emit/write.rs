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
/// Files in `dir` that the previous design's `manifest.json` does not list
/// (a user's notes, a synthesis log) are copied into the new tree first,
/// so a regenerate replaces only what sprint-rtl wrote.
///
/// # Errors
/// Any I/O error; `dir` being a file or a non-empty folder that does not
/// hold a sprint-rtl design (its `manifest.json`); a file there that the
/// old design did not write at a path the new one writes. Nothing is
/// replaced then, and no temporary folder is left behind.
pub fn write_atomically(dir: &Path, files: &[EmittedFile]) -> io::Result<()> {
    check_replaceable(dir)?;
    let foreign = foreign_files(dir)?;
    if let Some(clash) = foreign.iter().find(|f| files.iter().any(|e| e.path == **f)) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} was not written by sprint-rtl, and the new design writes that path; \
                 move it away first",
                dir.join(clash).display()
            ),
        ));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let staged = tempfile::Builder::new()
        .prefix(".sprint-rtl-")
        .tempdir_in(&parent)?
        .keep();
    let result = stage(&staged, files)
        .and_then(|()| carry_over(dir, &staged, &foreign))
        .and_then(|()| swap_in(&staged, dir, &parent));
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

/// The files under a design folder `dir` that its `manifest.json` does not
/// list, as paths relative to `dir` with `/` separators (none when `dir`
/// does not exist).
fn foreign_files(dir: &Path) -> io::Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let manifest = fs::read_to_string(dir.join("manifest.json")).unwrap_or_default();
    let listed: Vec<String> = serde_json::from_str::<serde_json::Value>(&manifest)
        .ok()
        .and_then(|m| m.get("files").and_then(|f| f.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.get("path").and_then(|p| p.as_str()).map(String::from))
        .collect();
    let mut found = Vec::new();
    walk(dir, "", &mut found)?;
    found.retain(|f| f != "manifest.json" && !listed.contains(f));
    Ok(found)
}

/// Every non-folder entry under `dir`, relative to the design folder.
fn walk(dir: &Path, prefix: &str, found: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &rel, found)?;
        } else {
            found.push(rel);
        }
    }
    Ok(())
}

/// Copies the `foreign` files of `dir` into the staged tree (a symbolic
/// link stays a link).
fn carry_over(dir: &Path, staged: &Path, foreign: &[String]) -> io::Result<()> {
    for rel in foreign {
        let (from, to) = (dir.join(rel), staged.join(rel));
        if let Some(p) = to.parent() {
            fs::create_dir_all(p)?;
        }
        if fs::symlink_metadata(&from)?.file_type().is_symlink() {
            copy_link(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn copy_link(from: &Path, to: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(fs::read_link(from)?, to)
}

#[cfg(not(unix))]
fn copy_link(from: &Path, to: &Path) -> io::Result<()> {
    fs::copy(from, to).map(|_| ())
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
                contents: "{\n  \"files\": [{\"path\": \"rtl/a.v\"}],\n  \"generator\": \"sprint-rtl\"\n}\n"
                    .into(),
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

        write_atomically(&out, &files()).unwrap();
        fs::write(out.join("notes.txt"), "mine").unwrap();
        fs::create_dir_all(out.join("synth")).unwrap();
        fs::write(out.join("synth/yosys.log"), "log").unwrap();
        write_atomically(&out, &files()).unwrap();
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
        assert_eq!(
            fs::read_to_string(out.join("synth/yosys.log")).unwrap(),
            "log"
        );

        let mut clashing = files();
        clashing.push(EmittedFile {
            path: "notes.txt".into(),
            contents: "generated".into(),
        });
        let err = write_atomically(&out, &clashing).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");

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
