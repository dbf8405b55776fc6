//! The report's printed statistical-threshold update (hebb.py
//! `update_adaptive_threshold`, L327–341), the `report` variant of the
//! `statistical` competition. It is a different operator from a thresholded
//! Instar, so it lives beside the layer rather than in a competition:
//!
//! * the similarity is `conv(x_pad, w, zero padding p) / ‖w‖` on the input
//!   the layer already reflect-padded, so it is padded twice (a 36×36 map
//!   for a 32×32 input and a 5×5 kernel), without ‖x‖ and without surround;
//! * units below `mean + k·std` over channels are zeroed, the top-1 of what
//!   remains wins, and its post factor is `sim²`;
//! * `compute_yx` then correlates that map with `x_pad` over a window of
//!   `s = H_pad − H_map + 1` shifts: 1 when the kernel is `2p+1` (a 1×1
//!   correlation, broadcast over every tap of the kernel), `k` when `p = 0`.

use super::competition::report_post;
use super::gemm::matmul_nt;
use crate::error::{Error, Result};
use crate::nhwc::{im2col, reflect_pad, Map, Padding};

/// `ΔW` (`cout × k·k·cin`, (tap, channel) order) for input `x` (before
/// padding), weights `w`, kernel `k`, padding `pad` and threshold `stat_k`.
pub fn delta(
    x: &Map,
    w: &[f32],
    cout: usize,
    k: usize,
    pad: usize,
    stat_k: f32,
) -> Result<Vec<f32>> {
    let xp = reflect_pad(x, pad);
    let (p, ho, wo) = im2col(&xp, k, pad, Padding::Zeros);
    let c = x.c;
    let cols = k * k * c;
    let rows = xp.n * ho * wo;
    let mut sim = vec![0f32; rows * cout];
    matmul_nt(&p, w, &mut sim, rows, cout, cols);
    drop(p);
    let inv_norm: Vec<f32> = w
        .chunks(cols)
        .map(|r| 1.0 / (r.iter().map(|v| v * v).sum::<f32>().sqrt() + 1e-10))
        .collect();
    for row in sim.chunks_mut(cout) {
        row.iter_mut().zip(&inv_norm).for_each(|(v, s)| *v *= s);
    }
    let thresholds: Vec<f32> = sim
        .chunks(cout)
        .map(|row| {
            let n = cout as f32;
            let mean = row.iter().sum::<f32>() / n;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (n - 1.0).max(1.0);
            mean + stat_k * var.sqrt()
        })
        .collect();
    let post = report_post(&sim, cout, |r| thresholds[r]);
    let winners = post.winners.as_deref().unwrap_or_default();

    let s = xp.h + 1 - ho;
    if s != 1 && s != k {
        return Err(Error::Params(format!(
            "the report's statistical update needs padding 0 or (k−1)/2, got k = {k}, padding {pad}"
        )));
    }
    let (q, qh, qw) = im2col(&xp, s, 0, Padding::Zeros);
    debug_assert_eq!((qh, qw), (ho, wo));
    let span = s * s * c;
    let mut yx = vec![0f64; cout * span];
    let mut ysum = vec![0f64; cout];
    for (r, &win) in winners.iter().enumerate() {
        if win == super::competition::NO_WINNER {
            continue;
        }
        let o = win as usize;
        let a = post.a[r * cout + o] as f64;
        ysum[o] += a;
        let dst = &mut yx[o * span..(o + 1) * span];
        for (d, &v) in dst.iter_mut().zip(&q[r * span..(r + 1) * span]) {
            *d += a * v as f64;
        }
    }
    let mut out = vec![0f32; cout * cols];
    for o in 0..cout {
        for t in 0..k * k {
            for ch in 0..c {
                let hebb = if s == 1 {
                    yx[o * span + ch]
                } else {
                    yx[o * span + t * c + ch]
                };
                let i = o * cols + t * c + ch;
                out[i] = (hebb - ysum[o] * w[i] as f64) as f32;
            }
        }
    }
    Ok(out)
}

/// [`delta`] in candle ops on any device: `x` NCHW before padding, `w`
/// `cout × k·k·cin` in (tap, channel) order; sums in f32 (the kernel's are
/// f64), so the two agree to f32 rounding (tests/engines.rs).
pub fn delta_tensor(
    x: &candle_core::Tensor,
    w: &candle_core::Tensor,
    k: usize,
    pad: usize,
    stat_k: f32,
) -> Result<candle_core::Tensor> {
    use crate::hebb::tensor::{patches, reflect_pad};
    let (_, c, h, _) = x.dims4()?;
    let cout = w.dim(0)?;
    let xp = reflect_pad(x, pad)?;
    let ho = h + 4 * pad + 1 - k;
    let s = xp.dim(2)? + 1 - ho;
    if s != 1 && s != k {
        return Err(Error::Params(format!(
            "the report's statistical update needs padding 0 or (k−1)/2, got k = {k}, padding {pad}"
        )));
    }
    // The second, zero padding of the similarity.
    let p = patches(
        &xp.pad_with_zeros(2, pad, pad)?
            .pad_with_zeros(3, pad, pad)?,
        k,
    )?;
    let inv_norm = (w.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-10)?.recip()?;
    let sim = p.matmul(&w.t()?)?.broadcast_mul(&inv_norm.t()?)?;
    drop(p);
    let n = cout as f64;
    let mean = sim.mean_keepdim(1)?;
    let var = (sim.broadcast_sub(&mean)?.sqr()?.sum_keepdim(1)? / (n - 1.0).max(1.0))?;
    let thr = (mean + (var.sqrt()? * stat_k as f64)?)?;
    let a = super::competition::threshold_post_tensor(&sim, &thr, true)?.a;
    let q = patches(&xp, s)?;
    let yx = a.t()?.matmul(&q)?;
    let hebb = if s == 1 {
        yx.unsqueeze(1)?
            .broadcast_as((cout, k * k, c))?
            .reshape((cout, k * k * c))?
    } else {
        yx
    };
    let ysum = a.sum(0)?.unsqueeze(1)?;
    Ok((hebb - w.broadcast_mul(&ysum)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_by_one_correlation_broadcast_over_the_taps_by_hand() {
        // A 2×2 one-channel image [[1, 2], [3, 4]], k = 3, pad 1. Reflect
        // padding gives the 4×4 x_pad below; the similarity map is then 4×4
        // too (zero padding 1 again), so the correlation is 1×1. Two units,
        // w_0 = all 1 and w_1 = all −1 (‖w‖ = 3 each): sim_1 = −sim_0. Over
        // two channels mean + 2·std = 2√2·|sim_0| > sim_0, so at k = 2 nobody
        // passes; at k = 0 the threshold is the mean 0, and unit 0 wins
        // everywhere (every box sum is positive) with post sim_0².
        let x = Map {
            n: 1,
            h: 2,
            w: 2,
            c: 1,
            data: vec![1.0, 2.0, 3.0, 4.0],
        };
        let mut w = vec![1.0f32; 9];
        w.extend(vec![-1.0f32; 9]);
        let d = delta(&x, &w, 2, 3, 1, 2.0).unwrap();
        assert!(d.iter().all(|&v| v == 0.0), "{d:?}");
        let d = delta(&x, &w, 2, 3, 1, 0.0).unwrap();
        let xp = [
            [4.0, 3.0, 4.0, 3.0],
            [2.0, 1.0, 2.0, 1.0],
            [4.0, 3.0, 4.0, 3.0],
            [2.0, 1.0, 2.0, 1.0],
        ];
        let at = |i: isize, j: isize| -> f64 {
            if (0..4).contains(&i) && (0..4).contains(&j) {
                xp[i as usize][j as usize]
            } else {
                0.0
            }
        };
        let (mut hebb, mut sum) = (0f64, 0f64);
        for i in 0..4isize {
            for j in 0..4isize {
                let mut b = 0.0;
                for di in -1..=1 {
                    for dj in -1..=1 {
                        b += at(i + di, j + dj);
                    }
                }
                let s0 = b / 3.0;
                hebb += s0 * s0 * xp[i as usize][j as usize];
                sum += s0 * s0;
            }
        }
        for t in 0..9 {
            let want = hebb - sum * 1.0;
            assert!(
                ((d[t] as f64) - want).abs() < 1e-3 * want.abs(),
                "{} vs {want}",
                d[t]
            );
            assert_eq!(d[9 + t], 0.0);
        }
    }
}
