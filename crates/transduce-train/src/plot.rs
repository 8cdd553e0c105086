//! PNG line plots of per-epoch metrics (plotters, bitmap backend, a bundled DejaVu Sans font so
//! that nothing depends on the system's fonts). PNGs are written with a palette of at most 256
//! colours ([`write_png`]), which makes a plot about a tenth of its 24-bit size.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::TrainError;

static FONT: Once = Once::new();

/// One named line: `(epoch, value)` points; non-finite values are skipped.
pub struct Series<'a> {
    /// Legend label.
    pub name: &'a str,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// Draws `series` against the epoch into a PNG at `path` (written atomically).
pub fn line_plot(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), TrainError> {
    line_plot_with(path, title, "epoch", y_label, series, None)
}

/// A range of x shaded grey behind the lines, with its legend label (such as the lengths a
/// model was trained on).
pub struct Shade<'a> {
    /// From this x.
    pub from: f64,
    /// To this x.
    pub to: f64,
    /// Legend label.
    pub label: &'a str,
}

/// [`line_plot`] with any x axis label, and optionally a shaded range of x.
pub fn line_plot_with(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    shade: Option<Shade>,
) -> Result<(), TrainError> {
    FONT.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        register_font("sans-serif", FontStyle::Normal, font).ok();
    });
    let finite: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if finite.is_empty() {
        return Ok(());
    }
    let (x_max, y_min, y_max) = finite.iter().fold(
        (1.0f64, f64::INFINITY, f64::NEG_INFINITY),
        |(x, lo, hi), &(px, py)| (x.max(px), lo.min(py), hi.max(py)),
    );
    let pad = ((y_max - y_min) * 0.05).max(1e-3);
    let tmp = path.with_file_name(format!(
        "tmp-{}-{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    // The legend sits in a panel right of the chart, as wide as its longest label, so that it
    // never hides a line.
    let labels: Vec<&str> = shade
        .as_ref()
        .map(|s| s.label)
        .into_iter()
        .chain(series.iter().map(|s| s.name))
        .collect();
    let legend_width = 75
        + labels
            .iter()
            .map(|l| legend_text_width(l))
            .max()
            .unwrap_or(0);
    let size: (u32, u32) = (800 + legend_width, 500);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    let mut draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot_area, legend_area) = root.split_horizontally(800);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(title, ("sans-serif", 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(1.0..x_max.max(2.0), (y_min - pad)..(y_max + pad))?;
        let grey = RGBColor(225, 225, 225);
        if let Some(shade) = &shade {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(shade.from, y_min - pad), (shade.to, y_max + pad)],
                grey.filled(),
            )))?;
        }
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 15))
            .draw()?;
        let colors: Vec<RGBAColor> = (0..series.len())
            .map(|i| Palette99::pick(i).to_rgba())
            .collect();
        for (s, &color) in series.iter().zip(&colors) {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        // The legend: one row per label, from the top of the chart.
        let font = ("sans-serif", 15).into_font().color(&BLACK);
        let row = |i: usize| 60 + 24 * i as i32;
        let mut i = 0;
        if let Some(shade) = &shade {
            legend_area.draw(&Rectangle::new(
                [(10, row(i) - 6), (40, row(i) + 6)],
                grey.filled(),
            ))?;
            legend_area.draw(&Text::new(shade.label, (48, row(i) - 8), font.clone()))?;
            i += 1;
        }
        for (s, &color) in series.iter().zip(&colors) {
            legend_area.draw(&PathElement::new(
                vec![(10, row(i)), (40, row(i))],
                color.stroke_width(2),
            ))?;
            legend_area.draw(&Circle::new((25, row(i)), 3, color.filled()))?;
            legend_area.draw(&Text::new(s.name, (48, row(i) - 8), font.clone()))?;
            i += 1;
        }
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| TrainError::artifact(path, format!("cannot draw the plot: {e}")))?;
    let written = write_png(&tmp, &pixels, size).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| TrainError::artifact(path, e))
}

/// The width in pixels of `label` in the legend's font (an estimate if the font cannot measure it).
fn legend_text_width(label: &str) -> u32 {
    ("sans-serif", 15)
        .into_font()
        .box_size(label)
        .map(|(w, _)| w)
        .unwrap_or(9 * label.chars().count() as u32)
}

/// Writes an RGB picture (`size.0 × size.1` pixels, 3 bytes each, rows top to bottom) as a
/// palette PNG: its 256 most frequent colours are kept exactly (the background, the lines,
/// the text), and every other colour (anti-aliased edges) becomes the nearest of them.
pub fn write_png(path: &Path, rgb: &[u8], size: (u32, u32)) -> std::io::Result<()> {
    let pixels: Vec<[u8; 3]> = rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for p in &pixels {
        *counts.entry(*p).or_default() += 1;
    }
    let mut by_count: Vec<([u8; 3], usize)> = counts.into_iter().collect();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let palette: Vec<[u8; 3]> = by_count.iter().take(256).map(|&(c, _)| c).collect();
    let distance = |a: [u8; 3], b: [u8; 3]| -> i32 {
        (0..3)
            .map(|i| (i32::from(a[i]) - i32::from(b[i])).pow(2))
            .sum()
    };
    let index: HashMap<[u8; 3], u8> = by_count
        .iter()
        .map(|&(color, _)| {
            let nearest = (0..palette.len())
                .min_by_key(|&i| distance(color, palette[i]))
                .expect("a picture has a colour");
            (color, nearest as u8)
        })
        .collect();
    let indices: Vec<u8> = pixels.iter().map(|p| index[p]).collect();

    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, size.0, size.1);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(palette.concat());
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(&indices)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png() {
        let dir = std::env::temp_dir().join(format!("transduce-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("loss.png");
        let series = [
            Series {
                name: "train",
                points: vec![(1.0, 2.0), (2.0, 1.5), (3.0, f64::NAN), (4.0, 1.0)],
            },
            Series {
                name: "valid",
                points: vec![(1.0, 2.2), (2.0, 1.7), (3.0, 1.4), (4.0, 1.3)],
            },
        ];
        line_plot(&path, "loss", "cross-entropy", &series).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 5_000);
        // Nothing to draw is not an error and writes nothing.
        line_plot(
            &dir.join("empty.png"),
            "t",
            "y",
            &[Series {
                name: "x",
                points: vec![(1.0, f64::NAN)],
            }],
        )
        .unwrap();
        assert!(!dir.join("empty.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
