//! The byte-level BPE tokenizer of a GGUF file (`tokenizer.ggml.model =
//! "gpt2"`), rebuilt as a `tokenizers` pipeline from the file's metadata.
//!
//! The pipeline is the one Hugging Face ships as `tokenizer.json` for
//! SmolLM2 and that llama.cpp runs for `tokenizer.ggml.pre = "smollm"`:
//! - pre-tokenizer: every digit on its own (`Digits`, individual), then
//!   GPT-2's byte-level split (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
//!   ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, bytes mapped to printable
//!   characters); `tokenizer.ggml.pre` = `gpt-2` or `default` drops the
//!   digit split;
//! - model: BPE with the vocabulary `tokenizer.ggml.tokens` (id = index)
//!   and the ranked merges `tokenizer.ggml.merges` (`"a b"` strings, best
//!   first), no unknown token, no dropout;
//! - no normaliser and no post-processor; the BOS token
//!   (`tokenizer.ggml.bos_token_id`) starts the ids only when
//!   `tokenizer.ggml.add_bos_token` is true (false for SmolLM2);
//! - control tokens (`tokenizer.ggml.token_type` = 3, e.g. `<|im_start|>`)
//!   are special: written literally in the text they become their one id.

use serde_json::{Value, json};
use tokenizers::Tokenizer;

use super::DecoderError;
use super::gguf::GgufFile;

/// The `tokenizer.ggml.token_type` of a control token.
const CONTROL: i64 = 3;

/// The tokenizer of a GGUF file.
pub(super) struct GgufTokenizer {
    tokenizer: Tokenizer,
    /// The id that starts every encoded text, if the file asks for one.
    pub bos: Option<u32>,
}

/// Builds the tokenizer of `file` from its metadata.
///
/// # Errors
/// [`DecoderError::MissingKey`]/[`DecoderError::BadKey`] for absent or
/// mistyped tokenizer metadata, [`DecoderError::Unsupported`] for another
/// tokenizer model or pre-tokenizer or an added BOS,
/// [`DecoderError::Tokenizer`] if `tokenizers` rejects the result.
pub(super) fn load(file: &GgufFile) -> Result<GgufTokenizer, DecoderError> {
    let unsupported = |key: &str, found: String, supported: &str| DecoderError::Unsupported {
        path: file.path().to_path_buf(),
        key: key.to_string(),
        found,
        supported: supported.to_string(),
    };
    let model = file.string("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(unsupported(
            "tokenizer.ggml.model",
            format!("{model:?}"),
            "\"gpt2\" (byte-level BPE)",
        ));
    }
    let pre = if file.has("tokenizer.ggml.pre") {
        file.string("tokenizer.ggml.pre")?
    } else {
        "default"
    };
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false,
                            "trim_offsets": true, "use_regex": true});
    let pre_tokenizer = match pre {
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level]}),
        "gpt-2" | "default" => byte_level,
        other => {
            return Err(unsupported(
                "tokenizer.ggml.pre",
                format!("{other:?}"),
                "\"smollm\", \"gpt-2\" or \"default\"",
            ));
        }
    };
    let bos =
        if file.has("tokenizer.ggml.add_bos_token") && file.flag("tokenizer.ggml.add_bos_token")? {
            Some(file.positive("tokenizer.ggml.bos_token_id")? as u32)
        } else {
            None
        };
    let tokens = file.strings("tokenizer.ggml.tokens")?;
    let merges = file.strings("tokenizer.ggml.merges")?;
    let types = if file.has("tokenizer.ggml.token_type") {
        file.integers("tokenizer.ggml.token_type")?
    } else {
        Vec::new()
    };
    let vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.to_string(), json!(id)))
        .collect();
    let added: Vec<Value> = types
        .iter()
        .zip(&tokens)
        .enumerate()
        .filter(|(_, (ty, _))| **ty == CONTROL)
        .map(|(id, (_, t))| {
            json!({"id": id, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true,
                    "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null,
                  "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges},
    });
    let tokenizer: Tokenizer =
        serde_json::from_value(spec).map_err(|e| DecoderError::Tokenizer {
            path: file.path().to_path_buf(),
            message: format!("cannot build the BPE tokenizer from the metadata: {e}"),
        })?;
    Ok(GgufTokenizer { tokenizer, bos })
}

impl GgufTokenizer {
    /// The token ids of `text`: the BOS id if the file asks for one, then
    /// the BPE tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, DecoderError> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| DecoderError::Encode {
                message: e.to_string(),
            })?;
        Ok(self
            .bos
            .into_iter()
            .chain(encoding.get_ids().iter().copied())
            .collect())
    }

    /// The text of `ids` (byte-level decoding; special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> Result<String, DecoderError> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| DecoderError::Encode {
                message: e.to_string(),
            })
    }
}
