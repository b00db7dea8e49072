//! The ReRAM crossbar: key MSBs as conductances, approximate scores on the
//! bit lines, seeded non-idealities and the 1-bit threshold comparison
//! (paper Section 4). The behavioral Verilog model
//! (`templates/xbar_model.v.hbs`) computes exactly this.
//!
//! - Key element k (signed, `data_bits`) is stored as its top
//!   `key_msb_bits`: `k >>> (data_bits - key_msb_bits)`, a signed level.
//! - Its conductance, with [`CONDUCTANCE_FRAC_BITS`] fractional bits, is
//!   `level · 2^G + e`, where the programming error e is drawn once per
//!   (key, element) cell group: the cells of one element are lumped, as
//!   NeuroSim lumps device-to-device variation per weight.
//! - The query drives its top `query_msb_bits` per element on the word lines.
//! - Bit line j sums `Σ_i qmsb[i] · g[i][j]` and adds read noise r drawn per
//!   (read id, bit line); the comparator keeps key j when
//!   `sum + r >= threshold` (threshold in the same units: 2^-G of one
//!   qmsb × kmsb product).
//!
//! Noise: the integer PRNG is SplitMix64's output function (Steele, Lea and
//! Flood, OOPSLA 2014) used as a counter-based hash, `draw = mix(mix(mix(seed
//! ^ stream) ^ a) ^ b)`; a sample is the Irwin–Hall sum of the draw's 8 bytes
//! minus 1020 (σ ≈ 209.02), scaled by a fixed-point multiplier:
//! `(sample · mult) >>> 16`.

use super::Derived;
use super::numerics::CONDUCTANCE_FRAC_BITS;

/// Stream constant of programming-error draws.
pub const STREAM_PROGRAM: u64 = 0x5052_4f47; // "PROG"
/// Stream constant of read-noise draws.
pub const STREAM_READ: u64 = 0x5245_4144; // "READ"

/// SplitMix64's increment, added before the output function mixes.
pub const MIX_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// The output function's first multiplier (after `z ^ (z >> 30)`).
pub const MIX_MULT_1: u64 = 0xBF58_476D_1CE4_E5B9;
/// The output function's second multiplier (after `z ^ (z >> 27)`).
pub const MIX_MULT_2: u64 = 0x94D0_49BB_1331_11EB;

/// SplitMix64 output function.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(MIX_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(MIX_MULT_1);
    z = (z ^ (z >> 27)).wrapping_mul(MIX_MULT_2);
    z ^ (z >> 31)
}

/// The draw for (seed, stream, a, b).
pub fn draw(seed: u64, stream: u64, a: u64, b: u64) -> u64 {
    mix(mix(mix(seed ^ stream) ^ a) ^ b)
}

/// Irwin–Hall sample of a draw: the sum of its 8 bytes minus 1020, in
/// -1020..=1020, mean 0.
pub fn irwin_hall_8(h: u64) -> i64 {
    h.to_le_bytes().iter().map(|&b| i64::from(b)).sum::<i64>() - 1020
}

/// A noise sample with multiplier `mult` (see [`super::numerics::noise_multiplier`]).
pub fn noise(h: u64, mult: u32) -> i64 {
    (irwin_hall_8(h) * i64::from(mult)) >> 16
}

/// Read id of a query: `head_id` in the top 16 bits, absolute query index in
/// the bottom 16. The controller sends it with every crossbar request.
pub fn read_id(head_id: u32, query_index: u32) -> u32 {
    ((head_id & 0xffff) << 16) | (query_index & 0xffff)
}

/// Sign-extends the low `bits` of `value`.
pub fn sign_extend(value: i64, bits: u32) -> i64 {
    let shift = 64 - bits;
    (value << shift) >> shift
}

/// One programmed crossbar: the conductances of up to `seq_len` keys.
#[derive(Debug, Clone)]
pub struct Crossbar {
    query_shift: u32,
    read_mult: u32,
    seed: u64,
    /// Elements per key.
    dim: usize,
    /// Key j's element i at `j·dim + i`, in 2^-G units.
    conductance: Vec<i64>,
    /// The same values, when every bit-line sum fits an `i32` (see
    /// [`Crossbar::program`]): the sums are then computed in `i32`, which
    /// vectorises, and are the same numbers.
    narrow: Option<Vec<i32>>,
}

impl Crossbar {
    /// Programs keys `k` (n_keys × head_dim, signed `data_bits`) into the array.
    pub fn program(d: &Derived, k: &[Vec<i32>]) -> Crossbar {
        let key_shift = d.data_bits - d.key_msb_bits;
        let dim = k.first().map_or(d.head_dim as usize, Vec::len);
        let mut conductance = Vec::with_capacity(k.len() * dim);
        for (j, row) in k.iter().enumerate() {
            for (i, &x) in row.iter().enumerate() {
                let level = i64::from(x >> key_shift);
                let h = draw(d.noise_seed, STREAM_PROGRAM, j as u64, i as u64);
                conductance.push((level << CONDUCTANCE_FRAC_BITS) + noise(h, d.prog_noise_mult));
            }
        }
        // |Σ_i q_i·g_i| <= dim · max|q| · max|g|, with |q| <= 2^(query_msb_bits-1).
        let max_g = conductance
            .iter()
            .map(|g| g.unsigned_abs())
            .max()
            .unwrap_or(0);
        let max_q = 1u64 << (d.query_msb_bits - 1);
        let bound = u128::from(max_g) * u128::from(max_q) * dim as u128;
        let narrow =
            (bound <= i32::MAX as u128).then(|| conductance.iter().map(|&g| g as i32).collect());
        Crossbar {
            query_shift: d.data_bits - d.query_msb_bits,
            read_mult: d.read_noise_mult,
            seed: d.noise_seed,
            dim,
            conductance,
            narrow,
        }
    }

    /// Query MSBs driven on the word lines.
    pub fn query_msbs(&self, q: &[i32]) -> Vec<i64> {
        q.iter()
            .map(|&x| i64::from(x >> self.query_shift))
            .collect()
    }

    /// Approximate scores of every programmed key, with read noise, in
    /// 2^-G product units.
    pub fn approximate_scores(&self, q: &[i32], read_id: u32) -> Vec<i64> {
        self.approximate_scores_of(q, read_id, self.keys())
    }

    /// Approximate scores of the first `keys` programmed keys (a causal
    /// query's allowed keys), the same values as the first `keys` of
    /// [`Crossbar::approximate_scores`].
    pub fn approximate_scores_of(&self, q: &[i32], read_id: u32, keys: usize) -> Vec<i64> {
        let keys = keys.min(self.keys());
        // draw(seed, READ, read_id, j) = mix(prefix ^ j): the prefix once.
        let prefix = mix(mix(self.seed ^ STREAM_READ) ^ u64::from(read_id));
        let noise_of = |j: usize| noise(mix(prefix ^ j as u64), self.read_mult);
        let dim = self.dim;
        match &self.narrow {
            Some(g) => {
                let qm: Vec<i32> = q.iter().map(|&x| x >> self.query_shift).collect();
                g.chunks_exact(dim.max(1))
                    .take(keys)
                    .enumerate()
                    .map(|(j, gj)| {
                        let sum: i32 = qm.iter().zip(gj).map(|(a, b)| a * b).sum();
                        i64::from(sum) + noise_of(j)
                    })
                    .collect()
            }
            None => {
                let qm = self.query_msbs(q);
                self.conductance
                    .chunks_exact(dim.max(1))
                    .take(keys)
                    .enumerate()
                    .map(|(j, gj)| {
                        let sum: i64 = qm.iter().zip(gj).map(|(a, b)| a * b).sum();
                        sum + noise_of(j)
                    })
                    .collect()
            }
        }
    }

    /// Keys programmed.
    pub fn keys(&self) -> usize {
        self.conductance.len() / self.dim.max(1)
    }

    /// Keep vector: `score >= threshold` per key.
    pub fn keep(&self, q: &[i32], read_id: u32, threshold: i64) -> Vec<bool> {
        self.keep_of(q, read_id, threshold, self.keys())
    }

    /// Keep vector of the first `keys` keys.
    pub fn keep_of(&self, q: &[i32], read_id: u32, threshold: i64, keys: usize) -> Vec<bool> {
        self.approximate_scores_of(q, read_id, keys)
            .into_iter()
            .map(|s| s >= threshold)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // SplitMix64 seeded with 0: the first outputs of the reference
        // generator are mix(0), mix(γ), ... with γ added before mixing.
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(mix(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn irwin_hall_has_the_stated_spread() {
        let n = 20_000u64;
        let samples: Vec<f64> = (0..n)
            .map(|i| irwin_hall_8(draw(7, STREAM_READ, 0, i)) as f64)
            .collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5.0, "mean {mean}");
        let sigma = var.sqrt();
        assert!(
            (sigma - super::super::numerics::IRWIN_HALL_8_SIGMA).abs() < 5.0,
            "sigma {sigma}"
        );
    }

    #[test]
    fn sign_extend_takes_the_low_bits() {
        assert_eq!(sign_extend(0xff, 8), -1);
        assert_eq!(sign_extend(0x7f, 8), 127);
        assert_eq!(sign_extend(-5, 20), -5);
    }
}
