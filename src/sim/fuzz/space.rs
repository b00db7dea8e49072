//! Random valid specs, biased towards the corners of the spec space.
//!
//! Every draw is a pure function of `(seed, index)`: a counter-based
//! generator over [`crossbar::mix`] (SplitMix64's finaliser), so design
//! `i` of `fuzz --seed S` is the same on every machine and whatever the
//! other designs were. Each field is drawn by one function of this file
//! from its range in [`crate::spec`], half of the time or so at a corner
//! (its bounds, or a value another field makes special); a new spec field
//! needs one more line in [`draw_spec`].
//!
//! The draw is also kept affordable for a short co-simulation: a design
//! whose one query would take more than [`MAX_QUERY_CYCLES`] in the
//! baseline mode is drawn again (up to [`MAX_REDRAWS`] times, then its
//! sequence is cut to fit), and the number of queries is chosen so that a mode
//! runs about [`MODE_CYCLES`] cycles.

use serde::Serialize;

use crate::golden::Derived;
use crate::golden::crossbar;
use crate::golden::cycles::{self, EngineTimeline};
use crate::spec::{
    self, Attention, Buffer, Crossbar, Emulator, EmulatorNoise, MAX_CORES, MAX_SLOTS, Memory,
    Noise, Numerics, PortRatio, Recompute, Replacement, ResetStyle, Rtl, Spec,
};

/// Largest `attention.seq_len` a spec allows.
pub const MAX_SEQ_LEN: u32 = 16_384;
/// Largest `attention.head_dim` a spec allows.
pub const MAX_HEAD_DIM: u32 = 256;
/// Largest `buffer.bytes` a spec allows.
const MAX_BUFFER_BYTES: u32 = 1 << 20;

/// Most estimated cycles of one baseline query: a design beyond it is
/// drawn again.
pub const MAX_QUERY_CYCLES: u64 = 400_000;
/// Cycles a mode aims at when the number of queries is chosen.
pub const MODE_CYCLES: u64 = 60_000;
/// Most queries per head in a random design's co-simulation.
pub const MAX_QUERIES: u32 = 8;
/// Redraws of a design too slow to simulate before its sequence is cut.
pub const MAX_REDRAWS: u64 = 16;

/// The corners a design hits; [`Drawn::corners`] lists them, and the unit
/// tests check that each occurs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Corner {
    OneLane,
    LanesEqualHeadDim,
    TwoSlotBuffer,
    WholeHeadBuffer,
    SeqLenNotPowerOfTwo,
    SeqLenAtLimit,
    Causal,
    ResetAsyncLow,
    ResetAsyncHigh,
    ResetSyncLow,
    ResetSyncHigh,
    KeyMsbOneBit,
    KeyMsbAllBits,
    QueryMsbOneBit,
    QueryMsbAllBits,
    KeepsNothing,
    KeepsEverything,
    DataBitsMin,
    DataBitsMax,
    OutBitsMax,
    HeadDimMin,
    HeadDimMax,
    ThresholdBitsMin,
    ThresholdBitsMax,
    MultiCore,
    MaxCores,
}

/// A random design and how to co-simulate it.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    /// A spec that passes [`Spec::validate`].
    pub spec: Spec,
    /// Queries per head (1..=[`MAX_QUERIES`], at most seq_len).
    pub queries: u32,
    /// The synthetic head's keep fraction (0..=1), as in
    /// [`super::super::verify::VerifyOptions::keep_fraction`].
    pub keep_fraction: f64,
    /// Testbench idle and back-pressure chances, in percent (0..=90).
    pub idle_percent: u32,
    pub stall_percent: u32,
    /// The corners it hits, sorted.
    pub corners: Vec<Corner>,
}

/// A counter-based generator: draw `n` of stream `seed` is
/// `mix(mix(seed) ^ n)`.
#[derive(Debug, Clone)]
pub struct Draws {
    key: u64,
    counter: u64,
}

impl Draws {
    /// The stream of `seed`, starting at draw 0.
    pub fn new(seed: u64) -> Draws {
        Draws {
            key: crossbar::mix(seed ^ 0x4655_5a5a), // "FUZZ"
            counter: 0,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        crossbar::mix(self.key ^ crossbar::mix(self.counter))
    }

    /// Uniform in `lo..=hi` (`lo <= hi`).
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next_u64() % 100 < u64::from(percent)
    }

    /// One of `items`, uniformly.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// Log-uniform in `lo..=hi` (`1 <= lo <= hi`): small values as likely
    /// per octave as large ones.
    pub fn log_range(&mut self, lo: u32, hi: u32) -> u32 {
        let (a, b) = (f64::from(lo).ln(), f64::from(hi + 1).ln());
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((a + u * (b - a)).exp() as u32).clamp(lo, hi)
    }

    /// `lo` or `hi` with `corner` percent chance (half each), else
    /// log-uniform between them.
    fn cornered(&mut self, lo: u32, hi: u32, corner: u32) -> u32 {
        if self.chance(corner) {
            if self.chance(50) { lo } else { hi }
        } else {
            self.log_range(lo, hi)
        }
    }
}

/// How big a drawn design may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Size {
    /// Every field over its whole range.
    #[default]
    Full,
    /// The same draw cut to [`SMALL`]'s bounds, for a quick slice (CI):
    /// seconds of build and simulation per design.
    Small,
}

/// Bounds of [`Size::Small`]: seq_len, head_dim, cores, buffer slots per
/// core, crossbar rows and columns, crossbar and memory latencies.
pub const SMALL: SmallBounds = SmallBounds {
    seq_len: 48,
    head_dim: 16,
    cores: 2,
    slots: 16,
    array: 64,
    xbar_latency: 16,
    mem_latency: 32,
};

/// See [`SMALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallBounds {
    pub seq_len: u32,
    pub head_dim: u32,
    pub cores: u32,
    pub slots: u32,
    pub array: u32,
    pub xbar_latency: u32,
    pub mem_latency: u32,
}

/// Design `index` of fuzz seed `seed`, named `fuzz<seed>_<index>`, of
/// size `size`.
pub fn draw_sized(seed: u64, index: u32, size: Size) -> Drawn {
    let mut drawn = draw(seed, index);
    if size == Size::Small {
        let spec = &mut drawn.spec;
        let b = SMALL;
        spec.attention.seq_len = spec.attention.seq_len.min(b.seq_len);
        if spec.attention.head_dim > b.head_dim {
            super::shrink::set_head_dim(spec, b.head_dim);
        }
        if spec.recompute.cores > b.cores {
            super::shrink::set_cores(spec, b.cores);
        }
        let slots = super::shrink::slots(spec);
        super::shrink::set_slots(spec, slots.min(b.slots));
        let x = &mut spec.crossbar;
        x.rows = x.rows.min(b.array);
        x.cols = x.cols.min(b.array);
        x.latency_cycles = x.latency_cycles.min(b.xbar_latency);
        spec.memory.latency_cycles = spec.memory.latency_cycles.min(b.mem_latency);
        // Fewer dimensions (set_head_dim) keep the row whole bytes.
        assert!(fit_memory_port(spec), "a small draw has a fetch port");
        drawn.queries = drawn.queries.min(spec.attention.seq_len);
        drawn.corners = corners_of(spec, drawn.keep_fraction);
    }
    drawn
}

/// Design `index` of fuzz seed `seed`, named `fuzz<seed>_<index>`.
pub fn draw(seed: u64, index: u32) -> Drawn {
    let stream = crossbar::mix(seed) ^ u64::from(index);
    let name = format!("fuzz{seed}_{index}");
    let mut redraw = 0;
    loop {
        let mut r = Draws::new(stream.wrapping_add(redraw << 32));
        let mut spec = draw_spec(&mut r, &name);
        if !fit_memory_port(&mut spec) {
            redraw += 1;
            continue;
        }
        debug_assert!(spec.validate().is_ok(), "{:?}", spec.validate());
        let per_key = baseline_key_cycles(&spec);
        if per_key * u64::from(spec.attention.seq_len) <= MAX_QUERY_CYCLES || redraw == MAX_REDRAWS
        {
            let cap = (MAX_QUERY_CYCLES / per_key).max(2) as u32;
            spec.attention.seq_len = spec.attention.seq_len.min(cap);
            return finish(&mut r, spec, per_key);
        }
        redraw += 1;
    }
}

/// Every field, each from its own function.
fn draw_spec(r: &mut Draws, name: &str) -> Spec {
    let attention = attention(r);
    let numerics = numerics(r);
    let recompute = recompute(r, attention.head_dim);
    let crossbar = crossbar(r, numerics.data_bits);
    let buffer = buffer(r, &attention, &numerics, recompute.cores);
    Spec {
        name: name.to_string(),
        attention,
        numerics,
        crossbar,
        recompute,
        buffer,
        memory: memory(r),
        rtl: Rtl {
            reset: r.pick(&[
                ResetStyle::AsyncLow,
                ResetStyle::AsyncHigh,
                ResetStyle::SyncLow,
                ResetStyle::SyncHigh,
            ]),
        },
        energy: None,
    }
}

/// Moves `memory.bytes_per_cycle` to the nearest width (by ratio) that has
/// a [`PortRatio`] to the engine's chunk; false when none has (a row that
/// is not whole bytes, whatever the lanes).
pub(super) fn fit_memory_port(spec: &mut Spec) -> bool {
    let lanes = spec.recompute.lanes;
    let chunk_bits = lanes * spec.numerics.data_bits;
    let wanted = f64::from(spec.memory.bytes_per_cycle).ln();
    let distance = |b: &u32| (f64::from(*b).ln() - wanted).abs();
    let nearest = PortRatio::widths(chunk_bits, spec.attention.head_dim / lanes)
        .min_by(|a, b| distance(a).total_cmp(&distance(b)));
    if let Some(bytes) = nearest {
        spec.memory.bytes_per_cycle = bytes;
    }
    nearest.is_some()
}

/// seq_len: 2, the limit, a power of two or not; head_dim: 2, 256 or
/// between (long sequences get short rows, to stay simulable).
fn attention(r: &mut Draws) -> Attention {
    let seq_len = match r.range(0, 9) {
        0 => MAX_SEQ_LEN,
        1 => 2,
        2 => 1 << r.range(2, 10),
        3 => r.range(1000, MAX_SEQ_LEN),
        _ => r.log_range(3, 200),
    };
    let head_dim = if seq_len > 1024 {
        r.pick(&[2, 3, 4, 8])
    } else {
        match r.range(0, 9) {
            0 => 2,
            1 => MAX_HEAD_DIM,
            2 => r.pick(&[6, 12, 24, 48, 96]),
            _ => r.log_range(2, 64),
        }
    };
    Attention {
        seq_len,
        head_dim,
        causal: r.chance(35),
    }
}

/// data_bits 4..=16 and out_bits data_bits..=32, corners first.
fn numerics(r: &mut Draws) -> Numerics {
    let data_bits = r.cornered(4, 16, 40);
    let out_bits = r.cornered(data_bits, 32, 40);
    Numerics {
        data_bits,
        out_bits,
    }
}

/// Lanes: 1, head_dim, or another divisor of head_dim; cores 1, 2, 4, 8.
fn recompute(r: &mut Draws, head_dim: u32) -> Recompute {
    let divisors: Vec<u32> = (1..=head_dim)
        .filter(|l| head_dim.is_multiple_of(*l))
        .collect();
    let lanes = match r.range(0, 3) {
        0 => 1,
        1 => head_dim,
        _ => r.pick(&divisors),
    };
    let cores = if r.chance(60) {
        1
    } else {
        r.pick(&[2, 4, MAX_CORES])
    };
    Recompute { lanes, cores }
}

/// The crossbar: array sizes 8..=4096 (small mostly), MSB widths of 1 and
/// of data_bits, threshold widths 4..=31, noise off or up to its limits.
fn crossbar(r: &mut Draws, data_bits: u32) -> Crossbar {
    let size = |r: &mut Draws| {
        if r.chance(10) {
            4096
        } else {
            r.log_range(8, 256)
        }
    };
    let noise = if r.chance(40) {
        Noise {
            seed: r.next_u64() >> 1,
            programming_sigma: 0.0,
            read_sigma: 0.0,
        }
    } else {
        Noise {
            seed: r.next_u64() >> 1,
            programming_sigma: sigma(r, 8.0),
            read_sigma: sigma(r, 64.0),
        }
    };
    let cols = size(r);
    // A stream of its own, so that adding the field left every other
    // draw, and so each seed's designs, as they were.
    let emulator = emulator(&mut Draws::new(noise.seed), cols);
    Crossbar {
        rows: size(r),
        cols,
        bits_per_cell: r.range(1, 4),
        key_msb_bits: r.cornered(1, data_bits, 60),
        query_msb_bits: r.cornered(1, data_bits, 60),
        threshold_bits: r.cornered(4, 31, 40),
        latency_cycles: r.cornered(1, 1024, 30),
        noise,
        emulator,
    }
}

/// The crossbar emulator: absent (its defaults) mostly, else either noise
/// and a power-of-two bit-line count that divides `cols` (1 up to 64).
fn emulator(r: &mut Draws, cols: u32) -> Option<Emulator> {
    if r.chance(60) {
        return None;
    }
    let widths: Vec<u32> = (0..=6)
        .map(|e| 1 << e)
        .filter(|w| cols.is_multiple_of(*w))
        .collect();
    Some(Emulator {
        noise: if r.chance(50) {
            EmulatorNoise::Golden
        } else {
            EmulatorNoise::None
        },
        bit_lines: r.pick(&widths),
    })
}

/// 0, the limit, or a quarter-step value below it.
fn sigma(r: &mut Draws, max: f64) -> f64 {
    match r.range(0, 5) {
        0 => 0.0,
        1 => max,
        _ => f64::from(r.range(0, (4.0 * max) as u32)) / 4.0,
    }
}

/// Per core: 2 slots, the whole head (seq_len slots, as far as the limits
/// allow), or between; rarely the most a spec allows (with one core);
/// sometimes a few spare bytes that make no slot. Apart from that rare
/// corner, the slots of all cores stay within [`SLOT_BUDGET`]: the
/// replacement logic compares every slot in one cycle, so slots cost
/// build and lint time.
fn buffer(r: &mut Draws, a: &Attention, n: &Numerics, cores: u32) -> Buffer {
    let slot = spec::slot_bytes(a.head_dim, n.data_bits);
    let most = most_slots(slot, cores);
    let cap = most.min(SLOT_BUDGET / cores).max(2);
    let slots = match r.range(0, 39) {
        0 if cores == 1 => most,
        0..=13 => 2,
        14..=26 => a.seq_len.clamp(2, cap),
        _ => r.log_range(2, cap),
    };
    let spare = if r.chance(25) {
        r.range(0, slot - 1)
    } else {
        0
    };
    Buffer {
        bytes: ((slots * slot + spare) * cores).min(MAX_BUFFER_BYTES),
        replacement: Replacement::UnneededFirst,
    }
}

/// Most buffer slots of all cores together in a drawn design, but for the
/// rare draw of the largest buffer.
pub const SLOT_BUDGET: u32 = 512;

/// Most slots per core: [`MAX_SLOTS`] and the byte limit.
fn most_slots(slot_bytes: u32, cores: u32) -> u32 {
    MAX_SLOTS.min(MAX_BUFFER_BYTES / cores / slot_bytes)
}

/// Memory latency 1..=10000 and bandwidth 1..=1024 bytes a cycle, small
/// mostly.
fn memory(r: &mut Draws) -> Memory {
    Memory {
        latency_cycles: if r.chance(10) {
            r.pick(&[1, 10_000])
        } else {
            r.log_range(1, 200)
        },
        bytes_per_cycle: r.cornered(1, 1024, 30),
    }
}

/// Estimated cycles of one key in the baseline mode: the slower of the
/// engine in steady state (the cycle model's engine timeline over a run of
/// keys that are always on offer, so the key queue's depth counts) and the
/// memory port (a row's beats, and at least the fetch request interval).
fn baseline_key_cycles(spec: &Spec) -> u64 {
    const KEYS: u64 = 64;
    let d = Derived::from_spec(spec);
    let mut engine = EngineTimeline::for_spec(&d, 0);
    for _ in 0..KEYS {
        engine.take(0);
    }
    let engine_cycles = engine.drain().div_ceil(KEYS);
    let memory_cycles = cycles::fetch_interval(&d).max(cycles::REQUEST_INTERVAL);
    engine_cycles.max(memory_cycles)
}

/// Queries, keep fraction, stalls and the corner list of a spec.
fn finish(r: &mut Draws, spec: Spec, per_key: u64) -> Drawn {
    let seq_len = spec.attention.seq_len;
    let affordable = MODE_CYCLES / (per_key * u64::from(seq_len)).max(1);
    let queries = (affordable as u32).clamp(1, MAX_QUERIES).min(seq_len);
    let keep_fraction = match r.range(0, 5) {
        0 => 0.0,
        1 => 1.0,
        _ => f64::from(r.range(1, 99)) / 100.0,
    };
    let stall = |r: &mut Draws| match r.range(0, 3) {
        0 => 0,
        1 => 90,
        _ => r.range(0, 90),
    };
    let (idle_percent, stall_percent) = (stall(r), stall(r));
    let corners = corners_of(&spec, keep_fraction);
    Drawn {
        spec,
        queries,
        keep_fraction,
        idle_percent,
        stall_percent,
        corners,
    }
}

/// The [`Corner`]s a spec (and keep fraction) hits, sorted.
pub fn corners_of(spec: &Spec, keep_fraction: f64) -> Vec<Corner> {
    let (a, n, x) = (&spec.attention, &spec.numerics, &spec.crossbar);
    let slot = spec::slot_bytes(a.head_dim, n.data_bits);
    let slots = spec.buffer.bytes / spec.recompute.cores / slot;
    let reset = match spec.rtl.reset {
        ResetStyle::AsyncLow => Corner::ResetAsyncLow,
        ResetStyle::AsyncHigh => Corner::ResetAsyncHigh,
        ResetStyle::SyncLow => Corner::ResetSyncLow,
        ResetStyle::SyncHigh => Corner::ResetSyncHigh,
    };
    let mut corners: Vec<Corner> = [
        (spec.recompute.lanes == 1, Corner::OneLane),
        (
            spec.recompute.lanes == a.head_dim,
            Corner::LanesEqualHeadDim,
        ),
        (slots == 2, Corner::TwoSlotBuffer),
        (slots >= a.seq_len, Corner::WholeHeadBuffer),
        (!a.seq_len.is_power_of_two(), Corner::SeqLenNotPowerOfTwo),
        (a.seq_len == MAX_SEQ_LEN, Corner::SeqLenAtLimit),
        (a.causal, Corner::Causal),
        (true, reset),
        (x.key_msb_bits == 1, Corner::KeyMsbOneBit),
        (x.key_msb_bits == n.data_bits, Corner::KeyMsbAllBits),
        (x.query_msb_bits == 1, Corner::QueryMsbOneBit),
        (x.query_msb_bits == n.data_bits, Corner::QueryMsbAllBits),
        (keep_fraction == 0.0, Corner::KeepsNothing),
        (keep_fraction == 1.0, Corner::KeepsEverything),
        (n.data_bits == 4, Corner::DataBitsMin),
        (n.data_bits == 16, Corner::DataBitsMax),
        (n.out_bits == 32, Corner::OutBitsMax),
        (a.head_dim == 2, Corner::HeadDimMin),
        (a.head_dim == MAX_HEAD_DIM, Corner::HeadDimMax),
        (x.threshold_bits == 4, Corner::ThresholdBitsMin),
        (x.threshold_bits == 31, Corner::ThresholdBitsMax),
        (spec.recompute.cores > 1, Corner::MultiCore),
        (spec.recompute.cores == MAX_CORES, Corner::MaxCores),
    ]
    .into_iter()
    .filter_map(|(hit, c)| hit.then_some(c))
    .collect();
    corners.sort();
    corners
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const DRAWS: u32 = 3000;

    #[test]
    fn every_draw_is_valid_and_affordable() {
        for i in 0..DRAWS {
            let d = draw(7, i);
            if let Err(e) = d.spec.validate() {
                panic!("design {i}: {e:?}\n{:#?}", d.spec);
            }
            assert!((1..=MAX_QUERIES).contains(&d.queries), "design {i}");
            assert!(d.queries <= d.spec.attention.seq_len, "design {i}");
            let cycles = baseline_key_cycles(&d.spec) * u64::from(d.spec.attention.seq_len);
            assert!(
                cycles <= MAX_QUERY_CYCLES,
                "design {i}: {cycles} cycles a query"
            );
            assert!((0.0..=1.0).contains(&d.keep_fraction));
            assert!(d.idle_percent <= 90 && d.stall_percent <= 90);
        }
    }

    #[test]
    fn every_corner_occurs() {
        let seen: BTreeSet<Corner> = (0..DRAWS).flat_map(|i| draw(7, i).corners).collect();
        let all = [
            Corner::OneLane,
            Corner::LanesEqualHeadDim,
            Corner::TwoSlotBuffer,
            Corner::WholeHeadBuffer,
            Corner::SeqLenNotPowerOfTwo,
            Corner::SeqLenAtLimit,
            Corner::Causal,
            Corner::ResetAsyncLow,
            Corner::ResetAsyncHigh,
            Corner::ResetSyncLow,
            Corner::ResetSyncHigh,
            Corner::KeyMsbOneBit,
            Corner::KeyMsbAllBits,
            Corner::QueryMsbOneBit,
            Corner::QueryMsbAllBits,
            Corner::KeepsNothing,
            Corner::KeepsEverything,
            Corner::DataBitsMin,
            Corner::DataBitsMax,
            Corner::OutBitsMax,
            Corner::HeadDimMin,
            Corner::HeadDimMax,
            Corner::ThresholdBitsMin,
            Corner::ThresholdBitsMax,
            Corner::MultiCore,
            Corner::MaxCores,
        ];
        for c in all {
            assert!(seen.contains(&c), "{c:?} never drawn in {DRAWS} designs");
        }
        let cores: BTreeSet<u32> = (0..DRAWS)
            .map(|i| draw(7, i).spec.recompute.cores)
            .collect();
        assert_eq!(cores, BTreeSet::from([1, 2, 4, 8]));
    }

    #[test]
    fn small_draws_are_valid_and_within_their_bounds() {
        for i in 0..DRAWS {
            let d = draw_sized(7, i, Size::Small);
            let s = &d.spec;
            assert!(s.validate().is_ok(), "design {i}: {:?}", s.validate());
            assert!(s.attention.seq_len <= SMALL.seq_len && s.attention.head_dim <= SMALL.head_dim);
            assert!(s.recompute.cores <= SMALL.cores);
            assert!(crate::sim::fuzz::shrink::slots(s) <= SMALL.slots);
            assert!(d.queries <= s.attention.seq_len);
        }
    }

    #[test]
    fn a_draw_depends_on_its_seed_and_index_only() {
        assert_eq!(draw(3, 5), draw(3, 5));
        assert_ne!(draw(3, 5).spec, draw(3, 6).spec);
        assert_ne!(draw(3, 5).spec, draw(4, 5).spec);
        assert_eq!(draw(3, 5).spec.name, "fuzz3_5");
    }
}
