//! Földiák's network on MNIST, as the seed does: learn on the training
//! images, then read the settled (binary) representations out with
//! logistic regression. The model's weights are frozen while
//! representations are extracted (the seed kept learning, one of its bugs).

use candle_core::Tensor;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::time::Instant;

use super::defaults::{d_lambda, d_rbatch, d_rlr, d_steps, d_tau, d_tol, d_wgamma};
use super::{
    resolved, timed, typed, Artefact, Checked, Experiment, Params, Phase, RunContext, RunOutput,
};
use crate::error::{Error, Result};
use crate::models::foldiak::{Foldiak, FoldiakRates, Settling};
use crate::train::readout::{Labelled, ReadoutSchedule};

/// The experiment kind `foldiak_mnist`.
pub struct FoldiakMnist;

/// Parameters of a `foldiak_mnist` run.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FoldiakMnistParams {
    #[serde(default)]
    pub train_limit: Option<usize>,
    #[serde(default)]
    pub test_limit: Option<usize>,
    pub units: usize,
    /// Target firing probability of every unit.
    pub p: f64,
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    #[serde(default = "d_lambda")]
    pub lambda: f64,
    #[serde(default = "d_tau")]
    pub tau: f64,
    #[serde(default = "d_tol")]
    pub tol: f64,
    #[serde(default = "d_steps")]
    pub max_steps: usize,
    /// Warm-up passes (thresholds only, α = β = 0).
    #[serde(default)]
    pub warmup_epochs: usize,
    #[serde(default = "d_wgamma")]
    pub warmup_gamma: f64,
    #[serde(default = "d_lambda")]
    pub warmup_lambda: f64,
    /// Learning passes over the training images.
    pub epochs: usize,
    pub readout_epochs: usize,
    #[serde(default = "d_rbatch")]
    pub readout_batch: usize,
    #[serde(default = "d_rlr")]
    pub readout_lr: f64,
    #[serde(default)]
    pub readout_lr_final: Option<f64>,
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

    fn cpu_only(&self) -> bool {
        true
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: FoldiakMnistParams = typed(params)?;
        if p.units == 0 || p.tau <= 0.0 || p.readout_batch == 0 {
            return Err(Error::Params(
                "`units`, `tau` and `readout_batch` must be positive".into(),
            ));
        }
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
                steps += net.trial(&xtr[i * d..(i + 1) * d], r, settling);
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
                    net.settle(img, p.lambda as f32, settling);
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
