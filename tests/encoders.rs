//! Any BERT-family encoder, with its shape read from its own `config.json`:
//! - a tiny random BERT (2 layers, 2 heads of 16, hidden 32, `bert.`
//!   tensor prefix, tanh GELU, its own 48-token WordPiece vocabulary),
//!   written by the tests, needs no download: it checks shape handling, the
//!   errors, and `trace`, `simulate` and the golden-model attention against
//!   a spec of head_dim 16, and matches the numpy reference
//!   `tests/reference/minilm_reference.py` (`tiny_bert_embeddings.json`);
//!   its `eval` needs only the task data (`SPRINT_RTL_EVAL_DATA`);
//! - a 3-layer encoder cut from all-MiniLM-L6-v2 (its `config.json` with
//!   `num_hidden_layers: 3`, the tensors of layers 0-2) must equal the first
//!   three layers of MiniLM exactly, match the numpy reference of that
//!   folder (`minilm_l3_embeddings.json`), and trace, calibrate and
//!   evaluate with no code change. It needs the MiniLM weights
//!   (`SPRINT_RTL_MINILM_DIR`, see tests/model.rs) and, for `eval` and
//!   `calibrate --task`, the task data (`SPRINT_RTL_EVAL_DATA`, see
//!   tests/eval.rs); without them these tests are ignored by a plain
//!   `cargo test` and fail under `-- --include-ignored` (see tests/common).
//!
//! To regenerate the references (numpy needed):
//! ```text
//! SPRINT_RTL_WRITE_REFERENCES=1 cargo test --release --test encoders write_tiny_bert
//! python3 tests/reference/minilm_reference.py target/tiny_bert \
//!     tests/reference/tiny_bert_inputs.json "tiny random BERT (tests/encoders.rs)" \
//!     > tests/reference/tiny_bert_embeddings.json
//! SPRINT_RTL_MINILM_DIR=DIR cargo test --release --test encoders -- --ignored write_minilm_l3
//! python3 tests/reference/minilm_reference.py target/minilm_l3 \
//!     tests/reference/minilm_inputs.json "all-MiniLM-L6-v2, layers 0-2" \
//!     > tests/reference/minilm_l3_embeddings.json
//! ```

mod common;

use common::{NumpyReference, max_abs_diff};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::s;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde_json::{Value, json};
use sprint_rtl::eval::thresholds::Calibration;
use sprint_rtl::eval::{self, Attention};
use sprint_rtl::golden::Derived;
use sprint_rtl::golden::Mode;
use sprint_rtl::model::{BertEncoder, ForwardError, ModelError};
use sprint_rtl::spec::Spec;
use sprint_rtl::trace::Trace;

/// Largest allowed difference from the numpy reference.
const TOLERANCE: f32 = 1e-4;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sprint_rtl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------
// Writing model folders.

/// One named `F32` tensor.
struct Tensor {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

fn write_safetensors(path: &Path, tensors: &[Tensor]) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            (
                t.name.clone(),
                TensorView::new(Dtype::F32, t.shape.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// The tiny model's WordPiece vocabulary: the five BERT special tokens
/// first, then lower-case words and pieces.
const TINY_VOCAB: &[&str] = &[
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ".",
    ",",
    "!",
    "?",
    "'",
    "a",
    "the",
    "in",
    "of",
    "is",
    "it",
    "on",
    "and",
    "hello",
    "world",
    "man",
    "guitar",
    "street",
    "play",
    "##ing",
    "##s",
    "sparse",
    "attention",
    "key",
    "query",
    "memory",
    "prune",
    "accelerator",
    "score",
    "before",
    "fetch",
    "cost",
    "transformer",
    "reduce",
    "quadratic",
    "doesn",
    "t",
    "sprint",
    "them",
    "##es",
    "##er",
    "model",
    "text",
];

/// Rows of the tiny model's word embeddings: more than its vocabulary, as
/// checkpoints often pad the table.
const TINY_VOCAB_ROWS: usize = 50;

/// A `tokenizer.json` of the BERT kind (lower-casing normaliser, BERT
/// pre-tokenizer, WordPiece, `[CLS] … [SEP]` template) over `vocab`.
fn wordpiece_tokenizer(vocab: &[&str]) -> Value {
    let ids: serde_json::Map<String, Value> = vocab
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
    let id = |w: &str| vocab.iter().position(|v| *v == w).unwrap();
    let special = |w: &str| {
        json!({"id": id(w), "special": true, "content": w, "single_word": false,
               "lstrip": false, "rstrip": false, "normalized": false})
    };
    let added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(special);
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true,
                       "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [id("[CLS]")], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [id("[SEP]")], "tokens": ["[SEP]"]}
            }
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]",
                  "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": ids}
    })
}

/// The tiny model's `config.json`.
fn tiny_config() -> Value {
    json!({
        "architectures": ["BertForMaskedLM"],
        "model_type": "bert",
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "max_position_embeddings": 40,
        "layer_norm_eps": 1e-5,
        "vocab_size": TINY_VOCAB_ROWS,
        "type_vocab_size": 2,
        "hidden_act": "gelu_new",
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1
    })
}

/// A reproducible uniform generator (xorshift64*, Vigna 2016).
struct Rng(u64);

impl Rng {
    /// A value in `[-scale, scale)`.
    fn uniform(&mut self, scale: f32) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        (x as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    }
}

/// The tiny model's tensors, named as a `BertForMaskedLM` checkpoint stores
/// them (leading `bert.`), in a fixed order and with fixed values.
fn tiny_tensors() -> Vec<Tensor> {
    let (h, f, layers) = (32, 64, 2);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut out = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let values = (0..shape.iter().product())
            .map(|_| offset + rng.uniform(scale))
            .collect();
        out.push(Tensor {
            name: format!("bert.{name}"),
            shape,
            values,
        });
    };
    add(
        "embeddings.word_embeddings.weight".into(),
        vec![TINY_VOCAB_ROWS, h],
        1.0,
        0.0,
    );
    add(
        "embeddings.position_embeddings.weight".into(),
        vec![40, h],
        0.3,
        0.0,
    );
    add(
        "embeddings.token_type_embeddings.weight".into(),
        vec![2, h],
        0.3,
        0.0,
    );
    add("embeddings.LayerNorm.weight".into(), vec![h], 0.2, 1.0);
    add("embeddings.LayerNorm.bias".into(), vec![h], 0.1, 0.0);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (name, out_f, in_f) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", f, h),
            ("output.dense", h, f),
        ] {
            let scale = 1.5 / (in_f as f32).sqrt();
            add(format!("{p}.{name}.weight"), vec![out_f, in_f], scale, 0.0);
            add(format!("{p}.{name}.bias"), vec![out_f], 0.1, 0.0);
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(format!("{p}.{norm}.weight"), vec![h], 0.2, 1.0);
            add(format!("{p}.{norm}.bias"), vec![h], 0.1, 0.0);
        }
    }
    // A masked-LM head the encoder does not use.
    add(
        "cls.predictions.bias".into(),
        vec![TINY_VOCAB_ROWS],
        0.1,
        0.0,
    );
    out
}

/// Writes the tiny model to `dir` with `tensors` and `config`.
fn write_tiny_with(dir: &Path, config: &Value, tensors: &[Tensor]) {
    std::fs::create_dir_all(dir).unwrap();
    write_json(&dir.join("config.json"), config);
    write_json(
        &dir.join("tokenizer.json"),
        &wordpiece_tokenizer(TINY_VOCAB),
    );
    write_safetensors(&dir.join("model.safetensors"), tensors);
}

fn write_tiny(dir: &Path) {
    write_tiny_with(dir, &tiny_config(), &tiny_tensors());
}

/// Writes to `dir` the encoder of layers 0-2 of the MiniLM folder `minilm`:
/// its `config.json` with `num_hidden_layers: 3`, the tensors of the
/// embeddings and of layers 0-2 (pooler included), its `tokenizer.json`.
fn write_minilm_l3_to(minilm: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(minilm.join("config.json")).unwrap())
            .unwrap();
    config["num_hidden_layers"] = json!(3);
    write_json(&dir.join("config.json"), &config);
    std::fs::copy(minilm.join("tokenizer.json"), dir.join("tokenizer.json")).unwrap();
    let bytes = std::fs::read(minilm.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let dropped = |name: &str| (3..6).any(|l| name.starts_with(&format!("encoder.layer.{l}.")));
    let kept: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(name, _)| !dropped(name))
        .collect();
    assert_eq!(
        kept.len(),
        st.len() - 3 * 16,
        "16 tensors per layer dropped"
    );
    safetensors::serialize_to_file(kept, None, &dir.join("model.safetensors")).unwrap();
}

// ---------------------------------------------------------------------------
// The numpy references.

/// Checks every embedding and the recorded heads' Q/K/V against `r`.
fn matches_reference(m: &BertEncoder, r: &NumpyReference) {
    assert!(!r.embeddings.is_empty() && r.heads.len() == 2);
    for (ids, want) in r.token_ids.iter().zip(&r.embeddings) {
        let got = m.embed_ids(ids).unwrap();
        assert_eq!(got.len(), m.hidden());
        let diff = max_abs_diff(&got, want);
        assert!(diff < TOLERANCE, "{ids:?}: embedding differs by {diff}");
    }
    let f = m.forward(&r.token_ids[0]).unwrap();
    assert_eq!(
        (r.heads[1].layer, r.heads[1].head),
        (m.layers() - 1, m.heads() - 1)
    );
    for h in &r.heads {
        let qkv = &f.qkv[h.layer];
        for (arr, want) in [(&qkv.q, &h.q), (&qkv.k, &h.k), (&qkv.v, &h.v)] {
            for (t, row) in want.iter().enumerate() {
                assert_eq!(row.len(), m.head_dim());
                let diff = max_abs_diff(arr.slice(s![h.head, t, ..]), row);
                assert!(
                    diff < TOLERANCE,
                    "l{}h{} token {t}: {diff}",
                    h.layer,
                    h.head
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The tiny random BERT: no download needed.

const SENTENCES: [&str; 3] = [
    "Hello world!",
    "A man is playing the guitar on the street.",
    "Sparse attention prunes keys in memory before the accelerator fetches them.",
];

#[test]
fn tiny_bert_takes_its_shape_from_config_json() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path());
    let m = BertEncoder::load(dir.path()).unwrap();
    assert_eq!(
        (
            m.layers(),
            m.heads(),
            m.head_dim(),
            m.hidden(),
            m.max_tokens()
        ),
        (2, 2, 16, 32, 40)
    );
    assert_eq!((m.cls_id(), m.sep_id()), (2, 3));
    let ids = m.tokenize(SENTENCES[1], None).unwrap();
    // [CLS] a man is play ##ing the guitar on the street . [SEP]
    assert_eq!(ids, [2, 10, 20, 14, 23, 24, 11, 21, 16, 11, 22, 5, 3]);
    let f = m.forward(&ids).unwrap();
    assert_eq!(f.qkv.len(), 2);
    for x in &f.qkv {
        assert_eq!(x.q.shape(), [2, ids.len(), 16]);
    }
    let e = m.embed(SENTENCES[1]).unwrap();
    assert_eq!(e.len(), 32);
    let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");

    // The limits come from config.json too.
    let long = "hello world ".repeat(30);
    assert!(matches!(
        m.tokenize(&long, None),
        Err(ModelError::TooManyTokens {
            tokens: 62,
            max: 40
        })
    ));
    assert_eq!(m.tokenize(&long, Some(40)).unwrap().len(), 40);
    let err = m.tokenize("hello", Some(41)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_tokens = 41 is out of range: it must be between 2 and 40"
    );
    assert!(matches!(
        m.forward(&[2, 50, 3]),
        Err(ModelError::Forward(ForwardError::BadTokenId {
            id: 50,
            vocab: 50
        }))
    ));
}

#[test]
fn tiny_bert_matches_numpy() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path());
    let m = BertEncoder::load(dir.path()).unwrap();
    let r = common::numpy_reference("tiny_bert_embeddings.json");
    for (s, ids) in SENTENCES.iter().zip(&r.token_ids) {
        assert_eq!(&m.tokenize(s, None).unwrap(), ids, "{s}");
    }
    matches_reference(&m, &r);
}

/// A spec like specs/tiny.yaml with the tiny model's head_dim of 16.
fn tiny16_spec(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("specs/tiny.yaml")).unwrap();
    assert!(text.contains("head_dim: 8"));
    let text = text
        .replace("name: tiny", "name: tiny16")
        .replace("head_dim: 8", "head_dim: 16");
    let path = dir.join("tiny16.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn tiny_bert_traces_and_simulates_with_a_spec_of_its_head_dim() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_tiny(&model);
    let npz = dir.path().join("tiny.npz");
    let out = sprint_rtl(&[
        "trace",
        "--model",
        path_str(&model),
        "--text",
        "tests/data/passage.txt",
        "--max-tokens",
        "32",
        "-o",
        path_str(&npz),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("32 tokens, 4 heads"), "{}", text(&out));
    let t = Trace::read_npz(&npz).unwrap();
    assert_eq!(t.heads_per_layer, 2);
    let ids: Vec<_> = t
        .heads
        .iter()
        .map(|h| (h.layer, h.head, h.head_id))
        .collect();
    assert_eq!(ids, [(0, 0, 0), (0, 1, 1), (1, 0, 16), (1, 1, 17)]);
    assert!(t.heads.iter().all(|h| h.q.dim() == (32, 16)));

    // A spec of another head_dim is refused, naming both sizes.
    let out = sprint_rtl(&["simulate", "specs/tiny.yaml", "--trace", path_str(&npz)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("head_dim 16, the spec's attention.head_dim is 8"),
        "{}",
        text(&out)
    );
    let spec = tiny16_spec(dir.path());
    let out = sprint_rtl(&["simulate", path_str(&spec), "--trace", path_str(&npz)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("l1h1"), "{}", text(&out));

    // A head the model does not have is refused before anything is written.
    let bad = dir.path().join("bad.npz");
    let out = sprint_rtl(&[
        "trace",
        "--model",
        path_str(&model),
        "--text",
        "tests/data/passage.txt",
        "--head",
        "2:0",
        "-o",
        path_str(&bad),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--head 2:0: the model has layers 0..2 and heads 0..2"),
        "{}",
        text(&out)
    );
    assert!(!bad.exists());
}

#[test]
fn tiny_bert_runs_with_golden_model_attention() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path());
    let m = BertEncoder::load(dir.path()).unwrap();
    let spec_path = tiny16_spec(dir.path());
    let spec = Spec::parse(
        &spec_path.display().to_string(),
        &std::fs::read_to_string(&spec_path).unwrap(),
    )
    .unwrap();
    let d = Derived::from_spec(&spec);
    let ids: Vec<Vec<u32>> = SENTENCES
        .iter()
        .map(|s| m.tokenize(s, None).unwrap())
        .collect();
    let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let calib = Calibration::collect(&m, &d, &all, &|| ()).unwrap();
    let layers = calib.layer_thresholds(&d, 0.9);
    assert_eq!(layers.len(), 2);
    let table = calib.head_table(&layers);
    assert_eq!((table.len(), table[0].len()), (2, 2));
    let run = |mode| {
        let a = Attention::Golden {
            d: Box::new(d.clone()),
            mode,
            thresholds: table.clone(),
        };
        eval::embed_all(&m, &a, &all, &|| ()).unwrap()
    };
    let tokens: u64 = ids.iter().map(|t| t.len() as u64).sum();
    let (base, base_stats) = run(Mode::Baseline);
    assert_eq!(
        base_stats.queries,
        tokens * 2 * 2,
        "every query of 2 × 2 heads"
    );
    assert_eq!(base_stats.kept, base_stats.allowed);
    let (exact, _) = eval::embed_all(&m, &Attention::Exact, &all, &|| ()).unwrap();
    for (a, b) in base.iter().zip(&exact) {
        assert_eq!(a.len(), 32);
        let cos = eval::probe::cosine(a, b);
        assert!(cos > 0.98, "baseline embedding cosine {cos}");
    }
    let (_, stats) = run(Mode::Sprint);
    assert!(stats.kept < stats.allowed && stats.kept > 0, "{stats:?}");
}

#[test]
#[ignore = "needs the task data (SPRINT_RTL_EVAL_DATA)"]
fn tiny_bert_evaluates_within_its_positions() {
    let data = common::eval_data_dir();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_tiny(&model);
    // seq_len 64 exceeds the model's 40 positions: the model's limit holds.
    let spec = tiny16_spec(dir.path());
    let yaml = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, yaml.replace("seq_len: 32", "seq_len: 64")).unwrap();
    let out = sprint_rtl(&[
        "eval",
        path_str(&spec),
        "--task",
        "lee",
        "--limit",
        "4",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    for row in [
        "truncated to 40 tokens (the model's max_position_embeddings)",
        "layers 0-1:",
        "sprint, crossbar noise on",
    ] {
        assert!(text(&out).contains(row), "no `{row}` in:\n{}", text(&out));
    }
}

#[test]
fn eval_refuses_a_spec_of_another_head_dim_before_loading_data() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path());
    let out = sprint_rtl(&[
        "eval",
        "specs/minilm.yaml",
        "--task",
        "lee",
        "--model",
        path_str(dir.path()),
        "--data",
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("spec `minilm` has attention.head_dim 32")
            && msg
                .contains("has heads of 16 (config.json: hidden_size 32 / num_attention_heads 2)"),
        "{msg}"
    );
}

#[test]
fn head_ids_are_distinct_and_minilm_keeps_its_own() {
    use sprint_rtl::trace::{check_head_ids, head_id};
    // Up to 16 heads per layer: 16 · layer + head, as for all-MiniLM-L6-v2.
    assert_eq!(head_id(5, 11, 12), 91);
    assert_eq!(head_id(1, 1, 2), 17);
    // More heads widen the head field: 20 heads take 5 bits.
    assert_eq!(head_id(1, 3, 20), 35);
    assert_eq!(head_id(2, 19, 20), 83);
    let mut ids: Vec<u32> = (0..24)
        .flat_map(|l| (0..20).map(move |h| head_id(l, h, 20)))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 24 * 20);
    // The id is 16 bits: 4096 layers of up to 16 heads, 2048 of 32.
    assert!(check_head_ids(4096, 12).is_ok());
    let msg = check_head_ids(2049, 32).unwrap_err().to_string();
    assert_eq!(
        msg,
        "2049 layers of 32 heads do not fit the 16-bit head id (layer · 2^5 + head): at most 2048 layers"
    );
}

// ---------------------------------------------------------------------------
// Errors: each names the file, the field or tensor, what was found and what
// is supported.

fn load_err(dir: &Path) -> String {
    match BertEncoder::load(dir) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{} loaded", dir.display()),
    }
}

#[test]
fn a_missing_config_json_is_named() {
    let dir = tempfile::tempdir().unwrap();
    write_tiny(dir.path());
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    let msg = load_err(dir.path());
    assert!(
        msg.starts_with(&format!(
            "missing model file {}",
            dir.path().join("config.json").display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("config.json, model.safetensors and tokenizer.json"),
        "{msg}"
    );
}

#[test]
fn an_unsupported_model_type_is_named_with_the_supported_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config();
    config["model_type"] = json!("distilbert");
    write_tiny_with(dir.path(), &config, &tiny_tensors());
    let msg = load_err(dir.path());
    assert_eq!(
        msg,
        format!(
            "{}: field model_type: \"distilbert\" is not supported (its tensors are \
             `transformer.layer.{{l}}.attention.q_lin`…, with no token types); supported: \"bert\"",
            dir.path().join("config.json").display()
        )
    );

    // And on the command line: exit status 2, no output written.
    let npz = dir.path().join("out.npz");
    let out = sprint_rtl(&[
        "trace",
        "--model",
        path_str(dir.path()),
        "--text",
        "tests/data/passage.txt",
        "-o",
        path_str(&npz),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("field model_type"), "{}", text(&out));
    assert!(!npz.exists());
}

#[test]
fn a_wrong_typed_or_missing_field_is_named() {
    for (field, value, says) in [
        (
            "num_hidden_layers",
            Some(json!("2")),
            "field num_hidden_layers: found \"2\", expected a positive integer",
        ),
        (
            "intermediate_size",
            None,
            "field intermediate_size: missing; it is required (a positive integer)",
        ),
        (
            "hidden_act",
            Some(json!("swish")),
            "field hidden_act: \"swish\" is not supported; supported: \"gelu\", \"gelu_new\", \
             \"gelu_pytorch_tanh\", \"relu\"",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = tiny_config();
        match value {
            Some(v) => config[field] = v,
            None => {
                config.as_object_mut().unwrap().remove(field);
            }
        }
        write_tiny_with(dir.path(), &config, &tiny_tensors());
        let msg = load_err(dir.path());
        assert!(msg.contains("config.json: "), "{msg}");
        assert!(msg.contains(says), "{msg}");
    }
}

#[test]
fn a_tensor_of_the_wrong_shape_is_named_with_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = tiny_tensors();
    let t = tensors
        .iter_mut()
        .find(|t| t.name == "bert.encoder.layer.1.attention.self.key.weight")
        .unwrap();
    t.shape = vec![16, 64];
    write_tiny_with(dir.path(), &tiny_config(), &tensors);
    assert_eq!(
        load_err(dir.path()),
        format!(
            "{}: tensor bert.encoder.layer.1.attention.self.key.weight: shape [16, 64], \
             expected [32, 32] (from config.json)",
            dir.path().join("model.safetensors").display()
        )
    );
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = tiny_tensors();
    tensors.retain(|t| t.name != "bert.encoder.layer.1.output.LayerNorm.bias");
    write_tiny_with(dir.path(), &tiny_config(), &tensors);
    assert_eq!(
        load_err(dir.path()),
        format!(
            "{}: tensor bert.encoder.layer.1.output.LayerNorm.bias: not found (expected shape [32], F32)",
            dir.path().join("model.safetensors").display()
        )
    );

    // More layers in config.json than in the file: the first missing one.
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config();
    config["num_hidden_layers"] = json!(3);
    write_tiny_with(dir.path(), &config, &tiny_tensors());
    let msg = load_err(dir.path());
    assert!(
        msg.ends_with(
            "tensor bert.encoder.layer.2.attention.self.query.weight: not found (expected shape [32, 32], F32)"
        ),
        "{msg}"
    );

    // A file that is not a BERT checkpoint at all.
    let dir = tempfile::tempdir().unwrap();
    write_tiny_with(dir.path(), &tiny_config(), &tiny_tensors()[1..]);
    let msg = load_err(dir.path());
    assert!(
        msg.contains(
            "tensor embeddings.word_embeddings.weight: not found, neither as \
             embeddings.word_embeddings.weight nor as bert.embeddings.word_embeddings.weight"
        ),
        "{msg}"
    );
}

#[test]
fn a_tokenizer_larger_than_the_embeddings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config();
    config["vocab_size"] = json!(40);
    let mut tensors = tiny_tensors();
    tensors[0].shape = vec![40, 32];
    tensors[0].values.truncate(40 * 32);
    write_tiny_with(dir.path(), &config, &tensors);
    let msg = load_err(dir.path());
    assert!(
        msg.contains(
            "vocabulary of 48 tokens, more than the 40 rows of the word embeddings (config.json vocab_size)"
        ),
        "{msg}"
    );
}

/// Writes the tiny model to `target/tiny_bert`, for `minilm_reference.py`,
/// and checks that `tests/reference/tiny_bert_inputs.json` holds the token ids
/// of [`SENTENCES`] (`SPRINT_RTL_WRITE_REFERENCES=1` rewrites it).
#[test]
fn write_tiny_bert() {
    let dir = root().join("target/tiny_bert");
    write_tiny(&dir);
    let m = BertEncoder::load(&dir).unwrap();
    let ids: Vec<Vec<u32>> = SENTENCES
        .iter()
        .map(|s| m.tokenize(s, None).unwrap())
        .collect();
    let json = json!({ "sentences": SENTENCES, "token_ids": ids });
    common::check_or_write(
        &root().join("tests/reference/tiny_bert_inputs.json"),
        &(serde_json::to_string_pretty(&json).unwrap() + "\n"),
    );
}

// ---------------------------------------------------------------------------
// Three layers of all-MiniLM-L6-v2.

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn minilm_cut_to_three_layers_is_its_first_three_layers() {
    let minilm = common::minilm_dir();
    let dir = tempfile::tempdir().unwrap();
    write_minilm_l3_to(&minilm, dir.path());
    let six = BertEncoder::load(&minilm).unwrap();
    let three = BertEncoder::load(dir.path()).unwrap();
    assert_eq!(
        (three.layers(), three.heads(), three.head_dim()),
        (3, 12, 32)
    );
    let ids = six.tokenize(SENTENCES[2], None).unwrap();
    assert_eq!(three.tokenize(SENTENCES[2], None).unwrap(), ids);
    let (a, b) = (six.forward(&ids).unwrap(), three.forward(&ids).unwrap());
    assert_eq!(b.qkv.len(), 3);
    for (l, (x, y)) in a.qkv.iter().zip(&b.qkv).enumerate() {
        assert_eq!((&x.q, &x.k, &x.v), (&y.q, &y.k, &y.v), "layer {l}");
    }
    // The input of layer 3 is the output of layer 2: its queries follow.
    assert_ne!(a.last_hidden, b.last_hidden);

    matches_reference(
        &three,
        &common::numpy_reference("minilm_l3_embeddings.json"),
    );
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn minilm_cut_to_three_layers_traces_calibrates_and_evaluates() {
    let minilm = common::minilm_dir();
    let data = common::eval_data_dir();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    write_minilm_l3_to(&minilm, &model);

    let npz = dir.path().join("l3.npz");
    let out = sprint_rtl(&[
        "trace",
        "--model",
        path_str(&model),
        "--text",
        "tests/data/passage.txt",
        "--max-tokens",
        "64",
        "-o",
        path_str(&npz),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = Trace::read_npz(&npz).unwrap();
    assert_eq!((t.heads.len(), t.heads_per_layer), (36, 12));
    assert_eq!(t.heads.last().unwrap().head_id, 2 * 16 + 11);

    let common = [
        "--task",
        "trec",
        "--limit",
        "5",
        "--calibration-texts",
        "4",
        "--model",
        path_str(&model),
        "--data",
        path_str(&data),
    ];
    let thresholds = dir.path().join("l3.thresholds.json");
    let mut args = vec!["calibrate", "specs/minilm.yaml"];
    args.extend(common);
    args.extend(["--masses", "1,0.9", "-o", path_str(&thresholds)]);
    let out = sprint_rtl(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("thresholds, layers 0-2"),
        "{}",
        text(&out)
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&thresholds).unwrap()).unwrap();
    assert_eq!(file["heads"].as_array().unwrap().len(), 36);

    let mut args = vec!["eval", "specs/minilm.yaml"];
    args.extend(common);
    args.extend(["--thresholds", path_str(&thresholds)]);
    let out = sprint_rtl(&args);
    assert!(out.status.success(), "{}", text(&out));
    for row in [
        "layers 0-2:",
        "exact float attention",
        "sprint, crossbar noise on",
    ] {
        assert!(text(&out).contains(row), "no `{row}` in:\n{}", text(&out));
    }
}

/// Writes the 3-layer cut of MiniLM to `target/minilm_l3`, for
/// `minilm_reference.py`.
#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn write_minilm_l3() {
    let minilm = common::minilm_dir();
    let dir = root().join("target/minilm_l3");
    write_minilm_l3_to(&minilm, &dir);
    eprintln!("wrote {}", dir.display());
}
