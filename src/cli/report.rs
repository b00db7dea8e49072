//! `report` and `sweep`: performance and energy of a design on a trace.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use sprint_rtl::batch::{self, slurm};
use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::golden::Derived;
use sprint_rtl::reports::measure::{self, CycleSource, MeasureOptions, Report};
use sprint_rtl::reports::sweep::{self, Axis, Calibration, Param, SweepOptions};
use sprint_rtl::reports::{plot, render};
use sprint_rtl::sim::verify;
use sprint_rtl::spec::Spec;
use sprint_rtl::synth::{self as synthesis, Target};
use sprint_rtl::trace::{QuerySlice, QueryStart, Trace};

use super::failure::{Failure, Outcome};
use super::real::{self, TraceSelect};

#[derive(Args)]
pub struct ReportArgs {
    /// Spec file (YAML); the embedded default spec when omitted.
    pub spec: Option<PathBuf>,
    #[command(flatten)]
    pub select: TraceSelect,
    /// Only N queries of each head (all keys stay), 1.. .
    /// Without a trace: the synthetic head's queries (default 32).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    queries: Option<u32>,
    /// The first query taken: an index, or `last` for the last N queries
    /// (on a causal spec, those with the most keys). Default 0.
    #[arg(long, requires = "trace", value_name = "K|last")]
    query_offset: Option<QueryStart>,
    /// Without a trace: the fraction of (query, key) pairs the synthetic
    /// head's threshold keeps.
    #[arg(long, default_value_t = verify::DEFAULT_KEEP_FRACTION, conflicts_with = "trace", value_parser = super::args::unit_interval)]
    keep_fraction: f64,
    /// Also synthesize the design for this target (generic, ice40, ecp5)
    /// and put the result in report.json's `synthesis` field.
    #[arg(long, value_parser = |s: &str| s.parse::<Target>())]
    synth: Option<Target>,
    /// Cycles from the analytical model alone, without Verilator (flagged
    /// as modelled in the report).
    #[arg(long)]
    model_only: bool,
    /// Output folder (default: target/sprint-rtl/<name>/report).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Folder for the design, the Verilator build and the stimulus files
    /// (default: target/sprint-rtl/<name>, shared with `verify`).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct SweepArgs {
    /// Spec file (YAML).
    pub spec: PathBuf,
    #[command(flatten)]
    pub select: TraceSelect,
    /// NAME=V1,V2,...: buffer_bytes, seq_len, lanes, key_msb_bits, cores
    /// (with the buffer scaled to keep each core's share) or threshold;
    /// repeat for a grid (the first is the plots' x axis).
    #[arg(long = "param", required = true)]
    params: Vec<Axis>,
    /// Only N queries of each head (after cutting it to the point's seq_len).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    queries: Option<u32>,
    /// The first query taken: an index, or `last` for the last N queries
    /// (on a causal spec, those with the most keys). Default 0.
    #[arg(long, value_name = "K|last")]
    query_offset: Option<QueryStart>,
    /// Calibrate each point's thresholds on this trace of another text
    /// (same model and heads) instead of the measured trace, when the
    /// thresholds file has none for the point.
    #[arg(long, value_name = "TRACE")]
    calibrate_on: Option<PathBuf>,
    /// With --calibrate-on: the mean softmax mass per query each head's
    /// threshold keeps on the calibration trace.
    #[arg(long, default_value_t = 0.99, requires = "calibrate_on", value_parser = super::args::unit_interval)]
    keep_mass: f64,
    /// Simulate every point in the RTL (one Verilator build per design)
    /// instead of the analytical cycle model.
    #[arg(long)]
    rtl: bool,
    /// Output folder (default: target/sprint-rtl/<name>/sweep).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Folder of the per-design work folders (default: target/sprint-rtl/sweep;
    /// with --jobs-dir, one folder per point under it).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Instead of measuring, write the points as independent jobs into this
    /// new folder: jobs.txt (one plain command a line) and sweep.sbatch (a
    /// Slurm job array); `sprint-rtl sweep-collect DIR` then writes the report.
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    jobs_dir: Option<PathBuf>,
    /// With --jobs-dir: submit the jobs to this scheduler (prints the job id).
    #[arg(long, value_enum, requires = "jobs_dir")]
    submit: Option<Scheduler>,
    /// With --submit slurm: an option for sbatch, e.g. --sbatch-arg=--partition=cpu;
    /// repeat for several.
    #[arg(
        long,
        value_name = "ARG",
        requires = "submit",
        allow_hyphen_values = true
    )]
    sbatch_arg: Vec<String>,
}

/// A batch scheduler `sweep --submit` can use.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scheduler {
    /// `sbatch` a job array (Slurm).
    Slurm,
}

/// The query slice of `--queries` and `--query-offset`.
fn slice(queries: Option<u32>, offset: Option<QueryStart>) -> QuerySlice {
    QuerySlice {
        count: queries.map(|q| q as usize),
        start: offset,
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{bar:30}} {{pos}}/{{len}} {what} [{{elapsed}}] {{msg}}"
        ))
        .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn write(path: &Path, text: &str) -> Outcome {
    std::fs::write(path, text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

fn create_dir(dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).map_err(|e| Failure::input(format!("{}: {e}", dir.display())))
}

/// `sprint-rtl report`.
pub fn report(spec: &Spec, args: &ReportArgs) -> Outcome {
    let d = Derived::from_spec(spec);
    let dir = args.output.clone().unwrap_or_else(|| {
        Path::new("target/sprint-rtl")
            .join(&spec.name)
            .join("report")
    });
    sprint_rtl::files::check_dir_writable(&dir)?;
    let result = (|| {
        let (source, jobs) = match &args.select.trace {
            Some(trace_path) => {
                let trace = Trace::read_for(trace_path, &d)?;
                let heads = real::selected(&trace, &args.select)?;
                let thresholds = real::thresholds_for(&d, trace_path, &args.select, &heads)?;
                let jobs: Vec<_> = heads
                    .iter()
                    .zip(&thresholds)
                    .map(|(h, &t)| sweep::job(&d, h, t, &slice(args.queries, args.query_offset)))
                    .collect::<Result<_, _>>()?;
                (trace_path.display().to_string(), jobs)
            }
            None => {
                let queries = args.queries.unwrap_or_else(|| verify::default_queries(&d));
                (
                    format!(
                        "synthetic head (verify's workload, seed 1, {} queries, keep fraction {})",
                        queries.min(d.seq_len),
                        args.keep_fraction
                    ),
                    vec![sweep::synthetic_job(&d, queries, args.keep_fraction)],
                )
            }
        };
        let opts = MeasureOptions {
            source: if args.model_only {
                CycleSource::Model
            } else {
                CycleSource::Rtl
            },
            work_dir: args
                .work_dir
                .clone()
                .unwrap_or_else(|| Path::new("target").join("sprint-rtl").join(&spec.name)),
        };
        let progress = bar(3 * jobs.len() as u64, "runs");
        let report = measure::measure(
            spec,
            &source,
            &jobs,
            &opts,
            &|step| progress.set_message(step.to_string()),
            &|| progress.inc(1),
        );
        progress.finish_and_clear();
        Ok::<_, Failure>(report?)
    })();
    let mut report = result?;
    if let Some(target) = args.synth {
        let work_dir = Path::new("target")
            .join("sprint-rtl")
            .join(&spec.name)
            .join(format!("synth-{target}"));
        eprintln!("synthesizing for {target} in {} ...", work_dir.display());
        let s = synthesis::run(spec, target, &work_dir)?;
        report.synthesis = Some(serde_json::to_value(s).expect("serialisable"));
    }
    let files = write_report(&report, &dir)?;
    print!("{}", render::headline(&report));
    print!("{}", render::cores_table(&report));
    for line in &report.paper.explanation {
        println!("- {line}");
    }
    println!("wrote {} in {}", files.join(", "), dir.display());
    Ok(())
}

/// Writes report.json, report.md and the plots into `dir`; returns the
/// file names.
fn write_report(report: &Report, dir: &Path) -> Result<Vec<String>, Failure> {
    create_dir(dir)?;
    let mut plots = vec!["energy.svg".to_string()];
    write(&dir.join("energy.svg"), &plot::energy_by_component(report))?;
    for (i, h) in report.heads.iter().enumerate() {
        let name = format!("cycles_{}.svg", h.label);
        write(&dir.join(&name), &plot::cycles_per_query(report, i))?;
        plots.push(name);
    }
    let json = serde_json::to_string_pretty(report).expect("report serialises") + "\n";
    write(&dir.join("report.json"), &json)?;
    write(&dir.join("report.md"), &render::markdown(report, &plots))?;
    let mut files = vec!["report.md".to_string(), "report.json".to_string()];
    files.extend(plots);
    Ok(files)
}

/// `sprint-rtl sweep`.
pub fn sweep(spec: &Spec, args: &SweepArgs) -> Outcome {
    let Some(trace_path) = args.select.trace.clone() else {
        return Err(Failure::input("sweep needs --trace FILE"));
    };
    let d = Derived::from_spec(spec);
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new("target/sprint-rtl").join(&d.name).join("sweep"));
    if args.jobs_dir.is_none() {
        sprint_rtl::files::check_dir_writable(&dir)?;
    }
    let result = (|| {
        let trace = Trace::read_for(&trace_path, &d)?;
        let heads = real::selected(&trace, &args.select)?;
        let path = args
            .select
            .thresholds
            .clone()
            .unwrap_or_else(|| Thresholds::default_path(&trace_path));
        let thresholds = if path.exists() {
            Some(Thresholds::read_for(&path, &d)?)
        } else {
            None
        };
        let calibration_trace = match &args.calibrate_on {
            Some(path) if path == &trace_path => {
                return Err(Failure::input(format!(
                    "--calibrate-on {}: the calibration trace must be of another text than \
                     --trace",
                    path.display()
                )));
            }
            Some(path) => Some((path, Trace::read_for(path, &d)?)),
            None => None,
        };
        let calibration = calibration_trace.as_ref().map(|(path, t)| Calibration {
            trace: path.display().to_string(),
            heads: t.heads.iter().collect(),
            keep_mass: args.keep_mass,
        });
        let opts = SweepOptions {
            trace: trace_path.display().to_string(),
            heads,
            thresholds,
            calibration,
            queries: slice(args.queries, args.query_offset),
            axes: args.params.clone(),
            source: if args.rtl {
                CycleSource::Rtl
            } else {
                CycleSource::Model
            },
            work_dir: args
                .work_dir
                .clone()
                .unwrap_or_else(|| Path::new("target").join("sprint-rtl").join("sweep")),
        };
        if let Some(dir) = &args.jobs_dir {
            let inputs = batch::Inputs {
                trace: &trace_path,
                calibration_trace: args.calibrate_on.as_deref(),
                program: &std::env::current_exe()
                    .map_err(|e| Failure::input(format!("the path of this program: {e}")))?,
            };
            batch::write(dir, spec, &opts, &inputs)?;
            return Ok(None);
        }
        let points = sweep::grid(&opts.axes).len();
        let progress = bar((3 * points * opts.heads.len()) as u64, "runs");
        progress.set_message(if args.rtl {
            "building and simulating"
        } else {
            "modelled"
        });
        let out = sweep::sweep(spec, &opts, &|| progress.inc(1));
        progress.finish_and_clear();
        Ok::<_, Failure>(Some(out?))
    })();
    let Some(sweep) = result? else {
        return jobs_written(sweep::grid(&args.params).len(), args);
    };
    write_sweep(&sweep, &dir)
}

/// Prints where the `points` jobs are and how to run them; submits them
/// when asked.
fn jobs_written(points: usize, args: &SweepArgs) -> Outcome {
    let dir = args.jobs_dir.as_deref().expect("jobs written");
    let jobs = batch::JobsDir::new(dir)?;
    let root = jobs.root.display();
    println!(
        "wrote {points} jobs in {root}: jobs.txt (one command a line), sweep.sbatch (a Slurm job \
         array)"
    );
    match args.submit {
        Some(Scheduler::Slurm) => {
            let ids = slurm::submit(&jobs, points, &args.sbatch_arg).map_err(|e| {
                Failure::input(format!(
                    "{e}\nthe jobs are in {root}; submit them with sbatch {root}/sweep.sbatch"
                ))
            })?;
            let arrays = if ids.len() == 1 { "array" } else { "arrays" };
            println!(
                "submitted Slurm job {arrays} {} ({points} tasks, logs in {root}/logs)",
                ids.join(", ")
            );
            println!("when it has finished: sprint-rtl sweep-collect {root}");
            Ok(())
        }
        None => {
            println!("run them: sbatch {root}/sweep.sbatch, or sh {root}/jobs.txt");
            println!("then: sprint-rtl sweep-collect {root}");
            Ok(())
        }
    }
}

/// Writes sweep.json, sweep.md and the plots into `dir` and prints the
/// tables: what `sweep` and `sweep-collect` end with.
pub fn write_sweep(sweep: &sweep::Sweep, dir: &Path) -> Outcome {
    let written = (|| {
        create_dir(dir)?;
        let plot_name = format!("sweep_{}.svg", sweep.x_param);
        write(&dir.join(&plot_name), &plot::sweep(sweep))?;
        if sweep.x_param == Param::SeqLen.name() {
            write(&dir.join("scaling.svg"), &plot::scaling(sweep))?;
        }
        let json = serde_json::to_string_pretty(sweep).expect("sweep serialises") + "\n";
        write(&dir.join("sweep.json"), &json)?;
        write(
            &dir.join("sweep.md"),
            &render::sweep_markdown(sweep, &plot_name),
        )?;
        Ok::<_, Failure>(plot_name)
    })();
    let plot_name = written?;
    if sweep.cycle_source == CycleSource::Model {
        println!("cycles MODELLED by the analytical cycle model (--rtl to simulate)");
    }
    print!("{}", render::sweep_table(sweep));
    println!();
    print!("{}", render::scaling_table(sweep));
    println!();
    print!("{}", render::goals_table(sweep));
    for p in &sweep.points {
        for line in &p.goals.explanation {
            println!("- {}: {line}", p.label);
        }
    }
    println!(
        "wrote sweep.md, sweep.json, {plot_name}{} in {}",
        if sweep.x_param == Param::SeqLen.name() {
            ", scaling.svg"
        } else {
            ""
        },
        dir.display()
    );
    Ok(())
}
