//! Plain floating-point attention, the yardstick of the fixed-point engine.

/// Softmax attention of one query over the listed keys in f64:
/// `out = Σ_j w_j v_j / Σ_j w_j` with `w_j = 2^(s_j · scale)`, where
/// `scale` is the real score scale (the CSR value / 2^F, already folding
/// log2(e) / sqrt(d) and the quantisation scales). Zeros for an empty list.
pub fn attention(q: &[f64], k: &[Vec<f64>], v: &[Vec<f64>], keys: &[u32], scale: f64) -> Vec<f64> {
    let scores: Vec<f64> = keys
        .iter()
        .map(|&j| dot(q, &k[j as usize]) * scale)
        .collect();
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp2()).collect();
    let total: f64 = weights.iter().sum();
    let mut out = vec![0.0; q.len()];
    for (&j, w) in keys.iter().zip(&weights) {
        for (o, x) in out.iter_mut().zip(&v[j as usize]) {
            *o += w * x / total;
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
