//! The report's Hebbian CNN architectures (seed 003, Appendix A.3): each a
//! list of blocks, BatchNorm (no affine) before every conv and Triangle
//! after it, trained layer-locally and simultaneously on each batch.

use candle_core::Tensor;
use rand::Rng;

use crate::config::PartSpec;
use crate::error::{Error, Result};
use crate::hebb::presynaptic::Presynaptic;
use crate::hebb::tensor::{self as tt, batchnorm};
use crate::hebb::{Activation, CosineNorm, HebbConv, HebbConvSpec};
use crate::nhwc::{pool, triangle, BatchNorm, Map, PoolKind};

/// Settings shared by every Hebbian layer of a network.
#[derive(Debug, Clone)]
pub struct LayerOptions {
    /// The plasticity rule and its parameters.
    pub rule: PartSpec,
    /// The competition mode and its parameters.
    pub competition: PartSpec,
    /// How a unit's response is computed.
    pub activation: Activation,
    /// What the cosine activation normalises.
    pub cosine: CosineNorm,
    /// Unit-norm kernels before the forward pass.
    pub weight_norm: bool,
    /// Difference-of-Gaussians lateral inhibition on k > 1 layers.
    pub surround: bool,
    /// Dale's principle: the forward pass uses |w|.
    pub dale: bool,
    /// Under `dale`, store |w| after every step.
    pub dale_reflect: bool,
    /// Presynaptic competition, if any.
    pub presynaptic: Option<Presynaptic>,
    /// Step size per block (the last one repeats).
    pub lr: Vec<f32>,
    /// SoftHebb's norm-dependent rate schedule exponent.
    pub lr_norm_power: Option<f32>,
    /// Channel multiplier (1 = the report's widths; quick suites use less).
    pub width: f64,
    /// Learning passes change the weights (off: the random-weights control).
    pub plastic: bool,
}

impl Default for LayerOptions {
    /// The report's settings: Instar, no competition, plain responses, step
    /// 0.1, full width (each part's own defaults for its parameters).
    fn default() -> Self {
        LayerOptions {
            rule: "instar".into(),
            competition: "none".into(),
            activation: Activation::Plain,
            cosine: CosineNorm::Kernel,
            weight_norm: false,
            surround: false,
            dale: false,
            dale_reflect: false,
            presynaptic: None,
            lr: vec![0.1],
            lr_norm_power: None,
            width: 1.0,
            plastic: true,
        }
    }
}

/// A pooling stage: kind, window, stride, padding.
pub type Pool = Option<(PoolKind, usize, usize, usize)>;

/// One stage of a network.
pub trait Block: Send {
    /// The block's output; with `learn`, each layer computes its update too.
    fn forward(&mut self, x: Map, learn: bool) -> Result<Map>;
    /// Applies the updates of the last learning pass.
    fn apply_updates(&mut self);
    /// The block's Hebbian layers, for plots and FLOP counts.
    fn layers(&self) -> Vec<&HebbConv>;
    /// The block's Hebbian layers, mutably.
    fn layers_mut(&mut self) -> Vec<&mut HebbConv>;
    /// Which of [`Block::layers`] the report draws receptive fields of
    /// (default: all of them).
    fn report_draws(&self) -> Vec<bool> {
        vec![true; self.layers().len()]
    }
    /// The frozen forward pass in candle ops (NCHW, running BatchNorm
    /// statistics, any device, differentiable). Each Hebbian layer's
    /// response is pushed to `taps` in [`Block::layers`] order, and the pass
    /// returns as soon as `taps` holds `stop.want` of them. `unpadded` drops the
    /// padding of the layers and pools (the report's `remove_padding` for
    /// receptive fields; a residual block keeps its depthwise padding, as
    /// the report's `remove_padding_except_conv2`).
    fn forward_tensor(
        &self,
        x: &Tensor,
        unpadded: bool,
        taps: &mut Vec<Tensor>,
        stop: Stop,
    ) -> Result<Tensor>;
    /// The block's stages in forward order as `(kernel, stride, is a Hebbian
    /// layer)`: what a receptive-field size is computed from.
    fn geometry(&self) -> Vec<(usize, usize, bool)>;
    /// [`Block::forward`] with `learn` in candle ops (the candle engine):
    /// batch statistics recorded into the running ones, every layer's
    /// update computed; `x` is NCHW on any device.
    fn learn_tensor(&mut self, _x: &Tensor) -> Result<Tensor> {
        Err(Error::Engine(format!(
            "this {}-layer block has no candle learning pass yet",
            self.layers().len()
        )))
    }
    /// Applies the updates of the last [`Block::learn_tensor`].
    fn apply_updates_tensor(&mut self) -> Result<()> {
        for l in self.layers_mut() {
            l.apply_update_tensor()?;
        }
        Ok(())
    }
    /// Benchmarks: force the dense update even where winners are sparse.
    fn set_dense_update(&mut self, on: bool) {
        for l in self.layers_mut() {
            l.dense_update = on;
        }
    }
}

/// BN → conv → Triangle → pool.
pub struct ConvBlock {
    bn: BatchNorm,
    conv: HebbConv,
    power: f32,
    pool: Pool,
}

/// BN → depthwise conv → BN → pointwise conv → Triangle → pool.
pub struct SeparableBlock {
    bn1: BatchNorm,
    dw: HebbConv,
    bn2: BatchNorm,
    pw: HebbConv,
    power: f32,
    pool: Pool,
}

/// MobileNet-style bottleneck with a Hebbian 1×1 shortcut (report Table 11).
pub struct ResidualBlock {
    bn1: BatchNorm,
    expand: HebbConv,
    bn2: BatchNorm,
    dw: HebbConv,
    bn3: BatchNorm,
    project: HebbConv,
    sc_bn: BatchNorm,
    shortcut: HebbConv,
    power: f32,
    pool: Pool,
}

fn pooled(x: Map, p: Pool) -> Map {
    match p {
        Some((kind, k, s, pad)) => pool(&x, kind, k, s, pad),
        None => x,
    }
}

fn pooled_tensor(x: &Tensor, p: Pool, unpadded: bool) -> Result<Tensor> {
    match p {
        Some((kind, k, s, pad)) => tt::pool(x, kind, k, s, if unpadded { 0 } else { pad }),
        None => Ok(x.clone()),
    }
}

/// Where a frozen forward pass stops: after the response of its `want`-th
/// Hebbian layer, of which only the first `channels` are computed (a
/// receptive-field ascent reads 25 units of layers up to 1,536 wide).
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Hebbian layers to run (1-based count; `usize::MAX`: all).
    pub want: usize,
    /// Channels of the last one to compute.
    pub channels: usize,
}

/// Runs `conv` on `x` and records its response; `Ok(Err(y))` when `taps`
/// is full and the pass should stop with `y`.
fn tap(
    conv: &HebbConv,
    x: &Tensor,
    pad: usize,
    taps: &mut Vec<Tensor>,
    stop: Stop,
) -> Result<std::result::Result<Tensor, Tensor>> {
    let last = taps.len() + 1 >= stop.want;
    let channels = if last { stop.channels } else { usize::MAX };
    let y = conv.forward_tensor_first(x, pad, channels)?;
    taps.push(y.clone());
    Ok(if last { Err(y) } else { Ok(y) })
}

macro_rules! tapped {
    ($e:expr) => {
        match $e? {
            Ok(y) => y,
            Err(done) => return Ok(done),
        }
    };
}

fn pad_of(conv: &HebbConv, unpadded: bool) -> usize {
    if unpadded {
        0
    } else {
        conv.spec.pad
    }
}

impl Block for ConvBlock {
    fn geometry(&self) -> Vec<(usize, usize, bool)> {
        let mut g = vec![(self.conv.spec.k, 1, true)];
        g.extend(self.pool.map(|(_, k, st, _)| (k, st, false)));
        g
    }
    fn forward_tensor(
        &self,
        x: &Tensor,
        unpadded: bool,
        taps: &mut Vec<Tensor>,
        stop: Stop,
    ) -> Result<Tensor> {
        let a = batchnorm(&self.bn, x)?;
        let y = tapped!(tap(
            &self.conv,
            &a,
            pad_of(&self.conv, unpadded),
            taps,
            stop
        ));
        pooled_tensor(&tt::triangle(&y, self.power)?, self.pool, unpadded)
    }
    fn forward(&mut self, mut x: Map, learn: bool) -> Result<Map> {
        self.bn.apply(&mut x, learn);
        let mut y = self.conv.forward(&x, learn)?;
        triangle(&mut y, self.power);
        Ok(pooled(y, self.pool))
    }
    fn learn_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let a = tt::batchnorm_train(&mut self.bn, x)?;
        let y = self.conv.learn_tensor(&a)?;
        pooled_tensor(&tt::triangle(&y, self.power)?, self.pool, false)
    }
    fn apply_updates(&mut self) {
        self.conv.apply_update();
    }
    fn layers(&self) -> Vec<&HebbConv> {
        vec![&self.conv]
    }
    fn layers_mut(&mut self) -> Vec<&mut HebbConv> {
        vec![&mut self.conv]
    }
}

impl Block for SeparableBlock {
    fn geometry(&self) -> Vec<(usize, usize, bool)> {
        let mut g = vec![(self.dw.spec.k, 1, true), (self.pw.spec.k, 1, true)];
        g.extend(self.pool.map(|(_, k, st, _)| (k, st, false)));
        g
    }
    fn forward_tensor(
        &self,
        x: &Tensor,
        unpadded: bool,
        taps: &mut Vec<Tensor>,
        stop: Stop,
    ) -> Result<Tensor> {
        let a = batchnorm(&self.bn1, x)?;
        let y = tapped!(tap(&self.dw, &a, pad_of(&self.dw, unpadded), taps, stop));
        let y = batchnorm(&self.bn2, &y)?;
        let z = tapped!(tap(&self.pw, &y, pad_of(&self.pw, unpadded), taps, stop));
        pooled_tensor(&tt::triangle(&z, self.power)?, self.pool, unpadded)
    }
    fn forward(&mut self, mut x: Map, learn: bool) -> Result<Map> {
        self.bn1.apply(&mut x, learn);
        let mut y = self.dw.forward(&x, learn)?;
        self.bn2.apply(&mut y, learn);
        let mut z = self.pw.forward(&y, learn)?;
        triangle(&mut z, self.power);
        Ok(pooled(z, self.pool))
    }
    fn learn_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let a = tt::batchnorm_train(&mut self.bn1, x)?;
        let y = self.dw.learn_tensor(&a)?;
        let y = tt::batchnorm_train(&mut self.bn2, &y)?;
        let z = self.pw.learn_tensor(&y)?;
        pooled_tensor(&tt::triangle(&z, self.power)?, self.pool, false)
    }
    fn apply_updates(&mut self) {
        self.dw.apply_update();
        self.pw.apply_update();
    }
    fn layers(&self) -> Vec<&HebbConv> {
        vec![&self.dw, &self.pw]
    }
    fn layers_mut(&mut self) -> Vec<&mut HebbConv> {
        vec![&mut self.dw, &mut self.pw]
    }
}

impl Block for ResidualBlock {
    fn geometry(&self) -> Vec<(usize, usize, bool)> {
        // The shortcut runs beside the main path: it widens nothing.
        let mut g = vec![
            (self.expand.spec.k, 1, true),
            (self.dw.spec.k, 1, true),
            (self.project.spec.k, 1, true),
            (1, 1, true),
        ];
        g.extend(self.pool.map(|(_, k, st, _)| (k, st, false)));
        g
    }
    fn forward_tensor(
        &self,
        x: &Tensor,
        unpadded: bool,
        taps: &mut Vec<Tensor>,
        stop: Stop,
    ) -> Result<Tensor> {
        let a = batchnorm(&self.bn1, x)?;
        let h = tapped!(tap(
            &self.expand,
            &a,
            pad_of(&self.expand, unpadded),
            taps,
            stop
        ));
        let h = batchnorm(&self.bn2, &tt::triangle(&h, self.power)?)?;
        let h = tapped!(tap(&self.dw, &h, self.dw.spec.pad, taps, stop));
        let h = batchnorm(&self.bn3, &tt::triangle(&h, self.power)?)?;
        let out = tapped!(tap(
            &self.project,
            &h,
            pad_of(&self.project, unpadded),
            taps,
            stop
        ));
        let s = batchnorm(&self.sc_bn, x)?;
        let s = tapped!(tap(
            &self.shortcut,
            &s,
            pad_of(&self.shortcut, unpadded),
            taps,
            stop
        ));
        pooled_tensor(&tt::triangle(&(out + s)?, self.power)?, self.pool, unpadded)
    }
    fn forward(&mut self, x: Map, learn: bool) -> Result<Map> {
        let mut a = x.clone();
        self.bn1.apply(&mut a, learn);
        let mut h = self.expand.forward(&a, learn)?;
        triangle(&mut h, self.power);
        self.bn2.apply(&mut h, learn);
        let mut h = self.dw.forward(&h, learn)?;
        triangle(&mut h, self.power);
        self.bn3.apply(&mut h, learn);
        let mut out = self.project.forward(&h, learn)?;
        let mut s = x;
        self.sc_bn.apply(&mut s, learn);
        let s = self.shortcut.forward(&s, learn)?;
        out.data.iter_mut().zip(&s.data).for_each(|(a, b)| *a += b);
        triangle(&mut out, self.power);
        Ok(pooled(out, self.pool))
    }
    fn learn_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let a = tt::batchnorm_train(&mut self.bn1, x)?;
        let h = tt::triangle(&self.expand.learn_tensor(&a)?, self.power)?;
        let h = tt::batchnorm_train(&mut self.bn2, &h)?;
        let h = tt::triangle(&self.dw.learn_tensor(&h)?, self.power)?;
        let h = tt::batchnorm_train(&mut self.bn3, &h)?;
        let out = self.project.learn_tensor(&h)?;
        let s = tt::batchnorm_train(&mut self.sc_bn, x)?;
        let s = self.shortcut.learn_tensor(&s)?;
        pooled_tensor(&tt::triangle(&(out + s)?, self.power)?, self.pool, false)
    }
    fn apply_updates(&mut self) {
        for l in [
            &mut self.expand,
            &mut self.dw,
            &mut self.project,
            &mut self.shortcut,
        ] {
            l.apply_update();
        }
    }
    fn layers(&self) -> Vec<&HebbConv> {
        vec![&self.expand, &self.dw, &self.project, &self.shortcut]
    }
    /// Only the depthwise `conv2` (experiment_hebbian_residual.py L293–295:
    /// `conv1`, `res1.conv2`, `res2.conv2`; Fig. 31).
    fn report_draws(&self) -> Vec<bool> {
        vec![false, true, false, false]
    }
    fn layers_mut(&mut self) -> Vec<&mut HebbConv> {
        vec![
            &mut self.expand,
            &mut self.dw,
            &mut self.project,
            &mut self.shortcut,
        ]
    }
}

/// Builds layers for one network, drawing weights in construction order.
pub struct Builder<'a, R: Rng> {
    opts: &'a LayerOptions,
    rng: &'a mut R,
}

use crate::config::per_block;

impl<R: Rng> Builder<'_, R> {
    /// Scales a channel count by the width multiplier.
    fn ch(&self, c: usize) -> usize {
        ((c as f64 * self.opts.width).round() as usize).max(1)
    }

    fn conv(
        &mut self,
        block: usize,
        cin: usize,
        cout: usize,
        k: usize,
        pad: usize,
        depthwise: bool,
    ) -> Result<HebbConv> {
        let o = self.opts;
        let spec = HebbConvSpec {
            cin,
            cout,
            k,
            pad,
            depthwise,
            activation: o.activation,
            cosine: o.cosine,
            weight_norm: o.weight_norm,
            surround: o.surround,
            dale: o.dale,
            dale_reflect: o.dale_reflect,
            presynaptic: o.presynaptic,
            rule: o.rule.clone(),
            competition: o.competition.clone(),
            block,
            lr: per_block(&o.lr, block, 0.1),
            lr_norm_power: o.lr_norm_power,
            plastic: o.plastic,
        };
        HebbConv::new(spec, self.rng)
    }

    fn plain(
        &mut self,
        block: usize,
        (cin, cout, k, pad): (usize, usize, usize, usize),
        power: f32,
        pool: Pool,
    ) -> Result<Box<dyn Block>> {
        Ok(Box::new(ConvBlock {
            bn: BatchNorm::new(cin),
            conv: self.conv(block, cin, cout, k, pad, false)?,
            power,
            pool,
        }))
    }

    fn separable(
        &mut self,
        block: usize,
        (cin, cout, k, pad): (usize, usize, usize, usize),
        power: f32,
        pool: Pool,
    ) -> Result<Box<dyn Block>> {
        Ok(Box::new(SeparableBlock {
            bn1: BatchNorm::new(cin),
            dw: self.conv(block, cin, cin, k, pad, true)?,
            bn2: BatchNorm::new(cin),
            pw: self.conv(block, cin, cout, 1, 0, false)?,
            power,
            pool,
        }))
    }

    fn residual(
        &mut self,
        block: usize,
        (cin, cout): (usize, usize),
        power: f32,
        pool: Pool,
    ) -> Result<Box<dyn Block>> {
        let hidden = cin * 4;
        Ok(Box::new(ResidualBlock {
            bn1: BatchNorm::new(cin),
            expand: self.conv(block, cin, hidden, 1, 0, false)?,
            bn2: BatchNorm::new(hidden),
            dw: self.conv(block, hidden, hidden, 3, 1, true)?,
            bn3: BatchNorm::new(hidden),
            project: self.conv(block, hidden, cout, 1, 0, false)?,
            sc_bn: BatchNorm::new(cin),
            shortcut: self.conv(block, cin, cout, 1, 0, false)?,
            power,
            pool,
        }))
    }
}

const MAX4: Pool = Some((PoolKind::Max, 4, 2, 1));
const MAX2: Pool = Some((PoolKind::Max, 2, 2, 0));
const AVG2: Pool = Some((PoolKind::Avg, 2, 2, 0));

type ArchFn<R> = fn(&mut Builder<R>) -> Result<Vec<Box<dyn Block>>>;

/// The architectures by name (report Tables 5–11).
pub fn architectures<R: Rng>() -> Vec<(&'static str, ArchFn<R>)> {
    vec![
        ("softhebb", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(384), b.ch(1536));
            Ok(vec![
                b.plain(0, (3, c1, 5, 2), 0.7, MAX4)?,
                b.plain(1, (c1, c2, 3, 1), 1.4, MAX4)?,
                b.plain(2, (c2, c3, 3, 1), 1.0, AVG2)?,
            ])
        }),
        ("hardhebb", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(384), b.ch(1536));
            Ok(vec![
                b.plain(0, (3, c1, 5, 0), 0.7, MAX2)?,
                b.plain(1, (c1, c2, 3, 0), 1.4, None)?,
                b.plain(2, (c2, c3, 3, 0), 1.0, AVG2)?,
            ])
        }),
        ("lagani_short", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(128), b.ch(192));
            Ok(vec![
                b.plain(0, (3, c1, 5, 0), 1.0, MAX2)?,
                b.plain(1, (c1, c2, 3, 0), 1.0, None)?,
                b.plain(2, (c2, c3, 3, 0), 1.0, AVG2)?,
            ])
        }),
        ("lagani_long", |b| {
            let (c1, c2, c3, c4) = (b.ch(96), b.ch(128), b.ch(192), b.ch(256));
            Ok(vec![
                b.plain(0, (3, c1, 5, 0), 1.0, MAX2)?,
                b.plain(1, (c1, c2, 3, 0), 1.0, None)?,
                b.plain(2, (c2, c3, 3, 0), 1.0, AVG2)?,
                b.plain(3, (c3, c4, 3, 0), 1.0, None)?,
            ])
        }),
        ("softhebb_depthwise", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(384), b.ch(1536));
            Ok(vec![
                b.plain(0, (3, c1, 5, 2), 0.7, MAX4)?,
                b.separable(1, (c1, c2, 3, 1), 1.4, MAX4)?,
                b.separable(2, (c2, c3, 3, 1), 1.0, AVG2)?,
            ])
        }),
        ("hardhebb_depthwise", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(384), b.ch(1536));
            Ok(vec![
                b.plain(0, (3, c1, 5, 0), 0.7, MAX2)?,
                b.separable(1, (c1, c2, 3, 0), 1.4, None)?,
                b.separable(2, (c2, c3, 3, 0), 1.0, AVG2)?,
            ])
        }),
        ("softhebb_residual", |b| {
            let (c1, c2, c3) = (b.ch(96), b.ch(384), b.ch(1536));
            Ok(vec![
                b.plain(0, (3, c1, 5, 2), 0.7, MAX4)?,
                b.residual(1, (c1, c2), 1.4, MAX4)?,
                b.residual(2, (c2, c3), 1.0, AVG2)?,
            ])
        }),
    ]
}

/// The valid architecture names.
pub fn architecture_names() -> Vec<&'static str> {
    architectures::<rand_chacha::ChaCha8Rng>()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// A Hebbian CNN: blocks applied in order.
pub struct HebbNet {
    /// The network's stages in order.
    pub blocks: Vec<Box<dyn Block>>,
}

impl HebbNet {
    /// Builds architecture `arch`, listing the valid names when unknown.
    pub fn build<R: Rng>(arch: &str, opts: &LayerOptions, rng: &mut R) -> Result<Self> {
        let ctor = architectures::<R>()
            .into_iter()
            .find(|(n, _)| *n == arch)
            .map(|(_, f)| f)
            .ok_or_else(|| Error::UnknownName {
                what: "architecture",
                name: arch.to_string(),
                valid: architecture_names().join(", "),
            })?;
        let mut b = Builder { opts, rng };
        Ok(HebbNet {
            blocks: ctor(&mut b)?,
        })
    }

    /// Runs the network; with `learn`, every Hebbian layer computes its
    /// update from this batch, and all updates are applied at the end (so
    /// each layer learns from the activity the batch actually produced).
    pub fn forward(&mut self, x: Map, learn: bool) -> Result<Map> {
        let mut x = x;
        for b in &mut self.blocks {
            x = b.forward(x, learn)?;
        }
        if learn {
            for b in &mut self.blocks {
                b.apply_updates();
            }
        }
        Ok(x)
    }

    /// [`HebbNet::forward`] with `learn` in the candle engine: `x` is NCHW
    /// on any device; every layer learns from this batch, and the updates
    /// are applied at the end.
    pub fn learn_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for b in &mut self.blocks {
            x = b.learn_tensor(&x)?;
        }
        for b in &mut self.blocks {
            b.apply_updates_tensor()?;
        }
        Ok(x)
    }

    /// The frozen forward pass in candle ops (see [`Block::forward_tensor`]):
    /// the network's output, or with `want = Some(i)` the response of
    /// Hebbian layer `i` (0-based, [`HebbNet::layers`] order).
    pub fn forward_tensor(
        &self,
        x: &Tensor,
        unpadded: bool,
        want: Option<usize>,
    ) -> Result<Tensor> {
        self.forward_tensor_first(x, unpadded, want, usize::MAX)
    }

    /// [`HebbNet::forward_tensor`] where only the first `channels` of the
    /// wanted layer are computed: the same values, for less work.
    pub fn forward_tensor_first(
        &self,
        x: &Tensor,
        unpadded: bool,
        want: Option<usize>,
        channels: usize,
    ) -> Result<Tensor> {
        let want = want.map_or(usize::MAX, |i| i + 1);
        let stop = Stop { want, channels };
        let mut taps = Vec::new();
        let mut x = x.clone();
        for b in &self.blocks {
            x = b.forward_tensor(&x, unpadded, &mut taps, stop)?;
            if taps.len() >= want {
                return Ok(taps.swap_remove(want - 1));
            }
        }
        if want != usize::MAX {
            return Err(Error::Params(format!(
                "the network has {} Hebbian layers, not {want}",
                taps.len()
            )));
        }
        Ok(x)
    }

    /// The receptive-field size (pixels on a side) of a unit of Hebbian
    /// layer `layer`, as the report's `calculate_receptive_field`: each
    /// kernel and pool widens it by `(k − 1)` times the stride so far; the
    /// surround is not counted.
    pub fn receptive_size(&self, layer: usize) -> Option<usize> {
        let (mut rf, mut jump, mut seen) = (1usize, 1usize, 0usize);
        for b in &self.blocks {
            for (k, stride, is_layer) in b.geometry() {
                rf += (k - 1) * jump;
                jump *= stride;
                if is_layer {
                    if seen == layer {
                        return Some(rf);
                    }
                    seen += 1;
                }
            }
        }
        None
    }

    /// The indices (into [`HebbNet::layers`]) of the layers whose receptive
    /// fields the report draws.
    pub fn report_drawn_layers(&self) -> Vec<usize> {
        let drawn = self.blocks.iter().flat_map(|b| b.report_draws());
        drawn
            .enumerate()
            .filter_map(|(i, d)| d.then_some(i))
            .collect()
    }

    /// Every Hebbian layer in order.
    pub fn layers(&self) -> Vec<&HebbConv> {
        self.blocks.iter().flat_map(|b| b.layers()).collect()
    }

    /// Trainable weights in all Hebbian layers.
    pub fn parameters(&self) -> usize {
        self.layers().iter().map(|l| l.w.len()).sum()
    }
}
