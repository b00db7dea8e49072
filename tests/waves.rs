//! `verify --waves` and `--replay`: the tracing build writes an FST file
//! GTKWave can open, of the run asked for, and a failing run's waveform
//! holds its first mismatch.
//!
//! These tests need Verilator, so they are ignored by a plain `cargo test`;
//! `cargo test --release --test waves -- --include-ignored` (and CI) runs
//! them, and a missing Verilator fails them (see `tests/common`).

mod common;

use std::path::{Path, PathBuf};

use sprint_rtl::sim::verify::{
    self, DriverFault, StimulusOptions, Testbench, VerifyOptions, WaveRequest,
};
use sprint_rtl::tools::SimBuild;

use common::spec;

/// The tiny design's work folder, shared by the tests here (they run one
/// after the other: `cargo test` runs tests of a file on threads, so the
/// tracing build is guarded by a lock).
fn work() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("waves/tiny")
}

static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The fields of an FST file's header block that say what it is: block
/// type 0 (FST_BL_HDR), its length 329, the endianness test value e, the
/// start and end times and the time scale exponent (fstapi.c).
#[derive(Debug)]
struct FstHeader {
    block_type: u8,
    length: u64,
    start_time: u64,
    end_time: u64,
    endian_test: f64,
    timescale: i8,
}

fn fst_header(path: &Path) -> FstHeader {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 329,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    let u64_at = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().unwrap());
    FstHeader {
        block_type: bytes[0],
        length: u64_at(1),
        start_time: u64_at(9),
        end_time: u64_at(17),
        endian_test: f64::from_ne_bytes(bytes[25..33].try_into().unwrap()),
        timescale: bytes[73] as i8,
    }
}

fn assert_is_fst_of_cycles(path: &Path, first: u64, last: u64) {
    let h = fst_header(path);
    assert_eq!(
        (h.block_type, h.length),
        (0, 329),
        "{}: {h:?}",
        path.display()
    );
    assert_eq!(h.endian_test, std::f64::consts::E, "{h:?}");
    assert_eq!(h.timescale, -9, "1 ns time unit: {h:?}");
    assert_eq!(h.start_time, 10 * first, "{h:?}");
    // The last cycle's low phase, or its rising edge when a check after
    // the edge failed.
    assert!(
        [10 * last, 10 * last + 5].contains(&h.end_time),
        "cycle {last}: {h:?}"
    );
}

#[test]
#[ignore = "needs Verilator"]
fn replay_with_waves_writes_an_fst_of_that_run() {
    common::tool("verilator");
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec("tiny");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = work();
    opts.replay = Some("seed1/sprint".into());
    opts.waves = true;
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    let labels: Vec<&str> = report.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["seed1/sprint"]);
    assert_eq!(report.runs[0].outputs, u64::from(report.runs[0].queries));
    let w = report.waves.expect("a waveform of the replayed run");
    assert_eq!(w.label, "seed1/sprint");
    assert_eq!(w.mismatch_cycle, None);
    assert!(w.first_cycle > 0 && w.last_cycle > w.first_cycle, "{w:?}");
    assert!(
        w.last_cycle - w.first_cycle >= report.runs[0].cycles,
        "{w:?}"
    );
    assert_is_fst_of_cycles(&w.fst, w.first_cycle, w.last_cycle);
    let gtkw = std::fs::read_to_string(&w.gtkw).unwrap();
    assert!(gtkw.contains(&format!("[dumpfile] \"{}\"", w.fst.display())));
    assert!(gtkw.contains("TOP.tiny_tb_harness.u_top.s_q_valid\n"));
}

#[test]
#[ignore = "needs Verilator"]
fn a_failing_run_is_recorded_up_to_its_mismatch() {
    common::tool("verilator");
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec("tiny");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.robustness = false;
    let tb = Testbench::build(&s, &work(), SimBuild::Tracing, &|_| {}).unwrap();
    // Query 0 of the SPRINT run (queued after the prune-only run) expects
    // bit 0 of element 0 flipped.
    let text = verify::seed_stimulus(&s, &opts, 1);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let after = lines
        .iter()
        .position(|l| l == "run seed1/prune-only")
        .unwrap();
    let i = after
        + lines[after..]
            .iter()
            .position(|l| l.starts_with("expect 0 "))
            .unwrap();
    let hex = lines[i]["expect 0 ".len()..].to_string();
    let (head, last) = hex.split_at(hex.len() - 1);
    let digit = u32::from_str_radix(last, 16).unwrap() ^ 1;
    lines[i] = format!("expect 0 {head}{digit:x}");
    let fst = work().join("corrupted.fst");
    let options = StimulusOptions {
        waves: Some(WaveRequest {
            file: fst.clone(),
            label: Some("seed1/sprint".into()),
        }),
        ..StimulusOptions::default()
    };
    let done = tb
        .run_stimulus("corrupted", 1, &(lines.join("\n") + "\n"), &options)
        .unwrap();
    let failure = done.failure.as_deref().unwrap_or_default();
    assert!(
        failure.starts_with("MISMATCH output label=seed1/sprint query=0 element=0 "),
        "{}",
        done.log
    );
    let cycle: u64 = failure
        .rsplit_once(" cycle=")
        .and_then(|(_, c)| c.parse().ok())
        .unwrap_or_else(|| panic!("no cycle in {failure}"));
    let (first, last) = done.traced_cycles.expect("a WAVES line");
    assert!(
        first < cycle && cycle <= last,
        "{first}..{last} holds {cycle}"
    );
    assert_is_fst_of_cycles(&fst, first, last);
}

/// Refused before anything is built: no tool needed.
#[test]
fn an_unknown_replay_label_is_refused_with_the_known_ones() {
    let s = spec("tiny");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = work();
    opts.robustness = false;
    for (label, says) in [
        (
            "seed1/sprnt",
            "its runs are seed1/baseline, seed1/prune-only",
        ),
        ("sprint", "starts with seed<N>/"),
    ] {
        opts.replay = Some(label.into());
        let err = verify::verify(&s, &opts, &|_| {}).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.starts_with(&format!("--replay {label}: ")), "{err}");
    }
}

/// `verify --waves --tb-fault drop-q-valid`: the protocol check fails the
/// first run, and its waveform is recorded up to the violation.
#[test]
#[ignore = "needs Verilator"]
fn verify_records_the_first_failing_run() {
    common::tool("verilator");
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let s = spec("tiny");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = work();
    opts.robustness = false;
    opts.waves = true;
    opts.fault = Some(DriverFault::DropQueryValid);
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    let failure = report.failure.as_deref().unwrap_or_default();
    assert!(
        failure.starts_with("MISMATCH protocol label=seed1/baseline port=s_q rule=valid-held "),
        "{failure}"
    );
    let w = report
        .waves
        .as_ref()
        .expect("a waveform of the failing run");
    assert_eq!(w.label, "seed1/baseline");
    let cycle = w.mismatch_cycle.expect("the mismatch's cycle");
    assert!(failure.contains(&format!(" cycle={cycle}:")), "{failure}");
    assert!(w.first_cycle < cycle && cycle <= w.last_cycle, "{w:?}");
    assert_is_fst_of_cycles(&w.fst, w.first_cycle, w.last_cycle);
}
