//! The numerics contract: every constant and every rounding step of the
//! recompute engine, in one place. The RTL matches these functions bit for
//! bit; the templates take their constants from here through
//! [`crate::golden::Derived`].
//!
//! Per kept key j of a query q (head dimension d, `data_bits`-bit signed
//! elements):
//!
//! 1. exact score `s = Σ q[i]·k_j[i]`, signed, `2·data_bits + clog2(d)` bits;
//! 2. log2-domain score `z = s · scale`, where the unsigned 16-bit `scale`
//!    CSR has [`SCALE_FRAC_BITS`] fractional bits and folds
//!    `log2(e) / sqrt(d) · s_q · s_k` (the quantisation scales of q and k)
//!    into one factor (Vaswani et al. 2017, eq. 1; the base change lets the
//!    exponent be a shift);
//! 3. online softmax (Milakov & Gimelshein 2018): the running max `m` is the
//!    integer `ceil(z / 2^F)`, so rescaling the running sum `l` and the value
//!    accumulators `acc` when `m` grows is an arithmetic right shift;
//! 4. weight `p = 2^(z/2^F - m)` in unsigned fixed point with
//!    [`EXP_FRAC_BITS`] fractional bits: the integer part is a right shift,
//!    the fraction a quadratic ([`pow2_frac`]);
//! 5. `l += p`, `acc[i] += p · v_j[i]`;
//!
//! and per query, after the last key: `out[i] = round(acc[i] / l · 2^OF)`
//! through a normalised reciprocal ([`normalise`]), saturated to `out_bits`,
//! with `OF = out_bits - data_bits` fractional bits. A query with no kept
//! key outputs a row of zeros.
//!
//! Error against float attention: the exponent is within 0.35 % (the
//! quadratic), each truncating shift loses under 2^-15 of the largest weight,
//! and the reciprocal is exact to `out_bits + 2` bits; see the tests for the
//! bound checked.

/// Width of the unsigned score-scale CSR.
pub const SCALE_BITS: u32 = 16;
/// Fractional bits F of the score scale and of z.
pub const SCALE_FRAC_BITS: u32 = 20;
/// Fractional bits P of a softmax weight: p = 1.0 is `1 << EXP_FRAC_BITS`.
pub const EXP_FRAC_BITS: u32 = 15;
/// Bits of the fraction of z the exponent polynomial reads.
pub const EXP_INDEX_BITS: u32 = 8;
/// `2^f ≈ 1 + a·f + b·f²` on [0, 1) with a + b = 1 (exact at both ends and
/// at f = 1/2); a = 0.6565 in P-bit fixed point.
pub const EXP_COEF_A: u32 = 21_512;
/// b = 1 - a in P-bit fixed point.
pub const EXP_COEF_B: u32 = (1 << EXP_FRAC_BITS) - EXP_COEF_A;
/// Fractional bits of a crossbar conductance and approximate score.
pub const CONDUCTANCE_FRAC_BITS: u32 = 4;
/// Standard deviation of the Irwin–Hall sum of 8 uniform bytes:
/// sqrt(8 · (256² − 1) / 12).
pub const IRWIN_HALL_8_SIGMA: f64 = 209.021_529_078_2;

/// Fixed-point multiplier that turns an Irwin–Hall-8 sample into noise of
/// standard deviation `sigma` (in units of one level), with
/// [`CONDUCTANCE_FRAC_BITS`] fractional bits: `round(σ · 2^G · 2^16 / 209.02)`.
pub fn noise_multiplier(sigma: f64) -> u32 {
    let scaled = sigma * f64::from(1u32 << CONDUCTANCE_FRAC_BITS) * 65536.0 / IRWIN_HALL_8_SIGMA;
    scaled.round() as u32
}

/// Exact score q·k. Inputs are signed `data_bits` integers.
pub fn score(q: &[i32], k: &[i32]) -> i64 {
    q.iter()
        .zip(k)
        .map(|(&a, &b)| i64::from(a) * i64::from(b))
        .sum()
}

/// Log2-domain score z = s · scale, with [`SCALE_FRAC_BITS`] fractional bits.
pub fn log2_score(score: i64, scale: u32) -> i64 {
    score * i64::from(scale)
}

/// `ceil(z / 2^F)`: the integer running-max candidate of one score.
pub fn ceil_int(z: i64) -> i64 {
    (z + (1 << SCALE_FRAC_BITS) - 1) >> SCALE_FRAC_BITS
}

/// `2^(f / 256)` for an [`EXP_INDEX_BITS`]-bit fraction f, in fixed point
/// with [`EXP_FRAC_BITS`] fractional bits; result in [2^15, 2^16).
pub fn pow2_frac(f: u32) -> u32 {
    let n = EXP_INDEX_BITS;
    let inner = EXP_COEF_A + ((EXP_COEF_B * f) >> n);
    (1 << EXP_FRAC_BITS) + ((f * inner) >> n)
}

/// Softmax weight `p = 2^(z/2^F - m)` for `z <= m·2^F`, in fixed point with
/// [`EXP_FRAC_BITS`] fractional bits (so at most `1 << EXP_FRAC_BITS`).
///
/// z − m·2^F splits into a floor integer part (≤ 0, a right shift) and an
/// F-bit fraction whose top [`EXP_INDEX_BITS`] bits feed [`pow2_frac`].
pub fn softmax_weight(z: i64, m: i64) -> u32 {
    let x = z - (m << SCALE_FRAC_BITS);
    debug_assert!(x <= 0, "weight above the running max");
    let int_part = x >> SCALE_FRAC_BITS;
    let frac = (x & ((1 << SCALE_FRAC_BITS) - 1)) as u32;
    let shift = -int_part;
    let p = pow2_frac(frac >> (SCALE_FRAC_BITS - EXP_INDEX_BITS));
    if shift > i64::from(EXP_FRAC_BITS) {
        0
    } else {
        p >> shift
    }
}

/// Arithmetic right shift of a signed accumulator; shifts of 63 or more
/// leave only the sign, as a shift by the full width does in the RTL.
pub fn rescale_signed(value: i64, shift: i64) -> i64 {
    value >> shift.min(63)
}

/// Logical right shift of the running sum; shifts of 63 or more give 0.
pub fn rescale_unsigned(value: u64, shift: i64) -> u64 {
    if shift >= 63 { 0 } else { value >> shift }
}

/// The divisor of one query's normalisation: the running sum `l`
/// normalised so that its top bit is bit `sum_bits - 1`, and its reciprocal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normaliser {
    /// Leading zeros of l in `sum_bits`.
    pub lz: u32,
    /// `floor(2^(sum_bits - 1 + RB) / (l << lz))`, in (2^(RB-1), 2^RB].
    pub recip: u64,
    /// Right shift applied to acc · recip: `sum_bits - 1 + RB - lz - OF`.
    pub shift: u32,
}

/// Builds the normaliser for a nonzero running sum `l`.
///
/// `recip_frac_bits` is RB (`out_bits + 2`), `out_frac_bits` is OF.
pub fn normalise(l: u64, sum_bits: u32, recip_frac_bits: u32, out_frac_bits: u32) -> Normaliser {
    debug_assert!(l > 0 && l < (1 << sum_bits));
    let lz = l.leading_zeros() - (64 - sum_bits);
    let l_norm = u128::from(l << lz);
    let recip = ((1u128 << (sum_bits - 1 + recip_frac_bits)) / l_norm) as u64;
    Normaliser {
        lz,
        recip,
        shift: sum_bits - 1 + recip_frac_bits - lz - out_frac_bits,
    }
}

/// The values of a signed `bits`-bit integer (two's complement):
/// -2^(bits-1) ..= 2^(bits-1) - 1, `bits` in 1..=64.
pub fn signed_range(bits: u32) -> std::ops::RangeInclusive<i64> {
    let max = ((1i128 << (bits - 1)) - 1) as i64;
    -max - 1..=max
}

/// One output element: `round(acc · recip / 2^shift)` (ties toward +inf),
/// saturated to a signed `out_bits` integer.
pub fn output_element(acc: i64, n: &Normaliser, out_bits: u32) -> i32 {
    let product = i128::from(acc) * i128::from(n.recip);
    let rounded = (product + (1i128 << (n.shift - 1))) >> n.shift;
    let (lo, hi) = signed_range(out_bits).into_inner();
    rounded.clamp(i128::from(lo), i128::from(hi)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_frac_is_exact_at_the_ends_and_close_inside() {
        assert_eq!(pow2_frac(0), 1 << EXP_FRAC_BITS);
        for f in 0..256u32 {
            let exact = 2f64.powf(f64::from(f) / 256.0) * 32768.0;
            let rel = (f64::from(pow2_frac(f)) - exact).abs() / exact;
            assert!(rel < 0.0035, "f = {f}: relative error {rel}");
        }
    }

    #[test]
    fn weight_of_the_max_is_one_and_halves_per_unit() {
        let one = 1 << EXP_FRAC_BITS;
        assert_eq!(softmax_weight(3 << SCALE_FRAC_BITS, 3), one);
        assert_eq!(softmax_weight(2 << SCALE_FRAC_BITS, 3), one / 2);
        assert_eq!(softmax_weight(-20 << SCALE_FRAC_BITS, 3), 0);
        // z = 2.5: ceil gives m = 3; 2^-0.5 · 2^15 = 23170.5, and the
        // quadratic gives 2^(1/2) ≈ 46338 / 2^15 before the shift by one.
        let z = 5 << (SCALE_FRAC_BITS - 1);
        assert_eq!(ceil_int(z), 3);
        assert_eq!(pow2_frac(128), 46338);
        assert_eq!(softmax_weight(z, 3), 23169);
    }

    #[test]
    fn ceil_int_rounds_up_for_both_signs() {
        let f = SCALE_FRAC_BITS;
        assert_eq!(ceil_int(0), 0);
        assert_eq!(ceil_int(1), 1);
        assert_eq!(ceil_int(1 << f), 1);
        assert_eq!(ceil_int(-1), 0);
        assert_eq!(ceil_int(-(1 << f) - 1), -1);
    }

    #[test]
    fn normalised_division_rounds_like_a_divider() {
        // acc / l = 3.5 with 8 fractional output bits: 896.
        let l = 1u64 << 15;
        let n = normalise(l, 26, 18, 8);
        assert_eq!(output_element(7 << 14, &n, 16), 896);
        // A third, l = 3 · 2^14: 100 / 3 = 33.333 → 8533.33 → 8533.
        let n = normalise(3 << 14, 26, 18, 8);
        assert_eq!(output_element(100 << 14, &n, 16), 8533);
        assert_eq!(output_element(-(100 << 14), &n, 16), -8533);
        // Saturation.
        assert_eq!(output_element(1 << 40, &normalise(1, 26, 18, 8), 16), 32767);
    }
}
