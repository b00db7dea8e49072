//! `sprint-rtl eval SPEC --task perplexity`: a Llama-family GGUF decoder's
//! perplexity on a text with exact attention, with the quantised design
//! without pruning, and with SPRINT at thresholds chosen on another text
//! (see `docs/src/perplexity.md`).

use std::path::PathBuf;
use std::sync::Mutex;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use sprint_rtl::eval::perplexity_study::{
    EXACT_RUN, StudyEvent, StudyOptions, StudyRow, ThresholdSource, run_study,
};
use sprint_rtl::golden::Derived;
use sprint_rtl::model::Llama;
use sprint_rtl::spec::Spec;

use super::eval::{EvalArgs, write_json};
use super::failure::{Failure, Outcome};

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

fn layer_bar(layers: usize, label: &str) -> ProgressBar {
    let b = ProgressBar::new(layers as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:<34} {bar:30} {pos}/{len} layers [{elapsed} / ~{eta}]")
            .expect("valid template"),
    );
    b.set_message(label.to_string());
    b
}

/// `sprint-rtl eval SPEC --task perplexity ...`.
pub fn eval(spec: &Spec, args: &EvalArgs) -> Outcome {
    perplexity_runs(&Derived::from_spec(spec), args)
}

/// The library's options from the command line.
fn study_options(args: &EvalArgs) -> Result<StudyOptions, Failure> {
    if let Some(path) = &args.run.json {
        sprint_rtl::files::check_file_writable(path)?;
    }
    let t = &args.text;
    let text = t
        .text
        .clone()
        .ok_or_else(|| Failure::input("--task perplexity needs --text FILE"))?;
    let thresholds = match (&args.thresholds, &t.calibrate_on) {
        (Some(_), Some(_)) => {
            return Err(Failure::input(
                "give either --thresholds or --calibrate-on, not both",
            ));
        }
        (Some(path), None) => ThresholdSource::File(path.clone()),
        (None, Some(path)) => ThresholdSource::Calibrate {
            text: path.clone(),
            keep_mass: args.keep_mass.clone(),
            per_head: t.per_head,
        },
        (None, None) => {
            return Err(Failure::input(
                "--task perplexity needs --calibrate-on FILE (a text other than --text, \
                 on which the thresholds are chosen) or --thresholds FILE",
            ));
        }
    };
    Ok(StudyOptions {
        text,
        max_tokens: t.max_tokens,
        thresholds,
        baseline: !t.no_baseline,
    })
}

fn perplexity_runs(d: &Derived, args: &EvalArgs) -> Outcome {
    let options = study_options(args)?;
    let model_path = args
        .run
        .model
        .as_ref()
        .ok_or_else(|| Failure::input("--model FILE.gguf is required"))?;
    let spinner = super::spinner();
    spinner.set_message("loading the model");
    let model = Llama::load(model_path);
    spinner.finish_and_clear();
    let model = model?;
    let bar: Mutex<Option<ProgressBar>> = Mutex::new(None);
    let show = |event: StudyEvent| show_event(&event, d, &model, &options, &bar);
    let rows = run_study(d, &model, &options, &show)?;
    let layers = model.config().layers;
    for r in rows.iter().filter(|r| r.layer_thresholds.is_some()) {
        println!(
            "  {}: thresholds, layers 0-{}: {:?}",
            r.run,
            layers - 1,
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
    if let Some(path) = &args.run.json {
        write_json(path, &rows)?;
    }
    Ok(())
}

/// Prints a study's event: a progress bar per forward pass, each row as it
/// finishes.
fn show_event(
    event: &StudyEvent,
    d: &Derived,
    model: &Llama,
    options: &StudyOptions,
    bar: &Mutex<Option<ProgressBar>>,
) {
    let mut bar = bar.lock().expect("no panic while the bar is held");
    match event {
        StudyEvent::Started { tokens } => {
            let c = model.config();
            println!(
                "perplexity of {} on {} ({tokens} tokens); spec {}, {} layers x {} heads replaced",
                model.path().file_name().map_or_else(
                    || model.path().display().to_string(),
                    |f| f.to_string_lossy().into_owned()
                ),
                options.text.display(),
                d.name,
                c.layers,
                c.heads
            );
        }
        StudyEvent::ForeignThresholds {
            path,
            spec,
            spec_hash,
        } => eprintln!(
            "warning: {} was calibrated for spec `{spec}` ({}), not this one",
            path.display(),
            &spec_hash[..12.min(spec_hash.len())]
        ),
        StudyEvent::ThresholdsRead { path } => println!("  thresholds from {}", path.display()),
        StudyEvent::Calibrated {
            path,
            tokens,
            per_head,
            seconds,
        } => println!(
            "  thresholds per {} chosen on {} ({tokens} tokens, {seconds:.0} s): the largest \
             keeping the asked mean softmax mass of the exact model's attention",
            if *per_head { "head" } else { "layer" },
            path.display(),
        ),
        StudyEvent::PassStarted { label, layers } => *bar = Some(layer_bar(*layers, label)),
        StudyEvent::LayerDone => {
            if let Some(b) = bar.as_ref() {
                b.inc(1);
            }
        }
        StudyEvent::PassFinished => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
        StudyEvent::Row(row) => {
            if row.run == EXACT_RUN {
                print_header();
            }
            print_row(row);
        }
    }
}

fn print_header() {
    println!(
        "{:<34} {:>10} {:>9} {:>8} {:>10} {:>8}",
        "run", "perplexity", "change %", "kept %", "fetch red", "empty q"
    );
}

fn print_row(r: &StudyRow) {
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
