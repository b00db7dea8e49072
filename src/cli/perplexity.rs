//! `sprint-rtl eval SPEC --task perplexity`: a Llama-family GGUF decoder's
//! perplexity on a text with exact attention, with the quantised design
//! without pruning, and with SPRINT at thresholds chosen on another text
//! (see `docs/src/perplexity.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::eval::perplexity::{self, Perplexity};
use sprint_rtl::eval::thresholds::{self, Calibration};
use sprint_rtl::eval::{Attention, HeadThresholds};
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::model::Llama;
use sprint_rtl::spec::Spec;

use super::eval::{EvalArgs, fail, write_json};

/// Tokens a perplexity run keeps unless `--max-tokens` (or a shorter
/// context or `seq_len`) says otherwise.
const DEFAULT_MAX_TOKENS: usize = 1024;

/// The texts of `--task perplexity`.
#[derive(Args, Clone)]
pub struct TextArgs {
    /// Perplexity: the UTF-8 text to evaluate.
    #[arg(long, requires = "task")]
    pub text: Option<PathBuf>,
    /// Perplexity: keep the first N tokens of each text, 2..=the spec's
    /// seq_len and the model's context (default 1024, or the smaller of
    /// those two).
    #[arg(long, requires = "task")]
    pub max_tokens: Option<usize>,
    /// Perplexity: choose the per-layer thresholds (--keep-mass) on the first
    /// N tokens of this text, which must differ from --text.
    #[arg(long, requires = "task")]
    pub calibrate_on: Option<PathBuf>,
    /// Perplexity: one threshold per head instead of per layer (each head's
    /// own keep-mass threshold on the calibration text).
    #[arg(long, requires = "task")]
    pub per_head: bool,
    /// Perplexity: skip the quantised run without pruning (baseline mode).
    #[arg(long, requires = "task")]
    pub no_baseline: bool,
}

/// One line of the results.
#[derive(Debug, Clone, Serialize)]
struct Row {
    run: String,
    /// The keep-mass target of the thresholds, for SPRINT rows.
    keep_mass: Option<f64>,
    layer_thresholds: Option<Vec<i64>>,
    #[serde(flatten)]
    result: Perplexity,
    change_percent: f64,
    seconds: f64,
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn layer_bar(layers: usize, label: &str) -> ProgressBar {
    let b = ProgressBar::new(layers as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:<34} {bar:30} {pos}/{len} layers [{elapsed} / ~{eta}]")
            .expect("valid template"),
    );
    b.set_message(label.to_string());
    b
}

/// One forward pass under `attention`, with a progress bar over layers.
fn run(
    model: &Llama,
    ids: &[u32],
    attention: &Attention,
    label: &str,
) -> Result<(Perplexity, f64), String> {
    let start = Instant::now();
    let b = layer_bar(model.config().layers, label);
    let r = perplexity::perplexity(model, ids, attention, &|_| b.inc(1)).map_err(|e| e.to_string());
    b.finish_and_clear();
    Ok((r?, start.elapsed().as_secs_f64()))
}

/// Thresholds from a file, or per keep-mass target from the calibration
/// text: `(label, keep mass, per-layer values, table)`.
type Choice = (String, Option<f64>, Option<Vec<i64>>, HeadThresholds);

fn thresholds_of(
    d: &Derived,
    model: &Llama,
    args: &EvalArgs,
    text_path: &Path,
    max_tokens: usize,
) -> Result<Vec<Choice>, String> {
    let c = model.config();
    if let (Some(_), Some(_)) = (&args.thresholds, &args.run.text.calibrate_on) {
        return Err("give either --thresholds or --calibrate-on, not both".into());
    }
    if let Some(path) = &args.thresholds {
        let file = Thresholds::read(path).map_err(|e| e.to_string())?;
        if file.spec_hash != d.spec_hash {
            eprintln!(
                "warning: {} was calibrated for spec `{}` ({}), not this one",
                path.display(),
                file.spec,
                &file.spec_hash[..12]
            );
        }
        let table = thresholds::from_file(&file, c.layers, c.heads).map_err(|e| e.to_string())?;
        println!("  thresholds from {}", path.display());
        return Ok(vec![(
            format!("sprint, {}", path.display()),
            None,
            None,
            table,
        )]);
    }
    let calib_path = args.run.text.calibrate_on.as_ref().ok_or(
        "--task perplexity needs --calibrate-on FILE (a text other than --text, on which the \
         thresholds are chosen) or --thresholds FILE",
    )?;
    let calib_text = read_text(calib_path)?;
    if calib_text == read_text(text_path)? {
        return Err(format!(
            "--calibrate-on {} holds the same text as --text {}: thresholds must be chosen on a \
             text disjoint from the one evaluated",
            calib_path.display(),
            text_path.display()
        ));
    }
    let ids = model
        .tokenize(&calib_text, Some(max_tokens))
        .map_err(|e| e.to_string())?;
    perplexity::check(d, model, ids.len()).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let b = layer_bar(c.layers, "calibration scores");
    let cal =
        Calibration::collect_decoder(model, d, &ids, &|_| b.inc(1)).map_err(|e| e.to_string());
    b.finish_and_clear();
    let cal = cal?;
    println!(
        "  thresholds per {} chosen on {} ({} tokens, {:.0} s): the largest keeping the asked mean \
         softmax mass of the exact model's attention",
        if args.run.text.per_head {
            "head"
        } else {
            "layer"
        },
        calib_path.display(),
        ids.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(args
        .keep_mass
        .iter()
        .map(|&m| {
            if args.run.text.per_head {
                let table = cal.per_head_thresholds(d, m);
                (
                    format!("sprint, keep mass {m} per head"),
                    Some(m),
                    None,
                    table,
                )
            } else {
                let layers = cal.layer_thresholds(d, m);
                let table = cal.head_table(&layers);
                (
                    format!("sprint, keep mass {m}"),
                    Some(m),
                    Some(layers),
                    table,
                )
            }
        })
        .collect())
}

/// `sprint-rtl eval SPEC --task perplexity ...`.
pub fn eval(spec: &Spec, args: &EvalArgs) -> ExitCode {
    let d = Derived::from_spec(spec);
    match perplexity_runs(&d, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn perplexity_runs(d: &Derived, args: &EvalArgs) -> Result<(), String> {
    let a = &args.run;
    let model_path = a.model.as_ref().ok_or("--model FILE.gguf is required")?;
    let text_path = a
        .text
        .text
        .as_ref()
        .ok_or("--task perplexity needs --text FILE")?;
    let text = read_text(text_path)?;
    let spinner = super::spinner();
    spinner.set_message("loading the model");
    let model = Llama::load(model_path).map_err(|e| e.to_string());
    spinner.finish_and_clear();
    let model = model?;
    let max_tokens = a.text.max_tokens.unwrap_or_else(|| {
        DEFAULT_MAX_TOKENS
            .min(model.config().context)
            .min(d.seq_len as usize)
    });
    let ids = model
        .tokenize(&text, Some(max_tokens))
        .map_err(|e| e.to_string())?;
    perplexity::check(d, &model, ids.len()).map_err(|e| e.to_string())?;
    let c = model.config();
    println!(
        "perplexity of {} on {} ({} tokens); spec {}, {} layers x {} heads replaced",
        model.path().file_name().map_or_else(
            || model.path().display().to_string(),
            |f| f.to_string_lossy().into_owned()
        ),
        text_path.display(),
        ids.len(),
        d.name,
        c.layers,
        c.heads
    );
    let choices = thresholds_of(d, &model, args, text_path, max_tokens)?;
    let (exact, exact_s) = run(&model, &ids, &Attention::Exact, "exact attention")?;
    let mut rows = vec![Row {
        run: "exact float attention".into(),
        keep_mass: None,
        layer_thresholds: None,
        result: exact,
        change_percent: 0.0,
        seconds: exact_s,
    }];
    print_header();
    print_row(&rows[0]);
    let golden = |mode, table: &HeadThresholds| Attention::Golden {
        d: Box::new(d.clone()),
        mode,
        thresholds: table.clone(),
    };
    if !a.text.no_baseline {
        let table = &choices[0].3;
        let label = "quantised, no pruning";
        let (r, s) = run(&model, &ids, &golden(Mode::Baseline, table), label)?;
        rows.push(row(label, None, None, r, &exact, s));
        print_row(rows.last().expect("pushed"));
    }
    for (label, mass, layers, table) in &choices {
        let (r, s) = run(&model, &ids, &golden(Mode::Sprint, table), label)?;
        rows.push(row(label, *mass, layers.clone(), r, &exact, s));
        print_row(rows.last().expect("pushed"));
    }
    for r in rows.iter().filter(|r| r.layer_thresholds.is_some()) {
        println!(
            "  {}: thresholds, layers 0-{}: {:?}",
            r.run,
            c.layers - 1,
            r.layer_thresholds.as_deref().unwrap_or_default()
        );
    }
    println!(
        "time: {} s per run on {} threads",
        rows.iter()
            .map(|r| format!("{:.0}", r.seconds))
            .collect::<Vec<_>>()
            .join("/"),
        rayon::current_num_threads()
    );
    if let Some(path) = &a.json {
        write_json(path, &rows)?;
    }
    Ok(())
}

fn row(
    label: &str,
    keep_mass: Option<f64>,
    layers: Option<Vec<i64>>,
    r: Perplexity,
    exact: &Perplexity,
    seconds: f64,
) -> Row {
    Row {
        run: label.to_string(),
        keep_mass,
        layer_thresholds: layers,
        change_percent: r.change_from(exact),
        result: r,
        seconds,
    }
}

fn print_header() {
    println!(
        "{:<34} {:>10} {:>9} {:>8} {:>10} {:>8}",
        "run", "perplexity", "change %", "kept %", "fetch red", "empty q"
    );
}

fn print_row(r: &Row) {
    let s = &r.result.stats;
    println!(
        "{:<34} {:>10.4} {:>+9.3} {:>8.2} {:>9.2}x {:>8}",
        r.run,
        r.result.perplexity,
        r.change_percent,
        100.0 * s.kept_fraction(),
        s.fetch_reduction(),
        s.empty_queries
    );
}
