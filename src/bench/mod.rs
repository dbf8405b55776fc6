//! Throughput of hebbench's hot paths, measured against this machine's own
//! float32 GEMM rate in the same process, so that figures from different
//! machines can be compared as ratios.
//!
//! `hebbench bench` prints, per kernel: the FLOPs of one call and how they
//! are counted, the median time, achieved GFLOP/s and the ratio to GEMM.
//! The criterion benches in `bench/` time the same kernels.

mod models;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::hebb::gemm::GemmProbe;
use crate::hebb::{Activation, HebbConv, HebbConvSpec, Map};
use crate::models::hebb_cnn::{HebbNet, LayerOptions};

/// One timed operation.
pub struct Kernel {
    /// The name `hebbench bench` reports it under.
    pub name: String,
    /// FLOPs of one call.
    pub flops: f64,
    /// How `flops` was counted.
    pub counted: &'static str,
    /// Work per call in the kernel's natural unit (images, samples, trials).
    pub items: f64,
    /// One call of the operation.
    pub run: Box<dyn FnMut() -> Result<()>>,
}

/// What one kernel achieved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// The kernel's name.
    pub name: String,
    /// FLOPs of one call.
    pub flops: f64,
    /// How `flops` was counted.
    pub counted: String,
    /// Median seconds per call.
    pub median_s: f64,
    /// Achieved GFLOP/s at the median.
    pub gflops: f64,
    /// Achieved GFLOP/s ÷ the GEMM rate measured in the same process,
    /// interleaved with this kernel's own samples.
    pub gemm_ratio: f64,
    /// Items (images, samples, trials) per second at the median.
    pub items_per_s: f64,
}

/// A whole bench run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The GEMM rate measured in the same process.
    pub gemm_gflops: f64,
    /// Every kernel's measurement.
    pub kernels: Vec<Measurement>,
}

/// Median wall time of `reps` calls after one warm-up call.
pub fn median_time(f: &mut dyn FnMut() -> Result<()>, reps: usize) -> Result<f64> {
    f()?;
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let s = std::time::Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64());
    }
    Ok(median(t))
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Times `k` against the yardstick: `reps` samples of the kernel, each
/// right after one GEMM sample. A sample of a short kernel (under 2 ms)
/// times enough calls to last about 2 ms. Returns the kernel's median
/// seconds per call and the median GEMM GFLOP/s of its own window.
fn interleaved(k: &mut Kernel, probe: &mut GemmProbe, reps: usize) -> Result<(f64, f64)> {
    let once = median_time(&mut k.run, 1)?;
    let calls = ((2e-3 / once.max(1e-9)).ceil() as usize).clamp(1, 100_000);
    let from = probe.samples.len();
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        probe.sample()?;
        let s = std::time::Instant::now();
        for _ in 0..calls {
            (k.run)()?;
        }
        t.push(s.elapsed().as_secs_f64() / calls as f64);
    }
    probe.sample()?;
    Ok((median(t), probe.gflops_since(from)))
}

fn random_map(n: usize, h: usize, w: usize, c: usize, rng: &mut ChaCha8Rng) -> Map {
    let mut m = Map::zeros(n, h, w, c);
    m.data
        .iter_mut()
        .for_each(|v| *v = rng.random::<f32>() * 2.0 - 1.0);
    m
}

fn softhebb_options(competition: &str, activation: Activation, surround: bool) -> LayerOptions {
    LayerOptions {
        competition: competition.into(),
        activation,
        surround,
        lr: vec![0.08, 0.005, 0.01],
        lr_norm_power: (competition == "soft_wta").then_some(0.5),
        ..Default::default()
    }
}

/// The SoftHebb layers (report Table 5) as (cin, cout, k, pad, input h×w).
const SOFTHEBB: [(usize, usize, usize, usize, usize); 3] =
    [(3, 96, 5, 2, 32), (96, 384, 3, 1, 16), (384, 1536, 3, 1, 8)];

fn layer(
    cin: usize,
    cout: usize,
    k: usize,
    pad: usize,
    rule: &str,
    comp: &str,
) -> Result<HebbConv> {
    let spec = HebbConvSpec {
        cin,
        cout,
        k,
        pad,
        rule: rule.into(),
        competition: comp.into(),
        lr: 0.01,
        ..Default::default()
    };
    HebbConv::new(spec, &mut ChaCha8Rng::seed_from_u64(0))
}

/// Every kernel; `quick` keeps the set CI runs in well under a minute.
pub fn kernels(quick: bool) -> Result<Vec<Kernel>> {
    let mut out: Vec<Kernel> = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let batch = 64;
    // Conv forward, one per SoftHebb layer.
    for (i, &(cin, cout, k, pad, hw)) in SOFTHEBB.iter().enumerate() {
        let mut l = layer(cin, cout, k, pad, "instar", "hard_wta")?;
        let x = random_map(batch, hw, hw, cin, &mut rng);
        let macs = l.forward_macs(batch, hw, hw) as f64;
        out.push(Kernel {
            name: format!("conv_forward/softhebb_l{}", i + 1),
            flops: 2.0 * macs,
            counted: "2·B·Ho·Wo·Cout·Cin·k² (im2col GEMM)",
            items: batch as f64,
            run: Box::new(move || l.forward(&x, false).map(|_| ())),
        });
    }
    // The update alone, per rule × competition, on SoftHebb layer 2.
    let pairs: &[(&str, &str)] = if quick {
        &[("instar", "soft_wta"), ("instar", "hard_wta")]
    } else {
        &[
            ("instar", "soft_wta"),
            ("instar", "hard_wta"),
            ("instar", "none"),
            ("instar", "statistical"),
            ("instar", "temporal"),
            ("hebb", "hard_wta"),
            ("bcm", "hard_wta"),
        ]
    };
    for &(rule, comp) in pairs {
        let (cin, cout, k, pad, hw) = SOFTHEBB[1];
        let mut l = layer(cin, cout, k, pad, rule, comp)?;
        let x = random_map(batch, hw, hw, cin, &mut rng);
        let (pm, y) = l.activate(&x)?;
        let w = l.learning_weights().into_owned();
        let macs = l.forward_macs(batch, hw, hw) as f64;
        out.push(Kernel {
            name: format!("update/l2/{rule}+{comp}"),
            flops: 2.0 * macs,
            counted: "dense Aᵀ·P: 2·B·Ho·Wo·Cout·Cin·k² (sparse modes do less)",
            items: batch as f64,
            run: Box::new(move || l.learn(&pm, &y, &w)),
        });
    }
    // Each SoftHebb layer's own training step (soft-WTA, the report's
    // per-layer temperatures and rates): forward, competition, update.
    let lr = [0.08, 0.005, 0.01];
    for (i, &(cin, cout, k, pad, hw)) in SOFTHEBB.iter().enumerate() {
        let mut l = layer(cin, cout, k, pad, "instar", "soft_wta")?;
        // Block i takes soft_wta's default temperature for that block.
        l.spec.block = i;
        l.spec.lr = lr[i];
        l.spec.lr_norm_power = Some(0.5);
        let mut l = HebbConv::new(l.spec, &mut ChaCha8Rng::seed_from_u64(i as u64))?;
        let x = random_map(batch, hw, hw, cin, &mut rng);
        let macs = l.forward_macs(batch, hw, hw) as f64;
        out.push(Kernel {
            name: format!("softhebb_layer/l{}_soft_wta", i + 1),
            flops: 4.0 * macs,
            counted: "dense forward + dense update of one layer: 4·B·Ho·Wo·Cout·Cin·k²",
            items: batch as f64,
            run: Box::new(move || {
                l.forward(&x, true)?;
                l.apply_update();
                Ok(())
            }),
        });
    }
    // A full SoftHebb training step: all three layers learn from one batch.
    let steps: &[(&str, &str, Activation, bool, bool)] = &[
        (
            "softhebb_step/soft_wta",
            "soft_wta",
            Activation::Plain,
            false,
            false,
        ),
        (
            "softhebb_step/hard_wta",
            "hard_wta",
            Activation::Plain,
            false,
            false,
        ),
        (
            "softhebb_step/hard_wta_dense_update",
            "hard_wta",
            Activation::Plain,
            false,
            true,
        ),
    ];
    for &(name, comp, act, surround, dense) in steps {
        let opts = softhebb_options(comp, act, surround);
        let mut net = HebbNet::build("softhebb", &opts, &mut ChaCha8Rng::seed_from_u64(1))?;
        for b in &mut net.blocks {
            b.set_dense_update(dense);
        }
        let x = random_map(batch, 32, 32, 3, &mut rng);
        net.forward(x.clone(), true)?;
        out.push(step_kernel(name, batch, net, move |net| {
            net.forward(x.clone(), true).map(|_| ())
        }));
    }
    // The same steps in the candle engine (`engine: candle`), for the A/B
    // of the two engines in the same minutes.
    for (name, comp) in [
        ("softhebb_step_candle/soft_wta", "soft_wta"),
        ("softhebb_step_candle/hard_wta", "hard_wta"),
    ] {
        let opts = softhebb_options(comp, Activation::Plain, false);
        let mut net = HebbNet::build("softhebb", &opts, &mut ChaCha8Rng::seed_from_u64(1))?;
        let x = random_map(batch, 32, 32, 3, &mut rng);
        let t =
            crate::hebb::tensor::nchw(&x.data, (x.n, x.h, x.w, x.c), &candle_core::Device::Cpu)?;
        net.learn_tensor(&t)?;
        out.push(step_kernel(name, batch, net, move |net| {
            net.learn_tensor(&t).map(|_| ())
        }));
    }
    // One `backprop_cnn` training step (forward, backward, Adam) at full
    // width: what a full-data backprop row costs per batch. The candle
    // engine's step takes ~8× as long on the CPU, so only the full bench
    // times it.
    out.push(bp_step_kernel(
        "bp_step/softhebb_kernels",
        batch,
        false,
        &mut rng,
    )?);
    if !quick {
        out.push(bp_step_kernel(
            "bp_step/softhebb_candle",
            batch,
            true,
            &mut rng,
        )?);
    }
    out.extend(models::kernels(quick)?);
    Ok(out)
}

/// A `backprop_cnn` step on a random batch; FLOPs are the three GEMMs per
/// layer (forward, input gradient, weight gradient), whether or not the
/// first layer's input gradient is needed.
fn bp_step_kernel(name: &str, batch: usize, candle: bool, rng: &mut ChaCha8Rng) -> Result<Kernel> {
    use crate::models::bp_cnn::{BpActivation, BpInit, BpSoftHebb};
    use candle_core::{Device, Tensor};
    use candle_nn::Optimizer;
    let dev = Device::Cpu;
    let mut net = BpSoftHebb::new(
        1.0,
        BpInit::Hebbian,
        BpActivation::Relu,
        0.5,
        rng,
        &dev,
        candle,
    )?;
    let mut opt = net.adam(0.01)?;
    let x: Vec<f32> = (0..batch * 32 * 32 * 3)
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let x = Tensor::from_vec(x, (batch, 32, 32, 3), &dev)?;
    let labels: Vec<u32> = (0..batch).map(|i| (i % 10) as u32).collect();
    let y = Tensor::from_vec(labels, batch, &dev)?;
    let macs: usize = SOFTHEBB
        .iter()
        .map(|&(cin, cout, k, _, hw)| hw * hw * cout * cin * k * k)
        .sum::<usize>()
        + 1536 * 16 * 10;
    let mut drop_rng = ChaCha8Rng::seed_from_u64(3);
    Ok(Kernel {
        name: name.into(),
        flops: 3.0 * 2.0 * (batch * macs) as f64,
        counted: "forward + input and weight gradients: 3 · 2·B·Σ MACs (convs and linear)",
        items: batch as f64,
        run: Box::new(move || {
            let z = net.forward(&x, true, &mut drop_rng)?;
            let loss = candle_nn::loss::cross_entropy(&z, &y)?;
            opt.backward_step(&loss)?;
            Ok(())
        }),
    })
}

/// A whole-network learning step as a kernel: its FLOPs are those of the
/// warm-up step already made on `net`.
fn step_kernel(
    name: &str,
    batch: usize,
    mut net: HebbNet,
    mut step: impl FnMut(&mut HebbNet) -> Result<()> + 'static,
) -> Kernel {
    Kernel {
        name: name.into(),
        flops: net.layers().iter().map(|l| 4.0 * l.last_macs as f64).sum(),
        counted: "dense forward + dense update: 4·Σ MACs over the 3 layers",
        items: batch as f64,
        run: Box::new(move || step(&mut net)),
    }
}

/// Measures every kernel (optionally only names containing `filter`),
/// against the GEMM yardstick sampled between the kernel's own samples.
pub fn run(quick: bool, filter: Option<&str>, mut log: impl FnMut(&Measurement)) -> Result<Report> {
    crate::hebb::keep_large_buffers();
    let mut probe = GemmProbe::new(1024)?;
    for _ in 0..3 {
        probe.sample()?;
    }
    let reps = if quick { 5 } else { 11 };
    let mut kernels = Vec::new();
    for mut k in kernels_filtered(quick, filter)? {
        let (t, gemm) = interleaved(&mut k, &mut probe, reps)?;
        let gflops = k.flops / t / 1e9;
        let m = Measurement {
            name: k.name,
            flops: k.flops,
            counted: k.counted.into(),
            median_s: t,
            gflops,
            gemm_ratio: gflops / gemm,
            items_per_s: k.items / t,
        };
        log(&m);
        kernels.push(m);
    }
    Ok(Report {
        gemm_gflops: probe.gflops_since(0),
        kernels,
    })
}

fn kernels_filtered(quick: bool, filter: Option<&str>) -> Result<Vec<Kernel>> {
    Ok(kernels(quick)?
        .into_iter()
        .filter(|k| filter.is_none_or(|f| k.name.contains(f)))
        .collect())
}
