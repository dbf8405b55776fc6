//! Labelled-data budgets: when a suite's runs differ in `label_fraction`,
//! the report tabulates and draws each arm's final-epoch test accuracy per
//! budget (mean ± std over seeds, the seed count shown), where an
//! unsupervised arm crosses a backprop arm, and accuracy against the run's
//! wall-clock seconds.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use super::data::Runs;
use super::plots::{lines_with_legend, pe, save_chart, Figure};
use super::tables::{Section, Table};
use crate::error::Result;

/// One arm at one budget, over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The configuration (without the matrix values).
    pub arm: String,
    /// The experiment kind.
    pub kind: String,
    /// `label_fraction`.
    pub fraction: f64,
    /// Final-epoch test accuracies, one per seed that succeeded.
    pub test: Vec<f64>,
    /// Final-epoch validation accuracies, where recorded.
    pub val: Vec<f64>,
    /// Run seconds at the final epoch.
    pub elapsed: Vec<f64>,
    /// Labelled training images (the first seed's `labelled_images`).
    pub labelled: Option<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Sample standard deviation (0 for one value).
fn std(v: &[f64]) -> f64 {
    match (mean(v), v.len()) {
        (Some(m), n) if n > 1 => {
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64).sqrt()
        }
        _ => 0.0,
    }
}

impl Point {
    /// Mean test accuracy.
    pub fn mean(&self) -> f64 {
        mean(&self.test).unwrap_or(f64::NAN)
    }
    /// Sample std of the test accuracy.
    pub fn std(&self) -> f64 {
        std(&self.test)
    }
}

/// Whether an arm is trained end to end by backprop (the arms an
/// unsupervised representation is compared against).
fn is_backprop(kind: &str) -> bool {
    matches!(kind, "backprop_cnn" | "supervised")
}

/// Every arm × budget of the suite, sorted by arm then fraction; `None`
/// unless the runs span at least two budgets.
pub fn points(runs: &Runs) -> Option<Vec<Point>> {
    let mut by: BTreeMap<(String, u64), Point> = BTreeMap::new();
    for r in runs.runs.iter().filter(|r| r.ok()) {
        let Some(f) = r.last("param_label_fraction") else {
            continue;
        };
        let arm = r.text("config");
        let p = by
            .entry((arm.clone(), (f * 1e9).round() as u64))
            .or_insert_with(|| Point {
                arm,
                kind: r.text("experiment"),
                fraction: f,
                test: vec![],
                val: vec![],
                elapsed: vec![],
                labelled: None,
            });
        p.test.extend(r.last("test_accuracy"));
        p.val.extend(r.last("val_accuracy"));
        p.elapsed.extend(r.last("elapsed_s"));
        p.labelled = p.labelled.or(r.last("s_labelled_images"));
    }
    let pts: Vec<Point> = by.into_values().collect();
    let mut fractions: Vec<u64> = pts.iter().map(|p| (p.fraction * 1e9) as u64).collect();
    fractions.sort_unstable();
    fractions.dedup();
    (fractions.len() > 1).then_some(pts)
}

/// Where arm `a` (unsupervised) stops beating arm `b` (backprop).
#[derive(Debug, Clone, PartialEq)]
pub struct Crossover {
    /// The unsupervised arm.
    pub a: String,
    /// The backprop arm.
    pub b: String,
    /// Per shared fraction: (fraction, mean difference a − b, its standard
    /// error √(s_a²/n_a + s_b²/n_b)).
    pub diffs: Vec<(f64, f64, f64)>,
    /// The fraction where the mean difference crosses zero from a-ahead to
    /// b-ahead (interpolated in log fraction), with the range over which
    /// the difference ± one standard error crosses; `None` when it never
    /// changes sign at these budgets.
    pub at: Option<(f64, f64, f64)>,
}

/// The zero crossing (a-ahead → b-ahead) of `d` over `lf` (log fractions),
/// interpolated linearly.
fn crossing(lf: &[f64], d: &[f64]) -> Option<f64> {
    (0..d.len().saturating_sub(1)).find_map(|i| {
        (d[i] > 0.0 && d[i + 1] <= 0.0)
            .then(|| lf[i] + (lf[i + 1] - lf[i]) * d[i] / (d[i] - d[i + 1]))
    })
}

/// Every unsupervised arm against every backprop arm.
pub fn crossovers(points: &[Point]) -> Vec<Crossover> {
    let arms = |bp: bool| -> Vec<String> {
        let mut v: Vec<String> = points
            .iter()
            .filter(|p| is_backprop(&p.kind) == bp)
            .map(|p| p.arm.clone())
            .collect();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    for a in arms(false) {
        for b in arms(true) {
            let mut diffs = Vec::new();
            for pa in points.iter().filter(|p| p.arm == a) {
                if let Some(pb) = points
                    .iter()
                    .find(|p| p.arm == b && (p.fraction - pa.fraction).abs() < 1e-9)
                {
                    let se = (pa.std().powi(2) / pa.test.len() as f64
                        + pb.std().powi(2) / pb.test.len() as f64)
                        .sqrt();
                    diffs.push((pa.fraction, pa.mean() - pb.mean(), se));
                }
            }
            let lf: Vec<f64> = diffs.iter().map(|d| d.0.log10()).collect();
            let mid = crossing(&lf, &diffs.iter().map(|d| d.1).collect::<Vec<_>>());
            let at = mid.map(|m| {
                let lo = crossing(&lf, &diffs.iter().map(|d| d.1 - d.2).collect::<Vec<_>>());
                let hi = crossing(&lf, &diffs.iter().map(|d| d.1 + d.2).collect::<Vec<_>>());
                let p = |v: f64| 10f64.powf(v);
                (p(m), p(lo.unwrap_or(m)), p(hi.unwrap_or(m)))
            });
            out.push(Crossover {
                a: a.clone(),
                b,
                diffs,
                at,
            });
        }
    }
    out
}

fn pct(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

/// The budget table and the crossover table.
pub fn sections(runs: &Runs) -> Vec<Section> {
    let Some(points) = points(runs) else {
        return Vec::new();
    };
    let mut t = Table {
        header: [
            "arm",
            "experiment",
            "label fraction %",
            "labelled images",
            "seeds",
            "test accuracy % (mean ± std)",
            "validation accuracy % (mean)",
            "run seconds (mean)",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for p in &points {
        t.rows.push(vec![
            p.arm.clone(),
            p.kind.clone(),
            format!("{}", 100.0 * p.fraction),
            p.labelled.map_or("–".into(), |v| format!("{v:.0}")),
            p.test.len().to_string(),
            format!("{} ± {}", pct(p.mean()), pct(p.std())),
            mean(&p.val).map_or("–".into(), pct),
            mean(&p.elapsed).map_or("–".into(), |v| format!("{v:.1}")),
        ]);
    }
    // What the whole suite cost: each run's own wall time (a run that
    // reused cached features counts only its own time, so a cached phase
    // counts once).
    let total: f64 = runs
        .runs
        .iter()
        .filter_map(|r| r.last("total_wall_s"))
        .sum();
    let cost = format!(
        " The {} runs took {:.0} s of wall time in all ({:.1} h), each run's own time summed, so that a phase reused from the \
         feature cache counts once.",
        runs.runs.len(),
        total,
        total / 3600.0
    );
    let mut out = vec![Section {
        title: "Labelled-data budgets".into(),
        slug: "budgets".into(),
        note: "Final-epoch test accuracy of each arm at each `label_fraction` (a fraction of the training images left after the \
               validation hold-out, stratified by class; smaller budgets are subsets of larger ones, and every arm at a seed sees \
               the same images). Unsupervised phases saw every training image without labels. Validation accuracy is on the \
               held-out training images; no test figure was used for a choice. Run seconds count every phase up to the final \
               epoch (a phase reused from the feature cache at the time it took when computed)."
            .to_string()
            + &cost,
        table: t,
    }];
    let cross = crossovers(&points);
    if !cross.is_empty() {
        let mut t = Table {
            header: [
                "unsupervised arm",
                "backprop arm",
                "difference per fraction, points (± s.e.)",
                "crossover fraction %",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![],
        };
        for c in &cross {
            let diffs = c
                .diffs
                .iter()
                .map(|(f, d, se)| format!("{}%: {:+.2} ± {:.2}", 100.0 * f, 100.0 * d, 100.0 * se))
                .collect::<Vec<_>>()
                .join("; ");
            let at = match c.at {
                Some((m, lo, hi)) => format!(
                    "{:.2} (±1 s.e.: {:.2}–{:.2})",
                    100.0 * m,
                    100.0 * lo.min(hi),
                    100.0 * lo.max(hi)
                ),
                None if c.diffs.iter().all(|d| d.1 > 0.0) => {
                    "none: the unsupervised arm leads at every budget".into()
                }
                None if c.diffs.iter().all(|d| d.1 <= 0.0) => {
                    "none: backprop leads at every budget".into()
                }
                None => "none from ahead to behind (the lead changes the other way)".into(),
            };
            let changes = c
                .diffs
                .windows(2)
                .filter(|w| (w[0].1 > 0.0) != (w[1].1 > 0.0))
                .count();
            let at = if changes > 1 {
                format!("{at}; the lead changes {changes} times, so read it as noise")
            } else {
                at
            };
            t.rows.push(vec![c.a.clone(), c.b.clone(), diffs, at]);
        }
        out.push(Section {
            title: "Where backprop overtakes".into(),
            slug: "crossover".into(),
            note: "Mean test-accuracy difference (unsupervised − backprop) at each shared budget with its standard error \
                   (√(s²/n + s²/n); 0 with one seed, so one seed gives no uncertainty), and the fraction at which it crosses zero, \
                   interpolated linearly in log fraction; the range is where the difference ± one standard error crosses."
                .into(),
            table: t,
        });
    }
    out
}

/// Test accuracy against label fraction (log axis), one line per arm with
/// a ± std band; and accuracy per epoch against the run's seconds.
pub fn figures(runs: &Runs, out: &Path) -> Result<Vec<Figure>> {
    let Some(points) = points(runs) else {
        return Ok(Vec::new());
    };
    let mut arms: Vec<String> = points.iter().map(|p| p.arm.clone()).collect();
    arms.dedup();
    let fmin = points.iter().map(|p| p.fraction).fold(1.0, f64::min);
    let fmax = points.iter().map(|p| p.fraction).fold(0.0, f64::max);
    let accs = points
        .iter()
        .flat_map(|p| [p.mean() - p.std(), p.mean() + p.std()]);
    let (lo, hi) = accs.fold((1.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = (
        ((100.0 * lo - 5.0) / 5.0).floor().max(0.0) * 5.0,
        ((100.0 * hi + 5.0) / 5.0).ceil().min(20.0) * 5.0,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Test accuracy against labelled-data budget",
                ("sans-serif", 20),
            )
            .margin(12)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(
                ((100.0 * fmin * 0.8)..(100.0 * fmax * 1.25)).log_scale(),
                lo..hi,
            )
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_desc("labelled training images (% of those left after validation; log scale)")
            .x_labels(30)
            // Only 1-2-5 ticks get a label (a log axis ticks every digit).
            .x_label_formatter(&|v| {
                let lead = v / 10f64.powf(v.log10().floor());
                if [1.0, 2.0, 5.0].iter().any(|d| (lead - d).abs() < 1e-6) {
                    format!("{}%", (v * 1000.0).round() / 1000.0)
                } else {
                    String::new()
                }
            })
            .light_line_style(WHITE)
            .y_desc("final-epoch test accuracy (%)")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(pe)?;
        let mut lines = Vec::new();
        for (i, arm) in arms.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let pts: Vec<&Point> = points.iter().filter(|p| &p.arm == arm).collect();
            let band: Vec<(f64, f64)> = pts
                .iter()
                .map(|p| (100.0 * p.fraction, 100.0 * (p.mean() + p.std())))
                .chain(
                    pts.iter()
                        .rev()
                        .map(|p| (100.0 * p.fraction, 100.0 * (p.mean() - p.std()))),
                )
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    colour.mix(0.2).filled(),
                )))
                .map_err(pe)?;
            let line: Vec<(f64, f64)> = pts
                .iter()
                .map(|p| (100.0 * p.fraction, 100.0 * p.mean()))
                .collect();
            chart
                .draw_series(pts.iter().zip(&line).map(|(p, &(x, y))| {
                    EmptyElement::at((x, y))
                        + Text::new(
                            format!("n={}", p.test.len()),
                            (4, -14),
                            ("sans-serif", 10).into_font(),
                        )
                }))
                .map_err(pe)?;
            lines.push((format!("{arm} ({})", pts[0].kind), line));
        }
        lines_with_legend(&mut chart, &lines, true)?;
        root.present().map_err(pe)?;
    }
    let mut figs = vec![save_chart(
        out,
        "budgets",
        svg,
        "Accuracy against labelled-data budget",
        "Final-epoch test accuracy per arm and label fraction: mean over seeds (line, dots; n = seeds) with a ± one sample std band."
            .into(),
    )?];
    if let Some(f) = time_figure(runs, &arms, out)? {
        figs.push(f);
    }
    Ok(figs)
}

/// Test accuracy after each epoch against the run's seconds at that epoch,
/// for every arm at its largest budget (lowest seed).
fn time_figure(runs: &Runs, arms: &[String], out: &Path) -> Result<Option<Figure>> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for arm in arms {
        let best = runs
            .runs
            .iter()
            .filter(|r| r.ok() && &r.text("config") == arm)
            .max_by(|a, b| {
                let f = |r: &super::data::Run| r.last("param_label_fraction").unwrap_or(0.0);
                f(a).total_cmp(&f(b)).then(b.seed().cmp(&a.seed()))
            });
        let Some(r) = best else { continue };
        let pts: Vec<(f64, f64)> = r
            .floats("elapsed_s")
            .iter()
            .zip(r.floats("test_accuracy"))
            .filter_map(|(t, a)| Some(((*t)?, 100.0 * a?)))
            .collect();
        if !pts.is_empty() {
            let f = r.last("param_label_fraction").unwrap_or(1.0);
            series.push((format!("{arm} at {}% labels", 100.0 * f), pts));
        }
    }
    if series.is_empty() {
        return Ok(None);
    }
    let all = series.iter().flat_map(|s| s.1.iter());
    let tmax = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all.fold((100.0f64, 0.0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Test accuracy against wall-clock", ("sans-serif", 20))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(
                0.0..tmax * 1.05,
                ((lo - 5.0) / 5.0).floor().max(0.0) * 5.0
                    ..((hi + 5.0) / 5.0).ceil().min(20.0) * 5.0,
            )
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the run began (every phase)")
            .y_desc("test accuracy (%)")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(pe)?;
        lines_with_legend(&mut chart, &series, true)?;
        root.present().map_err(pe)?;
    }
    Ok(Some(save_chart(
        out,
        "wall-clock",
        svg,
        "Accuracy against wall-clock",
        "Test accuracy after each epoch against the run's seconds at that epoch (unsupervised phase, features and head \
         included), each arm at its largest budget, lowest seed; all on the machine named in the run rows."
            .into(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(arm: &str, kind: &str, f: f64, test: &[f64]) -> Point {
        Point {
            arm: arm.into(),
            kind: kind.into(),
            fraction: f,
            test: test.to_vec(),
            val: vec![],
            elapsed: vec![],
            labelled: None,
        }
    }

    #[test]
    fn the_crossover_is_interpolated_in_log_fraction() {
        // Hebbian leads by 10 points at 1%, trails by 10 at 100%: the mean
        // difference crosses at √(1·100) = 10%.
        let p = vec![
            pt("h", "hebbian_cnn", 0.01, &[0.5, 0.5]),
            pt("h", "hebbian_cnn", 1.0, &[0.6, 0.6]),
            pt("b", "backprop_cnn", 0.01, &[0.4, 0.4]),
            pt("b", "backprop_cnn", 1.0, &[0.7, 0.7]),
        ];
        let c = crossovers(&p);
        assert_eq!(c.len(), 1);
        let (m, lo, hi) = c[0].at.unwrap();
        assert!((m - 0.1).abs() < 1e-9, "{m}");
        // No spread: no uncertainty.
        assert!((lo - m).abs() < 1e-12 && (hi - m).abs() < 1e-12);
        // Always ahead: no crossover.
        let ahead = vec![
            pt("h", "hebbian_cnn", 0.01, &[0.5]),
            pt("h", "hebbian_cnn", 1.0, &[0.8]),
            pt("b", "backprop_cnn", 0.01, &[0.4]),
            pt("b", "backprop_cnn", 1.0, &[0.7]),
        ];
        assert_eq!(crossovers(&ahead)[0].at, None);
    }
}
