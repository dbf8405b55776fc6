//! Times receptive-field ascent (25 units a layer, as a run draws) through
//! one of the report's networks at full width (default `softhebb`), layer by
//! layer: the frozen forward pass alone, then whole ascent steps (forward,
//! backward, project), and what a run's 500 steps would cost.
//!
//!     cargo run --release --example rf_ascent -- [steps] [arch] [cos] [surround]
//!
//! `cos` gives every layer the per-tap cosine and hard-WTA (the report's
//! `…/HardWTA/Cos` rows), `surround` the surround, `report` times only the
//! layers a run draws by default (`rf_layers: report`). Arch `backprop` is
//! the backprop baseline's network (ReLU, as the report's row), untrained.

use candle_core::{Device, Tensor};
use hebbench::experiments::hebbian_cnn::receptive::{ascend, AscentConfig};
use hebbench::hebb::layer::{Activation, CosineNorm};
use hebbench::models::analysis::Frozen;
use hebbench::models::hebb_cnn::{HebbNet, LayerOptions};
use rand::SeedableRng;
use std::time::Instant;

fn main() -> hebbench::Result<()> {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let arch = std::env::args().nth(2).unwrap_or_else(|| "softhebb".into());
    // As a run does: freed large buffers are reused, not faulted in again.
    hebbench::hebb::keep_large_buffers();
    let flag = |f: &str| std::env::args().skip(3).any(|a| a == f);
    let cos = flag("cos");
    let opts = LayerOptions {
        competition: if cos { "hard_wta" } else { "soft_wta" }.into(),
        activation: if cos {
            Activation::Cosine
        } else {
            Activation::Plain
        },
        cosine: CosineNorm::PerTap,
        surround: flag("surround"),
        ..Default::default()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (net, drawn): (Box<dyn Frozen>, Vec<usize>) = if arch == "backprop" {
        use hebbench::models::bp_cnn::{BpActivation, BpInit, BpSoftHebb};
        let bp = BpSoftHebb::new(
            1.0,
            BpInit::Hebbian,
            BpActivation::Relu,
            0.5,
            &mut rng,
            &Device::Cpu,
            false,
        )?;
        (Box::new(bp), vec![0, 1, 2])
    } else {
        let net = HebbNet::build(&arch, &opts, &mut rng)?;
        let drawn = net.report_drawn_layers();
        (Box::new(net), drawn)
    };
    let cfg = AscentConfig {
        steps,
        ..Default::default()
    };
    let units: Vec<usize> = (0..25).collect();
    let mut total = 0.0;
    // RF_LAYER=i times that layer alone (for a profiler).
    let only: Option<usize> = std::env::var("RF_LAYER").ok().and_then(|v| v.parse().ok());
    for i in 0..net.layer_count() {
        if only.is_some_and(|o| o != i) || (flag("report") && !drawn.contains(&i)) {
            continue;
        }
        let Some(size) = net.receptive_size(i) else {
            break;
        };
        let forward = |t: &Tensor| net.response(t, i, units.len());
        // Tracked, as the ascent's input is: the same one-op CPU forms.
        let x = candle_core::Var::rand(0f32, 1f32, (units.len(), 3, size, size), &Device::Cpu)?;
        let x = x.as_tensor();
        let t = Instant::now();
        for _ in 0..steps {
            forward(x)?;
        }
        let fwd = t.elapsed().as_secs_f64() / steps as f64;
        let t = Instant::now();
        ascend(&forward, (3, size, size), &units, &cfg, &mut rng)?;
        let step = t.elapsed().as_secs_f64() / steps as f64;
        total += step;
        println!("layer {i} (input {size}×{size}): forward {fwd:.4} s, ascent step {step:.4} s");
    }
    println!(
        "{arch}: one step of every layer {total:.3} s; 500 steps {:.0} s",
        500.0 * total
    );
    Ok(())
}
