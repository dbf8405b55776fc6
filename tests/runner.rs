//! The runner end to end on real MNIST: determinism, failure recording,
//! resume after SIGKILL, and Parquet files a standard reader can read.

mod common;

use arrow::array::{Array, Float64Array, StringArray, UInt32Array};
use arrow::datatypes::DataType;
use common::{data_dir, hebbench, small_suite, text};
use hebbench::run::results::{read_parquet, result_files};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;
use std::time::{Duration, Instant};

fn run(suite: &Path, out: &Path, cache: &Path, extra: &[&str]) -> std::process::Output {
    hebbench(cache)
        .arg("run")
        .arg(suite)
        .arg("--out")
        .arg(out)
        .arg("--data-dir")
        .arg(data_dir())
        .args(extra)
        .output()
        .unwrap()
}

fn metric(path: &Path, col: &str) -> Vec<f64> {
    let b = &read_parquet(path).unwrap()[0];
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .clone();
    a.iter().map(|v| v.unwrap()).collect()
}

#[test]
fn same_seed_gives_identical_metrics_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let suite = small_suite(dir.path(), "det", 1, "");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = run(&suite, out, cache.path(), &[]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let fa = result_files(&a).unwrap();
    let fb = result_files(&b).unwrap();
    assert_eq!(fa.len(), 1);
    assert_eq!(
        fa[0].file_name(),
        fb[0].file_name(),
        "same config, same identity"
    );
    for col in [
        "train_loss",
        "train_accuracy",
        "test_accuracy",
        "test_f1",
        "s_norm_p50",
    ] {
        assert_eq!(
            metric(&fa[0], col),
            metric(&fb[0], col),
            "{col} differs between identical runs"
        );
    }
    // The unsupervised weights were computed, not read from a shared cache.
    assert_eq!(metric(&fa[0], "s_unsupervised_cached"), vec![0.0; 2]);

    let suite1 = small_suite(dir.path(), "det", 1, "")
        .to_string_lossy()
        .replace("det.yaml", "det1.yaml");
    std::fs::write(
        &suite1,
        std::fs::read_to_string(&suite)
            .unwrap()
            .replace("seeds: [0]", "seeds: [1]"),
    )
    .unwrap();
    let c = dir.path().join("c");
    assert!(run(Path::new(&suite1), &c, cache.path(), &[])
        .status
        .success());
    let fc = result_files(&c).unwrap();
    assert_ne!(fc[0].file_name(), fa[0].file_name());
    assert_ne!(
        metric(&fc[0], "train_loss"),
        metric(&fa[0], "train_loss"),
        "seed must matter"
    );
}

#[test]
fn a_diverging_run_is_recorded_as_failed_and_the_suite_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let suite = dir.path().join("nan.yaml");
    let good = std::fs::read_to_string(small_suite(dir.path(), "nan", 1, "")).unwrap();
    // p = 400 overflows |W|^(p-1) to infinity: the update is NaN.
    std::fs::write(
        &suite,
        format!("{good}  - name: overflow\n    params: {{p: 400.0}}\n"),
    )
    .unwrap();
    let out = dir.path().join("r");
    let o = run(&suite, &out, cache.path(), &[]);
    let t = text(&o);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a failed run gives exit code 3: {t}"
    );
    assert!(
        t.contains("failed: overflow seed 0: training diverged"),
        "{t}"
    );
    let files = result_files(&out).unwrap();
    assert_eq!(files.len(), 2, "both runs are recorded");
    let mut statuses: Vec<String> = files
        .iter()
        .map(|f| {
            let b = &read_parquet(f).unwrap()[0];
            b.column_by_name("status")
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0)
                .to_string()
        })
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["failed", "ok"]);
    // A second run skips both; --retry-failed redoes only the failed one.
    let o = run(&suite, &out, cache.path(), &[]);
    assert!(text(&o).contains("0 ran, 2 skipped"), "{}", text(&o));
    let o = run(&suite, &out, cache.path(), &["--retry-failed"]);
    assert!(text(&o).contains("1 ran, 1 skipped"), "{}", text(&o));
}

#[test]
fn a_suite_killed_halfway_resumes_and_redoes_only_missing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let suite = small_suite(dir.path(), "kill", 6, "");
    let out = dir.path().join("r");
    let mut child = hebbench(cache.path())
        .arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&out)
        .arg("--data-dir")
        .arg(data_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let suite_dir = out.join("kill");
    loop {
        let n = result_files(&suite_dir).map(|f| f.len()).unwrap_or(0);
        if n >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no results after 300 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the suite finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let before = result_files(&suite_dir).unwrap();
    assert!(before.len() < 6, "kill came too late to test resume");
    let mtimes: Vec<_> = before
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    for f in &before {
        read_parquet(f).expect("every visible result file is complete");
    }
    let o = run(&suite, &out, cache.path(), &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains(&format!(
            "{} ran, {} skipped",
            6 - before.len(),
            before.len()
        )),
        "{t}"
    );
    let after = result_files(&suite_dir).unwrap();
    assert_eq!(after.len(), 6);
    for (f, m) in before.iter().zip(mtimes) {
        assert_eq!(
            std::fs::metadata(f).unwrap().modified().unwrap(),
            m,
            "{} was redone",
            f.display()
        );
    }
}

#[test]
fn result_files_have_the_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let suite = small_suite(dir.path(), "cols", 1, "");
    let out = dir.path().join("r");
    assert!(run(&suite, &out, cache.path(), &[]).status.success());
    let f = &result_files(&out).unwrap()[0];
    // Read with the parquet crate's own Arrow reader, as any tool would.
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 2, "one row per classifier epoch");
    let schema = b.schema();
    let expect: &[(&str, DataType)] = &[
        ("suite", DataType::Utf8),
        ("config", DataType::Utf8),
        ("run_name", DataType::Utf8),
        ("run_hash", DataType::Utf8),
        ("config_hash", DataType::Utf8),
        ("experiment", DataType::Utf8),
        ("seed", DataType::UInt64),
        ("params_json", DataType::Utf8),
        ("reference_json", DataType::Utf8),
        ("dataset", DataType::Utf8),
        ("dataset_hash", DataType::Utf8),
        ("dataset_files_json", DataType::Utf8),
        ("git_commit", DataType::Utf8),
        ("git_dirty", DataType::Boolean),
        ("crate_version", DataType::Utf8),
        ("candle_version", DataType::Utf8),
        ("device", DataType::Utf8),
        ("host", DataType::Utf8),
        ("started_at", DataType::Utf8),
        ("finished_at", DataType::Utf8),
        ("total_wall_s", DataType::Float64),
        ("status", DataType::Utf8),
        ("reason", DataType::Utf8),
        ("unsupervised_wall_s", DataType::Float64),
        ("unsupervised_images_per_s", DataType::Float64),
        ("features_wall_s", DataType::Float64),
        ("features_images_per_s", DataType::Float64),
        ("classifier_wall_s", DataType::Float64),
        ("classifier_images_per_s", DataType::Float64),
        ("epoch", DataType::UInt32),
        ("train_loss", DataType::Float64),
        ("train_accuracy", DataType::Float64),
        ("test_accuracy", DataType::Float64),
        ("test_precision", DataType::Float64),
        ("test_recall", DataType::Float64),
        ("test_f1", DataType::Float64),
        ("val_accuracy", DataType::Float64),
        ("val_f1", DataType::Float64),
        ("val_loss", DataType::Float64),
        ("elapsed_s", DataType::Float64),
        ("s_norm_frac_within_10pct", DataType::Float64),
        ("s_frac_near_init", DataType::Float64),
        ("summary_json", DataType::Utf8),
        ("param_hidden", DataType::Float64),
        ("param_readout", DataType::Utf8),
    ];
    for (name, ty) in expect {
        let field = schema
            .field_with_name(name)
            .unwrap_or_else(|_| panic!("missing column {name}"));
        assert_eq!(field.data_type(), ty, "column {name}");
    }
    let epochs = b
        .column_by_name("epoch")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt32Array>()
        .unwrap();
    assert_eq!((epochs.value(0), epochs.value(1)), (1, 2));
    let s = |c: &str| {
        b.column_by_name(c)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_string()
    };
    assert_eq!(s("status"), "ok");
    assert_eq!(s("dataset"), "mnist");
    assert!(s("dataset_files_json")
        .contains("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"));
    assert_eq!(
        s("run_hash") + ".parquet",
        f.file_name().unwrap().to_string_lossy()
    );
    let acc = b
        .column_by_name("test_accuracy")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    // Far above chance (10%): a real readout learned something on real data.
    assert!(
        acc.value(1) > 0.3 && acc.value(1) <= 1.0,
        "a real readout on real data: {}",
        acc.value(1)
    );
    assert!(!acc.is_null(0));
}

#[test]
fn check_enforces_floors_and_names_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(small_suite(dir.path(), "floors", 1, "")).unwrap();
    let out = dir.path().join("r");
    let write = |floor: f64| {
        let text = format!("{base}    floor: {{test_accuracy: {floor}, s_norm_p50: 0.0}}\n");
        let path = dir.path().join("floors.yaml");
        std::fs::write(&path, text).unwrap();
        path
    };
    let suite = write(0.2);
    assert!(run(&suite, &out, cache.path(), &[]).status.success());
    let ok = hebbench(cache.path())
        .arg("check")
        .arg(&suite)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    // Floors do not change a run's identity, so the same result is checked.
    let suite = write(0.999);
    let bad = hebbench(cache.path())
        .arg("check")
        .arg(&suite)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let t = text(&bad);
    assert_eq!(bad.status.code(), Some(1), "{t}");
    assert!(
        t.contains("c0 seed 0: test_accuracy = ") && t.contains("is below the floor 0.999"),
        "{t}"
    );
    // A run with no result is a problem too.
    let missing = hebbench(cache.path())
        .arg("check")
        .arg(&suite)
        .arg("--out")
        .arg(dir.path().join("empty"))
        .output()
        .unwrap();
    assert!(
        text(&missing).contains("no result at"),
        "{}",
        text(&missing)
    );
}

#[test]
fn a_label_budget_trains_on_fewer_labels_and_scores_a_validation_hold_out() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let suite = dir.path().join("budget.yaml");
    std::fs::write(
        &suite,
        "name: budget\nexperiment: krotov\nseeds: [0]\nparams:\n  dataset: mnist\n  train_limit: 3000\n  test_limit: 1000\n  hidden: 40\n  p: 2.0\n  k: 2\n  delta: 0.4\n  eps0: 0.02\n  batch: 100\n  epochs: 2\n  readout: softmax\n  readout_epochs: 3\n  readout_lr: 0.01\n  val_fraction: 0.1\nmatrix:\n  label_fraction: [0.02, 1.0]\nconfigs:\n  - name: c\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(&suite, &out, cache.path(), &[]);
    assert!(o.status.success(), "{}", text(&o));
    let files = result_files(&out.join("budget")).unwrap();
    assert_eq!(files.len(), 2);
    let mut by_fraction = Vec::new();
    for f in &files {
        let frac = metric(f, "param_label_fraction")[0];
        let labelled = metric(f, "s_labelled_images")[0];
        let val = metric(f, "s_val_images")[0];
        // 10% of 3,000 held out per class (rounding per class: ±5).
        assert!((val - 300.0).abs() <= 5.0, "{val}");
        // The budget is a fraction of the other ~2,700 (±1 per class).
        assert!(
            (labelled - frac * (3000.0 - val)).abs() <= 10.0,
            "{frac}: {labelled}"
        );
        // Every epoch scores the hold-out, and the run's clock only grows,
        // starting after the unsupervised phase.
        let v = metric(f, "val_accuracy");
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|a| (0.0..=1.0).contains(a)));
        // And its loss, which training lowers on the full budget.
        let vl = metric(f, "val_loss");
        assert_eq!(vl.len(), 3);
        assert!(vl.iter().all(|l| l.is_finite() && *l > 0.0), "{vl:?}");
        if frac == 1.0 {
            assert!(vl[2] < vl[0], "{vl:?}");
        }
        let t = metric(f, "elapsed_s");
        assert!(t.windows(2).all(|w| w[1] >= w[0]), "{t:?}");
        assert!(t[0] >= metric(f, "unsupervised_wall_s")[0]);
        by_fraction.push((frac, *metric(f, "test_accuracy").last().unwrap()));
    }
    by_fraction.sort_by(|a, b| a.0.total_cmp(&b.0));
    // ~54 labels cannot match ~2,700 on the same features.
    assert!(
        by_fraction[0].1 + 0.05 < by_fraction[1].1,
        "{by_fraction:?}"
    );
}
