//! Timing the encoder's forward pass on texts of chosen token counts, for
//! the side-by-side comparison with onnxruntime (`benches/forward/`).
//!
//! [`ids_of_length`] cuts [`PASSAGE`] to exactly the asked number of
//! tokens with the model's own tokenizer; [`time_forward`] runs
//! [`BertEncoder::forward`] on those ids a number of times and keeps every
//! wall time and the last run's outputs, so that another implementation
//! can be run on the same ids and compared with them.

use std::time::Instant;

use serde::Serialize;

use super::{BertEncoder, ModelError};

/// The English passage the timed texts are cut from (about 160 words,
/// repeated as needed to reach the longest length).
pub const PASSAGE: &str = "The accelerator keeps the attention keys in a resistive crossbar \
    and scores every key approximately in memory from its most significant bits. Only the \
    keys whose approximate score passes an analog threshold are fetched into a small on-chip \
    buffer, where their exact scores are recomputed digitally. Adjacent queries often keep \
    the same keys, so the buffer reuses the rows they share instead of fetching them again. \
    A sentence encoder such as MiniLM turns each text into a vector of a few hundred numbers; \
    texts that mean similar things end up close together, which is what search, clustering \
    and duplicate detection rely on. Long documents are split into passages of a few hundred \
    tokens, and every passage goes through six layers of attention and feed-forward blocks. \
    At that length the attention matrices grow with the square of the token count, while \
    the linear layers grow only linearly, so the balance between them shifts as texts get \
    longer. Measuring both short and long inputs shows where the time goes.";

/// One timed text: its ids, the wall time of each forward pass, and the
/// outputs of the last one.
#[derive(Debug, Clone, Serialize)]
pub struct TimedForward {
    /// Number of tokens, `[CLS]` and `[SEP]` included.
    pub tokens: usize,
    /// The token ids, as [`BertEncoder::tokenize`] gives them.
    pub ids: Vec<u32>,
    /// Wall time of each forward pass, in milliseconds, in run order.
    pub times_ms: Vec<f64>,
    /// The final hidden states, tokens × hidden.
    pub last_hidden: Vec<Vec<f32>>,
    /// The sentence embedding (mean pooling, L2-normalised).
    pub embedding: Vec<f32>,
}

/// Exactly `tokens` ids (`2 ≤ tokens ≤` [`BertEncoder::max_tokens`]):
/// `[CLS]`, the first `tokens − 2` word pieces of [`PASSAGE`] (repeated as
/// often as needed) and `[SEP]`.
pub fn ids_of_length(model: &BertEncoder, tokens: usize) -> Result<Vec<u32>, ModelError> {
    let mut text = PASSAGE.to_string();
    loop {
        let ids = model.tokenize(&text, Some(tokens))?;
        if ids.len() == tokens {
            return Ok(ids);
        }
        text = format!("{text} {PASSAGE}");
    }
}

/// Runs `model.forward(ids)` `warmup` times untimed, then `repeats` times
/// timed; the embedding is the pooled last hidden state, which is timed
/// with the pass.
pub fn time_forward(
    model: &BertEncoder,
    ids: &[u32],
    warmup: usize,
    repeats: usize,
) -> Result<TimedForward, ModelError> {
    for _ in 0..warmup {
        model.forward(ids)?;
    }
    let mut times_ms = Vec::with_capacity(repeats);
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let f = model.forward(ids)?;
        let embedding = f.sentence_embedding();
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some((f, embedding));
    }
    let (f, embedding) = last.expect("at least one run");
    Ok(TimedForward {
        tokens: ids.len(),
        ids: ids.to_vec(),
        times_ms,
        last_hidden: f
            .last_hidden
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        embedding,
    })
}

/// The median of `values` (the mean of the middle two for an even count;
/// NaN for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
