//! Times receptive-field ascent (25 units a layer, as a run draws) through
//! the report's SoftHebb network at full width, layer by layer: the frozen
//! forward pass alone, then whole ascent steps (forward, backward, project).
//!
//!     cargo run --release --example rf_ascent -- [steps]

use candle_core::{Device, Tensor};
use hebbench::experiments::hebbian_cnn::receptive::{ascend, AscentConfig};
use hebbench::models::hebb_cnn::{HebbNet, LayerOptions};
use rand::SeedableRng;
use std::time::Instant;

fn main() -> hebbench::Result<()> {
    let steps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let opts = LayerOptions {
        competition: "soft_wta".into(),
        ..Default::default()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let net = HebbNet::build("softhebb", &opts, &mut rng)?;
    let cfg = AscentConfig {
        steps,
        ..Default::default()
    };
    let units: Vec<usize> = (0..25).collect();
    for i in 0..net.layers().len() {
        let Some(size) = net.receptive_size(i) else {
            break;
        };
        let forward = |t: &Tensor| net.forward_tensor_first(t, true, Some(i), units.len());
        let x = Tensor::rand(0f32, 1f32, (units.len(), 3, size, size), &Device::Cpu)?;
        let t = Instant::now();
        for _ in 0..steps {
            forward(&x)?;
        }
        let fwd = t.elapsed().as_secs_f64() / steps as f64;
        let t = Instant::now();
        ascend(&forward, (3, size, size), &units, &cfg, &mut rng)?;
        let step = t.elapsed().as_secs_f64() / steps as f64;
        println!("layer {i} (input {size}×{size}): forward {fwd:.4} s, ascent step {step:.4} s");
    }
    Ok(())
}
