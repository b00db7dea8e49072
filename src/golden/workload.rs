//! Synthetic attention heads for verification, and the threshold and scale
//! that make them prune like real attention does.
//!
//! Keys and values are uniform over the signed `data_bits` range. Queries
//! are a random walk (each element moves by up to 1/8 of the range per
//! query), so adjacent queries keep similar keys, as the paper observes on
//! real models (Section 5: about 2.1 % of the sequence is new per query).

use super::crossbar::{self, Crossbar};
use super::{Derived, HeadInput, numerics as nx};

/// Stream constant of workload draws.
const STREAM_WORKLOAD: u64 = 0x574f_524b; // "WORK"

/// Counter-based generator over [`crossbar::draw`], seeded per workload.
struct Draws {
    seed: u64,
    counter: u64,
}

impl Draws {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        crossbar::draw(self.seed, STREAM_WORKLOAD, self.counter, 0)
    }

    /// Uniform integer in `lo..=hi`.
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        let span = (hi - lo + 1) as u64;
        lo + (self.next() % span) as i32
    }
}

/// Shape of a synthetic head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadShape {
    pub n_queries: u32,
    pub n_keys: u32,
    pub query_base: u32,
    pub head_id: u32,
}

/// The synthetic workload of `verify` and `report`: a head of `n_queries`
/// queries against `seq_len` keys, with the scale of synthetic data and the
/// threshold that keeps about a given fraction of its pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRun {
    pub input: HeadInput,
    /// SCALE CSR ([`synthetic_scale`]).
    pub scale: u32,
    /// THRESHOLD CSR ([`calibrate_threshold`]).
    pub threshold: i64,
}

impl SyntheticRun {
    /// Head 0 at query 0, drawn from `seed`, keeping about `keep_fraction`
    /// of the pairs; `n_queries` is clamped to 1..=seq_len.
    pub fn new(d: &Derived, seed: u64, n_queries: u32, keep_fraction: f64) -> SyntheticRun {
        let shape = HeadShape {
            n_queries: n_queries.clamp(1, d.seq_len),
            n_keys: d.seq_len,
            query_base: 0,
            head_id: 0,
        };
        let input = synthetic_head(d, seed, shape);
        let threshold = calibrate_threshold(d, &input, keep_fraction);
        SyntheticRun {
            input,
            scale: synthetic_scale(d),
            threshold,
        }
    }
}

/// A synthetic head of the given shape.
pub fn synthetic_head(d: &Derived, seed: u64, shape: HeadShape) -> HeadInput {
    let mut r = Draws {
        seed,
        counter: u64::from(shape.head_id) << 40,
    };
    let (lo, hi) = nx::signed_range(d.data_bits).into_inner();
    let (lo, hi) = (lo as i32, hi as i32);
    let dim = d.head_dim as usize;
    let rows = |n: u32, r: &mut Draws| -> Vec<Vec<i32>> {
        (0..n)
            .map(|_| (0..dim).map(|_| r.int(lo, hi)).collect())
            .collect()
    };
    let k = rows(shape.n_keys, &mut r);
    let v = rows(shape.n_keys, &mut r);
    let step = (hi / 8).max(1);
    let mut q = Vec::with_capacity(shape.n_queries as usize);
    let mut current: Vec<i32> = (0..dim).map(|_| r.int(lo, hi)).collect();
    for _ in 0..shape.n_queries {
        q.push(current.clone());
        for x in &mut current {
            *x = (*x + r.int(-step, step)).clamp(lo, hi);
        }
    }
    HeadInput {
        q,
        k,
        v,
        query_base: shape.query_base,
        head_id: shape.head_id,
    }
}

/// Score scale of synthetic data: elements represent x / 2^(data_bits - 2)
/// (range ±2), so the CSR folds `log2(e) / sqrt(d) · s_q · s_k` with
/// `s = 2^-(data_bits - 2)`, clamped to the 16-bit CSR.
pub fn synthetic_scale(d: &Derived) -> u32 {
    let s = 2f64.powi(-(d.data_bits as i32 - 2));
    scale_csr(d, s * s)
}

/// The SCALE CSR for quantisation scales whose product is `sq_sk`:
/// `round(log2(e) / sqrt(head_dim) · sq_sk · 2^F)`, clamped to 1..=65535.
pub fn scale_csr(d: &Derived, sq_sk: f64) -> u32 {
    let real = std::f64::consts::LOG2_E / f64::from(d.head_dim).sqrt() * sq_sk;
    let fixed = (real * f64::from(1u32 << nx::SCALE_FRAC_BITS)).round();
    fixed.clamp(1.0, f64::from((1u32 << nx::SCALE_BITS) - 1)) as u32
}

/// Threshold that keeps about `keep_fraction` of the (query, key) pairs of
/// `input` under the crossbar's approximate scores, noise included: the
/// matching quantile of all approximate scores, clamped to the signed
/// `threshold_bits` range.
pub fn calibrate_threshold(d: &Derived, input: &HeadInput, keep_fraction: f64) -> i64 {
    let xbar = Crossbar::program(d, &input.k);
    let mut scores: Vec<i64> = input
        .q
        .iter()
        .enumerate()
        .flat_map(|(t, q)| {
            let id = crossbar::read_id(input.head_id, input.query_base + t as u32);
            xbar.approximate_scores(q, id)
        })
        .collect();
    scores.sort_unstable();
    let max = *d.threshold_range().end();
    if scores.is_empty() {
        return max;
    }
    let keep = (keep_fraction.clamp(0.0, 1.0) * scores.len() as f64).round() as usize;
    let threshold = if keep == 0 {
        scores[scores.len() - 1] + 1
    } else {
        scores[scores.len() - keep]
    };
    threshold.clamp(-max - 1, max)
}
