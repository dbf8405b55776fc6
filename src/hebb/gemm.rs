//! Matrix products for the Hebbian engine, and the float32 GEMM yardstick
//! every Hebbian step is measured against.
//!
//! The products call the `gemm` crate, the kernels behind candle's CPU
//! `matmul`, directly: with explicit strides a transposed operand costs
//! nothing, the result lands in a caller's buffer, and an update can
//! accumulate onto a decay term already written there (`ΔW = Aᵀ·P − s·W`
//! in one pass). The yardstick goes through candle's `matmul`, so the two
//! share one backend and the ratio between them measures our overheads.

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};

/// A row-major f32 matrix: the im2col patches a batch's forward pass and
/// update share.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values, row-major.
    pub data: Vec<f32>,
}

impl Mat {
    /// A matrix from row-major values; an error when they do not fill it.
    pub fn from_vec(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::Shape(format!(
                "matrix of {rows}×{cols} given {} values",
                data.len()
            )));
        }
        Ok(Mat { rows, cols, data })
    }
}

fn parallelism() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// `dst (m×n) = a (m×k) · bᵀ`, with `b` given as `n×k` (the forward pass
/// `U = P·Wᵀ`). All row-major.
pub fn matmul_nt(a: &[f32], b: &[f32], dst: &mut [f32], m: usize, n: usize, k: usize) {
    matmul_nt_on(a, b, dst, (m, n, k), parallelism())
}

/// [`matmul_nt`] on the calling thread alone: for callers that are
/// already one of many rayon tasks.
pub fn matmul_nt_serial(a: &[f32], b: &[f32], dst: &mut [f32], m: usize, n: usize, k: usize) {
    matmul_nt_on(a, b, dst, (m, n, k), gemm::Parallelism::None)
}

fn matmul_nt_on(
    a: &[f32],
    b: &[f32],
    dst: &mut [f32],
    (m, n, k): (usize, usize, usize),
    par: gemm::Parallelism,
) {
    assert!(a.len() >= m * k && b.len() >= n * k && dst.len() >= m * n);
    // SAFETY: the assertion bounds every index the strides below reach:
    // a[i·k + p], b[j·k + p], dst[i·n + j] for i < m, j < n, p < k.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            k as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            par,
        )
    }
}

/// `dst (n×k) = [dst +] aᵀ · b` for `a: m×n` and `b: m×k` (the update
/// `ΔW = Aᵀ·P`); with `accumulate` the product is added to what `dst`
/// holds. All row-major.
pub fn matmul_tn(
    a: &[f32],
    b: &[f32],
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    assert!(a.len() >= m * n && b.len() >= m * k && dst.len() >= n * k);
    // SAFETY: the assertion bounds every index the strides below reach:
    // a[p·n + i], b[p·k + j], dst[i·k + j] for i < n, j < k, p < m.
    unsafe {
        gemm::gemm(
            n,
            k,
            m,
            dst.as_mut_ptr(),
            1,
            k as isize,
            accumulate,
            a.as_ptr(),
            n as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

/// Times `n×n` float32 products through candle's `matmul`: the yardstick
/// Hebbian throughput is quoted against. Sampled next to the work it is
/// compared with, so that slow drifts in the machine's speed (other
/// tenants, clock changes) cancel out of the ratio.
pub struct GemmProbe {
    a: Tensor,
    b: Tensor,
    n: usize,
    /// Seconds of every sample so far.
    pub samples: Vec<f64>,
}

impl GemmProbe {
    /// A probe of `n × n` matrices.
    pub fn new(n: usize) -> Result<Self> {
        let dev = Device::Cpu;
        let a = Tensor::from_vec(
            (0..n * n)
                .map(|i| ((i % 97) as f32 - 48.0) / 97.0)
                .collect::<Vec<_>>(),
            (n, n),
            &dev,
        )?;
        let b = a.t()?.contiguous()?;
        let _ = a.matmul(&b)?; // warm-up
        Ok(GemmProbe {
            a,
            b,
            n,
            samples: Vec::new(),
        })
    }

    /// FLOPs of one product.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n as f64).powi(3)
    }

    /// Times one product; returns its GFLOP/s.
    pub fn sample(&mut self) -> Result<f64> {
        let t = std::time::Instant::now();
        let _ = self.a.matmul(&self.b)?;
        let s = t.elapsed().as_secs_f64();
        self.samples.push(s);
        Ok(self.flops() / s / 1e9)
    }

    /// GFLOP/s of the median sample of `samples[from..]`.
    pub fn gflops_since(&self, from: usize) -> f64 {
        let mut t = self.samples[from.min(self.samples.len())..].to_vec();
        if t.is_empty() {
            return f64::NAN;
        }
        t.sort_by(f64::total_cmp);
        self.flops() / t[t.len() / 2] / 1e9
    }
}

/// This machine's float32 GEMM rate through candle's `matmul` (GFLOP/s,
/// median of `reps` products of `n×n` matrices).
pub fn measure_gemm_gflops(n: usize, reps: usize) -> Result<f64> {
    let mut p = GemmProbe::new(n)?;
    for _ in 0..reps.max(1) {
        p.sample()?;
    }
    Ok(p.gflops_since(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_a_hand_computed_example() {
        // a = [[1,2],[3,4],[5,6]] (3×2), b = [[1,0],[0,1],[1,1]] (3×2).
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        // a·bᵀ (3×3): row i = [a_i0, a_i1, a_i0 + a_i1].
        let mut u = vec![0.0; 9];
        matmul_nt(&a, &b, &mut u, 3, 3, 2);
        assert_eq!(u, [1.0, 2.0, 3.0, 3.0, 4.0, 7.0, 5.0, 6.0, 11.0]);
        // aᵀ·b (2×2) = [[1+5, 2+5], [2+6, 4+6]] = [[6, 8], [8, 10]], then
        // accumulated onto [[1, 1], [1, 1]].
        let mut d = vec![1.0; 4];
        matmul_tn(&a, &b, &mut d, 3, 2, 2, true);
        assert_eq!(d, [7.0, 9.0, 9.0, 11.0]);
        matmul_tn(&a, &b, &mut d, 3, 2, 2, false);
        assert_eq!(d, [6.0, 8.0, 8.0, 10.0]);
    }
}
