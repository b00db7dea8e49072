//! The performance and energy report and the sweep, on a slice of the
//! committed real trace: one head, a few queries against all its keys, on
//! the MiniLM spec.
//!
//! The RTL report needs Verilator and is ignored by a plain `cargo test`
//! (`-- --include-ignored` runs it; see `tests/common`). It works in the folder `tests/real_input.rs`'s
//! co-simulation uses, so the two share one Verilator build.

mod common;

use std::path::PathBuf;
use std::process::Command;

use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::golden::{self, Derived, Mode, RunConfig};
use sprint_rtl::reports::measure::{self, CycleSource, HeadJob, MeasureOptions};
use sprint_rtl::reports::sweep::{self, Axis, Calibration, SweepOptions, ThresholdSource};
use sprint_rtl::reports::{plot, render};
use sprint_rtl::sim::verify::{self, TraceRun, VerifyOptions};
use sprint_rtl::spec::{Energy, Spec};
use sprint_rtl::trace::{QuerySlice, QueryStart, Trace};

const QUERIES: usize = 6;

fn trace_path() -> PathBuf {
    common::root().join("tests/data/minilm_passage.npz")
}

fn minilm_yaml() -> String {
    std::fs::read_to_string(common::root().join("specs/minilm.yaml")).unwrap()
}

fn minilm() -> Spec {
    common::spec("minilm")
}

/// Head l3h9 at its committed threshold, first QUERIES queries.
fn jobs(d: &Derived, trace: &Trace) -> Vec<HeadJob> {
    let thresholds = Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap();
    let h = trace
        .heads
        .iter()
        .find(|h| (h.layer, h.head) == (3, 9))
        .unwrap();
    let t = thresholds.lookup(3, 9).unwrap().threshold;
    vec![sweep::job(d, h, t, &QuerySlice::first(QUERIES)).unwrap()]
}

#[test]
#[ignore = "needs Verilator"]
fn rtl_report_of_a_real_head_slice() {
    common::tool("verilator");
    let spec = minilm();
    let d = Derived::from_spec(&spec);
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let opts = MeasureOptions {
        source: CycleSource::Rtl,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("cosim")
            .join("minilm_real"),
    };
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let report = measure::measure(&spec, "trace", &jobs(&d, &trace), &opts, &|_| {}, &|| {
        runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(runs.into_inner(), 3);
    assert_eq!(report.cycle_source, CycleSource::Rtl);
    assert!(report.verilator.is_some());
    let h = &report.heads[0];
    assert_eq!(h.queries, QUERIES as u64);
    assert_eq!(
        h.modes.iter().map(|m| m.mode).collect::<Vec<_>>(),
        Mode::COMPARED
    );
    for m in &h.modes {
        let rtl = m.rtl_cycles.unwrap();
        assert_eq!(m.cycles, rtl);
        let err = m.model_error.unwrap();
        assert!(err.abs() < 0.05, "{:?}: model error {err}", m.mode);
        assert!(m.bound.bound_cycles > 0 && m.bound.bound_cycles <= rtl);
        assert!(m.efficiency > 0.0 && m.efficiency <= 1.0);
        let util = m.mac_utilisation.unwrap();
        assert!(util > 0.0 && util <= 1.0, "{util}");
        // Every MAC-lane cycle the bound counts is one the RTL spent.
        assert!(m.mac_cycles.unwrap() >= m.bound.compute_cycles);
        assert_eq!(m.model_query_cycles.len(), QUERIES);
        let sum: f64 = m.energy.components.iter().map(|c| c.pj_per_query).sum();
        assert!((sum - m.energy.pj_per_query).abs() < 1e-6 * sum);
    }
    assert!(h.speedup_sprint > 1.0 && h.energy_reduction_sprint > 1.0);
    assert!(report.summary.max_abs_model_error.unwrap() < 0.05);

    // The JSON has every documented top-level field and no synthesis yet.
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    for key in [
        "schema_version",
        "spec_hash",
        "cycle_source",
        "energy_constants",
        "heads",
        "summary",
        "paper",
        "assumptions",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(json.get("synthesis").is_none());
    let md = render::markdown(&report, &["energy.svg".into()]);
    assert!(md.contains(&render::headline(&report)));
    assert!(md.contains("Against the paper"));
    for svg in [
        plot::energy_by_component(&report),
        plot::cycles_per_query(&report, 0),
    ] {
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }
}

/// The model-only report agrees with the RTL's counters and is flagged.
#[test]
fn model_only_report_is_flagged_as_modelled() {
    let spec = minilm();
    let d = Derived::from_spec(&spec);
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let opts = MeasureOptions {
        source: CycleSource::Model,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unused"),
    };
    let report =
        measure::measure(&spec, "trace", &jobs(&d, &trace), &opts, &|_| {}, &|| {}).unwrap();
    assert_eq!(report.cycle_source, CycleSource::Model);
    assert!(report.verilator.is_none());
    let m = &report.heads[0].modes[2];
    assert_eq!(m.cycles, m.model_cycles);
    assert!(m.rtl_cycles.is_none() && m.model_error.is_none());
    assert!(render::markdown(&report, &[]).contains("MODELLED"));
    // Doubling the ReRAM read energy raises the baseline's energy most.
    let mut costly = spec.clone();
    costly.energy = Some(Energy {
        reram_read_pj_per_bit: 2.0 * Energy::reram_read(),
        ..Energy::default()
    });
    let dearer =
        measure::measure(&costly, "trace", &jobs(&d, &trace), &opts, &|_| {}, &|| {}).unwrap();
    assert!(dearer.summary.energy_reduction_sprint > report.summary.energy_reduction_sprint);
    assert_eq!(dearer.summary.speedup_sprint, report.summary.speedup_sprint);
}

#[test]
fn energy_section_is_optional_and_leaves_the_hash_alone() {
    let yaml = minilm_yaml();
    let plain = Spec::parse("minilm", &yaml).unwrap();
    assert!(plain.energy.is_none());
    assert_eq!(plain.energy(), Energy::default());
    let with = Spec::parse("minilm", &format!("{yaml}energy:\n  mac_pj: 0.5\n")).unwrap();
    let e = with.energy();
    assert_eq!(e.mac_pj, 0.5);
    assert_eq!(e.sram_pj_per_64b, 10.0, "unnamed fields keep their default");
    assert_ne!(with.hash(), plain.hash());
    // The hash of a spec without the section is what it was before the
    // section existed (the committed thresholds were calibrated with it).
    let committed = Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap();
    assert_eq!(plain.hash(), committed.spec_hash);
}

#[test]
fn modelled_sweep_over_buffer_size_and_threshold() {
    let spec = minilm();
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let head = trace
        .heads
        .iter()
        .find(|h| (h.layer, h.head) == (3, 9))
        .unwrap();
    let opts = SweepOptions {
        trace: "trace".into(),
        heads: vec![head],
        thresholds: Some(Thresholds::read(&Thresholds::default_path(&trace_path())).unwrap()),
        calibration: None,
        queries: QuerySlice::first(24),
        axes: vec!["buffer_bytes=4096,16384".parse::<Axis>().unwrap()],
        source: CycleSource::Model,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unused"),
    };
    let s = sweep::sweep(&spec, &opts, &|| {}).unwrap();
    assert_eq!(s.points.len(), 2);
    assert_eq!(s.x_param, "buffer_bytes");
    let (small, big) = (&s.points[0].summary, &s.points[1].summary);
    assert!(big.hit_rate > small.hit_rate, "a larger buffer reuses more");
    // The MAC lanes bind in both, so reuse saves energy (fewer ReRAM
    // reads), not time.
    assert!(big.energy_reduction_sprint > small.energy_reduction_sprint);
    assert!(big.speedup_sprint >= 0.99 * small.speedup_sprint);
    // The crossbar is the same, so the thresholds are recalibrated to the
    // committed ones.
    assert_eq!(s.points[0].thresholds, s.points[1].thresholds);
    assert!(plot::sweep(&s).starts_with("<svg"));
    assert!(render::sweep_markdown(&s, "p.svg").contains("MODELLED"));

    let thresholds = SweepOptions {
        axes: vec!["threshold=-1000,0".parse().unwrap()],
        ..opts
    };
    let s = sweep::sweep(&spec, &thresholds, &|| {}).unwrap();
    assert!(s.points[0].summary.kept_fraction > s.points[1].summary.kept_fraction);
}

#[test]
fn report_command_refuses_a_trace_it_cannot_read() {
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .args([
            "report",
            "specs/minilm.yaml",
            "--trace",
            "no/such/trace.npz",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/trace.npz"));
    // The synthetic head's keep fraction has no meaning with a trace.
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .args([
            "report",
            "specs/minilm.yaml",
            "--trace",
            "x.npz",
            "--keep-fraction",
            "0.2",
        ])
        .current_dir(common::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_spec_runs_the_synthetic_head_near_its_bound() {
    // The default spec fits no trace (head_dim 64): the report falls back
    // to verify's synthetic head. The cycle model follows the stall-free
    // RTL (tests/hardware.rs checks the RTL against it), and the pipelined
    // engine keeps the baseline close to its MAC bound. A pruned query
    // first scans its keep vector (a cycle per kept key and per beat
    // without one, docs/src/scaling.md) before its first hit, which costs
    // it about a tenth of its bound here.
    let spec = Spec::default_spec();
    let d = Derived::from_spec(&spec);
    let job = sweep::synthetic_job(&d, 8, 0.15);
    assert!(job.probabilities.is_empty());
    let opts = MeasureOptions {
        source: CycleSource::Model,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unused"),
    };
    let report = measure::measure(&spec, "synthetic", &[job], &opts, &|_| {}, &|| {}).unwrap();
    let s = &report.summary;
    assert!((s.kept_fraction - 0.15).abs() < 0.03, "{}", s.kept_fraction);
    assert!(
        s.efficiency[0] > 0.9 && s.efficiency[1] > 0.85 && s.efficiency[2] > 0.85,
        "{:?}",
        s.efficiency
    );
    assert!(s.oracle_kept_fraction.is_none());
    assert!(report.heads[0].selection.is_none());
}

// ------------------------------------------------------------ query slices

/// A MiniLM head on the causal spec (head dimension 32, 128 keys).
fn causal_head(trace: &Trace) -> &sprint_rtl::trace::TraceHead {
    trace
        .heads
        .iter()
        .find(|h| (h.layer, h.head) == (3, 9))
        .unwrap()
}

fn offset(start: usize, count: usize) -> QuerySlice {
    QuerySlice {
        count: Some(count),
        start: Some(QueryStart::At(start)),
    }
}

/// A slice's queries are the full run's queries of the same absolute
/// index: the causal key limit is the index + 1, not the position in the
/// slice. Without reuse a query depends on nothing before it, so its kept
/// keys and output row are the full run's; the dispatcher numbers the
/// slice's queries from its first.
#[test]
fn an_offset_slice_runs_the_full_runs_queries() {
    let mut spec = common::spec("causal");
    spec.recompute.cores = 2;
    spec.buffer.bytes *= 2;
    let d = Derived::from_spec(&spec);
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let h = causal_head(&trace);
    let threshold = sprint_rtl::eval::calibrate::calibrate_head(
        &d,
        h,
        sprint_rtl::eval::calibrate::Target::KeepMass(0.9),
    )
    .threshold;
    let full = sweep::job(&d, h, threshold, &QuerySlice::ALL).unwrap();
    let part = sweep::job(&d, h, threshold, &offset(100, 12)).unwrap();
    assert_eq!(full.run.input.q.len(), 128);
    assert_eq!(part.run.input.query_base, 100);
    assert_eq!(part.run.input.q, full.run.input.q[100..112].to_vec());
    assert_eq!(part.run.input.k, full.run.input.k, "every key stays");
    assert_eq!(part.probabilities, full.probabilities[100..112].to_vec());
    for mode in [Mode::Baseline, Mode::PruneOnly] {
        let cfg = |j: &HeadJob| RunConfig {
            mode,
            threshold: j.run.threshold,
            scale: j.run.scale,
        };
        let a = golden::run_head(&d, &full.run.input, &cfg(&full));
        let b = golden::run_head(&d, &part.run.input, &cfg(&part));
        for (t, (x, y)) in a.queries[100..112].iter().zip(&b.queries).enumerate() {
            assert_eq!((x.index, &x.kept, &x.out), (y.index, &y.kept, &y.out));
            assert_eq!(y.core, (t as u32 / 8) % 2, "core by position in the run");
        }
        if mode == Mode::Baseline {
            let kept: u64 = (101..=112).sum();
            assert_eq!(b.counters.kept, kept, "query i keeps keys 0..=i");
        }
    }
    // `last` ends at the head's last query, at any seq_len.
    let last = QuerySlice {
        count: Some(5),
        start: Some(QueryStart::Last),
    };
    assert_eq!(
        sweep::job(&d, h, threshold, &last)
            .unwrap()
            .run
            .input
            .query_base,
        123
    );
    let err = sweep::job(&d, h, threshold, &offset(128, 1)).unwrap_err();
    assert!(err.to_string().contains("128 queries"), "{err}");
}

/// The causal design co-simulates an offset slice of a real head bit-exact
/// in every mode (its QUERY_BASE CSR set to the slice's first index). It
/// shares tests/hardware.rs's Verilator build of the causal spec.
#[test]
#[ignore = "needs Verilator"]
fn causal_rtl_verifies_an_offset_slice_of_a_real_head() {
    common::tool("verilator");
    let spec = common::spec("causal");
    let d = Derived::from_spec(&spec);
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let h = causal_head(&trace);
    let threshold = sprint_rtl::eval::calibrate::calibrate_head(
        &d,
        h,
        sprint_rtl::eval::calibrate::Target::KeepMass(0.9),
    )
    .threshold;
    let run = TraceRun::from_head_slice(&d, h, threshold, &offset(110, 10)).unwrap();
    let mut opts = VerifyOptions::for_spec(&spec);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("causal");
    opts.trace_runs = vec![run];
    let report = verify::verify(&spec, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    assert_eq!(report.runs.len(), 4, "every mode");
    for r in &report.runs {
        assert_eq!(r.outputs, 10, "{}", r.label);
        assert_eq!(r.counters_checked, 5, "{}", r.label);
    }
    let baseline = report
        .runs
        .iter()
        .find(|r| r.mode == Mode::Baseline)
        .unwrap();
    assert_eq!(baseline.expected.kept, (111..=120).sum::<u64>());
}

/// `report --queries N --query-offset last` on a causal spec measures the
/// head's last N queries (exit 2 for an offset past the head).
#[test]
fn report_command_takes_the_last_queries() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .args(["report", "specs/causal.yaml", "--trace"])
            .arg(trace_path())
            .args(["--layer", "3", "--head", "9", "--model-only", "-o"])
            .arg(dir.path())
            .args(extra)
            .current_dir(common::root())
            .output()
            .unwrap()
    };
    let out = run(&["--queries", "4", "--query-offset", "last"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    let head = &json["heads"][0];
    assert_eq!(head["queries"], 4);
    assert_eq!(head["modes"][0]["counters"]["kept"], 125 + 126 + 127 + 128);
    let out = run(&["--query-offset", "200"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--query-offset 200"));
}

/// A seq_len sweep with thresholds from a calibration trace: every point
/// recalibrates on that trace at its own length, records where its
/// thresholds came from, checks the goals and draws the scaling plot.
#[test]
fn seq_len_sweep_calibrates_on_the_calibration_trace() {
    let spec = common::spec("causal");
    let trace = Trace::read_npz(&trace_path()).unwrap();
    let heads: Vec<_> = trace
        .heads
        .iter()
        .filter(|h| h.layer >= 2)
        .take(2)
        .collect();
    let opts = SweepOptions {
        trace: "trace".into(),
        heads: heads.clone(),
        thresholds: None,
        // The library takes any trace; the command refuses the measured one.
        calibration: Some(Calibration {
            trace: "calibration".into(),
            heads: heads.clone(),
            keep_mass: 0.95,
        }),
        queries: QuerySlice::ALL,
        axes: vec!["seq_len=32,64,128".parse::<Axis>().unwrap()],
        source: CycleSource::Model,
        work_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("unused"),
    };
    let s = sweep::sweep(&spec, &opts, &|| {}).unwrap();
    assert_eq!(s.points.len(), 3);
    for (p, n) in s.points.iter().zip([32u32, 64, 128]) {
        let mut at = spec.clone();
        at.attention.seq_len = n;
        let d = Derived::from_spec(&at);
        let want: Vec<i64> = heads
            .iter()
            .map(|h| {
                sprint_rtl::eval::calibrate::calibrate_head(
                    &d,
                    h,
                    sprint_rtl::eval::calibrate::Target::KeepMass(0.95),
                )
                .threshold
            })
            .collect();
        assert_eq!(p.thresholds, want, "{}", p.label);
        assert!(
            p.threshold_sources
                .iter()
                .all(|&x| x == ThresholdSource::CalibrationTrace)
        );
        assert_eq!(
            p.summary.queries,
            2 * u64::from(n),
            "every query of both heads"
        );
        let g = &p.goals;
        assert_eq!(g.speedup_met, g.speedup >= 7.5);
        assert_eq!(g.speedup_limit.is_none(), g.speedup_met);
        assert_eq!(g.energy_limit.is_none(), g.energy_met);
        assert_eq!(g.explanation.len(), 2);
    }
    // The baseline's cycles per query grow with N (a causal query has
    // i + 1 keys).
    let base: Vec<f64> = s
        .points
        .iter()
        .map(|p| p.summary.cycles_per_query[0])
        .collect();
    assert!(base[0] < base[1] && base[1] < base[2], "{base:?}");
    let svg = plot::scaling(&s);
    assert!(
        svg.starts_with("<svg") && svg.contains("N²"),
        "guides drawn"
    );
    let md = render::sweep_markdown(&s, "sweep_seq_len.svg");
    assert!(md.contains("The paper's goals") && md.contains("scaling.svg"));
    assert!(md.contains("keep mass 0.95"));
}
