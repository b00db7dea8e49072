//! The paper's goals at one design point, and the bound that stops them.
//!
//! Goals (SPRINT, MICRO 2022, with 16 KB on chip; the scaling issue asks for
//! them at 4K tokens): full SPRINT at least [`PAPER_SPEEDUP`] times faster
//! and [`PAPER_ENERGY_REDUCTION`] times less energy than the baseline of the
//! same design on the same queries.
//!
//! Where a goal is not met, [`check`] names what stops it, from the run's
//! own figures:
//!
//! - **Speedup.** SPRINT still recomputes its kept keys, so when both modes
//!   run at their MAC-lane bound the speedup is at most `1 / kept`, `kept`
//!   being the kept fraction of the allowed (query, key) pairs at the
//!   thresholds used (which the accuracy budget sets). If `1 / kept` is
//!   below the goal, the bound is [`Limit::KeptFraction`]. Otherwise it is
//!   the resource SPRINT's run waits on: [`Limit::MemoryBandwidth`] when its
//!   fetches take longer than its MACs (the lower bound's memory term
//!   exceeds its compute term, [`super::perf::Bound`]; with several cores,
//!   the shared port's busy time exceeds a core's share of the MACs), else
//!   [`Limit::CrossbarLatency`] when the cycles beyond the MAC-lane bound
//!   (the crossbar's latency and the keep vector's beats, paid by every
//!   query whatever it keeps) exceed the MAC-lane cycles, else
//!   [`Limit::MacLanes`].
//! - **Energy.** The bound is the component SPRINT spends most on: the
//!   ReRAM reads and buffer writes of the fetched rows are
//!   [`Limit::FetchedRows`] (reuse in the buffer decides them); MACs,
//!   softmax and buffer reads follow the kept keys ([`Limit::KeptFraction`]);
//!   scoring, comparators and programming are the crossbar's own
//!   ([`Limit::InMemoryScoring`]); control follows the cycles
//!   ([`Limit::MacLanes`]).

use serde::{Deserialize, Serialize};

use super::perf::{Bound, HeadReport, PAPER_ENERGY_REDUCTION, PAPER_SPEEDUP, Summary};
use crate::golden::{Mode, cycles};

/// What stops a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The kept fraction the thresholds (the accuracy budget) allow.
    KeptFraction,
    /// The recompute engines' MAC lanes (and their per-query sequencing).
    MacLanes,
    /// The memory port's bandwidth.
    MemoryBandwidth,
    /// The crossbar's latency and keep-vector beats per query.
    CrossbarLatency,
    /// K/V rows fetched from memory (missed in the buffer).
    FetchedRows,
    /// The crossbar's in-memory scoring, comparators and programming.
    InMemoryScoring,
}

impl Limit {
    /// Words for a report.
    pub fn label(self) -> &'static str {
        match self {
            Limit::KeptFraction => "kept fraction the accuracy budget allows",
            Limit::MacLanes => "MAC lanes",
            Limit::MemoryBandwidth => "memory bandwidth",
            Limit::CrossbarLatency => "crossbar latency",
            Limit::FetchedRows => "fetched K/V rows (buffer reuse)",
            Limit::InMemoryScoring => "in-memory scoring",
        }
    }
}

/// The goals at one point (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalCheck {
    pub speedup: f64,
    pub speedup_goal: f64,
    pub speedup_met: bool,
    /// What stops the speedup; absent when met.
    pub speedup_limit: Option<Limit>,
    pub energy_reduction: f64,
    pub energy_goal: f64,
    pub energy_met: bool,
    /// What stops the energy reduction; absent when met.
    pub energy_limit: Option<Limit>,
    /// What the cycle model says limits SPRINT's runs (the cores' MAC
    /// lanes, the shared memory port or the shared crossbar port;
    /// [`cycles::RunTiming`]), over the SPRINT cycles of the heads: what
    /// stops more cores from adding throughput.
    pub sprint_limit: cycles::Bound,
    /// One sentence per goal, with the figures behind the verdict.
    pub explanation: Vec<String>,
}

/// Σ over heads of a SPRINT-mode figure.
fn sprint_sum(heads: &[HeadReport], f: impl Fn(&super::perf::ModeReport) -> f64) -> f64 {
    heads
        .iter()
        .filter_map(|h| h.modes.iter().find(|m| m.mode == Mode::Sprint))
        .map(f)
        .sum()
}

/// A run's MAC-lane and memory terms in elapsed cycles, `(compute,
/// memory)`: the `cores` share the MAC work, and with more than one core
/// the memory term is the shared port's busy time (the per-query latency
/// overlaps with the other cores' work).
fn elapsed_terms(cores: u32, b: &Bound) -> (f64, f64) {
    let compute = b.compute_cycles as f64 / f64::from(cores.max(1));
    let memory = if cores > 1 {
        b.transfer_cycles
    } else {
        b.memory_cycles
    };
    (compute, memory as f64)
}

/// Checks the goals on a run's heads and their summary (module docs).
pub fn check(heads: &[HeadReport], s: &Summary) -> GoalCheck {
    let pct = |x: f64| 100.0 * x;
    let kept_limit = if s.kept_fraction > 0.0 {
        1.0 / s.kept_fraction
    } else {
        f64::INFINITY
    };
    let speedup_met = s.speedup_sprint >= PAPER_SPEEDUP;
    let cores = heads
        .iter()
        .flat_map(|h| &h.modes)
        .map(|m| m.cores)
        .max()
        .unwrap_or(1);
    let compute = sprint_sum(heads, |m| elapsed_terms(m.cores, &m.bound).0);
    let memory = sprint_sum(heads, |m| elapsed_terms(m.cores, &m.bound).1);
    let cycles = sprint_sum(heads, |m| m.cycles as f64);
    let speedup_limit = (!speedup_met).then_some({
        if kept_limit < PAPER_SPEEDUP {
            Limit::KeptFraction
        } else if memory > compute {
            Limit::MemoryBandwidth
        } else if cycles - compute > compute {
            Limit::CrossbarLatency
        } else {
            Limit::MacLanes
        }
    });
    let mut explanation = vec![match speedup_limit {
        None => format!(
            "speedup {:.2}x meets the goal of {PAPER_SPEEDUP}x",
            s.speedup_sprint
        ),
        Some(limit) => format!(
            "speedup {:.2}x < {PAPER_SPEEDUP}x, bound: {}: {:.1}% of the allowed (query, key) \
             pairs kept, so at most {:.2}x with both modes at the MAC-lane bound; SPRINT's \
             cycles are {:.0}% MAC-lane cycles{}, its memory term {:.0}% of them",
            s.speedup_sprint,
            limit.label(),
            pct(s.kept_fraction),
            kept_limit,
            pct(compute / cycles.max(1.0)),
            if cores > 1 { " (a core's share)" } else { "" },
            pct(memory / compute.max(1.0))
        ),
    }];
    let energy_met = s.energy_reduction_sprint >= PAPER_ENERGY_REDUCTION;
    let mut components: Vec<(&'static str, f64)> = super::energy::COMPONENTS
        .iter()
        .map(|&c| (c, sprint_sum(heads, |m| m.energy.of(c) * m.queries as f64)))
        .collect();
    components.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = components.iter().map(|c| c.1).sum();
    let (top, top_pj) = components[0];
    let energy_limit = (!energy_met).then_some(match top {
        "ReRAM K/V reads" | "buffer writes" => Limit::FetchedRows,
        "MACs" | "softmax" | "buffer reads" | "normalisation" => Limit::KeptFraction,
        "in-memory scoring" | "comparators" | "crossbar programming" => Limit::InMemoryScoring,
        _ => Limit::MacLanes,
    });
    explanation.push(match energy_limit {
        None => format!(
            "energy reduction {:.2}x meets the goal of {PAPER_ENERGY_REDUCTION}x",
            s.energy_reduction_sprint
        ),
        Some(limit) => format!(
            "energy reduction {:.2}x < {PAPER_ENERGY_REDUCTION}x, bound: {}: SPRINT spends \
             {:.0}% of its energy on {top}; it fetches {:.1}% of the allowed pairs' rows \
             (hit rate {:.1}%) and recomputes {:.1}%",
            s.energy_reduction_sprint,
            limit.label(),
            pct(top_pj / total.max(f64::MIN_POSITIVE)),
            pct(s.new_fetch_fraction),
            pct(s.hit_rate),
            pct(s.kept_fraction)
        ),
    });
    GoalCheck {
        speedup: s.speedup_sprint,
        speedup_goal: PAPER_SPEEDUP,
        speedup_met,
        speedup_limit,
        energy_reduction: s.energy_reduction_sprint,
        energy_goal: PAPER_ENERGY_REDUCTION,
        energy_met,
        energy_limit,
        sprint_limit: sprint_limit(heads),
        explanation,
    }
}

/// The limit of SPRINT's runs that holds the most cycles of them.
fn sprint_limit(heads: &[HeadReport]) -> cycles::Bound {
    let limits = [
        cycles::Bound::Cores,
        cycles::Bound::MemoryBandwidth,
        cycles::Bound::CrossbarLatency,
    ];
    let weight =
        |b: cycles::Bound| sprint_sum(heads, |m| if m.limit == b { m.cycles as f64 } else { 0.0 });
    limits
        .into_iter()
        .max_by(|&a, &b| weight(a).total_cmp(&weight(b)))
        .expect("three limits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_cores_share_the_macs_and_wait_on_the_port() {
        let b = Bound {
            compute_cycles: 1000,
            memory_cycles: 900,
            transfer_cycles: 600,
            fixed_cycles: 0,
            bound_cycles: 0,
            memory_bound_queries: 0,
        };
        // One core: its MACs (1000) outlast its fetches (900).
        assert_eq!(elapsed_terms(1, &b), (1000.0, 900.0));
        // Two cores: each does half the MACs (500) while the shared port is
        // busy 600 cycles, so the run is memory-bound.
        assert_eq!(elapsed_terms(2, &b), (500.0, 600.0));
        assert_eq!(elapsed_terms(4, &b), (250.0, 600.0));
    }
}
