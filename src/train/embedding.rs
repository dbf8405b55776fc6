//! How well a representation separates the classes: a 2-D embedding of
//! test features (the report's UMAP/t-SNE cluster plots, Figs. 19, 20, 29)
//! with numbers beside it, so that configurations compare without
//! eyeballing: leave-one-out k-NN accuracy and the silhouette by class, in
//! the full feature space and in the embedding.
//!
//! The embedding is the `bhtsne` crate's Barnes–Hut t-SNE, a maintained
//! implementation (it takes precomputed neighbours and an initial layout,
//! so every draw comes from the run's seed; `annembed`'s UMAP needs a
//! LAPACK build). Features are standardised first, as the report's
//! `StandardScaler`; exact neighbours come from one GEMM.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::frozen::FeatureStore;
use crate::error::{Error, Result};
use crate::hebb::gemm::matmul_nt;

crate::config! {
    /// Settings of the class-cluster embedding.
    pub struct EmbedConfig {
        /// Test images embedded (stratified over classes).
        pub points: usize = 2000,
        /// t-SNE perplexity (neighbours considered: 3× this).
        pub perplexity: f32 = 30.0,
        /// t-SNE iterations.
        pub epochs: usize = 1000,
        /// Neighbours voting in the k-NN accuracy.
        pub k: usize = 10,
    }
}

/// The embedding and its numbers.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// `points × 2` coordinates, row-major.
    pub coords: Vec<f32>,
    /// Each point's class.
    pub labels: Vec<u8>,
    /// Leave-one-out k-NN accuracy on the standardised features.
    pub knn_full: f64,
    /// The same in the 2-D embedding.
    pub knn_2d: f64,
    /// Mean silhouette by class on the standardised features (Euclidean).
    pub silhouette_full: f64,
    /// The same in the 2-D embedding.
    pub silhouette_2d: f64,
}

/// Embeds a stratified sample of `f`'s rows.
pub fn embed(
    f: &FeatureStore,
    labels: &[u8],
    classes: usize,
    cfg: &EmbedConfig,
    rng: &mut impl Rng,
) -> Result<Embedding> {
    let idx = stratified(labels, classes, cfg.points, rng);
    let n = idx.len();
    let neighbours = (3.0 * cfg.perplexity).ceil() as usize;
    if n <= neighbours + 1 || classes < 2 {
        return Err(Error::Shape(format!(
            "{n} points are too few to embed with perplexity {}",
            cfg.perplexity
        )));
    }
    let d = f.dim;
    let mut x = f.gather(&idx, None);
    standardise(&mut x, n, d);
    let y: Vec<u8> = idx.iter().map(|&i| labels[i]).collect();
    let d2 = squared_distances(&x, n, d);
    drop(x);
    let order = neighbour_order(&d2, n);
    let knn_full = knn_accuracy(&order, &y, cfg.k);
    let silhouette_full = silhouette(&d2, &y, classes);

    let near: Vec<Vec<bhtsne::Neighbor<f32>>> = order
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row[..neighbours]
                .iter()
                .map(|&j| bhtsne::Neighbor {
                    index: j,
                    distance: d2[i * n + j].sqrt(),
                })
                .collect()
        })
        .collect();
    drop(d2);
    // The usual t-SNE start: N(0, 1e-4²) per coordinate, from the run's seed.
    let normal = Normal::new(0.0f32, 1e-4).map_err(|e| Error::Params(e.to_string()))?;
    let start: Vec<f32> = (0..2 * n).map(|_| normal.sample(rng)).collect();
    let ids: Vec<usize> = (0..n).collect();
    let (perplexity, epochs) = (cfg.perplexity, cfg.epochs);
    let coords = std::panic::catch_unwind(move || {
        bhtsne::tSNE::<f32, usize, 2>::new(&ids)
            .perplexity(perplexity)
            .epochs(epochs)
            .initial_embedding(start)
            .barnes_hut_with_neighbors(0.5, &near)
            .embedding()
    })
    .map_err(|_| Error::Shape("the t-SNE embedding failed".into()))?;
    if coords.len() != 2 * n || coords.iter().any(|v| !v.is_finite()) {
        return Err(Error::Diverged("the t-SNE embedding is not finite".into()));
    }
    let e2 = squared_distances_2d(&coords, n);
    let knn_2d = knn_accuracy(&neighbour_order(&e2, n), &y, cfg.k);
    let silhouette_2d = silhouette(&e2, &y, classes);
    Ok(Embedding {
        coords,
        labels: y,
        knn_full,
        knn_2d,
        silhouette_full,
        silhouette_2d,
    })
}

/// Up to `points` indices, an equal share per class, drawn from `rng`.
fn stratified(labels: &[u8], classes: usize, points: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut all: Vec<usize> = (0..labels.len()).collect();
    all.shuffle(rng);
    let quota = points.div_ceil(classes.max(1));
    let mut taken = vec![0usize; classes];
    let mut out: Vec<usize> = all
        .into_iter()
        .filter(|&i| {
            let c = labels[i] as usize;
            let ok = c < classes && taken[c] < quota;
            if ok {
                taken[c] += 1;
            }
            ok
        })
        .collect();
    out.truncate(points);
    out.sort_unstable();
    out
}

/// Each column to mean 0 and std 1 (constant columns to 0).
fn standardise(x: &mut [f32], n: usize, d: usize) {
    for j in 0..d {
        let (mut s, mut s2) = (0f64, 0f64);
        for i in 0..n {
            let v = x[i * d + j] as f64;
            s += v;
            s2 += v * v;
        }
        let mean = s / n as f64;
        let std = (s2 / n as f64 - mean * mean).max(0.0).sqrt();
        let inv = if std > 1e-12 { 1.0 / std } else { 0.0 };
        for i in 0..n {
            x[i * d + j] = ((x[i * d + j] as f64 - mean) * inv) as f32;
        }
    }
}

/// `‖xᵢ − xⱼ‖²` for all pairs, from one GEMM.
fn squared_distances(x: &[f32], n: usize, d: usize) -> Vec<f32> {
    let mut g = vec![0f32; n * n];
    matmul_nt(x, x, &mut g, n, n, d);
    let sq: Vec<f32> = (0..n).map(|i| g[i * n + i]).collect();
    for i in 0..n {
        for j in 0..n {
            g[i * n + j] = (sq[i] + sq[j] - 2.0 * g[i * n + j]).max(0.0);
        }
        g[i * n + i] = 0.0;
    }
    g
}

fn squared_distances_2d(c: &[f32], n: usize) -> Vec<f32> {
    let mut g = vec![0f32; n * n];
    for i in 0..n {
        for j in 0..n {
            let (dx, dy) = (c[2 * i] - c[2 * j], c[2 * i + 1] - c[2 * j + 1]);
            g[i * n + j] = dx * dx + dy * dy;
        }
    }
    g
}

/// For each point, every other point from nearest to farthest (ties by
/// index, so the order is reproducible).
fn neighbour_order(d2: &[f32], n: usize) -> Vec<Vec<usize>> {
    (0..n)
        .map(|i| {
            let row = &d2[i * n..(i + 1) * n];
            let mut o: Vec<usize> = (0..n).filter(|&j| j != i).collect();
            o.sort_by(|&a, &b| row[a].total_cmp(&row[b]).then(a.cmp(&b)));
            o
        })
        .collect()
}

/// Leave-one-out accuracy of a `k`-nearest-neighbour majority vote; a tie
/// goes to the tied class met first (nearest).
fn knn_accuracy(order: &[Vec<usize>], y: &[u8], k: usize) -> f64 {
    let mut correct = 0usize;
    for (i, row) in order.iter().enumerate() {
        let near = &row[..k.min(row.len())];
        let mut votes = [0usize; 256];
        for &j in near {
            votes[y[j] as usize] += 1;
        }
        let top = votes.iter().copied().max().unwrap_or(0);
        let pick = near
            .iter()
            .map(|&j| y[j])
            .find(|&c| votes[c as usize] == top);
        if pick == Some(y[i]) {
            correct += 1;
        }
    }
    correct as f64 / order.len().max(1) as f64
}

/// Mean silhouette `(b − a) / max(a, b)` over points, with `a` the mean
/// distance to the point's own class and `b` the smallest mean distance
/// to another class (scikit-learn's definition; a point alone in its class
/// scores 0).
fn silhouette(d2: &[f32], y: &[u8], classes: usize) -> f64 {
    let n = y.len();
    let mut count = vec![0usize; classes];
    for &c in y {
        count[c as usize] += 1;
    }
    let mut total = 0f64;
    for i in 0..n {
        let mut sum = vec![0f64; classes];
        for j in 0..n {
            if j != i {
                sum[y[j] as usize] += (d2[i * n + j] as f64).sqrt();
            }
        }
        let own = y[i] as usize;
        if count[own] < 2 {
            continue;
        }
        let a = sum[own] / (count[own] - 1) as f64;
        let b = (0..classes)
            .filter(|&c| c != own && count[c] > 0)
            .map(|c| sum[c] / count[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let m = a.max(b);
        if m > 0.0 && b.is_finite() {
            total += (b - a) / m;
        }
    }
    total / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn silhouette_and_knn_match_hand_worked_values() {
        // Points on a line: class 0 at 0 and 1, class 1 at 10 and 12.
        let xs = [0.0f32, 1.0, 10.0, 12.0];
        let y = [0u8, 0, 1, 1];
        let mut d2 = vec![0f32; 16];
        for i in 0..4 {
            for j in 0..4 {
                d2[i * 4 + j] = (xs[i] - xs[j]).powi(2);
            }
        }
        // Point 0: a = 1, b = (10 + 12)/2 = 11 → 10/11. Point 1: a = 1,
        // b = 10 → 0.9. Point 2: a = 2, b = 9.5 → 7.5/9.5. Point 3: a = 2,
        // b = 11.5 → 9.5/11.5.
        let want = (10.0 / 11.0 + 0.9 + 7.5 / 9.5 + 9.5 / 11.5) / 4.0;
        assert!((silhouette(&d2, &y, 2) - want).abs() < 1e-9);
        // 1-NN: everyone's nearest is its own class.
        assert_eq!(knn_accuracy(&neighbour_order(&d2, 4), &y, 1), 1.0);
        // 3-NN of point 0: 1 (class 0), 2, 3 (class 1) → wrong.
        assert_eq!(knn_accuracy(&neighbour_order(&d2, 4), &y, 3), 0.0);
    }

    #[test]
    fn two_separated_clusters_embed_apart_and_score_high() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let normal = Normal::new(0.0f32, 1.0).unwrap();
        let (n, d) = (200, 16);
        let mut f = FeatureStore::new(d);
        let mut labels = Vec::new();
        for i in 0..n {
            let c = (i % 2) as u8;
            let row: Vec<f32> = (0..d)
                .map(|_| normal.sample(&mut rng) + 3.0 * c as f32)
                .collect();
            f.push(&row).unwrap();
            labels.push(c);
        }
        let cfg = EmbedConfig {
            points: 200,
            epochs: 300,
            ..Default::default()
        };
        let e = embed(&f, &labels, 2, &cfg, &mut rng).unwrap();
        assert_eq!(e.coords.len(), 400);
        assert!(e.knn_full > 0.95 && e.knn_2d > 0.95, "{e:?}");
        assert!(e.silhouette_2d > 0.3, "{e:?}");
    }
}
