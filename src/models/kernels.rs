//! Small dense kernels for the online (one example at a time) models, where
//! a tensor library's per-op overhead would dominate. Eight independent
//! accumulators let the compiler vectorise reductions, which a plain
//! `sum()` cannot (it must keep the sequential floating-point order).

/// `Σ a_k b_k`.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
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
    acc.iter().sum::<f32>() + tail
}

/// `y += a · x`.
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// The logistic function `1 / (1 + e^(−u))`.
pub fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + (-u).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_sequential_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - want).abs() < 1e-4);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn axpy_and_sigmoid_by_hand() {
        let mut y = [1.0, 2.0];
        axpy(0.5, &[2.0, -4.0], &mut y);
        assert_eq!(y, [2.0, 0.0]);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(1.0) - 0.7310586).abs() < 1e-6);
    }
}
