//! Reading a GGUF file (llama.cpp's single-file model format): its
//! metadata and its tensors, dequantised to `f32`.
//!
//! Parsing and dequantisation are candle-core's (`quantized::gguf_file` and
//! `QTensor::dequantize`), which read every ggml block type llama.cpp
//! writes (F32, F16, BF16, Q4_0/1, Q5_0/1, Q8_0 and the K-quants). Tensor
//! shapes are given here row-major, `[rows, cols]`: GGUF lists a weight's
//! dimensions innermost first (`[in, out]`), candle reverses them, so a
//! linear layer's weight reads `[out, in]` as in PyTorch.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::quantized::gguf_file::{Content, Value};
use ndarray::{Array1, Array2};

use super::DecoderError;

/// An open GGUF file: its parsed header and a reader for tensor data.
pub(super) struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

impl GgufFile {
    /// Opens and parses the header of the GGUF file at `path`.
    ///
    /// # Errors
    /// [`DecoderError::MissingFile`], [`DecoderError::Io`] or
    /// [`DecoderError::NotGguf`].
    pub fn open(path: &Path) -> Result<GgufFile, DecoderError> {
        if !path.is_file() {
            return Err(DecoderError::MissingFile {
                path: path.to_path_buf(),
            });
        }
        let file = File::open(path).map_err(|source| DecoderError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader).map_err(|e| DecoderError::NotGguf {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            reader,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn value(&self, key: &str) -> Result<&Value, DecoderError> {
        self.content
            .metadata
            .get(key)
            .ok_or_else(|| DecoderError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
            })
    }

    fn bad_key(&self, key: &str, found: &Value, expected: &str) -> DecoderError {
        DecoderError::BadKey {
            path: self.path.clone(),
            key: key.to_string(),
            found: describe(found),
            expected: expected.to_string(),
        }
    }

    /// Whether the metadata holds `key`.
    pub fn has(&self, key: &str) -> bool {
        self.content.metadata.contains_key(key)
    }

    /// The metadata `key` as a positive integer of any GGUF integer type.
    pub fn positive(&self, key: &str) -> Result<usize, DecoderError> {
        let v = self.value(key)?;
        match integer(v).and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(self.bad_key(key, v, "a positive integer")),
        }
    }

    /// The metadata `key` as a finite positive float (F32 or F64).
    pub fn positive_float(&self, key: &str) -> Result<f64, DecoderError> {
        let v = self.value(key)?;
        let x = match v {
            Value::F32(x) => f64::from(*x),
            Value::F64(x) => *x,
            _ => f64::NAN,
        };
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            Err(self.bad_key(key, v, "a finite positive float"))
        }
    }

    /// The metadata `key` as a boolean.
    pub fn flag(&self, key: &str) -> Result<bool, DecoderError> {
        let v = self.value(key)?;
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.bad_key(key, v, "a bool")),
        }
    }

    /// The metadata `key` as a string.
    pub fn string(&self, key: &str) -> Result<&str, DecoderError> {
        let v = self.value(key)?;
        match v {
            Value::String(s) => Ok(s),
            _ => Err(self.bad_key(key, v, "a string")),
        }
    }

    /// The metadata `key` as an array of strings.
    pub fn strings(&self, key: &str) -> Result<Vec<&str>, DecoderError> {
        let v = self.value(key)?;
        let bad = || self.bad_key(key, v, "an array of strings");
        let Value::Array(items) = v else {
            return Err(bad());
        };
        items
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(bad()),
            })
            .collect()
    }

    /// The metadata `key` as an array of integers (any GGUF integer type).
    pub fn integers(&self, key: &str) -> Result<Vec<i64>, DecoderError> {
        let v = self.value(key)?;
        let bad = || self.bad_key(key, v, "an array of integers");
        let Value::Array(items) = v else {
            return Err(bad());
        };
        items.iter().map(|x| integer(x).ok_or_else(bad)).collect()
    }

    /// Whether the file holds tensor `name`.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// Tensor `name` dequantised to `f32`, checked to have `shape`
    /// (row-major, see the module docs) and finite values.
    fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, DecoderError> {
        let info =
            self.content
                .tensor_infos
                .get(name)
                .ok_or_else(|| DecoderError::MissingTensor {
                    path: self.path.clone(),
                    name: name.to_string(),
                })?;
        if info.shape.dims() != shape {
            return Err(DecoderError::TensorShape {
                path: self.path.clone(),
                name: name.to_string(),
                found: info.shape.dims().to_vec(),
                expected: shape.to_vec(),
            });
        }
        let dtype = format!("{:?}", info.ggml_dtype);
        let bad = |message: String| DecoderError::BadTensor {
            path: self.path.clone(),
            name: name.to_string(),
            dtype: dtype.clone(),
            message,
        };
        let values = self
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .and_then(|q| q.dequantize(&Device::Cpu))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| bad(e.to_string()))?;
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("non-finite value at flat index {i}")));
        }
        Ok(values)
    }

    /// The 1-D tensor `name` of `len` values.
    pub fn vector(&mut self, name: &str, len: usize) -> Result<Array1<f32>, DecoderError> {
        Ok(Array1::from_vec(self.tensor(name, &[len])?))
    }

    /// The 2-D tensor `name`, `rows × cols` (a weight is `out × in`).
    pub fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Array2<f32>, DecoderError> {
        let values = self.tensor(name, &[rows, cols])?;
        Ok(Array2::from_shape_vec((rows, cols), values).expect("shape checked above"))
    }
}

/// A metadata value of any integer type, if it fits an `i64`.
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::U8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::U64(x) => i64::try_from(*x).ok(),
        Value::I8(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::I64(x) => Some(*x),
        _ => None,
    }
}

/// A short description of a metadata value for error messages: its type
/// and, for scalars and strings, its value.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Array(items) => format!("array of {} values", items.len()),
        Value::Bool(b) => format!("bool {b}"),
        other => format!("{other:?}"),
    }
}

/// The GGUF file a `--model` path names: `path` itself when it is a file,
/// else the one `.gguf` file in the folder `path`.
///
/// # Errors
/// [`DecoderError::MissingFile`] when `path` does not exist,
/// [`DecoderError::NoGguf`] when the folder holds no `.gguf` file or more
/// than one.
pub fn resolve(path: &Path) -> Result<PathBuf, DecoderError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.is_dir() {
        return Err(DecoderError::MissingFile {
            path: path.to_path_buf(),
        });
    }
    let entries = std::fs::read_dir(path).map_err(|source| DecoderError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_gguf(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        _ => Err(DecoderError::NoGguf {
            dir: path.to_path_buf(),
            found: found
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect(),
        }),
    }
}

/// Whether `path` ends in `.gguf` (any case).
pub fn is_gguf(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}
