//! The few-shot curves of CoOp's Figure 3: accuracy against shots (log2 axis, zero-shot
//! at 0), a panel per dataset plus the average, a line per trainer variant.
//!
//! The figure is laid out once as primitives; SVG is written from them by hand (text
//! needs no font there, the viewer has one), PNG is rasterised with plotters'
//! bitmap backend, whose text needs a font file: DejaVu Sans (Debian's
//! fonts-dejavu-core) or the file named by DASSL_PLOT_FONT; without one the PNG is drawn
//! without text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::Report;
use crate::errors::ReportError;

#[derive(Debug, Clone, PartialEq)]
enum Prim {
    Line {
        pts: Vec<(f64, f64)>,
        color: usize,
        width: f64,
    },
    Dot {
        at: (f64, f64),
        color: usize,
    },
    Text {
        at: (f64, f64),
        text: String,
        size: f64,
        anchor: Anchor,
    },
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Anchor {
    Start,
    Middle,
    End,
}

const PALETTE: [(u8, u8, u8); 8] = [
    (214, 39, 40),
    (31, 119, 180),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];
const BLACK: usize = usize::MAX;

/// A laid-out figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    width: f64,
    height: f64,
    prims: Vec<Prim>,
}

fn x_pos(shots: i64) -> f64 {
    if shots <= 0 {
        0.0
    } else {
        (shots as f64).log2() + 1.0
    }
}

/// Lays out the curves; `None` when the report has no few-shot rows.
pub fn figure(rep: &Report) -> Option<Figure> {
    if !rep.fewshot.iter().any(|r| r.stat.n > 0) {
        return None;
    }
    let multi_backbone = rep
        .fewshot
        .iter()
        .map(|r| &r.backbone)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let series_name = |m: &str, b: &str| {
        if multi_backbone {
            format!("{m} ({b})")
        } else {
            m.to_string()
        }
    };
    // panel -> series -> points
    let mut panels: BTreeMap<String, BTreeMap<String, Vec<(i64, f64)>>> = BTreeMap::new();
    let mut series: Vec<String> = Vec::new();
    // Cells without a complete run have no point to draw.
    for r in rep.fewshot.iter().filter(|r| r.stat.n > 0) {
        let s = series_name(&r.method, &r.backbone);
        if !series.contains(&s) {
            series.push(s.clone());
        }
        panels
            .entry(r.dataset.clone())
            .or_default()
            .entry(s)
            .or_default()
            .push((r.shots, r.stat.mean));
    }
    let mut order: Vec<String> = vec!["Average".to_string()];
    order.extend(panels.keys().cloned());
    if panels.len() > 1 {
        let avg = panels.entry("Average".into()).or_default();
        for a in rep.fewshot_average.iter().filter(|a| a.datasets > 0) {
            avg.entry(series_name(&a.method, &a.backbone))
                .or_default()
                .push((a.shots, a.mean));
        }
    } else {
        order.remove(0);
    }
    let cols = order.len().clamp(1, 4);
    let rows = order.len().div_ceil(cols);
    let (pw, ph) = (300.0, 230.0);
    let legend_h = 24.0 + 18.0 * series.len().div_ceil(3) as f64;
    let width = pw * cols as f64;
    let height = ph * rows as f64 + legend_h;
    let mut prims = Vec::new();
    let max_x = x_pos(
        rep.fewshot
            .iter()
            .map(|r| r.shots)
            .max()
            .unwrap_or(16)
            .max(1),
    );
    for (k, name) in order.iter().enumerate() {
        let data = &panels[name];
        let ox = pw * (k % cols) as f64;
        let oy = ph * (k / cols) as f64;
        let (l, t, w, h) = (ox + 48.0, oy + 26.0, pw - 64.0, ph - 66.0);
        let ys: Vec<f64> = data
            .values()
            .flatten()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .collect();
        let (mut lo, mut hi) = (
            ys.iter().cloned().fold(f64::INFINITY, f64::min),
            ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        if !lo.is_finite() {
            (lo, hi) = (0.0, 100.0);
        }
        let pad = ((hi - lo) * 0.1).max(1.0);
        let (lo, hi) = (
            ((lo - pad) / 5.0).floor() * 5.0,
            ((hi + pad) / 5.0).ceil() * 5.0,
        );
        let px = |x: f64| l + w * x / max_x;
        let py = |y: f64| t + h * (1.0 - (y - lo) / (hi - lo));
        prims.push(Prim::Rect { x: l, y: t, w, h });
        prims.push(Prim::Text {
            at: (l + w / 2.0, oy + 18.0),
            text: name.clone(),
            size: 13.0,
            anchor: Anchor::Middle,
        });
        let mut shots_ticks = vec![0i64];
        let mut s = 1;
        while x_pos(s) <= max_x + 1e-9 {
            shots_ticks.push(s);
            s *= 2;
        }
        for st in shots_ticks {
            let x = px(x_pos(st));
            prims.push(Prim::Line {
                pts: vec![(x, t + h), (x, t + h + 4.0)],
                color: BLACK,
                width: 1.0,
            });
            prims.push(Prim::Text {
                at: (x, t + h + 16.0),
                text: st.to_string(),
                size: 10.0,
                anchor: Anchor::Middle,
            });
        }
        let step = if hi - lo > 40.0 {
            20.0
        } else if hi - lo > 15.0 {
            10.0
        } else {
            5.0
        };
        let mut y = (lo / step).ceil() * step;
        while y <= hi + 1e-9 {
            prims.push(Prim::Line {
                pts: vec![(l - 4.0, py(y)), (l, py(y))],
                color: BLACK,
                width: 1.0,
            });
            prims.push(Prim::Text {
                at: (l - 6.0, py(y) + 3.5),
                text: format!("{y:.0}"),
                size: 10.0,
                anchor: Anchor::End,
            });
            y += step;
        }
        prims.push(Prim::Text {
            at: (l + w / 2.0, t + h + 32.0),
            text: "shots per class".into(),
            size: 10.0,
            anchor: Anchor::Middle,
        });
        prims.push(Prim::Text {
            at: (ox + 12.0, t + h / 2.0),
            text: "acc. (%)".into(),
            size: 10.0,
            anchor: Anchor::Middle,
        });
        for (si, sname) in series.iter().enumerate() {
            let Some(points) = data.get(sname) else {
                continue;
            };
            let mut pts: Vec<(i64, f64)> =
                points.iter().copied().filter(|p| p.1.is_finite()).collect();
            pts.sort_by_key(|p| p.0);
            let xy: Vec<(f64, f64)> = pts.iter().map(|(s, v)| (px(x_pos(*s)), py(*v))).collect();
            if xy.len() > 1 {
                prims.push(Prim::Line {
                    pts: xy.clone(),
                    color: si,
                    width: 2.0,
                });
            }
            for p in xy {
                prims.push(Prim::Dot { at: p, color: si });
            }
        }
    }
    let ly = ph * rows as f64 + 14.0;
    for (si, sname) in series.iter().enumerate() {
        let x = 20.0 + (si % 3) as f64 * (width / 3.0);
        let y = ly + 18.0 * (si / 3) as f64;
        prims.push(Prim::Line {
            pts: vec![(x, y), (x + 24.0, y)],
            color: si,
            width: 2.0,
        });
        prims.push(Prim::Dot {
            at: (x + 12.0, y),
            color: si,
        });
        prims.push(Prim::Text {
            at: (x + 30.0, y + 4.0),
            text: sname.clone(),
            size: 11.0,
            anchor: Anchor::Start,
        });
    }
    Some(Figure {
        width,
        height,
        prims,
    })
}

fn rgb(c: usize) -> (u8, u8, u8) {
    if c == BLACK {
        (0, 0, 0)
    } else {
        PALETTE[c % PALETTE.len()]
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The figure as an SVG document.
pub fn svg(fig: &Figure) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.0} {:.0}" font-family="DejaVu Sans, Arial, sans-serif">"#,
        fig.width, fig.height, fig.width, fig.height
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for p in &fig.prims {
        match p {
            Prim::Rect { x, y, w, h } => {
                let _ = writeln!(
                    s,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="none" stroke="#888"/>"##
                );
            }
            Prim::Line { pts, color, width } => {
                let (r, g, b) = rgb(*color);
                let pts: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="rgb({r},{g},{b})" stroke-width="{width}"/>"#,
                    pts.join(" ")
                );
            }
            Prim::Dot { at, color } => {
                let (r, g, b) = rgb(*color);
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="rgb({r},{g},{b})"/>"#,
                    at.0, at.1
                );
            }
            Prim::Text {
                at,
                text,
                size,
                anchor,
            } => {
                let a = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="{size}" text-anchor="{a}">{}</text>"#,
                    at.0,
                    at.1,
                    esc(text)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

/// Font files tried for PNG text, in order.
const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font with plotters once; false when none is found.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        let env = std::env::var("DASSL_PLOT_FONT").ok().map(PathBuf::from);
        let candidates = env.into_iter().chain(FONT_PATHS.iter().map(PathBuf::from));
        for p in candidates {
            if let Ok(bytes) = std::fs::read(&p) {
                // plotters keeps fonts for the life of the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font(
                    "sans-serif",
                    plotters::style::FontStyle::Normal,
                    bytes,
                )
                .is_ok()
                {
                    return true;
                }
            }
        }
        false
    })
}

/// Rasterises the figure into a PNG; returns whether text was drawn.
pub fn png(fig: &Figure, path: &Path) -> Result<bool, ReportError> {
    use plotters::prelude::*;
    let err = |e: String| ReportError::Plot {
        path: path.into(),
        reason: e,
    };
    let (w, h) = (fig.width.ceil() as u32, fig.height.ceil() as u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let text = font_ready();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let c = |i: usize| {
            let (r, g, b) = rgb(i);
            RGBColor(r, g, b)
        };
        let ip = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        for p in &fig.prims {
            let r = match p {
                Prim::Rect { x, y, w, h } => root.draw(&Rectangle::new(
                    [ip((*x, *y)), ip((x + w, y + h))],
                    RGBColor(136, 136, 136).stroke_width(1),
                )),
                Prim::Line { pts, color, width } => root.draw(&PathElement::new(
                    pts.iter().map(|p| ip(*p)).collect::<Vec<_>>(),
                    c(*color).stroke_width(*width as u32),
                )),
                Prim::Dot { at, color } => root.draw(&Circle::new(ip(*at), 3, c(*color).filled())),
                Prim::Text {
                    at,
                    text: t,
                    size,
                    anchor,
                } if text => {
                    let pos = match anchor {
                        Anchor::Start => plotters::style::text_anchor::HPos::Left,
                        Anchor::Middle => plotters::style::text_anchor::HPos::Center,
                        Anchor::End => plotters::style::text_anchor::HPos::Right,
                    };
                    let style = TextStyle::from(("sans-serif", *size).into_font())
                        .color(&BLACK_COLOR)
                        .pos(plotters::style::text_anchor::Pos::new(
                            pos,
                            plotters::style::text_anchor::VPos::Bottom,
                        ));
                    root.draw(&Text::new(t.clone(), ip(*at), style))
                }
                Prim::Text { .. } => Ok(()),
            };
            r.map_err(|e| err(e.to_string()))?;
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    let img =
        image::RgbImage::from_raw(w, h, buf).ok_or_else(|| err("pixel buffer size".into()))?;
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| err(e.to_string()))?;
    Ok(text)
}

const BLACK_COLOR: plotters::style::RGBColor = plotters::style::RGBColor(0, 0, 0);

/// Writes `path` as SVG or PNG by its extension; `Ok(false)` when there was nothing to
/// draw. A PNG drawn without a font says so on stderr.
pub fn write(rep: &Report, path: &Path) -> Result<bool, ReportError> {
    let Some(fig) = figure(rep) else {
        return Ok(false);
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
            path: dir.into(),
            source,
        })?;
    }
    match ext.as_str() {
        "svg" => crate::fsutil::write_atomic(path, svg(&fig).as_bytes()).map_err(|source| {
            ReportError::Io {
                path: path.into(),
                source,
            }
        })?,
        "png" => {
            if !png(&fig, path)? {
                eprintln!(
                    "note: no font found (DejaVu Sans or DASSL_PLOT_FONT), so {} has no text",
                    path.display()
                );
            }
        }
        _ => {
            return Err(ReportError::Usage(format!(
                "--plot {}: use a .svg or .png file name",
                path.display()
            )))
        }
    }
    Ok(true)
}
