//! Per-layer THRESHOLD CSR values from calibration text.
//!
//! On calibration texts run through the exact model, every head's
//! crossbar approximate scores (quantised Q and K, the spec's noise,
//! [`crate::eval::calibrate::approximate_scores`]) are histogrammed
//! together with the exact softmax probability of each (query, key) pair
//! ([`crate::eval::calibrate::probabilities`]). For a keep-mass target M,
//! layer l's threshold is the largest T such that the mean over the layer's
//! queries (all texts, all the layer's heads) of the softmax mass of the keys whose
//! approximate score is ≥ T is at least M. One value serves every head of
//! the layer, as SPRINT uses one threshold per layer; M = 1 gives the
//! smallest threshold (every key kept).

use rayon::prelude::*;

use ndarray::{ArrayView2, Axis, s};

use crate::eval::calibrate::{self, HeadThreshold, Target, Thresholds, approximate_scores};
use crate::golden::Derived;
use crate::golden::crossbar::{self, Crossbar};
use crate::golden::reference::{Base, softmax_in_place};
use crate::model::{BertEncoder, DecoderError, Llama, ModelError, ROW_BLOCK, causal_attention};
use crate::trace::{Trace, head_id, quantise};

use super::HeadThresholds;

/// Per-score sums of one head: softmax mass and pair count, indexed by
/// approximate score − `lo`.
#[derive(Debug, Clone, Default)]
struct Histogram {
    lo: i64,
    mass: Vec<f64>,
    count: Vec<u64>,
    queries: u64,
    pairs: u64,
}

impl Histogram {
    fn add(&mut self, score: i64, p: f64) {
        if self.mass.is_empty() {
            self.lo = score;
        }
        if score < self.lo {
            let grow = (self.lo - score) as usize;
            self.mass.splice(0..0, std::iter::repeat_n(0.0, grow));
            self.count.splice(0..0, std::iter::repeat_n(0, grow));
            self.lo = score;
        }
        let i = (score - self.lo) as usize;
        if i >= self.mass.len() {
            self.mass.resize(i + 1, 0.0);
            self.count.resize(i + 1, 0);
        }
        self.mass[i] += p;
        self.count[i] += 1;
        self.pairs += 1;
    }

    fn merge(&mut self, o: &Histogram) {
        if o.mass.is_empty() {
            self.queries += o.queries;
            return;
        }
        self.add(o.lo, 0.0);
        self.add(o.lo + o.mass.len() as i64 - 1, 0.0);
        self.pairs -= 2;
        let off = (o.lo - self.lo) as usize;
        for (i, (&m, &c)) in o.mass.iter().zip(&o.count).enumerate() {
            self.mass[off + i] += m;
            self.count[off + i] += c;
        }
        self.pairs += o.pairs;
        self.queries += o.queries;
    }

    /// (kept mass per query, kept fraction) at threshold `t`.
    fn at(&self, t: i64) -> (f64, f64) {
        let start = (t - self.lo).clamp(0, self.mass.len() as i64) as usize;
        let mass: f64 = self.mass[start..].iter().sum();
        let count: u64 = self.count[start..].iter().sum();
        (
            mass / self.queries.max(1) as f64,
            count as f64 / self.pairs.max(1) as f64,
        )
    }

    /// The largest threshold keeping mean mass ≥ `m` (up to 1e-9 of a
    /// query's mass, for rounding in the sums), clamped to `lo..=hi` (the
    /// signed threshold range); `lo` (every key kept) when none does or
    /// when `m >= 1`.
    fn threshold_for_mass(&self, m: f64, lo: i64, hi: i64) -> i64 {
        if m >= 1.0 {
            return lo;
        }
        let need = m * self.queries as f64 - 1e-9;
        let mut acc = 0.0;
        for i in (0..self.mass.len()).rev() {
            acc += self.mass[i];
            if acc >= need {
                return (self.lo + i as i64).clamp(lo, hi);
            }
        }
        lo
    }
}

/// The histograms of every head of the calibration texts.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// `[layer][head]`.
    heads: Vec<Vec<Histogram>>,
    /// Tokens over the calibration texts.
    pub tokens: usize,
    /// Calibration texts.
    pub texts: usize,
}

impl Calibration {
    /// Runs the exact model on `ids` (each at most `seq_len` tokens), in
    /// parallel, and histograms every head's approximate scores under `d`.
    ///
    /// # Errors
    /// A forward-pass error.
    pub fn collect(
        model: &BertEncoder,
        d: &Derived,
        ids: &[&[u32]],
        tick: &(dyn Fn() + Sync),
    ) -> Result<Calibration, ModelError> {
        let empty = || vec![vec![Histogram::default(); model.heads()]; model.layers()];
        let per_text: Vec<Vec<Vec<Histogram>>> = ids
            .par_iter()
            .map(|t| {
                let fwd = model.forward(t)?;
                let trace = Trace::from_forward(&fwd, t, d.data_bits, &[]);
                let mut hs = empty();
                for h in &trace.heads {
                    let n = h.tokens().min(d.seq_len as usize);
                    let scores = approximate_scores(d, h, n);
                    let probs = calibrate::probabilities(h, n, d.causal);
                    let hist = &mut hs[h.layer][h.head];
                    hist.queries += n as u64;
                    for (i, (s, p)) in scores.iter().zip(&probs).enumerate() {
                        for (j, (&a, &pj)) in s.iter().zip(p).enumerate() {
                            if !(d.causal && j > i) {
                                hist.add(a, pj);
                            }
                        }
                    }
                }
                tick();
                Ok(hs)
            })
            .collect::<Result<_, ModelError>>()?;
        let mut heads = empty();
        for t in &per_text {
            for (l, layer) in t.iter().enumerate() {
                for (h, hist) in layer.iter().enumerate() {
                    heads[l][h].merge(hist);
                }
            }
        }
        Ok(Calibration {
            heads,
            tokens: ids.iter().map(|t| t.len()).sum(),
            texts: ids.len(),
        })
    }

    /// Runs the exact decoder on `ids` (at most `seq_len` tokens) and
    /// histograms every query head's approximate scores under `d` with the
    /// exact causal softmax probability of each allowed pair
    /// ([`decoder_head_histogram`]), layer by layer, the layer's heads in
    /// parallel; `tick(layer)` after each layer. Memory is one layer's
    /// activations and a block of [`crate::model::ROW_BLOCK`] query rows
    /// of scores per head, never `n × n`.
    ///
    /// # Errors
    /// A forward-pass error.
    ///
    /// # Panics
    /// If the text is longer than the spec's `seq_len` or the head sizes
    /// differ (callers check both, see [`crate::eval::perplexity::check`]).
    pub fn collect_decoder(
        model: &Llama,
        d: &Derived,
        ids: &[u32],
        tick: &(dyn Fn(usize) + Sync),
    ) -> Result<Calibration, DecoderError> {
        let c = model.config();
        assert!(ids.len() <= d.seq_len as usize, "text longer than seq_len");
        assert_eq!(c.head_dim, d.head_dim as usize, "spec and model head_dim");
        let mut heads = Vec::with_capacity(c.layers);
        model.forward_with(
            ids,
            &mut |_, _, q, k, v| causal_attention(q, k, v),
            &mut |l, qkv| {
                let layer: Vec<Histogram> = (0..c.heads)
                    .into_par_iter()
                    .map(|h| {
                        let g = c.kv_head_of(h);
                        decoder_head_histogram(
                            d,
                            head_id(l, h, c.heads),
                            &qkv.q.index_axis(Axis(0), h),
                            &qkv.k.index_axis(Axis(0), g),
                        )
                    })
                    .collect();
                heads.push(layer);
                tick(l);
            },
        )?;
        Ok(Calibration {
            heads,
            tokens: ids.len(),
            texts: 1,
        })
    }

    fn layer(&self, l: usize) -> Histogram {
        let mut acc = Histogram::default();
        for h in &self.heads[l] {
            acc.merge(h);
        }
        acc
    }

    /// One threshold per layer (one value per model layer) for keep mass
    /// `m` in (0, 1], in the signed `threshold_bits` range of `d`.
    pub fn layer_thresholds(&self, d: &Derived, m: f64) -> Vec<i64> {
        let (lo, hi) = d.threshold_range().into_inner();
        (0..self.heads.len())
            .map(|l| self.layer(l).threshold_for_mass(m, lo, hi))
            .collect()
    }

    /// One threshold per head (a layers × heads table) for keep mass `m`
    /// in (0, 1]: each head's largest threshold whose kept softmax mass
    /// averages at least `m` over that head's queries.
    pub fn per_head_thresholds(&self, d: &Derived, m: f64) -> HeadThresholds {
        let (lo, hi) = d.threshold_range().into_inner();
        self.heads
            .iter()
            .map(|layer| {
                layer
                    .iter()
                    .map(|h| h.threshold_for_mass(m, lo, hi))
                    .collect()
            })
            .collect()
    }

    /// The per-layer thresholds as a layers × heads table (every head of a
    /// layer alike).
    pub fn head_table(&self, layer_thresholds: &[i64]) -> HeadThresholds {
        let heads = self.heads.first().map_or(0, Vec::len);
        layer_thresholds.iter().map(|&t| vec![t; heads]).collect()
    }

    /// (query, key) pairs of layer `layer` (all its heads, all calibration
    /// texts) whose approximate score is at least `threshold`.
    pub fn layer_kept_pairs(&self, layer: usize, threshold: i64) -> f64 {
        let h = self.layer(layer);
        h.at(threshold).1 * h.pairs as f64
    }

    /// Kept fraction of the calibration pairs at per-layer thresholds.
    pub fn kept_fraction(&self, layer_thresholds: &[i64]) -> f64 {
        let (mut kept, mut pairs) = (0.0, 0.0);
        for (l, &t) in layer_thresholds.iter().enumerate() {
            let h = self.layer(l);
            kept += h.at(t).1 * h.pairs as f64;
            pairs += h.pairs as f64;
        }
        kept / pairs.max(1.0)
    }

    /// A thresholds file (the format `calibrate` writes and `simulate`,
    /// `verify` and `eval` read) of per-layer thresholds, with each head's
    /// kept fraction and mass on the calibration texts. `m` is the keep
    /// mass recorded as the target (for per-layer levels, the smallest; the
    /// caller records each in [`Thresholds::selection`]).
    pub fn to_file(&self, d: &Derived, m: f64, layer_thresholds: &[i64]) -> Thresholds {
        let mut heads = Vec::new();
        for (l, &t) in layer_thresholds.iter().enumerate() {
            for (h, hist) in self.heads[l].iter().enumerate() {
                let (kept_mass, kept_fraction) = hist.at(t);
                heads.push(HeadThreshold {
                    layer: l,
                    head: h,
                    threshold: t,
                    kept_fraction,
                    kept_mass,
                    empty_queries: 0,
                });
            }
        }
        Thresholds {
            spec: d.name.clone(),
            spec_hash: d.spec_hash.clone(),
            target: Target::KeepMass(m),
            tokens: self.tokens,
            heads,
            selection: None,
        }
    }
}

/// The histogram of one causal query head: for each query i and key
/// j ≤ i, the crossbar's approximate score (Q and K quantised per tensor to
/// `data_bits` as [`crate::trace::quantise`] does, read id from `head_id`
/// and i, the spec's noise) with the exact softmax probability
/// `softmax_j(q_i·k_j/√d)` of the float Q and K (`f32` scores, `f64`
/// normaliser). `q` and `k` are `n × d`; queries run in blocks of
/// [`ROW_BLOCK`] rows.
fn decoder_head_histogram(
    d: &Derived,
    head_id: u32,
    q: &ArrayView2<f32>,
    k: &ArrayView2<f32>,
) -> Histogram {
    let n = q.nrows();
    let (q_int, _) = quantise(q, d.data_bits);
    let (k_int, _) = quantise(k, d.data_bits);
    let ints = |a: &ndarray::Array2<i16>| -> Vec<Vec<i32>> {
        a.outer_iter()
            .map(|r| r.iter().map(|&x| i32::from(x)).collect())
            .collect()
    };
    let (q_rows, k_rows) = (ints(&q_int), ints(&k_int));
    let xbar = Crossbar::program(d, &k_rows);
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    let mut hist = Histogram {
        queries: n as u64,
        ..Histogram::default()
    };
    for r0 in (0..n).step_by(ROW_BLOCK) {
        let r1 = (r0 + ROW_BLOCK).min(n);
        let mut logits = q.slice(s![r0..r1, ..]).dot(&k.slice(s![..r1, ..]).t());
        for (b, row) in logits.outer_iter_mut().enumerate() {
            let i = r0 + b;
            let row = row.into_slice().expect("a standard-layout block");
            let allowed = &mut row[..=i];
            softmax_in_place(allowed, scale, Base::E);
            let id = crossbar::read_id(head_id, i as u32);
            let approx = xbar.approximate_scores_of(&q_rows[i], id, i + 1);
            for (&a, &p) in approx.iter().zip(allowed.iter()) {
                hist.add(a, f64::from(p));
            }
        }
    }
    hist
}

/// A head of the model that a thresholds file does not list.
#[derive(Debug, thiserror::Error)]
#[error("the thresholds file has no head l{layer}h{head}")]
pub struct MissingHead {
    pub layer: usize,
    pub head: usize,
}

/// The `layers × heads` table of a thresholds file, for a model of that
/// shape.
///
/// # Errors
/// The first head the file does not list.
pub fn from_file(
    t: &Thresholds,
    layers: usize,
    heads: usize,
) -> Result<HeadThresholds, MissingHead> {
    (0..layers)
        .map(|l| {
            (0..heads)
                .map(|h| {
                    t.lookup(l, h)
                        .map(|x| x.threshold)
                        .ok_or(MissingHead { layer: l, head: h })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_thresholds_keep_the_asked_mass() {
        let mut h = Histogram {
            queries: 1,
            ..Histogram::default()
        };
        // Scores 10, 5, -3 with masses 0.6, 0.3, 0.1.
        h.add(5, 0.3);
        h.add(10, 0.6);
        h.add(-3, 0.1);
        assert_eq!(h.threshold_for_mass(0.5, -100, 100), 10);
        assert_eq!(h.threshold_for_mass(0.9, -100, 100), 5);
        assert_eq!(h.threshold_for_mass(0.95, -100, 100), -3);
        assert_eq!(h.threshold_for_mass(1.0, -100, 100), -100);
        let (m, f) = h.at(5);
        assert!((m - 0.9).abs() < 1e-12);
        assert!((f - 2.0 / 3.0).abs() < 1e-12);
        let mut g = Histogram::default();
        g.merge(&h);
        g.merge(&h);
        assert_eq!((g.queries, g.pairs), (2, 6));
        assert!((g.at(5).0 - 0.9).abs() < 1e-12);
    }
}
