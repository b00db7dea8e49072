//! Performance and energy of one design on real heads, in the paper's three
//! modes (baseline, prune-only, SPRINT): cycles measured in the RTL (or,
//! when asked, modelled), the analytical model's error, the lower bound on
//! cycles and the design's efficiency, MAC-lane utilisation, speedups, and
//! energy by component ([`super::energy`]).
//!
//! # The lower bound on cycles
//!
//! For query `t` with `K_t` kept keys of which `F_t` are fetched, the work
//! the spec asks for cannot take fewer cycles than
//!
//! ```text
//! bound_t = x + max(K_t · 2 · chunks,  L_t + ceil(F_t · slot_bytes / bytes_per_cycle))
//! ```
//!
//! - `K_t · 2 · chunks`: the kept keys' `2 · head_dim` multiply-accumulates
//!   (q·k and p·v) over `lanes` MAC lanes (`chunks = head_dim / lanes`);
//! - `F_t · slot_bytes / bytes_per_cycle`: the newly fetched K and V rows
//!   over the memory's bandwidth, plus `L_t = memory.latency_cycles` when
//!   the query fetches anything (the first row cannot arrive sooner);
//! - `x = crossbar.latency_cycles` in the pruning modes: the kept set is
//!   not known before the keep vector arrives, so nothing of the query can
//!   overlap it.
//!
//! The bound of a run is the sum over its queries (the design works on one
//! query at a time). Efficiency = bound / cycles; 1.0 means the design is
//! as fast as its MAC lanes or its memory allow. It is derived from the
//! spec and the per-query counts (whose totals the RTL's counters are
//! checked against), never from the engine's timing.
//!
//! With several recompute cores the queries' bounds are shared by the
//! cores, but the memory port is one: the bound of a run is the larger of
//! the sum over queries divided by the cores, and the run's fetched bytes
//! over the memory's bandwidth.
//!
//! MAC-lane utilisation is the RTL's MAC_CYCLES counter (every core's lanes
//! together) over its CYCLES times the cores.

use serde::{Deserialize, Serialize};

use super::energy::{self, Activity, EnergyBreakdown};
use crate::golden::{Counters, Derived, HeadResult, Mode, QueryResult, cycles};
use crate::sim::verify::RunOutcome;
use crate::spec::Energy;

/// The paper's average speedup with 16 KB on chip (SPRINT, MICRO 2022).
pub const PAPER_SPEEDUP: f64 = 7.5;
/// The paper's average energy reduction with 16 KB on chip.
pub const PAPER_ENERGY_REDUCTION: f64 = 19.6;
/// The paper's average fraction of the sequence newly fetched from one
/// query to the next.
pub const PAPER_NEW_FETCH_FRACTION: f64 = 0.021;

/// The lower bound on a run's cycles and its parts, summed over queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bound {
    /// Σ kept keys · 2 · chunks: MAC-lane cycles.
    pub compute_cycles: u64,
    /// Σ (memory latency when fetching + fetched bytes / bandwidth).
    pub memory_cycles: u64,
    /// The run's fetched bytes / bandwidth: the cycles the one memory port
    /// is busy, which the cores share.
    pub transfer_cycles: u64,
    /// Σ crossbar latency (pruning modes).
    pub fixed_cycles: u64,
    /// Σ (fixed + max(compute, memory)) per query.
    pub bound_cycles: u64,
    /// Queries whose memory term exceeds their compute term.
    pub memory_bound_queries: u64,
}

/// The lower bound of one query (module docs).
pub fn query_bound(d: &Derived, mode: Mode, q: &QueryResult) -> (u64, u64, u64) {
    let compute = q.kept.len() as u64 * 2 * u64::from(d.chunks);
    let memory = if q.fetches == 0 {
        0
    } else {
        u64::from(d.mem_latency)
            + (u64::from(q.fetches) * u64::from(d.slot_bytes))
                .div_ceil(u64::from(d.mem_bytes_per_cycle))
    };
    let fixed = if mode.prune() {
        u64::from(d.xbar_latency)
    } else {
        0
    };
    (compute, memory, fixed)
}

/// The lower bound of a run (module docs).
pub fn run_bound(d: &Derived, mode: Mode, queries: &[QueryResult]) -> Bound {
    let mut b = Bound {
        compute_cycles: 0,
        memory_cycles: 0,
        transfer_cycles: 0,
        fixed_cycles: 0,
        bound_cycles: 0,
        memory_bound_queries: 0,
    };
    for q in queries {
        let (c, m, x) = query_bound(d, mode, q);
        b.compute_cycles += c;
        b.memory_cycles += m;
        b.fixed_cycles += x;
        b.bound_cycles += x + c.max(m);
        b.memory_bound_queries += u64::from(m > c);
    }
    let fetched: u64 = queries.iter().map(|q| u64::from(q.fetches)).sum();
    b.transfer_cycles =
        (fetched * u64::from(d.slot_bytes)).div_ceil(u64::from(d.mem_bytes_per_cycle));
    if d.cores > 1 {
        b.bound_cycles = b
            .bound_cycles
            .div_ceil(u64::from(d.cores))
            .max(b.transfer_cycles);
    }
    b
}

/// One mode of one head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeReport {
    pub mode: Mode,
    pub queries: u64,
    /// The run's counters (the RTL's, checked equal to the golden model's).
    pub counters: Counters,
    /// CYCLES CSR of the RTL run; absent when modelled only.
    pub rtl_cycles: Option<u64>,
    /// MAC_CYCLES CSR of the RTL run.
    pub mac_cycles: Option<u64>,
    /// The analytical cycle model ([`crate::golden::cycles::run_cycles`]).
    pub model_cycles: u64,
    /// The cycles every figure below uses: the RTL's when measured, else
    /// the model's.
    pub cycles: u64,
    pub cycles_per_query: f64,
    /// (model − RTL) / RTL; absent when modelled only.
    pub model_error: Option<f64>,
    pub bound: Bound,
    /// bound_cycles / cycles, in (0, 1].
    pub efficiency: f64,
    /// mac_cycles / (rtl_cycles × cores); absent when modelled only.
    pub mac_utilisation: Option<f64>,
    /// Recompute cores of the design.
    pub cores: u32,
    /// Each core's busy cycles over the run's, core 0 first: the RTL's
    /// per-core CYCLES when measured with several cores, else the cycle
    /// model's ([`cycles::RunTiming::utilisation`]).
    pub core_utilisation: Vec<f64>,
    /// What the cycle model says limits the run: the cores (MAC lanes),
    /// the shared memory port or the shared crossbar port.
    pub limit: cycles::Bound,
    /// K/V bytes fetched per query.
    pub fetched_bytes_per_query: f64,
    /// Hits / kept.
    pub hit_rate: f64,
    pub energy: EnergyBreakdown,
    /// The analytical model's cycles of every query, in order (for plots).
    pub model_query_cycles: Vec<u64>,
}

/// One head in the three modes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadReport {
    /// `l<layer>h<head>`.
    pub label: String,
    pub layer: usize,
    pub head: usize,
    /// Keys of the head (tokens, at most seq_len).
    pub keys: u64,
    pub queries: u64,
    /// THRESHOLD CSR.
    pub threshold: i64,
    /// Kept keys / allowed keys (every key, or on a causal spec the keys
    /// up to the query's own), over the SPRINT run.
    pub kept_fraction: f64,
    /// Mean kept keys per query.
    pub kept_per_query: f64,
    /// SPRINT's fetched keys / allowed keys: the part of the sequence
    /// newly fetched per query.
    pub new_fetch_fraction: f64,
    /// Baseline, prune-only, SPRINT.
    pub modes: Vec<ModeReport>,
    pub speedup_prune: f64,
    pub speedup_sprint: f64,
    pub energy_reduction_prune: f64,
    pub energy_reduction_sprint: f64,
    /// Baseline bound / SPRINT bound: the speedup a design running at its
    /// bound in both modes would reach on this head.
    pub bound_speedup_sprint: f64,
    /// How well the crossbar chose the kept keys (absent without exact
    /// probabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Selection>,
}

/// The crossbar's choice of keys against an ideal one: per query, the
/// fewest keys whose exact softmax probabilities (float Q and K) add up to
/// the mass the kept keys carry. The gap between `kept_fraction` and
/// `oracle_kept_fraction` is what the approximate in-memory scores cost;
/// `oracle_kept_fraction` itself is what the data allow at that mass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Selection {
    /// Σ over queries of the kept keys' exact softmax mass / queries.
    pub kept_mass: f64,
    /// Kept keys / allowed (query, key) pairs.
    pub kept_fraction: f64,
    /// Σ oracle keys / allowed (query, key) pairs.
    pub oracle_kept_fraction: f64,
    /// Queries, keys, and allowed (query, key) pairs the fractions are
    /// over.
    pub queries: u64,
    pub keys: u64,
    pub allowed: u64,
}

/// The [`Selection`] of a run's kept sets, `probabilities` being queries ×
/// keys; `None` when `probabilities` does not cover the run's queries.
/// With `causal`, query i is allowed the keys 0..=i (its absolute index,
/// [`QueryResult::index`]).
pub fn selection(
    probabilities: &[Vec<f64>],
    queries: &[QueryResult],
    causal: bool,
) -> Option<Selection> {
    if probabilities.len() < queries.len() || queries.is_empty() {
        return None;
    }
    let keys = probabilities[0].len() as u64;
    let (mut mass, mut kept, mut oracle, mut allowed) = (0.0, 0u64, 0u64, 0u64);
    for (p, q) in probabilities.iter().zip(queries) {
        allowed += if causal {
            keys.min(u64::from(q.index) + 1)
        } else {
            keys
        };
        let m: f64 = q.kept.iter().map(|&j| p[j as usize]).sum();
        let mut sorted = p.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let mut acc = 0.0;
        // The 1e-12 slack absorbs summation order; a query keeping nothing needs nothing.
        let need = sorted
            .iter()
            .take_while(|&&x| {
                let short = acc < m - 1e-12;
                acc += x;
                short
            })
            .count();
        mass += m;
        kept += q.kept.len() as u64;
        oracle += need as u64;
    }
    let n = queries.len() as u64;
    Some(Selection {
        kept_mass: mass / n as f64,
        kept_fraction: ratio(kept as f64, allowed as f64),
        oracle_kept_fraction: ratio(oracle as f64, allowed as f64),
        queries: n,
        keys,
        allowed,
    })
}

/// What one mode of one head measured: the golden result, and the RTL
/// outcome when simulated.
pub struct ModeRun<'a> {
    pub mode: Mode,
    pub expected: &'a HeadResult,
    pub rtl: Option<&'a RunOutcome>,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Builds a mode's figures.
pub fn mode_report(d: &Derived, e: &Energy, keys: u64, run: &ModeRun) -> ModeReport {
    let qs = &run.expected.queries;
    let queries = qs.len() as u64;
    let model_query_cycles: Vec<u64> = qs
        .iter()
        .map(|q| cycles::query_cycles(d, run.mode, q))
        .collect();
    let timing = cycles::RunTiming::new(d, run.mode, qs);
    let model_cycles = timing.cycles;
    let rtl_cycles = run.rtl.map(|r| r.cycles);
    let cycles = rtl_cycles.unwrap_or(model_cycles);
    let core_utilisation = match run.rtl {
        Some(r) if !r.core_cycles.is_empty() => r
            .core_cycles
            .iter()
            .map(|&c| ratio(c as f64, cycles as f64))
            .collect(),
        _ => timing.utilisation(),
    };
    let c = run.expected.counters;
    let bound = run_bound(d, run.mode, qs);
    let activity = Activity {
        mode: run.mode,
        queries,
        keys,
        counters: c,
        cycles,
    };
    ModeReport {
        mode: run.mode,
        queries,
        counters: c,
        rtl_cycles,
        mac_cycles: run.rtl.map(|r| r.mac_cycles),
        model_cycles,
        cycles,
        cycles_per_query: ratio(cycles as f64, queries as f64),
        model_error: rtl_cycles.map(|r| ratio(model_cycles as f64 - r as f64, r as f64)),
        bound,
        efficiency: ratio(bound.bound_cycles as f64, cycles as f64),
        mac_utilisation: run
            .rtl
            .map(|r| ratio(r.mac_cycles as f64, (r.cycles * u64::from(d.cores)) as f64)),
        cores: d.cores,
        core_utilisation,
        limit: timing.bound,
        fetched_bytes_per_query: ratio(
            (c.fetches * u64::from(d.slot_bytes)) as f64,
            queries as f64,
        ),
        hit_rate: ratio(c.hits as f64, c.kept as f64),
        energy: energy::energy(d, e, &activity),
        model_query_cycles,
    }
}

/// Builds a head's report from its three modes (baseline, prune-only,
/// SPRINT, in that order).
///
/// # Panics
/// If `modes` is not the three compared modes in order.
pub fn head_report(
    label: &str,
    layer: usize,
    head: usize,
    keys: u64,
    threshold: i64,
    modes: Vec<ModeReport>,
) -> HeadReport {
    assert_eq!(
        modes.iter().map(|m| m.mode).collect::<Vec<_>>(),
        Mode::COMPARED,
        "baseline, prune-only, SPRINT"
    );
    let s = &modes[2];
    let queries = s.queries;
    // The baseline keeps every key the mask allows.
    let allowed = modes[0].counters.kept as f64;
    let cycles = |i: usize| modes[i].cycles as f64;
    let energy = |i: usize| modes[i].energy.pj_per_query;
    HeadReport {
        label: label.to_string(),
        layer,
        head,
        keys,
        queries,
        threshold,
        kept_fraction: ratio(s.counters.kept as f64, allowed),
        kept_per_query: ratio(s.counters.kept as f64, queries as f64),
        new_fetch_fraction: ratio(s.counters.fetches as f64, allowed),
        speedup_prune: ratio(cycles(0), cycles(1)),
        speedup_sprint: ratio(cycles(0), cycles(2)),
        energy_reduction_prune: ratio(energy(0), energy(1)),
        energy_reduction_sprint: ratio(energy(0), energy(2)),
        bound_speedup_sprint: ratio(
            modes[0].bound.bound_cycles as f64,
            modes[2].bound.bound_cycles as f64,
        ),
        modes,
        selection: None,
    }
}

/// Figures over all heads: cycles and energy summed over every head's
/// queries, ratios of those sums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub heads: usize,
    pub queries: u64,
    /// Per mode (baseline, prune-only, SPRINT): Σ cycles / Σ queries.
    pub cycles_per_query: [f64; 3],
    /// Per mode: Σ energy / Σ queries, in nJ.
    pub energy_nj_per_query: [f64; 3],
    /// Per mode: Σ bound / Σ cycles.
    pub efficiency: [f64; 3],
    /// Per mode: Σ MAC cycles / Σ RTL cycles (absent when modelled).
    pub mac_utilisation: Option<[f64; 3]>,
    /// Largest |model error| of any run (absent when modelled).
    pub max_abs_model_error: Option<f64>,
    pub speedup_prune: f64,
    pub speedup_sprint: f64,
    pub energy_reduction_prune: f64,
    pub energy_reduction_sprint: f64,
    /// Σ baseline bound / Σ SPRINT bound.
    pub bound_speedup_sprint: f64,
    pub kept_fraction: f64,
    pub new_fetch_fraction: f64,
    /// SPRINT hits / kept.
    pub hit_rate: f64,
    /// Mean exact softmax mass of the kept keys per query, and the oracle's
    /// kept fraction at that mass, over the heads with a [`Selection`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_mass: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oracle_kept_fraction: Option<f64>,
}

/// Sums the heads (see [`Summary`]).
pub fn summarise(heads: &[HeadReport]) -> Summary {
    let queries: u64 = heads.iter().map(|h| h.queries).sum();
    let sum = |f: &dyn Fn(&HeadReport) -> f64| heads.iter().map(f).sum::<f64>();
    let per_mode =
        |f: &dyn Fn(&ModeReport) -> f64| [0, 1, 2].map(|i| sum(&|h: &HeadReport| f(&h.modes[i])));
    let cycles = per_mode(&|m| m.cycles as f64);
    let energy = per_mode(&|m| m.energy.pj_per_query * m.queries as f64);
    let bound = per_mode(&|m| m.bound.bound_cycles as f64);
    let measured = heads
        .iter()
        .all(|h| h.modes.iter().all(|m| m.rtl_cycles.is_some()));
    let mac = per_mode(&|m| m.mac_cycles.unwrap_or(0) as f64 / f64::from(m.cores));
    let q = queries as f64;
    // Allowed (query, key) pairs: what the baseline keeps.
    let pairs = sum(&|h| h.modes[0].counters.kept as f64);
    let s = |f: &dyn Fn(&Counters) -> u64| sum(&|h| f(&h.modes[2].counters) as f64);
    Summary {
        heads: heads.len(),
        queries,
        cycles_per_query: cycles.map(|c| ratio(c, q)),
        energy_nj_per_query: energy.map(|e| ratio(e, q) / 1000.0),
        efficiency: [0, 1, 2].map(|i| ratio(bound[i], cycles[i])),
        mac_utilisation: measured.then(|| [0, 1, 2].map(|i| ratio(mac[i], cycles[i]))),
        max_abs_model_error: measured.then(|| {
            heads
                .iter()
                .flat_map(|h| &h.modes)
                .filter_map(|m| m.model_error)
                .fold(0f64, |a, e| a.max(e.abs()))
        }),
        speedup_prune: ratio(cycles[0], cycles[1]),
        speedup_sprint: ratio(cycles[0], cycles[2]),
        energy_reduction_prune: ratio(energy[0], energy[1]),
        energy_reduction_sprint: ratio(energy[0], energy[2]),
        bound_speedup_sprint: ratio(bound[0], bound[2]),
        kept_fraction: ratio(s(&|c| c.kept), pairs),
        new_fetch_fraction: ratio(s(&|c| c.fetches), pairs),
        hit_rate: ratio(s(&|c| c.hits), s(&|c| c.kept)),
        kept_mass: selection_sum(
            heads,
            |x| x.kept_mass * x.queries as f64,
            |x| x.queries as f64,
        ),
        oracle_kept_fraction: selection_sum(
            heads,
            |x| x.oracle_kept_fraction * x.allowed as f64,
            |x| x.allowed as f64,
        ),
    }
}

/// Σ value / Σ weight over the heads' selections; `None` if any lacks one.
fn selection_sum(
    heads: &[HeadReport],
    value: impl Fn(&Selection) -> f64,
    weight: impl Fn(&Selection) -> f64,
) -> Option<f64> {
    let all: Option<Vec<Selection>> = heads.iter().map(|h| h.selection).collect();
    let all = all.filter(|a| !a.is_empty())?;
    Some(ratio(
        all.iter().map(&value).sum(),
        all.iter().map(&weight).sum(),
    ))
}

/// The paper's figures against this run's, and why they differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperComparison {
    pub paper_speedup: f64,
    pub paper_energy_reduction: f64,
    pub paper_new_fetch_fraction: f64,
    pub speedup: f64,
    pub energy_reduction: f64,
    /// paper / measured; above 1 means short of the paper.
    pub speedup_shortfall: f64,
    pub energy_shortfall: f64,
    /// The most the kept fraction allows when compute binds: 1 / kept.
    pub speedup_limit_from_kept_fraction: f64,
    /// The kept fraction at which 1 / kept reaches the paper's speedup.
    pub kept_fraction_for_paper_speedup: f64,
    /// Sentences that explain the gap, for the Markdown report.
    pub explanation: Vec<String>,
}

/// Compares a summary with the paper's claims.
pub fn compare_with_paper(s: &Summary) -> PaperComparison {
    let limit = ratio(1.0, s.kept_fraction);
    let mut explanation = Vec::new();
    let pct = |x: f64| 100.0 * x;
    if s.speedup_sprint >= PAPER_SPEEDUP {
        explanation.push(format!(
            "SPRINT's speedup {:.2}x reaches the paper's {PAPER_SPEEDUP}x.",
            s.speedup_sprint
        ));
    } else {
        explanation.push(format!(
            "SPRINT's speedup {:.2}x is {:.1}x short of the paper's {PAPER_SPEEDUP}x.",
            s.speedup_sprint,
            PAPER_SPEEDUP / s.speedup_sprint.max(f64::MIN_POSITIVE)
        ));
        explanation.push(format!(
            "Kept fraction: the threshold keeps {:.1}% of the keys, so the recompute engine \
             still does {:.1}% of the baseline's MACs; on a design at its compute bound in \
             both modes pruning gains at most 1/{:.3} = {:.2}x. The paper's {PAPER_SPEEDUP}x \
             needs at most {:.1}% of the keys kept.",
            pct(s.kept_fraction),
            pct(s.kept_fraction),
            s.kept_fraction,
            limit,
            pct(1.0 / PAPER_SPEEDUP)
        ));
        if let (Some(mass), Some(oracle)) = (s.kept_mass, s.oracle_kept_fraction) {
            explanation.push(format!(
                "Selection: the kept keys carry {:.1}% of the exact softmax mass; an oracle \
                 choosing keys by their exact scores would need {:.1}% of the keys for the same \
                 mass (the crossbar keeps {:.1}%), so {} limits the pruning.",
                pct(mass),
                pct(oracle),
                pct(s.kept_fraction),
                if oracle > 0.5 * s.kept_fraction {
                    "the breadth of this model's attention on this text, more than the \
                     approximate in-memory scores,"
                } else {
                    "the approximate in-memory scores, more than the data,"
                }
            ));
        }
        explanation.push(format!(
            "Reuse: {:.1}% of the kept keys are found in the buffer; {:.1}% of the sequence \
             is newly fetched per query, against the paper's {:.1}%.",
            pct(s.hit_rate),
            pct(s.new_fetch_fraction),
            pct(PAPER_NEW_FETCH_FRACTION)
        ));
        explanation.push(format!(
            "Design: at their lower bounds (MAC lanes or memory, whichever binds) baseline and \
             SPRINT would differ by {:.2}x; the design reaches {:.2}x, with efficiency {:.2} \
             in the baseline and {:.2} in SPRINT{}.",
            s.bound_speedup_sprint,
            s.speedup_sprint,
            s.efficiency[0],
            s.efficiency[2],
            if s.efficiency[0] < s.efficiency[2] {
                " (the baseline runs further from its bound, which raises the measured speedup \
                 above the bounds' ratio)"
            } else {
                ""
            }
        ));
    }
    if s.energy_reduction_sprint >= PAPER_ENERGY_REDUCTION {
        explanation.push(format!(
            "SPRINT's energy reduction {:.2}x reaches the paper's {PAPER_ENERGY_REDUCTION}x.",
            s.energy_reduction_sprint
        ));
    } else {
        explanation.push(format!(
            "SPRINT's energy reduction {:.2}x is {:.1}x short of the paper's \
             {PAPER_ENERGY_REDUCTION}x: the baseline's energy is mostly ReRAM reads of every \
             K/V row, and SPRINT still reads {:.1}% of them (the newly fetched rows) and \
             recomputes {:.1}% of the keys.",
            s.energy_reduction_sprint,
            PAPER_ENERGY_REDUCTION / s.energy_reduction_sprint.max(f64::MIN_POSITIVE),
            pct(s.new_fetch_fraction),
            pct(s.kept_fraction)
        ));
    }
    PaperComparison {
        paper_speedup: PAPER_SPEEDUP,
        paper_energy_reduction: PAPER_ENERGY_REDUCTION,
        paper_new_fetch_fraction: PAPER_NEW_FETCH_FRACTION,
        speedup: s.speedup_sprint,
        energy_reduction: s.energy_reduction_sprint,
        speedup_shortfall: ratio(PAPER_SPEEDUP, s.speedup_sprint),
        energy_shortfall: ratio(PAPER_ENERGY_REDUCTION, s.energy_reduction_sprint),
        speedup_limit_from_kept_fraction: limit,
        kept_fraction_for_paper_speedup: 1.0 / PAPER_SPEEDUP,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn query(kept: u32, hits: u32) -> QueryResult {
        QueryResult {
            core: 0,
            index: 0,
            xbar_keep: None,
            kept: (0..kept).collect(),
            order: (0..kept).collect(),
            hits,
            fetches: kept - hits,
            evicts: 0,
            out: Vec::new(),
        }
    }

    #[test]
    fn bound_takes_the_binding_resource_per_query() {
        let d = Derived::from_spec(&Spec::default_spec());
        // 8 chunks: a key is 16 MAC-lane cycles; a slot is 128 bytes, 8
        // cycles at 16 bytes per cycle, plus 20 cycles of latency.
        let q = query(10, 0);
        assert_eq!(query_bound(&d, Mode::Baseline, &q), (160, 20 + 80, 0));
        let q = query(10, 10);
        assert_eq!(query_bound(&d, Mode::Sprint, &q), (160, 0, 8));
        let b = run_bound(&d, Mode::Sprint, &[query(10, 0), query(1, 0)]);
        assert_eq!(b.bound_cycles, 8 + 160 + 8 + (20 + 8));
        assert_eq!(b.memory_bound_queries, 1);
    }

    #[test]
    fn selection_compares_the_kept_keys_with_the_fewest_keys_of_equal_mass() {
        // Keys 0 and 1 (0.1 + 0.2 of the mass) are kept; key 2 alone
        // (0.6) carries more, so an oracle needs one key.
        let mut q = query(2, 0);
        q.kept = vec![0, 1];
        let p = vec![vec![0.1, 0.2, 0.6, 0.1]];
        let s = selection(&p, &[q], false).expect("probabilities cover the query");
        assert!((s.kept_mass - 0.3).abs() < 1e-12);
        assert_eq!(s.kept_fraction, 0.5);
        assert_eq!(s.oracle_kept_fraction, 0.25);
        // Keeping the two largest is what the oracle keeps.
        let mut q = query(2, 0);
        q.kept = vec![1, 2];
        let s = selection(&p, &[q], false).expect("covered");
        assert_eq!(s.oracle_kept_fraction, 0.5);
        // Nothing kept needs nothing.
        let s = selection(&p, &[query(0, 0)], false).expect("covered");
        assert_eq!(s.oracle_kept_fraction, 0.0);
        assert!(selection(&[], &[query(1, 0)], false).is_none());
    }
}
