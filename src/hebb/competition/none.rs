//! No competition: every unit learns from its own activation (the report's
//! `SoftHebb-None-Instar`, which collapses).

use super::{Competition, Post};
use crate::error::Result;

/// Plain Hebbian drive: `a = u`.
pub struct NoCompetition;

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
}
