//! Földiák (1990), "Forming sparse representations by local anti-Hebbian
//! learning": Hebbian feedforward weights `Q`, anti-Hebbian lateral weights
//! `W` and adaptive thresholds `t`, with outputs that settle under
//! `y ← y + (f(Qx + Wy − t) − y)/τ` and are then rounded to 0/1.
//!
//! The network is tiny (16 × 64 for the bars), so it is plain Rust over
//! `f32` slices: a tensor library's per-op overhead would dominate.

use rand::Rng;

use crate::kernels::{self, dot};

/// Learning and settling parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoldiakRates {
    /// Anti-Hebbian rate of the lateral weights.
    pub alpha: f32,
    /// Hebbian rate of the feedforward weights.
    pub beta: f32,
    /// Threshold adaptation rate.
    pub gamma: f32,
    /// Sigmoid gain: `f(u) = 1 / (1 + e^(−λu))`.
    pub lambda: f32,
}

/// How outputs settle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settling {
    /// Time constant: each step moves `y` by `1/τ` of the way to `f(·)`.
    pub tau: f32,
    /// Stop when `‖Δy‖ ≤ tol · ‖y‖`.
    pub tol: f32,
    /// Settling step limit.
    pub max_steps: usize,
}

/// The network's state.
#[derive(Debug, Clone)]
pub struct Foldiak {
    /// Output units.
    pub units: usize,
    /// Input dimension.
    pub inputs: usize,
    /// Feedforward weights, units × inputs, rows of unit L2 norm.
    pub q: Vec<f32>,
    /// Lateral weights, units × units, ≤ 0 with a zero diagonal.
    pub w: Vec<f32>,
    /// Thresholds, one per unit.
    pub t: Vec<f32>,
    /// Target firing probability of each unit.
    pub p: Vec<f32>,
    /// Outputs after the last settle (0/1).
    pub y: Vec<f32>,
    /// Scratch: `Qx − t`, fixed while settling.
    drive: Vec<f32>,
    /// Scratch: each settling step's target `f(Qx − t + Wy)`.
    target: Vec<f32>,
    /// Scratch: `Wᵀ` for the settling kernel.
    wt: Vec<f32>,
}

impl Foldiak {
    /// Uniform [0, 1) feedforward weights, normalised; no lateral weights;
    /// zero thresholds.
    pub fn new(units: usize, inputs: usize, p: Vec<f32>, rng: &mut impl Rng) -> Self {
        let mut q: Vec<f32> = (0..units * inputs).map(|_| rng.random::<f32>()).collect();
        for row in q.chunks_exact_mut(inputs) {
            normalise(row);
        }
        Self {
            units,
            inputs,
            q,
            w: vec![0.0; units * units],
            t: vec![0.0; units],
            p,
            y: vec![0.0; units],
            drive: vec![0.0; units],
            target: vec![0.0; units],
            wt: Vec::new(),
        }
    }

    /// Settles the outputs for input `x` from `y = 0`, then rounds them.
    /// Returns the number of steps taken.
    pub fn settle(&mut self, x: &[f32], lambda: f32, s: Settling) -> usize {
        let (n, m) = (self.units, self.inputs);
        for i in 0..n {
            let row = &self.q[i * m..(i + 1) * m];
            self.drive[i] = dot(row, x) - self.t[i];
        }
        self.target.resize(n, 0.0);
        let steps = kernels::settle(
            &self.w,
            &mut self.wt,
            &self.drive,
            &mut self.y,
            &mut self.target,
            (lambda, 1.0 / s.tau, s.tol, s.max_steps),
        );
        for yi in &mut self.y {
            *yi = yi.round();
        }
        steps
    }

    /// Applies the three local rules to the current (rounded) outputs.
    pub fn learn(&mut self, x: &[f32], r: FoldiakRates) {
        let (n, m) = (self.units, self.inputs);
        if r.beta != 0.0 {
            for i in 0..n {
                if self.y[i] == 0.0 {
                    continue; // Δq = β·y·(x − q) is zero, and so is the renormalisation.
                }
                let row = &mut self.q[i * m..(i + 1) * m];
                for (qj, &xj) in row.iter_mut().zip(x) {
                    *qj += r.beta * self.y[i] * (xj - *qj);
                }
                normalise(row);
            }
        }
        if r.alpha != 0.0 {
            for i in 0..n {
                for j in 0..n {
                    let wij = &mut self.w[i * n + j];
                    if i == j {
                        *wij = 0.0;
                    } else {
                        *wij = (*wij - r.alpha * (self.y[i] * self.y[j] - self.p[i] * self.p[j]))
                            .min(0.0);
                    }
                }
            }
        }
        for i in 0..n {
            self.t[i] += r.gamma * (self.y[i] - self.p[i]);
        }
    }

    /// One trial: settle on `x`, then learn. Returns the settling steps.
    pub fn trial(&mut self, x: &[f32], r: FoldiakRates, s: Settling) -> usize {
        let steps = self.settle(x, r.lambda, s);
        self.learn(x, r);
        steps
    }
}

fn normalise(row: &mut [f32]) {
    let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|v| *v /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(q: Vec<f32>, w: Vec<f32>, t: Vec<f32>, p: Vec<f32>) -> Foldiak {
        let units = t.len();
        Foldiak {
            units,
            inputs: q.len() / units,
            q,
            w,
            y: vec![0.0; units],
            drive: vec![0.0; units],
            target: vec![0.0; units],
            wt: Vec::new(),
            t,
            p,
        }
    }

    #[test]
    fn settling_follows_the_leaky_dynamics_by_hand() {
        // One unit, drive u = q·x − t = 1·1 − 0.5 = 0.5, λ = 2: f = 1/(1+e^-1)
        // = 0.7310586. From y = 0 with τ = 2, one step gives f/2 = 0.3655293;
        // a single step (max_steps = 1) then rounds to 0.
        let mut n = net(vec![1.0], vec![0.0], vec![0.5], vec![0.1]);
        let steps = n.settle(
            &[1.0],
            2.0,
            Settling {
                tau: 2.0,
                tol: 0.0,
                max_steps: 1,
            },
        );
        assert_eq!((steps, n.y[0]), (1, 0.0));
        // Two steps: y = 0.3655293 + (0.7310586 − 0.3655293)/2 = 0.5482940 → 1.
        let steps = n.settle(
            &[1.0],
            2.0,
            Settling {
                tau: 2.0,
                tol: 0.0,
                max_steps: 2,
            },
        );
        assert_eq!((steps, n.y[0]), (2, 1.0));
    }

    #[test]
    fn lateral_inhibition_lets_only_the_stronger_unit_fire() {
        // Two units with equal-sign drives 0.3 and 0.2 and mutual inhibition
        // −1: the fixed point has the first unit on and the second off
        // (0.2 − 1·y0 < 0), which a hand iteration with λ = 20 confirms.
        let mut n = net(
            vec![1.0, 1.0],
            vec![0.0, -1.0, -1.0, 0.0],
            vec![0.7, 0.8],
            vec![0.5, 0.5],
        );
        let steps = n.settle(
            &[1.0],
            20.0,
            Settling {
                tau: 5.0,
                tol: 1e-6,
                max_steps: 500,
            },
        );
        assert_eq!(n.y, [1.0, 0.0]);
        assert!(steps > 10 && steps < 500, "{steps}");
        // Without the lateral weights both would fire.
        n.w = vec![0.0; 4];
        n.settle(
            &[1.0],
            20.0,
            Settling {
                tau: 5.0,
                tol: 1e-6,
                max_steps: 500,
            },
        );
        assert_eq!(n.y, [1.0, 1.0]);
    }

    #[test]
    fn lateral_weights_stay_non_positive_with_a_zero_diagonal() {
        // From W = 0 except a stray 0.3 on the diagonal; y = (1, 1, 0),
        // p = 0.5, α = 0.1: w01 = w10 = −0.1·(1 − 0.25) = −0.075; pairs with
        // unit 2 have y_i y_j = 0 so Δw = +0.025, clipped at 0; the diagonal
        // is reset to 0.
        let mut w = vec![0.0; 9];
        for i in 0..3 {
            w[i * 3 + i] = 0.3;
        }
        let mut n = net(vec![1.0; 3], w, vec![0.0; 3], vec![0.5; 3]);
        n.y = vec![1.0, 1.0, 0.0];
        n.learn(
            &[1.0],
            FoldiakRates {
                alpha: 0.1,
                beta: 0.0,
                gamma: 0.0,
                lambda: 1.0,
            },
        );
        let want = [0.0, -0.075, 0.0, -0.075, 0.0, 0.0, 0.0, 0.0, 0.0];
        for (a, b) in n.w.iter().zip(want) {
            assert!((a - b).abs() < 1e-7, "{:?}", n.w);
        }
        assert!(n.w.iter().all(|&v| v <= 0.0));
    }

    #[test]
    fn hebbian_and_threshold_updates_by_hand() {
        // Unit 0 fires on x = (1, 0) with q0 = (0.6, 0.8), β = 0.5:
        // q0 + 0.5·(x − q0) = (0.8, 0.4) → normalised (0.894427, 0.447214).
        // Unit 1 is silent: q1 unchanged. t += γ(y − p) with γ = 0.1, p = 0.2:
        // t0 = 0.08, t1 = −0.02.
        let mut n = net(
            vec![0.6, 0.8, 0.0, 1.0],
            vec![0.0; 4],
            vec![0.0; 2],
            vec![0.2; 2],
        );
        n.y = vec![1.0, 0.0];
        n.learn(
            &[1.0, 0.0],
            FoldiakRates {
                alpha: 0.0,
                beta: 0.5,
                gamma: 0.1,
                lambda: 1.0,
            },
        );
        let want_q = [0.894427, 0.447214, 0.0, 1.0];
        for (a, b) in n.q.iter().zip(want_q) {
            assert!((a - b).abs() < 1e-6, "{:?}", n.q);
        }
        assert!(
            (n.t[0] - 0.08).abs() < 1e-7 && (n.t[1] + 0.02).abs() < 1e-7,
            "{:?}",
            n.t
        );
    }
}
