//! No competition: every unit learns from its own activation (the report's
//! `SoftHebb-None-Instar`, which collapses).

use super::{Competition, CompetitionKind, Post};
use crate::error::Result;

crate::config! {
    /// `none` takes no parameters.
    pub struct NoConfig {}
}

/// Plain Hebbian drive: `a = u`.
pub struct NoCompetition;

impl CompetitionKind for NoCompetition {
    const NAME: &'static str = "none";
    const ABOUT: &'static str = "every unit learns from its own activation (collapses)";
    type Config = NoConfig;
    fn new(_: &NoConfig, _block: usize) -> Self {
        NoCompetition
    }
}

impl Competition for NoCompetition {
    fn name(&self) -> &'static str {
        "none"
    }

    fn compete(&mut self, u: &[f32], _units: usize, _rows_per_image: usize) -> Result<Post> {
        Ok(Post {
            a: u.to_vec(),
            decay: None,
            winners: None,
        })
    }

    fn compete_tensor(
        &mut self,
        u: &candle_core::Tensor,
        _rows_per_image: usize,
    ) -> Result<super::PostTensor> {
        Ok(super::PostTensor {
            a: u.clone(),
            decay: None,
        })
    }
}
