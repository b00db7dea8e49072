//! Analytical cycle model of the generated design, from the golden model's
//! per-query results (kept keys, hits, fetches).
//!
//! It follows the RTL's state machines with no idle cycles on the inputs
//! and no back-pressure on the outputs, as two resources that overlap: the
//! controller (which fetches) and the engine (which computes).
//!
//! - A query starts with 3 cycles of sequencing, plus `xbar_latency + 2`
//!   for a crossbar read.
//! - The engine spends `2·chunks + 6` cycles per key (C + 1 score, 3 weight,
//!   C + 1 accumulate, one cycle to take the next key).
//! - A hit is handed to the engine as soon as it is free.
//! - A fetch occupies the controller for `3 + mem_latency + (beats − 1) · r`
//!   cycles, `r = max(1, beat_bytes / bytes_per_cycle)`; the row is handed
//!   over when the engine is free, and the next fetch starts while the
//!   engine works.
//! - Normalisation and output take `recip_bits + chunks + 4` cycles after
//!   the last key, or 3 cycles for a query with no kept key.
//!
//! `sprint-rtl verify` prints the model's error against the RTL per run.

use super::{Mode, QueryResult};
use crate::spec::Derived;

/// Cycles of one key in the engine.
pub fn engine_key_cycles(d: &Derived) -> u64 {
    2 * u64::from(d.chunks) + 6
}

/// Controller cycles of one fetch, from the request to handing the row to
/// the engine.
pub fn fetch_cycles(d: &Derived) -> u64 {
    let beat_bytes = u64::from(d.chunk_bits.div_ceil(8));
    let per_beat = beat_bytes.div_ceil(u64::from(d.mem_bytes_per_cycle)).max(1);
    3 + u64::from(d.mem_latency) + (u64::from(d.beats_per_key) - 1) * per_beat
}

/// Cycles of one query in `mode`.
pub fn query_cycles(d: &Derived, mode: Mode, q: &QueryResult) -> u64 {
    let key = engine_key_cycles(d);
    let mut controller = 3 + if mode.prune() {
        u64::from(d.xbar_latency) + 2
    } else {
        0
    };
    if q.kept.is_empty() {
        return controller + 3;
    }
    let mut engine_free = controller;
    let hand_over = |ready: u64, engine_free: &mut u64| {
        let start = ready.max(*engine_free);
        *engine_free = start + key;
        start + 1
    };
    for _ in 0..q.hits {
        controller = hand_over(controller, &mut engine_free);
    }
    for _ in 0..q.fetches {
        controller = hand_over(controller + fetch_cycles(d) - 1, &mut engine_free);
    }
    controller.max(engine_free) + u64::from(d.recip_bits) + u64::from(d.chunks) + 4
}

/// Cycles of a whole run: the sum over its queries.
pub fn run_cycles(d: &Derived, mode: Mode, queries: &[QueryResult]) -> u64 {
    queries.iter().map(|q| query_cycles(d, mode, q)).sum()
}
