//! Real input: the committed MiniLM trace of a real passage, its
//! calibration, the golden model's statistics on it, and its co-simulation.
//!
//! The co-simulation needs Verilator, and the check that the trace is what
//! the model computes needs the model (`SPRINT_RTL_MINILM_DIR`): both are
//! ignored by a plain `cargo test` and run with `-- --include-ignored` (see
//! `tests/common`).

mod common;

use std::path::{Path, PathBuf};

use sprint_rtl::eval::calibrate::{self, Target, Thresholds};
use sprint_rtl::golden::Derived;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::reports::simulate;
use sprint_rtl::sim::verify::{self, TraceRun, VerifyOptions};
use sprint_rtl::spec::Spec;
use sprint_rtl::trace::Trace;

fn trace_path() -> PathBuf {
    common::root().join("tests/data/minilm_passage.npz")
}

fn minilm() -> Spec {
    common::spec("minilm")
}

#[test]
fn committed_trace_is_a_real_passage_of_four_heads() {
    let t = Trace::read_npz(&trace_path()).unwrap();
    assert!(t.tokens.len() >= 256, "a passage of at least 256 tokens");
    assert_eq!(t.tokens[0], 101, "[CLS] first");
    assert_eq!(*t.tokens.last().unwrap(), 102, "[SEP] last");
    assert_eq!(t.data_bits, 8);
    assert_eq!(t.heads.len(), 4);
    // Written before the member existed: read as 1 + the largest head index.
    assert_eq!(t.heads_per_layer, 12);
    for h in &t.heads {
        assert_eq!(h.q.dim(), (t.tokens.len(), 32));
        assert_eq!(h.head_id, (16 * h.layer + h.head) as u32);
        for (x, (xi, s)) in [
            (&h.q, (&h.q_int, h.scales[0])),
            (&h.k, (&h.k_int, h.scales[1])),
            (&h.v, (&h.v_int, h.scales[2])),
        ] {
            let worst = x
                .iter()
                .zip(xi.iter())
                .map(|(&f, &i)| (f - f32::from(i) * s).abs())
                .fold(0f32, f32::max);
            assert!(
                worst <= s * 0.5 + 1e-6,
                "l{}h{}: quantisation error {worst} > s/2",
                h.layer,
                h.head
            );
            assert!(xi.iter().all(|&i| i.abs() <= 127));
        }
    }
}

#[test]
fn trace_round_trips_through_npz() {
    let t = Trace::read_npz(&trace_path()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.npz");
    t.write_npz(&copy).unwrap();
    assert_eq!(Trace::read_npz(&copy).unwrap(), t);
}

#[test]
fn committed_thresholds_are_what_calibrate_finds() {
    let d = Derived::from_spec(&minilm());
    let t = Trace::read_npz(&trace_path()).unwrap();
    let committed = Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap();
    assert_eq!(
        committed.spec_hash, d.spec_hash,
        "recalibrate after changing specs/minilm.yaml"
    );
    for h in &t.heads {
        let fresh = calibrate::calibrate_head(&d, h, Target::KeepMass(0.99));
        assert!(fresh.kept_mass >= 0.99, "l{}h{}", h.layer, h.head);
        let c = committed.lookup(h.layer, h.head).unwrap();
        assert_eq!(
            (c.threshold, c.empty_queries),
            (fresh.threshold, fresh.empty_queries)
        );
        assert!((c.kept_mass - fresh.kept_mass).abs() < 1e-12);
        // Asking for a hair more mass must lower the threshold: the one
        // found keeps exactly its reported mass.
        let more = calibrate::calibrate_head(&d, h, Target::KeepMass(fresh.kept_mass + 1e-9));
        assert!(more.threshold < fresh.threshold);
    }
}

#[test]
fn simulate_reports_pruning_reuse_and_error() {
    let d = Derived::from_spec(&minilm());
    let t = Trace::read_npz(&trace_path()).unwrap();
    let thresholds = Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap();
    for h in &t.heads {
        let thr = thresholds.lookup(h.layer, h.head).unwrap().threshold;
        let s = simulate::simulate_head(&d, h, thr);
        assert_eq!(s.tokens, t.tokens.len());
        assert!(s.kept_fraction < 1.0 && s.kept_fraction > 0.0);
        assert!(s.kept_p50 <= s.kept_p95);
        assert!(s.speedup_prune > 1.0 && s.speedup_sprint > s.speedup_prune);
        assert!(s.modes[2].hit_rate > 0.0, "adjacent queries share keys");
        assert!(
            s.error_rel_l2 < 0.05,
            "l{}h{}: {}",
            h.layer,
            h.head,
            s.error_rel_l2
        );
        assert!(s.baseline_error_rel_l2 <= s.error_rel_l2 + 1e-9);
    }
}

/// A threshold above every score keeps nothing: each output row is zero,
/// the documented behaviour, so the relative error is exactly 1.
#[test]
fn a_fixed_threshold_too_high_empties_every_query() {
    let d = Derived::from_spec(&minilm());
    let t = Trace::read_npz(&trace_path()).unwrap();
    let max = *d.threshold_range().end();
    let s = simulate::simulate_head(&d, &t.heads[0], max);
    assert_eq!(s.empty_queries, s.tokens);
    assert!((s.error_rel_l2 - 1.0).abs() < 1e-12);
}

/// Two real heads, every mode, bit-exact in Verilator (the first 48 queries
/// against all keys, to keep CI short).
#[test]
#[ignore = "needs Verilator"]
fn cosim_two_real_heads() {
    common::tool("verilator");
    let spec = minilm();
    let d = Derived::from_spec(&spec);
    let t = Trace::read_npz(&trace_path()).unwrap();
    let thresholds = Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap();
    let runs: Vec<TraceRun> = t
        .heads
        .iter()
        .filter(|h| [(0, 0), (3, 9)].contains(&(h.layer, h.head)))
        .map(|h| TraceRun::from_head(&d, h, thresholds.lookup(h.layer, h.head).unwrap().threshold))
        .collect();
    assert_eq!(runs.len(), 2);
    let mut opts = VerifyOptions::for_spec(&spec);
    opts.queries = Some(48);
    opts.trace_runs = runs;
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("minilm_real");
    let report = verify::verify(&spec, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    assert_eq!(report.runs.len(), 2 * 4);
    assert!(
        report
            .runs
            .iter()
            .all(|r| r.outputs == 48 && r.counters_checked == 5)
    );
}

/// The committed trace is what the model computes on the passage now.
#[test]
#[ignore = "needs the MiniLM weights (SPRINT_RTL_MINILM_DIR)"]
fn committed_trace_matches_the_model() {
    let dir = common::minilm_dir();
    let model = BertEncoder::load(Path::new(&dir)).unwrap();
    let text = std::fs::read_to_string(common::root().join("tests/data/passage.txt")).unwrap();
    let ids = model.tokenize(&text, Some(512)).unwrap();
    let fwd = model.forward(&ids).unwrap();
    let committed = Trace::read_npz(&trace_path()).unwrap();
    let select: Vec<(usize, usize)> = committed.heads.iter().map(|h| (h.layer, h.head)).collect();
    let fresh = Trace::from_forward(&fwd, &ids, 8, &select);
    assert_eq!(fresh.tokens, committed.tokens);
    for (a, b) in fresh.heads.iter().zip(&committed.heads) {
        let worst =
            a.k.iter()
                .zip(b.k.iter())
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
        assert!(
            worst < 1e-4,
            "l{}h{}: K differs by {worst}",
            a.layer,
            a.head
        );
    }
}
