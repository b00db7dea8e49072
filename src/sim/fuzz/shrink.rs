//! Greedy shrinking of a failing case to a small reproducer.
//!
//! A [`Case`] is a spec and the co-simulation options of one failing
//! seed. [`candidates`] lists smaller cases, the biggest cut first (fewer
//! keys, a shorter row, fewer queries, one core, one lane, the least
//! buffer, the narrowest widths, no noise, no stalls, ...); [`shrink`]
//! tries them in order and keeps the first that is valid and still fails,
//! then starts over from it, until no candidate fails or the budget of
//! tries (each is a rebuild and a simulation) is spent.

use crate::spec::{self, Spec};

/// A spec and the options of one co-simulation of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub spec: Spec,
    /// The workload and testbench seed.
    pub seed: u64,
    /// Queries per head (1..=seq_len).
    pub queries: u32,
    pub keep_fraction: f64,
    pub idle_percent: u32,
    pub stall_percent: u32,
    /// Whether the robustness runs are part of the stimulus.
    pub robustness: bool,
}

impl Case {
    /// The command that replays the case, with `spec_path` as the spec.
    pub fn verify_command(&self, spec_path: &str) -> String {
        format!(
            "sprint-rtl verify {spec_path} --seed {} --queries {} --keep-fraction {} \
             --idle-percent {} --stall-percent {}{}",
            self.seed,
            self.queries,
            self.keep_fraction,
            self.idle_percent,
            self.stall_percent,
            if self.robustness {
                ""
            } else {
                " --no-robustness"
            }
        )
    }

    /// A size to compare reproducers by: keys × row elements × queries,
    /// times cores and lanes.
    pub fn size(&self) -> u64 {
        let s = &self.spec;
        u64::from(s.attention.seq_len)
            * u64::from(s.attention.head_dim)
            * u64::from(self.queries)
            * u64::from(s.recompute.cores)
            * u64::from(s.recompute.lanes)
    }
}

/// What [`shrink`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// The smallest failing case found (the original when nothing smaller
    /// failed).
    pub case: Case,
    /// Candidates tried (each a call of the predicate).
    pub tries: u32,
    /// Candidates kept.
    pub steps: u32,
}

/// Shrinks `case`, which `fails`, calling `fails` at most `max_tries`
/// times on valid candidates; invalid candidates are skipped without a
/// call.
pub fn shrink(case: Case, max_tries: u32, fails: &mut dyn FnMut(&Case) -> bool) -> Shrunk {
    let mut shrunk = Shrunk {
        case,
        tries: 0,
        steps: 0,
    };
    'outer: while shrunk.tries < max_tries {
        for candidate in candidates(&shrunk.case) {
            if candidate == shrunk.case || candidate.spec.validate().is_err() {
                continue;
            }
            if shrunk.tries == max_tries {
                break 'outer;
            }
            shrunk.tries += 1;
            if fails(&candidate) {
                shrunk.case = candidate;
                shrunk.steps += 1;
                continue 'outer;
            }
        }
        break;
    }
    shrunk
}

/// Smaller cases than `case`, biggest cut first. Some may be invalid; a
/// buffer is refitted to keep its slots per core where it can.
pub fn candidates(case: &Case) -> Vec<Case> {
    let s = &case.spec;
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Case)| {
        let mut c = case.clone();
        f(&mut c);
        super::space::fit_memory_port(&mut c.spec);
        c.queries = c.queries.clamp(1, c.spec.attention.seq_len);
        out.push(c);
    };
    let seq_len = s.attention.seq_len;
    for n in [
        2,
        seq_len / 4,
        seq_len / 2,
        seq_len * 3 / 4,
        seq_len - seq_len / 8,
        seq_len - 1,
    ] {
        if (2..seq_len).contains(&n) {
            push(&|c| c.spec.attention.seq_len = n);
        }
    }
    for q in [1, case.queries / 2, case.queries - 1] {
        if (1..case.queries).contains(&q) {
            push(&|c| c.queries = q);
        }
    }
    let head_dim = s.attention.head_dim;
    for dim in [2, head_dim / 2] {
        if (2..head_dim).contains(&dim) {
            push(&|c| set_head_dim(&mut c.spec, dim));
        }
    }
    if s.recompute.cores > 1 {
        push(&|c| set_cores(&mut c.spec, 1));
        let half = s.recompute.cores / 2;
        push(&|c| set_cores(&mut c.spec, half));
    }
    if s.recompute.lanes > 1 {
        push(&|c| c.spec.recompute.lanes = 1);
    }
    push(&|c| set_slots(&mut c.spec, 2));
    push(&|c| c.robustness = false);
    push(&|c| {
        c.idle_percent = 0;
        c.stall_percent = 0;
    });
    push(&|c| c.spec.attention.causal = false);
    push(&|c| {
        c.spec.crossbar.noise.programming_sigma = 0.0;
        c.spec.crossbar.noise.read_sigma = 0.0;
    });
    push(&|c| {
        c.spec.crossbar.latency_cycles = 1;
        c.spec.memory.latency_cycles = 1;
    });
    push(&|c| {
        c.spec.crossbar.rows = 8;
        c.spec.crossbar.cols = 8;
    });
    push(&|c| c.spec.numerics.out_bits = c.spec.numerics.data_bits);
    push(&|c| set_data_bits(&mut c.spec, 8));
    push(&|c| set_data_bits(&mut c.spec, 4));
    push(&|c| c.spec.crossbar.threshold_bits = 16);
    out
}

/// Slots per core of `spec`'s buffer.
pub(super) fn slots(spec: &Spec) -> u32 {
    spec.buffer.bytes / spec.recompute.cores / slot_bytes(spec)
}

fn slot_bytes(spec: &Spec) -> u32 {
    spec::slot_bytes(spec.attention.head_dim, spec.numerics.data_bits)
}

/// Sets the buffer to `n` slots per core, exactly.
pub(super) fn set_slots(spec: &mut Spec, n: u32) {
    spec.buffer.bytes = n * slot_bytes(spec) * spec.recompute.cores;
}

/// A new head dimension, with lanes cut to a divisor and the buffer's
/// slots per core kept.
pub(super) fn set_head_dim(spec: &mut Spec, dim: u32) {
    let n = slots(spec);
    spec.attention.head_dim = dim;
    let lanes = spec.recompute.lanes.min(dim);
    spec.recompute.lanes = (1..=lanes)
        .rev()
        .find(|l| dim.is_multiple_of(*l))
        .unwrap_or(1);
    set_slots(spec, n);
}

/// New cores, the slots per core kept.
pub(super) fn set_cores(spec: &mut Spec, cores: u32) {
    let n = slots(spec);
    spec.recompute.cores = cores;
    set_slots(spec, n);
}

/// New data width, out_bits and MSB widths kept in range, the slots kept.
fn set_data_bits(spec: &mut Spec, bits: u32) {
    let n = slots(spec);
    let (num, x) = (&mut spec.numerics, &mut spec.crossbar);
    num.out_bits = num.out_bits - num.data_bits + bits;
    num.data_bits = bits;
    x.key_msb_bits = x.key_msb_bits.min(bits);
    x.query_msb_bits = x.query_msb_bits.min(bits);
    set_slots(spec, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> Case {
        Case {
            spec: crate::spec::Spec::default_spec(),
            seed: 9,
            queries: 32,
            keep_fraction: 0.15,
            idle_percent: 25,
            stall_percent: 25,
            robustness: true,
        }
    }

    #[test]
    fn a_failure_that_needs_long_sequences_and_one_lane_shrinks_to_its_edge() {
        let mut calls = 0;
        let mut fails = |c: &Case| {
            calls += 1;
            c.spec.attention.seq_len > 100 && c.spec.recompute.lanes == 1
        };
        let mut start = case();
        start.spec.recompute.lanes = 1;
        start.spec.recompute.cores = 2;
        start.spec.buffer.bytes *= 2;
        assert!(fails(&start));
        let shrunk = shrink(start, 500, &mut fails);
        let s = &shrunk.case.spec;
        assert_eq!(s.attention.seq_len, 101, "the least failing seq_len");
        assert_eq!(s.recompute.lanes, 1);
        assert_eq!(s.attention.head_dim, 2);
        assert_eq!(s.recompute.cores, 1);
        assert_eq!(shrunk.case.queries, 1);
        assert_eq!(slots(s), 2);
        assert!(!shrunk.case.robustness);
        assert_eq!(
            (shrunk.case.idle_percent, shrunk.case.stall_percent),
            (0, 0)
        );
        assert_eq!(s.numerics.data_bits, 4);
        assert!(s.validate().is_ok());
        assert_eq!(calls - 1, shrunk.tries, "one call per try");
    }

    #[test]
    fn the_budget_bounds_the_tries() {
        let mut calls = 0;
        let shrunk = shrink(case(), 5, &mut |_| {
            calls += 1;
            true
        });
        assert_eq!((shrunk.tries, calls), (5, 5));
        assert!(shrunk.case.size() < case().size());
    }

    #[test]
    fn a_case_that_only_fails_whole_is_kept() {
        let shrunk = shrink(case(), 100, &mut |_| false);
        assert_eq!(shrunk.case, case());
        assert_eq!(shrunk.steps, 0);
        assert!(shrunk.tries > 10);
    }

    #[test]
    fn every_candidate_is_smaller_or_equal_and_most_are_valid() {
        let all = candidates(&case());
        let valid = all.iter().filter(|c| c.spec.validate().is_ok()).count();
        assert!(valid * 2 > all.len(), "{valid} of {}", all.len());
        assert!(all.iter().all(|c| c.size() <= case().size()));
    }
}
