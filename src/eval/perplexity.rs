//! Perplexity of a causal decoder ([`Llama`], e.g. SmolLM2-135M-Instruct)
//! on a text, with exact attention or with every query head replaced by the
//! golden model of a causal spec.
//!
//! # What is measured
//!
//! For token ids `t_0 … t_{n−1}` the model predicts `t_{i+1}` from the
//! logits of position `i`; the mean negative log-likelihood over the
//! `n − 1` predictions is `NLL = −(1/(n−1)) Σ_i log softmax(logits_i)[t_{i+1}]`
//! (log-softmax in `f64`) and the perplexity is `exp(NLL)` (nats, as
//! Hugging Face's `evaluate` and llama.cpp's `perplexity` report it over
//! one window; no sliding window: the whole text is one context).
//!
//! # The golden-model heads
//!
//! Per layer, before its attention, every query head `h` (KV head `g = h /
//! group`) runs through [`crate::golden::stream_head`] exactly as an
//! encoder head does in [`super::embed_one`]: Q of `h` and K, V of `g`
//! after RoPE quantised per tensor to `data_bits`, the SCALE CSR folding
//! `log2(e)/√d · s_q · s_k`, head id [`crate::trace::head_id`] (`16·l + h`
//! for SmolLM2's 9 heads), the crossbar's noisy approximate scores of the
//! keys the causal mask allows, the layer's threshold, fetches with reuse
//! through the buffer, the exact integer recompute and the fixed-point
//! softmax; the output row times `s_v` is the head's context. The layer's
//! heads run in parallel; one layer's contexts are held at a time.

use std::cell::RefCell;

use ndarray::{Array2, Axis, s};
use rayon::prelude::*;
use serde::Serialize;

use super::{Attention, RunStats, golden_head};
use crate::golden::Derived;
use crate::model::{DecoderError, Llama};
use crate::trace::{TraceError, check_head_ids, head_id};

/// Rows of logits computed at once (`LOGIT_ROWS × vocab` floats: 25 MB
/// for SmolLM2's 49152 tokens).
pub const LOGIT_ROWS: usize = 128;

/// Why a spec cannot run a decoder's heads on a text.
#[derive(Debug, thiserror::Error)]
pub enum PerplexityError {
    /// The spec's head size is not the model's.
    #[error(
        "spec `{spec}` has attention.head_dim {spec_dim}, but the model's heads are {model_dim} wide; \
         use a spec with head_dim {model_dim} (specs/smollm2.yaml for SmolLM2)"
    )]
    HeadDim {
        spec: String,
        spec_dim: u32,
        model_dim: usize,
    },
    /// The spec is not causal.
    #[error(
        "spec `{spec}` has attention.causal false; a decoder's heads need a causal spec (specs/smollm2.yaml)"
    )]
    NotCausal { spec: String },
    /// More tokens than the spec's keys.
    #[error(
        "{tokens} tokens exceed spec `{spec}`'s attention.seq_len {seq_len}; \
         lower --max-tokens to at most {seq_len} or use a spec with a longer seq_len"
    )]
    SeqLen {
        spec: String,
        tokens: usize,
        seq_len: u32,
    },
    /// Fewer than two tokens: nothing to predict.
    #[error("{tokens} token(s): perplexity needs at least 2 (a token and its successor)")]
    TooFewTokens { tokens: usize },
    /// The model's heads do not fit the 16-bit head id.
    #[error(transparent)]
    HeadIds(#[from] TraceError),
    /// The model refused the text.
    #[error(transparent)]
    Model(#[from] DecoderError),
}

/// Checks that spec `d` can run every head of `model` on `tokens` tokens.
///
/// # Errors
/// A spec that is not causal, of another head size or shorter `seq_len`;
/// fewer than 2 tokens; a model whose head ids do not fit 16 bits.
pub fn check(d: &Derived, model: &Llama, tokens: usize) -> Result<(), PerplexityError> {
    let c = model.config();
    if c.head_dim != d.head_dim as usize {
        return Err(PerplexityError::HeadDim {
            spec: d.name.clone(),
            spec_dim: d.head_dim,
            model_dim: c.head_dim,
        });
    }
    if !d.causal {
        return Err(PerplexityError::NotCausal {
            spec: d.name.clone(),
        });
    }
    if tokens > d.seq_len as usize {
        return Err(PerplexityError::SeqLen {
            spec: d.name.clone(),
            tokens,
            seq_len: d.seq_len,
        });
    }
    if tokens < 2 {
        return Err(PerplexityError::TooFewTokens { tokens });
    }
    check_head_ids(c.layers, c.heads)?;
    Ok(())
}

/// The perplexity of one run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Perplexity {
    /// Tokens of the text.
    pub tokens: usize,
    /// Mean negative log-likelihood of the `tokens − 1` predictions, nats.
    pub mean_nll: f64,
    /// `exp(mean_nll)`.
    pub perplexity: f64,
    /// Counts over every head (zeros, and kept fraction 1, for exact
    /// attention; `allowed` is the causal triangle per head).
    pub stats: RunStats,
}

impl Perplexity {
    /// Relative change of this perplexity from `exact`, in percent
    /// (positive is worse).
    pub fn change_from(&self, exact: &Perplexity) -> f64 {
        100.0 * (self.perplexity - exact.perplexity) / exact.perplexity
    }
}

/// Runs `model` on `ids` under `attention` and returns the perplexity,
/// calling `tick(layer)` after each layer's attention.
///
/// # Errors
/// See [`check`] (golden attention), and the forward pass's errors.
pub fn perplexity(
    model: &Llama,
    ids: &[u32],
    attention: &Attention,
    tick: &(dyn Fn(usize) + Sync),
) -> Result<Perplexity, PerplexityError> {
    let mut stats = RunStats {
        texts: 1,
        tokens: ids.len() as u64,
        ..RunStats::default()
    };
    let forward = match attention {
        Attention::Exact => model.forward_with(
            ids,
            &mut |l, h, q, k, v| {
                if h + 1 == model.config().heads {
                    tick(l);
                }
                crate::model::causal_attention(q, k, v)
            },
            &mut |_, _| {},
        )?,
        Attention::Golden {
            d,
            mode,
            thresholds,
        } => {
            check(d, model, ids.len())?;
            let c = model.config();
            let contexts: RefCell<Vec<Array2<f32>>> = RefCell::new(Vec::new());
            let mut layer_stats = RunStats::default();
            let f = model.forward_with(
                ids,
                &mut |_, h, _, _, _| std::mem::take(&mut contexts.borrow_mut()[h]),
                &mut |l, qkv| {
                    let heads: Vec<(Array2<f32>, RunStats)> = (0..c.heads)
                        .into_par_iter()
                        .map(|h| {
                            let g = c.kv_head_of(h);
                            golden_head(
                                d,
                                *mode,
                                thresholds[l][h],
                                (l, h, head_id(l, h, c.heads)),
                                &qkv.q.index_axis(Axis(0), h),
                                &qkv.k.index_axis(Axis(0), g),
                                &qkv.v.index_axis(Axis(0), g),
                            )
                        })
                        .collect();
                    let mut ctx = contexts.borrow_mut();
                    ctx.clear();
                    for (c, s) in heads {
                        ctx.push(c);
                        layer_stats = layer_stats.add(s);
                    }
                    tick(l);
                },
            )?;
            stats = stats.add(RunStats {
                texts: 0,
                tokens: 0,
                ..layer_stats
            });
            f
        }
    };
    let mean_nll = mean_nll(model, &forward.hidden, ids);
    Ok(Perplexity {
        tokens: ids.len(),
        mean_nll,
        perplexity: mean_nll.exp(),
        stats,
    })
}

/// Mean negative log-likelihood of `ids[i + 1]` under the logits of
/// `hidden` row `i`, for `i < n − 1`, in blocks of [`LOGIT_ROWS`] rows.
fn mean_nll(model: &Llama, hidden: &Array2<f32>, ids: &[u32]) -> f64 {
    let predictions = ids.len() - 1;
    let mut total = 0.0;
    for r0 in (0..predictions).step_by(LOGIT_ROWS) {
        let r1 = (r0 + LOGIT_ROWS).min(predictions);
        let logits = model.logits_rows(&hidden.slice(s![r0..r1, ..]));
        for (b, row) in logits.outer_iter().enumerate() {
            let target = ids[r0 + b + 1] as usize;
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
            let sum: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
            total += sum.ln() - f64::from(row[target] - max);
        }
    }
    total / predictions as f64
}
