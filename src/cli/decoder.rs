//! `sprint-rtl trace` on a Llama-family GGUF decoder (see
//! `docs/src/decoder.md`).

use std::path::Path;
use std::time::Instant;

use sprint_rtl::model::{Llama, is_gguf};
use sprint_rtl::trace::decoder::{DecoderTrace, check_selection};

use super::failure::{Failure, Outcome};
use super::real::TraceArgs;

/// Tokens a decoder trace keeps unless `--max-tokens` says otherwise.
const DEFAULT_MAX_TOKENS: usize = 512;

/// Whether `--model` names a GGUF decoder: a `.gguf` path, or a folder
/// without `model.safetensors` (the encoder's) that holds a `.gguf` file.
pub(super) fn is_decoder_model(path: &Path) -> bool {
    if is_gguf(path) {
        return true;
    }
    path.is_dir()
        && !path.join("model.safetensors").exists()
        && std::fs::read_dir(path)
            .is_ok_and(|entries| entries.filter_map(|e| e.ok()).any(|e| is_gguf(&e.path())))
}

/// `sprint-rtl trace --model FILE.gguf`.
pub(super) fn trace(args: &TraceArgs) -> Outcome {
    let text = std::fs::read_to_string(&args.text)
        .map_err(|e| Failure::input(format!("{}: {e}", args.text.display())))?;
    let spinner = super::spinner();
    spinner.set_message("loading the model");
    let loaded = (|| {
        let model = Llama::load(&args.model)?;
        check_selection(model.config(), &args.heads)?;
        let ids = model.tokenize(&text, Some(args.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)))?;
        Ok::<_, Failure>((model, ids))
    })();
    let (model, ids) = loaded.inspect_err(|_| spinner.finish_and_clear())?;
    spinner.set_message(format!("forward pass over {} tokens", ids.len()));
    let start = Instant::now();
    let trace = DecoderTrace::record(&model, &ids, args.data_bits, &args.heads);
    let seconds = start.elapsed().as_secs_f64();
    spinner.finish_and_clear();
    let trace = trace?;
    trace.write_npz(&args.output)?;
    let c = model.config();
    println!(
        "wrote {}: {} tokens, {} query heads and {} KV heads (of {} layers × {}/{} heads of {}), \
         Q/K/V as float32 and {}-bit integers; forward pass {:.1} s",
        args.output.display(),
        ids.len(),
        trace.heads.len(),
        trace.kv_heads.len(),
        c.layers,
        c.heads,
        c.kv_heads,
        c.head_dim,
        args.data_bits,
        seconds
    );
    Ok(())
}
