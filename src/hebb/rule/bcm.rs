//! BCM (Bienenstock–Cooper–Munro): `Δw = Σ y·(y − θ)·x`, with a sliding
//! threshold θ per unit, an exponential average of `y²` (decay 0.5), so that
//! units above their usual activity potentiate and those below depress.

use super::{Correlator, PlasticityRule, RuleKind};
use crate::error::{Error, Result};
use crate::hebb::competition::Post;

crate::config! {
    validate = BcmConfig::check;
    /// Parameters of `bcm`.
    pub struct BcmConfig {
        /// Weight of the current batch in the sliding threshold's
        /// exponential average (the report's `update_bcm`: 0.5).
        pub bcm_decay: f64 = 0.5,
    }
}

impl BcmConfig {
    fn check(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.bcm_decay) {
            return Err(Error::Params(format!(
                "`bcm_decay` must be in [0, 1], got {}",
                self.bcm_decay
            )));
        }
        Ok(())
    }
}

/// The report's `update_bcm`.
pub struct Bcm {
    /// The sliding threshold θ per unit.
    pub theta: Vec<f32>,
    /// Weight of the current batch in θ's average.
    pub decay: f32,
}

impl RuleKind for Bcm {
    const NAME: &'static str = "bcm";
    const ABOUT: &'static str = "BCM: Δw = Σ y·(y − θ)·x with a sliding threshold θ per unit";
    type Config = BcmConfig;
    fn new(c: &BcmConfig, units: usize) -> Self {
        Bcm {
            theta: vec![1.0; units],
            decay: c.bcm_decay as f32,
        }
    }
}

impl PlasticityRule for Bcm {
    fn name(&self) -> &'static str {
        "bcm"
    }

    fn delta(&mut self, x: &Correlator, post: &Post, _w: &[f32]) -> Result<Vec<f32>> {
        let units = x.units;
        let rows = (post.a.len() / units).max(1) as f32;
        let sq = super::column_sums(&post.a.iter().map(|v| v * v).collect::<Vec<_>>(), units);
        for (t, s) in self.theta.iter_mut().zip(sq) {
            *t = (1.0 - self.decay) * *t + self.decay * s / rows;
        }
        let f: Vec<f32> = post
            .a
            .iter()
            .enumerate()
            .map(|(i, &y)| y * (y - self.theta[i % units]))
            .collect();
        x.yx(&f, post.winners.as_deref())
    }

    fn delta_tensor(
        &mut self,
        x: &super::TensorCorrelator,
        post: &crate::hebb::competition::PostTensor,
        _w: &candle_core::Tensor,
    ) -> Result<candle_core::Tensor> {
        // θ ← (1 − decay)·θ + decay·mean_rows(y²), kept on the host (one
        // value per unit); then Δw = Σ y·(y − θ)·x.
        let a = &post.a;
        let msq: Vec<f32> = a.sqr()?.mean(0)?.to_vec1()?;
        for (t, s) in self.theta.iter_mut().zip(msq) {
            *t = (1.0 - self.decay) * *t + self.decay * s;
        }
        let theta =
            candle_core::Tensor::from_slice(&self.theta, (1, self.theta.len()), a.device())?;
        x.yx(&(a * a.broadcast_sub(&theta)?)?)
    }
}
