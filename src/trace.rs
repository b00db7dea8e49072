//! Real-input traces: the per-layer, per-head Q, K and V of a text, as
//! float32 and as signed integers with their quantisation scales, stored in
//! a NumPy `.npz` archive.
//!
//! Members of the archive (every array little-endian, C order):
//! - `tokens`: `uint32[n]`, the token ids (`[CLS] … [SEP]`);
//! - `data_bits`: `int32[1]`, the width of the integer arrays;
//! - per head, with prefix `l{layer}h{head}_`: `q`, `k`, `v` (`float32[n, 32]`),
//!   `q_int`, `k_int`, `v_int` (`int16[n, 32]`, values in
//!   ±(2^(data_bits−1) − 1)), and `scales` (`float32[3]`: s_q, s_k, s_v).
//!
//! Quantisation is symmetric per tensor: `s = max|x| / (2^(b−1) − 1)`,
//! `x_int = round(x / s)`, so `x ≈ x_int · s`. Read in numpy with
//! `np.load(path)["l0h0_q"]`.
//!
//! A decoder's trace (`src/trace_decoder.rs`) writes each KV head's K and
//! V once, as `l{layer}kv{g}_…`, and a query head's `l{layer}h{head}_kv`
//! names it; [`Trace::read_npz`] gives each query head its KV head's K and V.

use std::fs::File;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2};
use ndarray_npy::{NpzReader, NpzWriter};
use thiserror::Error;

use crate::golden::HeadInput;
use crate::model::{Forward, MiniLm};
use crate::sim::workload;
use crate::spec::Derived;

/// Trace errors.
#[derive(Debug, Error)]
pub enum TraceError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: no head l{layer}h{head} in the trace (it holds {available})")]
    NoHead {
        path: String,
        layer: usize,
        head: usize,
        available: String,
    },
}

/// One head of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceHead {
    pub layer: usize,
    pub head: usize,
    /// Float Q, K, V: tokens × head_dim.
    pub q: Array2<f32>,
    pub k: Array2<f32>,
    pub v: Array2<f32>,
    /// Quantised Q, K, V: tokens × head_dim, signed `data_bits`.
    pub q_int: Array2<i16>,
    pub k_int: Array2<i16>,
    pub v_int: Array2<i16>,
    /// Quantisation scales (s_q, s_k, s_v): real value = integer × scale.
    pub scales: [f32; 3],
}

/// The Q, K, V of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub tokens: Vec<u32>,
    pub data_bits: u32,
    pub heads: Vec<TraceHead>,
}

/// Symmetric per-tensor quantisation to signed `bits` (see module docs).
pub fn quantise(x: &ArrayView2<f32>, bits: u32) -> (Array2<i16>, f32) {
    let max_int = ((1i32 << (bits - 1)) - 1) as f32;
    let max_abs = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max_abs > 0.0 {
        max_abs / max_int
    } else {
        1.0
    };
    let q = x.mapv(|v| (v / scale).round().clamp(-max_int, max_int) as i16);
    (q, scale)
}

impl Trace {
    /// The trace of a forward pass, keeping the heads `select` lists as
    /// (layer, head), or every head when it is empty.
    pub fn from_forward(
        fwd: &Forward,
        tokens: &[u32],
        data_bits: u32,
        select: &[(usize, usize)],
    ) -> Trace {
        let mut heads = Vec::new();
        for (layer, qkv) in fwd.qkv.iter().enumerate() {
            for head in 0..MiniLm::HEADS {
                if !select.is_empty() && !select.contains(&(layer, head)) {
                    continue;
                }
                let pick =
                    |a: &ndarray::Array3<f32>| a.index_axis(ndarray::Axis(0), head).to_owned();
                let (q, k, v) = (pick(&qkv.q), pick(&qkv.k), pick(&qkv.v));
                let (q_int, sq) = quantise(&q.view(), data_bits);
                let (k_int, sk) = quantise(&k.view(), data_bits);
                let (v_int, sv) = quantise(&v.view(), data_bits);
                heads.push(TraceHead {
                    layer,
                    head,
                    q,
                    k,
                    v,
                    q_int,
                    k_int,
                    v_int,
                    scales: [sq, sk, sv],
                });
            }
        }
        Trace {
            tokens: tokens.to_vec(),
            data_bits,
            heads,
        }
    }

    /// Writes the `.npz` archive.
    ///
    /// # Errors
    /// Any I/O or encoding error, naming the path.
    pub fn write_npz(&self, path: &Path) -> Result<(), TraceError> {
        let err = |e: &dyn std::fmt::Display| TraceError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let file = File::create(path).map_err(|e| err(&e))?;
        let mut npz = NpzWriter::new(file);
        npz.add_array("tokens", &Array1::from(self.tokens.clone()))
            .map_err(|e| err(&e))?;
        npz.add_array("data_bits", &Array1::from(vec![self.data_bits as i32]))
            .map_err(|e| err(&e))?;
        for h in &self.heads {
            let p = format!("l{}h{}_", h.layer, h.head);
            for (name, a) in [("q", &h.q), ("k", &h.k), ("v", &h.v)] {
                npz.add_array(format!("{p}{name}"), a)
                    .map_err(|e| err(&e))?;
            }
            for (name, a) in [
                ("q_int", &h.q_int),
                ("k_int", &h.k_int),
                ("v_int", &h.v_int),
            ] {
                npz.add_array(format!("{p}{name}"), a)
                    .map_err(|e| err(&e))?;
            }
            npz.add_array(format!("{p}scales"), &Array1::from(h.scales.to_vec()))
                .map_err(|e| err(&e))?;
        }
        npz.finish().map_err(|e| err(&e))?;
        Ok(())
    }

    /// Reads an archive written by [`Trace::write_npz`].
    ///
    /// # Errors
    /// A missing file, a malformed archive or a missing member.
    pub fn read_npz(path: &Path) -> Result<Trace, TraceError> {
        let err = |m: String| TraceError::File {
            path: path.display().to_string(),
            message: m,
        };
        let file = File::open(path).map_err(|e| err(format!("cannot open trace: {e}")))?;
        let mut npz = NpzReader::new(file).map_err(|e| err(format!("not an .npz archive: {e}")))?;
        let names = npz.names().map_err(|e| err(e.to_string()))?;
        let tokens: Array1<u32> = npz
            .by_name("tokens")
            .map_err(|e| err(format!("member tokens: {e}")))?;
        let bits: Array1<i32> = npz
            .by_name("data_bits")
            .map_err(|e| err(format!("member data_bits: {e}")))?;
        let mut pairs: Vec<(usize, usize)> = names
            .iter()
            .filter_map(|n| {
                let rest = n
                    .strip_suffix("_scales.npy")
                    .or_else(|| n.strip_suffix("_scales"))?;
                let (l, h) = rest.strip_prefix('l')?.split_once('h')?;
                Some((l.parse().ok()?, h.parse().ok()?))
            })
            .collect();
        pairs.sort_unstable();
        let mut heads = Vec::new();
        for (layer, head) in pairs {
            let p = format!("l{layer}h{head}_");
            // A decoder's query head reads K and V from its shared KV head
            // (src/trace_decoder.rs); an encoder's head holds its own.
            let kv: Option<Array1<i32>> = npz.by_name(&format!("{p}kv")).ok();
            let kv_p = match kv.as_ref().and_then(|g| g.first()) {
                Some(g) => format!("l{layer}kv{g}_"),
                None => p.clone(),
            };
            let mut f = |m: String| -> Result<Array2<f32>, TraceError> {
                npz.by_name(&m).map_err(|e| err(format!("member {m}: {e}")))
            };
            let (q, k, v) = (
                f(format!("{p}q"))?,
                f(format!("{kv_p}k"))?,
                f(format!("{kv_p}v"))?,
            );
            let mut i = |m: String| -> Result<Array2<i16>, TraceError> {
                npz.by_name(&m).map_err(|e| err(format!("member {m}: {e}")))
            };
            let (q_int, k_int, v_int) = (
                i(format!("{p}q_int"))?,
                i(format!("{kv_p}k_int"))?,
                i(format!("{kv_p}v_int"))?,
            );
            let s: Array1<f32> = npz
                .by_name(&format!("{p}scales"))
                .map_err(|e| err(format!("member {p}scales: {e}")))?;
            if s.len() != 3 {
                return Err(err(format!("member {p}scales must hold 3 values")));
            }
            heads.push(TraceHead {
                layer,
                head,
                q,
                k,
                v,
                q_int,
                k_int,
                v_int,
                scales: [s[0], s[1], s[2]],
            });
        }
        Ok(Trace {
            tokens: tokens.to_vec(),
            data_bits: bits.first().copied().unwrap_or(8) as u32,
            heads,
        })
    }

    /// The head (layer, head), or an error listing what the trace holds.
    pub fn head(&self, path: &Path, layer: usize, head: usize) -> Result<&TraceHead, TraceError> {
        self.heads
            .iter()
            .find(|h| h.layer == layer && h.head == head)
            .ok_or_else(|| TraceError::NoHead {
                path: path.display().to_string(),
                layer,
                head,
                available: self
                    .heads
                    .iter()
                    .map(|h| format!("l{}h{}", h.layer, h.head))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl TraceHead {
    /// Tokens of the head.
    pub fn tokens(&self) -> usize {
        self.q.nrows()
    }

    /// The golden model's input for this head: the first `n` tokens as
    /// queries and keys, with head id `layer · 16 + head`.
    pub fn head_input(&self, n: usize) -> HeadInput {
        let rows = |a: &Array2<i16>| -> Vec<Vec<i32>> {
            a.outer_iter()
                .take(n)
                .map(|r| r.iter().map(|&x| i32::from(x)).collect())
                .collect()
        };
        HeadInput {
            q: rows(&self.q_int),
            k: rows(&self.k_int),
            v: rows(&self.v_int),
            query_base: 0,
            head_id: (self.layer * 16 + self.head) as u32,
        }
    }

    /// The SCALE CSR of this head: its quantisation scales s_q · s_k folded
    /// with log2(e) / sqrt(head_dim) ([`workload::scale_csr`]).
    pub fn scale_csr(&self, d: &Derived) -> u32 {
        workload::scale_csr(d, f64::from(self.scales[0]) * f64::from(self.scales[1]))
    }

    /// Float rows of the first `n` tokens, as f64.
    pub fn float_rows(a: &Array2<f32>, n: usize) -> Vec<Vec<f64>> {
        a.outer_iter()
            .take(n)
            .map(|r| r.iter().map(|&x| f64::from(x)).collect())
            .collect()
    }
}
