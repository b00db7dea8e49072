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
    ($table:ident, $table_doc:expr; $($id:ident = $addr:expr, $name:expr, $doc:expr;)*) => {
        $(#[doc = $doc] pub const $id: u32 = $addr;)*
        #[doc = $table_doc]
        pub const $table: &[Csr] = &[$(Csr { name: $name, addr: $addr, param: concat!("CSR_", stringify!($id)), doc: $doc }),*];
    };
}

csrs! {
    ALL, "Every register of the native CSR port (`<name>_top`), in address order.";
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

csrs! {
    AXI, "The registers only the AXI top (`<name>_axi_top`) has, in address order, after [`ALL`] \
          in its AXI4-Lite map. Byte address = 4 × `addr`.";
    K_BASE = 0x10, "k_base", "RW: byte address of key 0's K row, data-aligned (low bits read 0). Reset 0.";
    V_BASE = 0x11, "v_base", "RW: byte address of key 0's V row, data-aligned (low bits read 0). Reset 0.";
    ROW_STRIDE = 0x12, "row_stride", "RW: bytes from a key's row to the next key's, data-aligned. Reset: a row in whole beats.";
    AXI_STATUS = 0x13, "axi_status", "R: sticky, cleared by a start: bit 0 a read not OKAY, bit 1 a TLAST misplaced.";
}

/// Width of an AXI4-Lite byte address: word indices 0..32 (the native
/// registers, then [`AXI`], then unmapped words that answer SLVERR).
pub const AXIL_ADDR_BITS: u32 = ADDR_BITS + 1 + 2;
