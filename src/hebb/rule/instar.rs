//! Grossberg instar in SoftHebb's form: `Δw = Σ y·x − (Σ d)·w`, where the
//! competition sets `d` (`d = y` for instar, `d = y·u` for SoftHebb), so
//! each unit's weights move towards the inputs it wins and stay bounded.

use rayon::prelude::*;

use super::{column_sums, Correlator, NoParams, PlasticityRule, RuleKind};
use crate::error::Result;
use crate::hebb::competition::{Post, NO_WINNER};

/// `Δw = yᵀ·x − diag(Σ d)·w`.
pub struct Instar;

impl RuleKind for Instar {
    const NAME: &'static str = "instar";
    const ABOUT: &'static str = "Grossberg instar: Δw = Σ y·x − (Σ d)·w (d from the competition)";
    type Config = NoParams;
    fn new(_: &NoParams, _units: usize) -> Self {
        Instar
    }
}

impl PlasticityRule for Instar {
    fn name(&self) -> &'static str {
        "instar"
    }

    fn delta(&mut self, x: &Correlator, post: &Post, w: &[f32]) -> Result<Vec<f32>> {
        // The decay term is written first and the GEMM accumulates onto it,
        // so the update takes one pass over ΔW instead of three.
        let decay = match (&post.decay, &post.winners) {
            (Some(d), _) => column_sums(d, x.units),
            // One winner per row: only the winners' entries are non-zero.
            (None, Some(win)) => {
                let mut s = vec![0f32; x.units];
                for (r, &w) in win.iter().enumerate() {
                    if w != NO_WINNER {
                        s[w as usize] += post.a[r * x.units + w as usize];
                    }
                }
                s
            }
            (None, None) => column_sums(&post.a, x.units),
        };
        let fan = x.fan_in();
        let mut dw = crate::nhwc::zeros(x.units * fan);
        dw.par_chunks_mut(fan)
            .zip(w.par_chunks(fan))
            .zip(decay.par_iter())
            .for_each(|((d, w), &s)| {
                for (di, wi) in d.iter_mut().zip(w) {
                    *di = -s * wi;
                }
            });
        x.add_yx(&post.a, post.winners.as_deref(), &mut dw, true);
        Ok(dw)
    }

    fn delta_tensor(
        &mut self,
        x: &super::TensorCorrelator,
        post: &crate::hebb::competition::PostTensor,
        w: &candle_core::Tensor,
    ) -> Result<candle_core::Tensor> {
        // Aᵀ·P − diag(Σ_rows d)·W.
        let d = post.decay.as_ref().unwrap_or(&post.a);
        let s = d.sum(0)?.unsqueeze(1)?;
        Ok((x.yx(&post.a)? - w.broadcast_mul(&s)?)?)
    }
}
