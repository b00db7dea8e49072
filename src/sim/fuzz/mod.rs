//! `sprint-rtl fuzz`: random valid designs, each generated, linted and
//! co-simulated against the golden model, a failure shrunk to a small
//! reproducer.
//!
//! Per design ([`space::draw`]): the design is generated into
//! `<out>/<name>/work/design`, linted ([`lint`]: Verilator `-Wall`, Icarus
//! Verilog `-g2005 -Wall` and Yosys `check -assert`), then verified
//! ([`super::verify::verify`]: the four modes and the robustness runs)
//! on a few random seeds with random idle cycles and back-pressure. A
//! failing design is shrunk ([`shrink`]) and its reproducer written to
//! `<out>/<name>/`: `repro.yaml`, the stimulus of the failing seed
//! (`repro_stim.txt`) and the command that replays it. A passing design
//! leaves only its `spec.yaml`. `<out>/fuzz.json` sums up the run
//! ([`FuzzSummary`]).
//!
//! With [`FuzzOptions::spec`], one given design is run instead on many
//! consecutive seeds: the long-run check of a shipped spec.

pub mod shrink;
pub mod space;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;

use self::shrink::Case;
use self::space::{Corner, Draws};
use super::verify::{self, VerifyError, VerifyOptions};
use crate::emit;
use crate::spec::Spec;
use crate::tools::{self, Finding, ToolError};

/// Options of one fuzz run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Random designs to draw (ignored with [`FuzzOptions::spec`]).
    pub designs: u32,
    /// The index of the first design drawn: designs `first_design ..
    /// first_design + designs`, so that a long run splits into parts that
    /// draw the same designs as the whole (ignored with
    /// [`FuzzOptions::spec`]).
    pub first_design: u32,
    /// Stimulus seeds per design.
    pub seeds: u32,
    /// The fuzz seed: design `i` is [`space::draw`]`(seed, i)`. With
    /// [`FuzzOptions::spec`], the first stimulus seed.
    pub seed: u64,
    /// Where the specs, reproducers and `fuzz.json` go.
    pub out_dir: PathBuf,
    /// Run this design on seeds `seed..seed + seeds` instead of drawing
    /// random ones (verify's defaults otherwise: keep fraction 0.15, 25 %
    /// idle and back-pressure, the robustness runs).
    pub spec: Option<Spec>,
    /// Queries per head with [`FuzzOptions::spec`] (default: verify's,
    /// min(seq_len, 32)).
    pub queries: Option<u32>,
    /// Most candidates the shrinker tries per failure (each a rebuild).
    pub shrink_tries: u32,
    /// Keep each design's generated files and Verilator build.
    pub keep_work: bool,
    /// Full-range designs, or small ones ([`space::Size::Small`]).
    pub size: space::Size,
}

impl FuzzOptions {
    /// 20 designs of 2 seeds from fuzz seed 1 into `out_dir`; 40 shrink
    /// tries.
    pub fn new(out_dir: impl Into<PathBuf>) -> FuzzOptions {
        FuzzOptions {
            designs: 20,
            first_design: 0,
            seeds: 2,
            seed: 1,
            out_dir: out_dir.into(),
            spec: None,
            queries: None,
            shrink_tries: 40,
            keep_work: false,
            size: space::Size::Full,
        }
    }
}

/// Why a fuzz run stopped before its end: a tool is missing, or its files
/// cannot be written. A failing design is not an error (see
/// [`DesignRecord::failure`]).
#[derive(Debug, Error)]
pub enum FuzzError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> FuzzError {
    let context = context.into();
    move |source| FuzzError::Io { context, source }
}

/// The summary written to `<out>/fuzz.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzSummary {
    /// The fuzz seed (or first stimulus seed with a given spec).
    pub seed: u64,
    pub designs: u32,
    /// The first design's index (`--first-design`).
    pub first_design: u32,
    pub seeds_per_design: u32,
    /// Checked runs (modes and robustness scenarios) that ran to the end.
    pub runs: u64,
    /// Designs that failed.
    pub failures: u32,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    pub verilator: String,
    pub records: Vec<DesignRecord>,
}

impl FuzzSummary {
    pub fn passed(&self) -> bool {
        self.failures == 0
    }
}

/// One design of a fuzz run.
#[derive(Debug, Clone, Serialize)]
pub struct DesignRecord {
    pub index: u32,
    pub name: String,
    /// `<out>/<name>/spec.yaml`.
    pub spec_file: PathBuf,
    pub spec_hash: String,
    pub corners: Vec<Corner>,
    pub queries: u32,
    pub keep_fraction: f64,
    pub idle_percent: u32,
    pub stall_percent: u32,
    pub seeds: Vec<u64>,
    /// Checked runs that ran to the end.
    pub runs: u64,
    /// Wall time of the design (lint, build, simulation, shrinking), in
    /// seconds.
    pub seconds: f64,
    pub failure: Option<Failure>,
}

/// Which step of a design failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A lint finding (Verilator, Icarus Verilog or Yosys).
    Lint,
    /// The Verilator build or the testbench could not run.
    Build,
    /// A mismatch, a protocol violation or a timeout in co-simulation.
    Verify,
}

/// A failing design: what failed, and its shrunk reproducer.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub stage: Stage,
    /// The first finding, mismatch line or error.
    pub message: String,
    pub reproducer: Reproducer,
}

/// A reproducer as written to the design's folder.
#[derive(Debug, Clone, Serialize)]
pub struct Reproducer {
    /// `repro.yaml`.
    pub spec_file: PathBuf,
    /// The stimulus of the failing seed (`repro_stim.txt`); `None` for a
    /// lint failure.
    pub stimulus_file: Option<PathBuf>,
    /// The command that replays it.
    pub command: String,
    /// The failure of the shrunk case.
    pub message: String,
    /// Shrink candidates tried and kept.
    pub tries: u32,
    pub steps: u32,
    /// seq_len, head_dim, lanes, cores and queries of the reproducer.
    pub seq_len: u32,
    pub head_dim: u32,
    pub lanes: u32,
    pub cores: u32,
    pub queries: u32,
}

/// One design to run: a case (spec and the options of its first seed) and
/// its seeds.
struct Job {
    index: u32,
    case: Case,
    seeds: Vec<u64>,
    corners: Vec<Corner>,
}

/// Runs the fuzz campaign of `opts`; `progress` is told each step
/// (`design i/N name: step`).
///
/// # Errors
/// A missing tool (Verilator, Icarus Verilog, Yosys), or files that
/// cannot be written. Failing designs are not errors: see
/// [`FuzzSummary::failures`].
pub fn fuzz(opts: &FuzzOptions, progress: &dyn Fn(&str)) -> Result<FuzzSummary, FuzzError> {
    let start = Instant::now();
    let verilator = tools::require("verilator", "verilator")?;
    tools::require("iverilog", "iverilog")?;
    tools::require("yosys", "yosys")?;
    fs::create_dir_all(&opts.out_dir)
        .map_err(io(format!("creating {}", opts.out_dir.display())))?;
    let jobs = jobs(opts);
    let total = jobs.len();
    let mut summary = FuzzSummary {
        seed: opts.seed,
        designs: total as u32,
        first_design: jobs.first().map_or(0, |j| j.index),
        seeds_per_design: opts.seeds,
        runs: 0,
        failures: 0,
        seconds: 0.0,
        verilator,
        records: Vec::new(),
    };
    let last = jobs.last().map_or(0, |j| j.index + 1);
    for job in jobs {
        let name = job.case.spec.name.clone();
        let number = job.index + 1;
        let tell = |step: &str| progress(&format!("design {number}/{last} {name}: {step}"));
        let record = run_design(opts, job, &tell)?;
        summary.runs += record.runs;
        summary.failures += u32::from(record.failure.is_some());
        summary.records.push(record);
        summary.seconds = start.elapsed().as_secs_f64();
        write_summary(&opts.out_dir, &summary)?;
    }
    Ok(summary)
}

/// The designs of a run: the given spec, or random draws.
fn jobs(opts: &FuzzOptions) -> Vec<Job> {
    if let Some(spec) = &opts.spec {
        let defaults = VerifyOptions::for_spec(spec);
        let seeds: Vec<u64> = (0..u64::from(opts.seeds)).map(|s| opts.seed + s).collect();
        let d = crate::golden::Derived::from_spec(spec);
        let case = Case {
            spec: spec.clone(),
            seed: seeds[0],
            queries: opts.queries.unwrap_or_else(|| verify::default_queries(&d)),
            keep_fraction: defaults.keep_fraction,
            idle_percent: defaults.idle_percent,
            stall_percent: defaults.stall_percent,
            robustness: true,
        };
        let corners = space::corners_of(spec, case.keep_fraction);
        return vec![Job {
            index: 0,
            case,
            seeds,
            corners,
        }];
    }
    (opts.first_design..opts.first_design + opts.designs)
        .map(|index| {
            let drawn = space::draw_sized(opts.seed, index, opts.size);
            let mut r = Draws::new(opts.seed ^ (u64::from(index) << 20) ^ 0x5eed);
            let seeds: Vec<u64> = (0..opts.seeds)
                .map(|_| 1 + r.next_u64() % MAX_STIMULUS_SEED)
                .collect();
            Job {
                index,
                case: Case {
                    spec: drawn.spec,
                    seed: seeds.first().copied().unwrap_or(1),
                    queries: drawn.queries,
                    keep_fraction: drawn.keep_fraction,
                    idle_percent: drawn.idle_percent,
                    stall_percent: drawn.stall_percent,
                    robustness: true,
                },
                seeds,
                corners: drawn.corners,
            }
        })
        .collect()
}

/// Stimulus seeds are drawn in 1..=2^31 - 1, what `verify --seed` takes.
const MAX_STIMULUS_SEED: u64 = 2_147_483_647;

fn write_summary(out: &Path, summary: &FuzzSummary) -> Result<(), FuzzError> {
    let path = out.join("fuzz.json");
    let text = serde_json::to_string_pretty(summary).expect("the summary serialises");
    fs::write(&path, text + "\n").map_err(io(format!("writing {}", path.display())))
}

/// What one check of a case found.
enum Outcome {
    Pass {
        runs: u64,
    },
    Fail {
        stage: Stage,
        message: String,
        seed: u64,
        runs: u64,
    },
}

fn run_design(
    opts: &FuzzOptions,
    job: Job,
    tell: &dyn Fn(&str),
) -> Result<DesignRecord, FuzzError> {
    let start = Instant::now();
    let name = job.case.spec.name.clone();
    let dir = opts.out_dir.join(&name);
    fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let spec_file = dir.join("spec.yaml");
    write_spec(&spec_file, &job.case.spec)?;
    let s = &job.case.spec;
    tell(&format!(
        "seq_len {}, head_dim {}, {} lane(s), {} core(s), {} bits; lint",
        s.attention.seq_len,
        s.attention.head_dim,
        s.recompute.lanes,
        s.recompute.cores,
        s.numerics.data_bits
    ));
    let work = dir.join("work");
    let mut outcome = check_lint(&job.case, &work)?;
    if let Outcome::Pass { .. } = outcome {
        tell(&format!(
            "verify, {} quer{} a head, seeds {}",
            job.case.queries,
            if job.case.queries == 1 { "y" } else { "ies" },
            seed_list(&job.seeds)
        ));
        outcome = check_verify(&job.case, &job.seeds, &work, tell)?;
    }
    let (runs, failure) = match outcome {
        Outcome::Pass { runs } => (runs, None),
        Outcome::Fail {
            stage,
            message,
            seed,
            runs,
        } => {
            tell(&format!("FAIL ({stage:?}): {message}"));
            let case = Case {
                seed,
                ..job.case.clone()
            };
            let reproducer = reproduce(opts, &dir, case, stage, &message, tell)?;
            (
                runs,
                Some(Failure {
                    stage,
                    message,
                    reproducer,
                }),
            )
        }
    };
    if !opts.keep_work && failure.is_none() {
        let _ = fs::remove_dir_all(&work);
    }
    Ok(DesignRecord {
        index: job.index,
        name,
        spec_file,
        spec_hash: job.case.spec.hash(),
        corners: job.corners,
        queries: job.case.queries,
        keep_fraction: job.case.keep_fraction,
        idle_percent: job.case.idle_percent,
        stall_percent: job.case.stall_percent,
        seeds: job.seeds,
        runs,
        seconds: start.elapsed().as_secs_f64(),
        failure,
    })
}

/// `1, 2, 3` or, for more than 6 seeds, `1, 2, 3, ... 1000 (1000 seeds)`.
fn seed_list(seeds: &[u64]) -> String {
    let shown: Vec<String> = seeds.iter().take(3).map(u64::to_string).collect();
    match seeds {
        [.., last] if seeds.len() > 6 => {
            format!("{}, ... {last} ({} seeds)", shown.join(", "), seeds.len())
        }
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn write_spec(path: &Path, spec: &Spec) -> Result<(), FuzzError> {
    let text = serde_yaml::to_string(spec).expect("a spec serialises");
    fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

/// The lint of one design ([`lint`]) as an outcome.
fn check_lint(case: &Case, work: &Path) -> Result<Outcome, FuzzError> {
    let design = work.join("design");
    fs::create_dir_all(work).map_err(io(format!("creating {}", work.display())))?;
    emit::write_atomically(&design, &emit::render(&case.spec).files)
        .map_err(io(format!("writing {}", design.display())))?;
    Ok(match lint(&design, &case.spec.name) {
        Ok(findings) if findings.is_empty() => Outcome::Pass { runs: 0 },
        Ok(findings) => Outcome::Fail {
            stage: Stage::Lint,
            message: format!("{}: {}", findings[0].code, findings[0].message),
            seed: case.seed,
            runs: 0,
        },
        Err(e @ ToolError::Missing { .. }) => return Err(e.into()),
        Err(e) => Outcome::Fail {
            stage: Stage::Lint,
            message: e.to_string(),
            seed: case.seed,
            runs: 0,
        },
    })
}

/// Verilator `--lint-only -Wall` and Icarus Verilog `-g2005 -Wall` of the
/// synthesizable tops (`<name>_top`, `<name>_axi_top`, `filelist.f`) and
/// the simulation harnesses (`<name>_tb_harness`, `<name>_axi_tb_harness`,
/// `sim_filelist.f`), then Yosys `hierarchy -check; proc; check -assert`
/// of the two tops: the findings of the first of these checks that has
/// any (the later ones are not run), or none.
///
/// # Errors
/// A tool that is missing or that fails without a finding.
pub fn lint(design_dir: &Path, name: &str) -> Result<Vec<Finding>, ToolError> {
    type Check = fn(&Path, &str, &str) -> Result<Vec<Finding>, ToolError>;
    let tops = [
        ("filelist.f", format!("{name}_top")),
        ("filelist.f", format!("{name}_axi_top")),
        ("sim_filelist.f", format!("{name}_tb_harness")),
        ("sim_filelist.f", format!("{name}_axi_tb_harness")),
    ];
    let checks: [(Check, &[(&str, String)]); 3] = [
        (tools::verilator_lint, &tops),
        (tools::iverilog_check, &tops),
        (tools::yosys_check, &tops[..2]),
    ];
    for (check, tops) in checks {
        for (list, top) in tops {
            let findings = check(design_dir, list, top)?;
            if !findings.is_empty() {
                return Ok(tag(top, findings).collect());
            }
        }
    }
    Ok(Vec::new())
}

/// Findings with the top they were found in before their message.
fn tag(top: &str, findings: Vec<Finding>) -> impl Iterator<Item = Finding> + '_ {
    findings.into_iter().map(move |f| Finding {
        message: format!("{top}: {}", f.message),
        ..f
    })
}

/// `verify` of `case` on `seeds` in the work folder `work`, as an outcome.
fn check_verify(
    case: &Case,
    seeds: &[u64],
    work: &Path,
    tell: &dyn Fn(&str),
) -> Result<Outcome, FuzzError> {
    let opts = verify_options(case, seeds, work);
    match verify::verify(&case.spec, &opts, tell) {
        Ok(report) => {
            let runs = report.runs.len() as u64;
            Ok(match report.failure {
                None => Outcome::Pass { runs },
                Some(message) => {
                    let seed = failing_seed(&message, &report.runs, seeds);
                    Outcome::Fail {
                        stage: Stage::Verify,
                        message,
                        seed,
                        runs,
                    }
                }
            })
        }
        Err(VerifyError::Tool(e @ ToolError::Missing { .. })) => Err(e.into()),
        Err(e) => Ok(Outcome::Fail {
            stage: Stage::Build,
            message: e.to_string(),
            seed: case.seed,
            runs: 0,
        }),
    }
}

fn verify_options(case: &Case, seeds: &[u64], work: &Path) -> VerifyOptions {
    let mut opts = VerifyOptions::for_spec(&case.spec);
    opts.seeds = seeds.to_vec();
    opts.queries = Some(case.queries);
    opts.keep_fraction = case.keep_fraction;
    opts.robustness = case.robustness;
    opts.idle_percent = case.idle_percent;
    opts.stall_percent = case.stall_percent;
    opts.work_dir = work.to_path_buf();
    opts.max_cycles = Some(MAX_RUN_CYCLES);
    opts
}

/// Cycle limit of one run of a fuzzed design: a run is drawn to take about
/// [`space::MODE_CYCLES`] without stalls, and at most
/// [`space::MAX_QUERY_CYCLES`] a query; 90 % idle and back-pressure make
/// it some ten times longer. A hung design then fails in seconds, not
/// after verify's default limit.
pub const MAX_RUN_CYCLES: u64 = 20_000_000;

/// The seed whose simulation failed: the `seed<N>/` of the failure line,
/// else the seed after the last one that reported a run.
fn failing_seed(message: &str, runs: &[verify::RunOutcome], seeds: &[u64]) -> u64 {
    let named = message
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("label=").or(Some(w)))
        .find_map(|w| w.strip_prefix("seed")?.split_once('/')?.0.parse().ok());
    named.unwrap_or_else(|| {
        let done = runs.last().and_then(|r| {
            let s: u64 = r
                .label
                .strip_prefix("seed")?
                .split_once('/')?
                .0
                .parse()
                .ok()?;
            seeds.iter().position(|&x| x == s)
        });
        let next = done.map_or(0, |i| i + 1).min(seeds.len() - 1);
        seeds[next]
    })
}

/// Shrinks a failing case and writes its reproducer into `dir`.
fn reproduce(
    opts: &FuzzOptions,
    dir: &Path,
    case: Case,
    stage: Stage,
    message: &str,
    tell: &dyn Fn(&str),
) -> Result<Reproducer, FuzzError> {
    let work = dir.join("shrink");
    let mut last_message = message.to_string();
    let mut tries = 0;
    let mut missing = None;
    let shrunk = shrink::shrink(case, opts.shrink_tries, &mut |candidate| {
        tries += 1;
        tell(&format!(
            "shrinking, try {tries}/{}: seq_len {}, head_dim {}, {} queries",
            opts.shrink_tries,
            candidate.spec.attention.seq_len,
            candidate.spec.attention.head_dim,
            candidate.queries
        ));
        let outcome = match stage {
            Stage::Lint => check_lint(candidate, &work),
            Stage::Build | Stage::Verify => {
                check_verify(candidate, &[candidate.seed], &work, &|_| {})
            }
        };
        match outcome {
            Ok(Outcome::Fail {
                stage: s, message, ..
            }) if s == stage => {
                last_message = message;
                true
            }
            Ok(_) => false,
            Err(e) => {
                missing.get_or_insert(e);
                false
            }
        }
    });
    if let Some(e) = missing {
        return Err(e);
    }
    let _ = fs::remove_dir_all(&work);
    let spec_file = dir.join("repro.yaml");
    write_spec(&spec_file, &shrunk.case.spec)?;
    let shown = spec_file.display().to_string();
    let (command, stimulus_file) = if stage == Stage::Lint {
        (format!("sprint-rtl lint {shown}"), None)
    } else {
        let stim = dir.join("repro_stim.txt");
        let opts = verify_options(&shrunk.case, &[shrunk.case.seed], dir);
        let text = verify::seed_stimulus(&shrunk.case.spec, &opts, shrunk.case.seed);
        fs::write(&stim, text).map_err(io(format!("writing {}", stim.display())))?;
        (shrunk.case.verify_command(&shown), Some(stim))
    };
    let s = &shrunk.case.spec;
    tell(&format!("reproducer: {command}"));
    Ok(Reproducer {
        spec_file,
        stimulus_file,
        command,
        message: last_message,
        tries: shrunk.tries,
        steps: shrunk.steps,
        seq_len: s.attention.seq_len,
        head_dim: s.attention.head_dim,
        lanes: s.recompute.lanes,
        cores: s.recompute.cores,
        queries: shrunk.case.queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_spec_survives_its_yaml() {
        for i in 0..200 {
            let spec = space::draw(11, i).spec;
            let text = serde_yaml::to_string(&spec).unwrap();
            let back = Spec::parse("drawn.yaml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn the_failing_seed_is_read_from_the_failure_line() {
        let line = "MISMATCH output label=seed77/sprint query=0 element=0 expected=0x1 got=0x0";
        assert_eq!(failing_seed(line, &[], &[5, 77]), 77);
        assert_eq!(failing_seed("TIMEOUT seed9/head-b cycle=3", &[], &[9]), 9);
        assert_eq!(
            failing_seed("testbench exited with signal 11", &[], &[4, 6]),
            4
        );
    }

    #[test]
    fn a_given_spec_runs_on_consecutive_seeds() {
        let mut opts = FuzzOptions::new("unused");
        opts.spec = Some(Spec::default_spec());
        opts.seeds = 3;
        opts.seed = 10;
        let jobs = jobs(&opts);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].seeds, [10, 11, 12]);
        assert_eq!(jobs[0].case.queries, 32);
        opts.spec = None;
        opts.designs = 4;
        let jobs = super::jobs(&opts);
        assert_eq!(jobs.len(), 4);
        assert!(
            jobs.iter().all(|j| j.seeds.len() == 3
                && j.seeds.iter().all(|s| (1..=MAX_STIMULUS_SEED).contains(s)))
        );
        // A run split in parts draws the same designs and seeds.
        opts.first_design = 2;
        opts.designs = 2;
        let part = super::jobs(&opts);
        let indices: Vec<u32> = part.iter().map(|j| j.index).collect();
        assert_eq!(indices, [2, 3]);
        for (a, b) in part.iter().zip(&jobs[2..]) {
            assert_eq!((&a.case.spec, &a.seeds), (&b.case.spec, &b.seeds));
        }
    }
}
