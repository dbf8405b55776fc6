//! NHWC activation maps and the fixed (non-plastic) stages of the report's
//! CNNs: batch normalisation, the Triangle nonlinearity, pooling, padding
//! and im2col, shared by the Hebbian engine and the backprop baseline
//! (neither imports the other for them).

use rayon::prelude::*;

/// A zeroed buffer, written by all threads: `vec![0.0; n]` clears large
/// buffers on one thread (glibc `calloc` memsets reused heap blocks).
pub fn zeros(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(0f32, n));
    v
}

/// A batch of feature maps, NHWC, row-major: `data[((n*h + y)*w + x)*c + ch]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Images.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
    /// Values, NHWC row-major.
    pub data: Vec<f32>,
}

impl Map {
    /// A map of zeros.
    pub fn zeros(n: usize, h: usize, w: usize, c: usize) -> Map {
        Map {
            n,
            h,
            w,
            c,
            data: zeros(n * h * w * c),
        }
    }

    /// Rows (image locations) in the batch.
    pub fn rows(&self) -> usize {
        self.n * self.h * self.w
    }

    /// Builds a map from CHW images (the datasets' byte layout) as floats.
    pub fn from_chw(images: &[f32], n: usize, c: usize, h: usize, w: usize) -> Map {
        let mut m = Map::zeros(n, h, w, c);
        m.data
            .par_chunks_mut(h * w * c)
            .zip(images.par_chunks(c * h * w))
            .for_each(|(dst, src)| {
                for ch in 0..c {
                    for p in 0..h * w {
                        dst[p * c + ch] = src[ch * h * w + p];
                    }
                }
            });
        m
    }

    /// Mirrors every image left-right.
    pub fn flip_horizontal(&mut self) {
        let (w, c) = (self.w, self.c);
        self.data.par_chunks_mut(w * c).for_each(|row| {
            for x in 0..w / 2 {
                for ch in 0..c {
                    row.swap(x * c + ch, (w - 1 - x) * c + ch);
                }
            }
        });
    }

    /// Mirrors image `i` left-right.
    pub fn flip_image(&mut self, i: usize) {
        let (h, w, c) = (self.h, self.w, self.c);
        let img = &mut self.data[i * h * w * c..(i + 1) * h * w * c];
        for row in img.chunks_mut(w * c) {
            for x in 0..w / 2 {
                for ch in 0..c {
                    row.swap(x * c + ch, (w - 1 - x) * c + ch);
                }
            }
        }
    }

    /// Flattens each image to one feature vector (h, w, c order).
    pub fn image_len(&self) -> usize {
        self.h * self.w * self.c
    }
}

/// Batch normalisation without affine parameters (the report's
/// `BatchNorm2d(affine=False)`): batch statistics while learning, running
/// statistics (momentum 0.1, unbiased variance) afterwards.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// Running mean per channel.
    pub mean: Vec<f32>,
    /// Running variance per channel.
    pub var: Vec<f32>,
    /// Weight of the current batch in the running statistics.
    pub momentum: f32,
    /// Added to the variance before the square root.
    pub eps: f32,
}

impl BatchNorm {
    /// BatchNorm over `c` channels at PyTorch's defaults.
    pub fn new(c: usize) -> Self {
        BatchNorm {
            mean: vec![0.0; c],
            var: vec![1.0; c],
            momentum: 0.1,
            eps: 1e-5,
        }
    }

    /// Normalises in place; `train` uses and records batch statistics.
    pub fn apply(&mut self, x: &mut Map, train: bool) {
        let c = x.c;
        let (mean, var) = if train {
            let rows = x.rows() as f64;
            // Block sums in parallel, added in order: reproducible.
            let blocks: Vec<(Vec<f64>, Vec<f64>)> = x
                .data
                .par_chunks(c * 256)
                .map(|chunk| {
                    let mut s = vec![0f64; c];
                    let mut s2 = vec![0f64; c];
                    for row in chunk.chunks(c) {
                        for (j, &v) in row.iter().enumerate() {
                            s[j] += v as f64;
                            s2[j] += (v as f64) * (v as f64);
                        }
                    }
                    (s, s2)
                })
                .collect();
            let (mut s, mut s2) = (vec![0f64; c], vec![0f64; c]);
            for (a, b) in blocks {
                for j in 0..c {
                    s[j] += a[j];
                    s2[j] += b[j];
                }
            }
            let mean: Vec<f64> = s.iter().map(|v| v / rows).collect();
            let var: Vec<f64> = s2
                .iter()
                .zip(&mean)
                .map(|(v, m)| (v / rows - m * m).max(0.0))
                .collect();
            let unbiased = rows / (rows - 1.0).max(1.0);
            for j in 0..c {
                self.mean[j] =
                    (1.0 - self.momentum) * self.mean[j] + self.momentum * mean[j] as f32;
                self.var[j] = (1.0 - self.momentum) * self.var[j]
                    + self.momentum * (var[j] * unbiased) as f32;
            }
            (
                mean.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                var.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            )
        } else {
            (self.mean.clone(), self.var.clone())
        };
        let inv: Vec<f32> = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        x.data.par_chunks_mut(c * 256).for_each(|chunk| {
            for row in chunk.chunks_mut(c) {
                for j in 0..c {
                    row[j] = (row[j] - mean[j]) * inv[j];
                }
            }
        });
    }
}

/// SoftHebb's Triangle: subtract the mean over channels at each location,
/// rectify, raise to `power`.
pub fn triangle(x: &mut Map, power: f32) {
    let c = x.c;
    x.data.par_chunks_mut(c * 64).for_each(|chunk| {
        for row in chunk.chunks_mut(c) {
            let mean = row.iter().sum::<f32>() / c as f32;
            if power == 1.0 {
                row.iter_mut().for_each(|v| *v = (*v - mean).max(0.0));
            } else {
                crate::kernels::rectified_pow(row, mean, power);
            }
        }
    });
}

/// Max or average pooling over square windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Mean over the window.
    Avg,
}

/// Pools with window `k`, stride `s` and padding `p` (padding never wins a
/// max and is excluded from nothing: the report's pools with padding are
/// max pools).
pub fn pool(x: &Map, kind: PoolKind, k: usize, s: usize, p: usize) -> Map {
    let ho = (x.h + 2 * p - k) / s + 1;
    let wo = (x.w + 2 * p - k) / s + 1;
    let c = x.c;
    let mut out = Map::zeros(x.n, ho, wo, c);
    let (h, w) = (x.h, x.w);
    out.data
        .par_chunks_mut(ho * wo * c)
        .enumerate()
        .for_each(|(n, dst)| {
            let src = &x.data[n * h * w * c..(n + 1) * h * w * c];
            for oy in 0..ho {
                for ox in 0..wo {
                    let o = &mut dst[(oy * wo + ox) * c..(oy * wo + ox + 1) * c];
                    match kind {
                        PoolKind::Max => o.fill(f32::NEG_INFINITY),
                        PoolKind::Avg => o.fill(0.0),
                    }
                    for dy in 0..k {
                        let y = (oy * s + dy) as isize - p as isize;
                        if y < 0 || y >= h as isize {
                            continue;
                        }
                        for dx in 0..k {
                            let xx = (ox * s + dx) as isize - p as isize;
                            if xx < 0 || xx >= w as isize {
                                continue;
                            }
                            let i = (y as usize * w + xx as usize) * c;
                            let row = &src[i..i + c];
                            match kind {
                                PoolKind::Max => {
                                    for (a, &b) in o.iter_mut().zip(row) {
                                        *a = a.max(b);
                                    }
                                }
                                PoolKind::Avg => {
                                    for (a, &b) in o.iter_mut().zip(row) {
                                        *a += b;
                                    }
                                }
                            }
                        }
                    }
                    if kind == PoolKind::Avg {
                        let inv = 1.0 / (k * k) as f32;
                        o.iter_mut().for_each(|v| *v *= inv);
                    }
                }
            }
        });
    out
}

/// How borders are padded before a convolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Padding {
    /// Mirror without repeating the edge (PyTorch's `reflect`, the report's
    /// Hebbian layers).
    Reflect,
    /// Zeros (PyTorch's `Conv2d` default, the backprop baseline).
    Zeros,
}

fn reflect(i: isize, n: usize) -> Option<usize> {
    let n = n as isize;
    let mut i = i;
    if i < 0 {
        i = -i;
    }
    if i >= n {
        i = 2 * (n - 1) - i;
    }
    (0..n).contains(&i).then_some(i as usize)
}

/// `x` mirrored by `pad` pixels on every side (PyTorch's `reflect`).
pub fn reflect_pad(x: &Map, pad: usize) -> Map {
    let (h, w, c) = (x.h + 2 * pad, x.w + 2 * pad, x.c);
    let mut out = Map::zeros(x.n, h, w, c);
    for n in 0..x.n {
        for y in 0..h {
            let sy = reflect(y as isize - pad as isize, x.h).unwrap_or(0);
            for xx in 0..w {
                let sx = reflect(xx as isize - pad as isize, x.w).unwrap_or(0);
                let src = ((n * x.h + sy) * x.w + sx) * c;
                let dst = ((n * h + y) * w + xx) * c;
                out.data[dst..dst + c].copy_from_slice(&x.data[src..src + c]);
            }
        }
    }
    out
}

/// Unfolds every `k×k` patch (stride 1) into a row of `k·k·c` values in
/// (dy, dx, channel) order: the one im2col per batch that the forward pass
/// and the update share.
pub fn im2col(x: &Map, k: usize, pad: usize, padding: Padding) -> (Vec<f32>, usize, usize) {
    im2col_into(x, k, pad, padding, Vec::new())
}

/// [`im2col`] into a recycled buffer (every element is overwritten), so
/// that a layer does not allocate and fault in fresh pages every batch.
pub fn im2col_into(
    x: &Map,
    k: usize,
    pad: usize,
    padding: Padding,
    mut out: Vec<f32>,
) -> (Vec<f32>, usize, usize) {
    let ho = x.h + 2 * pad - k + 1;
    let wo = x.w + 2 * pad - k + 1;
    let (h, w, c) = (x.h, x.w, x.c);
    let kk = k * k * c;
    out.resize(x.n * ho * wo * kk, 0.0);
    out.par_chunks_mut(wo * kk)
        .enumerate()
        .for_each(|(row_block, dst)| {
            let n = row_block / ho;
            let oy = row_block % ho;
            let src = &x.data[n * h * w * c..(n + 1) * h * w * c];
            for ox in 0..wo {
                let d = &mut dst[ox * kk..(ox + 1) * kk];
                for dy in 0..k {
                    let yy = oy as isize + dy as isize - pad as isize;
                    let y = match padding {
                        Padding::Reflect => reflect(yy, h),
                        Padding::Zeros => (yy >= 0 && yy < h as isize).then_some(yy as usize),
                    };
                    for dx in 0..k {
                        let xx = ox as isize + dx as isize - pad as isize;
                        let xs = match padding {
                            Padding::Reflect => reflect(xx, w),
                            Padding::Zeros => (xx >= 0 && xx < w as isize).then_some(xx as usize),
                        };
                        let o = &mut d[(dy * k + dx) * c..(dy * k + dx + 1) * c];
                        match (y, xs) {
                            (Some(y), Some(xv)) => {
                                o.copy_from_slice(&src[(y * w + xv) * c..(y * w + xv + 1) * c])
                            }
                            _ => o.fill(0.0),
                        }
                    }
                }
            }
        });
    (out, ho, wo)
}

/// Gathers CHW images `idx` of `x` into an NHWC batch, mirroring the ones
/// `flips` marks.
pub fn gather_chw(x: &[f32], idx: &[usize], flips: &[bool], c: usize, h: usize, w: usize) -> Map {
    let d = c * h * w;
    let mut chw = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        chw.extend_from_slice(&x[i * d..(i + 1) * d]);
    }
    let mut m = Map::from_chw(&chw, idx.len(), c, h, w);
    for (k, &f) in flips.iter().enumerate() {
        if f {
            m.flip_image(k);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangle_subtracts_the_channel_mean_then_rectifies() {
        // Row [1, 2, 6]: mean 3 → [-2, -1, 3] → relu → [0, 0, 3] → ^2 → [0, 0, 9].
        let mut m = Map {
            n: 1,
            h: 1,
            w: 1,
            c: 3,
            data: vec![1.0, 2.0, 6.0],
        };
        triangle(&mut m, 2.0);
        assert_eq!(m.data, vec![0.0, 0.0, 9.0]);
    }

    #[test]
    fn reflect_padding_matches_pytorch() {
        // PyTorch reflect pad of [a b c d] by 2: [c b a b c d c b].
        let want = [2, 1, 0, 1, 2, 3, 2, 1];
        for (i, &w) in want.iter().enumerate() {
            assert_eq!(reflect(i as isize - 2, 4), Some(w));
        }
    }

    #[test]
    fn im2col_rows_are_patches_in_dy_dx_channel_order() {
        // 1 image, 3×3, 2 channels: value = 10*y + x + 100*ch.
        let mut m = Map::zeros(1, 3, 3, 2);
        for y in 0..3 {
            for x in 0..3 {
                for ch in 0..2 {
                    m.data[(y * 3 + x) * 2 + ch] = (10 * y + x + 100 * ch) as f32;
                }
            }
        }
        let (p, ho, wo) = im2col(&m, 2, 0, Padding::Zeros);
        assert_eq!((ho, wo), (2, 2));
        // Patch at (1, 0): pixels (1,0),(1,1),(2,0),(2,1).
        let row = &p[2 * 8..3 * 8];
        assert_eq!(row, &[10., 110., 11., 111., 20., 120., 21., 121.]);
        let (pz, ho, _) = im2col(&m, 3, 1, Padding::Zeros);
        assert_eq!(ho, 3);
        assert_eq!(&pz[0..2], &[0.0, 0.0]); // top-left corner is padding
    }

    #[test]
    fn max_pool_with_padding_and_avg_pool() {
        let mut m = Map::zeros(1, 4, 4, 1);
        for i in 0..16 {
            m.data[i] = i as f32;
        }
        let p = pool(&m, PoolKind::Max, 4, 2, 1);
        // 4x4 input, k4 s2 p1 → 2x2; window at (0,0) covers rows -1..3, cols -1..3 → max 10.
        assert_eq!((p.h, p.w), (2, 2));
        assert_eq!(p.data, vec![10.0, 11.0, 14.0, 15.0]);
        let a = pool(&m, PoolKind::Avg, 2, 2, 0);
        assert_eq!(a.data, vec![2.5, 4.5, 10.5, 12.5]);
    }

    #[test]
    fn batch_norm_uses_batch_stats_then_running_stats() {
        let mut m = Map {
            n: 4,
            h: 1,
            w: 1,
            c: 1,
            data: vec![1.0, 2.0, 3.0, 4.0],
        };
        let mut bn = BatchNorm::new(1);
        bn.apply(&mut m, true);
        // mean 2.5, biased var 1.25.
        let s = (1.25f32 + 1e-5).sqrt();
        assert!((m.data[0] - (-1.5 / s)).abs() < 1e-5);
        // running: 0.9*0 + 0.1*2.5; var 0.9*1 + 0.1*(1.25*4/3).
        assert!((bn.mean[0] - 0.25).abs() < 1e-6);
        assert!((bn.var[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
    }
}
