//! Figures drawn with plotters, as SVG or PNG (by the file's extension):
//!
//! - the few-shot curves of CoOp's Figure 3: accuracy against shots per class (0 for
//!   zero-shot, then 1, 2, 4, 8, 16 evenly spaced), a panel per dataset after the Average
//!   panel, a line per method with error bars (std over seeds), and with `--paper` the
//!   published curves dashed in the same colour;
//! - a base-to-new bar chart: Base, New and H per dataset and the Average, a bar per
//!   method, error bars on Base and New, the published value as a black tick.
//!
//! Text is drawn with DejaVu Sans cut down to the characters the figures need
//! (`assets/fonts/DejaVuSans-plot.ttf`, made by `make_font.py` beside it), built into the
//! binary, so every machine draws the same figure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{Paper, Report};
use crate::errors::ReportError;

const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-plot.ttf");
const FONT: &str = "sans-serif";

const PALETTE: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Registers the built-in font with plotters (once per process).
fn font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let ok = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok();
        assert!(ok, "the built-in font is a valid TrueType file");
    });
}

/// CoOp's short dataset names, for axis labels.
fn short(d: &str) -> &str {
    match d {
        "DescribableTextures" => "DTD",
        "OxfordFlowers" => "Flowers102",
        "ImageNetSketch" => "-Sketch",
        "ImageNetV2" => "-V2",
        "ImageNetA" => "-A",
        "ImageNetR" => "-R",
        other => other,
    }
}

fn x_pos(shots: i64) -> f64 {
    if shots <= 0 {
        0.0
    } else {
        (shots as f64).log2() + 1.0
    }
}

/// One curve of a panel: (x, mean, std) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub series: usize,
    pub points: Vec<(f64, f64, f64)>,
    /// The published numbers (drawn dashed).
    pub paper: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub curves: Vec<Curve>,
}

/// The few-shot figure, laid out as data.
#[derive(Debug, Clone, PartialEq)]
pub struct FewshotFigure {
    pub series: Vec<String>,
    pub panels: Vec<Panel>,
    /// Shot counts on the x axis (0 when a zero-shot method is drawn).
    pub shots: Vec<i64>,
    pub with_paper: bool,
}

/// Whether the values name more than one thing (labels then carry the backbone).
fn several<'a>(values: impl Iterator<Item = &'a String>) -> bool {
    values.collect::<std::collections::BTreeSet<_>>().len() > 1
}

/// The curves of a report; `None` without few-shot results.
pub fn fewshot_figure(rep: &Report, paper: &Paper) -> Option<FewshotFigure> {
    if !rep.fewshot.iter().any(|r| r.stat.n > 0) {
        return None;
    }
    let multi_backbone = several(rep.fewshot.iter().map(|r| &r.backbone));
    let name = |m: &str, b: &str| {
        if multi_backbone {
            format!("{m} ({b})")
        } else {
            m.to_string()
        }
    };
    let mut series: Vec<(String, String, String)> = Vec::new();
    let mut datasets: Vec<String> = Vec::new();
    let mut shots: std::collections::BTreeSet<i64> = Default::default();
    for r in rep.fewshot.iter().filter(|r| r.stat.n > 0) {
        let key = (
            name(&r.method, &r.backbone),
            r.method.clone(),
            r.backbone.clone(),
        );
        if !series.contains(&key) {
            series.push(key);
        }
        if !datasets.contains(&r.dataset) {
            datasets.push(r.dataset.clone());
        }
        shots.insert(r.shots);
    }
    datasets.sort_by_key(|d| super::wide::order_key(d));
    let mut titles = Vec::new();
    if datasets.len() > 1 {
        titles.push("Average".to_string());
    }
    titles.extend(datasets.iter().cloned());
    let mut with_paper = false;
    let panels = titles
        .iter()
        .map(|title| {
            let mut curves = Vec::new();
            for (si, (_, method, backbone)) in series.iter().enumerate() {
                let mut pts = Vec::new();
                let mut pub_pts = Vec::new();
                if title == "Average" {
                    for a in rep
                        .fewshot_average
                        .iter()
                        .filter(|a| &a.method == method && &a.backbone == backbone)
                    {
                        if a.datasets > 0 {
                            pts.push((x_pos(a.shots), a.mean, f64::NAN));
                        }
                        if let Some(p) = a.paper {
                            pub_pts.push((x_pos(a.shots), p, f64::NAN));
                        }
                    }
                } else {
                    for r in rep.fewshot.iter().filter(|r| {
                        &r.method == method && &r.backbone == backbone && &r.dataset == title
                    }) {
                        if r.stat.n > 0 {
                            pts.push((x_pos(r.shots), r.stat.mean, r.stat.std));
                        }
                        if let Some(p) = r.paper {
                            pub_pts.push((x_pos(r.shots), p, f64::NAN));
                        }
                    }
                }
                // The paper's curve over every shot count it has, not only those run.
                if !paper.is_empty() {
                    for &k in &shots {
                        let v = if title == "Average" {
                            paper.fewshot_average(method, backbone, k).map(|p| p.0)
                        } else {
                            paper.fewshot(method, backbone, title, k)
                        };
                        if let Some(v) = v {
                            if !pub_pts.iter().any(|p| p.0 == x_pos(k)) {
                                pub_pts.push((x_pos(k), v, f64::NAN));
                            }
                        }
                    }
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                pub_pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                if !pts.is_empty() {
                    curves.push(Curve {
                        series: si,
                        points: pts,
                        paper: false,
                    });
                }
                if !pub_pts.is_empty() {
                    with_paper = true;
                    curves.push(Curve {
                        series: si,
                        points: pub_pts,
                        paper: true,
                    });
                }
            }
            Panel {
                title: title.clone(),
                curves,
            }
        })
        .collect();
    Some(FewshotFigure {
        series: series.into_iter().map(|s| s.0).collect(),
        panels,
        shots: shots.into_iter().collect(),
        with_paper,
    })
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const PANEL_W: u32 = 330;
const PANEL_H: u32 = 270;

fn legend_rows(n: usize, per_row: usize) -> u32 {
    n.div_ceil(per_row.max(1)) as u32
}

/// The figure's size in pixels.
pub fn fewshot_size(fig: &FewshotFigure) -> (u32, u32) {
    let cols = fig.panels.len().clamp(1, 4) as u32;
    let rows = fig.panels.len().div_ceil(cols as usize) as u32;
    let per_row = (cols as usize).max(2);
    let entries = fig.series.len() + usize::from(fig.with_paper);
    (
        PANEL_W * cols.max(2),
        PANEL_H * rows + 16 + 24 * legend_rows(entries, per_row),
    )
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor, bool)],
    per_row: usize,
) -> DrawResult<DB> {
    let (w, _) = area.dim_in_pixel();
    let col_w = w as i32 / per_row as i32;
    for (i, (name, color, dashed)) in entries.iter().enumerate() {
        let x = 16 + (i % per_row) as i32 * col_w;
        let y = 14 + 24 * (i / per_row) as i32;
        if *dashed {
            area.draw(&DashedPathElement::new(
                vec![(x, y), (x + 30, y)],
                6,
                4,
                color.stroke_width(2),
            ))?;
        } else {
            area.draw(&PathElement::new(
                vec![(x, y), (x + 30, y)],
                color.stroke_width(2),
            ))?;
            area.draw(&Circle::new((x + 15, y), 4, color.filled()))?;
        }
        area.draw(&Text::new(
            name.clone(),
            (x + 38, y - 8),
            (FONT, 14).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}

/// Draws the few-shot figure onto `root`.
pub fn draw_fewshot<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &FewshotFigure,
) -> DrawResult<DB> {
    font();
    root.fill(&WHITE)?;
    let cols = fig.panels.len().clamp(1, 4);
    let rows = fig.panels.len().div_ceil(cols);
    let (_, h) = root.dim_in_pixel();
    let (grid, legend) = root.split_vertically((PANEL_H * rows as u32) as i32);
    let _ = h;
    let cells = grid.split_evenly((rows, cols.max(2)));
    let max_x = fig.shots.iter().map(|s| x_pos(*s)).fold(1.0, f64::max);
    // Integer positions are 0 shots, then 1, 2, 4, 8, ... (the axis of CoOp's Figure 3).
    let label_of = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() > 1e-9 || i < 0.0 {
            String::new()
        } else if i == 0.0 {
            "0".into()
        } else {
            (1i64 << (i as u32 - 1)).to_string()
        }
    };
    for (panel, area) in fig.panels.iter().zip(cells.iter()) {
        let ys: Vec<f64> = panel
            .curves
            .iter()
            .flat_map(|c| {
                c.points.iter().flat_map(|p| {
                    let s = if p.2.is_finite() { p.2 } else { 0.0 };
                    [p.1 - s, p.1 + s]
                })
            })
            .filter(|v| v.is_finite())
            .collect();
        let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() {
            (lo, hi)
        } else {
            (0.0, 100.0)
        };
        let pad = ((hi - lo) * 0.08).max(1.0);
        let (lo, hi) = (
            ((lo - pad) / 5.0).floor() * 5.0,
            ((hi + pad) / 5.0).ceil() * 5.0,
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FONT, 17))
            .margin_top(4)
            .margin_left(6)
            .margin_right(16)
            .margin_bottom(6)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.35..max_x + 0.35, lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .y_labels(6)
            .max_light_lines(1)
            // One tick per integer position: the shot counts.
            .x_labels(max_x as usize + 1)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .x_desc("shots per class")
            .y_desc("accuracy (%)")
            .draw()?;
        for c in &panel.curves {
            let color = PALETTE[c.series % PALETTE.len()];
            let pts: Vec<(f64, f64)> = c.points.iter().map(|p| (p.0, p.1)).collect();
            if c.paper {
                if pts.len() > 1 {
                    chart.draw_series(std::iter::once(DashedPathElement::new(
                        pts.clone(),
                        6,
                        4,
                        color.stroke_width(2),
                    )))?;
                }
                chart.draw_series(pts.iter().map(|p| Cross::new(*p, 4, color.stroke_width(1))))?;
                continue;
            }
            if pts.len() > 1 {
                chart.draw_series(std::iter::once(PathElement::new(
                    pts.clone(),
                    color.stroke_width(2),
                )))?;
            }
            // Error bars: mean ± std over seeds, with caps.
            let cap = 0.08;
            for p in c.points.iter().filter(|p| p.2.is_finite() && p.2 > 0.0) {
                let (x, lo, hi) = (p.0, p.1 - p.2, p.1 + p.2);
                chart.draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], color.stroke_width(1)),
                    PathElement::new(vec![(x - cap, lo), (x + cap, lo)], color.stroke_width(1)),
                    PathElement::new(vec![(x - cap, hi), (x + cap, hi)], color.stroke_width(1)),
                ])?;
            }
            chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))?;
        }
    }
    let per_row = cols.max(2);
    let mut entries: Vec<(String, RGBColor, bool)> = fig
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), PALETTE[i % PALETTE.len()], false))
        .collect();
    if fig.with_paper {
        entries.push(("published (dashed)".into(), RGBColor(60, 60, 60), true));
    }
    draw_legend(&legend, &entries, per_row)?;
    root.present()?;
    Ok(())
}

/// One group of bars: a dataset (or the Average) and a bar per method.
#[derive(Debug, Clone, PartialEq)]
pub struct BarGroup {
    pub dataset: String,
    /// Per method: (base, new, H) as (mean, std), and the published (base, new, H).
    pub bars: Vec<Option<Bars>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bars {
    pub values: [(f64, f64); 3],
    pub paper: Option<[f64; 3]>,
}

/// The base-to-new bar chart as data.
#[derive(Debug, Clone, PartialEq)]
pub struct Base2NewFigure {
    pub methods: Vec<String>,
    pub groups: Vec<BarGroup>,
}

/// The base-to-new chart of a report; `None` without base-to-new results.
pub fn base2new_figure(rep: &Report) -> Option<Base2NewFigure> {
    if !rep.base2new.iter().any(|b| b.base.n > 0 && b.new.n > 0) {
        return None;
    }
    let multi_backbone = several(rep.base2new.iter().map(|r| &r.backbone));
    let mut methods: Vec<(String, String)> = Vec::new();
    let mut by: BTreeMap<String, BTreeMap<usize, Bars>> = BTreeMap::new();
    for b in rep.base2new.iter().filter(|b| b.base.n > 0 && b.new.n > 0) {
        let key = (b.method.clone(), b.backbone.clone());
        let mi = match methods.iter().position(|m| *m == key) {
            Some(i) => i,
            None => {
                methods.push(key);
                methods.len() - 1
            }
        };
        by.entry(b.dataset.clone()).or_default().insert(
            mi,
            Bars {
                values: [
                    (b.base.mean, b.base.std),
                    (b.new.mean, b.new.std),
                    (b.harmonic, f64::NAN),
                ],
                paper: b.paper.map(|p| [p.0, p.1, p.2]),
            },
        );
    }
    let mut names: Vec<String> = by.keys().cloned().collect();
    names.sort_by_key(|d| (d != "Average", super::wide::order_key(d)));
    let groups = names
        .into_iter()
        .map(|d| BarGroup {
            bars: (0..methods.len())
                .map(|i| by[&d].get(&i).copied())
                .collect(),
            dataset: d,
        })
        .collect();
    Some(Base2NewFigure {
        methods: methods
            .into_iter()
            .map(|(m, b)| {
                if multi_backbone {
                    format!("{m} ({b})")
                } else {
                    m
                }
            })
            .collect(),
        groups,
    })
}

const GROUP_W: u32 = 96;
const B2N_PANEL_H: u32 = 250;

pub fn base2new_size(fig: &Base2NewFigure) -> (u32, u32) {
    let w = (GROUP_W * fig.groups.len() as u32 + 90).max(520);
    let per_row = 4;
    (
        w,
        B2N_PANEL_H * 3 + 16 + 24 * legend_rows(fig.methods.len() + 1, per_row),
    )
}

/// Draws the base-to-new chart onto `root`: Base, New and H panels.
pub fn draw_base2new<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Base2NewFigure,
) -> DrawResult<DB> {
    font();
    root.fill(&WHITE)?;
    let (grid, legend) = root.split_vertically((B2N_PANEL_H * 3) as i32);
    let panels = grid.split_evenly((3, 1));
    let n = fig.groups.len();
    let m = fig.methods.len().max(1);
    let label_of = |x: &f64| -> String {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            short(&fig.groups[i as usize].dataset).to_string()
        } else {
            String::new()
        }
    };
    for (k, (title, area)) in ["Base", "New", "H (harmonic mean)"]
        .iter()
        .zip(panels.iter())
        .enumerate()
    {
        let ys: Vec<f64> = fig
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().flatten())
            .flat_map(|b| {
                let (v, s) = b.values[k];
                let s = if s.is_finite() { s } else { 0.0 };
                let p = b.paper.map(|p| p[k]).unwrap_or(v);
                [v + s, p]
            })
            .collect();
        let hi = ys.iter().cloned().fold(0.0, f64::max);
        let hi = (((hi + 5.0) / 10.0).ceil() * 10.0).clamp(10.0, 100.0);
        // Bars start 10 points below the lowest value (not at 0), so differences of a
        // point or two stay visible; the axis says where they start.
        let low = fig
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().flatten())
            .flat_map(|b| {
                let (v, s) = b.values[k];
                let s = if s.is_finite() { s } else { 0.0 };
                [v - s, b.paper.map(|p| p[k]).unwrap_or(v)]
            })
            .fold(f64::INFINITY, f64::min);
        let lo = if low.is_finite() {
            (((low - 10.0) / 10.0).floor() * 10.0).max(0.0)
        } else {
            0.0
        };
        let mut chart = ChartBuilder::on(area)
            .caption(*title, (FONT, 17))
            .margin_top(4)
            .margin_left(6)
            .margin_right(12)
            .margin_bottom(4)
            .x_label_area_size(30)
            .y_label_area_size(52)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, lo..hi.max(lo + 10.0))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_labels(n)
            .max_light_lines(1)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 13))
            .y_desc("accuracy (%)")
            .draw()?;
        let width = 0.8 / m as f64;
        for (gi, g) in fig.groups.iter().enumerate() {
            for (mi, b) in g.bars.iter().enumerate() {
                let Some(b) = b else { continue };
                let x0 = gi as f64 - 0.4 + width * mi as f64;
                let x1 = x0 + width * 0.9;
                let (v, s) = b.values[k];
                let color = PALETTE[mi % PALETTE.len()];
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0, lo), (x1, v)],
                    color.mix(0.85).filled(),
                )))?;
                let xc = (x0 + x1) / 2.0;
                if s.is_finite() && s > 0.0 {
                    chart.draw_series([
                        PathElement::new(vec![(xc, v - s), (xc, v + s)], BLACK.stroke_width(1)),
                        PathElement::new(
                            vec![(xc - width * 0.2, v + s), (xc + width * 0.2, v + s)],
                            BLACK.stroke_width(1),
                        ),
                        PathElement::new(
                            vec![(xc - width * 0.2, v - s), (xc + width * 0.2, v - s)],
                            BLACK.stroke_width(1),
                        ),
                    ])?;
                }
                if let Some(p) = b.paper {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x0 - width * 0.05, p[k]), (x1 + width * 0.05, p[k])],
                        BLACK.stroke_width(3),
                    )))?;
                }
            }
        }
    }
    let mut entries: Vec<(String, RGBColor, bool)> = fig
        .methods
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), PALETTE[i % PALETTE.len()], false))
        .collect();
    if fig
        .groups
        .iter()
        .any(|g| g.bars.iter().flatten().any(|b| b.paper.is_some()))
    {
        entries.push(("published (black tick)".into(), BLACK, false));
    }
    draw_legend(&legend, &entries, 4)?;
    root.present()?;
    Ok(())
}

/// What one figure is drawn from.
enum Fig {
    Fewshot(FewshotFigure),
    Base2New(Base2NewFigure),
}

fn render(fig: &Fig, path: &Path) -> Result<(), ReportError> {
    let err = |e: String| ReportError::Plot {
        path: path.into(),
        reason: e,
    };
    let (w, h) = match fig {
        Fig::Fewshot(f) => fewshot_size(f),
        Fig::Base2New(f) => base2new_size(f),
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    match ext.as_str() {
        "svg" => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
                match fig {
                    Fig::Fewshot(f) => draw_fewshot(&root, f),
                    Fig::Base2New(f) => draw_base2new(&root, f),
                }
                .map_err(|e| err(e.to_string()))?;
            }
            crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| ReportError::Io {
                path: path.into(),
                source,
            })
        }
        "png" => {
            let mut buf = vec![255u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                match fig {
                    Fig::Fewshot(f) => draw_fewshot(&root, f),
                    Fig::Base2New(f) => draw_base2new(&root, f),
                }
                .map_err(|e| err(e.to_string()))?;
            }
            let img = image::RgbImage::from_raw(w, h, buf)
                .ok_or_else(|| err("pixel buffer size".into()))?;
            let mut bytes = Vec::new();
            img.write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .map_err(|e| err(e.to_string()))?;
            crate::fsutil::write_atomic(path, &bytes).map_err(|source| ReportError::Io {
                path: path.into(),
                source,
            })
        }
        _ => Err(ReportError::Usage(format!(
            "--plot {}: use a .svg or .png file name",
            path.display()
        ))),
    }
}

/// `fig.png` -> `fig_base2new.png`.
fn sibling(path: &Path, tag: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}_{tag}{ext}"))
}

/// Draws the report's figures: the few-shot curves into `path` and the base-to-new chart
/// into `path` too when there are no few-shot results, else beside it
/// (`<stem>_base2new.<ext>`). Returns the files written (none when there is nothing to
/// draw). SVG or PNG by the extension.
pub fn write(rep: &Report, paper: &Paper, path: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if ext != "svg" && ext != "png" {
        return Err(ReportError::Usage(format!(
            "--plot {}: use a .svg or .png file name",
            path.display()
        )));
    }
    let mut figs: Vec<(Fig, PathBuf)> = Vec::new();
    if let Some(f) = fewshot_figure(rep, paper) {
        figs.push((Fig::Fewshot(f), path.to_path_buf()));
    }
    if let Some(f) = base2new_figure(rep) {
        let p = if figs.is_empty() {
            path.to_path_buf()
        } else {
            sibling(path, "base2new")
        };
        figs.push((Fig::Base2New(f), p));
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !figs.is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
                path: dir.into(),
                source,
            })?;
        }
    }
    let mut out = Vec::new();
    for (f, p) in figs {
        render(&f, &p)?;
        out.push(p);
    }
    Ok(out)
}

/// Writes `fewshot.{svg,png}` and `base2new.{svg,png}` (those the report has data for)
/// into `dir`; returns the files written.
pub fn write_all(rep: &Report, paper: &Paper, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut out = Vec::new();
    for ext in ["svg", "png"] {
        if let Some(f) = fewshot_figure(rep, paper) {
            let p = dir.join(format!("fewshot.{ext}"));
            render(&Fig::Fewshot(f), &p)?;
            out.push(p);
        }
        if let Some(f) = base2new_figure(rep) {
            let p = dir.join(format!("base2new.{ext}"));
            render(&Fig::Base2New(f), &p)?;
            out.push(p);
        }
    }
    Ok(out)
}
