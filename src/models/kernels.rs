//! Small dense kernels for the online (one example at a time) models, where
//! a tensor library's per-op overhead would dominate.
//!
//! Each kernel has one portable body. On x86-64 it is compiled a second time
//! with AVX2 enabled and picked at run time, since the default target only
//! assumes SSE2. Eight independent accumulators let the compiler vectorise
//! reductions (a plain `sum()` must keep the sequential order), and because
//! the order of operations is written out, both versions give identical
//! results.

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let folded = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (folded[0] + folded[2]) + (folded[1] + folded[3]) + tail
}

#[inline(always)]
fn axpy_body(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[inline(always)]
fn grow_body(row: &mut [f32], a: f32, g: &[f32]) {
    for (w, gj) in row.iter_mut().zip(g) {
        *w += *w * (a * gj);
    }
}

macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, $avx:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        $(#[$doc])*
        pub fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { $avx($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

dispatch!(
    /// `Σ a_k b_k`.
    dot, dot_avx2, dot_body, (a: &[f32], b: &[f32]) -> f32
);
dispatch!(
    /// `y += a · x`.
    axpy, axpy_avx2, axpy_body, (a: f32, x: &[f32], y: &mut [f32]) -> ()
);
dispatch!(
    /// `row_j += row_j · a · g_j`: a multiplicative update, so zeros stay zero.
    grow, grow_avx2, grow_body, (row: &mut [f32], a: f32, g: &[f32]) -> ()
);

/// The logistic function `1 / (1 + e^(−u))`.
pub fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + (-u).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_sequential_sum_and_both_versions_agree() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-4);
        assert_eq!(dot(&a, &b).to_bits(), dot_body(&a, &b).to_bits());
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn axpy_grow_and_sigmoid_by_hand() {
        let mut y = [1.0, 2.0];
        axpy(0.5, &[2.0, -4.0], &mut y);
        assert_eq!(y, [2.0, 0.0]);
        let mut w = [2.0, 0.0, 1.0];
        grow(&mut w, 0.5, &[1.0, 3.0, -1.0]);
        assert_eq!(w, [3.0, 0.0, 0.5]);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(1.0) - 0.7310586).abs() < 1e-6);
    }
}
