//! The golden model: the definition of what the generated hardware
//! computes, bit for bit, and of its fetch/hit/evict counters.
//!
//! Library use: build a [`Derived`] from a spec, a [`HeadInput`] (Q, K, V as
//! signed integers) and a [`RunConfig`] (mode, threshold, scale), then
//! [`run_head`] returns per-query outputs, keep vectors and counters.
//!
//! Per query t (absolute index i = query_base + t) the controller:
//! 1. keeps every key j < n_keys (baseline, or reuse-only), or asks the
//!    crossbar ([`crossbar`]) for the keep vector (pruning modes), which
//!    crosses the port in beats of `crossbar.cols` keys (beat b holds keys
//!    b·cols .. b·cols + cols − 1; [`QueryResult::xbar_keep`] is their
//!    concatenation, cut to the head's keys);
//! 2. masks keys j > i when the spec is causal;
//! 3. without reuse, empties the buffer; with reuse, keeps its rows;
//! 4. processes the kept keys already in the buffer (hits) in ascending key
//!    order, then fetches and processes the others (misses) in ascending
//!    key order, each fill choosing its slot by [`buffer`]'s policy. (The
//!    RTL finds them as key indices, lowest first, and sorts them into a
//!    hit list and a miss list by a key→slot table lookup before the first
//!    hit: residency is that of the buffer as the query starts, as here.)
//! 5. emits the output row ([`engine`]).
//!
//! Every head starts with an empty buffer.
//!
//! With several recompute cores ([`Derived::cores`]), [`dispatch`] gives
//! each query to one core; each core has its own buffer (its share of the
//! spec's bytes) and runs the steps above on its own queries, in order.
//! A query's result depends only on its core's buffer, so the cores'
//! interleaving in time changes no output and no counter: the counters are
//! kept per core ([`HeadResult::per_core`]) and summed.
//!
//! ```
//! use sprint_rtl::golden::{Derived, HeadInput, Mode, RunConfig, run_head};
//! use sprint_rtl::spec::Spec;
//!
//! let d = Derived::from_spec(&Spec::default_spec());
//! let row = |x: i32| vec![x; d.head_dim as usize];
//! let input = HeadInput {
//!     q: vec![row(3)],
//!     k: vec![row(1), row(-1)],
//!     v: vec![row(10), row(-10)],
//!     query_base: 0,
//!     head_id: 0,
//! };
//! // Scores ±192; a scale of 13653 (20 fractional bits) puts them 5 apart
//! // in the log2 domain, so the weights are 1 and 1/32.
//! let cfg = RunConfig { mode: Mode::Baseline, threshold: 0, scale: 13_653 };
//! let result = run_head(&d, &input, &cfg);
//! assert_eq!(result.counters.kept, 2);
//! assert_eq!(result.counters.fetches, 2);
//! // (10 − 10/32) / (1 + 1/32) = 9.39, with 8 fractional bits.
//! assert_eq!(result.queries[0].out[0] / 256, 9);
//! ```

pub mod axi;
pub mod buffer;
pub mod crossbar;
pub mod cycles;
mod derived;
pub mod dispatch;
pub mod emulator;
pub mod engine;
pub mod numerics;
pub mod reference;
pub mod shift_add;
pub mod workload;

pub use axi::AxiDerived;
pub use derived::Derived;
pub use emulator::EmuDerived;

use serde::Serialize;

use buffer::BufferTags;
use crossbar::Crossbar;

/// Runtime mode: the MODE CSR's two bits, `{reuse, prune}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// No pruning, no reuse: every key is fetched for every query.
    Baseline,
    /// Crossbar pruning; the buffer is emptied for every query.
    PruneOnly,
    /// No pruning; rows stay in the buffer across queries.
    ReuseOnly,
    /// Full SPRINT: pruning and reuse.
    Sprint,
}

impl Mode {
    /// The three modes the paper compares, in report order.
    pub const COMPARED: [Mode; 3] = [Mode::Baseline, Mode::PruneOnly, Mode::Sprint];

    /// MODE CSR value: bit 0 prune, bit 1 reuse.
    pub fn bits(self) -> u32 {
        match self {
            Mode::Baseline => 0b00,
            Mode::PruneOnly => 0b01,
            Mode::ReuseOnly => 0b10,
            Mode::Sprint => 0b11,
        }
    }

    pub fn prune(self) -> bool {
        self.bits() & 1 != 0
    }

    pub fn reuse(self) -> bool {
        self.bits() & 2 != 0
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Baseline => "baseline",
            Mode::PruneOnly => "prune-only",
            Mode::ReuseOnly => "reuse-only",
            Mode::Sprint => "sprint",
        }
    }
}

/// One head's data: signed `data_bits` integers, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadInput {
    /// Queries to run: n_queries × head_dim.
    pub q: Vec<Vec<i32>>,
    /// Keys: n_keys × head_dim, n_keys <= seq_len.
    pub k: Vec<Vec<i32>>,
    /// Values: n_keys × head_dim.
    pub v: Vec<Vec<i32>>,
    /// Absolute index of the first query (causal mask, read id).
    pub query_base: u32,
    /// Head id, sent in the crossbar's read id (16 bits used).
    pub head_id: u32,
}

/// Runtime configuration (the CSRs other than the head's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunConfig {
    pub mode: Mode,
    /// Crossbar threshold, in 2^-G units of a qmsb × kmsb product; must fit
    /// `threshold_bits` signed.
    pub threshold: i64,
    /// Score scale, [`numerics::SCALE_FRAC_BITS`] fractional bits.
    pub scale: u32,
}

/// What one query did and produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    /// Absolute query index.
    pub index: u32,
    /// Recompute core that ran it ([`dispatch::core_of`]).
    pub core: u32,
    /// The crossbar's raw keep vector over the head's keys (pruning modes).
    pub xbar_keep: Option<Vec<bool>>,
    /// Keys kept after pruning and masking (ascending).
    pub kept: Vec<u32>,
    /// Keys in the order the engine processed them: hits, then misses.
    pub order: Vec<u32>,
    pub hits: u32,
    pub fetches: u32,
    pub evicts: u32,
    /// Output row: head_dim signed `out_bits` integers.
    pub out: Vec<i32>,
}

/// Performance counters, as the CSRs count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Keys processed: kept after pruning and masking.
    pub kept: u64,
    /// K/V rows fetched from memory (the misses).
    pub fetches: u64,
    /// Kept keys found in the buffer.
    pub hits: u64,
    /// Fills that replaced a valid row.
    pub evicts: u64,
    /// Crossbar requests (one per query in the pruning modes).
    pub xbar_reads: u64,
}

impl Counters {
    /// Adds one query's counts; `xbar_read`: the crossbar was read for it.
    fn count(&mut self, q: &QueryResult, xbar_read: bool) {
        self.kept += q.kept.len() as u64;
        self.hits += u64::from(q.hits);
        self.fetches += u64::from(q.fetches);
        self.evicts += u64::from(q.evicts);
        self.xbar_reads += u64::from(xbar_read);
    }

    /// The design's counters: the sum of its cores'.
    pub fn total(per_core: &[Counters]) -> Counters {
        per_core.iter().fold(Counters::default(), |a, c| Counters {
            kept: a.kept + c.kept,
            fetches: a.fetches + c.fetches,
            hits: a.hits + c.hits,
            evicts: a.evicts + c.evicts,
            xbar_reads: a.xbar_reads + c.xbar_reads,
        })
    }
}

/// Results of one head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadResult {
    pub queries: Vec<QueryResult>,
    /// The whole design's counters: the sum of `per_core`.
    pub counters: Counters,
    /// Each core's counters, core 0 first (one entry per core of the spec).
    pub per_core: Vec<Counters>,
}

/// Runs one head through the golden model.
///
/// # Panics
/// If the input's shape does not fit the spec (more keys than seq_len, rows
/// of the wrong length).
pub fn run_head(d: &Derived, input: &HeadInput, cfg: &RunConfig) -> HeadResult {
    let mut queries = Vec::with_capacity(input.q.len());
    let per_core = stream_head(d, input, cfg, KeepVectors::Full, &mut |r| queries.push(r));
    HeadResult {
        queries,
        counters: Counters::total(&per_core),
        per_core,
    }
}

/// How much of the crossbar's keep vector [`stream_head`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepVectors {
    /// Every key's bit, as the crossbar port carries it
    /// ([`QueryResult::xbar_keep`]).
    Full,
    /// None: with a causal spec the crossbar then scores only the keys the
    /// mask allows (j ≤ i), since the others are never kept. Outputs, kept
    /// sets and counters are those of [`KeepVectors::Full`].
    Omitted,
}

/// Runs one head as [`run_head`] does, handing each query's result to
/// `sink` in query order instead of keeping them all, and returns each
/// core's counters ([`Counters::total`] sums them). Memory is one query's
/// result, not the head's.
///
/// # Panics
/// As [`run_head`].
pub fn stream_head(
    d: &Derived,
    input: &HeadInput,
    cfg: &RunConfig,
    keep_vectors: KeepVectors,
    sink: &mut dyn FnMut(QueryResult),
) -> Vec<Counters> {
    check_shape(d, input);
    let xbar = cfg.mode.prune().then(|| Crossbar::program(d, &input.k));
    let threshold = crossbar::sign_extend(cfg.threshold, d.threshold_bits);
    let mut tags = vec![BufferTags::new(d.slots as usize); d.cores as usize];
    let mut per_core = vec![Counters::default(); d.cores as usize];
    let n_keys = input.k.len() as u32;
    for (t, q) in input.q.iter().enumerate() {
        let index = input.query_base + t as u32;
        let core = dispatch::core_of(d, t as u32);
        let tags = &mut tags[core as usize];
        let allowed = if d.causal {
            n_keys.min(index.saturating_add(1))
        } else {
            n_keys
        };
        let scored = match keep_vectors {
            KeepVectors::Full => n_keys,
            KeepVectors::Omitted => allowed,
        };
        let xbar_keep = xbar.as_ref().map(|x| {
            let id = crossbar::read_id(input.head_id, index);
            x.keep_of(q, id, threshold, scored as usize)
        });
        let kept: Vec<u32> = (0..allowed)
            .filter(|&j| xbar_keep.as_ref().is_none_or(|k| k[j as usize]))
            .collect();
        if !cfg.mode.reuse() {
            tags.invalidate();
        }
        let mut result = process_query(d, tags, input, q, index, kept, cfg.scale);
        per_core[core as usize].count(&result, xbar_keep.is_some());
        if keep_vectors == KeepVectors::Full {
            result.xbar_keep = xbar_keep;
        }
        result.core = core;
        sink(result);
    }
    per_core
}

fn process_query(
    d: &Derived,
    tags: &mut BufferTags,
    input: &HeadInput,
    q: &[i32],
    index: u32,
    kept: Vec<u32>,
    scale: u32,
) -> QueryResult {
    tags.start_query();
    let (resident, missing): (Vec<u32>, Vec<u32>) =
        kept.iter().partition(|&&j| tags.lookup(j).is_some());
    for &j in &resident {
        tags.consume(tags.lookup(j).expect("resident"));
    }
    let evicts = missing
        .iter()
        .filter(|&&j| tags.fill(j).evicted.is_some())
        .count() as u32;
    let order: Vec<u32> = resident.iter().chain(&missing).copied().collect();
    let out = engine::attend(d, q, &input.k, &input.v, &order, scale);
    QueryResult {
        index,
        core: 0,
        xbar_keep: None,
        hits: resident.len() as u32,
        fetches: missing.len() as u32,
        evicts,
        kept,
        order,
        out,
    }
}

fn check_shape(d: &Derived, input: &HeadInput) {
    let dim = d.head_dim as usize;
    assert!(
        input.k.len() <= d.seq_len as usize,
        "more keys than seq_len"
    );
    assert_eq!(input.k.len(), input.v.len(), "K and V differ in rows");
    assert!(!input.k.is_empty(), "a head needs at least one key");
    for row in input.q.iter().chain(&input.k).chain(&input.v) {
        assert_eq!(row.len(), dim, "row length differs from head_dim");
    }
}
