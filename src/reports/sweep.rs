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
//! the point's spec, and else calibrates each head for 99 % kept softmax
//! mass on the point's spec (its key MSBs and sequence length change the
//! crossbar's scores).

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::measure::{self, CycleSource, HeadJob, MeasureError, MeasureOptions};
use super::perf::Summary;
use crate::eval::calibrate::{self, Target, Thresholds};
use crate::golden::Derived;
use crate::golden::workload::SyntheticRun;
use crate::sim::verify::TraceRun;
use crate::spec::{Spec, SpecError, SpecErrors};
use crate::trace::TraceHead;

/// A parameter a sweep can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Every head's THRESHOLD CSR (no spec change).
    Threshold,
}

impl Param {
    /// Every parameter with its command-line name.
    pub const ALL: [(Param, &'static str); 5] = [
        (Param::BufferBytes, "buffer_bytes"),
        (Param::SeqLen, "seq_len"),
        (Param::Lanes, "lanes"),
        (Param::KeyMsbBits, "key_msb_bits"),
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    /// The values, e.g. `buffer_bytes=4096`, joined by spaces.
    pub label: String,
    /// (parameter, value) of every axis.
    pub values: Vec<(Param, i64)>,
    pub spec_hash: String,
    /// Every head's threshold, in head order.
    pub thresholds: Vec<i64>,
    /// Whether the thresholds were calibrated for this point (99 % kept mass).
    pub calibrated: bool,
    pub summary: Summary,
    /// Wall-clock seconds of the point (generation, build, simulation).
    pub seconds: f64,
}

/// A whole sweep: what `sweep.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub points: Vec<SweepPoint>,
}

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A point's spec is not valid.
    #[error("{label}: {source}")]
    BadPoint { label: String, source: PointError },
    #[error("{label}: {source}")]
    Measure { label: String, source: MeasureError },
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
    /// Queries per head (default: all).
    pub queries: Option<usize>,
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

/// Runs the sweep. `on_run` is called once per finished (point, head, mode).
///
/// # Errors
/// A point whose spec is invalid, or whose measurement fails.
pub fn sweep(
    spec: &Spec,
    opts: &SweepOptions,
    on_run: &(dyn Fn() + Sync),
) -> Result<Sweep, SweepError> {
    let points = grid(&opts.axes);
    // Validate every point before measuring any.
    let specs = points
        .iter()
        .map(|values| {
            apply(spec, values).map_err(|source| SweepError::BadPoint {
                label: label(values),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let measured = points
        .par_iter()
        .zip(specs.par_iter())
        .map(|(values, point_spec)| {
            let started = Instant::now();
            let d = Derived::from_spec(point_spec);
            let fixed = values
                .iter()
                .find(|(p, _)| *p == Param::Threshold)
                .map(|&(_, v)| v);
            let from_file = opts
                .thresholds
                .as_ref()
                .filter(|t| t.spec_hash == d.spec_hash);
            let mut calibrated = false;
            let jobs: Vec<HeadJob> = opts
                .heads
                .iter()
                .map(|h| {
                    let threshold = fixed
                        .or_else(|| from_file?.lookup(h.layer, h.head).map(|t| t.threshold))
                        .unwrap_or_else(|| {
                            calibrated = true;
                            calibrate::calibrate_head(&d, h, Target::KeepMass(0.99)).threshold
                        });
                    job(&d, h, threshold, opts.queries)
                })
                .collect();
            let work_dir = opts
                .work_dir
                .join(format!("{}-{}", d.name, &d.spec_hash[..12]));
            let m = MeasureOptions {
                source: opts.source,
                work_dir,
            };
            let report = measure::measure(point_spec, &opts.trace, &jobs, &m, &|_| {}, on_run)
                .map_err(|source| SweepError::Measure {
                    label: label(values),
                    source,
                })?;
            Ok(SweepPoint {
                label: label(values),
                values: values.clone(),
                spec_hash: d.spec_hash,
                thresholds: jobs.iter().map(|j| j.run.threshold).collect(),
                calibrated,
                summary: report.summary,
                seconds: started.elapsed().as_secs_f64(),
            })
        })
        .collect::<Result<Vec<_>, SweepError>>()?;
    Ok(Sweep {
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
        points: measured,
    })
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
/// first `queries` of its queries (all when `None`).
pub fn job(d: &Derived, h: &TraceHead, threshold: i64, queries: Option<usize>) -> HeadJob {
    let mut run = TraceRun::from_head(d, h, threshold);
    if let Some(q) = queries {
        run.input.q.truncate(q.max(1));
    }
    let mut probabilities = calibrate::probabilities(h, run.input.k.len(), d.causal);
    probabilities.truncate(run.input.q.len());
    HeadJob {
        layer: h.layer,
        head: h.head,
        run,
        probabilities,
    }
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
}
