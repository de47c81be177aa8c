//! The trend chart: one row of bars per theme (small multiples), inline SVG without scripts.
//!
//! Small multiples rather than stacked bars: ten themes in one stack cannot be told apart at
//! phone width, while a row per theme keeps its name above its own bars. The SVG has a
//! viewBox and is scaled to the page width: 360 units are about 360 px on a phone, so the
//! labels read at 13 px there, and the page caps the chart at 27rem on a desktop.

use super::i18n::Text;
use super::trends::{Granularity, Trends};
use crate::eval::svg::{escape, text_width, FONT};
use std::fmt::Write;

const W: f64 = 360.0;
const LABEL: f64 = 13.5;
const SMALL: f64 = 11.5;
const BAR_H: f64 = 24.0;
/// Label line, room for the counts over the bars, the bars, and a gap.
const ROW_H: f64 = 20.0 + 13.0 + BAR_H + 10.0;
const AXIS_H: f64 = 20.0;
const INK: &str = "#1d2430";
const MUTED: &str = "#5a6475";
const BAR: &str = "#3d6dcc";
const RULE: &str = "#c9d2e3";
const GRID: &str = "#e6eaf2";

/// How a bucket is named on the axis and in tooltips.
pub fn bucket_label(t: &Text, g: Granularity, start: &str) -> String {
    match g {
        Granularity::Week => t.short_date(start),
        Granularity::Month => t.month(start),
        Granularity::Year => start.get(..4).unwrap_or(start).to_string(),
    }
}

pub fn unit(t: &Text, g: Granularity) -> &'static str {
    match g {
        Granularity::Week => t.chart_week,
        Granularity::Month => t.chart_month,
        Granularity::Year => t.chart_year,
    }
}

pub fn svg(t: &Text, tr: &Trends, caption: &str) -> String {
    let n = tr.buckets.len().max(1);
    let bw = W / n as f64;
    let max = tr
        .series
        .iter()
        .flat_map(|s| s.counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW_H * tr.series.len() as f64 + AXIS_H;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="trend" viewBox="0 0 {W} {height}" width="100%" role="img" aria-labelledby="trend-caption" font-family="{FONT}"><title id="trend-caption">{}</title>"#,
        escape(caption)
    );
    // At most about five axis labels, so that they never overlap at phone width.
    let step = n.div_ceil(5).max(1);
    let labelled: Vec<usize> = (0..n).filter(|i| i % step == 0).collect();
    for &i in &labelled {
        let x = bw * (i as f64 + 0.5);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{:.1}" stroke="{GRID}" stroke-width="1"/>"#,
            height - AXIS_H
        );
    }
    for (r, s) in tr.series.iter().enumerate() {
        let top = r as f64 * ROW_H;
        let total: usize = s.counts.iter().sum();
        let count = format!(" ({})", t.num(total));
        // Bold runs about a tenth wider than the estimate's regular weight.
        let room = (W - text_width(&count, LABEL)) / 1.1;
        let _ = write!(
            out,
            r#"<text x="0" y="{:.1}" font-size="{LABEL}" fill="{INK}"><tspan font-weight="600">{}</tspan><tspan fill="{MUTED}">{}</tspan></text>"#,
            top + 14.0,
            escape(&fit(&s.name, LABEL, room)),
            escape(&count)
        );
        let base = top + 20.0 + 13.0 + BAR_H;
        let _ = write!(
            out,
            r#"<line x1="0" y1="{base:.1}" x2="{W}" y2="{base:.1}" stroke="{RULE}" stroke-width="1"/>"#
        );
        for (i, &c) in s.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let h = (BAR_H * c as f64 / max as f64).max(2.0);
            let w = (bw * 0.7).max(1.5);
            let x = bw * i as f64 + (bw - w) / 2.0;
            let label = bucket_label(t, tr.granularity, &tr.buckets[i]);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" fill="{BAR}"><title>{}: {} ({})</title></rect>"#,
                base - h,
                escape(&s.name),
                escape(&t.count(&t.articles, c)),
                escape(&label)
            );
            if bw >= 11.0 {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" font-size="{SMALL}" fill="{INK}" text-anchor="middle">{}</text>"#,
                    x + w / 2.0,
                    base - h - 3.0,
                    t.num(c)
                );
            }
        }
    }
    let y = height - AXIS_H + 14.0;
    for &i in &labelled {
        let label = bucket_label(t, tr.granularity, &tr.buckets[i]);
        let half = text_width(&label, SMALL) / 2.0;
        // Centred under its bar, but kept inside the picture at both ends.
        let x = (bw * (i as f64 + 0.5)).clamp(half, W - half);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{SMALL}" fill="{MUTED}" text-anchor="middle">{}</text>"#,
            escape(&label)
        );
    }
    out.push_str("</svg>");
    out
}

/// Shortens `s` with "…" to fit `room` units at `size` (by the same wide estimate the
/// evaluation charts use, so that a name is never cut by the picture's edge).
fn fit(s: &str, size: f64, room: f64) -> String {
    if text_width(s, size) <= room {
        return s.to_string();
    }
    let mut out: String = String::new();
    for c in s.chars() {
        out.push(c);
        if text_width(&out, size) + text_width("…", size) > room {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::i18n::{EN, VI};
    use crate::digest::trends::Series;

    fn sample() -> Trends {
        Trends {
            granularity: Granularity::Week,
            buckets: vec![
                "2024-09-16".into(),
                "2024-09-23".into(),
                "2024-09-30".into(),
            ],
            series: vec![
                Series {
                    id: "a".into(),
                    name: "Chuyển đổi số & <AI>".into(),
                    counts: vec![2, 0, 1],
                },
                Series {
                    id: "b".into(),
                    name: "Năng lượng xanh".into(),
                    counts: vec![0, 0, 4],
                },
            ],
            undated: 0,
        }
    }

    #[test]
    fn chart_scales_to_the_page_and_escapes() {
        let s = svg(&VI, &sample(), "Số bài viết mỗi tuần");
        assert!(s.starts_with("<svg class=\"trend\" viewBox=\"0 0 360 "));
        assert!(s.contains("width=\"100%\""));
        assert!(!s.contains("<script"));
        assert!(s.contains("Chuyển đổi số &amp; &lt;AI&gt;"));
        // Three non-zero cells, one bar each; zero weeks draw nothing.
        assert_eq!(s.matches("<rect").count(), 3);
        assert!(s.contains("Năng lượng xanh: 4 bài viết (30/9)"));
        // The tallest bar has the full height, others in proportion.
        assert!(s.contains(&format!("height=\"{BAR_H:.1}\"")));
        assert!(s.contains(&format!("height=\"{:.1}\"", BAR_H / 2.0)));
        // Axis labels are the weeks' Mondays.
        assert!(s.contains(">16/9</text>") && s.contains(">30/9</text>"));
        assert!(svg(&EN, &sample(), "x").contains("Năng lượng xanh: 4 articles (30 Sep)"));
        assert_eq!(s.matches("<svg").count(), s.matches("</svg>").count());
    }

    #[test]
    fn long_names_are_shortened_to_fit() {
        let long = "Công nghiệp nền tảng, ưu tiên và ngành mới trong giai đoạn chuyển đổi kép";
        let f = fit(long, LABEL, 300.0);
        assert!(f.ends_with('…') && text_width(&f, LABEL) <= 300.0, "{f}");
        assert_eq!(fit("Ngắn", LABEL, 300.0), "Ngắn");
    }
}
