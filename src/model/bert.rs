//! The BERT encoder's forward pass, exact attention, and pooling.

use ndarray::{Array2, Array3, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::golden::reference::{Base, softmax_in_place};

use super::matmul::matmul;
use super::weights::{LayerNorm, Linear, Weights};
use super::{BertConfig, Forward, ForwardError, LayerQkv, ModelError};

/// Exact scaled dot-product attention of one head:
/// `softmax(q·kᵀ/√d)·v`, row-wise softmax, `d` being `q`'s column count
/// (the model's head_dim; 32 for all-MiniLM-L6-v2).
///
/// `q` is `n × d` (queries × head dimension), `k` is `m × d`, `v` is
/// `m × dv`; the result is the `n × dv` context. No mask is applied. The
/// scores, products and exponentials are `f32`; each row of scores is
/// turned into probabilities in place by
/// [`crate::golden::reference::softmax_in_place`] (the scale applied after
/// the row's maximum is subtracted, the normaliser summed in `f64`).
///
/// # Panics
///
/// If the shapes do not agree (`k` and `q` must have the same columns, `k`
/// and `v` the same rows).
pub fn exact_attention(
    q: &ArrayView2<f32>,
    k: &ArrayView2<f32>,
    v: &ArrayView2<f32>,
) -> Array2<f32> {
    assert_eq!(q.ncols(), k.ncols(), "q and k differ in head dimension");
    assert_eq!(k.nrows(), v.nrows(), "k and v differ in token count");
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    let mut p = matmul(q, &k.t(), false);
    for row in p.rows_mut() {
        let row = row.into_slice().expect("a standard-layout score matrix");
        softmax_in_place(row, scale, Base::E);
    }
    matmul(&p.view(), v, false)
}

/// The attention function of a forward pass: [`exact_attention`] on every
/// head, the heads of a layer in parallel on rayon's pool; or the caller's
/// function, called layer by layer and head by head in order.
#[allow(clippy::type_complexity)]
pub(super) enum Attend<'a> {
    /// [`exact_attention`], heads in parallel.
    Exact,
    /// `attend(layer, head, q, k, v)`, in order.
    With(
        &'a mut dyn FnMut(
            usize,
            usize,
            &ArrayView2<f32>,
            &ArrayView2<f32>,
            &ArrayView2<f32>,
        ) -> Array2<f32>,
    ),
}

/// The forward pass over each id list of `texts`; see
/// [`super::BertEncoder::forward_batch`] and
/// [`super::BertEncoder::forward_with`] (which passes one text).
///
/// The texts' rows are stacked into one `Σn × hidden` matrix for the
/// embeddings, the linear layers, GELU and LayerNorm, which treat rows
/// independently; attention runs per text and head.
pub(super) fn forward(
    c: &BertConfig,
    w: &Weights,
    texts: &[&[u32]],
    mut attend: Attend,
) -> Result<Vec<Forward>, ModelError> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    for ids in texts {
        if ids.is_empty() {
            return Err(ForwardError::NoTokens.into());
        }
        if ids.len() > c.max_positions {
            return Err(ModelError::TooManyTokens {
                tokens: ids.len(),
                max: c.max_positions,
            });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= c.vocab) {
            return Err(ForwardError::BadTokenId { id, vocab: c.vocab }.into());
        }
    }
    // Text t owns rows rows[t]..rows[t + 1] of the stacked matrices.
    let rows: Vec<usize> = std::iter::once(0)
        .chain(texts.iter().scan(0, |end, ids| {
            *end += ids.len();
            Some(*end)
        }))
        .collect();
    let total = rows[texts.len()];
    let d = c.head_dim();

    // Embeddings: word + position + token type 0, then LayerNorm.
    let mut h = Array2::<f32>::zeros((total, c.hidden));
    for (t, ids) in texts.iter().enumerate() {
        for (i, &id) in ids.iter().enumerate() {
            let mut row = h.row_mut(rows[t] + i);
            row.assign(&w.word.row(id as usize));
            row += &w.position.row(i);
            row += &w.token_type0;
        }
    }
    layer_norm(&mut h, &w.embed_norm, c.layer_norm_eps);

    let mut qkv: Vec<Vec<LayerQkv>> = texts.iter().map(|_| Vec::with_capacity(c.layers)).collect();
    for (l, layer) in w.layers.iter().enumerate() {
        // One product for the three projections: query, key and value
        // columns side by side.
        let qkv_rows = linear(&h, &layer.qkv);
        let of_text = |part: usize, t: usize| {
            let cols = part * c.hidden..(part + 1) * c.hidden;
            split_heads(qkv_rows.slice(s![rows[t]..rows[t + 1], cols]), c.heads)
        };
        let split: Vec<LayerQkv> = (0..texts.len())
            .map(|t| LayerQkv {
                q: of_text(0, t),
                k: of_text(1, t),
                v: of_text(2, t),
            })
            .collect();

        fn head(x: &Array3<f32>, j: usize) -> ArrayView2<'_, f32> {
            x.index_axis(Axis(0), j)
        }
        let pairs: Vec<(usize, usize)> = (0..texts.len())
            .flat_map(|t| (0..c.heads).map(move |j| (t, j)))
            .collect();
        let contexts: Vec<Array2<f32>> = match &mut attend {
            Attend::Exact => pairs
                .par_iter()
                .map(|&(t, j)| {
                    let x = &split[t];
                    exact_attention(&head(&x.q, j), &head(&x.k, j), &head(&x.v, j))
                })
                .collect(),
            Attend::With(f) => pairs
                .iter()
                .map(|&(t, j)| {
                    let x = &split[t];
                    let ctx = f(l, j, &head(&x.q, j), &head(&x.k, j), &head(&x.v, j));
                    let n = texts[t].len();
                    if ctx.shape() == [n, d] {
                        Ok(ctx)
                    } else {
                        Err(ForwardError::AttentionShape {
                            layer: l,
                            head: j,
                            expected: [n, d],
                            got: ctx.shape().to_vec(),
                        })
                    }
                })
                .collect::<Result<_, _>>()?,
        };
        let mut context = Array2::<f32>::zeros((total, c.hidden));
        for (&(t, j), ctx) in pairs.iter().zip(&contexts) {
            context
                .slice_mut(s![rows[t]..rows[t + 1], j * d..(j + 1) * d])
                .assign(ctx);
        }

        // Attention output projection, residual, LayerNorm.
        let mut a = linear(&context, &layer.attn_out);
        a += &h;
        layer_norm(&mut a, &layer.attn_norm, c.layer_norm_eps);

        // Feed-forward with the config's activation, residual, LayerNorm.
        let mut f = linear(&a, &layer.up);
        rows_in_parallel(&mut f, |row| {
            for x in row {
                *x = c.activation.apply(*x);
            }
        });
        let mut out = linear(&f, &layer.down);
        out += &a;
        layer_norm(&mut out, &layer.out_norm, c.layer_norm_eps);

        h = out;
        for (layers, x) in qkv.iter_mut().zip(split) {
            layers.push(x);
        }
    }
    Ok(qkv
        .into_iter()
        .enumerate()
        .map(|(t, qkv)| Forward {
            last_hidden: h.slice(s![rows[t]..rows[t + 1], ..]).to_owned(),
            qkv,
        })
        .collect())
}

/// `x·Wᵀ + b` for `x` of `n × in`, giving `n × out`.
fn linear(x: &Array2<f32>, l: &Linear) -> Array2<f32> {
    let mut y = matmul(&x.view(), &l.w_t.view(), true);
    y += &l.b;
    y
}

/// `n × hidden` to `heads × n × d` (heads × tokens × head dimension,
/// `d = hidden / heads`), head `j` taking columns `d·j … d·j + d − 1`.
fn split_heads(x: ArrayView2<f32>, heads: usize) -> Array3<f32> {
    let (n, d) = (x.nrows(), x.ncols() / heads);
    let mut out = Array3::<f32>::zeros((heads, n, d));
    for (j, mut head) in out.outer_iter_mut().enumerate() {
        head.assign(&x.slice(s![.., j * d..(j + 1) * d]));
    }
    out
}

/// Calls `f` on every row of the standard-layout `x`, the rows split
/// among rayon's threads.
fn rows_in_parallel(x: &mut Array2<f32>, f: impl Fn(&mut [f32]) + Sync + Send) {
    let cols = x.ncols().max(1);
    x.as_slice_mut()
        .expect("a standard-layout matrix")
        .par_chunks_mut(cols)
        .for_each(f);
}

/// In-place LayerNorm of each row: `(x − mean)/√(var + eps)·γ + β`, the
/// variance being the biased (population) one; statistics in `f64`.
fn layer_norm(x: &mut Array2<f32>, norm: &LayerNorm, eps: f64) {
    rows_in_parallel(x, |row| {
        let len = row.len() as f64;
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / len;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / len;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
            *v = ((*v as f64 - mean) * inv * g as f64 + b as f64) as f32;
        }
    });
}

/// Mean over the rows of `hidden` (`n × hidden`), then division by
/// `max(‖mean‖₂, 1e-12)` as in PyTorch's `F.normalize`; sums in `f64`.
pub(super) fn mean_pool_normalise(hidden: &Array2<f32>) -> Vec<f32> {
    let n = hidden.nrows() as f64;
    let mean: Vec<f64> = hidden
        .columns()
        .into_iter()
        .map(|c| c.iter().map(|&v| v as f64).sum::<f64>() / n)
        .collect();
    let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
    mean.iter().map(|v| (v / norm) as f32).collect()
}
