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

use crate::error::{Error, Result};

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

/// Marks a row in which no unit won.
pub const NO_WINNER: u32 = u32::MAX;

/// Per-layer settings a competition may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompetitionParams {
    /// Soft-WTA inverse temperature of this layer.
    pub t_invert: f32,
    /// Temporal competition: how many past images form the history.
    pub window: usize,
    /// Statistical competition: threshold = mean + `k`·std.
    pub stat_k: f32,
    /// Threshold competitions: the report's printed update instead of a
    /// hard-WTA Instar among the units above threshold.
    pub threshold_report: bool,
}

impl Default for CompetitionParams {
    fn default() -> Self {
        CompetitionParams {
            t_invert: 1.0,
            window: 500,
            stat_k: 2.0,
            threshold_report: false,
        }
    }
}

/// One competition mode. Stateful modes (temporal) keep their history.
pub trait Competition: Send {
    /// The name suites use.
    fn name(&self) -> &'static str;
    /// Competes along each row of `u` (`rows × units`); `rows_per_image`
    /// lets history-based modes tell images apart.
    fn compete(&mut self, u: &[f32], units: usize, rows_per_image: usize) -> Result<Post>;
}

type Ctor = fn(&CompetitionParams) -> Box<dyn Competition>;

/// Every competition mode: name and constructor.
pub static REGISTRY: &[(&str, Ctor)] = &[
    ("none", |_| Box::new(NoCompetition)),
    ("hard_wta", |_| Box::new(HardWta)),
    ("soft_wta", |p| {
        Box::new(SoftWta {
            t_invert: p.t_invert,
        })
    }),
    ("temporal", |p| {
        Box::new(Temporal::new(p.window, p.threshold_report))
    }),
    ("statistical", |p| Box::new(Statistical { k: p.stat_k })),
];

/// Builds a competition by name, listing the valid names when unknown.
pub fn build(name: &str, params: &CompetitionParams) -> Result<Box<dyn Competition>> {
    REGISTRY
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, ctor)| ctor(params))
        .ok_or_else(|| Error::UnknownName {
            what: "competition",
            name: name.to_string(),
            valid: names().join(", "),
        })
}

/// The registered names.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
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
