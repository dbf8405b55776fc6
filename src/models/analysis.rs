//! What the report's analysis reads of a trained CNN, whichever way it
//! learned: its conv weights (the recorder's statistics, Δw and filters)
//! and its frozen responses (the receptive-field ascent). The Hebbian CNN
//! and the backprop baseline both implement these, so both draw the same
//! figures.

use std::borrow::Cow;

use candle_core::Tensor;

use crate::error::Result;
use crate::models::hebb_cnn::HebbNet;

/// One conv layer's weights as the recorder reads them: `cout` rows of
/// `[tap][input channel]` over `k × k` taps.
pub struct LayerWeights<'a> {
    /// Output filters.
    pub cout: usize,
    /// Kernel side.
    pub k: usize,
    /// The weights, filter after filter.
    pub w: Cow<'a, [f32]>,
}

impl LayerWeights<'_> {
    /// Weights per filter.
    pub fn fan_in(&self) -> usize {
        self.w.len() / self.cout.max(1)
    }

    /// The weights as `(cout, cin, k, k)` kernels, PyTorch's layout.
    pub fn oihw(&self) -> (Vec<usize>, Vec<f32>) {
        let taps = self.k * self.k;
        let cin = self.fan_in() / taps.max(1);
        let mut out = vec![0f32; self.w.len()];
        for (o, row) in self.w.chunks(taps * cin).enumerate() {
            for t in 0..taps {
                for c in 0..cin {
                    out[(o * cin + c) * taps + t] = row[t * cin + c];
                }
            }
        }
        (vec![self.cout, cin, self.k, self.k], out)
    }
}

/// A network whose conv weights are recorded and drawn: the Hebbian CNN or
/// the backprop baseline, so both get the same figures.
pub trait Weighted {
    /// Every conv layer's weights, in forward order.
    fn layer_weights(&self) -> Vec<LayerWeights<'_>>;
}

impl Weighted for HebbNet {
    fn layer_weights(&self) -> Vec<LayerWeights<'_>> {
        self.layers()
            .into_iter()
            .map(|l| LayerWeights {
                cout: l.spec.cout,
                k: l.spec.k,
                w: Cow::Borrowed(&l.w),
            })
            .collect()
    }
}

/// A frozen network whose units the ascent climbs: the Hebbian CNN, or the
/// trained backprop baseline, so that both draw the same figures.
pub trait Frozen {
    /// Input channels.
    fn input_channels(&self) -> usize;
    /// Conv layers, in forward order.
    fn layer_count(&self) -> usize;
    /// Output channels of layer `i`.
    fn layer_channels(&self, i: usize) -> usize;
    /// Pixels on a side of a unit's receptive field in layer `i`.
    fn receptive_size(&self, i: usize) -> Option<usize>;
    /// The first `channels` response maps of layer `i` to NCHW `x`, with
    /// every padding removed, differentiable by candle's autograd.
    fn response(&self, x: &Tensor, i: usize, channels: usize) -> Result<Tensor>;
}

impl Frozen for HebbNet {
    fn input_channels(&self) -> usize {
        self.layers().first().map_or(3, |l| l.spec.cin)
    }
    fn layer_count(&self) -> usize {
        self.layers().len()
    }
    fn layer_channels(&self, i: usize) -> usize {
        self.layers().get(i).map_or(0, |l| l.spec.cout)
    }
    fn receptive_size(&self, i: usize) -> Option<usize> {
        HebbNet::receptive_size(self, i)
    }
    fn response(&self, x: &Tensor, i: usize, channels: usize) -> Result<Tensor> {
        self.forward_tensor_first(x, true, Some(i), channels)
    }
}
