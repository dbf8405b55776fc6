//! Hard winner-take-all: at each row only the most active unit learns,
//! with its own activation as the post-synaptic factor.

use rayon::prelude::*;

use super::none::NoConfig;
use super::{argmax, sparse_post, Competition, CompetitionKind, Post};
use crate::error::Result;

/// The report's `hard` mode (`y · onehot(argmax y)`).
pub struct HardWta;

impl CompetitionKind for HardWta {
    const NAME: &'static str = "hard_wta";
    const ABOUT: &'static str = "only the most active unit of each row learns";
    type Config = NoConfig;
    fn new(_: &NoConfig, _block: usize) -> Self {
        HardWta
    }
}

impl Competition for HardWta {
    fn name(&self) -> &'static str {
        "hard_wta"
    }

    fn compete(&mut self, u: &[f32], units: usize, _rows_per_image: usize) -> Result<Post> {
        let winners: Vec<u32> = u
            .par_chunks(units)
            .map(|row| argmax(row).0 as u32)
            .collect();
        Ok(sparse_post(u, units, winners))
    }

    fn compete_tensor(
        &mut self,
        u: &candle_core::Tensor,
        _rows_per_image: usize,
    ) -> Result<super::PostTensor> {
        Ok(super::PostTensor {
            a: (u * super::winner_mask(u)?)?,
            decay: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_row_maximum_survives() {
        let u = [0.1, 0.7, -0.2, /* row 2 */ -0.5, -0.4, -0.9];
        let p = HardWta.compete(&u, 3, 2).unwrap();
        assert_eq!(p.a, vec![0.0, 0.7, 0.0, 0.0, -0.4, 0.0]);
        assert_eq!(p.winners, Some(vec![1, 1]));
        assert_eq!(p.decay, None);
    }
}
