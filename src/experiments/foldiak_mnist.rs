//! Földiák's network on MNIST, as the seed does: learn on the training
//! images, then read the settled (binary) representations out with
//! logistic regression. The model's weights are frozen while
//! representations are extracted (the seed kept learning, one of its bugs).

use candle_core::Tensor;
use rand::seq::SliceRandom;
use std::time::Instant;

use super::defaults;
use super::{
    resolved, timed, typed, Artefact, Checked, Experiment, Params, Phase, RunContext, RunOutput,
};
use crate::error::{Error, Result};
use crate::models::foldiak::{Dynamics, Foldiak, FoldiakRates, Settling};
use crate::train::readout::{Labelled, ReadoutSchedule};

/// The experiment kind `foldiak_mnist`.
pub struct FoldiakMnist;

crate::config! {
    /// Parameters of a `foldiak_mnist` run (Földiák's network on MNIST, then
    /// a logistic readout).
    pub struct FoldiakMnistParams {
        /// Use only the first N training images.
        pub train_limit: Option<usize> = None,
        /// Use only the first N test images.
        pub test_limit: Option<usize> = None,
        /// Fraction of the training images held out for validation
        /// (stratified by class, drawn from the seed; the same images for
        /// every kind and budget): choices are made on these, never on test.
        pub val_fraction: f64 = 0.0,
        /// Fraction of the remaining training images whose labels the
        /// supervised stage uses (stratified, ≥ 1 per class, smaller budgets
        /// nested in larger); unsupervised phases still see every image.
        pub label_fraction: f64 = 1.0,
        /// Output units.
        pub units: usize = required,
        /// Target firing probability of every unit.
        pub p: f64 = required,
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
        /// Warm-up passes (thresholds only, α = β = 0).
        pub warmup_epochs: usize = 0,
        /// Threshold rate during warm-up.
        pub warmup_gamma: f64 = (defaults::WARMUP_GAMMA),
        /// Sigmoid gain during warm-up.
        pub warmup_lambda: f64 = (defaults::LAMBDA),
        /// Learning passes over the training images.
        pub epochs: usize = required,
        /// `corrected` (Földiák's equations, weights frozen while features
        /// are read) or `notebook`: the seed-000 notebook as written (one
        /// scalar lateral sum for every unit, outputs carried between trials,
        /// per-element renormalisation, positive `w` reset, and learning on
        /// while the features of the training and test images are read).
        pub dynamics: Dynamics = (Dynamics::Corrected),
        /// Readout epochs.
        pub readout_epochs: usize = required,
        /// Readout minibatch.
        pub readout_batch: usize = (defaults::READOUT_BATCH),
        /// Readout Adam learning rate.
        pub readout_lr: f64 = (defaults::READOUT_LR),
        /// Final readout learning rate (geometric annealing); default: constant.
        pub readout_lr_final: Option<f64> = None,
    }
}

const STREAM_INIT: u64 = 1;
const STREAM_ORDER: u64 = 2;
const STREAM_READOUT: u64 = 3;

impl Experiment for FoldiakMnist {
    fn name(&self) -> &'static str {
        "foldiak_mnist"
    }

    fn about(&self) -> &'static str {
        "Földiák (1990) network on MNIST, binary representations read out by logistic regression"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        vec![crate::config::ParamGroup::of::<FoldiakMnistParams>(
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
        let Some((shape, q)) = arts.get("q", 3)? else {
            return Ok(Vec::new());
        };
        Ok(vec![FigureSpec::Grid {
            stem: "q".into(),
            heading: format!("Feedforward weights: {config}"),
            caption: "Each unit's learned weights on the 28×28 input, blue < 0 < red on one scale for every unit (colour bar).".into(),
            title: format!("{config}: feedforward weights"),
            subtitle: format!("{} units, seed {seed}; one symmetric scale", shape[0]),
            tiles: vec![Tiles {
                colour: Colour::shared(q, true),
                data: q.to_vec(),
                n: shape[0],
                h: shape[1],
                w: shape[2],
            }],
            cols: 14,
            scale: 3,
        }])
    }

    fn cpu_only(&self) -> bool {
        true
    }

    fn identity_neutral(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![("dynamics", serde_json::json!("corrected"))]
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: FoldiakMnistParams = typed(params)?;
        if p.units == 0 || p.tau <= 0.0 || p.readout_batch == 0 {
            return Err(Error::Params(
                "`units`, `tau` and `readout_batch` must be positive".into(),
            ));
        }
        crate::train::split::check(p.label_fraction, p.val_fraction)?;
        resolved("mnist", &p)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p: FoldiakMnistParams = typed(params)?;
        let ds = &ctx.dataset;
        let d = ds.image_len();
        let train = ds.train.limited(p.train_limit, d);
        let test = ds.test.limited(p.test_limit, d);
        let (xtr, xte) = (train.unit_floats(), test.unit_floats());
        let mut net = Foldiak::new(
            p.units,
            d,
            vec![p.p as f32; p.units],
            &mut ctx.rng(STREAM_INIT),
        );
        let settling = Settling {
            tau: p.tau as f32,
            tol: p.tol as f32,
            max_steps: p.max_steps,
        };
        let mut out = RunOutput::default();

        let n = train.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = ctx.rng(STREAM_ORDER);
        let warm = FoldiakRates {
            alpha: 0.0,
            beta: 0.0,
            gamma: p.warmup_gamma as f32,
            lambda: p.warmup_lambda as f32,
        };
        let rates = FoldiakRates {
            alpha: p.alpha as f32,
            beta: p.beta as f32,
            gamma: p.gamma as f32,
            lambda: p.lambda as f32,
        };
        let bar = ctx
            .progress
            .bar(((p.warmup_epochs + p.epochs) * n) as u64, "foldiak mnist");
        let start = Instant::now();
        let mut steps = 0usize;
        for epoch in 0..p.warmup_epochs + p.epochs {
            let r = if epoch < p.warmup_epochs { warm } else { rates };
            order.shuffle(&mut rng);
            for &i in &order {
                let x = &xtr[i * d..(i + 1) * d];
                steps += match p.dynamics {
                    Dynamics::Corrected => net.trial(x, r, settling),
                    Dynamics::Notebook => net.trial_notebook(x, r, settling),
                };
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        let trials = ((p.warmup_epochs + p.epochs) * n).max(1);
        let wall = start.elapsed().as_secs_f64();
        out.phases.push(Phase {
            name: "unsupervised".into(),
            wall_s: wall,
            images: trials as u64,
        });
        out.summary
            .insert("trial_us".into(), 1e6 * wall / trials as f64);
        out.summary
            .insert("settle_steps_mean".into(), steps as f64 / trials as f64);
        if net
            .q
            .iter()
            .chain(&net.w)
            .chain(&net.t)
            .any(|v| !v.is_finite())
        {
            return Err(Error::Diverged("non-finite weights".into()));
        }

        let (ftr, fte) = timed("features", (n + test.len()) as u64, &mut out.phases, || {
            let mut reps = |x: &[f32]| -> Result<Tensor> {
                let k = x.len() / d;
                let mut f = Vec::with_capacity(k * p.units);
                for img in x.chunks_exact(d) {
                    match p.dynamics {
                        Dynamics::Corrected => {
                            net.settle(img, p.lambda as f32, settling);
                        }
                        // The notebook read its features with `trial`: learning on.
                        Dynamics::Notebook => {
                            net.trial_notebook(img, rates, settling);
                        }
                    }
                    f.extend_from_slice(&net.y);
                }
                Ok(Tensor::from_vec(f, (k, p.units), &ctx.device)?)
            };
            Ok((reps(&xtr)?, reps(&xte)?))
        })?;
        let activity = ftr.mean_all()?.to_scalar::<f32>()? as f64;
        out.summary.insert("mean_activity".into(), activity);
        let silent = ftr
            .sum(0)?
            .to_vec1::<f32>()?
            .iter()
            .filter(|&&c| c == 0.0)
            .count();
        out.summary.insert("silent_units".into(), silent as f64);

        let schedule = ReadoutSchedule::new(
            p.readout_epochs,
            p.readout_batch,
            p.readout_lr,
            p.readout_lr_final,
        );
        super::logistic_readout(
            ctx,
            &mut out,
            Labelled {
                features: &ftr,
                labels: &train.labels,
            },
            Labelled {
                features: &fte,
                labels: &test.labels,
            },
            &schedule,
            STREAM_READOUT,
            (p.label_fraction, p.val_fraction),
        )?;
        out.artefacts.push(Artefact {
            name: "q".into(),
            shape: vec![p.units, 28, 28],
            data: net.q.clone(),
        });
        out.artefacts.push(Artefact {
            name: "w".into(),
            shape: vec![p.units, p.units],
            data: net.w.clone(),
        });
        Ok(out)
    }
}
