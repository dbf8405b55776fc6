//! BCM (Bienenstock–Cooper–Munro): `Δw = Σ y·(y − θ)·x`, with a sliding
//! threshold θ per unit, an exponential average of `y²` (decay 0.5), so that
//! units above their usual activity potentiate and those below depress.

use super::{Correlator, PlasticityRule};
use crate::error::Result;
use crate::hebb::competition::Post;

/// The report's `update_bcm`.
pub struct Bcm {
    pub theta: Vec<f32>,
    pub decay: f32,
}

impl Bcm {
    pub fn new(units: usize) -> Self {
        Bcm {
            theta: vec![1.0; units],
            decay: 0.5,
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
}
