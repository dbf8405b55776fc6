//! The report's "SoftHebb-Backpropagation" baseline: the SoftHebb
//! architecture (Table 5, BatchNorm without affine, Triangle, the same
//! pools, bias-free convs) trained end to end with candle's autograd.
//!
//! Convolutions are `im2col → GEMM` with a custom im2col op whose backward
//! pass is col2im, so the gradients are GEMMs too: candle's own CPU conv2d
//! backward took ~8× its forward time here (measured: 2.04 s vs 0.26 s for
//! the 384→1536 layer at batch 64), which would make five epochs take hours.
//! Those custom ops are CPU kernels; the candle engine builds the same
//! im2col and pools from tensor ops, so the network runs on any device and
//! autograd derives the same gradients (tests/engines.rs).

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor, Var, D};
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use crate::error::Result;
use crate::nhwc::{im2col, pool, Map, Padding, PoolKind};

/// im2col over an NHWC tensor (zero padding, stride 1), differentiable.
struct Im2Col {
    k: usize,
    pad: usize,
}

fn dims4(s: &Shape) -> candle_core::Result<(usize, usize, usize, usize)> {
    s.dims4()
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-nhwc"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = dims4(l.shape())?;
        let data = s.as_slice::<f32>()?;
        let (a, b) = l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("im2col needs a contiguous input".into()))?;
        let m = Map {
            n,
            h,
            w,
            c,
            data: data[a..b].to_vec(),
        };
        let (p, ho, wo) = im2col(&m, self.k, self.pad, Padding::Zeros);
        Ok((
            CpuStorage::F32(p),
            Shape::from((n * ho * wo, self.k * self.k * c)),
        ))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h, w, c) = arg.dims4()?;
        let g = grad.contiguous()?.apply_op1(Col2Im {
            k: self.k,
            pad: self.pad,
            n,
            h,
            w,
            c,
        })?;
        Ok(Some(g))
    }
}

/// The adjoint of [`Im2Col`]: scatter-adds patch gradients back to pixels.
struct Col2Im {
    k: usize,
    pad: usize,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "col2im-nhwc"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = s.as_slice::<f32>()?;
        let (a, _) = l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("col2im needs a contiguous input".into()))?;
        let g = &g[a..];
        let (k, pad, h, w, c) = (self.k, self.pad, self.h, self.w, self.c);
        let ho = h + 2 * pad + 1 - k;
        let wo = w + 2 * pad + 1 - k;
        let kk = k * k * c;
        let mut out = vec![0f32; self.n * h * w * c];
        out.par_chunks_mut(h * w * c)
            .enumerate()
            .for_each(|(img, dst)| {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let row = &g[((img * ho + oy) * wo + ox) * kk..][..kk];
                        for dy in 0..k {
                            let y = oy as isize + dy as isize - pad as isize;
                            if y < 0 || y >= h as isize {
                                continue;
                            }
                            for dx in 0..k {
                                let x = ox as isize + dx as isize - pad as isize;
                                if x < 0 || x >= w as isize {
                                    continue;
                                }
                                let o = (y as usize * w + x as usize) * c;
                                let src = &row[(dy * k + dx) * c..(dy * k + dx + 1) * c];
                                for (d, s) in dst[o..o + c].iter_mut().zip(src) {
                                    *d += s;
                                }
                            }
                        }
                    }
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((self.n, h, w, c))))
    }
}

/// Pooling over an NHWC tensor, differentiable (candle's max-pool backward
/// needs window = stride; the report's is 4×4 with stride 2).
struct PoolNhwc {
    kind: PoolKind,
    k: usize,
    s: usize,
    p: usize,
}

impl CustomOp1 for PoolNhwc {
    fn name(&self) -> &'static str {
        "pool-nhwc"
    }

    fn cpu_fwd(&self, st: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, h, w, c) = dims4(l.shape())?;
        let (a, b) = l
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("pool needs a contiguous input".into()))?;
        let m = Map {
            n,
            h,
            w,
            c,
            data: st.as_slice::<f32>()?[a..b].to_vec(),
        };
        let o = pool(&m, self.kind, self.k, self.s, self.p);
        Ok((CpuStorage::F32(o.data), Shape::from((n, o.h, o.w, c))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h, w, c) = arg.dims4()?;
        let (_, ho, wo, _) = grad.dims4()?;
        let x: Vec<f32> = arg.flatten_all()?.to_vec1()?;
        let g: Vec<f32> = grad.flatten_all()?.to_vec1()?;
        let (k, s, p) = (self.k, self.s, self.p);
        let mut dx = vec![0f32; x.len()];
        dx.par_chunks_mut(h * w * c)
            .enumerate()
            .for_each(|(img, d)| {
                let xi = &x[img * h * w * c..(img + 1) * h * w * c];
                for oy in 0..ho {
                    for ox in 0..wo {
                        for ch in 0..c {
                            let gv = g[((img * ho + oy) * wo + ox) * c + ch];
                            let mut best: Option<(usize, f32)> = None;
                            for dy in 0..k {
                                let y = (oy * s + dy) as isize - p as isize;
                                if y < 0 || y >= h as isize {
                                    continue;
                                }
                                for dxx in 0..k {
                                    let xx = (ox * s + dxx) as isize - p as isize;
                                    if xx < 0 || xx >= w as isize {
                                        continue;
                                    }
                                    let i = (y as usize * w + xx as usize) * c + ch;
                                    match self.kind {
                                        PoolKind::Avg => d[i] += gv / (k * k) as f32,
                                        PoolKind::Max => {
                                            if best.is_none_or(|(_, bv)| xi[i] > bv) {
                                                best = Some((i, xi[i]));
                                            }
                                        }
                                    }
                                }
                            }
                            if let Some((i, _)) = best {
                                d[i] += gv;
                            }
                        }
                    }
                }
            });
        Ok(Some(Tensor::from_vec(dx, (n, h, w, c), arg.device())?))
    }
}

/// [`Im2Col`] in candle ops, on any device: the same rows (image, y, x) and
/// columns (tap, channel), zero-padded; its gradient comes from autograd.
fn im2col_tensor(x: &Tensor, k: usize, pad: usize) -> Result<Tensor> {
    let xp = x
        .permute((0, 3, 1, 2))?
        .pad_with_zeros(2, pad, pad)?
        .pad_with_zeros(3, pad, pad)?;
    crate::hebb::tensor::patches(&xp, k)
}

/// One conv stage of the baseline.
struct Stage {
    w: Var,
    k: usize,
    pad: usize,
    cout: usize,
    power: f64,
    /// Max-pool (window 4, stride 2, pad 1) or average-pool (2, 2).
    max_pool: bool,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

/// The SoftHebb architecture trained by backpropagation.
pub struct BpSoftHebb {
    stages: Vec<Stage>,
    /// The linear classifier's weights.
    pub fc_w: Var,
    /// The linear classifier's bias.
    pub fc_b: Var,
    /// Dropout before the classifier.
    pub dropout: f32,
    activation: BpActivation,
    /// The candle engine (tensor ops on `dev`) instead of the CPU kernels.
    candle: bool,
    dev: Device,
}

/// The nonlinearity after each conv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BpActivation {
    /// The Hebbian models' Triangle with powers 0.7 / 1.4 / 1.0, so that
    /// backprop and Hebbian learning share the architecture exactly.
    #[default]
    Triangle,
    /// `nn.ReLU()`, what the report's baseline uses (Model_BackProp.py
    /// `Net_Backpropagation`, L183/190/197).
    Relu,
}

/// How conv weights are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BpInit {
    /// The Hebbian models' `N(0,1)·25/√fan_in`.
    Hebbian,
    /// PyTorch's default (Kaiming uniform, `U(±1/√fan_in)`).
    Default,
}

impl BpSoftHebb {
    /// Builds the network with `width`-scaled channels on `dev`, computed
    /// by the candle engine when `candle` (required off the CPU); draws
    /// from `rng`, the same draws for either engine.
    pub fn new(
        width: f64,
        init: BpInit,
        activation: BpActivation,
        dropout: f32,
        rng: &mut impl Rng,
        dev: &Device,
        candle: bool,
    ) -> Result<Self> {
        if !candle && !dev.is_cpu() {
            return Err(crate::error::Error::Device(
                "the backprop CPU kernels compute on the CPU only; use the candle engine".into(),
            ));
        }
        let ch = |c: usize| ((c as f64 * width).round() as usize).max(1);
        let plan = [
            (3, ch(96), 5, 2, 0.7, true),
            (ch(96), ch(384), 3, 1, 1.4, true),
            (ch(384), ch(1536), 3, 1, 1.0, false),
        ];
        let mut stages = Vec::new();
        for (cin, cout, k, pad, power, max_pool) in plan {
            let fan = cin * k * k;
            let data: Vec<f32> = (0..fan * cout)
                .map(|_| match init {
                    BpInit::Hebbian => {
                        25.0 / (fan as f32).sqrt() * rng.sample::<f32, _>(StandardNormal)
                    }
                    BpInit::Default => (2.0 * rng.random::<f32>() - 1.0) / (fan as f32).sqrt(),
                })
                .collect();
            stages.push(Stage {
                w: Var::from_tensor(&Tensor::from_vec(data, (fan, cout), dev)?)?,
                k,
                pad,
                cout,
                power,
                max_pool,
                running_mean: vec![0.0; cin],
                running_var: vec![1.0; cin],
            });
        }
        let features = ch(1536) * 16;
        let fc: Vec<f32> = (0..features * 10)
            .map(|_| 0.110_485_43 * rng.random::<f32>())
            .collect();
        let bound = 1.0 / (features as f32).sqrt();
        let b: Vec<f32> = (0..10)
            .map(|_| bound * (2.0 * rng.random::<f32>() - 1.0))
            .collect();
        Ok(BpSoftHebb {
            stages,
            fc_w: Var::from_tensor(&Tensor::from_vec(fc, (features, 10), dev)?)?,
            fc_b: Var::from_tensor(&Tensor::from_vec(b, 10, dev)?)?,
            dropout,
            activation,
            candle,
            dev: dev.clone(),
        })
    }

    /// Adam at rate `lr` over every variable, without weight decay (the
    /// report's `optim.Adam`).
    pub fn adam(&self, lr: f64) -> Result<candle_nn::AdamW> {
        use candle_nn::Optimizer;
        let params = candle_nn::ParamsAdamW {
            lr,
            weight_decay: 0.0,
            ..Default::default()
        };
        Ok(candle_nn::AdamW::new(self.vars(), params)?)
    }

    /// Conv stages.
    pub fn stages(&self) -> usize {
        self.stages.len()
    }

    /// The device the network computes on.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Every trainable variable.
    pub fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self.stages.iter().map(|s| s.w.clone()).collect();
        v.push(self.fc_w.clone());
        v.push(self.fc_b.clone());
        v
    }

    /// Logits for an NHWC batch; `train` uses batch statistics (and records
    /// running ones) and dropout with masks drawn from `rng`.
    pub fn forward(&mut self, x: &Tensor, train: bool, rng: &mut impl Rng) -> Result<Tensor> {
        let f = self.features(x, train)?;
        self.head(f, train, rng)
    }

    /// The flattened output of the last pool (what the classifier reads)
    /// for an NHWC batch; `train` as in [`BpSoftHebb::forward`].
    pub fn features(&mut self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for i in 0..self.stages.len() {
            let xn = self.normalised(i, &x, train)?;
            let s = &self.stages[i];
            let y = self.activated(s, &self.conv(s, &xn, s.pad, s.cout, !self.candle)?)?;
            x = self.pooled(s, &y, false, !self.candle)?;
        }
        let n = x.dims()[0];
        Ok(x.reshape((n, ()))?)
    }

    /// Dropout (when `train`) and the linear classifier over
    /// [`BpSoftHebb::features`].
    pub fn head(&self, mut f: Tensor, train: bool, rng: &mut impl Rng) -> Result<Tensor> {
        if train && self.dropout > 0.0 {
            let keep = 1.0 - self.dropout;
            let mask: Vec<f32> = (0..f.elem_count())
                .map(|_| {
                    if rng.random::<f32>() < keep {
                        1.0 / keep
                    } else {
                        0.0
                    }
                })
                .collect();
            let m = Tensor::from_vec(mask, f.shape(), &self.dev)?;
            f = (f * m)?;
        }
        Ok(f.matmul(self.fc_w.as_tensor())?
            .broadcast_add(self.fc_b.as_tensor())?)
    }

    /// Stage `i`'s BatchNorm of NHWC `x`: on the batch's statistics when
    /// `train` (recording running ones), else on the running ones.
    fn normalised(&mut self, i: usize, x: &Tensor, train: bool) -> Result<Tensor> {
        let s = &mut self.stages[i];
        let (n, h, w, c) = x.dims4()?;
        let flat = x.reshape((n * h * w, c))?;
        let (mean, var) = if train {
            let mean = flat.mean_keepdim(0)?;
            let var = flat.broadcast_sub(&mean)?.sqr()?.mean_keepdim(0)?;
            let rows = (n * h * w) as f32;
            let mv: Vec<f32> = mean.flatten_all()?.to_vec1()?;
            let vv: Vec<f32> = var.flatten_all()?.to_vec1()?;
            for j in 0..c {
                s.running_mean[j] = 0.9 * s.running_mean[j] + 0.1 * mv[j];
                s.running_var[j] =
                    0.9 * s.running_var[j] + 0.1 * vv[j] * rows / (rows - 1.0).max(1.0);
            }
            (mean, var)
        } else {
            (
                Tensor::from_slice(&s.running_mean, (1, c), x.device())?,
                Tensor::from_slice(&s.running_var, (1, c), x.device())?,
            )
        };
        Ok(flat
            .broadcast_sub(&mean)?
            .broadcast_div(&(var + 1e-5)?.sqrt()?)?
            .reshape((n, h, w, c))?)
    }

    /// The first `channels` conv outputs of stage `s` over NHWC `xn`
    /// (padding `pad`), NHWC, with the weights moved to `xn`'s device; by
    /// the CPU kernels when `kernels` (and `xn` is on the CPU).
    fn conv(
        &self,
        s: &Stage,
        xn: &Tensor,
        pad: usize,
        channels: usize,
        kernels: bool,
    ) -> Result<Tensor> {
        let (n, h, w, _) = xn.dims4()?;
        let cols = if kernels && xn.device().is_cpu() {
            xn.contiguous()?.apply_op1(Im2Col { k: s.k, pad })?
        } else {
            im2col_tensor(xn, s.k, pad)?
        };
        let mut wt = s.w.as_tensor().to_device(xn.device())?;
        if channels < s.cout {
            wt = wt.narrow(1, 0, channels)?;
        }
        let (ho, wo) = (h + 2 * pad + 1 - s.k, w + 2 * pad + 1 - s.k);
        Ok(cols
            .matmul(&wt)?
            .reshape((n, ho, wo, channels.min(s.cout)))?)
    }

    /// Stage `s`'s nonlinearity over NHWC `y`.
    fn activated(&self, s: &Stage, y: &Tensor) -> Result<Tensor> {
        Ok(match self.activation {
            BpActivation::Relu => y.relu()?,
            // Triangle: subtract the channel mean, rectify, raise to the
            // power (offset by 1e-6 so the gradient of x^0.7 stays finite
            // at 0).
            BpActivation::Triangle => {
                let y = y.broadcast_sub(&y.mean_keepdim(D::Minus1)?)?.relu()?;
                if s.power == 1.0 {
                    y
                } else {
                    ((y + 1e-6)?.powf(s.power)? - 1e-6f64.powf(s.power))?
                }
            }
        })
    }

    /// Stage `s`'s pool over NHWC `y`; `unpadded` drops its padding (the
    /// receptive-field ascent's frozen pass); `kernels` as in
    /// [`BpSoftHebb::conv`].
    fn pooled(&self, s: &Stage, y: &Tensor, unpadded: bool, kernels: bool) -> Result<Tensor> {
        let mut op = if s.max_pool {
            PoolNhwc {
                kind: PoolKind::Max,
                k: 4,
                s: 2,
                p: 1,
            }
        } else {
            PoolNhwc {
                kind: PoolKind::Avg,
                k: 2,
                s: 2,
                p: 0,
            }
        };
        if unpadded {
            op.p = 0;
        }
        Ok(if !(kernels && y.device().is_cpu()) {
            // Both activations are ≥ 0, so the zero pad of the tensor
            // pools never wins a max, as the kernel's skipped pad.
            let y = y.permute((0, 3, 1, 2))?;
            let y = match op.kind {
                PoolKind::Max => crate::hebb::tensor::max_pool_first(&y, op.k, op.s, op.p)?,
                PoolKind::Avg => crate::hebb::tensor::pool(&y, op.kind, op.k, op.s, op.p)?,
            };
            y.permute((0, 2, 3, 1))?.contiguous()?
        } else {
            y.contiguous()?.apply_op1(op)?
        })
    }

    /// Stage `i`'s (window, stride) of its conv and of its pool.
    fn geometry(s: &Stage) -> [(usize, usize); 2] {
        [(s.k, 1), if s.max_pool { (4, 2) } else { (2, 2) }]
    }
}

/// The trained baseline's conv weights, as the Hebbian layers' are recorded:
/// one row of `[tap][input channel]` per filter.
impl crate::models::analysis::Weighted for BpSoftHebb {
    fn layer_weights(&self) -> Vec<crate::models::analysis::LayerWeights<'_>> {
        self.stages
            .iter()
            .filter_map(|s| {
                let w: Vec<f32> =
                    s.w.as_tensor()
                        .t()
                        .ok()?
                        .flatten_all()
                        .ok()?
                        .to_vec1()
                        .ok()?;
                Some(crate::models::analysis::LayerWeights {
                    cout: s.cout,
                    k: s.k,
                    w: std::borrow::Cow::Owned(w),
                })
            })
            .collect()
    }
}

/// The frozen baseline for the receptive-field ascent: BatchNorm on running
/// statistics, no dropout, every padding removed, as the Hebbian networks'.
/// The ascent runs on the CPU, so it takes the CPU kernels whichever engine
/// trained the network (the same values, tests/engines.rs).
impl crate::models::analysis::Frozen for BpSoftHebb {
    fn input_channels(&self) -> usize {
        self.stages.first().map_or(3, |s| s.running_mean.len())
    }
    fn layer_count(&self) -> usize {
        self.stages.len()
    }
    fn layer_channels(&self, i: usize) -> usize {
        self.stages.get(i).map_or(0, |s| s.cout)
    }
    fn receptive_size(&self, i: usize) -> Option<usize> {
        let (mut rf, mut jump) = (1, 1);
        for (j, s) in self.stages.iter().enumerate() {
            let [(k, _), (pk, ps)] = Self::geometry(s);
            rf += (k - 1) * jump;
            if j == i {
                return Some(rf);
            }
            rf += (pk - 1) * jump;
            jump *= ps;
        }
        None
    }
    fn response(&self, x: &Tensor, i: usize, channels: usize) -> Result<Tensor> {
        let mut x = x.permute((0, 2, 3, 1))?;
        for (j, s) in self.stages.iter().enumerate() {
            let (_, _, _, c) = x.dims4()?;
            let mean = Tensor::from_slice(&s.running_mean, (1, 1, 1, c), x.device())?;
            let var = Tensor::from_slice(&s.running_var, (1, 1, 1, c), x.device())?;
            let xn = x
                .broadcast_sub(&mean)?
                .broadcast_div(&(var + 1e-5)?.sqrt()?)?;
            if j == i {
                let y = self.conv(s, &xn, 0, channels, true)?;
                return Ok(y.permute((0, 3, 1, 2))?);
            }
            if j + 1 == self.stages.len() {
                break;
            }
            let y = self.activated(s, &self.conv(s, &xn, 0, s.cout, true)?)?;
            x = self.pooled(s, &y, true, true)?;
        }
        Err(crate::error::Error::Params(format!(
            "the network has {} conv layers, not {}",
            self.stages.len(),
            i + 1
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_net(candle: bool) -> BpSoftHebb {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let dev = Device::Cpu;
        BpSoftHebb::new(
            0.05,
            BpInit::Hebbian,
            BpActivation::Relu,
            0.5,
            &mut rng,
            &dev,
            candle,
        )
        .unwrap()
    }

    #[test]
    fn the_frozen_baseline_answers_as_its_weights_say() {
        use crate::models::analysis::{Frozen, Weighted};
        let net = small_net(false);
        // The report's calculate_receptive_field on conv5 → pool4/2 → conv3
        // → pool4/2 → conv3: 5, 5 + 3 + 2·2 = 12, 12 + 3·2 + 2·4 = 26.
        let sizes: Vec<_> = (0..4).map(|i| net.receptive_size(i)).collect();
        assert_eq!(sizes, [Some(5), Some(12), Some(26), None]);
        // Stage 0 on a 5×5 input is one dot product per unit: the input
        // over √(1 + 1e-5) (fresh running statistics 0 and 1) against the
        // unit's weights in [tap][channel] order, which is how
        // `layer_weights` hands them to the recorder.
        let x: Vec<f32> = (0..75).map(|i| ((i * 13) % 7) as f32 / 7.0 - 0.4).collect();
        let xt = Tensor::from_vec(x.clone(), (1, 3, 5, 5), &Device::Cpu).unwrap();
        let y: Vec<f32> = net
            .response(&xt, 0, 2)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(y.len(), 2);
        let w = &net.layer_weights()[0];
        assert_eq!((w.cout, w.k, w.w.len()), (5, 5, 5 * 75));
        let inv = 1.0 / (1.0f32 + 1e-5).sqrt();
        for (o, got) in y.iter().enumerate() {
            let mut want = 0f32;
            for c in 0..3 {
                for t in 0..25 {
                    want += x[c * 25 + t] * inv * w.w[o * 75 + t * 3 + c];
                }
            }
            assert!(
                (got - want).abs() < 1e-4 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
        // The deepest layer at its receptive size: a 1×1 map, whose first
        // channels do not depend on how many are asked for, on either engine.
        let x26 = Tensor::rand(0f32, 1f32, (2, 3, 26, 26), &Device::Cpu).unwrap();
        let all = net.response(&x26, 2, 19).unwrap();
        assert_eq!(all.dims(), &[2, 19, 1, 1]);
        let few = net.response(&x26, 2, 4).unwrap();
        let cand = small_net(true).response(&x26, 2, 4).unwrap();
        let a: Vec<f32> = all
            .narrow(1, 0, 4)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for other in [few, cand] {
            let b: Vec<f32> = other.flatten_all().unwrap().to_vec1().unwrap();
            let (err, scale) = crate::hebb::tensor::worst_difference(&a, &b);
            assert!(err <= 1e-4 * scale, "{a:?} vs {b:?}");
        }
        assert!(net.response(&x26, 3, 1).is_err());
    }

    #[test]
    fn the_ascent_through_the_baseline_finds_its_first_layers_filters() {
        // With non-negative first-layer weights and fresh running statistics
        // (mean 0, variance 1) a unit of stage 0 is linear in its 3×5×5
        // input, so the ascent must end along its filter (read in CHW order
        // from its [tap][channel] row), on either engine.
        use crate::experiments::hebbian_cnn::receptive::{ascend, AscentConfig};
        use crate::models::analysis::Frozen;
        use rand::SeedableRng;
        for candle in [false, true] {
            let mut net = small_net(candle);
            let w = net.stages[0].w.as_tensor().abs().unwrap();
            net.stages[0].w = Var::from_tensor(&w).unwrap();
            let rows: Vec<Vec<f32>> = w.t().unwrap().to_vec2().unwrap();
            let forward = |t: &Tensor| net.response(t, 0, 2);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
            let (x, _) = ascend(
                &forward,
                (3, 5, 5),
                &[1, 0],
                &AscentConfig::default(),
                &mut rng,
            )
            .unwrap();
            for (img, unit) in [(0, 1), (1, 0)] {
                let xi = &x[img * 75..(img + 1) * 75];
                let chw: Vec<f32> = (0..75).map(|j| rows[unit][(j % 25) * 3 + j / 25]).collect();
                let cos = crate::experiments::hebbian_cnn::receptive::cosine(xi, &chw);
                assert!(cos > 0.99, "candle {candle}, image {img}: cosine {cos}");
            }
        }
    }

    #[test]
    fn im2col_gradient_is_col2im() {
        // <im2col(x), g> = <x, col2im(g)> for any x, g (adjointness), checked
        // through candle's autograd.
        let dev = Device::Cpu;
        let x = Var::from_tensor(
            &Tensor::from_vec(
                (0..2 * 4 * 4 * 3)
                    .map(|i| (i as f32 * 0.37).sin())
                    .collect(),
                (2, 4, 4, 3),
                &dev,
            )
            .unwrap(),
        )
        .unwrap();
        let cols = x.as_tensor().apply_op1(Im2Col { k: 3, pad: 1 }).unwrap();
        let g = Tensor::from_vec(
            (0..cols.elem_count())
                .map(|i| (i as f32 * 0.11).cos())
                .collect(),
            cols.shape(),
            &dev,
        )
        .unwrap();
        let lhs = (&cols * &g).unwrap().sum_all().unwrap();
        let grads = lhs.backward().unwrap();
        let gx = grads.get(x.as_tensor()).unwrap();
        let rhs: f32 = (x.as_tensor() * gx)
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        let lhs: f32 = lhs.to_scalar().unwrap();
        assert!(
            (lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
    }
}
