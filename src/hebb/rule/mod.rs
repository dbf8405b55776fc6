//! Plasticity rules: how post-synaptic factors and the input patches become
//! a weight change. Each rule is one file implementing [`PlasticityRule`]
//! plus one line in [`REGISTRY`].

mod bcm;
mod hebb;
mod instar;

pub use bcm::Bcm;
pub use hebb::PlainHebb;
pub use instar::Instar;

use rayon::prelude::*;

use super::competition::{Post, NO_WINNER};
use super::gemm::{matmul_tn, Mat};
use crate::config::{Config, Part, PartSpec};
use crate::error::Result;
use serde_json::{Map, Value};

/// The input side of an update: the batch's im2col patches, and how units
/// connect to them.
pub struct Correlator<'a> {
    /// `rows × fan_in` patches, shared with the forward pass.
    pub patches: &'a Mat,
    /// Units of the layer.
    pub units: usize,
    /// Depthwise layers: unit `c` sees only channel `c` of each patch
    /// (patch columns are (tap, channel)); `fan_in` per unit is the tap count.
    pub depthwise: bool,
}

impl Correlator<'_> {
    /// Weights per unit.
    pub fn fan_in(&self) -> usize {
        if self.depthwise {
            self.patches.cols / self.units
        } else {
            self.patches.cols
        }
    }

    /// `Σ_rows a[row, unit] · x[row]` for every unit: `Aᵀ·P`.
    pub fn yx(&self, a: &[f32], winners: Option<&[u32]>) -> Result<Vec<f32>> {
        let mut out = crate::nhwc::zeros(self.units * self.fan_in());
        self.add_yx(a, winners, &mut out, false);
        Ok(out)
    }

    /// Adds `Aᵀ·P` to `dst` (`units × fan_in`), or overwrites it when
    /// `accumulate` is false. With one winner per row this is one row of
    /// work per location instead of a GEMM.
    pub fn add_yx(&self, a: &[f32], winners: Option<&[u32]>, dst: &mut [f32], accumulate: bool) {
        let (rows, cols, units) = (self.patches.rows, self.patches.cols, self.units);
        let p = &self.patches.data;
        if !accumulate && (self.depthwise || winners.is_some()) {
            dst.fill(0.0);
        }
        if self.depthwise {
            let taps = cols / units;
            dst.par_chunks_mut(taps).enumerate().for_each(|(c, o)| {
                for r in 0..rows {
                    let ar = a[r * units + c];
                    if ar != 0.0 {
                        let pr = &p[r * cols..(r + 1) * cols];
                        for (t, ot) in o.iter_mut().enumerate() {
                            *ot += ar * pr[t * units + c];
                        }
                    }
                }
            });
            return;
        }
        match winners {
            Some(win) => {
                // Each thread owns a band of units and scans the winners.
                let band = units
                    .div_ceil(rayon::current_num_threads().max(1) * 4)
                    .max(1);
                dst.par_chunks_mut(band * cols)
                    .enumerate()
                    .for_each(|(b, o)| {
                        let lo = (b * band) as u32;
                        let hi = lo + (o.len() / cols) as u32;
                        for (r, &w) in win.iter().enumerate() {
                            if w == NO_WINNER || w < lo || w >= hi {
                                continue;
                            }
                            let ar = a[r * units + w as usize];
                            let d = &mut o[(w - lo) as usize * cols..(w - lo + 1) as usize * cols];
                            crate::kernels::axpy(ar, &p[r * cols..(r + 1) * cols], d);
                        }
                    });
            }
            None => matmul_tn(a, p, dst, rows, units, cols, accumulate),
        }
    }
}

/// [`Correlator`] for the candle engine: the batch's patches as a tensor.
pub struct TensorCorrelator<'a> {
    /// `rows × (taps · cin)` patches, columns by (tap, channel).
    pub patches: &'a candle_core::Tensor,
    /// Depthwise layers: unit `c` sees only channel `c` of each patch.
    pub depthwise: bool,
}

impl TensorCorrelator<'_> {
    /// `Σ_rows a[row, unit] · x[row]` for every unit (`units × fan_in`).
    pub fn yx(&self, a: &candle_core::Tensor) -> Result<candle_core::Tensor> {
        if !self.depthwise {
            return Ok(a.t()?.matmul(self.patches)?);
        }
        // Unit c, tap t: Σ_r a[r, c] · p[r, t·C + c].
        let (rows, cols) = self.patches.dims2()?;
        let c = a.dim(1)?;
        let p = self.patches.reshape((rows, cols / c, c))?;
        Ok(p.broadcast_mul(&a.unsqueeze(1)?)?
            .sum(0)?
            .t()?
            .contiguous()?)
    }
}

/// Sums a per-(row, unit) matrix over rows. Blocks of 256 rows are summed in
/// parallel and the block sums added in order, so the result does not
/// depend on how rayon happened to split the work.
pub fn column_sums(m: &[f32], units: usize) -> Vec<f32> {
    let blocks: Vec<Vec<f32>> = m
        .par_chunks(units * 256)
        .map(|chunk| {
            let mut s = vec![0f32; units];
            for row in chunk.chunks(units) {
                for (a, b) in s.iter_mut().zip(row) {
                    *a += b;
                }
            }
            s
        })
        .collect();
    let mut total = vec![0f32; units];
    for b in blocks {
        total.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
    total
}

/// One plasticity rule. Stateful rules (BCM) keep their state per layer.
pub trait PlasticityRule: Send {
    /// The name suites use.
    fn name(&self) -> &'static str;
    /// The raw weight change (`units × fan_in`), before the layer normalises
    /// it by its largest magnitude. `w` are the effective weights.
    fn delta(&mut self, x: &Correlator, post: &Post, w: &[f32]) -> Result<Vec<f32>>;
    /// [`PlasticityRule::delta`] in candle ops, for the candle engine; `w`
    /// is `units × fan_in`, on the patches' device.
    fn delta_tensor(
        &mut self,
        _x: &TensorCorrelator,
        _post: &crate::hebb::competition::PostTensor,
        _w: &candle_core::Tensor,
    ) -> Result<candle_core::Tensor> {
        Err(crate::error::Error::Engine(format!(
            "learning rule `{}` has no candle form yet (it has: {})",
            self.name(),
            TENSOR_FORMS.join(", ")
        )))
    }
}

/// The rules with a candle form ([`PlasticityRule::delta_tensor`]).
pub const TENSOR_FORMS: &[&str] = &["instar", "hebb", "bcm"];

/// A rule suites can name: its parameters and constructor. A new rule is
/// one file implementing this and [`PlasticityRule`], plus one
/// `part::<Rule>()` line in [`REGISTRY`].
pub trait RuleKind: PlasticityRule + Sized + 'static {
    /// The name suites use.
    const NAME: &'static str;
    /// One line for `hebbench params`.
    const ABOUT: &'static str;
    /// Its parameters: keys of the experiment's parameter map.
    type Config: Config;
    /// The rule for a layer of `units` units.
    fn new(config: &Self::Config, units: usize) -> Self;
}

crate::config! {
    /// The parameters of a rule that takes none.
    pub struct NoParams {}
}

/// Every rule, in the order `hebbench params` lists them.
pub static REGISTRY: &[Part<dyn PlasticityRule>] =
    &[part::<Instar>(), part::<PlainHebb>(), part::<Bcm>()];

const fn part<R: RuleKind>() -> Part<dyn PlasticityRule> {
    Part {
        name: R::NAME,
        about: R::ABOUT,
        params: R::Config::param_docs,
        build: build_part::<R>,
    }
}

fn build_part<R: RuleKind>(
    params: &Map<String, Value>,
    units: usize,
) -> Result<Box<dyn PlasticityRule>> {
    Ok(Box::new(R::new(&R::Config::from_params(params)?, units)))
}

/// Builds `spec`'s rule for a layer of `units` units, listing the valid
/// names when unknown.
pub fn build(spec: &PartSpec, units: usize) -> Result<Box<dyn PlasticityRule>> {
    (lookup(&spec.name)?.build)(&spec.params, units)
}

/// The registry entry named `name`.
pub fn lookup(name: &str) -> Result<&'static Part<dyn PlasticityRule>> {
    crate::config::lookup_part(REGISTRY, "learning rule", name)
}

/// The registered names.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|p| p.name).collect()
}
