//! Krotov & Hopfield (2019), "Unsupervised learning by competing hidden
//! units": the fast minibatch algorithm of the seed notebooks.
//!
//! Per minibatch `v` (B × D): currents `I = v · (sign(W)|W|^(p-1))ᵀ`; for
//! each example the top unit gets `g = 1` and the k-th `g = −Δ`;
//! `ds = g·v − (Σ_b g·I) ∘ W`; `W += eps · ds / max|ds|`.
//!
//! `g` has two non-zeros per example, so `g·v` is computed with two
//! `index_add`s instead of a dense (H × B)·(B × D) GEMM.

use candle_core::{DType, Device, Tensor};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::error::{Error, Result};

/// The hidden layer and its plasticity parameters.
pub struct KrotovHopfield {
    /// Synapses, hidden × inputs.
    pub w: Tensor,
    /// Lebesgue norm of the weights.
    pub p: f64,
    /// Ranking parameter: the k-th unit is pushed away.
    pub k: usize,
    /// Strength of the anti-Hebbian push.
    pub delta: f32,
    /// Floor on `max|ds|`, as the seeds' `prec`.
    pub prec: f64,
}

impl KrotovHopfield {
    /// N(0, 1) synapses drawn from `rng`, so the run's seed fixes them.
    pub fn random(
        hidden: usize,
        inputs: usize,
        p: f64,
        k: usize,
        delta: f32,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        if k < 2 || k > hidden {
            return Err(Error::Params(format!("k must be in 2..={hidden}, got {k}")));
        }
        let data: Vec<f32> = (0..hidden * inputs)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect();
        let w = Tensor::from_vec(data, (hidden, inputs), device)?;
        Ok(Self {
            w,
            p,
            k,
            delta,
            prec: 1e-30,
        })
    }

    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.w.dims()[0]
    }

    /// `sign(W)|W|^(p-1)`, with the common p = 2 and p = 3 done exactly.
    fn metric_weights(&self) -> Result<Tensor> {
        Ok(if self.p == 2.0 {
            self.w.clone()
        } else if self.p == 3.0 {
            (&self.w * self.w.abs()?)?
        } else {
            (self.w.sign()? * self.w.abs()?.powf(self.p - 1.0)?)?
        })
    }

    /// Input currents `I` for a batch `v` (B × D), as B × H.
    pub fn currents(&self, v: &Tensor) -> Result<Tensor> {
        Ok(v.matmul(&self.metric_weights()?.t()?)?)
    }

    /// One minibatch update with learning rate `eps`.
    pub fn step(&mut self, v: &Tensor, eps: f64) -> Result<()> {
        let (b, _) = v.dims2()?;
        let h = self.hidden();
        let cur: Vec<f32> = self.currents(v)?.flatten_all()?.to_vec1()?;
        let mut top = Vec::with_capacity(b);
        let mut kth = Vec::with_capacity(b);
        let mut xx = vec![0f32; h];
        for row in cur.chunks_exact(h) {
            let (t, k) = top_and_kth(row, self.k);
            xx[t] += row[t];
            xx[k] -= self.delta * row[k];
            top.push(t as u32);
            kth.push(k as u32);
        }
        let dev = self.w.device();
        let top = Tensor::from_vec(top, b, dev)?;
        let kth = Tensor::from_vec(kth, b, dev)?;
        let gv = self.w.zeros_like()?.index_add(&top, v, 0)?.index_add(
            &kth,
            &v.affine(-(self.delta as f64), 0.0)?,
            0,
        )?;
        let xx = Tensor::from_vec(xx, (h, 1), dev)?;
        let ds = (gv - self.w.broadcast_mul(&xx)?)?;
        let nc = ds
            .abs()?
            .max_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
        if !nc.is_finite() {
            return Err(Error::Diverged(format!("max|ds| = {nc}")));
        }
        let nc = nc.max(self.prec);
        self.w = (&self.w + ds.affine(eps / nc, 0.0)?)?;
        Ok(())
    }

    /// Per-unit `Σ|W|^p`, which tends to 1 as a unit learns.
    pub fn unit_norms(&self) -> Result<Vec<f32>> {
        Ok(self.w.abs()?.powf(self.p)?.sum(1)?.to_vec1()?)
    }
}

/// Index of the largest value and of the `k`-th largest (k ≥ 2), as the
/// seeds' `argsort` picks them.
pub fn top_and_kth(row: &[f32], k: usize) -> (usize, usize) {
    // Keep the k largest in descending order; k is small (2..=7 in use).
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, &x) in row.iter().enumerate() {
        if best.len() < k || x > best[best.len() - 1].0 {
            let at = best.iter().position(|&(y, _)| x > y).unwrap_or(best.len());
            best.insert(at, (x, i));
            best.truncate(k);
        }
    }
    (best[0].1, best[k - 1].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_and_kth_by_hand() {
        let row = [0.3, 2.0, -1.0, 1.5, 0.9];
        assert_eq!(top_and_kth(&row, 2), (1, 3));
        assert_eq!(top_and_kth(&row, 3), (1, 4));
        assert_eq!(top_and_kth(&row, 5), (1, 2));
    }

    #[test]
    fn one_step_matches_hand_computation() -> Result<()> {
        // Two units, two inputs, p = 2, k = 2, delta = 0.5, one example v = (1, 0).
        // I = (w0·v, w1·v) = (2, 1): unit 0 wins, unit 1 is 2nd.
        // g = (1, -0.5); xx = (2, -0.5)
        // ds0 = v - 2*w0 = (1,0) - (4,2) = (-3,-2)
        // ds1 = -0.5 v + 0.5 w1 = (-0.5,0) + (0.5,1.5) = (0, 1.5)
        // max|ds| = 3; with eps = 0.3: W += 0.1 ds
        let dev = Device::Cpu;
        let mut m = KrotovHopfield {
            w: Tensor::new(&[[2f32, 1.0], [1.0, 3.0]], &dev)?,
            p: 2.0,
            k: 2,
            delta: 0.5,
            prec: 1e-30,
        };
        m.step(&Tensor::new(&[[1f32, 0.0]], &dev)?, 0.3)?;
        let w = m.w.to_vec2::<f32>()?;
        let want = [[1.7, 0.8], [1.0, 3.15]];
        for (r, wr) in w.iter().zip(want) {
            for (a, b) in r.iter().zip(wr) {
                assert!((a - b).abs() < 1e-6, "{w:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn p3_currents_use_signed_square() -> Result<()> {
        let dev = Device::Cpu;
        let m = KrotovHopfield {
            w: Tensor::new(&[[-2f32, 1.0]], &dev)?,
            p: 3.0,
            k: 2,
            delta: 0.4,
            prec: 1e-30,
        };
        // sign(w)|w|^2 = (-4, 1); v = (1, 1) -> -3
        let c = m
            .currents(&Tensor::new(&[[1f32, 1.0]], &dev)?)?
            .to_vec2::<f32>()?;
        assert_eq!(c, vec![vec![-3.0]]);
        Ok(())
    }
}
