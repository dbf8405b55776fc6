//! The Hebbian convolution layer: forward activation, optional surround
//! inhibition, and a local weight update composed from a competition and a
//! plasticity rule.

use std::borrow::Cow;

use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::competition::{self, Competition, Post};
use super::gemm::{matmul_nt, Mat};
use super::presynaptic::{Presynaptic, PresynapticApply};
use super::rule::{self, Correlator, PlasticityRule};
use super::surround;
use crate::config::PartSpec;
use crate::error::{Error, Result};
use crate::nhwc::{im2col_into, zeros, Map, Padding};

/// How a unit's response to a patch is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `u = w·x` (a plain convolution).
    #[default]
    Plain,
    /// `u = (w/‖w‖)·x / ‖x‖`: cosine similarity between kernel and patch.
    Cosine,
}

/// What the cosine activation normalises the kernel over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CosineNorm {
    /// The whole fan-in of a unit: a true cosine similarity.
    #[default]
    Kernel,
    /// Each tap's vector across input channels, as the report's `cosine()`
    /// does (hebb.py L213, `F.normalize(w, p=2, dim=1)` on an `(out, in,
    /// kh, kw)` kernel): every tap gets unit norm, so a `k×k` kernel has
    /// norm `k`, and a depthwise kernel (one input channel) becomes sign(w).
    PerTap,
}

/// Everything that defines one Hebbian conv layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HebbConvSpec {
    /// Input channels.
    pub cin: usize,
    /// Output channels (units).
    pub cout: usize,
    /// Kernel size.
    pub k: usize,
    /// Reflect padding on each side.
    pub pad: usize,
    /// One `k×k` kernel per channel (`cout == cin`); competition runs over
    /// the locations of each channel.
    pub depthwise: bool,
    /// How a unit's response is computed.
    pub activation: Activation,
    /// The kernel normalisation of the cosine activation.
    pub cosine: CosineNorm,
    /// Normalise kernels to unit length before the forward pass.
    pub weight_norm: bool,
    /// Difference-of-Gaussians lateral inhibition on the activations
    /// (only for `k > 1`, as in the report).
    pub surround: bool,
    /// Dale's principle: the forward pass uses `|w|`, so every synapse of a
    /// unit has the same (excitatory) sign.
    pub dale: bool,
    /// Under Dale's principle, store `|w|` after every step, as the report's
    /// hebb_abs_depthwise `local_update` does (L361–363,
    /// `self.weight.copy_(new_weight.abs())`), instead of keeping the sign
    /// of the stored weights and taking `|w|` only in the forward pass.
    pub dale_reflect: bool,
    /// Presynaptic competition between each unit's couplings.
    pub presynaptic: Option<Presynaptic>,
    /// The plasticity rule and its parameters.
    pub rule: PartSpec,
    /// The competition mode and its parameters.
    pub competition: PartSpec,
    /// Which block of its network the layer is (parts' per-block values).
    pub block: usize,
    /// Step size for the normalised update.
    pub lr: f32,
    /// SoftHebb's per-unit schedule: `lr·(|‖w‖−1| + 1e-10)^power`.
    pub lr_norm_power: Option<f32>,
    /// Whether learning passes change the weights. Off, a learning pass
    /// still runs (so BatchNorm gathers its statistics) but the weights keep
    /// their initial values: the random-weights control.
    pub plastic: bool,
}

impl Default for HebbConvSpec {
    /// A 1×1, one-in one-out plain Instar layer with no competition, at the
    /// report's hard-WTA step of 0.1: literals name only what differs.
    fn default() -> Self {
        HebbConvSpec {
            cin: 1,
            cout: 1,
            k: 1,
            pad: 0,
            depthwise: false,
            activation: Activation::Plain,
            cosine: CosineNorm::Kernel,
            weight_norm: false,
            surround: false,
            dale: false,
            dale_reflect: false,
            presynaptic: None,
            rule: "instar".into(),
            competition: "none".into(),
            block: 0,
            lr: 0.1,
            lr_norm_power: None,
            plastic: true,
        }
    }
}

impl HebbConvSpec {
    /// Weights per unit.
    pub fn fan_in(&self) -> usize {
        if self.depthwise {
            self.k * self.k
        } else {
            self.k * self.k * self.cin
        }
    }
}

/// A Hebbian conv layer. Weights are `cout × (k·k·cin)` in (tap, channel)
/// order (depthwise: `c × k·k`).
pub struct HebbConv {
    /// What defines the layer.
    pub spec: HebbConvSpec,
    /// Weights, `cout × fan_in`.
    pub w: Vec<f32>,
    pub(super) rule: Box<dyn PlasticityRule>,
    pub(super) competition: Box<dyn Competition>,
    sm_kernel: Vec<f32>,
    /// The last batch's im2col buffer, reused by the next.
    patch_buf: Vec<f32>,
    /// The last batch's update and `1/max|ΔW|`.
    pending: Option<(Vec<f32>, f32)>,
    /// The candle engine's pending update (see `learn_tensor`).
    pub(super) pending_tensor: Option<candle_core::Tensor>,
    /// Dense multiply–accumulates of the last forward pass (FLOP counts).
    pub last_macs: u64,
    /// Ignore one-winner-per-row structure and run the dense `Aᵀ·P` GEMM
    /// (for benchmarks that show what the sparse update saves).
    pub dense_update: bool,
}

const SM_SIZE: usize = 5;

impl HebbConv {
    /// Builds the layer with weights `N(0,1)·25/√(cin·k·k)` drawn from `rng`.
    pub fn new(spec: HebbConvSpec, rng: &mut impl Rng) -> Result<Self> {
        let competition = competition::build(&spec.competition, spec.block)?;
        if spec.depthwise && !competition.supports_depthwise() {
            return Err(Error::Params(format!(
                "competition `{}` at these settings is defined for ordinary (not depthwise) layers",
                spec.competition.name
            )));
        }
        if spec.depthwise && spec.cin != spec.cout {
            return Err(Error::Params(format!(
                "a depthwise layer needs as many outputs as inputs ({} ≠ {})",
                spec.cout, spec.cin
            )));
        }
        let range = 25.0 / ((spec.cin * spec.k * spec.k) as f32).sqrt();
        let n = spec.cout * spec.fan_in();
        let w: Vec<f32> = (0..n)
            .map(|_| {
                let v = range * rng.sample::<f32, _>(StandardNormal);
                if spec.dale {
                    v.abs()
                } else {
                    v
                }
            })
            .collect();
        Ok(HebbConv {
            rule: rule::build(&spec.rule, spec.cout)?,
            competition,
            sm_kernel: surround::dog_kernel(SM_SIZE, 1.2, 1.4),
            spec,
            w,
            pending: None,
            pending_tensor: None,
            patch_buf: Vec::new(),
            last_macs: 0,
            dense_update: false,
        })
    }

    /// The weights the forward pass and the decay term see: `|w|` under
    /// Dale's principle, modulated by presynaptic competition (borrowed
    /// when neither applies).
    pub fn effective_weights(&self) -> Cow<'_, [f32]> {
        let s = &self.spec;
        if !s.dale && s.presynaptic.is_none() {
            return Cow::Borrowed(&self.w);
        }
        let mut w: Vec<f32> = if s.dale {
            self.w.iter().map(|v| v.abs()).collect()
        } else {
            self.w.clone()
        };
        if let Some(pre) = &s.presynaptic {
            let (taps, cin) = if s.depthwise {
                (s.k * s.k, 1)
            } else {
                (s.k * s.k, s.cin)
            };
            let c = pre.coefficients(&w, s.cout, taps, cin);
            match pre.apply {
                PresynapticApply::Scale => w.iter_mut().zip(c).for_each(|(a, b)| *a *= b),
                PresynapticApply::Replace => w = c,
            }
        }
        Cow::Owned(w)
    }

    /// The weights the forward pass multiplies by (`cout × fan_in`, rows in
    /// `[tap][channel]` order): the effective weights, normalised as the
    /// activation asks (per tap under the report's cosine, per kernel under
    /// the true cosine or `weight_norm`).
    pub fn forward_weights(&self) -> Cow<'_, [f32]> {
        let s = &self.spec;
        let cosine = s.activation == Activation::Cosine;
        let mut w = self.effective_weights();
        if cosine && s.cosine == CosineNorm::PerTap {
            // Per-tap groups are the (tap, channel) rows' runs of `cin`
            // values (one value each for depthwise kernels).
            let group = if s.depthwise { 1 } else { s.cin };
            normalise_rows(w.to_mut(), group);
        } else if cosine || s.weight_norm {
            normalise_rows(w.to_mut(), s.fan_in());
        }
        w
    }

    /// The surround kernel (`5×5`, row-major) when the layer applies one.
    pub fn surround_kernel(&self) -> Option<&[f32]> {
        (self.spec.surround && self.spec.k > 1).then_some(self.sm_kernel.as_slice())
    }

    /// The weights the rule's decay term sees: the effective weights,
    /// normalised per unit when the layer normalises its weights (the
    /// report's `compute_activation` returns `normalize(w)` under `w_nrm`
    /// and `compute_update` decays towards it). Cosine layers normalise
    /// only inside the activation, so their decay sees the raw weights.
    pub fn learning_weights(&self) -> Cow<'_, [f32]> {
        let mut w = self.effective_weights();
        if self.spec.weight_norm {
            normalise_rows(w.to_mut(), self.spec.fan_in());
        }
        w
    }

    /// Output spatial size for an input of `h×w`.
    pub fn out_hw(&self, h: usize, w: usize) -> (usize, usize) {
        let s = &self.spec;
        (h + 2 * s.pad + 1 - s.k, w + 2 * s.pad + 1 - s.k)
    }

    /// Multiply–accumulates of one forward pass over `x`'s shape (dense).
    pub fn forward_macs(&self, n: usize, h: usize, w: usize) -> u64 {
        let (ho, wo) = self.out_hw(h, w);
        (n * ho * wo * self.spec.cout * self.spec.fan_in()) as u64
    }

    /// Computes the activations; with `learn`, also the update, kept until
    /// [`HebbConv::apply_update`].
    pub fn forward(&mut self, x: &Map, learn: bool) -> Result<Map> {
        let (pm, y) = self.activate(x)?;
        if learn && self.spec.plastic {
            let w = self.learning_weights().into_owned();
            let s = &self.spec;
            match self.competition.layer_delta(x, &w, s.cout, s.k, s.pad) {
                Some(d) => self.set_pending(d?)?,
                None => self.learn(&pm, &y, &w)?,
            }
        }
        self.patch_buf = pm.data;
        Ok(y)
    }

    /// The forward pass: im2col, `U = P·Wᵀ` (cosine-normalised when asked),
    /// surround inhibition. Returns the patches too, so that the update
    /// reuses them.
    pub fn activate(&mut self, x: &Map) -> Result<(Mat, Map)> {
        let s = &self.spec;
        if x.c != s.cin {
            return Err(Error::Shape(format!(
                "layer expects {} input channels, got {}",
                s.cin, x.c
            )));
        }
        let buf = std::mem::take(&mut self.patch_buf);
        let (p, ho, wo) = im2col_into(x, s.k, s.pad, Padding::Reflect, buf);
        let rows = x.n * ho * wo;
        let cols = p.len() / rows.max(1);
        self.last_macs = (rows * s.cout * s.fan_in()) as u64;
        let pm = Mat::from_vec(p, rows, cols)?;
        let fan = s.fan_in();
        let w_fwd = self.forward_weights();
        let mut u = if s.depthwise {
            depthwise_forward(&pm.data, &w_fwd, rows, s.cout, fan)
        } else {
            let mut u = zeros(rows * s.cout);
            matmul_nt(&pm.data, &w_fwd, &mut u, rows, s.cout, cols);
            u
        };
        if s.activation == Activation::Cosine {
            cosine_divide(&pm.data, &mut u, rows, s.cout, s.depthwise);
        }
        let mut y = Map {
            n: x.n,
            h: ho,
            w: wo,
            c: s.cout,
            data: u,
        };
        if s.surround && s.k > 1 {
            y = surround::apply(&y, &self.sm_kernel, SM_SIZE);
        }
        Ok((pm, y))
    }

    /// The local update from one batch: competition, then the rule; the
    /// normalisation by the largest magnitude is folded into
    /// [`HebbConv::apply_update`].
    pub fn learn(&mut self, pm: &Mat, y: &Map, w_eff: &[f32]) -> Result<()> {
        let s = &self.spec;
        let post = if s.depthwise {
            let t = to_channel_rows(y);
            let post = self.competition.compete(&t, y.h * y.w, 1)?;
            from_channel_rows(post, y)
        } else {
            let mut post = self.competition.compete(&y.data, s.cout, y.h * y.w)?;
            if self.dense_update {
                post.winners = None;
            }
            post
        };
        let corr = Correlator {
            patches: pm,
            units: s.cout,
            depthwise: s.depthwise,
        };
        let d = self.rule.delta(&corr, &post, w_eff)?;
        self.set_pending(d)
    }

    /// Keeps `d` and `1/max|d|` for [`HebbConv::apply_update`].
    fn set_pending(&mut self, d: Vec<f32>) -> Result<()> {
        let s = &self.spec;
        // `f32::max` skips NaN, so NaN is mapped to infinity to be seen.
        let max = d
            .par_chunks(4096)
            .map(|c| {
                c.iter().fold(0f32, |m, v| {
                    m.max(if v.is_nan() { f32::INFINITY } else { v.abs() })
                })
            })
            .reduce(|| 0f32, f32::max);
        if !max.is_finite() {
            return Err(Error::Diverged(format!(
                "non-finite Hebbian update in a {}→{} layer",
                s.cin, s.cout
            )));
        }
        self.pending = Some((d, 1.0 / (max + 1e-30)));
        Ok(())
    }

    /// The update the last learning forward pass computed, before its
    /// normalisation (for tests that compare engines).
    pub fn pending_delta(&self) -> Option<&[f32]> {
        self.pending.as_ref().map(|(d, _)| d.as_slice())
    }

    /// Applies the update computed by the last learning forward pass:
    /// `w += rate · ΔW / max|ΔW|`.
    pub fn apply_update(&mut self) {
        let Some((d, inv)) = self.pending.take() else {
            return;
        };
        let s = &self.spec;
        let fan = s.fan_in();
        let (lr, power) = (s.lr, s.lr_norm_power);
        self.w
            .par_chunks_mut(fan)
            .zip(d.par_chunks(fan))
            .for_each(|(w, d)| {
                let rate = match power {
                    Some(p) => {
                        let norm = w.iter().map(|v| v * v).sum::<f32>().sqrt();
                        lr * ((norm - 1.0).abs() + 1e-10).powf(p)
                    }
                    None => lr,
                };
                crate::kernels::axpy(rate * inv, d, w);
            });
        if s.dale && s.dale_reflect {
            self.w.par_iter_mut().for_each(|v| *v = v.abs());
        }
    }
}

/// Scales every row of `fan` weights to unit L2 norm.
fn normalise_rows(w: &mut [f32], fan: usize) {
    w.par_chunks_mut(fan).for_each(|r| {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= n);
    });
}

/// `u[r, c] = Σ_t p[r, t·C + c] · w[c, t]`.
fn depthwise_forward(p: &[f32], w: &[f32], rows: usize, c: usize, taps: usize) -> Vec<f32> {
    let cols = c * taps;
    let mut u = zeros(rows * c);
    u.par_chunks_mut(c).enumerate().for_each(|(r, ur)| {
        let pr = &p[r * cols..(r + 1) * cols];
        for t in 0..taps {
            let seg = &pr[t * c..(t + 1) * c];
            for ch in 0..c {
                ur[ch] += seg[ch] * w[ch * taps + t];
            }
        }
    });
    u
}

/// Divides each response by the norm of the patch it saw (per channel for
/// depthwise layers): the cosine activation.
fn cosine_divide(p: &[f32], u: &mut [f32], rows: usize, c: usize, depthwise: bool) {
    let cols = p.len() / rows.max(1);
    u.par_chunks_mut(c).enumerate().for_each(|(r, ur)| {
        let pr = &p[r * cols..(r + 1) * cols];
        if depthwise {
            let taps = cols / c;
            for (ch, v) in ur.iter_mut().enumerate() {
                let n2: f32 = (0..taps).map(|t| pr[t * c + ch] * pr[t * c + ch]).sum();
                *v /= (n2 + 1e-8).sqrt();
            }
        } else {
            let n2: f32 = pr.iter().map(|v| v * v).sum();
            let inv = 1.0 / (n2 + 1e-8).sqrt();
            ur.iter_mut().for_each(|v| *v *= inv);
        }
    });
}

/// NHWC → one row per (image, channel) over locations.
fn to_channel_rows(y: &Map) -> Vec<f32> {
    let hw = y.h * y.w;
    let mut t = zeros(y.data.len());
    t.par_chunks_mut(hw * y.c)
        .zip(y.data.par_chunks(hw * y.c))
        .for_each(|(dst, src)| {
            for p in 0..hw {
                for ch in 0..y.c {
                    dst[ch * hw + p] = src[p * y.c + ch];
                }
            }
        });
    t
}

/// The inverse of [`to_channel_rows`] for a competition's result.
fn from_channel_rows(post: Post, y: &Map) -> Post {
    let hw = y.h * y.w;
    let back = |t: &[f32]| {
        let mut m = zeros(t.len());
        m.par_chunks_mut(hw * y.c)
            .zip(t.par_chunks(hw * y.c))
            .for_each(|(dst, src)| {
                for ch in 0..y.c {
                    for p in 0..hw {
                        dst[p * y.c + ch] = src[ch * hw + p];
                    }
                }
            });
        m
    };
    Post {
        a: back(&post.a),
        decay: post.decay.as_deref().map(back),
        winners: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A 1×1 layer with 2 inputs and 2 units, weights set to `w`.
    fn unit_layer(rule: &str, competition: &str, activation: Activation, w: [f32; 4]) -> HebbConv {
        let spec = HebbConvSpec {
            cin: 2,
            cout: 2,
            activation,
            rule: rule.into(),
            competition: competition.into(),
            lr: 1.0,
            ..Default::default()
        };
        let mut l = HebbConv::new(spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
        l.w = w.to_vec();
        l
    }

    fn input(x: [f32; 2]) -> Map {
        Map {
            n: 1,
            h: 1,
            w: 1,
            c: 2,
            data: x.to_vec(),
        }
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn softhebb_update_matches_equation_32_by_hand() {
        // x = [1,2], W = I → u = [1,2]; softmax = [1/(1+e), e/(1+e)] =
        // [0.26894, 0.73106]; unit 1 wins, so y = [-0.26894, 0.73106].
        // Δw_i = y_i·(x − u_i·w_i): Δw_0 = -0.26894·([1,2] − [1,0]) = [0, -0.53788];
        // Δw_1 = 0.73106·([1,2] − 2·[0,1]) = [0.73106, 0]. Normalised by
        // max|Δ| = 0.73106 and added with lr 1.
        let mut l = unit_layer(
            "instar",
            "soft_wta",
            Activation::Plain,
            [1.0, 0.0, 0.0, 1.0],
        );
        let y = l.forward(&input([1.0, 2.0]), true).unwrap();
        close(&y.data, &[1.0, 2.0]);
        l.apply_update();
        close(&l.w, &[1.0, -0.53788 / 0.73106, 1.0, 1.0]);
    }

    #[test]
    fn hard_wta_instar_moves_only_the_winner() {
        // u = [1,2] → unit 1 wins with y = 2: Δw_1 = 2·[1,2] − 2·[0,1] = [2,2],
        // unit 0 unchanged; normalised → [1,1].
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Plain,
            [1.0, 0.0, 0.0, 1.0],
        );
        l.forward(&input([1.0, 2.0]), true).unwrap();
        l.apply_update();
        close(&l.w, &[1.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn weight_norm_decays_towards_the_normalised_weights() {
        // W = 2·I, x = [1,2]. With weight_norm the forward pass uses ŵ = I:
        // u = [1,2], unit 1 wins with y = 2, Δw_1 = 2·[1,2] − 2·[0,1] = [2,2]
        // → normalised [1,1] → w_1 = [0,2] + [1,1] = [1,3]. Without it,
        // u = [2,4], y = 4, Δw_1 = 4·[1,2] − 4·[0,2] = [4,0] → w_1 = [1,2].
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Plain,
            [2.0, 0.0, 0.0, 2.0],
        );
        l.spec.weight_norm = true;
        let y = l.forward(&input([1.0, 2.0]), true).unwrap();
        close(&y.data, &[1.0, 2.0]);
        l.apply_update();
        close(&l.w, &[2.0, 0.0, 1.0, 3.0]);
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Plain,
            [2.0, 0.0, 0.0, 2.0],
        );
        l.forward(&input([1.0, 2.0]), true).unwrap();
        l.apply_update();
        close(&l.w, &[2.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn bcm_threshold_and_update_by_hand() {
        // Hard-WTA keeps y = [0, 2]. θ starts at 1: θ = 0.5·1 + 0.5·mean(y²)
        // = [0.5, 2.5]. y(y − θ) = [0, 2·(−0.5)] = [0, −1] → Δw_1 = −[1,2],
        // normalised → [−0.5, −1].
        let mut l = unit_layer("bcm", "hard_wta", Activation::Plain, [1.0, 0.0, 0.0, 1.0]);
        l.forward(&input([1.0, 2.0]), true).unwrap();
        l.apply_update();
        close(&l.w, &[1.0, 0.0, -0.5, 0.0]);
    }

    #[test]
    fn plain_hebb_and_no_competition() {
        // No competition: y = u = [1, 2]; Δw_i = y_i·x = [[1,2],[2,4]] → /4.
        let mut l = unit_layer("hebb", "none", Activation::Plain, [1.0, 0.0, 0.0, 1.0]);
        l.forward(&input([1.0, 2.0]), true).unwrap();
        l.apply_update();
        close(&l.w, &[1.25, 0.5, 0.5, 2.0]);
    }

    #[test]
    fn cosine_activation_by_hand() {
        // x = [3,4] (‖x‖ = 5); w_0 = [2,0] → ŵ_0 = [1,0] → 3/5; w_1 = [0,−1]
        // → ŵ_1 = [0,−1] → −4/5.
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Cosine,
            [2.0, 0.0, 0.0, -1.0],
        );
        let y = l.forward(&input([3.0, 4.0]), false).unwrap();
        close(&y.data, &[0.6, -0.8]);
    }

    /// A 3×3 kernel over 2 channels, input all ones but for one patch value.
    fn per_tap_layer(depthwise: bool) -> HebbConv {
        let cin = 2;
        let spec = HebbConvSpec {
            cin,
            cout: if depthwise { 2 } else { 1 },
            k: 3,
            pad: 0,
            depthwise,
            activation: Activation::Cosine,
            cosine: CosineNorm::PerTap,
            competition: "hard_wta".into(),
            ..Default::default()
        };
        HebbConv::new(spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap()
    }

    /// One 3×3 image, channel 0 all 1 and channel 1 all 2.
    fn two_channel_patch() -> Map {
        Map {
            n: 1,
            h: 3,
            w: 3,
            c: 2,
            data: [1.0, 2.0].repeat(9),
        }
    }

    #[test]
    fn per_tap_cosine_by_hand() {
        // Report hebb.py L213–222: ŵ[o,:,i,j] = w[o,:,i,j]/‖w[o,:,i,j]‖, then
        // conv(x, ŵ)/√conv(x², 1). One unit, 3×3 taps over 2 channels; tap 0
        // has w = (3, 4) → ŵ = (0.6, 0.8); every other tap w = (1, 0) → (1, 0).
        // Input: channel 0 all 1, channel 1 all 2 (one 3×3 patch):
        // Σ ŵ·x = (0.6 + 1.6) + 8·1 = 10.2; ‖x‖ = √(9·1 + 9·4) = √45.
        let mut l = per_tap_layer(false);
        let mut w = [1.0, 0.0].repeat(9);
        w[0] = 3.0;
        w[1] = 4.0;
        l.w = w;
        let x = two_channel_patch();
        let y = l.forward(&x, false).unwrap();
        close(&y.data, &[10.2 / 45f32.sqrt()]);
        // The whole-kernel cosine of the same weights: ‖w‖ = √(25 + 8) = √33,
        // Σ w·x = 3 + 8 + 8 = 19.
        l.spec.cosine = CosineNorm::Kernel;
        let y = l.forward(&x, false).unwrap();
        close(&y.data, &[19.0 / (33f32.sqrt() * 45f32.sqrt())]);
    }

    #[test]
    fn per_tap_cosine_of_a_depthwise_kernel_is_its_sign() {
        // One input channel per kernel: ŵ = sign(w). Channel 0's kernel is
        // −2 at tap 0 and 0.5 elsewhere → ŵ = (−1, 1, …, 1); input 1 everywhere
        // in channel 0: (−1 + 8)/√9 = 7/3. Channel 1: kernel 0.25 everywhere,
        // input 2: 9·2/√(9·4) = 3.
        let mut l = per_tap_layer(true);
        let mut w = vec![0.5; 9];
        w[0] = -2.0;
        w.extend(vec![0.25; 9]);
        l.w = w;
        let x = two_channel_patch();
        let y = l.forward(&x, false).unwrap();
        close(&y.data, &[7.0 / 3.0, 3.0]);
    }

    #[test]
    fn presynaptic_replace_uses_the_couplings_as_weights() {
        // Report §3.3.8 and hebb.py compute_activation L237: w ← m/Σm with
        // m = 1/(|w|+1e-6), over the input channels at each tap (linear kind).
        // w_0 = [1, 3] → m = [1, 1/3] → [0.75, 0.25]; w_1 = [−2, 2] → [0.5, 0.5].
        // x = [1, 2]: u = [0.75 + 0.5, 0.5 + 1] = [1.25, 1.5]. Scaling instead
        // gives w⊙m̂ = [0.75, 0.75] and [−1, 1]: u = [2.25, 1].
        use crate::hebb::presynaptic::{PresynapticDim, PresynapticKind};
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Plain,
            [1.0, 3.0, -2.0, 2.0],
        );
        let mut pre = Presynaptic {
            kind: PresynapticKind::Linear,
            dim: PresynapticDim::Input,
            apply: PresynapticApply::Replace,
        };
        l.spec.presynaptic = Some(pre);
        let y = l.forward(&input([1.0, 2.0]), false).unwrap();
        close(&y.data, &[1.25, 1.5]);
        pre.apply = PresynapticApply::Scale;
        l.spec.presynaptic = Some(pre);
        let y = l.forward(&input([1.0, 2.0]), false).unwrap();
        close(&y.data, &[2.25, 1.0]);
    }

    #[test]
    fn dale_reflect_stores_absolute_weights_after_a_step() {
        // Hard-WTA, x = [1, 2]; the forward pass and decay see |w|. Stored
        // w_1 = [−0.1, −3] → |w_1| = [0.1, 3], u = [1, 6.1]: unit 1 wins with
        // y = 6.1, Δw_1 = 6.1·([1, 2] − [0.1, 3]) = [5.49, −6.1] → /6.1 =
        // [0.9, −1]: w_1 = [0.8, −4] kept as is, or [0.8, 4] reflected.
        for (reflect, want) in [(false, [0.8, -4.0]), (true, [0.8, 4.0])] {
            let mut l = unit_layer(
                "instar",
                "hard_wta",
                Activation::Plain,
                [1.0, 0.0, -0.1, -3.0],
            );
            l.spec.dale = true;
            l.spec.dale_reflect = reflect;
            l.forward(&input([1.0, 2.0]), true).unwrap();
            l.apply_update();
            close(&l.w, &[1.0, 0.0, want[0], want[1]]);
        }
    }

    #[test]
    fn a_layer_without_plasticity_keeps_its_weights() {
        let mut l = unit_layer(
            "instar",
            "soft_wta",
            Activation::Plain,
            [1.0, 0.0, 0.0, 1.0],
        );
        l.spec.plastic = false;
        l.forward(&input([1.0, 2.0]), true).unwrap();
        l.apply_update();
        close(&l.w, &[1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn dale_uses_absolute_weights() {
        let mut l = unit_layer(
            "instar",
            "hard_wta",
            Activation::Plain,
            [-1.0, 0.0, 0.0, -1.0],
        );
        l.spec.dale = true;
        let y = l.forward(&input([1.0, 2.0]), false).unwrap();
        close(&y.data, &[1.0, 2.0]);
    }

    #[test]
    fn sparse_winner_update_equals_the_dense_gemm() {
        // Random patches and winners: the one-row-per-location path must
        // agree with Aᵀ·P computed densely.
        use rand::Rng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (rows, cols, units) = (37, 11, 5);
        let p: Vec<f32> = (0..rows * cols)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        let u: Vec<f32> = (0..rows * units).map(|_| rng.random::<f32>()).collect();
        let post = competition::HardWta.compete(&u, units, rows).unwrap();
        let pm = Mat::from_vec(p, rows, cols).unwrap();
        let corr = Correlator {
            patches: &pm,
            units,
            depthwise: false,
        };
        let sparse = corr.yx(&post.a, post.winners.as_deref()).unwrap();
        let dense = corr.yx(&post.a, None).unwrap();
        close(&sparse, &dense);
    }

    #[test]
    fn depthwise_layer_competes_over_locations() {
        // One channel, 1×3 image [1, 3, 2], 1×1 kernel w = 1: hard-WTA over
        // locations picks x = 3; Δw = 3·3 − 3·1 = 6 → normalised 1.
        let spec = HebbConvSpec {
            depthwise: true,
            competition: "hard_wta".into(),
            lr: 1.0,
            ..Default::default()
        };
        let mut l = HebbConv::new(spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
        l.w = vec![1.0];
        let x = Map {
            n: 1,
            h: 1,
            w: 3,
            c: 1,
            data: vec![1.0, 3.0, 2.0],
        };
        l.forward(&x, true).unwrap();
        l.apply_update();
        close(&l.w, &[2.0]);
    }

    #[test]
    fn unknown_rule_lists_the_valid_ones() {
        let spec = HebbConvSpec {
            rule: "ojas".into(),
            ..unit_layer("instar", "none", Activation::Plain, [0.0; 4]).spec
        };
        let err = HebbConv::new(spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("instar, hebb, bcm"), "{err}");
    }
}
