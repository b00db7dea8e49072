//! Traces of a grouped-query causal decoder ([`Llama`]): each query head's
//! Q after RoPE, each KV head's K after RoPE and V written once, with the
//! query heads that share it, in the `.npz` conventions of
//! [`crate::trace`] (symmetric per-tensor quantisation, `tokens`,
//! `data_bits`, `l{layer}h{head}_` members).
//!
//! Members beyond the encoder's (every array little-endian, C order; `n`
//! tokens, `d` the head dimension):
//! - `causal`: `uint8[1]` = 1, the trace of a causal decoder;
//! - `config`: `int32[5]`: layers, query heads, KV heads, `d`, context
//!   length of the model;
//! - per recorded query head, prefix `l{layer}h{head}_`: `q` (`float32[n,
//!   d]`, after RoPE), `q_int` (`int16[n, d]`), `scales` (`float32[3]`:
//!   s_q, then s_k and s_v of its KV head, so `scales` reads as an
//!   encoder head's), and `kv` (`int32[1]`: the KV head it reads);
//! - per KV head read by a recorded query head, prefix `l{layer}kv{g}_`:
//!   `k` (after RoPE) and `v` (`float32[n, d]`), `k_int` and `v_int`
//!   (`int16[n, d]`), `scales` (`float32[2]`: s_k, s_v) and `heads`
//!   (`int32[heads / kv_heads]`: every query head that shares it).
//!
//! [`crate::trace::Trace::read_npz`] reads such a file as one
//! [`crate::trace::TraceHead`] per recorded query head, its K and V taken
//! from its KV head's members.

use std::fs::File;
use std::path::Path;

use ndarray::{Array1, Array2, Axis};
use ndarray_npy::NpzWriter;

use super::{TraceError, quantise};
use crate::model::{DecoderError, DecoderLayerQkv, Llama, LlamaConfig, causal_attention};

/// One recorded query head.
#[derive(Debug, Clone)]
pub struct QueryHead {
    /// Layer index.
    pub layer: usize,
    /// Query head index within the layer.
    pub head: usize,
    /// The KV head it reads, `head / (heads / kv_heads)`.
    pub kv_head: usize,
    /// Queries after RoPE, `n × d`.
    pub q: Array2<f32>,
    /// `q` quantised to signed `data_bits`, `n × d`.
    pub q_int: Array2<i16>,
    /// The scale of `q_int`: `q ≈ q_int · s_q`.
    pub s_q: f32,
}

/// One recorded KV head.
#[derive(Debug, Clone)]
pub struct KvHead {
    /// Layer index.
    pub layer: usize,
    /// KV head index within the layer.
    pub kv_head: usize,
    /// Every query head that reads it.
    pub heads: Vec<usize>,
    /// Keys after RoPE, `n × d`.
    pub k: Array2<f32>,
    /// Values, `n × d`.
    pub v: Array2<f32>,
    /// `k` quantised, `n × d`.
    pub k_int: Array2<i16>,
    /// `v` quantised, `n × d`.
    pub v_int: Array2<i16>,
    /// Scales of `k_int` and `v_int`.
    pub s_k: f32,
    /// Scale of `v_int`.
    pub s_v: f32,
}

/// The Q, K, V of a text through a decoder, for selected query heads.
#[derive(Debug, Clone)]
pub struct DecoderTrace {
    /// The token ids.
    pub tokens: Vec<u32>,
    /// Width of the integer arrays.
    pub data_bits: u32,
    /// The model's hyper-parameters.
    pub config: LlamaConfig,
    /// The recorded query heads, in (layer, head) order.
    pub heads: Vec<QueryHead>,
    /// The KV heads they read, in (layer, KV head) order.
    pub kv_heads: Vec<KvHead>,
}

/// A selected query head that the model does not have.
#[derive(Debug, thiserror::Error)]
#[error("--head {layer}:{head}: the model has layers 0..{layers} and query heads 0..{heads}")]
pub struct NoSuchHead {
    /// The selected layer.
    pub layer: usize,
    /// The selected query head.
    pub head: usize,
    /// The model's layer count.
    pub layers: usize,
    /// The model's query heads per layer.
    pub heads: usize,
}

/// Checks that every selected (layer, head) exists in `config`.
///
/// # Errors
/// The first selected head outside the model's ranges.
pub fn check_selection(config: &LlamaConfig, select: &[(usize, usize)]) -> Result<(), NoSuchHead> {
    match select
        .iter()
        .find(|&&(l, h)| l >= config.layers || h >= config.heads)
    {
        Some(&(layer, head)) => Err(NoSuchHead {
            layer,
            head,
            layers: config.layers,
            heads: config.heads,
        }),
        None => Ok(()),
    }
}

impl DecoderTrace {
    /// Runs `model` on `ids` with exact causal attention and records the
    /// query heads `select` lists as (layer, head), or every head when it
    /// is empty, with the KV heads they read. Only these are kept: memory
    /// is the recorded heads plus one layer of activations.
    ///
    /// # Errors
    /// The forward pass's errors (no tokens, too many, bad ids).
    pub fn record(
        model: &Llama,
        ids: &[u32],
        data_bits: u32,
        select: &[(usize, usize)],
    ) -> Result<DecoderTrace, DecoderError> {
        let config = model.config().clone();
        let wanted = |l: usize, h: usize| select.is_empty() || select.contains(&(l, h));
        let mut heads = Vec::new();
        let mut kv_heads = Vec::new();
        let mut keep = |layer: usize, qkv: &DecoderLayerQkv| {
            let mut kv_used = vec![false; config.kv_heads];
            for head in (0..config.heads).filter(|&h| wanted(layer, h)) {
                let q = qkv.q.index_axis(Axis(0), head).to_owned();
                let (q_int, s_q) = quantise(&q.view(), data_bits);
                let kv_head = config.kv_head_of(head);
                kv_used[kv_head] = true;
                heads.push(QueryHead {
                    layer,
                    head,
                    kv_head,
                    q,
                    q_int,
                    s_q,
                });
            }
            for (kv_head, _) in kv_used.iter().enumerate().filter(|(_, u)| **u) {
                let k = qkv.k.index_axis(Axis(0), kv_head).to_owned();
                let v = qkv.v.index_axis(Axis(0), kv_head).to_owned();
                let (k_int, s_k) = quantise(&k.view(), data_bits);
                let (v_int, s_v) = quantise(&v.view(), data_bits);
                kv_heads.push(KvHead {
                    layer,
                    kv_head,
                    heads: (0..config.heads)
                        .filter(|&h| config.kv_head_of(h) == kv_head)
                        .collect(),
                    k,
                    v,
                    k_int,
                    v_int,
                    s_k,
                    s_v,
                });
            }
        };
        model.forward_with(
            ids,
            &mut |_, _, q, k, v| causal_attention(q, k, v),
            &mut keep,
        )?;
        Ok(DecoderTrace {
            tokens: ids.to_vec(),
            data_bits,
            config,
            heads,
            kv_heads,
        })
    }

    /// Writes the `.npz` archive (see the module docs) to `PATH.partial`
    /// and renames it to `path`, so a failure leaves no partial file.
    ///
    /// # Errors
    /// Any I/O or encoding error, naming the path.
    pub fn write_npz(&self, path: &Path) -> Result<(), TraceError> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        crate::files::create_parent(path).map_err(|e| TraceError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let result = self.write_to(&partial, path).and_then(|()| {
            std::fs::rename(&partial, path).map_err(|e| TraceError::File {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    /// Writes the archive to `file`; errors name `path`.
    fn write_to(&self, file: &Path, path: &Path) -> Result<(), TraceError> {
        let err = |e: &dyn std::fmt::Display| TraceError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let file = File::create(file).map_err(|e| err(&e))?;
        let mut npz = NpzWriter::new(file);
        let c = &self.config;
        let config = [c.layers, c.heads, c.kv_heads, c.head_dim, c.context];
        let ints = |v: &[usize]| Array1::from_iter(v.iter().map(|&x| x as i32));
        npz.add_array("tokens", &Array1::from(self.tokens.clone()))
            .map_err(|e| err(&e))?;
        npz.add_array("data_bits", &Array1::from(vec![self.data_bits as i32]))
            .map_err(|e| err(&e))?;
        npz.add_array("causal", &Array1::from(vec![1u8]))
            .map_err(|e| err(&e))?;
        npz.add_array("config", &ints(&config))
            .map_err(|e| err(&e))?;
        for h in &self.heads {
            let p = format!("l{}h{}_", h.layer, h.head);
            let kv = self.kv_of(h);
            npz.add_array(format!("{p}q"), &h.q).map_err(|e| err(&e))?;
            npz.add_array(format!("{p}q_int"), &h.q_int)
                .map_err(|e| err(&e))?;
            npz.add_array(
                format!("{p}scales"),
                &Array1::from(vec![h.s_q, kv.s_k, kv.s_v]),
            )
            .map_err(|e| err(&e))?;
            npz.add_array(format!("{p}kv"), &ints(&[h.kv_head]))
                .map_err(|e| err(&e))?;
        }
        for g in &self.kv_heads {
            let p = format!("l{}kv{}_", g.layer, g.kv_head);
            for (name, a) in [("k", &g.k), ("v", &g.v)] {
                npz.add_array(format!("{p}{name}"), a)
                    .map_err(|e| err(&e))?;
            }
            for (name, a) in [("k_int", &g.k_int), ("v_int", &g.v_int)] {
                npz.add_array(format!("{p}{name}"), a)
                    .map_err(|e| err(&e))?;
            }
            npz.add_array(format!("{p}scales"), &Array1::from(vec![g.s_k, g.s_v]))
                .map_err(|e| err(&e))?;
            npz.add_array(format!("{p}heads"), &ints(&g.heads))
                .map_err(|e| err(&e))?;
        }
        npz.finish().map_err(|e| err(&e))?;
        Ok(())
    }

    /// The KV head query head `h` reads.
    fn kv_of(&self, h: &QueryHead) -> &KvHead {
        self.kv_heads
            .iter()
            .find(|g| g.layer == h.layer && g.kv_head == h.kv_head)
            .expect("every recorded query head's KV head is recorded")
    }
}
