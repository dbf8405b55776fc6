//! Statistical selection: a unit may learn only if its activation exceeds
//! the row's mean + k·std (a homeostatic threshold); among those, the most
//! active one wins (hard-WTA).

use rayon::prelude::*;

use super::{argmax, sparse_post, Competition, Post, NO_WINNER};
use crate::error::Result;

/// The report's `thresh` mode, with `k` = 2 by default.
pub struct Statistical {
    pub k: f32,
}

impl Competition for Statistical {
    fn name(&self) -> &'static str {
        "statistical"
    }

    fn compete(&mut self, u: &[f32], units: usize, _rows_per_image: usize) -> Result<Post> {
        let winners: Vec<u32> = u
            .par_chunks(units)
            .map(|row| {
                let n = row.len() as f32;
                let mean = row.iter().sum::<f32>() / n;
                let var =
                    row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / (n - 1.0).max(1.0);
                let threshold = mean + self.k * var.sqrt();
                let (win, value) = argmax(row);
                if value > threshold {
                    win as u32
                } else {
                    NO_WINNER
                }
            })
            .collect();
        Ok(sparse_post(u, units, winners))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outliers_above_mean_plus_two_std_learn() {
        // Row 1: [0,0,0,0,10]: mean 2, unbiased std √20 ≈ 4.47 → threshold
        // 10.94 > 10: nobody learns. Row 2 with k = 1: threshold 6.47 < 10.
        let u = [0.0, 0.0, 0.0, 0.0, 10.0];
        let p = Statistical { k: 2.0 }.compete(&u, 5, 1).unwrap();
        assert_eq!(p.winners, Some(vec![NO_WINNER]));
        assert!(p.a.iter().all(|&v| v == 0.0));
        let p = Statistical { k: 1.0 }.compete(&u, 5, 1).unwrap();
        assert_eq!(p.winners, Some(vec![4]));
        assert_eq!(p.a[4], 10.0);
    }
}
