//! Datasets: pinned by `datasets.lock`, located by [`DataStore`], loaded by
//! one small parser per format, and always verified on load so that the
//! hashes a run records are the hashes of the bytes it used.

pub mod cifar10;
pub mod lock;
pub mod mnist;
pub mod store;

use std::collections::BTreeMap;

pub use lock::Lock;
pub use store::DataStore;

use crate::error::{Error, Result};

/// One split: images as `u8` in `N × C × H × W` order, labels `0..classes`.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all when `n` is larger), for quick runs.
    pub fn truncated(&self, n: usize, image_len: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images[..n * image_len].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }
}

/// A verified dataset in memory.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    pub classes: usize,
    pub train: Split,
    pub test: Split,
    /// sha256 of each decompressed file, by file name.
    pub hashes: BTreeMap<String, String>,
}

impl Dataset {
    /// Pixels per image.
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Loads and verifies a dataset named in the lock.
    pub fn load(name: &str, store: &DataStore, lock: &Lock) -> Result<Self> {
        let locked = lock.get(name)?;
        let mut files = BTreeMap::new();
        let mut hashes = BTreeMap::new();
        for f in &locked.files {
            let v = store.read_verified(name, f)?;
            hashes.insert(f.name.clone(), v.sha256.clone());
            files.insert(f.name.clone(), v);
        }
        match name {
            "mnist" => mnist::from_files(&files, hashes),
            "cifar10" => cifar10::from_files(&files, hashes),
            other => Err(Error::UnknownName {
                what: "dataset loader",
                name: other.to_string(),
                valid: "mnist, cifar10".into(),
            }),
        }
    }

    /// One hash that stands for all files, for run identities.
    pub fn content_hash(&self) -> String {
        let joined: String = self
            .hashes
            .iter()
            .map(|(k, v)| format!("{k}={v};"))
            .collect();
        store::sha256_hex(joined.as_bytes())
    }
}

/// Every dataset name the lock pins.
pub fn dataset_names(lock: &Lock) -> Vec<String> {
    lock.datasets.keys().cloned().collect()
}
