//! Every width, depth and count the design needs, computed once from a
//! validated spec. The templates print these; they compute nothing.

use serde::Serialize;

use super::crossbar;
use super::cycles;
use super::numerics as nx;
use crate::spec::{PortRatio, ResetStyle, Spec, slot_bytes};

/// Bits needed to index `n` things (at least 1, so a 1-entry memory still
/// has a 1-bit address).
pub fn index_bits(n: u32) -> u32 {
    (u32::BITS - (n.max(2) - 1).leading_zeros()).max(1)
}

/// The positions of `slots` slots in a vector of 2^index_bits(slots) bits
/// that holds slot s at bit rev(s), rev reversing the index_bits(slots)
/// bits of a slot index, as a Verilog constant, most significant bit
/// first: one literal `<width>'h<hex>` up to 256 bits, else a
/// concatenation of 256-bit literals one a line (so that a line stays
/// within 100 columns). The buffer keeps its valid and consumed bits in
/// that order so that each level of its victim search pairs the two
/// halves of the level below (templates/buffer.v.hbs).
pub fn slot_present_reversed(slots: u32) -> String {
    const PIECE_DIGITS: usize = 64;
    let bits = index_bits(slots);
    let width = 1usize << bits;
    let mut present = vec![false; width];
    for slot in 0..slots {
        present[(slot.reverse_bits() >> (u32::BITS - bits)) as usize] = true;
    }
    let digits: Vec<char> = present
        .chunks(4)
        .rev()
        .map(|nibble| {
            let value = nibble
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &set)| acc | (u32::from(set) << i));
            char::from_digit(value, 16).expect("a nibble is one hex digit")
        })
        .collect();
    if digits.len() <= PIECE_DIGITS {
        return format!("{width}'h{}", String::from_iter(&digits));
    }
    let pieces: Vec<String> = digits
        .chunks(PIECE_DIGITS)
        .map(|piece| format!("{}'h{}", 4 * piece.len(), String::from_iter(piece)))
        .collect();
    format!("{{{}}}", pieces.join(",\n        "))
}

/// Bits needed to hold the count 0..=n.
pub fn count_bits(n: u32) -> u32 {
    u32::BITS - n.leading_zeros()
}

/// Fetches in flight that keep the memory port streaming: one request's
/// latency (plus the [`cycles::REQUEST_INTERVAL`] between requests) is
/// hidden behind the beats of the rows requested before it, one beat a
/// cycle (`mem_beats_per_key` a key). A power of two in 2..=8.
pub fn fetch_depth(mem_latency: u32, mem_beats_per_key: u32) -> u32 {
    let request = cycles::REQUEST_INTERVAL as u32;
    ((mem_latency + request).div_ceil(mem_beats_per_key) + 1)
        .next_power_of_two()
        .clamp(2, 8)
}

/// Keys between their S pass's start and their A pass's start that keep
/// the engine's read port busy: a key's weight is ready
/// `C + SCORE_LATENCY + WEIGHT_LATENCY` cycles after its S pass starts, and
/// in steady state the passes alternate S, A every C cycles, so its A pass
/// comes k key periods (2·C cycles) after the next key's S pass with
/// k = ceil((SCORE_LATENCY + WEIGHT_LATENCY) / 2C); k + 1 keys are then in
/// flight as an S pass starts: 3 for C = 4, 2 for C >= 8. Each queued key
/// keeps its buffer slot from being refilled, so a buffer of few slots
/// (tiny's 4) gets 2: with the held key and the pass being read, no more
/// slots than before wait on the engine.
pub fn key_depth(chunks: u32, slots: u32) -> u32 {
    let latency = cycles::weight_ready_cycles(0) as u32;
    let depth = latency.div_ceil(2 * chunks) + 1;
    if slots < 4 * depth { 2 } else { depth }
}

/// One level of a balanced binary tree (the lanes' adder tree, the
/// controller's beat search): node i of `level` combines nodes 2i and
/// 2i + 1 of level `level − 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeLevel {
    pub level: u32,
    pub below: u32,
    /// Nodes in this level: tree_leaves / 2^level.
    pub nodes: u32,
}

/// The levels above the leaves of a balanced binary tree over `lanes`
/// leaves (padded to a power of two), leaves' parents (level 1) first.
pub(super) fn tree_sums(lanes: u32) -> Vec<TreeLevel> {
    let leaves = lanes.next_power_of_two();
    (1..=leaves.trailing_zeros())
        .map(|level| TreeLevel {
            level,
            below: level - 1,
            nodes: leaves >> level,
        })
        .collect()
}

/// Parameters derived from a [`Spec`]. All widths are in bits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    /// Module prefix.
    pub name: String,
    /// Generator version that derived these (Cargo package version).
    pub generator_version: String,
    /// SHA-256 of the canonical spec.
    pub spec_hash: String,

    // Shape.
    pub seq_len: u32,
    pub head_dim: u32,
    pub causal: bool,
    /// Bits of a key index, clog2(seq_len): the address of every RAM of
    /// depth seq_len (the key→slot table, the kept-key list).
    pub key_index_bits: u32,
    /// Counts 0..=seq_len (kept keys of a query, the key limit).
    pub key_count_bits: u32,
    /// One entry of the controller's kept-key list: a hit's slot or a
    /// miss's key, max(key_index_bits, slot_index_bits).
    pub list_bits: u32,

    // Data.
    pub data_bits: u32,
    pub out_bits: u32,
    /// Fractional bits of an output element: out_bits - data_bits.
    pub out_frac_bits: u32,
    /// One q, k or v row: head_dim × data_bits.
    pub row_bits: u32,
    /// One output row: head_dim × out_bits.
    pub out_row_bits: u32,

    // Recompute cores.
    /// Recompute cores (CORELETs): a power of two, 1..=8.
    pub cores: u32,
    /// Bits of a core index: clog2(cores), at least 1.
    pub core_index_bits: u32,
    /// Queries per dispatch block ([`super::dispatch::BLOCK_QUERIES`]).
    pub block_queries: u32,
    /// log2(block_queries): the low bits of a query's position in its run.
    pub block_bits: u32,
    /// Bits of a query's position within a round of `cores` blocks:
    /// block_bits + log2(cores).
    pub round_bits: u32,
    /// Several cores: the top is the corelets top (templates/corelets.v.hbs)
    /// and each core a `<name>_core`.
    pub multicore: bool,
    /// CSR address: 4 bits for the design's registers, plus a window per
    /// core with several cores: 4 + clog2(cores + 1).
    pub csr_addr_bits: u32,
    /// Memory requests in flight over all cores, the depth of the FIFO that
    /// routes responses to their core: cores × fetch_depth.
    pub mem_route_depth: u32,
    /// Index of a route FIFO entry: log2(mem_route_depth), at least 1.
    pub mem_route_ptr_bits: u32,
    /// Counts 0..=mem_route_depth.
    pub mem_route_count_bits: u32,

    // Recompute engine (each core has one).
    pub lanes: u32,
    /// Row chunks processed per pass: head_dim / lanes.
    pub chunks: u32,
    pub chunk_index_bits: u32,
    /// Keys the engine's key queue holds from their S pass's start to their
    /// A pass's start ([`key_depth`]).
    pub key_depth: u32,
    /// Cycles from a key's S pass start to its weight in the key queue:
    /// [`cycles::weight_ready_cycles`].
    pub weight_ready_cycles: u32,
    /// Index of a key queue entry: clog2(key_depth).
    pub key_ptr_bits: u32,
    /// One buffer word and one engine read: lanes × data_bits.
    pub chunk_bits: u32,
    /// Exact q·k: 2·data_bits + clog2(head_dim), signed.
    pub score_bits: u32,
    /// Unsigned score-scale CSR width.
    pub scale_bits: u32,
    /// Fractional bits of the scale and of the log2-domain score z.
    pub scale_frac_bits: u32,
    /// z = score × scale: score_bits + scale_bits + 1, signed.
    pub z_bits: u32,
    /// Integer running max ceil(z): z_bits - scale_frac_bits + 1, signed.
    pub max_bits: u32,
    /// Floor integer part of the exponent argument x = z − m·2^F (x's
    /// fraction is z's): z_bits − scale_frac_bits + 2, signed.
    pub x_int_bits: u32,
    /// Lowest fraction bit of x (and z) the exponent polynomial reads.
    pub exp_frac_lsb: u32,
    /// Products inside the exponent polynomial: exp_frac_bits + exp_index_bits.
    pub poly_bits: u32,
    /// Shift amount of a rescale, clamped to acc_bits: count_bits(acc_bits).
    pub rescale_bits: u32,
    /// Fraction bits the exponent polynomial reads.
    pub exp_index_bits: u32,
    /// Fractional bits of a softmax weight p (p = 1.0 is 2^exp_frac_bits).
    pub exp_frac_bits: u32,
    /// Width of p: exp_frac_bits + 1, unsigned.
    pub p_bits: u32,
    /// Running sum l: p_bits + clog2(seq_len + 1), unsigned.
    pub sum_bits: u32,
    /// Value accumulator: exp_frac_bits + data_bits + clog2(seq_len + 1) + 1, signed.
    pub acc_bits: u32,
    /// Bits of a leading-zero count of l.
    pub lz_bits: u32,
    /// Reciprocal precision RB; the reciprocal has RB + 1 bits.
    pub recip_frac_bits: u32,
    pub recip_bits: u32,
    /// Exponent polynomial coefficients (see golden::numerics::pow2_frac).
    pub exp_coef_a: u32,
    pub exp_coef_b: u32,

    // Buffer (each core has one; the fields below are per core but
    // buffer_bytes).
    /// The spec's buffer, all cores together.
    pub buffer_bytes: u32,
    /// One core's share: buffer_bytes / cores.
    pub core_buffer_bytes: u32,
    pub slot_bytes: u32,
    /// Slots of one core: core_buffer_bytes / slot_bytes (bytes beyond the
    /// last whole slot are unused).
    pub slots: u32,
    pub slot_index_bits: u32,
    /// Slot indices: 2^slot_index_bits (slots, padded to a power of two).
    pub slot_leaves: u32,
    /// The buffer's slot positions as a Verilog literal of slot_leaves
    /// bits (`<slot_leaves>'h<hex>`): bit rev(s) set for each slot s, rev
    /// reversing the slot_index_bits bits of an index, the order in which
    /// the buffer keeps its valid and consumed bits
    /// ([`slot_present_reversed`]).
    pub slot_present_rev: String,
    /// Buffer words: slots × 2 × chunks, each chunk_bits wide.
    pub buffer_words: u32,
    pub buffer_addr_bits: u32,

    // Crossbar.
    pub xbar_rows: u32,
    pub xbar_cols: u32,
    pub bits_per_cell: u32,
    pub key_msb_bits: u32,
    pub query_msb_bits: u32,
    /// Cells per key element: ceil(key_msb_bits / bits_per_cell).
    pub cells_per_element: u32,
    /// Word lines one key occupies: head_dim × cells_per_element.
    pub word_lines_per_key: u32,
    /// Arrays needed to hold K: ceil(word lines / rows) × ceil(seq_len / cols).
    pub xbar_arrays: u32,
    /// Beats of a keep vector on the crossbar port, one array's columns
    /// each: ceil(seq_len / cols).
    pub xbar_beats: u32,
    /// A keep vector in whole beats: xbar_beats × cols (the behavioral
    /// model pads seq_len with zeros).
    pub xbar_keep_bits: u32,
    /// Bits of a column index within a beat: clog2(cols).
    pub xbar_col_bits: u32,
    /// Columns padded to a power of two: 2^xbar_col_bits (the leaves of
    /// the controller's priority encoder).
    pub xbar_col_leaves: u32,
    /// Counts 0..=cols (the keys of one beat below the key limit).
    pub xbar_col_count_bits: u32,
    /// Key index of a beat's bit 0 grows by this from one beat to the next:
    /// cols, or 0 when one beat holds every key (the step is never taken,
    /// and cols need not fit key_index_bits).
    pub xbar_beat_step: u32,
    /// Width of the controller's beat room (the keys below the key limit
    /// from the next beat's first, counted down by cols as each beat is
    /// taken) and of its comparison with 2 * cols:
    /// max(key_count_bits, xbar_col_count_bits) + 1.
    pub xbar_room_bits: u32,
    /// Width of a beat's first key plus a column index:
    /// max(key_index_bits, xbar_col_bits).
    pub xbar_key_sum_bits: u32,
    /// Levels of the controller's search trees over a beat's
    /// `xbar_col_leaves` bits (its lowest kept key, whether it holds 2 or 3
    /// keys), leaves' parents first: level l has xbar_col_leaves / 2^l
    /// nodes, each over 2^l bits; the root is level `xbar_col_bits`.
    pub xbar_col_tree: Vec<TreeLevel>,
    /// Query MSB vector driven on the word lines: head_dim × query_msb_bits.
    pub qmsb_bits: u32,
    pub threshold_bits: u32,
    pub xbar_latency: u32,
    /// Fractional bits of a conductance (programming error resolution).
    pub conductance_frac_bits: u32,
    pub noise_seed: u64,
    /// Standard deviation of the programming error, in key-MSB levels.
    pub programming_sigma: f64,
    /// Standard deviation of the read noise, in qmsb × kmsb products.
    pub read_sigma: f64,
    /// Noise multipliers: sample = (irwin_hall_8 × mult) >>> 16.
    pub prog_noise_mult: u32,
    pub read_noise_mult: u32,

    // Memory.
    pub mem_latency: u32,
    pub mem_bytes_per_cycle: u32,
    /// Buffer words (chunks) per key, K chunks then V chunks: 2 × chunks.
    /// The engine reads a key's rows as these words; the fetch port carries
    /// them in `mem_beats_per_key` beats.
    pub beats_per_key: u32,
    /// One fetch port beat: 8 × bytes_per_cycle bits, a power-of-two
    /// multiple or divisor of chunk_bits ([`crate::spec::PortRatio`]).
    pub mem_beat_bits: u32,
    /// Chunks a beat carries, and the buffer's banks: P ≥ 1 (1 when the
    /// port is a chunk wide or narrower).
    pub mem_banks: u32,
    /// log2(mem_banks): the low bits of a word address select the bank.
    pub mem_bank_bits: u32,
    /// The buffer is banked (mem_banks > 1).
    pub mem_banked: bool,
    /// Beats that make one chunk, G ≥ 1 (1 when the port is a chunk wide
    /// or wider); the buffer's gearbox collects G beats into a word.
    pub mem_sub_beats: u32,
    /// log2(mem_sub_beats): the low bits of a beat address select the
    /// beat within its chunk.
    pub mem_sub_bits: u32,
    /// The port is narrower than a chunk (mem_sub_beats > 1).
    pub mem_geared: bool,
    /// Fetch beats per key, K row then V row: 2 × chunks × G / P; each
    /// row is ceil(row_bits / mem_beat_bits) = chunks × G / P beats.
    pub mem_beats_per_key: u32,
    /// Bits of a beat index within a key: index_bits(mem_beats_per_key).
    pub mem_beat_count_bits: u32,
    /// Fetch beats the buffer holds: slots × mem_beats_per_key; its write
    /// address (slot × mem_beats_per_key + beat) has buffer_wr_addr_bits.
    pub buffer_wr_beats: u32,
    pub buffer_wr_addr_bits: u32,
    /// Words of one bank: buffer_words / mem_banks, and its address bits.
    pub bank_words: u32,
    pub bank_addr_bits: u32,
    /// Fetches the controller keeps in flight: enough requests to cover the
    /// memory latency with the previous rows' beats,
    /// `next_pow2(ceil((mem_latency + 3) / mem_beats_per_key) + 1)`, 2..=8.
    pub fetch_depth: u32,
    /// Index of a fetch queue entry: log2(fetch_depth).
    pub fetch_ptr_bits: u32,
    /// Counts 0..=fetch_depth.
    pub fetch_count_bits: u32,
    /// The fetch queue's slots side by side: fetch_depth × slot_index_bits.
    pub fetch_slots_bits: u32,

    // Widths and pads of intermediate RTL signals (so templates only print).
    /// One lane's q·k product: 2 × data_bits.
    pub qk_bits: u32,
    /// One lane's p·v product: p_bits + 1 + data_bits.
    pub pv_bits: u32,
    pub score_pad_bits: u32,
    pub pv_pad_bits: u32,
    /// A lane's first multiplier operand, signed: the weight p (with a zero
    /// sign bit) in A passes, the sign-extended q element in S passes.
    pub lane_operand_bits: u32,
    pub lane_operand_pad_bits: u32,
    /// Low bits of the score multiplied separately by the scale (the
    /// score's high part is the rest), so that each product fits one
    /// 18 x 18 multiplier: min(17, score_bits - 1).
    pub z_split_bits: u32,
    /// Low bits of the reciprocal in the output multiply's split (see
    /// z_split_bits): min(17, recip_bits - 1). The accumulator splits at 17.
    pub recip_split_bits: u32,
    /// Leaves of the lanes' adder tree: the power of two >= lanes.
    pub tree_leaves: u32,
    /// Levels of sums above the leaves: log2(tree_leaves); the root is
    /// level `tree_depth`.
    pub tree_depth: u32,
    /// The sum levels, leaves' parents first.
    pub tree_sums: Vec<TreeLevel>,
    pub sum_pad_bits: u32,
    /// `ceil` bias: 2^scale_frac_bits − 1.
    pub ceil_bias: u64,
    /// acc × recip: acc_bits + recip_bits + 1, signed.
    pub norm_bits: u32,
    pub sat_pad_bits: u32,
    /// Output shift before the leading zeros: sum_bits − 1 + RB − OF.
    pub out_shift_base: u32,
    pub out_shift_bits: u32,
    pub lz_pad_bits: u32,
    /// One lane's output elements, one per chunk: chunks × out_bits.
    pub lane_out_bits: u32,
    pub recip_count_bits: u32,
    /// Lowest q bit the crossbar sees: data_bits − query_msb_bits.
    pub qmsb_lsb: u32,
    /// Key bits below the MSBs: data_bits − key_msb_bits.
    pub key_shift: u32,
    pub level_pad_bits: u32,
    pub qmsb_ext_bits: u32,
    pub threshold_ext_bits: u32,
    pub threshold_pad_bits: u32,
    pub scale_pad_bits: u32,
    /// CSR write-data bits some register stores: max(16, threshold_bits).
    pub csr_wdata_used_bits: u32,
    /// One key's conductances in the behavioral model: head_dim × 64.
    pub xbar_row_bits: u32,
    pub stream_program_hex: String,
    pub stream_read_hex: String,

    // RTL.
    pub reset_port: String,
    /// `always` sensitivity list for flip-flops.
    pub reset_sensitivity: String,
    /// Expression true while reset is asserted.
    pub reset_active: String,
    pub reset_active_low: bool,
    pub reset_style: String,
}

impl Derived {
    /// Derives every parameter of a validated spec.
    pub fn from_spec(spec: &Spec) -> Derived {
        let a = &spec.attention;
        let n = &spec.numerics;
        let x = &spec.crossbar;
        let lanes = spec.recompute.lanes;
        let chunks = a.head_dim / lanes;
        let (mem_banks, mem_sub_beats) =
            match PortRatio::of(lanes * n.data_bits, chunks, spec.memory.bytes_per_cycle)
                .expect("a validated spec's memory.bytes_per_cycle fits the chunk")
            {
                PortRatio::Chunks(p) => (p, 1),
                PortRatio::SubBeats(g) => (1, g),
            };
        let mem_beats_per_key = 2 * chunks * mem_sub_beats / mem_banks;
        let fetch_depth = fetch_depth(spec.memory.latency_cycles, mem_beats_per_key);
        let score_bits = 2 * n.data_bits + index_bits(a.head_dim);
        let z_bits = score_bits + nx::SCALE_BITS + 1;
        let seq_count = count_bits(a.seq_len);
        let p_bits = nx::EXP_FRAC_BITS + 1;
        let sum_bits = p_bits + seq_count;
        let acc_bits = nx::EXP_FRAC_BITS + n.data_bits + seq_count + 1;
        let slot_bytes = slot_bytes(a.head_dim, n.data_bits);
        let cores = spec.recompute.cores;
        let core_buffer_bytes = spec.buffer.bytes / cores;
        let slots = core_buffer_bytes / slot_bytes;
        let cells_per_element = x.key_msb_bits.div_ceil(x.bits_per_cell);
        let word_lines_per_key = a.head_dim * cells_per_element;
        let xbar_beats = a.seq_len.div_ceil(x.cols);
        let (reset_port, sensitivity, active, low) = reset_forms(spec.rtl.reset);
        let recip_frac_bits = n.out_bits + 2;
        let max_bits = z_bits - nx::SCALE_FRAC_BITS + 1;
        let rescale_bits = count_bits(acc_bits);
        let pv_bits = p_bits + 1 + n.data_bits;
        let norm_bits = acc_bits + recip_frac_bits + 2;
        let lz_bits = index_bits(sum_bits);
        let out_shift_base = sum_bits - 1 + recip_frac_bits - (n.out_bits - n.data_bits);
        let out_shift_bits = count_bits(out_shift_base).max(lz_bits + 1);
        Derived {
            name: spec.name.clone(),
            generator_version: env!("CARGO_PKG_VERSION").into(),
            spec_hash: spec.hash(),
            seq_len: a.seq_len,
            head_dim: a.head_dim,
            causal: a.causal,
            key_index_bits: index_bits(a.seq_len),
            key_count_bits: seq_count,
            list_bits: index_bits(a.seq_len).max(index_bits(slots)),
            data_bits: n.data_bits,
            out_bits: n.out_bits,
            out_frac_bits: n.out_bits - n.data_bits,
            row_bits: a.head_dim * n.data_bits,
            out_row_bits: a.head_dim * n.out_bits,
            cores,
            core_index_bits: index_bits(cores),
            block_queries: super::dispatch::BLOCK_QUERIES,
            block_bits: super::dispatch::BLOCK_QUERIES.trailing_zeros(),
            round_bits: super::dispatch::BLOCK_QUERIES.trailing_zeros() + cores.trailing_zeros(),
            multicore: cores > 1,
            csr_addr_bits: if cores > 1 {
                4 + index_bits(cores + 1)
            } else {
                4
            },
            mem_route_depth: cores * fetch_depth,
            mem_route_ptr_bits: index_bits(cores * fetch_depth),
            mem_route_count_bits: count_bits(cores * fetch_depth),
            lanes,
            chunks,
            chunk_index_bits: index_bits(chunks),
            key_depth: key_depth(chunks, slots),
            weight_ready_cycles: cycles::weight_ready_cycles(u64::from(chunks)) as u32,
            key_ptr_bits: index_bits(key_depth(chunks, slots)),
            chunk_bits: lanes * n.data_bits,
            score_bits,
            scale_bits: nx::SCALE_BITS,
            scale_frac_bits: nx::SCALE_FRAC_BITS,
            z_bits,
            max_bits,
            x_int_bits: z_bits + 2 - nx::SCALE_FRAC_BITS,
            exp_frac_lsb: nx::SCALE_FRAC_BITS - nx::EXP_INDEX_BITS,
            poly_bits: nx::EXP_FRAC_BITS + nx::EXP_INDEX_BITS,
            rescale_bits,
            exp_index_bits: nx::EXP_INDEX_BITS,
            exp_frac_bits: nx::EXP_FRAC_BITS,
            p_bits,
            sum_bits,
            acc_bits,
            lz_bits,
            recip_frac_bits,
            recip_bits: recip_frac_bits + 1,
            exp_coef_a: nx::EXP_COEF_A,
            exp_coef_b: nx::EXP_COEF_B,
            buffer_bytes: spec.buffer.bytes,
            core_buffer_bytes,
            slot_bytes,
            slots,
            slot_index_bits: index_bits(slots),
            slot_leaves: 1 << index_bits(slots),
            slot_present_rev: slot_present_reversed(slots),
            buffer_words: slots * 2 * chunks,
            buffer_addr_bits: index_bits(slots * 2 * chunks),
            xbar_rows: x.rows,
            xbar_cols: x.cols,
            bits_per_cell: x.bits_per_cell,
            key_msb_bits: x.key_msb_bits,
            query_msb_bits: x.query_msb_bits,
            cells_per_element,
            word_lines_per_key,
            xbar_arrays: word_lines_per_key.div_ceil(x.rows) * xbar_beats,
            xbar_beats,
            xbar_keep_bits: xbar_beats * x.cols,
            xbar_col_bits: index_bits(x.cols),
            xbar_col_leaves: 1 << index_bits(x.cols),
            xbar_col_count_bits: count_bits(x.cols),
            xbar_beat_step: if xbar_beats > 1 { x.cols } else { 0 },
            xbar_room_bits: seq_count.max(count_bits(x.cols)) + 1,
            xbar_key_sum_bits: index_bits(a.seq_len).max(index_bits(x.cols)),
            xbar_col_tree: tree_sums(1 << index_bits(x.cols)),
            qmsb_bits: a.head_dim * x.query_msb_bits,
            threshold_bits: x.threshold_bits,
            xbar_latency: x.latency_cycles,
            conductance_frac_bits: nx::CONDUCTANCE_FRAC_BITS,
            noise_seed: x.noise.seed,
            programming_sigma: x.noise.programming_sigma,
            read_sigma: x.noise.read_sigma,
            prog_noise_mult: nx::noise_multiplier(x.noise.programming_sigma),
            read_noise_mult: nx::noise_multiplier(x.noise.read_sigma),
            mem_latency: spec.memory.latency_cycles,
            mem_bytes_per_cycle: spec.memory.bytes_per_cycle,
            beats_per_key: 2 * chunks,
            mem_beat_bits: 8 * spec.memory.bytes_per_cycle,
            mem_banks,
            mem_bank_bits: mem_banks.trailing_zeros(),
            mem_banked: mem_banks > 1,
            mem_sub_beats,
            mem_sub_bits: mem_sub_beats.trailing_zeros(),
            mem_geared: mem_sub_beats > 1,
            mem_beats_per_key,
            mem_beat_count_bits: index_bits(mem_beats_per_key),
            buffer_wr_beats: slots * mem_beats_per_key,
            buffer_wr_addr_bits: index_bits(slots * mem_beats_per_key),
            bank_words: slots * 2 * chunks / mem_banks,
            bank_addr_bits: index_bits(slots * 2 * chunks / mem_banks),
            fetch_depth,
            fetch_ptr_bits: fetch_depth.trailing_zeros(),
            fetch_count_bits: count_bits(fetch_depth),
            fetch_slots_bits: fetch_depth * index_bits(slots),
            qk_bits: 2 * n.data_bits,
            pv_bits,
            score_pad_bits: score_bits - 2 * n.data_bits,
            pv_pad_bits: acc_bits - pv_bits,
            lane_operand_bits: p_bits + 1,
            lane_operand_pad_bits: p_bits + 1 - n.data_bits,
            z_split_bits: score_bits.saturating_sub(1).min(17),
            recip_split_bits: recip_frac_bits.min(17),
            tree_leaves: lanes.next_power_of_two(),
            tree_depth: lanes.next_power_of_two().trailing_zeros(),
            tree_sums: tree_sums(lanes),
            sum_pad_bits: sum_bits - p_bits,
            ceil_bias: (1u64 << nx::SCALE_FRAC_BITS) - 1,
            norm_bits,
            sat_pad_bits: norm_bits - n.out_bits,
            out_shift_base,
            out_shift_bits,
            lz_pad_bits: out_shift_bits - lz_bits,
            lane_out_bits: chunks * n.out_bits,
            recip_count_bits: count_bits(recip_frac_bits + 1),
            qmsb_lsb: n.data_bits - x.query_msb_bits,
            key_shift: n.data_bits - x.key_msb_bits,
            level_pad_bits: 64 - x.key_msb_bits,
            qmsb_ext_bits: 64 - x.query_msb_bits,
            threshold_ext_bits: 64 - x.threshold_bits,
            threshold_pad_bits: 32 - x.threshold_bits,
            scale_pad_bits: 32 - nx::SCALE_BITS,
            csr_wdata_used_bits: x.threshold_bits.max(16),
            xbar_row_bits: a.head_dim * 64,
            stream_program_hex: format!("{:016X}", crossbar::STREAM_PROGRAM),
            stream_read_hex: format!("{:016X}", crossbar::STREAM_READ),
            reset_port: reset_port.into(),
            reset_sensitivity: sensitivity.into(),
            reset_active: active.into(),
            reset_active_low: low,
            reset_style: serde_yaml::to_string(&spec.rtl.reset)
                .expect("reset style serialises")
                .trim()
                .to_string(),
        }
    }

    /// The values the THRESHOLD CSR holds: signed `threshold_bits`, so
    /// -2^(threshold_bits-1) ..= 2^(threshold_bits-1) - 1 in the crossbar's
    /// units. The largest keeps no key; a wider value would wrap
    /// ([`crate::golden::crossbar::sign_extend`]).
    pub fn threshold_range(&self) -> std::ops::RangeInclusive<i64> {
        nx::signed_range(self.threshold_bits)
    }
}

/// (port, sensitivity list, asserted expression, active low) of a reset style.
fn reset_forms(style: ResetStyle) -> (&'static str, &'static str, &'static str, bool) {
    match style {
        ResetStyle::AsyncLow => ("rst_n", "posedge clk or negedge rst_n", "!rst_n", true),
        ResetStyle::AsyncHigh => ("rst", "posedge clk or posedge rst", "rst", false),
        ResetStyle::SyncLow => ("rst_n", "posedge clk", "!rst_n", true),
        ResetStyle::SyncHigh => ("rst", "posedge clk", "rst", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_present_reversed_sets_the_reversed_slot_positions() {
        // 4 slots of 4 positions: all; 3 slots: 0, 1 and 2 at 0, 2 and 1.
        assert_eq!(slot_present_reversed(4), "4'hf");
        assert_eq!(slot_present_reversed(3), "4'h7");
        // 5 slots of 8: 0..=4 at 0, 4, 2, 6, 1.
        assert_eq!(slot_present_reversed(5), "8'h57");
        assert_eq!(slot_present_reversed(1), "2'h1");
        assert_eq!(slot_present_reversed(2), "2'h3");
        // 1025 slots of 2048: slot 1024 at position 1; the rest are the
        // even positions; eight lines of 256 bits.
        let wide = slot_present_reversed(1025);
        assert_eq!(wide.lines().count(), 8);
        assert!(wide.starts_with("{256'h5555"), "{wide}");
        assert!(wide.ends_with("5557}"), "{wide}");
    }

    #[test]
    fn the_threshold_range_is_what_the_register_holds() {
        let spec = Spec::parse("tiny.yaml", include_str!("../../specs/tiny.yaml")).unwrap();
        let d = Derived::from_spec(&spec);
        let (lo, hi) = d.threshold_range().into_inner();
        let wrap = |v| crossbar::sign_extend(v, d.threshold_bits);
        assert_eq!((wrap(lo), wrap(hi)), (lo, hi));
        assert_eq!(
            (wrap(hi + 1), wrap(lo - 1)),
            (lo, hi),
            "one past either end wraps"
        );
    }

    #[test]
    fn index_bits_gives_at_least_one_bit() {
        assert_eq!(index_bits(1), 1);
        assert_eq!(index_bits(2), 1);
        assert_eq!(index_bits(3), 2);
        assert_eq!(index_bits(512), 9);
        assert_eq!(index_bits(513), 10);
        assert_eq!(count_bits(512), 10);
        assert_eq!(count_bits(511), 9);
    }

    #[test]
    fn default_spec_has_the_papers_buffer() {
        let d = Derived::from_spec(&Spec::default_spec());
        assert_eq!(d.slot_bytes, 128);
        assert_eq!(d.slots, 128);
        assert_eq!(d.chunks, 8);
        assert_eq!(d.score_bits, 22);
        assert_eq!(d.cells_per_element, 2);
        assert_eq!(d.xbar_arrays, 4);
        // 16 bytes a cycle: two 8-byte chunks a beat, 8 beats a key.
        assert_eq!((d.mem_beat_bits, d.mem_banks, d.mem_sub_beats), (128, 2, 1));
        assert_eq!(
            (d.mem_beats_per_key, d.bank_words, d.buffer_wr_beats),
            (8, 1024, 1024)
        );
    }

    #[test]
    fn a_port_narrower_than_a_chunk_takes_sub_beats() {
        let mut s = Spec::default_spec();
        s.memory.bytes_per_cycle = 2;
        let d = Derived::from_spec(&s);
        assert_eq!((d.mem_banks, d.mem_sub_beats, d.mem_sub_bits), (1, 4, 2));
        assert_eq!((d.mem_beat_bits, d.mem_beats_per_key), (16, 64));
    }
}
