//! The shape of a BERT-family encoder, read from its Hugging Face
//! `config.json`.
//!
//! Only the fields the forward pass needs are read; every other field of the
//! file (dropouts, `architectures`, `transformers_version`, …) is ignored.
//! Each field read is required: a missing one, or one of the wrong JSON
//! type, is a [`ModelError::Config`] naming it.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ModelError;

/// The `model_type` values this loader accepts. Their checkpoints use the
/// tensor names `[bert.]embeddings.*` and `[bert.]encoder.layer.{l}.*` and
/// the post-LayerNorm block with absolute learned positions starting at 0.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["bert"];

/// The feed-forward activation, `hidden_act` in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// `"gelu"`: `x/2 · (1 + erf(x/√2))` (PyTorch's exact GELU).
    #[serde(rename = "gelu")]
    Gelu,
    /// `"gelu_new"`: `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, the
    /// tanh approximation of Hendrycks & Gimpel (arXiv 1606.08415, eq. 2).
    #[serde(rename = "gelu_new")]
    GeluNew,
    /// `"gelu_pytorch_tanh"`: the same tanh formula as `"gelu_new"`.
    #[serde(rename = "gelu_pytorch_tanh")]
    GeluPytorchTanh,
    /// `"relu"`: `max(x, 0)`.
    #[serde(rename = "relu")]
    Relu,
}

impl Activation {
    /// The `hidden_act` values accepted, as written in `config.json`.
    pub const SUPPORTED: &[&str] = &["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

    /// Applies the activation to `x`, in `f32` (`erf` is libm's `erff`).
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::GeluNew | Activation::GeluPytorchTanh => {
                let c = std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2;
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Activation::Relu => x.max(0.0),
        }
    }
}

/// The shape and constants of a BERT-family encoder.
///
/// all-MiniLM-L6-v2, for example, has 6 layers, 12 heads, hidden size 384
/// (so heads of 32), intermediate size 1536, 512 positions, a vocabulary of
/// 30522 tokens, 2 token types, `layer_norm_eps = 1e-12` and `"gelu"`.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// `model_type`, one of [`SUPPORTED_MODEL_TYPES`].
    pub model_type: String,
    /// `num_hidden_layers`: encoder layers, at least 1.
    pub layers: usize,
    /// `num_attention_heads`: heads per layer; divides `hidden`.
    pub heads: usize,
    /// `hidden_size`: the model (and embedding) width.
    pub hidden: usize,
    /// `intermediate_size`: the feed-forward width.
    pub intermediate: usize,
    /// `max_position_embeddings`: learned positions, the most tokens a
    /// forward pass takes (`[CLS]` and `[SEP]` included).
    pub max_positions: usize,
    /// `layer_norm_eps`: the ε added to the variance in every LayerNorm.
    pub layer_norm_eps: f64,
    /// `vocab_size`: rows of the word embedding table.
    pub vocab: usize,
    /// `type_vocab_size`: rows of the token-type table (only row 0 is used).
    pub type_vocab: usize,
    /// `hidden_act`: the feed-forward activation.
    pub activation: Activation,
}

impl BertConfig {
    /// The dimension of one head's query, key and value vectors:
    /// `hidden / heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Reads and checks `config.json` at `path`.
    ///
    /// # Errors
    /// [`ModelError::MissingFile`] when there is no such file,
    /// [`ModelError::Io`] when it cannot be read, [`ModelError::Config`]
    /// for invalid JSON, an unsupported `model_type` or `hidden_act`, a
    /// missing or wrong-typed field, or sizes that do not fit together.
    pub fn load(path: &Path) -> Result<BertConfig, ModelError> {
        if !path.is_file() {
            return Err(ModelError::MissingFile {
                path: path.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks the text of a `config.json`; `path` only names the
    /// file in errors. See [`BertConfig::load`].
    pub fn parse(path: &Path, text: &str) -> Result<BertConfig, ModelError> {
        let error = |field: &str, message: String| ModelError::Config {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| error("(file)", format!("not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(error(
                "(file)",
                "expected a JSON object at the top level".into(),
            ));
        };
        let fields = Fields { map: &map, error };

        let model_type: String = fields.get("model_type", "a string")?;
        if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
            return Err(error(
                "model_type",
                format!(
                    "\"{model_type}\" is not supported{}; supported: {}",
                    unsupported_because(&model_type),
                    quoted(SUPPORTED_MODEL_TYPES)
                ),
            ));
        }
        let position_type = fields.optional::<String>("position_embedding_type", "a string")?;
        if let Some(p) = position_type.filter(|p| p != "absolute") {
            return Err(error(
                "position_embedding_type",
                format!("\"{p}\" is not supported; supported: \"absolute\""),
            ));
        }
        let act: String = fields.get("hidden_act", "a string")?;
        let activation = serde_json::from_value(Value::String(act.clone())).map_err(|_| {
            error(
                "hidden_act",
                format!(
                    "\"{act}\" is not supported; supported: {}",
                    quoted(Activation::SUPPORTED)
                ),
            )
        })?;
        let config = BertConfig {
            model_type,
            layers: fields.size("num_hidden_layers")?,
            heads: fields.size("num_attention_heads")?,
            hidden: fields.size("hidden_size")?,
            intermediate: fields.size("intermediate_size")?,
            max_positions: fields.size("max_position_embeddings")?,
            layer_norm_eps: fields.get("layer_norm_eps", "a number")?,
            vocab: fields.size("vocab_size")?,
            type_vocab: fields.size("type_vocab_size")?,
            activation,
        };
        if !config.hidden.is_multiple_of(config.heads) {
            return Err(error(
                "num_attention_heads",
                format!(
                    "{} heads do not divide hidden_size = {}",
                    config.heads, config.hidden
                ),
            ));
        }
        if !(config.layer_norm_eps.is_finite() && config.layer_norm_eps >= 0.0) {
            return Err(error(
                "layer_norm_eps",
                format!(
                    "{} is not a finite, non-negative number",
                    config.layer_norm_eps
                ),
            ));
        }
        if config.max_positions < 2 {
            return Err(error(
                "max_position_embeddings",
                format!(
                    "{} positions cannot hold [CLS] and [SEP]; at least 2 are needed",
                    config.max_positions
                ),
            ));
        }
        Ok(config)
    }
}

/// Typed access to the fields of a parsed `config.json`, naming the field
/// in every error.
struct Fields<'a, E: Fn(&str, String) -> ModelError> {
    map: &'a Map<String, Value>,
    error: E,
}

impl<E: Fn(&str, String) -> ModelError> Fields<'_, E> {
    /// The required field `name`, of type `T`, described as `expected` in
    /// errors.
    fn get<T: DeserializeOwned>(&self, name: &str, expected: &str) -> Result<T, ModelError> {
        self.optional(name, expected)?
            .ok_or_else(|| (self.error)(name, format!("missing; it is required ({expected})")))
    }

    /// The field `name`, of type `T`, or `None` when it is absent.
    fn optional<T: DeserializeOwned>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ModelError> {
        let Some(v) = self.map.get(name) else {
            return Ok(None);
        };
        serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| (self.error)(name, format!("found {}, expected {expected}", short(v))))
    }

    /// The required field `name`: a positive integer.
    fn size(&self, name: &str) -> Result<usize, ModelError> {
        let n: usize = self.get(name, "a positive integer")?;
        if n == 0 {
            return Err((self.error)(name, "found 0, expected at least 1".into()));
        }
        Ok(n)
    }
}

/// A JSON value, cut to 40 characters for an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Why a BERT relative is not read as BERT, for the error message.
fn unsupported_because(model_type: &str) -> &'static str {
    match model_type {
        "roberta" | "xlm-roberta" | "camembert" => {
            " (its positions start at pad_token_id + 1, not 0, and its tensors sit under `roberta.`)"
        }
        "distilbert" => {
            " (its tensors are `transformer.layer.{l}.attention.q_lin`…, with no token types)"
        }
        "electra" => " (its tensors sit under `electra.`, with an embedding projection)",
        "albert" => " (it shares one layer's weights across layers and factorises the embeddings)",
        _ => "",
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{
        "architectures": ["BertModel"], "hidden_act": "gelu", "hidden_size": 384,
        "intermediate_size": 1536, "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 6,
        "position_embedding_type": "absolute", "type_vocab_size": 2,
        "vocab_size": 30522
    }"#;

    fn parse(text: &str) -> Result<BertConfig, ModelError> {
        BertConfig::parse(Path::new("m/config.json"), text)
    }

    fn edited(field: &str, value: Option<Value>) -> String {
        let mut v: Value = serde_json::from_str(MINILM).unwrap();
        let map = v.as_object_mut().unwrap();
        match value {
            Some(x) => map.insert(field.into(), x),
            None => map.remove(field),
        };
        v.to_string()
    }

    #[test]
    fn minilm_config_reads_its_shape() {
        let c = parse(MINILM).unwrap();
        assert_eq!(
            (c.layers, c.heads, c.head_dim(), c.hidden, c.intermediate),
            (6, 12, 32, 384, 1536)
        );
        assert_eq!((c.max_positions, c.vocab, c.type_vocab), (512, 30522, 2));
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.activation, Activation::Gelu);
    }

    #[test]
    fn bad_fields_are_named() {
        for (field, value, says) in [
            (
                "num_hidden_layers",
                None,
                "missing; it is required (a positive integer)",
            ),
            (
                "num_hidden_layers",
                Some(Value::from("6")),
                "found \"6\", expected a positive integer",
            ),
            (
                "layer_norm_eps",
                Some(Value::from("tiny")),
                "found \"tiny\", expected a number",
            ),
            ("hidden_size", Some(Value::from(0)), "found 0"),
            ("num_attention_heads", Some(Value::from(5)), "do not divide"),
            ("model_type", Some(Value::from("distilbert")), "q_lin"),
            (
                "model_type",
                Some(Value::from("roberta")),
                "pad_token_id + 1",
            ),
            ("hidden_act", Some(Value::from("silu")), "\"gelu_new\""),
            (
                "position_embedding_type",
                Some(Value::from("relative_key")),
                "\"absolute\"",
            ),
            ("layer_norm_eps", Some(Value::from(-1.0)), "non-negative"),
        ] {
            let err = parse(&edited(field, value)).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("m/config.json: field "), "{msg}");
            assert!(msg.contains(field), "{msg}");
            assert!(msg.contains(says), "{msg}");
        }
        let msg = parse("[1]").unwrap_err().to_string();
        assert!(msg.contains("JSON object"), "{msg}");
    }

    #[test]
    fn activations_follow_their_formulas() {
        assert_eq!(Activation::Relu.apply(-2.0), 0.0);
        assert_eq!(Activation::Relu.apply(1.5), 1.5);
        // GELU(1) = Φ(1) = 0.841344746…; the tanh form gives 0.841191990…
        assert!((Activation::Gelu.apply(1.0) - 0.841_344_7).abs() < 1e-6);
        assert!((Activation::GeluNew.apply(1.0) - 0.841_192).abs() < 1e-6);
        assert_eq!(
            Activation::GeluNew.apply(-0.7),
            Activation::GeluPytorchTanh.apply(-0.7)
        );
    }
}
