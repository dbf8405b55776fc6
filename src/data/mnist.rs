//! MNIST in IDX format: big-endian headers, then raw `u8` pixels or labels.

use std::collections::BTreeMap;

use super::store::VerifiedFile;
use super::{Dataset, Split};
use crate::error::{Error, Result};

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses an IDX3 image file into `(count, rows, cols, pixels)`.
pub fn parse_images(f: &VerifiedFile) -> Result<(usize, usize, usize, Vec<u8>)> {
    let b = &f.bytes;
    let bad = |msg: String| Error::Format {
        path: f.path.clone(),
        msg,
    };
    if b.len() < 16 || be_u32(b, 0) != 0x0803 {
        return Err(bad("not an IDX3 image file (magic 0x00000803)".into()));
    }
    let (n, r, c) = (
        be_u32(b, 4) as usize,
        be_u32(b, 8) as usize,
        be_u32(b, 12) as usize,
    );
    if b.len() != 16 + n * r * c {
        return Err(bad(format!(
            "header says {n}x{r}x{c} but body has {} bytes",
            b.len() - 16
        )));
    }
    Ok((n, r, c, b[16..].to_vec()))
}

/// Parses an IDX1 label file, checking every label is a digit.
pub fn parse_labels(f: &VerifiedFile) -> Result<Vec<u8>> {
    let b = &f.bytes;
    let bad = |msg: String| Error::Format {
        path: f.path.clone(),
        msg,
    };
    if b.len() < 8 || be_u32(b, 0) != 0x0801 {
        return Err(bad("not an IDX1 label file (magic 0x00000801)".into()));
    }
    let n = be_u32(b, 4) as usize;
    if b.len() != 8 + n {
        return Err(bad(format!(
            "header says {n} labels but body has {}",
            b.len() - 8
        )));
    }
    if let Some(l) = b[8..].iter().find(|&&l| l > 9) {
        return Err(bad(format!("label {l} is not in 0..=9")));
    }
    Ok(b[8..].to_vec())
}

fn split(files: &BTreeMap<String, VerifiedFile>, images: &str, labels: &str) -> Result<Split> {
    let fi = &files[images];
    let (n, r, c, pixels) = parse_images(fi)?;
    let labels = parse_labels(&files[labels])?;
    if (r, c) != (28, 28) || labels.len() != n {
        return Err(Error::Format {
            path: fi.path.clone(),
            msg: format!(
                "expected 28x28 images matching {} labels, found {n} of {r}x{c}",
                labels.len()
            ),
        });
    }
    Ok(Split {
        images: pixels,
        labels,
    })
}

pub(super) fn from_files(
    files: &BTreeMap<String, VerifiedFile>,
    hashes: BTreeMap<String, String>,
) -> Result<Dataset> {
    Ok(Dataset {
        name: "mnist".into(),
        shape: [1, 28, 28],
        classes: 10,
        train: split(files, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
        test: split(files, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
        hashes,
    })
}
