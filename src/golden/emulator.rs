//! The crossbar emulator (`<name>_xbar_emu`, `templates/xbar_emu.v.hbs`):
//! the synthesizable stand-in for the ReRAM arrays, computing the keep
//! vectors of [`super::crossbar`] digitally, bit for bit.
//!
//! - Storage: the key MSB levels (`head_dim × key_msb_bits` per key) in
//!   `bit_lines` RAM banks, key j in bank `j mod bit_lines` at address
//!   `j / bit_lines`; with golden noise, the programming errors
//!   (`head_dim × err_bits` per key) in banks of the same shape. Nothing
//!   `seq_len` wide sits in registers.
//! - Programming error: it depends on (seed, key, element) only, not on
//!   the key's value, so after reset the emulator sweeps every cell once
//!   (`sweep_cycles`) and stores it; programming writes the levels only.
//! - Scoring: `bit_lines` keys per cycle, each a balanced adder tree of
//!   `head_dim` products `qmsb · (level · 2^G + e)`, plus the read noise of
//!   the golden model's draw for (read id, key), compared with the
//!   threshold (`>=`).
//! - Timing: see [`EmuDerived::first_beat_cycles`] and
//!   [`EmuDerived::next_beat_cycles`].

use serde::Serialize;

use super::Derived;
use super::crossbar::{MIX_GAMMA, MIX_MULT_1, MIX_MULT_2};
use super::derived::{TreeLevel, count_bits, index_bits, tree_sums};
use super::numerics::CONDUCTANCE_FRAC_BITS;
use super::shift_add::ShiftAddProduct;
use crate::spec::{EmulatorNoise, Spec};

/// Largest Irwin–Hall-8 sample magnitude: 8 · 255 − 1020.
const IRWIN_HALL_8_MAX: u64 = 1020;

/// Bits of a noise sample times its multiplier, signed: a 12-bit sample
/// times a 32-bit multiplier, plus a bit ([`EmuDerived::noise_scale_bits`]).
const SCALED_SAMPLE_BITS: u32 = 45;

/// Parameters of the crossbar emulator. Widths are in bits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmuDerived {
    /// Golden noise (`crossbar.emulator.noise: golden`) or none.
    pub noise: bool,
    /// Bit lines scored per cycle, P (`crossbar.emulator.bit_lines`).
    pub bit_lines: u32,
    /// log2(P): the key bits that select a bank.
    pub bank_bits: u32,
    /// Groups of P keys per keep beat: cols / P.
    pub groups: u32,
    /// One group per beat (P = cols): the beat needs no shift register.
    pub single_group: bool,
    /// Words per bank: xbar_keep_bits / P (every bit line of every beat).
    pub depth: u32,
    /// Bank address: index_bits(depth).
    pub addr_bits: u32,
    /// A padded key index, bank address and bank: addr_bits + bank_bits
    /// (at least key_index_bits).
    pub key_bits: u32,
    /// Counts 0..=groups.
    pub group_count_bits: u32,
    /// Counts beats 0..=xbar_beats.
    pub beat_count_bits: u32,
    /// Counts elements 0..=head_dim.
    pub elem_count_bits: u32,
    /// One key's levels: head_dim × key_msb_bits.
    pub level_row_bits: u32,
    /// A programming error, signed: the bits of ±((1020 · mult) >> 16).
    pub err_bits: u32,
    /// One key's errors: head_dim × err_bits.
    pub err_row_bits: u32,
    /// A conductance `level · 2^G + e`, signed: max(kmsb + G, err_bits) + 1
    /// with noise, kmsb + G without.
    pub g_bits: u32,
    /// A read-noise sample, signed (1 without noise: unused).
    pub read_noise_bits: u32,
    /// One product qmsb · g, signed: query_msb_bits + g_bits.
    pub prod_bits: u32,
    /// A bit line's sum with read noise, and the threshold, signed: enough
    /// for head_dim · 2^(qmsb−1) · max|g| + max|read noise|, for the
    /// threshold and for one product, plus a bit.
    pub sum_bits: u32,
    /// Sign-extension pads to g_bits (level, error) and to sum_bits
    /// (product, read noise, threshold); each at least 1.
    pub level_pad_bits: u32,
    pub err_pad_bits: u32,
    pub prod_pad_bits: u32,
    pub read_noise_pad_bits: u32,
    pub threshold_pad_bits: u32,
    /// Leaves of each adder tree: head_dim padded to a power of two.
    pub tree_leaves: u32,
    /// The tree's levels of sums above the leaves (level 0); the root is
    /// level `tree_depth` = log2(tree_leaves).
    pub tree_sums: Vec<TreeLevel>,
    pub tree_depth: u32,
    /// Keys padded past seq_len in the last beat (their bits read 0).
    pub padded: bool,
    /// Emulator noise seed and stream constants, as 16 hex digits.
    pub seed_hex: String,
    /// SplitMix64's increment, as 16 hex digits.
    pub mix_gamma_hex: String,
    /// The hash's two 64-bit multiplications, as shifts and adds (with
    /// golden noise; without, unused).
    pub mix_mult_1: ShiftAddProduct,
    pub mix_mult_2: ShiftAddProduct,
    /// Bits of a sample times its noise multiplier, signed: 45.
    pub noise_scale_bits: u32,
    /// The noise scalings `sample · mult` of the programming error and the
    /// read noise, as shifts and adds modulo 2^noise_scale_bits (exact: the
    /// product fits).
    pub prog_scale: ShiftAddProduct,
    pub read_scale: ShiftAddProduct,
}

impl EmuDerived {
    /// The emulator of a validated spec.
    pub fn from_spec(spec: &Spec, d: &Derived) -> EmuDerived {
        let e = spec.crossbar.emulator_or_default();
        let noise = e.noise == EmulatorNoise::Golden;
        let p = e.bit_lines;
        let depth = d.xbar_keep_bits / p;
        let addr_bits = index_bits(depth);
        let bank_bits = p.trailing_zeros();
        let err_bits = if noise {
            signed_bits(noise_bound(d.prog_noise_mult))
        } else {
            0
        };
        let read_noise_bits = if noise {
            signed_bits(noise_bound(d.read_noise_mult))
        } else {
            1
        };
        let level_bits = d.key_msb_bits + CONDUCTANCE_FRAC_BITS;
        let g_bits = if noise {
            level_bits.max(err_bits) + 1
        } else {
            level_bits
        };
        let max_g = (1u64 << (level_bits - 1))
            + if noise {
                noise_bound(d.prog_noise_mult)
            } else {
                0
            };
        let max_rn = if noise {
            noise_bound(d.read_noise_mult)
        } else {
            0
        };
        let bound = u64::from(d.head_dim) * (1u64 << (d.query_msb_bits - 1)) * max_g + max_rn;
        let prod_bits = d.query_msb_bits + g_bits;
        let sum_bits = signed_bits(bound).max(d.threshold_bits).max(prod_bits) + 1;
        let key_bits = addr_bits + bank_bits;
        assert!(
            key_bits >= d.key_index_bits,
            "bank address and bank hold a key"
        );
        EmuDerived {
            noise,
            bit_lines: p,
            bank_bits,
            groups: d.xbar_cols / p,
            single_group: d.xbar_cols == p,
            depth,
            addr_bits,
            key_bits,
            group_count_bits: count_bits(d.xbar_cols / p),
            beat_count_bits: count_bits(d.xbar_beats),
            elem_count_bits: count_bits(d.head_dim),
            level_row_bits: d.head_dim * d.key_msb_bits,
            err_bits: err_bits.max(1),
            err_row_bits: d.head_dim * err_bits.max(1),
            g_bits,
            read_noise_bits,
            prod_bits,
            sum_bits,
            level_pad_bits: g_bits.saturating_sub(level_bits).max(1),
            err_pad_bits: g_bits.saturating_sub(err_bits).max(1),
            prod_pad_bits: sum_bits - prod_bits,
            read_noise_pad_bits: sum_bits - read_noise_bits,
            threshold_pad_bits: sum_bits - d.threshold_bits,
            tree_leaves: d.head_dim.next_power_of_two(),
            tree_sums: tree_sums(d.head_dim),
            tree_depth: d.head_dim.next_power_of_two().trailing_zeros(),
            padded: d.xbar_keep_bits > d.seq_len,
            seed_hex: format!("{:016X}", d.noise_seed),
            mix_gamma_hex: format!("{MIX_GAMMA:016X}"),
            mix_mult_1: ShiftAddProduct::new(MIX_MULT_1, 64),
            mix_mult_2: ShiftAddProduct::new(MIX_MULT_2, 64),
            noise_scale_bits: SCALED_SAMPLE_BITS,
            prog_scale: ShiftAddProduct::new(u64::from(d.prog_noise_mult), SCALED_SAMPLE_BITS),
            read_scale: ShiftAddProduct::new(u64::from(d.read_noise_mult), SCALED_SAMPLE_BITS),
        }
    }

    /// Cycles from the request's transfer to the first keep beat's valid:
    /// with noise, 3 cycles of the read-id hash prefix; then one cycle per
    /// group of P keys and the 2-stage scoring pipeline.
    pub fn first_beat_cycles(&self) -> u32 {
        let prefix = if self.noise { 3 } else { 0 };
        prefix + self.next_beat_cycles()
    }

    /// Cycles from one beat's transfer to the next beat's valid: groups + 2
    /// (the next beat is scored after the previous one is taken).
    pub fn next_beat_cycles(&self) -> u32 {
        self.groups + 2
    }

    /// Cycles of the programming-error sweep after reset, during which
    /// requests wait (0 without noise): 2 for the stream prefix, then per
    /// key 2 for its hash, head_dim for its elements and 2 to finish and
    /// write its row.
    pub fn sweep_cycles(&self, d: &Derived) -> u32 {
        if self.noise {
            2 + d.seq_len * (d.head_dim + 4)
        } else {
            0
        }
    }

    /// The golden model of this emulator: `d` itself with golden noise, or
    /// `d` with both noise multipliers 0 (a noiseless crossbar) without.
    pub fn golden_derived(&self, d: &Derived) -> Derived {
        let mut emulated = d.clone();
        if !self.noise {
            emulated.prog_noise_mult = 0;
            emulated.read_noise_mult = 0;
        }
        emulated
    }
}

/// Largest |noise(h, mult)|: ((1020 · mult) >> 16) + 1 (the arithmetic
/// shift floors negative samples).
fn noise_bound(mult: u32) -> u64 {
    ((IRWIN_HALL_8_MAX * u64::from(mult)) >> 16) + 1
}

/// Bits of a signed number holding ±`magnitude`.
fn signed_bits(magnitude: u64) -> u32 {
    u64::BITS - magnitude.leading_zeros() + 1
}

#[cfg(test)]
mod tests {
    use super::super::crossbar::noise;
    use super::*;

    #[test]
    fn the_noise_bound_holds_the_extreme_samples() {
        for mult in [0, 1, 5017, 65_535, 1 << 20] {
            let bound = noise_bound(mult) as i64;
            // All bytes 0 and all bytes 255: the sample's extremes.
            assert!(noise(0, mult).abs() <= bound);
            assert!(noise(u64::MAX, mult).abs() <= bound);
            let bits = signed_bits(bound as u64);
            assert!(bound < 1 << (bits - 1), "{mult}: {bound} in {bits} bits");
        }
    }

    #[test]
    fn the_default_spec_scores_four_keys_a_cycle() {
        let s = Spec::default_spec();
        let d = Derived::from_spec(&s);
        let e = EmuDerived::from_spec(&s, &d);
        assert_eq!((e.bit_lines, e.groups, e.depth), (4, 32, 128));
        assert!(e.noise);
        assert_eq!(e.first_beat_cycles(), 37);
    }
}
