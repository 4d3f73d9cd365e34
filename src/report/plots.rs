//! The report's two PNGs, drawn with plotters' bitmap backend. Text uses a bundled DejaVu Sans
//! Mono through plotters' `ab_glyph` feature, so no system fonts or fontconfig are needed.
use crate::error::{Error, Result};
use crate::eval::metrics::{Confusion, Projection};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &str = "flowconx-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");

fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Config("bundled font cannot be loaded".into()))
    }
}

/// Distinct colours for up to 10 labels, then repeating.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::input(path, format!("cannot draw plot: {e}"))
}

/// Draws into a temp `.png` beside `path`, renamed over it when complete.
fn with_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    register_font()?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".flowconx-")
        .suffix(".png")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    {
        let root = BitMapBackend::new(tmp.path(), size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        draw(&root)?;
        root.present().map_err(|e| plot_err(path, e))?;
    }
    crate::output::make_readable(tmp.path(), path)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Scatter of the 2-D projection, one colour per service, with a legend.
pub fn projection_png(p: &Projection, path: &Path) -> Result<()> {
    let range = |v: &[f32]| {
        let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        if lo.is_finite() && hi > lo {
            let pad = (hi - lo) * 0.05;
            (lo - pad)..(hi + pad)
        } else {
            -1.0..1.0
        }
    };
    let (xr, yr) = (range(&p.x), range(&p.y));
    with_png(path, (900, 700), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Test embeddings, 2-D PCA, by service", (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("PC 1")
            .y_desc("PC 2")
            .label_style((FONT, 14))
            .light_line_style(WHITE)
            .draw()
            .map_err(|e| plot_err(path, e))?;
        for (li, name) in p.labels.iter().enumerate() {
            let colour = COLOURS[li % COLOURS.len()];
            let pts: Vec<(f32, f32)> =
                (0..p.x.len()).filter(|&i| p.label[i] as usize == li).map(|i| (p.x[i], p.y[i])).collect();
            if pts.is_empty() {
                continue;
            }
            chart
                .draw_series(pts.into_iter().map(|xy| Circle::new(xy, 3, colour.mix(0.7).filled())))
                .map_err(|e| plot_err(path, e))?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| plot_err(path, e))?;
        Ok(())
    })
}

/// Confusion matrix as a heat map (row-normalised shading, counts written in the cells).
pub fn confusion_png(c: &Confusion, path: &Path) -> Result<()> {
    let n = c.labels.len().max(1);
    let cell = (520 / n as u32).clamp(40, 110);
    let left = 170u32;
    let top = 120u32;
    let size = (left + cell * n as u32 + 30, top + cell * n as u32 + 40);
    with_png(path, size, |root| {
        let text = |s: &str, x: i32, y: i32, size: u32| {
            root.draw(&Text::new(s.to_string(), (x, y), (FONT, size).into_font().color(&BLACK)))
                .map_err(|e| plot_err(path, e))
        };
        text("Confusion matrix (rows: true service, columns: predicted)", 10, 10, 18)?;
        for (j, name) in c.labels.iter().enumerate() {
            // Column headers: index above the cell, names listed by index on the left.
            text(&format!("{j}"), (left + cell * j as u32 + cell / 2 - 4) as i32, (top - 22) as i32, 15)?;
            text(&format!("{j} {name}"), 10, (top + cell * j as u32 + cell / 2 - 8) as i32, 14)?;
        }
        text("predicted →", left as i32, (top - 50) as i32, 15)?;
        for (i, row) in c.matrix.iter().enumerate() {
            let total: u64 = row.iter().sum();
            for (j, &v) in row.iter().enumerate() {
                let share = if total > 0 { v as f64 / total as f64 } else { 0.0 };
                let shade = (255.0 - 200.0 * share) as u8;
                let colour = if i == j {
                    RGBColor(shade, 255 - (200.0 * share * 0.3) as u8, shade)
                } else {
                    RGBColor(255, shade, shade)
                };
                let (x0, y0) = ((left + cell * j as u32) as i32, (top + cell * i as u32) as i32);
                let (x1, y1) = (x0 + cell as i32, y0 + cell as i32);
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled())).map_err(|e| plot_err(path, e))?;
                root.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))
                    .map_err(|e| plot_err(path, e))?;
                let label = v.to_string();
                text(&label, x0 + cell as i32 / 2 - 4 * label.len() as i32, y0 + cell as i32 / 2 - 8, 15)?;
            }
        }
        Ok(())
    })
}
