//! What the report's analysis figures need from a Hebbian phase, kept as
//! run artefacts so that the report draws them without recomputing
//! anything: the applied Δw every [`LTP_EVERY`] batches (LTP/LTD, Fig. 21),
//! weight statistics and histograms at a few checkpoints (Figs. 8, 10–12),
//! and each layer's filters in the report's layout (Figs. 13–18).

use crate::experiments::Artefact;
pub use crate::models::analysis::{LayerWeights, Weighted};

/// Batches between Δw records (the report's `plot_ltp_ltd` logs every 200
/// batches); the last batch is recorded too.
pub const LTP_EVERY: usize = 200;

/// Filters drawn per layer: the report's first 20 and last 5.
const FIRST: usize = 20;
const LAST: usize = 5;

/// Bins of each weight histogram.
const BINS: usize = 64;

/// The statistics of [`stats`], in order (the report's
/// `print_weight_statistics`).
pub const STAT_NAMES: [&str; 9] = [
    "mean", "median", "std", "p5", "p25", "p75", "p95", "% > 0", "% < 0",
];

/// Quantiles of the Δw distribution kept per record (box plots).
pub const DW_QUANTILES: [f64; 7] = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0];

/// Collects the records of one learning phase of `total` batches.
pub struct Recorder {
    total: usize,
    /// Checkpoint batches (after that many batches; 0 is the init).
    checkpoints: Vec<usize>,
    layers: Vec<LayerRecord>,
    /// Weights before the batch being recorded.
    before: Option<Vec<Vec<f32>>>,
    /// Recorded batch indices (0-based).
    recorded: Vec<f32>,
    /// Checkpoints taken, as batches done.
    taken: Vec<f32>,
    /// Time spent recording (its cost, reported as `record_s`).
    spent: std::time::Duration,
}

#[derive(Default)]
struct LayerRecord {
    /// Per record and filter: Σ positive Δw, Σ negative Δw.
    ltp: Vec<f32>,
    /// Per record: [`DW_QUANTILES`] of Δw.
    quantiles: Vec<f32>,
    /// Per record and drawn filter: Δw per tap, mean over input channels.
    maps: Vec<f32>,
    /// Per checkpoint: [`STAT_NAMES`] of the whole layer.
    layer_stats: Vec<f32>,
    /// Per checkpoint and filter: [`STAT_NAMES`].
    filter_stats: Vec<f32>,
    /// Per checkpoint: histogram counts, and its range.
    hist: Vec<f32>,
    hist_range: Vec<f32>,
}

/// The filters drawn of a layer of `cout`: the first 20 and last 5.
pub fn drawn_filters(cout: usize) -> Vec<usize> {
    if cout <= FIRST + LAST {
        return (0..cout).collect();
    }
    (0..FIRST).chain(cout - LAST..cout).collect()
}

impl Recorder {
    /// A recorder for `total` learning batches; takes the init checkpoint.
    pub fn new(net: &impl Weighted, total: usize) -> Self {
        let mut checkpoints: Vec<usize> = [0, total / 4, total / 2, 3 * total / 4, total]
            .into_iter()
            .collect();
        checkpoints.dedup();
        let mut r = Recorder {
            total,
            checkpoints,
            layers: net
                .layer_weights()
                .iter()
                .map(|_| LayerRecord::default())
                .collect(),
            before: None,
            recorded: Vec::new(),
            taken: Vec::new(),
            spent: std::time::Duration::ZERO,
        };
        r.checkpoint(net, 0);
        r
    }

    /// Whether batch `b` (0-based, counted over all Hebbian epochs) is
    /// recorded.
    pub fn records(&self, b: usize) -> bool {
        b % LTP_EVERY == 0 || b + 1 == self.total
    }

    /// Called before batch `b` learns.
    pub fn before_batch(&mut self, net: &impl Weighted, b: usize) {
        if self.records(b) {
            let t = std::time::Instant::now();
            self.before = Some(
                net.layer_weights()
                    .into_iter()
                    .map(|l| l.w.into_owned())
                    .collect(),
            );
            self.spent += t.elapsed();
        }
    }

    /// Called after batch `b` learned (its updates applied).
    pub fn after_batch(&mut self, net: &impl Weighted, b: usize) {
        let t = std::time::Instant::now();
        self.after(net, b);
        self.spent += t.elapsed();
    }

    /// Seconds spent recording so far.
    pub fn seconds(&self) -> f64 {
        self.spent.as_secs_f64()
    }

    fn after(&mut self, net: &impl Weighted, b: usize) {
        if let Some(before) = self.before.take() {
            self.recorded.push(b as f32);
            for ((rec, l), w0) in self.layers.iter_mut().zip(net.layer_weights()).zip(before) {
                let dw: Vec<f32> = l.w.iter().zip(&w0).map(|(a, b)| a - b).collect();
                rec.push_delta(&l, &dw);
            }
        }
        if self.checkpoints.contains(&(b + 1)) {
            self.checkpoint(net, b + 1);
        }
    }

    fn checkpoint(&mut self, net: &impl Weighted, done: usize) {
        if self.taken.contains(&(done as f32)) {
            return;
        }
        self.taken.push(done as f32);
        for (rec, l) in self.layers.iter_mut().zip(net.layer_weights()) {
            rec.push_stats(&l);
        }
    }

    /// The artefacts, appended to `out` (`layer{i}_…`, and the recorded
    /// batches and checkpoints shared by every layer).
    pub fn finish(self, net: &impl Weighted, out: &mut Vec<Artefact>) {
        let art = |name: String, shape: Vec<usize>, data: Vec<f32>| Artefact { name, shape, data };
        let (nr, nc) = (self.recorded.len(), self.taken.len());
        if nr > 0 {
            out.push(art("ltp_batches".into(), vec![nr], self.recorded));
        }
        out.push(art("stat_checkpoints".into(), vec![nc], self.taken));
        out.push(art(
            "stat_total_batches".into(),
            vec![1],
            vec![self.total as f32],
        ));
        for (i, (rec, s)) in self.layers.into_iter().zip(net.layer_weights()).enumerate() {
            let ids = drawn_filters(s.cout);
            let taps = s.k * s.k;
            if nr > 0 {
                out.push(art(format!("layer{i}_ltp"), vec![nr, s.cout, 2], rec.ltp));
                out.push(art(
                    format!("layer{i}_dw_quantiles"),
                    vec![nr, DW_QUANTILES.len()],
                    rec.quantiles,
                ));
                out.push(art(
                    format!("layer{i}_dw_maps"),
                    vec![nr, ids.len(), s.k, s.k],
                    rec.maps,
                ));
            }
            let ns = STAT_NAMES.len();
            out.push(art(
                format!("layer{i}_stats"),
                vec![nc, ns],
                rec.layer_stats,
            ));
            out.push(art(
                format!("layer{i}_filter_stats"),
                vec![nc, s.cout, ns],
                rec.filter_stats,
            ));
            out.push(art(format!("layer{i}_hist_ckpt"), vec![nc, BINS], rec.hist));
            out.push(art(
                format!("layer{i}_hist_ckpt_range"),
                vec![nc, 2],
                rec.hist_range,
            ));
            // Final filters in the report's layout: per tap, the mean over
            // input channels; a 1×1 layer's filter is its vector of
            // input weights.
            let fan = s.fan_in();
            let cin = fan / taps;
            let mut filters = Vec::new();
            for &o in &ids {
                let row = &s.w[o * fan..(o + 1) * fan];
                if taps == 1 {
                    filters.extend_from_slice(row);
                } else {
                    filters.extend(channel_means(row, taps, cin));
                }
            }
            let shape = if taps == 1 {
                vec![ids.len(), cin]
            } else {
                vec![ids.len(), s.k, s.k]
            };
            out.push(art(format!("layer{i}_filters"), shape, filters));
            out.push(art(
                format!("layer{i}_filter_ids"),
                vec![ids.len()],
                ids.iter().map(|&v| v as f32).collect(),
            ));
        }
    }
}

impl LayerRecord {
    fn push_delta(&mut self, s: &LayerWeights, dw: &[f32]) {
        let fan = s.fan_in();
        let taps = s.k * s.k;
        for row in dw.chunks(fan) {
            let pos: f32 = row.iter().filter(|v| **v > 0.0).sum();
            let neg: f32 = row.iter().filter(|v| **v < 0.0).sum();
            self.ltp.extend([pos, neg]);
        }
        let mut sorted = dw.to_vec();
        sorted.sort_unstable_by(f32::total_cmp);
        self.quantiles
            .extend(DW_QUANTILES.iter().map(|&q| quantile(&sorted, q)));
        for o in drawn_filters(s.cout) {
            self.maps
                .extend(channel_means(&dw[o * fan..(o + 1) * fan], taps, fan / taps));
        }
    }

    fn push_stats(&mut self, l: &LayerWeights) {
        let fan = l.fan_in();
        self.layer_stats.extend(stats(&l.w));
        for row in l.w.chunks(fan) {
            self.filter_stats.extend(stats(row));
        }
        let (counts, lo, hi) = histogram(&l.w, BINS);
        self.hist.extend(counts);
        self.hist_range.extend([lo, hi]);
    }
}

/// Mean over the `cin` input channels of each of `taps` taps of one
/// `[tap][channel]` weight row.
fn channel_means(row: &[f32], taps: usize, cin: usize) -> Vec<f32> {
    (0..taps)
        .map(|t| row[t * cin..(t + 1) * cin].iter().sum::<f32>() / cin.max(1) as f32)
        .collect()
}

/// The `q` quantile of sorted values, linearly interpolated (NumPy's
/// default).
pub fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let f = (pos - lo as f64) as f32;
    sorted[lo] + f * (sorted[hi] - sorted[lo])
}

/// [`STAT_NAMES`] of `v`: mean, median, std (population), p5, p25, p75,
/// p95, and the percentages above and below zero.
pub fn stats(v: &[f32]) -> [f32; 9] {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    let mut s = v.to_vec();
    s.sort_unstable_by(f32::total_cmp);
    let pct = |c: usize| (100.0 * c as f64 / n) as f32;
    [
        mean as f32,
        quantile(&s, 0.5),
        var.sqrt() as f32,
        quantile(&s, 0.05),
        quantile(&s, 0.25),
        quantile(&s, 0.75),
        quantile(&s, 0.95),
        pct(v.iter().filter(|x| **x > 0.0).count()),
        pct(v.iter().filter(|x| **x < 0.0).count()),
    ]
}

/// Counts over `bins` equal bins between the smallest and largest value.
pub fn histogram(v: &[f32], bins: usize) -> (Vec<f32>, f32, f32) {
    let (lo, hi) = v
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let mut counts = vec![0f32; bins];
    let span = (hi - lo).max(1e-12);
    for &x in v {
        let b = (((x - lo) / span) * bins as f32) as usize;
        counts[b.min(bins - 1)] += 1.0;
    }
    (counts, lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_hand_worked_values() {
        // 1, 2, 3, 4, -10: mean 0, median 2, population std √(130/5 − 0)
        // = √26; p25 at position 1 → 1, p75 at position 3 → 3; p5 at 0.2
        // → −10 + 0.2·11 = −7.8; p95 at 3.8 → 3 + 0.8·1 = 3.8.
        let s = stats(&[1.0, 2.0, 3.0, 4.0, -10.0]);
        let want = [0.0, 2.0, 26f32.sqrt(), -7.8, 1.0, 3.0, 3.8, 80.0, 20.0];
        for (g, w) in s.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{s:?}");
        }
    }

    #[test]
    fn the_drawn_filters_are_the_first_twenty_and_the_last_five() {
        let d = drawn_filters(96);
        assert_eq!(d.len(), 25);
        assert_eq!((d[19], d[20], d[24]), (19, 91, 95));
        assert_eq!(drawn_filters(8), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn channel_means_average_each_tap_over_its_channels() {
        // Two taps of three channels, stored [tap][channel].
        let m = channel_means(&[1.0, 2.0, 3.0, -3.0, 0.0, 6.0], 2, 3);
        assert_eq!(m, vec![2.0, 1.0]);
    }

    #[test]
    fn a_histogram_counts_every_value_once() {
        let (c, lo, hi) = histogram(&[0.0, 0.25, 0.5, 1.0], 4);
        assert_eq!((lo, hi), (0.0, 1.0));
        assert_eq!(c, vec![1.0, 1.0, 1.0, 1.0]);
    }
}
