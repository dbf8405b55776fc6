//! Dataset verification on real files and on damaged copies of them.

mod common;

use common::{data_dir, hebbench, text};
use std::fs;

/// Copies the real MNIST files, decompressed, into `dst/mnist/`.
fn copy_mnist(dst: &std::path::Path) {
    let src = data_dir().join("mnist");
    fs::create_dir_all(dst.join("mnist")).unwrap();
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let bytes = hebbench::data::store::read_maybe_gz(&p).unwrap();
        let name = p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".gz")
            .to_string();
        fs::write(dst.join("mnist").join(name), bytes).unwrap();
    }
}

#[test]
fn real_datasets_verify() {
    let cache = tempfile::tempdir().unwrap();
    let out = hebbench(cache.path())
        .args(["datasets", "verify", "--data-dir"])
        .arg(data_dir())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert_eq!(t.matches("ok ").count(), 10, "{t}");
}

#[test]
fn flipped_byte_truncation_and_missing_file_each_fail_clearly() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_mnist(dir.path());
    let m = dir.path().join("mnist");
    // One flipped byte in the middle of the test images.
    let mut b = fs::read(m.join("t10k-images-idx3-ubyte")).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0xff;
    fs::write(m.join("t10k-images-idx3-ubyte"), &b).unwrap();
    // A truncated label file.
    let l = fs::read(m.join("train-labels-idx1-ubyte")).unwrap();
    fs::write(m.join("train-labels-idx1-ubyte"), &l[..l.len() / 2]).unwrap();
    // A missing file.
    fs::remove_file(m.join("t10k-labels-idx1-ubyte")).unwrap();

    let out = hebbench(cache.path())
        .args(["datasets", "verify", "mnist", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    assert!(t.contains("ok      mnist/train-images-idx3-ubyte"), "{t}");
    let flipped = t
        .lines()
        .find(|l| l.contains("t10k-images-idx3-ubyte"))
        .unwrap();
    assert!(flipped.contains("sha256 mismatch"), "{flipped}");
    assert!(
        flipped
            .contains("expected 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        "{flipped}"
    );
    assert!(flipped.contains("actual "), "{flipped}");
    let truncated = t
        .lines()
        .find(|l| l.contains("train-labels-idx1-ubyte"))
        .unwrap();
    assert!(
        truncated.contains("expected 60008 bytes") && truncated.contains("found 30004"),
        "{truncated}"
    );
    let missing = t
        .lines()
        .find(|l| l.contains("t10k-labels-idx1-ubyte"))
        .unwrap();
    assert!(missing.contains("is missing"), "{missing}");
}

#[test]
fn a_run_on_a_corrupt_dataset_stops_before_running_and_names_the_file() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_mnist(dir.path());
    let m = dir.path().join("mnist");
    let mut b = fs::read(m.join("train-images-idx3-ubyte")).unwrap();
    b[1000] ^= 1;
    fs::write(m.join("train-images-idx3-ubyte"), &b).unwrap();
    let suite = common::small_suite(dir.path(), "corrupt", 1, "");
    let results = dir.path().join("results");
    let out = hebbench(cache.path())
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&results)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("train-images-idx3-ubyte") && t.contains("sha256 mismatch"),
        "{t}"
    );
    assert!(
        !results.exists(),
        "no result may be written for a run on bad data"
    );
}

#[test]
fn import_copies_verified_files_into_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let out = hebbench(cache.path())
        .args(["datasets", "import"])
        .arg(data_dir())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    // The cache alone now verifies.
    let out = hebbench(cache.path())
        .args(["datasets", "verify", "mnist"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(cache
        .path()
        .join("hebbench/mnist/t10k-labels-idx1-ubyte.gz")
        .is_file());
}
