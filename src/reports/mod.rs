//! Reports on real input: threshold calibration, per-head statistics of
//! the golden model on a trace, and the performance and energy report
//! (`report`, `sweep`) measured in the RTL.

pub mod energy;
pub mod goals;
pub mod measure;
pub mod perf;
pub mod plot;
pub mod render;
pub mod simulate;
pub mod sweep;

/// The `p`-th percentile (0..=100) of `values` by the nearest-rank method;
/// 0 for an empty list.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Mean of `values`; 0 for an empty list.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 50.0), 3.0);
        assert_eq!(percentile(&v, 95.0), 5.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(mean(&v), 3.0);
    }
}
