//! The MSc report's Hebbian CNNs on CIFAR-10 (seed 003, Tables 1–4): one
//! Hebbian epoch with every layer learning locally, then a frozen-feature
//! classifier (dropout 0.5 + linear, Adam) trained for a few epochs.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{timed, Artefact, Checked, Experiment, Params, RunContext, RunOutput};
use crate::data::transforms::{chw_to_hwc, normalise_channels};
use crate::data::zca::Zca;
use crate::error::{Error, Result};
use crate::hebb::gemm::GemmProbe;
use crate::hebb::tensor::nchw;
use crate::hebb::{competition, rule};
use crate::models::hebb_cnn::HebbNet;
use crate::nhwc::gather_chw;
use crate::train::frozen::{train_head, FeatureStore, HeadRows, HeadSchedule};

pub(crate) mod figures;
mod params;
pub mod receptive;
pub mod record;

pub(crate) use params::neutral_options;
use params::PINNED_PART_KEYS;
pub use params::{Engine, HebbianCnnParams, Parsed, RfLayers, ZcaFit, ZcaLayout};
use record::Recorder;

/// The experiment kind `hebbian_cnn`.
pub struct HebbianCnn;

const STREAM_INIT: u64 = 1;
const STREAM_DATA: u64 = 2;
const STREAM_HEAD: u64 = 3;
const STREAM_EMBED: u64 = 4;
const STREAM_RF: u64 = 5;

impl Experiment for HebbianCnn {
    fn name(&self) -> &'static str {
        "hebbian_cnn"
    }

    fn about(&self) -> &'static str {
        "report 003's Hebbian CNNs on CIFAR-10: one Hebbian epoch, then a dropout+linear classifier on frozen features"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        use crate::config::ParamGroup;
        let mut g = vec![ParamGroup::of::<HebbianCnnParams>(
            self.name(),
            self.about(),
        )];
        g.extend(ParamGroup::parts("competition", competition::REGISTRY));
        g.extend(ParamGroup::parts("rule", rule::REGISTRY));
        g
    }

    fn figures(
        &self,
        arts: &super::figures::Artefacts,
        config: &str,
        seed: u64,
    ) -> std::result::Result<Vec<super::figures::FigureSpec>, String> {
        figures::all(arts, config, seed, &figures::Learning::HEBBIAN)
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let run = Parsed::from_params(params)?;
        Ok(Checked {
            dataset: run.dataset.clone(),
            params: run.resolved()?,
        })
    }

    fn identity_neutral(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut n = neutral_options();
        let docs = competition::REGISTRY
            .iter()
            .flat_map(|c| (c.params)())
            .chain(rule::REGISTRY.iter().flat_map(|r| (r.params)()));
        for doc in docs {
            if PINNED_PART_KEYS.contains(&doc.name) || n.iter().any(|(k, _)| *k == doc.name) {
                continue;
            }
            if let Some(v) = doc.default {
                n.push((doc.name, v));
            }
        }
        n
    }

    fn cost_estimate(&self, params: &Params) -> Option<f64> {
        let p = Parsed::from_params(params).ok()?;
        // Per-image seconds of the full-width SoftHebb network on the 2-core
        // AMD EPYC (README "Measured so far"), scaled by each architecture's
        // and competition's time in the quick suites.
        let arch = match p.arch.as_str() {
            "lagani_short" | "lagani_long" => 0.25,
            "hardhebb_depthwise" => 0.7,
            "softhebb_residual" => 1.9,
            _ => 1.0,
        };
        let comp = if p.competition == "temporal" {
            1.8
        } else {
            1.0
        };
        let steps = 1.0 + 0.1 * (64.0 / p.hebb_batch as f64 - 1.0);
        let n = p.train_limit.unwrap_or(50_000) as f64;
        let m = p.test_limit.unwrap_or(10_000) as f64;
        let flips = if p.flip { 2.0 } else { 1.0 };
        let scale = arch * p.width * p.width;
        let hebb = n * p.hebb_epochs as f64 * 0.0172 * comp * steps * scale;
        let feats = (n + m) * flips * 0.0085 * scale;
        Some(hebb + feats + p.classifier_epochs as f64 * n * 0.00045 + 5.0)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p = Parsed::from_params(params)?;
        let ds = &ctx.dataset;
        let d = ds.image_len();
        let train = ds.train.limited(p.train_limit, d);
        let test = ds.test.limited(p.test_limit, d);
        let mut out = RunOutput::default();
        let Features {
            train: f_train,
            flipped: f_flip,
            test: f_test,
            test_flipped: f_test_flip,
        } = features(ctx, &p, &mut out)?;

        let schedule = HeadSchedule {
            epochs: p.classifier_epochs,
            batch: p.classifier_batch,
            lr: p.classifier_lr,
            lr_decay: p.classifier_lr_decay,
            dropout: p.dropout as f32,
            standardize: p.standardize_features,
            shuffle: p.classifier_shuffle,
        };
        // Every training image went through the Hebbian phase; the head
        // sees the labelled ones of the budget.
        let split = ctx.label_split(&train.labels, (p.label_fraction, p.val_fraction), &mut out)?;
        let before = out.wall_s();
        let head_device = if p.engine.uses_candle(&ctx.device)? {
            ctx.device.clone()
        } else {
            candle_core::Device::Cpu
        };
        out.epochs = timed(
            "classifier",
            (p.classifier_epochs * split.labelled.len()) as u64,
            &mut out.phases,
            || {
                train_head(
                    &f_train,
                    f_flip.as_ref(),
                    &train.labels,
                    HeadRows {
                        labelled: &split.labelled,
                        val: &split.val,
                    },
                    &f_test,
                    f_test_flip.as_ref().filter(|_| p.test_flip),
                    &test.labels,
                    ds.classes,
                    &schedule,
                    &mut ctx.rng(STREAM_HEAD),
                    &ctx.progress,
                    &head_device,
                )
            },
        )?;
        crate::train::offset_elapsed(&mut out.epochs, before);
        Ok(out)
    }
}

/// The frozen features of the training and test images, and of their
/// mirror images when flips are on (so that `test_flip`, a head setting,
/// reuses the features of runs without it).
struct Features {
    train: FeatureStore,
    flipped: Option<FeatureStore>,
    test: FeatureStore,
    test_flipped: Option<FeatureStore>,
}

/// Parameters that do not change the features: the classifier's.
const CLASSIFIER_PARAMS: [&str; 10] = [
    "label_fraction",
    "val_fraction",
    "classifier_epochs",
    "classifier_batch",
    "classifier_lr",
    "classifier_lr_decay",
    "dropout",
    "standardize_features",
    "classifier_shuffle",
    "test_flip",
];

/// The features for `p`: from the cache when the run keeps features and an
/// earlier run with the same Hebbian settings, seed and data stored them
/// (its phases, scalars and artefacts are reported again, marked
/// `features_cached`), otherwise learned and extracted here.
fn features(ctx: &RunContext, p: &Parsed, out: &mut RunOutput) -> Result<Features> {
    let all = p.resolved()?;
    let mut key_params = super::identity_params("hebbian_cnn", &all);
    for k in CLASSIFIER_PARAMS {
        key_params.remove(k);
    }
    let key = crate::identity::run_hash(
        "hebbian-features",
        &key_params,
        ctx.seed,
        &ctx.dataset.content_hash(),
    );
    let dir = ctx.cache_dir.join(format!("features-{key}"));
    // An entry from before flipped test features were kept is a miss.
    let hit = |out: &mut RunOutput| -> Option<Features> {
        let mut cached = RunOutput::default();
        let f = load_features(&dir, &mut cached).filter(|f| !p.flip || f.test_flipped.is_some())?;
        out.phases.extend(cached.phases);
        out.summary.extend(cached.summary);
        out.artefacts.extend(cached.artefacts);
        out.summary.insert("features_cached".into(), 1.0);
        Some(f)
    };
    let mut _claim = None;
    if ctx.keep_features {
        if let Some(f) = hit(out) {
            return Ok(f);
        }
        // Another shard may be computing this entry: wait for it.
        _claim = Some(crate::atomic::CacheLock::acquire(
            &dir,
            super::CACHE_LOCK_STALE,
        )?);
        if let Some(f) = hit(out) {
            return Ok(f);
        }
    }
    let mut fresh = RunOutput::default();
    let f = learn_and_extract(ctx, p, &mut fresh)?;
    if ctx.keep_features {
        save_features(&dir, &f, &fresh)?;
    }
    out.phases.extend(fresh.phases);
    out.summary.extend(fresh.summary);
    out.artefacts.extend(fresh.artefacts);
    out.summary.insert("features_cached".into(), 0.0);
    Ok(f)
}

/// What a feature cache entry records besides the features.
#[derive(Serialize, Deserialize)]
struct FeatureMeta {
    phases: Vec<(String, f64, u64)>,
    summary: std::collections::BTreeMap<String, f64>,
    artefacts: Vec<(String, Vec<usize>, Vec<f32>)>,
}

fn save_features(dir: &std::path::Path, f: &Features, out: &RunOutput) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|err| Error::Io {
        path: dir.to_path_buf(),
        err,
    })?;
    f.train.save(&dir.join("train.f16"))?;
    if let Some(fl) = &f.flipped {
        fl.save(&dir.join("flipped.f16"))?;
    }
    f.test.save(&dir.join("test.f16"))?;
    if let Some(tf) = &f.test_flipped {
        tf.save(&dir.join("test_flipped.f16"))?;
    }
    let meta = FeatureMeta {
        phases: out
            .phases
            .iter()
            .map(|ph| (ph.name.clone(), ph.wall_s, ph.images))
            .collect(),
        summary: out.summary.clone(),
        artefacts: out
            .artefacts
            .iter()
            .map(|a| (a.name.clone(), a.shape.clone(), a.data.clone()))
            .collect(),
    };
    let json = serde_json::to_vec(&meta)?;
    // Written last: its presence marks a complete entry.
    crate::atomic::write_bytes(&dir.join("meta.json"), &json)
}

fn load_features(dir: &std::path::Path, out: &mut RunOutput) -> Option<Features> {
    let meta: FeatureMeta =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).ok()?).ok()?;
    let train = FeatureStore::load(&dir.join("train.f16"))?;
    let test = FeatureStore::load(&dir.join("test.f16"))?;
    let optional = |name: &str| match dir.join(name) {
        path if path.exists() => FeatureStore::load(&path).map(Some),
        _ => Some(None),
    };
    let flipped = optional("flipped.f16")?;
    let test_flipped = optional("test_flipped.f16")?;
    out.phases.extend(
        meta.phases
            .into_iter()
            .map(|(name, wall_s, images)| super::Phase {
                name,
                wall_s,
                images,
            }),
    );
    out.summary.extend(meta.summary);
    out.artefacts.extend(
        meta.artefacts
            .into_iter()
            .map(|(name, shape, data)| Artefact { name, shape, data }),
    );
    Some(Features {
        train,
        flipped,
        test,
        test_flipped,
    })
}

/// Preprocessing, the Hebbian epoch(s) and feature extraction.
fn learn_and_extract(ctx: &RunContext, p: &Parsed, out: &mut RunOutput) -> Result<Features> {
    let ds = &ctx.dataset;
    let [c, h, w] = ds.shape;
    let d = ds.image_len();
    let train = ds.train.limited(p.train_limit, d);
    let test = ds.test.limited(p.test_limit, d);
    let (mut xtr, mut xte) = (train.unit_floats(), test.unit_floats());
    let candle = p.engine.uses_candle(&ctx.device)?;
    let pre_dev = if candle {
        ctx.device.clone()
    } else {
        candle_core::Device::Cpu
    };
    timed(
        "preprocess",
        (train.len() + test.len()) as u64,
        &mut out.phases,
        || match p.zca {
            Some(eps) => {
                let zca = fitted_zca(ctx, d, eps as f32, (p.zca_layout, p.zca_fit), &pre_dev)?;
                out.summary.insert("zca_residual".into(), zca.residual);
                zca.transform(&mut xtr, &pre_dev)?;
                zca.transform(&mut xte, &pre_dev)
            }
            None => {
                normalise_channels(&mut xtr, h * w);
                normalise_channels(&mut xte, h * w);
                Ok(())
            }
        },
    )?;

    let mut net = HebbNet::build(&p.arch, &p.layer_options()?, &mut ctx.rng(STREAM_INIT))?;
    out.summary
        .insert("parameters".into(), net.parameters() as f64);
    // The GEMM yardstick, sampled every 32 batches of the Hebbian epoch
    // so that the ratio compares like with like.
    let mut probe = GemmProbe::new(1024)?;

    // Hebbian phase: every layer learns from each batch.
    let n = train.len();
    let mut rng = ctx.rng(STREAM_DATA);
    let batches = n.div_ceil(p.hebb_batch);
    let bar = ctx
        .progress
        .bar((p.hebb_epochs * batches) as u64, "hebbian epoch");
    let mut flops = 0f64;
    let images = (p.hebb_epochs * n) as u64;
    let mut recorder = Recorder::new(&net, p.hebb_epochs * batches);
    let mut step = 0;
    timed("unsupervised", images, &mut out.phases, || {
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..p.hebb_epochs {
            if p.shuffle {
                order.shuffle(&mut rng);
            }
            for (b, chunk) in order.chunks(p.hebb_batch).enumerate() {
                if b % 32 == 0 {
                    probe.sample()?;
                }
                let flips: Vec<bool> = chunk
                    .iter()
                    .map(|_| p.flip && rng.random::<bool>())
                    .collect();
                let x = gather_chw(&xtr, chunk, &flips, c, h, w);
                recorder.before_batch(&net, step);
                if candle {
                    net.learn_tensor(&nchw(&x.data, (x.n, x.h, x.w, x.c), &ctx.device)?)?;
                } else {
                    net.forward(x, true)?;
                }
                recorder.after_batch(&net, step);
                step += 1;
                flops += dense_hebbian_flops(&net);
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        Ok(())
    })?;
    out.record_gemm_ratio(&probe, flops);
    out.summary.insert("record_s".into(), recorder.seconds());
    recorder.finish(&net, &mut out.artefacts);
    if p.rf_steps > 0 {
        let layers = match p.rf_layers {
            RfLayers::Report => net.report_drawn_layers(),
            RfLayers::All => (0..net.layers().len()).collect(),
        };
        receptive_fields(ctx, &net, p.rf_steps, &layers, out)?;
    }
    layer_artefacts(&net, out);

    // Frozen features (BatchNorm on running statistics).
    let passes = if p.flip { 2 } else { 1 };
    let images = passes * (n + test.len());
    let (f_train, f_flip, f_test, f_test_flip) =
        timed("features", images as u64, &mut out.phases, || {
            let bar = ctx.progress.bar(images as u64, "features");
            let mut run = |x: &[f32], n: usize, flip: bool| -> Result<FeatureStore> {
                extract(
                    &mut net,
                    x,
                    n,
                    flip,
                    (c, h, w),
                    candle.then_some(&ctx.device),
                    &bar,
                )
            };
            let f_train = run(&xtr, n, false)?;
            let f_flip = p.flip.then(|| run(&xtr, n, true)).transpose()?;
            let f_test = run(&xte, test.len(), false)?;
            let f_test_flip = p.flip.then(|| run(&xte, test.len(), true)).transpose()?;
            bar.finish_and_clear();
            Ok((f_train, f_flip, f_test, f_test_flip))
        })?;
    out.summary.insert("feature_dim".into(), f_train.dim as f64);
    drop(xtr);
    drop(xte);
    embedding(ctx, &f_test, &test.labels, 0.0, out);

    Ok(Features {
        train: f_train,
        flipped: f_flip,
        test: f_test,
        test_flipped: f_test_flip,
    })
}

/// The ZCA transform of the dataset, fitted on its whole training set (and
/// test set, under `zca_fit: train_test`) even when a run trains on a subset
/// (a covariance of 3,072 pixels from 2,000 images is rank-deficient, and
/// whitening then blows up the directions the subset never saw), and cached
/// by dataset content, ε and variant: the fit takes about a minute,
/// whatever the number of images.
fn fitted_zca(
    ctx: &RunContext,
    d: usize,
    eps: f32,
    (layout, fit): (ZcaLayout, ZcaFit),
    fit_dev: &candle_core::Device,
) -> Result<Zca> {
    let mut key_params = json!({ "eps": eps, "fit": "full training set" });
    if (layout, fit) != (ZcaLayout::Correct, ZcaFit::Train) {
        key_params = json!({ "eps": eps, "fit": fit, "layout": layout });
    }
    // A fit on another device rounds differently: its own entry (the CPU's
    // key is unchanged).
    if !fit_dev.is_cpu() {
        key_params["device"] = json!(format!("{:?}", fit_dev.location()));
    }
    let key = crate::identity::run_hash(
        "zca",
        key_params.as_object().expect("a JSON object"),
        0,
        &ctx.dataset.content_hash(),
    );
    let dev = candle_core::Device::Cpu;
    let (t, _) = super::cached_tensors(ctx, &format!("zca-{key}"), || {
        let (x, n) = zca_fit_data(ctx, layout, fit);
        let z = Zca::fit(&x, n, d, eps, fit_dev)?;
        Ok(vec![
            (
                "mean".into(),
                candle_core::Tensor::from_vec(z.mean, d, &dev)?,
            ),
            ("std".into(), candle_core::Tensor::from_vec(z.std, d, &dev)?),
            (
                "matrix".into(),
                candle_core::Tensor::from_vec(z.matrix, (d, d), &dev)?,
            ),
            (
                "residual".into(),
                candle_core::Tensor::new(&[z.residual], &dev)?,
            ),
        ])
    })?;
    let get = |name: &str| -> Result<candle_core::Tensor> {
        t.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| Error::Cache {
                path: ctx.cache_dir.clone(),
                msg: format!("ZCA entry has no `{name}`"),
            })
    };
    Ok(Zca {
        mean: get("mean")?.to_vec1()?,
        std: get("std")?.to_vec1()?,
        matrix: get("matrix")?.flatten_all()?.to_vec1()?,
        eps,
        residual: get("residual")?.to_vec1::<f64>()?[0],
        iterations: 0,
    })
}

/// The images a ZCA is fitted on, as `n × d` rows: CHW vectors, or under
/// the report's layout the same pixels in HWC order (what `trn_set.data`
/// holds), so that the fitted matrix mixes dimensions the way the report's
/// does once it is applied to CHW vectors.
fn zca_fit_data(ctx: &RunContext, layout: ZcaLayout, fit: ZcaFit) -> (Vec<f32>, usize) {
    let ds = &ctx.dataset;
    let mut x = ds.train.unit_floats();
    let mut n = ds.train.len();
    if fit == ZcaFit::TrainTest {
        x.extend(ds.test.unit_floats());
        n += ds.test.len();
    }
    if layout == ZcaLayout::Report {
        let [c, h, w] = ds.shape;
        x = chw_to_hwc(&x, c, h * w);
    }
    (x, n)
}

/// Receptive fields of the first [`RF_UNITS`] units of each of `layers`
/// (`layer<i>_rf`, units × 3 × size × size), timed as their own phase.
pub(crate) fn receptive_fields(
    ctx: &RunContext,
    net: &dyn receptive::Frozen,
    steps: usize,
    layers: &[usize],
    out: &mut RunOutput,
) -> Result<()> {
    let start = std::time::Instant::now();
    let cfg = receptive::AscentConfig {
        steps,
        ..Default::default()
    };
    let fields = match receptive::of_network(net, RF_UNITS, layers, &cfg, &mut ctx.rng(STREAM_RF)) {
        Ok(f) => f,
        Err(e) => {
            // An analysis that fails loses nothing else of the run.
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            ctx.progress
                .println(&format!("no receptive fields: {first}"));
            Vec::new()
        }
    };
    let mut units = 0;
    let cin = net.input_channels();
    if !fields.is_empty() {
        out.artefacts.push(Artefact {
            name: "rf_steps".into(),
            shape: vec![1],
            data: vec![steps as f32],
        });
    }
    for (i, size, images) in fields {
        let n = images.len() / (cin * size * size).max(1);
        units += n;
        out.artefacts.push(Artefact {
            name: format!("layer{i}_rf"),
            shape: vec![n, cin, size, size],
            data: images,
        });
    }
    out.phases.push(super::Phase {
        name: "receptive_fields".into(),
        wall_s: start.elapsed().as_secs_f64(),
        images: units as u64,
    });
    Ok(())
}

/// Units per layer whose receptive fields are drawn (the report's
/// `visualize_filters` default, `num_filters = 25`).
const RF_UNITS: usize = 25;

/// The class-cluster embedding of the test features and its numbers
/// (`embed_*` scalars, `embedding` artefacts); a failure is recorded as a
/// note and loses nothing else.
///
/// `extract_s` is what computing `f` for the embedding alone cost (0 where
/// the features serve the classifier too); it counts in the phase.
pub(crate) fn embedding(
    ctx: &RunContext,
    f: &FeatureStore,
    labels: &[u8],
    extract_s: f64,
    out: &mut RunOutput,
) {
    use crate::train::embedding::{embed, EmbedConfig};
    let start = std::time::Instant::now();
    let cfg = EmbedConfig::default();
    match embed(
        f,
        labels,
        ctx.dataset.classes,
        &cfg,
        &mut ctx.rng(STREAM_EMBED),
    ) {
        Ok(e) => {
            for (k, v) in [
                ("embed_knn_full", e.knn_full),
                ("embed_knn_2d", e.knn_2d),
                ("embed_silhouette_full", e.silhouette_full),
                ("embed_silhouette_2d", e.silhouette_2d),
            ] {
                out.summary.insert(k.into(), v);
            }
            let n = e.labels.len();
            out.artefacts.push(Artefact {
                name: "embedding".into(),
                shape: vec![n, 2],
                data: e.coords,
            });
            out.artefacts.push(Artefact {
                name: "embedding_labels".into(),
                shape: vec![n],
                data: e.labels.iter().map(|&c| c as f32).collect(),
            });
            out.artefacts.push(Artefact {
                name: "embedding_scores".into(),
                shape: vec![5],
                data: [
                    cfg.k as f64,
                    e.knn_full,
                    e.knn_2d,
                    e.silhouette_full,
                    e.silhouette_2d,
                ]
                .map(|v| v as f32)
                .to_vec(),
            });
        }
        Err(e) => ctx
            .progress
            .println(&format!("no class-cluster embedding: {e}")),
    }
    out.phases.push(super::Phase {
        name: "embedding".into(),
        wall_s: extract_s + start.elapsed().as_secs_f64(),
        images: f.len().min(cfg.points) as u64,
    });
}

/// Runs the frozen network over `n` images and keeps the output features
/// (NHWC per image); in candle ops on `candle`'s device when given.
fn extract(
    net: &mut HebbNet,
    x: &[f32],
    n: usize,
    flip: bool,
    (c, h, w): (usize, usize, usize),
    candle: Option<&candle_core::Device>,
    bar: &indicatif::ProgressBar,
) -> Result<FeatureStore> {
    let mut store: Option<FeatureStore> = None;
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(256) {
        let flips = vec![flip; chunk.len()];
        let m = gather_chw(x, chunk, &flips, c, h, w);
        let (dim, data) = match candle {
            Some(dev) => {
                let y =
                    net.forward_tensor(&nchw(&m.data, (m.n, m.h, m.w, m.c), dev)?, false, None)?;
                let y = y.permute((0, 2, 3, 1))?;
                let dim = y.elem_count() / chunk.len();
                (dim, y.flatten_all()?.to_vec1::<f32>()?)
            }
            None => {
                let y = net.forward(m, false)?;
                (y.image_len(), y.data)
            }
        };
        store
            .get_or_insert_with(|| FeatureStore::new(dim))
            .push(&data)?;
        bar.inc(chunk.len() as u64);
    }
    store.ok_or_else(|| Error::Shape("no images to extract features from".into()))
}

/// Dense FLOPs of the last learning step: forward `P·Wᵀ` plus update
/// `Aᵀ·P`, 2 FLOPs per multiply–accumulate each, over all Hebbian layers.
pub fn dense_hebbian_flops(net: &HebbNet) -> f64 {
    net.layers().iter().map(|l| 4.0 * l.last_macs as f64).sum()
}

/// First-layer filters as RGB kernels and each layer's mean kernel norm
/// (the other analysis artefacts come from [`record::Recorder`]).
pub(crate) fn layer_artefacts(net: &impl record::Weighted, out: &mut RunOutput) {
    for (i, l) in net.layer_weights().iter().enumerate() {
        if i == 0 {
            let (shape, data) = l.oihw();
            out.artefacts.push(Artefact {
                name: "layer0_weights".into(),
                shape,
                data,
            });
        }
        let fan = l.fan_in().max(1);
        let norms: Vec<f32> =
            l.w.chunks(fan)
                .map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt())
                .collect();
        let mean = norms.iter().sum::<f32>() / norms.len().max(1) as f32;
        out.summary
            .insert(format!("layer{i}_mean_norm"), mean as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(json: serde_json::Value) -> Params {
        json.as_object().unwrap().clone()
    }

    #[test]
    fn parts_own_their_parameters_and_only_the_chosen_parts_may_be_given_any() {
        let base = serde_json::json!({"arch": "softhebb", "competition": "soft_wta"});
        let ok = HebbianCnn.check(&params(base.clone())).unwrap().params;
        // Every part's keys are recorded at their defaults.
        assert_eq!(ok["t_invert"], serde_json::json!([1.0, 0.65, 0.25]));
        assert_eq!(ok["stat_k"], serde_json::json!(2.0));
        assert_eq!(ok["bcm_decay"], serde_json::json!(0.5));
        // A key of a part the run does not use is refused, naming both parts.
        let mut p = params(base.clone());
        p.insert("stat_k".into(), 3.0.into());
        let e = HebbianCnn.check(&p).unwrap_err().to_string();
        assert!(
            e.contains("`stat_k`") && e.contains("`soft_wta`") && e.contains("`instar`"),
            "{e}"
        );
        // An unknown key lists every valid one, parts' included.
        let mut p = params(base.clone());
        p.insert("t_invrt".into(), 3.0.into());
        let e = HebbianCnn.check(&p).unwrap_err().to_string();
        assert!(
            e.contains("unknown field `t_invrt`") && e.contains("`t_invert`"),
            "{e}"
        );
        // A part checks its own values.
        let mut p = params(base);
        p.insert("t_invert".into(), serde_json::json!([]));
        assert!(HebbianCnn
            .check(&p)
            .unwrap_err()
            .to_string()
            .contains("`t_invert`"));
        // Every missing required key is named at once.
        let e = HebbianCnn.check(&Params::new()).unwrap_err().to_string();
        assert!(e.contains("`arch`, `competition`"), "{e}");
    }

    #[test]
    fn a_new_part_parameter_is_out_of_the_identity_at_its_default_only() {
        let p = |extra: serde_json::Value| {
            let mut m = params(
                serde_json::json!({"arch": "softhebb", "competition": "hard_wta", "rule": "bcm"}),
            );
            m.extend(params(extra));
            let m = HebbianCnn.check(&m).unwrap().params;
            crate::suite::run_hash("hebbian_cnn", &m, 0, "d")
        };
        let default = p(serde_json::json!({}));
        assert_eq!(p(serde_json::json!({"bcm_decay": 0.5})), default);
        assert_ne!(p(serde_json::json!({"bcm_decay": 0.3})), default);
        // The parameters pinned before parts owned them stay in every hash.
        assert!(HebbianCnn
            .identity_neutral()
            .iter()
            .all(|(k, _)| *k != "t_invert"));
    }

    #[test]
    fn the_report_zca_layout_reads_chw_images_in_hwc_order() {
        // One 2-channel 1×2 image, CHW: R = [r0, r1], G = [g0, g1]. torch's
        // `trn_set.data` is N×H×W×C: pixel 0's channels, then pixel 1's.
        let chw = [1.0, 2.0, 10.0, 20.0];
        assert_eq!(chw_to_hwc(&chw, 2, 2), vec![1.0, 10.0, 2.0, 20.0]);
        // Two images are reordered independently.
        let two = [1.0, 2.0, 10.0, 20.0, 3.0, 4.0, 30.0, 40.0];
        assert_eq!(
            chw_to_hwc(&two, 2, 2),
            vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0]
        );
    }

    #[test]
    fn a_whitening_fitted_in_hwc_order_does_not_whiten_chw_vectors() {
        // Two channels of one pixel correlated (standardised correlation
        // 0.96): fitted in CHW order, whitening removes it; the report's
        // matrix, fitted on the HWC permutation (which swaps dimensions 1
        // and 2 of a 2-pixel, 2-channel image) and applied to CHW vectors,
        // decorrelates the wrong pair and leaves it in.
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 4000;
        let mut x = Vec::with_capacity(n * 4);
        let mut u = || rng.random::<f32>() - 0.5;
        for _ in 0..n {
            let (a, b, e, f) = (u(), u(), u(), u());
            // CHW: [c0p0, c0p1, c1p0, c1p1]; c1p0 follows c0p0.
            x.extend([a, b, a + 0.3 * e, f]);
        }
        let cov01 = |z: &[f32], i: usize, j: usize| -> f64 {
            let m = |k: usize| z.chunks(4).map(|r| r[k] as f64).sum::<f64>() / n as f64;
            let (mi, mj) = (m(i), m(j));
            z.chunks(4)
                .map(|r| (r[i] as f64 - mi) * (r[j] as f64 - mj))
                .sum::<f64>()
                / (n - 1) as f64
        };
        let right = Zca::fit(&x, n, 4, 1e-3, &candle_core::Device::Cpu).unwrap();
        let mut w = x.clone();
        right.transform(&mut w, &candle_core::Device::Cpu).unwrap();
        assert!(cov01(&w, 0, 2).abs() < 0.05, "{}", cov01(&w, 0, 2));
        let report =
            Zca::fit(&chw_to_hwc(&x, 2, 2), n, 4, 1e-3, &candle_core::Device::Cpu).unwrap();
        let mut w = x.clone();
        report.transform(&mut w, &candle_core::Device::Cpu).unwrap();
        assert!(cov01(&w, 0, 2).abs() > 0.3, "{}", cov01(&w, 0, 2));
    }
}
