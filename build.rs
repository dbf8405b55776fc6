//! Records the versions of key crates from Cargo.lock, so every result row
//! can say which numerical code produced it.
fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (krate, var) in [
        ("candle-core", "HEBBENCH_CANDLE_VERSION"),
        ("parquet", "HEBBENCH_PARQUET_VERSION"),
    ] {
        let version = lock
            .split("[[package]]")
            .find(|p| p.contains(&format!("name = \"{krate}\"\n")))
            .and_then(|p| p.lines().find(|l| l.starts_with("version = ")))
            .map(|l| {
                l.trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_else(|| "unknown".into());
        println!("cargo:rustc-env={var}={version}");
    }
}
