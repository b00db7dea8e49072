//! Energy model: operation counts of one run times the per-operation
//! energies of the spec's `energy:` section ([`crate::spec::Energy`], whose
//! defaults cite SPRINT, Horowitz ISSCC 2014 and ISAAC).
//!
//! Counts, for a run of `Q` queries over `N` keys, from the counters the RTL
//! reports and the golden model checks (kept `K`, fetches `F`, crossbar reads
//! `X`) and the spec:
//!
//! | component | count | energy |
//! |---|---|---|
//! | in-memory scoring | `X · arrays · rows · cols` cell MACs (every cell of every array holding K is driven on a read) | `xbar_mac_pj` |
//! | crossbar programming | pruning modes, once per head: `N · head_dim · key_msb_bits` bits | `reram_write_pj_per_bit` |
//! | comparators | `X · N` (one per key's bit line per read) | `comparator_pj` |
//! | ReRAM K/V reads | `F · slot_bytes · 8` bits | `reram_read_pj_per_bit` |
//! | buffer writes | `F · slot_bytes · 8 / 64` 64-bit words | `sram_pj_per_64b` |
//! | buffer reads | `K · slot_bytes · 8 / 64` (each kept key's K and V rows once) | `sram_pj_per_64b` |
//! | MACs | `K · head_dim · 2` (q·k and p·v) | `mac_pj` |
//! | softmax | `K` kept keys | `softmax_pj_per_key` |
//! | normalisation | per query: `head_dim` multiplies by the reciprocal and `recip_bits` quotient bits | `normalise_pj_per_element`, `add32_pj` |
//! | control | cycles | `control_pj_per_cycle` |
//!
//! Assumptions: dynamic energy only (no leakage, so a faster run is not
//! credited for its shorter time except through control); writing K and V
//! to the ReRAM memory is the same in every mode and left out; the 8 KB
//! SRAM figure is used for the buffer whatever its size.

use serde::Serialize;

use crate::golden::{Counters, Derived, Mode};
use crate::spec::Energy;

/// The names of the components, in report order.
pub const COMPONENTS: [&str; 10] = [
    "in-memory scoring",
    "crossbar programming",
    "comparators",
    "ReRAM K/V reads",
    "buffer writes",
    "buffer reads",
    "MACs",
    "softmax",
    "normalisation",
    "control",
];

/// What a run did: the counts the energy model needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub mode: Mode,
    /// Queries in the run.
    pub queries: u64,
    /// Keys of the head.
    pub keys: u64,
    /// The run's counters (kept, fetches, hits, evicts, crossbar reads).
    pub counters: Counters,
    /// Clock cycles of the run (measured in the RTL, or modelled).
    pub cycles: u64,
}

/// One component's energy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentEnergy {
    /// One of [`COMPONENTS`].
    pub component: &'static str,
    /// Operations of the whole run (unit in `unit`).
    pub operations: f64,
    /// What one operation is, e.g. `bit`, `64-bit access`.
    pub unit: &'static str,
    /// Energy per query, in picojoules.
    pub pj_per_query: f64,
}

/// A run's energy by component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyBreakdown {
    /// Components in [`COMPONENTS`] order.
    pub components: Vec<ComponentEnergy>,
    /// Sum of the components, per query, in picojoules.
    pub pj_per_query: f64,
}

impl EnergyBreakdown {
    /// The energy per query of `component`, in pJ (0 when absent).
    pub fn of(&self, component: &str) -> f64 {
        self.components
            .iter()
            .find(|c| c.component == component)
            .map_or(0.0, |c| c.pj_per_query)
    }
}

/// The energy of a run (see the module docs for every count).
pub fn energy(d: &Derived, e: &Energy, a: &Activity) -> EnergyBreakdown {
    let c = &a.counters;
    let q = a.queries.max(1) as f64;
    let slot_bits = f64::from(d.slot_bytes) * 8.0;
    let dim = f64::from(d.head_dim);
    let cells = f64::from(d.xbar_arrays) * f64::from(d.xbar_rows) * f64::from(d.xbar_cols);
    let programmed_bits = if a.mode.prune() {
        a.keys as f64 * dim * f64::from(d.key_msb_bits)
    } else {
        0.0
    };
    let (x, f, k) = (c.xbar_reads as f64, c.fetches as f64, c.kept as f64);
    let rows: [(&'static str, f64, &'static str, f64); 10] = [
        (COMPONENTS[0], x * cells, "cell MAC", e.xbar_mac_pj),
        (
            COMPONENTS[1],
            programmed_bits,
            "bit",
            e.reram_write_pj_per_bit,
        ),
        (
            COMPONENTS[2],
            x * a.keys as f64,
            "comparison",
            e.comparator_pj,
        ),
        (COMPONENTS[3], f * slot_bits, "bit", e.reram_read_pj_per_bit),
        (
            COMPONENTS[4],
            f * slot_bits / 64.0,
            "64-bit access",
            e.sram_pj_per_64b,
        ),
        (
            COMPONENTS[5],
            k * slot_bits / 64.0,
            "64-bit access",
            e.sram_pj_per_64b,
        ),
        (COMPONENTS[6], k * dim * 2.0, "MAC", e.mac_pj),
        (COMPONENTS[7], k, "kept key", e.softmax_pj_per_key),
        (
            COMPONENTS[8],
            a.queries as f64,
            "query",
            dim * e.normalise_pj_per_element + f64::from(d.recip_bits) * e.add32_pj,
        ),
        (
            COMPONENTS[9],
            a.cycles as f64,
            "cycle",
            e.control_pj_per_cycle,
        ),
    ];
    let components: Vec<ComponentEnergy> = rows
        .into_iter()
        .map(|(component, operations, unit, pj)| ComponentEnergy {
            component,
            operations,
            unit,
            pj_per_query: operations * pj / q,
        })
        .collect();
    let pj_per_query = components.iter().map(|c| c.pj_per_query).sum();
    EnergyBreakdown {
        components,
        pj_per_query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn baseline_energy_is_dominated_by_kv_reads() {
        let d = Derived::from_spec(&Spec::default_spec());
        let keys = u64::from(d.seq_len);
        let a = Activity {
            mode: Mode::Baseline,
            queries: 1,
            keys,
            counters: Counters {
                kept: keys,
                fetches: keys,
                ..Counters::default()
            },
            cycles: 1000,
        };
        let b = energy(&d, &Energy::default(), &a);
        // 512 rows x 128 bytes x 8 bits x 3.1 pJ.
        let reads = b.of("ReRAM K/V reads");
        assert!((reads - 512.0 * 1024.0 * 3.1).abs() < 1e-6);
        assert_eq!(b.of("in-memory scoring"), 0.0);
        assert_eq!(b.of("crossbar programming"), 0.0);
        assert!((b.of("control") - 1000.0 * 0.4).abs() < 1e-9);
        assert!(reads > 0.5 * b.pj_per_query);
        let sum: f64 = b.components.iter().map(|c| c.pj_per_query).sum();
        assert!((sum - b.pj_per_query).abs() < 1e-9);
    }
}
