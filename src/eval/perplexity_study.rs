//! The perplexity study of `sprint-rtl eval --task perplexity`: one text
//! run through a decoder with exact float attention, with the quantised
//! design without pruning, and with SPRINT at each threshold choice, the
//! thresholds read from a file or chosen on another text
//! (`docs/src/perplexity.md`).
//!
//! The study reports its progress through [`StudyEvent`]s so that a caller
//! can draw progress bars and print rows as they finish; it prints nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::calibrate::{Thresholds, ThresholdsError};
use super::perplexity::{self, Perplexity, PerplexityError};
use super::thresholds::{self, Calibration, MissingHead};
use super::{Attention, HeadThresholds};
use crate::golden::{Derived, Mode};
use crate::model::{DecoderError, Llama};

/// Tokens a study keeps unless told otherwise (or the model's context or
/// the spec's `seq_len`, when shorter).
pub const DEFAULT_MAX_TOKENS: usize = 1024;

/// The `run` label of the exact-attention row, a study's first.
pub const EXACT_RUN: &str = "exact float attention";

/// Where the SPRINT runs' thresholds come from.
#[derive(Debug, Clone)]
pub enum ThresholdSource {
    /// A thresholds file written by `calibrate` (one run).
    File(PathBuf),
    /// Chosen on the first tokens of another text: one run per keep-mass
    /// target, each threshold the largest keeping that mean softmax mass of
    /// the exact model's attention, per layer or per head.
    Calibrate {
        /// The calibration text; it must differ from the evaluated one.
        text: PathBuf,
        /// Keep-mass targets in (0, 1].
        keep_mass: Vec<f64>,
        /// One threshold per head instead of per layer.
        per_head: bool,
    },
}

/// What a study runs.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// The UTF-8 text to evaluate.
    pub text: PathBuf,
    /// Keep the first N tokens of each text; `None` is
    /// [`DEFAULT_MAX_TOKENS`] bounded by the context and `seq_len`.
    pub max_tokens: Option<usize>,
    /// The SPRINT runs' thresholds.
    pub thresholds: ThresholdSource,
    /// Also run the quantised design without pruning (baseline mode).
    pub baseline: bool,
}

/// Why a study cannot run.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// A text could not be read.
    #[error("{path}: {source}")]
    ReadText {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The calibration text is the evaluated text.
    #[error(
        "--calibrate-on {calibration} holds the same text as --text {text}: thresholds must be \
         chosen on a text disjoint from the one evaluated"
    )]
    SameText { calibration: PathBuf, text: PathBuf },
    /// The thresholds file could not be read, or does not fit the spec.
    #[error(transparent)]
    ThresholdFile(#[from] ThresholdsError),
    /// The thresholds file lacks a head of the model.
    #[error("{path}: {source}")]
    MissingHead { path: PathBuf, source: MissingHead },
    /// The spec cannot run the model's heads on the text.
    #[error(transparent)]
    Perplexity(#[from] PerplexityError),
    /// The model refused the text.
    #[error(transparent)]
    Model(#[from] DecoderError),
}

/// One run of a study: its perplexity and its change from exact attention.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRow {
    /// What ran: [`EXACT_RUN`], "quantised, no pruning" or a SPRINT run's
    /// label.
    pub run: String,
    /// The keep-mass target of the thresholds, for calibrated SPRINT runs.
    pub keep_mass: Option<f64>,
    /// One threshold per layer, for per-layer calibrated SPRINT runs.
    pub layer_thresholds: Option<Vec<i64>>,
    /// The run's perplexity and pruning counts.
    #[serde(flatten)]
    pub result: Perplexity,
    /// Relative change from exact attention, percent (positive is worse).
    pub change_percent: f64,
    /// Wall time of the forward pass, seconds.
    pub seconds: f64,
}

/// What a study reports while it runs.
#[derive(Debug)]
pub enum StudyEvent<'a> {
    /// The text is tokenised and checked against the spec.
    Started { tokens: usize },
    /// The thresholds file's spec hash is not this spec's.
    ForeignThresholds {
        path: &'a Path,
        spec: &'a str,
        spec_hash: &'a str,
    },
    /// Thresholds read from a file.
    ThresholdsRead { path: &'a Path },
    /// Thresholds chosen on the calibration text.
    Calibrated {
        path: &'a Path,
        tokens: usize,
        per_head: bool,
        seconds: f64,
    },
    /// A forward pass of `layers` layers begins.
    PassStarted { label: &'a str, layers: usize },
    /// One more layer of the current pass is done.
    LayerDone,
    /// The current pass is done.
    PassFinished,
    /// A run's row is complete.
    Row(&'a StudyRow),
}

/// A SPRINT run's thresholds: label, keep mass, per-layer values, table.
struct Choice {
    label: String,
    keep_mass: Option<f64>,
    layers: Option<Vec<i64>>,
    table: HeadThresholds,
}

fn read_text(path: &Path) -> Result<String, StudyError> {
    std::fs::read_to_string(path).map_err(|source| StudyError::ReadText {
        path: path.to_path_buf(),
        source,
    })
}

/// The tokens a study keeps: `requested`, or [`DEFAULT_MAX_TOKENS`] bounded
/// by the model's context and the spec's `seq_len`.
pub fn max_tokens(d: &Derived, model: &Llama, requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| {
        DEFAULT_MAX_TOKENS
            .min(model.config().context)
            .min(d.seq_len as usize)
    })
}

/// Runs the study of `options` with `model` on spec `d` and returns its
/// rows: exact attention first, then the baseline (when asked), then one
/// SPRINT run per threshold choice.
///
/// # Errors
/// An unreadable text or thresholds file, a calibration text equal to the
/// evaluated one, a thresholds file without one of the model's heads, a
/// spec that cannot run the model's heads (see [`perplexity::check`]), and
/// the forward pass's errors.
pub fn run_study(
    d: &Derived,
    model: &Llama,
    options: &StudyOptions,
    report: &(dyn Fn(StudyEvent) + Sync),
) -> Result<Vec<StudyRow>, StudyError> {
    let text = read_text(&options.text)?;
    let max_tokens = max_tokens(d, model, options.max_tokens);
    let ids = model.tokenize(&text, Some(max_tokens))?;
    perplexity::check(d, model, ids.len())?;
    report(StudyEvent::Started { tokens: ids.len() });
    let choices = choose_thresholds(d, model, options, &text, max_tokens, report)?;
    let (exact, seconds) = forward(model, &ids, &Attention::Exact, "exact attention", report)?;
    let mut rows = Vec::new();
    let mut push = |row: StudyRow| {
        report(StudyEvent::Row(&row));
        rows.push(row);
    };
    push(StudyRow {
        run: EXACT_RUN.into(),
        keep_mass: None,
        layer_thresholds: None,
        result: exact,
        change_percent: 0.0,
        seconds,
    });
    let golden = |mode, table: &HeadThresholds| Attention::Golden {
        d: Box::new(d.clone()),
        mode,
        thresholds: table.clone(),
    };
    if options.baseline {
        let label = "quantised, no pruning";
        let attention = golden(Mode::Baseline, &choices[0].table);
        let (r, seconds) = forward(model, &ids, &attention, label, report)?;
        push(row(label, None, None, r, &exact, seconds));
    }
    for c in &choices {
        let attention = golden(Mode::Sprint, &c.table);
        let (r, seconds) = forward(model, &ids, &attention, &c.label, report)?;
        push(row(
            &c.label,
            c.keep_mass,
            c.layers.clone(),
            r,
            &exact,
            seconds,
        ));
    }
    Ok(rows)
}

/// One forward pass under `attention`, timed, with layer events.
fn forward(
    model: &Llama,
    ids: &[u32],
    attention: &Attention,
    label: &str,
    report: &(dyn Fn(StudyEvent) + Sync),
) -> Result<(Perplexity, f64), StudyError> {
    let start = Instant::now();
    report(StudyEvent::PassStarted {
        label,
        layers: model.config().layers,
    });
    let r = perplexity::perplexity(model, ids, attention, &|_| report(StudyEvent::LayerDone));
    report(StudyEvent::PassFinished);
    Ok((r?, start.elapsed().as_secs_f64()))
}

fn choose_thresholds(
    d: &Derived,
    model: &Llama,
    options: &StudyOptions,
    text: &str,
    max_tokens: usize,
    report: &(dyn Fn(StudyEvent) + Sync),
) -> Result<Vec<Choice>, StudyError> {
    match &options.thresholds {
        ThresholdSource::File(path) => Ok(vec![thresholds_from_file(d, model, path, report)?]),
        ThresholdSource::Calibrate {
            text: calibration,
            keep_mass,
            per_head,
        } => {
            let calibration_text = read_text(calibration)?;
            if calibration_text == text {
                return Err(StudyError::SameText {
                    calibration: calibration.clone(),
                    text: options.text.clone(),
                });
            }
            let ids = model.tokenize(&calibration_text, Some(max_tokens))?;
            perplexity::check(d, model, ids.len())?;
            let start = Instant::now();
            report(StudyEvent::PassStarted {
                label: "calibration scores",
                layers: model.config().layers,
            });
            let cal = Calibration::collect_decoder(model, d, &ids, &|_| {
                report(StudyEvent::LayerDone);
            });
            report(StudyEvent::PassFinished);
            let cal = cal?;
            report(StudyEvent::Calibrated {
                path: calibration,
                tokens: ids.len(),
                per_head: *per_head,
                seconds: start.elapsed().as_secs_f64(),
            });
            Ok(keep_mass
                .iter()
                .map(|&m| calibrated_choice(d, &cal, m, *per_head))
                .collect())
        }
    }
}

fn thresholds_from_file(
    d: &Derived,
    model: &Llama,
    path: &Path,
    report: &(dyn Fn(StudyEvent) + Sync),
) -> Result<Choice, StudyError> {
    let file = Thresholds::read_for(path, d)?;
    if file.spec_hash != d.spec_hash {
        report(StudyEvent::ForeignThresholds {
            path,
            spec: &file.spec,
            spec_hash: &file.spec_hash,
        });
    }
    let c = model.config();
    let table = thresholds::from_file(&file, c.layers, c.heads).map_err(|source| {
        StudyError::MissingHead {
            path: path.to_path_buf(),
            source,
        }
    })?;
    report(StudyEvent::ThresholdsRead { path });
    Ok(Choice {
        label: format!("sprint, {}", path.display()),
        keep_mass: None,
        layers: None,
        table,
    })
}

fn calibrated_choice(d: &Derived, cal: &Calibration, keep_mass: f64, per_head: bool) -> Choice {
    if per_head {
        return Choice {
            label: format!("sprint, keep mass {keep_mass} per head"),
            keep_mass: Some(keep_mass),
            layers: None,
            table: cal.per_head_thresholds(d, keep_mass),
        };
    }
    let layers = cal.layer_thresholds(d, keep_mass);
    Choice {
        label: format!("sprint, keep mass {keep_mass}"),
        keep_mass: Some(keep_mass),
        table: cal.head_table(&layers),
        layers: Some(layers),
    }
}

fn row(
    label: &str,
    keep_mass: Option<f64>,
    layer_thresholds: Option<Vec<i64>>,
    result: Perplexity,
    exact: &Perplexity,
    seconds: f64,
) -> StudyRow {
    StudyRow {
        run: label.to_string(),
        keep_mass,
        layer_thresholds,
        change_percent: result.change_from(exact),
        result,
        seconds,
    }
}
