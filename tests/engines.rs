//! The candle forward pass of the Hebbian networks against the CPU kernels,
//! on real CIFAR-10 images, for every architecture and option a Table 3 row
//! uses: after a few learning batches (so that weights and BatchNorm
//! statistics are not at their init), both engines' outputs agree to a
//! relative error of 1e-4 (f32 sums of up to ~14k products in a different
//! order differ by ~1e-6 relative; the tolerance leaves room for that
//! growing through three blocks and the Triangle's power).

use candle_core::Device;
use hebbench::data::transforms::normalise_channels;
use hebbench::hebb::presynaptic::Presynaptic;
use hebbench::hebb::tensor::nchw;
use hebbench::hebb::{Activation, CosineNorm};
use hebbench::models::hebb_cnn::{HebbNet, LayerOptions};
use hebbench::nhwc::gather_chw;
use rand::SeedableRng;

fn cifar_batch(n: usize) -> (Vec<f32>, usize) {
    let dir = std::env::var("HEBBENCH_DATA").expect("HEBBENCH_DATA names the datasets");
    let store = hebbench::data::DataStore::new(Some(dir.into()));
    let lock = hebbench::data::Lock::builtin().unwrap();
    let ds = hebbench::data::Dataset::load("cifar10", &store, &lock).unwrap();
    let d = ds.image_len();
    let mut x = ds.train.limited(Some(n), d).unit_floats();
    normalise_channels(&mut x, 32 * 32);
    (x, n)
}

#[test]
fn the_candle_forward_pass_matches_the_cpu_kernels_on_real_images() {
    let (x, n) = cifar_batch(48);
    let cos = |c| LayerOptions {
        competition: "hard_wta".into(),
        activation: Activation::Cosine,
        cosine: c,
        width: 0.25,
        ..Default::default()
    };
    let pre: Presynaptic = serde_json::from_value(
        serde_json::json!({"kind": "softmax", "dim": "input", "apply": "replace"}),
    )
    .unwrap();
    let cases: Vec<(&str, &str, LayerOptions)> = vec![
        (
            "soft-wta",
            "softhebb",
            LayerOptions {
                competition: "soft_wta".into(),
                lr: vec![0.08, 0.005, 0.01],
                lr_norm_power: Some(0.5),
                width: 0.25,
                ..Default::default()
            },
        ),
        (
            "hard-wta per-tap cosine",
            "softhebb",
            cos(CosineNorm::PerTap),
        ),
        (
            "true cosine + surround",
            "softhebb",
            LayerOptions {
                surround: true,
                ..cos(CosineNorm::Kernel)
            },
        ),
        (
            "per-tap cosine + surround",
            "softhebb",
            LayerOptions {
                surround: true,
                ..cos(CosineNorm::PerTap)
            },
        ),
        ("lagani", "lagani_short", cos(CosineNorm::PerTap)),
        ("lagani deep", "lagani_long", cos(CosineNorm::PerTap)),
        (
            "depthwise",
            "softhebb_depthwise",
            LayerOptions {
                surround: true,
                ..cos(CosineNorm::PerTap)
            },
        ),
        (
            "dale depthwise",
            "hardhebb_depthwise",
            LayerOptions {
                surround: true,
                dale: true,
                dale_reflect: true,
                ..cos(CosineNorm::PerTap)
            },
        ),
        (
            "residual",
            "softhebb_residual",
            LayerOptions {
                surround: true,
                ..cos(CosineNorm::PerTap)
            },
        ),
        (
            "presynaptic",
            "softhebb",
            LayerOptions {
                presynaptic: Some(pre),
                ..cos(CosineNorm::PerTap)
            },
        ),
        (
            "weight norm, plain",
            "softhebb",
            LayerOptions {
                weight_norm: true,
                ..cos(CosineNorm::Kernel)
            },
        ),
        (
            "bcm",
            "softhebb",
            LayerOptions {
                rule: "bcm".into(),
                ..cos(CosineNorm::PerTap)
            },
        ),
    ];
    for (name, arch, mut opts) in cases {
        if name.starts_with("weight norm") {
            opts.activation = Activation::Plain;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut net = HebbNet::build(arch, &opts, &mut rng).unwrap();
        let idx: Vec<usize> = (0..n).collect();
        let flips = vec![false; 16];
        for chunk in idx.chunks(16).take(2) {
            net.forward(gather_chw(&x, chunk, &flips, 3, 32, 32), true)
                .unwrap();
        }
        let probe: Vec<usize> = (32..48).collect();
        let m = gather_chw(&x, &probe, &flips, 3, 32, 32);
        let t = nchw(&m.data, (m.n, m.h, m.w, m.c), &Device::Cpu).unwrap();
        let cpu = net.forward(m, false).unwrap();
        let got = net.forward_tensor(&t, false, None).unwrap();
        let got: Vec<f32> = got
            .permute((0, 2, 3, 1))
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(got.len(), cpu.data.len(), "{name}");
        let scale = cpu.data.iter().fold(0f32, |a, v| a.max(v.abs())).max(1e-12);
        let err = got
            .iter()
            .zip(&cpu.data)
            .fold(0f32, |a, (g, c)| a.max((g - c).abs()));
        eprintln!(
            "{name}: {} outputs, largest {scale:.3e}, max error {:.2e} relative",
            got.len(),
            err / scale
        );
        assert!(scale > 1e-6, "{name}: an all-zero output proves nothing");
        assert!(
            err / scale < 1e-4,
            "{name}: max |candle − cpu| = {err}, {:.2e} of the largest output",
            err / scale
        );
    }
}
