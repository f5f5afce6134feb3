//! Drawing a [`Chart`] with plotters, to SVG or PNG.
//!
//! Both images are drawn by one function, generic over the plotters backend. plotters lays
//! text out with the font registered under the family `sans-serif`: the embedded subset of
//! `DejaVu Sans` (`assets/`, see its README), registered once per process, so no system font
//! is ever looked up (CI machines have none). The SVG refers to `sans-serif` and lets the
//! viewer draw the text; the PNG's text is drawn the same way with the embedded font by
//! [`super::png::PngCanvas`] (plotters' own text drawing misplaces glyphs), and encoded with
//! the `png` crate. Both are made in memory and written with [`create_output`], so a failed
//! plot leaves no half-written file and never replaces the run log.

use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::lettering::{FONT, Lettering};
use super::png::{PngCanvas, encode_png};
use super::{Chart, Image};
use crate::error::{Error, Result};
use crate::export::{create_output, output_error};

/// The family every text of a plot uses; the embedded font is registered under it.
const FAMILY: &str = "sans-serif";

/// Image size in pixels (and SVG user units).
const SIZE: (u32, u32) = (960, 600);

/// Most legend entries: past this, the last entry says how many more lines there are.
const MAX_LEGEND: usize = 16;

/// Series with at most this many points get a marker on each point.
const MARKERS_UP_TO: usize = 60;

/// Line colours, one per series in order (Tableau 10: distinct, colour-blind tolerant).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Draws `chart` as `image` into the file `path` (made from the run log `log`); returns the
/// characters of the PNG's text that the embedded font has no glyph for (none for an SVG,
/// whose text the viewer draws).
pub(super) fn draw(chart: &Chart, log: &Path, path: &Path, image: Image) -> Result<Vec<char>> {
    register()?;
    let failed =
        |e: &dyn std::fmt::Display| output_error(path, std::io::Error::other(e.to_string()));
    let mut missing = Vec::new();
    let bytes = match image {
        Image::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                render(&root, chart).map_err(|e| failed(&e))?;
            }
            svg.into_bytes()
        }
        Image::Png => {
            let lettering = Lettering::new().map_err(|_| unreadable_font())?;
            let (w, h) = SIZE;
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let canvas = PngCanvas::new(&mut rgb, SIZE, &lettering, &mut missing);
                render(&canvas.into_drawing_area(), chart).map_err(|e| failed(&e))?;
            }
            encode_png(&rgb, SIZE).map_err(|e| failed(&e))?
        }
    };
    let mut file = create_output(log, path)?;
    file.write_all(&bytes)
        .and_then(|()| file.flush())
        .map_err(|source| output_error(path, source))?;
    Ok(missing)
}

/// Registers the embedded font with plotters, once per process.
fn register() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(unreadable_font()) }
}

/// The error for an embedded font that does not parse: a broken build, not bad input.
fn unreadable_font() -> Error {
    Error::Internal("the embedded plot font cannot be read".into())
}

/// Draws the whole chart on `root`: title, axes with their names, lines, legend.
fn render<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let points = || chart.series.iter().flat_map(|s| s.points.iter().copied());
    let x = range(points().map(|p| p.0));
    let y = range(points().map(|p| p.1));
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, 26))
        .margin(18)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(x.clone(), y.clone())?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 14))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .x_label_formatter(&|v| tick(*v, &x))
        .y_label_formatter(&|v| tick(*v, &y))
        .draw()?;
    for (i, series) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let line = LineSeries::new(series.points.iter().copied(), color.stroke_width(2));
        let drawn = ctx.draw_series(line)?;
        if let Some(label) = series.label.as_ref().filter(|_| legend_entry(i, chart)) {
            // A filled swatch, not a line: each series stays exactly one path in the SVG.
            drawn.label(label.as_str()).legend(move |(lx, ly)| {
                Rectangle::new([(lx, ly - 2), (lx + 20, ly + 2)], color.filled())
            });
        }
        if series.points.len() <= MARKERS_UP_TO {
            ctx.draw_series(
                series
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )?;
        }
    }
    if chart.series.iter().any(|s| s.label.is_some()) {
        legend(&mut ctx, chart, &x, &y)?;
    }
    root.present()
}

/// Draws the legend of the labelled series, in the corner with the fewest points.
fn legend<'a, DB: DrawingBackend + 'a>(
    ctx: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    chart: &Chart,
    x: &Range<f64>,
    y: &Range<f64>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if chart.series.len() > MAX_LEGEND {
        // An entry without a line: its swatch is transparent.
        let unlisted = chart.series.len() - (MAX_LEGEND - 1);
        ctx.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("\u{2026} and {unlisted} more"))
            .legend(|(lx, ly)| Rectangle::new([(lx, ly), (lx + 20, ly)], TRANSPARENT));
    }
    ctx.configure_series_labels()
        .position(legend_corner(chart, x, y))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xb0, 0xb0, 0xb0))
        .label_font((FAMILY, 15))
        .margin(12)
        .draw()
}

/// True when series `i` has its own legend entry: all of them up to [`MAX_LEGEND`], else
/// the first `MAX_LEGEND - 1`.
fn legend_entry(i: usize, chart: &Chart) -> bool {
    chart.series.len() <= MAX_LEGEND || i < MAX_LEGEND - 1
}

/// The axis range for `values`: their span plus 4% each side, never empty.
fn range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.04
    } else if lo == 0.0 {
        1.0
    } else {
        // One distinct value: centre it in a range that shows its size.
        lo.abs() * 0.1
    };
    // Near the largest float a side's padding would overflow: that side goes without.
    let start = Some(lo - pad).filter(|s| s.is_finite()).unwrap_or(lo);
    let end = Some(hi + pad).filter(|e| e.is_finite()).unwrap_or(hi);
    start..end
}

/// The corner where the legend covers the fewest points: the corner boxes are a third of
/// the plot's width and height; ties go to upper left, upper right, lower right, lower left.
fn legend_corner(chart: &Chart, x: &Range<f64>, y: &Range<f64>) -> SeriesLabelPosition {
    let norm = |v: f64, r: &Range<f64>| (v - r.start) / (r.end - r.start);
    let corners = [
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let covered = |right: bool, upper: bool| {
        let points = chart.series.iter().flat_map(|s| s.points.iter());
        points
            .filter(|&&(px, py)| {
                let (nx, ny) = (norm(px, x), norm(py, y));
                (if right {
                    nx > 2.0 / 3.0
                } else {
                    nx < 1.0 / 3.0
                }) && (if upper {
                    ny > 2.0 / 3.0
                } else {
                    ny < 1.0 / 3.0
                })
            })
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, right, upper)| covered(right, upper))
        .map_or(SeriesLabelPosition::UpperLeft, |(corner, _, _)| corner)
}

/// A tick label on an axis spanning `axis`: plain when the axis's largest magnitude is
/// ordinary, scientific (`1.5e-4`) on axes of very small or large numbers, never with float
/// noise (`0.30000000000000004` is `0.3`).
fn tick(v: f64, axis: &Range<f64>) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    let largest = axis.start.abs().max(axis.end.abs());
    if !(1e-3..1e5).contains(&largest) {
        let text = format!("{v:.2e}");
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let text = format!("{v:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::chart::Series;

    /// Tick labels for the magnitudes instruments report.
    #[test]
    fn tick_labels() {
        let volts = -1.0..1.0;
        let amps = -1e-4..2e-4;
        let cases = [
            (0.0, &volts, "0"),
            (0.3, &volts, "0.3"),
            (0.1 + 0.2, &volts, "0.3"),
            (-0.25, &volts, "-0.25"),
            (1.0, &volts, "1"),
            (295.5, &(0.0..300.0), "295.5"),
            (12_000.0, &(0.0..20_000.0), "12000"),
            (0.0005, &(0.0..0.002), "0.0005"),
            (0.0, &amps, "0"),
            (1.5e-4, &amps, "1.5e-4"),
            (-2e-5, &amps, "-2e-5"),
            (1.234e6, &(0.0..2e6), "1.23e6"),
        ];
        for (v, axis, want) in cases {
            assert_eq!(tick(v, axis), want, "{v} on {axis:?}");
        }
    }

    /// Ranges pad the data, and a single value still gets a range around it.
    #[test]
    fn ranges() {
        let r = range([0.0, 1.0, 0.5].into_iter());
        assert!(
            (r.start + 0.04).abs() < 1e-12 && (r.end - 1.04).abs() < 1e-12,
            "{r:?}"
        );
        assert_eq!(range([2.0].into_iter()), 1.8..2.2);
        assert_eq!(range([0.0, 0.0].into_iter()), -1.0..1.0);
        assert_eq!(range(std::iter::empty()), 0.0..1.0);
        let max = f64::MAX;
        assert_eq!(range([0.0, max].into_iter()), -max * 0.04..max);
        assert_eq!(range([max].into_iter()), max - max * 0.1..max);
    }

    /// The legend goes to the corner with the fewest points.
    #[test]
    fn legend_avoids_the_data() {
        let chart = |points: Vec<(f64, f64)>| Chart {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: vec![Series {
                label: Some("a".into()),
                points,
            }],
        };
        let (x, y) = (0.0..1.0, 0.0..1.0);
        let rising = chart(vec![(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]);
        assert_eq!(
            legend_corner(&rising, &x, &y),
            SeriesLabelPosition::UpperLeft
        );
        let falling = chart(vec![(0.0, 1.0), (0.1, 0.95), (0.5, 0.5), (1.0, 0.0)]);
        assert_eq!(
            legend_corner(&falling, &x, &y),
            SeriesLabelPosition::UpperRight
        );
        let everywhere = chart(vec![
            (0.1, 0.9),
            (0.9, 0.9),
            (0.1, 0.1),
            (0.9, 0.1),
            (0.9, 0.05),
        ]);
        assert_eq!(
            legend_corner(&everywhere, &x, &y),
            SeriesLabelPosition::UpperLeft
        );
    }
}
