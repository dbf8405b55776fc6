//! Receptive fields by projected gradient ascent, as the report's
//! `receptive_field.py` (`L2ProjGradientDescent`, Figs. 22–26): through the
//! frozen network with every padding removed, an input the size of the
//! unit's receptive field starts at zero plus a tiny random direction; each
//! step moves it along the normalised gradient of the unit's summed
//! response, projects it back onto the L2 sphere of radius ε around the
//! start and clamps it to [0, 1]. Gradients come from candle's autograd
//! through [`HebbNet::forward_tensor`].

use candle_core::{Device, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::Result;
pub use crate::models::analysis::Frozen;

crate::config! {
    /// Settings of the ascent (defaults: the report's `visualize_filters`).
    pub struct AscentConfig {
        /// Gradient steps.
        pub steps: usize = 500,
        /// Step length relative to ε (`rel_stepsize`, the report's
        /// `step_size` 0.001).
        pub rel_step: f64 = 0.001,
        /// Radius of the L2 sphere the input stays on (the report's 255/255).
        pub epsilon: f64 = 1.0,
    }
}

/// Maximises, for each `units[b]`, the summed response of that channel of
/// `forward`'s output over inputs of shape `(c, h, w)`, all units in one
/// batch (images do not interact in a frozen network, so each image's
/// gradient is its own unit's); returns the inputs (`units × c × h × w`)
/// and the response each reaches.
pub fn ascend(
    forward: &dyn Fn(&Tensor) -> Result<Tensor>,
    (c, h, w): (usize, usize, usize),
    units: &[usize],
    cfg: &AscentConfig,
    rng: &mut impl Rng,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let dev = Device::Cpu;
    let (b, d) = (units.len(), c * h * w);
    let eps = cfg.epsilon;
    // The report's random start: 1e-5·ε along a random unit direction.
    let mut start = Vec::with_capacity(b * d);
    for _ in 0..b {
        let r: Vec<f32> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
        let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        start.extend(r.iter().map(|v| (1e-5 * eps) as f32 * v / norm));
    }
    let mut x = Tensor::from_vec(start, (b, c, h, w), &dev)?;
    // Each image's own unit: a one-hot mask over the output channels.
    let responses = |t: &Tensor| -> Result<Tensor> {
        let y = forward(t)?;
        let ch = y.dim(1)?;
        let mut mask = vec![0f32; b * ch];
        for (i, &u) in units.iter().enumerate() {
            if u < ch {
                mask[i * ch + u] = 1.0;
            }
        }
        let mask = Tensor::from_vec(mask, (b, ch, 1, 1), &dev)?;
        Ok(y.broadcast_mul(&mask)?.sum((1, 2, 3))?)
    };
    let per_image_norm =
        |t: &Tensor| -> Result<Tensor> { Ok(t.sqr()?.sum_keepdim((1, 2, 3))?.sqrt()?) };
    for _ in 0..cfg.steps {
        let v = Var::from_tensor(&x)?;
        let total = responses(v.as_tensor())?.sum_all()?;
        let grads = total.backward()?;
        let Some(g) = grads.get(v.as_tensor()) else {
            break;
        };
        // Ascent on each response along its normalised gradient (the report
        // descends on the negative), then back onto the sphere of radius ε
        // around the zero start, then into [0, 1].
        let g = g.broadcast_div(&(per_image_norm(g)? + 1e-8)?)?;
        let moved = (&x + (g * (cfg.rel_step * eps))?)?;
        let n = per_image_norm(&moved)?.clamp(1e-12f32, f32::MAX)?;
        x = (moved.broadcast_div(&n)? * eps)?.clamp(0f32, 1f32)?;
    }
    let acts = responses(&x)?.to_vec1()?;
    Ok((x.flatten_all()?.to_vec1()?, acts))
}

/// The receptive fields of the first `units` channels of each layer in
/// `layers` (indices in forward order): per layer `(index, size, images
/// of units × channels × size × size)`.
pub fn of_network(
    net: &dyn Frozen,
    units: usize,
    layers: &[usize],
    cfg: &AscentConfig,
    rng: &mut impl Rng,
) -> Result<Vec<(usize, usize, Vec<f32>)>> {
    let mut out = Vec::new();
    let cin = net.input_channels();
    for i in 0..net.layer_count() {
        if !layers.contains(&i) {
            continue;
        }
        let Some(size) = net.receptive_size(i) else {
            break;
        };
        let ids: Vec<usize> = (0..units.min(net.layer_channels(i))).collect();
        let forward = |t: &Tensor| net.response(t, i, ids.len());
        let (images, _) = ascend(&forward, (cin, size, size), &ids, cfg, rng)?;
        out.push((i, size, images));
    }
    Ok(out)
}

/// The cosine of the angle between `a` and `b` (tests of the ascent).
#[cfg(test)]
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b)).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::hebb_cnn::HebbNet;
    use rand::SeedableRng;

    #[test]
    fn the_first_channels_alone_match_the_whole_layer() {
        // Every layer kind a receptive field is read from (plain conv,
        // depthwise, pointwise, residual 1×1s), with the cosine and the
        // surround: the wanted layer's first 5 channels computed alone must
        // equal those channels of the full response.
        use crate::hebb::layer::{Activation, CosineNorm};
        use crate::models::hebb_cnn::LayerOptions;
        for arch in ["softhebb", "softhebb_depthwise", "softhebb_residual"] {
            for cosine in [CosineNorm::Kernel, CosineNorm::PerTap] {
                let opts = LayerOptions {
                    activation: Activation::Cosine,
                    cosine,
                    surround: true,
                    width: 0.125,
                    ..Default::default()
                };
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
                let net = HebbNet::build(arch, &opts, &mut rng).unwrap();
                for i in 0..net.layers().len() {
                    let size = net.receptive_size(i).unwrap();
                    let x = Tensor::rand(0f32, 1f32, (2, 3, size, size), &Device::Cpu).unwrap();
                    let all = net.forward_tensor(&x, true, Some(i)).unwrap();
                    let n = 5.min(all.dim(1).unwrap());
                    let want: Vec<f32> = all
                        .narrow(1, 0, n)
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1()
                        .unwrap();
                    let got: Vec<f32> = net
                        .forward_tensor_first(&x, true, Some(i), n)
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1()
                        .unwrap();
                    assert_eq!(got.len(), want.len(), "{arch} layer {i}");
                    let (err, scale) = crate::hebb::tensor::worst_difference(&got, &want);
                    assert!(
                        err <= 1e-5 * scale,
                        "{arch} {cosine:?} layer {i}: off by {err} of {scale}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_fused_cpu_ops_match_candle_ops_in_value_and_gradient() {
        // Under autograd on the CPU the ascent's pass takes one-op forms (the
        // Triangle, padded plane correlations, 1×1 products, k×k patch
        // products with their cosine): every architecture's every layer, plain and with
        // the per-tap cosine and the surround, must give the candle ops'
        // response and input gradient.
        use crate::hebb::layer::{Activation, CosineNorm};
        use crate::hebb::tensor::{with_composed_ops, worst_difference};
        use crate::models::hebb_cnn::LayerOptions;
        let archs = [
            "softhebb",
            "hardhebb",
            "lagani_short",
            "lagani_long",
            "softhebb_depthwise",
            "hardhebb_depthwise",
            "softhebb_residual",
        ];
        for arch in archs {
            for (activation, surround) in [(Activation::Plain, false), (Activation::Cosine, true)] {
                let opts = LayerOptions {
                    activation,
                    cosine: CosineNorm::PerTap,
                    surround,
                    width: 0.125,
                    ..Default::default()
                };
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
                let net = HebbNet::build(arch, &opts, &mut rng).unwrap();
                for i in 0..net.layers().len() {
                    let size = net.receptive_size(i).unwrap();
                    let vals: Vec<f32> = (0..2 * 3 * size * size).map(|_| rng.random()).collect();
                    let pass = || {
                        let x = Var::from_tensor(
                            &Tensor::from_vec(vals.clone(), (2, 3, size, size), &Device::Cpu)
                                .unwrap(),
                        )
                        .unwrap();
                        let y = net
                            .forward_tensor_first(x.as_tensor(), true, Some(i), 5)
                            .unwrap();
                        let n = y.elem_count();
                        let wts: Vec<f32> = (0..n).map(|j| ((j * 7) % 5) as f32 - 2.0).collect();
                        let wts = Tensor::from_vec(wts, y.shape(), &Device::Cpu).unwrap();
                        let grads = (&y * wts).unwrap().sum_all().unwrap().backward().unwrap();
                        let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
                        let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
                        (y, g.to_vec1::<f32>().unwrap())
                    };
                    let (fy, fg) = pass();
                    let (cy, cg) = with_composed_ops(pass);
                    for (what, a, b) in [("response", fy, cy), ("gradient", fg, cg)] {
                        assert_eq!(a.len(), b.len(), "{arch} layer {i} {what}");
                        let (err, scale) = worst_difference(&a, &b);
                        // float32 summation orders differ; the worst case,
                        // the residual network's last layer through nine
                        // cosine-normalised layers, read 1.5e-4.
                        assert!(
                            err <= 3e-4 * scale,
                            "{arch} {activation:?} surround {surround} layer {i} {what}: off by {err} of {scale}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_report_draws_each_residual_blocks_depthwise_layer_only() {
        // experiment_hebbian_residual.py L293–295 draws conv1, res1.conv2 and
        // res2.conv2: layers 0, 2 and 6 of [conv1, (expand, dw, project,
        // shortcut) × 2]; the other scripts draw every Hebbian layer.
        use crate::models::hebb_cnn::LayerOptions;
        let opts = LayerOptions {
            width: 0.125,
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for (arch, want) in [
            ("softhebb_residual", vec![0, 2, 6]),
            ("softhebb", vec![0, 1, 2]),
            ("softhebb_depthwise", vec![0, 1, 2, 3, 4]),
            ("lagani_long", vec![0, 1, 2, 3]),
        ] {
            let net = HebbNet::build(arch, &opts, &mut rng).unwrap();
            assert_eq!(net.report_drawn_layers(), want, "{arch}");
        }
    }

    #[test]
    fn the_ascent_finds_each_linear_units_filter() {
        // Two linear units u_k = Σ w_k·x over a 3×5×5 input, non-negative
        // filters (the clamp to [0, 1] keeps each optimum ε·w/‖w‖ reachable),
        // ascended in one batch: each image must end along its own filter.
        let dev = Device::Cpu;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let w: Vec<f32> = (0..150).map(|_| rng.random::<f32>()).collect();
        let wt = Tensor::from_vec(w.clone(), (2, 3, 5, 5), &dev).unwrap();
        let forward = |t: &Tensor| -> Result<Tensor> { Ok(t.conv2d(&wt, 0, 1, 1, 1)?) };
        let cfg = AscentConfig::default();
        let (x, acts) = ascend(&forward, (3, 5, 5), &[1, 0], &cfg, &mut rng).unwrap();
        for (img, unit) in [(0, 1), (1, 0)] {
            let xi = &x[img * 75..(img + 1) * 75];
            let wk = &w[unit * 75..(unit + 1) * 75];
            let dot: f32 = xi.iter().zip(wk).map(|(a, b)| a * b).sum();
            let nx = xi.iter().map(|v| v * v).sum::<f32>().sqrt();
            let cos = cosine(xi, wk);
            assert!(cos > 0.99, "image {img}: cosine {cos}");
            assert!((acts[img] - dot).abs() < 1e-3 * dot.max(1.0));
            assert!((nx - 1.0).abs() < 1e-3, "stays on the ε sphere: {nx}");
        }
    }
}
