//! Figures a kind draws from its runs' artefacts, as data: each kind says
//! which arrays to draw and how ([`super::Experiment::figures`]), and the
//! report renders them, so a new kind's figure never means editing the
//! report. Every artefact's shape is checked here, so that a foreign or
//! damaged file is named and skipped instead of indexed blindly.

use std::collections::BTreeMap;

/// How a grid colours its tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// `(n, 3, h, w)` data as RGB, each tile min–max scaled.
    Rgb,
    /// Blue < 0 < red, each tile scaled to its own max |value|.
    Signed,
    /// Grey, each tile min–max scaled.
    Grey,
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
        self.h * self.w * if self.colour == Colour::Rgb { 3 } else { 1 }
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

/// A figure the report renders.
#[derive(Debug, Clone, PartialEq)]
pub enum FigureSpec {
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
    },
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
