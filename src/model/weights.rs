//! Loading the BERT weights from `model.safetensors`, checking the type and
//! shape of every tensor.

use std::path::Path;

use ndarray::{Array1, Array2};
use safetensors::{Dtype, SafeTensors};

use super::{MiniLm, ModelError};

/// A linear layer `y = x·Wᵀ + b`.
pub(super) struct Linear {
    /// Weight in PyTorch's layout, `out × in`.
    pub w: Array2<f32>,
    /// Bias, `out`.
    pub b: Array1<f32>,
}

/// A LayerNorm's affine parameters, each `HIDDEN` long.
pub(super) struct LayerNorm {
    /// Scale γ.
    pub gamma: Array1<f32>,
    /// Shift β.
    pub beta: Array1<f32>,
}

/// One encoder layer.
pub(super) struct Layer {
    /// Query projection, `384 × 384`.
    pub query: Linear,
    /// Key projection, `384 × 384`.
    pub key: Linear,
    /// Value projection, `384 × 384`.
    pub value: Linear,
    /// Attention output projection, `384 × 384`.
    pub attn_out: Linear,
    /// LayerNorm after the attention's residual sum.
    pub attn_norm: LayerNorm,
    /// Feed-forward up projection, `1536 × 384`.
    pub up: Linear,
    /// Feed-forward down projection, `384 × 1536`.
    pub down: Linear,
    /// LayerNorm after the feed-forward's residual sum.
    pub out_norm: LayerNorm,
}

/// All the weights the forward pass uses.
pub(super) struct Weights {
    /// Word embeddings, `30522 × 384`.
    pub word: Array2<f32>,
    /// Position embeddings, `512 × 384`.
    pub position: Array2<f32>,
    /// Row 0 of the token type embeddings (every token has type 0), `384`.
    pub token_type0: Array1<f32>,
    /// LayerNorm of the embeddings.
    pub embed_norm: LayerNorm,
    /// The encoder layers, `LAYERS` of them.
    pub layers: Vec<Layer>,
}

impl Weights {
    /// Reads and checks `model.safetensors` at `path`.
    pub fn load(path: &Path) -> Result<Weights, ModelError> {
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
        let st = Store { st: &st };

        const H: usize = MiniLm::HIDDEN;
        const F: usize = MiniLm::INTERMEDIATE;
        let token_type = st.matrix("embeddings.token_type_embeddings.weight", 2, H)?;
        let layers = (0..MiniLm::LAYERS)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                Ok(Layer {
                    query: st.linear(&format!("{p}.attention.self.query"), H, H)?,
                    key: st.linear(&format!("{p}.attention.self.key"), H, H)?,
                    value: st.linear(&format!("{p}.attention.self.value"), H, H)?,
                    attn_out: st.linear(&format!("{p}.attention.output.dense"), H, H)?,
                    attn_norm: st.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
                    up: st.linear(&format!("{p}.intermediate.dense"), F, H)?,
                    down: st.linear(&format!("{p}.output.dense"), H, F)?,
                    out_norm: st.layer_norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Weights {
            word: st.matrix("embeddings.word_embeddings.weight", MiniLm::VOCAB, H)?,
            position: st.matrix(
                "embeddings.position_embeddings.weight",
                MiniLm::MAX_TOKENS,
                H,
            )?,
            token_type0: token_type.row(0).to_owned(),
            embed_norm: st.layer_norm("embeddings.LayerNorm")?,
            layers,
        })
    }
}

/// Typed access to the tensors of a parsed safetensors file.
struct Store<'a, 'data> {
    st: &'a SafeTensors<'data>,
}

impl Store<'_, '_> {
    /// The little-endian `F32` tensor `name`, which must have `shape`.
    fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let bad = |reason: String| ModelError::BadTensor {
            name: name.to_string(),
            reason,
        };
        let view = self
            .st
            .tensor(name)
            .map_err(|e| bad(format!("not found ({e})")))?;
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("dtype {:?}, expected F32", view.dtype())));
        }
        if view.shape() != shape {
            return Err(bad(format!(
                "shape {:?}, expected {:?}",
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
        Ok(Linear {
            w: self.matrix(&format!("{prefix}.weight"), out, inp)?,
            b: self.vector(&format!("{prefix}.bias"), out)?,
        })
    }

    fn layer_norm(&self, prefix: &str) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            gamma: self.vector(&format!("{prefix}.weight"), MiniLm::HIDDEN)?,
            beta: self.vector(&format!("{prefix}.bias"), MiniLm::HIDDEN)?,
        })
    }
}
