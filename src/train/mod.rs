//! Supervised training on top of learned representations, and the metrics
//! every experiment reports per classifier epoch.

pub mod embedding;
pub mod frozen;
pub mod metrics;
pub mod readout;
pub mod split;

pub use metrics::Scores;

/// What one classifier epoch measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: u32,
    /// Mean training loss of the epoch.
    pub train_loss: f64,
    /// Training accuracy of the epoch.
    pub train_accuracy: f64,
    /// Accuracy and macro precision/recall/F1 on the test split.
    pub test: Scores,
    /// The same on the training split, where the kind scores it.
    pub train: Option<Scores>,
    /// The test confusion matrix (row: true class, column: predicted), where
    /// the kind keeps it; empty otherwise.
    pub test_confusion: Vec<u64>,
    /// The same scores on the held-out validation images (`val_fraction`),
    /// where there are some: what choices are made on.
    pub val: Option<Scores>,
    /// The mean training loss on the validation images in evaluation mode
    /// (the notebooks' `val_loss`), where the kind computes it.
    pub val_loss: Option<f64>,
    /// Seconds since the run began when this epoch ended, counting every
    /// earlier phase (a phase reused from the feature cache at the time it
    /// took when computed), so accuracy can be drawn against wall-clock.
    pub elapsed_s: Option<f64>,
}

/// Adds `offset` seconds (the run's phases before the supervised stage) to
/// every epoch's `elapsed_s`, which a training loop measures from its own
/// start.
pub fn offset_elapsed(epochs: &mut [EpochMetrics], offset: f64) {
    for e in epochs {
        if let Some(t) = e.elapsed_s.as_mut() {
            *t += offset;
        }
    }
}
