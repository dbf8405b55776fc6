//! Hashing and run identity (a ground-floor module that imports nothing of
//! hebbench: datasets, the suite, the runner and the experiments' caches all
//! name things by it): a hash of canonical JSON, so that the same resolved
//! configuration on the same data with the same code version always maps to
//! the same result file, which is what makes resume and caching work. The
//! suite leaves out the options an experiment added later at their neutral
//! value before hashing ([`crate::experiments::identity_params`]).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn short_hash(v: &Value) -> String {
    // serde_json's Map is ordered by key, so this text is canonical.
    let text = v.to_string();
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// Identity of one run (one seed of one configuration).
pub fn run_hash(
    experiment: &str,
    params: &Map<String, Value>,
    seed: u64,
    dataset_hash: &str,
) -> String {
    short_hash(&json!({
        "experiment": experiment,
        "params": params,
        "seed": seed,
        "dataset": dataset_hash,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// Identity of a configuration across seeds, for aggregation.
pub fn config_hash(experiment: &str, params: &Map<String, Value>, dataset_hash: &str) -> String {
    short_hash(&json!({
        "experiment": experiment,
        "params": params,
        "dataset": dataset_hash,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
