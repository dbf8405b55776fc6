//! Criterion benches of hebbench's hot kernels: the same kernels, FLOP
//! counts and inputs as `hebbench bench` (see `src/bench.rs`), with
//! criterion's statistics. Throughput is reported in FLOP/s ("elem/s").
//! The float32 GEMM yardstick is benched first, through the same backend.
//!
//!     cargo bench --bench kernels            # everything
//!     cargo bench --bench kernels -- update  # one family

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

fn gemm(c: &mut Criterion) {
    use candle_core::{Device, Tensor};
    let n = 1024;
    let a = Tensor::randn(0f32, 1.0, (n, n), &Device::Cpu).expect("tensor");
    let mut g = c.benchmark_group("gemm");
    g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    g.bench_function("f32_1024", |b| b.iter(|| a.matmul(&a).expect("matmul")));
    g.finish();
}

fn kernels(c: &mut Criterion) {
    for mut k in hebbench::bench::kernels(false).expect("kernels") {
        let (family, name) = k.name.split_once('/').unwrap_or(("misc", &k.name));
        let (family, name) = (family.to_string(), name.to_string());
        let mut g = c.benchmark_group(family);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(k.flops as u64));
        g.bench_function(name, |b| b.iter(|| (k.run)().expect("kernel")));
        g.finish();
    }
}

criterion_group!(benches, gemm, kernels);
criterion_main!(benches);
