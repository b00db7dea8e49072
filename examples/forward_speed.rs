//! Times the BERT forward pass (all-MiniLM-L6-v2) on texts of chosen token
//! counts and writes the ids, the wall times and the outputs as JSON, for
//! `benches/forward/compare.py`, which runs onnxruntime on the same ids.
//!
//! ```text
//! cargo run --release --example forward_speed -- MODEL_DIR --cases 1x14,1x128,1x512,16x14 \
//!     --warmup 2 --repeats 5 --out times.json
//! ```
//!
//! A case `TxN` is a batch of `T` texts of `N` tokens each, run by one
//! `forward_batch` call. Threads: rayon's pool (`RAYON_NUM_THREADS`).

use std::path::PathBuf;

use clap::Parser;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::model::speed::{self, TimedForward};

#[derive(Parser)]
struct Args {
    /// The model folder (config.json, model.safetensors, tokenizer.json).
    model: PathBuf,
    /// Cases, comma-separated, each TEXTSxTOKENS.
    #[arg(long, value_delimiter = ',', default_value = "1x14,1x128,1x512,16x14")]
    cases: Vec<String>,
    /// Untimed passes before the timed ones, per case.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed passes per case.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Where to write the JSON (a list of cases: tokens, ids, times_ms,
    /// last_hidden, embedding).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let model = BertEncoder::load(&args.model)?;
    let mut runs: Vec<TimedForward> = Vec::new();
    for case in &args.cases {
        let (texts, tokens) = case
            .split_once('x')
            .and_then(|(t, n)| Some((t.parse().ok()?, n.parse().ok()?)))
            .ok_or_else(|| format!("case {case:?} is not TEXTSxTOKENS"))?;
        let ids = speed::texts_of_length(&model, texts, tokens)?;
        let run = speed::time_forward(&model, &ids, args.warmup, args.repeats)?;
        eprintln!("{case}: median {:.2} ms", speed::median(&run.times_ms));
        runs.push(run);
    }
    std::fs::write(&args.out, serde_json::to_string(&runs)?)?;
    Ok(())
}
