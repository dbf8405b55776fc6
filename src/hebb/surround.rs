//! Surround-modulation lateral inhibition: a difference-of-Gaussians kernel
//! applied to each channel's activation map, so that a unit is excited by
//! its near neighbours and inhibited by its surround.

use rayon::prelude::*;

use crate::nhwc::Map;

/// The report's `create_sm_kernel`: `G(σe)/(2πσe²) − G(σi)/(2πσi²)` on a
/// `size×size` grid, scaled so that the centre is 1.
pub fn dog_kernel(size: usize, sigma_e: f32, sigma_i: f32) -> Vec<f32> {
    let c = (size / 2) as f32;
    let pi = std::f32::consts::PI;
    let g = |r2: f32, s: f32| (-r2 / (2.0 * s * s)).exp() / (2.0 * pi * s * s);
    let raw: Vec<f32> = (0..size * size)
        .map(|i| {
            let (y, x) = ((i / size) as f32 - c, (i % size) as f32 - c);
            let r2 = x * x + y * y;
            g(r2, sigma_e) - g(r2, sigma_i)
        })
        .collect();
    let centre = raw[(size / 2) * size + size / 2];
    raw.iter().map(|v| v / centre).collect()
}

/// Convolves every channel of `x` with `kernel` (`size×size`, zero padding,
/// same output size): PyTorch's depthwise `conv2d(groups=C)`.
pub fn apply(x: &Map, kernel: &[f32], size: usize) -> Map {
    let r = (size / 2) as isize;
    let (h, w, c) = (x.h, x.w, x.c);
    let mut out = Map::zeros(x.n, h, w, c);
    out.data
        .par_chunks_mut(w * c)
        .enumerate()
        .for_each(|(block, dst)| {
            let n = block / h;
            let y = (block % h) as isize;
            let src = &x.data[n * h * w * c..(n + 1) * h * w * c];
            for xo in 0..w as isize {
                let o = &mut dst[xo as usize * c..(xo as usize + 1) * c];
                for dy in -r..=r {
                    let yy = y + dy;
                    if yy < 0 || yy >= h as isize {
                        continue;
                    }
                    for dx in -r..=r {
                        let xx = xo + dx;
                        if xx < 0 || xx >= w as isize {
                            continue;
                        }
                        let k = kernel[((dy + r) as usize) * size + (dx + r) as usize];
                        let i = (yy as usize * w + xx as usize) * c;
                        crate::kernels::axpy(k, &src[i..i + c], o);
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dog_values_match_an_independent_computation() {
        // Worked out with Python's math module:
        // ge = exp(-r²/(2·1.2²))/(2π·1.44), gi = exp(-r²/(2·1.4²))/(2π·1.96),
        // k = (ge-gi)/(ge(0)-gi(0)). Centre 1; (0,1): 0.51782; (1,1): 0.21960;
        // (0,2): -0.05830; (2,2): -0.12543.
        let k = dog_kernel(5, 1.2, 1.4);
        let at = |y: usize, x: usize| k[y * 5 + x];
        assert!((at(2, 2) - 1.0).abs() < 1e-6);
        assert!((at(2, 3) - 0.51782).abs() < 1e-4, "{}", at(2, 3));
        assert!((at(3, 3) - 0.21960).abs() < 1e-4, "{}", at(3, 3));
        assert!((at(2, 4) - (-0.05830)).abs() < 1e-4, "{}", at(2, 4));
        assert!((at(4, 4) - (-0.12543)).abs() < 1e-4, "{}", at(4, 4));
        // Symmetric.
        assert_eq!(at(0, 1), at(1, 0));
        assert_eq!(at(0, 1), at(4, 3));
    }

    #[test]
    fn applying_the_kernel_to_an_impulse_reproduces_it() {
        let k = dog_kernel(5, 1.2, 1.4);
        let mut m = Map::zeros(1, 5, 5, 2);
        m.data[(2 * 5 + 2) * 2 + 1] = 1.0; // channel 1 centre
        let o = apply(&m, &k, 5);
        for (i, &ki) in k.iter().enumerate() {
            assert!((o.data[i * 2 + 1] - ki).abs() < 1e-6);
            assert_eq!(o.data[i * 2], 0.0);
        }
    }
}
