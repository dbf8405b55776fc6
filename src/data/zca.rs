//! ZCA whitening (the report's `data.py`): standardise each input dimension,
//! then multiply by `(C + εI)^(-1/2)`, which decorrelates pixels while
//! keeping images looking like images.
//!
//! The inverse square root is computed without an eigensolver, by the
//! coupled Newton–Schulz iteration in f64 on candle's GEMM; the residual
//! `‖Z·C·Z − I‖` is reported so the result can be trusted.

use candle_core::{DType, Device, Tensor};

use crate::error::{Error, Result};

/// A fitted whitening transform for `d`-dimensional vectors.
#[derive(Debug, Clone)]
pub struct Zca {
    /// Per-dimension mean of the fit.
    pub mean: Vec<f32>,
    /// Per-dimension std of the fit.
    pub std: Vec<f32>,
    /// `d × d`, row-major.
    pub matrix: Vec<f32>,
    /// The regulariser ε.
    pub eps: f32,
    /// RMS of `Z·(C+εI)·Z − I`.
    pub residual: f64,
    /// Newton–Schulz iterations the fit took.
    pub iterations: usize,
}

impl Zca {
    /// Fits on `x` (`n × d`, row-major), the covariance and the inverse
    /// square root computed on `dev`.
    pub fn fit(x: &[f32], n: usize, d: usize, eps: f32, dev: &Device) -> Result<Zca> {
        if n < 2 || x.len() != n * d {
            return Err(Error::Params(format!(
                "ZCA needs at least two {d}-dimensional examples"
            )));
        }
        let mut mean = vec![0f64; d];
        let mut sq = vec![0f64; d];
        for row in x.chunks(d) {
            for j in 0..d {
                mean[j] += row[j] as f64;
                sq[j] += (row[j] as f64) * (row[j] as f64);
            }
        }
        let nf = n as f64;
        let mean: Vec<f32> = mean.iter().map(|m| (m / nf) as f32).collect();
        let std: Vec<f32> = sq
            .iter()
            .zip(&mean)
            .map(|(s, &m)| {
                let m = m as f64;
                (((s - nf * m * m) / (nf - 1.0)).max(0.0)).sqrt() as f32
            })
            .collect();
        let xs = standardise(x, d, &mean, &std, eps);
        let xt = Tensor::from_vec(xs, (n, d), dev)?;
        let cov = (xt.t()?.matmul(&xt)? / (nf - 1.0))?.to_dtype(DType::F64)?;
        let a = (cov + (Tensor::eye(d, DType::F64, dev)? * eps as f64)?)?;
        let (z, residual, iterations) = inverse_sqrt(&a)?;
        Ok(Zca {
            mean,
            std,
            matrix: z.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?,
            eps,
            residual,
            iterations,
        })
    }

    /// Whitens `x` (`n × d`) in place, the product computed on `dev`.
    pub fn transform(&self, x: &mut [f32], dev: &Device) -> Result<()> {
        let d = self.mean.len();
        let n = x.len() / d;
        let z = Tensor::from_slice(&self.matrix, (d, d), dev)?;
        for start in (0..n).step_by(4096) {
            let len = 4096.min(n - start);
            let block = &mut x[start * d..(start + len) * d];
            let xs = standardise(block, d, &self.mean, &self.std, self.eps);
            let w: Vec<f32> = Tensor::from_vec(xs, (len, d), dev)?
                .matmul(&z)?
                .flatten_all()?
                .to_vec1()?;
            block.copy_from_slice(&w);
        }
        Ok(())
    }
}

fn standardise(x: &[f32], d: usize, mean: &[f32], std: &[f32], eps: f32) -> Vec<f32> {
    let mut out = x.to_vec();
    for row in out.chunks_mut(d) {
        for j in 0..d {
            row[j] = (row[j] - mean[j]) / (std[j] + eps);
        }
    }
    out
}

/// `A^(-1/2)` of a symmetric positive definite matrix by the coupled
/// Newton–Schulz iteration on `A/‖A‖_F`: `T = (3I − Z·Y)/2, Y ← Y·T,
/// Z ← T·Z`, until `Z·Y` is the identity to 1e-9 (RMS).
fn inverse_sqrt(a: &Tensor) -> Result<(Tensor, f64, usize)> {
    let d = a.dims()[0];
    let dev = a.device();
    let norm = a.sqr()?.sum_all()?.to_scalar::<f64>()?.sqrt();
    let eye = Tensor::eye(d, DType::F64, dev)?;
    let mut y = (a / norm)?;
    let mut z = eye.clone();
    let mut iterations = 0;
    for i in 1..=100 {
        iterations = i;
        let zy = z.matmul(&y)?;
        let err = (&zy - &eye)?.sqr()?.mean_all()?.to_scalar::<f64>()?.sqrt();
        if err < 1e-9 {
            break;
        }
        let t = ((&eye * 3.0)? - zy)?.affine(0.5, 0.0)?;
        y = y.matmul(&t)?;
        z = t.matmul(&z)?;
    }
    let z = (z / norm.sqrt())?;
    let check = z.matmul(a)?.matmul(&z)?;
    let residual = (check - eye)?.sqr()?.mean_all()?.to_scalar::<f64>()?.sqrt();
    Ok((z, residual, iterations))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_sqrt_of_a_known_matrix() {
        // A = [[2,1],[1,2]]: eigenvalues 3 and 1, eigenvectors (1,1)/√2 and
        // (1,-1)/√2, so A^(-1/2) = [[a,b],[b,a]] with a = (1/√3+1)/2,
        // b = (1/√3−1)/2.
        let a = Tensor::from_vec(vec![2.0f64, 1.0, 1.0, 2.0], (2, 2), &Device::Cpu).unwrap();
        let (z, res, _) = inverse_sqrt(&a).unwrap();
        let z: Vec<f64> = z.flatten_all().unwrap().to_vec1().unwrap();
        let r3 = 1.0 / 3f64.sqrt();
        assert!((z[0] - (r3 + 1.0) / 2.0).abs() < 1e-8);
        assert!((z[1] - (r3 - 1.0) / 2.0).abs() < 1e-8);
        assert!(res < 1e-8);
    }

    #[test]
    fn whitened_data_has_identity_covariance() {
        // Correlated 2-D data: x2 = x1 + small noise.
        let n = 400;
        let mut x = Vec::with_capacity(n * 2);
        for i in 0..n {
            let t = (i as f32 * 0.37).sin();
            x.push(t);
            x.push(t + 0.3 * (i as f32 * 1.7).cos());
        }
        let zca = Zca::fit(&x, n, 2, 1e-6, &Device::Cpu).unwrap();
        zca.transform(&mut x, &Device::Cpu).unwrap();
        let (mut c00, mut c01, mut c11) = (0f64, 0f64, 0f64);
        for r in x.chunks(2) {
            c00 += (r[0] * r[0]) as f64;
            c01 += (r[0] * r[1]) as f64;
            c11 += (r[1] * r[1]) as f64;
        }
        let k = (n - 1) as f64;
        assert!((c00 / k - 1.0).abs() < 1e-3, "{}", c00 / k);
        assert!((c11 / k - 1.0).abs() < 1e-3);
        assert!((c01 / k).abs() < 1e-3);
    }
}
