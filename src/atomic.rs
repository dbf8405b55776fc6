//! Atomic file writes. Everything hebbench keeps (datasets, results, cached
//! weights, artefacts) is written to a temporary sibling named
//! `.<name>.<pid>.tmp`, then renamed over the destination, so neither a
//! reader nor a killed run ever sees half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// The temporary sibling `dest` is written through.
fn temporary_for(dest: &Path) -> PathBuf {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Calls `write` with a temporary path, then renames it over `dest`. On
/// failure the temporary is removed and `dest` is untouched.
pub fn write_with(dest: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).at(dir)?;
    let tmp = temporary_for(dest);
    match write(&tmp) {
        Ok(()) => fs::rename(&tmp, dest).at(dest),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes `bytes` to `dest` atomically, synced to disk.
pub fn write_bytes(dest: &Path, bytes: &[u8]) -> Result<()> {
    write_with(dest, |tmp| {
        let mut f = fs::File::create(tmp).at(tmp)?;
        f.write_all(bytes).at(tmp)?;
        f.sync_all().at(tmp)
    })
}

/// Saves named tensors as safetensors at `dest`, atomically.
pub fn write_safetensors(
    dest: &Path,
    tensors: &std::collections::HashMap<String, candle_core::Tensor>,
) -> Result<()> {
    write_with(dest, |tmp| {
        Ok(candle_core::safetensors::save(tensors, tmp)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_neither_file_nor_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/x.bin");
        let err = write_with(&dest, |tmp| {
            fs::write(tmp, b"half").unwrap();
            Err(crate::Error::Params("boom".into()))
        });
        assert!(err.is_err());
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 0);
        write_bytes(&dest, b"whole").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }
}
