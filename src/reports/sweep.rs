//! `sprint-rtl sweep`: the report's measurement over a grid of spec
//! parameters and thresholds, in parallel on the machine's cores.
//!
//! A point that changes the spec (`buffer_bytes`, `seq_len`, `lanes`,
//! `key_msb_bits`) is a different design: simulated in the RTL it needs its
//! own generated design and Verilator build (about 45 s for a 512-key
//! design on one core, cached per spec hash under the work folder). So a
//! sweep runs the analytical cycle model by default, flagged as modelled
//! everywhere, and simulates every point in the RTL when asked (`--rtl`).
//!
//! Thresholds: a `threshold` parameter sets every head's THRESHOLD CSR;
//! otherwise a point uses the thresholds file when it was calibrated for
//! the point's spec; else, given a calibration trace (another text through
//! the same model, [`Calibration`]), calibrates each head on that text for
//! the point's spec and a keep-mass target, so that every length is
//! measured at the same accuracy target on text its thresholds never saw;
//! and else calibrates each head for 99 % kept softmax mass on the
//! measured trace itself (its key MSBs and sequence length change the
//! crossbar's scores). Each point records where its thresholds came from.
//!
//! Queries: a [`QuerySlice`] picks each head's queries after the head is
//! cut to the point's `seq_len`, so `last` selects the longest-context
//! queries at every length. Each point checks the paper's goals and names
//! what stops them ([`goals`]).

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::goals::{self, GoalCheck};
use super::measure::{self, CycleSource, HeadJob, MeasureError, MeasureOptions};
use super::perf::Summary;
use crate::eval::calibrate::{self, Target, Thresholds};
use crate::golden::Derived;
use crate::golden::workload::SyntheticRun;
use crate::sim::verify::TraceRun;
use crate::spec::{Spec, SpecError, SpecErrors};
use crate::trace::{QuerySlice, SliceError, TraceHead};

/// A parameter a sweep can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// `buffer.bytes`.
    BufferBytes,
    /// `attention.seq_len` (a trace head is cut to its first seq_len tokens).
    SeqLen,
    /// `recompute.lanes`.
    Lanes,
    /// `crossbar.key_msb_bits`.
    KeyMsbBits,
    /// `recompute.cores`, with `buffer.bytes` scaled to keep each core's
    /// share: from the S configuration (1 core, 16 KB), 2 and 4 are the
    /// paper's M (32 KB) and L (64 KB).
    Cores,
    /// Every head's THRESHOLD CSR (no spec change).
    Threshold,
}

impl Param {
    /// Every parameter with its command-line name.
    pub const ALL: [(Param, &'static str); 6] = [
        (Param::BufferBytes, "buffer_bytes"),
        (Param::SeqLen, "seq_len"),
        (Param::Lanes, "lanes"),
        (Param::KeyMsbBits, "key_msb_bits"),
        (Param::Cores, "cores"),
        (Param::Threshold, "threshold"),
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        Param::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .expect("listed")
            .1
    }

    /// Whether a value of this parameter makes a different design.
    pub fn changes_spec(self) -> bool {
        self != Param::Threshold
    }
}

/// One swept parameter and its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub param: Param,
    pub values: Vec<i64>,
}

/// A `--param` that is not `NAME=V1,V2,...` with a known name and integers.
#[derive(Debug, thiserror::Error)]
pub enum AxisError {
    #[error("expected NAME=V1,V2,..., e.g. buffer_bytes=4096,8192")]
    NoEquals,
    #[error("unknown parameter `{0}`; one of {known}", known = Param::ALL.map(|(_, n)| n).join(", "))]
    UnknownParam(String),
    #[error("{name}: `{value}`: {source}")]
    NotAnInteger {
        name: String,
        value: String,
        source: std::num::ParseIntError,
    },
}

impl std::str::FromStr for Axis {
    type Err = AxisError;

    /// Parses `NAME=V1,V2,...`.
    fn from_str(text: &str) -> Result<Axis, AxisError> {
        let (name, values) = text.split_once('=').ok_or(AxisError::NoEquals)?;
        let name = name.trim();
        let param = Param::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(p, _)| *p)
            .ok_or_else(|| AxisError::UnknownParam(name.to_owned()))?;
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|source| AxisError::NotAnInteger {
                        name: name.to_owned(),
                        value: v.to_owned(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Axis { param, values })
    }
}

/// One point of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The values, e.g. `buffer_bytes=4096`, joined by spaces.
    pub label: String,
    /// (parameter, value) of every axis.
    pub values: Vec<(Param, i64)>,
    pub spec_hash: String,
    /// Every head's threshold, in head order.
    pub thresholds: Vec<i64>,
    /// Where each head's threshold came from, in head order.
    pub threshold_sources: Vec<ThresholdSource>,
    /// Whether any threshold was calibrated for this point.
    pub calibrated: bool,
    pub summary: Summary,
    /// The paper's speedup and energy goals at this point, and what stops
    /// them ([`goals`]).
    pub goals: GoalCheck,
    /// Wall-clock seconds of the point (generation, build, simulation).
    pub seconds: f64,
}

/// A whole sweep: what `sweep.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub schema_version: u32,
    pub spec: String,
    pub trace: String,
    pub cycle_source: CycleSource,
    /// The parameter plots put on their x axis (the first axis).
    pub x_param: String,
    pub axes: Vec<Axis>,
    /// Heads measured at every point, as `l<layer>h<head>`.
    pub heads: Vec<String>,
    /// The queries of each head measured.
    pub queries: QuerySlice,
    /// The calibration trace and its keep-mass target, when thresholds
    /// come from another text ([`SweepOptions::calibration`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationInfo>,
    pub points: Vec<SweepPoint>,
}

/// Where a point's threshold of a head came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// The `threshold` parameter.
    Parameter,
    /// The thresholds file, calibrated for this point's spec.
    File,
    /// Calibrated for this point on the calibration trace's same head.
    CalibrationTrace,
    /// Calibrated for this point on the measured trace itself (99 % kept
    /// mass): not iso-accuracy on unseen text.
    MeasuredTrace,
}

/// The calibration trace of a sweep, as recorded in `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    pub trace: String,
    /// Mean kept softmax mass per query each head's threshold keeps on it.
    pub keep_mass: f64,
}

/// Thresholds from another text: each head is calibrated, at each point,
/// on the calibration trace's head of the same layer and index, cut to the
/// point's `seq_len`, for a mean kept softmax mass of `keep_mass`
/// ([`calibrate::calibrate_head`]), then applied to the measured trace.
pub struct Calibration<'a> {
    pub trace: String,
    pub heads: Vec<&'a TraceHead>,
    pub keep_mass: f64,
}

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A point's spec is not valid.
    #[error("{label}: {source}")]
    BadPoint { label: String, source: PointError },
    #[error("{label}: {source}")]
    Measure { label: String, source: MeasureError },
    #[error("{label}: {source}")]
    Slice { label: String, source: SliceError },
    #[error("{trace}: no head l{layer}h{head} to calibrate on")]
    NoCalibrationHead {
        trace: String,
        layer: usize,
        head: usize,
    },
}

/// Why a point of the grid makes no valid spec.
#[derive(Debug, thiserror::Error)]
pub enum PointError {
    #[error("{param}: {value} is out of range")]
    OutOfRange { param: &'static str, value: i64 },
    #[error("{0}")]
    Spec(SpecErrors),
}

/// What to sweep and how.
pub struct SweepOptions<'a> {
    pub trace: String,
    pub heads: Vec<&'a TraceHead>,
    /// The thresholds file, if any.
    pub thresholds: Option<Thresholds>,
    /// Thresholds calibrated on another text, when the file has none for a
    /// point.
    pub calibration: Option<Calibration<'a>>,
    /// The queries of each head (cut to the point's seq_len first).
    pub queries: QuerySlice,
    pub axes: Vec<Axis>,
    pub source: CycleSource,
    /// Each design's work folder is `<work_dir>/<name>-<spec hash[..12]>`.
    pub work_dir: PathBuf,
}

/// The grid: every combination of the axes' values, the first axis varying
/// slowest.
pub fn grid(axes: &[Axis]) -> Vec<Vec<(Param, i64)>> {
    axes.iter().fold(vec![Vec::new()], |acc, axis| {
        acc.into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |&v| {
                    let mut p = prefix.clone();
                    p.push((axis.param, v));
                    p
                })
            })
            .collect()
    })
}

/// `spec` with a point's values set, validated.
///
/// # Errors
/// The spec error of a value out of range or contradicting another field.
pub fn apply(spec: &Spec, values: &[(Param, i64)]) -> Result<Spec, PointError> {
    let mut s = spec.clone();
    for &(p, v) in values {
        let v32 = || {
            u32::try_from(v).map_err(|_| PointError::OutOfRange {
                param: p.name(),
                value: v,
            })
        };
        match p {
            Param::BufferBytes => s.buffer.bytes = v32()?,
            Param::SeqLen => s.attention.seq_len = v32()?,
            Param::Lanes => s.recompute.lanes = v32()?,
            Param::KeyMsbBits => s.crossbar.key_msb_bits = v32()?,
            Param::Cores => {
                let per_core = spec.buffer.bytes / spec.recompute.cores.max(1);
                s.recompute.cores = v32()?;
                s.buffer.bytes = per_core.saturating_mul(s.recompute.cores);
            }
            Param::Threshold => {}
        }
    }
    s.validate().map_err(|kinds| {
        let file = format!("{} with {}", spec.name, label(values));
        let errors = kinds
            .into_iter()
            .map(|kind| SpecError {
                file: file.clone(),
                line: None,
                column: None,
                kind: Box::new(kind),
            })
            .collect();
        PointError::Spec(SpecErrors(errors))
    })?;
    Ok(s)
}

/// A point of the grid with its validated spec.
#[derive(Debug, Clone)]
pub struct PlannedPoint {
    /// (parameter, value) of every axis.
    pub values: Vec<(Param, i64)>,
    /// The base spec with the values set ([`apply`]).
    pub spec: Spec,
}

impl PlannedPoint {
    /// The values, e.g. `buffer_bytes=4096 threshold=0`.
    pub fn label(&self) -> String {
        label(&self.values)
    }
}

/// Every point of the grid of `axes` ([`grid`]) with its spec, validated
/// before any is measured.
///
/// # Errors
/// [`SweepError::BadPoint`] for the first value that makes no valid spec.
pub fn plan(spec: &Spec, axes: &[Axis]) -> Result<Vec<PlannedPoint>, SweepError> {
    grid(axes)
        .into_iter()
        .map(|values| match apply(spec, &values) {
            Ok(spec) => Ok(PlannedPoint { values, spec }),
            Err(source) => Err(SweepError::BadPoint {
                label: label(&values),
                source,
            }),
        })
        .collect()
}

/// Runs the sweep, its points in parallel. `on_run` is called once per
/// finished (point, head, mode).
///
/// # Errors
/// A point whose spec is invalid, or whose measurement fails.
pub fn sweep(
    spec: &Spec,
    opts: &SweepOptions,
    on_run: &(dyn Fn() + Sync),
) -> Result<Sweep, SweepError> {
    let planned = plan(spec, &opts.axes)?;
    let points = planned
        .par_iter()
        .map(|p| measure_point(p, opts, on_run))
        .collect::<Result<Vec<_>, SweepError>>()?;
    Ok(Sweep {
        points,
        ..header(spec, opts)
    })
}

/// Measures one point of a sweep: chooses each head's threshold, measures
/// the three modes ([`measure::measure`]) and checks the goals. A point's
/// result depends on the point and `opts` alone, so that points measured
/// apart (one job each, as `sweep --jobs-dir` writes them) make the same sweep.
///
/// # Errors
/// A head missing from the calibration trace, a query slice past a head's
/// end, or a failed measurement.
pub fn measure_point(
    point: &PlannedPoint,
    opts: &SweepOptions,
    on_run: &(dyn Fn() + Sync),
) -> Result<SweepPoint, SweepError> {
    let started = Instant::now();
    let values = &point.values;
    let d = Derived::from_spec(&point.spec);
    let fixed = values
        .iter()
        .find(|(p, _)| *p == Param::Threshold)
        .map(|&(_, v)| v);
    let from_file = opts
        .thresholds
        .as_ref()
        .filter(|t| t.spec_hash == d.spec_hash);
    let chosen: Vec<(i64, ThresholdSource)> = opts
        .heads
        .iter()
        .map(|h| threshold_of(&d, h, fixed, from_file, opts.calibration.as_ref()))
        .collect::<Result<_, _>>()?;
    let calibrated = chosen.iter().any(|(_, s)| {
        matches!(
            s,
            ThresholdSource::CalibrationTrace | ThresholdSource::MeasuredTrace
        )
    });
    let jobs: Vec<HeadJob> = opts
        .heads
        .iter()
        .zip(&chosen)
        .map(|(h, &(threshold, _))| job(&d, h, threshold, &opts.queries))
        .collect::<Result<_, _>>()
        .map_err(|source| SweepError::Slice {
            label: label(values),
            source,
        })?;
    let work_dir = opts
        .work_dir
        .join(format!("{}-{}", d.name, &d.spec_hash[..12]));
    let m = MeasureOptions {
        source: opts.source,
        work_dir,
    };
    let report = measure::measure(&point.spec, &opts.trace, &jobs, &m, &|_| {}, on_run).map_err(
        |source| SweepError::Measure {
            label: label(values),
            source,
        },
    )?;
    Ok(SweepPoint {
        label: label(values),
        values: values.clone(),
        spec_hash: d.spec_hash,
        thresholds: jobs.iter().map(|j| j.run.threshold).collect(),
        threshold_sources: chosen.iter().map(|&(_, s)| s).collect(),
        calibrated,
        goals: goals::check(&report.heads, &report.summary),
        summary: report.summary,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What a sweep of `spec` with `opts` records besides its points: the
/// [`Sweep`] with no point yet.
pub fn header(spec: &Spec, opts: &SweepOptions) -> Sweep {
    Sweep {
        schema_version: measure::SCHEMA_VERSION,
        spec: spec.name.clone(),
        trace: opts.trace.clone(),
        cycle_source: opts.source,
        x_param: opts
            .axes
            .first()
            .map_or("point", |a| a.param.name())
            .to_string(),
        axes: opts.axes.clone(),
        heads: opts
            .heads
            .iter()
            .map(|h| format!("l{}h{}", h.layer, h.head))
            .collect(),
        queries: opts.queries,
        calibration: opts.calibration.as_ref().map(|c| CalibrationInfo {
            trace: c.trace.clone(),
            keep_mass: c.keep_mass,
        }),
        points: Vec::new(),
    }
}

/// A head's threshold at a point and where it came from: the `threshold`
/// parameter, else the thresholds file (when calibrated for the point's
/// spec), else the calibration trace, else calibrated on the measured
/// trace for 99 % kept mass.
fn threshold_of(
    d: &Derived,
    h: &TraceHead,
    fixed: Option<i64>,
    file: Option<&Thresholds>,
    calibration: Option<&Calibration>,
) -> Result<(i64, ThresholdSource), SweepError> {
    if let Some(t) = fixed {
        return Ok((t, ThresholdSource::Parameter));
    }
    if let Some(t) = file.and_then(|f| f.lookup(h.layer, h.head)) {
        return Ok((t.threshold, ThresholdSource::File));
    }
    if let Some(c) = calibration {
        let other = c
            .heads
            .iter()
            .find(|o| (o.layer, o.head) == (h.layer, h.head))
            .ok_or_else(|| SweepError::NoCalibrationHead {
                trace: c.trace.clone(),
                layer: h.layer,
                head: h.head,
            })?;
        let t = calibrate::calibrate_head(d, other, Target::KeepMass(c.keep_mass));
        return Ok((t.threshold, ThresholdSource::CalibrationTrace));
    }
    let t = calibrate::calibrate_head(d, h, Target::KeepMass(0.99));
    Ok((t.threshold, ThresholdSource::MeasuredTrace))
}

/// The synthetic head `verify` runs (seed 1, its first `queries` queries
/// against seq_len keys), at the threshold that keeps `keep_fraction` of
/// the (query, key) pairs: for designs no trace fits. It has no exact
/// probabilities, so its report has no oracle comparison.
pub fn synthetic_job(d: &Derived, queries: u32, keep_fraction: f64) -> HeadJob {
    let synthetic = SyntheticRun::new(d, 1, queries, keep_fraction);
    HeadJob {
        layer: 0,
        head: 0,
        run: TraceRun {
            label: "synthetic".to_string(),
            input: synthetic.input,
            scale: synthetic.scale,
            threshold: synthetic.threshold,
        },
        probabilities: Vec::new(),
    }
}

/// A head's job on design `d`: its first min(tokens, seq_len) keys and the
/// queries `slice` selects among as many tokens.
///
/// # Errors
/// A slice that starts past the head's last query.
pub fn job(
    d: &Derived,
    h: &TraceHead,
    threshold: i64,
    slice: &QuerySlice,
) -> Result<HeadJob, SliceError> {
    let run = TraceRun::from_head_slice(d, h, threshold, slice)?;
    let first = run.input.query_base as usize;
    let rows = first..first + run.input.q.len();
    let probabilities = calibrate::probability_rows(h, run.input.k.len(), d.causal, rows);
    Ok(HeadJob {
        layer: h.layer,
        head: h.head,
        run,
        probabilities,
    })
}

fn label(values: &[(Param, i64)]) -> String {
    values
        .iter()
        .map(|(p, v)| format!("{}={v}", p.name()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_varies_the_first_axis_slowest() {
        let axes: Vec<Axis> = ["lanes=4,8", "threshold=-5,0,5"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        let g = grid(&axes);
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], vec![(Param::Lanes, 4), (Param::Threshold, -5)]);
        assert_eq!(g[3], vec![(Param::Lanes, 8), (Param::Threshold, -5)]);
        assert!("colour=1".parse::<Axis>().is_err());
        assert!("lanes=".parse::<Axis>().is_err());
    }

    #[test]
    fn a_point_that_breaks_the_spec_is_refused() {
        let spec = Spec::default_spec();
        let err = apply(&spec, &[(Param::Lanes, 3)]).unwrap_err();
        assert!(err.to_string().contains("recompute.lanes"), "{err}");
        let ok = apply(&spec, &[(Param::BufferBytes, 4096)]).unwrap();
        assert_eq!(ok.buffer.bytes, 4096);
    }

    #[test]
    fn cores_keep_each_cores_buffer_share() {
        // S (1 core, 16 KB) to the paper's L (4 cores, 64 KB).
        let spec = Spec::default_spec();
        let l = apply(&spec, &[(Param::Cores, 4)]).unwrap();
        assert_eq!((l.recompute.cores, l.buffer.bytes), (4, 65536));
        let back = apply(&l, &[(Param::Cores, 2)]).unwrap();
        assert_eq!((back.recompute.cores, back.buffer.bytes), (2, 32768));
        assert!(apply(&spec, &[(Param::Cores, 3)]).is_err());
    }
}
