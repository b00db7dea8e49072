//! The library's top-level modules import one way: each may use only the
//! modules listed before it in [`LAYERS`]. A new top-level module must be
//! placed in the list, and an import that runs the other way fails here with
//! the file and line that made it.

use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules of `src/lib.rs`, lowest first: spec → golden
/// model → emission and the float models → tool runners → simulation and
/// synthesis → thresholds and accuracy → reports → batch jobs. The command line
/// (`src/main.rs`, `src/cli/`) sits above them all.
const LAYERS: &[&str] = &[
    "csr", "files", "spec", "golden", "emit", "model", "trace", "tools", "sim", "synth", "eval",
    "reports", "batch",
];

/// An import of `crate::<used>` from top-level module `module`.
#[derive(Debug, PartialEq)]
struct Import {
    module: String,
    used: String,
    place: String,
}

/// The `crate::<name>` paths in one file's code, comments left out.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((i + 1, name));
            }
            rest = tail;
        }
    }
    found
}

/// The imports across layers that run the wrong way, or that name a
/// module missing from `layers`.
fn violations(imports: &[Import], layers: &[&str]) -> Vec<String> {
    let rank = |m: &str| layers.iter().position(|l| *l == m);
    imports
        .iter()
        .filter(|i| i.module != i.used)
        .filter_map(|i| match (rank(&i.module), rank(&i.used)) {
            (Some(from), Some(to)) if to < from => None,
            (Some(_), Some(_)) => Some(format!(
                "{}: `{}` imports `{}`, which is not below it",
                i.place, i.module, i.used
            )),
            _ => Some(format!(
                "{}: `{}` or `{}` is not in the list of layers",
                i.place, i.module, i.used
            )),
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`None` for the
/// crate roots and the command line).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main" | "cli")).then(|| name.to_string())
}

fn library_imports() -> Vec<Import> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut imports = Vec::new();
    for file in files {
        let Some(module) = top_module(&src, &file) else {
            continue;
        };
        let source = fs::read_to_string(&file).expect("read source");
        for (line, used) in crate_paths(&source) {
            imports.push(Import {
                module: module.clone(),
                used,
                place: format!("{}:{line}", file.display()),
            });
        }
    }
    imports
}

#[test]
fn imports_run_one_way() {
    let bad = violations(&library_imports(), LAYERS);
    assert!(
        bad.is_empty(),
        "imports against the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(!modules.is_empty());
    for m in &modules {
        assert!(
            LAYERS.contains(m),
            "src/lib.rs declares `{m}`, which has no layer"
        );
    }
    assert_eq!(
        modules.len(),
        LAYERS.len(),
        "LAYERS names a module lib.rs does not have"
    );
}

#[test]
fn the_check_catches_an_upward_import() {
    let source = "use crate::spec::Spec; // crate::reports in a comment\n\
                  fn f() { crate::reports::mean(&[]); }\n";
    let imports: Vec<Import> = crate_paths(source)
        .into_iter()
        .map(|(line, used)| Import {
            module: "golden".into(),
            used,
            place: format!("golden.rs:{line}"),
        })
        .collect();
    assert_eq!(imports.len(), 2, "the comment is not an import");
    let bad = violations(&imports, LAYERS);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with("golden.rs:2:"), "{}", bad[0]);
    assert_eq!(violations(&imports[..1], LAYERS), Vec::<String>::new());
}
