//! Builds the report's SoftHebb network from the library and times one
//! Hebbian training step (batch 64, all three layers learning) and one
//! frozen forward pass, on a deterministic synthetic batch.
//!
//!     cargo run --release --example softhebb_step -- soft_wta
//!     cargo run --release --example softhebb_step -- hard_wta
//!
//! `hebbench bench` measures the same step against this machine's GEMM rate.

use hebbench::hebb::{Activation, Map};
use hebbench::models::hebb_cnn::{HebbNet, LayerOptions};
use rand::SeedableRng;
use std::time::Instant;

fn main() -> hebbench::Result<()> {
    hebbench::hebb::keep_large_buffers();
    let competition = std::env::args().nth(1).unwrap_or("soft_wta".into());
    let soft = competition == "soft_wta";
    let opts = LayerOptions {
        competition: competition.as_str().into(),
        // The report's soft-WTA rows use plain responses; its hard-WTA rows
        // the cosine activation with surround inhibition.
        activation: if soft {
            Activation::Plain
        } else {
            Activation::Cosine
        },
        surround: !soft,
        lr: if soft {
            vec![0.08, 0.005, 0.01]
        } else {
            vec![0.1]
        },
        lr_norm_power: soft.then_some(0.5),
        ..Default::default()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut net = HebbNet::build("softhebb", &opts, &mut rng)?;
    let pixels: Vec<f32> = (0..64 * 3 * 32 * 32)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let x = Map::from_chw(&pixels, 64, 3, 32, 32);
    for _ in 0..2 {
        net.forward(x.clone(), true)?;
    }
    let reps = 5;
    let t = Instant::now();
    for _ in 0..reps {
        net.forward(x.clone(), true)?;
    }
    println!(
        "{competition}: learning step {:.3} s",
        t.elapsed().as_secs_f64() / reps as f64
    );
    let t = Instant::now();
    for _ in 0..reps {
        net.forward(x.clone(), false)?;
    }
    println!(
        "frozen forward pass {:.3} s",
        t.elapsed().as_secs_f64() / reps as f64
    );
    Ok(())
}
