//! The matrix products of the BERT forward pass, through the `gemm` crate
//! (already built for `candle-core`): its `f32` kernels are chosen at run
//! time for the processor (AVX2 and FMA where present), and with
//! `parallel` the product is split among the threads of rayon's pool, the
//! pool that the rest of the forward pass uses.

use gemm::Parallelism;
use ndarray::{Array2, ArrayView2};

/// `a·b` for `a` of `m × k` and `b` of `k × n` (any strides, as views
/// give them: a transposed view is not copied), giving `m × n` in
/// standard layout. With `parallel` the work is split among rayon's
/// threads (where `gemm` finds it large enough); without, it runs on the
/// calling thread.
///
/// # Panics
///
/// If `a`'s columns differ from `b`'s rows.
pub fn matmul(a: &ArrayView2<f32>, b: &ArrayView2<f32>, parallel: bool) -> Array2<f32> {
    assert_eq!(a.ncols(), b.nrows(), "a's columns differ from b's rows");
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    let mut c = Array2::<f32>::zeros((m, n));
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    let parallelism = if parallel {
        Parallelism::Rayon(rayon::current_num_threads())
    } else {
        Parallelism::None
    };
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    // SAFETY: `c` is an owned m × n standard-layout array (column stride 1,
    // row stride n), distinct from `a` and `b`, which are live views whose
    // pointers and strides address exactly their m × k and k × n elements;
    // gemm reads only those and writes only c's (read_dst = false, so
    // c's zeros are not read: c = 1·a·b).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    c
}

#[cfg(test)]
mod tests {
    use super::matmul;
    use ndarray::Array2;

    /// Against ndarray's own product, with a transposed operand and both
    /// thread settings.
    #[test]
    fn matches_ndarray_with_any_strides() {
        let a = Array2::from_shape_fn((37, 19), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Array2::from_shape_fn((23, 19), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.25);
        let want = a.dot(&b.t());
        for parallel in [false, true] {
            let got = matmul(&a.view(), &b.t(), parallel);
            assert_eq!(got.dim(), (37, 23));
            let diff = (&got - &want).iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(diff < 1e-4, "parallel = {parallel}: {diff}");
        }
        let empty = matmul(
            &a.view().split_at(ndarray::Axis(1), 0).0,
            &b.t().split_at(ndarray::Axis(0), 0).0,
            true,
        );
        assert_eq!(empty, Array2::<f32>::zeros((37, 23)));
    }
}
