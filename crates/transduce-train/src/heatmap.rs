//! Attention heatmaps: a grid of weights with the tokens on its axes, as in Fig. 3 of Bahdanau et
//! al. 2015 ("Neural Machine Translation by Jointly Learning to Align and Translate"): one row
//! per output position (the attending side), one column per attended position, white for 0 and
//! dark blue for 1. Several maps can be drawn side by side in one picture (a Transformer's heads,
//! or its encoder self-, decoder self- and cross-attention).
//!
//! Drawn with plotters into a PNG (bitmap backend) or an SVG, by the file's extension, with the
//! bundled DejaVu Sans font, and written atomically.
//!
//! # Layout
//! A map of `R` rows and `C` columns is [`CELL`] pixels per cell, with row labels in a left
//! margin of `left = 12 + 8 · (longest row label, in characters, at most 24)` pixels and column
//! labels written upwards in a top band of `top = TITLE + 12 + 8 · (longest column label, at
//! most 24)` pixels: `left + C · CELL + MARGIN` wide (or `16 + 9 · (title characters)` if that is
//! wider, so that titles never overlap) and `top + R · CELL + MARGIN` high. Maps in one row of the
//! picture sit side by side; rows of maps stack.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform, register_font};

use crate::TrainError;
use crate::plot::write_png;
pub use transduce_infer::inspect::Heatmap;

static FONT: Once = Once::new();

/// Side of one cell, in pixels: 40 tokens on an axis make 880 pixels.
pub const CELL: u32 = 22;
/// Height of a map's title band, in pixels.
pub const TITLE: u32 = 28;
/// Blank space right of and below each map, in pixels.
pub const MARGIN: u32 = 12;
/// Labels longer than this many characters are cut (with `…`).
const LABEL_CHARS: usize = 24;

/// Where a map's parts lie, in pixels from its top-left corner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Width of the row-label margin (the first cell's left edge).
    pub left: u32,
    /// Height of the title and column-label band (the first cell's top edge).
    pub top: u32,
    /// Width of the whole map.
    pub width: u32,
    /// Height of the whole map.
    pub height: u32,
}

/// A map's layout (see the module documentation).
pub fn layout(map: &Heatmap) -> Layout {
    let longest = |labels: &[String]| {
        labels
            .iter()
            .map(|l| l.chars().count().min(LABEL_CHARS) as u32)
            .max()
            .unwrap_or(0)
    };
    let left = 12 + 8 * longest(&map.rows);
    let top = TITLE + 12 + 8 * longest(&map.columns);
    let title = 16 + 9 * map.title.chars().count() as u32;
    Layout {
        left,
        top,
        width: (left + map.columns.len() as u32 * CELL + MARGIN).max(title),
        height: top + map.rows.len() as u32 * CELL + MARGIN,
    }
}

/// Checks that the weights have one row per row label and one value per column label.
fn check(map: &Heatmap) -> Result<(), TrainError> {
    let bad = map.weights.len() != map.rows.len()
        || map.weights.iter().any(|r| r.len() != map.columns.len());
    if bad || map.rows.is_empty() || map.columns.is_empty() {
        return Err(TrainError::Input(format!(
            "heatmap '{}': {} rows and {} columns of labels do not fit weights of {} rows ({:?} columns)",
            map.title,
            map.rows.len(),
            map.columns.len(),
            map.weights.len(),
            map.weights.iter().map(Vec::len).collect::<Vec<_>>()
        )));
    }
    Ok(())
}

/// The colour of a weight: white at 0, `rgb(8, 48, 107)` at 1, linear in between.
pub fn colour(weight: f32) -> RGBColor {
    let w = if weight.is_finite() {
        weight.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |to: u8| (255.0 - w * (255.0 - f32::from(to))).round() as u8;
    RGBColor(mix(8), mix(48), mix(107))
}

/// The picture's size for rows of maps drawn side by side: the widest row's width and the sum
/// of each row's tallest map.
pub fn picture_size(grid: &[Vec<Heatmap>]) -> (u32, u32) {
    let width = grid
        .iter()
        .map(|row| row.iter().map(|m| layout(m).width).sum::<u32>())
        .max()
        .unwrap_or(0);
    let height = grid
        .iter()
        .map(|row| row.iter().map(|m| layout(m).height).max().unwrap_or(0))
        .sum();
    (width, height)
}

/// Draws rows of maps into `path`: an SVG if its extension is `svg`, else a PNG.
pub fn draw(path: &Path, grid: &[Vec<Heatmap>]) -> Result<(), TrainError> {
    if grid.iter().all(Vec::is_empty) {
        return Err(TrainError::Input("no attention map to draw".into()));
    }
    for map in grid.iter().flatten() {
        check(map)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(TrainError::Input(format!(
            "{}: cannot write: {} is not a directory",
            path.display(),
            dir.display()
        )));
    }
    FONT.call_once(|| {
        let font: &'static [u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
        register_font("sans-serif", FontStyle::Normal, font).ok();
    });
    let svg = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let tmp = path.with_file_name(format!(
        "tmp-{}-{}",
        std::process::id(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let size = picture_size(grid);
    let result = if svg {
        paint(SVGBackend::new(&tmp, size).into_drawing_area(), grid)
    } else {
        let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
        paint(
            BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area(),
            grid,
        )
        .and_then(|()| Ok(write_png(&tmp, &pixels, size)?))
    };
    let written = result
        .map_err(|e| TrainError::Input(format!("{}: cannot draw: {e}", path.display())))
        .and_then(|()| {
            std::fs::rename(&tmp, path)
                .map_err(|e| TrainError::Input(format!("{}: cannot write: {e}", path.display())))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Paints the grid on a drawing area of [`picture_size`].
fn paint<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    grid: &[Vec<Heatmap>],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let mut y = 0;
    for row in grid {
        let mut x = 0;
        for map in row {
            paint_map(&root, map, (x as i32, y as i32))?;
            x += layout(map).width;
        }
        y += row.iter().map(|m| layout(m).height).max().unwrap_or(0);
    }
    root.present()?;
    Ok(())
}

/// Paints one map with its top-left corner at `origin`.
fn paint_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    map: &Heatmap,
    origin: (i32, i32),
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let layout = layout(map);
    let (x0, y0) = (origin.0 + layout.left as i32, origin.1 + layout.top as i32);
    let cell = CELL as i32;
    let label = |text: &str| -> String {
        if text.chars().count() > LABEL_CHARS {
            text.chars().take(LABEL_CHARS - 1).chain(['…']).collect()
        } else {
            text.to_string()
        }
    };
    root.draw(&Text::new(
        map.title.clone(),
        (origin.0 + 8, origin.1 + 6),
        ("sans-serif", 17).into_font().color(&BLACK),
    ))?;
    for (r, weights) in map.weights.iter().enumerate() {
        for (c, &w) in weights.iter().enumerate() {
            let (x, y) = (x0 + c as i32 * cell, y0 + r as i32 * cell);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                colour(w).filled(),
            ))?;
        }
    }
    // A thin frame, so that a column of zeros at the edge stays visible.
    let (w, h) = (
        map.columns.len() as i32 * cell,
        map.rows.len() as i32 * cell,
    );
    root.draw(&Rectangle::new(
        [(x0 - 1, y0 - 1), (x0 + w, y0 + h)],
        RGBColor(160, 160, 160).stroke_width(1),
    ))?;
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    for (r, text) in map.rows.iter().enumerate() {
        root.draw(&Text::new(
            label(text),
            (x0 - 6, y0 + r as i32 * cell + cell / 2),
            font.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    let upwards = ("sans-serif", 14)
        .into_font()
        .transform(FontTransform::Rotate270)
        .color(&BLACK);
    for (c, text) in map.columns.iter().enumerate() {
        root.draw(&Text::new(
            label(text),
            (x0 + c as i32 * cell + cell / 2, y0 - 6),
            upwards.pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crafted(rows: usize, columns: usize, one: (usize, usize)) -> Heatmap {
        let mut weights = vec![vec![0.0; columns]; rows];
        weights[one.0][one.1] = 1.0;
        Heatmap {
            title: "crafted".into(),
            rows: (0..rows).map(|r| format!("t{r}")).collect(),
            columns: (0..columns).map(|c| format!("s{c}")).collect(),
            weights,
        }
    }

    fn pixel(img: &image::RgbImage, x: u32, y: u32) -> [u8; 3] {
        img.get_pixel(x, y).0
    }

    #[test]
    fn the_png_has_the_documented_size_and_each_cell_the_colour_of_its_weight() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("map.png");
        // 3 rows labelled t0..t2 (2 characters), 5 columns s0..s4 (2 characters), a 1 at (1, 3).
        let map = crafted(3, 5, (1, 3));
        draw(&path, &[vec![map.clone()]]).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        let (left, top) = (12 + 8 * 2, TITLE + 12 + 8 * 2);
        assert_eq!(
            img.dimensions(),
            (left + 5 * CELL + MARGIN, top + 3 * CELL + MARGIN)
        );
        assert_eq!(layout(&map).left, left);
        assert_eq!(layout(&map).top, top);
        let centre = |r: u32, c: u32| (left + c * CELL + CELL / 2, top + r * CELL + CELL / 2);
        let (x, y) = centre(1, 3);
        assert_eq!(pixel(&img, x, y), [8, 48, 107]);
        for (r, c) in [(0, 0), (1, 2), (2, 3), (0, 4)] {
            let (x, y) = centre(r, c);
            assert_eq!(pixel(&img, x, y), [255, 255, 255], "cell ({r}, {c})");
        }
        // Labels are drawn: the margins hold dark pixels.
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1).any(|x| (y0..y1).any(|y| pixel(&img, x, y).iter().all(|&v| v < 128)))
        };
        assert!(dark(0, left, top, top + CELL), "row label t0");
        assert!(dark(left, left + CELL, TITLE, top), "column label s0");
    }

    #[test]
    fn a_half_weight_is_half_way_and_out_of_range_values_are_clamped() {
        assert_eq!(colour(0.5), RGBColor(132, 152, 181));
        assert_eq!(colour(-3.0), colour(0.0));
        assert_eq!(colour(7.0), colour(1.0));
        assert_eq!(colour(f32::NAN), colour(0.0));
    }

    #[test]
    fn maps_side_by_side_and_stacked_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let grid = vec![
            vec![crafted(2, 2, (0, 0)), crafted(2, 3, (1, 2))],
            vec![crafted(4, 1, (3, 0))],
        ];
        let (a, b, c) = (
            layout(&grid[0][0]),
            layout(&grid[0][1]),
            layout(&grid[1][0]),
        );
        assert_eq!(
            picture_size(&grid),
            (
                (a.width + b.width).max(c.width),
                a.height.max(b.height) + c.height
            )
        );
        let png = dir.path().join("grid.png");
        draw(&png, &grid).unwrap();
        let img = image::open(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), picture_size(&grid));
        // The second map's 1 at (1, 2), offset by the first map's width.
        let (x, y) = (
            a.width + b.left + 2 * CELL + CELL / 2,
            b.top + CELL + CELL / 2,
        );
        assert_eq!(pixel(&img, x, y), [8, 48, 107]);
        let svg = dir.path().join("grid.svg");
        draw(&svg, &grid).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg") && text.contains("s2") && text.contains("t3"));
        assert!(
            text.contains("rgb(8,48,107)") || text.contains("#08306B"),
            "{}",
            &text[..400]
        );
    }

    #[test]
    fn mismatched_labels_are_an_error_naming_the_map() {
        let mut map = crafted(2, 2, (0, 0));
        map.columns.pop();
        let dir = tempfile::tempdir().unwrap();
        let err = draw(&dir.path().join("x.png"), &[vec![map]]).unwrap_err();
        assert!(err.to_string().contains("heatmap 'crafted'"), "{err}");
        assert!(!dir.path().join("x.png").exists());
        let missing = dir.path().join("no/such/dir/x.png");
        let err = draw(&missing, &[vec![crafted(1, 1, (0, 0))]]).unwrap_err();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }
}
