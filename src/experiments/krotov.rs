//! Krotov & Hopfield (2019) on MNIST or CIFAR-10: the unsupervised "fast"
//! algorithm, then a supervised readout on `relu(W·v)^n`. With
//! `epochs: 0` the same readout runs on the random initial weights, the
//! control that shows whether learning helped.

use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::defaults;
use super::{resolved, timed, typed, Checked, Experiment, Params, RunContext, RunOutput};
use crate::data::transforms::{to_vectors, Preprocess};
use crate::error::{Error, Result};
use crate::models::krotov::KrotovHopfield;
use crate::models::mlp::Mlp;
use crate::train::readout::{
    fit, Classifier, Labelled, LinearReadout, PowerTanh, ReadoutLoss, ReadoutSchedule,
    SoftmaxCrossEntropy,
};

/// The experiment kind `krotov`.
pub struct Krotov;

/// How features are scaled before the readout. A scale never changes what
/// a linear readout can express, only how well Adam is conditioned.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum FeatureScale {
    /// Divide by the largest training feature.
    GlobalMax,
    /// Divide by the mean training feature.
    GlobalMean,
    /// Divide each unit by its training RMS.
    #[default]
    UnitRms,
    /// No scaling: the paper's one global β acts on the raw `relu(I)^n`.
    None,
}

/// Which input current the readout's features are a power of.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Current {
    /// `W·v`, hebbench's features since the start.
    #[default]
    Plain,
    /// `sign(W)|W|^(p−1)·v`, the currents the learning rule ranks (the
    /// CIFAR notebook's `forward(training=False)`, seed 001 L186); equal to
    /// `plain` at p = 2.
    Lebesgue,
}

/// Which readout loss to train.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    #[default]
    /// The paper's `tanh(β z)` with the `Σ|c − t|^m` loss.
    Paper,
    /// Softmax with cross-entropy.
    Softmax,
    /// Seed 001's BIO readout: dense → batch norm → softmax.
    Bio,
}

impl Readout {
    /// The readout network and its loss.
    fn build(
        self,
        p: &KrotovParams,
        classes: usize,
        rng: &mut impl rand::Rng,
        dev: &Device,
    ) -> Result<(Box<dyn Classifier>, Box<dyn ReadoutLoss>)> {
        Ok(match self {
            Readout::Paper => (
                Box::new(
                    LinearReadout::new(p.hidden, classes, rng, dev)?.with_bias(p.readout_bias),
                ),
                Box::new(PowerTanh {
                    beta: p.beta,
                    m: p.loss_m,
                }),
            ),
            Readout::Softmax => (
                Box::new(
                    LinearReadout::new(p.hidden, classes, rng, dev)?.with_bias(p.readout_bias),
                ),
                Box::new(SoftmaxCrossEntropy),
            ),
            Readout::Bio => (
                Box::new(Mlp::bio_readout(p.hidden, classes, rng, dev)?),
                Box::new(SoftmaxCrossEntropy),
            ),
        })
    }
}

crate::config! {
    /// Parameters of a `krotov` run (Krotov & Hopfield 2019).
    pub struct KrotovParams {
        /// `mnist` or `cifar10`.
        pub dataset: String = ("mnist".into()),
        /// `unit` (x/255) or `center_l2` (mean-subtracted, unit L2 norm).
        pub preprocess: Preprocess = (Preprocess::Unit),
        /// Use only the first N training images (quick runs).
        pub train_limit: Option<usize> = None,
        /// Use only the first N test images (quick runs).
        pub test_limit: Option<usize> = None,
        /// Fraction of the training images held out for validation
        /// (stratified by class, drawn from the seed; the same images for
        /// every kind and budget): choices are made on these, never on test.
        pub val_fraction: f64 = 0.0,
        /// Fraction of the remaining training images whose labels the
        /// supervised stage uses (stratified, ≥ 1 per class, smaller budgets
        /// nested in larger); unsupervised phases still see every image.
        pub label_fraction: f64 = 1.0,
        /// Hidden units.
        pub hidden: usize = required,
        /// Lebesgue norm p of the synapses.
        pub p: f64 = required,
        /// Rank of the anti-Hebbian unit (the k-th strongest is pushed away).
        pub k: usize = required,
        /// Strength Δ of the anti-Hebbian update.
        pub delta: f64 = required,
        /// Initial learning rate (decays linearly to 0).
        pub eps0: f64 = required,
        /// Minibatch of the unsupervised phase.
        pub batch: usize = required,
        /// Unsupervised epochs; 0 keeps the random initial weights (control).
        pub epochs: usize = required,
        /// `paper`, `softmax` or `bio`.
        pub readout: Readout = required,
        /// Feature exponent: features are `relu(W·v)^n`.
        pub power_n: f64 = 4.5,
        /// Loss exponent of the paper readout.
        pub loss_m: f64 = 6.0,
        /// Inverse temperature of the paper readout's tanh.
        pub beta: f64 = 0.1,
        /// How features are scaled before the readout: `unit_rms`,
        /// `global_mean`, `global_max` or `none` (the paper's raw features).
        pub feature_scale: FeatureScale = (FeatureScale::UnitRms),
        /// The current features are a power of: `plain` (`W·v`) or
        /// `lebesgue` (`sign(W)|W|^(p−1)·v`, what the rule ranks).
        pub current: Current = (Current::Plain),
        /// Whether the `paper` and `softmax` readouts have a bias; the
        /// paper's `c = tanh(β Σ S h)` has none.
        pub readout_bias: bool = true,
        /// Readout epochs.
        pub readout_epochs: usize = required,
        /// Readout minibatch.
        pub readout_batch: usize = (defaults::READOUT_BATCH),
        /// Readout Adam learning rate.
        pub readout_lr: f64 = (defaults::READOUT_LR),
        /// Final readout learning rate (geometric annealing); default: no decay.
        pub readout_lr_final: Option<f64> = None,
    }
}

impl KrotovParams {
    fn check_values(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Params(m));
        if !["mnist", "cifar10"].contains(&self.dataset.as_str()) {
            return bad(format!(
                "unknown dataset `{}`; valid choices: mnist, cifar10",
                self.dataset
            ));
        }
        if self.hidden == 0 || self.batch == 0 || self.readout_batch == 0 {
            return bad("`hidden`, `batch` and `readout_batch` must be positive".into());
        }
        if self.k < 2 || self.k > self.hidden {
            return bad(format!(
                "`k` must be in 2..={}, got {}",
                self.hidden, self.k
            ));
        }
        if self.p < 1.0 {
            return bad(format!("`p` must be >= 1, got {}", self.p));
        }
        Ok(())
    }
}

/// RNG streams, one per purpose.
const STREAM_INIT: u64 = 1;
const STREAM_SHUFFLE: u64 = 2;
const STREAM_READOUT: u64 = 3;

impl Experiment for Krotov {
    fn name(&self) -> &'static str {
        "krotov"
    }

    fn about(&self) -> &'static str {
        "Krotov & Hopfield (2019) competing hidden units + supervised readout (MNIST, CIFAR-10)"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        vec![crate::config::ParamGroup::of::<KrotovParams>(
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
        super::figures::saved_tapestries(arts, config, seed, "The learned synapses of hidden units")
    }

    fn identity_neutral(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![
            ("current", serde_json::json!("plain")),
            ("readout_bias", serde_json::json!(true)),
        ]
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: KrotovParams = typed(params)?;
        p.check_values()?;
        crate::train::split::check(p.label_fraction, p.val_fraction)?;
        resolved(&p.dataset, &p)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p: KrotovParams = typed(params)?;
        p.check_values()?;
        let ds = &ctx.dataset;
        let d = ds.image_len();
        let train = ds.train.limited(p.train_limit, d);
        let test = ds.test.limited(p.test_limit, d);
        let (x_train, x_test) =
            to_vectors(&train, &test, ds.image_len(), p.preprocess, &ctx.device)?;
        let n = train.len();
        let mut out = RunOutput::default();

        let mut model = KrotovHopfield::random(
            p.hidden,
            d,
            p.p,
            p.k,
            p.delta as f32,
            &mut ctx.rng(STREAM_INIT),
            &ctx.device,
        )?;
        let w0 = model.w.clone();
        let batches = n / p.batch;
        // Trained weights depend only on these; readout variants share them.
        let key = crate::identity::run_hash(
            "krotov-unsupervised",
            &unsupervised_key(&p),
            ctx.seed,
            &ds.content_hash(),
        );
        let start = std::time::Instant::now();
        let (w, hit) = super::cached_tensors(ctx, &format!("krotov-{key}"), || {
            let mut rng = ctx.rng(STREAM_SHUFFLE);
            let bar = ctx
                .progress
                .bar((p.epochs * batches) as u64, "krotov unsupervised");
            let mut order: Vec<u32> = (0..n as u32).collect();
            for epoch in 0..p.epochs {
                let eps = p.eps0 * (1.0 - epoch as f64 / p.epochs as f64);
                order.shuffle(&mut rng);
                for chunk in order.chunks_exact(p.batch) {
                    let idx = Tensor::from_slice(chunk, p.batch, &ctx.device)?;
                    model.step(&x_train.index_select(&idx, 0)?, eps)?;
                    bar.inc(1);
                }
            }
            bar.finish_and_clear();
            let wall = Tensor::new(&[start.elapsed().as_secs_f64()], &ctx.device)?;
            Ok(vec![
                ("w".to_string(), model.w.clone()),
                ("wall_s".to_string(), wall),
            ])
        })?;
        let get = |name: &str| w.iter().find(|(k, _)| k == name).map(|(_, t)| t.clone());
        model.w = get("w").ok_or_else(|| Error::Cache {
            path: ctx.cache_dir.clone(),
            msg: "the Krotov weights entry has no `w`".into(),
        })?;
        // On a cache hit the phase reports the time the weights first took.
        let wall_s = match get("wall_s") {
            Some(t) => t.to_vec1::<f64>()?[0],
            None => start.elapsed().as_secs_f64(),
        };
        out.phases.push(super::Phase {
            name: "unsupervised".into(),
            wall_s,
            images: (p.epochs * batches * p.batch) as u64,
        });
        out.summary
            .insert("unsupervised_cached".into(), if hit { 1.0 } else { 0.0 });
        convergence(&model, &w0, &mut out)?;
        // The units the report's weight tapestries draw.
        out.artefacts
            .push(super::figures::tapestry_artefact(&model.w, 400)?);

        let (f_train, f_test, raw_mean) =
            timed("features", (n + test.len()) as u64, &mut out.phases, || {
                let w = readout_synapses(&model.w, p.current, p.p)?;
                let f_train = features(&w, &x_train, p.power_n)?;
                let f_test = features(&w, &x_test, p.power_n)?;
                // Scales come from the training set only and apply to both splits.
                let scale = match p.feature_scale {
                    FeatureScale::GlobalMax => f_train.max_all()?.reshape(1)?,
                    FeatureScale::GlobalMean => f_train.mean_all()?.reshape(1)?,
                    FeatureScale::UnitRms => f_train.sqr()?.mean(0)?.sqrt()?,
                    FeatureScale::None => Tensor::ones(1, f_train.dtype(), f_train.device())?,
                };
                let scale = scale.clamp(1e-30, f64::MAX)?.unsqueeze(0)?;
                if scale.max_all()?.to_scalar::<f32>()?.is_infinite() {
                    return Err(Error::Diverged("feature scale is infinite".into()));
                }
                let raw_mean = f_train.mean_all()?.to_scalar::<f32>()? as f64;
                Ok((
                    f_train.broadcast_div(&scale)?,
                    f_test.broadcast_div(&scale)?,
                    raw_mean,
                ))
            })?;
        // Relates a β on scaled features to the paper's β on raw ones.
        out.summary.insert("feature_mean_raw".into(), raw_mean);

        let schedule = ReadoutSchedule::new(
            p.readout_epochs,
            p.readout_batch,
            p.readout_lr,
            p.readout_lr_final,
        );
        let mut rng = ctx.rng(STREAM_READOUT);
        let (model, loss) = p.readout.build(&p, ds.classes, &mut rng, &ctx.device)?;
        // The unsupervised phase saw every training image; the readout sees
        // the labelled ones of the budget.
        let split = ctx.label_split(&train.labels, (p.label_fraction, p.val_fraction), &mut out)?;
        let rows = crate::train::split::Rows::of(&f_train, &train.labels, &split)?;
        let before = out.wall_s();
        let mut history = timed(
            "classifier",
            (p.readout_epochs * split.labelled.len()) as u64,
            &mut out.phases,
            || {
                fit(
                    model.as_ref(),
                    loss.as_ref(),
                    rows.train(),
                    rows.val(),
                    Labelled {
                        features: &f_test,
                        labels: &test.labels,
                    },
                    ds.classes,
                    &schedule,
                    &mut rng,
                    &ctx.progress,
                )
            },
        )?;
        crate::train::offset_elapsed(&mut history, before);
        out.epochs = history;
        Ok(out)
    }
}

/// The parameters that determine the unsupervised weights.
fn unsupervised_key(p: &KrotovParams) -> serde_json::Map<String, serde_json::Value> {
    let v = serde_json::json!({
        "preprocess": format!("{:?}", p.preprocess),
        "train_limit": p.train_limit,
        "hidden": p.hidden, "p": p.p, "k": p.k, "delta": p.delta,
        "eps0": p.eps0, "batch": p.batch, "epochs": p.epochs,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// The synapses whose product with `v` is the readout's current.
fn readout_synapses(w: &Tensor, current: Current, p: f64) -> Result<Tensor> {
    Ok(match current {
        Current::Plain => w.clone(),
        Current::Lebesgue => (w.sign()? * w.abs()?.powf(p - 1.0)?)?,
    })
}

/// `relu(v·Wᵀ)^n`.
fn features(w: &Tensor, x: &Tensor, n: f64) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?.relu()?.powf(n)?)
}

/// Records how far learning has converged: the distribution of per-unit
/// `Σ|W|^p` (1 for a learned unit) and how many units are still close to
/// their random start (cosine similarity above 0.9).
fn convergence(model: &KrotovHopfield, w0: &Tensor, out: &mut RunOutput) -> Result<()> {
    let mut norms = model.unit_norms()?;
    if norms.iter().any(|x| !x.is_finite()) {
        return Err(Error::Diverged(
            "non-finite weights after unsupervised training".into(),
        ));
    }
    let h = norms.len() as f64;
    let within = norms.iter().filter(|&&x| (x - 1.0).abs() <= 0.1).count() as f64 / h;
    let dot = (&model.w * w0)?.sum(1)?;
    let n1 = model.w.sqr()?.sum(1)?.sqrt()?;
    let n0 = w0.sqr()?.sum(1)?.sqrt()?;
    let cos: Vec<f32> = (dot / (n1 * n0)?)?.to_dtype(DType::F32)?.to_vec1()?;
    let near = cos.iter().filter(|&&c| c > 0.9).count() as f64 / h;
    norms.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f64| norms[((norms.len() - 1) as f64 * f).round() as usize] as f64;
    for (k, v) in [
        ("norm_frac_within_10pct", within),
        ("frac_near_init", near),
        ("norm_p10", q(0.1)),
        ("norm_p50", q(0.5)),
        ("norm_p90", q(0.9)),
    ] {
        out.summary.insert(k.to_string(), v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: w = (−2, 0.5), v = (1, 2), p = 3. The Lebesgue
    /// current is −2·|−2|·1 + 0.5·0.5·2 = −4 + 0.5 = −3.5; the plain one
    /// −2 + 1 = −1; at p = 2 both are −1.
    #[test]
    fn the_lebesgue_current_weights_each_synapse_by_its_magnitude_to_the_p_minus_1() {
        let dev = Device::Cpu;
        let w = Tensor::new(&[[-2f32, 0.5]], &dev).unwrap();
        let v = Tensor::new(&[[1f32, 2.0]], &dev).unwrap();
        let current = |c, p| {
            let s = readout_synapses(&w, c, p).unwrap();
            v.matmul(&s.t().unwrap()).unwrap().to_vec2::<f32>().unwrap()[0][0]
        };
        assert!((current(Current::Lebesgue, 3.0) + 3.5).abs() < 1e-6);
        assert!((current(Current::Plain, 3.0) + 1.0).abs() < 1e-6);
        assert!((current(Current::Lebesgue, 2.0) + 1.0).abs() < 1e-6);
        // Features are relu(current)^n: a negative current gives 0, 2 gives 2^4.5.
        let f = features(
            &Tensor::new(&[[1f32], [-1.0]], &dev).unwrap(),
            &Tensor::new(&[[2f32]], &dev).unwrap(),
            4.5,
        )
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
        assert!((f[0][0] - 2f32.powf(4.5)).abs() < 1e-3 && f[0][1] == 0.0);
    }
}
