//! Co-simulation: the golden model writes stimulus and expectations, the
//! Verilator testbench runs the generated design on them, and the results
//! come back as a typed report.
//!
//! Per seed, one stimulus file runs: the three compared modes and the
//! reuse-only mode on one synthetic head; then, with robustness on, a run whose threshold keeps no
//! key, a start and a configuration write while busy (both ignored), a
//! reset in the middle of a run followed by a fresh run, and a second
//! head back to back with the first. The two interruptions hold the run's
//! last query back until after them, and check that STATUS reads busy
//! just before them: a short run (one query that keeps nothing) would
//! otherwise end first, and its start would begin a run that waits
//! forever for a query.
//!
//! With [`VerifyOptions::waves`], the first failing run is run again with
//! the tracing build ([`SimBuild::Tracing`]) and recorded as an FST file;
//! [`VerifyOptions::replay`] reruns one run alone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::stimulus::{self, Stimulus, TbParams};
use crate::emit::{self, EmittedFile};
use crate::golden::workload::{self, HeadShape, SyntheticRun};
use crate::golden::{self, Derived, HeadInput, HeadResult, Mode, RunConfig};
use crate::spec::Spec;
use crate::tools::{self, SimBuild, ToolError};
use crate::trace::{QuerySlice, SliceError, TraceHead};

/// The testbench source, embedded so `verify` works from any directory.
pub const TB_MAIN_CPP: &str = include_str!("../../hw_tests/tb_main.cpp");

/// The testbench's valid/ready checker, included by [`TB_MAIN_CPP`].
pub const TB_PROTOCOL_H: &str = include_str!("../../hw_tests/protocol.h");

/// The testbench's waveform recorder, included by [`TB_MAIN_CPP`].
pub const TB_WAVES_H: &str = include_str!("../../hw_tests/waves.h");

/// The testbench's files, as written next to each other in a work folder.
const TB_SOURCES: [(&str, &str); 3] = [
    ("tb_main.cpp", TB_MAIN_CPP),
    ("protocol.h", TB_PROTOCOL_H),
    ("waves.h", TB_WAVES_H),
];

/// Options of one verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Workload and testbench seeds; one simulation per seed.
    pub seeds: Vec<u64>,
    /// Queries per head (default: min(seq_len, 32)).
    pub queries: Option<u32>,
    /// Fraction of (query, key) pairs the calibrated threshold keeps.
    pub keep_fraction: f64,
    /// Also run the robustness scenarios.
    pub robustness: bool,
    /// Folder for the design, the build and the stimulus files.
    pub work_dir: PathBuf,
    pub idle_percent: u32,
    pub stall_percent: u32,
    /// Real heads to run instead of the synthetic one (no robustness runs).
    pub trace_runs: Vec<TraceRun>,
    /// Record an FST waveform of the first failing run, or of the replayed
    /// run, with the [`SimBuild::Tracing`] build.
    pub waves: bool,
    /// Rerun one run alone: a label as `verify` prints it (`seed<N>/...`).
    /// Seed N's stimulus runs up to the end of that run and stops, so that
    /// the run starts from the state (buffer, testbench random stream) it
    /// started from in the full verification; `seeds` is ignored.
    pub replay: Option<String>,
    /// A valid/ready rule the testbench breaks on purpose in every
    /// simulation: a self-test showing that the protocol checks, and the
    /// failure path of `waves`, work.
    pub fault: Option<DriverFault>,
    /// Cycle limit of one run, past which the testbench reports `TIMEOUT`
    /// (default [`TbParams`]'s, 200 000 000).
    pub max_cycles: Option<u64>,
    /// What answers the top's crossbar port: the behavioral model or the
    /// synthesizable emulator.
    pub crossbar: Crossbar,
}

/// What the testbench puts on the native top's crossbar port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Crossbar {
    /// The behavioral ReRAM model (`<name>_xbar_model`, simulation only),
    /// in `<name>_tb_harness`.
    #[default]
    Model,
    /// The crossbar emulator (`<name>_xbar_emu`, synthesizable), in
    /// `<name>_emu_tb_harness`; checked against the emulator's golden model
    /// ([`golden::EmuDerived::golden_derived`]: without noise when the spec
    /// says `crossbar.emulator.noise: none`).
    Emulator,
}

impl Crossbar {
    /// The harness module's suffix: `<name>_<suffix>` is the Verilator top.
    pub fn harness(self) -> &'static str {
        match self {
            Crossbar::Model => "tb_harness",
            Crossbar::Emulator => "emu_tb_harness",
        }
    }

    /// Appended to a build's folder name, so that the two harnesses'
    /// builds are cached side by side.
    fn obj_suffix(self) -> &'static str {
        match self {
            Crossbar::Model => "",
            Crossbar::Emulator => "-emu",
        }
    }

    /// The parameters the golden model predicts this crossbar with.
    pub fn golden_derived(self, spec: &Spec) -> Derived {
        let d = Derived::from_spec(spec);
        match self {
            Crossbar::Model => d,
            Crossbar::Emulator => golden::EmuDerived::from_spec(spec, &d).golden_derived(&d),
        }
    }
}

/// A real head to co-simulate: its integer input and CSR values.
#[derive(Debug, Clone)]
pub struct TraceRun {
    /// Run label prefix, e.g. `l0h3`.
    pub label: String,
    pub input: HeadInput,
    pub scale: u32,
    pub threshold: i64,
}

impl TraceRun {
    /// Head `h` of a trace, on its first min(tokens, seq_len) tokens, at
    /// `threshold`.
    pub fn from_head(d: &Derived, h: &TraceHead, threshold: i64) -> TraceRun {
        Self::from_head_slice(d, h, threshold, &QuerySlice::ALL).expect("every query")
    }

    /// Head `h` of a trace, the queries `slice` selects against its first
    /// min(tokens, seq_len) keys, at `threshold`; `query_base` is the
    /// first selected query's index.
    ///
    /// # Errors
    /// A slice that starts past the head's last query.
    pub fn from_head_slice(
        d: &Derived,
        h: &TraceHead,
        threshold: i64,
        slice: &QuerySlice,
    ) -> Result<TraceRun, SliceError> {
        let n = h.tokens().min(d.seq_len as usize);
        Ok(TraceRun {
            label: format!("l{}h{}", h.layer, h.head),
            input: h.slice_input(n, slice.range(n)?),
            scale: h.scale_csr(d),
            threshold,
        })
    }
}

impl VerifyOptions {
    /// Defaults for `spec`: seed 1, robustness on, work folder
    /// `target/sprint-rtl/<name>`.
    pub fn for_spec(spec: &Spec) -> VerifyOptions {
        VerifyOptions {
            seeds: vec![1],
            queries: None,
            keep_fraction: DEFAULT_KEEP_FRACTION,
            robustness: true,
            work_dir: Path::new("target").join("sprint-rtl").join(&spec.name),
            idle_percent: DEFAULT_IDLE_PERCENT,
            stall_percent: DEFAULT_STALL_PERCENT,
            trace_runs: Vec::new(),
            waves: false,
            replay: None,
            fault: None,
            crossbar: Crossbar::Model,
            max_cycles: None,
        }
    }
}

/// Fraction of (query, key) pairs the synthetic head's calibrated
/// threshold keeps, unless told otherwise (`verify`, `report`).
pub const DEFAULT_KEEP_FRACTION: f64 = 0.15;

/// Chance (%) per cycle that a testbench source stays idle, unless told
/// otherwise.
pub const DEFAULT_IDLE_PERCENT: u32 = 25;

/// Chance (%) per cycle that a testbench sink applies back-pressure,
/// unless told otherwise.
pub const DEFAULT_STALL_PERCENT: u32 = 25;

/// Why a verification could not finish.
#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the testbench output could not be read: {0}")]
    Protocol(String),
    #[error(transparent)]
    Python(#[from] super::axi::PythonError),
    #[error("--replay {label}: {problem}")]
    Replay { label: String, problem: String },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> VerifyError {
    let context = context.into();
    move |source| VerifyError::Io { context, source }
}

/// One checked run of the design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// `seed<N>/<scenario>`.
    pub label: String,
    pub mode: Mode,
    pub queries: u32,
    /// Output rows and elements compared bit for bit.
    pub outputs: u64,
    pub words: u64,
    /// Expected fetches (keys, in order) checked at the memory port.
    pub fetches_checked: u64,
    /// Crossbar keep vectors checked bit for bit (one per pruned query).
    pub keeps_checked: u64,
    /// Counter CSRs compared.
    pub counters_checked: u32,
    /// CYCLES CSR: start to done.
    pub cycles: u64,
    /// MAC_CYCLES CSR.
    pub mac_cycles: u64,
    /// With several cores, each core's CYCLES register (start until the
    /// core is idle), core 0 first; empty with one core.
    pub core_cycles: Vec<u64>,
    /// The analytical model's cycles for the same run ([`golden::cycles`]).
    pub model_cycles: u64,
    /// The golden model's counters, as checked.
    pub expected: golden::Counters,
}

/// Result of a whole verification.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub verilator_version: String,
    pub runs: Vec<RunOutcome>,
    /// The first mismatch, timeout or testbench error; `None` when all passed.
    pub failure: Option<String>,
    /// The waveform recorded ([`VerifyOptions::waves`]): of the first
    /// failing run, or of the replayed run.
    pub waves: Option<WaveRecord>,
}

/// An FST waveform of one run and where in it to look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveRecord {
    /// The run it records.
    pub label: String,
    /// `<work>/waves/<label, / as _>.fst`.
    pub fst: PathBuf,
    /// A GTKWave save file next to it that opens the FST with the top's
    /// ports grouped by interface ([`super::waves::gtkw_save_file`]).
    pub gtkw: PathBuf,
    /// The rising edges recorded, counted from the start of the stimulus
    /// file (cycle c's rising edge is at 10·c + 5 ns).
    pub first_cycle: u64,
    pub last_cycle: u64,
    /// The rising edge of the first mismatch, when the run failed.
    pub mismatch_cycle: Option<u64>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// A scenario: a labelled run with its golden result.
pub(super) struct Planned {
    label: String,
    mode: Mode,
    input_queries: u32,
    model_cycles: u64,
    expected: HeadResult,
}

/// Generates, builds and simulates `spec`, checking every run against the
/// golden model. `progress` is told each step.
///
/// # Errors
/// When a tool is missing or fails, or files cannot be written. A design
/// that simulates but mismatches is not an error: see
/// [`VerifyReport::failure`].
pub fn verify(
    spec: &Spec,
    opts: &VerifyOptions,
    progress: &dyn Fn(&str),
) -> Result<VerifyReport, VerifyError> {
    let d = opts.crossbar.golden_derived(spec);
    if let Some(label) = &opts.replay {
        return replay(spec, &d, opts, label, progress);
    }
    let tb = Testbench::build_with(
        spec,
        &opts.work_dir,
        SimBuild::Checking,
        opts.crossbar,
        progress,
    )?;
    let mut report = VerifyReport {
        verilator_version: tb.verilator_version.clone(),
        runs: Vec::new(),
        failure: None,
        waves: None,
    };
    for &seed in &opts.seeds {
        progress(&format!("simulating seed {seed}"));
        let (text, planned) = plan_seed(&d, opts, seed);
        let options = StimulusOptions {
            fault: opts.fault,
            ..StimulusOptions::default()
        };
        let (parsed, _) = tb.run_with(&format!("seed{seed}"), seed, &text, &planned, &options)?;
        report.runs.extend(parsed.runs);
        if parsed.failure.is_some() {
            report.failure = parsed.failure;
            break;
        }
    }
    let failed_run = report.failure.as_deref().and_then(failing_label);
    if opts.waves
        && let Some(label) = failed_run
    {
        progress(&format!("recording the waveform of {label}"));
        let (_, waves) = rerun(spec, &d, opts, label, true, progress)?;
        report.waves = waves;
    }
    Ok(report)
}

/// `verify --replay LABEL`: the one run, with its waveform if asked.
fn replay(
    spec: &Spec,
    d: &Derived,
    opts: &VerifyOptions,
    label: &str,
    progress: &dyn Fn(&str),
) -> Result<VerifyReport, VerifyError> {
    progress(&format!("replaying {label}"));
    let (parsed, waves) = rerun(spec, d, opts, label, opts.waves, progress)?;
    Ok(VerifyReport {
        verilator_version: parsed.verilator_version,
        runs: parsed
            .runs
            .into_iter()
            .filter(|r| r.label == label)
            .collect(),
        failure: parsed.failure,
        waves,
    })
}

/// What [`rerun`] saw.
struct Rerun {
    verilator_version: String,
    runs: Vec<RunOutcome>,
    failure: Option<String>,
}

/// Runs the stimulus of `label`'s seed up to the end of that run, with the
/// checking build, or with the tracing build recording the run's waveform.
fn rerun(
    spec: &Spec,
    d: &Derived,
    opts: &VerifyOptions,
    label: &str,
    waves: bool,
    progress: &dyn Fn(&str),
) -> Result<(Rerun, Option<WaveRecord>), VerifyError> {
    let replay_error = |problem: String| VerifyError::Replay {
        label: label.to_string(),
        problem,
    };
    let seed = seed_of_label(label).ok_or_else(|| {
        replay_error(
            "a run label starts with seed<N>/, as verify prints it (e.g. seed1/sprint)".into(),
        )
    })?;
    let (text, mut planned) = plan_seed(d, opts, seed);
    let Some(position) = planned.iter().position(|p| p.label == label) else {
        let known: Vec<&str> = planned.iter().map(|p| p.label.as_str()).collect();
        return Err(replay_error(format!(
            "seed {seed} with these options has no such run; its runs are {}",
            known.join(", ")
        )));
    };
    planned.truncate(position + 1);
    let text = stimulus::through_run(&text, label)
        .ok_or_else(|| replay_error("the stimulus has no such run".into()))?;
    let build = if waves {
        SimBuild::Tracing
    } else {
        SimBuild::Checking
    };
    let tb = Testbench::build_with(spec, &opts.work_dir, build, opts.crossbar, progress)?;
    let file_stem = label.replace('/', "_");
    let mut options = StimulusOptions {
        fault: opts.fault,
        ..StimulusOptions::default()
    };
    let fst = tb.work.join("waves").join(format!("{file_stem}.fst"));
    if waves {
        let dir = tb.work.join("waves");
        fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        options.waves = Some(WaveRequest {
            file: fst.clone(),
            label: Some(label.to_string()),
        });
    }
    let (parsed, done) = tb.run_with(
        &format!("replay_{file_stem}"),
        seed,
        &text,
        &planned,
        &options,
    )?;
    let record = match done.traced_cycles {
        Some((first_cycle, last_cycle)) => {
            let gtkw = fst.with_extension("gtkw");
            fs::write(&gtkw, super::waves::gtkw_save_file(d, &fst))
                .map_err(io(format!("writing {}", gtkw.display())))?;
            Some(WaveRecord {
                label: label.to_string(),
                fst,
                gtkw,
                first_cycle,
                last_cycle,
                mismatch_cycle: parsed.failure.as_deref().and_then(cycle_of_failure),
            })
        }
        None => None,
    };
    let rerun = Rerun {
        verilator_version: tb.verilator_version,
        runs: parsed.runs,
        failure: parsed.failure,
    };
    Ok((rerun, record))
}

/// N of a run label `seed<N>/...`.
fn seed_of_label(label: &str) -> Option<u64> {
    let (seed, _) = label.strip_prefix("seed")?.split_once('/')?;
    seed.parse().ok()
}

/// The run a testbench failure line names (`label=...`, or `TIMEOUT
/// LABEL`); `None` for a malformed file or a failure outside any run.
fn failing_label(failure: &str) -> Option<&str> {
    let mut words = failure.split_whitespace();
    let label = match words.next()? {
        "TIMEOUT" => words.next()?,
        _ => words.find_map(|w| w.strip_prefix("label="))?,
    };
    (label != "-").then_some(label)
}

/// The `cycle=N` of a testbench failure line.
fn cycle_of_failure(failure: &str) -> Option<u64> {
    failure
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cycle="))
        .and_then(|c| c.trim_end_matches(':').parse().ok())
}

/// A built Verilator testbench of one design, in its work folder.
#[derive(Debug, Clone)]
pub struct Testbench {
    /// `verilator --version`.
    pub verilator_version: String,
    /// The work folder (absolute): `design/`, the builds (`obj/`,
    /// `obj-fast/`), stimulus files.
    pub work: PathBuf,
    exe: PathBuf,
}

impl Testbench {
    /// Generates `spec` into `<work_dir>/design` and builds its testbench
    /// with the flags of `build` into `<work_dir>/<build's folder>` (`obj`
    /// or `obj-fast`, [`SimBuild::obj_dir_name`]), unless that build is
    /// already one of the same design, testbench and flags (its
    /// `build.stamp` says so; then nothing is rebuilt). `progress` is told
    /// each step.
    ///
    /// # Errors
    /// Verilator missing or failing, or files that cannot be written.
    pub fn build(
        spec: &Spec,
        work_dir: &Path,
        build: SimBuild,
        progress: &dyn Fn(&str),
    ) -> Result<Testbench, VerifyError> {
        Testbench::build_with(spec, work_dir, build, Crossbar::Model, progress)
    }

    /// [`Testbench::build`] of the harness with `crossbar` on the top's
    /// crossbar port; the emulator's builds go to `<build folder>-emu`.
    ///
    /// # Errors
    /// As [`Testbench::build`].
    pub fn build_with(
        spec: &Spec,
        work_dir: &Path,
        build: SimBuild,
        crossbar: Crossbar,
        progress: &dyn Fn(&str),
    ) -> Result<Testbench, VerifyError> {
        let d = Derived::from_spec(spec);
        let verilator_version = tools::require("verilator", "verilator")?;
        fs::create_dir_all(work_dir).map_err(io(format!("creating {}", work_dir.display())))?;
        let work = fs::canonicalize(work_dir).map_err(io("resolving the work folder"))?;
        progress("generating the design");
        let design_dir = work.join("design");
        let design = emit::render(spec);
        write_if_changed(&design_dir, &design.files)?;
        for (name, text) in TB_SOURCES {
            let path = work.join(name);
            if fs::read_to_string(&path).ok().as_deref() != Some(text) {
                fs::write(&path, text).map_err(io(format!("writing {name}")))?;
            }
        }
        let tb_cpp = work.join("tb_main.cpp");
        let obj = work.join(format!("{}{}", build.obj_dir_name(), crossbar.obj_suffix()));
        let harness = format!("{}_{}", d.name, crossbar.harness());
        let exe = obj.join("Vharness");
        let stamp_path = obj.join("build.stamp");
        let stamp = build_stamp(&design.files, build, &harness, &verilator_version);
        let fresh =
            exe.exists() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(stamp.as_str());
        if !fresh {
            progress("building the Verilator testbench");
            clear_if_moved(&obj)?;
            // A build that fails half-way leaves no stamp behind.
            let _ = fs::remove_file(&stamp_path);
            tools::verilator_build(
                &design_dir,
                "sim_filelist.f",
                &harness,
                &tb_cpp,
                &obj,
                build,
            )?;
            fs::write(&stamp_path, &stamp).map_err(io("writing the build stamp"))?;
        }
        Ok(Testbench {
            verilator_version,
            work,
            exe,
        })
    }

    /// Runs one stimulus file (written as `stim_<name>.txt`) and reads back
    /// the outcome of its planned runs. Several may run at once if their
    /// names differ.
    ///
    /// # Errors
    /// Files that cannot be written, a testbench that cannot be started or
    /// whose output cannot be read. A mismatch is not an error: it is the
    /// parsed outcome's failure.
    fn run(
        &self,
        name: &str,
        seed: u64,
        text: &str,
        planned: &[Planned],
    ) -> Result<Parsed, VerifyError> {
        let options = StimulusOptions::default();
        Ok(self.run_with(name, seed, text, planned, &options)?.0)
    }

    /// [`Testbench::run`] with `options`; also returns the raw outcome.
    fn run_with(
        &self,
        name: &str,
        seed: u64,
        text: &str,
        planned: &[Planned],
        options: &StimulusOptions,
    ) -> Result<(Parsed, StimulusRun), VerifyError> {
        let done = self.run_stimulus(name, seed, text, options)?;
        let mut parsed = parse_log(&done.log, planned)?;
        if parsed.failure.is_none() && done.exit_code != Some(0) {
            parsed.failure = Some(format!(
                "testbench exited with {}:\n{}",
                done.status,
                tail(&done.log, 20)
            ));
        }
        Ok((parsed, done))
    }

    /// Runs a stimulus file as it is (written as `stim_<name>.txt` in the
    /// work folder), with `+verilator+seed+<seed>` (at least 1), random
    /// initial values and `options`, and returns what the testbench printed
    /// and how it exited. Several may run at once if their names differ.
    ///
    /// # Errors
    /// The file cannot be written or the testbench cannot be started. A
    /// mismatch is not an error: see [`StimulusRun::failure`].
    pub fn run_stimulus(
        &self,
        name: &str,
        seed: u64,
        text: &str,
        options: &StimulusOptions,
    ) -> Result<StimulusRun, VerifyError> {
        let stim = self.work.join(format!("stim_{name}.txt"));
        fs::write(&stim, text).map_err(io("writing the stimulus"))?;
        let out = Command::new(&self.exe)
            .arg(&stim)
            .arg(format!("+verilator+seed+{}", seed.max(1)))
            .arg("+verilator+rand+reset+2")
            .args(options.plusargs())
            .output()
            .map_err(io("running the testbench"))?;
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let failure = log
            .lines()
            .find(|l| FAILURE_PREFIXES.iter().any(|p| l.starts_with(p)))
            .map(str::to_string);
        let traced_cycles = log.lines().find_map(|l| {
            let cycles = l.strip_prefix("WAVES ")?.rsplit_once(" cycles=")?.1;
            let (first, last) = cycles.split_once("..")?;
            Some((first.parse().ok()?, last.parse().ok()?))
        });
        Ok(StimulusRun {
            exit_code: out.status.code(),
            status: out.status.to_string(),
            log,
            failure,
            traced_cycles,
        })
    }

    /// Co-simulates `run` in each of `modes`, checked against the golden
    /// model, with no idle cycles and no back-pressure (so cycles measure
    /// the design alone), on all of the run's queries.
    ///
    /// Returns, per mode, the [`RunOutcome`] (labelled `<run label>/<mode>`)
    /// and the golden model's result it was checked against, and the first
    /// mismatch, if any.
    ///
    /// # Errors
    /// As [`verify`]: files, a testbench that cannot run.
    pub fn measure(
        &self,
        d: &Derived,
        run: &TraceRun,
        modes: &[Mode],
    ) -> Result<Measured, VerifyError> {
        let tb = TbParams {
            seed: 1,
            idle_percent: 0,
            stall_percent: 0,
            ..TbParams::default()
        };
        let mut s = Stimulus::new(d, &tb);
        s.comment(&format!("measurement of {}", run.label));
        s.load_head(&run.input);
        let mut planned = Vec::new();
        for &mode in modes {
            let cfg = RunConfig {
                mode,
                threshold: run.threshold,
                scale: run.scale,
            };
            let label = format!("{}/{}", run.label, mode.label());
            planned.push(checked_run(d, &mut s, &run.input, &cfg, &label, None));
        }
        let name: String = modes
            .iter()
            .map(|m| m.label())
            .fold(run.label.replace('/', "_"), |a, b| a + "_" + b);
        let parsed = self.run(&name, 1, &s.finish(), &planned)?;
        Ok(Measured {
            outcomes: parsed.runs,
            expected: planned.into_iter().map(|p| p.expected).collect(),
            failure: parsed.failure,
        })
    }
}

/// The first words of the testbench's failure lines: a mismatch (output,
/// fetch, keep vector, counter), a run over its cycle limit, a malformed
/// stimulus file.
const FAILURE_PREFIXES: [&str; 3] = ["MISMATCH ", "TIMEOUT ", "ERROR "];

/// A valid/ready rule the testbench's query driver breaks on purpose, once,
/// at the first rising edge where its query waits (valid && !ready): the
/// proof that the protocol checks fire (`+tb_fault+NAME`, hw_tests/README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverFault {
    /// `s_q_valid` falls before the transfer (`drop_q_valid`).
    DropQueryValid,
    /// Bit 0 of `s_q_data` flips while valid && !ready (`change_q_data`).
    ChangeQueryData,
}

impl DriverFault {
    /// The testbench's name of the fault.
    pub fn name(self) -> &'static str {
        match self {
            DriverFault::DropQueryValid => "drop_q_valid",
            DriverFault::ChangeQueryData => "change_q_data",
        }
    }
}

/// How [`Testbench::run_stimulus`] runs a file, beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct StimulusOptions {
    /// A protocol fault to commit on purpose.
    pub fault: Option<DriverFault>,
    /// An FST waveform to record; needs a [`SimBuild::Tracing`] testbench
    /// (any other build refuses it with exit status 2).
    pub waves: Option<WaveRequest>,
}

/// Where to record a waveform, and of which run.
#[derive(Debug, Clone)]
pub struct WaveRequest {
    /// The FST file to write (`+trace+FILE`).
    pub file: PathBuf,
    /// Record from the first clocked command of this run on
    /// (`+trace_label+LABEL`); the whole file when `None`.
    pub label: Option<String>,
}

impl StimulusOptions {
    fn plusargs(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(f) = self.fault {
            args.push(format!("+tb_fault+{}", f.name()));
        }
        if let Some(w) = &self.waves {
            args.push(format!("+trace+{}", w.file.display()));
            if let Some(label) = &w.label {
                args.push(format!("+trace_label+{label}"));
            }
        }
        args
    }
}

/// How one stimulus file ended in the testbench ([`Testbench::run_stimulus`]).
#[derive(Debug, Clone)]
pub struct StimulusRun {
    /// Standard output, then standard error.
    pub log: String,
    /// 0 pass, 1 mismatch or timeout, 2 malformed stimulus
    /// (`hw_tests/README.md`); `None` when a signal ended it.
    pub exit_code: Option<i32>,
    /// The exit status as the system words it, for messages.
    pub status: String,
    /// The first `MISMATCH`, `TIMEOUT` or `ERROR` line.
    pub failure: Option<String>,
    /// The first and last rising edge recorded in the waveform, when one
    /// was written ([`StimulusOptions::waves`]).
    pub traced_cycles: Option<(u64, u64)>,
}

/// What [`Testbench::measure`] returns.
#[derive(Debug, Clone)]
pub struct Measured {
    /// One per mode that ran to the end, in the order asked.
    pub outcomes: Vec<RunOutcome>,
    /// The golden model's result of each mode asked, in that order.
    pub expected: Vec<HeadResult>,
    /// The first mismatch, timeout or testbench error.
    pub failure: Option<String>,
}

pub(super) fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Writes the design only where it differs, so that unchanged files keep
/// their times.
pub(super) fn write_if_changed(dir: &Path, files: &[EmittedFile]) -> Result<(), VerifyError> {
    let same = files.iter().all(|f| {
        fs::read_to_string(dir.join(&f.path)).ok().as_deref() == Some(f.contents.as_str())
    });
    if !same {
        emit::write_atomically(dir, files).map_err(io(format!("writing {}", dir.display())))?;
    }
    Ok(())
}

/// Empties the build folder `obj` when it was built at another path (its
/// `build.folder` names that path): make's dependency files name the old
/// folder's sources, so an incremental build there would stop with "No
/// rule to make target". Then records `obj`'s own path.
///
/// # Errors
/// The folder cannot be removed, created or written.
fn clear_if_moved(obj: &Path) -> Result<(), VerifyError> {
    let record = obj.join("build.folder");
    let here = obj.display().to_string();
    let built_at = fs::read_to_string(&record).ok();
    if obj.exists() && built_at.as_deref() != Some(here.as_str()) {
        fs::remove_dir_all(obj).map_err(io(format!("clearing {here}")))?;
    }
    fs::create_dir_all(obj).map_err(io(format!("creating {here}")))?;
    fs::write(&record, &here).map_err(io("writing the build folder's path"))
}

/// What a cached build was made from: SHA-256 over the design's files
/// (path and contents), the testbench sources, the build's flags and the
/// Verilator version, in hex. Each build folder keeps its own, so a design
/// change rebuilds each build when it is next used.
fn build_stamp(
    files: &[EmittedFile],
    build: SimBuild,
    harness: &str,
    verilator_version: &str,
) -> String {
    let mut h = Sha256::new();
    for f in files {
        for part in [f.path.as_bytes(), f.contents.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    for (_, text) in TB_SOURCES {
        h.update(text.as_bytes());
    }
    h.update(build.flags().join("\n").as_bytes());
    h.update(harness.as_bytes());
    h.update(verilator_version.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The stimulus file `verify` runs for `seed` with `opts` (the synthetic
/// head, or `opts.trace_runs`), as text in the language of
/// `hw_tests/README.md`.
pub fn seed_stimulus(spec: &Spec, opts: &VerifyOptions, seed: u64) -> String {
    plan_seed(&opts.crossbar.golden_derived(spec), opts, seed).0
}

/// The default number of queries per head.
pub fn default_queries(d: &Derived) -> u32 {
    d.seq_len.min(32)
}

/// The stimulus of one seed and the runs it checks.
pub(super) fn plan_seed(d: &Derived, opts: &VerifyOptions, seed: u64) -> (String, Vec<Planned>) {
    let n_queries = opts
        .queries
        .unwrap_or_else(|| default_queries(d))
        .clamp(1, d.seq_len);
    let tb = TbParams {
        seed,
        idle_percent: opts.idle_percent,
        stall_percent: opts.stall_percent,
        max_cycles: opts.max_cycles.unwrap_or(TbParams::default().max_cycles),
    };
    let mut s = Stimulus::new(d, &tb);
    let mut planned = Vec::new();
    if !opts.trace_runs.is_empty() {
        for run in &opts.trace_runs {
            let mut input = run.input.clone();
            if let Some(q) = opts.queries {
                input.q.truncate(q as usize);
            }
            s.comment(&format!("real head {}", run.label));
            s.load_head(&input);
            for mode in [
                Mode::Baseline,
                Mode::PruneOnly,
                Mode::Sprint,
                Mode::ReuseOnly,
            ] {
                let cfg = RunConfig {
                    mode,
                    threshold: run.threshold,
                    scale: run.scale,
                };
                let label = format!("seed{seed}/{}/{}", run.label, mode.label());
                planned.push(checked_run(d, &mut s, &input, &cfg, &label, None));
            }
        }
        return (s.finish(), planned);
    }
    let SyntheticRun {
        input: head_a,
        scale,
        threshold,
    } = SyntheticRun::new(d, seed, n_queries, opts.keep_fraction);
    s.comment("head A: the three compared modes, then reuse without pruning");
    s.load_head(&head_a);
    for mode in [
        Mode::Baseline,
        Mode::PruneOnly,
        Mode::Sprint,
        Mode::ReuseOnly,
    ] {
        let cfg = RunConfig {
            mode,
            threshold,
            scale,
        };
        let label = format!("seed{seed}/{}", mode.label());
        planned.push(checked_run(d, &mut s, &head_a, &cfg, &label, None));
    }
    if opts.robustness {
        let sprint = RunConfig {
            mode: Mode::Sprint,
            threshold,
            scale,
        };
        let max_threshold = *d.threshold_range().end();
        let none_kept = RunConfig {
            threshold: max_threshold,
            ..sprint
        };
        s.comment("a threshold that keeps no key: every output row is zero");
        planned.push(checked_run(
            d,
            &mut s,
            &head_a,
            &none_kept,
            &format!("seed{seed}/no-kept-key"),
            None,
        ));

        s.comment("start and a MODE write while busy are ignored");
        let label = format!("seed{seed}/start-while-busy");
        let busy = |s: &mut Stimulus| {
            s.cycles(40);
            s.expect_busy(&format!("{label}.busy_at_start"));
            s.csr(crate::csr::CTRL, 1);
            s.csr(crate::csr::MODE, Mode::Baseline.bits());
        };
        planned.push(checked_run(
            d,
            &mut s,
            &head_a,
            &sprint,
            &label,
            Some(&busy),
        ));

        s.comment("reset in the middle of a run, then a fresh run");
        let expected = golden::run_head(d, &head_a, &sprint);
        s.configure_and_start(&head_a, &sprint);
        // The held-back query is never sent: the reset drops the rest.
        queue_holding_last_query(&mut s, &head_a, &expected);
        s.cycles(150 + 37 * (seed % 7));
        s.expect_busy(&format!("seed{seed}/after-reset.busy_at_reset"));
        s.reset(3);
        planned.push(checked_run(
            d,
            &mut s,
            &head_a,
            &sprint,
            &format!("seed{seed}/after-reset"),
            None,
        ));

        s.comment("head B back to back with head A");
        let shape_b = HeadShape {
            n_queries,
            n_keys: d.seq_len,
            query_base: d.seq_len - n_queries,
            head_id: 1,
        };
        let head_b = workload::synthetic_head(d, seed ^ 0x5eed, shape_b);
        s.load_head(&head_b);
        planned.push(checked_run(
            d,
            &mut s,
            &head_b,
            &sprint,
            &format!("seed{seed}/head-b"),
            None,
        ));
    }
    (s.finish(), planned)
}

type Interrupt<'a> = Option<&'a dyn Fn(&mut Stimulus)>;

fn checked_run(
    d: &Derived,
    s: &mut Stimulus,
    input: &HeadInput,
    cfg: &RunConfig,
    label: &str,
    interrupt: Interrupt,
) -> Planned {
    let expected = golden::run_head(d, input, cfg);
    s.configure_and_start(input, cfg);
    match interrupt {
        None => s.queue(input, &expected),
        Some(f) => {
            let last = queue_holding_last_query(s, input, &expected);
            f(s);
            s.queue_queries(last);
        }
    }
    s.run_and_check(label, &expected);
    Planned {
        label: label.to_string(),
        mode: cfg.mode,
        input_queries: input.q.len() as u32,
        model_cycles: golden::cycles::run_cycles(d, cfg.mode, &expected.queries),
        expected,
    }
}

/// Queues every query of `input` but the last, and every expected result;
/// returns the last query, to be queued after an interruption. N_QUERIES
/// counts it, so the design cannot finish the run before it comes: the
/// interruption lands while the design is busy, however short the run.
fn queue_holding_last_query<'i>(
    s: &mut Stimulus,
    input: &'i HeadInput,
    expected: &HeadResult,
) -> &'i [Vec<i32>] {
    let (first, last) = input.q.split_at(input.q.len().saturating_sub(1));
    s.queue_queries(first);
    s.queue_expected(expected);
    last
}

pub(super) struct Parsed {
    pub(super) runs: Vec<RunOutcome>,
    pub(super) failure: Option<String>,
}

/// Reads `RUN`, `CSR`, `MISMATCH`, `TIMEOUT` and `ERROR` lines.
pub(super) fn parse_log(log: &str, planned: &[Planned]) -> Result<Parsed, VerifyError> {
    let mut runs = Vec::new();
    let mut failure = None;
    for line in log.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("RUN") => {
                let label = words.next().unwrap_or_default();
                let plan = planned
                    .iter()
                    .find(|p| p.label == label)
                    .ok_or_else(|| VerifyError::Protocol(format!("unknown run {label}")))?;
                let field = |name: &str| -> u64 {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
                        .unwrap_or(0)
                };
                runs.push(RunOutcome {
                    label: label.to_string(),
                    mode: plan.mode,
                    queries: plan.input_queries,
                    outputs: field("outputs"),
                    words: field("words"),
                    fetches_checked: plan.expected.counters.fetches,
                    keeps_checked: plan.expected.counters.xbar_reads,
                    counters_checked: 0,
                    cycles: 0,
                    mac_cycles: 0,
                    core_cycles: Vec::new(),
                    model_cycles: plan.model_cycles,
                    expected: plan.expected.counters,
                });
            }
            Some("CSR") => {
                let (name, value) = (
                    words.next().unwrap_or_default(),
                    words.next().unwrap_or_default(),
                );
                let checked = words.next() == Some("ok");
                let Some((label, counter)) = name.rsplit_once('.') else {
                    continue;
                };
                let Some(run) = runs.iter_mut().rev().find(|r| r.label == label) else {
                    continue;
                };
                let value: u64 = value.parse().unwrap_or(0);
                let core_cycles = counter
                    .strip_prefix("core")
                    .and_then(|c| c.strip_suffix("_cycles"))
                    .and_then(|c| c.parse::<usize>().ok());
                match counter {
                    "cycles" => run.cycles = value,
                    "mac_cycles" => run.mac_cycles = value,
                    _ if core_cycles.is_some() => {
                        let core = core_cycles.expect("matched");
                        if run.core_cycles.len() <= core {
                            run.core_cycles.resize(core + 1, 0);
                        }
                        run.core_cycles[core] = value;
                    }
                    _ if checked => run.counters_checked += 1,
                    _ => {}
                }
            }
            Some("MISMATCH") | Some("TIMEOUT") | Some("ERROR") if failure.is_none() => {
                failure = Some(line.to_string());
            }
            _ => {}
        }
    }
    Ok(Parsed { runs, failure })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> EmittedFile {
        EmittedFile {
            path: path.into(),
            contents: contents.into(),
        }
    }

    #[test]
    fn failure_lines_name_their_run_and_cycle() {
        let output =
            "MISMATCH output label=seed2/sprint query=3 element=0 expected=0x1 got=0x0 cycle=812";
        assert_eq!(failing_label(output), Some("seed2/sprint"));
        assert_eq!(cycle_of_failure(output), Some(812));
        let protocol =
            "MISMATCH protocol label=seed1/baseline port=s_q rule=valid-held cycle=46: valid fell";
        assert_eq!(failing_label(protocol), Some("seed1/baseline"));
        assert_eq!(cycle_of_failure(protocol), Some(46));
        assert_eq!(
            failing_label("TIMEOUT seed1/head-b cycle=9"),
            Some("seed1/head-b")
        );
        assert_eq!(failing_label("ERROR line 3: bad hex 'xyz'"), None);
        assert_eq!(
            failing_label("MISMATCH csr label=- name=x expected=1 got=0"),
            None
        );
        assert_eq!(seed_of_label("seed12/l0h3/sprint"), Some(12));
        assert_eq!(seed_of_label("sprint"), None);
        assert_eq!(seed_of_label("seedx/sprint"), None);
    }

    #[test]
    fn the_tracing_build_is_the_checking_build_with_fst_tracing() {
        let tracing = SimBuild::Tracing.flags();
        let checking = SimBuild::Checking.flags();
        assert_eq!(tracing[..checking.len()], checking[..]);
        assert_eq!(
            tracing[checking.len()..],
            ["--trace-fst", "--timescale", "1ns/1ns"]
        );
        assert_ne!(
            SimBuild::Tracing.obj_dir_name(),
            SimBuild::Checking.obj_dir_name()
        );
    }

    #[test]
    fn the_two_builds_differ_only_in_x_handling_and_folder() {
        let x = ["--x-assign", "--x-initial", "unique", "fast"];
        let rest = |b: SimBuild| -> Vec<&str> {
            b.flags().into_iter().filter(|f| !x.contains(f)).collect()
        };
        assert_eq!(rest(SimBuild::Checking), rest(SimBuild::Measuring));
        let checking = SimBuild::Checking.flags();
        assert!(checking.windows(2).any(|w| w == ["--x-initial", "unique"]));
        let measuring = SimBuild::Measuring.flags();
        assert!(measuring.windows(2).any(|w| w == ["--x-assign", "fast"]));
        assert_ne!(
            SimBuild::Checking.obj_dir_name(),
            SimBuild::Measuring.obj_dir_name()
        );
    }

    #[test]
    fn a_build_stamp_changes_with_the_design_the_flags_and_the_harness() {
        let design = [file("rtl/a.v", "module a; endmodule\n")];
        let stamp = build_stamp(&design, SimBuild::Checking, "h", "Verilator 5.006");
        assert_eq!(
            stamp,
            build_stamp(&design, SimBuild::Checking, "h", "Verilator 5.006")
        );
        assert_ne!(
            stamp,
            build_stamp(&design, SimBuild::Measuring, "h", "Verilator 5.006")
        );
        assert_ne!(
            stamp,
            build_stamp(&design, SimBuild::Checking, "h", "Verilator 5.020")
        );
        let edited = [file("rtl/a.v", "module a; wire w; endmodule\n")];
        assert_ne!(
            stamp,
            build_stamp(&edited, SimBuild::Checking, "h", "Verilator 5.006")
        );
        assert_ne!(
            stamp,
            build_stamp(&design, SimBuild::Checking, "e", "Verilator 5.006")
        );
        // Path and contents are length-prefixed: moving text between them
        // is a change.
        let moved = [file("rtl/a.vm", "odule a; endmodule\n")];
        assert_ne!(
            stamp,
            build_stamp(&moved, SimBuild::Checking, "h", "Verilator 5.006")
        );
    }

    #[test]
    fn a_build_folder_built_elsewhere_is_emptied_and_one_built_here_kept() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path().join("obj");
        fs::create_dir_all(&obj).unwrap();
        fs::write(obj.join("build.folder"), "/old/work/obj").unwrap();
        fs::write(obj.join("Vharness.d"), "/old/work/tb_main.cpp").unwrap();
        clear_if_moved(&obj).unwrap();
        assert!(!obj.join("Vharness.d").exists());
        fs::write(obj.join("Vharness.d"), "tb_main.cpp").unwrap();
        clear_if_moved(&obj).unwrap();
        assert!(obj.join("Vharness.d").exists());
    }
}
