//! Outgrowing one machine: shards of a suite cover every run once, share a
//! cache without corrupting or recomputing it, and run as a job array on a
//! real single-node Slurm cluster (tests/slurm/cluster.sh) with the same
//! metrics as a plain run, surviving a cancelled task.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hebbench::run::results::{final_value, result_files, summarize};
use hebbench::run::shard::{assign, cost_estimate, select, Shard};
use hebbench::suite::Suite;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every run's final test accuracy and status, by run hash.
fn metrics(dir: &Path) -> BTreeMap<String, (String, Option<f64>)> {
    result_files(dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            let s = summarize(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let acc = final_value(&p, "test_accuracy").unwrap();
            (s.run_hash, (s.status, acc))
        })
        .collect()
}

#[test]
fn cost_estimates_exist_for_every_cnn_run_and_grow_with_the_work() {
    let load = |name: &str| Suite::load(&root().join("suites").join(name)).unwrap();
    let (full, quick) = (load("paper-table3.yaml"), load("paper-table3-quick.yaml"));
    let est = |s: &Suite, name: &str| {
        let r = s.runs.iter().find(|r| r.name == name).unwrap();
        cost_estimate(r).unwrap_or_else(|| panic!("{name}: no estimate"))
    };
    for r in &full.runs {
        assert!(cost_estimate(r).is_some(), "{}: no estimate", r.name);
    }
    for name in ["SoftHebb-Backpropagation", "SoftHebb-HardWTA/Cos-Instar"] {
        assert!(est(&full, name) > 20.0 * est(&quick, name), "{name}");
    }
    // Lagani's small network costs less than SoftHebb's, the residual one more.
    let softhebb = est(&full, "SoftHebb-Surround/HardWTA/Cos-Instar");
    assert!(est(&full, "Lagani-HardWTA/Cos-Instar") < softhebb);
    assert!(est(&full, "Residual_SoftHebb-Surround/HardWTA/Cos-Instar") > softhebb);
}

#[test]
fn shards_cover_every_run_of_every_suite_exactly_once() {
    let lock = hebbench::data::Lock::builtin().unwrap();
    for e in std::fs::read_dir(root().join("suites")).unwrap() {
        let p = e.unwrap().path();
        let s = Suite::load(&p).unwrap();
        let all: Vec<_> = s.runs.iter().collect();
        for n in 1..=7 {
            let owners = assign(&all, &lock, n);
            assert!(owners.iter().all(|&o| (1..=n).contains(&o)));
            let mut seen = BTreeSet::new();
            for i in 1..=n {
                for r in select(all.clone(), &lock, Shard { index: i, count: n }) {
                    assert!(seen.insert(r.run_hash(&lock)), "{} twice", r.name);
                }
            }
            assert_eq!(seen.len(), all.len(), "{} with {n} shards", s.name);
            // Balanced by count when the kind has no estimate: sizes differ
            // by at most one.
            if s.runs.iter().all(|r| r.experiment == "krotov") {
                let mut size = vec![0; n];
                owners.iter().for_each(|&o| size[o - 1] += 1);
                assert!(size.iter().max().unwrap() - size.iter().min().unwrap() <= 1);
            }
        }
    }
}

#[test]
fn concurrent_shards_share_a_cache_computed_once_with_the_plain_metrics() {
    let data = common::data_dir();
    let tmp = tempfile::tempdir().unwrap();
    let suite = root().join("suites/krotov-mnist-quick.yaml");
    let plain = tmp.path().join("plain");
    let o = common::hebbench(tmp.path())
        .args(["--data-dir".as_ref(), data.as_os_str()])
        .args(["run".as_ref(), suite.as_os_str(), "--no-fetch".as_ref()])
        .arg("--out")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    // Four shards at once into one directory: each owns one run, and the two
    // readouts of a configuration need the same Krotov weights at once.
    let shared = tmp.path().join("shared");
    let children: Vec<_> = (1..=4)
        .map(|i| {
            common::hebbench(tmp.path())
                .args(["--data-dir".as_ref(), data.as_os_str()])
                .args(["run".as_ref(), suite.as_os_str(), "--no-fetch".as_ref()])
                .arg("--out")
                .arg(&shared)
                .arg("--shard")
                .arg(format!("{i}/4"))
                .env("RAYON_NUM_THREADS", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", common::text(&o));
    }
    assert_eq!(metrics(&shared), metrics(&plain), "shards vs plain run");
    // Each configuration's weights were trained once: one of its two
    // readouts computed them, the other found them cached.
    let mut computed: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for p in result_files(&shared.join("krotov-mnist-quick")).unwrap() {
        let s = summarize(&p).unwrap();
        let config = s.run_name.split('/').next().unwrap().to_string();
        let cached = final_value(&p, "s_unsupervised_cached").unwrap().unwrap();
        computed.entry(config).or_default().push(cached);
    }
    for (config, mut flags) in computed {
        flags.sort_by(f64::total_cmp);
        assert_eq!(
            flags,
            vec![0.0, 1.0],
            "{config}: computed once, loaded once"
        );
    }
    // No lock or temporary is left behind.
    let leftovers: Vec<_> = walk(&shared)
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".lock") || n.ends_with(".tmp")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A running single-node cluster, stopped (daemons killed by pid, state
/// removed) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

impl Cluster {
    fn start(dir: PathBuf) -> Cluster {
        let o = Command::new("bash")
            .arg(root().join("tests/slurm/cluster.sh"))
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        let out = common::text(&o);
        assert!(o.status.success(), "cluster.sh start failed:\n{out}");
        let conf = out
            .lines()
            .find_map(|l| l.strip_prefix("SLURM_CONF="))
            .expect("cluster.sh prints SLURM_CONF")
            .to_string();
        Cluster { dir, conf }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// The array tasks of `job` still queued or running, with their states.
    fn tasks(&self, job: &str) -> Vec<(String, String)> {
        let o = self
            .cmd("squeue")
            .args(["-h", "-r", "-j", job, "-o", "%i %t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn wait(&self, job: &str, limit: Duration) {
        let start = Instant::now();
        while !self.tasks(job).is_empty() {
            assert!(
                start.elapsed() < limit,
                "job {job} still queued after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("tests/slurm/cluster.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// `hebbench slurm … --submit`; returns the job id.
fn submit(cluster: &Cluster, cache: &Path, data: &Path, suite: &Path, out: &Path) -> String {
    let o = common::hebbench(cache)
        .env("SLURM_CONF", &cluster.conf)
        .args(["--data-dir".as_ref(), data.as_os_str()])
        .arg("slurm")
        .arg(suite)
        .args(["--array", "3", "--cpus-per-task", "1", "--submit", "--out"])
        .arg(out)
        .output()
        .unwrap();
    let text = common::text(&o);
    assert!(o.status.success(), "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("submitted job "))
        .expect("a job id")
        .trim()
        .to_string()
}

/// `hebbench status SUITE --out OUT --shards 3`.
fn status3(cache: &Path, suite: &Path, out: &Path) -> std::process::Output {
    common::hebbench(cache)
        .arg("status")
        .arg(suite)
        .arg("--out")
        .arg(out)
        .args(["--shards", "3"])
        .output()
        .unwrap()
}

#[test]
fn a_suite_runs_as_a_slurm_job_array_and_a_cancelled_task_is_redone_alone() {
    if std::env::var_os("HEBBENCH_SKIP_SLURM").is_some() {
        eprintln!("HEBBENCH_SKIP_SLURM is set: the Slurm cluster test is skipped");
        return;
    }
    let start = Instant::now();
    let data = common::data_dir();
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(tmp.path().join("cluster"));

    // 1. A quick suite as a 3-task array: every result, the plain run's
    //    metrics, and a report that merges the shards.
    let suite = root().join("suites/krotov-mnist-quick.yaml");
    let out = tmp.path().join("array");
    let job = submit(&cluster, tmp.path(), &data, &suite, &out);
    cluster.wait(&job, Duration::from_secs(300));
    let status = status3(tmp.path(), &suite, &out);
    assert!(status.status.success(), "{}", common::text(&status));
    let plain = tmp.path().join("plain");
    let o = common::hebbench(tmp.path())
        .args(["--data-dir".as_ref(), data.as_os_str()])
        .arg("run")
        .arg(&suite)
        .args(["--no-fetch", "--out"])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(metrics(&out), metrics(&plain), "array vs plain run");
    let report = common::hebbench(tmp.path())
        .arg("report")
        .arg(&out)
        .args(["--suite", "krotov-mnist-quick", "--suite-file"])
        .arg(&suite)
        .arg("--out")
        .arg(tmp.path().join("report"))
        .output()
        .unwrap();
    let text = common::text(&report);
    assert!(
        report.status.success() && text.contains(": 4 runs"),
        "{text}"
    );

    // 2. Cancel one task while it runs, then resubmit: only its run is redone.
    let suite = root().join("tests/slurm/cancel.yaml");
    let out = tmp.path().join("cancel");
    let job = submit(&cluster, tmp.path(), &data, &suite, &out);
    let victim = format!("{job}_2");
    let t0 = Instant::now();
    while !cluster
        .tasks(&job)
        .iter()
        .any(|(id, st)| *id == victim && st == "R")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "task {victim} never ran"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let o = cluster.cmd("scancel").arg(&victim).output().unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    cluster.wait(&job, Duration::from_secs(300));
    let dir = out.join("slurm-cancel");
    let before: BTreeMap<PathBuf, std::time::SystemTime> = result_files(&dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            let t = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, t)
        })
        .collect();
    assert_eq!(
        before.len(),
        2,
        "the cancelled task's run is missing: {before:?}"
    );
    // Every file there is readable: the kill left no half-written result.
    for p in before.keys() {
        summarize(p).unwrap_or_else(|e| panic!("{e}"));
    }
    let status = status3(tmp.path(), &suite, &out);
    let text = common::text(&status);
    assert!(
        !status.status.success() && text.contains("1 missing (shard 2: 1)"),
        "{text}"
    );
    let job = submit(&cluster, tmp.path(), &data, &suite, &out);
    cluster.wait(&job, Duration::from_secs(300));
    let after = result_files(&dir).unwrap();
    assert_eq!(after.len(), 3);
    for (p, t) in &before {
        assert_eq!(
            std::fs::metadata(p).unwrap().modified().unwrap(),
            *t,
            "{} was redone",
            p.display()
        );
    }
    for (hash, (status, _)) in metrics(&out) {
        assert_eq!(status, "ok", "{hash}");
    }
    drop(cluster);
    eprintln!("Slurm cluster test: {:.0} s", start.elapsed().as_secs_f64());
}
