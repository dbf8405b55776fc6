//! The report's analysis figures of one `hebbian_cnn` run, from the
//! artefacts [`super::record::Recorder`] keeps: filters of every layer
//! (Figs. 13–18), weight histograms and statistics before, during and after
//! learning (Figs. 8, 10–12), LTP/LTD (Fig. 21) and the confusion matrix.

use super::record::{quantile, DW_QUANTILES, STAT_NAMES};
use crate::experiments::figures::{
    confusion_figure, embedding_figure, Artefacts, ChartBody, ChartPanel, Colour, FigureSpec,
    HeatScale, Histogram, Panel, Tiles,
};

type Figs = Result<Vec<FigureSpec>, String>;

/// How the captions name the learning the artefacts recorded.
pub struct Learning {
    /// The layers, as in "each Hebbian layer".
    pub layer: &'static str,
    /// The phase, as in "checkpoints of the Hebbian phase".
    pub phase: &'static str,
    /// When the final weights were taken.
    pub after: &'static str,
    /// What a recorded weight change is.
    pub change: &'static str,
}

impl Learning {
    /// A `hebbian_cnn` run.
    pub const HEBBIAN: Learning = Learning {
        layer: "Hebbian layer",
        phase: "the Hebbian phase",
        after: "after the Hebbian epoch",
        change: "weight changes applied",
    };
    /// A `backprop_cnn` run: the same network, trained end to end.
    pub const BACKPROP: Learning = Learning {
        layer: "conv layer",
        phase: "backprop training",
        after: "after backprop training",
        change: "weight changes of Adam's steps",
    };
}

/// Every figure the artefacts support; runs from before an artefact
/// existed simply lack its figure.
pub fn all(arts: &Artefacts, config: &str, seed: u64, learning: &Learning) -> Figs {
    let mut figs = Vec::new();
    first_layer_rgb(arts, config, seed, learning, &mut figs)?;
    let layers = (0..)
        .take_while(|i| {
            arts.has(&format!("layer{i}_filters")) || arts.has(&format!("layer{i}_hist"))
        })
        .count();
    for i in 0..layers {
        filters(arts, config, seed, i, &mut figs)?;
    }
    for i in 0..layers {
        receptive_fields(arts, config, seed, i, &mut figs)?;
    }
    histograms(arts, config, seed, layers, learning, &mut figs)?;
    statistics(arts, config, seed, layers, learning, &mut figs)?;
    ltp_ltd(arts, config, seed, layers, learning, &mut figs)?;
    for i in 0..layers {
        dw_maps(arts, config, seed, i, &mut figs)?;
    }
    if let Some(f) = embedding_figure(arts, config, seed, &crate::data::cifar10::CLASSES)? {
        figs.push(f);
    }
    if let Some(f) = confusion_figure(arts, config, seed, &crate::data::cifar10::CLASSES)? {
        figs.push(f);
    }
    Ok(figs)
}

fn first_layer_rgb(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    learning: &Learning,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    if let Some((shape, w)) = arts.get("layer0_weights", 4)? {
        if shape[1] == 3 {
            figs.push(FigureSpec::Grid {
                stem: "filters".into(),
                heading: format!("First-layer filters: {config}"),
                caption:
                    "Every first-layer kernel shown as an RGB image, min–max scaled on its own."
                        .into(),
                title: format!("{config}: first-layer filters"),
                subtitle: format!(
                    "{} filters of {}×{} pixels (RGB, each min–max scaled), seed {seed}, {}",
                    shape[0], shape[2], shape[3], learning.after
                ),
                tiles: vec![Tiles {
                    colour: Colour::Rgb,
                    data: w.to_vec(),
                    n: shape[0],
                    h: shape[2],
                    w: shape[3],
                }],
                cols: 16,
                scale: 6,
            });
        }
    }
    Ok(())
}

/// The filter indices drawn of layer `i` (the first 20 and last 5).
fn ids(arts: &Artefacts, i: usize, n: usize) -> Result<Vec<usize>, String> {
    Ok(match arts.get(&format!("layer{i}_filter_ids"), 1)? {
        Some((_, v)) if v.len() == n => v.iter().map(|&x| x as usize).collect(),
        Some(_) => {
            return Err(format!(
                "artefact `layer{i}_filter_ids` does not match its filters"
            ))
        }
        None => (0..n).collect(),
    })
}

fn filters(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    i: usize,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let name = format!("layer{i}_filters");
    let (shape, data) = match arts.rank(&name) {
        None => return Ok(()),
        // A 1×1 layer: one vector of input weights per filter.
        Some(2) => {
            let (shape, data) = arts
                .get(&name, 2)?
                .ok_or_else(|| format!("artefact `{name}`"))?;
            let ids = ids(arts, i, shape[0])?;
            figs.push(FigureSpec::Heatmaps {
                stem: format!("filters_layer{i}"),
                heading: format!("Layer {} filters (1×1): {config}", i + 1),
                caption: format!(
                    "Each row is one 1×1 filter's weights over its {} input channels (filters {}), one symmetric colour scale; the bars show filter {}'s weights (the report's Figs. 13–18 layout for 1×1 layers).",
                    shape[1],
                    id_ranges(&ids),
                    ids[0]
                ),
                title: format!("{config}: layer {} 1×1 filters (seed {seed})", i + 1),
                panels: vec![Panel {
                    label: "filter × input channel".into(),
                    rows: shape[0],
                    cols: shape[1],
                    data: data.to_vec(),
                }],
                cols: 1,
                cell: (600 / shape[1]).clamp(2, 16),
                scale: HeatScale::Symmetric,
                legend: "weight".into(),
            });
            figs.push(FigureSpec::Chart {
                stem: format!("filter_bars_layer{i}"),
                heading: format!("Layer {} filter {} (1×1), as bars: {config}", i + 1, ids[0]),
                caption: "One 1×1 filter's weight on each input channel.".into(),
                title: format!("{config}: layer {} filter {} (seed {seed})", i + 1, ids[0]),
                panels: vec![ChartPanel {
                    label: format!("filter {}", ids[0]),
                    x_desc: "input channel".into(),
                    y_desc: "weight".into(),
                    body: ChartBody::Bars(vec![("weight".into(), data[..shape[1]].to_vec())]),
                }],
                cols: 1,
            });
            return Ok(());
        }
        Some(_) => arts
            .get(&name, 3)?
            .ok_or_else(|| format!("artefact `{name}`"))?,
    };
    let ids = ids(arts, i, shape[0])?;
    let (k1, k2) = (shape[1], shape[2]);
    figs.push(FigureSpec::Heatmaps {
        stem: format!("filters_layer{i}"),
        heading: format!("Layer {} filters: {config}", i + 1),
        caption: format!(
            "Filters {} of layer {} after learning, each {k1}×{k2} tap averaged over its input channels, on one symmetric colour scale (the report's Figs. 13–18 layout: the first 20 and the last 5).",
            id_ranges(&ids),
            i + 1
        ),
        title: format!("{config}: layer {} filters, mean over input channels (seed {seed})", i + 1),
        panels: ids
            .iter()
            .enumerate()
            .map(|(j, id)| Panel {
                label: format!("#{id}"),
                rows: k1,
                cols: k2,
                data: data[j * k1 * k2..(j + 1) * k1 * k2].to_vec(),
            })
            .collect(),
        cols: 5,
        cell: (60 / k1.max(1)).clamp(6, 20),
        scale: HeatScale::Symmetric,
        legend: "mean weight".into(),
    });
    Ok(())
}

fn receptive_fields(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    i: usize,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let Some((s, v)) = arts.get(&format!("layer{i}_rf"), 4)? else {
        return Ok(());
    };
    if s[1] != 3 {
        return Err(format!("artefact `layer{i}_rf` has shape {s:?}, not RGB"));
    }
    let scale = (96 / s[2].max(1)).clamp(2, 12);
    // Runs from before the step count was kept ran the report's 500.
    let steps = match arts.get("rf_steps", 1)? {
        Some((_, v)) if !v.is_empty() => v[0] as usize,
        _ => 500,
    };
    figs.push(FigureSpec::Grid {
        stem: format!("rf_layer{i}"),
        heading: format!("Layer {} receptive fields: {config}", i + 1),
        caption: format!(
            "The input that most excites each of units 0–{} of layer {} (projected gradient ascent through the frozen network with its padding removed, {steps} steps on the L2 sphere of radius 1, clamped to [0, 1], on the network's preprocessed input; the report's `receptive_field.py`, Figs. 22–26), each min–max scaled on its own as the report draws them.",
            s[0] - 1,
            i + 1
        ),
        title: format!("{config}: layer {} receptive fields", i + 1),
        subtitle: format!("{}×{} pixels (the receptive field), units 0–{}, seed {seed}; RGB, each min–max scaled", s[2], s[3], s[0] - 1),
        tiles: vec![Tiles {
            colour: Colour::Rgb,
            data: v.to_vec(),
            n: s[0],
            h: s[2],
            w: s[3],
        }],
        cols: 5,
        scale,
    });
    Ok(())
}

/// "0–19, 91–95" for the drawn filter indices.
fn id_ranges(ids: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut start = 0;
    for j in 1..=ids.len() {
        if j == ids.len() || ids[j] != ids[j - 1] + 1 {
            parts.push(if j - 1 == start {
                format!("{}", ids[start])
            } else {
                format!("{}–{}", ids[start], ids[j - 1])
            });
            start = j;
        }
    }
    parts.join(", ")
}

/// Checkpoint labels: "init", then the share of the learning phase done.
fn checkpoint_labels(arts: &Artefacts) -> Result<Option<Vec<String>>, String> {
    let (Some((_, ck)), Some((_, total))) = (
        arts.get("stat_checkpoints", 1)?,
        arts.get("stat_total_batches", 1)?,
    ) else {
        return Ok(None);
    };
    let total = total[0].max(1.0);
    Ok(Some(
        ck.iter()
            .map(|&b| {
                if b == 0.0 {
                    "init".to_string()
                } else {
                    format!("{:.0}%", 100.0 * b / total)
                }
            })
            .collect(),
    ))
}

fn histograms(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    layers: usize,
    learning: &Learning,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let mut panels = Vec::new();
    let labels = checkpoint_labels(arts)?;
    for i in 0..layers {
        let ck = arts.get(&format!("layer{i}_hist_ckpt"), 2)?;
        let rg = arts.get(&format!("layer{i}_hist_ckpt_range"), 2)?;
        if let (Some((cs, counts)), Some((rs, range)), Some(labels)) = (ck, rg, labels.as_ref()) {
            if rs[0] != cs[0] || rs[1] != 2 || labels.len() != cs[0] {
                return Err(format!(
                    "the histogram artefacts of layer {} do not match",
                    i + 1
                ));
            }
            let bins = cs[1];
            // The initial distribution beside the learned one.
            for (c, what) in [(0, "at initialisation"), (cs[0] - 1, "after learning")] {
                panels.push(Histogram {
                    label: format!("layer {} {what}", i + 1),
                    counts: counts[c * bins..(c + 1) * bins].to_vec(),
                    lo: range[2 * c],
                    hi: range[2 * c + 1],
                });
            }
            continue;
        }
        // Runs from before the checkpoints: the learned histogram only.
        let (Some((_, counts)), Some((_, range))) = (
            arts.get(&format!("layer{i}_hist"), 1)?,
            arts.get(&format!("layer{i}_hist_range"), 1)?,
        ) else {
            continue;
        };
        if range.len() != 2 {
            return Err(format!("artefact `layer{i}_hist_range` needs 2 values"));
        }
        panels.push(Histogram {
            label: format!("layer {}", i + 1),
            counts: counts.to_vec(),
            lo: range[0],
            hi: range[1],
        });
    }
    if panels.is_empty() {
        return Ok(());
    }
    let paired = panels.len() == 2 * layers;
    figs.push(FigureSpec::Histograms {
        stem: "weights".into(),
        heading: format!("Weight histograms: {config}"),
        caption: if paired {
            format!("Distribution of each {}'s weights at initialisation (left) and after learning (right), 64 bins between that moment's smallest and largest weight, so the x axes differ (the report's Fig. 8 and Figs. 10–12).", learning.layer)
        } else {
            format!("Distribution of weight values in each {} after learning, 64 bins between the layer's smallest and largest weight (the report's Figs. 10–12).", learning.layer)
        },
        title: format!("{config}: weight values per layer (seed {seed})"),
        cols: if paired { 2 } else { panels.len().min(4) },
        layers: panels,
    });
    Ok(())
}

fn statistics(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    layers: usize,
    learning: &Learning,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let Some(labels) = checkpoint_labels(arts)? else {
        return Ok(());
    };
    let ns = STAT_NAMES.len();
    let mut rows = Vec::new();
    let mut boxes = Vec::new();
    for i in 0..layers {
        let Some((shape, st)) = arts.get(&format!("layer{i}_stats"), 2)? else {
            continue;
        };
        if shape != [labels.len(), ns] {
            return Err(format!("artefact `layer{i}_stats` has shape {shape:?}"));
        }
        for (c, label) in labels.iter().enumerate() {
            let mut row = vec![format!("{}", i + 1), label.clone()];
            row.extend(st[c * ns..(c + 1) * ns].iter().map(|v| format!("{v:.4}")));
            rows.push(row);
        }
        if let Some((fs, f)) = arts.get(&format!("layer{i}_filter_stats"), 3)? {
            if fs[0] != labels.len() || fs[2] != ns {
                return Err(format!("artefact `layer{i}_filter_stats` has shape {fs:?}"));
            }
            let cout = fs[1];
            // Across filters: the spread of each filter's std, per checkpoint.
            let per_ck: Vec<[f32; 5]> = (0..fs[0])
                .map(|c| {
                    let mut v: Vec<f32> = (0..cout).map(|o| f[(c * cout + o) * ns + 2]).collect();
                    v.sort_unstable_by(f32::total_cmp);
                    [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| quantile(&v, q))
                })
                .collect();
            boxes.push(ChartPanel {
                label: format!("layer {} ({cout} filters)", i + 1),
                x_desc: format!("checkpoint (share of {})", learning.phase),
                y_desc: "per-filter weight std".into(),
                body: ChartBody::Boxes {
                    ticks: labels.clone(),
                    boxes: per_ck,
                    whiskers: "5th–95th percentile over filters".into(),
                },
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let mut header = vec!["layer".to_string(), "checkpoint".to_string()];
    header.extend(STAT_NAMES.iter().map(|s| s.to_string()));
    figs.push(FigureSpec::Table {
        stem: "weight_stats".into(),
        heading: format!("Weight statistics: {config}"),
        caption: format!(
            "Each {}'s weights at initialisation and at checkpoints through {} (seed {seed}; std over all weights, percentiles interpolated; the report's `print_weight_statistics`, Fig. 8). Per-filter values are in the run's artefact `layer<i>_filter_stats`.",
            learning.layer, learning.phase
        ),
        header,
        rows,
    });
    if !boxes.is_empty() {
        figs.push(FigureSpec::Chart {
            stem: "filter_stats".into(),
            heading: format!("Per-filter weight spread through learning: {config}"),
            caption: format!("For each layer, the distribution over its filters of each filter's weight std, at initialisation and at checkpoints of {} (box: quartiles and median; whiskers: 5th–95th percentile over filters).", learning.phase),
            title: format!("{config}: per-filter weight std (seed {seed})"),
            cols: boxes.len().min(3),
            panels: boxes,
        });
    }
    Ok(())
}

fn ltp_ltd(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    layers: usize,
    learning: &Learning,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let Some((_, batches)) = arts.get("ltp_batches", 1)? else {
        return Ok(());
    };
    let nr = batches.len();
    let (mut bars, mut boxes) = (Vec::new(), Vec::new());
    for i in 0..layers {
        if let Some((s, v)) = arts.get(&format!("layer{i}_ltp"), 3)? {
            if s[0] != nr || s[2] != 2 {
                return Err(format!("artefact `layer{i}_ltp` has shape {s:?}"));
            }
            let cout = s[1];
            let (mut pos, mut neg) = (vec![0f32; cout], vec![0f32; cout]);
            for r in 0..nr {
                for o in 0..cout {
                    pos[o] += v[(r * cout + o) * 2];
                    neg[o] += v[(r * cout + o) * 2 + 1];
                }
            }
            bars.push(ChartPanel {
                label: format!("layer {} ({cout} filters)", i + 1),
                x_desc: "filter".into(),
                y_desc: "Σ Δw".into(),
                body: ChartBody::Bars(vec![
                    ("LTP (Σ Δw > 0)".into(), pos),
                    ("LTD (Σ Δw < 0)".into(), neg),
                ]),
            });
        }
        if let Some((s, q)) = arts.get(&format!("layer{i}_dw_quantiles"), 2)? {
            let nq = DW_QUANTILES.len();
            if s != [nr, nq] {
                return Err(format!("artefact `layer{i}_dw_quantiles` has shape {s:?}"));
            }
            boxes.push(ChartPanel {
                label: format!("layer {}", i + 1),
                x_desc: "batch".into(),
                y_desc: "Δw".into(),
                body: ChartBody::Boxes {
                    ticks: batches
                        .iter()
                        .map(|b| format!("{}", *b as usize + 1))
                        .collect(),
                    // p5, p25, median, p75, p95.
                    boxes: (0..nr)
                        .map(|r| [1, 2, 3, 4, 5].map(|j| q[r * nq + j]))
                        .collect(),
                    whiskers: "5th–95th percentile".into(),
                },
            });
        }
    }
    let when = format!(
        "the {nr} recorded batches (every {}th of {} and its last)",
        super::record::LTP_EVERY,
        learning.phase
    );
    if !bars.is_empty() {
        figs.push(FigureSpec::Chart {
            stem: "ltp_ltd".into(),
            heading: format!("LTP and LTD per filter: {config}"),
            caption: format!(
                "Per filter, the sum of the positive (potentiation) and of the negative (depression) {} over {when} (the report's Fig. 21 bars).",
                learning.change
            ),
            title: format!("{config}: LTP/LTD per filter (seed {seed})"),
            cols: 1,
            panels: bars,
        });
    }
    if !boxes.is_empty() {
        figs.push(FigureSpec::Chart {
            stem: "dw_distribution".into(),
            heading: format!("Distribution of Δw: {config}"),
            caption: format!(
                "Each layer's {} in each of {when}: box = quartiles and median, whiskers = 5th–95th percentile (the report's Fig. 21 violins, as box plots).",
                learning.change
            ),
            title: format!("{config}: Δw per recorded batch (seed {seed})"),
            cols: boxes.len().min(3),
            panels: boxes,
        });
    }
    Ok(())
}

fn dw_maps(
    arts: &Artefacts,
    config: &str,
    seed: u64,
    i: usize,
    figs: &mut Vec<FigureSpec>,
) -> Result<(), String> {
    let Some((s, v)) = arts.get(&format!("layer{i}_dw_maps"), 4)? else {
        return Ok(());
    };
    let (nr, nf, k1, k2) = (s[0], s[1], s[2], s[3]);
    if k1 * k2 == 1 {
        return Ok(());
    }
    let ids = ids(arts, i, nf)?;
    let last = batches_last(arts)?;
    let base = (nr - 1) * nf * k1 * k2;
    figs.push(FigureSpec::Heatmaps {
        stem: format!("dw_maps_layer{i}"),
        heading: format!("Layer {} Δw maps: {config}", i + 1),
        caption: format!(
            "Each drawn filter's weight change at the last recorded batch ({last}), per tap averaged over input channels, on one symmetric colour scale (the report's Fig. 21 per-pixel maps)."
        ),
        title: format!("{config}: layer {} Δw at batch {last}, mean over input channels (seed {seed})", i + 1),
        panels: ids
            .iter()
            .enumerate()
            .map(|(j, id)| Panel {
                label: format!("#{id}"),
                rows: k1,
                cols: k2,
                data: v[base + j * k1 * k2..base + (j + 1) * k1 * k2].to_vec(),
            })
            .collect(),
        cols: 5,
        cell: (60 / k1.max(1)).clamp(6, 20),
        scale: HeatScale::Symmetric,
        legend: "Δw".into(),
    });
    Ok(())
}

fn batches_last(arts: &Artefacts) -> Result<usize, String> {
    Ok(arts
        .get("ltp_batches", 1)?
        .and_then(|(_, b)| b.last().map(|v| *v as usize + 1))
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_filter_ranges_read_as_the_report_lists_them() {
        let ids: Vec<usize> = (0..20).chain(91..96).collect();
        assert_eq!(id_ranges(&ids), "0–19, 91–95");
        assert_eq!(id_ranges(&[3]), "3");
    }
}
