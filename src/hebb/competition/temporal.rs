//! Temporal competition: each unit is compared with its own recent past.
//! The layer keeps the activations of the last `window` images; a location's
//! threshold is the mean over units of their median activation there; units
//! above it compete by hard-WTA.
//!
//! The report's printed update (hebb.py L316–325) differs in two ways, kept
//! as the `report` variant: units below the threshold are set to 0 *before*
//! the top-1 is taken (so a negative unit above a negative threshold loses
//! to a masked 0), and the winner's post factor is `y·top1 = y²`.

use rayon::prelude::*;
use std::collections::VecDeque;

use super::{
    report_post, sparse_post, Competition, CompetitionKind, Post, ThresholdUpdate, NO_WINNER,
};
use crate::error::{Error, Result};

crate::config! {
    /// Parameters of `temporal`.
    pub struct TemporalConfig {
        /// How many past images form each unit's history.
        pub temporal_window: usize = 500,
        /// `standard` or `report` (the printed masked top-1 with post factor
        /// y², hebb.py L316–325).
        pub threshold_update: ThresholdUpdate = (ThresholdUpdate::Standard),
    }
}

impl CompetitionKind for Temporal {
    const NAME: &'static str = "temporal";
    const ABOUT: &'static str =
        "units above the mean of their medians over the last images compete by hard-WTA";
    type Config = TemporalConfig;
    fn new(c: &TemporalConfig, _block: usize) -> Self {
        Temporal::new(
            c.temporal_window,
            c.threshold_update == ThresholdUpdate::Report,
        )
    }
}

/// The report's `temp` mode (history window 500 images).
pub struct Temporal {
    window: usize,
    history: VecDeque<Vec<f32>>,
    /// The candle engine's history: `images × (rows_per_image · units)`.
    history_t: Option<candle_core::Tensor>,
    /// The report's masked top-1 and `y²` post factor.
    report: bool,
}

impl Temporal {
    /// A history of `window` images; `report` selects the printed update.
    pub fn new(window: usize, report: bool) -> Self {
        Temporal {
            window: window.max(1),
            history: VecDeque::new(),
            history_t: None,
            report,
        }
    }

    /// Per location: mean over units of the median over the history.
    fn thresholds(&self, rows_per_image: usize, units: usize) -> Vec<f32> {
        let hist: Vec<&Vec<f32>> = self.history.iter().collect();
        (0..rows_per_image)
            .into_par_iter()
            .map(|r| {
                let mut buf = vec![0f32; hist.len()];
                let mut acc = 0f32;
                for j in 0..units {
                    for (b, h) in buf.iter_mut().zip(&hist) {
                        *b = h[r * units + j];
                    }
                    // torch.median returns the lower of the two middle values.
                    let mid = (buf.len() - 1) / 2;
                    let (_, m, _) = buf.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
                    acc += *m;
                }
                acc / units as f32
            })
            .collect()
    }
}

impl Competition for Temporal {
    fn name(&self) -> &'static str {
        "temporal"
    }

    fn compete(&mut self, u: &[f32], units: usize, rows_per_image: usize) -> Result<Post> {
        let per_image = rows_per_image * units;
        if per_image == 0 || u.len() % per_image != 0 {
            return Err(Error::Shape(
                "temporal competition needs whole images per batch".into(),
            ));
        }
        if self.history.front().is_some_and(|h| h.len() != per_image) {
            return Err(Error::Shape(
                "temporal competition is not supported on this layer shape".into(),
            ));
        }
        for img in u.chunks(per_image) {
            self.history.push_back(img.to_vec());
            if self.history.len() > self.window {
                self.history.pop_front();
            }
        }
        let thr = self.thresholds(rows_per_image, units);
        if self.report {
            return Ok(report_post(u, units, |r| thr[r % rows_per_image]));
        }
        let winners: Vec<u32> = u
            .par_chunks(units)
            .enumerate()
            .map(|(r, row)| {
                let t = thr[r % rows_per_image];
                let mut best = NO_WINNER;
                let mut bv = f32::NEG_INFINITY;
                for (j, &v) in row.iter().enumerate() {
                    if v > t && v > bv {
                        best = j as u32;
                        bv = v;
                    }
                }
                best
            })
            .collect();
        Ok(sparse_post(u, units, winners))
    }

    fn compete_tensor(
        &mut self,
        u: &candle_core::Tensor,
        rows_per_image: usize,
    ) -> Result<super::PostTensor> {
        let (rows, units) = u.dims2()?;
        let per_image = rows_per_image * units;
        if rows_per_image == 0 || rows % rows_per_image != 0 {
            return Err(Error::Shape(
                "temporal competition needs whole images per batch".into(),
            ));
        }
        // The batch's images join the history (oldest dropped past the
        // window), then each location's threshold is the mean over units
        // of each unit's median there (the lower median, as the CPU form).
        let imgs = u.reshape((rows / rows_per_image, per_image))?;
        let hist = match self.history_t.take() {
            Some(h) if h.dim(1)? != per_image => {
                return Err(Error::Shape(
                    "temporal competition is not supported on this layer shape".into(),
                ))
            }
            Some(h) => candle_core::Tensor::cat(&[&h, &imgs], 0)?,
            None => imgs,
        };
        let len = hist.dim(0)?;
        let hist = hist.narrow(0, len.saturating_sub(self.window), len.min(self.window))?;
        let h = hist.dim(0)?;
        let sorted = hist.t()?.contiguous()?.sort_last_dim(true)?.0;
        let median = sorted
            .narrow(1, (h - 1) / 2, 1)?
            .reshape((rows_per_image, units))?;
        let thr = median.mean_keepdim(1)?; // rows_per_image × 1
        self.history_t = Some(hist.contiguous()?);
        // Row r of the batch is location r mod rows_per_image.
        let thr = thr.repeat((rows / rows_per_image, 1))?;
        super::threshold_post_tensor(u, &thr, self.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_variant_masks_before_the_top_one_and_squares() {
        // Window 1, two units, one location. Image [3, 5]: median = itself,
        // threshold (3+5)/2 = 4: only unit 1 passes; post 5² = 25.
        let mut t = Temporal::new(1, true);
        let p = t.compete(&[3.0, 5.0], 2, 1).unwrap();
        assert_eq!(p.a, vec![0.0, 25.0]);
        assert_eq!(p.winners, Some(vec![1]));
        // Image [−1, −3]: threshold −2; unit 0 passes with −1, but the masked
        // unit 1 counts as 0 > −1, so the top-1 value is 0: nobody learns.
        // The standard variant lets unit 0 win with post −1.
        let p = t.compete(&[-1.0, -3.0], 2, 1).unwrap();
        assert_eq!(p.a, vec![0.0, 0.0]);
        let mut t = Temporal::new(1, false);
        let p = t.compete(&[-1.0, -3.0], 2, 1).unwrap();
        assert_eq!(p.a, vec![-1.0, 0.0]);
    }

    #[test]
    fn threshold_is_mean_of_medians_over_the_window() {
        // One location, two units, window 3. Images: [1,10], [2,20], [3,30]
        // → medians 2 and 20 → threshold 11. A fourth image [4, 12] pushes
        // out the first: medians of [2,3,4]=3 and [20,30,12]=20 → 11.5; unit
        // 1 (12) beats it, unit 0 (4) does not.
        let mut t = Temporal::new(3, false);
        t.compete(&[1.0, 10.0, 2.0, 20.0, 3.0, 30.0], 2, 1).unwrap();
        assert_eq!(t.thresholds(1, 2), vec![11.0]);
        let p = t.compete(&[4.0, 12.0], 2, 1).unwrap();
        assert_eq!(t.thresholds(1, 2), vec![11.5]);
        assert_eq!(p.winners, Some(vec![1]));
        // Below every threshold: no winner.
        let p = t.compete(&[0.0, 0.0], 2, 1).unwrap();
        assert_eq!(p.winners, Some(vec![NO_WINNER]));
    }
}
