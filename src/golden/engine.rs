//! The recompute engine's arithmetic for one query: exact scores of the
//! kept keys, online softmax with an integer running max, the value
//! accumulators and the final normalisation (see [`super::numerics`]).

use super::Derived;
use super::numerics as nx;

/// Softmax state of one query: integer running max m, running sum l
/// (`sum_bits`, unsigned), one signed `acc_bits` accumulator per element.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxState {
    pub max: Option<i64>,
    pub sum: u64,
    pub acc: Vec<i64>,
}

impl SoftmaxState {
    /// The state before the first key of a query.
    pub fn new(head_dim: usize) -> SoftmaxState {
        SoftmaxState {
            max: None,
            sum: 0,
            acc: vec![0; head_dim],
        }
    }

    /// Folds in one key with log2-domain score `z` and value row `v`.
    pub fn add(&mut self, z: i64, v: &[i32]) {
        let candidate = nx::ceil_int(z);
        let m = match self.max {
            None => candidate,
            Some(m) if candidate > m => {
                let shift = candidate - m;
                self.sum = nx::rescale_unsigned(self.sum, shift);
                for a in &mut self.acc {
                    *a = nx::rescale_signed(*a, shift);
                }
                candidate
            }
            Some(m) => m,
        };
        self.max = Some(m);
        let p = nx::softmax_weight(z, m);
        self.sum += u64::from(p);
        for (a, &x) in self.acc.iter_mut().zip(v) {
            *a += i64::from(p) * i64::from(x);
        }
    }

    /// The output row: `out_bits` signed elements with `out_frac_bits`
    /// fractional bits; zeros when no key was added.
    pub fn finish(&self, d: &Derived) -> Vec<i32> {
        if self.sum == 0 {
            return vec![0; self.acc.len()];
        }
        let n = nx::normalise(self.sum, d.sum_bits, d.recip_frac_bits, d.out_frac_bits);
        self.acc
            .iter()
            .map(|&a| nx::output_element(a, &n, d.out_bits))
            .collect()
    }
}

/// Attention of one query over `keys` in the given order: the exact output
/// the RTL must produce.
pub fn attend(
    d: &Derived,
    q: &[i32],
    k: &[Vec<i32>],
    v: &[Vec<i32>],
    order: &[u32],
    scale: u32,
) -> Vec<i32> {
    let mut state = SoftmaxState::new(q.len());
    // Scores of `score_bits <= 32` fit an i32 at every partial sum (each
    // is bounded as the whole sum is): the same values, in a loop that
    // vectorises.
    let narrow = d.score_bits <= 32;
    for &j in order {
        let j = j as usize;
        let s = if narrow {
            i64::from(score_i32(q, &k[j]))
        } else {
            nx::score(q, &k[j])
        };
        state.add(nx::log2_score(s, scale), &v[j]);
    }
    state.finish(d)
}

/// [`nx::score`] in `i32`, for scores of at most 32 bits.
fn score_i32(q: &[i32], k: &[i32]) -> i32 {
    q.iter().zip(k).map(|(&a, &b)| a * b).sum()
}
