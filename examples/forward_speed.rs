//! Times the BERT forward pass (all-MiniLM-L6-v2) on texts of chosen token
//! counts and writes the ids, the wall times and the outputs as JSON, for
//! `benches/forward/compare.py`, which runs onnxruntime on the same ids.
//!
//! ```text
//! cargo run --release --example forward_speed -- MODEL_DIR --tokens 14,128,512 \
//!     --warmup 2 --repeats 5 --out times.json
//! ```
//!
//! Threads: rayon's pool (`RAYON_NUM_THREADS`) and matrixmultiply's
//! (`MATMUL_NUM_THREADS`).

use std::path::PathBuf;

use clap::Parser;
use sprint_rtl::model::BertEncoder;
use sprint_rtl::model::speed::{self, TimedForward};

#[derive(Parser)]
struct Args {
    /// The model folder (config.json, model.safetensors, tokenizer.json).
    model: PathBuf,
    /// Token counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "14,128,512")]
    tokens: Vec<usize>,
    /// Untimed passes before the timed ones, per length.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed passes per length.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Where to write the JSON (a list of runs: tokens, ids, times_ms,
    /// last_hidden, embedding).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let model = BertEncoder::load(&args.model)?;
    let runs = args
        .tokens
        .iter()
        .map(|&n| {
            let ids = speed::ids_of_length(&model, n)?;
            speed::time_forward(&model, &ids, args.warmup, args.repeats)
        })
        .collect::<Result<Vec<TimedForward>, _>>()?;
    for r in &runs {
        eprintln!(
            "{:4} tokens: median {:.2} ms",
            r.tokens,
            speed::median(&r.times_ms)
        );
    }
    std::fs::write(&args.out, serde_json::to_string(&runs)?)?;
    Ok(())
}
