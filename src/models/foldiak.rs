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
    /// The notebook's carried outputs (unrounded settling starts from them).
    notebook_y: Option<Vec<f32>>,
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
            notebook_y: None,
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

/// Which dynamics a trial follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dynamics {
    /// Földiák's equations: each unit's lateral input is its own `Σ_j w_ij y_j`,
    /// outputs settle from 0, `W` is clamped to ≤ 0 after its update.
    #[default]
    Corrected,
    /// The seed-000 notebook as written: the lateral input is one scalar
    /// `np.sum(w * y)` = `Σ_ij w_ij y_j` added to every unit (`uTrans`); outputs
    /// settle from the previous trial's (0.5 at the start); the settling test
    /// is `‖Δy‖/(‖y‖ + 1e-9) < tol` after the step; `q` is renormalised after
    /// every single element update (`hebbian`); and a positive `w_ij` is reset
    /// to 0 instead of updated (`antihebb`), so it may be positive for a trial.
    Notebook,
}

impl Foldiak {
    /// One trial of the notebook's dynamics ([`Dynamics::Notebook`]):
    /// `simTrans` then `update`. Returns the settling steps.
    pub fn trial_notebook(&mut self, x: &[f32], r: FoldiakRates, s: Settling) -> usize {
        let (n, m) = (self.units, self.inputs);
        let mut y = self.notebook_y.take().unwrap_or_else(|| vec![0.5; n]);
        let drive: Vec<f32> = (0..n)
            .map(|i| dot(&self.q[i * m..(i + 1) * m], x) - self.t[i])
            .collect();
        let mut steps = 0;
        while steps < s.max_steps {
            steps += 1;
            // np.sum(self.w * self.y): w[i, j]·y[j] summed over i and j.
            let lateral: f32 = (0..n).map(|i| dot(&self.w[i * n..(i + 1) * n], &y)).sum();
            let dy: Vec<f32> = (0..n)
                .map(|i| {
                    let f = 1.0 / (1.0 + (-r.lambda * (drive[i] + lateral)).exp());
                    (f - y[i]) / s.tau
                })
                .collect();
            for (yi, d) in y.iter_mut().zip(&dy) {
                *yi += d;
            }
            let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>().sqrt();
            if norm(&dy) / (norm(&y) + 1e-9) < s.tol {
                break;
            }
        }
        for yi in &mut y {
            *yi = yi.round();
        }
        self.y.copy_from_slice(&y);
        for i in 0..n {
            // hebbian(): q[i, j] += β·y_i·(x_j − q[i, j]), then every row is
            // renormalised (a no-op on rows already of unit norm), after each
            // j. Kept as a scale `sc` and its sum of squares, so that each
            // element costs O(1) and the row is written once at the end.
            if y[i] != 0.0 && r.beta != 0.0 {
                let row = &mut self.q[i * m..(i + 1) * m];
                let (mut sc, mut ss) =
                    (1.0f64, row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>());
                for (qj, &xj) in row.iter_mut().zip(x) {
                    let old = sc * *qj as f64;
                    let new = old + (r.beta * y[i]) as f64 * (xj as f64 - old);
                    *qj = (new / sc) as f32;
                    ss += new * new - old * old;
                    if ss > 0.0 {
                        sc /= ss.sqrt();
                        ss = 1.0;
                    }
                }
                row.iter_mut().for_each(|v| *v = (*v as f64 * sc) as f32);
            }
            for j in 0..n {
                let wij = &mut self.w[i * n + j];
                if i == j || *wij > 0.0 {
                    *wij = 0.0;
                } else {
                    *wij -= r.alpha * (y[i] * y[j] - self.p[i] * self.p[j]);
                }
            }
            self.t[i] += r.gamma * (y[i] - self.p[i]);
        }
        self.notebook_y = Some(y);
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
            notebook_y: None,
            t,
            p,
        }
    }

    #[test]
    fn the_notebook_adds_one_scalar_lateral_sum_and_carries_y() {
        // Two units, q = I, x = (1, 0.5), t = 0, W = [[0, −1], [−2, 0]],
        // λ = 1, τ = 1, one step, no learning. The first trial starts from
        // y = 0.5: np.sum(w * y) = −1·0.5 − 2·0.5 = −1.5 for both units, so
        // u = (−0.5, −1.0), f = (0.378, 0.269), rounded (0, 0). Földiák's
        // own dynamics give unit 0 u = 1 − 1·0 = 1 from y = 0: it fires.
        let still = FoldiakRates {
            alpha: 0.0,
            beta: 0.0,
            gamma: 0.0,
            lambda: 1.0,
        };
        let one = Settling {
            tau: 1.0,
            tol: 0.0,
            max_steps: 1,
        };
        let mk = || {
            net(
                vec![1.0, 0.0, 0.0, 1.0],
                vec![0.0, -1.0, -2.0, 0.0],
                vec![0.0; 2],
                vec![0.1; 2],
            )
        };
        let mut nb = mk();
        nb.trial_notebook(&[1.0, 0.5], still, one);
        assert_eq!(nb.y, vec![0.0, 0.0]);
        let mut fixed = mk();
        fixed.trial(&[1.0, 0.5], still, one);
        assert_eq!(fixed.y[0], 1.0);
        // The next trial starts from the carried (0, 0): no lateral sum, so
        // u = (1, 0.5) and both fire.
        nb.trial_notebook(&[1.0, 0.5], still, one);
        assert_eq!(nb.y, vec![1.0, 1.0]);
    }

    #[test]
    fn the_notebook_renormalises_q_after_every_element() {
        // One firing unit (t = −10), q = (1, 0), x = (0, 1), β = 0.5.
        // j = 0: q0 = 1 + 0.5·(0 − 1) = 0.5 → (0.5, 0) → (1, 0);
        // j = 1: q1 = 0 + 0.5·(1 − 0) = 0.5 → (1, 0.5) → (0.894, 0.447).
        // (Updating both then normalising once would give (0.707, 0.707).)
        let rates = FoldiakRates {
            alpha: 0.0,
            beta: 0.5,
            gamma: 0.0,
            lambda: 1.0,
        };
        let s = Settling {
            tau: 1.0,
            tol: 0.0,
            max_steps: 3,
        };
        let mut n = net(vec![1.0, 0.0], vec![0.0], vec![-10.0], vec![0.1]);
        n.trial_notebook(&[0.0, 1.0], rates, s);
        assert_eq!(n.y, vec![1.0]);
        let r = 1.0 / 1.25f32.sqrt();
        assert!(
            (n.q[0] - r).abs() < 1e-6 && (n.q[1] - 0.5 * r).abs() < 1e-6,
            "{:?}",
            n.q
        );
    }

    #[test]
    fn the_notebook_resets_a_positive_lateral_weight_instead_of_updating_it() {
        // y = (1, 0), p = 0.5: the update −α(y_i y_j − p_i p_j) = +0.25α on
        // w01 (α = 1) makes it positive; the next trial resets it to 0.
        let rates = FoldiakRates {
            alpha: 1.0,
            beta: 0.0,
            gamma: 0.0,
            lambda: 1.0,
        };
        let s = Settling {
            tau: 1.0,
            tol: 0.0,
            max_steps: 3,
        };
        let mut n = net(
            vec![1.0, 0.0, 0.0, 1.0],
            vec![0.0; 4],
            vec![-10.0, 10.0],
            vec![0.5; 2],
        );
        n.trial_notebook(&[1.0, 1.0], rates, s);
        assert_eq!(n.y, vec![1.0, 0.0]);
        assert!((n.w[1] - 0.25).abs() < 1e-6, "{:?}", n.w);
        n.trial_notebook(&[1.0, 1.0], rates, s);
        assert_eq!(n.w[1], 0.0);
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
