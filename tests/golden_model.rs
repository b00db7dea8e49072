//! The golden model against hand-worked cases and against plain
//! floating-point attention.

use sprint_rtl::golden::crossbar::Crossbar;
use sprint_rtl::golden::cycles::{self, Bound, RunTiming};
use sprint_rtl::golden::engine::attend;
use sprint_rtl::golden::numerics::{self as nx, SCALE_FRAC_BITS};
use sprint_rtl::golden::reference::{Base, Keys};
use sprint_rtl::golden::workload::{self, HeadShape};
use sprint_rtl::golden::{
    Derived, HeadInput, Mode, QueryResult, RunConfig, dispatch, reference, run_head,
};
use sprint_rtl::spec::Spec;

fn spec(name: &str) -> Spec {
    let path = format!("{}/specs/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    Spec::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn tiny() -> Derived {
    Derived::from_spec(&spec("tiny"))
}

fn row(d: &Derived, head: &[i32]) -> Vec<i32> {
    let mut r = head.to_vec();
    r.resize(d.head_dim as usize, 0);
    r
}

/// Two keys whose log2-domain scores are exactly 1 and 0: weights 1 and
/// 1/2 after the running max settles at ceil(1) = 1.
#[test]
fn two_keys_worked_by_hand() {
    let d = tiny();
    let q = row(&d, &[16]);
    let k = vec![row(&d, &[16]), row(&d, &[0])];
    let v = vec![row(&d, &[30, 1]), row(&d, &[-6, 0])];
    // s0 = 256; scale 2^12 gives z0 = 256 · 2^12 = 1.0 in F = 20 bits.
    let scale = 1 << 12;
    let out = attend(&d, &q, &k, &v, &[0, 1], scale);
    // p0 = 2^15, p1 = 2^14, l = 49152.
    // Element 0: (30 · 2^15 − 6 · 2^14) / 49152 = 18.0 → 18 · 2^8.
    assert_eq!(out[0], 18 * 256);
    // Element 1: 2^15 / 49152 = 2/3 → 170.67 → 171.
    assert_eq!(out[1], 171);
    // The same keys in the other order: the max grows on the second key and
    // rescales exactly (a shift of 1), so the result is identical.
    assert_eq!(attend(&d, &q, &k, &v, &[1, 0], scale), out);
}

#[test]
fn no_kept_key_gives_a_zero_row() {
    let d = tiny();
    let q = row(&d, &[5, 6]);
    let out = attend(&d, &q, &[], &[], &[], 100);
    assert_eq!(out, vec![0; d.head_dim as usize]);
}

#[test]
fn weights_follow_the_exponent_within_its_stated_error() {
    for z_tenths in -120..=0 {
        let z = (i64::from(z_tenths) << SCALE_FRAC_BITS) / 10;
        let p = nx::softmax_weight(z, 0);
        let exact = (z as f64 / f64::from(1 << SCALE_FRAC_BITS)).exp2() * 32768.0;
        // 0.35 % from the polynomial, 1/256 of the fraction dropped, one
        // LSB from the final shift.
        assert!(
            (f64::from(p) - exact).abs() <= exact * 0.0065 + 1.0,
            "z = {z_tenths}/10: {p} vs {exact}"
        );
    }
}

/// Fixed-point attention agrees with f64 attention over the same kept keys
/// to within 1 % of the value range plus one output LSB.
#[test]
fn engine_matches_float_attention() {
    for name in ["tiny", "causal", "sprint_s"] {
        let d = Derived::from_spec(&spec(name));
        let shape = HeadShape {
            n_queries: 8,
            n_keys: d.seq_len,
            query_base: d.seq_len - 8,
            head_id: 0,
        };
        let input = workload::synthetic_head(&d, 11, shape);
        let scale = workload::synthetic_scale(&d);
        let cfg = RunConfig {
            mode: Mode::Baseline,
            threshold: 0,
            scale,
        };
        let result = run_head(&d, &input, &cfg);
        let (k, v) = (reference::to_f64(&input.k), reference::to_f64(&input.v));
        let real_scale = f64::from(scale) / f64::from(1 << SCALE_FRAC_BITS);
        let lsb = 1.0 / f64::from(1 << d.out_frac_bits);
        let range = f64::from(1 << (d.data_bits - 1));
        let mut worst: f64 = 0.0;
        for (r, q) in result.queries.iter().zip(&input.q) {
            let qf: Vec<f64> = q.iter().map(|&x| f64::from(x)).collect();
            let exact =
                reference::attention(&qf, &k, &v, Keys::Listed(&r.kept), real_scale, Base::Two);
            for (&o, e) in r.out.iter().zip(&exact) {
                worst = worst.max((f64::from(o) * lsb - e).abs());
            }
        }
        assert!(worst <= 0.01 * range + lsb, "{name}: worst error {worst}");
    }
}

#[test]
fn crossbar_without_noise_sums_the_msb_products() {
    let mut s = spec("tiny");
    s.crossbar.noise.programming_sigma = 0.0;
    s.crossbar.noise.read_sigma = 0.0;
    let d = Derived::from_spec(&s);
    // Key MSBs: 0x70 >> 4 = 7, -128 >> 4 = -8; query MSBs 0x30 >> 4 = 3, -17 >> 4 = -2.
    let k = vec![row(&d, &[0x70, -128])];
    let x = Crossbar::program(&d, &k);
    let q = row(&d, &[0x30, -17]);
    let expected = (3 * 7 + (-2) * (-8)) << nx::CONDUCTANCE_FRAC_BITS;
    assert_eq!(x.approximate_scores(&q, 0), vec![expected]);
    assert_eq!(x.keep(&q, 0, expected), vec![true]);
    assert_eq!(x.keep(&q, 0, expected + 1), vec![false]);
}

#[test]
fn crossbar_noise_is_reproducible_and_seeded() {
    let d = tiny();
    let input = workload::synthetic_head(
        &d,
        3,
        HeadShape {
            n_queries: 1,
            n_keys: 32,
            query_base: 0,
            head_id: 0,
        },
    );
    let a = Crossbar::program(&d, &input.k).approximate_scores(&input.q[0], 5);
    let b = Crossbar::program(&d, &input.k).approximate_scores(&input.q[0], 5);
    assert_eq!(a, b);
    let other_read = Crossbar::program(&d, &input.k).approximate_scores(&input.q[0], 6);
    assert_ne!(a, other_read, "read noise must depend on the read id");
    let mut s = spec("tiny");
    s.crossbar.noise.seed += 1;
    let reseeded =
        Crossbar::program(&Derived::from_spec(&s), &input.k).approximate_scores(&input.q[0], 5);
    assert_ne!(a, reseeded, "noise must depend on the seed");
}

fn tiny_head(seed: u64) -> (Derived, HeadInput) {
    let d = tiny();
    let shape = HeadShape {
        n_queries: 32,
        n_keys: 32,
        query_base: 0,
        head_id: 0,
    };
    let input = workload::synthetic_head(&d, seed, shape);
    (d, input)
}

#[test]
fn counters_add_up_in_every_mode() {
    let (d, input) = tiny_head(1);
    let threshold = workload::calibrate_threshold(&d, &input, 0.25);
    let scale = workload::synthetic_scale(&d);
    let mut kept_by_mode = Vec::new();
    for mode in [
        Mode::Baseline,
        Mode::PruneOnly,
        Mode::ReuseOnly,
        Mode::Sprint,
    ] {
        let r = run_head(
            &d,
            &input,
            &RunConfig {
                mode,
                threshold,
                scale,
            },
        );
        let c = r.counters;
        assert_eq!(c.kept, c.hits + c.fetches, "{mode:?}");
        if !mode.reuse() {
            assert_eq!(c.hits, 0, "{mode:?}: no reuse, no hits");
        }
        assert_eq!(c.xbar_reads, if mode.prune() { 32 } else { 0 });
        for q in &r.queries {
            assert_eq!(q.order.len(), q.kept.len());
            assert!(q.kept.windows(2).all(|w| w[0] < w[1]));
        }
        kept_by_mode.push(c.kept);
    }
    assert_eq!(kept_by_mode[0], 32 * 32, "baseline keeps every key");
    assert_eq!(
        kept_by_mode[1], kept_by_mode[3],
        "reuse does not change the kept set"
    );
    assert!(
        kept_by_mode[1] < kept_by_mode[0] / 2,
        "pruning keeps about a quarter"
    );
}

#[test]
fn reuse_only_changes_the_order_not_the_output_much() {
    let (d, input) = tiny_head(2);
    let threshold = workload::calibrate_threshold(&d, &input, 0.25);
    let scale = workload::synthetic_scale(&d);
    let prune = run_head(
        &d,
        &input,
        &RunConfig {
            mode: Mode::PruneOnly,
            threshold,
            scale,
        },
    );
    let sprint = run_head(
        &d,
        &input,
        &RunConfig {
            mode: Mode::Sprint,
            threshold,
            scale,
        },
    );
    assert!(sprint.counters.hits > 0, "adjacent queries share keys");
    assert!(sprint.counters.fetches < prune.counters.fetches);
    for (a, b) in prune.queries.iter().zip(&sprint.queries) {
        assert_eq!(a.kept, b.kept);
        for (x, y) in a.out.iter().zip(&b.out) {
            assert!(
                (x - y).abs() <= 4,
                "order changes rounding only: {x} vs {y}"
            );
        }
    }
}

#[test]
fn tiny_buffer_forces_tiles_within_a_query() {
    let (d, input) = tiny_head(1);
    let threshold = workload::calibrate_threshold(&d, &input, 0.25);
    let r = run_head(
        &d,
        &input,
        &RunConfig {
            mode: Mode::PruneOnly,
            threshold,
            scale: 300,
        },
    );
    let tiled = r
        .queries
        .iter()
        .filter(|q| q.kept.len() > d.slots as usize)
        .count();
    assert!(
        tiled > 0,
        "some query keeps more keys than the {} slots",
        d.slots
    );
    assert!(r.counters.evicts > 0);
}

#[test]
fn causal_mask_never_keeps_a_later_key() {
    let d = Derived::from_spec(&spec("causal"));
    let shape = HeadShape {
        n_queries: 16,
        n_keys: d.seq_len,
        query_base: 0,
        head_id: 0,
    };
    let input = workload::synthetic_head(&d, 4, shape);
    let r = run_head(
        &d,
        &input,
        &RunConfig {
            mode: Mode::Baseline,
            threshold: 0,
            scale: 200,
        },
    );
    for q in &r.queries {
        assert_eq!(q.kept.len() as u32, q.index + 1);
        assert!(q.kept.iter().all(|&j| j <= q.index));
    }
}

#[test]
fn a_threshold_above_every_score_keeps_nothing() {
    let (d, input) = tiny_head(5);
    let max = *d.threshold_range().end();
    let r = run_head(
        &d,
        &input,
        &RunConfig {
            mode: Mode::Sprint,
            threshold: max,
            scale: 300,
        },
    );
    assert_eq!(r.counters.kept, 0);
    assert!(r.queries.iter().all(|q| q.out.iter().all(|&x| x == 0)));
}

/// `spec` with `cores` recompute cores and `cores` times its buffer, so
/// that each core has the buffer of the one-core spec.
fn with_cores(spec: &Spec, cores: u32) -> Derived {
    let mut s = spec.clone();
    s.recompute.cores = cores;
    s.buffer.bytes *= cores;
    Derived::from_spec(&s)
}

/// Each core is a one-core design run on its own queries: without read
/// noise and causal mask (both depend on the query's absolute index, which
/// a sub-run cannot keep), the queries of core c, run alone through one
/// core with the same buffer, give the same outputs, order and counters.
#[test]
fn each_core_runs_its_queries_as_one_core_would() {
    let mut one = spec("tiny");
    one.crossbar.noise.read_sigma = 0.0;
    let d1 = Derived::from_spec(&one);
    let shape = HeadShape {
        n_queries: 30,
        n_keys: 32,
        query_base: 0,
        head_id: 0,
    };
    let input = workload::synthetic_head(&d1, 5, shape);
    let threshold = workload::calibrate_threshold(&d1, &input, 0.3);
    let scale = workload::synthetic_scale(&d1);
    for cores in [2, 4] {
        let d = with_cores(&one, cores);
        assert_eq!(d.slots, d1.slots);
        for mode in [
            Mode::Baseline,
            Mode::PruneOnly,
            Mode::ReuseOnly,
            Mode::Sprint,
        ] {
            let cfg = RunConfig {
                mode,
                threshold,
                scale,
            };
            let all = run_head(&d, &input, &cfg);
            assert_eq!(all.per_core.len(), cores as usize);
            for core in 0..cores {
                let mine: Vec<usize> = (0..input.q.len())
                    .filter(|&t| dispatch::core_of(&d, t as u32) == core)
                    .collect();
                assert_eq!(
                    mine.len() as u32,
                    dispatch::queries_of_core(&d, input.q.len() as u32, core)
                );
                let alone_input = HeadInput {
                    q: mine.iter().map(|&t| input.q[t].clone()).collect(),
                    ..input.clone()
                };
                let alone = run_head(&d1, &alone_input, &cfg);
                assert_eq!(
                    alone.counters, all.per_core[core as usize],
                    "{mode:?} core {core}"
                );
                for (a, &t) in alone.queries.iter().zip(&mine) {
                    let q = &all.queries[t];
                    assert_eq!(q.core, core);
                    assert_eq!((&a.out, &a.order, a.evicts), (&q.out, &q.order, q.evicts));
                }
            }
        }
    }
}

/// The per-core counters add up to the design's, and the dispatcher keeps
/// adjacent queries together: with reuse, more cores (the same buffer per
/// core) lose hits only at block boundaries.
#[test]
fn per_core_counters_add_up_and_blocks_keep_locality() {
    let s = spec("sprint_s");
    let d1 = Derived::from_spec(&s);
    let run = workload::SyntheticRun::new(&d1, 3, 64, 0.15);
    let cfg = RunConfig {
        mode: Mode::Sprint,
        threshold: run.threshold,
        scale: run.scale,
    };
    let hits_one = run_head(&d1, &run.input, &cfg).counters.hits;
    for cores in [1, 2, 4] {
        let d = with_cores(&s, cores);
        let r = run_head(&d, &run.input, &cfg);
        // Each core's counters are those of the queries it ran.
        for (core, c) in r.per_core.iter().enumerate() {
            let mine: Vec<_> = r.queries.iter().filter(|q| q.core == core as u32).collect();
            let sum = |f: fn(&&QueryResult) -> u64| mine.iter().map(f).sum::<u64>();
            assert_eq!(c.kept, sum(|q| q.kept.len() as u64), "{cores} cores");
            assert_eq!(c.fetches, sum(|q| u64::from(q.fetches)), "{cores} cores");
            assert_eq!(c.hits, sum(|q| u64::from(q.hits)), "{cores} cores");
            assert_eq!(c.evicts, sum(|q| u64::from(q.evicts)), "{cores} cores");
        }
        assert_eq!(
            r.counters.kept,
            r.queries.iter().map(|q| q.kept.len() as u64).sum::<u64>()
        );
        assert!(
            r.per_core
                .iter()
                .all(|c| c.xbar_reads == 64 / u64::from(cores))
        );
        if cores == 1 {
            assert_eq!(r.counters.hits, hits_one);
        } else {
            assert!(
                r.counters.hits < hits_one,
                "{cores} cores lose hits at block starts"
            );
            assert!(
                r.counters.hits > hits_one / 2,
                "{cores} cores keep most hits"
            );
        }
    }
}

/// The cycle model: one core costs the sum of its queries; more cores
/// divide the busiest core's share, and the shared ports bound the run.
#[test]
fn cores_divide_the_cycles_up_to_the_shared_ports() {
    let s = spec("sprint_s");
    let d1 = Derived::from_spec(&s);
    let run = workload::SyntheticRun::new(&d1, 1, 64, 0.15);
    for mode in Mode::COMPARED {
        let cfg = RunConfig {
            mode,
            threshold: run.threshold,
            scale: run.scale,
        };
        let one = run_head(&d1, &run.input, &cfg);
        let sum: u64 = one
            .queries
            .iter()
            .map(|q| cycles::query_cycles(&d1, mode, q))
            .sum();
        let t1 = RunTiming::new(&d1, mode, &one.queries);
        assert_eq!((t1.cycles, t1.bound), (sum, Bound::Cores));
        for cores in [2, 4] {
            let d = with_cores(&s, cores);
            let r = run_head(&d, &run.input, &cfg);
            let t = RunTiming::new(&d, mode, &r.queries);
            assert_eq!(t.core_cycles.len(), cores as usize);
            let busiest = *t.core_cycles.iter().max().unwrap();
            assert_eq!(
                t.cycles,
                busiest
                    .max(t.memory_port_cycles)
                    .max(t.crossbar_port_cycles)
            );
            assert!(t.cycles < sum, "{mode:?}: {cores} cores are faster");
            assert!(
                t.cycles * u64::from(cores) >= sum / 2,
                "{mode:?}: no more than linear"
            );
            assert!(t.utilisation().iter().all(|&u| u <= 1.0));
        }
    }
}

#[test]
fn streaming_without_keep_vectors_gives_run_heads_results() {
    use sprint_rtl::golden::{KeepVectors, stream_head};
    let d = Derived::from_spec(&spec("causal"));
    let shape = HeadShape {
        n_queries: 96,
        n_keys: 120,
        query_base: 3,
        head_id: 7,
    };
    let input = workload::synthetic_head(&d, 9, shape);
    let threshold = workload::calibrate_threshold(&d, &input, 0.3);
    for mode in [Mode::Baseline, Mode::PruneOnly, Mode::Sprint] {
        let cfg = RunConfig {
            mode,
            threshold,
            scale: workload::synthetic_scale(&d),
        };
        let full = run_head(&d, &input, &cfg);
        let mut streamed = Vec::new();
        let per_core = stream_head(&d, &input, &cfg, KeepVectors::Omitted, &mut |r| {
            streamed.push(r)
        });
        assert_eq!(per_core, full.per_core, "{mode:?}");
        if mode == Mode::Baseline {
            assert!(full.counters.evicts > 0, "the 32-slot buffer fills");
        }
        for (s, f) in streamed.iter().zip(&full.queries) {
            assert_eq!(s.xbar_keep, None);
            assert_eq!(f.xbar_keep.is_some(), mode.prune());
            assert_eq!(
                (s.index, &s.kept, &s.order, &s.out),
                (f.index, &f.kept, &f.order, &f.out)
            );
        }
    }
}
