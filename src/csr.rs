//! The control/status register map of every generated design, shared by
//! the controller template and the stimulus writer.
//!
//! The CSR port is a 32-bit, single-cycle register file: a write takes
//! effect at the clock edge where `csr_we` is high; `csr_rdata` shows the
//! register at `csr_addr` combinationally. Configuration registers ignore
//! writes while the accelerator is busy; counters clear on start.

use serde::Serialize;

/// One register of the map.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Csr {
    pub name: &'static str,
    pub addr: u32,
    /// Verilog localparam name.
    pub param: &'static str,
    pub doc: &'static str,
}

macro_rules! csrs {
    ($($id:ident = $addr:expr, $name:expr, $doc:expr;)*) => {
        $(#[doc = $doc] pub const $id: u32 = $addr;)*
        /// Every register, in address order.
        pub const ALL: &[Csr] = &[$(Csr { name: $name, addr: $addr, param: concat!("CSR_", stringify!($id)), doc: $doc }),*];
    };
}

csrs! {
    CTRL = 0x0, "ctrl", "W: bit 0 starts a head; ignored while busy.";
    STATUS = 0x1, "status", "R: bit 0 busy, bit 1 done (cleared by start).";
    MODE = 0x2, "mode", "RW: bit 0 prune with the crossbar, bit 1 reuse buffer rows across queries. Reset 3.";
    THRESHOLD = 0x3, "threshold", "RW: signed crossbar threshold, threshold_bits wide. Reset 0.";
    SCALE = 0x4, "scale", "RW: unsigned 16-bit score scale, 20 fractional bits. Reset 0.";
    N_KEYS = 0x5, "n_keys", "RW: keys in this head (keys at or above it are never kept). Reset seq_len.";
    N_QUERIES = 0x6, "n_queries", "RW: queries in this run, 16 bits. Reset seq_len.";
    QUERY_BASE = 0x7, "query_base", "RW: absolute index of the first query, 16 bits. Reset 0.";
    HEAD_ID = 0x8, "head_id", "RW: 16-bit head id sent in the crossbar read id. Reset 0.";
    CYCLES = 0x9, "cycles", "R: cycles from start to done.";
    KEPT = 0xA, "kept", "R: keys processed (kept after pruning and masking).";
    FETCHES = 0xB, "fetches", "R: K/V rows fetched from memory.";
    HITS = 0xC, "hits", "R: kept keys found in the buffer.";
    EVICTS = 0xD, "evicts", "R: fills that replaced a valid row.";
    XBAR_READS = 0xE, "xbar_reads", "R: crossbar requests.";
    MAC_CYCLES = 0xF, "mac_cycles", "R: cycles in which the MAC lanes did useful work.";
}

/// Width of a CSR address.
pub const ADDR_BITS: u32 = 4;

/// With several recompute cores, core c's registers are readable at
/// `CORE_WINDOW × (c + 1) + addr`, `addr` one of the map above (read only;
/// writes go through the design's registers below `CORE_WINDOW`, to every
/// core). The design's own KEPT .. MAC_CYCLES are the sums over its cores.
pub const CORE_WINDOW: u32 = 0x10;

/// Address of register `addr` of core `core` (several cores only).
pub fn core_register(core: u32, addr: u32) -> u32 {
    CORE_WINDOW * (core + 1) + addr
}
