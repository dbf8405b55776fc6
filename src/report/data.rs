//! Loading a suite's results. Files are named by run hash, so several
//! result directories (machines, shards) merge by file name: the first copy
//! of a run wins and later copies are counted as duplicates, never twice.

use crate::experiments::figures::Artefacts;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::run::results::result_files;

/// One run: every epoch row of its result file.
pub struct Run {
    /// The run hash (the file's stem).
    pub hash: String,
    /// The result file.
    pub path: PathBuf,
    /// Its rows (one per classifier epoch).
    pub df: DataFrame,
    /// The suite file's reference for this run now, when the report was
    /// given the suite: it wins over the one recorded at run time, so that a
    /// corrected or extended reference needs no rerun.
    pub reference_now: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The merged results of one suite.
pub struct Runs {
    /// Every run, one per hash.
    pub runs: Vec<Run>,
    /// Files skipped because a run with the same hash was already loaded.
    pub duplicates: usize,
    /// Files that are not readable result files (damaged, truncated, or
    /// foreign), each with what is wrong: named in the report, never used.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Loads `dir/<suite>/*.parquet` for every directory, merging by run hash.
pub fn load(dirs: &[PathBuf], suite: &str) -> Result<Runs> {
    let mut seen = BTreeSet::new();
    let mut runs = Vec::new();
    let mut duplicates = 0;
    let mut unreadable = Vec::new();
    for dir in dirs {
        let d = dir.join(suite);
        if !d.is_dir() {
            continue;
        }
        for path in result_files(&d)? {
            let hash = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let read = std::fs::File::open(&path)
                .map_err(|e| e.to_string())
                .and_then(|f| ParquetReader::new(f).finish().map_err(|e| e.to_string()))
                .and_then(|df| {
                    let has = |c: &str| df.column(c).is_ok();
                    if df.height() > 0 && has("config") && has("status") && has("seed") {
                        Ok(df)
                    } else {
                        Err(
                            "not a hebbench result file (no config, seed and status rows)"
                                .to_string(),
                        )
                    }
                });
            let df = match read {
                Ok(df) => df,
                Err(why) => {
                    unreadable.push((path, why));
                    continue;
                }
            };
            if !seen.insert(hash.clone()) {
                duplicates += 1;
                continue;
            }
            runs.push(Run {
                hash,
                path,
                df,
                reference_now: None,
            });
        }
    }
    if runs.is_empty() {
        return Err(Error::Results {
            path: dirs.first().cloned().unwrap_or_default().join(suite),
            msg: format!("no result files for suite `{suite}` in any of the given directories"),
        });
    }
    runs.sort_by_key(|r| (r.name(), r.seed(), r.hash.clone()));
    Ok(Runs {
        runs,
        duplicates,
        unreadable,
    })
}

impl Run {
    /// What the report groups seeds under: the configuration with its
    /// matrix values (`run_name`, e.g. `demo-100/readout=paper`), so that
    /// matrix cells are never averaged together as if they were seeds.
    pub fn name(&self) -> String {
        match self.text("run_name") {
            n if n.is_empty() => self.text("config"),
            n => n,
        }
    }

    /// A text column's value (first row).
    pub fn text(&self, col: &str) -> String {
        self.df
            .column(col)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(|v| v.to_string())))
            .unwrap_or_default()
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.df
            .column("seed")
            .ok()
            .and_then(|c| c.cast(&DataType::UInt64).ok())
            .and_then(|c| c.u64().ok().and_then(|s| s.get(0)))
            .unwrap_or(0)
    }

    /// A numeric column as f64 for every row (None where null or absent).
    pub fn floats(&self, col: &str) -> Vec<Option<f64>> {
        match self.df.column(col).and_then(|c| c.cast(&DataType::Float64)) {
            Ok(c) => match c.f64() {
                Ok(ca) => (0..ca.len()).map(|i| ca.get(i)).collect(),
                Err(_) => vec![None; self.df.height()],
            },
            Err(_) => vec![None; self.df.height()],
        }
    }

    /// The last row's value of a numeric column.
    pub fn last(&self, col: &str) -> Option<f64> {
        self.floats(col).last().copied().flatten()
    }

    /// A numeric column's value at a given classifier epoch.
    pub fn at_epoch(&self, col: &str, epoch: u32) -> Option<f64> {
        let e = self.floats("epoch");
        let v = self.floats(col);
        e.iter()
            .zip(v)
            .find(|(e, _)| **e == Some(epoch as f64))
            .and_then(|(_, v)| v)
    }

    /// The reference figures the suite gave this run's configuration.
    pub fn reference(&self) -> serde_json::Map<String, serde_json::Value> {
        if let Some(r) = &self.reference_now {
            return r.clone();
        }
        match serde_json::from_str(&self.text("reference_json")) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => Default::default(),
        }
    }

    /// Whether the run finished (`status` is `ok`).
    pub fn ok(&self) -> bool {
        self.text("status") == "ok"
    }

    /// The run's artefacts (saved beside its Parquet file): none when
    /// there is no file, an error naming what is wrong when it is unreadable.
    pub fn artefacts(&self) -> std::result::Result<Artefacts, String> {
        let p = self.path.with_extension("safetensors");
        if !p.is_file() {
            return Ok(Artefacts::default());
        }
        let map = candle_core::safetensors::load(&p, &candle_core::Device::Cpu)
            .map_err(|e| format!("unreadable artefact file: {e}"))?;
        let mut arrays = BTreeMap::new();
        for (name, t) in map {
            let values = t
                .flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F32))
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| format!("artefact `{name}`: {e}"))?;
            arrays.insert(name, (t.dims().to_vec(), values));
        }
        Ok(Artefacts::new(arrays))
    }

    /// Column names present in this run's file.
    pub fn columns(&self) -> Vec<String> {
        self.df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

impl Runs {
    /// Number of runs.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Whether there are no runs.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Configurations in suite order (sorted by name, as loaded).
    pub fn configs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.runs {
            let c = r.name();
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// The runs of one configuration.
    pub fn of_config<'a>(&'a self, config: &'a str) -> impl Iterator<Item = &'a Run> + 'a {
        self.runs.iter().filter(move |r| r.name() == config)
    }

    /// The short commits the runs were made at.
    pub fn commits(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .runs
            .iter()
            .map(|r| {
                let c = r.text("git_commit");
                let short = c.chars().take(7).collect::<String>();
                if r.text("git_dirty") == "true" || self.flag(r, "git_dirty") {
                    format!("`{short}` (with uncommitted changes)")
                } else {
                    format!("`{short}`")
                }
            })
            .collect();
        set.into_iter().collect()
    }

    fn flag(&self, r: &Run, col: &str) -> bool {
        r.df.column(col)
            .ok()
            .and_then(|c| c.bool().ok().and_then(|b| b.get(0)))
            .unwrap_or(false)
    }

    /// The devices the runs computed on.
    pub fn devices(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .runs
            .iter()
            .map(|r| format!("{} ({})", r.text("device"), r.text("host")))
            .collect();
        set.into_iter().collect()
    }

    /// One row per run (its final epoch, or the epoch asked for) with the
    /// given numeric columns, as a polars frame: `config`, `seed`, then the
    /// columns. Failed runs are left out.
    pub fn frame(&self, cols: &[&str], epoch: Option<u32>) -> Result<DataFrame> {
        let ok: Vec<&Run> = self.runs.iter().filter(|r| r.ok()).collect();
        let mut columns: Vec<Column> = vec![
            Column::new(
                "config".into(),
                ok.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ),
            Column::new(
                "seed".into(),
                ok.iter().map(|r| r.seed()).collect::<Vec<_>>(),
            ),
        ];
        for c in cols {
            let v: Vec<Option<f64>> = ok
                .iter()
                .map(|r| match epoch {
                    Some(e) => r.at_epoch(c, e),
                    None => r.last(c),
                })
                .collect();
            columns.push(Column::new((*c).into(), v));
        }
        DataFrame::new(ok.len(), columns).map_err(|e| Error::Report(e.to_string()))
    }
}

/// Mean, sample standard deviation and count of each metric per
/// configuration (polars `group_by`), in first-seen order.
pub fn aggregate(df: &DataFrame, metrics: &[&str]) -> Result<DataFrame> {
    let mut aggs = Vec::new();
    for m in metrics {
        aggs.push(col(*m).mean().alias(format!("{m}_mean")));
        aggs.push(col(*m).std(1).alias(format!("{m}_std")));
        aggs.push(col(*m).count().alias(format!("{m}_n")));
    }
    df.clone()
        .lazy()
        .group_by_stable([col("config")])
        .agg(aggs)
        .collect()
        .map_err(|e| Error::Report(format!("aggregation failed: {e}")))
}

/// Reads one f64 cell of an aggregated frame.
pub fn cell(df: &DataFrame, column: &str, row: usize) -> Option<f64> {
    df.column(column)
        .ok()?
        .cast(&DataType::Float64)
        .ok()?
        .f64()
        .ok()?
        .get(row)
}

/// Reads one text cell.
pub fn text_cell(df: &DataFrame, column: &str, row: usize) -> String {
    df.column(column)
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.get(row).map(|v| v.to_string())))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Writes one run's result file: `epochs` rows of test accuracy.
    fn write_run(dir: &Path, hash: &str, config: &str, seed: u64, status: &str, acc: &[f64]) {
        std::fs::create_dir_all(dir).unwrap();
        let n = acc.len();
        let mut df = DataFrame::new(
            n,
            vec![
                Column::new("config".into(), vec![config; n]),
                Column::new("seed".into(), vec![seed; n]),
                Column::new("status".into(), vec![status; n]),
                Column::new("epoch".into(), (1..=n as u32).collect::<Vec<_>>()),
                Column::new("test_accuracy".into(), acc.to_vec()),
            ],
        )
        .unwrap();
        let f = std::fs::File::create(dir.join(format!("{hash}.parquet"))).unwrap();
        ParquetWriter::new(f).finish(&mut df).unwrap();
    }

    #[test]
    fn parquet_results_from_two_machines_merge_by_hash_and_aggregate_by_hand() {
        // Machine A: config a seeds 0 and 1 (final 0.5 and 0.7), config b
        // seed 0 (0.9). Machine B: a copy of a@1 (same hash, must not count
        // twice), a failed a@2 (left out of the aggregate), and b seed 1
        // (0.8). By hand: a → mean 0.6, std √0.02, n 2; b → mean 0.85,
        // std √0.005 = 0.0707107, n 2. At epoch 1: a → (0.4 + 0.6)/2 = 0.5.
        let root = tempfile::tempdir().unwrap();
        let (ma, mb) = (root.path().join("a"), root.path().join("b"));
        write_run(&ma.join("s"), "h1", "a", 0, "ok", &[0.4, 0.5]);
        write_run(&ma.join("s"), "h2", "a", 1, "ok", &[0.6, 0.7]);
        write_run(&ma.join("s"), "h3", "b", 0, "ok", &[0.85, 0.9]);
        write_run(&mb.join("s"), "h2", "a", 1, "ok", &[0.6, 0.7]);
        write_run(&mb.join("s"), "h4", "a", 2, "failed", &[0.1]);
        write_run(&mb.join("s"), "h5", "b", 1, "ok", &[0.75, 0.8]);
        // A damaged file and a foreign one are named and skipped.
        std::fs::write(mb.join("s/h6.parquet"), b"PAR1 not really").unwrap();
        std::fs::write(mb.join("s/h7.parquet"), b"").unwrap();
        let runs = load(&[ma, mb], "s").unwrap();
        assert_eq!((runs.len(), runs.duplicates), (5, 1));
        let bad: Vec<_> = runs
            .unreadable
            .iter()
            .map(|(p, _)| p.file_name().unwrap())
            .collect();
        assert_eq!(bad.len(), 2, "{:?}", runs.unreadable);
        let agg = aggregate(
            &runs.frame(&["test_accuracy"], None).unwrap(),
            &["test_accuracy"],
        )
        .unwrap();
        assert_eq!(text_cell(&agg, "config", 0), "a");
        assert!((cell(&agg, "test_accuracy_mean", 0).unwrap() - 0.6).abs() < 1e-12);
        assert!((cell(&agg, "test_accuracy_std", 0).unwrap() - 0.02f64.sqrt()).abs() < 1e-12);
        assert_eq!(cell(&agg, "test_accuracy_n", 0), Some(2.0));
        assert!((cell(&agg, "test_accuracy_mean", 1).unwrap() - 0.85).abs() < 1e-12);
        assert!((cell(&agg, "test_accuracy_std", 1).unwrap() - 0.005f64.sqrt()).abs() < 1e-12);
        let e1 = aggregate(
            &runs.frame(&["test_accuracy"], Some(1)).unwrap(),
            &["test_accuracy"],
        )
        .unwrap();
        assert!((cell(&e1, "test_accuracy_mean", 0).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn aggregation_matches_hand_computed_mean_std_n() {
        // config a: 0.5, 0.7 → mean 0.6, sample std √0.02 = 0.141421; n 2.
        // config b: 0.9 → mean 0.9, std null, n 1.
        let df = DataFrame::new(
            3,
            vec![
                Column::new("config".into(), ["a", "b", "a"]),
                Column::new("seed".into(), [0u64, 0, 1]),
                Column::new("test_accuracy".into(), [0.5f64, 0.9, 0.7]),
            ],
        )
        .unwrap();
        let agg = aggregate(&df, &["test_accuracy"]).unwrap();
        assert_eq!(text_cell(&agg, "config", 0), "a");
        assert!((cell(&agg, "test_accuracy_mean", 0).unwrap() - 0.6).abs() < 1e-12);
        assert!((cell(&agg, "test_accuracy_std", 0).unwrap() - 0.02f64.sqrt()).abs() < 1e-12);
        assert_eq!(cell(&agg, "test_accuracy_n", 0), Some(2.0));
        assert_eq!(cell(&agg, "test_accuracy_mean", 1), Some(0.9));
        assert_eq!(cell(&agg, "test_accuracy_std", 1), None);
    }
}
