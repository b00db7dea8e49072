//! Constant multiplications as trees of shifts and adds, for the emulator's
//! hash and noise scaling (`templates/xbar_emu.v.hbs`).
//!
//! Yosys maps every `$mul` on ECP5 to `MULT18X18D` blocks, a constant one
//! included: a 64-bit SplitMix64 multiplication takes ten of them. Written
//! as a sum of the operand's shifts, the product is carry-chain adders
//! instead. The constant is taken in canonical signed digits (CSD: digits
//! -1, 0, 1, no two adjacent nonzero; Reitwiesner 1960), which has the
//! fewest nonzero digits of any signed-digit form: 22 and 23 for the two
//! SplitMix64 multipliers, against 36 and 29 one bits. The positive digits'
//! shifts and the negative digits' shifts are each summed by a balanced
//! tree of two-input adders, and the product is their difference, so the
//! adder depth is `ceil(log2(digits)) + 1` at most.
//!
//! Arithmetic is modulo `2^width`: a shift of `width` or more adds nothing
//! and is dropped, so the product equals `x.wrapping_mul(c)` truncated to
//! `width` bits, bit for bit ([`ShiftAddProduct::eval`]).

use serde::Serialize;

/// `x · constant mod 2^width` as named sums the template prints.
///
/// Operands are written relative to a prefix the template chooses: `x` is
/// the operand (a `width`-bit wire `<prefix>_x`), `x << s` its shift, `s<n>`
/// sum n (`<prefix>_s<n>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftAddProduct {
    /// The constant, as hex digits (for the comment).
    pub constant_hex: String,
    /// Bits of the operand and the product.
    pub width: u32,
    /// The two-input sums, each using operands and earlier sums only.
    pub sums: Vec<Sum>,
    /// The product: an operand, or `None` when the constant is 0 mod
    /// 2^width.
    pub product: Option<String>,
}

/// One adder of the tree: `s<index> = lhs op rhs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sum {
    pub index: usize,
    pub lhs: String,
    /// `+` or `-`.
    pub op: &'static str,
    pub rhs: String,
}

/// The nonzero canonical signed digits of `c mod 2^width`: (shift,
/// negative), lowest shift first, shifts below `width`.
pub fn csd_digits(c: u64, width: u32) -> Vec<(u32, bool)> {
    let mut rest = u128::from(c);
    let mut digits = Vec::new();
    let mut shift = 0;
    while rest != 0 && shift < width {
        if rest & 1 == 1 {
            // Rest ends in ...01: digit +1; in ...11: digit -1 (and the
            // carry turns the run of ones into zeros).
            let negative = rest & 3 == 3;
            rest = if negative { rest + 1 } else { rest - 1 };
            digits.push((shift, negative));
        }
        rest >>= 1;
        shift += 1;
    }
    digits
}

impl ShiftAddProduct {
    /// The tree of `x · c mod 2^width` (`width` at most 64).
    ///
    /// Panics when every nonzero digit is negative (`c mod 2^width` a
    /// negated sum of powers of two, as `2^width - 1`), which would need a
    /// zero operand; no constant below `2^(width - 1)` is, and neither
    /// SplitMix64 multiplier is.
    pub fn new(c: u64, width: u32) -> ShiftAddProduct {
        assert!((1..=64).contains(&width), "width {width} of 1..=64");
        let digits = csd_digits(c, width);
        let term = |s: u32| {
            if s == 0 {
                "x".to_string()
            } else {
                format!("x << {s}")
            }
        };
        let shifts = |negative: bool| -> Vec<String> {
            digits
                .iter()
                .filter(|d| d.1 == negative)
                .map(|d| term(d.0))
                .collect()
        };
        let mut sums = Vec::new();
        let plus = balanced_sum(shifts(false), &mut sums);
        let minus = balanced_sum(shifts(true), &mut sums);
        let product = match (plus, minus) {
            (p, None) => p,
            (Some(p), Some(m)) => Some(push_sum(&mut sums, p, "-", m)),
            (None, Some(_)) => panic!("{c:#x} mod 2^{width} has no positive digit"),
        };
        ShiftAddProduct {
            constant_hex: format!("{c:X}"),
            width,
            sums,
            product,
        }
    }

    /// The product for an operand `x`, by the tree's own sums: what the
    /// hardware computes.
    pub fn eval(&self, x: u64) -> u64 {
        let mask = if self.width == 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        };
        let mut values: Vec<u64> = Vec::with_capacity(self.sums.len());
        let operand = |text: &str, values: &[u64]| -> u64 {
            if let Some(n) = text.strip_prefix('s') {
                values[n.parse::<usize>().expect("sum index")]
            } else if let Some(s) = text.strip_prefix("x << ") {
                x << s.parse::<u32>().expect("shift")
            } else if text == "x" {
                x
            } else {
                panic!("operand {text}")
            }
        };
        for s in &self.sums {
            let (a, b) = (operand(&s.lhs, &values), operand(&s.rhs, &values));
            let v = if s.op == "+" {
                a.wrapping_add(b)
            } else {
                a.wrapping_sub(b)
            };
            values.push(v & mask);
        }
        self.product
            .as_deref()
            .map_or(0, |p| operand(p, &values) & mask)
    }
}

/// Appends `lhs op rhs` and names it.
fn push_sum(sums: &mut Vec<Sum>, lhs: String, op: &'static str, rhs: String) -> String {
    let index = sums.len();
    sums.push(Sum {
        index,
        lhs,
        op,
        rhs,
    });
    format!("s{index}")
}

/// Sums `operands` pairwise, level by level (neighbours together, so that
/// shifts of similar size share an adder); `None` for no operand.
fn balanced_sum(mut level: Vec<String>, sums: &mut Vec<Sum>) -> Option<String> {
    while level.len() > 1 {
        let mut pairs = level.chunks(2);
        level = pairs
            .by_ref()
            .map(|pair| match pair {
                [a, b] => push_sum(sums, a.clone(), "+", b.clone()),
                [a] => a.clone(),
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    level.pop()
}

#[cfg(test)]
mod tests {
    use super::super::crossbar::{MIX_MULT_1, MIX_MULT_2};
    use super::*;

    fn digits_value(digits: &[(u32, bool)]) -> i128 {
        digits
            .iter()
            .map(|&(s, neg)| if neg { -(1i128 << s) } else { 1i128 << s })
            .sum()
    }

    #[test]
    fn csd_digits_are_canonical_and_sum_to_the_constant() {
        for c in [
            1u64,
            3,
            7,
            0x55,
            5017,
            65_535,
            MIX_MULT_1,
            MIX_MULT_2,
            u64::MAX,
        ] {
            let digits = csd_digits(c, 64);
            let value = digits_value(&digits).rem_euclid(1i128 << 64);
            assert_eq!(value, i128::from(c), "{c:#x}");
            for pair in digits.windows(2) {
                assert!(pair[1].0 > pair[0].0 + 1, "{c:#x}: adjacent digits");
            }
        }
        assert_eq!(csd_digits(MIX_MULT_1, 64).len(), 22);
        assert_eq!(csd_digits(MIX_MULT_2, 64).len(), 23);
    }

    #[test]
    fn the_tree_multiplies_bit_for_bit() {
        let mut x = 0x0123_4567_89AB_CDEFu64;
        let products = [
            ShiftAddProduct::new(MIX_MULT_1, 64),
            ShiftAddProduct::new(MIX_MULT_2, 64),
        ];
        for _ in 0..1000 {
            x = super::super::crossbar::mix(x);
            for p in &products {
                let c = u64::from_str_radix(&p.constant_hex, 16).unwrap();
                assert_eq!(p.eval(x), x.wrapping_mul(c));
            }
        }
        for x in [0, 1, u64::MAX, 1 << 63] {
            assert_eq!(products[0].eval(x), x.wrapping_mul(MIX_MULT_1));
        }
    }

    #[test]
    fn narrow_products_of_signed_samples() {
        // The noise scaling: a sample in -1020..=1020 times mult, 45 bits.
        let mask = (1u64 << 45) - 1;
        for mult in [0u64, 1, 2, 5017, 65_535, 0xFFFF_FFFF] {
            let p = ShiftAddProduct::new(mult, 45);
            for sample in [-1020i64, -1, 0, 1, 333, 1020] {
                let x = sample as u64 & mask;
                let want = (i128::from(sample) * i128::from(mult)) as u64 & mask;
                assert_eq!(p.eval(x), want, "{sample} * {mult}");
            }
        }
        assert_eq!(ShiftAddProduct::new(0, 45).product, None);
        assert_eq!(ShiftAddProduct::new(1, 45).product.as_deref(), Some("x"));
    }

    #[test]
    fn the_tree_is_shallow() {
        let p = ShiftAddProduct::new(MIX_MULT_1, 64);
        let mut depth = vec![0usize; p.sums.len()];
        let of = |text: &str, depth: &[usize]| {
            text.strip_prefix('s')
                .map_or(0, |n| depth[n.parse::<usize>().unwrap()])
        };
        for s in &p.sums {
            depth[s.index] = 1 + of(&s.lhs, &depth).max(of(&s.rhs, &depth));
        }
        // 9 positive and 13 negative digits: depth 4 each, then the difference.
        assert_eq!(depth.last(), Some(&5));
        assert_eq!(p.sums.len(), 21);
    }
}
