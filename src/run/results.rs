//! Result rows in Parquet: one file per run, one row per classifier epoch
//! (one row when a run has no epochs or failed). Every row repeats the
//! run-level columns, so any single row can be traced on its own.

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::provenance::Provenance;
use crate::error::{Error, IoContext, Result};
use crate::experiments::RunOutput;
use crate::suite::RunSpec;

/// Phases that always have columns, so that suites compare column by column.
pub const STANDARD_PHASES: [&str; 3] = ["unsupervised", "features", "classifier"];

/// Status of a finished run.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Finished.
    Ok,
    /// Failed, with the reason.
    Failed(String),
}

/// Everything that goes into one run's file.
pub struct RunRecord<'a> {
    /// The run.
    pub spec: &'a RunSpec,
    /// Its identity.
    pub run_hash: String,
    /// Its configuration's identity across seeds.
    pub config_hash: String,
    /// Hash of the dataset's pinned files.
    pub dataset_hash: String,
    /// Each dataset file's SHA-256.
    pub dataset_files: &'a std::collections::BTreeMap<String, String>,
    /// Commit, versions, device, host.
    pub provenance: &'a Provenance,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// End time (RFC 3339).
    pub finished_at: String,
    /// Wall seconds of the whole run.
    pub total_wall_s: f64,
    /// What the run measured.
    pub output: RunOutput,
    /// Finished or failed.
    pub status: Status,
}

fn col_str(name: &str, v: impl Into<Option<String>>, rows: usize) -> (Field, ArrayRef) {
    let v = v.into();
    (
        Field::new(name, DataType::Utf8, true),
        Arc::new(StringArray::from(vec![v; rows])),
    )
}

fn col_f64(name: &str, v: Option<f64>, rows: usize) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::Float64, true),
        Arc::new(Float64Array::from(vec![v; rows])),
    )
}

fn col_f64s(name: &str, v: Vec<Option<f64>>) -> (Field, ArrayRef) {
    (
        Field::new(name, DataType::Float64, true),
        Arc::new(Float64Array::from(v)),
    )
}

impl RunRecord<'_> {
    /// The record as one Arrow batch.
    pub fn to_batch(&self) -> Result<RecordBatch> {
        let epochs = &self.output.epochs;
        let rows = epochs.len().max(1);
        let s = |v: &str| Some(v.to_string());
        let spec = self.spec;
        let mut cols = vec![
            col_str("suite", s(&spec.suite), rows),
            col_str("config", s(&spec.config), rows),
            col_str("run_name", s(&spec.name), rows),
            col_str("run_hash", s(&self.run_hash), rows),
            col_str("config_hash", s(&self.config_hash), rows),
            col_str("experiment", s(&spec.experiment), rows),
            (
                Field::new("seed", DataType::UInt64, false),
                Arc::new(UInt64Array::from(vec![spec.seed; rows])) as ArrayRef,
            ),
            col_str(
                "params_json",
                Some(Value::Object(spec.params.clone()).to_string()),
                rows,
            ),
            col_str(
                "reference_json",
                spec.reference.as_ref().map(|r| r.to_string()),
                rows,
            ),
            col_str("dataset", s(&spec.dataset), rows),
            col_str("dataset_hash", s(&self.dataset_hash), rows),
            col_str(
                "dataset_files_json",
                Some(serde_json::to_string(self.dataset_files)?),
                rows,
            ),
            col_str("git_commit", s(&self.provenance.git_commit), rows),
            (
                Field::new("git_dirty", DataType::Boolean, false),
                Arc::new(BooleanArray::from(vec![self.provenance.git_dirty; rows])) as ArrayRef,
            ),
            col_str("crate_version", s(&self.provenance.crate_version), rows),
            col_str("candle_version", s(&self.provenance.candle_version), rows),
            col_str("device", s(&self.provenance.device), rows),
            col_str("host", s(&self.provenance.host), rows),
            col_str("started_at", s(&self.started_at), rows),
            col_str("finished_at", s(&self.finished_at), rows),
            col_f64("total_wall_s", Some(self.total_wall_s), rows),
        ];
        let (status, reason) = match &self.status {
            Status::Ok => ("ok", None),
            Status::Failed(r) => ("failed", Some(r.clone())),
        };
        cols.push(col_str("status", s(status), rows));
        cols.push(col_str("reason", reason, rows));

        let mut phase_names: Vec<String> = STANDARD_PHASES.iter().map(|p| p.to_string()).collect();
        for p in &self.output.phases {
            if !phase_names.contains(&p.name) {
                phase_names.push(p.name.clone());
            }
        }
        for name in &phase_names {
            let phase = self.output.phases.iter().find(|p| &p.name == name);
            cols.push(col_f64(
                &format!("{name}_wall_s"),
                phase.map(|p| p.wall_s),
                rows,
            ));
            cols.push(col_f64(
                &format!("{name}_images_per_s"),
                phase.map(|p| p.images_per_s()),
                rows,
            ));
        }

        let pick = |f: &dyn Fn(&crate::train::EpochMetrics) -> f64| -> Vec<Option<f64>> {
            if epochs.is_empty() {
                vec![None]
            } else {
                epochs.iter().map(|e| Some(f(e))).collect()
            }
        };
        let epoch: Vec<Option<u32>> = if epochs.is_empty() {
            vec![None]
        } else {
            epochs.iter().map(|e| Some(e.epoch)).collect()
        };
        cols.push((
            Field::new("epoch", DataType::UInt32, true),
            Arc::new(UInt32Array::from(epoch)),
        ));
        cols.push(col_f64s("train_loss", pick(&|e| e.train_loss)));
        cols.push(col_f64s("train_accuracy", pick(&|e| e.train_accuracy)));
        // Optional per-epoch values: one null row when there are no epochs.
        let optional =
            |f: &dyn Fn(&crate::train::EpochMetrics) -> Option<f64>| -> Vec<Option<f64>> {
                if epochs.is_empty() {
                    vec![None]
                } else {
                    epochs.iter().map(f).collect()
                }
            };
        type Pick = fn(&crate::train::Scores) -> f64;
        let scores: [(&str, Pick); 4] = [
            ("accuracy", |t| t.accuracy),
            ("precision", |t| t.precision),
            ("recall", |t| t.recall),
            ("f1", |t| t.f1),
        ];
        for (name, f) in &scores[1..] {
            let col = optional(&|e| e.train.as_ref().map(f));
            cols.push(col_f64s(&format!("train_{name}"), col));
        }
        for (name, f) in &scores {
            cols.push(col_f64s(&format!("test_{name}"), pick(&|e| f(&e.test))));
        }
        for (name, f) in &scores {
            let col = optional(&|e| e.val.as_ref().map(f));
            cols.push(col_f64s(&format!("val_{name}"), col));
        }
        cols.push(col_f64s("val_loss", optional(&|e| e.val_loss)));
        cols.push(col_f64s("elapsed_s", optional(&|e| e.elapsed_s)));

        for (k, v) in &self.output.summary {
            cols.push(col_f64(&format!("s_{k}"), Some(*v), rows));
        }
        cols.push(col_str(
            "summary_json",
            Some(serde_json::to_string(&self.output.summary)?),
            rows,
        ));
        for (k, v) in &spec.params {
            let name = format!("param_{k}");
            cols.push(match v {
                Value::Number(n) => col_f64(&name, n.as_f64(), rows),
                Value::Bool(b) => (
                    Field::new(name, DataType::Boolean, true),
                    Arc::new(BooleanArray::from(vec![Some(*b); rows])) as ArrayRef,
                ),
                Value::String(t) => col_str(&name, Some(t.clone()), rows),
                // Unset optional parameters are numeric in every kind so far.
                Value::Null => col_f64(&name, None, rows),
                other => col_str(&name, Some(other.to_string()), rows),
            });
        }
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().unzip();
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

/// Writes a batch to `path` atomically: a temporary sibling, fsync, rename.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    crate::atomic::write_with(path, |tmp| {
        let file = std::fs::File::create(tmp).at(tmp)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut w = ArrowWriter::try_new(file.try_clone().at(tmp)?, batch.schema(), Some(props))?;
        w.write(batch)?;
        w.close()?;
        file.sync_all().at(tmp)
    })
}

/// Reads every batch of one result file.
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).at(path)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::Results {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?
        .build()?;
    reader
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Results {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })
}

/// All result files under `dir` (recursively), sorted.
pub fn result_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).at(&d)? {
            let p = entry.at(&d)?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The final-epoch view of one result file, for summaries.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The result file.
    pub path: PathBuf,
    /// The configuration's name.
    pub run_name: String,
    /// The run hash.
    pub run_hash: String,
    /// The seed.
    pub seed: u64,
    /// `ok` or `failed`.
    pub status: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// Classifier epochs recorded.
    pub epochs: usize,
    /// Final-epoch test accuracy.
    pub test_accuracy: Option<f64>,
    /// Final-epoch macro-F1.
    pub test_f1: Option<f64>,
    /// Wall seconds.
    pub total_wall_s: f64,
}

/// Reads the last row of a result file.
pub fn summarize(path: &Path) -> Result<RunSummary> {
    let batches = read_parquet(path)?;
    let bad = |m: &str| Error::Results {
        path: path.to_path_buf(),
        msg: m.to_string(),
    };
    let batch = batches.last().ok_or_else(|| bad("no rows"))?;
    let last = batch
        .num_rows()
        .checked_sub(1)
        .ok_or_else(|| bad("no rows"))?;
    let string = |c: &str| -> Result<Option<String>> {
        let a = batch
            .column_by_name(c)
            .ok_or_else(|| bad(&format!("no column {c}")))?;
        let a = a
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| bad(&format!("column {c} is not text")))?;
        Ok(a.is_valid(last).then(|| a.value(last).to_string()))
    };
    let float = |c: &str| -> Result<Option<f64>> {
        let a = batch
            .column_by_name(c)
            .ok_or_else(|| bad(&format!("no column {c}")))?;
        let a = a
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| bad(&format!("column {c} is not f64")))?;
        Ok(a.is_valid(last).then(|| a.value(last)))
    };
    let seed = batch
        .column_by_name("seed")
        .and_then(|a| {
            a.as_any()
                .downcast_ref::<UInt64Array>()
                .map(|a| a.value(last))
        })
        .ok_or_else(|| bad("no seed column"))?;
    let epochs = batch
        .column_by_name("epoch")
        .map(|a| a.len() - a.null_count())
        .unwrap_or(0);
    Ok(RunSummary {
        path: path.to_path_buf(),
        run_name: string("run_name")?.unwrap_or_default(),
        run_hash: string("run_hash")?.unwrap_or_default(),
        seed,
        status: string("status")?.unwrap_or_default(),
        reason: string("reason")?,
        epochs,
        test_accuracy: float("test_accuracy")?,
        test_f1: float("test_f1")?,
        total_wall_s: float("total_wall_s")?.unwrap_or(0.0),
    })
}

/// The last row's value of a numeric column, if the column exists.
pub fn final_value(path: &Path, column: &str) -> Result<Option<f64>> {
    let batches = read_parquet(path)?;
    let Some(batch) = batches.last() else {
        return Ok(None);
    };
    let Some(a) = batch.column_by_name(column) else {
        return Ok(None);
    };
    let last = batch.num_rows().saturating_sub(1);
    let a = arrow::compute::cast(a, &DataType::Float64)?;
    let a = a
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or_else(|| Error::Results {
            path: path.to_path_buf(),
            msg: format!("column {column} is not numeric"),
        })?;
    Ok((batch.num_rows() > 0 && a.is_valid(last)).then(|| a.value(last)))
}
