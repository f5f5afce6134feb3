//! `sequencer plot RUN.jsonl --x VAR --y VALUE [--group VAR] [-o plot.svg|.png]`: one
//! value against one variable as a line plot, one line per value of the group variable.
//!
//! The data is the [`Table`] `sequencer export` writes, so the names `plot` accepts are its
//! column names: sweep variables and `as` values (`var:NAME`/`value:NAME` where the two
//! clash), and the fixed columns (`--group step` draws one line per step). Any of them can
//! be x, y or the group. Each series keeps the table's sweep order (a sweep up and back
//! down draws both ways, as measured); series come in the order their group value first
//! appears. Rows whose x or y is empty or not a number are left out and
//! counted. Without `--group` there is one series and no legend; a legend entry shows the
//! group value as a command would have it (`1`, `0.5`, never `1.0`).
//!
//! # Layout
//! - `mod.rs`: [`Request`], [`plot`], [`Plotted`]: reading the log, writing the image.
//! - `chart.rs`: the chart of a table: resolving names, building the series.
//! - `draw.rs`: drawing a [`Chart`] with plotters to SVG or PNG, with the embedded font.
//! - `png.rs`: the PNG's canvas: plotters' bitmap with the text drawn by `lettering.rs`.
//! - `lettering.rs`: the embedded font; text laid out and rasterised as an SVG viewer would.

mod chart;
mod draw;
mod lettering;
mod png;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::export::Table;
use crate::runlog::read::{GIVE_A_LOG, Records};

use self::chart::{Chart, chart};

/// What to plot, from the command line.
#[derive(Debug, Clone)]
pub struct Request {
    /// The run log.
    pub log: PathBuf,
    /// The column on the horizontal axis.
    pub x: String,
    /// The column on the vertical axis.
    pub y: String,
    /// The column whose values split the rows into series.
    pub group: Option<String>,
    /// The output; `.svg` or `.png`. Default: the log's path with `.svg`.
    pub output: Option<PathBuf>,
}

/// What [`plot`] wrote; `Display` is the line `sequencer plot` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Plotted {
    /// The file written.
    pub path: PathBuf,
    /// Points drawn, over all series.
    pub points: usize,
    /// Series drawn.
    pub series: usize,
    /// Rows left out because x or y is empty or not a number.
    pub skipped: usize,
}

impl fmt::Display for Plotted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "wrote {}: {} {} in {} {}",
            self.path.display(),
            self.points,
            plural(self.points, "point", "points"),
            self.series,
            plural(self.series, "series", "series"),
        )?;
        if self.skipped > 0 {
            write!(
                f,
                "; skipped {} {} without a number for x or y",
                self.skipped,
                plural(self.skipped, "point", "points")
            )?;
        }
        Ok(())
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The two files `plot` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Image {
    /// Vector; text as `<text>` elements in the viewer's sans-serif font.
    Svg,
    /// Bitmap; text drawn with the embedded font.
    Png,
}

/// Plots what `request` asks for; returns what was written.
pub fn plot(request: &Request) -> Result<Plotted> {
    let path = request
        .output
        .clone()
        .unwrap_or_else(|| request.log.with_extension("svg"));
    let image = image_kind(&path)?;
    let mut records = Records::open(&request.log)
        .map_err(|e| e.advise("it holds no point to plot", GIVE_A_LOG))?;
    let title = records.start()["name"].as_str().unwrap_or("run").to_owned();
    let table = Table::read(&mut records)?;
    let (chart, skipped) = chart(&table, request, title)?;
    let missing = draw::draw(&chart, &request.log, &path, image)?;
    if !missing.is_empty() {
        tracing::warn!("{}", missing_glyphs(&missing));
    }
    Ok(Plotted {
        path,
        points: chart.series.iter().map(|s| s.points.len()).sum(),
        series: chart.series.len(),
        skipped,
    })
}

/// Which image `path` asks for, by its extension.
fn image_kind(path: &Path) -> Result<Image> {
    let ext = path.extension().and_then(|e| e.to_str());
    match ext.map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => Ok(Image::Svg),
        Some("png") => Ok(Image::Png),
        _ => Err(Error::usage(format!(
            "`-o {}`: a plot is written as SVG or PNG; end the file name in `.svg` or `.png`",
            path.display()
        ))),
    }
}

/// The warning for characters the PNG's font has no glyph for.
fn missing_glyphs(missing: &[char]) -> String {
    let list = missing
        .iter()
        .map(|c| format!("{c:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let place = if missing.len() == 1 { "its" } else { "their" };
    format!(
        "plot: the built-in font has no glyph for {list}; the PNG shows a box in {place} \
         place (an SVG, `-o NAME.svg`, leaves the text to the viewer's fonts)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output's extension picks the image; anything else is refused.
    #[test]
    fn image_from_extension() {
        assert_eq!(image_kind(Path::new("a/b.svg")).unwrap(), Image::Svg);
        assert_eq!(image_kind(Path::new("b.PNG")).unwrap(), Image::Png);
        for bad in ["b.jpg", "b", "b.svg.txt"] {
            let err = image_kind(Path::new(bad)).unwrap_err();
            assert!(err.to_string().contains("`.svg` or `.png`"), "{err}");
        }
    }

    /// The summary line, singular and plural.
    #[test]
    fn summary_line() {
        let mut plotted = Plotted {
            path: PathBuf::from("runs/x.svg"),
            points: 1,
            series: 1,
            skipped: 0,
        };
        assert_eq!(plotted.to_string(), "wrote runs/x.svg: 1 point in 1 series");
        plotted.points = 22;
        plotted.series = 2;
        plotted.skipped = 3;
        assert_eq!(
            plotted.to_string(),
            "wrote runs/x.svg: 22 points in 2 series; skipped 3 points without a number for x or y"
        );
    }

    /// The missing-glyph warning names each character once, escaped when unprintable.
    #[test]
    fn missing_glyph_warning() {
        assert_eq!(
            missing_glyphs(&['温']),
            "plot: the built-in font has no glyph for '温'; the PNG shows a box in its place \
             (an SVG, `-o NAME.svg`, leaves the text to the viewer's fonts)"
        );
        assert!(
            missing_glyphs(&['温', '度', '\t'])
                .starts_with("plot: the built-in font has no glyph for '温', '度', '\\t'; the PNG shows a box in their place")
        );
    }
}
