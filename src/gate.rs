//! The CI regression gate: compares this run's accuracy (final test
//! accuracy of every CI suite run) and throughput (each kernel's GFLOP/s as
//! a ratio to the GEMM rate measured in the same process, so that machine
//! speed cancels out) with a committed baseline. Each figure has its own
//! tolerance; a regression beyond it names the figure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::bench::Report;
use crate::error::{Error, IoContext, Result};
use crate::run::results::{result_files, summarize};

/// A baseline value and how far below it a run may fall.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The figure the baseline accepts.
    pub value: f64,
    /// Throughput: relative (0.3 = may drop 30%); accuracy: absolute.
    pub tolerance: f64,
}

/// The committed baseline file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Kernel name → GFLOP/s ÷ GEMM GFLOP/s.
    #[serde(default)]
    pub throughput: BTreeMap<String, Figure>,
    /// `suite/run@seed` → final test accuracy.
    #[serde(default)]
    pub accuracy: BTreeMap<String, Figure>,
}

/// Default tolerances for figures new to a baseline.
pub const THROUGHPUT_TOLERANCE: f64 = 0.3;
/// Default tolerance (absolute) for accuracy figures new to a baseline.
pub const ACCURACY_TOLERANCE: f64 = 0.04;

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).at(path)?;
        serde_norway::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })
    }

    /// Writes atomically, with a header saying how to regenerate it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let body = serde_norway::to_string(self).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            msg: format!("cannot serialise baseline: {e}"),
        })?;
        let text = format!(
            "# CI regression baseline. Accept new figures deliberately with\n\
             # `hebbench gate --update-baseline` (see .ci/run), adding `--only NAME`\n\
             # to change only the figures whose names contain NAME; tolerances are kept.\n{body}"
        );
        crate::atomic::write_bytes(path, text.as_bytes())
    }
}

/// Final test accuracy of every run under `results/<suite>/`.
pub fn accuracies(results: &Path) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(results) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let suite = e.file_name().to_string_lossy().to_string();
        if !e.path().is_dir() || suite == "cache" {
            continue;
        }
        for f in result_files(&e.path())? {
            let s = summarize(&f)?;
            if let Some(a) = s.test_accuracy {
                out.insert(format!("{suite}/{}@{}", s.run_name, s.seed), a);
            }
        }
    }
    Ok(out)
}

/// Every regression beyond tolerance, as a message naming the figure.
pub fn compare(base: &Baseline, bench: &Report, acc: &BTreeMap<String, f64>) -> Vec<String> {
    let mut fails = Vec::new();
    for (name, f) in &base.throughput {
        match bench.kernels.iter().find(|k| &k.name == name) {
            None => fails.push(format!("throughput `{name}`: not measured in this run")),
            Some(k) if k.gemm_ratio < f.value * (1.0 - f.tolerance) => fails.push(format!(
                "throughput `{name}`: {:.3} of GEMM, baseline {:.3} (tolerance −{:.0}%, floor {:.3}; {:.1} GFLOP/s vs GEMM {:.1})",
                k.gemm_ratio,
                f.value,
                100.0 * f.tolerance,
                f.value * (1.0 - f.tolerance),
                k.gflops,
                bench.gemm_gflops
            )),
            Some(_) => {}
        }
    }
    for (name, f) in &base.accuracy {
        match acc.get(name) {
            None => fails.push(format!("accuracy `{name}`: no result in this run")),
            Some(&a) if a < f.value - f.tolerance => fails.push(format!(
                "accuracy `{name}`: {:.2}%, baseline {:.2}% (tolerance −{:.1} points)",
                100.0 * a,
                100.0 * f.value,
                100.0 * f.tolerance
            )),
            Some(_) => {}
        }
    }
    fails
}

/// The baseline with this run's figures, keeping existing tolerances.
///
/// With `only` (fragments of figure names), only the matching figures take
/// this run's values and every other figure of `old` is kept, so that one
/// deliberate change (a faster kernel) does not re-draw the whole baseline
/// from a single noisy run.
pub fn updated(
    old: &Baseline,
    bench: &Report,
    acc: &BTreeMap<String, f64>,
    only: &[String],
) -> Baseline {
    let fresh = all_updated(old, bench, acc);
    if only.is_empty() {
        return fresh;
    }
    let merge = |old: &BTreeMap<String, Figure>, new: BTreeMap<String, Figure>| {
        let mut m = old.clone();
        m.extend(
            new.into_iter()
                .filter(|(k, _)| only.iter().any(|o| k.contains(o.as_str()))),
        );
        m
    };
    Baseline {
        throughput: merge(&old.throughput, fresh.throughput),
        accuracy: merge(&old.accuracy, fresh.accuracy),
    }
}

fn all_updated(old: &Baseline, bench: &Report, acc: &BTreeMap<String, f64>) -> Baseline {
    let tol = |m: &BTreeMap<String, Figure>, k: &str, d: f64| m.get(k).map_or(d, |f| f.tolerance);
    Baseline {
        throughput: bench
            .kernels
            .iter()
            .map(|k| {
                let t = tol(&old.throughput, &k.name, THROUGHPUT_TOLERANCE);
                (
                    k.name.clone(),
                    Figure {
                        value: round(k.gemm_ratio),
                        tolerance: t,
                    },
                )
            })
            .collect(),
        accuracy: acc
            .iter()
            .map(|(k, &v)| {
                let t = tol(&old.accuracy, k, ACCURACY_TOLERANCE);
                (
                    k.clone(),
                    Figure {
                        value: round(v),
                        tolerance: t,
                    },
                )
            })
            .collect(),
    }
}

fn round(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Measurement;

    fn report(ratio: f64) -> Report {
        Report {
            gemm_gflops: 100.0,
            kernels: vec![Measurement {
                name: "k".into(),
                flops: 1e9,
                counted: String::new(),
                median_s: 0.01,
                gflops: 100.0 * ratio,
                gemm_ratio: ratio,
                items_per_s: 1.0,
            }],
        }
    }

    #[test]
    fn regressions_beyond_tolerance_name_the_figure() {
        let base = Baseline {
            throughput: [(
                "k".to_string(),
                Figure {
                    value: 0.6,
                    tolerance: 0.25,
                },
            )]
            .into(),
            accuracy: [(
                "s/r@0".to_string(),
                Figure {
                    value: 0.5,
                    tolerance: 0.03,
                },
            )]
            .into(),
        };
        let acc: BTreeMap<String, f64> = [("s/r@0".to_string(), 0.48)].into();
        // 0.46 ≥ 0.6·0.75 = 0.45 passes; accuracy 0.48 ≥ 0.47 passes.
        assert!(compare(&base, &report(0.46), &acc).is_empty());
        let fails = compare(&base, &report(0.44), &acc);
        assert_eq!(fails.len(), 1);
        assert!(fails[0].contains("throughput `k`"), "{fails:?}");
        let low: BTreeMap<String, f64> = [("s/r@0".to_string(), 0.46)].into();
        let fails = compare(&base, &report(0.6), &low);
        assert!(fails[0].contains("accuracy `s/r@0`"), "{fails:?}");
        // A figure that disappeared is a failure too.
        assert_eq!(compare(&base, &report(0.6), &BTreeMap::new()).len(), 1);
        // Updating keeps tolerances.
        let up = updated(&base, &report(0.7), &acc, &[]);
        assert_eq!(
            up.throughput["k"],
            Figure {
                value: 0.7,
                tolerance: 0.25
            }
        );
        // With `only`, the figures that do not match keep their old values.
        let low: BTreeMap<String, f64> = [("s/r@0".to_string(), 0.4)].into();
        let up = updated(&base, &report(0.7), &low, &["k".to_string()]);
        assert_eq!(up.throughput["k"].value, 0.7);
        assert_eq!(up.accuracy["s/r@0"].value, 0.5);
    }
}
