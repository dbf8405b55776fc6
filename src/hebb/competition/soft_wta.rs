//! Soft winner-take-all (SoftHebb, Journé et al. 2022): a softmax over the
//! units of a row; the winner learns Hebbian-ly with its softmax share, every
//! other unit anti-Hebbian-ly with minus its share.

use rayon::prelude::*;

use super::{argmax, Competition, CompetitionKind, Post};
use crate::error::{Error, Result};

crate::config! {
    validate = SoftWtaConfig::check;
    /// Parameters of `soft_wta`.
    pub struct SoftWtaConfig {
        /// Soft-WTA inverse temperature per block (the last value repeats;
        /// the report's model_hebb L55, L61, L67).
        pub t_invert: Vec<f64> = (vec![1.0, 0.65, 0.25]),
    }
}

impl SoftWtaConfig {
    fn check(&self) -> Result<()> {
        if self.t_invert.is_empty() {
            return Err(Error::Params("`t_invert` needs at least one value".into()));
        }
        Ok(())
    }
}

/// The report's `soft` mode with inverse temperature `t_invert`.
pub struct SoftWta {
    /// This layer's inverse temperature.
    pub t_invert: f32,
}

impl CompetitionKind for SoftWta {
    const NAME: &'static str = "soft_wta";
    const ABOUT: &'static str =
        "softmax over a row's units: the winner learns Hebbian-ly, the others anti-Hebbian-ly";
    type Config = SoftWtaConfig;
    fn new(c: &SoftWtaConfig, block: usize) -> Self {
        SoftWta {
            t_invert: crate::config::per_block(&c.t_invert, block, 1.0) as f32,
        }
    }
}

impl Competition for SoftWta {
    fn name(&self) -> &'static str {
        "soft_wta"
    }

    fn compete(&mut self, u: &[f32], units: usize, _rows_per_image: usize) -> Result<Post> {
        let mut a = crate::nhwc::zeros(u.len());
        let mut d = crate::nhwc::zeros(u.len());
        let t = self.t_invert;
        a.par_chunks_mut(units)
            .zip(d.par_chunks_mut(units))
            .zip(u.par_chunks(units))
            .for_each(|((a, d), u)| {
                let (win, max) = argmax(u);
                crate::kernels::soft_wta_row(u, a, d, t, max, win);
            });
        Ok(Post {
            a,
            decay: Some(d),
            winners: None,
        })
    }

    fn compete_tensor(
        &mut self,
        u: &candle_core::Tensor,
        _rows_per_image: usize,
    ) -> Result<super::PostTensor> {
        // share = softmax(t·u) per row; the winner keeps +share, the others
        // −share (2·mask − 1 flips their sign); d = a·u.
        let share = candle_nn::ops::softmax_last_dim(&u.affine(self.t_invert as f64, 0.0)?)?;
        let sign = super::winner_mask(u)?.affine(2.0, -1.0)?;
        let a = (share * sign)?;
        let decay = (&a * u)?;
        Ok(super::PostTensor {
            a,
            decay: Some(decay),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winner_positive_losers_negative_softmax_shares() {
        // u = [0, ln 3], t = 1: softmax = [1/4, 3/4]; winner is unit 1.
        let u = [0.0, 3f32.ln()];
        let p = SoftWta { t_invert: 1.0 }.compete(&u, 2, 1).unwrap();
        assert!((p.a[0] + 0.25).abs() < 1e-6);
        assert!((p.a[1] - 0.75).abs() < 1e-6);
        let d = p.decay.unwrap();
        assert!((d[0] - 0.0).abs() < 1e-6);
        assert!((d[1] - 0.75 * 3f32.ln()).abs() < 1e-6);
        // t = 0.5 halves the logits: softmax of [0, ln 3 / 2] = [1/(1+√3), √3/(1+√3)].
        let p = SoftWta { t_invert: 0.5 }.compete(&u, 2, 1).unwrap();
        let s3 = 3f32.sqrt();
        assert!((p.a[1] - s3 / (1.0 + s3)).abs() < 1e-6);
    }
}
