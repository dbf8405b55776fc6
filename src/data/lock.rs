//! `datasets.lock`: the pinned content of every dataset file. The lock is
//! compiled into the binary so that a result can always be traced to the
//! exact bytes it was computed from.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The lock file as committed at the repository root.
pub const LOCK_TEXT: &str = include_str!("../../datasets.lock");

/// One dataset in the lock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedDataset {
    /// What the dataset is and where it comes from.
    pub description: String,
    /// Its files.
    pub files: Vec<LockedFile>,
}

/// One file: its decompressed size and hash, and where to get it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    /// File name.
    pub name: String,
    /// Size after decompression.
    pub bytes: u64,
    /// SHA-256 of the decompressed content.
    pub sha256: String,
    /// Where `datasets fetch` downloads it from, in order.
    pub urls: Vec<String>,
    /// Path inside a `.tar.gz` archive, when the source is an archive.
    #[serde(default)]
    pub member: Option<String>,
}

/// All pinned datasets, by name.
#[derive(Debug, Clone)]
pub struct Lock {
    /// Every pinned dataset by name.
    pub datasets: BTreeMap<String, LockedDataset>,
}

impl Lock {
    /// The lock compiled into this binary.
    pub fn builtin() -> Result<Self> {
        Self::parse(LOCK_TEXT, "datasets.lock")
    }

    /// Parses lock text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let datasets: BTreeMap<String, LockedDataset> =
            serde_norway::from_str(text).map_err(|e| Error::Suite {
                file: origin.to_string(),
                line: e.location().map(|l| l.line()).unwrap_or(0),
                msg: e.to_string(),
            })?;
        Ok(Self { datasets })
    }

    /// Looks a dataset up, listing the valid names when it is unknown.
    pub fn get(&self, name: &str) -> Result<&LockedDataset> {
        self.datasets.get(name).ok_or_else(|| Error::UnknownName {
            what: "dataset",
            name: name.to_string(),
            valid: self.datasets.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }
}
