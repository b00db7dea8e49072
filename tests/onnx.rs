//! The float32 ONNX graph of `benches/forward/onnx_graph.py`, built from
//! the same `model.safetensors` and run by onnxruntime, against the Rust
//! forward pass of all-MiniLM-L6-v2 on the same token ids.
//!
//! Needs the MiniLM weights (`SPRINT_RTL_MINILM_DIR`) and a Python with
//! numpy, onnx and onnxruntime (`SPRINT_RTL_PYTHON`, `python3` by
//! default; versions pinned in `.ci/run`), so it is ignored by a plain
//! `cargo test`; under `-- --include-ignored` (what CI runs) a missing
//! input fails it. Run it with
//! ```text
//! pip install numpy==2.4.6 onnx==1.23.2 onnxruntime==1.31.1
//! SPRINT_RTL_MINILM_DIR=DIR cargo test --release --test onnx -- --ignored
//! ```

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde::Deserialize;
use sprint_rtl::model::BertEncoder;

/// Largest allowed difference between the two.
const TOLERANCE: f32 = 1e-4;

/// One output of `onnx_graph.py`.
#[derive(Deserialize)]
struct OnnxOutput {
    /// Tokens × hidden.
    last_hidden: Vec<Vec<f32>>,
    /// Hidden.
    embedding: Vec<f32>,
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR) and python3 with numpy, onnx, \
            onnxruntime (CI runs it)"]
fn onnx_graph_matches_the_forward_pass() {
    let dir = common::minilm_dir();
    let model = BertEncoder::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let ids = model
        .tokenize("A man is playing a guitar on the street.", None)
        .unwrap();
    assert_eq!(ids.len(), 12);

    let python = std::env::var("SPRINT_RTL_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = common::root().join("benches/forward/onnx_graph.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let input = serde_json::to_string(&[&ids]).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "onnx_graph.py failed (needs numpy, onnx, onnxruntime; .ci/run pins them):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let onnx: Vec<OnnxOutput> = serde_json::from_slice(&out.stdout).expect("onnx_graph.py JSON");
    assert_eq!(onnx.len(), 1);

    let f = model.forward(&ids).unwrap();
    assert_eq!(onnx[0].last_hidden.len(), ids.len());
    let hidden = common::max_abs_diff(f.last_hidden.iter(), onnx[0].last_hidden.iter().flatten());
    let embedding = common::max_abs_diff(&f.sentence_embedding(), &onnx[0].embedding);
    eprintln!("max abs difference: last hidden {hidden:.2e}, embedding {embedding:.2e}");
    assert!(hidden <= TOLERANCE, "last hidden states differ by {hidden}");
    assert!(embedding <= TOLERANCE, "embeddings differ by {embedding}");
}
