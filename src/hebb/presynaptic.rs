//! Presynaptic competition: a unit's input couplings compete for a shared
//! resource. The coupling strength of each synapse is `m = 1/(|w| + 1e-6)`,
//! normalised (linearly, by softmax or by L2 norm) over one dimension, and
//! the effective weight is `w · m̂`.

use serde::{Deserialize, Serialize};

/// How couplings are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresynapticKind {
    /// Couplings divided by their sum.
    Linear,
    /// A softmax over the couplings.
    Softmax,
    /// Couplings divided by their L2 norm.
    L2,
}

/// Which synapses compete with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresynapticDim {
    /// The same input position across output units.
    Output,
    /// The taps of one (unit, input channel) kernel.
    Spatial,
    /// The input channels at one (unit, tap).
    Input,
    /// Every synapse of the layer.
    Global,
}

/// How the coefficients enter the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresynapticApply {
    /// `w ⊙ m̂`: the couplings modulate the weights, whose signs stay.
    #[default]
    Scale,
    /// `m̂` alone, as the report's code does (hebb.py compute_activation
    /// L237, `w = self.compute_presynaptic_competition_global(w)`; §3.3.8
    /// "w_eff = m/Σm"): every effective weight is positive.
    Replace,
}

/// A presynaptic competition setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Presynaptic {
    /// How couplings are normalised.
    pub kind: PresynapticKind,
    /// Along which axis they compete.
    pub dim: PresynapticDim,
    /// How the normalised couplings act on the weights.
    #[serde(default)]
    pub apply: PresynapticApply,
}

impl Presynaptic {
    /// The competition coefficients for weights `w` laid out as
    /// `units × taps × cin`.
    pub fn coefficients(&self, w: &[f32], units: usize, taps: usize, cin: usize) -> Vec<f32> {
        let fan = taps * cin;
        let group = |i: usize| -> usize {
            let (u, j) = (i / fan, i % fan);
            let (t, c) = (j / cin, j % cin);
            match self.dim {
                PresynapticDim::Output => j,
                PresynapticDim::Spatial => u * cin + c,
                PresynapticDim::Input => u * taps + t,
                PresynapticDim::Global => 0,
            }
        };
        let groups = match self.dim {
            PresynapticDim::Output => fan,
            PresynapticDim::Spatial => units * cin,
            PresynapticDim::Input => units * taps,
            PresynapticDim::Global => 1,
        };
        let m: Vec<f32> = w.iter().map(|v| 1.0 / (v.abs() + 1e-6)).collect();
        let mut agg = vec![0f64; groups];
        let mut shift = vec![f32::NEG_INFINITY; groups];
        if self.kind == PresynapticKind::Softmax {
            for (i, &v) in m.iter().enumerate() {
                let g = group(i);
                shift[g] = shift[g].max(v);
            }
        }
        for (i, &v) in m.iter().enumerate() {
            let g = group(i);
            agg[g] += match self.kind {
                PresynapticKind::Linear => v as f64,
                PresynapticKind::Softmax => ((v - shift[g]) as f64).exp(),
                PresynapticKind::L2 => (v as f64) * (v as f64),
            };
        }
        m.iter()
            .enumerate()
            .map(|(i, &v)| {
                let g = group(i);
                match self.kind {
                    PresynapticKind::Linear => v / (agg[g] as f32 + 1e-6),
                    PresynapticKind::Softmax => {
                        ((v - shift[g]) as f64).exp() as f32 / agg[g] as f32
                    }
                    PresynapticKind::L2 => v / (agg[g].sqrt() as f32).max(1e-12),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn couplings_normalise_over_the_chosen_dimension() {
        // One unit, one tap, two input channels: w = [1, 0.5] (1e-6 is
        // negligible at this tolerance) → m = [1, 2].
        let w = [1.0, 0.5];
        let lin = Presynaptic {
            kind: PresynapticKind::Linear,
            dim: PresynapticDim::Input,
            apply: PresynapticApply::Scale,
        };
        let c = lin.coefficients(&w, 1, 1, 2);
        assert!((c[0] - 1.0 / 3.0).abs() < 1e-5 && (c[1] - 2.0 / 3.0).abs() < 1e-5);
        let sm = Presynaptic {
            kind: PresynapticKind::Softmax,
            dim: PresynapticDim::Input,
            apply: PresynapticApply::Scale,
        };
        let c = sm.coefficients(&w, 1, 1, 2);
        let e = std::f32::consts::E;
        assert!((c[1] - e / (1.0 + e)).abs() < 1e-5);
        let l2 = Presynaptic {
            kind: PresynapticKind::L2,
            dim: PresynapticDim::Input,
            apply: PresynapticApply::Scale,
        };
        let c = l2.coefficients(&w, 1, 1, 2);
        assert!((c[0] - 1.0 / 5f32.sqrt()).abs() < 1e-5);
        // Output dimension: two units, one input each, compete with each other.
        let out = Presynaptic {
            kind: PresynapticKind::Linear,
            dim: PresynapticDim::Output,
            apply: PresynapticApply::Scale,
        };
        let c = out.coefficients(&[1.0, 0.5], 2, 1, 1);
        assert!((c[0] - 1.0 / 3.0).abs() < 1e-5);
        // Spatial: one unit, two taps, one channel.
        let sp = Presynaptic {
            kind: PresynapticKind::Linear,
            dim: PresynapticDim::Spatial,
            apply: PresynapticApply::Scale,
        };
        assert_eq!(sp.coefficients(&w, 1, 2, 1), lin.coefficients(&w, 1, 1, 2));
    }
}
