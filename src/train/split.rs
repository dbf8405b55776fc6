//! Which labelled training images a supervised stage sees: a validation
//! hold-out, then a labelled-data budget from what remains. Both are
//! stratified by class and drawn from one seed-derived stream that every kind
//! shares, so a Hebbian head, a backprop network and a random-feature control
//! at the same seed and fraction see the same images; and one shuffle per
//! class serves every fraction, so smaller budgets are subsets of larger
//! ones and the validation images never change with the budget.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::readout::Labelled;
use crate::error::{Error, Result};
use candle_core::Tensor;

/// The RNG stream of the split, the same for every kind (far from the
/// small stream numbers kinds use for their own draws).
const STREAM: u64 = 0x5_1e57;

/// The parameters' names and their identity-neutral values: a run without
/// them is the run with them at these values (every training label seen,
/// nothing held out), so adding them left every earlier run hash as it was.
pub const NEUTRAL: [(&str, f64); 2] = [("label_fraction", 1.0), ("val_fraction", 0.0)];

/// [`NEUTRAL`] as identity-neutral entries.
pub fn neutral() -> Vec<(&'static str, Value)> {
    NEUTRAL.iter().map(|(k, v)| (*k, json!(v))).collect()
}

/// Training-set indices (file order within each list).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The images whose labels the supervised stage trains on.
    pub labelled: Vec<usize>,
    /// The held-out validation images (empty without a hold-out).
    pub val: Vec<usize>,
}

impl Split {
    /// Records how many images each list holds (`labelled_images`,
    /// `val_images`) among a run's scalars.
    pub fn record(&self, summary: &mut std::collections::BTreeMap<String, f64>) {
        summary.insert("labelled_images".into(), self.labelled.len() as f64);
        summary.insert("val_images".into(), self.val.len() as f64);
    }
}

/// Checks `val_fraction` ∈ [0, 1) and `label_fraction` ∈ (0, 1].
pub fn check(label_fraction: f64, val_fraction: f64) -> Result<()> {
    if !(label_fraction > 0.0 && label_fraction <= 1.0) {
        return Err(Error::Params(format!(
            "`label_fraction` must be in (0, 1], got {label_fraction}"
        )));
    }
    if !(0.0..1.0).contains(&val_fraction) {
        return Err(Error::Params(format!(
            "`val_fraction` must be in [0, 1), got {val_fraction}"
        )));
    }
    Ok(())
}

/// Splits training images with `labels` for run seed `seed`: per class,
/// `round(val_fraction · n_c)` images are held out for validation, then
/// `max(1, round(label_fraction · rest))` of the rest are labelled. At the
/// neutral values the labelled list is `0..n` in order, the split of a run
/// without a budget.
pub fn split(
    labels: &[u8],
    classes: usize,
    label_fraction: f64,
    val_fraction: f64,
    seed: u64,
) -> Result<Split> {
    check(label_fraction, val_fraction)?;
    let n = labels.len();
    if label_fraction == 1.0 && val_fraction == 0.0 {
        return Ok(Split {
            labelled: (0..n).collect(),
            val: Vec::new(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(STREAM);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &y) in labels.iter().enumerate() {
        let c = y as usize;
        if c >= classes {
            return Err(Error::Params(format!(
                "label {c} of image {i} is not below the {classes} classes"
            )));
        }
        by_class[c].push(i);
    }
    let (mut labelled, mut val) = (Vec::new(), Vec::new());
    for (c, mut idx) in by_class.into_iter().enumerate() {
        if idx.is_empty() {
            continue;
        }
        idx.shuffle(&mut rng);
        let n_val = (val_fraction * idx.len() as f64).round() as usize;
        let rest = idx.len() - n_val;
        if rest == 0 {
            return Err(Error::Params(format!(
                "`val_fraction` {val_fraction} leaves class {c} ({} images) no training image",
                idx.len()
            )));
        }
        let n_lab = ((label_fraction * rest as f64).round() as usize).clamp(1, rest);
        val.extend_from_slice(&idx[..n_val]);
        labelled.extend_from_slice(&idx[n_val..n_val + n_lab]);
    }
    labelled.sort_unstable();
    val.sort_unstable();
    Ok(Split { labelled, val })
}

/// A split applied to in-memory inputs (`N × …` tensors): the labelled
/// rows and the validation rows with their labels.
pub struct Rows {
    /// Labelled training inputs and labels.
    pub train: (Tensor, Vec<u8>),
    /// Validation inputs and labels, when there is a hold-out.
    pub val: Option<(Tensor, Vec<u8>)>,
}

impl Rows {
    /// Rows of `x` (and `labels`) as `split` selects them; without a budget
    /// or hold-out, `x` itself (no copy).
    pub fn of(x: &Tensor, labels: &[u8], split: &Split) -> Result<Rows> {
        let take = |idx: &[usize]| -> Result<(Tensor, Vec<u8>)> {
            if idx.len() == labels.len() {
                return Ok((x.clone(), labels.to_vec()));
            }
            let ids: Vec<u32> = idx.iter().map(|&i| i as u32).collect();
            let ids = Tensor::from_vec(ids, idx.len(), x.device())?;
            Ok((
                x.index_select(&ids, 0)?,
                idx.iter().map(|&i| labels[i]).collect(),
            ))
        };
        Ok(Rows {
            train: take(&split.labelled)?,
            val: if split.val.is_empty() {
                None
            } else {
                Some(take(&split.val)?)
            },
        })
    }

    /// The labelled rows as a readout's training split.
    pub fn train(&self) -> Labelled<'_> {
        Labelled {
            features: &self.train.0,
            labels: &self.train.1,
        }
    }

    /// The validation rows, if any.
    pub fn val(&self) -> Option<Labelled<'_>> {
        self.val.as_ref().map(|(x, y)| Labelled {
            features: x,
            labels: y,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u8> {
        // 1,000 images, 10 classes of unequal size (55..145).
        (0..1000u32)
            .map(|i| ((i * 7 + i / 91) % 10) as u8)
            .collect()
    }

    #[test]
    fn the_neutral_split_is_every_image_in_order() {
        let s = split(&labels(), 10, 1.0, 0.0, 3).unwrap();
        assert_eq!(s.labelled, (0..1000).collect::<Vec<_>>());
        assert!(s.val.is_empty());
    }

    #[test]
    fn splits_are_stratified_disjoint_nested_and_seeded() {
        let y = labels();
        let count = |idx: &[usize], c: u8| idx.iter().filter(|&&i| y[i] == c).count();
        let big = split(&y, 10, 0.5, 0.1, 7).unwrap();
        let small = split(&y, 10, 0.05, 0.1, 7).unwrap();
        // The hold-out does not depend on the budget.
        assert_eq!(big.val, small.val);
        for c in 0..10u8 {
            let n_c = y.iter().filter(|&&v| v == c).count();
            let n_val = (0.1 * n_c as f64).round() as usize;
            assert_eq!(count(&big.val, c), n_val);
            let rest = (n_c - n_val) as f64;
            assert_eq!(count(&big.labelled, c), (0.5 * rest).round() as usize);
            assert_eq!(
                count(&small.labelled, c),
                ((0.05 * rest).round() as usize).max(1)
            );
        }
        // Smaller budgets are subsets of larger ones, never validation images.
        assert!(small.labelled.iter().all(|i| big.labelled.contains(i)));
        assert!(big.labelled.iter().all(|i| !big.val.contains(i)));
        // Another seed draws other images; the same seed the same ones.
        assert_ne!(split(&y, 10, 0.05, 0.1, 8).unwrap(), small);
        assert_eq!(split(&y, 10, 0.05, 0.1, 7).unwrap(), small);
    }

    #[test]
    fn out_of_range_fractions_are_refused() {
        for (l, v) in [
            (0.0, 0.0),
            (1.5, 0.0),
            (0.5, 1.0),
            (0.5, -0.1),
            (f64::NAN, 0.0),
        ] {
            assert!(split(&labels(), 10, l, v, 0).is_err(), "{l} {v}");
        }
    }
}
