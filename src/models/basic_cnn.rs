//! The seed-000 notebook's "BasicCNN" baseline: one 3×3 conv (1 → 1
//! channel, same padding), ReLU, 2×2 max-pool, then a linear layer to the
//! classes. Weights are drawn from the run's RNG (PyTorch's default
//! uniform ±1/√fan_in), never from candle's unseeded CPU generator.

use candle_core::{Device, Tensor, Var};
use rand::Rng;

use crate::error::Result;
use crate::train::readout::{Classifier, LinearReadout};

/// Conv → ReLU → max-pool → linear.
pub struct BasicCnn {
    conv_w: Var,
    conv_b: Var,
    head: LinearReadout,
}

impl BasicCnn {
    /// For `side × side` single-channel images.
    pub fn new(side: usize, classes: usize, rng: &mut impl Rng, dev: &Device) -> Result<Self> {
        let bound = 1.0 / 3.0; // fan_in = 1·3·3
        let w: Vec<f32> = (0..9).map(|_| rng.random_range(-bound..bound)).collect();
        let b = vec![rng.random_range(-bound..bound)];
        Ok(Self {
            conv_w: Var::from_tensor(&Tensor::from_vec(w, (1, 1, 3, 3), dev)?)?,
            conv_b: Var::from_tensor(&Tensor::from_vec(b, (1, 1, 1, 1), dev)?)?,
            head: LinearReadout::new((side / 2) * (side / 2), classes, rng, dev)?,
        })
    }
}

impl Classifier for BasicCnn {
    fn vars(&self) -> Vec<Var> {
        let mut v = vec![self.conv_w.clone(), self.conv_b.clone()];
        v.extend(self.head.vars());
        v
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = x
            .conv2d(self.conv_w.as_tensor(), 1, 1, 1, 1)?
            .broadcast_add(self.conv_b.as_tensor())?;
        let h = h.relu()?.max_pool2d(2)?;
        self.head.forward(&h, train)
    }
}
