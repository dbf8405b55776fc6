//! The library's error type: every failure a user can cause names the thing
//! at fault (file, line, expected and actual value) so it can be fixed.

use std::path::PathBuf;

/// Errors from hebbench's library code; each variant says what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The I/O error is shown inline (not as a source) so it prints once.
    /// Reading or writing a file failed.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        err: std::io::Error,
    },
    /// A dataset file is in none of the places looked in.
    #[error("dataset file `{dataset}/{file}` is missing; looked in: {searched}")]
    MissingFile {
        /// The dataset's name.
        dataset: String,
        /// The file's name in the lock.
        file: String,
        /// The directories searched.
        searched: String,
    },
    /// A dataset file decompresses to the wrong size.
    #[error("dataset file {path}: expected {expected} bytes after decompression, found {actual}")]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// Bytes the lock gives.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// A dataset file's content is not the pinned one.
    #[error("dataset file {path}: sha256 mismatch: expected {expected}, actual {actual}")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// The pinned hash.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// A dataset file is not in its format.
    #[error("dataset file {path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A suite file is malformed.
    #[error("{file}:{line}: {msg}")]
    Suite {
        /// The suite file.
        file: String,
        /// Its 1-based line (0: unknown).
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A name (kind, rule, architecture…) is not registered.
    #[error("unknown {what} `{name}`; valid choices: {valid}")]
    UnknownName {
        /// What kind of name.
        what: &'static str,
        /// The name given.
        name: String,
        /// The registered names.
        valid: String,
    },
    /// An experiment's parameters are invalid.
    #[error("invalid parameters: {0}")]
    Params(String),
    /// Arrays of shapes that do not fit together (a bug or a foreign input).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A cache entry is incomplete or foreign; delete it to recompute.
    #[error("cache entry {path}: {msg}")]
    Cache {
        /// The entry.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A configuration file other than a suite (the CI baseline) is malformed.
    #[error("{path}: {msg}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The compute device could not be opened.
    #[error("device: {0}")]
    Device(String),
    /// The candle engine has no form of a part yet (it names the part).
    #[error("candle engine: {0}")]
    Engine(String),
    /// The thread pool for parallel runs could not start.
    #[error("thread pool: {0}")]
    Threads(String),
    /// Aggregating or drawing a report failed.
    #[error("report: {0}")]
    Report(String),
    /// A run's loss or weights became NaN or infinite.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// A dataset download failed.
    #[error("download failed: {0}")]
    Download(String),
    /// A result file is unreadable or not hebbench's.
    #[error("results file {path}: {msg}")]
    Results {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// candle failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// The Parquet writer or reader failed.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Arrow failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// JSON (de)serialisation failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches the path to an I/O error, so a message always says which file.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|err| Error::Io {
            path: path.into(),
            err,
        })
    }
}
