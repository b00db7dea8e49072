//! How much of a measured drop is the items' noise: the paired bootstrap
//! standard error of the relative drop of a run's metric from the exact
//! model's, over the same scored units (Efron and Tibshirani, *An
//! Introduction to the Bootstrap*, 1993, chapter 6).
//!
//! A resample draws n of the n units (TREC and sentiment: items; Lee: pairs
//! of documents) with replacement and recomputes both metrics on it, so the
//! run and the exact model see the same units: what the units share cancels
//! and what remains is the spread of the drop itself. The draws come from
//! [`crate::golden::crossbar::mix`] on a fixed stream, so the error is a
//! pure function of the two runs.

use super::Units;
use crate::golden::crossbar::mix;

/// Resamples per standard error. 200 gives the error within about 5 % of
/// itself (the relative standard error of a sample standard deviation is
/// 1/√(2·200)).
pub const RESAMPLES: u64 = 200;

/// Stream constant of the resampling draws ("BOOT").
const STREAM: u64 = 0x424f_4f54;

/// The standard error, in percent points, of
/// [`super::relative_drop`]`(exact, run)` over `RESAMPLES` paired
/// resamples of the units; 0 with fewer than 2 units.
///
/// # Panics
/// If the two runs differ in kind or in their number of units.
pub fn drop_standard_error(exact: &Units, run: &Units) -> f64 {
    let n = exact.len();
    assert_eq!(n, run.len(), "the runs score different units");
    if n < 2 {
        return 0.0;
    }
    let drops: Vec<f64> = (0..RESAMPLES)
        .map(|r| {
            let pick: Vec<usize> = (0..n as u64)
                .map(|i| (mix(mix(STREAM ^ r) ^ i) % n as u64) as usize)
                .collect();
            super::relative_drop(exact.metric_of(&pick), run.metric_of(&pick))
        })
        .collect();
    let mean = drops.iter().sum::<f64>() / drops.len() as f64;
    let var = drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (drops.len() - 1) as f64;
    var.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn right(bits: &[bool]) -> Units {
        Units::Right(bits.to_vec())
    }

    #[test]
    fn the_same_run_has_no_error_and_the_error_repeats() {
        let a = right(&[true, false, true, true, false, true]);
        assert_eq!(drop_standard_error(&a, &a), 0.0);
        let b = right(&[true, true, false, true, false, true]);
        let e = drop_standard_error(&a, &b);
        assert!(e > 0.0);
        assert_eq!(e, drop_standard_error(&a, &b));
    }

    #[test]
    fn accuracy_errors_shrink_as_one_over_root_n() {
        // One flipped answer in every 10 items, at 100 and at 10 000 items:
        // the paired error of the drop falls about tenfold.
        let run = |n: usize| {
            let exact: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
            let flipped: Vec<bool> = (0..n).map(|i| (i % 2 == 0) != (i % 10 == 0)).collect();
            drop_standard_error(&right(&exact), &right(&flipped))
        };
        let ratio = run(100) / run(10_000);
        assert!((7.0..14.0).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn correlation_units_resample_in_pairs() {
        let x: Vec<f64> = (0..50).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| v * 2.0 + (v * 7.0).sin()).collect();
        let exact = Units::Pearson {
            x: x.clone(),
            y: y.clone(),
        };
        let noisy: Vec<f64> = x.iter().map(|v| v + (v * 3.0).cos() * 5.0).collect();
        let run = Units::Pearson { x: noisy, y };
        let e = drop_standard_error(&exact, &run);
        assert!(e > 0.0 && e < 10.0, "{e}");
    }
}
