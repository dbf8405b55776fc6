//! The `hebbench` command line.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use hebbench::data::{self, DataStore, Dataset, Lock};
use hebbench::experiments::REGISTRY;
use hebbench::run::results::{result_files, summarize};
use hebbench::run::shard::Shard;
use hebbench::run::{run_suite, DeviceChoice, Outcome, RunOptions};
use hebbench::suite::Suite;

#[derive(Parser)]
#[command(
    name = "hebbench",
    version,
    about = "Reproducible benchmarks for Hebbian learning in image recognition"
)]
struct Cli {
    /// Look for dataset files here first (then $HEBBENCH_DATA, then the cache).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Fetch from this URL prefix instead of the official sources
    /// (also `$HEBBENCH_MIRROR`).
    #[arg(long, global = true)]
    mirror: Option<String>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Inspect, verify, download or import the pinned datasets.
    Datasets {
        #[command(subcommand)]
        cmd: DatasetsCmd,
    },
    /// List the experiment kinds a suite can name.
    Experiments,
    /// Print every parameter of an experiment kind (and of its rules and
    /// competitions): type, default and what it does.
    Params {
        /// The kind, as `hebbench experiments` lists it.
        kind: String,
    },
    /// Print the runs a suite expands to, without running them.
    List(ListArgs),
    /// Run a suite; runs whose results exist are skipped.
    Run(RunArgs),
    /// Which runs of a suite are done, failed or missing, and with
    /// `--shards N` which shard of an N-task array owns each.
    Status {
        suite: PathBuf,
        #[arg(long)]
        filter: Option<String>,
        /// Result directories (repeatable: one shared, or one per shard).
        #[arg(long, default_value = "results")]
        out: Vec<PathBuf>,
        #[arg(long)]
        shards: Option<usize>,
    },
    /// Write (and with --submit, sbatch) a Slurm job array that runs the
    /// suite, one shard per array task.
    Slurm(SlurmArgs),
    /// Check that a suite's results exist, succeeded and meet its floors.
    Check(CheckArgs),
    /// Render a suite's results as Markdown tables and PNG/SVG plots.
    Report(ReportArgs),
    /// Time the hot kernels against this machine's GEMM rate.
    Bench(BenchArgs),
    /// Compare accuracy and throughput with a committed baseline (CI).
    Gate(GateArgs),
    /// Summarise the result files under a directory.
    Results {
        #[arg(default_value = "results")]
        dir: PathBuf,
        /// Only this suite's results.
        #[arg(long)]
        suite: Option<String>,
    },
}

#[derive(clap::Args)]
struct ListArgs {
    suite: PathBuf,
    #[arg(long)]
    filter: Option<String>,
    /// Only the runs shard I of N owns, e.g. `--shard 2/5`.
    #[arg(long)]
    shard: Option<Shard>,
}

#[derive(clap::Args)]
struct RunArgs {
    suite: PathBuf,
    /// Only runs whose name contains this (or matches it, with `*`; or is
    /// it, with a leading `=`); append `@SEED` to pick one seed, e.g.
    /// `SoftHebb-SoftWTA-Instar@0` or `=SoftHebb-SoftWTA-Instar@0`.
    #[arg(long)]
    filter: Option<String>,
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceChoice,
    /// Runs to execute at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Run again the runs recorded as failed.
    #[arg(long)]
    retry_failed: bool,
    /// Never download missing datasets; fail instead.
    #[arg(long)]
    no_fetch: bool,
    /// Keep the Hebbian CNNs' frozen features under <out>/cache (about
    /// 5 GB per full-data SoftHebb configuration), so that classifier
    /// variants of a configuration skip learning and extraction.
    #[arg(long)]
    keep_features: bool,
    /// Only the runs shard I of N owns (`--shard 2/5`); every shard
    /// computes the same split from the suite, by run hash and cost.
    #[arg(long)]
    shard: Option<Shard>,
}

#[derive(clap::Args)]
struct SlurmArgs {
    suite: PathBuf,
    /// Array tasks (shards).
    #[arg(long)]
    array: usize,
    /// Shared result directory every task writes to.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    #[arg(long)]
    partition: Option<String>,
    /// Wall-time limit per task (Slurm syntax, e.g. 02:00:00).
    #[arg(long)]
    time: Option<String>,
    #[arg(long, default_value_t = 2)]
    cpus_per_task: usize,
    /// GPUs per task; more than 0 also runs with `--device cuda`.
    #[arg(long, default_value_t = 0)]
    gpus_per_task: usize,
    /// At most this many tasks at once.
    #[arg(long)]
    max_running: Option<usize>,
    #[arg(long)]
    filter: Option<String>,
    #[arg(long)]
    keep_features: bool,
    /// Where to write the script (default <out>/slurm/<suite>.sbatch).
    #[arg(long)]
    script: Option<PathBuf>,
    /// Hand the script to sbatch.
    #[arg(long)]
    submit: bool,
}

#[derive(clap::Args)]
struct CheckArgs {
    suite: PathBuf,
    #[arg(long)]
    filter: Option<String>,
    /// Result directories (repeatable: one shared, or one per shard).
    #[arg(long, default_value = "results")]
    out: Vec<PathBuf>,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// Result directories to merge (several machines or shards).
    #[arg(default_value = "results")]
    dirs: Vec<PathBuf>,
    #[arg(long)]
    suite: String,
    /// The suite's definition (default: suites/<suite>.yaml when it
    /// exists); result files of runs it no longer contains are left out.
    #[arg(long)]
    suite_file: Option<PathBuf>,
    /// Where to write index.md, plots and CSV tables.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// The short set CI runs.
    #[arg(long)]
    quick: bool,
    /// Only kernels whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Also write the measurements as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct GateArgs {
    #[arg(long, default_value = "bench/baseline.yaml")]
    baseline: PathBuf,
    /// JSON written by `hebbench bench --json`.
    #[arg(long)]
    bench: PathBuf,
    /// Result directory of the CI suites.
    #[arg(long)]
    results: PathBuf,
    /// Accept this run's figures as the new baseline.
    #[arg(long)]
    update_baseline: bool,
    /// With --update-baseline: change only the figures whose names
    /// contain one of these fragments (repeatable), keep the rest.
    #[arg(long, requires = "update_baseline")]
    only: Vec<String>,
}

#[derive(Subcommand)]
enum DatasetsCmd {
    /// The pinned datasets and where each file was found.
    List,
    /// Check every file (or the named datasets) against datasets.lock.
    Verify { names: Vec<String> },
    /// Download missing files from the official sources into the cache.
    Fetch { names: Vec<String> },
    /// Copy verified files from a directory into the cache.
    Import { dir: PathBuf },
}

fn main() -> ExitCode {
    // Behave like other Unix tools when piped into `head`: exit quietly.
    #[cfg(unix)]
    // SAFETY: restoring the default SIGPIPE action before any I/O or threads.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    hebbench::hebb::keep_large_buffers();
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// What every command may need besides its own arguments.
struct Env {
    lock: Lock,
    store: DataStore,
    quiet: bool,
    data_dir: Option<PathBuf>,
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    let env = Env {
        lock: Lock::builtin()?,
        store: DataStore::new(cli.data_dir.clone()).with_mirror(cli.mirror.clone()),
        quiet: cli.quiet,
        data_dir: cli.data_dir.clone(),
    };
    let (lock, store) = (&env.lock, &env.store);
    match cli.cmd {
        Cmd::Datasets { cmd } => datasets(cmd, store, lock, cli.quiet),
        Cmd::Experiments => {
            for e in REGISTRY {
                println!("{:<14} {}", e.name(), e.about());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Params { kind } => {
            for group in hebbench::experiments::lookup(&kind)?.params() {
                println!("{}", group.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::List(a) => list_cmd(a, &env),
        Cmd::Check(a) => check_cmd(a, &env),
        Cmd::Run(a) => run_cmd(a, &env),
        Cmd::Report(a) => report_cmd(a, &env),
        Cmd::Bench(a) => bench_cmd(a),
        Cmd::Gate(a) => gate_cmd(a),
        Cmd::Status {
            suite,
            filter,
            out,
            shards,
        } => status(&Suite::load(&suite)?, lock, &out, filter.as_deref(), shards),
        Cmd::Slurm(a) => slurm_cmd(a, &env),
        Cmd::Results { dir, suite } => {
            let dir = match suite {
                Some(s) => dir.join(s),
                None => dir,
            };
            print_results(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list_cmd(a: ListArgs, env: &Env) -> Result<ExitCode> {
    let ListArgs {
        suite,
        filter,
        shard,
    } = a;
    let lock = &env.lock;
    let s = Suite::load(&suite)?;
    println!(
        "suite {} ({} runs){}",
        s.name,
        s.runs.len(),
        if s.description.is_empty() {
            String::new()
        } else {
            format!(": {}", s.description)
        }
    );
    let mut runs = s.filtered(filter.as_deref());
    if let Some(sh) = shard {
        runs = hebbench::run::shard::select(runs, lock, sh);
        println!("shard {sh}: {} runs", runs.len());
    }
    for r in runs {
        println!(
            "{}  seed={}  {}  {}  {}",
            r.run_hash(lock),
            r.seed,
            r.experiment,
            r.name,
            serde_json::Value::Object(r.params.clone())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_cmd(a: RunArgs, env: &Env) -> Result<ExitCode> {
    let RunArgs {
        suite,
        filter,
        device,
        jobs,
        out,
        retry_failed,
        no_fetch,
        keep_features,
        shard,
    } = a;
    let (lock, store) = (&env.lock, &env.store);
    let s = Suite::load(&suite)?;
    let opts = RunOptions {
        out: out.clone(),
        filter,
        jobs,
        device,
        quiet: env.quiet,
        retry_failed,
        fetch_missing: !no_fetch,
        keep_features,
        shard,
    };
    let outcomes = run_suite(&s, store, lock, &opts)?;
    if outcomes.is_empty() {
        bail!("no run of suite {} matches the filter", s.name);
    }
    let skipped = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Skipped)
        .count();
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|(r, o)| match o {
            Outcome::Ran(hebbench::run::results::Status::Failed(why)) => {
                Some(format!("{} seed {}: {why}", r.name, r.seed))
            }
            _ => None,
        })
        .collect();
    println!(
        "suite {}: {} runs, {} ran, {} skipped (results existed), {} failed; results in {}",
        s.name,
        outcomes.len(),
        outcomes.len() - skipped,
        skipped,
        failed.len(),
        out.join(&s.name).display()
    );
    for f in &failed {
        println!("  failed: {f}");
    }
    print_results(&out.join(&s.name))?;
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn slurm_cmd(a: SlurmArgs, env: &Env) -> Result<ExitCode> {
    let SlurmArgs {
        suite,
        array,
        out,
        partition,
        time,
        cpus_per_task,
        gpus_per_task,
        max_running,
        filter,
        keep_features,
        script,
        submit,
    } = a;
    let s = Suite::load(&suite)?;
    if array == 0 {
        bail!("--array needs at least one task");
    }
    let abs = |p: &std::path::Path| -> Result<PathBuf> {
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()?.join(p)
        })
    };
    let job = hebbench::run::slurm::ArrayJob {
        suite: abs(&suite)?,
        suite_name: s.name.clone(),
        tasks: array,
        binary: std::env::current_exe().context("locating the hebbench binary")?,
        out: abs(&out)?,
        workdir: std::env::current_dir()?,
        partition,
        time,
        cpus_per_task,
        gpus_per_task,
        data_dir: env.data_dir.as_deref().map(abs).transpose()?,
        keep_features,
        filter,
        max_running,
    };
    let path = script.unwrap_or_else(|| job.out.join("slurm").join(format!("{}.sbatch", s.name)));
    hebbench::atomic::write_bytes(&path, job.script().as_bytes())?;
    std::fs::create_dir_all(job.out.join("slurm"))?;
    println!("wrote {} ({} tasks)", path.display(), array);
    if submit {
        let o = std::process::Command::new("sbatch")
            .arg("--parsable")
            .arg(&path)
            .output()
            .context("running sbatch (is Slurm installed here?)")?;
        if !o.status.success() {
            bail!(
                "sbatch failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        println!(
            "submitted job {}",
            String::from_utf8_lossy(&o.stdout).trim()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check_cmd(a: CheckArgs, env: &Env) -> Result<ExitCode> {
    let CheckArgs { suite, filter, out } = a;
    let lock = &env.lock;
    let s = Suite::load(&suite)?;
    let misses = hebbench::run::check_floors(&s, lock, &out, filter.as_deref())?;
    let n = s.filtered(filter.as_deref()).len();
    for m in &misses {
        println!("FAILED  {} seed {}: {}", m.run, m.seed, m.what);
    }
    println!("check {}: {} runs, {} problems", s.name, n, misses.len());
    Ok(if misses.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_cmd(a: ReportArgs, env: &Env) -> Result<ExitCode> {
    let ReportArgs {
        dirs,
        suite,
        suite_file,
        out,
    } = a;
    let lock = &env.lock;
    let file = suite_file.or_else(|| {
        let p = PathBuf::from(format!("suites/{suite}.yaml"));
        p.exists().then_some(p)
    });
    let current = match &file {
        Some(f) => Some(
            Suite::load(f)?
                .runs
                .iter()
                .map(|r| {
                    (
                        r.run_hash(lock),
                        (r.name.clone(), r.seed, r.reference.clone()),
                    )
                })
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
        None => None,
    };
    let command = format!(
        "hebbench report {} --suite {suite} --out {}",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        out.display()
    );
    let s = hebbench::report::render(&dirs, &suite, current.as_ref(), &out, &command)?;
    println!(
        "report {}: {} runs, {} tables, {} figures",
        s.index.display(),
        s.runs,
        s.tables,
        s.figures
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_cmd(a: BenchArgs) -> Result<ExitCode> {
    let BenchArgs {
        quick,
        filter,
        json,
    } = a;
    println!(
        "{:<44} {:>12} {:>11} {:>9} {:>7} {:>12}",
        "kernel", "MFLOP/call", "median", "GFLOP/s", "÷GEMM", "items/s"
    );
    let report = hebbench::bench::run(quick, filter.as_deref(), |m| {
        println!(
            "{:<44} {:>12.2} {:>9.3}ms {:>9.1} {:>7.3} {:>12.0}",
            m.name,
            m.flops / 1e6,
            m.median_s * 1e3,
            m.gflops,
            m.gemm_ratio,
            m.items_per_s
        );
    })?;
    println!(
        "float32 GEMM (1024³, candle CPU, same process): {:.1} GFLOP/s",
        report.gemm_gflops
    );
    println!("FLOP counts:");
    let mut seen = std::collections::BTreeSet::new();
    for k in &report.kernels {
        let family = k.name.split('/').next().unwrap_or("");
        if seen.insert(family.to_string()) {
            println!("  {family}: {}", k.counted);
        }
    }
    if let Some(path) = json {
        hebbench::atomic::write_bytes(&path, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn gate_cmd(a: GateArgs) -> Result<ExitCode> {
    let GateArgs {
        baseline,
        bench,
        results,
        update_baseline,
        only,
    } = a;
    let text =
        std::fs::read_to_string(&bench).with_context(|| format!("reading {}", bench.display()))?;
    let report: hebbench::bench::Report =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", bench.display()))?;
    let acc = hebbench::gate::accuracies(&results)?;
    let old = if baseline.exists() {
        hebbench::gate::Baseline::load(&baseline)?
    } else {
        Default::default()
    };
    if update_baseline {
        let new = hebbench::gate::updated(&old, &report, &acc, &only);
        new.save(&baseline)?;
        println!(
            "baseline {} updated: {} throughput and {} accuracy figures",
            baseline.display(),
            new.throughput.len(),
            new.accuracy.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let fails = hebbench::gate::compare(&old, &report, &acc);
    for f in &fails {
        println!("REGRESSION  {f}");
    }
    println!(
        "gate: {} throughput and {} accuracy figures checked against {}, {} regressions",
        old.throughput.len(),
        old.accuracy.len(),
        baseline.display(),
        fails.len()
    );
    Ok(if fails.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Seconds as `45 s`, `12 min` or `3.4 h`.
fn duration(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// `hebbench status`: one line a run (a missing one with its kind's cost
/// estimate), then the counts; exit 1 while any run is not done.
fn status(
    s: &Suite,
    lock: &Lock,
    dirs: &[PathBuf],
    filter: Option<&str>,
    shards: Option<usize>,
) -> Result<ExitCode> {
    use hebbench::run::RunState;
    let rows = hebbench::run::suite_status(s, lock, dirs, filter, shards);
    let (mut done, mut failed, mut missing) = (0, 0, 0);
    let (mut todo_s, mut unestimated) = (0f64, 0usize);
    let mut by_shard = std::collections::BTreeMap::<usize, usize>::new();
    for (spec, state, owner) in &rows {
        let (word, detail) = match state {
            RunState::Done(_) => {
                done += 1;
                ("done", String::new())
            }
            RunState::Failed(p, why) => {
                failed += 1;
                ("failed", format!("{why} ({})", p.display()))
            }
            RunState::Damaged(p, why) => {
                failed += 1;
                ("damaged", format!("{}: {why}", p.display()))
            }
            RunState::Missing => {
                missing += 1;
                if let Some(o) = owner {
                    *by_shard.entry(*o).or_default() += 1;
                }
                let est = hebbench::run::shard::cost_estimate(spec);
                match est {
                    Some(c) => todo_s += c,
                    None => unestimated += 1,
                }
                (
                    "missing",
                    est.map(|c| format!("(est. {})", duration(c)))
                        .unwrap_or_default(),
                )
            }
        };
        let shard = owner.map(|o| format!("shard {o}")).unwrap_or_default();
        println!(
            "{word:<8} {:<9} {} seed {} {detail}",
            shard, spec.name, spec.seed
        );
    }
    let owners = by_shard
        .iter()
        .map(|(s, n)| format!("shard {s}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "status {}: {} runs, {done} done, {failed} failed, {missing} missing{}",
        s.name,
        rows.len(),
        if owners.is_empty() {
            String::new()
        } else {
            format!(" ({owners})")
        }
    );
    if missing > unestimated {
        println!(
            "the missing runs' estimate: {} on a 2-core x86 VM{}",
            duration(todo_s),
            if unestimated > 0 {
                format!(" (and {unestimated} runs whose kind gives no estimate)")
            } else {
                String::new()
            }
        );
    }
    Ok(if done == rows.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_results(dir: &std::path::Path) -> Result<()> {
    let files =
        result_files(dir).with_context(|| format!("reading results in {}", dir.display()))?;
    let mut rows = Vec::new();
    for f in files {
        rows.push(summarize(&f)?);
    }
    rows.sort_by(|a, b| (&a.run_name, a.seed).cmp(&(&b.run_name, b.seed)));
    println!(
        "{:<16} {:<48} {:>4} {:>7} {:>6} {:>9} {:>8} {:>9}",
        "run_hash", "run", "seed", "status", "epochs", "test_acc", "test_f1", "wall_s"
    );
    for r in rows {
        let pct = |v: Option<f64>| {
            v.map(|v| format!("{:.2}%", 100.0 * v))
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "{:<16} {:<48} {:>4} {:>7} {:>6} {:>9} {:>8} {:>9.1}",
            r.run_hash,
            r.run_name,
            r.seed,
            r.status,
            r.epochs,
            pct(r.test_accuracy),
            pct(r.test_f1),
            r.total_wall_s
        );
        if let Some(why) = r.reason {
            println!("{:<16} reason: {why}", "");
        }
    }
    Ok(())
}

fn datasets(cmd: DatasetsCmd, store: &DataStore, lock: &Lock, quiet: bool) -> Result<ExitCode> {
    let pick = |names: Vec<String>| -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(data::dataset_names(lock));
        }
        for n in &names {
            lock.get(n)?;
        }
        Ok(names)
    };
    match cmd {
        DatasetsCmd::List => {
            println!(
                "search order: {}",
                store
                    .roots()
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for (name, d) in &lock.datasets {
                println!("{name}: {}", d.description);
                for f in &d.files {
                    let at = store
                        .locate(name, &f.name)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "not found".into());
                    println!(
                        "  {:<26} {:>10} bytes  sha256 {}  {}",
                        f.name,
                        f.bytes,
                        &f.sha256[..16],
                        at
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCmd::Verify { names } => {
            let mut bad = 0;
            for name in pick(names)? {
                for f in &lock.get(&name)?.files {
                    match store.read_verified(&name, f) {
                        Ok(v) => println!("ok      {name}/{}  {}", f.name, v.path.display()),
                        Err(e) => {
                            bad += 1;
                            println!("FAILED  {name}/{}: {e}", f.name);
                        }
                    }
                }
            }
            if bad > 0 {
                eprintln!("error: {bad} dataset file(s) failed verification");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCmd::Fetch { names } => {
            for name in pick(names)? {
                let got = store
                    .fetch(&name, lock, quiet)
                    .with_context(|| format!("fetching {name}"))?;
                if got.is_empty() {
                    println!("{name}: already present and verified");
                } else {
                    println!(
                        "{name}: fetched {} into {}",
                        got.join(", "),
                        store.cache_dir().display()
                    );
                }
                // A final load proves the cached copy parses, not just hashes.
                Dataset::load(&name, store, lock)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCmd::Import { dir } => {
            if !dir.is_dir() {
                bail!("{} is not a directory", dir.display());
            }
            let got = store.import(lock, &dir)?;
            if got.is_empty() {
                bail!("no file in {} matches datasets.lock", dir.display());
            }
            println!(
                "imported {} into {}",
                got.join(", "),
                store.cache_dir().display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
