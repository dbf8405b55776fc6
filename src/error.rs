//! The library's error type: every failure a user can cause names the thing
//! at fault (file, line, expected and actual value) so it can be fixed.

use std::path::PathBuf;

/// Errors from hebbench's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The I/O error is shown inline (not as a source) so it prints once.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("dataset file `{dataset}/{file}` is missing; looked in: {searched}")]
    MissingFile {
        dataset: String,
        file: String,
        searched: String,
    },
    #[error("dataset file {path}: expected {expected} bytes after decompression, found {actual}")]
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("dataset file {path}: sha256 mismatch: expected {expected}, actual {actual}")]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("dataset file {path}: {msg}")]
    Format { path: PathBuf, msg: String },
    #[error("{file}:{line}: {msg}")]
    Suite {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("unknown {what} `{name}`; valid choices: {valid}")]
    UnknownName {
        what: &'static str,
        name: String,
        valid: String,
    },
    #[error("invalid parameters: {0}")]
    Params(String),
    #[error("training diverged: {0}")]
    Diverged(String),
    #[error("download failed: {0}")]
    Download(String),
    #[error("results file {path}: {msg}")]
    Results { path: PathBuf, msg: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
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
