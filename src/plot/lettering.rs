//! The PNG's text: laid out and rasterised with the embedded font the way an SVG viewer
//! draws the `<text>` elements plotters writes for the same chart.
//!
//! plotters' own `ab_glyph` drawing starts every glyph's bitmap at the pen, ignoring the
//! glyph's left side bearing, so a narrow glyph after a wide-bearing one is drawn too far
//! left and the gaps come out uneven (`i v-curves`, `T= 300`, `0.001 5`). Here each glyph is
//! outlined at its pen position (advances and the font's kerning), so its ink lands where the
//! font puts it. Size and anchoring follow plotters' SVG output, so the PNG and the SVG (in a
//! viewer whose `sans-serif` is `DejaVu Sans`) place text alike: `font-size` is plotters' size
//! divided by 1.24; the baseline is `0.76em` below the anchor for text hanging from it,
//! `0.5ex` below for text centred on it, `0.5ex` above for text standing on it, an `ex`
//! being half an em as librsvg has it (browsers take the font's x-height, 0.55em here: half a
//! pixel lower at these sizes); `middle` and `end` anchors use the advance width. [`super::png`] draws with it; plotters still measures
//! text with the same font for its layout.
//!
//! A character the font lacks is drawn as the font's `.notdef` box, and [`Lettering::missing`]
//! names it so `plot` can say so.

use ab_glyph::{Font, FontRef, Glyph, GlyphId, InvalidFont, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, Pos, VPos};

/// The embedded font: `DejaVu Sans`, subset (see `assets/README.md`).
pub(super) const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-plot.ttf");

/// plotters' text size over the `font-size` its SVG backend writes (pixels per em).
const SIZE_PER_EM: f32 = 1.24;

/// Where the SVG puts the baseline of text hanging from its anchor: `dy="0.76em"`.
const HANGING_EM: f32 = 0.76;

/// The SVG's `ex` unit over the em (librsvg's, and CSS's when a font has no x-height).
const EX_EM: f32 = 0.5;

/// The embedded font, ready to lay out and rasterise text.
pub(super) struct Lettering {
    /// The parsed [`FONT`].
    font: FontRef<'static>,
}

impl Lettering {
    /// Parses the embedded font.
    pub(super) fn new() -> Result<Lettering, InvalidFont> {
        Ok(Lettering {
            font: FontRef::try_from_slice(FONT)?,
        })
    }

    /// The characters of `text` the font has no glyph for, in order, repeats included.
    pub(super) fn missing<'t>(&'t self, text: &'t str) -> impl Iterator<Item = char> + 't {
        text.chars()
            .filter(|&c| self.font.glyph_id(c) == GlyphId(0))
    }

    /// Rasterises `text` at plotters' text size `size`, anchored at (0, 0) by `anchor`:
    /// calls `pixel(x, y, coverage)` for every pixel with ink, `(x, y)` being the pixel's
    /// offset from the anchor (y down) and `coverage` in (0, 1].
    pub(super) fn draw(
        &self,
        text: &str,
        size: f64,
        anchor: Pos,
        mut pixel: impl FnMut(i32, i32, f32),
    ) {
        let em = size as f32 / SIZE_PER_EM;
        let (glyphs, width) = self.line(text, em);
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match anchor.v_pos {
            VPos::Top => HANGING_EM * em,
            VPos::Center => 0.5 * EX_EM * em,
            VPos::Bottom => -0.5 * EX_EM * em,
        };
        for mut glyph in glyphs {
            glyph.position.x += dx;
            glyph.position.y += baseline;
            let Some(outline) = self.font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| {
                let coverage = coverage.min(1.0);
                if coverage > 0.0 {
                    pixel(left + x.cast_signed(), top + y.cast_signed(), coverage);
                }
            });
        }
    }

    /// The glyphs of `text` at `em` pixels per em, the pen starting at (0, 0) on the
    /// baseline, and the advance width of the whole line.
    fn line(&self, text: &str, em: f32) -> (Vec<Glyph>, f32) {
        // ab_glyph's scale is the height from descent to ascent, not the em.
        let units_per_em = self.font.units_per_em().unwrap_or(1.0);
        let scale = ab_glyph::PxScale::from(em * self.font.height_unscaled() / units_per_em);
        let font = self.font.as_scaled(scale);
        let mut pen = 0.0;
        let mut previous: Option<GlyphId> = None;
        let glyphs = text
            .chars()
            .map(|c| {
                let id = font.glyph_id(c);
                if let Some(previous) = previous {
                    pen += font.kern(previous, id);
                }
                previous = Some(id);
                let glyph = id.with_scale_and_position(scale, point(pen, 0.0));
                pen += font.h_advance(id);
                glyph
            })
            .collect();
        (glyphs, pen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// plotters' size of the test texts: 100 pixels per em.
    const SIZE: f64 = 124.0;
    /// Width and height of the grid [`raster`] draws on.
    const GRID: (usize, usize) = (900, 300);
    /// Where [`raster`] puts the anchor.
    const ANCHOR: (usize, usize) = (300, 150);

    /// Coverage of `text` drawn by [`Lettering::draw`] at [`SIZE`] on a [`GRID`], anchored
    /// by `anchor` at [`ANCHOR`].
    fn raster(text: &str, anchor: Pos) -> Vec<Vec<f32>> {
        let lettering = Lettering::new().unwrap();
        let mut grid = vec![vec![0.0f32; GRID.0]; GRID.1];
        lettering.draw(text, SIZE, anchor, |x, y, c| {
            let x = ANCHOR.0.checked_add_signed(x as isize).unwrap();
            let y = ANCHOR.1.checked_add_signed(y as isize).unwrap();
            grid[y][x] += c;
        });
        grid
    }

    /// Columns that have ink, as runs `[start, end)` left to right.
    fn ink_runs(grid: &[Vec<f32>]) -> Vec<(usize, usize)> {
        let inked = |x: usize| grid.iter().any(|row| row[x] > 0.0);
        let mut runs = Vec::new();
        let mut start = None;
        for x in 0..=GRID.0 {
            match (start, x < GRID.0 && inked(x)) {
                (None, true) => start = Some(x),
                (Some(s), false) => {
                    runs.push((s, x));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    /// The last row with ink.
    fn bottom_of_ink(grid: &[Vec<f32>]) -> usize {
        grid.iter()
            .rposition(|row| row.iter().any(|&c| c > 0.0))
            .unwrap()
    }

    /// Each glyph's ink where the font's own metrics put it: the pen advances by the
    /// advance widths and kerning of `hmtx` and `kern`, and the ink starts at the glyph's
    /// left side bearing (plotters' drawing started it at the pen: `i v`, `0.001 5`).
    #[test]
    fn glyphs_sit_at_their_side_bearings() {
        let lettering = Lettering::new().unwrap();
        let font = &lettering.font;
        let units = font.units_per_em().unwrap();
        let px = |u: f32| ANCHOR.0 as f32 + u * 100.0 / units;
        // Kerned pairs too (`Fe`, `v.`), whose inks stay apart.
        for text in ["iv", "T=300", "0.0015", "Fe", "v.", "Ω-µ"] {
            let runs = ink_runs(&raster(text, Pos::new(HPos::Left, VPos::Top)));
            // Where the font says each inked glyph's ink goes, in pixels.
            let mut pen = 0.0;
            let mut previous = None;
            let mut expected = Vec::new();
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(p) = previous {
                    pen += font.kern_unscaled(p, id);
                }
                previous = Some(id);
                if let Some(outline) = font.outline(id) {
                    let (lo, hi) = (outline.bounds.min.x, outline.bounds.max.x);
                    expected.push((px(pen + lo), px(pen + hi)));
                }
                pen += font.h_advance_unscaled(id);
            }
            assert_eq!(runs.len(), expected.len(), "{text}: {runs:?} {expected:?}");
            for (&(start, end), &(lo, hi)) in runs.iter().zip(&expected) {
                // A run starts in the column holding the ink's left edge and ends after the
                // one holding its right edge; antialiasing may leave a sliver of an edge
                // column below one level of grey.
                assert!(
                    (start as f32 - lo).abs() <= 1.5 && (end as f32 - hi).abs() <= 1.5,
                    "{text}: ink at {start}..{end}, the font says {lo:.1}..{hi:.1}"
                );
            }
        }
    }

    /// The baseline and the anchors are the SVG's: hanging text's baseline is 0.76em below
    /// the anchor, centred text's half an ex (0.25em) below, standing text's as far above;
    /// centred and right-anchored text spans the advance width around the anchor.
    #[test]
    fn anchors_are_the_svgs() {
        // `x` sits on the baseline: its last row of ink is the one just above it.
        for (v, baseline) in [(VPos::Top, 76), (VPos::Center, 25), (VPos::Bottom, -25)] {
            let bottom = bottom_of_ink(&raster("x", Pos::new(HPos::Left, v)));
            let want = ANCHOR.1.checked_add_signed(baseline - 1).unwrap();
            assert!(
                bottom.abs_diff(want) <= 1,
                "{baseline}: {bottom}, not {want}"
            );
        }
        let start = |h| ink_runs(&raster("iv", Pos::new(h, VPos::Top)))[0].0 as f32;
        let (_, width) = Lettering::new().unwrap().line("iv", 100.0);
        let left = start(HPos::Left);
        assert!((left - start(HPos::Center) - width / 2.0).abs() <= 1.0);
        assert!((left - start(HPos::Right) - width).abs() <= 1.0);
    }

    /// A character the font lacks is named (each time it occurs) and drawn as the font's
    /// box: a hollow rectangle, inked at its sides more than in its middle.
    #[test]
    fn missing_glyphs_are_named_and_boxed() {
        let lettering = Lettering::new().unwrap();
        let missing: Vec<char> = lettering.missing("Probe-Ω-温度 温").collect();
        assert_eq!(missing, ['温', '度', '温']);
        assert_eq!(lettering.missing("µA ΔT ℃ −1 → ²").count(), 0);
        let grid = raster("温", Pos::new(HPos::Left, VPos::Top));
        let runs = ink_runs(&grid);
        assert_eq!(runs.len(), 1, "{runs:?}");
        let (start, end) = runs[0];
        let inked_rows = |x: usize| grid.iter().filter(|row| row[x] > 0.5).count();
        let (side, middle) = (inked_rows(start + 1), inked_rows(start.midpoint(end)));
        assert!(
            side > 40 && middle < side / 4,
            "side {side}, middle {middle}"
        );
    }
}
