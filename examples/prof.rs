use hebbench::hebb::Activation;
use hebbench::hebb::Map;
use hebbench::models::hebb_cnn::{HebbNet, LayerOptions};
use rand::SeedableRng;
use std::time::Instant;
fn main() {
    hebbench::hebb::keep_large_buffers();
    let comp = std::env::args().nth(1).unwrap_or("soft_wta".into());
    let opts = LayerOptions {
        rule: "instar".into(),
        competition: comp.clone(),
        activation: if comp == "soft_wta" {
            Activation::Plain
        } else {
            Activation::Cosine
        },
        weight_norm: false,
        surround: comp != "soft_wta",
        dale: false,
        presynaptic: None,
        lr: vec![0.08, 0.005, 0.01],
        lr_norm_power: Some(0.5),
        t_invert: vec![1.0, 0.65, 0.25],
        stat_k: 2.0,
        window: 500,
        width: 1.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut net = HebbNet::build("softhebb", &opts, &mut rng).unwrap();
    let data: Vec<f32> = (0..64 * 3 * 32 * 32)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let x = Map::from_chw(&data, 64, 3, 32, 32);
    for _ in 0..2 {
        net.forward(x.clone(), true).unwrap();
    }
    let t = Instant::now();
    for _ in 0..5 {
        net.forward(x.clone(), true).unwrap();
    }
    println!("{comp} learn step: {:.3}s", t.elapsed().as_secs_f64() / 5.0);
    let t = Instant::now();
    for _ in 0..5 {
        net.forward(x.clone(), false).unwrap();
    }
    println!("eval step: {:.3}s", t.elapsed().as_secs_f64() / 5.0);
}
