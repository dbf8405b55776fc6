//! Splitting a suite's runs into `N` shards for a cluster's job array.
//! Every shard computes the same partition from the suite alone (its run
//! hashes and cost estimates), so array tasks need no coordination, and a
//! resubmitted array gives every run to the same shard again.

use std::str::FromStr;

use crate::data::Lock;
use crate::error::{Error, Result};
use crate::experiments;
use crate::suite::RunSpec;

/// Shard `index` of `count` (1-based, as `--shard 2/5` writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 1-based.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::Params(format!(
                "`{s}` is not a shard: write I/N with 1 ≤ I ≤ N, e.g. 2/5"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The run's kind's estimate of its seconds on a 2-core x86 VM, if the
/// kind gives one (`Experiment::cost_estimate`).
pub fn cost_estimate(run: &RunSpec) -> Option<f64> {
    experiments::lookup(&run.experiment)
        .ok()
        .and_then(|e| e.cost_estimate(&run.params))
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// The shard (1-based) that owns each of `runs`, in their order, for
/// `count` shards. Runs are balanced by the experiment kinds' cost
/// estimates when every run has one, by count otherwise: largest first,
/// each to the least-loaded shard, ties broken by run hash and shard index,
/// so the partition depends only on the set of runs.
pub fn assign(runs: &[&RunSpec], lock: &Lock, count: usize) -> Vec<usize> {
    let costs: Vec<Option<f64>> = runs.iter().map(|r| cost_estimate(r)).collect();
    // `cost_estimate` gives only finite, positive figures.
    let by_cost = costs.iter().all(Option::is_some);
    let mut order: Vec<(f64, String, usize)> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let cost = if by_cost {
                costs[i].unwrap_or(1.0)
            } else {
                1.0
            };
            (cost, r.run_hash(lock), i)
        })
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let count = count.max(1);
    let mut load = vec![0f64; count];
    let mut owner = vec![0usize; runs.len()];
    for (cost, _, i) in order {
        let s = (0..count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[s] += cost;
        owner[i] = s + 1;
    }
    owner
}

/// The runs of `runs` that `shard` owns, in their order.
pub fn select<'a>(runs: Vec<&'a RunSpec>, lock: &Lock, shard: Shard) -> Vec<&'a RunSpec> {
    let owner = assign(&runs, lock, shard.count);
    runs.into_iter()
        .zip(owner)
        .filter(|(_, o)| *o == shard.index)
        .map(|(r, _)| r)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax_is_checked() {
        assert_eq!(
            "2/5".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 5 }
        );
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
