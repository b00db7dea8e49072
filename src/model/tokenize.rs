//! The tokenizer of `tokenizer.json` (all-MiniLM-L6-v2: WordPiece), with
//! its built-in padding and truncation (all-MiniLM-L6-v2: both to 128
//! tokens) turned off.

use std::path::Path;

use tokenizers::Tokenizer;

use super::ModelError;

/// Loads `tokenizer.json` at `path`, turns off its padding and truncation,
/// and returns it with the ids of `[CLS]` and `[SEP]`. Its vocabulary
/// (added tokens included) must fit in the model's `vocab` embedding rows.
pub(super) fn load(path: &Path, vocab: usize) -> Result<(Tokenizer, u32, u32), ModelError> {
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            path: path.to_path_buf(),
        });
    }
    let mut tokenizer = Tokenizer::from_file(path).map_err(|source| ModelError::Tokenizer {
        what: format!("cannot load {}", path.display()),
        source,
    })?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|source| ModelError::Tokenizer {
            what: "cannot turn off truncation".to_string(),
            source,
        })?;
    let special = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| ModelError::Tokenizer {
                what: format!("{}", path.display()),
                source: format!("no {token} token in the vocabulary").into(),
            })
    };
    let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
    let size = tokenizer.get_vocab_size(true);
    if size > vocab {
        return Err(ModelError::Tokenizer {
            what: format!("{}", path.display()),
            source: format!(
                "vocabulary of {size} tokens, more than the {vocab} rows of the word embeddings \
                 (config.json vocab_size)"
            )
            .into(),
        });
    }
    Ok((tokenizer, cls, sep))
}

/// Encodes `text` as `[CLS] … [SEP]` and applies `max_tokens` against the
/// model's `max_positions` (see [`super::BertEncoder::tokenize`]).
pub(super) fn tokenize(
    tokenizer: &Tokenizer,
    sep: u32,
    max_positions: usize,
    text: &str,
    max_tokens: Option<usize>,
) -> Result<Vec<u32>, ModelError> {
    if let Some(m) = max_tokens
        && !(2..=max_positions).contains(&m)
    {
        return Err(ModelError::BadMaxTokens {
            max_tokens: m,
            max: max_positions,
        });
    }
    let encoding = tokenizer
        .encode(text, true)
        .map_err(|source| ModelError::Tokenizer {
            what: "cannot encode the text".to_string(),
            source,
        })?;
    let mut ids = encoding.get_ids().to_vec();
    match max_tokens {
        Some(m) if ids.len() > m => {
            ids.truncate(m - 1);
            ids.push(sep);
        }
        None if ids.len() > max_positions => {
            return Err(ModelError::TooManyTokens {
                tokens: ids.len(),
                max: max_positions,
            });
        }
        _ => {}
    }
    Ok(ids)
}
