//! Dense networks for the Krotov–Hopfield comparisons (seed 001): the BIO
//! readout (dense → batch norm → softmax on frozen features), and the BP
//! and linear-control networks (dense 2000 → [ReLU] → batch norm → dense).

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use std::cell::RefCell;

use crate::error::Result;
use crate::train::readout::{Classifier, LinearReadout};

/// Batch normalisation over the batch dimension of a B × F input, with a
/// learned scale and shift (Keras defaults: momentum 0.99, eps 1e-3).
pub struct BatchNorm1d {
    gamma: Var,
    beta: Var,
    running: RefCell<(Tensor, Tensor)>,
    momentum: f64,
    eps: f64,
}

impl BatchNorm1d {
    /// The model for `features` inputs, initialised on `dev`.
    pub fn new(features: usize, dev: &Device) -> Result<Self> {
        Ok(Self {
            gamma: Var::from_tensor(&Tensor::ones(features, DType::F32, dev)?)?,
            beta: Var::from_tensor(&Tensor::zeros(features, DType::F32, dev)?)?,
            running: RefCell::new((
                Tensor::zeros(features, DType::F32, dev)?,
                Tensor::ones(features, DType::F32, dev)?,
            )),
            momentum: 0.99,
            eps: 1e-3,
        })
    }

    /// Every trainable variable.
    pub fn vars(&self) -> Vec<Var> {
        vec![self.gamma.clone(), self.beta.clone()]
    }

    /// Normalises with batch statistics when training (and updates the
    /// running ones), with the running statistics otherwise.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (mean, var) = if train {
            let mean = x.mean(0)?;
            let var = x.broadcast_sub(&mean)?.sqr()?.mean(0)?;
            let mut r = self.running.borrow_mut();
            let m = self.momentum;
            r.0 = ((&r.0 * m)? + (mean.detach() * (1.0 - m))?)?;
            r.1 = ((&r.1 * m)? + (var.detach() * (1.0 - m))?)?;
            (mean, var)
        } else {
            self.running.borrow().clone()
        };
        let xhat = x
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(xhat
            .broadcast_mul(self.gamma.as_tensor())?
            .broadcast_add(self.beta.as_tensor())?)
    }
}

/// An optional hidden layer (dense, optional ReLU, batch norm), then a dense
/// output layer, optionally batch-normalised.
pub struct Mlp {
    hidden: Option<(LinearReadout, bool, BatchNorm1d)>,
    head: LinearReadout,
    out_bn: Option<BatchNorm1d>,
}

impl Mlp {
    /// Seed 001's BIO readout: dense → batch norm (softmax in the loss).
    pub fn bio_readout(
        inputs: usize,
        classes: usize,
        rng: &mut impl Rng,
        dev: &Device,
    ) -> Result<Self> {
        Ok(Self {
            hidden: None,
            head: LinearReadout::new(inputs, classes, rng, dev)?,
            out_bn: Some(BatchNorm1d::new(classes, dev)?),
        })
    }

    /// Seed 001's BP network (`relu = true`) or its linear control
    /// (`relu = false`): dense(hidden) → [ReLU] → batch norm → dense.
    pub fn one_hidden(
        inputs: usize,
        hidden: usize,
        relu: bool,
        classes: usize,
        rng: &mut impl Rng,
        dev: &Device,
    ) -> Result<Self> {
        let first = LinearReadout::new(inputs, hidden, rng, dev)?;
        Ok(Self {
            hidden: Some((first, relu, BatchNorm1d::new(hidden, dev)?)),
            head: LinearReadout::new(hidden, classes, rng, dev)?,
            out_bn: None,
        })
    }
}

impl Mlp {
    /// The hidden layer's weights (`hidden × inputs`, a unit a row), where
    /// there is one: the variable training updates.
    pub fn hidden_weights(&self) -> Option<&Var> {
        self.hidden.as_ref().map(|(l, _, _)| &l.s)
    }
}

impl Classifier for Mlp {
    fn vars(&self) -> Vec<Var> {
        let mut v = Vec::new();
        if let Some((l, _, bn)) = &self.hidden {
            v.extend(l.vars());
            v.extend(bn.vars());
        }
        v.extend(self.head.vars());
        if let Some(bn) = &self.out_bn {
            v.extend(bn.vars());
        }
        v
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut h = x.flatten_from(1)?;
        if let Some((l, relu, bn)) = &self.hidden {
            h = l.forward(&h, train)?;
            if *relu {
                h = h.relu()?;
            }
            h = bn.forward(&h, train)?;
        }
        let z = self.head.forward(&h, train)?;
        match &self.out_bn {
            Some(bn) => bn.forward(&z, train),
            None => Ok(z),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_norm_by_hand() -> Result<()> {
        // Column (1, 3): mean 2, biased variance 1 → (−1, 1)/√(1 + 1e-3).
        let dev = Device::Cpu;
        let bn = BatchNorm1d::new(1, &dev)?;
        let y = bn
            .forward(&Tensor::new(&[[1f32], [3.0]], &dev)?, true)?
            .to_vec2::<f32>()?;
        let s = 1.0 / (1.0f32 + 1e-3).sqrt();
        assert!(
            (y[0][0] + s).abs() < 1e-5 && (y[1][0] - s).abs() < 1e-5,
            "{y:?}"
        );
        // Running stats moved 1% of the way: mean 0.02, var 0.99 + 0.01 = 1.
        let y = bn
            .forward(&Tensor::new(&[[0.02f32]], &dev)?, false)?
            .to_vec2::<f32>()?;
        assert!(y[0][0].abs() < 1e-5, "{y:?}");
        Ok(())
    }
}
