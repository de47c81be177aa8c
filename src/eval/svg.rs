//! Small, self-contained SVG charts for evaluation reports.
//!
//! The files must open anywhere (a browser from a zip, an image viewer, a Markdown preview),
//! so they carry no external fonts, CSS or scripts: only inline attributes and a font stack
//! of fonts that ship with common systems and cover Vietnamese (DejaVu Sans, Arial, Noto).
//! Layout is computed from an estimate of text width, since SVG cannot measure text before
//! rendering; the estimate errs wide so that labels are never cut off.

use std::fmt::Write;

pub(crate) const FONT: &str = "DejaVu Sans, Arial, Noto Sans, Helvetica, sans-serif";
const TITLE_SIZE: f64 = 16.0;
const LABEL_SIZE: f64 = 13.0;
const VALUE_SIZE: f64 = 11.0;
const PAD: f64 = 12.0;
const PLOT_WIDTH: f64 = 420.0;
const TEXT_COLOUR: &str = "#222222";
const GRID_COLOUR: &str = "#dddddd";
/// Okabe–Ito palette: distinguishable with the common colour-vision deficiencies and in
/// greyscale print. Black is left out: values are printed in near-black next to the bars.
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
];

/// Horizontal bars, one per label, with the value printed at the end of each bar.
///
/// `max` is the end of the axis (1.0 for F1, 100.0 for ROUGE) so that charts of different
/// runs share a scale; it is raised to the largest value if a value exceeds it, and replaced
/// by the largest value when it is not a positive number. A label without a value (slices of
/// unequal length) or a NaN value is drawn as "n/a" with no bar.
pub fn bar_chart(title: &str, labels: &[String], values: &[f64], max: f64) -> String {
    let series = [(String::new(), values.to_vec())];
    bars(title, labels, &series, max, false)
}

/// Horizontal bars grouped per label, one bar per series (e.g. F1 per theme for several
/// models), with a legend under the title. Scale and missing values as in [`bar_chart`].
pub fn grouped_bar_chart(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    max: f64,
) -> String {
    bars(title, labels, series, max, true)
}

fn bars(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    max: f64,
    legend: bool,
) -> String {
    let n_series = series.len().max(1);
    let bar_h = if n_series == 1 { 18.0 } else { 13.0 };
    let bar_gap = 2.0;
    let group_gap = if n_series == 1 { 8.0 } else { 12.0 };
    let group_h = n_series as f64 * bar_h + (n_series - 1) as f64 * bar_gap;

    let all_values = series.iter().flat_map(|(_, v)| v.iter().copied());
    let scale = axis_max(max, all_values);
    let label_w = labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .fold(0.0, f64::max);
    let value_w = series
        .iter()
        .flat_map(|(_, v)| {
            v.iter()
                .map(|&x| text_width(&fmt_value(x, scale), VALUE_SIZE))
        })
        .fold(text_width("n/a", VALUE_SIZE), f64::max);

    let plot_x = PAD + label_w + PAD;
    let content_w = plot_x + PLOT_WIDTH + 6.0 + value_w + PAD;

    // Legend entries flow left to right and wrap at the content width.
    let swatch = 12.0;
    let mut legend_items = Vec::new();
    let mut legend_rows = 0usize;
    if legend && !series.is_empty() {
        let (mut x, mut row) = (PAD, 0usize);
        let right = content_w.max(text_width(title, TITLE_SIZE) + 2.0 * PAD);
        for (i, (name, _)) in series.iter().enumerate() {
            let w = swatch + 6.0 + text_width(name, LABEL_SIZE) + 18.0;
            if x > PAD && x + w > right - PAD {
                x = PAD;
                row += 1;
            }
            legend_items.push((x, row, i));
            x += w;
        }
        legend_rows = row + 1;
    }

    let title_y = PAD + TITLE_SIZE;
    let legend_y = title_y + 10.0;
    let legend_row_h = 20.0;
    let plot_y = legend_y + legend_rows as f64 * legend_row_h + 8.0;
    let plot_h = labels.len() as f64 * (group_h + group_gap);
    let axis_label_y = plot_y + plot_h + 4.0 + VALUE_SIZE;
    let width = content_w
        .max(text_width(title, TITLE_SIZE) + 2.0 * PAD)
        .ceil();
    let height = (axis_label_y + PAD).ceil();

    let mut out = open_svg(width, height, title);
    text(
        &mut out,
        PAD,
        title_y,
        TITLE_SIZE,
        "start",
        "bold",
        TEXT_COLOUR,
        title,
    );
    for &(x, row, i) in &legend_items {
        let y = legend_y + row as f64 * legend_row_h;
        let _ = writeln!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{swatch}" height="{swatch}" fill="{}"/>"#,
            colour(i)
        );
        text(
            &mut out,
            x + swatch + 6.0,
            y + swatch - 1.5,
            LABEL_SIZE,
            "start",
            "normal",
            TEXT_COLOUR,
            &series[i].0,
        );
    }

    // Gridlines at quarters of the axis, labelled underneath.
    for q in 0..=4 {
        let x = plot_x + PLOT_WIDTH * q as f64 / 4.0;
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{GRID_COLOUR}" stroke-width="1"/>"#,
            plot_y - 2.0,
            plot_y + plot_h
        );
        let tick = fmt_value(scale * q as f64 / 4.0, scale);
        text(
            &mut out,
            x,
            axis_label_y,
            VALUE_SIZE,
            "middle",
            "normal",
            "#666666",
            &tick,
        );
    }

    for (li, label) in labels.iter().enumerate() {
        let gy = plot_y + li as f64 * (group_h + group_gap) + group_gap / 2.0;
        text(
            &mut out,
            plot_x - PAD,
            gy + group_h / 2.0 + LABEL_SIZE * 0.35,
            LABEL_SIZE,
            "end",
            "normal",
            TEXT_COLOUR,
            label,
        );
        for (si, (_, vals)) in series.iter().enumerate() {
            let y = gy + si as f64 * (bar_h + bar_gap);
            let v = vals.get(li).copied().unwrap_or(f64::NAN);
            let len = if v.is_finite() {
                (v.max(0.0) / scale).min(1.0) * PLOT_WIDTH
            } else {
                0.0
            };
            if len > 0.0 {
                let _ = writeln!(
                    out,
                    r#"<rect x="{plot_x:.1}" y="{y:.1}" width="{len:.1}" height="{bar_h}" fill="{}"/>"#,
                    colour(si)
                );
            }
            text(
                &mut out,
                plot_x + len + 5.0,
                y + bar_h / 2.0 + VALUE_SIZE * 0.35,
                VALUE_SIZE,
                "start",
                "normal",
                TEXT_COLOUR,
                &fmt_value(v, scale),
            );
        }
    }
    // Baseline drawn last so that it sits over the bar starts.
    let _ = writeln!(
        out,
        r##"<line x1="{plot_x:.1}" y1="{:.1}" x2="{plot_x:.1}" y2="{:.1}" stroke="#888888" stroke-width="1"/>"##,
        plot_y - 2.0,
        plot_y + plot_h
    );
    out.push_str("</svg>\n");
    out
}

/// Confusion-matrix heatmap: rows are gold labels, columns predicted labels. Each cell shows
/// its count; its colour is the count divided by the row total (so each row reads as "where
/// did the articles of this gold label go", independent of class size). Cells missing from a
/// ragged `matrix` count as 0.
pub fn heatmap(
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    matrix: &[Vec<usize>],
) -> String {
    let cell = 46.0;
    let axis_size = LABEL_SIZE;
    // Column labels are rotated 45° up-right from the top of their column, so long theme
    // names need no wrapping; the margins grow by their projected extent.
    let diag = std::f64::consts::FRAC_1_SQRT_2;
    let col_w: Vec<f64> = col_labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .collect();
    let row_w = row_labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .fold(0.0, f64::max);

    let title_y = PAD + TITLE_SIZE;
    let axis_title_y = title_y + 10.0 + axis_size;
    let col_extent = col_w.iter().fold(0.0, |m: f64, w| m.max(w * diag));
    let grid_y = axis_title_y + 10.0 + col_extent + 8.0;
    // Room on the left for the rotated "gold" axis title and the row labels.
    let gold_x = PAD + axis_size;
    let grid_x = gold_x + 10.0 + row_w + 8.0;
    let grid_w = col_labels.len() as f64 * cell;
    let grid_h = row_labels.len() as f64 * cell;
    let right_extent = col_w
        .iter()
        .enumerate()
        .map(|(j, w)| grid_x + (j as f64 + 0.5) * cell + w * diag + LABEL_SIZE)
        .fold(grid_x + grid_w, f64::max);
    let width = (right_extent + PAD)
        .max(text_width(title, TITLE_SIZE) + 2.0 * PAD)
        .ceil();
    let height = (grid_y + grid_h + PAD).ceil();

    let mut out = open_svg(width, height, title);
    text(
        &mut out,
        PAD,
        title_y,
        TITLE_SIZE,
        "start",
        "bold",
        TEXT_COLOUR,
        title,
    );
    text(
        &mut out,
        grid_x + grid_w / 2.0,
        axis_title_y,
        axis_size,
        "middle",
        "bold",
        TEXT_COLOUR,
        "predicted",
    );
    let gold_y = grid_y + grid_h / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="{gold_x:.1}" y="{gold_y:.1}" font-family="{FONT}" font-size="{axis_size}" font-weight="bold" fill="{TEXT_COLOUR}" text-anchor="middle" transform="rotate(-90 {gold_x:.1} {gold_y:.1})">gold</text>"#
    );

    for (j, label) in col_labels.iter().enumerate() {
        let x = grid_x + (j as f64 + 0.5) * cell;
        let y = grid_y - 6.0;
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" font-family="{FONT}" font-size="{LABEL_SIZE}" fill="{TEXT_COLOUR}" text-anchor="start" transform="rotate(-45 {x:.1} {y:.1})">{}</text>"#,
            escape(label)
        );
    }

    for (i, label) in row_labels.iter().enumerate() {
        let y = grid_y + i as f64 * cell;
        text(
            &mut out,
            grid_x - 8.0,
            y + cell / 2.0 + LABEL_SIZE * 0.35,
            LABEL_SIZE,
            "end",
            "normal",
            TEXT_COLOUR,
            label,
        );
        let row = matrix.get(i).map(Vec::as_slice).unwrap_or(&[]);
        let total: usize = row.iter().take(col_labels.len()).sum();
        for j in 0..col_labels.len() {
            let count = row.get(j).copied().unwrap_or(0);
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            let x = grid_x + j as f64 * cell;
            let _ = writeln!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{}" stroke="#ffffff" stroke-width="1"/>"##,
                blue(share)
            );
            // Dark cells get white numbers; zeros are de-emphasised so the pattern stands out.
            let fg = if share > 0.55 {
                "#ffffff"
            } else if count == 0 {
                "#aaaaaa"
            } else {
                TEXT_COLOUR
            };
            text(
                &mut out,
                x + cell / 2.0,
                y + cell / 2.0 + LABEL_SIZE * 0.35,
                LABEL_SIZE,
                "middle",
                "normal",
                fg,
                &count.to_string(),
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<rect x="{grid_x:.1}" y="{grid_y:.1}" width="{grid_w:.1}" height="{grid_h:.1}" fill="none" stroke="#888888" stroke-width="1"/>"##
    );
    out.push_str("</svg>\n");
    out
}

fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">"#
    );
    // <title> gives screen readers and browser tabs a name for the chart.
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn text(
    out: &mut String,
    x: f64,
    y: f64,
    size: f64,
    anchor: &str,
    weight: &str,
    fill: &str,
    s: &str,
) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" font-family="{FONT}" font-size="{size}" font-weight="{weight}" fill="{fill}" text-anchor="{anchor}">{}</text>"#,
        escape(s)
    );
}

/// Escapes for both text and attribute values. Characters XML 1.0 forbids (C0 controls other
/// than tab/newline/CR, U+FFFE/U+FFFF) are dropped: an SVG containing one will not open.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Rough advance width of `s` in DejaVu Sans (the widest of the font stack) at `size` px.
/// Per-class widths are rounded up from the font's metrics so the layout errs wide.
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            ' ' => 0.33,
            'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.32,
            'f' | 't' | 'r' | '(' | ')' | '-' | '/' => 0.42,
            'm' | 'w' | 'M' | 'W' | '%' => 0.98,
            // Combining marks take no advance (text is normally NFC, but be safe).
            '\u{0300}'..='\u{036F}' => 0.0,
            c if c.is_ascii_digit() => 0.64,
            c if c.is_uppercase() => 0.74,
            _ => 0.64,
        })
        .sum();
    em * size
}

/// Axis end: the requested maximum, raised to the largest value so that no bar overflows.
fn axis_max(max: f64, values: impl Iterator<Item = f64>) -> f64 {
    let largest = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
    let m = if max.is_finite() && max > 0.0 {
        max.max(largest)
    } else {
        largest
    };
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

/// Two decimals for scores on a 0–1 (or small) scale, one for 0–100 scales.
fn fmt_value(v: f64, scale: f64) -> String {
    if !v.is_finite() {
        "n/a".to_string()
    } else if scale <= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// White (share 0) to dark blue (share 1), linear in RGB.
pub(crate) fn blue(share: f64) -> String {
    let t = share.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(255.0, 8.0),
        lerp(255.0, 69.0),
        lerp(255.0, 148.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal well-formedness check: every tag closes in order, attribute values are quoted
    /// without raw `<`, and every `&` starts one of the five predefined entities.
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt])?;
            let after = &rest[lt..];
            let gt = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[1..gt];
            rest = &after[gt + 1..];
            if tag.starts_with('?') {
                if !tag.ends_with('?') {
                    return Err(format!("bad declaration {tag}"));
                }
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name.trim() => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name = body.split_whitespace().next().ok_or("empty tag")?;
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-')
            {
                return Err(format!("bad tag name {name}"));
            }
            // `is_multiple_of` would need Rust 1.87; the crate's MSRV is 1.85.
            #[allow(clippy::manual_is_multiple_of)]
            let odd_quotes = body.matches('"').count() % 2 != 0;
            if odd_quotes {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            check_text(body)?;
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name.to_string());
            }
        }
        check_text(rest)?;
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    fn check_text(t: &str) -> Result<(), String> {
        for (i, _) in t.match_indices('&') {
            let ent = &t[i..];
            if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| ent.starts_with(e))
            {
                return Err(format!("raw & in {t:?}"));
            }
        }
        Ok(())
    }

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn checker_rejects_broken_xml() {
        assert!(well_formed("<svg><g></svg></g>").is_err());
        assert!(well_formed("<svg><text>a & b</text></svg>").is_err());
        assert!(well_formed("<svg><rect/></svg>").is_ok());
    }

    #[test]
    fn hostile_labels_are_escaped() {
        let evil = "<script>alert('x')</script> & \"q\"\u{1}";
        let labels = s(&[evil, "Chuyển đổi số"]);
        let charts = [
            bar_chart(evil, &labels, &[0.5, 0.25], 1.0),
            grouped_bar_chart(
                evil,
                &labels,
                &[(evil.to_string(), vec![0.1, 0.2]), ("b".into(), vec![0.3])],
                1.0,
            ),
            heatmap(evil, &labels, &labels, &[vec![1, 2], vec![0, 3]]),
        ];
        for svg in &charts {
            well_formed(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
            assert!(!svg.contains("<script"), "{svg}");
            assert!(svg
                .contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;q&quot;"));
            assert!(!svg.contains('\u{1}'));
            assert!(svg.contains("Chuyển đổi số"));
            assert!(
                svg.contains("viewBox=\"0 0 ")
                    && svg.contains(" width=\"")
                    && svg.contains(" height=\"")
            );
            assert!(!svg.contains("href") && !svg.contains("@import") && !svg.contains("<style"));
        }
    }

    #[test]
    fn bars_print_values_and_scale() {
        let svg = bar_chart("F1", &s(&["a", "b", "c"]), &[0.5, 1.0, f64::NAN], 1.0);
        assert!(svg.contains(">0.50<") && svg.contains(">1.00<") && svg.contains(">n/a<"));
        // 0.5 of the 420 px plot -> a 210 px bar; 1.0 -> 420 px
        assert!(svg.contains(r#"width="210.0""#) && svg.contains(r#"width="420.0""#));
        // 0–100 scale prints one decimal
        let svg = bar_chart("ROUGE", &s(&["lead"]), &[33.333], 100.0);
        assert!(svg.contains(">33.3<"));
        // a value above max widens the axis instead of overflowing: 2.0 fills the plot
        let svg = bar_chart("x", &s(&["a"]), &[2.0], 1.0);
        assert!(svg.contains(r#"width="420.0""#) && svg.contains(">2.00<"));
    }

    #[test]
    fn empty_inputs_still_make_valid_svg() {
        for svg in [
            bar_chart("", &[], &[], 0.0),
            grouped_bar_chart("", &[], &[], f64::NAN),
            heatmap("", &[], &[], &[]),
            heatmap("ragged", &s(&["a", "b"]), &s(&["a", "b"]), &[vec![1]]),
        ] {
            well_formed(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        }
    }

    #[test]
    fn heatmap_colours_by_row_share() {
        // row a: 3 of 4 on the diagonal -> share 0.75; row b: 0 of 0 -> white
        let svg = heatmap(
            "cm",
            &s(&["a", "b"]),
            &s(&["a", "b"]),
            &[vec![3, 1], vec![0, 0]],
        );
        assert!(svg.contains(&format!("fill=\"{}\"", blue(0.75))));
        assert!(svg.contains(">gold<") && svg.contains(">predicted<"));
        assert_eq!(blue(0.0), "#ffffff");
        assert_eq!(blue(1.0), "#084594");
    }
}
