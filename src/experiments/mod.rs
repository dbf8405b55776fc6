//! Experiment kinds: each is one file implementing [`Experiment`] and one
//! line in [`REGISTRY`]. A kind checks its own typed parameters (unknown
//! keys are errors) and turns a dataset and a seed into a [`RunOutput`].

pub mod backprop_cnn;
pub mod defaults;
pub mod engine;
pub mod figures;
pub mod foldiak_bars;
pub mod foldiak_mnist;
pub mod hebbian_cnn;
pub mod krotov;
pub mod supervised;
pub mod topographic;

use candle_core::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::train::EpochMetrics;

/// Resolved parameters of one run.
pub type Params = Map<String, Value>;

/// Everything a run may use besides its parameters.
pub struct RunContext {
    /// The run's seed; every random draw derives from it.
    pub seed: u64,
    /// Where candle tensors live.
    pub device: Device,
    /// The verified dataset.
    pub dataset: Arc<Dataset>,
    /// Progress bars (quiet when asked).
    pub progress: Progress,
    /// Where expensive intermediate results (trained weights) are cached,
    /// keyed by a hash of everything that determines them.
    pub cache_dir: std::path::PathBuf,
    /// Keep large intermediates too (the Hebbian CNNs' frozen features, ~5
    /// GB per full-data SoftHebb configuration), so that classifier variants
    /// skip the Hebbian epoch and feature extraction.
    pub keep_features: bool,
}

impl RunContext {
    /// The run's labelled-data split of training images with `labels`
    /// (`label_fraction`, `val_fraction`; see [`crate::train::split`]),
    /// its sizes recorded among `out`'s scalars.
    pub fn label_split(
        &self,
        labels: &[u8],
        (label_fraction, val_fraction): (f64, f64),
        out: &mut RunOutput,
    ) -> Result<crate::train::split::Split> {
        let s = crate::train::split::split(
            labels,
            self.dataset.classes,
            label_fraction,
            val_fraction,
            self.seed,
        )?;
        s.record(&mut out.summary);
        Ok(s)
    }

    /// An RNG for one named purpose, derived from the run's seed, so that
    /// adding a draw in one place does not shift the draws of another.
    pub fn rng(&self, stream: u64) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::seed_from_u64(self.seed);
        r.set_stream(stream);
        r
    }
}

/// How long another host's claim on a cache entry is trusted: longer than
/// any single computation (a full-data Hebbian phase), shorter than a lost
/// job's claim should block a suite.
pub const CACHE_LOCK_STALE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Loads tensors cached under `key`, or computes and caches them. The write
/// is atomic, so a killed run never leaves a half-written cache entry, and
/// concurrent runs (shards) compute an entry once: the others wait for it.
pub fn cached_tensors(
    ctx: &RunContext,
    key: &str,
    compute: impl FnOnce() -> Result<Vec<(String, candle_core::Tensor)>>,
) -> Result<(Vec<(String, candle_core::Tensor)>, bool)> {
    let path = ctx.cache_dir.join(format!("{key}.safetensors"));
    let load = || -> Option<Vec<(String, candle_core::Tensor)>> {
        let map = candle_core::safetensors::load(&path, &ctx.device).ok()?;
        let mut v: Vec<_> = map.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Some(v)
    };
    if let Some(v) = path.is_file().then(load).flatten() {
        return Ok((v, true));
    }
    // Shards sharing the cache: one computes, the others wait and load.
    let _claim = crate::atomic::CacheLock::acquire(&path, CACHE_LOCK_STALE)?;
    if let Some(v) = path.is_file().then(load).flatten() {
        return Ok((v, true));
    }
    let tensors = compute()?;
    let map: std::collections::HashMap<String, candle_core::Tensor> =
        tensors.iter().cloned().collect();
    crate::atomic::write_safetensors(&path, &map)?;
    Ok((tensors, false))
}

/// Wall time and work of one phase (unsupervised, features, classifier).
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// `unsupervised`, `features`, `classifier`, …
    pub name: String,
    /// Wall seconds.
    pub wall_s: f64,
    /// Images processed in this phase, counting repeats over epochs.
    pub images: u64,
}

impl Phase {
    /// Throughput of the phase.
    pub fn images_per_s(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.images as f64 / self.wall_s
        } else {
            0.0
        }
    }
}

/// An array a report may draw (weights, snapshots), saved beside the run's
/// Parquet file as `<run-hash>.safetensors`.
#[derive(Debug, Clone)]
pub struct Artefact {
    /// The array's name in the artefact file.
    pub name: String,
    /// Its dimensions.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// What a finished run measured.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// Wall time and work of each phase.
    pub phases: Vec<Phase>,
    /// One row per classifier epoch.
    pub epochs: Vec<EpochMetrics>,
    /// Run-level scalars (convergence statistics and the like).
    pub summary: BTreeMap<String, f64>,
    /// Arrays the report may draw.
    pub artefacts: Vec<Artefact>,
}

impl RunOutput {
    /// Wall seconds of every phase so far (a phase reused from a cache at
    /// the time it took when computed).
    pub fn wall_s(&self) -> f64 {
        self.phases.iter().map(|p| p.wall_s).sum()
    }

    /// Keeps the last classifier epoch's test confusion matrix as the
    /// `test_confusion` artefact (`classes × classes`, row: true class), for
    /// every kind that scores one; its per-epoch copies are not written.
    pub fn keep_final_confusion(&mut self) {
        let Some(cm) = self.epochs.last().map(|e| e.test_confusion.clone()) else {
            return;
        };
        let k = (cm.len() as f64).sqrt() as usize;
        if k == 0 || k * k != cm.len() || self.artefacts.iter().any(|a| a.name == "test_confusion")
        {
            return;
        }
        self.artefacts.push(Artefact {
            name: "test_confusion".into(),
            shape: vec![k, k],
            data: cm.iter().map(|&v| v as f32).collect(),
        });
    }

    /// Records the last phase's GFLOP/s for `flops` of work, the GEMM rate
    /// `probe` measured during it, and their ratio (`gemm_gflops`,
    /// `hebbian_gflops`, `hebbian_gemm_ratio`), so that throughput compares
    /// across machines and moments. The probe's own time is not counted as
    /// the phase's work.
    pub fn record_gemm_ratio(&mut self, probe: &crate::hebb::gemm::GemmProbe, flops: f64) {
        let gemm = probe.gflops_since(0);
        self.summary.insert("gemm_gflops".into(), gemm);
        let wall =
            self.phases.last().map_or(0.0, |ph| ph.wall_s) - probe.samples.iter().sum::<f64>();
        if wall > 0.0 {
            let achieved = flops / wall / 1e9;
            self.summary.insert("hebbian_gflops".into(), achieved);
            self.summary
                .insert("hebbian_gemm_ratio".into(), achieved / gemm);
        }
    }
}

/// Times `f` as a phase that processes `images` images.
pub fn timed<T>(
    name: &str,
    images: u64,
    phases: &mut Vec<Phase>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let start = std::time::Instant::now();
    let out = f()?;
    phases.push(Phase {
        name: name.to_string(),
        wall_s: start.elapsed().as_secs_f64(),
        images,
    });
    Ok(out)
}

/// Parameters that passed an experiment's checks.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The dataset the run needs.
    pub dataset: String,
    /// Every parameter, defaults filled in.
    pub params: Params,
}

/// Serialises typed parameters back to a map, defaults included.
pub fn resolved<T: serde::Serialize>(dataset: &str, typed: &T) -> Result<Checked> {
    match serde_json::to_value(typed)? {
        Value::Object(params) => Ok(Checked {
            dataset: dataset.to_string(),
            params,
        }),
        other => Err(Error::Params(format!(
            "parameters must be a map, got {other}"
        ))),
    }
}

/// Trains a softmax (logistic-regression) readout on frozen features as
/// the run's "classifier" phase, on the labelled images of the run's
/// budget (`label_fraction`, `val_fraction`), recording its per-epoch
/// metrics with validation scores and the run's elapsed seconds.
pub fn logistic_readout(
    ctx: &RunContext,
    out: &mut RunOutput,
    train: crate::train::readout::Labelled,
    test: crate::train::readout::Labelled,
    schedule: &crate::train::readout::ReadoutSchedule,
    rng_stream: u64,
    budget: (f64, f64),
) -> Result<()> {
    use crate::train::split::Rows;
    let classes = ctx.dataset.classes;
    let split = ctx.label_split(train.labels, budget, out)?;
    let rows = Rows::of(train.features, train.labels, &split)?;
    let images = (schedule.epochs * split.labelled.len()) as u64;
    let before = out.wall_s();
    let (_, mut history) = timed("classifier", images, &mut out.phases, || {
        crate::train::readout::train(
            &crate::train::readout::SoftmaxCrossEntropy,
            rows.train(),
            rows.val(),
            test,
            classes,
            schedule,
            &mut ctx.rng(rng_stream),
            &ctx.progress,
        )
    })?;
    crate::train::offset_elapsed(&mut history, before);
    out.epochs = history;
    Ok(())
}

/// One kind of experiment.
pub trait Experiment: Sync {
    /// The name suites use in `experiment:`.
    fn name(&self) -> &'static str;
    /// One line for `hebbench experiments`.
    fn about(&self) -> &'static str;
    /// Validates parameters; returns the dataset the run needs and the
    /// parameters with every default filled in, so that results record (and
    /// run identities cover) the values actually used.
    fn check(&self, params: &Params) -> Result<Checked>;
    /// Runs one configuration with the context's seed.
    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput>;
    /// Options added after results existed, each with the value that keeps
    /// the behaviour from before it (`"a.b"` names a field of a nested map).
    /// At that value an option is recorded with the run but left out of its
    /// identity, so that adding an option never orphans earlier results.
    fn identity_neutral(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    /// A rough estimate of a run's cost in CPU seconds on a 2-core x86 VM
    /// (one unit for every kind, so that suites mixing kinds still
    /// balance), so that shards of a suite get equal work; `None` when the
    /// kind cannot tell, and shards then balance by count.
    fn cost_estimate(&self, _params: &Params) -> Option<f64> {
        None
    }
    /// Every parameter the kind accepts, for `hebbench params`: its own
    /// config, then any plug-in parts' (generated from the typed configs).
    fn params(&self) -> Vec<crate::config::ParamGroup>;
    /// The figures of one run of configuration `config`, from its
    /// artefacts; an error (a foreign or damaged artefact) names what is
    /// wrong, and the report skips that run's figures.
    fn figures(
        &self,
        _arts: &figures::Artefacts,
        _config: &str,
        _seed: u64,
    ) -> std::result::Result<Vec<figures::FigureSpec>, String> {
        Ok(Vec::new())
    }
    /// Whether this kind computes on the CPU whatever device it is given
    /// (hand-written kernels). The runner then refuses other devices, so
    /// that no result row names a device its arithmetic did not run on.
    fn cpu_only(&self) -> bool {
        false
    }
}

/// The report's name for which variant a run is: its options of
/// [`Experiment::identity_neutral`] that are not at their neutral value, as
/// `name=value` joined by `; ` (empty when every one is neutral).
pub fn variant_label(experiment: &str, params: &Params) -> String {
    let Ok(exp) = lookup(experiment) else {
        return String::new();
    };
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    neutral_options(exp)
        .into_iter()
        .filter_map(|(key, neutral)| {
            let v = dotted(params, key)?;
            (*v != neutral).then(|| format!("{key}={}", plain(v)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `params` as run identities see them: without the options of
/// [`Experiment::identity_neutral`] that are at their neutral value.
pub fn identity_params(experiment: &str, params: &Params) -> Params {
    let mut p = params.clone();
    let Ok(exp) = lookup(experiment) else {
        return p;
    };
    for (key, neutral) in neutral_options(exp) {
        if dotted(&p, key) != Some(&neutral) {
            continue;
        }
        match key.split_once('.') {
            None => p.remove(key),
            Some((outer, inner)) => p
                .get_mut(outer)
                .and_then(Value::as_object_mut)
                .and_then(|m| m.remove(inner)),
        };
    }
    p
}

/// A kind's identity-neutral options and the labelled-data budget's
/// ([`crate::train::split::NEUTRAL`]), which every kind with a supervised
/// stage shares (a key a kind lacks is never present, so never removed).
fn neutral_options(exp: &dyn Experiment) -> Vec<(&'static str, Value)> {
    let mut n = exp.identity_neutral();
    n.extend(crate::train::split::neutral());
    n
}

/// The value at `key` (`"a.b"`: field `b` of the map at `a`).
fn dotted<'a>(params: &'a Params, key: &str) -> Option<&'a Value> {
    match key.split_once('.') {
        None => params.get(key),
        Some((outer, inner)) => params.get(outer).and_then(|o| o.get(inner)),
    }
}

/// Every experiment kind hebbench knows.
pub static REGISTRY: &[&dyn Experiment] = &[
    &krotov::Krotov,
    &backprop_cnn::BackpropCnn,
    &foldiak_bars::FoldiakBars,
    &foldiak_mnist::FoldiakMnist,
    &hebbian_cnn::HebbianCnn,
    &supervised::Supervised,
    &topographic::TopographicCoder,
];

/// Finds an experiment kind by name, listing the valid ones when unknown.
pub fn lookup(name: &str) -> Result<&'static dyn Experiment> {
    REGISTRY
        .iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| Error::UnknownName {
            what: "experiment",
            name: name.to_string(),
            valid: REGISTRY
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reads a kind's typed parameters: every missing required key named at
/// once, unknown keys refused, values checked.
pub fn typed<T: crate::config::Config>(params: &Params) -> Result<T> {
    T::from_params(params)
}
