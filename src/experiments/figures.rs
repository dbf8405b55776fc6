//! Figures a kind draws from its runs' artefacts, as data: each kind says
//! which arrays to draw and how ([`super::Experiment::figures`]), and the
//! report renders them, so a new kind's figure never means editing the
//! report. Every artefact's shape is checked here, so that a foreign or
//! damaged file is named and skipped instead of indexed blindly.

use std::collections::BTreeMap;

/// How a grid colours its tiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colour {
    /// `(n, 3, h, w)` data as RGB, each tile min–max scaled.
    Rgb,
    /// Blue < 0 < red, each tile scaled to its own max |value|.
    Signed,
    /// Grey, each tile min–max scaled.
    Grey,
    /// `(n, 3, h, w)` data as RGB, one min–max scale over every tile and
    /// channel (seed 001's `draw_weights`; the grid's colour bar shows the
    /// range each channel's intensity spans).
    SharedRgb {
        /// Value drawn at zero intensity.
        lo: f32,
        /// Value drawn at full intensity.
        hi: f32,
    },
    /// Grey from black at `lo` to white at `hi`, one scale for every tile
    /// (the grid draws its colour bar).
    SharedGrey {
        /// Value drawn black.
        lo: f32,
        /// Value drawn white.
        hi: f32,
    },
    /// Blue < 0 < red at ±`max`, one scale for every tile (with a colour
    /// bar).
    SharedSigned {
        /// The |value| drawn at full colour.
        max: f32,
    },
}

impl Colour {
    /// One scale over every tile of `data`: grey from its minimum to its
    /// maximum, or signed at its largest |value|.
    pub fn shared(data: &[f32], signed: bool) -> Colour {
        Self::shared_as(data, signed, false)
    }

    /// [`Colour::shared`], or for RGB tiles ([`Colour::SharedRgb`]) one
    /// min–max over all of `data`.
    pub fn shared_as(data: &[f32], signed: bool, rgb: bool) -> Colour {
        let (lo, hi) = data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        if rgb {
            Colour::SharedRgb {
                lo,
                hi: hi.max(lo + 1e-12),
            }
        } else if signed {
            Colour::SharedSigned {
                max: lo.abs().max(hi.abs()).max(1e-12),
            }
        } else {
            Colour::SharedGrey {
                lo,
                hi: hi.max(lo + 1e-12),
            }
        }
    }
}

/// The first units of a weight matrix (`units × d`, a unit a row) that
/// [`weight_tapestries`] draws: up to `rgb_units` of RGB images (400 give
/// seed 001's 20×20 grid), 100 otherwise.
pub fn tapestry_artefact(
    w: &candle_core::Tensor,
    rgb_units: usize,
) -> crate::error::Result<super::Artefact> {
    let (units, d) = w.dims2()?;
    let shown = units.min(if d == 3072 { rgb_units } else { 100 });
    Ok(super::Artefact {
        name: "w_tapestry".into(),
        shape: vec![shown, d],
        data: w.narrow(0, 0, shown)?.flatten_all()?.to_vec1()?,
    })
}

/// [`weight_tapestries`] of a run's saved `w_tapestry` (or, in older
/// results, `w_first100`); none when it saved neither.
pub fn saved_tapestries(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    what: &str,
) -> std::result::Result<Vec<FigureSpec>, String> {
    let saved = match arts.get("w_tapestry", 2)? {
        Some(w) => Some(w),
        None => arts.get("w_first100", 2)?,
    };
    Ok(saved
        .map(|(shape, w)| weight_tapestries(shape, w, config, seed, what))
        .unwrap_or_default())
}

/// The weight tapestries of `shape[0]` units of `shape[1]` pixels (the
/// paper's Fig. 3 style): the first 100 in a 10×10 grid and, for RGB images
/// with 400 units saved, seed 001's 20×20 grid. One colour scale per grid:
/// signed for grey images, one min–max over the grid for RGB (seed 001's
/// `draw_weights`).
pub fn weight_tapestries(
    shape: &[usize],
    w: &[f32],
    config: &str,
    seed: u64,
    what: &str,
) -> Vec<FigureSpec> {
    let d = shape[1];
    let rgb = d == 3072;
    let side = (d as f64).sqrt() as usize;
    let (h, wd) = if rgb { (32, 32) } else { (side, side) };
    let mut grids = vec![(shape[0].min(100), 10, "tapestry", 3)];
    if rgb && shape[0] >= 400 {
        grids.push((400, 20, "tapestry400", 2));
    }
    grids
        .into_iter()
        .map(|(n, cols, stem, scale)| {
            let data = w[..n * d].to_vec();
            let colour = Colour::shared_as(&data, true, rgb);
            let scale_note = if rgb {
                "RGB, one min–max scale over every unit and channel (seed 001's draw_weights); the bar: each channel's value at zero to full intensity"
            } else {
                "blue < 0 < red, one scale for every unit"
            };
            FigureSpec::Grid {
                stem: stem.into(),
                heading: format!("Weight tapestry ({cols}×{cols}): {config}"),
                caption: format!("{what}, drawn as images (the paper's Fig. 3 style)."),
                title: format!("{config}: weights of the first {n} hidden units"),
                subtitle: format!("seed {seed}; {scale_note}"),
                tiles: vec![Tiles {
                    colour,
                    data,
                    n,
                    h,
                    w: wd,
                }],
                cols,
                scale,
            }
        })
        .collect()
}

/// `n` tiles of `h × w` pixels (times 3 for [`Colour::Rgb`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Tiles {
    /// How the tiles are coloured.
    pub colour: Colour,
    /// The values, tile after tile.
    pub data: Vec<f32>,
    /// Tile count.
    pub n: usize,
    /// Tile height.
    pub h: usize,
    /// Tile width.
    pub w: usize,
}

impl Tiles {
    /// Values one tile takes.
    pub fn tile_len(&self) -> usize {
        let rgb = matches!(self.colour, Colour::Rgb | Colour::SharedRgb { .. });
        self.h * self.w * if rgb { 3 } else { 1 }
    }

    /// Whether the data holds the tiles it claims.
    pub fn check(&self) -> Result<(), String> {
        if self.n == 0 || self.h == 0 || self.w == 0 || self.data.len() < self.n * self.tile_len() {
            return Err(format!(
                "{} values cannot hold {} tiles of {}×{}",
                self.data.len(),
                self.n,
                self.h,
                self.w
            ));
        }
        Ok(())
    }
}

/// One layer's histogram: counts over equal bins between `lo` and `hi`.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// The panel's caption.
    pub label: String,
    /// Count per bin.
    pub counts: Vec<f32>,
    /// Left edge of the first bin.
    pub lo: f32,
    /// Right edge of the last bin.
    pub hi: f32,
}

/// One 2-D array of a [`FigureSpec::Heatmaps`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The panel's caption.
    pub label: String,
    /// Rows (drawn top to bottom).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// How a heatmap figure maps values to colours: always one scale for all
/// its panels, drawn as a colour bar, so that panels compare.
#[derive(Debug, Clone, PartialEq)]
pub enum HeatScale {
    /// Blue < 0 < red, symmetric about zero at the largest |value|.
    Symmetric,
    /// White at 0 to dark blue at the largest value, each cell's value
    /// written in it; `ticks` name the columns (bottom) and rows (left).
    Counts {
        /// Axis titles: columns, rows.
        axes: (String, String),
        /// Tick labels of both axes.
        ticks: Vec<String>,
    },
}

/// One panel of a [`FigureSpec::Chart`]: named series over a shared x.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPanel {
    /// The panel's caption.
    pub label: String,
    /// x-axis title.
    pub x_desc: String,
    /// y-axis title.
    pub y_desc: String,
    /// What is drawn.
    pub body: ChartBody,
}

/// What a chart panel draws.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartBody {
    /// Bars at x = 0, 1, …, one colour per series (a series of negative
    /// values hangs below zero).
    Bars(Vec<(String, Vec<f32>)>),
    /// Box plots at x = 0, 1, …: `[low whisker, q1, median, q3, high
    /// whisker]` each, labelled by the strings.
    Boxes {
        /// Tick label per box.
        ticks: Vec<String>,
        /// The five values of each box.
        boxes: Vec<[f32; 5]>,
        /// What the whiskers mark, for the legend.
        whiskers: String,
    },
    /// Points coloured by group, with a legend of the group names.
    Scatter {
        /// x of each point.
        x: Vec<f32>,
        /// y of each point.
        y: Vec<f32>,
        /// Each point's group (an index into `names`).
        group: Vec<usize>,
        /// Group names.
        names: Vec<String>,
    },
    /// Lines with dots over `x`, one per series.
    Lines {
        /// The shared x values.
        x: Vec<f32>,
        /// Named y series, as long as `x`.
        series: Vec<(String, Vec<f32>)>,
    },
}

impl ChartBody {
    /// Whether the data draws: non-empty, finite and of matching lengths.
    pub fn check(&self) -> Result<(), String> {
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        let ok = match self {
            ChartBody::Bars(series) => {
                !series.is_empty()
                    && series.iter().all(|(_, v)| !v.is_empty() && finite(v))
                    && series.iter().all(|(_, v)| v.len() == series[0].1.len())
            }
            ChartBody::Boxes { ticks, boxes, .. } => {
                !boxes.is_empty() && ticks.len() == boxes.len() && boxes.iter().all(|b| finite(b))
            }
            ChartBody::Scatter { x, y, group, names } => {
                !x.is_empty()
                    && x.len() == y.len()
                    && x.len() == group.len()
                    && finite(x)
                    && finite(y)
                    && group.iter().all(|&g| g < names.len())
            }
            ChartBody::Lines { x, series } => {
                !x.is_empty()
                    && finite(x)
                    && series.iter().all(|(_, v)| v.len() == x.len() && finite(v))
            }
        };
        if ok {
            Ok(())
        } else {
            Err("a chart with no points, non-finite values or mismatched lengths".into())
        }
    }
}

/// A figure the report renders.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureSpec {
    /// Panels of 2-D arrays on one colour scale with a colour bar (PNG).
    Heatmaps {
        /// File stem; the report appends the configuration's slug.
        stem: String,
        /// The report's heading for it.
        heading: String,
        /// The report's caption under the heading.
        caption: String,
        /// Title drawn in the image.
        title: String,
        /// The arrays.
        panels: Vec<Panel>,
        /// Panels per row.
        cols: usize,
        /// Pixels per cell.
        cell: usize,
        /// The colour scale.
        scale: HeatScale,
        /// The colour bar's title (what the values are).
        legend: String,
    },
    /// Chart panels in a grid (SVG and PNG).
    Chart {
        /// File stem; the report appends the configuration's slug.
        stem: String,
        /// The report's heading for it.
        heading: String,
        /// The report's caption under the heading.
        caption: String,
        /// Title drawn in the image.
        title: String,
        /// The panels.
        panels: Vec<ChartPanel>,
        /// Panels per row.
        cols: usize,
    },
    /// A table written into the report (Markdown, and CSV beside it).
    Table {
        /// File stem of the CSV; the report appends the configuration's slug.
        stem: String,
        /// The report's heading for it.
        heading: String,
        /// The report's caption under the heading.
        caption: String,
        /// Column names.
        header: Vec<String>,
        /// Cells, row after row.
        rows: Vec<Vec<String>>,
    },
    /// A titled grid of image tiles (PNG).
    Grid {
        /// File stem; the report appends the configuration's slug.
        stem: String,
        /// The report's heading for it.
        heading: String,
        /// The report's caption under the heading.
        caption: String,
        /// Title drawn in the image.
        title: String,
        /// Subtitle drawn in the image (seed, scaling).
        subtitle: String,
        /// Tile sets, drawn one after the other.
        tiles: Vec<Tiles>,
        /// Tiles per row.
        cols: usize,
        /// Pixels per value.
        scale: usize,
    },
    /// One histogram panel per layer (SVG and PNG).
    Histograms {
        /// File stem; the report appends the configuration's slug.
        stem: String,
        /// The report's heading for it.
        heading: String,
        /// The report's caption under the heading.
        caption: String,
        /// Title drawn in the image.
        title: String,
        /// The panels.
        layers: Vec<Histogram>,
        /// Panels per row.
        cols: usize,
    },
}

impl Panel {
    /// Whether the data fills the panel and is finite.
    pub fn check(&self) -> Result<(), String> {
        if self.rows == 0
            || self.cols == 0
            || self.data.len() != self.rows * self.cols
            || self.data.iter().any(|v| !v.is_finite())
        {
            return Err(format!(
                "panel `{}`: {} values cannot fill {}×{} finite cells",
                self.label,
                self.data.len(),
                self.rows,
                self.cols
            ));
        }
        Ok(())
    }
}

/// A run's artefacts as shapes and values.
#[derive(Debug, Clone, Default)]
pub struct Artefacts(BTreeMap<String, (Vec<usize>, Vec<f32>)>);

/// A shape-checked artefact: dims and values.
pub type Array<'a> = (&'a [usize], &'a [f32]);

impl Artefacts {
    /// Wraps arrays read from a run's artefact file.
    pub fn new(map: BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Self {
        Artefacts(map)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many arrays there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether array `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The rank of array `name`, when present.
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.0.get(name).map(|(shape, _)| shape.len())
    }

    /// Array `name` when present; an error when it is not `rank`-dimensional,
    /// has an empty dimension or its values do not fill its shape.
    pub fn get(&self, name: &str, rank: usize) -> Result<Option<Array<'_>>, String> {
        let Some((shape, data)) = self.0.get(name) else {
            return Ok(None);
        };
        if shape.len() != rank
            || shape.contains(&0)
            || shape.iter().product::<usize>() != data.len()
        {
            return Err(format!(
                "artefact `{name}` has shape {shape:?} and {} values; expected {rank} non-empty dimensions",
                data.len()
            ));
        }
        Ok(Some((shape.as_slice(), data.as_slice())))
    }
}

/// The class-cluster embedding of test features (`embedding`,
/// `embedding_labels`, `embedding_scores` = k, k-NN accuracy full and 2-D,
/// silhouette full and 2-D), coloured by class.
pub fn embedding_figure(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    classes: &[&str],
) -> Result<Option<FigureSpec>, String> {
    let (Some((shape, xy)), Some((_, labels)), Some((_, sc))) = (
        arts.get("embedding", 2)?,
        arts.get("embedding_labels", 1)?,
        arts.get("embedding_scores", 1)?,
    ) else {
        return Ok(None);
    };
    let n = shape[0];
    if shape[1] != 2 || labels.len() != n || sc.len() != 5 {
        return Err("the embedding artefacts do not match".into());
    }
    let k = labels.iter().fold(0f32, |a, &v| a.max(v)) as usize + 1;
    let names: Vec<String> = (0..k.max(classes.len()))
        .map(|c| {
            classes
                .get(c)
                .map_or_else(|| c.to_string(), |s| s.to_string())
        })
        .collect();
    Ok(Some(FigureSpec::Chart {
        stem: "clusters".into(),
        heading: format!("Class clusters of the test features: {config}"),
        caption: format!(
            "t-SNE (Barnes–Hut, `bhtsne`, perplexity 30) of {n} test images' standardised final features, stratified over classes, seed {seed} (the report's Figs. 19, 20, 29). Leave-one-out {k}-NN accuracy: {:.1}% in the full feature space, {:.1}% in the embedding; silhouette by class: {:.3} full, {:.3} in the embedding.",
            100.0 * sc[1],
            100.0 * sc[2],
            sc[3],
            sc[4],
            k = sc[0] as usize
        ),
        title: format!("{config}: t-SNE of test features (seed {seed})"),
        panels: vec![ChartPanel {
            label: format!("{n} test images, {}-NN accuracy {:.1}% (2-D)", sc[0] as usize, 100.0 * sc[2]),
            x_desc: "t-SNE 1".into(),
            y_desc: "t-SNE 2".into(),
            body: ChartBody::Scatter {
                x: xy.iter().step_by(2).copied().collect(),
                y: xy.iter().skip(1).step_by(2).copied().collect(),
                group: labels.iter().map(|&v| v as usize).collect(),
                names,
            },
        }],
        cols: 1,
    }))
}

/// The test confusion matrix of the final classifier epoch (the runner's
/// `test_confusion` artefact), for every kind that keeps one; `classes`
/// names the rows and columns (their indices when empty).
pub fn confusion_figure(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    classes: &[&str],
) -> Result<Option<FigureSpec>, String> {
    let Some((shape, cm)) = arts.get("test_confusion", 2)? else {
        return Ok(None);
    };
    let k = shape[0];
    if shape[1] != k {
        return Err(format!(
            "artefact `test_confusion` is {shape:?}, not square"
        ));
    }
    let ticks = (0..k)
        .map(|c| match classes.get(c) {
            Some(name) if classes.len() == k => name.to_string(),
            _ => c.to_string(),
        })
        .collect();
    let total: f32 = cm.iter().sum();
    let correct: f32 = (0..k).map(|c| cm[c * k + c]).sum();
    Ok(Some(FigureSpec::Heatmaps {
        stem: "confusion".into(),
        heading: format!("Test confusion matrix: {config}"),
        caption: format!(
            "Test images by true class (rows) and predicted class (columns) after the final classifier epoch, seed {seed}: {correct:.0} of {total:.0} correct ({:.2}%).",
            100.0 * correct / total.max(1.0)
        ),
        title: format!("{config}: test confusion, final epoch (seed {seed})"),
        panels: vec![Panel {
            label: String::new(),
            rows: k,
            cols: k,
            data: cm.to_vec(),
        }],
        cols: 1,
        cell: 44,
        scale: HeatScale::Counts {
            axes: ("predicted class".into(), "true class".into()),
            ticks,
        },
        legend: "test images".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_that_does_not_match_its_data_is_an_error_not_a_panic() {
        let mut m = BTreeMap::new();
        m.insert("w".to_string(), (vec![2, 3], vec![0.0; 6]));
        m.insert("bad".to_string(), (vec![2, 3], vec![0.0; 5]));
        let a = Artefacts::new(m);
        assert_eq!(a.get("w", 2).unwrap().unwrap().0, &[2, 3]);
        assert!(a.get("w", 4).is_err());
        assert!(a.get("bad", 2).unwrap_err().contains("`bad`"));
        assert_eq!(a.get("absent", 2), Ok(None));
        let t = Tiles {
            colour: Colour::Rgb,
            data: vec![0.0; 11],
            n: 1,
            h: 2,
            w: 2,
        };
        assert!(t.check().is_err());
    }
}
