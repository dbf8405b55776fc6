//! Classification metrics from a confusion matrix. Macro averages weight
//! every class equally, which is what the report's precision/recall/F1 use.

/// Accuracy and macro-averaged precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Fraction correct.
    pub accuracy: f64,
    /// Macro-averaged precision.
    pub precision: f64,
    /// Macro-averaged recall.
    pub recall: f64,
    /// Macro-averaged F1.
    pub f1: f64,
}

/// The confusion matrix of `pred` against `truth`: row = true class,
/// column = predicted class.
pub fn confusion(pred: &[u8], truth: &[u8], classes: usize) -> Vec<u64> {
    let mut cm = vec![0u64; classes * classes];
    for (&p, &t) in pred.iter().zip(truth) {
        cm[t as usize * classes + p as usize] += 1;
    }
    cm
}

/// Scores predictions against labels over `classes` classes. A class that
/// is never predicted has precision 0 (as scikit-learn's `zero_division=0`).
pub fn score(pred: &[u8], truth: &[u8], classes: usize) -> Scores {
    scores_of(&confusion(pred, truth, classes), classes)
}

/// Accuracy and macro precision/recall/F1 of a confusion matrix.
pub fn scores_of(cm: &[u64], classes: usize) -> Scores {
    let total = cm.iter().sum::<u64>().max(1) as f64;
    let correct: u64 = (0..classes).map(|c| cm[c * classes + c]).sum();
    let (mut p_sum, mut r_sum, mut f_sum) = (0.0, 0.0, 0.0);
    for c in 0..classes {
        let tp = cm[c * classes + c] as f64;
        let predicted: u64 = (0..classes).map(|t| cm[t * classes + c]).sum();
        let actual: u64 = (0..classes).map(|p| cm[c * classes + p]).sum();
        let p = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let r = if actual > 0 { tp / actual as f64 } else { 0.0 };
        let f = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        p_sum += p;
        r_sum += r;
        f_sum += f;
    }
    let k = classes as f64;
    Scores {
        accuracy: correct as f64 / total,
        precision: p_sum / k,
        recall: r_sum / k,
        f1: f_sum / k,
    }
}

/// Index of the largest value in each row of a row-major matrix.
pub fn argmax_rows(values: &[f32], cols: usize) -> Vec<u8> {
    values
        .chunks_exact(cols)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_class_example() {
        // truth: 0 0 1 1 2 2 ; pred: 0 1 1 1 2 0
        // class 0: tp 1, predicted 2, actual 2 -> p .5 r .5 f .5
        // class 1: tp 2, predicted 3, actual 2 -> p 2/3 r 1 f .8
        // class 2: tp 1, predicted 1, actual 2 -> p 1 r .5 f 2/3
        let s = score(&[0, 1, 1, 1, 2, 0], &[0, 0, 1, 1, 2, 2], 3);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert!((s.precision - (0.5 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert!((s.recall - (0.5 + 1.0 + 0.5) / 3.0).abs() < 1e-12);
        assert!((s.f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn argmax_picks_first_of_ties() {
        assert_eq!(argmax_rows(&[0.1, 0.9, 0.9, 3.0, -1.0, 2.0], 3), vec![1, 0]);
    }
}
