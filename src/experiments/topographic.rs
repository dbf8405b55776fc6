//! The seed-002 topographic sparse coder on MNIST: reconstruction error,
//! sparsity, how topographic the learned map is, and how well a linear
//! readout classifies its activity.

use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::Rng;

use super::defaults;
use super::{resolved, timed, typed, Artefact, Checked, Experiment, Params, RunContext, RunOutput};
use crate::error::{Error, Result};
use crate::hebb::gemm::GemmProbe;
use crate::models::topographic::{TopoConfig, Topographic};
use crate::train::readout::{Labelled, ReadoutSchedule};

/// The experiment kind `topographic`.
pub struct TopographicCoder;

crate::config! {
    /// Parameters of a `topographic` run (seed 002's topographic sparse coder).
    pub struct TopoParams {
        /// Use only the first N training images.
        pub train_limit: Option<usize> = None,
        /// Use only the first N test images.
        pub test_limit: Option<usize> = None,
        /// Fraction of the training images held out for validation
        /// (stratified by class, drawn from the seed; the same images for
        /// every kind and budget): choices are made on these, never on test.
        pub val_fraction: f64 = 0.0,
        /// Fraction of the remaining training images whose labels the
        /// supervised stage uses (stratified, ≥ 1 per class, smaller budgets
        /// nested in larger); unsupervised phases still see every image.
        pub label_fraction: f64 = 1.0,
        /// Map width (units along x).
        pub kx: usize = required,
        /// Map height (units along y).
        pub ky: usize = required,
        /// Radius of the lateral excitation neighbourhood.
        pub ex: usize = 2,
        /// Target sparsity.
        pub sp: f64 = required,
        /// Learning rate ξ.
        pub xi: f64 = required,
        /// Lateral excitation strength γ.
        pub gamma: f64 = required,
        /// Convergence precision of the sparse code.
        pub prec: f64 = 1e-10,
        /// Learning epochs.
        pub epochs: usize = required,
        /// Images presented per epoch: a fresh random subset of the training
        /// set each epoch, as the notebook's `inputs[:T_s]` of a new
        /// permutation (T_s 20,000 or 2,000); every image when unset.
        pub epoch_images: Option<usize> = None,
        /// Readout epochs.
        pub readout_epochs: usize = required,
        /// Readout minibatch.
        pub readout_batch: usize = (defaults::READOUT_BATCH),
        /// Readout Adam learning rate.
        pub readout_lr: f64 = (defaults::READOUT_LR),
        /// Final readout learning rate (geometric annealing); default: constant.
        pub readout_lr_final: Option<f64> = None,
    }
}

const STREAM_INIT: u64 = 1;
const STREAM_ORDER: u64 = 2;
const STREAM_READOUT: u64 = 3;
const STREAM_PAIRS: u64 = 4;
/// Test images whose reconstructions are kept for the report.
const SHOWN: usize = 8;

impl Experiment for TopographicCoder {
    fn name(&self) -> &'static str {
        "topographic"
    }

    fn about(&self) -> &'static str {
        "seed-002 topographic sparse coder with lateral excitation (MNIST)"
    }

    fn params(&self) -> Vec<crate::config::ParamGroup> {
        vec![crate::config::ParamGroup::of::<TopoParams>(
            self.name(),
            self.about(),
        )]
    }

    fn figures(
        &self,
        arts: &super::figures::Artefacts,
        config: &str,
        seed: u64,
    ) -> std::result::Result<Vec<super::figures::FigureSpec>, String> {
        use super::figures::{Colour, FigureSpec, Tiles};
        let (Some((ws, w)), Some((is, inputs)), Some((rs, recon))) = (
            arts.get("w", 4)?,
            arts.get("inputs", 3)?,
            arts.get("reconstructions", 3)?,
        ) else {
            return Ok(Vec::new());
        };
        if rs != is {
            return Err(format!(
                "artefact `reconstructions` has shape {rs:?}, `inputs` {is:?}"
            ));
        }
        let tiles = |data: &[f32], shape: &[usize]| Tiles {
            colour: Colour::Grey,
            data: data.to_vec(),
            n: shape[0],
            h: shape[1],
            w: shape[2],
        };
        // The weights are never negative: grey on one scale from 0 to the
        // largest weight, so that units compare.
        let weights = |data: &[f32]| Tiles {
            colour: Colour::SharedGrey {
                lo: 0.0,
                hi: data.iter().fold(1e-12f32, |a, &v| a.max(v)),
            },
            data: data.to_vec(),
            n: ws[0] * ws[1],
            h: ws[2],
            w: ws[3],
        };
        let absolute = |data: &[f32], shape: &[usize]| Tiles {
            colour: Colour::SharedGrey { lo: 0.0, hi: 1.0 },
            ..tiles(data, shape)
        };
        let mut figs = vec![
            FigureSpec::Grid {
                stem: "topo_weights".into(),
                heading: format!("Topographic weights: {config}"),
                caption: "Neighbouring units on the grid should have similar weights. Grey from 0 (black) to the largest weight (white), one scale for every unit.".into(),
                title: format!("{config}: weights on the {}×{} grid", ws[0], ws[1]),
                subtitle: format!("seed {seed}; after the last epoch; one grey scale, 0 to the largest weight"),
                tiles: vec![weights(w)],
                cols: ws[1],
                scale: 2,
            },
            FigureSpec::Grid {
                stem: "topo_recon".into(),
                heading: format!("Reconstructions: {config}"),
                caption: "Test digits (top row) and the network's reconstructions Wᵀ·o (bottom row) on the absolute pixel scale, black 0 to white 1, so that a faint reconstruction looks faint.".into(),
                title: format!("{config}: test inputs (top) and reconstructions (bottom)"),
                subtitle: format!("seed {seed}; absolute scale: black 0, white 1"),
                tiles: vec![absolute(inputs, is), absolute(recon, rs)],
                cols: is[0],
                scale: 3,
            },
            FigureSpec::Grid {
                stem: "topo_recon_tile".into(),
                heading: format!("Reconstructions, each tile scaled on its own: {config}"),
                caption: "The same inputs and reconstructions, each tile min–max scaled on its own: shapes show even where a reconstruction is faint (compare the absolute view above).".into(),
                title: format!("{config}: test inputs (top) and reconstructions (bottom), per-tile scale"),
                subtitle: format!("seed {seed}; each tile min–max scaled"),
                tiles: vec![tiles(inputs, is), tiles(recon, rs)],
                cols: is[0],
                scale: 3,
            },
        ];
        if let (Some((es, snaps)), Some((_, ids))) =
            (arts.get("w_epochs", 3)?, arts.get("w_epoch_ids", 1)?)
        {
            let per = ws[0] * ws[1] * ws[2] * ws[3];
            if es[0] != ids.len() || es[1] * es[2] != per {
                return Err(format!("artefact `w_epochs` has shape {es:?}"));
            }
            for (j, e) in ids.iter().enumerate() {
                let data = &snaps[j * per..(j + 1) * per];
                figs.push(FigureSpec::Grid {
                    stem: format!("topo_weights_epoch{}", *e as usize),
                    heading: format!("Weights after epoch {}: {config}", *e as usize),
                    caption: "The map as it forms: grey from 0 to that epoch's largest weight, one scale for every unit.".into(),
                    title: format!("{config}: weights after epoch {}", *e as usize),
                    subtitle: format!("seed {seed}; one grey scale, 0 to the largest weight"),
                    tiles: vec![weights(data)],
                    cols: ws[1],
                    scale: 2,
                });
            }
        }
        if let Some((a_s, act)) = arts.get("activity", 3)? {
            figs.push(FigureSpec::Grid {
                stem: "topo_activity".into(),
                heading: format!("Activity maps: {config}"),
                caption: "Where on the grid each test input excites units.".into(),
                title: format!("{config}: activity maps"),
                subtitle: format!("activity o on the {}×{} grid for the inputs above (white = most active, per map); seed {seed}", a_s[1], a_s[2]),
                tiles: vec![tiles(act, a_s)],
                cols: a_s[0],
                scale: 6,
            });
        }
        Ok(figs)
    }

    fn cpu_only(&self) -> bool {
        true
    }

    fn identity_neutral(&self) -> Vec<(&'static str, serde_json::Value)> {
        vec![("epoch_images", serde_json::Value::Null)]
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: TopoParams = typed(params)?;
        if p.kx == 0 || p.ky == 0 || p.readout_batch == 0 || p.epoch_images == Some(0) {
            return Err(Error::Params(
                "`kx`, `ky`, `readout_batch` and `epoch_images` must be positive".into(),
            ));
        }
        crate::train::split::check(p.label_fraction, p.val_fraction)?;
        resolved("mnist", &p)
    }

    fn run(&self, ctx: &RunContext, params: &Params) -> Result<RunOutput> {
        let p: TopoParams = typed(params)?;
        let ds = &ctx.dataset;
        let d = ds.image_len();
        let train = ds.train.limited(p.train_limit, d);
        let test = ds.test.limited(p.test_limit, d);
        let (xtr, xte) = (train.unit_floats(), test.unit_floats());
        let cfg = TopoConfig {
            kx: p.kx,
            ky: p.ky,
            ex: p.ex,
            sp: p.sp as f32,
            xi: p.xi as f32,
            gamma: p.gamma as f32,
            prec: p.prec as f32,
        };
        let mut net = Topographic::new(cfg, d, &mut ctx.rng(STREAM_INIT));
        let units = net.units();
        let n = train.len();
        let per_epoch = p.epoch_images.unwrap_or(n).min(n);
        // The weights after the first, a quarter, half, three quarters and
        // all of the epochs (the notebook draws them after every epoch).
        let e = p.epochs;
        let mut snapshot_epochs: Vec<usize> =
            vec![1, e.div_ceil(4), e.div_ceil(2), (3 * e).div_ceil(4), e];
        snapshot_epochs.retain(|&x| (1..=e).contains(&x));
        snapshot_epochs.dedup();
        let mut snapshots: Vec<f32> = Vec::new();
        let mut out = RunOutput::default();
        // This machine's GEMM rate, sampled through the phase, so that its
        // throughput can be compared across machines and moments.
        let mut probe = GemmProbe::new(1024)?;

        timed(
            "unsupervised",
            (p.epochs * per_epoch) as u64,
            &mut out.phases,
            || {
                let mut rng = ctx.rng(STREAM_ORDER);
                let mut order: Vec<usize> = (0..n).collect();
                let bar = ctx
                    .progress
                    .bar((p.epochs * per_epoch) as u64, "topographic coder");
                for epoch in 1..=p.epochs {
                    order.shuffle(&mut rng);
                    // Chunks only pace the progress bar; learning is one
                    // example at a time, in order.
                    for (k, chunk) in order[..per_epoch].chunks(1000).enumerate() {
                        if k % 64 == 0 {
                            probe.sample()?;
                        }
                        net.steps(chunk.iter().map(|&i| &xtr[i * d..(i + 1) * d]));
                        bar.inc(chunk.len() as u64);
                    }
                    if snapshot_epochs.contains(&epoch) {
                        snapshots.extend_from_slice(&net.w);
                    }
                }
                bar.finish_and_clear();
                Ok(())
            },
        )?;
        // Per sample: the drive W·v, the reconstruction Wᵀ·o and the update,
        // 2·K·D each (as `hebbench bench` counts them).
        let flops = (p.epochs * per_epoch) as f64 * 3.0 * 2.0 * (units * d) as f64;
        out.record_gemm_ratio(&probe, flops);
        if net.w.iter().chain(&net.t).any(|v| !v.is_finite()) {
            return Err(Error::Diverged("non-finite weights".into()));
        }

        // Responses of both splits, and the test reconstruction error.
        let mut shown = (Vec::new(), Vec::new(), Vec::new());
        let (ftr, fte, mse, activity) =
            timed("features", (n + test.len()) as u64, &mut out.phases, || {
                let mut respond = |x: &[f32], keep: bool| -> (Vec<f32>, f64) {
                    let mut f = Vec::with_capacity(x.len() / d * units);
                    let mut sq = 0.0f64;
                    for (k, v) in x.chunks_exact(d).enumerate() {
                        net.respond(v);
                        f.extend_from_slice(&net.o);
                        sq += v
                            .iter()
                            .zip(&net.r)
                            .map(|(a, b)| ((a - b) * (a - b)) as f64)
                            .sum::<f64>();
                        if keep && k < SHOWN {
                            shown.0.extend_from_slice(v);
                            shown.1.extend_from_slice(&net.o);
                            shown.2.extend_from_slice(&net.r);
                        }
                    }
                    (f, sq / x.len().max(1) as f64)
                };
                let (ftr, _) = respond(&xtr, false);
                let (fte, mse) = respond(&xte, true);
                let activity = fte.iter().map(|&o| o as f64).sum::<f64>() / fte.len().max(1) as f64;
                Ok((
                    Tensor::from_vec(ftr, (n, units), &ctx.device)?,
                    Tensor::from_vec(fte, (test.len(), units), &ctx.device)?,
                    mse,
                    activity,
                ))
            })?;
        out.summary.insert("recon_mse".into(), mse);
        out.summary.insert("mean_activity".into(), activity);
        let (near, random) = topographic_order(&net, &mut ctx.rng(STREAM_PAIRS));
        out.summary.insert("neighbour_corr".into(), near);
        out.summary.insert("random_pair_corr".into(), random);
        out.summary
            .insert("topographic_order".into(), near - random);
        out.summary.insert(
            "pruned_fraction".into(),
            net.w.iter().filter(|&&w| w == 0.0).count() as f64 / net.w.len() as f64,
        );

        let schedule = ReadoutSchedule::new(
            p.readout_epochs,
            p.readout_batch,
            p.readout_lr,
            p.readout_lr_final,
        );
        super::logistic_readout(
            ctx,
            &mut out,
            Labelled {
                features: &ftr,
                labels: &train.labels,
            },
            Labelled {
                features: &fte,
                labels: &test.labels,
            },
            &schedule,
            STREAM_READOUT,
            (p.label_fraction, p.val_fraction),
        )?;
        let k = shown.0.len() / d;
        let side = (d as f64).sqrt() as usize;
        out.artefacts.push(Artefact {
            name: "w".into(),
            shape: vec![p.ky, p.kx, side, side],
            data: net.w.clone(),
        });
        out.artefacts.push(Artefact {
            name: "w_epochs".into(),
            shape: vec![snapshot_epochs.len(), p.ky * p.kx, side * side],
            data: snapshots,
        });
        out.artefacts.push(Artefact {
            name: "w_epoch_ids".into(),
            shape: vec![snapshot_epochs.len()],
            data: snapshot_epochs.iter().map(|&e| e as f32).collect(),
        });
        out.artefacts.push(Artefact {
            name: "inputs".into(),
            shape: vec![k, side, side],
            data: shown.0,
        });
        out.artefacts.push(Artefact {
            name: "activity".into(),
            shape: vec![k, p.ky, p.kx],
            data: shown.1,
        });
        out.artefacts.push(Artefact {
            name: "reconstructions".into(),
            shape: vec![k, side, side],
            data: shown.2,
        });
        Ok(out)
    }
}

/// Mean Pearson correlation of the weight vectors of grid neighbours
/// (8-neighbourhood), and of as many random pairs: a topographic map has
/// the first clearly above the second.
pub fn topographic_order(net: &Topographic, rng: &mut impl Rng) -> (f64, f64) {
    let d = net.inputs;
    let rows: Vec<&[f32]> = net.w.chunks_exact(d).collect();
    let corr = |a: &[f32], b: &[f32]| -> f64 {
        let (ma, mb) = (mean(a), mean(b));
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (x as f64 - ma, y as f64 - mb);
            sab += x * y;
            saa += x * x;
            sbb += y * y;
        }
        if saa > 0.0 && sbb > 0.0 {
            sab / (saa * sbb).sqrt()
        } else {
            0.0
        }
    };
    let near = crate::models::topographic::neighbourhoods(net.cfg.kx, net.cfg.ky, 1);
    let pairs: Vec<(usize, usize)> = near
        .iter()
        .enumerate()
        .flat_map(|(i, ns)| ns.iter().filter(move |&&j| j > i).map(move |&j| (i, j)))
        .collect();
    if pairs.is_empty() {
        return (0.0, 0.0);
    }
    let near_mean = pairs
        .iter()
        .map(|&(i, j)| corr(rows[i], rows[j]))
        .sum::<f64>()
        / pairs.len() as f64;
    let units = rows.len();
    let mut random = 0.0;
    for _ in 0..pairs.len() {
        let i = rng.random_range(0..units);
        let mut j = rng.random_range(0..units - 1);
        if j >= i {
            j += 1;
        }
        random += corr(rows[i], rows[j]);
    }
    (near_mean, random / pairs.len() as f64)
}

fn mean(a: &[f32]) -> f64 {
    a.iter().map(|&x| x as f64).sum::<f64>() / a.len().max(1) as f64
}
