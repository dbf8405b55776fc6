//! Small dense SIMD kernels (dot products, axpy, the soft-WTA row, the
//! online models' inner loops), where a tensor library's per-op overhead
//! would dominate. The ground floor: it imports nothing of hebbench, and the
//! Hebbian engine and the models both build on it.
//!
//! Each kernel has one portable body. On x86-64 it is compiled a second time
//! with AVX2 enabled and picked at run time, since the default target only
//! assumes SSE2. Element-wise loops vectorise as written. Reductions are
//! written with independent accumulators in a fixed order (a plain `sum()`
//! must stay sequential), and the dot products, which LLVM vectorises badly,
//! have a hand-written AVX2 version that follows the same order. So every
//! kernel gives identical results on every x86-64 CPU.

/// `Σ a_k b_k` over `V` vectors of 8 lanes: each lane accumulates its own
/// products, first over blocks of `8·V` elements, then over the whole
/// 8-element groups left (into vectors 0, 1, …); the `V` vectors are added
/// in order, then the 8 lanes pairwise, then the last `< 8` products.
/// Several vectors keep long rows from waiting on the latency of one chain
/// of additions. [`dot_avx2`] follows exactly this order, so both give
/// identical results.
#[inline(always)]
fn dot_body<const V: usize>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [[0.0f32; 8]; V];
    let full = n / (8 * V) * 8 * V;
    for (x, y) in a[..full]
        .chunks_exact(8 * V)
        .zip(b[..full].chunks_exact(8 * V))
    {
        for (v, lanes) in acc.iter_mut().enumerate() {
            for (k, l) in lanes.iter_mut().enumerate() {
                *l += x[8 * v + k] * y[8 * v + k];
            }
        }
    }
    let groups = (n - full) / 8;
    for (v, lanes) in acc.iter_mut().enumerate().take(groups) {
        let at = full + 8 * v;
        for (k, l) in lanes.iter_mut().enumerate() {
            *l += a[at + k] * b[at + k];
        }
    }
    let mut lanes = acc[0];
    for more in &acc[1..] {
        for (l, m) in lanes.iter_mut().zip(more) {
            *l += m;
        }
    }
    let tail = full + 8 * groups;
    finish_dot(lanes, &a[tail..], &b[tail..])
}

/// The lanes folded pairwise (halves, quarters, then the last two: three
/// additions deep rather than eight), then the tail in order.
#[inline(always)]
fn finish_dot(l: [f32; 8], ra: &[f32], rb: &[f32]) -> f32 {
    let half = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    let quarter = [half[0] + half[2], half[1] + half[3]];
    let mut t = quarter[0] + quarter[1];
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

/// [`dot_body`] with explicit AVX2 vectors, optionally updating `a` first:
/// with `GROW` each `a_k` becomes `a_k + a_k·(s·g_k)` (see [`grow`]) before
/// it is multiplied, in the same pass.
///
/// The portable body compiled with AVX2 enabled is not enough here: LLVM's
/// SLP vectoriser splits its accumulators into 2-lane SSE registers
/// (measured: 2.5× slower on a 200 × 784 matrix–vector product). Multiply
/// and add stay separate, as in the bodies, so the rounding is the same.
///
/// # Safety
/// The CPU must support AVX2; `a` and `b` hold at least `n` floats, and so
/// does `g` with `GROW`, when `a` must also be writable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2<const V: usize, const GROW: bool>(
    a: *mut f32,
    b: &[f32],
    n: usize,
    s: f32,
    g: &[f32],
) -> f32 {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };
    let (bp, gp, sv) = (b.as_ptr(), g.as_ptr(), _mm256_set1_ps(s));
    let mut acc: [__m256; V] = [_mm256_setzero_ps(); V];
    // One group of 8: a (grown first with GROW), times b, into `$acc`.
    macro_rules! group {
        ($acc:expr, $at:expr) => {{
            let at = $at;
            let mut x = _mm256_loadu_ps(a.add(at));
            if GROW {
                let sg = _mm256_mul_ps(sv, _mm256_loadu_ps(gp.add(at)));
                x = _mm256_add_ps(x, _mm256_mul_ps(x, sg));
                _mm256_storeu_ps(a.add(at), x);
            }
            *$acc = _mm256_add_ps(*$acc, _mm256_mul_ps(x, _mm256_loadu_ps(bp.add(at))));
        }};
    }
    let full = n / (8 * V) * 8 * V;
    for block in (0..full).step_by(8 * V) {
        for (v, av) in acc.iter_mut().enumerate() {
            group!(av, block + 8 * v);
        }
    }
    let groups = (n - full) / 8;
    for (v, av) in acc.iter_mut().enumerate().take(groups) {
        group!(av, full + 8 * v);
    }
    let mut sum = acc[0];
    for more in &acc[1..] {
        sum = _mm256_add_ps(sum, *more);
    }
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
    let tail = full + 8 * groups;
    // Only a growing call may form a `&mut` over `a`: the plain dot is
    // handed a pointer from a shared slice.
    let rest: &[f32] = if GROW {
        let rest = std::slice::from_raw_parts_mut(a.add(tail), n - tail);
        grow_body(rest, s, &g[tail..n]);
        rest
    } else {
        std::slice::from_raw_parts(a.add(tail), n - tail)
    };
    finish_dot(lanes, rest, &b[tail..n])
}

/// Whether the AVX2 versions of the kernels may run.
#[inline(always)]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[allow(unreachable_code)]
    false
}

/// Dispatches to [`dot_avx2`] where the CPU has it.
#[inline(always)]
fn dot_v<const V: usize>(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        let n = a.len().min(b.len());
        // SAFETY: AVX2 is present and both slices hold n floats; without
        // GROW the kernel only reads `a`, so the pointer cast from a shared
        // reference is never written through.
        return unsafe { dot_avx2::<V, false>(a.as_ptr().cast_mut(), b, n, 0.0, &[]) };
    }
    dot_body::<V>(a, b)
}

/// `Σ a_k b_k` for short rows (tens of elements).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_v::<1>(a, b)
}

/// `Σ a_k b_k` for long rows (hundreds of elements).
pub fn dot_wide(a: &[f32], b: &[f32]) -> f32 {
    dot_v::<4>(a, b)
}

/// [`grow`] then [`dot_wide`] with `b`, in one pass over the row, so that
/// an online learner computes its next drive while the row is in registers.
/// The result is exactly that of the two calls.
pub fn grow_dot(row: &mut [f32], s: f32, g: &[f32], b: &[f32]) -> f32 {
    let n = row.len();
    assert!(g.len() >= n && b.len() >= n, "grow_dot: short g or b");
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 is present; `g` and `b` hold at least n floats
        // (asserted), and `row` is borrowed mutably for the call.
        return unsafe { dot_avx2::<4, true>(row.as_mut_ptr(), b, n, s, g) };
    }
    grow_body(row, s, g);
    dot_body::<4>(row, b)
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
            if has_avx2() {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { $avx($($arg),*) };
            }
            $body($($arg),*)
        }
    };
}

dispatch!(
    /// `y += a · x`.
    axpy, axpy_avx2, axpy_body, (a: f32, x: &[f32], y: &mut [f32]) -> ()
);
dispatch!(
    /// `row_j += row_j · a · g_j`: a multiplicative update, so zeros stay zero.
    grow, grow_avx2, grow_body, (row: &mut [f32], a: f32, g: &[f32]) -> ()
);

#[inline(always)]
fn accumulate_rows_body(w: &[f32], c: &[f32], out: &mut [f32]) {
    let d = out.len();
    let mut rows = w.chunks_exact(d).zip(c);
    // Four rows per pass over `out`; each element still receives its terms
    // one row at a time, in row order, so this equals four `axpy` calls.
    while rows.len() >= 4 {
        let (r0, &c0) = rows.next().expect("4 left");
        let (r1, &c1) = rows.next().expect("3 left");
        let (r2, &c2) = rows.next().expect("2 left");
        let (r3, &c3) = rows.next().expect("1 left");
        for ((((o, &x0), &x1), &x2), &x3) in out.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            let mut y = *o;
            y += c0 * x0;
            y += c1 * x1;
            y += c2 * x2;
            y += c3 * x3;
            *o = y;
        }
    }
    for (row, &ci) in rows {
        axpy_body(ci, row, out);
    }
}

dispatch!(
    /// `out += Σ_i c_i · w_i` over the rows `w_i` of `w` (row length
    /// `out.len()`), added in row order: a transposed matrix–vector product
    /// that reads and writes `out` once per four rows.
    accumulate_rows, accumulate_rows_avx2, accumulate_rows_body, (w: &[f32], c: &[f32], out: &mut [f32]) -> ()
);

#[inline(always)]
fn logistic_body(u: &[f32], t: &[f32], out: &mut [f32]) {
    for ((o, &ui), &ti) in out.iter_mut().zip(u).zip(t) {
        *o = sigmoid(ui - ti);
    }
}

dispatch!(
    /// `out_i = σ(u_i − t_i)`: a layer's response over its thresholds.
    logistic, logistic_avx2, logistic_body, (u: &[f32], t: &[f32], out: &mut [f32]) -> ()
);

#[inline(always)]
fn error_gain_body(v: &[f32], r: &[f32], g: &mut [f32], rate: f32, floor: f32) {
    for ((gj, &vj), &rj) in g.iter_mut().zip(v).zip(r) {
        *gj = rate * (vj - rj) / rj.max(floor);
    }
}

dispatch!(
    /// `g_j = rate · (v_j − r_j) / max(r_j, floor)`: the relative
    /// reconstruction error that scales a multiplicative update.
    error_gain, error_gain_avx2, error_gain_body, (v: &[f32], r: &[f32], g: &mut [f32], rate: f32, floor: f32) -> ()
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
///
/// `W` (n × n, row-major) is first copied transposed into `wt`, its rows
/// padded with zeros to a multiple of 16, so that each step's `W·y` is
/// `Σ_j y_j · (row j of Wᵀ)`, added in order of `j`, 16 units at a time in
/// registers: element-wise work that vectorises across units, where n
/// short dot products would each end in a horizontal sum.
#[inline(always)]
fn settle_body(
    w: &[f32],
    wt: &mut Vec<f32>,
    drive: &[f32],
    y: &mut [f32],
    target: &mut [f32],
    (lambda, inv_tau, tol, max_steps): (f32, f32, f32, usize),
) -> usize {
    const B: usize = 16;
    let n = y.len();
    let stride = n.div_ceil(B) * B;
    wt.clear();
    wt.resize(n * stride, 0.0);
    for (i, row) in w.chunks_exact(n).enumerate() {
        for (j, &wij) in row.iter().enumerate() {
            wt[j * stride + i] = wij;
        }
    }
    y.fill(0.0);
    let mut steps = 0;
    while steps < max_steps {
        steps += 1;
        for (block, out) in target.chunks_mut(B).enumerate() {
            let mut acc = [0.0f32; B];
            for (col, &yj) in wt.chunks_exact(stride).zip(y.iter()) {
                let col: &[f32; B] = col[block * B..][..B].try_into().expect("B wide");
                for (a, &wij) in acc.iter_mut().zip(col) {
                    *a += wij * yj;
                }
            }
            out.copy_from_slice(&acc[..out.len()]);
        }
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
    /// `settle_body`. The whole loop is one function so that it inlines;
    /// `wt` is scratch space.
    settle, settle_avx2, settle_body, (w: &[f32], wt: &mut Vec<f32>, drive: &[f32], y: &mut [f32], target: &mut [f32], p: (f32, f32, f32, usize)) -> usize
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
#[inline(always)]
pub fn sigmoid(u: f32) -> f32 {
    1.0 / (1.0 + exp_approx(-u))
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
        assert_eq!(dot(&a, &b).to_bits(), dot_body::<1>(&a, &b).to_bits());
        // Every length from 0 to 100 (full vectors and tails), both widths.
        let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = (0..100).map(|i| (i as f32 * 0.11).cos()).collect();
        for n in 0..=100 {
            let (a, b) = (&x[..n], &y[..n]);
            assert_eq!(dot(a, b).to_bits(), dot_body::<1>(a, b).to_bits());
            assert_eq!(dot_wide(a, b).to_bits(), dot_body::<4>(a, b).to_bits());
            let want: f64 = a.iter().zip(b).map(|(p, q)| *p as f64 * *q as f64).sum();
            assert!((dot_wide(a, b) as f64 - want).abs() < 1e-4, "n = {n}");
        }
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn fused_kernels_equal_their_parts_bit_for_bit() {
        let x: Vec<f32> = (0..100).map(|i| 0.5 + (i as f32 * 0.37).sin()).collect();
        let g: Vec<f32> = (0..100).map(|i| (i as f32 * 0.23).cos() * 0.1).collect();
        let b: Vec<f32> = (0..100).map(|i| (i as f32 * 0.11).cos()).collect();
        for n in 0..=100 {
            // grow_dot = grow, then dot_wide; and = the portable bodies.
            let (mut fused, mut parts, mut portable) =
                (x[..n].to_vec(), x[..n].to_vec(), x[..n].to_vec());
            let d = grow_dot(&mut fused, 0.7, &g, &b);
            grow(&mut parts, 0.7, &g);
            assert_eq!(d.to_bits(), dot_wide(&parts, &b).to_bits(), "n = {n}");
            assert_eq!(fused, parts);
            grow_body(&mut portable, 0.7, &g);
            assert_eq!(d.to_bits(), dot_body::<4>(&portable, &b).to_bits());
        }
        // accumulate_rows = one axpy per row, in row order, for 0..=9 rows
        // (multiples of four and remainders).
        let d = 11;
        for rows in 0..=9 {
            let (w, c) = (&x[..rows * d], &g[..rows]);
            let mut fused = b[..d].to_vec();
            accumulate_rows(w, c, &mut fused);
            let mut want = b[..d].to_vec();
            for (row, &ci) in w.chunks_exact(d).zip(c) {
                axpy_body(ci, row, &mut want);
            }
            assert_eq!(fused, want, "{rows} rows");
        }
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
    }

    #[test]
    fn settling_is_the_same_with_and_without_avx2() {
        // 19 units: two 8-groups and a tail of 3 in every dot product.
        let n = 19;
        let w: Vec<f32> = (0..n * n)
            .map(|i| -0.2 * ((i * 7 % 13) as f32 / 13.0))
            .collect();
        let drive: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).sin()).collect();
        let p = (10.0, 0.1, 1e-4, 100);
        let (mut y1, mut t1, mut y2, mut t2) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut s1t, mut s2t) = (Vec::new(), Vec::new());
        let s1 = settle(&w, &mut s1t, &drive, &mut y1, &mut t1, p);
        let s2 = settle_body(&w, &mut s2t, &drive, &mut y2, &mut t2, p);
        assert_eq!((s1, &y1), (s2, &y2));
        assert!(s1 > 1 && s1 < 100, "{s1} steps");
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
