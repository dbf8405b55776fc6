//! Supervised training on top of learned representations, and the metrics
//! every experiment reports per classifier epoch.

pub mod embedding;
pub mod frozen;
pub mod metrics;
pub mod readout;

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
}
