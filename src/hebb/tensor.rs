//! The frozen (inference) forward pass of a Hebbian layer in candle tensor
//! ops: NCHW, on any candle device, and differentiable, which is what
//! receptive-field ascent needs. The CPU kernels stay the training engine;
//! tests hold the two forward passes to the same outputs on real images.

use candle_core::{Device, Tensor};

use super::competition::PostTensor;
use super::layer::{Activation, HebbConv};
use super::rule::TensorCorrelator;
use crate::error::{Error, Result};
use crate::nhwc::{BatchNorm, PoolKind};

/// `x` (NCHW) reflect-padded by `p` on both spatial sides (PyTorch's
/// `F.pad(…, mode='reflect')`).
pub fn reflect_pad(x: &Tensor, p: usize) -> Result<Tensor> {
    if p == 0 {
        return Ok(x.clone());
    }
    let mut out = x.clone();
    for dim in [2, 3] {
        let n = out.dim(dim)?;
        if p >= n {
            return Err(Error::Shape(format!(
                "reflect padding {p} needs more than {n} pixels"
            )));
        }
        let idx: Vec<u32> = (0..n + 2 * p)
            .map(|i| {
                let j = i as isize - p as isize;
                let j = if j < 0 { -j } else { j };
                let j = if j >= n as isize {
                    2 * (n as isize - 1) - j
                } else {
                    j
                };
                j as u32
            })
            .collect();
        let idx = Tensor::from_vec(idx, n + 2 * p, out.device())?;
        out = out.index_select(&idx, dim)?;
    }
    Ok(out)
}

/// Whether `x` takes the one-op CPU forms of the correlations and the
/// Triangle: under autograd on the CPU, which is the receptive-field ascent.
/// Everything else (training, features, any other device) runs candle ops.
fn fused(x: &Tensor) -> bool {
    #[cfg(test)]
    if COMPOSED.with(|c| c.get()) {
        return false;
    }
    x.track_op() && x.device().is_cpu() && x.dtype() == candle_core::DType::F32
}

#[cfg(test)]
thread_local! {
    static COMPOSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The largest absolute difference between `a` and `b`, and the largest
/// magnitude in `b` (at least 1e-6) that a test judges it against.
#[cfg(test)]
pub(crate) fn worst_difference(a: &[f32], b: &[f32]) -> (f32, f32) {
    let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    let err = a.iter().zip(b).fold(0f32, |m, (p, q)| m.max((p - q).abs()));
    (err, scale)
}

/// Runs `f` with the fused CPU forms off: the candle-op reference a test
/// holds them to.
#[cfg(test)]
pub(crate) fn with_composed_ops<T>(f: impl FnOnce() -> T) -> T {
    COMPOSED.with(|c| c.set(true));
    let out = f();
    COMPOSED.with(|c| c.set(false));
    out
}

/// `Σ_taps x[.., y+dy, x+dx] · w[c, tap]` for each channel: a depthwise
/// `k×k` correlation of an already padded `x` with per-channel taps
/// `w: (c, k·k)`, or `(1, k·k)` shared by every channel.
///
/// Without autograd, one narrow slice per tap keeps memory at two maps.
/// Under autograd on the CPU (the receptive-field ascent) each slice's
/// backward would pad a copy of the whole map, k·k of them a step, so
/// there the correlation is one [`PlaneCorrelate`] op instead.
fn depthwise(x: &Tensor, w: &Tensor, k: usize) -> Result<Tensor> {
    depthwise_padded(x, w, k, 0)
}

/// [`depthwise`] of `x` zero-padded by `pad` on every side; the one-op form
/// reads the padding as zeros instead of copying the map into a larger one.
fn depthwise_padded(x: &Tensor, w: &Tensor, k: usize, pad: usize) -> Result<Tensor> {
    if pad > 0 && !(fused(x) && pad < k) {
        let padded = x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?;
        return depthwise_padded(&padded, w, k, 0);
    }
    let (_, c, h, wd) = x.dims4()?;
    let rows = w.dim(0)?;
    if rows != 1 && rows != c {
        return Err(Error::Shape(format!(
            "{rows} rows of depthwise taps for {c} channels"
        )));
    }
    if fused(x) {
        let taps = w.flatten_all()?.to_vec1::<f32>()?;
        return Ok(x
            .contiguous()?
            .apply_op1(PlaneCorrelate { taps, rows, k, pad })?);
    }
    let (ho, wo) = (h + 1 - k, wd + 1 - k);
    let mut acc: Option<Tensor> = None;
    for dy in 0..k {
        for dx in 0..k {
            let tap = w.narrow(1, dy * k + dx, 1)?.reshape((1, rows, 1, 1))?;
            let term = x
                .narrow(2, dy, ho)?
                .narrow(3, dx, wo)?
                .broadcast_mul(&tap)?;
            acc = Some(match acc {
                None => term,
                Some(a) => (a + term)?,
            });
        }
    }
    acc.ok_or_else(|| Error::Shape("an empty kernel".into()))
}

/// A `k×k` correlation of each NCHW plane, zero-padded by `pad` (< k), with
/// its channel's taps (`rows` = 1: one set for all), as one CPU op whose
/// backward is the same op on the cotangent padded by `k − 1 − pad`, taps
/// rotated 180°: the adjoint of a correlation is the full convolution.
struct PlaneCorrelate {
    taps: Vec<f32>,
    rows: usize,
    k: usize,
    pad: usize,
}

impl candle_core::CustomOp1 for PlaneCorrelate {
    fn name(&self) -> &'static str {
        "plane-correlate"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, wd), x) = nchw_slice(storage, layout, "plane-correlate")?;
        let (k, pad) = (self.k, self.pad);
        if h == 0 || wd == 0 || h + 2 * pad < k || wd + 2 * pad < k || pad >= k {
            candle_core::bail!("a {h}×{wd} plane padded by {pad} does not fit the {k}×{k} kernel")
        }
        let (hp, wp) = (h + 2 * pad, wd + 2 * pad);
        let (ho, wo) = (hp + 1 - k, wp + 1 - k);
        // Each tap is one long axpy over the plane flattened at the padded
        // width `wp`: the `k − 1` columns past each output row are computed
        // and dropped, and padding is read as stored zeros. Every output
        // still sums its taps in (dy, dx) order, a zero tap adding ±0 to a
        // sum that starts at +0, so the values are those of a row-by-row
        // loop (the ascent's depthwise rows spent a quarter of their time
        // in the short rows of such a loop).
        let span = (ho - 1) * wp + wo;
        let mut out = vec![0f32; n * c * ho * wo];
        out.par_chunks_mut(ho * wo)
            .zip(x.par_chunks(h * wd))
            .enumerate()
            .for_each(|(plane, (o, xp))| {
                let row = if self.rows == 1 { 0 } else { plane % c };
                let taps = &self.taps[row * k * k..(row + 1) * k * k];
                let padded;
                let src: &[f32] = if pad == 0 {
                    xp
                } else {
                    let mut buf = vec![0f32; hp * wp];
                    for (dst, s) in buf[pad * wp..].chunks_mut(wp).zip(xp.chunks(wd)) {
                        dst[pad..pad + wd].copy_from_slice(s);
                    }
                    padded = buf;
                    &padded
                };
                let mut acc = vec![0f32; span];
                for (t, &tap) in taps.iter().enumerate() {
                    let off = (t / k) * wp + t % k;
                    crate::kernels::axpy(tap, &src[off..off + span], &mut acc);
                }
                for (y, orow) in o.chunks_mut(wo).enumerate() {
                    orow.copy_from_slice(&acc[y * wp..y * wp + wo]);
                }
            });
        Ok(nchw_output(out, (n, c, ho, wo)))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let k = self.k;
        let mut taps = self.taps.clone();
        for row in taps.chunks_mut(k * k) {
            row.reverse();
        }
        Ok(Some(grad.contiguous()?.apply_op1(PlaneCorrelate {
            taps,
            rows: self.rows,
            k,
            pad: k - 1 - self.pad,
        })?))
    }
}

/// A `k×k` correlation of an already padded `x` (NCHW) with the `cout`
/// weight rows `w` of `k·k·cin` values in `[tap][channel]` order, one
/// matmul over the patches; under `cosine`, each response divided by its
/// patch's norm. (candle's own `conv2d` backward goes through a CPU
/// `conv_transpose2d` that is orders of magnitude slower.)
fn conv(x: &Tensor, w: &[f32], cout: usize, k: usize, cosine: bool) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (ho, wo) = (h + 1 - k, wd + 1 - k);
    let fused = fused(x);
    // Under autograd (the ascent) a k×k layer is one op whose backward is
    // one product and a col2im: no gather, permutes or broadcasts for
    // autograd to differentiate.
    if fused && k > 1 {
        let op = ConvOp {
            w: std::sync::Arc::new(ConvWeights::new(w, cout, k, c)?),
            cosine,
        };
        return Ok(x.contiguous()?.apply_op1(op)?);
    }
    let row = k * k * c;
    let w = Tensor::from_slice(&w[..(cout * row).min(w.len())], (cout, row), x.device())?;
    // A 1×1 layer under autograd is one batched product on NCHW.
    let p = if fused { None } else { Some(patches(x, k)?) };
    let u = match &p {
        None => w
            .broadcast_left(n)?
            .matmul(&x.reshape((n, c, h * wd))?)?
            .reshape((n, cout, h, wd))?,
        Some(p) => p
            .matmul(&w.t()?)?
            .reshape((n, ho * wo, cout))?
            .transpose(1, 2)?
            .reshape((n, cout, ho, wo))?,
    };
    if !cosine {
        return Ok(u);
    }
    let n2 = match &p {
        Some(p) => p.sqr()?.sum_keepdim(1)?.reshape((n, 1, ho, wo))?,
        None => x.sqr()?.sum_keepdim(1)?,
    };
    Ok(u.broadcast_div(&(n2 + 1e-8)?.sqrt()?)?)
}

/// The frozen weights of a [`ConvOp`], as rows (`cout × k·k·c`) for the
/// forward product and as their transpose for the backward one.
struct ConvWeights {
    rows: Vec<f32>,
    cols: Vec<f32>,
    cout: usize,
    k: usize,
    c: usize,
}

impl ConvWeights {
    fn new(w: &[f32], cout: usize, k: usize, c: usize) -> Result<Self> {
        let row = k * k * c;
        if w.len() < cout * row {
            return Err(Error::Shape(format!(
                "{} weights for {cout} rows of {row}",
                w.len()
            )));
        }
        let rows = w[..cout * row].to_vec();
        let mut cols = vec![0f32; row * cout];
        for (o, r) in rows.chunks(row).enumerate() {
            for (j, &v) in r.iter().enumerate() {
                cols[j * cout + o] = v;
            }
        }
        Ok(Self {
            rows,
            cols,
            cout,
            k,
            c,
        })
    }

    /// One image's `(ho·wo) × (k·k·c)` patches, in [`patches`]' order,
    /// and, under `cosine`, each patch's norm (else ones).
    fn patches(&self, img: &[f32], (h, w): (usize, usize), cosine: bool) -> (Vec<f32>, Vec<f32>) {
        let (k, c) = (self.k, self.c);
        let (ho, wo) = (h + 1 - k, w + 1 - k);
        let row = k * k * c;
        let mut p = vec![0f32; ho * wo * row];
        for (r, pr) in p.chunks_mut(row).enumerate() {
            let (y, x) = (r / wo, r % wo);
            for dy in 0..k {
                for dx in 0..k {
                    let tap = &mut pr[(dy * k + dx) * c..][..c];
                    let at = (y + dy) * w + x + dx;
                    for (ch, t) in tap.iter_mut().enumerate() {
                        *t = img[ch * h * w + at];
                    }
                }
            }
        }
        let norms = if cosine {
            p.chunks(row)
                .map(|pr| (pr.iter().map(|v| v * v).sum::<f32>() + 1e-8).sqrt())
                .collect()
        } else {
            vec![1.0; ho * wo]
        };
        (p, norms)
    }
}

/// [`conv`] as one CPU op on the padded input (rayon over images).
struct ConvOp {
    w: std::sync::Arc<ConvWeights>,
    cosine: bool,
}

impl candle_core::CustomOp1 for ConvOp {
    fn name(&self) -> &'static str {
        "hebb-conv"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, w), x) = nchw_slice(storage, layout, "hebb-conv")?;
        let wt = &*self.w;
        if c != wt.c || h < wt.k || w < wt.k {
            candle_core::bail!("hebb-conv: input {n}×{c}×{h}×{w} does not fit its weights")
        }
        let (ho, wo, cout) = (h + 1 - wt.k, w + 1 - wt.k, wt.cout);
        let row = wt.k * wt.k * c;
        let mut out = vec![0f32; n * cout * ho * wo];
        if !out.is_empty() {
            out.par_chunks_mut(cout * ho * wo)
                .zip(x.par_chunks(c * h * w))
                .for_each(|(o, img)| {
                    let (p, norms) = wt.patches(img, (h, w), self.cosine);
                    let mut u = vec![0f32; ho * wo * cout];
                    super::gemm::matmul_nt_serial(&p, &wt.rows, &mut u, ho * wo, cout, row);
                    for (r, (ur, &s)) in u.chunks(cout).zip(&norms).enumerate() {
                        for (ch, &v) in ur.iter().enumerate() {
                            o[ch * ho * wo + r] = v / s;
                        }
                    }
                });
        }
        Ok(nchw_output(out, (n, cout, ho, wo)))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (x, y, g) = (arg.contiguous()?, res.contiguous()?, grad.contiguous()?);
        Ok(Some(x.apply_op3_no_bwd(
            &y,
            &g,
            &ConvGrad {
                w: self.w.clone(),
                cosine: self.cosine,
            },
        )?))
    }
}

/// The input gradient of [`ConvOp`] from its input, output and cotangent:
/// per patch `Wᵀ·g/s − p·(g·y)/s²` (the second term only under the cosine,
/// whose `y = W·p/s`), scattered back onto the input (col2im).
struct ConvGrad {
    w: std::sync::Arc<ConvWeights>,
    cosine: bool,
}

impl candle_core::CustomOp3 for ConvGrad {
    fn name(&self) -> &'static str {
        "hebb-conv-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &candle_core::CpuStorage,
        xl: &candle_core::Layout,
        ys: &candle_core::CpuStorage,
        yl: &candle_core::Layout,
        gs: &candle_core::CpuStorage,
        gl: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, w), x, y, g) =
            nchw_slices3([(xs, xl), (ys, yl), (gs, gl)], "hebb-conv-grad")?;
        let wt = &*self.w;
        let (k, cout) = (wt.k, wt.cout);
        let (ho, wo) = (h + 1 - k, w + 1 - k);
        let (plane, row) = (ho * wo, k * k * c);
        if y.len() != n * cout * plane || g.len() != y.len() {
            candle_core::bail!("hebb-conv-grad: output and cotangent do not fit the input")
        }
        let mut out = vec![0f32; x.len()];
        if !out.is_empty() {
            out.par_chunks_mut(c * h * w)
                .zip(x.par_chunks(c * h * w))
                .zip(y.par_chunks(cout * plane).zip(g.par_chunks(cout * plane)))
                .for_each(|((gx, img), (yi, gi))| {
                    let (p, norms) = wt.patches(img, (h, w), self.cosine);
                    // g/s per patch, rows by patch.
                    let mut gs = vec![0f32; plane * cout];
                    for (r, (gr, &s)) in gs.chunks_mut(cout).zip(&norms).enumerate() {
                        for (ch, v) in gr.iter_mut().enumerate() {
                            *v = gi[ch * plane + r] / s;
                        }
                    }
                    let mut gp = vec![0f32; plane * row];
                    super::gemm::matmul_nt_serial(&gs, &wt.cols, &mut gp, plane, row, cout);
                    for (r, (gpr, pr)) in gp.chunks_mut(row).zip(p.chunks(row)).enumerate() {
                        if self.cosine {
                            let s = norms[r];
                            let gy: f32 = (0..cout)
                                .map(|ch| gi[ch * plane + r] * yi[ch * plane + r])
                                .sum();
                            let coef = gy / (s * s);
                            for (v, &pv) in gpr.iter_mut().zip(pr) {
                                *v -= coef * pv;
                            }
                        }
                        let (yy, xx) = (r / wo, r % wo);
                        for dy in 0..k {
                            for dx in 0..k {
                                let tap = &gpr[(dy * k + dx) * c..][..c];
                                let at = (yy + dy) * w + xx + dx;
                                for (ch, &t) in tap.iter().enumerate() {
                                    gx[ch * h * w + at] += t;
                                }
                            }
                        }
                    }
                });
        }
        Ok(nchw_output(out, (n, c, h, w)))
    }
}

/// The `k×k` patches of an already padded `x` (NCHW) as `(n·ho·wo) ×
/// (k·k·c)` rows, in the CPU engine's im2col order: rows by (image, y, x),
/// columns by (tap, channel).
///
/// One `index_select` gathers every tap, so autograd sees one node (its
/// backward one `index_add`) where k·k narrow slices would each cost a
/// zero-padded copy and an addition of the whole input's size; the
/// receptive-field ascent spent most of its time there.
pub fn patches(x: &Tensor, k: usize) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let (ho, wo) = (h + 1 - k, wd + 1 - k);
    if k == 1 {
        return Ok(x
            .reshape((n, c, h * wd))?
            .transpose(1, 2)?
            .reshape((n * h * wd, c))?
            .contiguous()?);
    }
    // Source pixel of (tap, y, x), taps in (dy, dx) order.
    let mut idx = Vec::with_capacity(k * k * ho * wo);
    for dy in 0..k {
        for dx in 0..k {
            for y in 0..ho {
                for xx in 0..wo {
                    idx.push(((y + dy) * wd + xx + dx) as u32);
                }
            }
        }
    }
    let idx = Tensor::from_vec(idx, k * k * ho * wo, x.device())?;
    // (n, c, k·k, ho·wo) → (n, ho·wo, k·k, c) → (n·ho·wo, k·k·c).
    Ok(x.reshape((n, c, h * wd))?
        .index_select(&idx, 2)?
        .reshape((n, c, k * k, ho * wo))?
        .permute((0, 3, 2, 1))?
        .contiguous()?
        .reshape((n * ho * wo, k * k * c))?)
}

impl HebbConv {
    /// The first `channels` of the layer's response to `x` (NCHW) with the
    /// current weights, as [`HebbConv::activate`] computes it, with `pad`
    /// (the layer's own, or 0 for the report's unpadded receptive fields).
    /// Computed alone, they are exact: every output channel depends only on
    /// its own weights (a depthwise one on its own input channel), the
    /// cosine's patch norm on no weight and the surround on its own channel.
    pub fn forward_tensor_first(&self, x: &Tensor, pad: usize, channels: usize) -> Result<Tensor> {
        let s = &self.spec;
        let dev = x.device();
        let (_, cin, _, _) = x.dims4()?;
        if cin != s.cin {
            return Err(Error::Shape(format!(
                "layer expects {} input channels, got {cin}",
                s.cin
            )));
        }
        let n = channels.min(s.cout);
        let mut xp = reflect_pad(x, pad)?;
        if s.depthwise && n < s.cout {
            xp = xp.narrow(1, 0, n)?;
        }
        let taps = s.k * s.k;
        let w = self.forward_weights();
        let mut u = if s.depthwise {
            depthwise(
                &xp,
                &Tensor::from_slice(&w[..n * taps], (n, taps), dev)?,
                s.k,
            )?
        } else {
            conv(&xp, &w, n, s.k, s.activation == Activation::Cosine)?
        };
        if s.depthwise && s.activation == Activation::Cosine {
            let sq = xp.sqr()?;
            let n2 = depthwise(&sq, &Tensor::ones((1, taps), sq.dtype(), dev)?, s.k)?;
            u = u.broadcast_div(&(n2 + 1e-8)?.sqrt()?)?;
        }
        if let Some(kernel) = self.surround_kernel() {
            u = surround(&u, kernel)?;
        }
        Ok(u)
    }
}

/// The surround's `size×size` DoG `kernel` (row-major) applied to every
/// channel of NCHW `u`, zero-padded to keep its size.
fn surround(u: &Tensor, kernel: &[f32]) -> Result<Tensor> {
    let size = (kernel.len() as f64).sqrt() as usize;
    let r = size / 2;
    let kern = Tensor::from_slice(kernel, (1, size * size), u.device())?;
    depthwise_padded(u, &kern, size, r)
}

impl HebbConv {
    /// One learning pass in candle ops, as [`HebbConv::forward`] with
    /// `learn`: the response to `x` (NCHW, any device) and, for a plastic
    /// layer, its update, kept until [`HebbConv::apply_update_tensor`]. The
    /// competition and the rule run in their candle forms
    /// ([`Competition::compete_tensor`](super::competition::Competition::compete_tensor),
    /// [`PlasticityRule::delta_tensor`](super::rule::PlasticityRule::delta_tensor)).
    pub fn learn_tensor(&mut self, x: &Tensor) -> Result<Tensor> {
        let s = &self.spec;
        let dev = x.device().clone();
        let (n, cin, h, wd) = x.dims4()?;
        if cin != s.cin {
            return Err(Error::Shape(format!(
                "layer expects {} input channels, got {cin}",
                s.cin
            )));
        }
        let (ho, wo) = self.out_hw(h, wd);
        let fan = s.fan_in();
        self.last_macs = (n * ho * wo * s.cout * fan) as u64;
        let p = patches(&reflect_pad(x, s.pad)?, s.k)?;
        let w_fwd = Tensor::from_slice(&self.forward_weights(), (s.cout, fan), &dev)?;
        let rows = n * ho * wo;
        let mut u = if s.depthwise {
            // u[r, c] = Σ_t p[r, t·C + c] · w[c, t].
            p.reshape((rows, fan, s.cout))?
                .broadcast_mul(&w_fwd.t()?.unsqueeze(0)?)?
                .sum(1)?
        } else {
            p.matmul(&w_fwd.t()?)?
        };
        if s.activation == Activation::Cosine {
            let sq = p.sqr()?;
            let n2 = if s.depthwise {
                sq.reshape((rows, fan, s.cout))?.sum(1)?
            } else {
                sq.sum_keepdim(1)?
            };
            u = u.broadcast_div(&(n2 + 1e-8)?.sqrt()?)?;
        }
        let to_nchw = |rows: &Tensor| -> Result<Tensor> {
            Ok(rows
                .reshape((n, ho, wo, s.cout))?
                .permute((0, 3, 1, 2))?
                .contiguous()?)
        };
        let mut y = to_nchw(&u)?;
        if let Some(kernel) = self.surround_kernel() {
            y = surround(&y, kernel)?;
            u = y
                .permute((0, 2, 3, 1))?
                .reshape((n * ho * wo, s.cout))?
                .contiguous()?;
        }
        if s.plastic {
            let w_learn = Tensor::from_slice(&self.learning_weights(), (s.cout, fan), &dev)?;
            if let Some(d) = self.competition.layer_delta_tensor(x, &w_learn, s.k, s.pad) {
                self.pending_tensor = Some(d?);
                return Ok(y);
            }
            let post = if s.depthwise {
                // Competition across the locations of each channel: one row
                // per (image, channel), then back to one row per location.
                let by_channel = y.reshape((n * s.cout, ho * wo))?;
                let post = self.competition.compete_tensor(&by_channel, 1)?;
                let back = |t: Tensor| -> Result<Tensor> {
                    Ok(t.reshape((n, s.cout, ho * wo))?
                        .transpose(1, 2)?
                        .reshape((rows, s.cout))?
                        .contiguous()?)
                };
                PostTensor {
                    a: back(post.a)?,
                    decay: post.decay.map(back).transpose()?,
                }
            } else {
                self.competition.compete_tensor(&u, ho * wo)?
            };
            let corr = TensorCorrelator {
                patches: &p,
                depthwise: s.depthwise,
            };
            let d = self.rule.delta_tensor(&corr, &post, &w_learn)?;
            self.pending_tensor = Some(d);
        }
        Ok(y)
    }

    /// The update the last [`HebbConv::learn_tensor`] computed, before its
    /// normalisation (for tests that compare engines).
    pub fn pending_delta_tensor(&self) -> Option<&Tensor> {
        self.pending_tensor.as_ref()
    }

    /// The candle engine's [`HebbConv::apply_update`]: `w += rate · ΔW /
    /// max|ΔW|`, with SoftHebb's per-unit rate where the layer has one, and
    /// Dale's reflection; computed on the update's device.
    pub fn apply_update_tensor(&mut self) -> Result<()> {
        let Some(d) = self.pending_tensor.take() else {
            return Ok(());
        };
        let s = &self.spec;
        let max = d
            .abs()?
            .max_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_scalar::<f32>()?;
        if !max.is_finite() {
            return Err(Error::Diverged(format!(
                "non-finite Hebbian update in a {}→{} layer",
                s.cin, s.cout
            )));
        }
        let inv = 1.0 / (max as f64 + 1e-30);
        let w = Tensor::from_slice(&self.w, d.shape(), d.device())?;
        let step = match s.lr_norm_power {
            Some(power) => {
                let norm = w.sqr()?.sum_keepdim(1)?.sqrt()?;
                let rate = ((norm - 1.0)?.abs()? + 1e-10)?.powf(power as f64)?;
                d.broadcast_mul(&rate.affine(s.lr as f64 * inv, 0.0)?)?
            }
            None => d.affine(s.lr as f64 * inv, 0.0)?,
        };
        let mut w = (w + step)?;
        if s.dale && s.dale_reflect {
            w = w.abs()?;
        }
        self.w = w.flatten_all()?.to_vec1()?;
        Ok(())
    }
}

/// BatchNorm on running statistics (no affine), per channel of NCHW `x`.
pub fn batchnorm(bn: &BatchNorm, x: &Tensor) -> Result<Tensor> {
    let c = bn.mean.len();
    let dev = x.device();
    let mean = Tensor::from_slice(&bn.mean, (1, c, 1, 1), dev)?;
    let inv: Vec<f32> = bn.var.iter().map(|v| 1.0 / (v + bn.eps).sqrt()).collect();
    let inv = Tensor::from_vec(inv, (1, c, 1, 1), dev)?;
    Ok(x.broadcast_sub(&mean)?.broadcast_mul(&inv)?)
}

/// BatchNorm while learning, as [`BatchNorm::apply`] with `train`: `x`
/// normalised by its own per-channel statistics (biased variance), and the
/// running statistics moved towards them (unbiased variance).
pub fn batchnorm_train(bn: &mut BatchNorm, x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let rows = (n * h * w) as f64;
    let mean = x.mean_keepdim((0, 2, 3))?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
    let (m, v): (Vec<f32>, Vec<f32>) = (
        mean.flatten_all()?.to_vec1()?,
        var.flatten_all()?.to_vec1()?,
    );
    let unbiased = rows / (rows - 1.0).max(1.0);
    for j in 0..c {
        bn.mean[j] = (1.0 - bn.momentum) * bn.mean[j] + bn.momentum * m[j];
        bn.var[j] = (1.0 - bn.momentum) * bn.var[j] + bn.momentum * (v[j] as f64 * unbiased) as f32;
    }
    Ok(centred.broadcast_div(&(var + bn.eps as f64)?.sqrt()?)?)
}

/// SoftHebb's Triangle: the mean over channels subtracted at each location,
/// rectified, raised to `power` (a 1e-12 floor under the power keeps its
/// gradient finite at zero; the value moves by under 1e-8).
///
/// Under autograd on the CPU it is one [`TriangleOp`] (the receptive-field
/// ascent spent a fifth of its time in the six ops and their gradients);
/// elsewhere candle ops, so training and features are untouched.
pub fn triangle(x: &Tensor, power: f32) -> Result<Tensor> {
    if fused(x) {
        return Ok(x.contiguous()?.apply_op1(TriangleOp { power })?);
    }
    triangle_ops(x, power)
}

/// Below this the Triangle's power is not taken (see [`triangle`]).
const TRIANGLE_FLOOR: f64 = 1e-12;

/// [`triangle`] in candle ops, any device.
fn triangle_ops(x: &Tensor, power: f32) -> Result<Tensor> {
    let r = x.broadcast_sub(&x.mean_keepdim(1)?)?.relu()?;
    if power == 1.0 {
        return Ok(r);
    }
    let floor = TRIANGLE_FLOOR;
    Ok(((r + floor)?.powf(power as f64)? - floor.powf(power as f64))?)
}

/// NCHW dimensions.
type Dims4 = (usize, usize, usize, usize);

/// The contiguous f32 data of a CPU tensor as NCHW dims and a slice.
fn nchw_slice<'a>(
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
    op: &str,
) -> candle_core::Result<(Dims4, &'a [f32])> {
    let dims = layout.shape().dims4()?;
    match (layout.contiguous_offsets(), storage) {
        (Some((start, end)), candle_core::CpuStorage::F32(all)) => Ok((dims, &all[start..end])),
        _ => candle_core::bail!("{op} needs a contiguous f32 tensor"),
    }
}

/// A gradient op's input, output and cotangent, with the input's dims.
type GradInputs<'a> = (Dims4, &'a [f32], &'a [f32], &'a [f32]);

/// A gradient op's three inputs (input, output, cotangent) as slices, with
/// the first one's NCHW dims.
fn nchw_slices3<'a>(
    [(xs, xl), (ys, yl), (gs, gl)]: [(&'a candle_core::CpuStorage, &candle_core::Layout); 3],
    op: &str,
) -> candle_core::Result<GradInputs<'a>> {
    let (dims, x) = nchw_slice(xs, xl, op)?;
    let (_, y) = nchw_slice(ys, yl, op)?;
    let (_, g) = nchw_slice(gs, gl, op)?;
    Ok((dims, x, y, g))
}

/// A CPU op's result: `out` as an NCHW tensor of `dims`.
fn nchw_output(out: Vec<f32>, dims: Dims4) -> (candle_core::CpuStorage, candle_core::Shape) {
    (
        candle_core::CpuStorage::F32(out),
        candle_core::Shape::from(dims),
    )
}

/// The mean over the channels of one image's `c` planes of `hw` values.
fn channel_mean(img: &[f32], c: usize, hw: usize) -> Vec<f32> {
    let mut mean = vec![0f32; hw];
    for plane in img.chunks(hw) {
        for (m, &v) in mean.iter_mut().zip(plane) {
            *m += v;
        }
    }
    let inv = 1.0 / c as f32;
    mean.iter_mut().for_each(|m| *m *= inv);
    mean
}

/// [`triangle`] as one CPU op (rayon over images). Its backward needs no
/// power: for `r = x − mean > 0`, `d(r + f)^p/dr = p·(y + f^p)/(r + f)`,
/// then the channel mean of `g·d` is subtracted (the mean's adjoint).
struct TriangleOp {
    power: f32,
}

impl candle_core::CustomOp1 for TriangleOp {
    fn name(&self) -> &'static str {
        "triangle"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, w), x) = nchw_slice(storage, layout, "triangle")?;
        let (hw, p) = (h * w, self.power);
        let floor = TRIANGLE_FLOOR as f32;
        let fp = TRIANGLE_FLOOR.powf(p as f64) as f32;
        // What a zero `r` maps to, taken once: most of a Triangle's inputs
        // lie below their mean, and `powf` was a tenth of the ascent.
        let at_zero = (0f32 + floor).powf(p) - fp;
        let mut out = vec![0f32; x.len()];
        if hw > 0 && c > 0 {
            out.par_chunks_mut(c * hw)
                .zip(x.par_chunks(c * hw))
                .for_each(|(o, img)| {
                    let mean = channel_mean(img, c, hw);
                    for (op, xp) in o.chunks_mut(hw).zip(img.chunks(hw)) {
                        for ((ov, &xv), &m) in op.iter_mut().zip(xp).zip(&mean) {
                            let r = (xv - m).max(0.0);
                            *ov = if p == 1.0 {
                                r
                            } else if r == 0.0 {
                                at_zero
                            } else {
                                (r + floor).powf(p) - fp
                            };
                        }
                    }
                });
        }
        Ok(nchw_output(out, (n, c, h, w)))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (x, y, g) = (arg.contiguous()?, res.contiguous()?, grad.contiguous()?);
        Ok(Some(x.apply_op3_no_bwd(
            &y,
            &g,
            &TriangleGrad { power: self.power },
        )?))
    }
}

/// The gradient of [`TriangleOp`] from its input, output and cotangent.
struct TriangleGrad {
    power: f32,
}

impl candle_core::CustomOp3 for TriangleGrad {
    fn name(&self) -> &'static str {
        "triangle-grad"
    }

    fn cpu_fwd(
        &self,
        xs: &candle_core::CpuStorage,
        xl: &candle_core::Layout,
        ys: &candle_core::CpuStorage,
        yl: &candle_core::Layout,
        gs: &candle_core::CpuStorage,
        gl: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, w), x, y, g) =
            nchw_slices3([(xs, xl), (ys, yl), (gs, gl)], "triangle-grad")?;
        if y.len() != x.len() || g.len() != x.len() {
            candle_core::bail!("triangle-grad: input, output and cotangent differ in size")
        }
        let (hw, p) = (h * w, self.power);
        let floor = TRIANGLE_FLOOR as f32;
        let fp = TRIANGLE_FLOOR.powf(p as f64) as f32;
        let mut out = vec![0f32; x.len()];
        if hw > 0 && c > 0 {
            out.par_chunks_mut(c * hw)
                .zip(x.par_chunks(c * hw))
                .zip(y.par_chunks(c * hw).zip(g.par_chunks(c * hw)))
                .for_each(|((o, xi), (yi, gi))| {
                    let mean = channel_mean(xi, c, hw);
                    let planes = o
                        .chunks_mut(hw)
                        .zip(xi.chunks(hw))
                        .zip(yi.chunks(hw).zip(gi.chunks(hw)));
                    for ((op, xp), (yp, gp)) in planes {
                        for (j, ov) in op.iter_mut().enumerate() {
                            let r = xp[j] - mean[j];
                            let d = if r <= 0.0 {
                                0.0
                            } else if p == 1.0 {
                                1.0
                            } else {
                                p * (yp[j] + fp) / (r + floor)
                            };
                            *ov = gp[j] * d;
                        }
                    }
                    let tmean = channel_mean(o, c, hw);
                    for plane in o.chunks_mut(hw) {
                        for (ov, &t) in plane.iter_mut().zip(&tmean) {
                            *ov -= t;
                        }
                    }
                });
        }
        Ok(nchw_output(out, (n, c, h, w)))
    }
}

/// Max or average pooling with window `k`, stride `s` and zero padding `p`,
/// as [`crate::nhwc::pool`]: after a Triangle every value is ≥ 0, so a zero
/// pad never wins a max, and the average counts the padding.
pub fn pool(x: &Tensor, kind: PoolKind, k: usize, s: usize, p: usize) -> Result<Tensor> {
    let x = if p > 0 {
        x.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?
    } else {
        x.clone()
    };
    // Overlapping windows only: a k = s max stays candle's `max_pool2d`
    // (see below), whose ties and scaled gradient the ascent has always had.
    if kind == PoolKind::Max && k != s && fused(&x) {
        return max_pool_fused(&x, k, s);
    }
    Ok(match kind {
        // candle's max pool has no gradient for overlapping windows (the
        // report's 4×4 stride-2 pools): a maximum over the k² strided
        // window offsets instead.
        // A k = m·s window is an s×s non-overlapping max followed by a
        // stride-1 m×m max: the same maxima, and much cheaper to
        // differentiate than k² strided offsets. The s×s max is a reduction
        // over a reshape, not candle's `max_pool2d`, whose gradient (0.11.1)
        // scales a unique maximum's by 1/s².
        PoolKind::Max if k != s && k % s == 0 => {
            let (n, c, h, w) = x.dims4()?;
            let (hs, ws) = (h / s, w / s);
            let m = x
                .narrow(2, 0, hs * s)?
                .narrow(3, 0, ws * s)?
                .contiguous()?
                .reshape((n, c, hs, s, ws, s))?
                .max(5)?
                .max(3)?;
            let (ho, wo) = ((h - k) / s + 1, (w - k) / s + 1);
            let r = k / s;
            let mut acc: Option<Tensor> = None;
            for dy in 0..r {
                for dx in 0..r {
                    let v = m.narrow(2, dy, ho)?.narrow(3, dx, wo)?;
                    acc = Some(match acc {
                        None => v,
                        Some(a) => a.maximum(&v)?,
                    });
                }
            }
            acc.ok_or_else(|| Error::Shape("an empty pooling window".into()))?
        }
        PoolKind::Max if k != s => {
            let mut acc: Option<Tensor> = None;
            for v in window_offsets(&x, k, s)? {
                acc = Some(match acc {
                    None => v,
                    Some(a) => a.maximum(&v)?,
                });
            }
            acc.ok_or_else(|| Error::Shape("an empty pooling window".into()))?
        }
        PoolKind::Max => x.max_pool2d_with_stride(k, s)?,
        PoolKind::Avg => x.avg_pool2d_with_stride(k, s)?,
    })
}

/// The `k²` strided views of NCHW `x` (already padded), one per window
/// offset in (dy, dx) order: view `dy·k + dx` holds, at each output, the
/// window's element at that offset.
fn window_offsets(x: &Tensor, k: usize, s: usize) -> Result<Vec<Tensor>> {
    let (n, c, h, w) = x.dims4()?;
    let (ho, wo) = ((h - k) / s + 1, (w - k) / s + 1);
    // Room for whole stride groups past the last window's start.
    let x = x.pad_with_zeros(2, 0, s)?.pad_with_zeros(3, 0, s)?;
    let mut views = Vec::with_capacity(k * k);
    for dy in 0..k {
        for dx in 0..k {
            views.push(
                x.narrow(2, dy, s * ho)?
                    .reshape((n, c, ho, s, w + s))?
                    .narrow(3, 0, 1)?
                    .squeeze(3)?
                    .narrow(3, dx, s * wo)?
                    .reshape((n, c, ho, wo, s))?
                    .narrow(4, 0, 1)?
                    .squeeze(4)?,
            );
        }
    }
    Ok(views)
}

/// Max pooling of NCHW `x` (values ≥ 0; zero padding `p`) whose gradient
/// goes to the first maximum of each window in (dy, dx) order, as the CPU
/// kernel's does. Ties are common after a Triangle with power < 1, which
/// rounds many tiny inputs to one f32, and its derivative there is large,
/// so [`pool`]'s shared gradient at ties changes the step (measured: 2.8%
/// of backprop's first-layer gradient).
pub fn max_pool_first(x: &Tensor, k: usize, s: usize, p: usize) -> Result<Tensor> {
    let x = if p > 0 {
        x.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?
    } else {
        x.clone()
    };
    if fused(&x) {
        return max_pool_fused(&x, k, s);
    }
    let views = window_offsets(&x, k, s)?;
    let mut best: Option<Tensor> = None;
    for v in &views {
        let v = v.detach();
        best = Some(match best {
            None => v,
            Some(b) => b.maximum(&v)?,
        });
    }
    let best = best.ok_or_else(|| Error::Shape("an empty pooling window".into()))?;
    // Σ_j v_j·first_j with constant one-hot masks: the value is the maximum
    // exactly, and only the first maximum receives a gradient.
    let mut taken = best.zeros_like()?;
    let mut out = best.zeros_like()?;
    for v in &views {
        let first = (v.detach().eq(&best)?.to_dtype(best.dtype())? * taken.affine(-1.0, 1.0)?)?;
        taken = (taken + &first)?;
        out = (out + v.mul(&first)?)?;
    }
    Ok(out)
}

/// Max pooling of an already padded NCHW `x` as one CPU op (the ascent's),
/// its gradient to each window's first maximum in (dy, dx) order, as
/// [`max_pool_first`] and PyTorch's `max_pool2d` route it. The candle-op
/// forms cost the ascent a fifth of its time in masks and their gradients.
fn max_pool_fused(x: &Tensor, k: usize, s: usize) -> Result<Tensor> {
    let op = MaxPoolFirst {
        k,
        s,
        argmax: Default::default(),
    };
    Ok(x.contiguous()?.apply_op1(op)?)
}

/// See [`max_pool_fused`]. The forward pass keeps each output's argmax (its
/// index in the input) for the backward pass, which only scatters.
struct MaxPoolFirst {
    k: usize,
    s: usize,
    argmax: std::sync::Mutex<Vec<u32>>,
}

impl candle_core::CustomOp1 for MaxPoolFirst {
    fn name(&self) -> &'static str {
        "max-pool-first"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        use rayon::prelude::*;
        let ((n, c, h, w), x) = nchw_slice(storage, layout, "max-pool-first")?;
        let (k, s) = (self.k, self.s);
        if k == 0 || s == 0 || h < k || w < k || x.len() > u32::MAX as usize {
            candle_core::bail!("a {h}×{w} plane does not fit the {k}×{k} pool")
        }
        let (ho, wo) = ((h - k) / s + 1, (w - k) / s + 1);
        let mut out = vec![0f32; n * c * ho * wo];
        let mut arg = vec![0u32; out.len()];
        out.par_chunks_mut(ho * wo)
            .zip(arg.par_chunks_mut(ho * wo))
            .zip(x.par_chunks(h * w))
            .enumerate()
            .for_each(|(p, ((o, a), plane))| {
                for (j, (ov, av)) in o.iter_mut().zip(a.iter_mut()).enumerate() {
                    let (y0, x0) = ((j / wo) * s, (j % wo) * s);
                    let mut best = y0 * w + x0;
                    let mut bv = plane[best];
                    for dy in 0..k {
                        let row = (y0 + dy) * w + x0;
                        for (i, &v) in plane[row..row + k].iter().enumerate() {
                            // Strictly greater: the first maximum stays.
                            let gt = v > bv;
                            bv = if gt { v } else { bv };
                            best = if gt { row + i } else { best };
                        }
                    }
                    *ov = bv;
                    *av = (p * h * w + best) as u32;
                }
            });
        *self
            .argmax
            .lock()
            .map_err(|_| candle_core::Error::Msg("a poisoned pool".into()))? = arg;
        Ok(nchw_output(out, (n, c, ho, wo)))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let dims = arg.dims4()?;
        let argmax = self
            .argmax
            .lock()
            .map_err(|_| candle_core::Error::Msg("a poisoned pool".into()))?
            .clone();
        Ok(Some(
            grad.contiguous()?
                .apply_op1_no_bwd(&MaxPoolScatter { dims, argmax })?,
        ))
    }
}

/// The gradient of [`MaxPoolFirst`]: each output's cotangent added at its
/// argmax in a zero map of the input's `dims`.
struct MaxPoolScatter {
    dims: Dims4,
    argmax: Vec<u32>,
}

impl candle_core::CustomOp1 for MaxPoolScatter {
    fn name(&self) -> &'static str {
        "max-pool-scatter"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (_, g) = nchw_slice(storage, layout, "max-pool-scatter")?;
        if g.len() != self.argmax.len() {
            candle_core::bail!("max-pool-scatter: the cotangent does not match the output")
        }
        let (n, c, h, w) = self.dims;
        let mut out = vec![0f32; n * c * h * w];
        for (&gv, &i) in g.iter().zip(&self.argmax) {
            out[i as usize] += gv;
        }
        Ok(nchw_output(out, self.dims))
    }
}

/// NHWC values as an NCHW tensor on `dev`.
pub fn nchw(
    data: &[f32],
    (n, h, w, c): (usize, usize, usize, usize),
    dev: &Device,
) -> Result<Tensor> {
    Ok(Tensor::from_slice(data, (n, h, w, c), dev)?
        .permute((0, 3, 1, 2))?
        .contiguous()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x`'s gradient in `grads`, flattened.
    fn grad_of(grads: &candle_core::backprop::GradStore, x: &candle_core::Var) -> Vec<f32> {
        grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn the_fused_triangle_matches_its_candle_ops() {
        // The one-op Triangle (autograd on the CPU) against the six candle
        // ops it replaces: values and the gradient of a weighted sum, for
        // SoftHebb's powers.
        let dev = Device::Cpu;
        let (n, c, h, w) = (2usize, 5usize, 3usize, 4usize);
        let len = n * c * h * w;
        let vals: Vec<f32> = (0..len)
            .map(|i| ((i * 37) % 11) as f32 / 5.0 - 1.0)
            .collect();
        let wts: Vec<f32> = (0..len).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
        let wts = Tensor::from_vec(wts, (n, c, h, w), &dev).unwrap();
        for power in [0.7f32, 1.0, 1.4] {
            let x = candle_core::Var::from_tensor(
                &Tensor::from_vec(vals.clone(), (n, c, h, w), &dev).unwrap(),
            )
            .unwrap();
            let fused = triangle(x.as_tensor(), power).unwrap();
            let plain = triangle_ops(x.as_tensor(), power).unwrap();
            let fg = (&fused * &wts)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let pg = (&plain * &wts)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let (fv, pv): (Vec<f32>, Vec<f32>) = (
                fused.flatten_all().unwrap().to_vec1().unwrap(),
                plain.flatten_all().unwrap().to_vec1().unwrap(),
            );
            for (a, b) in [(fv, pv), (grad_of(&fg, &x), grad_of(&pg, &x))] {
                let (err, scale) = worst_difference(&a, &b);
                assert!(
                    err <= 1e-5 * scale,
                    "power {power}: off by {err} of {scale}"
                );
            }
        }
    }

    #[test]
    fn the_overlapping_max_pool_routes_each_gradient_to_its_maximum() {
        // Distinct positive values, NCHW 2×3×10×10, the report's 4×4 stride-2
        // pad-1 pool: each window's cotangent must land on its maximum (a
        // loop over windows is the reference), with nothing lost or scaled
        // (candle 0.11.1's own max_pool2d gradient scales it by 1/s²).
        let (b, c, h, w) = (2usize, 3usize, 10usize, 10usize);
        let n = b * c * h * w;
        let vals: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % n) as f32 / n as f32 + 0.01)
            .collect();
        let x = candle_core::Var::from_tensor(
            &Tensor::from_vec(vals.clone(), (b, c, h, w), &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = pool(x.as_tensor(), PoolKind::Max, 4, 2, 1).unwrap();
        let ho = (h + 2 - 4) / 2 + 1;
        assert_eq!(y.dims4().unwrap(), (b, c, ho, ho));
        let g: Vec<f32> = (0..b * c * ho * ho)
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let gt = Tensor::from_vec(g.clone(), y.shape(), &Device::Cpu).unwrap();
        let grads = (&y * &gt).unwrap().sum_all().unwrap().backward().unwrap();
        let got = grad_of(&grads, &x);
        let mut want = vec![0f32; n];
        for (o, &gv) in g.iter().enumerate() {
            let (plane, oy, ox) = (o / (ho * ho), (o / ho) % ho, o % ho);
            let best = (0..16)
                .filter_map(|t| {
                    let (yy, xx) = ((oy * 2 + t / 4) as isize - 1, (ox * 2 + t % 4) as isize - 1);
                    ((0..h as isize).contains(&yy) && (0..w as isize).contains(&xx))
                        .then(|| plane * h * w + yy as usize * w + xx as usize)
                })
                .max_by(|&i, &j| vals[i].total_cmp(&vals[j]))
                .unwrap();
            want[best] += gv;
        }
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-6, "gradient off by {err}");
    }

    #[test]
    fn reflect_padding_mirrors_without_repeating_the_edge() {
        let x = Tensor::from_vec(vec![1f32, 2., 3.], (1, 1, 1, 3), &Device::Cpu).unwrap();
        // Only the width can be padded here (height 1 < 2): pad dim 3 alone
        // through a taller copy.
        let x = Tensor::cat(&[&x, &x, &x], 2).unwrap();
        let y = reflect_pad(&x, 2).unwrap();
        let row: Vec<f32> = y
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .get(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(row, vec![3., 2., 1., 2., 3., 2., 1.]);
    }

    #[test]
    fn the_first_maximum_alone_gets_the_gradient_at_ties() {
        // A constant map: every window is one big tie. The CPU kernel sends
        // each window's cotangent to its first real element, so each output
        // adds exactly 1 to one input, and the total is the output count.
        let x = candle_core::Var::from_tensor(
            &Tensor::ones((1, 2, 8, 8), candle_core::DType::F32, &Device::Cpu).unwrap(),
        )
        .unwrap();
        let y = max_pool_first(x.as_tensor(), 4, 2, 1).unwrap();
        assert_eq!(y.dims(), &[1, 2, 4, 4]);
        let g = y.sum_all().unwrap().backward().unwrap();
        let gx = grad_of(&g, &x);
        assert_eq!(gx.iter().sum::<f32>(), 32.0);
        assert!(gx.iter().all(|v| v.fract() == 0.0), "{gx:?}");
        // The window at (0, 0) starts in the pad; its first real element is
        // (0, 0), which the window at (0, 1) does not cover.
        assert_eq!(gx[0], 1.0);
    }

    #[test]
    fn both_depthwise_forms_match_a_loop_and_the_gradient_is_the_adjoint() {
        // NCHW 2×3×6×5 against 3×3 taps, per channel and shared: values from
        // a direct loop over the definition, then the gradient of Σ g·y,
        // which for a correlation is Σ_taps g shifted back times the tap.
        let (b, c, h, wd, k) = (2usize, 3usize, 6usize, 5usize, 3usize);
        let (ho, wo) = (h + 1 - k, wd + 1 - k);
        let xv: Vec<f32> = (0..b * c * h * wd)
            .map(|i| (i as f32 * 0.61).sin())
            .collect();
        let dev = Device::Cpu;
        for shared in [false, true] {
            let rows = if shared { 1 } else { c };
            let wv: Vec<f32> = (0..rows * k * k).map(|i| (i as f32 * 0.23).cos()).collect();
            let tap = |ch: usize, t: usize| wv[if shared { t } else { ch * k * k + t }];
            let g: Vec<f32> = (0..b * c * ho * wo)
                .map(|i| (i as f32 * 0.17).cos())
                .collect();
            let mut want = vec![0f32; g.len()];
            let mut want_grad = vec![0f32; xv.len()];
            for (o, (wy, &gy)) in want.iter_mut().zip(&g).enumerate() {
                let (plane, y, x) = (o / (ho * wo), (o / wo) % ho, o % wo);
                for t in 0..k * k {
                    let i = plane * h * wd + (y + t / k) * wd + x + t % k;
                    *wy += xv[i] * tap(plane % c, t);
                    want_grad[i] += gy * tap(plane % c, t);
                }
            }
            let x = candle_core::Var::from_tensor(
                &Tensor::from_vec(xv.clone(), (b, c, h, wd), &dev).unwrap(),
            )
            .unwrap();
            let wt = Tensor::from_vec(wv.clone(), (rows, k * k), &dev).unwrap();
            // Tracked: the one-op form; plain: the narrow slices.
            let y = depthwise(x.as_tensor(), &wt, k).unwrap();
            let got: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
            let plain = depthwise(&x.as_tensor().detach(), &wt, k).unwrap();
            let got_plain: Vec<f32> = plain.flatten_all().unwrap().to_vec1().unwrap();
            let gt = Tensor::from_vec(g.clone(), y.shape(), &dev).unwrap();
            let grads = (&y * &gt).unwrap().sum_all().unwrap().backward().unwrap();
            let got_grad = grad_of(&grads, &x);
            for (name, a, e) in [
                ("values", &got, &want),
                ("plain values", &got_plain, &want),
                ("gradient", &got_grad, &want_grad),
            ] {
                let err = a
                    .iter()
                    .zip(e)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0f32, f32::max);
                assert!(err < 1e-5, "shared {shared}: {name} off by {err}");
            }
        }
    }

    #[test]
    fn the_padded_plane_correlation_sums_each_outputs_taps_in_tap_order() {
        // The one-op form under padding (the surround's, and every
        // backward's): bit for bit the direct loop that visits the taps in
        // (dy, dx) order and skips those that fall in the zero padding.
        let dev = Device::Cpu;
        for (k, pad, h, wd) in [
            (3usize, 1usize, 4usize, 7usize),
            (5, 2, 6, 5),
            (5, 4, 3, 3),
            (3, 2, 1, 2),
        ] {
            let (b, c) = (2usize, 3usize);
            let (ho, wo) = (h + 2 * pad + 1 - k, wd + 2 * pad + 1 - k);
            let xv: Vec<f32> = (0..b * c * h * wd)
                .map(|i| (i as f32 * 0.37).sin() * 3.0)
                .collect();
            let wv: Vec<f32> = (0..c * k * k).map(|i| (i as f32 * 0.71).cos()).collect();
            let mut want = vec![0f32; b * c * ho * wo];
            for (o, wy) in want.iter_mut().enumerate() {
                let (plane, y, x) = (o / (ho * wo), (o / wo) % ho, o % wo);
                for t in 0..k * k {
                    let (iy, ix) = (y + t / k, x + t % k);
                    if iy < pad || ix < pad || iy - pad >= h || ix - pad >= wd {
                        continue;
                    }
                    *wy += wv[(plane % c) * k * k + t]
                        * xv[plane * h * wd + (iy - pad) * wd + ix - pad];
                }
            }
            let x = candle_core::Var::from_tensor(
                &Tensor::from_vec(xv.clone(), (b, c, h, wd), &dev).unwrap(),
            )
            .unwrap();
            let wt = Tensor::from_vec(wv.clone(), (c, k * k), &dev).unwrap();
            let got: Vec<f32> = depthwise_padded(x.as_tensor(), &wt, k, pad)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(got, want, "k {k}, pad {pad}, plane {h}×{wd}");
        }
    }

    #[test]
    fn the_fused_max_pool_matches_the_first_maximum_candle_ops() {
        // The one-op pool (autograd on the CPU) against `max_pool_first`'s
        // candle ops, on values with many ties (quantised to eighths) and
        // the report's 4×4 stride-2, 2×2 and 3×3 stride-2 windows: the same
        // maxima and the same gradient, each window's to its first maximum.
        let dev = Device::Cpu;
        let (b, c, h, w) = (2usize, 3usize, 9usize, 10usize);
        let vals: Vec<f32> = (0..b * c * h * w)
            .map(|i| (((i * 7919) % 13) as f32 / 8.0).floor())
            .collect();
        for (k, s, p) in [(4usize, 2usize, 1usize), (3, 2, 0), (4, 2, 0), (2, 2, 0)] {
            let pass = || {
                let x = candle_core::Var::from_tensor(
                    &Tensor::from_vec(vals.clone(), (b, c, h, w), &dev).unwrap(),
                )
                .unwrap();
                let y = max_pool_first(x.as_tensor(), k, s, p).unwrap();
                let g: Vec<f32> = (0..y.elem_count())
                    .map(|i| (i as f32 * 0.37).sin())
                    .collect();
                let gt = Tensor::from_vec(g, y.shape(), &dev).unwrap();
                let grads = (&y * &gt).unwrap().sum_all().unwrap().backward().unwrap();
                let yv: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
                (yv, grad_of(&grads, &x))
            };
            let (fy, fg) = pass();
            let (cy, cg) = with_composed_ops(pass);
            assert_eq!(fy, cy, "values, k {k} s {s} p {p}");
            let (err, scale) = worst_difference(&fg, &cg);
            assert!(
                err <= 1e-6 * scale,
                "gradient, k {k} s {s} p {p}: off by {err}"
            );
            if k == s {
                continue;
            }
            // `pool` under autograd takes the same op for overlapping windows.
            let x = candle_core::Var::from_tensor(
                &Tensor::from_vec(vals.clone(), (b, c, h, w), &dev).unwrap(),
            )
            .unwrap();
            let py: Vec<f32> = pool(x.as_tensor(), PoolKind::Max, k, s, p)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            assert_eq!(py, fy, "pool, k {k} s {s} p {p}");
        }
    }
}
