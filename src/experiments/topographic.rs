//! The seed-002 topographic sparse coder on MNIST: reconstruction error,
//! sparsity, how topographic the learned map is, and how well a linear
//! readout classifies its activity.

use candle_core::Tensor;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::defaults::{d_rbatch, d_rlr};
use super::{resolved, timed, typed, Artefact, Checked, Experiment, Params, RunContext, RunOutput};
use crate::error::{Error, Result};
use crate::hebb::gemm::GemmProbe;
use crate::models::topographic::{TopoConfig, Topographic};
use crate::train::readout::{Labelled, ReadoutSchedule};

/// The experiment kind `topographic`.
pub struct TopographicCoder;

fn d_ex() -> usize {
    2
}
fn d_prec() -> f64 {
    1e-10
}

/// Parameters of a `topographic` run; names follow the notebook.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopoParams {
    #[serde(default)]
    pub train_limit: Option<usize>,
    #[serde(default)]
    pub test_limit: Option<usize>,
    pub kx: usize,
    pub ky: usize,
    #[serde(default = "d_ex")]
    pub ex: usize,
    pub sp: f64,
    pub xi: f64,
    pub gamma: f64,
    #[serde(default = "d_prec")]
    pub prec: f64,
    pub epochs: usize,
    pub readout_epochs: usize,
    #[serde(default = "d_rbatch")]
    pub readout_batch: usize,
    #[serde(default = "d_rlr")]
    pub readout_lr: f64,
    #[serde(default)]
    pub readout_lr_final: Option<f64>,
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

    fn cpu_only(&self) -> bool {
        true
    }

    fn check(&self, params: &Params) -> Result<Checked> {
        let p: TopoParams = typed(params)?;
        if p.kx == 0 || p.ky == 0 || p.readout_batch == 0 {
            return Err(Error::Params(
                "`kx`, `ky` and `readout_batch` must be positive".into(),
            ));
        }
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
        let mut out = RunOutput::default();
        // This machine's GEMM rate, sampled through the phase, so that its
        // throughput can be compared across machines and moments.
        let mut probe = GemmProbe::new(1024)?;

        timed(
            "unsupervised",
            (p.epochs * n) as u64,
            &mut out.phases,
            || {
                let mut rng = ctx.rng(STREAM_ORDER);
                let mut order: Vec<usize> = (0..n).collect();
                let bar = ctx.progress.bar((p.epochs * n) as u64, "topographic coder");
                for _ in 0..p.epochs {
                    order.shuffle(&mut rng);
                    // Chunks only pace the progress bar; learning is one
                    // example at a time, in order.
                    for (k, chunk) in order.chunks(1000).enumerate() {
                        if k % 64 == 0 {
                            probe.sample()?;
                        }
                        net.steps(chunk.iter().map(|&i| &xtr[i * d..(i + 1) * d]));
                        bar.inc(chunk.len() as u64);
                    }
                }
                bar.finish_and_clear();
                Ok(())
            },
        )?;
        // Per sample: the drive W·v, the reconstruction Wᵀ·o and the update,
        // 2·K·D each (as `hebbench bench` counts them).
        let flops = (p.epochs * n) as f64 * 3.0 * 2.0 * (units * d) as f64;
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
        )?;
        let k = shown.0.len() / d;
        let side = (d as f64).sqrt() as usize;
        out.artefacts.push(Artefact {
            name: "w".into(),
            shape: vec![p.ky, p.kx, side, side],
            data: net.w.clone(),
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
