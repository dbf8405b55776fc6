//! Where a result came from: code version, machine and time. Recorded in
//! every row so that a number can always be traced and compared fairly.

use std::process::Command;

/// Facts about the code and machine that produced a run.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The commit the binary was built at.
    pub git_commit: String,
    /// Whether the work tree had uncommitted changes.
    pub git_dirty: bool,
    /// hebbench's version.
    pub crate_version: String,
    /// candle's version.
    pub candle_version: String,
    /// The Parquet crate's version.
    pub parquet_version: String,
    /// The device the arithmetic ran on.
    pub device: String,
    /// The host's name.
    pub host: String,
}

impl Provenance {
    /// Collects provenance for runs on `device_label`.
    pub fn collect(device_label: &str) -> Self {
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git").args(args).output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
        let dirty =
            git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        Self {
            git_commit: commit,
            git_dirty: dirty,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            candle_version: env!("HEBBENCH_CANDLE_VERSION").to_string(),
            parquet_version: env!("HEBBENCH_PARQUET_VERSION").to_string(),
            device: device_label.to_string(),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_string())
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_else(|_| "unknown".into()),
        }
    }
}

/// A description of the CPU: model name and thread count.
pub fn cpu_label() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("cpu ({model}, {} threads)", rayon::current_num_threads())
}

/// Seconds since the Unix epoch as RFC 3339 UTC text.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_known_instants() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(super::rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            super::rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_000_000)),
            "2026-11-18T11:06:40Z"
        );
    }
}
