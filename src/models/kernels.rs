//! Small dense kernels for the online (one example at a time) models, where
//! a tensor library's per-op overhead would dominate.
//!
//! Each kernel has one portable body. On x86-64 it is compiled a second time
//! with AVX2 enabled and picked at run time, since the default target only
//! assumes SSE2. Eight independent accumulators let the compiler vectorise
//! reductions (a plain `sum()` must keep the sequential order), and because
//! the order of operations is written out, both versions give identical
//! results.

/// `Σ a_k b_k` with `L` independent accumulators (a multiple of 8), folded
/// pairwise: 8 suits short rows, 32 keeps long rows from waiting on the
/// latency of one chain of additions.
#[inline(always)]
fn dot_lanes<const L: usize>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..L {
            acc[k] += x[k] * y[k];
        }
    }
    let mut n = L;
    while n > 1 {
        n /= 2;
        for k in 0..n {
            acc[k] += acc[k + n];
        }
    }
    acc[0] + tail
}

#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<8>(a, b)
}

#[inline(always)]
fn dot_wide_body(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<32>(a, b)
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
    /// `Σ a_k b_k` for long rows (hundreds of elements); see `dot_lanes`.
    dot_wide, dot_wide_avx2, dot_wide_body, (a: &[f32], b: &[f32]) -> f32
);
dispatch!(
    /// `y += a · x`.
    axpy, axpy_avx2, axpy_body, (a: f32, x: &[f32], y: &mut [f32]) -> ()
);
dispatch!(
    /// `row_j += row_j · a · g_j`: a multiplicative update, so zeros stay zero.
    grow, grow_avx2, grow_body, (row: &mut [f32], a: f32, g: &[f32]) -> ()
);

/// SoftHebb's competition on one row of responses `u`: softmax shares
/// `a = e^(t(u−max)) / Σ`, negated for every unit but the winner, and
/// `d = a·u` for the decay term. Shares below f32's normal range are
/// flushed to zero: subnormal operands slow the update GEMM down ~4×.
#[inline(always)]
fn soft_wta_row_body(u: &[f32], a: &mut [f32], d: &mut [f32], t: f32, max: f32, win: usize) {
    let mut sum = 0f32;
    for (ai, &ui) in a.iter_mut().zip(u) {
        *ai = exp_approx(t * (ui - max));
        sum += *ai;
    }
    let inv = 1.0 / sum;
    for (j, ((ai, di), &ui)) in a.iter_mut().zip(d.iter_mut()).zip(u).enumerate() {
        let share = *ai * inv;
        let share = if share < f32::MIN_POSITIVE {
            0.0
        } else {
            share
        };
        *ai = if j == win { share } else { -share };
        *di = *ai * ui;
    }
}

dispatch!(
    /// See `soft_wta_row_body`.
    soft_wta_row, soft_wta_row_avx2, soft_wta_row_body, (u: &[f32], a: &mut [f32], d: &mut [f32], t: f32, max: f32, win: usize) -> ()
);

/// Leaky settling of a recurrent layer from `y = 0`:
/// `y ← y + (f(drive + W·y) − y)/τ` with `f(u) = 1/(1 + e^(−λu))`, until
/// `‖Δy‖ ≤ tol·‖y‖` or `max_steps`. Returns the steps taken.
#[inline(always)]
fn settle_body(
    w: &[f32],
    drive: &[f32],
    y: &mut [f32],
    target: &mut [f32],
    (lambda, inv_tau, tol, max_steps): (f32, f32, f32, usize),
) -> usize {
    y.fill(0.0);
    let mut steps = 0;
    while steps < max_steps {
        steps += 1;
        matvec_body(w, y, target);
        for (ti, &di) in target.iter_mut().zip(drive) {
            *ti = 1.0 / (1.0 + exp_approx(-lambda * (*ti + di)));
        }
        let (mut dy2, mut y2) = (0.0f32, 0.0f32);
        for (yi, &ti) in y.iter_mut().zip(target.iter()) {
            let d = (ti - *yi) * inv_tau;
            *yi += d;
            dy2 += d * d;
            y2 += *yi * *yi;
        }
        if dy2 <= tol * tol * y2.max(1e-12) {
            break;
        }
    }
    steps
}

dispatch!(
    /// Settles `y` under leaky dynamics (Földiák's network); see
    /// `settle_body`. The whole loop is one function so that it inlines.
    settle, settle_avx2, settle_body, (w: &[f32], drive: &[f32], y: &mut [f32], target: &mut [f32], p: (f32, f32, f32, usize)) -> usize
);

/// `e^x` without branches or library calls (Cephes' `expf`: Cody–Waite
/// range reduction, a degree-6 polynomial, the exponent set by bits), so
/// that a loop over it vectorises. Relative error below 3e-7 over the
/// normal range; inputs are clamped to [−87.3, 88.3].
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let z = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = p * z + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `ln x` for positive normal `x` without branches or library calls
/// (Cephes' `logf`), so that a loop over it vectorises. Relative error
/// below 3e-7 away from `x = 1`, absolute error below 1e-7 near it.
#[inline(always)]
pub fn ln_approx(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    // Mantissa in [0.5, 1); below √½ it is doubled so that m − 1 is small.
    let m = f32::from_bits((bits & 0x807f_ffff) | 0x3f00_0000);
    let small = m < std::f32::consts::FRAC_1_SQRT_2;
    e -= small as i32;
    let m = if small { m + m - 1.0 } else { m - 1.0 };
    let e = e as f32;
    let z = m * m;
    let mut y = ((((((((7.037_683_6e-2 * m - 1.151_461e-1) * m + 1.167_699_9e-1) * m
        - 1.242_014_1e-1)
        * m
        + 1.424_932_3e-1)
        * m
        - 1.666_805_8e-1)
        * m
        + 2.000_071_4e-1)
        * m
        - 2.499_999_4e-1)
        * m
        + 3.333_333e-1)
        * m
        * z;
    y += -2.121_944_4e-4 * e;
    y += -0.5 * z;
    m + y + 0.693_359_4 * e
}

#[inline(always)]
fn rectified_pow_body(row: &mut [f32], shift: f32, power: f32) {
    for v in row.iter_mut() {
        let r = *v - shift;
        let p = exp_approx(power * ln_approx(r.max(f32::MIN_POSITIVE)));
        *v = if r > 0.0 { p } else { 0.0 };
    }
}

dispatch!(
    /// `v ← max(v − shift, 0)^power` over a slice, vectorised (SoftHebb's
    /// Triangle after its mean is known).
    rectified_pow, rectified_pow_avx2, rectified_pow_body, (row: &mut [f32], shift: f32, power: f32) -> ()
);

/// The logistic function `1 / (1 + e^(−u))`.
pub fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-u))
}

#[inline(always)]
fn matvec_body(m: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    for (o, row) in out.iter_mut().zip(m.chunks_exact(n)) {
        *o = dot_body(row, x);
    }
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
    fn wide_dot_sums_every_element() {
        // Σ k for k = 1..=70 is 70·71/2 = 2485 (exact in f32), across two
        // full 32-blocks and a tail of 6.
        let a: Vec<f32> = (1..=70).map(|k| k as f32).collect();
        assert_eq!(dot_wide(&a, &[1.0; 70]), 2485.0);
        // Σ k² for k = 1..=70 is 70·71·141/6 = 116795.
        assert_eq!(dot_wide(&a, &a), 116_795.0);
        assert_eq!(dot_wide(&[], &[]), 0.0);
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
        // 1/(1+e^-2) = 0.8807971, 1/(1+e^2) = 0.1192029.
        assert!((sigmoid(2.0) - 0.880_797_1).abs() < 1e-6);
        assert!((sigmoid(-2.0) - 0.119_202_9).abs() < 1e-6);
        let mut out = [0.0; 2];
        matvec_body(&[1.0, 2.0, 3.0, 4.0], &[1.0, -1.0], &mut out);
        assert_eq!(out, [-1.0, -1.0]);
    }

    #[test]
    fn exp_approx_is_within_3e7_of_libm() {
        let mut worst = 0f64;
        for i in -8000..=8000 {
            let x = i as f32 * 0.01;
            let want = (x as f64).exp();
            let got = exp_approx(x) as f64;
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_approx(0.0), 1.0);
        assert!(exp_approx(-200.0) > 0.0 && exp_approx(200.0).is_finite());
    }

    #[test]
    fn ln_and_rectified_pow_match_libm() {
        let mut worst = 0f64;
        for i in 1..=20000 {
            let x = i as f32 * 0.0137;
            let want = (x as f64).ln();
            let got = ln_approx(x) as f64;
            worst = worst.max((got - want).abs() / want.abs().max(1.0));
        }
        assert!(worst < 3e-7, "worst error {worst}");
        // Row [1, 2, 6] shifted by 3: [−2, −1, 3] → [0, 0, 3^1.4 = 4.655537].
        let mut row = [1.0, 2.0, 6.0];
        rectified_pow(&mut row, 3.0, 1.4);
        assert_eq!(&row[..2], &[0.0, 0.0]);
        assert!((row[2] - 4.655_537).abs() < 1e-5, "{row:?}");
    }
}
