//! Supervised training with Adam, shared by every classifier: a linear
//! readout on frozen features, logistic regression on pixels, or a small
//! CNN. The model and the loss are small traits, so one loop serves all.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;
use rand::Rng;

use super::metrics::{argmax_rows, confusion, score, scores_of};
use super::EpochMetrics;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// A loss on logits `z` (B × C).
pub trait ReadoutLoss: Send + Sync {
    /// Mean loss over the batch; `labels` are class indices (u32), `pm` the
    /// ±1 one-hot targets.
    fn loss(&self, z: &Tensor, labels: &Tensor, pm: &Tensor) -> Result<Tensor>;
}

/// Krotov & Hopfield's readout: `c = tanh(β z)`, loss `Σ_c |c − t|^m`
/// against ±1 targets.
pub struct PowerTanh {
    /// Inverse temperature β of the tanh.
    pub beta: f64,
    /// Loss exponent m.
    pub m: f64,
}

impl ReadoutLoss for PowerTanh {
    fn loss(&self, z: &Tensor, _labels: &Tensor, pm: &Tensor) -> Result<Tensor> {
        let c = z.affine(self.beta, 0.0)?.tanh()?;
        let b = z.dims()[0] as f64;
        Ok(((c - pm)?.abs()?.powf(self.m)?.sum_all()? / b)?)
    }
}

/// Softmax with cross-entropy.
pub struct SoftmaxCrossEntropy;

impl ReadoutLoss for SoftmaxCrossEntropy {
    fn loss(&self, z: &Tensor, labels: &Tensor, _pm: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::loss::cross_entropy(z, labels)?)
    }
}

/// A trainable classifier: its parameters and its logits.
pub trait Classifier {
    /// Every trainable variable.
    fn vars(&self) -> Vec<Var>;
    /// Logits (B × C) for a batch whose first dimension is B; `train`
    /// selects training behaviour (batch statistics) where a layer has one.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor>;
}

/// How to train: epochs, batch size and the learning-rate schedule.
#[derive(Debug, Clone)]
pub struct ReadoutSchedule {
    /// Epochs.
    pub epochs: usize,
    /// Minibatch.
    pub batch: usize,
    /// Adam learning rate at the first epoch.
    pub lr: f64,
    /// Learning rate at the last epoch, annealed geometrically in between
    /// (ignored when `step` is set).
    pub lr_final: f64,
}

impl ReadoutSchedule {
    /// A schedule; without `lr_final` the rate stays constant.
    pub fn new(epochs: usize, batch: usize, lr: f64, lr_final: Option<f64>) -> Self {
        Self {
            epochs,
            batch,
            lr,
            lr_final: lr_final.unwrap_or(lr),
        }
    }

    fn lr_at(&self, epoch: usize) -> f64 {
        let frac = if self.epochs > 1 {
            epoch as f64 / (self.epochs - 1) as f64
        } else {
            0.0
        };
        self.lr * (self.lr_final / self.lr).powf(frac)
    }
}

/// Inputs and labels of one split.
pub struct Labelled<'a> {
    /// `N × D` features.
    pub features: &'a Tensor,
    /// One label per row.
    pub labels: &'a [u8],
}

/// A linear layer `z = f·Sᵀ + b`, initialised uniform ±1/√H from `rng`.
pub struct LinearReadout {
    /// Weights.
    pub s: Var,
    /// Bias; `None` for a readout without one (the paper's `tanh(β S h)`).
    pub b: Option<Var>,
}

impl LinearReadout {
    /// A readout of `inputs → classes`, initialised from `rng`.
    pub fn new(inputs: usize, classes: usize, rng: &mut impl Rng, dev: &Device) -> Result<Self> {
        let bound = 1.0 / (inputs as f32).sqrt();
        let s: Vec<f32> = (0..classes * inputs)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        Ok(Self {
            s: Var::from_tensor(&Tensor::from_vec(s, (classes, inputs), dev)?)?,
            b: Some(Var::from_tensor(&Tensor::zeros(classes, DType::F32, dev)?)?),
        })
    }

    /// The same readout, with or without its bias.
    pub fn with_bias(mut self, bias: bool) -> Self {
        if !bias {
            self.b = None;
        }
        self
    }
}

impl Classifier for LinearReadout {
    fn vars(&self) -> Vec<Var> {
        std::iter::once(self.s.clone())
            .chain(self.b.clone())
            .collect()
    }

    fn forward(&self, f: &Tensor, _train: bool) -> Result<Tensor> {
        let f = f.flatten_from(1)?;
        let z = f.matmul(&self.s.as_tensor().t()?)?;
        Ok(match &self.b {
            Some(b) => z.broadcast_add(b.as_tensor())?,
            None => z,
        })
    }
}

/// Predicted classes for every example, in chunks to bound memory.
pub fn predict(model: &dyn Classifier, x: &Tensor, classes: usize) -> Result<Vec<u8>> {
    let n = x.dims()[0];
    let mut out = Vec::with_capacity(n);
    let chunk = 10_000;
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        let z: Vec<f32> = model
            .forward(&x.narrow(0, start, len)?, false)?
            .flatten_all()?
            .to_vec1()?;
        out.extend(argmax_rows(&z, classes));
    }
    Ok(out)
}

/// `loss` over every row of `split`, in evaluation mode (a size-weighted
/// mean of chunk means, so exactly the mean over the split).
fn mean_loss(
    model: &dyn Classifier,
    loss: &dyn ReadoutLoss,
    split: &Labelled,
    classes: usize,
) -> Result<f64> {
    let n = split.features.dims()[0];
    let dev = split.features.device();
    let cols = Tensor::arange(0u32, classes as u32, dev)?.unsqueeze(0)?;
    let mut total = 0f64;
    let chunk = 10_000;
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        let labels: Vec<u32> = split.labels[start..start + len]
            .iter()
            .map(|&l| l as u32)
            .collect();
        let y = Tensor::from_vec(labels, len, dev)?;
        let pm = y
            .unsqueeze(1)?
            .broadcast_eq(&cols)?
            .to_dtype(DType::F32)?
            .affine(2.0, -1.0)?;
        let z = model.forward(&split.features.narrow(0, start, len)?, false)?;
        total += loss.loss(&z, &y, &pm)?.to_scalar::<f32>()? as f64 * len as f64;
    }
    Ok(total / n.max(1) as f64)
}

/// Trains `model` with Adam, scoring train, validation (when given) and
/// test after every epoch; `elapsed_s` counts from this call.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    model: &dyn Classifier,
    loss: &dyn ReadoutLoss,
    train: Labelled,
    val: Option<Labelled>,
    test: Labelled,
    classes: usize,
    schedule: &ReadoutSchedule,
    rng: &mut impl Rng,
    progress: &Progress,
) -> Result<Vec<EpochMetrics>> {
    let start = std::time::Instant::now();
    let dev: Device = train.features.device().clone();
    let n = train.features.dims()[0];
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: schedule.lr,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let labels_all = Tensor::from_vec(
        train.labels.iter().map(|&l| l as u32).collect::<Vec<_>>(),
        n,
        &dev,
    )?;
    let pm_all = labels_all
        .unsqueeze(1)?
        .broadcast_eq(&Tensor::arange(0u32, classes as u32, &dev)?.unsqueeze(0)?)?
        .to_dtype(DType::F32)?
        .affine(2.0, -1.0)?;
    let bar = progress.bar(schedule.epochs as u64, "classifier epochs");
    let mut history = Vec::with_capacity(schedule.epochs);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for epoch in 0..schedule.epochs {
        opt.set_learning_rate(schedule.lr_at(epoch));
        order.shuffle(rng);
        let mut total = 0.0;
        let mut batches = 0usize;
        for chunk in order.chunks(schedule.batch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
            let x = train.features.index_select(&idx, 0)?;
            let y = labels_all.index_select(&idx, 0)?;
            let pm = pm_all.index_select(&idx, 0)?;
            let l = loss.loss(&model.forward(&x, true)?, &y, &pm)?;
            opt.backward_step(&l)?;
            total += l.to_scalar::<f32>()? as f64;
            batches += 1;
        }
        let train_loss = total / batches.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(Error::Diverged(format!(
                "training loss is {train_loss} at epoch {}",
                epoch + 1
            )));
        }
        let train_scores = score(
            &predict(model, train.features, classes)?,
            train.labels,
            classes,
        );
        let cm = confusion(
            &predict(model, test.features, classes)?,
            test.labels,
            classes,
        );
        let test_scores = scores_of(&cm, classes);
        let (val_scores, val_loss) = match &val {
            Some(v) => (
                Some(score(
                    &predict(model, v.features, classes)?,
                    v.labels,
                    classes,
                )),
                Some(mean_loss(model, loss, v, classes)?),
            ),
            None => (None, None),
        };
        history.push(EpochMetrics {
            epoch: epoch as u32 + 1,
            train_loss,
            train_accuracy: train_scores.accuracy,
            test: test_scores,
            train: Some(train_scores),
            test_confusion: cm,
            val: val_scores,
            val_loss,
            elapsed_s: Some(start.elapsed().as_secs_f64()),
        });
        bar.set_message(format!("test {:.2}%", 100.0 * test_scores.accuracy));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(history)
}

/// Trains a linear readout on frozen features.
#[allow(clippy::too_many_arguments)]
pub fn train(
    loss: &dyn ReadoutLoss,
    train: Labelled,
    val: Option<Labelled>,
    test: Labelled,
    classes: usize,
    schedule: &ReadoutSchedule,
    rng: &mut impl Rng,
    progress: &Progress,
) -> Result<(LinearReadout, Vec<EpochMetrics>)> {
    let inputs = train.features.elem_count() / train.features.dims()[0].max(1);
    let readout = LinearReadout::new(inputs, classes, rng, train.features.device())?;
    let history = fit(
        &readout, loss, train, val, test, classes, schedule, rng, progress,
    )?;
    Ok((readout, history))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without its bias the readout is `f·Sᵀ` and trains S alone (the
    /// paper's `tanh(β S h)`); with it, `f·Sᵀ + b`.
    #[test]
    fn a_readout_without_bias_has_only_its_weights() {
        let dev = Device::Cpu;
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let r = LinearReadout::new(2, 1, &mut rng, &dev).unwrap();
        r.s.set(&Tensor::new(&[[1f32, -2.0]], &dev).unwrap())
            .unwrap();
        r.b.as_ref()
            .unwrap()
            .set(&Tensor::new(&[0.5f32], &dev).unwrap())
            .unwrap();
        let f = Tensor::new(&[[3f32, 1.0]], &dev).unwrap();
        let z = |r: &LinearReadout| r.forward(&f, true).unwrap().to_vec2::<f32>().unwrap()[0][0];
        assert_eq!((r.vars().len(), z(&r)), (2, 1.5));
        let r = r.with_bias(false);
        assert_eq!((r.vars().len(), z(&r)), (1, 1.0));
    }
}
