//! Figures. Charts are drawn with plotters as SVG and rasterised to PNG by
//! resvg with an embedded DejaVu Sans, so no system font is needed. Image
//! grids (filters, weight tapestries, snapshots) are written straight as
//! SVG rectangles and rasterised the same way (PNG only: their SVG would be
//! megabytes of rectangles).

use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

use super::data::{aggregate, cell, text_cell, Runs};
use crate::error::{Error, Result};
use crate::experiments::figures::{Colour, FigureSpec, Histogram};

/// The font every figure is rendered with (Bitstream Vera licence, see
/// `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// One written figure.
pub struct Figure {
    /// Heading in the report.
    pub title: String,
    /// Caption under the heading.
    pub caption: String,
    /// The PNG's file name.
    pub png: String,
    /// The SVG's file name, for charts.
    pub svg: Option<String>,
    /// A Markdown table shown in place of an image (its CSV is `png`).
    pub table: Option<String>,
}

/// Draws each `(name, points)` series as a line in palette colour `i` (with
/// dots when asked) and a legend of them in the lower right.
pub(super) fn lines_with_legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    series: &[(String, Vec<(f64, f64)>)],
    dots: bool,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts.iter().cloned(), colour.stroke_width(2)))
            .map_err(pe)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        if dots {
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, colour.filled())))
                .map_err(pe)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(pe)?;
    Ok(())
}

pub(super) fn pe(e: impl std::fmt::Debug) -> Error {
    Error::Report(format!("plot failed: {e:?}"))
}

/// Rasterises an SVG document to PNG with the embedded font.
pub fn svg_to_png(svg: &str, path: &Path) -> Result<()> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        ..Default::default()
    };
    {
        let db = opt.fontdb_mut();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Sans");
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(pe)?;
    let size = tree.size().to_int_size();
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or_else(|| pe("empty image"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let png = pixmap.encode_png().map_err(pe)?;
    crate::atomic::write_bytes(path, &png)
}

pub(super) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

pub(super) fn save_chart(
    out: &Path,
    name: &str,
    svg: String,
    title: &str,
    caption: String,
) -> Result<Figure> {
    let svg_name = format!("{name}.svg");
    let png_name = format!("{name}.png");
    crate::atomic::write_bytes(&out.join(&svg_name), svg.as_bytes())?;
    svg_to_png(&svg, &out.join(&png_name))?;
    Ok(Figure {
        title: title.into(),
        caption,
        png: png_name,
        svg: Some(svg_name),
        table: None,
    })
}

/// What [`all`] draws: the suite's own charts, each configuration's
/// figures from its artefacts, and a note for each run whose artefacts
/// could not be drawn (named, then skipped).
pub struct Drawn {
    /// Charts over every configuration.
    pub suite: Vec<Figure>,
    /// Per configuration, the figures of its lowest successful seed among
    /// those with the most artefacts.
    pub configs: Vec<(String, u64, Vec<Figure>)>,
    /// Runs whose figures were skipped, and why.
    pub notes: Vec<String>,
}

/// Every figure the results support.
pub fn all(runs: &Runs, out: &Path) -> Result<Drawn> {
    let mut figs = Vec::new();
    let mut configs = Vec::new();
    let mut notes = Vec::new();
    if let Some(f) = accuracy(runs, out)? {
        figs.push(f);
    }
    if let Some(f) = epochs(runs, out)? {
        figs.push(f);
    }
    if let Some(f) = losses(runs, out)? {
        figs.push(f);
    }
    if let Some(f) = lines_learned(runs, out)? {
        figs.push(f);
    }
    figs.extend(super::budgets::figures(runs, out)?);
    for config in runs.configs() {
        // The lowest seed among the successful runs that recorded the most
        // artefacts: a later seed run after an analysis was added is drawn
        // rather than an earlier one without it.
        let mut chosen: Option<(&super::data::Run, _, usize)> = None;
        for r in runs.of_config(&config).filter(|r| r.ok()) {
            let arts = r.artefacts();
            let n = arts.as_ref().map_or(0, |a| a.len());
            let better = match &chosen {
                None => true,
                Some((c, _, m)) => n > *m || (n == *m && r.seed() < c.seed()),
            };
            if better {
                chosen = Some((r, arts, n));
            }
        }
        let Some((run, arts, _)) = chosen else {
            continue;
        };
        let file = run
            .path
            .with_extension("safetensors")
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let drawn = arts.and_then(|arts| {
            if arts.is_empty() {
                return Ok(Vec::new());
            }
            crate::experiments::lookup(&run.text("experiment"))
                .map_err(|e| e.to_string())?
                .figures(&arts, &config, run.seed())
        });
        let mut own = Vec::new();
        match drawn {
            Ok(specs) => {
                for spec in &specs {
                    match render(spec, &slug(&config), out)? {
                        Ok(f) => own.push(f),
                        Err(why) => notes.push(format!("`{file}`: {why}")),
                    }
                }
            }
            Err(why) => notes.push(format!("`{file}`: {why}")),
        }
        configs.push((config.clone(), run.seed(), own));
    }
    Ok(Drawn {
        suite: figs,
        configs,
        notes,
    })
}

fn accuracy(runs: &Runs, out: &Path) -> Result<Option<Figure>> {
    let df = runs.frame(&["test_accuracy"], None)?;
    if df.height() == 0 {
        return Ok(None);
    }
    let agg = aggregate(&df, &["test_accuracy"])?;
    let n = agg.height();
    let rows: Vec<(String, f64, f64, Option<f64>)> = (0..n)
        .filter_map(|i| {
            let c = text_cell(&agg, "config", i);
            let m = cell(&agg, "test_accuracy_mean", i)?;
            let s = cell(&agg, "test_accuracy_std", i).unwrap_or(0.0);
            let r = runs
                .of_config(&c)
                .next()
                .map(|r| r.reference())
                .unwrap_or_default();
            let reference = r
                .get("test_accuracy")
                .or_else(|| r.get("mean"))
                .and_then(|v| v.as_f64());
            Some((c, 100.0 * m, 100.0 * s, reference.map(|v| 100.0 * v)))
        })
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let longest = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(10);
    let label_w = (longest as u32 * 8 + 20).clamp(120, 460);
    let h = 140 + 30 * rows.len() as u32;
    let lo = rows
        .iter()
        .flat_map(|r| [r.1 - r.2, r.3.unwrap_or(r.1)])
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .flat_map(|r| [r.1 + r.2, r.3.unwrap_or(r.1)])
        .fold(f64::NEG_INFINITY, f64::max);
    let (x0, x1) = (
        ((lo - 5.0) / 5.0).floor() * 5.0,
        ((hi + 5.0) / 5.0).ceil() * 5.0,
    );
    let (x0, x1) = (x0.max(0.0), x1.min(100.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (label_w + 560, h)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let k = rows.len();
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption("Test accuracy per configuration", ("sans-serif", 20))
            .margin(12)
            .margin_bottom(40)
            .x_label_area_size(45)
            .y_label_area_size(label_w)
            .build_cartesian_2d(x0..x1, (0..k.saturating_sub(1)).into_segmented())
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_desc("test accuracy (%)")
            .y_labels(k)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(pe)?;
        let ours = BLUE;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                ErrorBar::new_horizontal(
                    SegmentValue::CenterOf(i),
                    r.1 - r.2,
                    r.1,
                    r.1 + r.2,
                    ours.filled(),
                    8,
                )
            }))
            .map_err(pe)?;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                r.3.map(|v| Cross::new((v, SegmentValue::CenterOf(i)), 6, RED.stroke_width(2)))
            }))
            .map_err(pe)?;
        // Legend under the plot, clear of the data.
        let (lx, ly) = (label_w as i32 + 20, h as i32 - 24);
        root.draw(&Circle::new((lx, ly + 7), 4, ours.filled()))
            .map_err(pe)?;
        root.draw(&Text::new(
            "hebbench: mean ± std over seeds",
            (lx + 10, ly),
            ("sans-serif", 13).into_font(),
        ))
        .map_err(pe)?;
        root.draw(&Cross::new((lx + 250, ly + 7), 5, RED.stroke_width(2)))
            .map_err(pe)?;
        root.draw(&Text::new(
            "reference (paper)",
            (lx + 260, ly),
            ("sans-serif", 13).into_font(),
        ))
        .map_err(pe)?;
        root.present().map_err(pe)?;
    }
    Ok(Some(save_chart(
        out,
        "accuracy",
        svg,
        "Accuracy per configuration",
        "Final-epoch test accuracy, ours as mean with ± one sample std over seeds (a dot when there is one seed), the suite's reference figure as a red cross.".into(),
    )?))
}

/// (epoch, accuracy) points of one curve.
type Curve = Vec<(f64, f64)>;

/// One per-epoch chart: for each configuration's lowest seed, `solid`
/// (with dots), `dashed` and, where recorded, `dotted` against the epoch.
struct EpochChart {
    stem: &'static str,
    title: &'static str,
    heading: &'static str,
    caption: String,
    y_desc: &'static str,
    /// Draw ×100 on a 0–100 axis.
    percent: bool,
    solid: &'static str,
    dashed: &'static str,
    dotted: Option<&'static str>,
}

fn epochs(runs: &Runs, out: &Path) -> Result<Option<Figure>> {
    epoch_chart(
        runs,
        out,
        &EpochChart {
            stem: "epochs",
            title: "Classifier training: accuracy per epoch",
            heading: "Accuracy per classifier epoch",
            caption: "Test accuracy (solid, dots), training accuracy (dashed) and, where a validation split is held out, validation accuracy (dotted) after each classifier epoch, lowest seed of each configuration (the report's Fig. 9).".into(),
            y_desc: "accuracy (%)",
            percent: true,
            solid: "test_accuracy",
            dashed: "train_accuracy",
            dotted: Some("val_accuracy"),
        },
    )
}

/// Training and validation loss per epoch (the seed notebooks' loss
/// curves), drawn only where some run recorded a validation loss.
fn losses(runs: &Runs, out: &Path) -> Result<Option<Figure>> {
    epoch_chart(
        runs,
        out,
        &EpochChart {
            stem: "losses",
            title: "Classifier training: loss per epoch",
            heading: "Loss per classifier epoch",
            caption: "Validation loss in evaluation mode (solid, dots) and the mean training loss over the epoch's batches (dashed), lowest seed of each configuration that holds out a validation split (the seed notebooks' `loss` and `val_loss`). Each kind's own loss: not comparable across readouts.".into(),
            y_desc: "loss",
            percent: false,
            solid: "val_loss",
            dashed: "train_loss",
            dotted: None,
        },
    )
}

fn epoch_chart(runs: &Runs, out: &Path, spec: &EpochChart) -> Result<Option<Figure>> {
    let mut series: Vec<(String, [Curve; 3])> = Vec::new();
    let k = if spec.percent { 100.0 } else { 1.0 };
    for c in runs.configs() {
        let Some(run) = runs
            .of_config(&c)
            .filter(|r| r.ok())
            .min_by_key(|r| r.seed())
        else {
            continue;
        };
        let e = run.floats("epoch");
        let pts = |col: Option<&str>| -> Vec<(f64, f64)> {
            let Some(col) = col else {
                return Vec::new();
            };
            e.iter()
                .zip(run.floats(col))
                .filter_map(|(e, v)| Some((e.as_ref().copied()?, k * v?)))
                .filter(|p| p.1.is_finite())
                .collect()
        };
        let curves = [
            pts(Some(spec.solid)),
            pts(Some(spec.dashed)),
            pts(spec.dotted),
        ];
        if curves[0].len() > 1 {
            series.push((c, curves));
        }
    }
    if series.is_empty() {
        return Ok(None);
    }
    let max_e = series
        .iter()
        .flat_map(|s| s.1[0].iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().flatten().map(|p| p.1))
        .collect();
    let (min, max) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (lo, hi) = if spec.percent {
        (
            ((min / 5.0).floor() * 5.0).max(0.0),
            ((max / 5.0).ceil() * 5.0).min(100.0),
        )
    } else {
        let pad = 0.05 * (max - min).max(1e-9);
        ((min - pad).max(0.0), max + pad)
    };
    let mut svg = String::new();
    let legend_h = 22 * series.len() as u32;
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 520 + legend_h)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let (top, bottom) = root.split_vertically(520);
        let mut chart = ChartBuilder::on(&top)
            .caption(spec.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .margin_right(30)
            .build_cartesian_2d(0.5..max_e + 0.5, lo..hi)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_labels((max_e as usize + 1).min(25))
            // Epochs are whole numbers: no label for a tick between two.
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .x_desc("classifier epoch")
            .y_desc(spec.y_desc)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(pe)?;
        for (i, (_, [solid, dashed, dotted])) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    solid.iter().cloned(),
                    color.stroke_width(2),
                ))
                .map_err(pe)?;
            if solid.len() <= 30 {
                chart
                    .draw_series(solid.iter().map(|p| Circle::new(*p, 3, color.filled())))
                    .map_err(pe)?;
            }
            for (curve, dash, gap) in [(dashed, 6, 4), (dotted, 2, 3)] {
                chart
                    .draw_series(DashedLineSeries::new(
                        curve.iter().cloned(),
                        dash,
                        gap,
                        color.stroke_width(1),
                    ))
                    .map_err(pe)?;
            }
        }
        // Legend below the plot, one line per configuration.
        for (i, (name, _)) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let y = 8 + 22 * i as i32;
            bottom
                .draw(&PathElement::new(
                    vec![(70, y + 7), (110, y + 7)],
                    color.stroke_width(2),
                ))
                .map_err(pe)?;
            bottom
                .draw(&Text::new(
                    name.clone(),
                    (120, y),
                    ("sans-serif", 13).into_font(),
                ))
                .map_err(pe)?;
        }
        root.present().map_err(pe)?;
    }
    Ok(Some(save_chart(
        out,
        spec.stem,
        svg,
        spec.heading,
        spec.caption.clone(),
    )?))
}

fn lines_learned(runs: &Runs, out: &Path) -> Result<Option<Figure>> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for c in runs.configs() {
        let mut acc: BTreeMap<u64, (f64, usize)> = BTreeMap::new();
        for r in runs.of_config(&c).filter(|r| r.ok()) {
            for col in r.columns() {
                if let Some(n) = col
                    .strip_prefix("s_lines_at_")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    if let Some(v) = r.last(&col) {
                        let e = acc.entry(n).or_insert((0.0, 0));
                        e.0 += v;
                        e.1 += 1;
                    }
                }
            }
        }
        if !acc.is_empty() {
            series.push((
                c,
                acc.into_iter()
                    .map(|(n, (s, k))| (n as f64, s / k as f64))
                    .collect(),
            ));
        }
    }
    if series.is_empty() {
        return Ok(None);
    }
    let max_x = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(1.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Földiák bars: lines learned", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..max_x, 0.0..max_y.ceil() + 1.0)
            .map_err(pe)?;
        chart
            .configure_mesh()
            .x_desc("training trials")
            .y_desc("lines learned (mean over seeds)")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(pe)?;
        lines_with_legend(&mut chart, &series, false)?;
        root.present().map_err(pe)?;
    }
    Ok(Some(save_chart(
        out,
        "lines_learned",
        svg,
        "Lines learned against trials",
        "Number of bars (rows + columns: 16 on the 8×8 grid, 32 on 16×16) that some unit has learned (strict criterion), mean over seeds, at each recorded trial count.".into(),
    )?))
}

/// A tile of an image grid: width, height and RGB values in [0, 1].
struct Tile {
    w: usize,
    h: usize,
    rgb: Vec<[f32; 3]>,
}

/// Each tile scaled to its own max |value|, diverging colours.
fn signed_tiles(data: &[f32], n: usize, h: usize, w: usize) -> Vec<Tile> {
    data.chunks(h * w)
        .take(n)
        .map(|t| {
            let m = t.iter().fold(1e-12f32, |a, v| a.max(v.abs()));
            Tile {
                w,
                h,
                rgb: t.iter().map(|v| super::specs::diverging(v / m)).collect(),
            }
        })
        .collect()
}

/// RGB tiles from `(n, 3, h, w)` data, each min–max normalised.
fn rgb_tiles(data: &[f32], n: usize, h: usize, w: usize) -> Vec<Tile> {
    data.chunks(3 * h * w)
        .take(n)
        .map(|t| {
            let (lo, hi) = t
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let s = (hi - lo).max(1e-12);
            let rgb = (0..h * w)
                .map(|p| [0, 1, 2].map(|c| (t[c * h * w + p] - lo) / s))
                .collect();
            Tile { w, h, rgb }
        })
        .collect()
}

/// Grey tiles scaled to [min, max] of each tile.
fn grey_tiles(data: &[f32], n: usize, h: usize, w: usize) -> Vec<Tile> {
    data.chunks(h * w)
        .take(n)
        .map(|t| {
            let (lo, hi) = t
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let s = (hi - lo).max(1e-12);
            Tile {
                w,
                h,
                rgb: t.iter().map(|v| [(v - lo) / s; 3]).collect(),
            }
        })
        .collect()
}

/// The scale a grid's shared-colour tiles were drawn on.
#[derive(Clone, Copy)]
enum ColourBar {
    /// Black at the first value, white at the second.
    Grey(f32, f32),
    /// Blue at −max, white at 0, red at +max.
    Signed(f32),
}

/// Writes a titled grid of tiles as PNG, with a colour bar at the right
/// when its tiles share one scale.
#[allow(clippy::too_many_arguments)]
fn grid(
    out: &Path,
    name: &str,
    title: &str,
    subtitle: &str,
    tiles: &[Tile],
    cols: usize,
    scale: usize,
    bar: Option<ColourBar>,
) -> Result<String> {
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols);
    let (tw, th) = (
        tiles.first().map_or(1, |t| t.w),
        tiles.first().map_or(1, |t| t.h),
    );
    let gap = 2 * scale.max(1);
    let (left, top) = (20usize, 70usize);
    let text_w = (title.chars().count() * 11).max(subtitle.chars().count() * 7) + 2 * left;
    let grid_w = left * 2 + cols * (tw * scale + gap);
    let bar_w = if bar.is_some() { 150 } else { 0 };
    let width = (grid_w + bar_w).max(text_w).max(520);
    let height =
        (top + rows * (th * scale + gap) + 20).max(if bar.is_some() { top + 250 } else { 0 });
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" shape-rendering=\"crispEdges\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"28\" font-family=\"sans-serif\" font-size=\"20\">{}</text>\
         <text x=\"{left}\" y=\"52\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#444\">{}</text>",
        xml(title),
        xml(subtitle)
    );
    for (i, t) in tiles.iter().enumerate() {
        let (gx, gy) = (
            left + (i % cols) * (tw * scale + gap),
            top + (i / cols) * (th * scale + gap),
        );
        for y in 0..t.h {
            for x in 0..t.w {
                let [r, g, b] =
                    t.rgb[y * t.w + x].map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
                s += &format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{scale}\" height=\"{scale}\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
                    gx + x * scale,
                    gy + y * scale
                );
            }
        }
    }
    if let Some(bar) = bar {
        let (x, y0, h, steps) = (grid_w + 10, top, 200usize, 100usize);
        let (lo, hi, label) = match bar {
            ColourBar::Grey(lo, hi) => (lo, hi, "grey: black → white"),
            ColourBar::Signed(m) => (-m, m, "blue < 0 < red"),
        };
        for k in 0..steps {
            let v = hi - (hi - lo) * (k as f32 + 0.5) / steps as f32;
            let rgb = match bar {
                ColourBar::Grey(lo, hi) => [(v - lo) / (hi - lo).max(1e-12); 3],
                ColourBar::Signed(m) => super::specs::diverging(v / m),
            };
            let [r, g, b] = rgb.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8);
            s += &format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
                y0 + k * h / steps,
                h / steps + 1
            );
        }
        s += &format!("<rect x=\"{x}\" y=\"{y0}\" width=\"16\" height=\"{h}\" fill=\"none\" stroke=\"#444\" stroke-width=\"0.5\"/>");
        for (frac, v) in [(0.0f32, hi), (0.5, (hi + lo) / 2.0), (1.0, lo)] {
            s += &format!(
                "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{v:.3}</text>",
                x + 20,
                y0 + (frac * h as f32) as usize + 4
            );
        }
        s += &format!(
            "<text x=\"{x}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{}</text>",
            y0 + h + 18,
            xml(label)
        );
    }
    s += "</svg>";
    let png = format!("{name}.png");
    svg_to_png(&s, &out.join(&png))?;
    Ok(png)
}

pub(super) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Draws one figure a kind described; an error names what is wrong with
/// its data.
fn render(
    spec: &FigureSpec,
    slug: &str,
    out: &Path,
) -> Result<std::result::Result<Figure, String>> {
    match spec {
        FigureSpec::Grid {
            stem,
            heading,
            caption,
            title,
            subtitle,
            tiles,
            cols,
            scale,
        } => {
            let mut all = Vec::new();
            for t in tiles {
                if let Err(e) = t.check() {
                    return Ok(Err(format!("{heading}: {e}")));
                }
                all.extend(match t.colour {
                    Colour::Rgb => rgb_tiles(&t.data, t.n, t.h, t.w),
                    Colour::SharedRgb { lo, hi } => t
                        .data
                        .chunks(3 * t.h * t.w)
                        .take(t.n)
                        .map(|tile| Tile {
                            w: t.w,
                            h: t.h,
                            rgb: (0..t.h * t.w)
                                .map(|p| {
                                    [0, 1, 2].map(|c| (tile[c * t.h * t.w + p] - lo) / (hi - lo))
                                })
                                .collect(),
                        })
                        .collect(),
                    Colour::Signed => signed_tiles(&t.data, t.n, t.h, t.w),
                    Colour::Grey => grey_tiles(&t.data, t.n, t.h, t.w),
                    Colour::SharedGrey { lo, hi } => t
                        .data
                        .chunks(t.h * t.w)
                        .take(t.n)
                        .map(|tile| Tile {
                            w: t.w,
                            h: t.h,
                            rgb: tile
                                .iter()
                                .map(|v| [(v - lo) / (hi - lo).max(1e-12); 3])
                                .collect(),
                        })
                        .collect(),
                    Colour::SharedSigned { max } => t
                        .data
                        .chunks(t.h * t.w)
                        .take(t.n)
                        .map(|tile| Tile {
                            w: t.w,
                            h: t.h,
                            rgb: tile
                                .iter()
                                .map(|v| super::specs::diverging(v / max))
                                .collect(),
                        })
                        .collect(),
                });
            }
            let bar = tiles.iter().find_map(|t| match t.colour {
                Colour::SharedGrey { lo, hi } | Colour::SharedRgb { lo, hi } => {
                    Some(ColourBar::Grey(lo, hi))
                }
                Colour::SharedSigned { max } => Some(ColourBar::Signed(max)),
                _ => None,
            });
            let png = grid(
                out,
                &format!("{stem}_{slug}"),
                title,
                subtitle,
                &all,
                *cols,
                *scale,
                bar,
            )?;
            Ok(Ok(Figure {
                title: heading.clone(),
                caption: caption.clone(),
                png,
                svg: None,
                table: None,
            }))
        }
        FigureSpec::Heatmaps {
            stem,
            heading,
            caption,
            title,
            panels,
            cols,
            cell,
            scale,
            legend,
        } => {
            if panels.is_empty() {
                return Ok(Err(format!("{heading}: no panels")));
            }
            if let Some(e) = panels.iter().find_map(|p| p.check().err()) {
                return Ok(Err(format!("{heading}: {e}")));
            }
            Ok(Ok(super::specs::heatmaps(
                out,
                &format!("{stem}_{slug}"),
                heading,
                caption,
                title,
                panels,
                *cols,
                *cell,
                scale,
                legend,
            )?))
        }
        FigureSpec::Chart {
            stem,
            heading,
            caption,
            title,
            panels,
            cols,
        } => {
            if panels.is_empty() {
                return Ok(Err(format!("{heading}: no panels")));
            }
            if let Some(e) = panels.iter().find_map(|p| p.body.check().err()) {
                return Ok(Err(format!("{heading}: {e}")));
            }
            Ok(Ok(super::specs::chart(
                out,
                &format!("{stem}_{slug}"),
                heading,
                caption,
                title,
                panels,
                *cols,
            )?))
        }
        FigureSpec::Table {
            stem,
            heading,
            caption,
            header,
            rows,
        } => {
            if rows.iter().any(|r| r.len() != header.len()) {
                return Ok(Err(format!(
                    "{heading}: a row's cells do not match the header"
                )));
            }
            let csv = format!("{stem}_{slug}.csv");
            let table = super::tables::Table {
                header: header.clone(),
                rows: rows.clone(),
            };
            crate::atomic::write_bytes(&out.join(&csv), table.csv().as_bytes())?;
            Ok(Ok(Figure {
                title: heading.clone(),
                caption: caption.clone(),
                png: csv,
                svg: None,
                table: Some(table.markdown()),
            }))
        }
        FigureSpec::Histograms {
            stem,
            heading,
            caption,
            title,
            layers,
            cols,
        } => {
            if layers
                .iter()
                .any(|l| l.counts.is_empty() || l.lo.partial_cmp(&l.hi).is_none_or(|o| o.is_gt()))
            {
                return Ok(Err(format!(
                    "{heading}: a histogram with no bins or a reversed range"
                )));
            }
            Ok(Ok(histograms(
                out,
                &format!("{stem}_{slug}"),
                heading,
                caption,
                title,
                layers,
                *cols,
            )?))
        }
    }
}

fn histograms(
    out: &Path,
    name: &str,
    heading: &str,
    caption: &str,
    title: &str,
    hists: &[Histogram],
    cols: usize,
) -> Result<Figure> {
    let n = hists.len();
    let cols = cols.clamp(1, n.max(1));
    let rows = n.div_ceil(cols);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (300 * cols as u32 + 20, 60 + 260 * rows as u32))
                .into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(pe)?;
        let areas = root.split_evenly((rows, cols));
        for (hist, area) in hists.iter().zip(areas.iter()) {
            let counts = &hist.counts;
            let (lo, hi) = (hist.lo as f64, hist.hi as f64);
            let bins = counts.len();
            let width = (hi - lo).max(1e-12) / bins as f64;
            let top = counts.iter().cloned().fold(1.0f32, f32::max) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(&hist.label, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(lo..hi + 1e-9, 0.0..top * 1.05)
                .map_err(pe)?;
            chart
                .configure_mesh()
                .x_desc("weight value")
                .y_desc("count")
                .x_labels(4)
                .y_labels(4)
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(pe)?;
            chart
                .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                    let x = lo + b as f64 * width;
                    Rectangle::new([(x, 0.0), (x + width, c as f64)], BLUE.mix(0.6).filled())
                }))
                .map_err(pe)?;
        }
        root.present().map_err(pe)?;
    }
    save_chart(out, name, svg, heading, caption.to_string())
}
