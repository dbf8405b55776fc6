fn main() {
    for n in [512usize, 1024, 1536, 2048, 3072] {
        let mut p = hebbench::hebb::gemm::GemmProbe::new(n).unwrap();
        for _ in 0..9 { p.sample().unwrap(); }
        println!("{n}: {:.1} GFLOP/s", p.gflops_since(0));
    }
}
