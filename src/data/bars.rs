//! Földiák's (1990) bars: an `L1 × L2` grid where each of the `L1`
//! horizontal and `L2` vertical lines is drawn independently with its own
//! probability; a pixel is on when any line through it is.

use rand::Rng;

/// A bars generator.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Grid rows.
    pub rows: usize,
    /// Grid columns.
    pub cols: usize,
    /// Probability of each horizontal line (one per row).
    pub p_rows: Vec<f64>,
    /// Probability of each vertical line (one per column).
    pub p_cols: Vec<f64>,
}

impl Bars {
    /// Every line drawn with the same probability `p`.
    pub fn uniform(rows: usize, cols: usize, p: f64) -> Self {
        Self {
            rows,
            cols,
            p_rows: vec![p; rows],
            p_cols: vec![p; cols],
        }
    }

    /// Number of distinct lines: rows first, then columns.
    pub fn lines(&self) -> usize {
        self.rows + self.cols
    }

    /// Probability of each line, in [`Bars::line`] order.
    pub fn line_probabilities(&self) -> Vec<f64> {
        self.p_rows.iter().chain(&self.p_cols).copied().collect()
    }

    /// Draws one image (row-major, 0/1) into `out`; returns which lines
    /// were drawn.
    pub fn sample_into(&self, rng: &mut impl Rng, out: &mut [f32]) -> Vec<bool> {
        out.fill(0.0);
        let drawn: Vec<bool> = self
            .line_probabilities()
            .iter()
            .map(|&p| rng.random_bool(p))
            .collect();
        for (l, &on) in drawn.iter().enumerate() {
            if on {
                self.draw_line(l, out);
            }
        }
        drawn
    }

    /// The image of line `l` alone.
    pub fn line(&self, l: usize) -> Vec<f32> {
        let mut img = vec![0.0; self.rows * self.cols];
        self.draw_line(l, &mut img);
        img
    }

    fn draw_line(&self, l: usize, img: &mut [f32]) {
        if l < self.rows {
            img[l * self.cols..(l + 1) * self.cols].fill(1.0);
        } else {
            let c = l - self.rows;
            for r in 0..self.rows {
                img[r * self.cols + c] = 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn single_lines_are_rows_then_columns() {
        let b = Bars::uniform(2, 3, 0.5);
        assert_eq!(b.line(0), [1., 1., 1., 0., 0., 0.]);
        assert_eq!(b.line(1), [0., 0., 0., 1., 1., 1.]);
        assert_eq!(b.line(3), [0., 1., 0., 0., 1., 0.]);
    }

    #[test]
    fn line_frequencies_and_pixel_density_match_the_probabilities() {
        // 8x8, p = 1/8: each line is drawn 1/8 of the time, and a pixel is
        // on with probability 1 - (7/8)^2 = 0.234375.
        let b = Bars::uniform(8, 8, 0.125);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut img = vec![0.0; 64];
        let n = 40_000;
        let (mut lines, mut pixels) = (vec![0usize; 16], 0.0);
        for _ in 0..n {
            for (l, on) in b.sample_into(&mut rng, &mut img).into_iter().enumerate() {
                lines[l] += on as usize;
            }
            pixels += img.iter().sum::<f32>() as f64;
        }
        for c in lines {
            let f = c as f64 / n as f64;
            assert!((f - 0.125).abs() < 0.006, "line frequency {f}");
        }
        let density = pixels / (n as f64 * 64.0);
        assert!(
            (density - 0.234375).abs() < 0.003,
            "pixel density {density}"
        );
    }
}
