//! The runner: executes a suite's runs, skipping those whose result file
//! exists (so a killed suite resumes where it stopped), recording failures
//! instead of stopping, and writing each result atomically.

pub mod provenance;
pub mod results;
pub mod shard;
pub mod slurm;

use candle_core::Device;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::data::{DataStore, Dataset, Lock};
use crate::error::{Error, Result};
use crate::experiments::{self, RunContext, RunOutput};
use crate::progress::Progress;
use crate::suite::{RunSpec, Suite};
use provenance::{rfc3339, Provenance};
use results::{RunRecord, Status};

/// Which candle backend runs the experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// CUDA device 0 (a build with the `cuda` feature).
    Cuda,
}

impl DeviceChoice {
    /// The candle device; CUDA fails clearly when not compiled in.
    pub fn device(self) -> Result<(Device, String)> {
        match self {
            DeviceChoice::Cpu => Ok((Device::Cpu, provenance::cpu_label())),
            DeviceChoice::Cuda => {
                let d = Device::new_cuda(0).map_err(|e| {
                    Error::Device(format!("cannot open CUDA device 0 ({e}); build with `--features cuda` on a machine with a GPU"))
                })?;
                Ok((d, "cuda:0".to_string()))
            }
        }
    }
}

/// How to run a suite.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results go to `<out>/<suite>/<run-hash>.parquet`.
    pub out: PathBuf,
    /// Only runs whose name matches (see `hebbench run --help`).
    pub filter: Option<String>,
    /// Runs executed at once (each gets its share of the threads).
    pub jobs: usize,
    /// Where tensors live.
    pub device: DeviceChoice,
    /// No progress bars.
    pub quiet: bool,
    /// Run again the runs whose recorded status is `failed`.
    pub retry_failed: bool,
    /// Download missing dataset files from the official sources.
    pub fetch_missing: bool,
    /// Cache large intermediates (see [`RunContext::keep_features`]).
    pub keep_features: bool,
    /// Only the runs this shard owns (see [`shard::assign`]).
    pub shard: Option<shard::Shard>,
}

/// What happened to one run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its result already existed.
    Skipped,
    /// It ran, with this outcome.
    Ran(Status),
}

/// Fails, naming them, when any of `kinds` computes only on the CPU and
/// another device was asked for: such a run would record a device it never
/// used.
pub fn refuse_cpu_only(kinds: &[&str], device: DeviceChoice) -> Result<()> {
    if device == DeviceChoice::Cpu {
        return Ok(());
    }
    let mut cpu: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| experiments::lookup(k).is_ok_and(|e| e.cpu_only()))
        .collect();
    cpu.sort();
    cpu.dedup();
    if cpu.is_empty() {
        return Ok(());
    }
    Err(Error::Params(format!(
        "experiment kind(s) {} compute on the CPU only (hand-written kernels); run them with --device cpu",
        cpu.join(", ")
    )))
}

/// Where a run's result file lives.
pub fn result_path(out: &Path, suite: &str, run_hash: &str) -> PathBuf {
    out.join(suite).join(format!("{run_hash}.parquet"))
}

/// Runs every selected run of `suite`; returns each run's outcome. Errors
/// only for problems that would affect every run (missing data, bad device).
pub fn run_suite(
    suite: &Suite,
    store: &DataStore,
    lock: &Lock,
    opts: &RunOptions,
) -> Result<Vec<(RunSpec, Outcome)>> {
    let selected_kinds: Vec<&str> = suite
        .filtered(opts.filter.as_deref())
        .iter()
        .map(|r| r.experiment.as_str())
        .collect();
    refuse_cpu_only(&selected_kinds, opts.device)?;
    let (device, device_label) = opts.device.device()?;
    let provenance = Provenance::collect(&device_label);
    let progress = Progress::new(opts.quiet);
    let mut selected: Vec<&RunSpec> = suite.filtered(opts.filter.as_deref());
    if let Some(sh) = opts.shard {
        selected = shard::select(selected, lock, sh);
    }

    remove_stale_temporaries(&opts.out.join(&suite.name));

    // Decide what to run before loading anything.
    let mut todo = Vec::new();
    let mut outcomes: Vec<(RunSpec, Outcome)> = Vec::new();
    for spec in selected {
        let path = result_path(&opts.out, &suite.name, &spec.run_hash(lock));
        let keep = path.is_file()
            && !(opts.retry_failed
                && results::summarize(&path)
                    .map(|s| s.status != "ok")
                    .unwrap_or(true));
        if keep {
            outcomes.push((spec.clone(), Outcome::Skipped));
        } else {
            todo.push(spec.clone());
        }
    }

    // Datasets are verified once, up front: a bad file stops the suite
    // before any run starts, with the file named.
    let mut datasets: BTreeMap<String, Arc<Dataset>> = BTreeMap::new();
    for spec in &todo {
        if !datasets.contains_key(&spec.dataset) {
            let ds = match load_dataset(&spec.dataset, store, lock) {
                Err(Error::MissingFile { .. }) if opts.fetch_missing => {
                    progress.println(&format!(
                        "dataset {} is not here; fetching it from the official sources",
                        spec.dataset
                    ));
                    store.fetch(&spec.dataset, lock, opts.quiet)?;
                    Dataset::load(&spec.dataset, store, lock)?
                }
                other => other?,
            };
            datasets.insert(spec.dataset.clone(), Arc::new(ds));
        }
    }

    let total = todo.len();
    let bar = progress.bar(total as u64, &format!("suite {}", suite.name));
    let run_one = |spec: &RunSpec| -> Result<Outcome> {
        // Another process (a shard sharing the directory) may have written
        // it since the list was made.
        let path = result_path(&opts.out, &suite.name, &spec.run_hash(lock));
        if path.is_file() && !opts.retry_failed {
            bar.inc(1);
            return Ok(Outcome::Skipped);
        }
        let ds = datasets[&spec.dataset].clone();
        let status = execute(spec, ds, &device, &provenance, &progress, lock, opts)?;
        if let Status::Failed(reason) = &status {
            progress.println(&format!(
                "run {} (seed {}) failed: {reason}",
                spec.name, spec.seed
            ));
        }
        bar.inc(1);
        Ok(Outcome::Ran(status))
    };
    let ran: Vec<Result<Outcome>> = if opts.jobs <= 1 {
        todo.iter().map(run_one).collect()
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs)
            .build()
            .map_err(|e| Error::Threads(format!("cannot start {} jobs: {e}", opts.jobs)))?;
        pool.install(|| todo.par_iter().map(run_one).collect())
    };
    bar.finish_and_clear();
    for (spec, r) in todo.into_iter().zip(ran) {
        outcomes.push((spec, r?));
    }
    Ok(outcomes)
}

/// Saves a run's arrays as safetensors, atomically.
fn write_artefacts(path: &Path, artefacts: &[crate::experiments::Artefact]) -> Result<()> {
    let mut map = std::collections::HashMap::new();
    for a in artefacts {
        let t = candle_core::Tensor::from_slice(&a.data, a.shape.as_slice(), &Device::Cpu)?;
        map.insert(a.name.clone(), t);
    }
    crate::atomic::write_safetensors(path, &map)
}

fn load_dataset(name: &str, store: &DataStore, lock: &Lock) -> Result<Dataset> {
    if name.starts_with(crate::data::SYNTHETIC_PREFIX) {
        Ok(Dataset::synthetic(name))
    } else {
        Dataset::load(name, store, lock)
    }
}

/// Removes temporary result files left by killed runs; they are never
/// read (only `*.parquet` is), so this only tidies up. A temporary whose
/// writer is still alive, or that another host wrote, is left alone.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name.contains(".parquet.") || name.contains(".safetensors.");
        if ours && crate::atomic::is_stale_temporary(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// One floor that a result does not meet.
#[derive(Debug, Clone)]
pub struct FloorMiss {
    /// The run's configuration name.
    pub run: String,
    /// Its seed.
    pub seed: u64,
    /// What the check found.
    pub what: String,
}

/// Checks every selected run of `suite` has an `ok` result, in the first of
/// `dirs` that holds it (one directory, or one per shard), whose final
/// values meet the suite's floors. Returns what fails, named.
pub fn check_floors(
    suite: &Suite,
    lock: &Lock,
    dirs: &[PathBuf],
    filter: Option<&str>,
) -> Result<Vec<FloorMiss>> {
    let mut misses = Vec::new();
    for spec in suite.filtered(filter) {
        let hash = spec.run_hash(lock);
        let miss = |what: String| FloorMiss {
            run: spec.name.clone(),
            seed: spec.seed,
            what,
        };
        let Some(path) = dirs
            .iter()
            .map(|d| result_path(d, &suite.name, &hash))
            .find(|p| p.is_file())
        else {
            let looked: Vec<_> = dirs
                .iter()
                .map(|d| result_path(d, &suite.name, &hash).display().to_string())
                .collect();
            misses.push(miss(format!("no result at {}", looked.join(" or "))));
            continue;
        };
        let s = results::summarize(&path)?;
        if s.status != "ok" {
            misses.push(miss(format!(
                "status {}: {}",
                s.status,
                s.reason.unwrap_or_default()
            )));
            continue;
        }
        for (col, floor) in &spec.floor {
            match results::final_value(&path, col)? {
                Some(v) if v >= *floor => {}
                Some(v) => misses.push(miss(format!("{col} = {v:.4} is below the floor {floor}"))),
                None => misses.push(miss(format!("{col} is missing"))),
            }
        }
    }
    Ok(misses)
}

/// Where one run stands across result directories.
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// An `ok` result exists.
    Done(PathBuf),
    /// The run was recorded as failed, with its reason.
    Failed(PathBuf, String),
    /// A result file exists but cannot be read (named, never trusted).
    Damaged(PathBuf, String),
    /// No result file yet.
    Missing,
}

/// Each selected run of `suite`, its state in the first of `dirs` that
/// holds its result (shards may write to one directory or one each), and
/// with `shards` the shard (1-based) that owns it.
pub fn suite_status(
    suite: &Suite,
    lock: &Lock,
    dirs: &[PathBuf],
    filter: Option<&str>,
    shards: Option<usize>,
) -> Vec<(RunSpec, RunState, Option<usize>)> {
    let runs = suite.filtered(filter);
    let owners: Vec<Option<usize>> = match shards {
        Some(n) => shard::assign(&runs, lock, n)
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None; runs.len()],
    };
    runs.into_iter()
        .zip(owners)
        .map(|(spec, owner)| {
            let hash = spec.run_hash(lock);
            let found = dirs
                .iter()
                .map(|d| result_path(d, &suite.name, &hash))
                .find(|p| p.is_file());
            let state = match found {
                None => RunState::Missing,
                Some(p) => match results::summarize(&p) {
                    Ok(s) if s.status == "ok" => RunState::Done(p),
                    Ok(s) => RunState::Failed(p, s.reason.unwrap_or_default()),
                    Err(e) => RunState::Damaged(p, e.to_string()),
                },
            };
            (spec.clone(), state, owner)
        })
        .collect()
}

/// Runs one spec and writes its result file, whatever the run's fate.
fn execute(
    spec: &RunSpec,
    dataset: Arc<Dataset>,
    device: &Device,
    provenance: &Provenance,
    progress: &Progress,
    lock: &Lock,
    opts: &RunOptions,
) -> Result<Status> {
    let out = opts.out.as_path();
    let exp = experiments::lookup(&spec.experiment)?;
    let ctx = RunContext {
        seed: spec.seed,
        device: device.clone(),
        dataset: dataset.clone(),
        progress: progress.clone(),
        cache_dir: out.join("cache"),
        keep_features: opts.keep_features,
    };
    let started = SystemTime::now();
    let clock = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| exp.run(&ctx, &spec.params)));
    let total_wall_s = clock.elapsed().as_secs_f64();
    let (output, status) = match result {
        Ok(Ok(o)) => {
            let nan = o
                .epochs
                .iter()
                .any(|e| !e.test.accuracy.is_finite() || !e.train_loss.is_finite());
            if nan {
                (o, Status::Failed("non-finite metric".into()))
            } else {
                (o, Status::Ok)
            }
        }
        Ok(Err(e)) => (RunOutput::default(), Status::Failed(e.to_string())),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            (
                RunOutput::default(),
                Status::Failed(format!("panic: {msg}")),
            )
        }
    };
    let run_hash = spec.run_hash(lock);
    let mut output = output;
    output.keep_final_confusion();
    // Artefacts first: a result file's existence implies its artefacts do.
    if !output.artefacts.is_empty() {
        write_artefacts(
            &out.join(&spec.suite)
                .join(format!("{run_hash}.safetensors")),
            &output.artefacts,
        )?;
    }
    let record = RunRecord {
        spec,
        run_hash: run_hash.clone(),
        config_hash: spec.config_hash(lock),
        dataset_hash: dataset.content_hash(),
        dataset_files: &dataset.hashes,
        provenance,
        started_at: rfc3339(started),
        finished_at: rfc3339(SystemTime::now()),
        total_wall_s,
        output,
        status: status.clone(),
    };
    results::write_parquet(
        &result_path(out, &spec.suite, &run_hash),
        &record.to_batch()?,
    )?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_only_kinds_refuse_another_device_and_say_which() {
        assert!(refuse_cpu_only(&["hebbian_cnn", "krotov"], DeviceChoice::Cpu).is_ok());
        assert!(refuse_cpu_only(&["krotov", "supervised"], DeviceChoice::Cuda).is_ok());
        // The CNN kinds have a candle engine, so they are not CPU-only.
        let e = refuse_cpu_only(
            &[
                "krotov",
                "hebbian_cnn",
                "foldiak_bars",
                "backprop_cnn",
                "foldiak_bars",
            ],
            DeviceChoice::Cuda,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("kind(s) foldiak_bars compute on the CPU only")
                && !e.contains("hebbian_cnn")
                && !e.contains("backprop_cnn"),
            "{e}"
        );
    }
}
