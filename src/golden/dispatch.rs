//! The dispatcher: which recompute core (CORELET) runs which query.
//!
//! Rule: the queries of a run go to the cores in blocks of
//! [`BLOCK_QUERIES`] consecutive queries, round robin. Query t of a run
//! (t = 0 for its first query, whatever `query_base`) runs on core
//! `(t / BLOCK_QUERIES) mod cores`. Within a block, adjacent queries run on
//! one core one after the other, so they still share that core's buffer
//! rows; a core's next block starts `BLOCK_QUERIES × (cores − 1)` queries
//! later, with the rows of its previous block still resident.
//!
//! Why blocks and not one contiguous share per core: queries arrive on one
//! in-order stream and output rows leave in query order, so a core can
//! only work ahead of the others by what it can hold. With blocks, each
//! core needs one block of queries in and one block of output rows out;
//! with one share per core that storage would grow with the run's length.
//! With one core every query runs on core 0, as before cores existed.

use super::Derived;

/// Queries per dispatch block: a power of two, so that the block number
/// and the core are bit fields of a query's position in the run.
pub const BLOCK_QUERIES: u32 = 8;

/// Core of query `t` of a run (t counts from 0 at the run's first query).
pub fn core_of(d: &Derived, t: u32) -> u32 {
    (t / d.block_queries) % d.cores
}

/// Queries of a run of `n_queries` that core `core` runs: whole rounds of
/// `cores` blocks, then its part of the last, partial round.
pub fn queries_of_core(d: &Derived, n_queries: u32, core: u32) -> u32 {
    let round = d.block_queries * d.cores;
    let rest = n_queries % round;
    let in_last = rest
        .saturating_sub(core * d.block_queries)
        .min(d.block_queries);
    n_queries / round * d.block_queries + in_last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn derived(cores: u32) -> Derived {
        let mut spec = Spec::default_spec();
        spec.recompute.cores = cores;
        spec.buffer.bytes = 16384 * cores;
        Derived::from_spec(&spec)
    }

    #[test]
    fn blocks_go_round_robin() {
        let d = derived(2);
        let cores: Vec<u32> = (0..40).map(|t| core_of(&d, t)).collect();
        let block = |c: u32| vec![c; BLOCK_QUERIES as usize];
        let expected: Vec<u32> = [block(0), block(1), block(0), block(1), block(0)].concat();
        assert_eq!(cores, expected);
        assert!((0..100).all(|t| core_of(&derived(1), t) == 0));
    }

    #[test]
    fn the_counts_per_core_add_up() {
        for cores in [1, 2, 4, 8] {
            let d = derived(cores);
            for n in 0..200 {
                let counted: Vec<u32> = (0..cores)
                    .map(|c| (0..n).filter(|&t| core_of(&d, t) == c).count() as u32)
                    .collect();
                let formula: Vec<u32> = (0..cores).map(|c| queries_of_core(&d, n, c)).collect();
                assert_eq!(counted, formula, "{cores} cores, {n} queries");
            }
        }
    }
}
