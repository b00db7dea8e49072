//! The AXI top under an independent client: cocotb and cocotbext-axi drive
//! `<name>_axi_tb_harness` in Icarus Verilog (hw_tests/axi_tb.py), and every
//! output row, AXI4 read burst and counter is checked against the golden
//! model, on synthetic heads and on a real MiniLM head.
//!
//! These need Icarus Verilog and a Python with the packages of
//! hw_tests/requirements-axi.txt (`SPRINT_RTL_COCOTB_PYTHON`), so they are
//! ignored by a plain `cargo test`; CI (`.ci/run`) installs both and runs
//! them with `-- --include-ignored`, where a missing one fails them.

mod common;

use std::path::{Path, PathBuf};

use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::sim::axi;
use sprint_rtl::sim::verify::{TraceRun, VerifyOptions, VerifyReport};
use sprint_rtl::spec::Spec;
use sprint_rtl::trace::Trace;

/// Panics with the commands that make the environment unless Icarus and
/// cocotb with cocotbext-axi are there.
fn needs_cocotb() {
    common::tool("iverilog");
    if let Err(e) = axi::python_packages() {
        panic!("{e}");
    }
}

fn options(spec: &Spec, folder: &str, queries: u32) -> VerifyOptions {
    let mut opts = VerifyOptions::for_spec(spec);
    opts.queries = Some(queries);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("axi")
        .join(folder);
    opts
}

/// Every mode ran, every row and counter was checked, and no keep vector
/// is claimed (the crossbar port is internal to the AXI harness).
fn assert_all_checked(report: &VerifyReport, runs: usize, queries: u64) {
    assert!(
        report.passed(),
        "{}",
        report.failure.clone().unwrap_or_default()
    );
    assert_eq!(report.runs.len(), runs, "every run reported");
    for r in &report.runs {
        assert_eq!(r.outputs, queries, "{}: every output row checked", r.label);
        assert_eq!(r.counters_checked, 5, "{}: every counter checked", r.label);
        assert_eq!(r.keeps_checked, 0, "{}", r.label);
        assert!(r.cycles > 0, "{}", r.label);
    }
    let mode = |m: Mode| report.runs.iter().find(|r| r.mode == m).unwrap();
    assert!(mode(Mode::Sprint).cycles < mode(Mode::Baseline).cycles);
}

/// The tiny design (2-byte bus, rows of 4 beats that the testbench's layout
/// puts across 4 KB boundaries): two seeds, four modes each.
#[test]
#[ignore = "needs Icarus Verilog and cocotb (SPRINT_RTL_COCOTB_PYTHON)"]
fn axi_tiny() {
    needs_cocotb();
    let spec = common::spec("tiny");
    let mut opts = options(&spec, "tiny", 6);
    opts.seeds = vec![1, 2];
    let report = axi::verify_axi(&spec, &opts, &|_| {}).unwrap();
    assert_all_checked(&report, 2 * 4, 6);
}

/// The default spec (16-byte bus, 8 chunks a row) on a short synthetic head.
#[test]
#[ignore = "needs Icarus Verilog and cocotb (SPRINT_RTL_COCOTB_PYTHON)"]
fn axi_default_spec() {
    needs_cocotb();
    let spec = Spec::default_spec();
    let opts = options(&spec, "sprint_s", 2);
    let report = axi::verify_axi(&spec, &opts, &|_| {}).unwrap();
    assert_all_checked(&report, 4, 2);
}

/// A real head: layer 3, head 9 of the committed MiniLM trace of a passage
/// (tests/data), at its calibrated threshold, on its first queries.
#[test]
#[ignore = "needs Icarus Verilog and cocotb (SPRINT_RTL_COCOTB_PYTHON)"]
fn axi_real_minilm_head() {
    needs_cocotb();
    let spec = common::spec("minilm");
    let d = Derived::from_spec(&spec);
    let trace_path = common::root().join("tests/data/minilm_passage.npz");
    let t = Trace::read_npz(&trace_path).unwrap();
    let thresholds = Thresholds::read(&Thresholds::default_path(Path::new(&trace_path))).unwrap();
    let head = t
        .heads
        .iter()
        .find(|h| (h.layer, h.head) == (3, 9))
        .unwrap();
    let threshold = thresholds.lookup(3, 9).unwrap().threshold;
    let mut opts = options(&spec, "minilm_real", 3);
    opts.trace_runs = vec![TraceRun::from_head(&d, head, threshold)];
    let report = axi::verify_axi(&spec, &opts, &|_| {}).unwrap();
    assert_all_checked(&report, 4, 3);
    assert!(report.runs.iter().all(|r| r.label.contains("l3h9")));
}
