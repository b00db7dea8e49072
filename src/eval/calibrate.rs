//! Per-head crossbar thresholds from calibration text.
//!
//! For a threshold T, query i keeps key j when the crossbar's approximate
//! score (noise included, exactly as [`crate::golden::crossbar`] computes
//! it) is at least T. The kept attention mass of query i is the sum of the
//! exact softmax probabilities `softmax_j(q_i·k_j / sqrt(d))` (float Q and K)
//! of its kept keys. `--keep-mass M` picks, per head, the largest T whose
//! mean kept mass over the queries is at least M; `--keep-fraction F` picks
//! the T that keeps a fraction F of the (query, key) pairs.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::files::{self, FileError};
use crate::golden::crossbar::{self, Crossbar};
use crate::golden::reference::{self, Base, Keys};
use crate::golden::{Derived, workload};
use crate::trace::TraceHead;

/// What a threshold must achieve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Mean kept softmax mass per query, in (0, 1].
    KeepMass(f64),
    /// Fraction of (query, key) pairs kept, in [0, 1].
    KeepFraction(f64),
}

/// The threshold of one head and what it achieves on the calibration text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadThreshold {
    pub layer: usize,
    pub head: usize,
    /// THRESHOLD CSR value (signed, threshold_bits).
    pub threshold: i64,
    /// Fraction of the allowed (query, key) pairs kept.
    pub kept_fraction: f64,
    /// Mean kept softmax mass per query.
    pub kept_mass: f64,
    /// Queries that keep no key (their output row is zero).
    pub empty_queries: usize,
}

/// A thresholds file: what `calibrate` writes and `simulate`/`verify` read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub spec: String,
    /// Thresholds depend on the crossbar's MSBs and noise: the spec they
    /// were calibrated for.
    pub spec_hash: String,
    pub target: Target,
    /// Tokens of the calibration text used (at most seq_len).
    pub tokens: usize,
    pub heads: Vec<HeadThreshold>,
    /// How `calibrate --task` selected these thresholds (absent for
    /// thresholds calibrated on a trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<TaskSelection>,
}

/// How `calibrate --task` selected a thresholds file: on which items, under
/// which budget, with what result on those items (see
/// [`crate::eval::search`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSelection {
    /// The task's name (`lee`, `sentiment`, `trec`).
    pub task: String,
    /// The split rule, in words ([`crate::eval::data::Split::rule`]).
    pub split: String,
    /// Dev items the thresholds were selected on (Lee: documents).
    pub dev_items: usize,
    /// Test items, not used for the selection.
    pub test_items: usize,
    /// The keep-mass level of each layer's threshold.
    pub keep_mass_per_layer: Vec<f64>,
    /// The budget: largest relative drop, in percent.
    pub max_drop_percent: f64,
    /// The budget: largest share of head-queries keeping no key, percent.
    pub max_empty_percent: f64,
    /// The budget: standard errors of the dev drop added to it before the
    /// comparison ([`crate::eval::search::Budget::margin_se`]; 0 in files
    /// written before the margin existed).
    #[serde(default)]
    pub margin_se: f64,
    /// The exact model's metric on the dev items.
    pub dev_exact: f64,
    /// The metric on the dev items with these thresholds.
    pub dev_metric: f64,
    /// Relative drop on the dev items, in percent.
    pub dev_drop_percent: f64,
    /// Its paired bootstrap standard error, percent points (0 in files
    /// written before it was measured).
    #[serde(default)]
    pub dev_drop_se_percent: f64,
    /// Kept fraction of the dev items' (query, key) pairs.
    pub dev_kept_fraction: f64,
}

impl Thresholds {
    /// Where `calibrate` writes, and `simulate` and `verify` look, for a
    /// trace: `<trace without extension>.thresholds.json`.
    pub fn default_path(trace: &Path) -> PathBuf {
        trace.with_extension("thresholds.json")
    }

    /// The threshold of (layer, head), if calibrated.
    pub fn lookup(&self, layer: usize, head: usize) -> Option<&HeadThreshold> {
        self.heads
            .iter()
            .find(|h| h.layer == layer && h.head == head)
    }

    /// Reads a thresholds file.
    ///
    /// # Errors
    /// A file that cannot be read or holds no thresholds, named.
    pub fn read(path: &Path) -> Result<Thresholds, FileError> {
        files::read_json(path)
    }

    /// Reads a thresholds file to drive the crossbar of `d`: every
    /// threshold must fit the signed `crossbar.threshold_bits` register (a
    /// wider value would wrap, see [`crate::golden::crossbar::sign_extend`]),
    /// and no head may be listed twice.
    ///
    /// # Errors
    /// [`ThresholdsError`], naming the file (and the head).
    pub fn read_for(path: &Path, d: &Derived) -> Result<Thresholds, ThresholdsError> {
        let file = Thresholds::read(path)?;
        file.check_fits(path, d)?;
        Ok(file)
    }

    fn check_fits(&self, path: &Path, d: &Derived) -> Result<(), ThresholdsError> {
        let range = d.threshold_range();
        for (i, h) in self.heads.iter().enumerate() {
            if !range.contains(&h.threshold) {
                return Err(ThresholdsError::Range {
                    path: path.to_path_buf(),
                    layer: h.layer,
                    head: h.head,
                    threshold: h.threshold,
                    bits: d.threshold_bits,
                    min: *range.start(),
                    max: *range.end(),
                });
            }
            if self.heads[..i]
                .iter()
                .any(|o| (o.layer, o.head) == (h.layer, h.head))
            {
                return Err(ThresholdsError::Duplicate {
                    path: path.to_path_buf(),
                    layer: h.layer,
                    head: h.head,
                });
            }
        }
        Ok(())
    }

    /// Writes a thresholds file (pretty JSON).
    ///
    /// # Errors
    /// A file that cannot be written, named.
    pub fn write(&self, path: &Path) -> Result<(), FileError> {
        files::write_json(path, self)
    }
}

/// A thresholds file that cannot be read, or does not fit the spec it is
/// used with.
#[derive(Debug, Error)]
pub enum ThresholdsError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "{}: head l{layer}h{head}: threshold {threshold} does not fit the spec's \
         crossbar.threshold_bits = {bits}; allowed: {min}..={max}", path.display()
    )]
    Range {
        path: PathBuf,
        layer: usize,
        head: usize,
        threshold: i64,
        bits: u32,
        min: i64,
        max: i64,
    },
    #[error("{}: head l{layer}h{head} is listed more than once; keep one entry", path.display())]
    Duplicate {
        path: PathBuf,
        layer: usize,
        head: usize,
    },
}

/// Exact attention probabilities of the first `n` tokens, row by row, with
/// keys after the query masked when `causal`.
pub fn probabilities(h: &TraceHead, n: usize, causal: bool) -> Vec<Vec<f64>> {
    probability_rows(h, n, causal, 0..n)
}

/// The rows `rows` (query indices, below `n`) of [`probabilities`], without
/// computing the others.
pub fn probability_rows(
    h: &TraceHead,
    n: usize,
    causal: bool,
    rows: std::ops::Range<usize>,
) -> Vec<Vec<f64>> {
    let q = TraceHead::float_rows(&h.q, rows.end.min(n));
    let k = TraceHead::float_rows(&h.k, n);
    let scale = 1.0 / (h.q.ncols() as f64).sqrt();
    q.iter()
        .enumerate()
        .skip(rows.start)
        .map(|(i, qi)| {
            let keys = if causal { Keys::Causal(i) } else { Keys::All };
            reference::probabilities(qi, &k, keys, scale, Base::E)
        })
        .collect()
}

/// The crossbar's approximate scores of the first `n` tokens, per query.
pub fn approximate_scores(d: &Derived, h: &TraceHead, n: usize) -> Vec<Vec<i64>> {
    let input = h.head_input(n);
    let xbar = Crossbar::program(d, &input.k);
    input
        .q
        .iter()
        .enumerate()
        .map(|(i, q)| xbar.approximate_scores(q, crossbar::read_id(input.head_id, i as u32)))
        .collect()
}

/// Kept fraction, mean kept mass and empty queries at threshold `t`.
fn evaluate(scores: &[Vec<i64>], probs: &[Vec<f64>], causal: bool, t: i64) -> (f64, f64, usize) {
    let (mut kept, mut allowed, mut mass, mut empty) = (0usize, 0usize, 0.0, 0usize);
    for (i, (s, p)) in scores.iter().zip(probs).enumerate() {
        let mut any = false;
        for (j, (&a, &pj)) in s.iter().zip(p).enumerate() {
            if causal && j > i {
                continue;
            }
            allowed += 1;
            if a >= t {
                kept += 1;
                mass += pj;
                any = true;
            }
        }
        empty += usize::from(!any);
    }
    let n = scores.len().max(1) as f64;
    (kept as f64 / allowed.max(1) as f64, mass / n, empty)
}

/// Calibrates one head on its first `n = min(tokens, seq_len)` tokens.
pub fn calibrate_head(d: &Derived, h: &TraceHead, target: Target) -> HeadThreshold {
    let n = h.tokens().min(d.seq_len as usize);
    let scores = approximate_scores(d, h, n);
    let probs = probabilities(h, n, d.causal);
    let threshold = match target {
        Target::KeepFraction(f) => workload::calibrate_threshold(d, &h.head_input(n), f),
        Target::KeepMass(m) => {
            // mass(T) falls as T grows: the largest T with mass >= m.
            let (mut lo, mut hi) = d.threshold_range().into_inner();
            if evaluate(&scores, &probs, d.causal, lo).1 < m {
                lo
            } else {
                while lo < hi {
                    let mid = lo + (hi - lo + 1) / 2;
                    if evaluate(&scores, &probs, d.causal, mid).1 >= m {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                lo
            }
        }
    };
    let (kept_fraction, kept_mass, empty_queries) = evaluate(&scores, &probs, d.causal, threshold);
    HeadThreshold {
        layer: h.layer,
        head: h.head,
        threshold,
        kept_fraction,
        kept_mass,
        empty_queries,
    }
}
