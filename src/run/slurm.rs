//! `hebbench slurm`: a suite as a Slurm job array. hebbench schedules
//! nothing itself: each array task runs `hebbench run --shard I/N` (its task
//! id is `I`), writes its results like any run, and skips what exists, so
//! resubmitting the same script redoes only what is missing.

use std::path::{Path, PathBuf};

use super::shard::Shard;

/// What the sbatch script asks of Slurm and of hebbench.
#[derive(Debug, Clone)]
pub struct ArrayJob {
    /// The suite file, as the tasks will open it.
    pub suite: PathBuf,
    /// The suite's name (the job name is `hebbench-<suite>`).
    pub suite_name: String,
    /// Array tasks, one shard each.
    pub tasks: usize,
    /// The hebbench binary the tasks run.
    pub binary: PathBuf,
    /// The result directory every task writes to (shared storage).
    pub out: PathBuf,
    /// Where the tasks run (`--chdir`).
    pub workdir: PathBuf,
    /// `--partition`, if any.
    pub partition: Option<String>,
    /// Wall-time limit per task, in Slurm's syntax (`HH:MM:SS`, `D-HH`, …).
    pub time: Option<String>,
    /// CPUs per task (also the run's thread count).
    pub cpus_per_task: usize,
    /// GPUs per task (0: none).
    pub gpus_per_task: usize,
    /// Passed on to every task.
    pub data_dir: Option<PathBuf>,
    /// Passed on to every task.
    pub keep_features: bool,
    /// Passed on to every task.
    pub filter: Option<String>,
    /// The same limit on concurrently running tasks (`%K`).
    pub max_running: Option<usize>,
}

impl ArrayJob {
    /// The sbatch script: `#SBATCH` lines, then one `hebbench run` of the
    /// task's shard. Everything a user adapts to a cluster is in this text.
    pub fn script(&self) -> String {
        let q = |p: &Path| shell_quote(&p.display().to_string());
        let mut s = String::from("#!/bin/bash\n");
        s += &format!(
            "# Written by `hebbench slurm`: suite {} as {} array tasks, one shard each.\n\
             # Edit the #SBATCH lines for your cluster; resubmit (sbatch this file) to\n\
             # redo only runs whose results are missing.\n",
            self.suite_name, self.tasks
        );
        s += &format!("#SBATCH --job-name=hebbench-{}\n", self.suite_name);
        s += &format!(
            "#SBATCH --array=1-{}{}\n",
            self.tasks,
            self.max_running
                .map(|k| format!("%{k}"))
                .unwrap_or_default()
        );
        s += &format!("#SBATCH --cpus-per-task={}\n", self.cpus_per_task);
        s += "#SBATCH --ntasks=1\n";
        if self.gpus_per_task > 0 {
            s += &format!("#SBATCH --gpus-per-task={}\n", self.gpus_per_task);
        }
        if let Some(p) = &self.partition {
            s += &format!("#SBATCH --partition={p}\n");
        }
        if let Some(t) = &self.time {
            s += &format!("#SBATCH --time={t}\n");
        }
        s += &format!("#SBATCH --chdir={}\n", self.workdir.display());
        s += &format!(
            "#SBATCH --output={}/slurm/%x-%A_%a.out\n",
            self.out.display()
        );
        s += "\nset -euo pipefail\n";
        s += "# One thread per CPU Slurm gave the task.\n";
        s += "export RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n";
        let mut cmd = format!("exec {}", q(&self.binary));
        if let Some(d) = &self.data_dir {
            cmd += &format!(" --data-dir {}", q(d));
        }
        cmd += &format!(
            " --quiet run {} --out {} --no-fetch",
            q(&self.suite),
            q(&self.out)
        );
        cmd += &format!(" --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\"", self.tasks);
        if let Some(f) = &self.filter {
            cmd += &format!(" --filter {}", shell_quote(f));
        }
        if self.gpus_per_task > 0 {
            cmd += " --device cuda";
        }
        if self.keep_features {
            cmd += " --keep-features";
        }
        s += &cmd;
        s.push('\n');
        s
    }

    /// The shard of array task `id`.
    pub fn shard(&self, id: usize) -> Shard {
        Shard {
            index: id,
            count: self.tasks,
        }
    }
}

/// Single-quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_maps_the_task_id_to_a_shard_and_quotes_paths() {
        let job = ArrayJob {
            suite: "suites/x.yaml".into(),
            suite_name: "x".into(),
            tasks: 3,
            binary: "/opt/heb bench/hebbench".into(),
            out: "/shared/results".into(),
            workdir: "/home/me/hebbench".into(),
            partition: Some("cpu".into()),
            time: Some("02:00:00".into()),
            cpus_per_task: 4,
            gpus_per_task: 0,
            data_dir: None,
            keep_features: true,
            filter: Some("Soft*".into()),
            max_running: Some(2),
        };
        let s = job.script();
        assert!(s.starts_with("#!/bin/bash\n"));
        for line in [
            "#SBATCH --array=1-3%2",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --partition=cpu",
            "#SBATCH --time=02:00:00",
            "#SBATCH --output=/shared/results/slurm/%x-%A_%a.out",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} in\n{s}");
        }
        assert!(s.contains("exec '/opt/heb bench/hebbench' --quiet run suites/x.yaml"));
        assert!(s.contains("--shard \"${SLURM_ARRAY_TASK_ID}/3\""));
        assert!(s.contains("--filter 'Soft*' --keep-features"));
        assert!(!s.contains("--gpus"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
