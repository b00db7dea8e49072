//! Widths of the AXI top (`<name>_axi_top`), derived once from [`Derived`]
//! so that its templates only print them.
//!
//! - AXI4 read master: 32-bit byte addresses; the data bus is
//!   `memory.bytes_per_cycle` rounded up to a power of two, at most 128
//!   bytes (AXI4's widest bus). A K or V row is stored as `row_beats` whole
//!   data beats, element 0 in the least significant bits of the first (AXI
//!   is little-endian: byte b of the row at byte address base + b).
//! - Native fetch port: the read master hands a row to the core as
//!   `native_beats` beats of `memory.bytes_per_cycle` bytes (the core's
//!   `s_mem_rsp_data`). When that is the AXI data width (a power-of-two
//!   `bytes_per_cycle` up to 128) the AXI beats pass straight through;
//!   otherwise two row registers convert one width to the other.
//! - AXI4-Stream: one beat per engine chunk (`recompute.lanes` elements),
//!   so `head_dim / lanes` beats per row in both directions; TDATA is the
//!   chunk padded to whole bytes, elements in the least significant bits.

use serde::Serialize;

use super::Derived;
use super::derived::{count_bits, index_bits};

/// Widest AXI4 data bus, in bytes (1024 bits).
pub const MAX_DATA_BYTES: u32 = 128;
/// Byte address width of the AXI4 read master.
pub const ADDR_BITS: u32 = 32;
/// A burst never crosses a boundary of this many bytes (AXI4, A3.4.1).
pub const PAGE_BYTES: u32 = 4096;
/// Longest INCR burst of AXI4, in beats.
pub const MAX_BURST: u32 = 256;
/// Width of the read master's beat counts (burst lengths, beats left in a
/// row, beats left before a 4 KB boundary): holds 0..=4096, the most beats
/// in a 4 KB page, and every row's beats (a row is at most 256 × 16 bits =
/// 512 one-byte beats).
pub const COUNT_BITS: u32 = 13;

/// Parameters of the AXI top. All widths are in bits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxiDerived {
    /// AXI4 data bus: next_pow2(memory.bytes_per_cycle), at most 128 bytes.
    pub data_bytes: u32,
    pub data_bits: u32,
    /// ARSIZE: log2(data_bytes).
    pub size: u32,
    /// Data beats of one K or V row: ceil(row_bits / data_bits).
    pub row_beats: u32,
    /// Bytes one row occupies in memory, row_beats × data_bytes: the reset
    /// value of ROW_STRIDE and the smallest stride that keeps rows apart.
    pub row_bytes: u32,
    /// A row in whole data beats: row_beats × data_bits.
    pub row_reg_bits: u32,
    /// Bits of a beat index within a row: index_bits(row_beats).
    pub row_beat_bits: u32,
    /// The low address bits a data-aligned address has zero, as a 32-bit
    /// mask of the bits kept: !(data_bytes − 1).
    pub addr_mask_hex: String,
    /// More than one data beat per row (row_beats > 1).
    pub multi_beat_row: bool,
    /// Beats of the native fetch port per row: mem_beats_per_key / 2, each
    /// mem_beat_bits (8 × memory.bytes_per_cycle) wide.
    pub native_beats: u32,
    pub native_beat_bits: u32,
    /// Bits of a native beat index within a row: index_bits(native_beats).
    pub native_index_bits: u32,
    /// The AXI beat is the native beat (data_bits == native_beat_bits): the
    /// read data passes through, with no row registers.
    pub pass_through: bool,
    /// Engine chunks (AXI4-Stream beats) per row: head_dim / lanes.
    pub chunks: u32,
    /// More than one chunk per row (chunks > 1).
    pub multi_chunk_row: bool,
    pub chunk_index_bits: u32,
    /// Query stream TDATA: the chunk (lanes × data_bits) padded to bytes.
    pub q_beat_bits: u32,
    pub q_pad_bits: u32,
    /// Output chunk: lanes × out_bits, and TDATA padded to bytes.
    pub out_chunk_bits: u32,
    pub out_beat_bits: u32,
    pub out_pad_bits: u32,
    pub addr_bits: u32,
    pub axil_addr_bits: u32,
    pub count_bits: u32,
    pub max_burst: u32,
    pub page_bytes: u32,
}

impl AxiDerived {
    /// The AXI top's parameters for a design.
    pub fn from_derived(d: &Derived) -> AxiDerived {
        let data_bytes = d
            .mem_bytes_per_cycle
            .next_power_of_two()
            .min(MAX_DATA_BYTES);
        let data_bits = 8 * data_bytes;
        let row_beats = d.row_bits.div_ceil(data_bits);
        let q_beat_bits = d.chunk_bits.next_multiple_of(8);
        let out_chunk_bits = d.lanes * d.out_bits;
        let out_beat_bits = out_chunk_bits.next_multiple_of(8);
        debug_assert!(count_bits(PAGE_BYTES) <= COUNT_BITS && count_bits(row_beats) <= COUNT_BITS);
        AxiDerived {
            data_bytes,
            data_bits,
            size: data_bytes.trailing_zeros(),
            row_beats,
            row_bytes: row_beats * data_bytes,
            row_reg_bits: row_beats * data_bits,
            row_beat_bits: index_bits(row_beats),
            addr_mask_hex: format!("{:08X}", !(data_bytes - 1)),
            multi_beat_row: row_beats > 1,
            native_beats: d.mem_beats_per_key / 2,
            native_beat_bits: d.mem_beat_bits,
            native_index_bits: index_bits(d.mem_beats_per_key / 2),
            pass_through: data_bits == d.mem_beat_bits,
            chunks: d.chunks,
            multi_chunk_row: d.chunks > 1,
            chunk_index_bits: index_bits(d.chunks),
            q_beat_bits,
            q_pad_bits: q_beat_bits - d.chunk_bits,
            out_chunk_bits,
            out_beat_bits,
            out_pad_bits: out_beat_bits - out_chunk_bits,
            addr_bits: ADDR_BITS,
            axil_addr_bits: crate::csr::AXIL_ADDR_BITS,
            count_bits: COUNT_BITS,
            max_burst: MAX_BURST,
            page_bytes: PAGE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn the_default_spec_reads_rows_in_four_16_byte_beats() {
        let a = AxiDerived::from_derived(&Derived::from_spec(&Spec::default_spec()));
        assert_eq!(
            (a.data_bytes, a.size, a.row_beats, a.row_bytes),
            (16, 4, 4, 64)
        );
        assert_eq!(a.addr_mask_hex, "FFFFFFF0");
        assert_eq!((a.chunks, a.q_beat_bits, a.out_beat_bits), (8, 64, 128));
        // The native port's beat is the AXI beat: 4 a row, passed through.
        assert_eq!(
            (a.native_beats, a.native_beat_bits, a.pass_through),
            (4, 128, true)
        );
    }

    #[test]
    fn the_bus_is_a_power_of_two_of_at_most_128_bytes() {
        // head_dim 48, 4 lanes: a chunk of 4 bytes, 12 chunks a row; 12
        // bytes a cycle is three chunks, which is not a power of two.
        let mut s = Spec::default_spec();
        (s.attention.head_dim, s.recompute.lanes) = (48, 4);
        s.memory.bytes_per_cycle = 12;
        assert!(s.validate().is_err());
        // 24 lanes: a chunk of 24 bytes, two a row; a beat of 48 bytes.
        s.recompute.lanes = 24;
        s.memory.bytes_per_cycle = 48;
        let a = AxiDerived::from_derived(&Derived::from_spec(&s));
        assert_eq!((a.data_bytes, a.row_beats, a.native_beats), (64, 1, 1));
        assert!(!a.pass_through);
        // A 512-byte row a beat, wider than the widest bus (128 bytes).
        (
            s.attention.head_dim,
            s.numerics.data_bits,
            s.recompute.lanes,
        ) = (256, 16, 32);
        s.memory.bytes_per_cycle = 512;
        let a = AxiDerived::from_derived(&Derived::from_spec(&s));
        assert_eq!((a.data_bytes, a.row_beats, a.row_reg_bits), (128, 4, 4096));
        assert_eq!((a.native_beats, a.native_beat_bits), (1, 4096));
    }
}
