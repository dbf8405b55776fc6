//! Renderers of the figure kinds a run's artefacts describe beyond tile
//! grids and histograms: heatmaps on one stated colour scale with a colour
//! bar, chart panels (bars, box plots, lines) and tables.

use plotters::prelude::*;
use std::path::Path;

use super::plots::{pe, save_chart, svg_to_png, xml, Figure};
use crate::error::Result;
use crate::experiments::figures::{ChartBody, ChartPanel, HeatScale, Panel};

/// −1 → blue, 0 → white, +1 → red.
pub fn diverging(v: f32) -> [f32; 3] {
    let v = v.clamp(-1.0, 1.0);
    if v >= 0.0 {
        [1.0, 1.0 - v, 1.0 - v]
    } else {
        [1.0 + v, 1.0 + v, 1.0]
    }
}

/// 0 → white, 1 → dark blue.
fn sequential(v: f32) -> [f32; 3] {
    let v = v.clamp(0.0, 1.0);
    let dark = [0.03, 0.19, 0.42];
    [0, 1, 2].map(|c| 1.0 + v * (dark[c] - 1.0))
}

fn hex(rgb: [f32; 3]) -> String {
    let [r, g, b] = rgb.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Short numbers for colour-bar ticks.
fn tick(v: f32) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Panels of cells in a grid, one colour scale for all, a colour bar at the
/// right; under [`HeatScale::Counts`] every cell shows its value and the
/// axes carry tick names. PNG only.
#[allow(clippy::too_many_arguments)]
pub fn heatmaps(
    out: &Path,
    name: &str,
    heading: &str,
    caption: &str,
    title: &str,
    panels: &[Panel],
    cols: usize,
    cell: usize,
    scale: &HeatScale,
    legend: &str,
) -> Result<Figure> {
    let cols = cols.clamp(1, panels.len().max(1));
    let cell = cell.max(1);
    let (pw, ph) = panels.iter().fold((0, 0), |(w, h), p| {
        (w.max(p.cols * cell), h.max(p.rows * cell))
    });
    let (lo, hi) = match scale {
        HeatScale::Symmetric => {
            let m = panels
                .iter()
                .flat_map(|p| &p.data)
                .fold(0f32, |a, v| a.max(v.abs()))
                .max(1e-12);
            (-m, m)
        }
        HeatScale::Counts { .. } => (
            0.0,
            panels
                .iter()
                .flat_map(|p| &p.data)
                .fold(0f32, |a, &v| a.max(v))
                .max(1e-12),
        ),
    };
    let colour = |v: f32| match scale {
        HeatScale::Symmetric => diverging(v / hi),
        HeatScale::Counts { .. } => sequential(v / hi),
    };
    let counts = matches!(scale, HeatScale::Counts { .. });
    // Room for tick names and axis titles on a confusion matrix.
    let (left, bottom) = if counts { (110, 90) } else { (20, 10) };
    let top = 60;
    let label_h = if panels.iter().any(|p| !p.label.is_empty()) {
        18
    } else {
        0
    };
    let gap = 12;
    let rows = panels.len().div_ceil(cols);
    let grid_w = cols * (pw + gap);
    let bar_x = left + grid_w + 20;
    let width = (bar_x + 130).max(title.chars().count() * 10 + 40);
    let height = (top + rows * (ph + label_h + gap) + bottom).max(top + 240);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"20\" y=\"30\" font-family=\"sans-serif\" font-size=\"18\">{}</text>",
        xml(title)
    );
    for (i, p) in panels.iter().enumerate() {
        let gx = left + (i % cols) * (pw + gap);
        let gy = top + (i / cols) * (ph + label_h + gap);
        if !p.label.is_empty() {
            s += &format!(
                "<text x=\"{gx}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\">{}</text>",
                gy + 13,
                xml(&p.label)
            );
        }
        let gy = gy + label_h;
        for r in 0..p.rows {
            for c in 0..p.cols {
                let v = p.data[r * p.cols + c];
                let (x, y) = (gx + c * cell, gy + r * cell);
                s += &format!(
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{}\" shape-rendering=\"crispEdges\"/>",
                    hex(colour(v))
                );
                if counts {
                    let ink = if v / hi > 0.55 { "white" } else { "black" };
                    s += &format!(
                        "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\" text-anchor=\"middle\" fill=\"{ink}\">{v:.0}</text>",
                        x + cell / 2,
                        y + cell / 2 + 4
                    );
                }
            }
        }
        s += &format!(
            "<rect x=\"{gx}\" y=\"{gy}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\" stroke-width=\"0.5\"/>",
            p.cols * cell,
            p.rows * cell
        );
        if let HeatScale::Counts { axes, ticks } = scale {
            for (j, t) in ticks.iter().enumerate().take(p.rows) {
                s += &format!(
                    "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"end\">{}</text>",
                    gx - 6,
                    gy + j * cell + cell / 2 + 4,
                    xml(t)
                );
            }
            for (j, t) in ticks.iter().enumerate().take(p.cols) {
                let (x, y) = (gx + j * cell + cell / 2, gy + p.rows * cell + 8);
                s += &format!(
                    "<text x=\"{x}\" y=\"{y}\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"end\" transform=\"rotate(-45 {x} {y})\">{}</text>",
                    xml(t)
                );
            }
            s += &format!(
                "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"13\" text-anchor=\"middle\">{}</text>",
                gx + p.cols * cell / 2,
                gy + p.rows * cell + 70,
                xml(&axes.0)
            );
            let (x, y) = (gx - 85, gy + p.rows * cell / 2);
            s += &format!(
                "<text x=\"{x}\" y=\"{y}\" font-family=\"sans-serif\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 {x} {y})\">{}</text>",
                xml(&axes.1)
            );
        }
    }
    // The colour bar: 100 steps from the top (high) down to the bottom.
    let (bar_top, bar_h, steps) = (top + label_h, 200usize, 100usize);
    for k in 0..steps {
        let v = hi - (hi - lo) * (k as f32 + 0.5) / steps as f32;
        s += &format!(
            "<rect x=\"{bar_x}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"{}\" shape-rendering=\"crispEdges\"/>",
            bar_top + k * bar_h / steps,
            bar_h / steps + 1,
            hex(colour(v))
        );
    }
    s += &format!(
        "<rect x=\"{bar_x}\" y=\"{bar_top}\" width=\"16\" height=\"{bar_h}\" fill=\"none\" stroke=\"#444\" stroke-width=\"0.5\"/>"
    );
    for (frac, v) in [(0.0, hi), (0.5, (hi + lo) / 2.0), (1.0, lo)] {
        let y = bar_top + (frac * bar_h as f32) as usize;
        s += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"11\">{}</text>",
            bar_x + 20,
            y + 4,
            xml(&if counts { format!("{v:.0}") } else { tick(v) })
        );
    }
    s += &format!(
        "<text x=\"{bar_x}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"12\">{}</text>",
        bar_top + bar_h + 20,
        xml(legend)
    );
    s += "</svg>";
    let png = format!("{name}.png");
    svg_to_png(&s, &out.join(&png))?;
    Ok(Figure {
        title: heading.into(),
        caption: caption.into(),
        png,
        svg: None,
        table: None,
    })
}

/// Chart panels in a grid (SVG and PNG).
pub fn chart(
    out: &Path,
    name: &str,
    heading: &str,
    caption: &str,
    title: &str,
    panels: &[ChartPanel],
    cols: usize,
) -> Result<Figure> {
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols);
    let scatter = panels
        .iter()
        .any(|p| matches!(p.body, ChartBody::Scatter { .. }));
    let (pw, ph): (u32, u32) = match (scatter, cols) {
        (true, _) => (720, 640),
        (false, 1) => (960, 320),
        _ => (440, 320),
    };
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (pw * cols as u32 + 20, 50 + ph * rows as u32))
                .into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        let root = root.titled(title, ("sans-serif", 18)).map_err(pe)?;
        let areas = root.split_evenly((rows, cols));
        for (p, area) in panels.iter().zip(areas.iter()) {
            panel(p, area)?;
        }
        root.present().map_err(pe)?;
    }
    save_chart(out, name, svg, heading, caption.to_string())
}

fn span(lo: f32, hi: f32) -> (f64, f64) {
    let (lo, hi) = (lo as f64, hi as f64);
    let pad = ((hi - lo).abs() * 0.08).max(1e-9);
    (lo - pad, hi + pad)
}

type Axes<'a> = ChartContext<
    'a,
    SVGBackend<'a>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One panel's chart: caption, ranges, axis titles, and `x_labels` ticks
/// named by `x_fmt`.
fn axes<'a>(
    area: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    caption: &str,
    p: &ChartPanel,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    x_labels: usize,
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<Axes<'a>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 13))
        .margin(8)
        .x_label_area_size(35)
        .y_label_area_size(75)
        .build_cartesian_2d(x, y)
        .map_err(pe)?;
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .x_labels(x_labels)
        .x_label_formatter(x_fmt)
        .y_labels(5)
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(pe)?;
    Ok(chart)
}

fn panel(p: &ChartPanel, area: &DrawingArea<SVGBackend, plotters::coord::Shift>) -> Result<()> {
    let fold = |v: &mut dyn Iterator<Item = f32>| {
        v.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
    };
    match &p.body {
        ChartBody::Bars(series) => {
            let n = series[0].1.len();
            let (lo, hi) = fold(&mut series.iter().flat_map(|s| s.1.iter().copied()));
            let (lo, hi) = span(lo.min(0.0), hi.max(0.0));
            // Headroom above the tallest bar for the legend (upper right),
            // so that it never hides a bar.
            let hi = hi + 0.35 * (hi - lo);
            let mut chart = axes(area, &p.label, p, (-0.5..n as f64 - 0.5, lo..hi), 8, &|v| {
                format!("{v:.0}")
            })?;
            let k = series.len() as f64;
            let width = 0.8 / k;
            for (j, (label, v)) in series.iter().enumerate() {
                let colour = Palette99::pick(j).to_rgba();
                chart
                    .draw_series(v.iter().enumerate().map(|(i, &y)| {
                        // Series of one sign share the slot; mixed ones split it.
                        let x0 = i as f64 - 0.4
                            + if k > 1.0 && same_sign(series) {
                                j as f64 * width
                            } else {
                                0.0
                            };
                        let w = if k > 1.0 && same_sign(series) {
                            width
                        } else {
                            0.8
                        };
                        Rectangle::new([(x0, 0.0), (x0 + w, y as f64)], colour.filled())
                    }))
                    .map_err(pe)?
                    .label(label.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                    });
            }
            legend(&mut chart)?;
        }
        ChartBody::Boxes {
            ticks,
            boxes,
            whiskers,
        } => {
            let (lo, hi) = fold(&mut boxes.iter().flat_map(|b| b.iter().copied()));
            let (lo, hi) = span(lo, hi);
            let n = boxes.len();
            let ticks = ticks.clone();
            let caption = format!(
                "{} (box: quartiles and median; whiskers: {whiskers})",
                p.label
            );
            let name = |v: &f64| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    ticks.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let mut chart = axes(
                area,
                &caption,
                p,
                (-0.5..n as f64 - 0.5, lo..hi),
                n.min(12) + 1,
                &name,
            )?;
            let colour = Palette99::pick(0).to_rgba();
            for (i, b) in boxes.iter().enumerate() {
                let x = i as f64;
                let [w0, q1, med, q3, w1] = b.map(|v| v as f64);
                chart
                    .draw_series([
                        PathElement::new(vec![(x, w0), (x, q1)], BLACK.stroke_width(1)),
                        PathElement::new(vec![(x, q3), (x, w1)], BLACK.stroke_width(1)),
                        PathElement::new(
                            vec![(x - 0.15, w0), (x + 0.15, w0)],
                            BLACK.stroke_width(1),
                        ),
                        PathElement::new(
                            vec![(x - 0.15, w1), (x + 0.15, w1)],
                            BLACK.stroke_width(1),
                        ),
                    ])
                    .map_err(pe)?;
                chart
                    .draw_series([Rectangle::new(
                        [(x - 0.3, q1), (x + 0.3, q3)],
                        colour.mix(0.5).filled(),
                    )])
                    .map_err(pe)?;
                chart
                    .draw_series([PathElement::new(
                        vec![(x - 0.3, med), (x + 0.3, med)],
                        BLACK.stroke_width(2),
                    )])
                    .map_err(pe)?;
            }
        }
        ChartBody::Scatter { x, y, group, names } => {
            let (x0, x1) = fold(&mut x.iter().copied());
            let (y0, y1) = fold(&mut y.iter().copied());
            let (x0, x1) = span(x0, x1);
            let (y0, y1) = span(y0, y1);
            let mut chart = axes(area, &p.label, p, (x0..x1, y0..y1), 5, &|v| {
                format!("{v:.1}")
            })?;
            for (g, name) in names.iter().enumerate() {
                let colour = Palette99::pick(g).to_rgba();
                let pts: Vec<(f64, f64)> = (0..x.len())
                    .filter(|&i| group[i] == g)
                    .map(|i| (x[i] as f64, y[i] as f64))
                    .collect();
                chart
                    .draw_series(
                        pts.into_iter()
                            .map(|p| Circle::new(p, 2, colour.mix(0.7).filled())),
                    )
                    .map_err(pe)?
                    .label(name.as_str())
                    .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
            }
            legend(&mut chart)?;
        }
        ChartBody::Lines { x, series } => {
            let (x0, x1) = fold(&mut x.iter().copied());
            let (lo, hi) = fold(&mut series.iter().flat_map(|s| s.1.iter().copied()));
            let (x0, x1) = span(x0, x1);
            let (lo, hi) = span(lo, hi);
            let mut chart = axes(area, &p.label, p, (x0..x1, lo..hi), 6, &|v| format!("{v}"))?;
            for (j, (label, v)) in series.iter().enumerate() {
                let colour = Palette99::pick(j).to_rgba();
                let pts: Vec<(f64, f64)> = x
                    .iter()
                    .zip(v)
                    .map(|(&a, &b)| (a as f64, b as f64))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                    .map_err(pe)?
                    .label(label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], colour.stroke_width(2))
                    });
                chart
                    .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                    .map_err(pe)?;
            }
            legend(&mut chart)?;
        }
    }
    Ok(())
}

fn same_sign(series: &[(String, Vec<f32>)]) -> bool {
    let sign = |v: &[f32]| {
        if v.iter().all(|x| *x >= 0.0) {
            1
        } else if v.iter().all(|x| *x <= 0.0) {
            -1
        } else {
            0
        }
    };
    let s0 = sign(&series[0].1);
    s0 != 0 && series.iter().all(|s| sign(&s.1) == s0)
}

fn legend(chart: &mut Axes<'_>) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 11))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(pe)
}
