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
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::reports::measure::{self, CycleSource, HeadJob, MeasureOptions};
use sprint_rtl::reports::sweep::{self, Axis, SweepOptions};
use sprint_rtl::reports::{plot, render};
use sprint_rtl::spec::{Energy, Spec};
use sprint_rtl::trace::Trace;

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
    vec![sweep::job(d, h, t, Some(QUERIES))]
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
        queries: Some(24),
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
