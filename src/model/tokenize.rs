//! The WordPiece tokenizer of `tokenizer.json`, with its built-in padding
//! and truncation (both to 128 tokens) turned off.

use std::path::Path;

use tokenizers::Tokenizer;

use super::{MiniLm, ModelError};

/// Loads `tokenizer.json` at `path`, turns off its padding and truncation,
/// and returns it with the ids of `[CLS]` and `[SEP]`.
pub(super) fn load(path: &Path) -> Result<(Tokenizer, u32, u32), ModelError> {
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
    let vocab = tokenizer.get_vocab_size(true);
    if vocab != MiniLm::VOCAB {
        return Err(ModelError::Tokenizer {
            what: format!("{}", path.display()),
            source: format!("vocabulary of {vocab} tokens, expected {}", MiniLm::VOCAB).into(),
        });
    }
    Ok((tokenizer, cls, sep))
}

/// Encodes `text` as `[CLS] … [SEP]` and applies `max_tokens` (see
/// [`MiniLm::tokenize`]).
pub(super) fn tokenize(
    tokenizer: &Tokenizer,
    sep: u32,
    text: &str,
    max_tokens: Option<usize>,
) -> Result<Vec<u32>, ModelError> {
    if let Some(m) = max_tokens
        && !(2..=MiniLm::MAX_TOKENS).contains(&m)
    {
        return Err(ModelError::BadMaxTokens(m));
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
        None if ids.len() > MiniLm::MAX_TOKENS => {
            return Err(ModelError::TooManyTokens {
                tokens: ids.len(),
                max: MiniLm::MAX_TOKENS,
            });
        }
        _ => {}
    }
    Ok(ids)
}
