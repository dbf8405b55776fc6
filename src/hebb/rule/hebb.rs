//! Plain Hebb: `Δw = Σ y·x`, with no decay (bounded only by the layer's
//! update normalisation and competition).

use super::{Correlator, NoParams, PlasticityRule, RuleKind};
use crate::error::Result;
use crate::hebb::competition::Post;

/// `Δw = yᵀ·x`.
pub struct PlainHebb;

impl RuleKind for PlainHebb {
    const NAME: &'static str = "hebb";
    const ABOUT: &'static str = "Δw = Σ y·x, no decay";
    type Config = NoParams;
    fn new(_: &NoParams, _units: usize) -> Self {
        PlainHebb
    }
}

impl PlasticityRule for PlainHebb {
    fn name(&self) -> &'static str {
        "hebb"
    }

    fn delta(&mut self, x: &Correlator, post: &Post, _w: &[f32]) -> Result<Vec<f32>> {
        x.yx(&post.a, post.winners.as_deref())
    }

    fn delta_tensor(
        &mut self,
        x: &super::TensorCorrelator,
        post: &crate::hebb::competition::PostTensor,
        _w: &candle_core::Tensor,
    ) -> Result<candle_core::Tensor> {
        x.yx(&post.a)
    }
}
