//! Statistical selection: a unit may learn only if its activation exceeds
//! the row's mean + k·std (a homeostatic threshold); among those, the most
//! active one wins (hard-WTA).

use rayon::prelude::*;

use super::{argmax, sparse_post, Competition, CompetitionKind, Post, ThresholdUpdate, NO_WINNER};
use crate::error::Result;

crate::config! {
    /// Parameters of `statistical`.
    pub struct StatisticalConfig {
        /// A unit may learn when its activation exceeds the row's mean +
        /// `stat_k`·std.
        pub stat_k: f64 = 2.0,
        /// `standard` or `report` (the printed `update_adaptive_threshold`,
        /// hebb.py L327–341: see `hebb::stats_report`).
        pub threshold_update: ThresholdUpdate = (ThresholdUpdate::Standard),
    }
}

/// The report's `thresh` mode, with `k` = 2 by default.
pub struct Statistical {
    /// The threshold's multiple of the row's std.
    pub k: f32,
    /// Learn by the report's printed update instead.
    pub report: bool,
}

impl CompetitionKind for Statistical {
    const NAME: &'static str = "statistical";
    const ABOUT: &'static str = "units above the row's mean + k·std compete by hard-WTA";
    type Config = StatisticalConfig;
    fn new(c: &StatisticalConfig, _block: usize) -> Self {
        Statistical {
            k: c.stat_k as f32,
            report: c.threshold_update == ThresholdUpdate::Report,
        }
    }
}

impl Competition for Statistical {
    fn name(&self) -> &'static str {
        "statistical"
    }

    fn layer_delta(
        &self,
        x: &crate::nhwc::Map,
        w: &[f32],
        cout: usize,
        k: usize,
        pad: usize,
    ) -> Option<Result<Vec<f32>>> {
        self.report
            .then(|| crate::hebb::stats_report::delta(x, w, cout, k, pad, self.k))
    }

    fn layer_delta_tensor(
        &self,
        x: &candle_core::Tensor,
        w: &candle_core::Tensor,
        k: usize,
        pad: usize,
    ) -> Option<Result<candle_core::Tensor>> {
        self.report
            .then(|| crate::hebb::stats_report::delta_tensor(x, w, k, pad, self.k))
    }

    fn supports_depthwise(&self) -> bool {
        !self.report
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

    fn compete_tensor(
        &mut self,
        u: &candle_core::Tensor,
        _rows_per_image: usize,
    ) -> Result<super::PostTensor> {
        if self.report {
            // The layer learns by `layer_delta_tensor`; no rule runs.
            return Err(crate::error::Error::Engine(
                "the statistical competition's printed update is a layer update, not a post factor"
                    .into(),
            ));
        }
        // Threshold: the row's mean + k · its sample std; only the row's
        // maximum can pass it, so the standard threshold post is the same.
        let n = u.dim(1)? as f64;
        let mean = u.mean_keepdim(1)?;
        let var = (u.broadcast_sub(&mean)?.sqr()?.sum_keepdim(1)? / (n - 1.0).max(1.0))?;
        let thr = (mean + (var.sqrt()? * self.k as f64)?)?;
        super::threshold_post_tensor(u, &thr, false)
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
        let p = Statistical {
            k: 2.0,
            report: false,
        }
        .compete(&u, 5, 1)
        .unwrap();
        assert_eq!(p.winners, Some(vec![NO_WINNER]));
        assert!(p.a.iter().all(|&v| v == 0.0));
        let p = Statistical {
            k: 1.0,
            report: false,
        }
        .compete(&u, 5, 1)
        .unwrap();
        assert_eq!(p.winners, Some(vec![4]));
        assert_eq!(p.a[4], 10.0);
    }
}
