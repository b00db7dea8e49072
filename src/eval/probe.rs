//! The task metrics: correlations, and ridge probes trained on the exact
//! model's embeddings.

use nalgebra::{DMatrix, DVector};

/// Ridge penalty λ of every probe, on features that are unit-length
/// embeddings (`hidden` values; 384 for all-MiniLM-L6-v2).
pub const RIDGE_LAMBDA: f64 = 1.0;

/// Pearson correlation of two equally long samples; 0 when either is
/// constant or shorter than 2.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "samples differ in length");
    let n = x.len() as f64;
    if x.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Ranks from 1, ties sharing their mean rank.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = mean_rank;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation: Pearson of the (tie-averaged) ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Cosine similarity of two vectors; 0 if either is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa * bb).sqrt()
    }
}

/// A linear map fitted by ridge regression: `y = (x − mean_x)·W + mean_y`,
/// with `W = (XcᵀXc + λI)⁻¹ XcᵀYc` on centred features and targets (so the
/// intercept is not penalised), solved by Cholesky.
#[derive(Debug, Clone)]
pub struct Ridge {
    mean_x: DVector<f64>,
    mean_y: DVector<f64>,
    /// features × outputs.
    w: DMatrix<f64>,
}

impl Ridge {
    /// Fits `outputs` targets per sample (`y[s]` has `outputs` values) on
    /// features `x[s]` (all of one length), with penalty `lambda > 0`.
    ///
    /// # Panics
    /// On no samples, ragged rows, or a non-positive `lambda`.
    pub fn fit(x: &[Vec<f32>], y: &[Vec<f64>], lambda: f64) -> Ridge {
        assert!(!x.is_empty() && x.len() == y.len(), "samples");
        assert!(lambda > 0.0, "lambda must be positive");
        let (n, p, k) = (x.len(), x[0].len(), y[0].len());
        let xm = DMatrix::from_fn(n, p, |s, f| f64::from(x[s][f]));
        let ym = DMatrix::from_fn(n, k, |s, o| y[s][o]);
        let mean_x = xm.row_mean().transpose();
        let mean_y = ym.row_mean().transpose();
        let xc = DMatrix::from_fn(n, p, |s, f| xm[(s, f)] - mean_x[f]);
        let yc = DMatrix::from_fn(n, k, |s, o| ym[(s, o)] - mean_y[o]);
        let gram = xc.tr_mul(&xc) + DMatrix::identity(p, p) * lambda;
        let rhs = xc.tr_mul(&yc);
        let w = gram
            .cholesky()
            .expect("XᵀX + λI is positive definite")
            .solve(&rhs);
        Ridge { mean_x, mean_y, w }
    }

    /// The prediction for one feature row: `outputs` values.
    pub fn predict(&self, x: &[f32]) -> Vec<f64> {
        let xc = DVector::from_fn(x.len(), |f, _| f64::from(x[f]) - self.mean_x[f]);
        let y = self.w.tr_mul(&xc) + &self.mean_y;
        y.iter().copied().collect()
    }
}

/// One-hot targets of class indices (as f64) over `classes` classes.
pub fn one_hot(labels: &[f64], classes: usize) -> Vec<Vec<f64>> {
    labels
        .iter()
        .map(|&c| (0..classes).map(|i| f64::from(i == c as usize)).collect())
        .collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv { (i, x) } else { (bi, bv) }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_of_known_samples() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Monotone but not linear: Spearman 1, Pearson below 1.
        let y = [1.0, 8.0, 27.0, 64.0];
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        assert!(pearson(&x, &y) < 0.99);
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn ridge_recovers_a_linear_map() {
        // y = 2·x0 − x1 + 3, lightly penalised.
        let x: Vec<Vec<f32>> = (0..20)
            .map(|i| vec![(i % 5) as f32, (i / 5) as f32])
            .collect();
        let y: Vec<Vec<f64>> = x
            .iter()
            .map(|r| vec![2.0 * f64::from(r[0]) - f64::from(r[1]) + 3.0])
            .collect();
        let m = Ridge::fit(&x, &y, 1e-6);
        let p = m.predict(&[1.0, 2.0]);
        assert!((p[0] - 3.0).abs() < 1e-4, "{p:?}");
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
        assert_eq!(one_hot(&[2.0], 3), [vec![0.0, 0.0, 1.0]]);
    }
}
