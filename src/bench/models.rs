//! Bench kernels of the non-convolutional models: the Krotov–Hopfield
//! minibatch step, one Földiák trial, and topographic-coder steps. Inputs
//! are synthetic but shaped like the real data (bars, 784-pixel vectors).

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Kernel;
use crate::data::bars::Bars;
use crate::error::Result;
use crate::models::foldiak::{Foldiak, FoldiakRates, Settling};
use crate::models::krotov::KrotovHopfield;
use crate::models::topographic::{TopoConfig, Topographic};

/// Krotov, Földiák and topographic kernels.
pub fn kernels(quick: bool) -> Result<Vec<Kernel>> {
    let mut out = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (hidden, d) = (2000usize, 784usize);
    let batches: &[usize] = if quick { &[100] } else { &[100, 1000] };
    for &b in batches {
        let mut m = KrotovHopfield::random(hidden, d, 3.0, 7, 0.4, &mut rng, &Device::Cpu)?;
        let v: Vec<f32> = (0..b * d).map(|_| rng.random::<f32>()).collect();
        let v = Tensor::from_vec(v, (b, d), &Device::Cpu)?;
        out.push(Kernel {
            name: format!("krotov_step/h2000_b{b}"),
            flops: 4.0 * (hidden * d * b) as f64,
            counted: "currents W·v plus the update g·v: 2 × 2·H·D·B",
            items: b as f64,
            run: Box::new(move || m.step(&v, 0.02)),
        });
    }
    // Földiák on 8×8 bars, 16 units, with the tuned rates; the network is
    // first trained for 1200 trials so that settling is representative.
    let bars = Bars::uniform(8, 8, 1.0 / 8.0);
    let settling = Settling {
        tau: 10.0,
        tol: 1e-3,
        max_steps: 200,
    };
    let rates = FoldiakRates {
        alpha: 0.2,
        beta: 0.02,
        gamma: 0.05,
        lambda: 10.0,
    };
    let mut net = Foldiak::new(16, 64, vec![1.0 / 8.0; 16], &mut rng);
    let mut x = vec![0f32; 64];
    for _ in 0..1200 {
        bars.sample_into(&mut rng, &mut x);
        net.trial(&x, rates, settling);
    }
    let samples: Vec<Vec<f32>> = (0..256)
        .map(|_| {
            let mut x = vec![0f32; 64];
            bars.sample_into(&mut rng, &mut x);
            x
        })
        .collect();
    // FLOPs from the mean settling steps: drive 2·n·m, per step 2·n² + 4n,
    // update 2·n·m + 2·n² (n units, m inputs).
    let mut probe = net.clone();
    let steps: usize = samples
        .iter()
        .map(|x| probe.trial(x, rates, settling))
        .sum();
    let mean_steps = steps as f64 / samples.len() as f64;
    let (n, m) = (16f64, 64f64);
    let mut i = 0;
    out.push(Kernel {
        name: "foldiak_trial/bars8x8_16units".into(),
        flops: 4.0 * n * m + mean_steps * (2.0 * n * n + 4.0 * n) + 2.0 * n * n,
        counted: "2·n·m drive + steps·(2n²+4n) settling + 2·n·m + 2·n² update (mean steps)",
        items: 1.0,
        run: Box::new(move || {
            net.trial(&samples[i % samples.len()], rates, settling);
            i += 1;
            Ok(())
        }),
    });
    // An MNIST-sized trial (784 inputs, 56 units).
    let mut big = Foldiak::new(56, 784, vec![0.1; 56], &mut rng);
    let digits: Vec<Vec<f32>> = (0..64)
        .map(|_| {
            (0..784)
                .map(|_| (rng.random::<f32>() < 0.2) as u8 as f32)
                .collect()
        })
        .collect();
    let mut j = 0;
    out.push(Kernel {
        name: "foldiak_trial/mnist784_56units".into(),
        flops: 4.0 * 56.0 * 784.0,
        counted: "feedforward drive + update only (2·2·n·m); settling excluded",
        items: 1.0,
        run: Box::new(move || {
            big.trial(&digits[j % digits.len()], rates, settling);
            j += 1;
            Ok(())
        }),
    });
    // Topographic coder, 20×20 = 400 units on 784 inputs: 1000 samples.
    let cfg = TopoConfig {
        kx: 20,
        ky: 20,
        ex: 2,
        sp: 0.0125,
        xi: 0.02,
        gamma: 0.01,
        prec: 1e-10,
    };
    let mut topo = Topographic::new(cfg, 784, &mut rng);
    let vs: Vec<Vec<f32>> = (0..1000)
        .map(|_| {
            let v: Vec<f32> = (0..784).map(|_| rng.random::<f32>()).collect();
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.into_iter().map(|a| a / n).collect()
        })
        .collect();
    out.push(Kernel {
        name: "topographic_steps/400units_x1000".into(),
        flops: 1000.0 * 3.0 * 2.0 * 400.0 * 784.0,
        counted: "per sample: W·v, reconstruction Wᵀ·o and the update, 3 × 2·K·D",
        items: 1000.0,
        run: Box::new(move || {
            topo.steps(vs.iter().map(|v| v.as_slice()));
            Ok(())
        }),
    });
    Ok(out)
}
