//! The control/status register map of every generated design: the one
//! definition that the controller template, the stimulus writer, the C
//! header (`<name>_regs.h`), the SystemRDL (`<name>.rdl`) and the book's
//! register page are generated from.
//!
//! The CSR port is a 32-bit, single-cycle register file: a write takes
//! effect at the clock edge where `csr_we` is high; `csr_rdata` shows the
//! register at `csr_addr` combinationally. Configuration registers ignore
//! writes while the accelerator is busy; counters clear on start. On a
//! memory-mapped bus register `i` sits at byte offset `4·i`
//! ([`Csr::byte_offset`]).
//!
//! A field's width and reset value may follow the spec ([`Num::Spec`]);
//! [`Params`] holds a design's values of them.

use serde::Serialize;

/// Software's access to a field; hardware has the other side of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Access {
    /// Read-only: hardware writes it (status, counters).
    R,
    /// Write-only command bit: a write of 1 acts for one cycle (SystemRDL
    /// `singlepulse`); it reads 0.
    W,
    /// Read-write configuration: hardware reads it.
    RW,
}

impl Access {
    /// `R`, `W` or `RW`.
    pub fn label(self) -> &'static str {
        match self {
            Access::R => "R",
            Access::W => "W",
            Access::RW => "RW",
        }
    }
}

/// A quantity of the spec that a field's width or reset value follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Param {
    /// The crossbar threshold's width, `golden::Derived::threshold_bits`.
    ThresholdBits,
    /// The score scale's width, `golden::Derived::scale_bits`.
    ScaleBits,
    /// The spec's sequence length.
    SeqLen,
    /// Bytes of a K or V row in whole AXI beats, `golden::AxiDerived::row_bytes`.
    RowBytes,
}

impl Param {
    /// The name the book and generated comments use for it.
    pub fn label(self) -> &'static str {
        match self {
            Param::ThresholdBits => "threshold_bits",
            Param::ScaleBits => "scale_bits",
            Param::SeqLen => "seq_len",
            Param::RowBytes => "row_bytes",
        }
    }
}

/// A width or reset value: fixed by the map, or taken from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Num {
    Fixed(u32),
    Spec(Param),
}

impl Num {
    /// Its value in the design that `p` describes.
    pub fn value(self, p: &Params) -> u32 {
        match self {
            Num::Fixed(n) => n,
            Num::Spec(Param::ThresholdBits) => p.threshold_bits,
            Num::Spec(Param::ScaleBits) => p.scale_bits,
            Num::Spec(Param::SeqLen) => p.seq_len,
            Num::Spec(Param::RowBytes) => p.row_bytes,
        }
    }

    /// The number, or the spec parameter's name when it follows the spec.
    pub fn label(self) -> String {
        match self {
            Num::Fixed(n) => n.to_string(),
            Num::Spec(param) => param.label().to_string(),
        }
    }
}

/// A design's values of the spec parameters that fields follow
/// (emission fills it from `golden::Derived`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub threshold_bits: u32,
    pub scale_bits: u32,
    pub seq_len: u32,
    pub row_bytes: u32,
}

/// A bit field of a register: bits `lsb .. lsb + width`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub lsb: u32,
    pub width: Num,
    pub access: Access,
    /// Value after reset (read-only fields: what hardware resets them to).
    pub reset: Num,
    /// Two's complement; a read sign-extends it to 32 bits.
    pub signed: bool,
    pub doc: &'static str,
}

impl Field {
    /// A field of fixed `width` bits at `lsb` that resets to 0.
    pub const fn new(
        name: &'static str,
        lsb: u32,
        width: u32,
        access: Access,
        doc: &'static str,
    ) -> Field {
        Field {
            name,
            lsb,
            width: Num::Fixed(width),
            access,
            reset: Num::Fixed(0),
            signed: false,
            doc,
        }
    }

    /// A field of the spec's `width` bits at `lsb` that resets to 0.
    pub const fn sized_by(
        name: &'static str,
        lsb: u32,
        width: Param,
        access: Access,
        doc: &'static str,
    ) -> Field {
        Field {
            width: Num::Spec(width),
            ..Field::new(name, lsb, 0, access, doc)
        }
    }

    /// The same field, resetting to `value`.
    pub const fn reset(self, value: u32) -> Field {
        Field {
            reset: Num::Fixed(value),
            ..self
        }
    }

    /// The same field, resetting to the spec's `param`.
    pub const fn reset_of(self, param: Param) -> Field {
        Field {
            reset: Num::Spec(param),
            ..self
        }
    }

    /// The same field, signed.
    pub const fn signed(self) -> Field {
        Field {
            signed: true,
            ..self
        }
    }

    /// Its bit mask in the 32-bit register.
    pub fn mask(&self, p: &Params) -> u32 {
        let width = self.width.value(p);
        let ones = if width >= 32 {
            u32::MAX
        } else {
            (1u32 << width) - 1
        };
        ones << self.lsb
    }

    /// Its most significant bit.
    pub fn msb(&self, p: &Params) -> u32 {
        self.lsb + self.width.value(p) - 1
    }
}

/// One register of the map.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Csr {
    pub name: &'static str,
    /// Word index on the native CSR port (`csr_addr`).
    pub addr: u32,
    /// Verilog localparam name.
    pub param: &'static str,
    pub doc: &'static str,
    /// In bit order.
    pub fields: &'static [Field],
}

impl Csr {
    /// Byte offset on a memory-mapped bus: 4 bytes a register.
    pub fn byte_offset(&self) -> u32 {
        self.addr * BYTES_PER_CSR
    }

    /// The register's value after reset: its fields' reset values in place.
    pub fn reset_value(&self, p: &Params) -> u32 {
        self.fields
            .iter()
            .fold(0, |v, f| v | ((f.reset.value(p) << f.lsb) & f.mask(p)))
    }

    /// The access of its fields, when they all share one (`None` for a
    /// mix).
    pub fn access(&self) -> Option<Access> {
        let first = self.fields.first()?.access;
        self.fields
            .iter()
            .all(|f| f.access == first)
            .then_some(first)
    }
}

macro_rules! csrs {
    ($table:ident, $table_doc:expr; $($id:ident = $addr:expr, $name:expr, $doc:expr, [$($field:expr),+ $(,)?];)*) => {
        $(#[doc = $doc] pub const $id: u32 = $addr;)*
        #[doc = $table_doc]
        pub const $table: &[Csr] = &[$(Csr {
            name: $name,
            addr: $addr,
            param: concat!("CSR_", stringify!($id)),
            doc: $doc,
            fields: &[$($field),+],
        }),*];
    };
}

use Access::{R, RW, W};

csrs! {
    ALL, "Every register of the native CSR port (`<name>_top`), in address order.";
    CTRL = 0x0, "ctrl", "Command register.", [
        Field::new("start", 0, 1, W, "A write of 1 starts a head; ignored while busy."),
    ];
    STATUS = 0x1, "status", "State of the accelerator.", [
        Field::new("busy", 0, 1, R, "A head is running."),
        Field::new("done", 1, 1, R, "A head has finished since the last start (cleared by start)."),
    ];
    MODE = 0x2, "mode", "Mode of the next head: 0 baseline, 1 prune-only, 2 reuse-only, 3 SPRINT.", [
        Field::new("prune", 0, 1, RW, "Keep only the keys of the crossbar's keep vector.").reset(1),
        Field::new("reuse", 1, 1, RW, "Reuse buffered K/V rows across queries.").reset(1),
    ];
    THRESHOLD = 0x3, "threshold", "Crossbar threshold.", [
        Field::sized_by("value", 0, Param::ThresholdBits, RW, "Signed threshold of the \
            approximate score, in 1/16 of a query-MSB x key-MSB product; a read sign-extends it.")
            .signed(),
    ];
    SCALE = 0x4, "scale", "Score scale.", [
        Field::sized_by("value", 0, Param::ScaleBits, RW, "Unsigned, 20 fractional bits: \
            round(log2(e) / sqrt(head_dim) * s_q * s_k * 2^20) for quantisation scales s_q, s_k; \
            0 gives uniform weights."),
    ];
    N_KEYS = 0x5, "n_keys", "Keys in this head.", [
        Field::new("value", 0, 16, RW, "Keys at or above it are never kept.").reset_of(Param::SeqLen),
    ];
    N_QUERIES = 0x6, "n_queries", "Queries in this run.", [
        Field::new("value", 0, 16, RW, "Query rows the next head reads.").reset_of(Param::SeqLen),
    ];
    QUERY_BASE = 0x7, "query_base", "Absolute index of the first query.", [
        Field::new("value", 0, 16, RW, "For the causal mask and the crossbar read id."),
    ];
    HEAD_ID = 0x8, "head_id", "Head id.", [
        Field::new("value", 0, 16, RW, "Sent in the upper half of the crossbar read id."),
    ];
    CYCLES = 0x9, "cycles", "Cycles from start to done.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    KEPT = 0xA, "kept", "Keys processed (kept after pruning and masking).", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    FETCHES = 0xB, "fetches", "K/V rows fetched from memory.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    HITS = 0xC, "hits", "Kept keys found in the buffer.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    EVICTS = 0xD, "evicts", "Fills that replaced a valid row.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    XBAR_READS = 0xE, "xbar_reads", "Crossbar requests.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
    MAC_CYCLES = 0xF, "mac_cycles", "Cycles in which the MAC lanes did useful work.", [
        Field::new("count", 0, 32, R, "Cleared by start."),
    ];
}

/// Width of a CSR address.
pub const ADDR_BITS: u32 = 4;

/// Bytes a register takes on a memory-mapped bus.
pub const BYTES_PER_CSR: u32 = 4;

/// With several recompute cores, core c's registers are readable at
/// `CORE_WINDOW × (c + 1) + addr`, `addr` one of the map above (read only;
/// writes go through the design's registers below `CORE_WINDOW`, to every
/// core). The design's own KEPT .. MAC_CYCLES are the sums over its cores.
pub const CORE_WINDOW: u32 = 0x10;

/// Address of register `addr` of core `core` (several cores only).
pub fn core_register(core: u32, addr: u32) -> u32 {
    CORE_WINDOW * (core + 1) + addr
}

csrs! {
    AXI, "The registers only the AXI top (`<name>_axi_top`) has, in address order, after [`ALL`] \
          in its AXI4-Lite map ([`bus_map`]).";
    K_BASE = 0x10, "k_base", "Byte address of key 0's K row.", [
        Field::new("addr", 0, 32, RW, "Data-aligned: the bits below the AXI data width read 0."),
    ];
    V_BASE = 0x11, "v_base", "Byte address of key 0's V row.", [
        Field::new("addr", 0, 32, RW, "Data-aligned: the bits below the AXI data width read 0."),
    ];
    ROW_STRIDE = 0x12, "row_stride", "Bytes from a key's K (or V) row to the next key's.", [
        Field::new("bytes", 0, 32, RW, "Data-aligned; resets to a row in whole AXI beats.")
            .reset_of(Param::RowBytes),
    ];
    AXI_STATUS = 0x13, "axi_status", "Sticky bus errors, cleared by a start.", [
        Field::new("read_error", 0, 1, R, "A read answered other than OKAY."),
        Field::new("tlast_error", 1, 1, R, "A query row's TLAST was misplaced."),
    ];
}

/// The AXI4-Lite map of the AXI top: [`ALL`], then [`AXI`]; register `addr`
/// at byte `4 · addr`. The C header, the SystemRDL and the book's register
/// page describe this map.
pub fn bus_map() -> impl Iterator<Item = &'static Csr> {
    ALL.iter().chain(AXI)
}

/// Width of an AXI4-Lite byte address: word indices 0..32 (the native
/// registers, then [`AXI`], then unmapped words that answer SLVERR).
pub const AXIL_ADDR_BITS: u32 = ADDR_BITS + 1 + 2;

#[cfg(test)]
mod tests {
    use super::*;

    const P: Params = Params {
        threshold_bits: 20,
        scale_bits: 16,
        seq_len: 512,
        row_bytes: 64,
    };

    #[test]
    fn registers_are_in_address_order_and_fit_the_port() {
        for (i, r) in ALL.iter().enumerate() {
            assert_eq!(r.addr, i as u32, "{}", r.name);
            assert!(r.addr < 1 << ADDR_BITS, "{}", r.name);
        }
        for (i, r) in bus_map().enumerate() {
            assert_eq!(r.addr, i as u32, "{}", r.name);
            assert!(r.addr < 1 << (AXIL_ADDR_BITS - 2), "{}", r.name);
        }
    }

    #[test]
    fn fields_are_in_bit_order_disjoint_and_inside_32_bits() {
        for r in bus_map() {
            let mut used = 0u32;
            let mut next_lsb = 0;
            for f in r.fields {
                assert!(f.lsb >= next_lsb, "{}.{} out of bit order", r.name, f.name);
                assert!(f.msb(&P) < 32, "{}.{}", r.name, f.name);
                assert_eq!(used & f.mask(&P), 0, "{}.{} overlaps", r.name, f.name);
                used |= f.mask(&P);
                next_lsb = f.msb(&P) + 1;
            }
        }
    }

    #[test]
    fn reset_values_follow_the_spec() {
        let mode = ALL.iter().find(|r| r.addr == MODE).unwrap();
        assert_eq!(mode.reset_value(&P), 3);
        let n_keys = ALL.iter().find(|r| r.addr == N_KEYS).unwrap();
        assert_eq!(n_keys.reset_value(&P), 512);
        let threshold = ALL.iter().find(|r| r.addr == THRESHOLD).unwrap();
        assert_eq!(threshold.fields[0].mask(&P), 0x000F_FFFF);
        assert_eq!(threshold.byte_offset(), 12);
        let cycles = ALL.iter().find(|r| r.addr == CYCLES).unwrap();
        assert_eq!(cycles.fields[0].mask(&P), u32::MAX);
        assert_eq!(cycles.access(), Some(Access::R));
    }
}
