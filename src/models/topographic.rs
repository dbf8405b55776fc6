//! The seed-002 "Topo SparseDream" network: a sparse coder on a `Kx × Ky`
//! grid whose units excite their neighbours. Per example `v`:
//!
//! ```text
//! p = σ(w·v − t)            a first, unexcited response
//! o = σ(w·v + L·p − t)      the response with lateral excitation
//! r = wᵀ·o,  e = v − r      reconstruction and its error
//! w += ξ · w ∘ (o ⊗ e / max(r, prec))   multiplicative, so w stays ≥ 0
//! t += γ · (o − sp)         homeostasis towards the target activity sp
//! ```
//!
//! and every 100 examples weights below `prec` are pruned to 0. `L` links
//! each unit to those within Chebyshev distance `ex` on the grid, not to
//! itself. (The notebook's slice `min(K − 1, y + ex + 1)` dropped the last
//! row and column from every neighbourhood; this implements the model.)

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use rand::Rng;

use crate::kernels::{accumulate_rows, dot_wide as dot, error_gain, grow, grow_dot, logistic};

/// Grid and learning parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TopoConfig {
    /// Grid width.
    pub kx: usize,
    /// Grid height.
    pub ky: usize,
    /// Lateral excitation radius (Chebyshev distance on the grid).
    pub ex: usize,
    /// Target mean activity.
    pub sp: f32,
    /// Weight learning rate ξ.
    pub xi: f32,
    /// Threshold learning rate γ.
    pub gamma: f32,
    /// Convergence precision of the sparse code.
    pub prec: f32,
}

/// The network's state and scratch buffers.
#[derive(Debug, Clone)]
pub struct Topographic {
    /// Grid and learning parameters.
    pub cfg: TopoConfig,
    /// Input dimension.
    pub inputs: usize,
    /// Weights, units × inputs, non-negative.
    pub w: Vec<f32>,
    /// Thresholds, one per unit.
    pub t: Vec<f32>,
    /// Activity `o` after the last example.
    pub o: Vec<f32>,
    /// Reconstruction `r` after the last example.
    pub r: Vec<f32>,
    wv: Vec<f32>,
    p: Vec<f32>,
    /// Drive with lateral excitation, `w·v + L·p`.
    u: Vec<f32>,
    /// Column sums of `p` for [`excited_drive`].
    col: Vec<f32>,
    g: Vec<f32>,
    seen: usize,
}

/// Units within Chebyshev distance `ex` of each unit on a `kx × ky` grid
/// (unit index `y·kx + x`), excluding the unit itself.
pub fn neighbourhoods(kx: usize, ky: usize, ex: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::with_capacity(kx * ky);
    for y in 0..ky {
        for x in 0..kx {
            let mut n = Vec::new();
            for yy in y.saturating_sub(ex)..=(y + ex).min(ky - 1) {
                for xx in x.saturating_sub(ex)..=(x + ex).min(kx - 1) {
                    if (xx, yy) != (x, y) {
                        n.push(yy * kx + xx);
                    }
                }
            }
            out.push(n);
        }
    }
    out
}

/// `u_i = wv_i + Σ_j p_j` over the neighbours `j` of each unit `i` in
/// `units` (those within Chebyshev distance `ex` on the grid, not `i`
/// itself): the drive with lateral excitation. The sum is a separable box
/// filter: sums down each column of the window, then across
/// them, less `p_i`. Columns are padded with `ex` zeros on each side, so
/// both passes are plain vector additions; adding a zero is exact, so this
/// equals the sum over the clipped window. The result for a unit does not
/// depend on `units`.
fn excited_drive(
    p: &[f32],
    wv: &[f32],
    c: &TopoConfig,
    units: std::ops::Range<usize>,
    col: &mut Vec<f32>,
    out: &mut [f32],
) {
    let (kx, ky, ex) = (c.kx, c.ky, c.ex);
    let Some(last) = units.end.checked_sub(1) else {
        return;
    };
    let (y0, y1) = (units.start / kx, last / kx);
    let padded = kx + 2 * ex;
    col.clear();
    col.resize((y1 - y0 + 1) * padded + kx, 0.0);
    let (cols, window) = col.split_at_mut((y1 - y0 + 1) * padded);
    for (y, sums) in (y0..=y1).zip(cols.chunks_exact_mut(padded)) {
        // Column x of row y (at x + ex): Σ p over rows y − ex ..= y + ex.
        for yy in y.saturating_sub(ex)..=(y + ex).min(ky - 1) {
            for (s, &pj) in sums[ex..ex + kx].iter_mut().zip(&p[yy * kx..(yy + 1) * kx]) {
                *s += pj;
            }
        }
        // window[x] = Σ over columns x − ex ..= x + ex, in that order.
        window.fill(0.0);
        for d in 0..=2 * ex {
            for (wx, &s) in window.iter_mut().zip(&sums[d..d + kx]) {
                *wx += s;
            }
        }
        let row = y * kx..(y + 1) * kx;
        let (from, to) = (units.start.max(row.start), units.end.min(row.end));
        let local = from - units.start..to - units.start;
        for (((o, &win), &pi), &d) in out[local.clone()]
            .iter_mut()
            .zip(&window[from - row.start..])
            .zip(&p[from..to])
            .zip(&wv[local])
        {
            *o = d + (win - pi);
        }
    }
}

/// Blocks the units are split into for the reconstruction sum (and for
/// the threads of [`Topographic::steps`]): fixed, so that results do not
/// depend on the number of cores.
pub const PARTS: usize = 2;

/// The units of block `k`.
fn part_rows(units: usize, k: usize) -> std::ops::Range<usize> {
    units * k / PARTS..units * (k + 1) / PARTS
}

/// `part = Σ_i o_i · w_i` over one block's rows, in row order.
fn partial_reconstruction(w: &[f32], o: &[f32], part: &mut [f32]) {
    part.fill(0.0);
    accumulate_rows(w, o, part);
}

/// `r = Σ_k part_k`, blocks in order.
fn sum_parts(parts: &[Vec<f32>], r: &mut [f32]) {
    for (j, rj) in r.iter_mut().enumerate() {
        *rj = parts.iter().fold(0.0, |acc, p| acc + p[j]);
    }
}

/// Element `j` of the reconstruction from the shared partial sums, in the
/// same order as [`sum_parts`].
fn sum_at(parts: &[Vec<AtomicU32>], j: usize) -> f32 {
    parts.iter().fold(0.0, |acc, p| {
        acc + f32::from_bits(p[j].load(Ordering::Relaxed))
    })
}

/// `wv_i = w_i · x` for every row of `w`.
fn drives(w: &[f32], x: &[f32], wv: &mut [f32]) {
    for (o, row) in wv.iter_mut().zip(w.chunks_exact(x.len())) {
        *o = dot(row, x);
    }
}

/// The plastic update of a block of units for the error factors `g`: each
/// row grows multiplicatively and, while it is still in cache, is multiplied
/// by the `next` example into `wv`; thresholds move towards the target
/// activity.
fn update_rows(
    c: &TopoConfig,
    w: &mut [f32],
    o: &[f32],
    t: &mut [f32],
    g: &[f32],
    next: Option<&[f32]>,
    wv: &mut [f32],
) {
    for (i, row) in w.chunks_exact_mut(g.len()).enumerate() {
        match next {
            Some(nx) => wv[i] = grow_dot(row, o[i], g, nx),
            None => grow(row, o[i], g),
        }
    }
    for (ti, &oi) in t.iter_mut().zip(o) {
        *ti += c.gamma * (oi - c.sp);
    }
}

/// Weights at or below `prec` become 0 (the notebook's pruning).
fn prune(w: &mut [f32], prec: f32) {
    for x in w.iter_mut() {
        // A select rather than a branch, so that the loop vectorises.
        *x = if *x <= prec { 0.0 } else { *x };
    }
}

/// One thread's share in [`Topographic::steps`]: block index, first unit,
/// and its rows of `w`, `t`, `wv` and `o`.
type Block<'a> = (
    usize,
    usize,
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
    &'a mut [f32],
);

/// A barrier for a few threads that each own a core: spins briefly, then
/// yields, so that a per-example rendezvous costs well under a microsecond.
struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        Self {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    fn wait(&self) {
        let gen = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == gen {
            if spins < 1 << 14 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl Topographic {
    /// Weights uniform in [0.1, 1), thresholds 0, as the notebook.
    pub fn new(cfg: TopoConfig, inputs: usize, rng: &mut impl Rng) -> Self {
        let n = cfg.kx * cfg.ky;
        Self {
            cfg,
            inputs,
            w: (0..n * inputs)
                .map(|_| rng.random_range(0.1f32..1.0))
                .collect(),
            t: vec![0.0; n],
            col: Vec::new(),
            o: vec![0.0; n],
            r: vec![0.0; inputs],
            wv: vec![0.0; n],
            p: vec![0.0; n],
            u: vec![0.0; n],
            g: vec![0.0; inputs],
            seen: 0,
        }
    }

    /// Units on the grid (`kx · ky`).
    pub fn units(&self) -> usize {
        self.cfg.kx * self.cfg.ky
    }

    /// Computes `o` and `r` for `v` without learning.
    pub fn respond(&mut self, v: &[f32]) {
        drives(&self.w, v, &mut self.wv);
        self.respond_from_drive();
    }

    /// The rest of a response once `wv = w·v` is known.
    fn respond_from_drive(&mut self) {
        logistic(&self.wv, &self.t, &mut self.p);
        let units = 0..self.units();
        excited_drive(
            &self.p,
            &self.wv,
            &self.cfg,
            units,
            &mut self.col,
            &mut self.u,
        );
        logistic(&self.u, &self.t, &mut self.o);
        let d = self.inputs;
        let mut parts = vec![vec![0.0f32; d]; PARTS];
        for (k, part) in parts.iter_mut().enumerate() {
            let rows = part_rows(self.units(), k);
            partial_reconstruction(&self.w[rows.start * d..rows.end * d], &self.o[rows], part);
        }
        sum_parts(&parts, &mut self.r);
    }

    /// One online learning step on `v`.
    pub fn step(&mut self, v: &[f32]) {
        self.respond(v);
        self.learn(v, None);
    }

    /// Learning steps on consecutive examples; the result is exactly that
    /// of calling [`Topographic::step`] on each. With two or more threads the
    /// units are split into [`PARTS`] blocks, each owned by one thread for the
    /// whole call, so that each core keeps its block of weights in its own
    /// cache (400 units × 784 inputs is 1.25 MB, more than one core's L2).
    pub fn steps<'a>(&mut self, examples: impl IntoIterator<Item = &'a [f32]>) {
        let xs: Vec<&[f32]> = examples.into_iter().collect();
        let parallel = rayon::current_num_threads() >= PARTS
            && self.units() >= 4 * PARTS
            && xs.len() >= 64
            && self.units() * self.inputs >= 1 << 16;
        if parallel {
            self.steps_split(&xs);
        } else {
            self.steps_serial(&xs);
        }
    }

    /// One thread: each weight row is updated and then, while it is still
    /// in cache, multiplied by the next example (two passes over the weights
    /// per example instead of three).
    fn steps_serial(&mut self, xs: &[&[f32]]) {
        let Some(&first) = xs.first() else { return };
        self.respond(first);
        for (n, &v) in xs.iter().enumerate() {
            let next = xs.get(n + 1).copied();
            let fused = self.learn(v, next);
            let Some(nx) = next else { break };
            if fused {
                self.respond_from_drive();
            } else {
                self.respond(nx);
            }
        }
    }

    /// [`PARTS`] threads, one per block of units, meeting at two barriers
    /// per example: after the first response `p` (read across blocks by
    /// the lateral term) and after the partial reconstructions.
    fn steps_split(&mut self, xs: &[&[f32]]) {
        let (units, d, c) = (self.units(), self.inputs, self.cfg);
        let p_shared: Vec<AtomicU32> = (0..units).map(|_| AtomicU32::new(0)).collect();
        let r_parts: Vec<Vec<AtomicU32>> = (0..PARTS)
            .map(|_| (0..d).map(|_| AtomicU32::new(0)).collect())
            .collect();
        let barrier = SpinBarrier::new(PARTS);
        let seen0 = self.seen;
        // Disjoint blocks of rows, thresholds, drives and activities.
        let mut blocks = Vec::with_capacity(PARTS);
        let (mut w, mut t, mut wv, mut o) = (
            self.w.as_mut_slice(),
            self.t.as_mut_slice(),
            self.wv.as_mut_slice(),
            self.o.as_mut_slice(),
        );
        for k in 0..PARTS {
            let rows = part_rows(units, k);
            let len = rows.end - rows.start;
            let (wk, wr) = std::mem::take(&mut w).split_at_mut(len * d);
            let (tk, tr) = std::mem::take(&mut t).split_at_mut(len);
            let (vk, vr) = std::mem::take(&mut wv).split_at_mut(len);
            let (ok, or) = std::mem::take(&mut o).split_at_mut(len);
            (w, t, wv, o) = (wr, tr, vr, or);
            blocks.push((k, rows.start, wk, tk, vk, ok));
        }
        let (p_shared, r_parts, barrier) = (&p_shared, &r_parts, &barrier);
        let work = move |(k, start, w, t, wv, o): Block| {
            let mut part = vec![0.0f32; d];
            let (mut r, mut g) = (vec![0.0f32; d], vec![0.0f32; d]);
            let (mut p, mut u) = (vec![0.0f32; t.len()], vec![0.0f32; t.len()]);
            let (mut p_all, mut col) = (vec![0.0f32; units], Vec::new());
            // The grid rows whose `p` the block's lateral sums read.
            let (y0, y1) = (start / c.kx, (start + t.len()).saturating_sub(1) / c.kx);
            let near = y0.saturating_sub(c.ex) * c.kx..((y1 + c.ex + 1) * c.kx).min(units);
            let mut seen = seen0;
            drives(w, xs[0], wv);
            for (n, &v) in xs.iter().enumerate() {
                logistic(wv, t, &mut p);
                for (a, pi) in p_shared[start..].iter().zip(&p) {
                    a.store(pi.to_bits(), Ordering::Relaxed);
                }
                barrier.wait();
                for (pj, a) in p_all[near.clone()].iter_mut().zip(&p_shared[near.clone()]) {
                    *pj = f32::from_bits(a.load(Ordering::Relaxed));
                }
                excited_drive(&p_all, wv, &c, start..start + t.len(), &mut col, &mut u);
                logistic(&u, t, o);
                partial_reconstruction(w, o, &mut part);
                for (a, &x) in r_parts[k].iter().zip(&part) {
                    a.store(x.to_bits(), Ordering::Relaxed);
                }
                barrier.wait();
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj = sum_at(r_parts, j);
                }
                error_gain(v, &r, &mut g, c.xi, c.prec);
                let next = xs.get(n + 1).copied();
                update_rows(&c, w, o, t, &g, next, wv);
                seen += 1;
                if seen % 100 == 0 {
                    prune(w, c.prec);
                    if let Some(nx) = next {
                        drives(w, nx, wv);
                    }
                }
            }
        };
        std::thread::scope(|s| {
            let mut it = blocks.into_iter();
            let first = it.next().expect("PARTS ≥ 1");
            let handles: Vec<_> = it.map(|b| s.spawn(move || work(b))).collect();
            work(first);
            for h in handles {
                h.join().expect("topographic worker panicked");
            }
        });
        for (pi, a) in self.p.iter_mut().zip(p_shared) {
            *pi = f32::from_bits(a.load(Ordering::Relaxed));
        }
        for j in 0..d {
            self.r[j] = sum_at(r_parts, j);
        }
        self.seen += xs.len();
    }

    /// Applies the updates for `v` (after [`Topographic::respond`] on it).
    /// With `next`, also computes `wv` for it; returns whether that `wv` is
    /// valid (it is not when pruning ran after the update).
    fn learn(&mut self, v: &[f32], next: Option<&[f32]>) -> bool {
        let c = self.cfg;
        error_gain(v, &self.r, &mut self.g, c.xi, c.prec);
        update_rows(
            &c,
            &mut self.w,
            &self.o,
            &mut self.t,
            &self.g,
            next,
            &mut self.wv,
        );
        self.seen += 1;
        if self.seen % 100 == 0 {
            prune(&mut self.w, c.prec);
            return false;
        }
        next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbourhoods_cover_the_whole_square_including_the_last_row() {
        let n = neighbourhoods(4, 4, 1);
        assert_eq!(n[0], vec![1, 4, 5]); // corner: 3 neighbours
        assert_eq!(n[5].len(), 8); // interior
        assert_eq!(n[15], vec![10, 11, 14]); // the far corner keeps its neighbours
        let n2 = neighbourhoods(10, 10, 2);
        assert_eq!(n2[55].len(), 24);
        assert!(n2.iter().enumerate().all(|(i, v)| !v.contains(&i)));
    }

    #[test]
    fn lateral_sums_equal_the_neighbour_sums_for_any_block() {
        // A 7 × 5 grid (not square, so rows and columns cannot be swapped)
        // with ex = 2: the box filter against the explicit neighbour lists.
        let cfg = TopoConfig {
            kx: 7,
            ky: 5,
            ex: 2,
            sp: 0.0,
            xi: 0.0,
            gamma: 0.0,
            prec: 0.0,
        };
        let p: Vec<f32> = (0..35).map(|i| ((i * 13) % 17) as f32 / 16.0).collect();
        // With no feedforward drive, the excited drive is the lateral sum.
        let zero = vec![0.0; 35];
        let (mut col, mut all) = (Vec::new(), vec![0.0; 35]);
        excited_drive(&p, &zero, &cfg, 0..35, &mut col, &mut all);
        for (i, n) in neighbourhoods(7, 5, 2).iter().enumerate() {
            let want: f32 = n.iter().map(|&j| p[j]).sum();
            assert!(
                (all[i] - want).abs() < 1e-5,
                "unit {i}: {} vs {want}",
                all[i]
            );
        }
        // Blocks that do not start on a grid row give the same bits.
        for range in [0..10, 10..23, 23..35] {
            let mut part = vec![0.0; range.len()];
            let block_zero = &zero[range.clone()];
            excited_drive(&p, block_zero, &cfg, range.clone(), &mut col, &mut part);
            assert_eq!(part, all[range]);
        }
    }

    #[test]
    fn one_step_matches_hand_computation() {
        // Two units side by side (ex = 1), one input pixel v = 1,
        // w = (0.5, 0.25), t = 0, ξ = 0.1, γ = 0.1, sp = 0.5.
        // wv = (0.5, 0.25); p = σ(wv) = (0.622459, 0.562177)
        // o0 = σ(0.5 + 0.562177) = 0.743106; o1 = σ(0.25 + 0.622459) = 0.705257
        // r = 0.5·o0 + 0.25·o1 = 0.547867; g = ξ(1 − r)/r = 0.082526
        // w0 += w0·o0·g = 0.530663;  w1 += w1·o1·g = 0.264550
        // t = 0.1·(o − 0.5) = (0.024311, 0.020526)
        // (worked with a short Python script using math.exp)
        let cfg = TopoConfig {
            kx: 2,
            ky: 1,
            ex: 1,
            sp: 0.5,
            xi: 0.1,
            gamma: 0.1,
            prec: 1e-10,
        };
        let mut rng = rand::rng();
        let mut m = Topographic::new(cfg, 1, &mut rng);
        m.w = vec![0.5, 0.25];
        m.step(&[1.0]);
        let close = |a: f32, b: f32| (a - b).abs() < 2e-6;
        assert!(
            close(m.o[0], 0.743106) && close(m.o[1], 0.705257),
            "{:?}",
            m.o
        );
        assert!(
            close(m.w[0], 0.530663) && close(m.w[1], 0.264550),
            "{:?}",
            m.w
        );
        assert!(
            close(m.t[0], 0.024311) && close(m.t[1], 0.020526),
            "{:?}",
            m.t
        );
    }

    #[test]
    fn fused_and_threaded_steps_equal_single_steps_exactly() {
        let cfg = TopoConfig {
            kx: 4,
            ky: 3,
            ex: 1,
            sp: 0.1,
            xi: 0.05,
            gamma: 0.02,
            prec: 1e-3,
        };
        let mut rng = rand::rng();
        let a = Topographic::new(cfg, 20, &mut rng);
        let data: Vec<Vec<f32>> = (0..250)
            .map(|k| {
                (0..20)
                    .map(|j| ((k * 7 + j * 3) % 11) as f32 / 10.0)
                    .collect()
            })
            .collect();
        let (mut one, mut fused, mut split) = (a.clone(), a.clone(), a);
        for v in &data {
            one.step(v);
        }
        let xs: Vec<&[f32]> = data.iter().map(|v| v.as_slice()).collect();
        fused.steps_serial(&xs);
        split.steps_split(&xs);
        for m in [&fused, &split] {
            assert_eq!(one.w, m.w);
            assert_eq!(one.t, m.t);
            assert_eq!(one.o, m.o);
            assert_eq!(one.r, m.r);
            assert_eq!(one.p, m.p);
            assert_eq!(one.seen, m.seen);
        }
    }

    #[test]
    fn weights_stay_non_negative_and_tiny_ones_are_pruned() {
        let cfg = TopoConfig {
            kx: 3,
            ky: 3,
            ex: 1,
            sp: 0.1,
            xi: 0.5,
            gamma: 0.01,
            prec: 1e-3,
        };
        let mut rng = rand::rng();
        let mut m = Topographic::new(cfg, 4, &mut rng);
        m.w[0] = 5e-4; // below prec: pruned at the 100th step
        for k in 0..100 {
            m.step(&[1.0, 0.0, (k % 2) as f32, 0.5]);
        }
        assert!(m.w.iter().all(|&w| w >= 0.0));
        assert_eq!(m.w[0], 0.0);
    }
}
