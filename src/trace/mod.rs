//! Real-input traces: the per-layer, per-head Q, K and V of a text, as
//! float32 and as signed integers with their quantisation scales, stored in
//! a NumPy `.npz` archive.
//!
//! Members of the archive (every array little-endian, C order), `n` being
//! the token count and `head_dim` the model's head size (32 for
//! all-MiniLM-L6-v2):
//! - `tokens`: `uint32[n]`, the token ids (`[CLS] … [SEP]`);
//! - `data_bits`: `int32[1]`, the width of the integer arrays;
//! - `heads_per_layer`: `int32[1]`, the model's attention heads per layer
//!   (it sets the head ids, see [`head_id`]); traces written before this
//!   member existed lack it, and are read as having `1 +` the largest head
//!   index they hold;
//! - per head, with prefix `l{layer}h{head}_`: `q`, `k`, `v`
//!   (`float32[n, head_dim]`), `q_int`, `k_int`, `v_int`
//!   (`int16[n, head_dim]`, values in ±(2^(data_bits−1) − 1)), and `scales`
//!   (`float32[3]`: s_q, s_k, s_v).
//!
//! Quantisation is symmetric per tensor: `s = max|x| / (2^(b−1) − 1)`,
//! `x_int = round(x / s)`, so `x ≈ x_int · s`. Read in numpy with
//! `np.load(path)["l0h0_q"]`.
//!
//! A decoder's trace (`src/trace/decoder.rs`) writes each KV head's K and
//! V once, as `l{layer}kv{g}_…`, and a query head's `l{layer}h{head}_kv`
//! names it; [`Trace::read_npz`] gives each query head its KV head's K and V.

pub mod decoder;

use std::fs::File;
use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2};
use ndarray_npy::{NpzReader, NpzWriter};
use thiserror::Error;

use crate::golden::numerics::signed_range;
use crate::golden::{Derived, HeadInput, workload};
use crate::model::Forward;

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
    #[error(
        "{path}: the trace's heads have head_dim {found}, the spec's attention.head_dim is {spec}; \
         use a spec with head_dim {found}"
    )]
    HeadDim {
        path: String,
        found: usize,
        spec: u32,
    },
    /// A member whose shape, dtype range or values the trace format does
    /// not allow (see the module docs).
    #[error("{path}: member {member}: {found}; allowed: {allowed}")]
    Member {
        path: String,
        member: String,
        found: String,
        allowed: String,
    },
    #[error(
        "{path}: the trace's integers are {found}-bit, wider than the spec's \
         numerics.data_bits = {spec}; trace the model again with --data-bits {spec}"
    )]
    DataBits { path: String, found: u32, spec: u32 },
    #[error(
        "{layers} layers of {heads} heads do not fit the 16-bit head id \
         (layer · 2^{head_bits} + head): at most {max_layers} layers"
    )]
    HeadIdRange {
        layers: usize,
        heads: usize,
        head_bits: u32,
        max_layers: usize,
    },
}

/// Bits of the head index in a head id: `max(4, ⌈log2 heads_per_layer⌉)`.
fn head_bits(heads_per_layer: usize) -> u32 {
    heads_per_layer.next_power_of_two().trailing_zeros().max(4)
}

/// The head id of head `head` of layer `layer` (the HEAD_ID CSR, which
/// seeds the crossbar's read noise, [`crate::golden::crossbar::read_id`]):
/// `layer · 2^b + head` with `b = max(4, ⌈log2 heads_per_layer⌉)`, so
/// distinct heads of a model get distinct ids, and a model of at most 16
/// heads per layer (all-MiniLM-L6-v2: 12) gets `16 · layer + head`.
///
/// # Panics
/// If the id does not fit in 16 bits; [`check_head_ids`] tells beforehand.
pub fn head_id(layer: usize, head: usize, heads_per_layer: usize) -> u32 {
    assert!(head < heads_per_layer.max(1), "head {head} out of range");
    let id = (layer << head_bits(heads_per_layer)) | head;
    assert!(id <= 0xffff, "head id {id} exceeds 16 bits");
    id as u32
}

/// Checks that every head of a model of `layers` layers of `heads` heads
/// has a 16-bit [`head_id`].
///
/// # Errors
/// [`TraceError::HeadIdRange`], giving the most layers allowed.
pub fn check_head_ids(layers: usize, heads: usize) -> Result<(), TraceError> {
    let head_bits = head_bits(heads);
    let max_layers = 1usize << (16 - head_bits.min(16));
    if layers > max_layers {
        return Err(TraceError::HeadIdRange {
            layers,
            heads,
            head_bits,
            max_layers,
        });
    }
    Ok(())
}

/// One head of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceHead {
    pub layer: usize,
    pub head: usize,
    /// The head id sent to the crossbar, [`head_id`].
    pub head_id: u32,
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
    /// The model's attention heads per layer.
    pub heads_per_layer: usize,
    pub heads: Vec<TraceHead>,
}

/// Symmetric per-tensor quantisation to signed `bits` (see module docs).
pub fn quantise(x: &ArrayView2<f32>, bits: u32) -> (Array2<i16>, f32) {
    let max_int = *signed_range(bits).end() as f32;
    let max_abs = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max_abs > 0.0 {
        max_abs / max_int
    } else {
        1.0
    };
    let q = x.mapv(|v| (v / scale).round().clamp(-max_int, max_int) as i16);
    (q, scale)
}

/// A [`TraceError::Member`] of the archive at `path`.
fn member(path: &Path, name: &str, found: String, allowed: &str) -> TraceError {
    TraceError::Member {
        path: path.display().to_string(),
        member: name.to_string(),
        found,
        allowed: allowed.to_string(),
    }
}

/// What every Q/K/V array of one head must be: `tokens` rows of
/// `head_dim` (its Q's width, at least 1) columns, integers within signed
/// `data_bits`.
struct Shape<'a> {
    path: &'a Path,
    tokens: usize,
    head_dim: usize,
    data_bits: u32,
}

impl Shape<'_> {
    fn check_rows<T>(&self, name: &str, a: &Array2<T>) -> Result<(), TraceError> {
        let (rows, cols) = a.dim();
        if rows != self.tokens || cols != self.head_dim || cols == 0 {
            return Err(member(
                self.path,
                name,
                format!("shape ({rows}, {cols})"),
                &format!(
                    "(tokens, head_dim) = ({}, {}): a row per token, as wide as the head's \
                     q, at least 1",
                    self.tokens, self.head_dim
                ),
            ));
        }
        Ok(())
    }

    fn check_float(&self, name: &str, a: &Array2<f32>) -> Result<(), TraceError> {
        self.check_rows(name, a)
    }

    /// Rows as [`Shape::check_rows`], and every value a signed
    /// `data_bits`-bit integer.
    fn check_int(&self, name: &str, a: &Array2<i16>) -> Result<(), TraceError> {
        self.check_rows(name, a)?;
        let range = signed_range(self.data_bits);
        let (min, max) = (range.start(), range.end());
        match a.iter().map(|&x| i64::from(x)).find(|x| !range.contains(x)) {
            Some(x) => Err(member(
                self.path,
                name,
                format!("the value {x}"),
                &format!("{min}..={max} (signed data_bits = {})", self.data_bits),
            )),
            None => Ok(()),
        }
    }
}

/// The quantisation scales s_q, s_k, s_v: three finite positive numbers,
/// since every real value is the integer times its scale.
fn check_scales(path: &Path, name: &str, s: &Array1<f32>) -> Result<(), TraceError> {
    if s.len() != 3 || s.iter().any(|x| !x.is_finite() || *x <= 0.0) {
        return Err(member(
            path,
            name,
            format!("{s}"),
            "3 finite positive values (s_q, s_k, s_v)",
        ));
    }
    Ok(())
}

impl Trace {
    /// The trace of a forward pass, keeping the heads `select` lists as
    /// (layer, head), or every head when it is empty.
    ///
    /// # Panics
    /// If the model's heads do not have 16-bit head ids
    /// ([`check_head_ids`]).
    pub fn from_forward(
        fwd: &Forward,
        tokens: &[u32],
        data_bits: u32,
        select: &[(usize, usize)],
    ) -> Trace {
        let heads_per_layer = fwd.qkv.first().map_or(0, |x| x.q.shape()[0]);
        let mut heads = Vec::new();
        for (layer, qkv) in fwd.qkv.iter().enumerate() {
            for head in 0..heads_per_layer {
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
                    head_id: head_id(layer, head, heads_per_layer),
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
            heads_per_layer,
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
        crate::files::create_parent(path).map_err(|e| err(&e))?;
        let file = File::create(path).map_err(|e| err(&e))?;
        let mut npz = NpzWriter::new(file);
        npz.add_array("tokens", &Array1::from(self.tokens.clone()))
            .map_err(|e| err(&e))?;
        npz.add_array("data_bits", &Array1::from(vec![self.data_bits as i32]))
            .map_err(|e| err(&e))?;
        npz.add_array(
            "heads_per_layer",
            &Array1::from(vec![self.heads_per_layer as i32]),
        )
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
        let data_bits = match bits.as_slice() {
            Some(&[b]) if (4..=16).contains(&b) => b as u32,
            _ => {
                return Err(member(
                    path,
                    "data_bits",
                    format!("{bits}"),
                    "one value, 4..=16",
                ));
            }
        };
        if tokens.is_empty() {
            return Err(member(
                path,
                "tokens",
                "no token".into(),
                "at least one token",
            ));
        }
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
        let heads_per_layer = if names.iter().any(|n| n.starts_with("heads_per_layer")) {
            let h: Array1<i32> = npz
                .by_name("heads_per_layer")
                .map_err(|e| err(format!("member heads_per_layer: {e}")))?;
            match h.first() {
                Some(&h) if h > 0 => h as usize,
                _ => {
                    return Err(err(
                        "member heads_per_layer must hold one positive value".into()
                    ));
                }
            }
        } else {
            pairs.iter().map(|&(_, h)| h + 1).max().unwrap_or(0)
        };
        if let Some(&(l, h)) = pairs.iter().find(|&&(_, h)| h >= heads_per_layer) {
            return Err(err(format!(
                "head l{l}h{h} is out of range for heads_per_layer = {heads_per_layer}"
            )));
        }
        let layers = pairs.iter().map(|&(l, _)| l + 1).max().unwrap_or(0);
        check_head_ids(layers, heads_per_layer).map_err(|e| err(e.to_string()))?;
        let mut heads = Vec::new();
        for (layer, head) in pairs {
            let p = format!("l{layer}h{head}_");
            // A decoder's query head reads K and V from its shared KV head
            // (src/trace/decoder.rs); an encoder's head holds its own.
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
            let shape = Shape {
                path,
                tokens: tokens.len(),
                head_dim: q.ncols(),
                data_bits,
            };
            shape.check_float(&format!("{p}q"), &q)?;
            shape.check_float(&format!("{kv_p}k"), &k)?;
            shape.check_float(&format!("{kv_p}v"), &v)?;
            shape.check_int(&format!("{p}q_int"), &q_int)?;
            shape.check_int(&format!("{kv_p}k_int"), &k_int)?;
            shape.check_int(&format!("{kv_p}v_int"), &v_int)?;
            check_scales(path, &format!("{p}scales"), &s)?;
            heads.push(TraceHead {
                layer,
                head,
                head_id: head_id(layer, head, heads_per_layer),
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
            data_bits,
            heads_per_layer,
            heads,
        })
    }

    /// Checks that the trace's heads have the spec's `head_dim` columns.
    ///
    /// # Errors
    /// [`TraceError::HeadDim`], naming both sizes.
    pub fn check_head_dim(&self, path: &Path, head_dim: u32) -> Result<(), TraceError> {
        match self.heads.iter().find(|h| h.q.ncols() != head_dim as usize) {
            Some(h) => Err(TraceError::HeadDim {
                path: path.display().to_string(),
                found: h.q.ncols(),
                spec: head_dim,
            }),
            None => Ok(()),
        }
    }

    /// Reads a trace to run on the spec `d` ([`Trace::read_npz`]): its heads
    /// must have `attention.head_dim` columns ([`Trace::check_head_dim`])
    /// and its integers be at most `numerics.data_bits` wide (a narrower
    /// trace's values are in range of the wider datapath).
    ///
    /// # Errors
    /// As [`Trace::read_npz`], and [`TraceError::HeadDim`] or
    /// [`TraceError::DataBits`], naming both sizes.
    pub fn read_for(path: &Path, d: &Derived) -> Result<Trace, TraceError> {
        let trace = Trace::read_npz(path)?;
        trace.check_fits(path, d)?;
        Ok(trace)
    }

    fn check_fits(&self, path: &Path, d: &Derived) -> Result<(), TraceError> {
        self.check_head_dim(path, d.head_dim)?;
        if self.data_bits > d.data_bits {
            return Err(TraceError::DataBits {
                path: path.display().to_string(),
                found: self.data_bits,
                spec: d.data_bits,
            });
        }
        Ok(())
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
    /// queries and keys, with its [`TraceHead::head_id`].
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
            head_id: self.head_id,
        }
    }

    /// The golden model's input for the queries `queries` of this head
    /// against its first `n` keys: [`TraceHead::head_input`] with only
    /// those queries, `query_base` their first index.
    ///
    /// # Panics
    /// If `queries` reaches past `n`.
    pub fn slice_input(&self, n: usize, queries: std::ops::Range<usize>) -> HeadInput {
        assert!(queries.end <= n, "queries past the keys");
        let mut input = self.head_input(n);
        input.q.truncate(queries.end);
        input.q.drain(..queries.start);
        input.query_base = queries.start as u32;
        input
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

/// Where a [`QuerySlice`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryStart {
    /// At this query index (0 is the first token).
    At(usize),
    /// So that the slice ends at the head's last query: on a causal spec,
    /// the queries with the most keys.
    Last,
}

/// A query start that is neither `last` nor an index.
#[derive(Debug, PartialEq, Eq, Error)]
#[error("`{text}`: {source}; expected a query index or `last`")]
pub struct BadQueryStart {
    text: String,
    source: std::num::ParseIntError,
}

impl std::str::FromStr for QueryStart {
    type Err = BadQueryStart;

    /// `last`, or a query index.
    fn from_str(text: &str) -> Result<QueryStart, BadQueryStart> {
        match text.trim() {
            "last" => Ok(QueryStart::Last),
            t => t
                .parse()
                .map(QueryStart::At)
                .map_err(|source| BadQueryStart {
                    text: text.to_string(),
                    source,
                }),
        }
    }
}

/// Which queries of a head a run takes: `count` consecutive queries (all
/// from the start when `None`) from `start`.
///
/// One run is one contiguous block because the hardware numbers a run's
/// queries from its QUERY_BASE CSR: query t of the run has the absolute
/// index `QUERY_BASE + t`, which the causal mask (a key limit of index + 1)
/// and the crossbar's read id use, while the dispatcher gives it to core
/// `(t / 8) mod cores` by its position in the run. A head's keys are all
/// its tokens (at most `seq_len`) whatever the slice, as in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct QuerySlice {
    pub count: Option<usize>,
    pub start: Option<QueryStart>,
}

/// A [`QuerySlice`] that selects no query.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("--query-offset {offset}: the head has {queries} queries (0..{queries})")]
pub struct SliceError {
    pub offset: usize,
    pub queries: usize,
}

impl QuerySlice {
    /// Every query.
    pub const ALL: QuerySlice = QuerySlice {
        count: None,
        start: None,
    };

    /// The first `count` queries.
    pub fn first(count: usize) -> QuerySlice {
        QuerySlice {
            count: Some(count),
            start: None,
        }
    }

    /// The query indices of a head of `queries` queries: at least one,
    /// at most `count`, cut at the head's end.
    ///
    /// # Errors
    /// A start at or past the last query.
    pub fn range(&self, queries: usize) -> Result<std::ops::Range<usize>, SliceError> {
        let count = self.count.unwrap_or(queries).clamp(1, queries.max(1));
        let start = match self.start.unwrap_or(QueryStart::At(0)) {
            QueryStart::Last => queries.saturating_sub(count),
            QueryStart::At(k) if k < queries => k,
            QueryStart::At(offset) => return Err(SliceError { offset, queries }),
        };
        Ok(start..(start + count).min(queries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One head of 4 tokens of width 8, 8-bit, that reads back as written.
    fn small_trace() -> Trace {
        let f = Array2::<f32>::ones((4, 8));
        let i = Array2::<i16>::from_elem((4, 8), 100);
        Trace {
            tokens: vec![1, 2, 3, 4],
            data_bits: 8,
            heads_per_layer: 1,
            heads: vec![TraceHead {
                layer: 0,
                head: 0,
                head_id: 0,
                q: f.clone(),
                k: f.clone(),
                v: f,
                q_int: i.clone(),
                k_int: i.clone(),
                v_int: i,
                scales: [0.01; 3],
            }],
        }
    }

    /// The error of reading `trace` back, which must fail.
    fn read_error(trace: &Trace) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npz");
        trace.write_npz(&path).unwrap();
        match Trace::read_npz(&path) {
            Ok(_) => panic!("a bad trace was read"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_well_formed_trace_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npz");
        small_trace().write_npz(&path).unwrap();
        assert_eq!(Trace::read_npz(&path).unwrap(), small_trace());
    }

    #[test]
    fn arrays_of_the_wrong_shape_are_refused_by_name() {
        let mut t = small_trace();
        t.heads[0].k = Array2::ones((3, 8));
        let e = read_error(&t);
        assert!(e.contains("member l0h0_k: shape (3, 8)"), "{e}");
        assert!(e.contains("(tokens, head_dim) = (4, 8)"), "{e}");

        let mut t = small_trace();
        t.heads[0].v_int = Array2::zeros((4, 4));
        assert!(read_error(&t).contains("member l0h0_v_int: shape (4, 4)"));

        let mut t = small_trace();
        t.tokens.pop();
        assert!(read_error(&t).contains("member l0h0_q: shape (4, 8)"));

        let mut t = small_trace();
        t.tokens.clear();
        let h = &mut t.heads[0];
        for a in [&mut h.q, &mut h.k, &mut h.v] {
            *a = Array2::zeros((0, 8));
        }
        assert!(read_error(&t).contains("member tokens: no token"));
    }

    #[test]
    fn integers_and_scales_outside_the_format_are_refused() {
        let mut t = small_trace();
        t.heads[0].q_int[[2, 3]] = 128;
        let e = read_error(&t);
        assert!(e.contains("member l0h0_q_int: the value 128"), "{e}");
        assert!(e.contains("-128..=127"), "{e}");

        for bad in [f32::NAN, f32::INFINITY, 0.0, -1.0] {
            let mut t = small_trace();
            t.heads[0].scales[1] = bad;
            let e = read_error(&t);
            assert!(e.contains("member l0h0_scales"), "{bad}: {e}");
            assert!(e.contains("3 finite positive values"), "{bad}: {e}");
        }

        let mut t = small_trace();
        t.data_bits = 0;
        assert!(read_error(&t).contains("member data_bits: [0]; allowed: one value, 4..=16"));
    }

    #[test]
    fn a_trace_wider_than_the_spec_does_not_fit() {
        let spec =
            crate::spec::Spec::parse("tiny.yaml", include_str!("../../specs/tiny.yaml")).unwrap();
        let mut d = Derived::from_spec(&spec);
        let path = Path::new("t.npz");
        assert!(small_trace().check_fits(path, &d).is_ok());
        d.data_bits = 4;
        let e = small_trace().check_fits(path, &d).unwrap_err().to_string();
        assert!(
            e.contains("8-bit, wider than the spec's numerics.data_bits = 4"),
            "{e}"
        );
    }

    #[test]
    fn query_slices_start_where_asked_and_stop_at_the_head_end() {
        let at = |k, n| QuerySlice {
            count: Some(n),
            start: Some(QueryStart::At(k)),
        };
        let last = |n| QuerySlice {
            count: Some(n),
            start: Some(QueryStart::Last),
        };
        assert_eq!(QuerySlice::ALL.range(10), Ok(0..10));
        assert_eq!(QuerySlice::first(4).range(10), Ok(0..4));
        assert_eq!(QuerySlice::first(40).range(10), Ok(0..10));
        assert_eq!(at(6, 3).range(10), Ok(6..9));
        assert_eq!(at(8, 3).range(10), Ok(8..10));
        assert_eq!(last(3).range(10), Ok(7..10));
        assert_eq!(last(30).range(10), Ok(0..10));
        assert_eq!(
            at(10, 1).range(10),
            Err(SliceError {
                offset: 10,
                queries: 10
            })
        );
        assert_eq!("last".parse(), Ok(QueryStart::Last));
        assert_eq!("12".parse(), Ok(QueryStart::At(12)));
        assert!("end".parse::<QueryStart>().is_err());
    }
}
