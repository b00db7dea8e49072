//! Sweeps run as independent jobs: a jobs folder that a batch scheduler
//! (Slurm, [`slurm`]) or any other runner executes one point at a time,
//! and the collection of its results into the report a local sweep writes.
//!
//! `sprint-rtl sweep --jobs-dir DIR` writes, instead of measuring:
//!
//! ```text
//! DIR/plan.json          what every job reads: the sweep's header, the trace and
//!                        calibration trace (absolute paths), the heads, the
//!                        thresholds file's content, the work folder, the points
//! DIR/points/<k>/spec.yaml   point k's spec, with the point's values set
//! DIR/jobs.txt           line k+1: the plain command that measures point k
//! DIR/sweep.sbatch       a Slurm job array over jobs.txt (task k runs line k+1)
//! DIR/logs/              the array tasks' output, logs/<k>.out
//! ```
//!
//! A job (`sprint-rtl sweep-point DIR K`, [`run_point`]) writes
//! `points/<k>/result.json` (the point as `sweep.json` records it) or, when
//! it fails, `points/<k>/error.txt`; a rerun removes both first. A point's
//! result depends on the point and the plan alone
//! ([`sweep::measure_point`]), so [`collect`] assembles exactly the
//! [`Sweep`] a local run makes, but for each point's wall-clock `seconds`.
//! Every path in the folder's files is absolute: the jobs may run on other
//! machines that share the file system, from any working folder.

pub mod slurm;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::eval::calibrate::Thresholds;
use crate::files::{self, FileError};
use crate::golden::Derived;
use crate::reports::sweep::{
    self, Calibration, Param, PlannedPoint, Sweep, SweepError, SweepOptions, SweepPoint,
};
use crate::spec::Spec;
use crate::trace::{Trace, TraceError, TraceHead};

/// The version of `plan.json`'s layout.
pub const PLAN_VERSION: u32 = 1;

/// What every job of a jobs folder reads (`plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub plan_version: u32,
    /// The generator's version (`CARGO_PKG_VERSION`) that wrote the plan; a
    /// job of another version refuses it, as its results could differ.
    pub generator_version: String,
    /// The report without its points: what [`collect`] fills in.
    pub sweep: Sweep,
    /// The measured trace (`.npz`), absolute.
    pub trace: PathBuf,
    /// The calibration trace, absolute, when thresholds come from another
    /// text (its keep-mass target is in `sweep.calibration`).
    pub calibration_trace: Option<PathBuf>,
    /// The measured heads, (layer, head), in the sweep's order.
    pub heads: Vec<(usize, usize)>,
    /// The thresholds file's content, if the sweep had one.
    pub thresholds: Option<Thresholds>,
    /// The folder of the per-point work folders (Verilator builds), absolute:
    /// point k builds in `<work_dir>/point<k>/<name>-<spec hash>`.
    pub work_dir: PathBuf,
    /// The program the jobs run, absolute.
    pub program: PathBuf,
    /// The points, in grid order: point k is `points/<k>`.
    pub points: Vec<PlanPoint>,
}

/// One point of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPoint {
    /// The values, e.g. `buffer_bytes=4096`, as the report labels them.
    pub label: String,
    pub values: Vec<(Param, i64)>,
    /// The hash of `points/<k>/spec.yaml` ([`Spec::hash`]).
    pub spec_hash: String,
}

/// The inputs of a sweep that its options hold only as loaded data.
pub struct Inputs<'a> {
    /// The measured trace's file.
    pub trace: &'a Path,
    /// The calibration trace's file, when the options have a calibration.
    pub calibration_trace: Option<&'a Path>,
    /// The program the jobs run (normally this executable).
    pub program: &'a Path,
}

/// Why a jobs folder could not be written, run or collected.
#[derive(Debug, Error)]
pub enum BatchError {
    #[error(
        "{}: the jobs folder exists and is not empty; choose a new folder or remove it",
        .0.display()
    )]
    NotEmpty(PathBuf),
    #[error(
        "{}: a jobs folder's path may not hold whitespace, quotes, `%` or `\\`, which Slurm's \
         #SBATCH lines and file patterns do not take",
        .0.display()
    )]
    UnsafePath(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Sweep(#[from] SweepError),
    #[error(transparent)]
    Trace(#[from] TraceError),
    #[error("{}: a spec: {message}", path.display())]
    Spec { path: PathBuf, message: String },
    #[error(
        "{}: written by sprint-rtl {found} (plan version {found_plan}); this is sprint-rtl \
         {expected} (plan version {PLAN_VERSION}): write the jobs folder again",
        path.display()
    )]
    Version {
        path: PathBuf,
        found: String,
        found_plan: u32,
        expected: String,
    },
    #[error("{}: no point {index}; the sweep has points 0..{count}", dir.display())]
    NoPoint {
        dir: PathBuf,
        index: usize,
        count: usize,
    },
    #[error(
        "{}: its spec hash is {found}, the plan's is {expected}: the file was changed after \
         the jobs folder was written",
        path.display()
    )]
    SpecChanged {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{}: no head l{layer}h{head}, which the plan measures", path.display())]
    NoHead {
        path: PathBuf,
        layer: usize,
        head: usize,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BatchError + '_ {
    move |source| BatchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` made absolute against the working folder (not resolved: a
/// symbolic link stays what the user named).
fn absolute(path: &Path) -> Result<PathBuf, BatchError> {
    std::path::absolute(path).map_err(io(path))
}

/// Whether `path` can appear unquoted in a `#SBATCH` line and a Slurm
/// file pattern.
fn slurm_safe(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        !p.chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '%' | '\\'))
    })
}

/// `text` quoted for a POSIX shell when it needs quoting.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The files of a jobs folder.
#[derive(Debug, Clone)]
pub struct JobsDir {
    /// The folder, absolute.
    pub root: PathBuf,
}

impl JobsDir {
    /// The jobs folder at `root` (made absolute).
    ///
    /// # Errors
    /// [`BatchError::Io`] when the working folder cannot be read.
    pub fn new(root: &Path) -> Result<JobsDir, BatchError> {
        Ok(JobsDir {
            root: absolute(root)?,
        })
    }

    /// `plan.json`: the [`Plan`].
    pub fn plan(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    /// `jobs.txt`: line k+1 measures point k.
    pub fn jobs(&self) -> PathBuf {
        self.root.join("jobs.txt")
    }

    /// `sweep.sbatch`: the Slurm job array ([`slurm::script`]).
    pub fn sbatch(&self) -> PathBuf {
        self.root.join("sweep.sbatch")
    }

    /// `logs/`: the Slurm array tasks' output.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `points/<k>/`: point k's files.
    pub fn point(&self, index: usize) -> PathBuf {
        self.root.join("points").join(index.to_string())
    }

    /// `points/<k>/spec.yaml`: point k's spec.
    pub fn point_spec(&self, index: usize) -> PathBuf {
        self.point(index).join("spec.yaml")
    }

    /// `points/<k>/result.json`: point k's [`SweepPoint`], once measured.
    pub fn result(&self, index: usize) -> PathBuf {
        self.point(index).join("result.json")
    }

    /// `points/<k>/error.txt`: why point k's job failed.
    pub fn error(&self, index: usize) -> PathBuf {
        self.point(index).join("error.txt")
    }

    /// The output of point `index`'s Slurm array task.
    pub fn log(&self, index: usize) -> PathBuf {
        self.logs().join(format!("{index}.out"))
    }

    /// The plain command that measures point `index`.
    pub fn command(&self, program: &Path, index: usize) -> String {
        format!(
            "{} sweep-point {} {index}",
            shell_quote(&program.display().to_string()),
            shell_quote(&self.root.display().to_string())
        )
    }

    /// Reads `plan.json`, refusing one of another generator version.
    ///
    /// # Errors
    /// [`BatchError::File`] when it cannot be read, [`BatchError::Version`]
    /// when another version wrote it.
    pub fn read_plan(&self) -> Result<Plan, BatchError> {
        let path = self.plan();
        let plan: Plan = files::read_json(&path)?;
        if plan.plan_version != PLAN_VERSION || plan.generator_version != generator_version() {
            return Err(BatchError::Version {
                path,
                found: plan.generator_version,
                found_plan: plan.plan_version,
                expected: generator_version(),
            });
        }
        Ok(plan)
    }
}

fn generator_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Writes the jobs folder of a sweep of `spec` with `opts` into `dir`,
/// which must not exist or be empty: the folder appears whole or not at
/// all (it is written beside it and renamed). Every point's spec is
/// validated first ([`sweep::plan`]).
///
/// # Errors
/// A point that makes no valid spec, a `dir` that is not empty or whose
/// path Slurm cannot take, or a file that cannot be written.
pub fn write(
    dir: &Path,
    spec: &Spec,
    opts: &SweepOptions,
    inputs: &Inputs,
) -> Result<Plan, BatchError> {
    let jobs = JobsDir::new(dir)?;
    if !slurm_safe(&jobs.root) {
        return Err(BatchError::UnsafePath(jobs.root));
    }
    if std::fs::read_dir(&jobs.root).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(BatchError::NotEmpty(jobs.root));
    }
    let planned = sweep::plan(spec, &opts.axes)?;
    let plan = Plan {
        plan_version: PLAN_VERSION,
        generator_version: generator_version(),
        sweep: sweep::header(spec, opts),
        trace: absolute(inputs.trace)?,
        calibration_trace: inputs.calibration_trace.map(absolute).transpose()?,
        heads: opts.heads.iter().map(|h| (h.layer, h.head)).collect(),
        thresholds: opts.thresholds.clone(),
        work_dir: absolute(&opts.work_dir)?,
        program: absolute(inputs.program)?,
        points: planned
            .iter()
            .map(|p| PlanPoint {
                label: p.label(),
                values: p.values.clone(),
                spec_hash: p.spec.hash(),
            })
            .collect(),
    };
    let parent = jobs.root.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".sprint-rtl-jobs-")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    // The files name the final folder; they are written into the staging one.
    let staged = JobsDir {
        root: staging.path().to_path_buf(),
    };
    write_files(&jobs, &staged, &plan, &planned)?;
    let kept = staging.keep();
    std::fs::rename(&kept, &jobs.root).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        BatchError::Io {
            path: jobs.root.clone(),
            source: e,
        }
    })?;
    Ok(plan)
}

/// Writes the folder's files into `staged`, naming `jobs` in them.
fn write_files(
    jobs: &JobsDir,
    staged: &JobsDir,
    plan: &Plan,
    planned: &[PlannedPoint],
) -> Result<(), BatchError> {
    let write = |path: PathBuf, text: &str| std::fs::write(&path, text).map_err(io(&path));
    for (k, p) in planned.iter().enumerate() {
        let folder = staged.point(k);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let yaml = serde_yaml::to_string(&p.spec).expect("a spec serialises");
        write(staged.point_spec(k), &yaml)?;
    }
    let logs = staged.logs();
    std::fs::create_dir_all(&logs).map_err(io(&logs))?;
    let lines: String = (0..planned.len())
        .map(|k| jobs.command(&plan.program, k) + "\n")
        .collect();
    write(staged.jobs(), &lines)?;
    write(staged.sbatch(), &slurm::script(jobs, plan))?;
    files::write_json(&staged.plan(), plan)?;
    Ok(())
}

/// The heads `wanted` of `trace`, in that order.
fn heads_of<'a>(
    trace: &'a Trace,
    path: &Path,
    wanted: &[(usize, usize)],
) -> Result<Vec<&'a TraceHead>, BatchError> {
    wanted
        .iter()
        .map(|&(layer, head)| {
            trace
                .heads
                .iter()
                .find(|h| (h.layer, h.head) == (layer, head))
                .ok_or_else(|| BatchError::NoHead {
                    path: path.to_path_buf(),
                    layer,
                    head,
                })
        })
        .collect()
}

/// Point `index` of the plan: its spec read back from `points/<k>/spec.yaml`
/// and checked against the plan's hash.
fn planned_point(jobs: &JobsDir, plan: &Plan, index: usize) -> Result<PlannedPoint, BatchError> {
    let point = plan.points.get(index).ok_or_else(|| BatchError::NoPoint {
        dir: jobs.root.clone(),
        index,
        count: plan.points.len(),
    })?;
    let path = jobs.point_spec(index);
    let yaml = std::fs::read_to_string(&path).map_err(io(&path))?;
    let spec = Spec::parse(&path.display().to_string(), &yaml).map_err(|e| BatchError::Spec {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let found = spec.hash();
    if found != point.spec_hash {
        return Err(BatchError::SpecChanged {
            path,
            expected: point.spec_hash.clone(),
            found,
        });
    }
    Ok(PlannedPoint {
        values: point.values.clone(),
        spec,
    })
}

/// Measures point `index` of the jobs folder `dir` as a local sweep would
/// and writes `points/<k>/result.json` (written beside it and renamed, so a
/// reader never sees half of it); on failure writes the error to
/// `points/<k>/error.txt`. Either file of an earlier run is removed first.
/// `on_run` is called once per finished (head, mode).
///
/// # Errors
/// A plan of another version, a point that is not in the plan, a changed
/// spec file, an unreadable trace, or a failed measurement.
pub fn run_point(
    dir: &Path,
    index: usize,
    on_run: &(dyn Fn() + Sync),
) -> Result<SweepPoint, BatchError> {
    let jobs = JobsDir::new(dir)?;
    let plan = jobs.read_plan()?;
    if index >= plan.points.len() {
        return Err(BatchError::NoPoint {
            dir: jobs.root,
            index,
            count: plan.points.len(),
        });
    }
    for stale in [jobs.result(index), jobs.error(index)] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&stale)(e)),
            _ => {}
        }
    }
    let measured = measure(&jobs, &plan, index, on_run);
    let written = match &measured {
        Ok(point) => write_result(&jobs.result(index), point),
        Err(e) => {
            let path = jobs.error(index);
            std::fs::write(&path, format!("{e}\n")).map_err(io(&path))
        }
    };
    let point = measured?;
    written?;
    Ok(point)
}

fn write_result(path: &Path, point: &SweepPoint) -> Result<(), BatchError> {
    let partial = path.with_extension("json.partial");
    files::write_json(&partial, point)?;
    std::fs::rename(&partial, path).map_err(io(path))
}

fn measure(
    jobs: &JobsDir,
    plan: &Plan,
    index: usize,
    on_run: &(dyn Fn() + Sync),
) -> Result<SweepPoint, BatchError> {
    let point = planned_point(jobs, plan, index)?;
    let d = Derived::from_spec(&point.spec);
    let trace = Trace::read_for(&plan.trace, &d)?;
    let calibration_trace = plan
        .calibration_trace
        .as_deref()
        .map(|p| Trace::read_for(p, &d))
        .transpose()?;
    let heads = heads_of(&trace, &plan.trace, &plan.heads)?;
    let calibration = match (&calibration_trace, &plan.sweep.calibration) {
        (Some(trace), Some(info)) => Some(Calibration {
            trace: info.trace.clone(),
            heads: trace.heads.iter().collect(),
            keep_mass: info.keep_mass,
        }),
        _ => None,
    };
    let opts = SweepOptions {
        trace: plan.sweep.trace.clone(),
        heads,
        thresholds: plan.thresholds.clone(),
        calibration,
        queries: plan.sweep.queries,
        axes: plan.sweep.axes.clone(),
        source: plan.sweep.cycle_source,
        // A folder per point: jobs of one spec (a `threshold` axis) may run
        // at once, and must not build into the same folder.
        work_dir: plan.work_dir.join(format!("point{index}")),
    };
    Ok(sweep::measure_point(&point, &opts, on_run)?)
}

/// A point with no usable result.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    pub index: usize,
    pub label: String,
    pub state: PointState,
    /// The command that runs the point again, alone.
    pub rerun: String,
}

/// Why a point has no result.
#[derive(Debug, Clone, PartialEq)]
pub enum PointState {
    /// Neither result.json nor error.txt: not run yet, still running, or
    /// killed (its Slurm log is `logs/<k>.out`).
    Missing,
    /// The job failed: the first line of its error.txt.
    Failed(String),
    /// result.json is unreadable or belongs to another plan.
    BadResult(String),
}

/// What [`collect`] found.
#[derive(Debug)]
pub enum Collected {
    /// Every point finished: the report a local sweep writes.
    Complete(Sweep),
    /// These points have no result (the others do).
    Incomplete(Vec<Unfinished>),
}

/// Reads every point's result of the jobs folder `dir` into the [`Sweep`]
/// the local run writes, or names the points without one.
///
/// # Errors
/// A plan that cannot be read or of another version.
pub fn collect(dir: &Path) -> Result<Collected, BatchError> {
    let jobs = JobsDir::new(dir)?;
    let plan = jobs.read_plan()?;
    let mut points = Vec::with_capacity(plan.points.len());
    let mut unfinished = Vec::new();
    for (k, planned) in plan.points.iter().enumerate() {
        match point_result(&jobs, k, planned) {
            Ok(p) => points.push(p),
            Err(state) => unfinished.push(Unfinished {
                index: k,
                label: planned.label.clone(),
                state,
                rerun: jobs.command(&plan.program, k),
            }),
        }
    }
    if !unfinished.is_empty() {
        return Ok(Collected::Incomplete(unfinished));
    }
    Ok(Collected::Complete(Sweep {
        points,
        ..plan.sweep
    }))
}

/// Point `k`'s result, checked against the plan's point.
fn point_result(jobs: &JobsDir, k: usize, planned: &PlanPoint) -> Result<SweepPoint, PointState> {
    let path = jobs.result(k);
    match files::read_json::<SweepPoint>(&path) {
        Ok(p) if p.label == planned.label && p.spec_hash == planned.spec_hash => Ok(p),
        Ok(p) => Err(PointState::BadResult(format!(
            "{}: the result of {} (spec {}), not of this plan's point",
            path.display(),
            p.label,
            &p.spec_hash[..12.min(p.spec_hash.len())]
        ))),
        Err(e) if e.is_missing() => match std::fs::read_to_string(jobs.error(k)) {
            Ok(text) => Err(PointState::Failed(
                text.lines().next().unwrap_or("").to_string(),
            )),
            Err(_) => Err(PointState::Missing),
        },
        Err(e) => Err(PointState::BadResult(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_leaves_plain_words_alone() {
        assert_eq!(shell_quote("/opt/sprint-rtl"), "/opt/sprint-rtl");
        assert_eq!(shell_quote("/a b/x"), "'/a b/x'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn slurm_takes_plain_paths_only() {
        assert!(slurm_safe(Path::new("/scratch/sweeps/minilm-1")));
        for bad in ["/a b", "/100%", "/it's", "/x\\y"] {
            assert!(!slurm_safe(Path::new(bad)), "{bad}");
        }
    }
}
