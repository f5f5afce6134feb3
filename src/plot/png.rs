//! The PNG: plotters' bitmap backend with the text drawn by [`Lettering`], and the encoding.
//!
//! [`PngCanvas`] is a plotters [`DrawingBackend`] that hands every shape to a
//! [`BitMapBackend`] but draws text itself (see [`super::lettering`] for why), noting each
//! character the embedded font lacks. plotters itself is used as published.

use plotters::prelude::BitMapBackend;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

use super::lettering::Lettering;

/// The bitmap's error type.
type BitmapError<'a> = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

/// A bitmap whose text is drawn by [`Lettering`].
pub(super) struct PngCanvas<'a> {
    /// Draws everything but text, into the caller's RGB buffer.
    bitmap: BitMapBackend<'a>,
    /// Lays out and rasterises text.
    lettering: &'a Lettering,
    /// The characters drawn that the font has no glyph for, each once, in first-seen order;
    /// the caller reads it after drawing.
    missing: &'a mut Vec<char>,
}

impl<'a> PngCanvas<'a> {
    /// A canvas drawing into `rgb` (3 bytes a pixel, rows top down) of `size` pixels.
    pub(super) fn new(
        rgb: &'a mut [u8],
        size: (u32, u32),
        lettering: &'a Lettering,
        missing: &'a mut Vec<char>,
    ) -> PngCanvas<'a> {
        PngCanvas {
            bitmap: BitMapBackend::with_buffer(rgb, size),
            lettering,
            missing,
        }
    }
}

impl<'a> DrawingBackend for PngCanvas<'a> {
    type ErrorType = BitmapError<'a>;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.blit_bitmap(pos, size, src)
    }

    /// Draws `text` with [`Lettering`] at the anchor `pos`, turned by the style's transform
    /// about it (the y axis's name is turned 270 degrees clockwise, as in the SVG).
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        for c in self.lettering.missing(text) {
            if !self.missing.contains(&c) {
                self.missing.push(c);
            }
        }
        let transform = style.transform();
        let bitmap = &mut self.bitmap;
        let mut result = Ok(());
        self.lettering
            .draw(text, style.size(), style.anchor(), |x, y, coverage| {
                let (x, y) = turn(&transform, x, y);
                let ink = BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                };
                if result.is_ok() {
                    result = bitmap.draw_pixel((pos.0 + x, pos.1 + y), ink);
                }
            });
        result
    }
}

/// The pixel that the pixel at offset `(x, y)` from the anchor lands on when turned by
/// `transform` about the anchor: the pixel's centre is turned, so a turned text covers the
/// same area as the upright one.
fn turn(transform: &FontTransform, x: i32, y: i32) -> (i32, i32) {
    match transform {
        FontTransform::None => (x, y),
        FontTransform::Rotate90 => (-y - 1, x),
        FontTransform::Rotate180 => (-x - 1, -y - 1),
        FontTransform::Rotate270 => (y, -x - 1),
    }
}

/// `rgb` (3 bytes a pixel, rows top down) as a PNG file.
pub(super) fn encode_png(
    rgb: &[u8],
    (w, h): (u32, u32),
) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    /// `text` drawn on a white 400 x 400 canvas with its anchor in the middle, through the
    /// plotters drawing area (as the chart's text is): the RGB buffer and the missing
    /// characters.
    fn canvas(text: &str, transform: FontTransform) -> (Vec<u8>, Vec<char>) {
        let lettering = Lettering::new().unwrap();
        let mut rgb = vec![0u8; 400 * 400 * 3];
        let mut missing = Vec::new();
        {
            let root =
                PngCanvas::new(&mut rgb, (400, 400), &lettering, &mut missing).into_drawing_area();
            root.fill(&WHITE).unwrap();
            let style = TextStyle::from(("sans-serif", 40)).transform(transform);
            root.draw_text(text, &style, (200, 200)).unwrap();
            root.draw_text(text, &style, (200, 200)).unwrap();
        }
        (rgb, missing)
    }

    /// The pixels that are not white, as (x, y).
    fn inked(rgb: &[u8]) -> Vec<(i32, i32)> {
        let white = |x: i32, y: i32| {
            let at = (y * 400 + x) as usize * 3;
            rgb[at..at + 3] == [255, 255, 255]
        };
        (0..400)
            .flat_map(|y| (0..400).map(move |x| (x, y)))
            .filter(|&(x, y)| !white(x, y))
            .collect()
    }

    /// Turned text covers exactly the pixels of the upright text turned about the anchor.
    #[test]
    fn turned_text_is_the_upright_text_turned() {
        let (upright, _) = canvas("iv-curves", FontTransform::None);
        let upright = inked(&upright);
        assert!(upright.len() > 100);
        for transform in [
            FontTransform::Rotate90,
            FontTransform::Rotate180,
            FontTransform::Rotate270,
        ] {
            let (turned, _) = canvas("iv-curves", transform.clone());
            let mut expected: Vec<_> = upright
                .iter()
                .map(|&(x, y)| {
                    let (x, y) = turn(&transform, x - 200, y - 200);
                    (x + 200, y + 200)
                })
                .collect();
            expected.sort_unstable_by_key(|&(x, y)| (y, x));
            assert_eq!(inked(&turned), expected);
        }
    }

    /// Characters without a glyph are noted once each, however often they are drawn.
    #[test]
    fn missing_characters_noted_once() {
        let (rgb, missing) = canvas("温-Ω-温度", FontTransform::None);
        assert_eq!(missing, ['温', '度']);
        assert!(!inked(&rgb).is_empty());
    }
}
