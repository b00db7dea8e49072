//! Loading the BERT weights from `model.safetensors`, checking the type and
//! the shape of every tensor against `config.json`.
//!
//! Tensor names follow `transformers`' `BertModel`
//! (`embeddings.word_embeddings.weight`,
//! `encoder.layer.{l}.attention.self.query.weight`, …). Checkpoints of the
//! `BertFor…` classes store the same tensors under a leading `bert.`; the
//! prefix is the one under which `embeddings.word_embeddings.weight` is
//! found.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors};

use super::{BertConfig, ModelError};

/// The prefixes tried, in order, before the `BertModel` tensor names.
const PREFIXES: [&str; 2] = ["", "bert."];

/// A linear layer `y = x·Wᵀ + b`.
pub(super) struct Linear {
    /// Weight transposed once at load, `in × out` (PyTorch stores `W` as
    /// `out × in`), in standard layout.
    pub w_t: Array2<f32>,
    /// Bias, `out`.
    pub b: Array1<f32>,
}

impl Linear {
    /// The linear layers `parts` (of equal input size) as one, their
    /// outputs side by side in order.
    fn side_by_side(parts: &[Linear]) -> Linear {
        let w: Vec<_> = parts.iter().map(|l| l.w_t.view()).collect();
        let b: Vec<_> = parts.iter().map(|l| l.b.view()).collect();
        Linear {
            w_t: ndarray::concatenate(ndarray::Axis(1), &w).expect("equal input sizes"),
            b: ndarray::concatenate(ndarray::Axis(0), &b).expect("vectors"),
        }
    }
}

/// A LayerNorm's affine parameters, each `hidden` long.
pub(super) struct LayerNorm {
    /// Scale γ.
    pub gamma: Array1<f32>,
    /// Shift β.
    pub beta: Array1<f32>,
}

/// One encoder layer.
pub(super) struct Layer {
    /// The query, key and value projections side by side, one product:
    /// `hidden × 3·hidden` (query columns, then key, then value), their
    /// biases likewise.
    pub qkv: Linear,
    /// Attention output projection, `hidden × hidden`.
    pub attn_out: Linear,
    /// LayerNorm after the attention's residual sum.
    pub attn_norm: LayerNorm,
    /// Feed-forward up projection, `intermediate × hidden`.
    pub up: Linear,
    /// Feed-forward down projection, `hidden × intermediate`.
    pub down: Linear,
    /// LayerNorm after the feed-forward's residual sum.
    pub out_norm: LayerNorm,
}

/// All the weights the forward pass uses.
pub(super) struct Weights {
    /// Word embeddings, `vocab × hidden`.
    pub word: Array2<f32>,
    /// Position embeddings, `max_positions × hidden`.
    pub position: Array2<f32>,
    /// Row 0 of the token type embeddings (every token has type 0),
    /// `hidden`.
    pub token_type0: Array1<f32>,
    /// LayerNorm of the embeddings.
    pub embed_norm: LayerNorm,
    /// The encoder layers, `layers` of them.
    pub layers: Vec<Layer>,
}

impl Weights {
    /// Reads `model.safetensors` at `path` and checks every tensor the
    /// forward pass uses against the shape in `c`.
    pub fn load(path: &Path, c: &BertConfig) -> Result<Weights, ModelError> {
        if !path.is_file() {
            return Err(ModelError::MissingFile {
                path: path.to_path_buf(),
            });
        }
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|source| ModelError::Safetensors {
            path: path.to_path_buf(),
            source,
        })?;
        let word = "embeddings.word_embeddings.weight";
        let prefix = PREFIXES
            .into_iter()
            .find(|p| st.tensor(&format!("{p}{word}")).is_ok())
            .ok_or_else(|| ModelError::BadTensor {
                path: path.to_path_buf(),
                name: word.to_string(),
                reason: format!(
                    "not found, neither as {} (is this a BERT checkpoint?)",
                    PREFIXES
                        .iter()
                        .map(|p| format!("{p}{word}"))
                        .collect::<Vec<_>>()
                        .join(" nor as ")
                ),
            })?;
        let st = Store {
            st: &st,
            path: path.to_path_buf(),
            prefix,
            hidden: c.hidden,
        };

        let (h, f) = (c.hidden, c.intermediate);
        let token_type = st.matrix("embeddings.token_type_embeddings.weight", c.type_vocab, h)?;
        let layers = (0..c.layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                Ok(Layer {
                    qkv: Linear::side_by_side(&[
                        st.linear(&format!("{p}.attention.self.query"), h, h)?,
                        st.linear(&format!("{p}.attention.self.key"), h, h)?,
                        st.linear(&format!("{p}.attention.self.value"), h, h)?,
                    ]),
                    attn_out: st.linear(&format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: st.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
                    up: st.linear(&format!("{p}.intermediate.dense"), f, h)?,
                    down: st.linear(&format!("{p}.output.dense"), h, f)?,
                    out_norm: st.layer_norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Weights {
            word: st.matrix(word, c.vocab, h)?,
            position: st.matrix("embeddings.position_embeddings.weight", c.max_positions, h)?,
            token_type0: token_type.row(0).to_owned(),
            embed_norm: st.layer_norm("embeddings.LayerNorm")?,
            layers,
        })
    }
}

/// Typed access to the tensors of a parsed safetensors file.
struct Store<'a, 'data> {
    st: &'a SafeTensors<'data>,
    /// The file, for errors.
    path: PathBuf,
    /// `""` or `"bert."`, put before every `BertModel` tensor name.
    prefix: &'static str,
    /// `hidden_size`, the length of every LayerNorm.
    hidden: usize,
}

impl Store<'_, '_> {
    /// The little-endian `F32` tensor `name` (after the prefix), which must
    /// have `shape`.
    fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let name = format!("{}{name}", self.prefix);
        let bad = |reason: String| ModelError::BadTensor {
            path: self.path.clone(),
            name: name.clone(),
            reason,
        };
        let view = self
            .st
            .tensor(&name)
            .map_err(|_| bad(format!("not found (expected shape {shape:?}, F32)")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("dtype {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape {
            return Err(bad(format!(
                "shape {:?}, expected {:?} (from config.json)",
                view.shape(),
                shape
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.len() != shape.iter().product::<usize>() {
            return Err(bad(format!(
                "{} bytes of data for shape {:?}",
                view.data().len(),
                shape
            )));
        }
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("non-finite value at flat index {i}")));
        }
        Ok(values)
    }

    fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>, ModelError> {
        Ok(Array1::from_vec(self.f32s(name, &[len])?))
    }

    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>, ModelError> {
        let values = self.f32s(name, &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), values).expect("length checked above"))
    }

    fn linear(&self, prefix: &str, out: usize, inp: usize) -> Result<Linear, ModelError> {
        let w = self.matrix(&format!("{prefix}.weight"), out, inp)?;
        Ok(Linear {
            w_t: w.t().as_standard_layout().into_owned(),
            b: self.vector(&format!("{prefix}.bias"), out)?,
        })
    }

    fn layer_norm(&self, prefix: &str) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            gamma: self.vector(&format!("{prefix}.weight"), self.hidden)?,
            beta: self.vector(&format!("{prefix}.bias"), self.hidden)?,
        })
    }
}
