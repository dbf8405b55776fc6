//! Földiák (1990) on the bars problem: does each output unit come to
//! represent one line? Reports lines learned against trials, the settling
//! cost, and snapshots of `Q` for the report's "Figure 3".

use rand_chacha::ChaCha8Rng;
use std::time::Instant;

use super::defaults;
use super::{resolved, typed, Artefact, Checked, Experiment, Params, Phase, RunContext, RunOutput};
use crate::data::bars::Bars;
use crate::error::{Error, Result};
use crate::models::foldiak::{Foldiak, FoldiakRates, Settling};

/// The experiment kind `foldiak_bars`.
pub struct FoldiakBars;

crate::config! {
    /// Parameters of a `foldiak_bars` run (Földiák 1990, the bars problem).
    pub struct BarsParams {
        /// Grid rows.
        pub rows: usize = 8,
        /// Grid columns.
        pub cols: usize = 8,
        /// Probability of each line.
        pub p_line: f64 = 0.125,
        /// Output units; default one per line.
        pub units: Option<usize> = None,
        /// Anti-Hebbian (lateral) learning rate α.
        pub alpha: f64 = required,
        /// Hebbian (feedforward) learning rate β.
        pub beta: f64 = required,
        /// Threshold learning rate γ.
        pub gamma: f64 = required,
        /// Sigmoid gain λ.
        pub lambda: f64 = (defaults::LAMBDA),
        /// Settling time constant τ.
        pub tau: f64 = (defaults::TAU),
        /// Settling tolerance (relative change of y per step).
        pub tol: f64 = (defaults::TOL),
        /// Settling step limit.
        pub max_steps: usize = (defaults::STEPS),
        /// Warm-up trials with α = β = 0 (thresholds only).
        pub warmup: usize = 0,
        /// Threshold rate during warm-up.
        pub warmup_gamma: f64 = (defaults::WARMUP_GAMMA),
        /// Sigmoid gain during warm-up.
        pub warmup_lambda: f64 = (defaults::LAMBDA),
        /// Learning trials.
        pub trials: usize = 2400,
        /// Lines learned is measured every this many trials.
        pub curve_every: usize = 100,
        /// `Q` is saved every this many trials.
        pub snapshot_every: usize = 400,
    }
}

impl BarsParams {
    fn check_values(&self) -> Result<()> {
        if self.rows == 0 || self.cols == 0 || !(0.0..=1.0).contains(&self.p_line) {
            return Err(Error::Params(
                "`rows`, `cols` must be positive and `p_line` in [0, 1]".into(),
            ));
        }
        if self.curve_every == 0
            || self.snapshot_every == 0
            || self.tau <= 0.0
            || self.units == Some(0)
        {
            return Err(Error::Params(
                "`curve_every`, `snapshot_every`, `tau` and `units` must be positive".into(),
            ));
        }
        Ok(())
    }
}

const STREAM_INIT: u64 = 1;
const STREAM_DATA: u64 = 2;
/// Training patterns kept for the samples figure (the notebook shows 44).
const SAMPLES: usize = 44;

impl Experiment for FoldiakBars {
    fn name(&self) -> &'static str {
        "foldiak_bars"
    }

    fn about(&self) -> &'static str {
        "Földiák (1990) anti-Hebbian network on the bars problem: lines learned against trials"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        vec![crate::config::ParamGroup::of::<BarsParams>(
            self.name(),
            self.about(),
        )]
    }

    fn figures(
        &self,
        arts: &super::figures::Artefacts,
        config: &str,
        seed: u64,
    ) -> std::result::Result<Vec<super::figures::FigureSpec>, String> {
        use super::figures::{Colour, FigureSpec, Tiles};
        let Some((shape, q)) = arts.get("q_snapshots", 4)? else {
            return Ok(Vec::new());
        };
        use super::figures::{ChartBody, ChartPanel, HeatScale, Panel};
        let (k, units, r, c) = (shape[0], shape[1], shape[2], shape[3]);
        let when = match arts.get("snapshot_trials", 1)? {
            Some((_, t)) if t.len() == k => format!(
                "after {} trials",
                t.iter()
                    .map(|v| format!("{v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "every 400 trials, first row at the start".into(),
        };
        let mut figs = vec![FigureSpec::Grid {
            stem: "q_snapshots".into(),
            heading: format!("Q snapshots: {config}"),
            caption: "Földiák's Figure 3: each unit's weights over the grid as training proceeds, on one grey scale for every unit and snapshot (colour bar).".into(),
            title: format!("{config}: feedforward weights Q over training"),
            subtitle: format!("one row per snapshot ({when}), one column per unit ({units}); seed {seed}; one grey scale"),
            tiles: vec![Tiles { colour: Colour::shared(q, false), data: q.to_vec(), n: k * units, h: r, w: c }],
            cols: units,
            scale: 6,
        }];
        if let Some((ss, x)) = arts.get("samples", 3)? {
            figs.push(FigureSpec::Grid {
                stem: "bar_samples".into(),
                heading: format!("Input samples: {config}"),
                caption: format!("The first {} training patterns after the warm-up, as the network saw them (the notebook's sample figure): each line is on with probability p_line.", ss[0]),
                title: format!("{config}: the first {} training patterns", ss[0]),
                subtitle: format!("{}×{} pixels; black 0, white 1; seed {seed}", ss[1], ss[2]),
                tiles: vec![Tiles { colour: Colour::SharedGrey { lo: 0.0, hi: 1.0 }, data: x.to_vec(), n: ss[0], h: ss[1], w: ss[2] }],
                cols: 11,
                scale: 6,
            });
        }
        if let Some((ws, w)) = arts.get("w", 2)? {
            figs.push(FigureSpec::Heatmaps {
                stem: "lateral_w".into(),
                heading: format!("Lateral weights W: {config}"),
                caption: "The learned anti-Hebbian lateral weights w_ij between units (row i, column j) after the last trial, on one symmetric colour scale: negative where two units tend to fire together.".into(),
                title: format!("{config}: lateral weights W (seed {seed})"),
                panels: vec![Panel { label: "unit i × unit j".into(), rows: ws[0], cols: ws[1], data: w.to_vec() }],
                cols: 1,
                cell: (400 / ws[0].max(1)).clamp(4, 24),
                scale: HeatScale::Symmetric,
                legend: "w_ij".into(),
            });
        }
        if let Some((_, t)) = arts.get("t", 1)? {
            figs.push(FigureSpec::Chart {
                stem: "thresholds".into(),
                heading: format!("Thresholds t: {config}"),
                caption: "Each unit's adaptive threshold after the last trial.".into(),
                title: format!("{config}: thresholds (seed {seed})"),
                panels: vec![ChartPanel {
                    label: format!("{} units", t.len()),
                    x_desc: "unit".into(),
                    y_desc: "threshold t".into(),
                    body: ChartBody::Bars(vec![("t".into(), t.to_vec())]),
                }],
                cols: 1,
            });
        }
        Ok(figs)
    }

    fn cpu_only(&self) -> bool {
        true
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: BarsParams = typed(params)?;
        p.check_values()?;
        resolved("synthetic/bars", &p)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p: BarsParams = typed(params)?;
        p.check_values()?;
        let bars = Bars::uniform(p.rows, p.cols, p.p_line);
        let units = p.units.unwrap_or(bars.lines());
        let m = p.rows * p.cols;
        let mut net = Foldiak::new(
            units,
            m,
            vec![p.p_line as f32; units],
            &mut ctx.rng(STREAM_INIT),
        );
        let mut data: ChaCha8Rng = ctx.rng(STREAM_DATA);
        let settling = Settling {
            tau: p.tau as f32,
            tol: p.tol as f32,
            max_steps: p.max_steps,
        };
        let mut x = vec![0.0f32; m];
        let warm = FoldiakRates {
            alpha: 0.0,
            beta: 0.0,
            gamma: p.warmup_gamma as f32,
            lambda: p.warmup_lambda as f32,
        };
        for _ in 0..p.warmup {
            bars.sample_into(&mut data, &mut x);
            net.trial(&x, warm, settling);
        }
        let rates = FoldiakRates {
            alpha: p.alpha as f32,
            beta: p.beta as f32,
            gamma: p.gamma as f32,
            lambda: p.lambda as f32,
        };
        let mut out = RunOutput::default();
        let mut snapshots = vec![net.q.clone()];
        let mut snapshot_trials = vec![0f32];
        out.summary.insert(
            "lines_at_0".into(),
            lines_learned(&mut net.clone(), &bars, p.lambda as f32, settling) as f64,
        );
        let (mut busy, mut steps) = (0.0f64, 0usize);
        let mut samples = Vec::new();
        let bar = ctx.progress.bar(p.trials as u64, "foldiak bars");
        for n in 1..=p.trials {
            bars.sample_into(&mut data, &mut x);
            if n <= SAMPLES {
                samples.extend_from_slice(&x);
            }
            let start = Instant::now();
            steps += net.trial(&x, rates, settling);
            busy += start.elapsed().as_secs_f64();
            if n % p.curve_every == 0 || n == p.trials {
                let learned = lines_learned(&mut net.clone(), &bars, p.lambda as f32, settling);
                out.summary.insert(format!("lines_at_{n}"), learned as f64);
            }
            if n % p.snapshot_every == 0 {
                snapshots.push(net.q.clone());
                snapshot_trials.push(n as f32);
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
        if net
            .q
            .iter()
            .chain(&net.w)
            .chain(&net.t)
            .any(|v| !v.is_finite())
        {
            return Err(Error::Diverged("non-finite weights".into()));
        }
        let trials = p.trials.max(1) as f64;
        out.summary.insert(
            "lines_final".into(),
            lines_learned(&mut net.clone(), &bars, p.lambda as f32, settling) as f64,
        );
        out.summary
            .insert("settle_steps_mean".into(), steps as f64 / trials);
        out.summary.insert("trial_us".into(), 1e6 * busy / trials);
        out.phases.push(Phase {
            name: "unsupervised".into(),
            wall_s: busy,
            images: p.trials as u64,
        });
        let k = snapshots.len();
        out.artefacts.push(Artefact {
            name: "q_snapshots".into(),
            shape: vec![k, units, p.rows, p.cols],
            data: snapshots.concat(),
        });
        out.artefacts.push(Artefact {
            name: "snapshot_trials".into(),
            shape: vec![snapshot_trials.len()],
            data: snapshot_trials,
        });
        out.artefacts.push(Artefact {
            name: "samples".into(),
            shape: vec![samples.len() / m, p.rows, p.cols],
            data: samples,
        });
        out.artefacts.push(Artefact {
            name: "w".into(),
            shape: vec![units, units],
            data: net.w.clone(),
        });
        out.artefacts.push(Artefact {
            name: "t".into(),
            shape: vec![units],
            data: net.t.clone(),
        });
        Ok(out)
    }
}

/// How many lines are represented. Line `l` counts when some unit whose
/// feedforward weights match `l` best (cosine) fires on `l` alone and on no
/// other single line — the strict definition, so a unit that fires for
/// several lines, or for a line it does not resemble, counts for none.
pub fn lines_learned(net: &mut Foldiak, bars: &Bars, lambda: f32, s: Settling) -> usize {
    let lines: Vec<Vec<f32>> = (0..bars.lines()).map(|l| bars.line(l)).collect();
    let fires: Vec<Vec<f32>> = lines
        .iter()
        .map(|x| {
            net.settle(x, lambda, s);
            net.y.clone()
        })
        .collect();
    let m = net.inputs;
    let mut learned = vec![false; lines.len()];
    for (u, q) in net.q.chunks_exact(m).enumerate() {
        let score = |x: &Vec<f32>| {
            let dot: f32 = q.iter().zip(x).map(|(a, b)| a * b).sum();
            dot / x.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12)
        };
        let best = (0..lines.len())
            .max_by(|&a, &b| score(&lines[a]).total_cmp(&score(&lines[b])))
            .unwrap_or(0);
        let only_best = (0..lines.len()).all(|l| (fires[l][u] == 1.0) == (l == best));
        if only_best {
            learned[best] = true;
        }
    }
    learned.into_iter().filter(|&b| b).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_hand_built_perfect_network_learns_every_line_and_a_random_one_few() {
        // Each unit's Q is exactly one line, normalised (8 pixels of 1/√8).
        // A single line drives its own unit by 8/√8 = √8 ≈ 2.83 and any
        // other unit by at most 1/√8 ≈ 0.35 (one crossing pixel), so a
        // threshold of 1 separates them.
        let bars = Bars::uniform(8, 8, 0.125);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut net = Foldiak::new(16, 64, vec![0.125; 16], &mut rng);
        for u in 0..16 {
            let line = bars.line(u);
            let norm = (line.iter().sum::<f32>()).sqrt();
            for (q, l) in net.q[u * 64..(u + 1) * 64].iter_mut().zip(&line) {
                *q = l / norm;
            }
            net.t[u] = 1.0;
        }
        let s = Settling {
            tau: 10.0,
            tol: 1e-4,
            max_steps: 500,
        };
        assert_eq!(lines_learned(&mut net, &bars, 10.0, s), 16);
        // Two units swapped onto the same line: that line still counts once,
        // the abandoned line does not.
        let copy: Vec<f32> = net.q[0..64].to_vec();
        net.q[64..128].copy_from_slice(&copy);
        assert_eq!(lines_learned(&mut net, &bars, 10.0, s), 15);
        // Random weights with zero thresholds: every unit fires for every
        // line, so none is specific.
        let mut random = Foldiak::new(16, 64, vec![0.125; 16], &mut rng);
        assert_eq!(lines_learned(&mut random, &bars, 10.0, s), 0);
    }
}
