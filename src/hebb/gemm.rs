//! Matrix products through candle's CPU backend (the `gemm` crate), the
//! yardstick every Hebbian step is measured against.

use candle_core::{Device, Tensor};

use crate::error::Result;

/// A row-major f32 matrix owned by a candle tensor, so that it can enter
/// several products without being copied.
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub t: Tensor,
}

impl Mat {
    pub fn from_vec(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self> {
        debug_assert_eq!(data.len(), rows * cols);
        Ok(Mat {
            rows,
            cols,
            t: Tensor::from_vec(data, (rows, cols), &Device::Cpu)?,
        })
    }

    /// Borrows the data without copying.
    pub fn with_slice<R>(&self, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
        with_slice(&self.t, f)
    }
}

/// Runs `f` on a contiguous CPU f32 tensor's data without copying it.
pub fn with_slice<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        candle_core::Storage::Cpu(cpu) => {
            let all = cpu.as_slice::<f32>()?;
            match layout.contiguous_offsets() {
                Some((a, b)) => Ok(f(&all[a..b])),
                None => {
                    drop(storage);
                    let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
                    Ok(f(&v))
                }
            }
        }
        _ => {
            drop(storage);
            let v: Vec<f32> = t.flatten_all()?.to_vec1()?;
            Ok(f(&v))
        }
    }
}

/// Copies a tensor's data out as a flat vector.
pub fn to_vec(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1()?)
}

/// `A · Bᵀ` for `A: m×k` and `B: n×k` (the forward pass `P·Wᵀ`).
pub fn a_bt(a: &Mat, b: &Mat) -> Result<Vec<f32>> {
    to_vec(&a.t.matmul(&b.t.t()?)?)
}

/// `Aᵀ · B` for `A: m×n` and `B: m×k` (the update `Aᵀ·P`).
pub fn at_b(a: &Mat, b: &Mat) -> Result<Vec<f32>> {
    to_vec(&a.t.t()?.matmul(&b.t)?)
}

/// This machine's float32 GEMM rate through the same backend (GFLOP/s,
/// median of `reps` products of `n×n` matrices): the yardstick that
/// Hebbian throughput is quoted against.
pub fn measure_gemm_gflops(n: usize, reps: usize) -> Result<f64> {
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
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            let _ = a.matmul(&b);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(2.0 * (n * n * n) as f64 / times[times.len() / 2] / 1e9)
}
