//! `hebbench report`: turns a suite's Parquet results (from one or several
//! result directories) into a Markdown report with tables that mirror the
//! papers' and PNG/SVG plots.
//!
//! - [`data`]: loading and merging result files (by run hash), and the
//!   aggregation over seeds, done with polars;
//! - [`tables`]: Markdown and CSV tables;
//! - [`plots`]: plotters charts, rasterised with an embedded font so that no
//!   system font is needed.

pub mod budgets;
pub mod data;
pub mod plots;
mod specs;
pub mod tables;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Renders the report of `suite` from `dirs` into `out`.
///
/// The suite's runs as the report sees them: run hash → (run name, seed,
/// reference figures).
pub type SuiteRuns = std::collections::BTreeMap<String, (String, u64, Option<serde_json::Value>)>;

/// With the suite's definition (`current`), result files of runs the suite
/// no longer contains (older parameters) are left out and counted, the
/// suite's references are the ones shown, and runs without a result are
/// listed as not yet run.
pub fn render(
    dirs: &[PathBuf],
    suite: &str,
    current: Option<&SuiteRuns>,
    out: &Path,
    command: &str,
) -> Result<Summary> {
    std::fs::create_dir_all(out).at(out)?;
    let mut runs = data::load(dirs, suite)?;
    let before = runs.runs.len();
    if let Some(cur) = current {
        runs.runs.retain(|r| cur.contains_key(&r.hash));
        for r in &mut runs.runs {
            r.reference_now = Some(match cur.get(&r.hash) {
                Some((_, _, Some(serde_json::Value::Object(m)))) => m.clone(),
                _ => Default::default(),
            });
        }
    }
    let stale = before - runs.runs.len();
    let mut md = String::new();
    let commits = runs.commits();
    let _ = writeln!(md, "# {suite}\n");
    let _ = writeln!(
        md,
        "Produced by `{command}` from {} runs ({} result files skipped as duplicates of the same run hash, \
         {stale} left out because the suite no longer contains them) \
         in {}. Runs were made at commit(s) {} on {}. Every figure below was read from those result files.\n",
        runs.len(),
        runs.duplicates,
        dirs.iter().map(|d| format!("`{}`", d.display())).collect::<Vec<_>>().join(", "),
        commits.join(", "),
        runs.devices().join(", "),
    );
    for (path, why) in &runs.unreadable {
        let _ = writeln!(
            md,
            "Skipped an unreadable result file, `{}`: {why}\n",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
    }
    let mut files = Vec::new();
    for section in tables::sections(&runs)? {
        let _ = writeln!(md, "## {}\n\n{}\n", section.title, section.note);
        md.push_str(&section.table.markdown());
        md.push('\n');
        let csv = out.join(format!("{}.csv", section.slug));
        crate::atomic::write_bytes(&csv, section.table.csv().as_bytes())?;
        let _ = writeln!(md, "CSV: [`{}.csv`]({}.csv)\n", section.slug, section.slug);
        files.push(csv);
    }
    if let Some(cur) = current {
        let have: std::collections::BTreeSet<&str> =
            runs.runs.iter().map(|r| r.hash.as_str()).collect();
        let mut missing: Vec<String> = cur
            .iter()
            .filter(|(h, _)| !have.contains(h.as_str()))
            .map(|(_, (name, seed, _))| format!("`{name}` (seed {seed})"))
            .collect();
        missing.sort();
        if !missing.is_empty() {
            let _ = writeln!(
                md,
                "## Not yet run\n\n{} of the suite's {} runs have no result in these directories: {}.\n",
                missing.len(),
                cur.len(),
                missing.join(", ")
            );
        }
    }
    let drawn = plots::all(&runs, out)?;
    if !drawn.suite.is_empty() || !drawn.notes.is_empty() || !drawn.configs.is_empty() {
        let _ = writeln!(md, "## Figures\n");
    }
    for why in &drawn.notes {
        let _ = writeln!(md, "Skipped the figures of {why}\n");
    }
    for f in &drawn.suite {
        write_figure(&mut md, f);
    }
    let mut figures = drawn.suite.len();
    if !drawn.configs.is_empty() {
        let _ = writeln!(
            md,
            "### Per configuration\n\nEach configuration's page: its per-epoch metrics and its own figures (its lowest successful seed among those that recorded the most artefacts), drawn from its run's result and artefact files:\n"
        );
    }
    for (config, seed, figs) in &drawn.configs {
        let epochs = runs
            .of_config(config)
            .find(|r| r.ok() && r.seed() == *seed)
            .and_then(tables::epoch_table);
        if figs.is_empty() && epochs.is_none() {
            continue;
        }
        let page = format!("{}.md", plots::slug(config));
        let mut body = format!(
            "# {config}\n\nSeed {seed} of `{config}` in suite `{suite}`: its per-epoch metrics, read from its result file, and its figures, each drawn from the run's artefact file (`<run-hash>.safetensors`); nothing here is recomputed from anything else. [Back to the report](index.md).\n\n"
        );
        if let Some(t) = &epochs {
            let _ = writeln!(
                body,
                "## Per-epoch metrics\n\nAfter every classifier epoch: the training split and the test split, accuracy and macro precision/recall/F1 (columns a kind does not record are left out). The report's tables compare the final epoch.\n"
            );
            body.push_str(&t.markdown());
            body.push('\n');
        }
        if !figs.is_empty() {
            let _ = writeln!(body, "## Figures\n");
        }
        for f in figs {
            write_figure(&mut body, f);
        }
        crate::atomic::write_bytes(&out.join(&page), body.as_bytes())?;
        let titles: Vec<&str> = figs
            .iter()
            .map(|f| f.title.split(':').next().unwrap_or(""))
            .collect();
        let mut what: Vec<String> = titles.iter().map(|t| t.to_lowercase()).collect();
        if epochs.is_some() {
            what.insert(0, "per-epoch metrics".into());
        }
        let what = what.join(", ");
        let _ = writeln!(md, "- [`{config}`]({page}): {what}");
        figures += figs.len();
    }
    if !drawn.configs.is_empty() {
        md.push('\n');
    }
    let index = out.join("index.md");
    crate::atomic::write_bytes(&index, md.as_bytes())?;
    Ok(Summary {
        runs: runs.len(),
        tables: files.len(),
        figures,
        index,
    })
}

/// One figure (or table) under its heading.
fn write_figure(md: &mut String, f: &plots::Figure) {
    let _ = writeln!(md, "### {}\n\n{}\n", f.title, f.caption);
    match &f.table {
        Some(table) => {
            md.push_str(table);
            let _ = writeln!(md, "\nCSV: [`{}`]({})\n", f.png, f.png);
        }
        None => {
            let _ = writeln!(md, "![{}]({})\n", f.title, f.png);
            if let Some(svg) = &f.svg {
                let _ = writeln!(md, "SVG: [`{svg}`]({svg})\n");
            }
        }
    }
}

/// What a report contains.
#[derive(Debug)]
pub struct Summary {
    /// Runs reported.
    pub runs: usize,
    /// Tables written.
    pub tables: usize,
    /// Figures written.
    pub figures: usize,
    /// The report's `index.md`.
    pub index: PathBuf,
}
