//! The report's tables: a results table with the papers' figures beside
//! ours, Table 4's per-seed layout, Hebbian vs backprop, run-level scalars
//! and throughput. Reference figures come from the suite files (carried in
//! each result row's `reference_json`), never from code.

use std::collections::BTreeSet;

use super::data::{aggregate, cell, text_cell, Runs};
use crate::error::Result;

/// A rectangular table of formatted cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Cells, row after row.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as GitHub Markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!("| {} |\n", self.header.join(" | "));
        s += &format!("|{}\n", "---|".repeat(self.header.len()));
        for r in &self.rows {
            s += &format!("| {} |\n", r.join(" | "));
        }
        s
    }

    /// The table as CSV.
    pub fn csv(&self) -> String {
        let q = |v: &String| {
            if v.contains([',', '"', '\n']) {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.clone()
            }
        };
        let mut s = self.header.iter().map(q).collect::<Vec<_>>().join(",") + "\n";
        for r in &self.rows {
            s += &(r.iter().map(q).collect::<Vec<_>>().join(",") + "\n");
        }
        s
    }
}

/// One titled table with an explanation.
pub struct Section {
    /// Heading in the report.
    pub title: String,
    /// File stem of its CSV.
    pub slug: String,
    /// What the table shows.
    pub note: String,
    /// The table.
    pub table: Table,
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.2}", 100.0 * v))
        .unwrap_or_else(|| "–".into())
}

fn pm(mean: Option<f64>, std: Option<f64>, n: Option<f64>) -> String {
    match (mean, std, n) {
        (Some(m), Some(s), Some(n)) if n > 1.0 => format!("{:.2} ± {:.2}", 100.0 * m, 100.0 * s),
        (Some(m), _, _) => format!("{:.2}", 100.0 * m),
        _ => "–".into(),
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.4}"),
        None => "–".into(),
    }
}

fn ref_f64(r: &serde_json::Map<String, serde_json::Value>, k: &str) -> Option<f64> {
    r.get(k).and_then(|v| v.as_f64())
}

/// Which variant a run is (see [`crate::experiments::variant_label`]).
fn variant_of(r: &super::data::Run) -> String {
    let params: crate::experiments::Params =
        serde_json::from_str(&r.text("params_json")).unwrap_or_default();
    crate::experiments::variant_label(&r.text("experiment"), &params)
}

/// Every table the results support.
pub fn sections(runs: &Runs) -> Result<Vec<Section>> {
    let mut out = vec![results(runs)?];
    if let Some(t) = seeds_table(runs)? {
        out.push(t);
    }
    if let Some(t) = ablations(runs)? {
        out.push(t);
    }
    if let Some(t) = by_kind(runs)? {
        out.push(t);
    }
    if let Some(t) = validation(runs) {
        out.push(t);
    }
    if let Some(t) = scalars(runs)? {
        out.push(t);
    }
    out.extend(super::budgets::sections(runs));
    out.push(throughput(runs)?);
    Ok(out)
}

fn results(runs: &Runs) -> Result<Section> {
    let df = runs.frame(&["test_accuracy", "test_f1", "total_wall_s"], None)?;
    let agg = aggregate(&df, &["test_accuracy", "test_f1", "total_wall_s"])?;
    let mut t = Table {
        header: [
            "configuration",
            "variant",
            "runs ok/total",
            "final epoch",
            "test accuracy % (mean ± std)",
            "macro-F1 % (mean)",
            "reference accuracy %",
            "Δ (points)",
            "reference F1 %",
            "wall s (mean)",
            "reference source",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for config in runs.configs() {
        let all: Vec<_> = runs.of_config(&config).collect();
        let ok = all.iter().filter(|r| r.ok()).count();
        let row = (0..agg.height()).find(|&i| text_cell(&agg, "config", i) == config);
        let get = |c: &str| row.and_then(|i| cell(&agg, c, i));
        let reference = all.first().map(|r| r.reference()).unwrap_or_default();
        let ra = ref_f64(&reference, "test_accuracy");
        let mean = get("test_accuracy_mean");
        let epochs = all
            .iter()
            .filter_map(|r| r.last("epoch"))
            .fold(0f64, f64::max);
        let variant = all.first().map_or(String::new(), |r| variant_of(r));
        t.rows.push(vec![
            config.clone(),
            if variant.is_empty() {
                "hebbench".into()
            } else {
                variant
            },
            format!("{ok}/{}", all.len()),
            if epochs > 0.0 {
                format!("{epochs:.0}")
            } else {
                "–".into()
            },
            pm(mean, get("test_accuracy_std"), get("test_accuracy_n")),
            pct(get("test_f1_mean")),
            pct(ra),
            match (mean, ra) {
                (Some(m), Some(r)) => format!("{:+.2}", 100.0 * (m - r)),
                _ => "–".into(),
            },
            pct(ref_f64(&reference, "test_f1")),
            num(get("total_wall_s_mean")),
            reference
                .get("source")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string(),
        ]);
    }
    Ok(Section {
        title: "Results".into(),
        slug: "results".into(),
        note: "Final-epoch test accuracy and macro-F1 per configuration (the last classifier epoch, never the best one; \
               no figure here was used to choose anything), aggregated over seeds (mean ± sample std). \
               `variant` lists the options at which a row departs from hebbench's default operator, mostly to compute what a paper's \
               printed code computes (`hebbench` where there are none). \
               The reference columns are the figures the suite file gives for that configuration, and Δ is ours minus theirs in percentage points."
            .into(),
        table: t,
    })
}

/// For runs with a validation hold-out: the epoch a validation-based choice
/// picks (the first epoch of highest validation accuracy) and the test
/// accuracy there, beside the final epoch's, per seed. The test column is
/// only read after the choice.
fn validation(runs: &Runs) -> Option<Section> {
    let mut t = Table {
        header: [
            "configuration",
            "seed",
            "epochs",
            "epoch chosen on validation",
            "validation accuracy there %",
            "test accuracy there %",
            "final-epoch validation %",
            "final-epoch test %",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for r in runs.runs.iter().filter(|r| r.ok()) {
        let e = r.floats("epoch");
        let v = r.floats("val_accuracy");
        let best = e
            .iter()
            .zip(&v)
            .filter_map(|(e, v)| Some(((*e)?, (*v)?)))
            .fold(None, |acc: Option<(f64, f64)>, (e, v)| match acc {
                Some((_, bv)) if bv >= v => acc,
                _ => Some((e, v)),
            });
        let Some((epoch, val)) = best else {
            continue;
        };
        t.rows.push(vec![
            r.name(),
            r.seed().to_string(),
            r.last("epoch").map_or("–".into(), |e| format!("{e:.0}")),
            format!("{epoch:.0}"),
            pct(Some(val)),
            pct(r.at_epoch("test_accuracy", epoch as u32)),
            pct(r.last("val_accuracy")),
            pct(r.last("test_accuracy")),
        ]);
    }
    (!t.rows.is_empty()).then(|| Section {
        title: "Chosen on validation".into(),
        slug: "validation".into(),
        note: "Runs with a validation hold-out (`val_fraction`): the classifier epoch with the highest validation accuracy (the \
               first, on a tie), the test accuracy at that epoch, and both at the final epoch. Every other table reports the final \
               epoch; this one shows what a validation-based choice of the epoch budget would give, without looking at test."
            .into(),
        table: t,
    })
}

/// Report Table 4: per-seed accuracy at a short and a long classifier
/// budget, for configurations whose reference lists per-run figures or
/// names the two budgets (a configuration the report did not run).
fn seeds_table(runs: &Runs) -> Result<Option<Section>> {
    let configs: Vec<String> = runs
        .configs()
        .into_iter()
        .filter(|c| {
            runs.of_config(c).next().is_some_and(|r| {
                let f = r.reference();
                f.contains_key("runs") || f.contains_key("short_epoch")
            })
        })
        .collect();
    if configs.is_empty() {
        return Ok(None);
    }
    let first = runs
        .of_config(&configs[0])
        .next()
        .map(|r| r.reference())
        .unwrap_or_default();
    let short = ref_f64(&first, "short_epoch").unwrap_or(5.0) as u32;
    let long = ref_f64(&first, "long_epoch").unwrap_or(10.0) as u32;
    let seeds: BTreeSet<u64> = runs.runs.iter().map(|r| r.seed()).collect();
    let short_df = runs.frame(&["test_accuracy"], Some(short))?;
    let long_df = runs.frame(&["test_accuracy"], Some(long))?;
    let s_agg = aggregate(&short_df, &["test_accuracy"])?;
    let l_agg = aggregate(&long_df, &["test_accuracy"])?;
    let mut header = vec!["configuration".to_string()];
    header.extend(seeds.iter().map(|s| format!("seed {s} (epoch {short}) %")));
    header.extend([
        format!("mean ± std (epoch {short}) %"),
        format!("mean ± std (epoch {long}) %"),
        "report runs 1–3 %".into(),
        "report mean %".into(),
        "report 10-epoch %".into(),
        format!("Δ mean (epoch {short}, points)"),
        format!("Δ (epoch {long}, points)"),
    ]);
    let mut t = Table {
        header,
        rows: vec![],
    };
    for c in &configs {
        let mut row = vec![c.clone()];
        for s in &seeds {
            row.push(pct(runs
                .of_config(c)
                .find(|r| r.seed() == *s && r.ok())
                .and_then(|r| r.at_epoch("test_accuracy", short))));
        }
        let i = (0..s_agg.height()).find(|&i| text_cell(&s_agg, "config", i) == *c);
        let j = (0..l_agg.height()).find(|&i| text_cell(&l_agg, "config", i) == *c);
        row.push(pm(
            i.and_then(|i| cell(&s_agg, "test_accuracy_mean", i)),
            i.and_then(|i| cell(&s_agg, "test_accuracy_std", i)),
            i.and_then(|i| cell(&s_agg, "test_accuracy_n", i)),
        ));
        row.push(pm(
            j.and_then(|j| cell(&l_agg, "test_accuracy_mean", j)),
            j.and_then(|j| cell(&l_agg, "test_accuracy_std", j)),
            j.and_then(|j| cell(&l_agg, "test_accuracy_n", j)),
        ));
        let r = runs
            .of_config(c)
            .next()
            .map(|r| r.reference())
            .unwrap_or_default();
        let rr: Vec<String> = r
            .get("runs")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|v| pct(v.as_f64())).collect())
            .unwrap_or_default();
        row.push(rr.join(" / "));
        row.push(pct(ref_f64(&r, "mean")));
        row.push(pct(ref_f64(&r, "epoch10")));
        let ours_short = i.and_then(|i| cell(&s_agg, "test_accuracy_mean", i));
        let ours_long = j.and_then(|j| cell(&l_agg, "test_accuracy_mean", j));
        let delta = |ours: Option<f64>, theirs: Option<f64>| match (ours, theirs) {
            (Some(o), Some(t)) => format!("{:+.2}", 100.0 * (o - t)),
            _ => "–".into(),
        };
        row.push(delta(ours_short, ref_f64(&r, "mean")));
        row.push(delta(ours_long, ref_f64(&r, "epoch10")));
        t.rows.push(row);
    }
    Ok(Some(Section {
        title: "Per-seed accuracy (the report's Table 4)".into(),
        slug: "table4".into(),
        note: format!(
            "Test accuracy of each seed after {short} classifier epochs, their mean ± sample std, and the mean after {long} epochs \
             (the same runs: the classifier's draws for the first {short} epochs do not depend on how many follow). Δ is our mean \
             minus the report's, in points, over the seeds run so far."
        ),
        table: t,
    }))
}

/// Each configuration whose reference names a `base` configuration beside
/// that base: what one change moves, in points, at the final epoch.
fn ablations(runs: &Runs) -> Result<Option<Section>> {
    let base_of = |c: &str| -> Option<String> {
        runs.of_config(c).next().and_then(|r| {
            r.reference()
                .get("base")
                .and_then(|v| v.as_str())
                .map(String::from)
        })
    };
    let configs: Vec<(String, String)> = runs
        .configs()
        .into_iter()
        .filter_map(|c| base_of(&c).map(|b| (c, b)))
        .collect();
    if configs.is_empty() {
        return Ok(None);
    }
    let df = runs.frame(&["test_accuracy"], None)?;
    let agg = aggregate(&df, &["test_accuracy"])?;
    let acc = |c: &str| {
        (0..agg.height())
            .find(|&i| text_cell(&agg, "config", i) == c)
            .and_then(|i| cell(&agg, "test_accuracy_mean", i))
    };
    let variant = |c: &str| runs.of_config(c).next().map_or(String::new(), variant_of);
    let mut t = Table {
        header: [
            "configuration",
            "variant",
            "test accuracy %",
            "base",
            "base accuracy %",
            "Δ vs base (points)",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for (c, b) in configs {
        let (a, ab) = (acc(&c), acc(&b));
        t.rows.push(vec![
            c.clone(),
            variant(&c),
            pct(a),
            b.clone(),
            pct(ab),
            match (a, ab) {
                (Some(a), Some(ab)) => format!("{:+.2}", 100.0 * (a - ab)),
                _ => "–".into(),
            },
        ]);
    }
    Ok(Some(Section {
        title: "Ablations".into(),
        slug: "ablations".into(),
        note: "Each change against the configuration it changes (the suite names it as the row's `base`), \
               final-epoch test accuracy, mean over seeds; Δ is the change's effect in percentage points."
            .into(),
        table: t,
    }))
}

/// Best configuration per experiment kind (Hebbian vs backprop and controls).
fn by_kind(runs: &Runs) -> Result<Option<Section>> {
    let kinds: BTreeSet<String> = runs.runs.iter().map(|r| r.text("experiment")).collect();
    if kinds.len() < 2 {
        return Ok(None);
    }
    let df = runs.frame(&["test_accuracy", "test_f1", "total_wall_s"], None)?;
    let agg = aggregate(&df, &["test_accuracy", "test_f1", "total_wall_s"])?;
    let mut t = Table {
        header: [
            "experiment kind",
            "best configuration",
            "test accuracy % (mean)",
            "macro-F1 % (mean)",
            "wall s (mean)",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for kind in &kinds {
        let mut best: Option<(String, f64, usize)> = None;
        for i in 0..agg.height() {
            let c = text_cell(&agg, "config", i);
            if runs.of_config(&c).next().map(|r| r.text("experiment")) != Some(kind.clone()) {
                continue;
            }
            if let Some(a) = cell(&agg, "test_accuracy_mean", i) {
                if best.as_ref().is_none_or(|b| a > b.1) {
                    best = Some((c, a, i));
                }
            }
        }
        if let Some((c, a, i)) = best {
            t.rows.push(vec![
                kind.clone(),
                c,
                pct(Some(a)),
                pct(cell(&agg, "test_f1_mean", i)),
                num(cell(&agg, "total_wall_s_mean", i)),
            ]);
        }
    }
    Ok(Some(Section {
        title: "By learning method".into(),
        slug: "by_method".into(),
        note: "The best configuration of each experiment kind in this suite (Hebbian, backprop, controls), on the same data split and seeds."
            .into(),
        table: t,
    }))
}

fn scalars(runs: &Runs) -> Result<Option<Section>> {
    let mut names: Vec<String> = Vec::new();
    for r in &runs.runs {
        for c in r.columns() {
            if c.starts_with("s_") && !c.starts_with("s_lines_at_") && !names.contains(&c) {
                names.push(c);
            }
        }
    }
    if names.is_empty() {
        return Ok(None);
    }
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let df = runs.frame(&refs, None)?;
    let agg = aggregate(&df, &refs)?;
    let mut header = vec!["configuration".to_string()];
    header.extend(names.iter().map(|n| n.trim_start_matches("s_").to_string()));
    let mut t = Table {
        header,
        rows: vec![],
    };
    for i in 0..agg.height() {
        let mut row = vec![text_cell(&agg, "config", i)];
        for n in &names {
            row.push(num(cell(&agg, &format!("{n}_mean"), i)));
        }
        t.rows.push(row);
    }
    Ok(Some(Section {
        title: "Run-level measurements".into(),
        slug: "scalars".into(),
        note: "Scalars each run recorded (convergence, sparsity, topographic order, GFLOP/s, …), mean over seeds.".into(),
        table: t,
    }))
}

fn throughput(runs: &Runs) -> Result<Section> {
    let mut phases: Vec<String> = Vec::new();
    for r in &runs.runs {
        for c in r.columns() {
            if let Some(p) = c.strip_suffix("_images_per_s") {
                if !phases.contains(&p.to_string()) {
                    phases.push(p.to_string());
                }
            }
        }
    }
    let mut cols: Vec<String> = Vec::new();
    for p in &phases {
        cols.push(format!("{p}_wall_s"));
        cols.push(format!("{p}_images_per_s"));
    }
    for extra in ["s_hebbian_gflops", "s_gemm_gflops", "s_hebbian_gemm_ratio"] {
        cols.push(extra.into());
    }
    let refs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    let df = runs.frame(&refs, None)?;
    let agg = aggregate(&df, &refs)?;
    let cost = analysis_cost(runs)?;
    let mut header = vec!["configuration".to_string()];
    for p in &phases {
        header.push(format!("{p} s"));
        header.push(format!("{p} images/s"));
    }
    header.extend(["Hebbian GFLOP/s", "GEMM GFLOP/s", "÷ GEMM"].map(String::from));
    if cost.is_some() {
        header.extend(["analysis s", "analysis % of wall", "artefacts KiB"].map(String::from));
    }
    let mut t = Table {
        header,
        rows: vec![],
    };
    for i in 0..agg.height() {
        let mut row = vec![text_cell(&agg, "config", i)];
        for c in &cols {
            row.push(num(cell(&agg, &format!("{c}_mean"), i)));
        }
        if let Some(cost) = &cost {
            for c in ANALYSIS_COLUMNS {
                row.push(num(cell(cost, &format!("{c}_mean"), i)));
            }
        }
        t.rows.push(row);
    }
    let mut note = String::from(
        "Wall time and images per second of each phase (mean over seeds; repeats over epochs counted). Hebbian GFLOP/s counts the dense \
         forward and update FLOPs of the Hebbian epoch; GEMM GFLOP/s is this machine's float32 GEMM rate measured in the same process.",
    );
    if cost.is_some() {
        note += " Analysis is what the report's figures cost the run: the receptive-field ascent, the class-cluster embedding and recording \
                 the other artefacts (`receptive_fields`, `embedding` phases and `record_s`), also as a share of the run's wall time (for a run that reused cached \
                 features, of its phases' summed wall times, the cached ones included); artefacts KiB is the size of the run's `.safetensors` file. – where a run predates them.";
    }
    Ok(Section {
        title: "Throughput".into(),
        slug: "throughput".into(),
        note,
        table: t,
    })
}

/// The derived analysis-cost columns of the throughput table.
const ANALYSIS_COLUMNS: [&str; 3] = ["analysis_s", "analysis_pct", "artefact_kib"];

/// Per configuration (mean over seeds, in the same order as
/// [`Runs::frame`]'s groups): the seconds a run spent on its report
/// artefacts, their share of its wall time and the artefact file's size.
/// `None` when no run recorded any, so other kinds' tables stay as they were.
fn analysis_cost(runs: &Runs) -> Result<Option<polars::prelude::DataFrame>> {
    use polars::prelude::{Column, DataFrame};
    let ok: Vec<_> = runs.runs.iter().filter(|r| r.ok()).collect();
    let seconds: Vec<Option<f64>> = ok
        .iter()
        .map(|r| {
            let parts: Vec<f64> = ["receptive_fields_wall_s", "embedding_wall_s", "s_record_s"]
                .iter()
                .filter_map(|c| r.last(c))
                .collect();
            (!parts.is_empty()).then(|| parts.iter().sum())
        })
        .collect();
    if seconds.iter().all(Option::is_none) {
        return Ok(None);
    }
    let share: Vec<Option<f64>> = ok
        .iter()
        .zip(&seconds)
        .map(|(r, s)| match (s, analysed_wall(r)) {
            (Some(s), Some(w)) if w > 0.0 => Some(100.0 * s / w),
            _ => None,
        })
        .collect();
    let size: Vec<Option<f64>> = ok
        .iter()
        .map(|r| {
            std::fs::metadata(r.path.with_extension("safetensors"))
                .ok()
                .map(|m| m.len() as f64 / 1024.0)
        })
        .collect();
    let df = DataFrame::new(
        ok.len(),
        vec![
            Column::new(
                "config".into(),
                ok.iter().map(|r| r.name()).collect::<Vec<_>>(),
            ),
            Column::new(ANALYSIS_COLUMNS[0].into(), seconds),
            Column::new(ANALYSIS_COLUMNS[1].into(), share),
            Column::new(ANALYSIS_COLUMNS[2].into(), size),
        ],
    )
    .map_err(|e| crate::error::Error::Report(e.to_string()))?;
    Ok(Some(aggregate(&df, &ANALYSIS_COLUMNS)?))
}

/// The wall time an analysis cost is a share of: the run's own, or, for a
/// run that reused cached features (whose ascent and embedding the run that
/// learned them paid), the sum of its phases, the cached ones included.
fn analysed_wall(r: &super::data::Run) -> Option<f64> {
    if r.last("s_features_cached").unwrap_or(0.0) <= 0.0 {
        return r.last("total_wall_s");
    }
    let walls: Vec<f64> = r
        .columns()
        .iter()
        .filter_map(|c| c.strip_suffix("_images_per_s"))
        .filter_map(|p| r.last(&format!("{p}_wall_s")))
        .collect();
    (!walls.is_empty()).then(|| walls.iter().sum())
}

/// One run's metrics after every classifier epoch: training loss, and
/// accuracy with macro precision/recall/F1 on the training and test splits
/// (columns a kind does not record are left out).
pub fn epoch_table(run: &super::data::Run) -> Option<Table> {
    let epochs = run.floats("epoch");
    if epochs.iter().all(Option::is_none) {
        return None;
    }
    let cols: Vec<(&str, &str, bool)> = [
        ("train_loss", "train loss", false),
        ("train_accuracy", "train accuracy %", true),
        ("train_precision", "train precision %", true),
        ("train_recall", "train recall %", true),
        ("train_f1", "train F1 %", true),
        ("test_accuracy", "test accuracy %", true),
        ("test_precision", "test precision %", true),
        ("test_recall", "test recall %", true),
        ("test_f1", "test F1 %", true),
        ("val_accuracy", "validation accuracy %", true),
        ("val_f1", "validation F1 %", true),
        ("elapsed_s", "run seconds at epoch end", false),
    ]
    .into_iter()
    .filter(|(c, _, _)| run.floats(c).iter().any(Option::is_some))
    .collect();
    let values: Vec<Vec<Option<f64>>> = cols.iter().map(|(c, _, _)| run.floats(c)).collect();
    let mut header = vec!["epoch".to_string()];
    header.extend(cols.iter().map(|(_, h, _)| h.to_string()));
    let rows = epochs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut row = vec![e.map(|e| format!("{e:.0}")).unwrap_or_else(|| "–".into())];
            for (v, (_, _, percent)) in values.iter().zip(&cols) {
                row.push(if *percent { pct(v[i]) } else { num(v[i]) });
            }
            row
        })
        .collect();
    Some(Table { header, rows })
}

#[cfg(test)]
mod tests {
    use super::super::data::{Run, Runs};
    use super::*;
    use polars::prelude::{Column, DataFrame};

    fn run(seed: u64, accs: &[f64]) -> Run {
        let n = accs.len();
        let reference = r#"{"runs": [0.7, 0.72, 0.74], "mean": 0.72, "epoch10": 0.75, "short_epoch": 2, "long_epoch": 3}"#;
        let df = DataFrame::new(
            n,
            vec![
                Column::new("config".into(), vec!["A"; n]),
                Column::new("status".into(), vec!["ok"; n]),
                Column::new("seed".into(), vec![seed; n]),
                Column::new("reference_json".into(), vec![reference; n]),
                Column::new("epoch".into(), (1..=n as u32).collect::<Vec<_>>()),
                Column::new("test_accuracy".into(), accs.to_vec()),
            ],
        )
        .unwrap();
        Run {
            hash: format!("h{seed}"),
            path: format!("h{seed}.parquet").into(),
            df,
            reference_now: None,
        }
    }

    #[test]
    fn table4_gives_each_seed_the_mean_and_the_gap_to_the_report() {
        // Seeds at epoch 2: 0.70 and 0.74 (mean 0.72, sample std 2.83
        // points, Δ 0 against the report's 0.72); epoch 3: 0.71 and 0.73
        // (mean 0.72, Δ −3 against its 0.75).
        let runs = Runs {
            runs: vec![run(0, &[0.5, 0.70, 0.71]), run(1, &[0.6, 0.74, 0.73])],
            duplicates: 0,
            unreadable: vec![],
        };
        let t = seeds_table(&runs).unwrap().unwrap().table;
        let col = |name: &str| t.header.iter().position(|h| h.starts_with(name)).unwrap();
        let row = &t.rows[0];
        assert_eq!(row[col("seed 0")], "70.00");
        assert_eq!(row[col("seed 1")], "74.00");
        assert_eq!(row[col("mean ± std (epoch 2)")], "72.00 ± 2.83");
        assert_eq!(row[col("mean ± std (epoch 3)")], "72.00 ± 1.41");
        assert_eq!(row[col("Δ mean (epoch 2")], "+0.00");
        assert_eq!(row[col("Δ (epoch 3")], "-3.00");
    }
}
