//! Run identity (a neutral module: the suite, the runner and the
//! experiments' caches all name things by it): a hash of canonical JSON, so that the same resolved
//! configuration on the same data with the same code version always maps to
//! the same result file, which is what makes resume and caching work.
//! Options an experiment added later are left out at their neutral value
//! ([`crate::experiments::identity_params`]).

use serde_json::{json, Map, Value};

fn short_hash(v: &Value) -> String {
    // serde_json's Map is ordered by key, so this text is canonical.
    let text = v.to_string();
    crate::data::store::sha256_hex(text.as_bytes())[..16].to_string()
}

/// Identity of one run (one seed of one configuration).
pub fn run_hash(
    experiment: &str,
    params: &Map<String, Value>,
    seed: u64,
    dataset_hash: &str,
) -> String {
    let params = crate::experiments::identity_params(experiment, params);
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
    let params = crate::experiments::identity_params(experiment, params);
    short_hash(&json!({
        "experiment": experiment,
        "params": params,
        "dataset": dataset_hash,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
