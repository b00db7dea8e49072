//! Command-line interface: `check`, `generate`, `verify`, `graph`, `lint`,
//! `fuzz` (see [`fuzz`]), `synth` (see [`synth`]), and on real input `trace`, `calibrate`, `simulate`
//! (see [`real`]), `eval` (see [`eval`]), `report` and `sweep` (see [`report`]),
//! `sweep-point` and `sweep-collect` (see [`batch`]).
//!
//! Every subcommand returns an [`Outcome`]; [`main`] alone turns it into
//! the exit status ([`failure`]): 0 success, 1 a failed check, 2 bad input
//! or a missing tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod args;
mod batch;
mod decoder;
mod eval;
mod failure;
mod fuzz;
mod perplexity;
mod real;
mod report;
mod synth;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use sprint_rtl::emit::{self, Hierarchy};
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::sim::axi;
use sprint_rtl::sim::verify::{self, Crossbar, DriverFault, VerifyOptions, VerifyReport};
use sprint_rtl::spec::{DEFAULT_SPEC_NAME, DEFAULT_SPEC_YAML, Spec};
use sprint_rtl::tools;

use failure::{Failure, Outcome};

#[derive(Parser)]
#[command(
    name = "sprint-rtl",
    version,
    about = "Generate and verify SPRINT sparse-attention accelerators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a spec and print its derived parameters.
    Check {
        /// Spec file (YAML); the embedded S configuration when omitted.
        spec: Option<PathBuf>,
    },
    /// Write the Verilog, filelists, register header and SystemRDL, FuseSoC core file and
    /// manifest of a spec.
    Generate {
        /// Spec file (YAML); the embedded S configuration when omitted.
        spec: Option<PathBuf>,
        /// Output folder (default: generated/<spec name>).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Co-simulate the design in Verilator against the golden model.
    Verify {
        /// Spec file (YAML); the embedded S configuration when omitted.
        spec: Option<PathBuf>,
        /// Workload and testbench seed (1..=2147483647); repeat for several simulations.
        #[arg(long = "seed", default_values_t = [1u64],
              value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
        seeds: Vec<u64>,
        /// Queries per head, 1..=seq_len (default: min(seq_len, 32); with --trace, all).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        queries: Option<u32>,
        /// With --trace: the first query taken, an index or `last` for the last N queries
        /// (on a causal spec, those with the most keys). Default 0.
        #[arg(long, requires = "trace", value_name = "K|last")]
        query_offset: Option<sprint_rtl::trace::QueryStart>,
        /// Fraction of (query, key) pairs the calibrated threshold keeps, 0..=1.
        #[arg(long, default_value_t = verify::DEFAULT_KEEP_FRACTION, value_parser = args::fraction)]
        keep_fraction: f64,
        /// Skip the reset, busy-start, no-kept-key and back-to-back runs.
        #[arg(long)]
        no_robustness: bool,
        /// Folder for the design, the build and the stimulus files.
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Chance (%) per cycle that a testbench source stays idle.
        #[arg(long, default_value_t = verify::DEFAULT_IDLE_PERCENT, value_parser = clap::value_parser!(u32).range(0..=90))]
        idle_percent: u32,
        /// Chance (%) per cycle that a testbench sink applies back-pressure.
        #[arg(long, default_value_t = verify::DEFAULT_STALL_PERCENT, value_parser = clap::value_parser!(u32).range(0..=90))]
        stall_percent: u32,
        /// The ports driven: the native top in Verilator, or the AXI top under cocotb and
        /// Icarus (needs SPRINT_RTL_COCOTB_PYTHON; see hw_tests/requirements-axi.txt).
        #[arg(long, value_enum, default_value_t = Interface::Native)]
        interface: Interface,
        /// What answers the native top's crossbar port: the behavioral ReRAM model, or the
        /// synthesizable crossbar emulator (checked against the golden model of its
        /// crossbar.emulator.noise).
        #[arg(long, value_enum, default_value_t = CrossbarArg::Model)]
        crossbar: CrossbarArg,
        /// Record an FST waveform of the first failing run (or of the --replay run) in
        /// <work dir>/waves/, with a GTKWave save file; prints where the mismatch is.
        #[arg(long)]
        waves: bool,
        /// Rerun one run alone, labelled as verify prints it (e.g. seed2/head-b), with the
        /// options of the run that printed it: its seed's stimulus up to the end of that run.
        #[arg(long, value_name = "LABEL", conflicts_with = "seeds")]
        replay: Option<String>,
        /// Self-test: the testbench's query driver breaks a valid/ready rule once per
        /// simulation, and the protocol check must fail the run.
        #[arg(long, value_name = "FAULT", value_parser = ["drop-q-valid", "change-q-data"])]
        tb_fault: Option<String>,
        #[command(flatten)]
        real: real::TraceSelect,
    },
    /// Print the module hierarchy as Graphviz DOT.
    Graph {
        /// Spec file (YAML); the embedded S configuration when omitted.
        spec: Option<PathBuf>,
    },
    /// Run `verilator --lint-only -Wall` and Yosys synthesis checks.
    Lint {
        /// Spec file (YAML); the embedded S configuration when omitted.
        spec: Option<PathBuf>,
    },
    /// Random valid designs: generate, lint and verify each, shrink a failure to a reproducer.
    Fuzz(fuzz::FuzzArgs),
    /// Synthesize (and place and route) a design: area per block, Fmax.
    Synth(synth::SynthArgs),
    /// Run a BERT-family encoder (e.g. all-MiniLM-L6-v2) or a Llama-family GGUF decoder on a
    /// text and write its per-head Q, K, V (.npz).
    Trace(real::TraceArgs),
    /// Pick a crossbar threshold per head from calibration text.
    Calibrate(real::CalibrateArgs),
    /// Run the golden model on a trace and report pruning, fetches, cycles, error.
    Simulate(real::SimulateArgs),
    /// Run a BERT-family encoder on a labeled task, or a GGUF decoder's perplexity on a text, with
    /// exact and SPRINT attention.
    Eval(eval::EvalArgs),
    /// Performance and energy of the three modes, measured in the RTL, on a trace or verify's synthetic head.
    Report(report::ReportArgs),
    /// The report's measurement over a grid of parameters.
    Sweep(report::SweepArgs),
    /// Measure one point of a jobs folder written by `sweep --jobs-dir`.
    SweepPoint(batch::SweepPointArgs),
    /// Write the report of a jobs folder's finished points, as `sweep` writes it.
    SweepCollect(batch::SweepCollectArgs),
}

/// Which top `verify` drives.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Interface {
    /// `<name>_top` through `<name>_tb_harness`, Verilator and hw_tests/tb_main.cpp.
    Native,
    /// `<name>_axi_top` through `<name>_axi_tb_harness`, cocotb and hw_tests/axi_tb.py
    /// (no robustness runs).
    Axi,
}

/// What `verify` puts on the native top's crossbar port.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CrossbarArg {
    /// `<name>_xbar_model`, the behavioral ReRAM crossbar.
    Model,
    /// `<name>_xbar_emu`, the synthesizable crossbar emulator.
    Emulator,
}

/// Runs the command line; see the module docs for exit codes.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn run(cli: Cli) -> Outcome {
    let spec_arg = match &cli.command {
        Command::Trace(args) => return real::trace(args),
        Command::Fuzz(args) => return fuzz::fuzz(args),
        Command::SweepPoint(args) => return batch::sweep_point(args),
        Command::SweepCollect(args) => return batch::sweep_collect(args),
        Command::Check { spec }
        | Command::Generate { spec, .. }
        | Command::Verify { spec, .. }
        | Command::Graph { spec }
        | Command::Lint { spec } => spec.clone(),
        Command::Calibrate(args) => Some(args.spec.clone()),
        Command::Simulate(args) => Some(args.spec.clone()),
        Command::Eval(args) => Some(args.spec.clone()),
        Command::Report(args) => args.spec.clone(),
        Command::Sweep(args) => Some(args.spec.clone()),
        Command::Synth(args) => args.spec.clone(),
    };
    let spec = load_spec(spec_arg.as_deref())?;
    match cli.command {
        Command::Check { .. } => {
            print_derived(&Derived::from_spec(&spec));
            Ok(())
        }
        Command::Generate { output, .. } => generate(&spec, output),
        Command::Verify {
            seeds,
            queries,
            keep_fraction,
            no_robustness,
            work_dir,
            idle_percent,
            stall_percent,
            interface,
            crossbar,
            waves,
            replay,
            tb_fault,
            real,
            query_offset,
            ..
        } => {
            if interface == Interface::Axi && crossbar == CrossbarArg::Emulator {
                return Err(Failure::input(
                    "--crossbar emulator drives the native top's Verilator testbench; \
                     it does not apply with --interface axi",
                ));
            }
            if interface == Interface::Axi && (waves || replay.is_some() || tb_fault.is_some()) {
                return Err(Failure::input(
                    "--waves, --replay and --tb-fault drive the native top's Verilator \
                     testbench; they do not apply with --interface axi",
                ));
            }
            let mut opts = VerifyOptions::for_spec(&spec);
            opts.seeds = seeds;
            opts.queries = queries;
            opts.keep_fraction = keep_fraction;
            opts.robustness = !no_robustness;
            opts.idle_percent = idle_percent;
            opts.stall_percent = stall_percent;
            opts.waves = waves;
            opts.replay = replay;
            opts.crossbar = match crossbar {
                CrossbarArg::Model => Crossbar::Model,
                CrossbarArg::Emulator => Crossbar::Emulator,
            };
            opts.fault = tb_fault.as_deref().map(|f| match f {
                "drop-q-valid" => DriverFault::DropQueryValid,
                _ => DriverFault::ChangeQueryData,
            });
            if let Some(w) = work_dir {
                opts.work_dir = w;
            }
            if real.trace.is_some() {
                let slice = sprint_rtl::trace::QuerySlice {
                    count: queries.map(|q| q as usize),
                    start: query_offset,
                };
                opts.trace_runs = real::trace_runs(&spec, &real, &slice)?;
            }
            run_verify(&spec, &opts, interface)
        }
        Command::Graph { .. } => {
            print!(
                "{}",
                Hierarchy::with_cores(spec.recompute.cores).to_dot(&spec.name)
            );
            Ok(())
        }
        Command::Lint { .. } => lint(&spec),
        Command::Calibrate(args) => real::calibrate(&spec, &args),
        Command::Simulate(args) => real::simulate(&spec, &args),
        Command::Eval(args) => eval::eval(&spec, &args),
        Command::Report(args) => report::report(&spec, &args),
        Command::Sweep(args) => report::sweep(&spec, &args),
        Command::Synth(args) => synth::synth(&spec, &args),
        Command::Trace(_)
        | Command::Fuzz(_)
        | Command::SweepPoint(_)
        | Command::SweepCollect(_) => {
            unreachable!("handled before the spec is loaded")
        }
    }
}

/// The spec at `path`, or the embedded default.
///
/// # Errors
///
/// An unreadable file, or the spec's parse and validation errors (each
/// naming its field and line), as bad input.
pub(crate) fn load_spec(path: Option<&Path>) -> Result<Spec, Failure> {
    let (name, text) = match path {
        None => (DEFAULT_SPEC_NAME.to_string(), DEFAULT_SPEC_YAML.to_string()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Failure::input(format!("cannot read spec {}: {e}", p.display())))?;
            (p.display().to_string(), text)
        }
    };
    Spec::parse(&name, &text).map_err(Failure::formatted)
}

fn generate(spec: &Spec, output: Option<PathBuf>) -> Outcome {
    let dir = output.unwrap_or_else(|| Path::new("generated").join(&spec.name));
    let design = emit::render(spec);
    emit::write_atomically(&dir, &design.files)
        .map_err(|e| Failure::input(format!("writing {}: {e}", dir.display())))?;
    println!("wrote {} files to {}", design.files.len(), dir.display());
    for f in &design.files {
        println!("  {}", f.path);
    }
    Ok(())
}

/// A spinner with the elapsed time, for steps of unknown length.
pub(crate) fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}").expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn run_verify(spec: &Spec, opts: &VerifyOptions, interface: Interface) -> Outcome {
    let bar = spinner();
    let progress = |step: &str| {
        bar.set_message(step.to_string());
        bar.println(format!("  {step}"));
    };
    let result = match interface {
        Interface::Native => verify::verify(spec, opts, &progress),
        Interface::Axi => axi::verify_axi(spec, opts, &progress),
    };
    bar.finish_and_clear();
    let report = result?;
    print_report(spec, &report);
    if report.passed() {
        Ok(())
    } else {
        Err(Failure::findings_printed())
    }
}

fn print_report(spec: &Spec, report: &VerifyReport) {
    println!("{} verified with {}", spec.name, report.verilator_version);
    println!(
        "{:<26} {:>6} {:>7} {:>8} {:>6} {:>8} {:>8} {:>10} {:>12} {:>10}",
        "run",
        "result",
        "outputs",
        "words",
        "keeps",
        "fetches",
        "counters",
        "cycles",
        "cycles/query",
        "model err"
    );
    for r in &report.runs {
        let failed = report
            .failure
            .as_deref()
            .is_some_and(|f| f.contains(&format!("label={} ", r.label)));
        let per_query = r.cycles as f64 / f64::from(r.queries.max(1));
        println!(
            "{:<26} {:>6} {:>7} {:>8} {:>6} {:>8} {:>8} {:>10} {:>12.1} {:>+9.1}%",
            r.label,
            if failed { "FAIL" } else { "pass" },
            r.outputs,
            r.words,
            r.keeps_checked,
            r.fetches_checked,
            r.counters_checked,
            r.cycles,
            per_query,
            100.0 * (r.model_cycles as f64 - r.cycles as f64) / r.cycles.max(1) as f64
        );
    }
    let cycles_of = |mode: Mode| {
        report
            .runs
            .iter()
            .find(|r| r.mode == mode && r.label.ends_with(mode.label()))
            .map(|r| r.cycles)
    };
    if let (Some(base), Some(prune), Some(sprint)) = (
        cycles_of(Mode::Baseline),
        cycles_of(Mode::PruneOnly),
        cycles_of(Mode::Sprint),
    ) {
        println!(
            "speedup over baseline (first seed, cycles): prune-only {:.2}x, sprint {:.2}x",
            base as f64 / prune.max(1) as f64,
            base as f64 / sprint.max(1) as f64
        );
    }
    let keeps = if report.runs.iter().any(|r| r.keeps_checked > 0) {
        " keep vector,"
    } else {
        ""
    };
    match &report.failure {
        None => {
            println!("PASS: every output word,{keeps} fetch and counter matched the golden model")
        }
        Some(f) => println!("FAIL: {f}"),
    }
    if let Some(w) = &report.waves {
        print_waves(w);
    }
}

/// Where the waveform is and where in it to look: cycle c starts at
/// 10·c ns and its rising edge is at 10·c + 5 ns (`hw_tests/waves.h`).
fn print_waves(w: &verify::WaveRecord) {
    println!(
        "waves: {} ({}: cycles {}..{}; cycle c starts at 10*c ns)",
        w.fst.display(),
        w.label,
        w.first_cycle,
        w.last_cycle
    );
    if let Some(c) = w.mismatch_cycle {
        println!(
            "first mismatch at cycle {c} (rising edge at {} ns): look at cycles {}..{c}",
            10 * c + 5,
            c.saturating_sub(MISMATCH_LEAD_CYCLES).max(w.first_cycle)
        );
    }
    println!(
        "open with: gtkwave {} (the top's ports grouped by interface)",
        w.gtkw.display()
    );
}

/// How many cycles before a mismatch `verify --waves` suggests looking
/// at: enough for a memory round trip and a few handshakes.
const MISMATCH_LEAD_CYCLES: u64 = 50;

fn lint(spec: &Spec) -> Outcome {
    let design = emit::render(spec);
    let dir = tempfile::tempdir()?;
    emit::write_atomically(dir.path(), &design.files)?;
    let top = format!("{}_top", spec.name);
    let harness = format!("{}_tb_harness", spec.name);
    let axi_top = format!("{}_axi_top", spec.name);
    let axi_harness = format!("{}_axi_tb_harness", spec.name);
    let system = format!("{}_axi_system", spec.name);
    let emu_harness = format!("{}_emu_tb_harness", spec.name);
    let mut clean = true;
    let lint_runs = [
        ("filelist.f", top.as_str()),
        ("filelist.f", axi_top.as_str()),
        ("filelist.f", system.as_str()),
        ("sim_filelist.f", harness.as_str()),
        ("sim_filelist.f", axi_harness.as_str()),
        ("sim_filelist.f", emu_harness.as_str()),
    ];
    for (list, module) in lint_runs {
        let findings = tools::verilator_lint(dir.path(), list, module)?;
        println!(
            "verilator --lint-only -Wall {module}: {} findings",
            findings.len()
        );
        for f in &findings {
            println!("  {}: {}", f.code, f.message);
        }
        clean &= findings.is_empty();
    }
    println!("yosys synth {top} (this can take minutes for large buffers)...");
    let report = tools::yosys_synth(dir.path(), "filelist.f", &top)?;
    println!("yosys: {} findings", report.findings.len());
    for f in &report.findings {
        println!("  {}: {}", f.code, f.message);
    }
    clean &= report.findings.is_empty();
    println!("{}", report.stat);
    if clean {
        Ok(())
    } else {
        Err(Failure::findings_printed())
    }
}

/// `"N cores (queries in blocks of B), each: "`, or nothing for one core.
fn cores_of(d: &Derived) -> String {
    if d.cores == 1 {
        String::new()
    } else {
        format!(
            "{} cores (queries in blocks of {}, round robin), each: ",
            d.cores, d.block_queries
        )
    }
}

/// `"N bytes in all, each core: "`, or nothing for one core.
fn share_of(d: &Derived) -> String {
    if d.cores == 1 {
        String::new()
    } else {
        format!("{} bytes in all, each core: ", d.buffer_bytes)
    }
}

/// The AXI top's bus widths, as `check` prints them.
fn axi_line(d: &Derived) -> String {
    let a = sprint_rtl::golden::AxiDerived::from_derived(d);
    format!(
        "AXI4 reads of {} bytes a beat, {} beat(s) and {} bytes a K/V row; streams of {} beat(s) a row, \
         query TDATA {} bits, output TDATA {} bits",
        a.data_bytes, a.row_beats, a.row_bytes, a.chunks, a.q_beat_bits, a.out_beat_bits
    )
}

fn print_derived(d: &Derived) {
    println!("spec {} (sha256 {})", d.name, d.spec_hash);
    let rows: &[(&str, String)] = &[
        (
            "attention",
            format!(
                "seq_len {}, head_dim {}, causal {}",
                d.seq_len, d.head_dim, d.causal
            ),
        ),
        (
            "data",
            format!(
                "Q/K/V {} bits signed, outputs {} bits ({} fractional)",
                d.data_bits, d.out_bits, d.out_frac_bits
            ),
        ),
        (
            "crossbar",
            format!(
                "{} array{} of {} x {} cells, {} bits/cell, {} cells per key element, {} word lines per key",
                d.xbar_arrays,
                if d.xbar_arrays == 1 { "" } else { "s" },
                d.xbar_rows,
                d.xbar_cols,
                d.bits_per_cell,
                d.cells_per_element,
                d.word_lines_per_key
            ),
        ),
        (
            "crossbar data",
            format!(
                "key MSBs {} bits, query MSBs {} bits, threshold {} bits signed, latency {} cycles",
                d.key_msb_bits, d.query_msb_bits, d.threshold_bits, d.xbar_latency
            ),
        ),
        (
            "noise",
            format!(
                "seed {}, programming sigma {} key-MSB levels, read sigma {} products (fixed-point multipliers {}, {})",
                d.noise_seed,
                d.programming_sigma,
                d.read_sigma,
                d.prog_noise_mult,
                d.read_noise_mult
            ),
        ),
        (
            "recompute",
            format!(
                "{}{} MAC lanes, {} chunks of {} bits per row",
                cores_of(d),
                d.lanes,
                d.chunks,
                d.chunk_bits
            ),
        ),
        (
            "datapath widths",
            format!(
                "score {}, z {}, max {}, weight {}, sum {}, accumulator {}, reciprocal {}",
                d.score_bits, d.z_bits, d.max_bits, d.p_bits, d.sum_bits, d.acc_bits, d.recip_bits
            ),
        ),
        (
            "buffer",
            format!(
                "{}{} bytes -> {} slots of {} bytes, {} words x {} bits, {}-bit address",
                share_of(d),
                d.core_buffer_bytes,
                d.slots,
                d.slot_bytes,
                d.buffer_words,
                d.chunk_bits,
                d.buffer_addr_bits
            ),
        ),
        (
            "memory",
            format!(
                "latency {} cycles, {} bytes/cycle (testbench and cycle model); port beats of {} bits, {} per key",
                d.mem_latency, d.mem_bytes_per_cycle, d.mem_beat_bits, d.mem_beats_per_key
            ),
        ),
        (
            "latencies",
            format!(
                "engine {} cycles per key, fetch {} cycles latency and {} per row streaming ({} in flight), reciprocal {} cycles (no stalls)",
                sprint_rtl::golden::cycles::engine_key_cycles(d),
                sprint_rtl::golden::cycles::fetch_latency(d),
                sprint_rtl::golden::cycles::fetch_interval(d),
                d.fetch_depth,
                d.recip_bits
            ),
        ),
        ("reset", format!("{} on `{}`", d.reset_style, d.reset_port)),
        ("axi top", axi_line(d)),
    ];
    for (k, v) in rows {
        println!("  {k:<16} {v}");
    }
}
