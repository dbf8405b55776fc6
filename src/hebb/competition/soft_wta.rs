//! Soft winner-take-all (SoftHebb, Journé et al. 2022): a softmax over the
//! units of a row; the winner learns Hebbian-ly with its softmax share, every
//! other unit anti-Hebbian-ly with minus its share.

use rayon::prelude::*;

use super::{argmax, Competition, Post};
use crate::error::Result;

/// The report's `soft` mode with inverse temperature `t_invert`.
pub struct SoftWta {
    pub t_invert: f32,
}

impl Competition for SoftWta {
    fn name(&self) -> &'static str {
        "soft_wta"
    }

    fn compete(&mut self, u: &[f32], units: usize, _rows_per_image: usize) -> Result<Post> {
        let mut a = vec![0f32; u.len()];
        let mut d = vec![0f32; u.len()];
        a.par_chunks_mut(units)
            .zip(d.par_chunks_mut(units))
            .zip(u.par_chunks(units))
            .for_each(|((a, d), u)| {
                let (win, max) = argmax(u);
                let mut sum = 0f32;
                for (ai, &ui) in a.iter_mut().zip(u) {
                    // e^x < f32::MIN_POSITIVE below −87.34, and the share
                    // (divided by a sum ≥ 1) would be flushed below: skip it.
                    let x = self.t_invert * (ui - max);
                    *ai = if x < -87.5 { 0.0 } else { x.exp() };
                    sum += *ai;
                }
                for (j, ai) in a.iter_mut().enumerate() {
                    *ai /= sum;
                    // Shares below f32's normal range are flushed to zero:
                    // subnormal operands slow the update GEMM down ~4×.
                    if *ai < f32::MIN_POSITIVE {
                        *ai = 0.0;
                    }
                    if j != win {
                        *ai = -*ai;
                    }
                    d[j] = *ai * u[j];
                }
            });
        Ok(Post {
            a,
            decay: Some(d),
            winners: None,
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
