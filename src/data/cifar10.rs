//! CIFAR-10 binary version: records of one label byte then 3072 bytes of
//! R, G and B planes, 10,000 records a batch.

use std::collections::BTreeMap;

use super::store::VerifiedFile;
use super::{Dataset, Split};
use crate::error::{Error, Result};

const RECORD: usize = 1 + 3 * 32 * 32;

/// The class names, by label (the dataset's `batches.meta.txt`, shortened
/// where the report's figures shorten them).
pub const CLASSES: [&str; 10] = [
    "plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
];

fn append(f: &VerifiedFile, out: &mut Split) -> Result<()> {
    if f.bytes.len() % RECORD != 0 {
        return Err(Error::Format {
            path: f.path.clone(),
            msg: format!(
                "length {} is not a multiple of the {RECORD}-byte record",
                f.bytes.len()
            ),
        });
    }
    for rec in f.bytes.chunks_exact(RECORD) {
        if rec[0] > 9 {
            return Err(Error::Format {
                path: f.path.clone(),
                msg: format!("label {} is not in 0..=9", rec[0]),
            });
        }
        out.labels.push(rec[0]);
        out.images.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

pub(super) fn from_files(
    files: &BTreeMap<String, VerifiedFile>,
    hashes: BTreeMap<String, String>,
) -> Result<Dataset> {
    let mut train = Split::default();
    for i in 1..=5 {
        append(&files[&format!("data_batch_{i}.bin")], &mut train)?;
    }
    let mut test = Split::default();
    append(&files["test_batch.bin"], &mut test)?;
    Ok(Dataset {
        name: "cifar10".into(),
        shape: [3, 32, 32],
        classes: 10,
        train,
        test,
        hashes,
    })
}
