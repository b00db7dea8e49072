//! Plain floating-point attention: the one float reference of the project.
//!
//! The fixed-point engine is measured against it (base 2, the listed kept
//! keys), the BERT forward pass's exact attention uses its softmax (base e,
//! every key), and calibration reads its probabilities (base e, causal or
//! not). Each is [`probabilities`] or [`attention`] with a [`Base`] and a
//! [`Keys`], or the row softmax [`softmax_in_place`] they share.

use num_traits::Float;

/// The base of the softmax's exponential: `w_j = base^(s_j − max)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// `e`: the model's softmax, `scale` being `1/√head_dim`.
    E,
    /// 2: the engine's softmax, whose score scale folds in `log2(e)`.
    Two,
}

impl Base {
    fn pow<T: Float>(self, x: T) -> T {
        match self {
            Base::E => x.exp(),
            Base::Two => x.exp2(),
        }
    }
}

/// The keys one query attends to.
#[derive(Clone, Copy, Debug)]
pub enum Keys<'a> {
    /// Every row of `k`.
    All,
    /// Rows `0..=i` of `k`, the later ones masked: query `i` of a causal head.
    Causal(usize),
    /// Only these rows of `k`, in this order (the kept keys of a query).
    Listed(&'a [u32]),
}

/// Softmax of `scores` in place: each becomes `base^((s − max) · scale) / Σ`,
/// the exponentials in `T` (`f32` or `f64`) and their sum in `f64`. A score
/// of −∞ (a masked key) becomes 0. Callers pass at least one finite score;
/// a causal caller passes the allowed prefix of its row.
///
/// The one row softmax of the project: the fast `f32` forward passes and
/// the `f64` references differ only in `T`.
pub fn softmax_in_place<T: Float>(scores: &mut [T], scale: T, base: Base) {
    let max = scores.iter().copied().fold(T::neg_infinity(), T::max);
    let mut total = 0f64;
    for s in scores.iter_mut() {
        *s = base.pow((*s - max) * scale);
        total += s.to_f64().unwrap_or(f64::NAN);
    }
    let inverse = T::from(1.0 / total).unwrap_or_else(T::nan);
    for s in scores.iter_mut() {
        *s = *s * inverse;
    }
}

/// The attention probabilities of query `q` (length head_dim) over rows of
/// `k` (each of length head_dim), with scores `q·k_j · scale`.
///
/// With [`Keys::All`] or [`Keys::Causal`] there is one probability per row
/// of `k` (masked rows 0); with [`Keys::Listed`], one per listed key in list
/// order, and none for an empty list.
///
/// # Panics
///
/// If a key index is outside `k`.
pub fn probabilities(q: &[f64], k: &[Vec<f64>], keys: Keys, scale: f64, base: Base) -> Vec<f64> {
    let score = |j: usize| dot(q, &k[j]) * scale;
    let mut scores: Vec<f64> = match keys {
        Keys::All => (0..k.len()).map(score).collect(),
        Keys::Causal(i) => (0..k.len())
            .map(|j| if j > i { f64::NEG_INFINITY } else { score(j) })
            .collect(),
        Keys::Listed(list) => list.iter().map(|&j| score(j as usize)).collect(),
    };
    if !scores.is_empty() {
        softmax_in_place(&mut scores, 1.0, base);
    }
    scores
}

/// Softmax attention of one query: `out = Σ_j p_j v_j` over the keys, with
/// `p` from [`probabilities`]. `v` has the rows of `k`; the result has the
/// length of `v`'s rows, zeros for an empty [`Keys::Listed`].
///
/// For the engine, `base` is [`Base::Two`] and `scale` the real score scale
/// (the CSR value / 2^F, already folding `log2(e) / √head_dim` and the
/// quantisation scales).
pub fn attention(
    q: &[f64],
    k: &[Vec<f64>],
    v: &[Vec<f64>],
    keys: Keys,
    scale: f64,
    base: Base,
) -> Vec<f64> {
    let p = probabilities(q, k, keys, scale, base);
    let rows: Box<dyn Iterator<Item = usize>> = match keys {
        Keys::Listed(list) => Box::new(list.iter().map(|&j| j as usize)),
        Keys::All | Keys::Causal(_) => Box::new(0..k.len()),
    };
    let mut out = vec![0.0; v.first().map_or(q.len(), Vec::len)];
    for (j, w) in rows.zip(&p) {
        for (o, x) in out.iter_mut().zip(&v[j]) {
            *o += w * x;
        }
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Rows of integers as f64.
pub fn to_f64(rows: &[Vec<i32>]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| r.iter().map(|&x| f64::from(x)).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[&[f64]]) -> Vec<Vec<f64>> {
        r.iter().map(|x| x.to_vec()).collect()
    }

    #[test]
    fn equal_scores_share_the_weight_evenly() {
        let k = rows(&[&[1.0, 0.0], &[1.0, 0.0], &[1.0, 0.0], &[1.0, 0.0]]);
        let p = probabilities(&[2.0, 5.0], &k, Keys::All, 0.5, Base::E);
        assert_eq!(p, vec![0.25; 4]);
    }

    #[test]
    fn base_two_doubles_a_weight_per_unit_of_score() {
        let k = rows(&[&[1.0], &[0.0]]);
        let p = probabilities(&[1.0], &k, Keys::All, 1.0, Base::Two);
        assert!((p[0] - 2.0 / 3.0).abs() < 1e-15 && (p[1] - 1.0 / 3.0).abs() < 1e-15);
        let e = probabilities(&[1.0], &k, Keys::All, 1.0, Base::E);
        let want = 1f64.exp() / (1f64.exp() + 1.0);
        assert!((e[0] - want).abs() < 1e-15);
    }

    #[test]
    fn a_causal_query_gives_later_keys_nothing() {
        let k = rows(&[&[1.0], &[2.0], &[3.0]]);
        let p = probabilities(&[1.0], &k, Keys::Causal(1), 1.0, Base::E);
        assert_eq!(p[2], 0.0);
        assert!((p[0] + p[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn listed_keys_are_attended_in_list_order() {
        let k = rows(&[&[0.0], &[1.0], &[2.0]]);
        let v = rows(&[&[10.0], &[20.0], &[30.0]]);
        let listed = attention(&[0.0], &k, &v, Keys::Listed(&[2, 0]), 1.0, Base::Two);
        assert!((listed[0] - 20.0).abs() < 1e-12, "{listed:?}");
        let one = attention(&[1.0], &k, &v, Keys::Listed(&[1]), 1.0, Base::Two);
        assert_eq!(one, vec![20.0]);
        let none = attention(&[1.0], &k, &v, Keys::Listed(&[]), 1.0, Base::Two);
        assert_eq!(none, vec![0.0]);
    }
}
