//! Timing the encoder's forward pass on texts of chosen token counts, for
//! the side-by-side comparison with onnxruntime (`benches/forward/`).
//!
//! [`texts_of_length`] cuts [`PASSAGE`] into texts of exactly the asked
//! number of tokens with the model's own tokenizer; [`time_forward`] runs
//! [`BertEncoder::forward_batch`] on those ids a number of times and keeps
//! every wall time and the last run's outputs, so that another
//! implementation can be run on the same ids and compared with them.

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

/// One timed case: a batch of texts of equal length, the wall time of each
/// forward pass over the batch, and the outputs of the last one.
#[derive(Debug, Clone, Serialize)]
pub struct TimedForward {
    /// Number of tokens per text, `[CLS]` and `[SEP]` included.
    pub tokens: usize,
    /// The token ids of each text, as [`BertEncoder::tokenize`] gives them.
    pub ids: Vec<Vec<u32>>,
    /// Wall time of each forward pass over the whole batch, in
    /// milliseconds, in run order.
    pub times_ms: Vec<f64>,
    /// The final hidden states of each text, tokens × hidden.
    pub last_hidden: Vec<Vec<Vec<f32>>>,
    /// The sentence embedding of each text (mean pooling, L2-normalised).
    pub embedding: Vec<Vec<f32>>,
}

/// `texts` id lists of exactly `tokens` ids each (`2 ≤ tokens ≤`
/// [`BertEncoder::max_tokens`]): `[CLS]`, `tokens − 2` consecutive word
/// pieces of [`PASSAGE`] (repeated as often as needed; text `t` takes the
/// `t`-th run of them, so the first text is the start of the passage) and
/// `[SEP]`. [`PASSAGE`] is less than 512 tokens long.
pub fn texts_of_length(
    model: &BertEncoder,
    texts: usize,
    tokens: usize,
) -> Result<Vec<Vec<u32>>, ModelError> {
    if !(2..=model.max_tokens()).contains(&tokens) {
        return Err(ModelError::BadMaxTokens {
            max_tokens: tokens,
            max: model.max_tokens(),
        });
    }
    let inner = tokens - 2;
    // The passage's word pieces, without [CLS] and [SEP], repeated
    // (WordPiece splits words alone, so the pieces of the passage written
    // twice are its pieces twice).
    let once = model.tokenize(PASSAGE, None)?;
    let once = &once[1..once.len() - 1];
    let pieces: Vec<u32> = once.iter().copied().cycle().take(inner * texts).collect();
    Ok((0..texts)
        .map(|t| {
            let mut ids = vec![model.cls_id()];
            ids.extend_from_slice(&pieces[t * inner..(t + 1) * inner]);
            ids.push(model.sep_id());
            ids
        })
        .collect())
}

/// Runs [`BertEncoder::forward_batch`] on `texts` `warmup` times untimed,
/// then `repeats` times (at least once) timed; the embeddings are pooled
/// from the last hidden states within the timed span.
pub fn time_forward(
    model: &BertEncoder,
    texts: &[Vec<u32>],
    warmup: usize,
    repeats: usize,
) -> Result<TimedForward, ModelError> {
    let batch: Vec<&[u32]> = texts.iter().map(Vec::as_slice).collect();
    for _ in 0..warmup {
        model.forward_batch(&batch)?;
    }
    let mut times_ms = Vec::with_capacity(repeats);
    let mut last = Vec::new();
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let out: Vec<_> = model
            .forward_batch(&batch)?
            .into_iter()
            .map(|f| {
                let e = f.sentence_embedding();
                (f, e)
            })
            .collect();
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
        last = out;
    }
    Ok(TimedForward {
        tokens: texts.first().map_or(0, Vec::len),
        ids: texts.to_vec(),
        times_ms,
        last_hidden: last
            .iter()
            .map(|(f, _)| {
                f.last_hidden
                    .rows()
                    .into_iter()
                    .map(|r| r.to_vec())
                    .collect()
            })
            .collect(),
        embedding: last.into_iter().map(|(_, e)| e).collect(),
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
