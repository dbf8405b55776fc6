//! Supervised baselines trained end to end on pixels, on the same split as
//! the Hebbian experiments they are compared with: logistic regression and
//! the seed-000 notebook's small CNN.

use super::{resolved, timed, typed, Checked, Experiment, Params, RunContext, RunOutput};
use crate::data::transforms::{to_vectors, Preprocess};
use crate::error::{Error, Result};
use crate::models::basic_cnn::BasicCnn;
use crate::models::mlp::Mlp;
use crate::train::readout::{
    fit, Classifier, Labelled, LinearReadout, ReadoutSchedule, SoftmaxCrossEntropy,
};
use crate::train::split::Rows;
use serde::{Deserialize, Serialize};

/// The experiment kind `supervised`.
pub struct Supervised;

/// Which model to train.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    #[default]
    /// Multinomial logistic regression on raw pixels.
    Logreg,
    /// One 3×3 conv, ReLU, 2×2 max-pool, linear (seed 000's BasicCNN).
    BasicCnn,
    /// Seed 001's BP network: dense(hidden) → ReLU → batch norm → dense.
    Bp,
    /// Seed 001's linear control: dense(hidden) → batch norm → dense.
    LinearControl,
}

crate::config! {
    /// Parameters of a `supervised` run (the seeds' backprop baselines).
    pub struct SupervisedParams {
        /// `mnist` or `cifar10`.
        pub dataset: String = ("mnist".into()),
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
        /// `unit` (x/255) or `center_l2` (mean-subtracted, unit L2 norm).
        pub preprocess: Preprocess = (Preprocess::Unit),
        /// `logreg`, `basic_cnn`, `bp` or `linear_control`.
        pub model: Model = required,
        /// Hidden units of `bp` and `linear_control`.
        pub hidden: usize = 2000,
        /// Training epochs.
        pub epochs: usize = required,
        /// Minibatch.
        pub batch: usize = required,
        /// Adam learning rate.
        pub lr: f64 = required,
        /// Final learning rate (geometric annealing); default: constant.
        pub lr_final: Option<f64> = None,
    }
}

const STREAM_INIT: u64 = 1;

impl Experiment for Supervised {
    fn name(&self) -> &'static str {
        "supervised"
    }

    fn about(&self) -> &'static str {
        "supervised baselines on pixels: logistic regression, a small CNN, a one-hidden-layer MLP (BP) and its linear control"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        vec![crate::config::ParamGroup::of::<SupervisedParams>(
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
        super::figures::saved_tapestries(
            arts,
            config,
            seed,
            "The hidden layer's weights after training by backprop (seed 001's BP-vs-BIO figure: compare with the krotov run's tapestry)",
        )
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: SupervisedParams = typed(params)?;
        if !["mnist", "cifar10"].contains(&p.dataset.as_str()) {
            return Err(Error::Params(format!(
                "unknown dataset `{}`; valid choices: mnist, cifar10",
                p.dataset
            )));
        }
        if p.batch == 0 {
            return Err(Error::Params("`batch` must be positive".into()));
        }
        crate::train::split::check(p.label_fraction, p.val_fraction)?;
        resolved(&p.dataset, &p)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p: SupervisedParams = typed(params)?;
        let ds = &ctx.dataset;
        let [c, h, w] = ds.shape;
        let d = ds.image_len();
        let train = ds.train.limited(p.train_limit, d);
        let test = ds.test.limited(p.test_limit, d);
        let (xtr, xte) = to_vectors(&train, &test, d, p.preprocess, &ctx.device)?;
        let (xtr, xte) = (
            xtr.reshape((train.len(), c, h, w))?,
            xte.reshape((test.len(), c, h, w))?,
        );
        let mut rng = ctx.rng(STREAM_INIT);
        // The hidden layer's weights, for the BP-vs-BIO tapestry.
        let mut hidden_w = None;
        let model: Box<dyn Classifier> = match p.model {
            Model::Logreg => Box::new(LinearReadout::new(d, ds.classes, &mut rng, &ctx.device)?),
            Model::BasicCnn => {
                if c != 1 || h != w {
                    return Err(Error::Params(
                        "basic_cnn expects square single-channel images".into(),
                    ));
                }
                Box::new(BasicCnn::new(h, ds.classes, &mut rng, &ctx.device)?)
            }
            Model::Bp | Model::LinearControl => {
                let mlp = Mlp::one_hidden(
                    d,
                    p.hidden,
                    p.model == Model::Bp,
                    ds.classes,
                    &mut rng,
                    &ctx.device,
                )?;
                hidden_w = mlp.hidden_weights().cloned();
                Box::new(mlp)
            }
        };
        let schedule = ReadoutSchedule::new(p.epochs, p.batch, p.lr, p.lr_final);
        let mut out = RunOutput::default();
        let split = ctx.label_split(&train.labels, (p.label_fraction, p.val_fraction), &mut out)?;
        let rows = Rows::of(&xtr, &train.labels, &split)?;
        out.epochs = timed(
            "classifier",
            (p.epochs * split.labelled.len()) as u64,
            &mut out.phases,
            || {
                fit(
                    model.as_ref(),
                    &SoftmaxCrossEntropy,
                    rows.train(),
                    rows.val(),
                    Labelled {
                        features: &xte,
                        labels: &test.labels,
                    },
                    ds.classes,
                    &schedule,
                    &mut rng,
                    &ctx.progress,
                )
            },
        )?;
        if let Some(w) = hidden_w {
            // Seed 001 draws BP's weights in a 10×10 grid only.
            out.artefacts
                .push(super::figures::tapestry_artefact(w.as_tensor(), 100)?);
        }
        Ok(out)
    }
}
