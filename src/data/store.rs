//! Where dataset files live and how they are checked. A file is found in the
//! first of `--data-dir`, `$HEBBENCH_DATA` and the per-user cache that has
//! it, as `<root>/<dataset>/<name>` or `<name>.gz`, and it is only ever used
//! after its decompressed bytes match the lock.

use flate2::read::MultiGzDecoder;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::lock::{Lock, LockedFile};
use crate::error::{Error, IoContext, Result};

/// Ordered search roots for dataset files; the cache is always last and is
/// where `fetch` and `import` write.
#[derive(Debug, Clone)]
pub struct DataStore {
    roots: Vec<PathBuf>,
    cache: PathBuf,
    /// Used instead of the official sources: `<mirror>/<file name of the URL>`.
    mirror: Option<String>,
}

/// A file that matched the lock, with its bytes.
pub struct VerifiedFile {
    /// Where the file was found.
    pub path: PathBuf,
    /// Its decompressed content.
    pub bytes: Vec<u8>,
    /// Its SHA-256 (verified against the lock).
    pub sha256: String,
}

impl DataStore {
    /// Builds the search order from an explicit directory, the environment
    /// and the cache directory.
    pub fn new(data_dir: Option<PathBuf>) -> Self {
        let mut roots = Vec::new();
        if let Some(d) = data_dir {
            roots.push(d);
        }
        if let Some(d) = std::env::var_os("HEBBENCH_DATA").filter(|d| !d.is_empty()) {
            roots.push(PathBuf::from(d));
        }
        let cache = default_cache_dir();
        roots.push(cache.clone());
        let mirror = std::env::var("HEBBENCH_MIRROR")
            .ok()
            .filter(|m| !m.is_empty());
        Self {
            roots,
            cache,
            mirror,
        }
    }

    /// Fetches from `mirror` (a URL prefix) instead of the official
    /// sources, for institutional mirrors and local copies.
    pub fn with_mirror(mut self, mirror: Option<String>) -> Self {
        if mirror.is_some() {
            self.mirror = mirror;
        }
        self
    }

    /// A store that looks only in `roots` and caches into `cache`; for tests.
    pub fn with_roots(roots: Vec<PathBuf>, cache: PathBuf) -> Self {
        let mut roots = roots;
        roots.push(cache.clone());
        Self {
            roots,
            cache,
            mirror: None,
        }
    }

    /// The directories searched first, in order.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Where fetched files and caches go.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// The first existing copy of a file, plain or gzip-compressed.
    pub fn locate(&self, dataset: &str, name: &str) -> Option<PathBuf> {
        self.roots.iter().find_map(|root| {
            let plain = root.join(dataset).join(name);
            let gz = root.join(dataset).join(format!("{name}.gz"));
            [plain, gz].into_iter().find(|p| p.is_file())
        })
    }

    /// Finds, reads, decompresses and verifies one file against the lock.
    pub fn read_verified(&self, dataset: &str, file: &LockedFile) -> Result<VerifiedFile> {
        let path = self
            .locate(dataset, &file.name)
            .ok_or_else(|| Error::MissingFile {
                dataset: dataset.to_string(),
                file: file.name.clone(),
                searched: self
                    .roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let bytes = read_maybe_gz(&path)?;
        let sha256 = check(&path, &bytes, file)?;
        Ok(VerifiedFile {
            path,
            bytes,
            sha256,
        })
    }

    /// Copies every lock-matching file found under `dir` (flat, or in
    /// per-dataset subfolders) into the cache. Returns the names imported.
    pub fn import(&self, lock: &Lock, dir: &Path) -> Result<Vec<String>> {
        let mut imported = Vec::new();
        for (ds, locked) in &lock.datasets {
            for file in &locked.files {
                let candidates = [
                    dir.join(ds).join(&file.name),
                    dir.join(ds).join(format!("{}.gz", file.name)),
                    dir.join(&file.name),
                    dir.join(format!("{}.gz", file.name)),
                ];
                let Some(src) = candidates.iter().find(|p| p.is_file()) else {
                    continue;
                };
                let bytes = read_maybe_gz(src)?;
                check(src, &bytes, file)?;
                let gz = src.extension().is_some_and(|e| e == "gz");
                let dest_name = if gz {
                    format!("{}.gz", file.name)
                } else {
                    file.name.clone()
                };
                let raw = fs::read(src).at(src)?;
                write_atomic(&self.cache.join(ds).join(dest_name), &raw)?;
                imported.push(format!("{ds}/{}", file.name));
            }
        }
        Ok(imported)
    }

    /// Downloads every file of `dataset` that has no verified copy, verifies
    /// it, and renames it into the cache. A failed download leaves nothing.
    pub fn fetch(&self, dataset: &str, lock: &Lock, quiet: bool) -> Result<Vec<String>> {
        let locked = lock.get(dataset)?;
        let mut fetched = Vec::new();
        let missing: Vec<&LockedFile> = locked
            .files
            .iter()
            .filter(|f| self.read_verified(dataset, f).is_err())
            .collect();
        // Files from one archive are extracted from a single download.
        let mut done: Vec<String> = Vec::new();
        for file in &missing {
            if done.contains(&file.name) {
                continue;
            }
            let (tmp, url) = self.download_any(&file.urls, quiet)?;
            let result = (|| -> Result<()> {
                if file.member.is_some() {
                    let siblings: Vec<&&LockedFile> = missing
                        .iter()
                        .filter(|f| f.urls == file.urls && f.member.is_some())
                        .collect();
                    let gz = fs::File::open(&tmp).at(&tmp)?;
                    let mut archive = tar::Archive::new(MultiGzDecoder::new(gz));
                    for entry in archive.entries().at(&tmp)? {
                        let mut entry = entry.at(&tmp)?;
                        let member = entry.path().at(&tmp)?.to_string_lossy().into_owned();
                        if let Some(f) = siblings
                            .iter()
                            .find(|f| f.member.as_deref() == Some(&member))
                        {
                            let mut bytes = Vec::new();
                            entry.read_to_end(&mut bytes).at(&tmp)?;
                            let origin = PathBuf::from(format!("{url}#{member}"));
                            check(&origin, &bytes, f)?;
                            write_atomic(&self.cache.join(dataset).join(&f.name), &bytes)?;
                            done.push(f.name.clone());
                            fetched.push(format!("{dataset}/{}", f.name));
                        }
                    }
                    if !done.contains(&file.name) {
                        return Err(Error::Download(format!(
                            "{url}: archive has no member {}",
                            file.member.as_deref().unwrap_or_default()
                        )));
                    }
                } else {
                    let bytes = read_maybe_gz(&tmp)?;
                    check(&PathBuf::from(&url), &bytes, file)?;
                    let raw = fs::read(&tmp).at(&tmp)?;
                    let gz = raw.starts_with(&[0x1f, 0x8b]);
                    let name = if gz {
                        format!("{}.gz", file.name)
                    } else {
                        file.name.clone()
                    };
                    write_atomic(&self.cache.join(dataset).join(name), &raw)?;
                    done.push(file.name.clone());
                    fetched.push(format!("{dataset}/{}", file.name));
                }
                Ok(())
            })();
            let _ = fs::remove_file(&tmp);
            result?;
        }
        Ok(fetched)
    }

    fn download_any(&self, urls: &[String], quiet: bool) -> Result<(PathBuf, String)> {
        let mut errors = Vec::new();
        let mirrored = self.mirror.iter().filter_map(|m| {
            let name = urls.first()?.rsplit('/').next()?;
            Some(format!("{}/{name}", m.trim_end_matches('/')))
        });
        let mut candidates: Vec<String> = mirrored.collect();
        if candidates.is_empty() {
            candidates = urls.to_vec();
        }
        for url in &candidates {
            match self.download(url, quiet) {
                Ok(p) => return Ok((p, url.clone())),
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(Error::Download(errors.join("; ")))
    }

    fn download(&self, url: &str, quiet: bool) -> Result<PathBuf> {
        fs::create_dir_all(&self.cache).at(&self.cache)?;
        let tmp = self
            .cache
            .join(format!(".download-{}.part", std::process::id()));
        let result = (|| -> Result<()> {
            let resp = ureq::get(url)
                .call()
                .map_err(|e| Error::Download(format!("{url}: {e}")))?;
            let len = resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let bar = crate::progress::bytes_bar(len, &format!("fetch {url}"), quiet);
            let mut reader = resp.into_body().into_reader();
            let mut out = fs::File::create(&tmp).at(&tmp)?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| Error::Download(format!("{url}: {e}")))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n]).at(&tmp)?;
                bar.inc(n as u64);
            }
            out.sync_all().at(&tmp)?;
            bar.finish_and_clear();
            Ok(())
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(tmp)
    }
}

/// `$XDG_CACHE_HOME/hebbench`, else `~/.cache/hebbench`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("hebbench");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("hebbench")
}

/// Reads a file, gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = fs::read(path).at(path)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::Format {
                path: path.to_path_buf(),
                msg: format!("corrupt gzip stream: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Hex SHA-256 of a byte slice.
pub use crate::identity::sha256_hex;

/// Compares size then hash against the lock, returning the hash.
fn check(path: &Path, bytes: &[u8], file: &LockedFile) -> Result<String> {
    if bytes.len() as u64 != file.bytes {
        return Err(Error::SizeMismatch {
            path: path.to_path_buf(),
            expected: file.bytes,
            actual: bytes.len() as u64,
        });
    }
    let actual = sha256_hex(bytes);
    if actual != file.sha256 {
        return Err(Error::HashMismatch {
            path: path.to_path_buf(),
            expected: file.sha256.clone(),
            actual,
        });
    }
    Ok(actual)
}

/// Writes `bytes` to `dest` atomically (see [`crate::atomic`]).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_bytes(dest, bytes)
}
