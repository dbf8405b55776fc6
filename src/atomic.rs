//! Atomic file writes. Everything hebbench keeps (datasets, results, cached
//! weights, artefacts) is written to a temporary sibling named
//! `.<name>.<pid>-<host tag>.tmp`, then renamed over the destination, so
//! neither a reader nor a killed run ever sees half a file, and writers on
//! different hosts of a shared file system never share a temporary.
//!
//! [`CacheLock`] lets processes (shards of a job array, on one host or on
//! several over NFS) agree that only one of them computes a cache entry.

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
    dir.join(format!(".{name}.{}-{}.tmp", std::process::id(), host_tag()))
}

/// This host's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Eight hex digits naming this host in temporary and lock files.
pub fn host_tag() -> String {
    crate::identity::sha256_hex(hostname().as_bytes())[..8].to_string()
}

/// Whether a temporary `name` (as [`write_with`] names them) belongs to a
/// writer on this host that is no longer running, so it can be removed.
pub fn is_stale_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, owner)) = rest.rsplit_once('.') else {
        return false;
    };
    let (pid, tag) = match owner.split_once('-') {
        Some((pid, tag)) => (pid, Some(tag)),
        None => (owner, None),
    };
    if pid.parse::<u32>().is_err() || tag.is_some_and(|t| t != host_tag()) {
        return false;
    }
    !Path::new("/proc").join(pid).exists()
}

/// An exclusive claim on computing one cache entry, held as a lock file
/// `<entry>.lock` created with `O_EXCL` (atomic on local file systems and on
/// NFSv3 and later). Released on drop. A lock left by a dead process on this
/// host, or older than `stale_after`, is broken.
pub struct CacheLock {
    path: PathBuf,
}

impl CacheLock {
    /// Waits until `entry` is no longer being computed elsewhere, then
    /// claims it. `stale_after` bounds how long another host's claim is
    /// trusted (its process cannot be checked from here).
    pub fn acquire(entry: &Path, stale_after: std::time::Duration) -> Result<CacheLock> {
        let path = entry.with_extension(
            entry
                .extension()
                .map(|e| format!("{}.lock", e.to_string_lossy()))
                .unwrap_or_else(|| "lock".into()),
        );
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).at(dir)?;
        }
        let me = format!("{} {} {}\n", hostname(), std::process::id(), host_tag());
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(me.as_bytes()).at(&path)?;
                    f.sync_all().at(&path)?;
                    return Ok(CacheLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Self::is_stale(&path, stale_after) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                Err(e) => return Err(e).at(&path),
            }
        }
    }

    fn is_stale(path: &Path, stale_after: std::time::Duration) -> bool {
        let Ok(text) = fs::read_to_string(path) else {
            return false; // removed meanwhile: the next attempt tells
        };
        let mut parts = text.split_whitespace();
        let (_, pid, tag) = (parts.next(), parts.next(), parts.next());
        if let (Some(pid), Some(tag)) = (pid, tag) {
            if tag == host_tag() && !Path::new("/proc").join(pid).exists() {
                return true;
            }
        }
        fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > stale_after)
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
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
    fn temporaries_of_dead_local_writers_are_stale_others_are_not() {
        let tag = host_tag();
        let me = std::process::id();
        assert!(!is_stale_temporary(&format!(".x.parquet.{me}-{tag}.tmp")));
        // pid 0 never names a process directory under /proc.
        assert!(is_stale_temporary(&format!(
            ".x.parquet.999999999-{tag}.tmp"
        )));
        assert!(!is_stale_temporary(".x.parquet.999999999-00000000.tmp") || tag == "00000000");
        assert!(!is_stale_temporary("x.parquet"));
    }

    #[test]
    fn a_cache_lock_is_exclusive_and_a_dead_holders_lock_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("w.safetensors");
        let day = std::time::Duration::from_secs(86_400);
        let lock = CacheLock::acquire(&entry, day).unwrap();
        let lock_file = dir.path().join("w.safetensors.lock");
        assert!(lock_file.exists());
        // A second claim waits until the first is released.
        let t = std::thread::spawn({
            let entry = entry.clone();
            move || {
                let start = std::time::Instant::now();
                drop(CacheLock::acquire(&entry, day).unwrap());
                start.elapsed()
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(600));
        drop(lock);
        assert!(t.join().unwrap() >= std::time::Duration::from_millis(500));
        assert!(!lock_file.exists());
        // A lock whose holder (on this host) is dead is broken at once.
        fs::write(&lock_file, format!("h 999999999 {}\n", host_tag())).unwrap();
        drop(CacheLock::acquire(&entry, day).unwrap());
    }

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
