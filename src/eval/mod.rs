//! Thresholds and accuracy: per-head threshold calibration on a trace
//! ([`calibrate`]), and task accuracy with SPRINT attention: a BERT-family
//! encoder ([`BertEncoder`], e.g. all-MiniLM-L6-v2) run on a labeled task with
//! exact float attention and with every one of its heads (all-MiniLM-L6-v2:
//! 6 × 12) replaced by the golden model of a spec whose `head_dim` is the
//! model's; and the perplexity of a causal decoder on a text with the same
//! replacement in every query head ([`perplexity`]).
//!
//! # What a golden-model head computes
//!
//! For layer l, head h of a text of n tokens (n ≤ the spec's `seq_len`; longer
//! texts are truncated before the forward pass, see [`tokenize`]), the
//! head's float Q, K, V (`n × head_dim`, from
//! [`crate::model::BertEncoder::forward_with`])
//! are quantised symmetrically per tensor to signed `data_bits`
//! ([`crate::trace::quantise`], the same as `sprint-rtl trace`), the SCALE CSR
//! folds `log2(e)/√head_dim · s_q · s_k`
//! ([`crate::trace::TraceHead::scale_csr`]), the head id is
//! [`crate::trace::head_id`] (`16·l + h` up to 16 heads per layer), and [`crate::golden::run_head`] runs every query
//! against every key in the chosen [`Mode`] at the layer's THRESHOLD CSR
//! value: the crossbar's approximate scores with the spec's seeded noise,
//! the threshold, fetches with reuse, the exact integer recompute and the
//! fixed-point softmax. The output row (`out_bits`, `out_bits − data_bits`
//! fractional bits) times `s_v` is the head's context. The rest of the model
//! (projections, LayerNorm, feed-forward, pooling) is float.
//!
//! # Metrics and splits
//!
//! See [`data::Task`]: Pearson r of embedding cosine against human
//! similarity (Lee), Spearman ρ of a ridge probe (sentiment), accuracy of a
//! one-vs-rest ridge probe (TREC). Each task is split into disjoint fit,
//! dev and test items ([`data::Split`]). Probes ([`probe::Ridge`], λ =
//! [`probe::RIDGE_LAMBDA`]) are fitted once, on the exact model's embeddings
//! of the fit items, and applied unchanged to the dev and test embeddings of
//! every variant. Thresholds are selected on the dev items
//! ([`search`]); reported figures are on the test items. Everything is
//! deterministic: no random split, the crossbar noise is seeded by the spec.
//!
//! # Pruning statistics
//!
//! Over a whole run: kept fraction = kept (query, key) pairs / allowed pairs
//! (n² per head, or the causal triangle); fetch reduction = the baseline's
//! fetches (every key for every query, n² per head) / the fetches of the
//! run's mode (SPRINT: misses of the kept keys after reuse).

pub mod bootstrap;
pub mod calibrate;
pub mod data;
pub mod perplexity;
pub mod perplexity_study;
pub mod probe;
pub mod search;
pub mod task_study;
pub mod thresholds;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::Serialize;

use crate::golden::Derived;
use crate::golden::{self, KeepVectors, Mode, RunConfig};
use crate::model::{BertEncoder, ModelError};
use crate::spec::Spec;
use crate::trace::{TraceHead, head_id, quantise};
use data::{Dataset, Part, Task};
use probe::Ridge;

/// THRESHOLD CSR values, `[layer][head]`: layers × heads of the model
/// (all-MiniLM-L6-v2: 6 × 12), signed `threshold_bits`
/// integers in 1/16 of a query-MSB × key-MSB product (see
/// [`crate::golden::crossbar`]).
pub type HeadThresholds = Vec<Vec<i64>>;

/// Which attention every head uses.
#[derive(Debug, Clone)]
pub enum Attention {
    /// `softmax(q·kᵀ/√head_dim)·v` in float ([`crate::model::exact_attention`]).
    Exact,
    /// The golden model of a spec (see the module docs).
    Golden {
        /// The spec's derived parameters (its noise included).
        d: Box<Derived>,
        /// Baseline (quantised, no pruning) or a pruning mode.
        mode: Mode,
        /// THRESHOLD CSR per layer and head.
        thresholds: HeadThresholds,
    },
}

/// Counts over a run (all texts, layers and heads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RunStats {
    /// Texts run.
    pub texts: u64,
    /// Tokens over the texts.
    pub tokens: u64,
    /// Kept (query, key) pairs.
    pub kept: u64,
    /// Allowed (query, key) pairs.
    pub allowed: u64,
    /// K/V rows fetched in the run's mode.
    pub fetches: u64,
    /// K/V rows the baseline fetches: every allowed pair.
    pub baseline_fetches: u64,
    /// Queries that kept no key (their context row is zero).
    pub empty_queries: u64,
    /// Queries run.
    pub queries: u64,
}

impl RunStats {
    fn add(mut self, o: RunStats) -> RunStats {
        self.texts += o.texts;
        self.tokens += o.tokens;
        self.kept += o.kept;
        self.allowed += o.allowed;
        self.fetches += o.fetches;
        self.baseline_fetches += o.baseline_fetches;
        self.empty_queries += o.empty_queries;
        self.queries += o.queries;
        self
    }

    /// Kept pairs / allowed pairs (1 for exact attention).
    pub fn kept_fraction(&self) -> f64 {
        if self.allowed == 0 {
            1.0
        } else {
            self.kept as f64 / self.allowed as f64
        }
    }

    /// Baseline fetches / this run's fetches (1 for exact attention).
    pub fn fetch_reduction(&self) -> f64 {
        if self.allowed == 0 {
            1.0
        } else {
            self.baseline_fetches as f64 / self.fetches.max(1) as f64
        }
    }
}

/// The spec with both crossbar noise sigmas set to 0 (its name and
/// everything else unchanged): the same run without non-idealities.
pub fn without_noise(spec: &Spec) -> Spec {
    let mut s = spec.clone();
    s.crossbar.noise.programming_sigma = 0.0;
    s.crossbar.noise.read_sigma = 0.0;
    s
}

/// Token ids of the texts, each cut to at most `max_tokens`
/// (`2..=`[`BertEncoder::max_tokens`])
/// ids, `[SEP]` kept last; also how many texts were cut.
///
/// # Errors
/// A tokenizer failure.
pub fn tokenize(
    model: &BertEncoder,
    texts: &[&str],
    max_tokens: usize,
) -> Result<(Vec<Vec<u32>>, usize), ModelError> {
    let mut cut = 0;
    let mut out = Vec::with_capacity(texts.len());
    for t in texts {
        let full = model.tokenize(t, None);
        let long = match &full {
            Err(ModelError::TooManyTokens { .. }) => true,
            Err(_) => {
                full?;
                unreachable!()
            }
            Ok(ids) => ids.len() > max_tokens,
        };
        cut += usize::from(long);
        out.push(if long {
            model.tokenize(t, Some(max_tokens))?
        } else {
            full?
        });
    }
    Ok((out, cut))
}

/// One head through the golden model: the `n × head_dim` context and its
/// counts; the head is given as `(layer, head, head id)`.
fn golden_head(
    d: &Derived,
    mode: Mode,
    threshold: i64,
    (layer, head, head_id): (usize, usize, u32),
    q: &ArrayView2<f32>,
    k: &ArrayView2<f32>,
    v: &ArrayView2<f32>,
) -> (Array2<f32>, RunStats) {
    let n = q.nrows();
    let (q_int, sq) = quantise(q, d.data_bits);
    let (k_int, sk) = quantise(k, d.data_bits);
    let (v_int, sv) = quantise(v, d.data_bits);
    let th = TraceHead {
        layer,
        head,
        head_id,
        q: q.to_owned(),
        k: k.to_owned(),
        v: v.to_owned(),
        q_int,
        k_int,
        v_int,
        scales: [sq, sk, sv],
    };
    let input = th.head_input(n);
    let cfg = RunConfig {
        mode,
        threshold,
        scale: th.scale_csr(d),
    };
    let lsb = f64::from(sv) / f64::from(1u32 << d.out_frac_bits);
    let mut ctx = Array2::<f32>::zeros((n, q.ncols()));
    let mut empty_queries = 0;
    let per_core = golden::stream_head(d, &input, &cfg, KeepVectors::Omitted, &mut |qr| {
        let i = (qr.index - input.query_base) as usize;
        for (e, &x) in qr.out.iter().enumerate() {
            ctx[(i, e)] = (f64::from(x) * lsb) as f32;
        }
        empty_queries += u64::from(qr.kept.is_empty());
    });
    let counters = golden::Counters::total(&per_core);
    let allowed: u64 = (0..n as u64)
        .map(|i| if d.causal { i + 1 } else { n as u64 })
        .sum();
    let stats = RunStats {
        kept: counters.kept,
        allowed,
        fetches: counters.fetches,
        baseline_fetches: allowed,
        empty_queries,
        queries: n as u64,
        ..RunStats::default()
    };
    (ctx, stats)
}

/// The sentence embedding (`hidden` values, unit length) of one tokenised text
/// under `attention`, and its counts.
///
/// # Errors
/// A forward-pass error (bad ids, too many tokens).
///
/// # Panics
/// If a golden-model text has more tokens than the spec's `seq_len`, or the
/// spec's `head_dim` is not the model's (callers check both first).
pub fn embed_one(
    model: &BertEncoder,
    attention: &Attention,
    ids: &[u32],
) -> Result<(Vec<f32>, RunStats), ModelError> {
    let mut stats = RunStats {
        texts: 1,
        tokens: ids.len() as u64,
        ..RunStats::default()
    };
    let fwd = match attention {
        Attention::Exact => model.forward(ids)?,
        Attention::Golden {
            d,
            mode,
            thresholds,
        } => {
            assert!(ids.len() <= d.seq_len as usize, "text longer than seq_len");
            assert_eq!(
                d.head_dim as usize,
                model.head_dim(),
                "spec and model head_dim"
            );
            model.forward_with(ids, &mut |l, h, q, k, v| {
                let id = head_id(l, h, model.heads());
                let (ctx, s) = golden_head(d, *mode, thresholds[l][h], (l, h, id), q, k, v);
                stats = stats.add(s);
                ctx
            })?
        }
    };
    Ok((fwd.sentence_embedding(), stats))
}

/// Embeddings of many texts, in parallel on rayon's pool, calling `tick`
/// after each text; the counts are summed.
///
/// # Errors
/// The first forward-pass error.
pub fn embed_all(
    model: &BertEncoder,
    attention: &Attention,
    ids: &[&[u32]],
    tick: &(dyn Fn() + Sync),
) -> Result<(Vec<Vec<f32>>, RunStats), ModelError> {
    let results: Vec<(Vec<f32>, RunStats)> = ids
        .par_iter()
        .map(|t| {
            let r = embed_one(model, attention, t);
            tick();
            r
        })
        .collect::<Result<_, _>>()?;
    let stats = results
        .iter()
        .fold(RunStats::default(), |a, (_, s)| a.add(*s));
    Ok((results.into_iter().map(|(e, _)| e).collect(), stats))
}

/// A task ready to score dev or test embeddings: the dataset and, for
/// probe tasks, the probe fitted on the exact model's embeddings of the fit
/// items (`dataset.train`).
#[derive(Debug, Clone)]
pub struct Scorer {
    pub dataset: Dataset,
    probe: Option<Ridge>,
}

impl Scorer {
    /// Fits the task's probe on `train_embeddings` (the exact model's, in
    /// the order of `dataset.train`); Lee needs none.
    pub fn new(dataset: Dataset, train_embeddings: &[Vec<f32>]) -> Scorer {
        let probe = match dataset.task {
            Task::Lee => None,
            Task::Sentiment => {
                let y: Vec<Vec<f64>> = dataset
                    .train
                    .iter()
                    .map(|&i| vec![dataset.labels[i]])
                    .collect();
                Some(Ridge::fit(train_embeddings, &y, probe::RIDGE_LAMBDA))
            }
            Task::Trec => {
                let labels: Vec<f64> = dataset.train.iter().map(|&i| dataset.labels[i]).collect();
                let y = probe::one_hot(&labels, dataset.classes.len());
                Some(Ridge::fit(train_embeddings, &y, probe::RIDGE_LAMBDA))
            }
        };
        Scorer { dataset, probe }
    }

    /// The task metric of one part's embeddings, in the order of
    /// `dataset.items(part)`. Lee: over the pairs of documents both in the
    /// part.
    ///
    /// # Panics
    /// If there is not one embedding per item of the part.
    pub fn score(&self, part: Part, embeddings: &[Vec<f32>]) -> f64 {
        self.units(part, embeddings).metric()
    }

    /// What the metric of one part's embeddings is computed from, one
    /// entry per scored unit ([`Units`]).
    ///
    /// # Panics
    /// If there is not one embedding per item of the part.
    pub fn units(&self, part: Part, embeddings: &[Vec<f32>]) -> Units {
        let ds = &self.dataset;
        let items = ds.items(part);
        assert_eq!(items.len(), embeddings.len(), "one embedding per item");
        match ds.task {
            Task::Lee => {
                let at = |i: usize| items.binary_search(&i).ok();
                let (x, y) = ds
                    .pairs
                    .iter()
                    .filter_map(|&(i, j, s)| {
                        let (a, b) = (at(i)?, at(j)?);
                        Some((probe::cosine(&embeddings[a], &embeddings[b]), s))
                    })
                    .unzip();
                Units::Pearson { x, y }
            }
            Task::Sentiment => {
                let p = self.probe.as_ref().expect("fitted");
                let x = embeddings.iter().map(|e| p.predict(e)[0]).collect();
                let y = items.iter().map(|&i| ds.labels[i]).collect();
                Units::Spearman { x, y }
            }
            Task::Trec => {
                let p = self.probe.as_ref().expect("fitted");
                let right = embeddings
                    .iter()
                    .zip(items)
                    .map(|(e, &i)| probe::argmax(&p.predict(e)) as f64 == ds.labels[i])
                    .collect();
                Units::Right(right)
            }
        }
    }

    /// Lee: the pairs of documents both in `part`; probe tasks: the items.
    pub fn scored_count(&self, part: Part) -> usize {
        let ds = &self.dataset;
        let items = ds.items(part);
        match ds.task {
            Task::Lee => ds
                .pairs
                .iter()
                .filter(|&&(i, j, _)| {
                    items.binary_search(&i).is_ok() && items.binary_search(&j).is_ok()
                })
                .count(),
            _ => items.len(),
        }
    }
}

/// A part's scored units and the metric over them: Lee's pairs of
/// documents (embedding cosine `x`, human similarity `y`), sentiment's items
/// (probe prediction `x`, human valence `y`), TREC's items (whether the
/// probe's class is right). [`bootstrap`] recomputes the metric on
/// resamples of the units.
#[derive(Debug, Clone, PartialEq)]
pub enum Units {
    /// Pearson r of `x` against `y` (Lee).
    Pearson { x: Vec<f64>, y: Vec<f64> },
    /// Spearman ρ of `x` against `y` (sentiment).
    Spearman { x: Vec<f64>, y: Vec<f64> },
    /// Accuracy: the share of right answers (TREC).
    Right(Vec<bool>),
}

impl Units {
    /// Scored units.
    pub fn len(&self) -> usize {
        match self {
            Units::Pearson { x, .. } | Units::Spearman { x, .. } => x.len(),
            Units::Right(r) => r.len(),
        }
    }

    /// Whether no unit is scored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The metric over every unit.
    pub fn metric(&self) -> f64 {
        let all: Vec<usize> = (0..self.len()).collect();
        self.metric_of(&all)
    }

    /// The metric over the units `pick` (repeats count again).
    pub fn metric_of(&self, pick: &[usize]) -> f64 {
        let take = |v: &[f64]| pick.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        match self {
            Units::Pearson { x, y } => probe::pearson(&take(x), &take(y)),
            Units::Spearman { x, y } => probe::spearman(&take(x), &take(y)),
            Units::Right(r) => {
                pick.iter().filter(|&&i| r[i]).count() as f64 / pick.len().max(1) as f64
            }
        }
    }
}

/// Relative drop of `metric` from `exact`, in percent:
/// `100 · (exact − metric) / |exact|` (positive is worse).
pub fn relative_drop(exact: f64, metric: f64) -> f64 {
    100.0 * (exact - metric) / exact.abs().max(f64::MIN_POSITIVE)
}
