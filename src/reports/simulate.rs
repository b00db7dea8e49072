//! The golden model on a real trace: pruning, fetches, reuse, cycles (from
//! [`crate::golden::cycles`]) and output error, per head and in total.

use serde::Serialize;

use super::{mean, percentile};
use crate::eval::calibrate::probabilities;
use crate::golden::{self, Derived, Mode, RunConfig, cycles};
use crate::trace::TraceHead;

/// One mode of one head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeStats {
    pub mode: Mode,
    pub cycles_per_query: f64,
    /// K/V rows fetched from memory per query.
    pub fetched_rows_per_query: f64,
    /// Bytes fetched per query (a row pair is one slot).
    pub fetched_bytes_per_query: f64,
    /// Kept keys found in the buffer / kept keys.
    pub hit_rate: f64,
}

/// One head of a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadStats {
    pub layer: usize,
    pub head: usize,
    /// Tokens simulated (queries = keys).
    pub tokens: usize,
    pub threshold: i64,
    pub kept_mean: f64,
    pub kept_p50: f64,
    pub kept_p95: f64,
    /// Kept keys / allowed keys.
    pub kept_fraction: f64,
    /// Queries that kept no key (their output row is zero).
    pub empty_queries: usize,
    /// Baseline, prune-only, SPRINT.
    pub modes: Vec<ModeStats>,
    pub speedup_prune: f64,
    pub speedup_sprint: f64,
    /// SPRINT output against exact float attention (float Q, K, V, all keys).
    pub error_max_abs: f64,
    pub error_rel_l2: f64,
    /// The same for the baseline (quantisation and fixed point only).
    pub baseline_error_rel_l2: f64,
}

/// Output error of integer rows against float rows: (max abs, relative L2).
fn error(d: &Derived, out: &[Vec<i32>], value_scale: f64, exact: &[Vec<f64>]) -> (f64, f64) {
    let lsb = value_scale / f64::from(1u32 << d.out_frac_bits);
    let (mut max, mut diff2, mut ref2) = (0f64, 0f64, 0f64);
    for (o, e) in out.iter().zip(exact) {
        for (&x, &y) in o.iter().zip(e) {
            let dx = f64::from(x) * lsb - y;
            max = max.max(dx.abs());
            diff2 += dx * dx;
            ref2 += y * y;
        }
    }
    (max, (diff2 / ref2.max(f64::MIN_POSITIVE)).sqrt())
}

/// Simulates one head on its first min(tokens, seq_len) tokens at `threshold`.
pub fn simulate_head(d: &Derived, h: &TraceHead, threshold: i64) -> HeadStats {
    let n = h.tokens().min(d.seq_len as usize);
    let input = h.head_input(n);
    let sv = h.scales[2];
    let scale = h.scale_csr(d);
    let probs = probabilities(h, n, d.causal);
    let v = TraceHead::float_rows(&h.v, n);
    let exact: Vec<Vec<f64>> = probs
        .iter()
        .map(|p| {
            (0..h.v.ncols())
                .map(|e| p.iter().zip(&v).map(|(pj, vj)| pj * vj[e]).sum())
                .collect()
        })
        .collect();
    let mut modes = Vec::new();
    let mut outputs = Vec::new();
    let mut kept = Vec::new();
    for mode in Mode::COMPARED {
        let r = golden::run_head(
            d,
            &input,
            &RunConfig {
                mode,
                threshold,
                scale,
            },
        );
        let q = r.queries.len().max(1) as f64;
        let c = r.counters;
        modes.push(ModeStats {
            mode,
            cycles_per_query: cycles::run_cycles(d, mode, &r.queries) as f64 / q,
            fetched_rows_per_query: c.fetches as f64 / q,
            fetched_bytes_per_query: (c.fetches * u64::from(d.slot_bytes)) as f64 / q,
            hit_rate: c.hits as f64 / c.kept.max(1) as f64,
        });
        if mode == Mode::Sprint {
            kept = r.queries.iter().map(|q| q.kept.len() as f64).collect();
        }
        outputs.push(r.queries.into_iter().map(|q| q.out).collect::<Vec<_>>());
    }
    let allowed: f64 = (0..n)
        .map(|i| if d.causal { i + 1 } else { n } as f64)
        .sum();
    let (error_max_abs, error_rel_l2) = error(d, &outputs[2], f64::from(sv), &exact);
    let (_, baseline_error_rel_l2) = error(d, &outputs[0], f64::from(sv), &exact);
    HeadStats {
        layer: h.layer,
        head: h.head,
        tokens: n,
        threshold,
        kept_mean: mean(&kept),
        kept_p50: percentile(&kept, 50.0),
        kept_p95: percentile(&kept, 95.0),
        kept_fraction: kept.iter().sum::<f64>() / allowed.max(1.0),
        empty_queries: kept.iter().filter(|&&k| k == 0.0).count(),
        speedup_prune: modes[0].cycles_per_query / modes[1].cycles_per_query,
        speedup_sprint: modes[0].cycles_per_query / modes[2].cycles_per_query,
        modes,
        error_max_abs,
        error_rel_l2,
        baseline_error_rel_l2,
    }
}
