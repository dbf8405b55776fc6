//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real datasets: `$HEBBENCH_DATA`, else `../shared/datasets`, else
/// the per-user cache, fetched there (once) when nothing has them. Tests
/// that need data fail loudly rather than pass vacuously without it.
pub fn data_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let complete = |d: &Path| d.join("mnist").is_dir() && d.join("cifar10").is_dir();
        if let Some(d) = std::env::var_os("HEBBENCH_DATA").map(PathBuf::from) {
            assert!(
                complete(&d),
                "HEBBENCH_DATA={} has no mnist/ and cifar10/",
                d.display()
            );
            return d;
        }
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
        if complete(&shared) {
            return shared;
        }
        let cache = hebbench::data::store::default_cache_dir();
        let status = Command::new(env!("CARGO_BIN_EXE_hebbench"))
            .args(["--quiet", "datasets", "fetch"])
            .status()
            .expect("run hebbench datasets fetch");
        assert!(
            status.success(),
            "no datasets here and `hebbench datasets fetch` failed"
        );
        cache
    })
    .clone()
}

/// The `hebbench` binary with a clean environment: data only where given,
/// an empty private cache, quiet.
pub fn hebbench(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hebbench"));
    c.env_remove("HEBBENCH_DATA")
        .env("XDG_CACHE_HOME", cache)
        .arg("--quiet");
    c
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small but real Krotov suite on MNIST, `runs` configs of `seeds`.
pub fn small_suite(dir: &Path, name: &str, configs: usize, extra: &str) -> PathBuf {
    let mut s = format!(
        "name: {name}\nexperiment: krotov\nseeds: [0]\nparams:\n  dataset: mnist\n  train_limit: 3000\n  test_limit: 1000\n  hidden: 40\n  p: 2.0\n  k: 2\n  delta: 0.4\n  eps0: 0.02\n  batch: 100\n  epochs: 2\n  readout: softmax\n  readout_epochs: 2\n  readout_lr: 0.01\n{extra}configs:\n"
    );
    for i in 0..configs {
        s.push_str(&format!(
            "  - name: c{i}\n    params: {{delta: 0.{}}}\n",
            2 + i
        ));
    }
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, s).unwrap();
    path
}
