//! `datasets fetch` against a loopback HTTP server standing in for the
//! official sources (through `--mirror`), serving the real files: a good
//! download lands verified in the cache; a partial or corrupt one leaves
//! nothing behind.

mod common;

use common::{data_dir, hebbench, text};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread::JoinHandle;

enum Mode {
    Whole,
    /// Announce the full length, send half, hang up.
    Truncated,
}

/// Serves `files` by name on 127.0.0.1 for at most `requests` requests.
fn serve(files: HashMap<String, Vec<u8>>, mode: Mode, requests: usize) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            match files.get(&path) {
                Some(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let send = match mode {
                        Mode::Whole => &body[..],
                        Mode::Truncated => &body[..body.len() / 2],
                    };
                    let _ = stream.write_all(send);
                }
                None => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
    });
    (url, handle)
}

fn mnist_files() -> HashMap<String, Vec<u8>> {
    let dir = data_dir().join("mnist");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

fn cached_files(cache: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(cache.join("hebbench")) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                for f in std::fs::read_dir(&p).unwrap().flatten() {
                    out.push(f.file_name().to_string_lossy().into_owned());
                }
            } else {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fetch_downloads_verifies_and_caches() {
    let cache = tempfile::tempdir().unwrap();
    let (url, server) = serve(mnist_files(), Mode::Whole, 4);
    let o = hebbench(cache.path())
        .args(["datasets", "fetch", "mnist", "--mirror", &url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    server.join().unwrap();
    assert_eq!(
        cached_files(cache.path()),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    // The cache alone verifies, and a second fetch downloads nothing (the
    // server is gone, so any download would fail).
    let o = hebbench(cache.path())
        .args(["datasets", "verify", "mnist"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = hebbench(cache.path())
        .args(["datasets", "fetch", "mnist", "--mirror", &url])
        .output()
        .unwrap();
    assert!(
        text(&o).contains("already present and verified"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_partial_download_leaves_nothing_behind() {
    let cache = tempfile::tempdir().unwrap();
    // With a mirror, only the mirror is tried.
    let (url, _server) = serve(mnist_files(), Mode::Truncated, 64);
    let o = hebbench(cache.path())
        .args(["datasets", "fetch", "mnist", "--mirror", &url])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("fetching mnist"), "{}", text(&o));
    assert_eq!(
        cached_files(cache.path()),
        Vec::<String>::new(),
        "no partial file may remain"
    );
}

#[test]
fn a_corrupt_download_is_rejected_with_both_hashes() {
    let cache = tempfile::tempdir().unwrap();
    let mut files = mnist_files();
    // Valid gzip, wrong content: one label changed.
    let mut labels =
        hebbench::data::store::read_maybe_gz(&data_dir().join("mnist/t10k-labels-idx1-ubyte.gz"))
            .unwrap();
    labels[100] = (labels[100] + 1) % 10;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&labels).unwrap();
    files.insert("t10k-labels-idx1-ubyte.gz".into(), gz.finish().unwrap());
    let (url, _server) = serve(files, Mode::Whole, 64);
    let o = hebbench(cache.path())
        .args(["datasets", "fetch", "mnist", "--mirror", &url])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(t.contains("sha256 mismatch: expected ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2, actual "), "{t}");
    assert!(
        !cached_files(cache.path())
            .iter()
            .any(|f| f.starts_with("t10k-labels")),
        "{:?}",
        cached_files(cache.path())
    );
    assert!(!cached_files(cache.path())
        .iter()
        .any(|f| f.ends_with(".part")));
}

#[test]
fn cifar10_is_extracted_from_the_official_archive_layout() {
    // Build cifar-10-binary.tar.gz as distributed: cifar-10-batches-bin/*.bin.
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for name in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ] {
        let bytes =
            hebbench::data::store::read_maybe_gz(&data_dir().join(format!("cifar10/{name}.gz")))
                .unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("cifar-10-batches-bin/{name}"), &bytes[..])
            .unwrap();
    }
    let archive = tar.into_inner().unwrap().finish().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (url, server) = serve(
        HashMap::from([("cifar-10-binary.tar.gz".to_string(), archive)]),
        Mode::Whole,
        1,
    );
    let o = hebbench(cache.path())
        .args(["datasets", "fetch", "cifar10", "--mirror", &url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    server.join().unwrap();
    assert_eq!(
        cached_files(cache.path()).len(),
        6,
        "{:?}",
        cached_files(cache.path())
    );
    let o = hebbench(cache.path())
        .args(["datasets", "verify", "cifar10"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}
