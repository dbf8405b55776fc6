//! Competition: which units learn from a given input location, and how
//! much. Each mode is one file implementing [`Competition`] plus one line in
//! [`REGISTRY`].
//!
//! A competition sees the activations as `rows × units` and competes along
//! each row: across channels at one image location for ordinary layers,
//! across locations within one channel for depthwise layers (the layer
//! transposes for it).

mod hard_wta;
mod none;
mod soft_wta;
mod statistical;
mod temporal;

pub use hard_wta::HardWta;
pub use none::NoCompetition;
pub use soft_wta::SoftWta;
pub use statistical::Statistical;
pub use temporal::Temporal;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::config::{Config, Part, PartSpec};
use crate::error::Result;

/// What a competition hands to the learning rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// Post-synaptic factor per (row, unit): the `y` of `Δw = y·x − …`.
    pub a: Vec<f32>,
    /// Per (row, unit) weight of each unit's decay term `(Σ d)·w`; `None`
    /// means `d = a` (Grossberg instar). Soft-WTA sets `d = a·u`.
    pub decay: Option<Vec<f32>>,
    /// When at most one unit per row is non-zero: that unit, or
    /// [`NO_WINNER`]. Lets the update skip the dense GEMM.
    pub winners: Option<Vec<u32>>,
}

/// [`Post`] as tensors on the layer's device (the candle engine): `a` and
/// `decay` are `rows × units`; no winner list, since the dense products
/// are what a GPU does well.
#[derive(Debug, Clone)]
pub struct PostTensor {
    /// Post-synaptic factor per (row, unit).
    pub a: candle_core::Tensor,
    /// Per (row, unit) weight of the decay term; `None` means `d = a`.
    pub decay: Option<candle_core::Tensor>,
}

/// Marks a row in which no unit won.
pub const NO_WINNER: u32 = u32::MAX;

/// One competition mode. Stateful modes (temporal) keep their history.
pub trait Competition: Send {
    /// The name suites use.
    fn name(&self) -> &'static str;
    /// Competes along each row of `u` (`rows × units`); `rows_per_image`
    /// lets history-based modes tell images apart.
    fn compete(&mut self, u: &[f32], units: usize, rows_per_image: usize) -> Result<Post>;
    /// [`Competition::compete`] in candle ops on `u` (`rows × units`, any
    /// device), for the candle engine; the same values, to float rounding.
    fn compete_tensor(
        &mut self,
        _u: &candle_core::Tensor,
        _rows_per_image: usize,
    ) -> Result<PostTensor> {
        Err(crate::error::Error::Engine(format!(
            "competition `{}` has no candle form yet (it has: {})",
            self.name(),
            TENSOR_FORMS.join(", ")
        )))
    }
    /// A weight change computed from the layer's input instead of by the
    /// rule (the report's printed statistical update), for a layer of
    /// `cout` units, kernel `k` and padding `pad`; `None` for the usual
    /// compete-then-rule path.
    fn layer_delta(
        &self,
        _x: &crate::nhwc::Map,
        _w: &[f32],
        _cout: usize,
        _k: usize,
        _pad: usize,
    ) -> Option<Result<Vec<f32>>> {
        None
    }
    /// [`Competition::layer_delta`] in candle ops, for the candle engine:
    /// `x` NCHW before padding, `w` `cout × k·k·cin`.
    fn layer_delta_tensor(
        &self,
        _x: &candle_core::Tensor,
        _w: &candle_core::Tensor,
        _k: usize,
        _pad: usize,
    ) -> Option<Result<candle_core::Tensor>> {
        None
    }
    /// Whether the mode is defined on depthwise layers.
    fn supports_depthwise(&self) -> bool {
        true
    }
}

/// A competition mode suites can name: its parameters and constructor. A
/// new mode is one file implementing this and [`Competition`], plus one
/// `entry::<Mode>()` line in [`REGISTRY`].
pub trait CompetitionKind: Competition + Sized + 'static {
    /// The name suites use.
    const NAME: &'static str;
    /// One line for `hebbench params`.
    const ABOUT: &'static str;
    /// Its parameters: keys of the experiment's parameter map.
    type Config: Config;
    /// The mode for block `block` of a network (parameters may be per block).
    fn new(config: &Self::Config, block: usize) -> Self;
}

/// The update of the threshold competitions (`temporal`, `statistical`):
/// `standard` (hard-WTA Instar among the units above threshold, post factor
/// y) or `report` (the printed code's: units below threshold zeroed before
/// the top-1, post factor y²; hebb.py L316–341).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdUpdate {
    /// hebbench's: a hard-WTA Instar among the units above threshold.
    #[default]
    Standard,
    /// The report's printed update.
    Report,
}

/// The modes with a candle form ([`Competition::compete_tensor`]).
pub const TENSOR_FORMS: &[&str] = &["none", "hard_wta", "soft_wta", "temporal", "statistical"];

/// The one-hot of each row's largest entry (`rows × units`, first on ties
/// as [`argmax`]), in `u`'s dtype.
pub(crate) fn winner_mask(u: &candle_core::Tensor) -> Result<candle_core::Tensor> {
    let units = u.dim(1)?;
    let win = u.argmax_keepdim(1)?;
    let cols = candle_core::Tensor::arange(0u32, units as u32, u.device())?.unsqueeze(0)?;
    Ok(cols.broadcast_eq(&win)?.to_dtype(u.dtype())?)
}

/// The candle form of a threshold competition's post factor: `thr`
/// broadcasts against `u` (`rows × units`). `standard`: the largest unit
/// above its threshold keeps `u` (first on ties; none above, no winner);
/// `report` ([`report_post`]): `m = u` above threshold, else 0, the winner
/// is `argmax m` with factor `u²`, and a row whose top `m` is 0 learns
/// nothing.
pub(crate) fn threshold_post_tensor(
    u: &candle_core::Tensor,
    thr: &candle_core::Tensor,
    report: bool,
) -> Result<PostTensor> {
    let above = u.broadcast_gt(thr)?;
    let floor = if report { 0f64 } else { f64::NEG_INFINITY };
    let m = above.where_cond(u, &u.ones_like()?.affine(0.0, floor)?)?;
    let top = m.max_keepdim(1)?;
    let learns = if report {
        top.ne(0f64)?
    } else {
        top.gt(f64::NEG_INFINITY)?
    };
    let mask = winner_mask(&m)?.broadcast_mul(&learns.to_dtype(u.dtype())?)?;
    let factor = if report { u.sqr()? } else { u.clone() };
    Ok(PostTensor {
        a: (factor * mask)?,
        decay: None,
    })
}

/// Every competition mode, in the order `hebbench params` lists them.
pub static REGISTRY: &[Part<dyn Competition>] = &[
    part::<NoCompetition>(),
    part::<HardWta>(),
    part::<SoftWta>(),
    part::<Temporal>(),
    part::<Statistical>(),
];

const fn part<C: CompetitionKind>() -> Part<dyn Competition> {
    Part {
        name: C::NAME,
        about: C::ABOUT,
        params: C::Config::param_docs,
        build: build_part::<C>,
    }
}

fn build_part<C: CompetitionKind>(
    params: &Map<String, Value>,
    block: usize,
) -> Result<Box<dyn Competition>> {
    Ok(Box::new(C::new(&C::Config::from_params(params)?, block)))
}

/// Builds `spec`'s competition for block `block`, listing the valid names
/// when unknown.
pub fn build(spec: &PartSpec, block: usize) -> Result<Box<dyn Competition>> {
    (lookup(&spec.name)?.build)(&spec.params, block)
}

/// The registry entry named `name`.
pub fn lookup(name: &str) -> Result<&'static Part<dyn Competition>> {
    crate::config::lookup_part(REGISTRY, "competition", name)
}

/// The registered names.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|p| p.name).collect()
}

/// Index and value of the largest entry (first on ties, as `torch.argmax`).
pub(crate) fn argmax(row: &[f32]) -> (usize, f32) {
    let mut best = 0;
    let mut bv = row[0];
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > bv {
            best = i;
            bv = v;
        }
    }
    (best, bv)
}

/// A one-winner-per-row result: `a` keeps the winner's activation.
pub(crate) fn sparse_post(u: &[f32], units: usize, winners: Vec<u32>) -> Post {
    let mut a = crate::nhwc::zeros(u.len());
    for (r, &w) in winners.iter().enumerate() {
        if w != NO_WINNER {
            let i = r * units + w as usize;
            a[i] = u[i];
        }
    }
    Post {
        a,
        decay: None,
        winners: Some(winners),
    }
}

/// The report's thresholded top-1 (hebb.py L320–321, L367–380): `m = y`
/// where `y > threshold`, else 0; the winner is `argmax m` (first on ties)
/// and its post factor `m·m`; a row whose top value is 0 learns nothing.
pub(crate) fn report_post(
    u: &[f32],
    units: usize,
    threshold: impl Fn(usize) -> f32 + Sync,
) -> Post {
    let winners: Vec<u32> = u
        .par_chunks(units)
        .enumerate()
        .map(|(r, row)| {
            let t = threshold(r);
            let masked = |v: f32| if v > t { v } else { 0.0 };
            let (mut best, mut bv) = (0usize, masked(row[0]));
            for (j, &v) in row.iter().enumerate().skip(1) {
                if masked(v) > bv {
                    best = j;
                    bv = masked(v);
                }
            }
            if bv == 0.0 {
                NO_WINNER
            } else {
                best as u32
            }
        })
        .collect();
    let mut a = crate::nhwc::zeros(u.len());
    for (r, &w) in winners.iter().enumerate() {
        if w != NO_WINNER {
            let i = r * units + w as usize;
            a[i] = u[i] * u[i];
        }
    }
    Post {
        a,
        decay: None,
        winners: Some(winners),
    }
}
