use candle_core::{Device, Tensor};
use std::time::Instant;
fn t<F: FnMut()>(mut f: F) -> f64 {
    f();
    let mut v = vec![];
    for _ in 0..5 {
        let s = Instant::now();
        f();
        v.push(s.elapsed().as_secs_f64());
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[2]
}
fn main() -> candle_core::Result<()> {
    let d = Device::Cpu;
    for &(m, n, k) in &[
        (65536usize, 96usize, 75usize),
        (16384, 384, 864),
        (4096, 1536, 3456),
    ] {
        let a = Tensor::randn(0f32, 1., (m, n), &d)?;
        let p = Tensor::randn(0f32, 1., (m, k), &d)?;
        let fl = 2.0 * (m * n * k) as f64 / 1e9;
        let t1 = t(|| {
            let _ = a.t().unwrap().matmul(&p).unwrap();
        });
        let t2 = t(|| {
            let _ = a.t().unwrap().contiguous().unwrap().matmul(&p).unwrap();
        });
        // chunked: split m into 8 chunks, sum
        let t3 = t(|| {
            let ch = m / 8;
            let mut acc: Option<Tensor> = None;
            for i in 0..8 {
                let r = a
                    .narrow(0, i * ch, ch)
                    .unwrap()
                    .t()
                    .unwrap()
                    .matmul(&p.narrow(0, i * ch, ch).unwrap())
                    .unwrap();
                acc = Some(match acc {
                    None => r,
                    Some(x) => (x + r).unwrap(),
                });
            }
        });
        // P^T A then transpose
        let t4 = t(|| {
            let _ = p.t().unwrap().matmul(&a).unwrap();
        });
        println!(
            "{m}x{n}x{k}: tn {:.1} contig {:.1} chunk8 {:.1} ptA {:.1} GF/s",
            fl / t1,
            fl / t2,
            fl / t3,
            fl / t4
        );
    }
    Ok(())
}
