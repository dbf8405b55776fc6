//! The report's classifier head on frozen features: dropout(0.5) → linear,
//! cross-entropy, Adam, with train and test scored after every epoch.
//! Features are stored as f16 (halving memory: 50k CIFAR-10 images × 24,576
//! SoftHebb features × 2 flips would otherwise take 9.8 GB), and a
//! horizontally flipped copy of the training set makes random-flip
//! augmentation exact without re-running the network every epoch.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use half::f16;
use half::slice::HalfFloatSliceExt;
use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;

use super::metrics::{argmax_rows, confusion, score, scores_of};
use super::EpochMetrics;
use crate::error::{Error, IoContext, Result};
use crate::progress::Progress;

/// Per-image feature vectors, row-major, stored as f16.
pub struct FeatureStore {
    /// Values per image.
    pub dim: usize,
    /// Features, image after image, as f16 (divided by the row's scale).
    pub data: Vec<f16>,
    /// Per row, the power of two its values were divided by to fit f16
    /// (whose largest value is 65,504; a network without competition
    /// reaches far beyond); empty while every row is unscaled.
    pub scales: Vec<f32>,
}

/// Rows whose largest magnitude exceeds this are scaled by a power of two
/// (half of f16's largest value, so rounding cannot overflow).
const F16_ROOM: f32 = 32768.0;

impl FeatureStore {
    /// An empty store of `dim`-wide features.
    pub fn new(dim: usize) -> Self {
        FeatureStore {
            dim,
            data: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    /// Whether it holds no images.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Appends rows; fails on a non-finite value (a diverged network).
    pub fn push(&mut self, rows: &[f32]) -> Result<()> {
        if let Some(v) = rows.iter().find(|v| !v.is_finite()) {
            return Err(Error::Diverged(format!("feature value {v}")));
        }
        for row in rows.chunks(self.dim.max(1)) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if max > F16_ROOM {
                (max / F16_ROOM).log2().ceil().exp2()
            } else {
                1.0
            };
            if scale != 1.0 && self.scales.is_empty() {
                self.scales = vec![1.0; self.len()];
            }
            if !self.scales.is_empty() {
                self.scales.push(scale);
            }
            self.data
                .extend(row.iter().map(|&v| f16::from_f32(v / scale)));
        }
        Ok(())
    }

    /// Row `i`'s scale (see [`FeatureStore::scales`]).
    fn scale(&self, i: usize) -> f32 {
        self.scales.get(i).copied().unwrap_or(1.0)
    }

    /// Writes the rows to `path` atomically: `HBFS`, the dimension and the
    /// row count as little-endian u64, then the f16 values; a store with
    /// scaled rows writes `HBF2` and the per-row f32 scales before them.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        use std::io::Write;
        crate::atomic::write_with(path, |tmp| {
            let f = std::fs::File::create(tmp).at(tmp)?;
            let mut w = std::io::BufWriter::with_capacity(1 << 22, f);
            w.write_all(if self.scales.is_empty() {
                b"HBFS"
            } else {
                b"HBF2"
            })
            .at(tmp)?;
            w.write_all(&(self.dim as u64).to_le_bytes()).at(tmp)?;
            w.write_all(&(self.len() as u64).to_le_bytes()).at(tmp)?;
            let scales: Vec<u8> = self.scales.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&scales).at(tmp)?;
            for chunk in self.data.chunks(1 << 20) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                w.write_all(&bytes).at(tmp)?;
            }
            let f = w.into_inner().map_err(|e| Error::Io {
                path: tmp.to_path_buf(),
                err: e.into_error(),
            })?;
            f.sync_all().at(tmp)
        })
    }

    /// Reads rows written by [`FeatureStore::save`]; `None` when the file
    /// is missing, truncated or not a feature file (the caller recomputes).
    pub fn load(path: &std::path::Path) -> Option<FeatureStore> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.len() < 20 {
            return None;
        }
        let scaled = match &bytes[..4] {
            b"HBFS" => false,
            b"HBF2" => true,
            _ => return None,
        };
        let dim = u64::from_le_bytes(bytes[4..12].try_into().ok()?) as usize;
        let rows = u64::from_le_bytes(bytes[12..20].try_into().ok()?) as usize;
        let head = 20 + if scaled { 4 * rows } else { 0 };
        if dim == 0 || bytes.len() != head + 2 * dim * rows {
            return None;
        }
        let scales = bytes[20..head]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let data: Vec<f16> = bytes[head..]
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]))
            .collect();
        // Entries written before rows were scaled could hold f16
        // overflows (infinities): recompute rather than learn from them.
        if data.par_iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(FeatureStore { dim, data, scales })
    }

    /// Row `i` as f32 into `dst` (standardised when `norm` is given).
    fn row_into(&self, i: usize, dst: &mut [f32], norm: Option<&(Vec<f32>, Vec<f32>)>) {
        let d = self.dim;
        // SIMD (F16C) conversion where the CPU has it.
        self.data[i * d..(i + 1) * d].convert_to_f32_slice(dst);
        let s = self.scale(i);
        if s != 1.0 {
            dst.iter_mut().for_each(|v| *v *= s);
        }
        if let Some((mean, inv)) = norm {
            for ((v, m), s) in dst.iter_mut().zip(mean).zip(inv) {
                *v = (*v - m) * s;
            }
        }
    }

    pub(crate) fn gather(&self, idx: &[usize], norm: Option<&(Vec<f32>, Vec<f32>)>) -> Vec<f32> {
        let mut out = vec![0f32; idx.len() * self.dim];
        out.par_chunks_mut(self.dim)
            .zip(idx)
            .for_each(|(dst, &i)| self.row_into(i, dst, norm));
        out
    }

    /// Per-feature mean and 1/std over the stored rows.
    pub fn moments(&self) -> (Vec<f32>, Vec<f32>) {
        let d = self.dim;
        let n = self.len().max(1) as f64;
        let mut s = vec![0f64; d];
        let mut s2 = vec![0f64; d];
        for (i, row) in self.data.chunks(d).enumerate() {
            let scale = self.scale(i) as f64;
            for (j, v) in row.iter().enumerate() {
                let v = v.to_f32() as f64 * scale;
                s[j] += v;
                s2[j] += v * v;
            }
        }
        let mean: Vec<f32> = s.iter().map(|v| (v / n) as f32).collect();
        let inv: Vec<f32> = s2
            .iter()
            .zip(&s)
            .map(|(q, m)| {
                let var = (q / n - (m / n) * (m / n)).max(0.0);
                (1.0 / (var.sqrt() + 1e-5)) as f32
            })
            .collect();
        (mean, inv)
    }
}

/// Classifier settings.
#[derive(Debug, Clone)]
pub struct HeadSchedule {
    /// Classifier epochs.
    pub epochs: usize,
    /// Minibatch.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Each epoch's rate is `lr · lr_decay^epoch` (1 keeps it constant, as
    /// the report). A per-epoch factor keeps the first epochs of a longer
    /// run identical to a shorter run.
    pub lr_decay: f64,
    /// Dropout before the linear layer.
    pub dropout: f32,
    /// Standardise each feature with the training set's mean and std
    /// before dropout (not in the report's head).
    pub standardize: bool,
    /// Reshuffle the training images every epoch (the report's loader
    /// keeps the file order).
    pub shuffle: bool,
}

/// Which rows of the training features a head trains and validates on.
pub struct HeadRows<'a> {
    /// Rows whose labels the head trains on (file order).
    pub labelled: &'a [usize],
    /// Held-out rows scored after every epoch (never flipped); may be empty.
    pub val: &'a [usize],
}

/// Trains dropout → linear on the `rows.labelled` rows of `train` (and,
/// when given, its flipped copy, chosen per image and epoch with
/// probability ½); scores after each epoch, the validation rows, and the
/// test images drawn from their flipped copy with probability ½ when one is
/// given (the report's random test-time flips). `elapsed_s` counts from
/// this call.
#[allow(clippy::too_many_arguments)]
pub fn train_head(
    train: &FeatureStore,
    train_flipped: Option<&FeatureStore>,
    train_labels: &[u8],
    rows: HeadRows,
    test: &FeatureStore,
    test_flipped: Option<&FeatureStore>,
    test_labels: &[u8],
    classes: usize,
    s: &HeadSchedule,
    rng: &mut impl Rng,
    progress: &Progress,
    dev: &Device,
) -> Result<Vec<EpochMetrics>> {
    let start = std::time::Instant::now();
    let dim = train.dim;
    // The report's init: W ~ 0.1105·U(0,1); bias as PyTorch, U(±1/√dim).
    let bound = 1.0 / (dim as f32).sqrt();
    let w: Vec<f32> = (0..classes * dim)
        .map(|_| 0.110_485_43 * rng.random::<f32>())
        .collect();
    let b: Vec<f32> = (0..classes)
        .map(|_| bound * (2.0 * rng.random::<f32>() - 1.0))
        .collect();
    let w = Var::from_tensor(&Tensor::from_vec(w, (classes, dim), dev)?)?;
    let b = Var::from_tensor(&Tensor::from_vec(b, classes, dev)?)?;
    let mut opt = AdamW::new(
        vec![w.clone(), b.clone()],
        ParamsAdamW {
            lr: s.lr,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let mut order: Vec<usize> = rows.labelled.to_vec();
    // Moments over every training image: they use no label.
    let norm = s.standardize.then(|| train.moments());
    let norm = norm.as_ref();
    let bar = progress.bar(s.epochs as u64, "classifier epochs");
    let mut history = Vec::with_capacity(s.epochs);
    let keep = 1.0 - s.dropout;
    for epoch in 0..s.epochs {
        opt.set_learning_rate(s.lr * s.lr_decay.powi(epoch as i32));
        if s.shuffle {
            order.shuffle(rng);
        }
        let (mut total, mut batches) = (0f64, 0usize);
        for chunk in order.chunks(s.batch) {
            // Which copy each image comes from (drawn in order), then the
            // rows gathered in parallel.
            let picks: Vec<(&FeatureStore, usize)> = chunk
                .iter()
                .map(|&i| match train_flipped {
                    Some(f) if rng.random::<bool>() => (f, i),
                    _ => (train, i),
                })
                .collect();
            let mut x = vec![0f32; chunk.len() * dim];
            x.par_chunks_mut(dim)
                .zip(&picks)
                .for_each(|(dst, &(src, i))| src.row_into(i, dst, norm));
            if s.dropout > 0.0 {
                for v in x.iter_mut() {
                    *v = if rng.random::<f32>() < keep {
                        *v / keep
                    } else {
                        0.0
                    };
                }
            }
            let x = Tensor::from_vec(x, (chunk.len(), dim), dev)?;
            let y: Vec<u32> = chunk.iter().map(|&i| train_labels[i] as u32).collect();
            let y = Tensor::from_vec(y, chunk.len(), dev)?;
            let z = x
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            let loss = candle_nn::loss::cross_entropy(&z, &y)?;
            opt.backward_step(&loss)?;
            total += loss.to_scalar::<f32>()? as f64;
            batches += 1;
        }
        let train_loss = total / batches.max(1) as f64;
        if !train_loss.is_finite() {
            return Err(Error::Diverged(format!(
                "classifier loss is {train_loss} at epoch {}",
                epoch + 1
            )));
        }
        let labels_of =
            |idx: &[usize]| -> Vec<u8> { idx.iter().map(|&i| train_labels[i]).collect() };
        let tr = score(
            &predict(train, rows.labelled, None, &w, &b, classes, norm)?,
            &labels_of(rows.labelled),
            classes,
        );
        let val = if rows.val.is_empty() {
            None
        } else {
            Some(score(
                &predict(train, rows.val, None, &w, &b, classes, norm)?,
                &labels_of(rows.val),
                classes,
            ))
        };
        let test_picks: Option<Vec<bool>> =
            test_flipped.map(|_| (0..test.len()).map(|_| rng.random::<bool>()).collect());
        let all_test: Vec<usize> = (0..test.len()).collect();
        let cm = confusion(
            &predict(
                test,
                &all_test,
                test_flipped.zip(test_picks.as_deref()),
                &w,
                &b,
                classes,
                norm,
            )?,
            test_labels,
            classes,
        );
        let te = scores_of(&cm, classes);
        history.push(EpochMetrics {
            epoch: epoch as u32 + 1,
            train_loss,
            train_accuracy: tr.accuracy,
            test: te,
            train: Some(tr),
            test_confusion: cm,
            val,
            val_loss: None,
            elapsed_s: Some(start.elapsed().as_secs_f64()),
        });
        bar.set_message(format!("test {:.2}%", 100.0 * te.accuracy));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(history)
}

/// Class predictions for rows `rows` of `f`; where `flipped` marks a row
/// (indexed by row number), it is read from the flipped copy instead.
fn predict(
    f: &FeatureStore,
    rows: &[usize],
    flipped: Option<(&FeatureStore, &[bool])>,
    w: &Var,
    b: &Var,
    classes: usize,
    norm: Option<&(Vec<f32>, Vec<f32>)>,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(rows.len());
    for idx in rows.chunks(1000) {
        let rows = match flipped {
            None => f.gather(idx, norm),
            Some((fl, picks)) => {
                let mut x = vec![0f32; idx.len() * f.dim];
                x.par_chunks_mut(f.dim).zip(idx).for_each(|(dst, &i)| {
                    let src = if picks[i] { fl } else { f };
                    src.row_into(i, dst, norm)
                });
                x
            }
        };
        let x = Tensor::from_vec(rows, (idx.len(), f.dim), w.as_tensor().device())?;
        let z = x
            .matmul(&w.as_tensor().t()?)?
            .broadcast_add(b.as_tensor())?;
        let z: Vec<f32> = z.flatten_all()?.to_vec1()?;
        out.extend(argmax_rows(&z, classes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_round_trip_through_a_file_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FeatureStore::new(3);
        s.push(&[1.0, -2.5, 0.125, 4.0, 5.0, 6.0]).unwrap();
        let path = dir.path().join("f.f16");
        s.save(&path).unwrap();
        let back = FeatureStore::load(&path).unwrap();
        assert_eq!((back.dim, back.len()), (3, 2));
        assert_eq!(back.data, s.data);
        // A truncated file is not a feature file.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(FeatureStore::load(&path).is_none());
        assert!(FeatureStore::push(&mut s, &[f32::NAN, 0.0, 0.0]).is_err());
    }

    #[test]
    fn rows_beyond_the_f16_range_are_kept_by_a_power_of_two_scale() {
        // f16's largest value is 65,504: 1e6 would be stored as infinity
        // (a NaN classifier loss, as the full-data no-competition row had).
        let dir = tempfile::tempdir().unwrap();
        let mut s = FeatureStore::new(3);
        s.push(&[1.0, -2.5, 0.125]).unwrap();
        s.push(&[1e6, -3e5, 7.0]).unwrap();
        assert_eq!(s.scales, vec![1.0, 32.0], "1e6 / 32768 → 2^5");
        let got = s.gather(&[0, 1], None);
        let want = [1.0, -2.5, 0.125, 1e6, -3e5, 7.0];
        for (g, w) in got.iter().zip(want) {
            // f16 keeps 11 significant bits: 1/2048 relative.
            assert!((g - w).abs() <= w.abs() / 2048.0 + 1e-3, "{g} vs {w}");
        }
        let (mean, _) = s.moments();
        assert!((mean[0] - 500_000.5).abs() < 500.0, "{}", mean[0]);
        let path = dir.path().join("f.f16");
        s.save(&path).unwrap();
        let back = FeatureStore::load(&path).unwrap();
        assert_eq!((back.data, back.scales), (s.data.clone(), s.scales.clone()));
        // An unscaled store keeps the original format, byte for byte.
        let mut plain = FeatureStore::new(1);
        plain.push(&[2.0]).unwrap();
        plain.save(&path).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"HBFS");
        // An old entry holding an overflow (f16 infinity) is a miss.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20..22].copy_from_slice(&f16::INFINITY.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        assert!(FeatureStore::load(&path).is_none());
    }
}
