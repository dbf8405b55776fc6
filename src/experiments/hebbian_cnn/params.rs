//! The parameters of `hebbian_cnn`: the kind's own (declared with
//! `config!`), and the split of a run's map between them and the
//! competition's and rule's own parameters.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::Params;
use crate::config::{Config, PartSpec};
use crate::error::{Error, Result};
pub use crate::experiments::engine::Engine;
use crate::hebb::presynaptic::Presynaptic;
use crate::hebb::{competition, rule, Activation, CosineNorm};
use crate::models::hebb_cnn::{architecture_names, LayerOptions};
crate::config! {
    validate = HebbianCnnParams::check_values;
    /// Parameters of a `hebbian_cnn` run (defaults: the report's settings).
    /// The competition's and the rule's own parameters (`t_invert`,
    /// `stat_k`, …) sit beside these; `hebbench params hebbian_cnn` lists
    /// them.
    pub struct HebbianCnnParams {
        /// The dataset (only `cifar10`).
        pub dataset: String = ("cifar10".into()),
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
        /// softhebb, hardhebb, lagani_short, lagani_long, softhebb_depthwise,
        /// hardhebb_depthwise, softhebb_residual.
        pub arch: String = required,
        /// The plasticity rule (`hebbench params hebbian_cnn` lists them).
        pub rule: String = ("instar".into()),
        /// The competition mode.
        pub competition: String = required,
        /// `plain` (u = w·x) or `cosine`.
        pub activation: Activation = (Activation::Plain),
        /// What the cosine activation normalises: `kernel` (a true cosine) or
        /// `per_tap` (the report's hebb.py L213: each tap across channels).
        pub cosine: CosineNorm = (CosineNorm::Kernel),
        /// Normalise kernels to unit length before the forward pass.
        pub weight_norm: bool = false,
        /// The 5×5 difference-of-Gaussians lateral inhibition on k > 1 layers.
        pub surround: bool = false,
        /// Dale's principle: the forward pass uses |w|.
        pub dale: bool = false,
        /// Under `dale`, store `|w|` after every step (the report's
        /// hebb_abs_depthwise `local_update`, L361–363).
        pub dale_reflect: bool = false,
        /// Presynaptic competition between a unit's couplings
        /// (`{kind, dim, apply}`), or none.
        pub presynaptic: Option<Presynaptic> = None,
        /// Hebbian step size per block (the last value repeats).
        pub lr: Vec<f64> = (vec![0.1]),
        /// SoftHebb's norm-dependent schedule `lr·(|‖w‖−1|+1e-10)^power`.
        pub lr_norm_power: Option<f64> = None,
        /// Channel multiplier (quick suites use narrower layers).
        pub width: f64 = 1.0,
        /// ZCA ε; `null` uses per-channel normalisation instead.
        pub zca: Option<f64> = (Some(1e-3)),
        /// The pixel order the ZCA matrix is fitted in: `correct` (the CHW
        /// order it is applied in) or `report` (data.py L147–160: fitted on
        /// the HWC-ordered `trn_set.data`, applied to CHW `ToTensor()` vectors).
        pub zca_layout: ZcaLayout = (ZcaLayout::Correct),
        /// The images the ZCA is fitted on: `train` or `train_test` (data.py
        /// L147: the report's fit takes train and test together).
        pub zca_fit: ZcaFit = (ZcaFit::Train),
        /// Random horizontal flips (Hebbian phase and classifier).
        pub flip: bool = true,
        /// Shuffle the Hebbian phase's images.
        pub shuffle: bool = true,
        /// Learning passes change the weights. `false` still runs the Hebbian
        /// epoch's forward passes (BatchNorm learns its statistics) with the
        /// weights left at their random init: the random-weights control, and
        /// what the report's printed depthwise script does (L185, the
        /// optimiser step commented out).
        pub plasticity: bool = true,
        /// Hebbian epochs.
        pub hebb_epochs: usize = 1,
        /// Images per Hebbian step.
        pub hebb_batch: usize = 64,
        /// Classifier epochs (every epoch is recorded).
        pub classifier_epochs: usize = 5,
        /// Classifier minibatch.
        pub classifier_batch: usize = 64,
        /// Classifier Adam learning rate.
        pub classifier_lr: f64 = 1e-3,
        /// Per-epoch factor on the classifier's rate (1: constant, the report).
        pub classifier_lr_decay: f64 = 1.0,
        /// Dropout before the linear classifier.
        pub dropout: f64 = 0.5,
        /// Standardise each feature with the training set's mean and std
        /// before the classifier (the report's head takes raw features).
        pub standardize_features: bool = false,
        /// Shuffle the classifier's training images every epoch (the report's
        /// loaders do not: data.py L225–227, `shuffle=False`).
        pub classifier_shuffle: bool = true,
        /// Mirror each test image at random at every evaluation, as the
        /// report's test transform does (data.py L215, L224).
        pub test_flip: bool = false,
        /// Which engine runs the Hebbian epoch, the frozen features and the
        /// classifier: `auto` (the CPU kernels on the CPU, candle on any
        /// other device), `kernels` (the hand-written CPU kernels) or
        /// `candle` (candle tensor ops on the run's device; the same
        /// arithmetic to float rounding, tests/engines.rs). With candle, ZCA
        /// is fitted and applied on the run's device too; the
        /// receptive-field ascent and the embedding run on the CPU.
        pub engine: Engine = (Engine::Auto),
        /// Gradient steps of the receptive-field ascent drawn in the report
        /// (the report's `visualize_filters` takes 500); 0 skips it. Changes
        /// only the figure, never a metric.
        pub rf_steps: usize = 500,
        /// The layers whose receptive fields are drawn: `report` (those the
        /// report's scripts draw: every Hebbian layer, except that of a
        /// residual block only the depthwise conv2, experiment_hebbian_residual.py
        /// L293–295) or `all`. Changes only the figures, never a metric.
        pub rf_layers: RfLayers = (RfLayers::Report),
    }
}

/// The layers drawn (see [`HebbianCnnParams::rf_layers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RfLayers {
    /// The layers the report's scripts draw.
    #[default]
    Report,
    /// Every Hebbian layer.
    All,
}

/// The pixel order of the ZCA fit (see [`HebbianCnnParams::zca_layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZcaLayout {
    /// Fitted in the CHW order it is applied in.
    #[default]
    Correct,
    /// The report's: fitted on HWC vectors, applied to CHW ones.
    Report,
}

/// The images of the ZCA fit (see [`HebbianCnnParams::zca_fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZcaFit {
    /// The training images.
    #[default]
    Train,
    /// Training and test images together (the report's fit).
    TrainTest,
}

/// Options added after full-data results existed, at the values that keep
/// the earlier behaviour (so those results keep their identity).
pub(crate) fn neutral_options() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("cosine", json!("kernel")),
        ("zca_layout", json!("correct")),
        ("zca_fit", json!("train")),
        ("plasticity", json!(true)),
        ("classifier_shuffle", json!(true)),
        ("test_flip", json!(false)),
        ("presynaptic.apply", json!("scale")),
        ("threshold_update", json!("standard")),
        ("dale_reflect", json!(false)),
        ("rf_steps", json!(500)),
        // Figures only: residual runs from before it drew every layer.
        ("rf_layers", json!("report")),
        ("engine", json!("auto")),
    ]
}

/// The part keys run identities have covered since before the parts owned
/// their parameters; every other part key is left out of a run's identity
/// at its default, so that a new part never orphans earlier results.
pub(super) const PINNED_PART_KEYS: [&str; 3] = ["t_invert", "stat_k", "temporal_window"];

/// Every parameter of every registered competition and rule, at its
/// default (a key two parts share, such as `threshold_update`, once).
pub(super) fn part_defaults() -> Params {
    let mut all = Params::new();
    for c in competition::REGISTRY {
        all.extend(c.defaults());
    }
    for r in rule::REGISTRY {
        all.extend(r.defaults());
    }
    all
}

/// A run's parameters: the kind's own, and its parts' (resolved: every
/// part key, given or default).
pub struct Parsed {
    /// The kind's own parameters.
    pub p: HebbianCnnParams,
    /// The parameters of every competition and rule.
    pub parts: Params,
}

impl std::ops::Deref for Parsed {
    type Target = HebbianCnnParams;
    fn deref(&self) -> &HebbianCnnParams {
        &self.p
    }
}

impl Parsed {
    /// Splits `params` into the kind's and the parts' keys, checking both:
    /// a value for a part the run does not use is an error, not a silent
    /// no-op (unless it is that part's default, as in resolved parameters).
    pub fn from_params(params: &Params) -> Result<Parsed> {
        let own_keys = HebbianCnnParams::keys();
        let mut parts = part_defaults();
        let (mut own, mut given) = (Params::new(), Params::new());
        for (k, v) in params {
            if own_keys.contains(&k.as_str()) {
                own.insert(k.clone(), v.clone());
            } else if parts.contains_key(k) {
                given.insert(k.clone(), v.clone());
            } else {
                let mut valid: Vec<&str> = own_keys.clone();
                valid.extend(parts.keys().map(String::as_str));
                valid.sort_unstable();
                return Err(Error::Params(format!(
                    "unknown field `{k}`, expected one of {}",
                    valid
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let p = HebbianCnnParams::from_params(&own)?;
        let comp = competition::lookup(&p.competition)?;
        let rule = rule::lookup(&p.rule)?;
        let (ck, rk) = (comp.keys(), rule.keys());
        // Resolved parameters carry every part's defaults; only a value
        // that would change an unused part is an error.
        if let Some(k) = given.iter().find_map(|(k, v)| {
            let unused = !ck.contains(&k.as_str()) && !rk.contains(&k.as_str());
            (unused && parts.get(k) != Some(v)).then_some(k)
        }) {
            return Err(Error::Params(format!(
                "`{k}` is not a parameter of competition `{}` or rule `{}` (see `hebbench params hebbian_cnn`)",
                p.competition, p.rule
            )));
        }
        // Building the two parts checks their values.
        (comp.build)(&comp.select(&given), 0)?;
        (rule.build)(&rule.select(&given), 1)?;
        parts.append(&mut given);
        Ok(Parsed { p, parts })
    }

    /// Every parameter, defaults included, as results record them.
    pub fn resolved(&self) -> Result<Params> {
        let mut all = super::super::resolved(&self.dataset, &self.p)?.params;
        all.extend(self.parts.clone());
        Ok(all)
    }

    pub(super) fn layer_options(&self) -> Result<LayerOptions> {
        let p = &self.p;
        Ok(LayerOptions {
            rule: PartSpec {
                name: p.rule.clone(),
                params: rule::lookup(&p.rule)?.select(&self.parts),
            },
            competition: PartSpec {
                name: p.competition.clone(),
                params: competition::lookup(&p.competition)?.select(&self.parts),
            },
            activation: p.activation,
            cosine: p.cosine,
            weight_norm: p.weight_norm,
            surround: p.surround,
            dale: p.dale,
            dale_reflect: p.dale_reflect,
            presynaptic: p.presynaptic,
            lr: p.lr.iter().map(|&v| v as f32).collect(),
            lr_norm_power: p.lr_norm_power.map(|v| v as f32),
            width: p.width,
            plastic: p.plasticity,
        })
    }
}

impl HebbianCnnParams {
    fn check_values(&self) -> Result<()> {
        let p = self;
        if p.dataset != "cifar10" {
            return Err(Error::Params(format!(
                "unknown dataset `{}`; valid choices: cifar10",
                p.dataset
            )));
        }
        one_of("architecture", &p.arch, &architecture_names())?;
        one_of("learning rule", &p.rule, &rule::names())?;
        one_of("competition", &p.competition, &competition::names())?;
        if p.hebb_batch == 0 || p.classifier_batch == 0 {
            return Err(Error::Params("batch sizes must be positive".into()));
        }
        if p.lr.is_empty() {
            return Err(Error::Params("`lr` needs at least one value".into()));
        }
        if p.test_flip && !p.flip {
            return Err(Error::Params("`test_flip` needs `flip: true`".into()));
        }
        if p.width.is_nan() || p.width <= 0.0 || !(0.0..1.0).contains(&p.dropout) {
            return Err(Error::Params(
                "`width` must be > 0 and `dropout` in [0, 1)".into(),
            ));
        }
        crate::train::split::check(p.label_fraction, p.val_fraction)
    }
}

fn one_of(what: &'static str, name: &str, valid: &[&str]) -> Result<()> {
    if valid.contains(&name) {
        Ok(())
    } else {
        Err(Error::UnknownName {
            what,
            name: name.to_string(),
            valid: valid.join(", "),
        })
    }
}
