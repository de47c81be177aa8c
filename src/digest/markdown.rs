//! digest.md: the same digest as the page, for mail and chat; trends as a table with one
//! bar character per week (month, year).

use super::i18n::{self, Text};
use super::{chart, Digest};
use std::fmt::Write;

pub(super) fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

/// One character per bucket, eight heights; "·" for none.
pub(super) fn sparkline(counts: &[usize], max: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                '·'
            } else {
                BARS[((c * 8).div_ceil(max.max(1))).clamp(1, 8) - 1]
            }
        })
        .collect()
}

pub fn markdown(d: &Digest) -> String {
    let t = i18n::text(d.lang);
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", md_escape(&d.title));
    let _ = writeln!(s, "{}  ", summary_line(t, d));
    if let Some(g) = &d.generator_stats {
        let _ = writeln!(
            s,
            "{}  ",
            md_escape(&i18n::fill(
                t.generator_line,
                &[
                    ("model", &g.model),
                    ("modes", &g.modes),
                    ("usable", &t.num(g.usable)),
                    ("total", &t.num(g.total)),
                ]
            ))
        );
    }
    s.push('\n');
    let _ = writeln!(s, "## {}\n", t.toc);
    for (i, sec) in d.themes.iter().enumerate() {
        let _ = writeln!(
            s,
            "{}. [{}](#{}) ({})",
            i + 1,
            md_escape(&sec.name),
            sec.anchor,
            t.num(sec.count)
        );
    }
    s.push('\n');
    trends(&mut s, t, d);
    for sec in &d.themes {
        let _ = writeln!(
            s,
            "<a id=\"{}\"></a>\n\n## {} ({})\n",
            sec.anchor,
            md_escape(&sec.name),
            t.count(&t.articles, sec.count)
        );
        if !sec.overview.is_empty() {
            let _ = writeln!(s, "**{}**\n", t.overview);
            for o in &sec.overview {
                let refs: Vec<String> = o
                    .sources
                    .iter()
                    .map(|r| format!("[\\[{}\\]](#{})", r.number, r.anchor))
                    .collect();
                let _ = writeln!(s, "- {} {}", md_escape(&o.text), refs.join(" "));
            }
            s.push('\n');
        }
        for a in &sec.articles {
            let _ = writeln!(
                s,
                "<a id=\"{}\"></a>\n\n### {}. {}",
                a.anchor,
                a.number,
                md_escape(&a.title)
            );
            let mut meta = Vec::new();
            if let Some(date) = &a.date {
                meta.push(md_escape(
                    &super::day_of(Some(date))
                        .map(|day| t.date(&day))
                        .unwrap_or_else(|| date.clone()),
                ));
            }
            if let Some(src) = &a.source {
                meta.push(md_escape(src));
            }
            meta.push(
                a.themes
                    .iter()
                    .map(|(_, n)| md_escape(n))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            let _ = writeln!(s, "*{}* · {}\n", meta.join(" · "), code(&a.id));
            match &a.generated {
                Some(g) => {
                    let _ = writeln!(
                        s,
                        "{}  \n*{}:* {}\n",
                        md_escape(g),
                        t.extract,
                        md_escape(&a.summary)
                    );
                }
                None => {
                    let _ = writeln!(s, "{}\n", md_escape(&a.summary));
                }
            }
            for dup in &a.also_reported {
                let _ = writeln!(
                    s,
                    "> {}: {} ({}{})\n",
                    t.also_reported,
                    md_escape(&dup.title),
                    code(&dup.id),
                    dup.source
                        .as_ref()
                        .map(|x| format!(", {}", md_escape(x)))
                        .unwrap_or_default()
                );
            }
            for w in &a.warnings {
                let _ = writeln!(s, "> ⚠ {}\n", md_escape(&t.warning(w)));
            }
        }
    }
    if !d.errors.is_empty() {
        let _ = writeln!(s, "## {}\n", t.not_processed);
        for e in &d.errors {
            let _ = writeln!(s, "- {}: {}", code(&e.origin), md_escape(&e.message));
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "---\n*{}: {} · {}: {} · {}: {}*",
        t.model,
        md_escape(&d.model.model),
        t.classifier,
        md_escape(&d.classifier),
        t.taxonomy,
        md_escape(&d.taxonomy)
    );
    s
}

fn summary_line(t: &Text, d: &Digest) -> String {
    let mut parts = vec![
        t.count(&t.articles, d.articles),
        t.count(&t.themes, d.themes.len()),
    ];
    if d.duplicates_folded > 0 {
        parts.push(t.count(&t.folded, d.duplicates_folded));
    }
    if d.failed > 0 {
        parts.push(t.count(&t.failed, d.failed));
    }
    parts.push(format!("{} {}", t.generated_at, t.timestamp(&d.generated)));
    md_escape(&parts.join(" · "))
}

fn trends(s: &mut String, t: &Text, d: &Digest) {
    if d.trends.is_none() && d.comparison.is_none() && d.cooccurrence.is_none() {
        return;
    }
    let _ = writeln!(s, "<a id=\"trends\"></a>\n\n## {}\n", t.trends);
    if let Some(tr) = &d.trends {
        let caption = i18n::fill(t.chart_caption, &[("unit", chart::unit(t, tr.granularity))]);
        let first = tr.buckets.first().map(String::as_str).unwrap_or("");
        let last = tr.buckets.last().map(String::as_str).unwrap_or("");
        let _ = write!(
            s,
            "{} ({} – {})",
            md_escape(&caption),
            chart::bucket_label(t, tr.granularity, first),
            chart::bucket_label(t, tr.granularity, last)
        );
        if tr.undated > 0 {
            let _ = write!(s, " · {}", t.count(&t.undated, tr.undated));
        }
        let _ = writeln!(
            s,
            "\n\n| {} | {} | |\n|---|--:|---|",
            t.period_theme, t.chart_total
        );
        let max = tr
            .series
            .iter()
            .flat_map(|x| x.counts.iter().copied())
            .max()
            .unwrap_or(1);
        for x in &tr.series {
            let _ = writeln!(
                s,
                "| {} | {} | `{}` |",
                md_escape(&x.name),
                t.num(x.counts.iter().sum()),
                sparkline(&x.counts, max)
            );
        }
        s.push('\n');
    }
    if let Some(c) = &d.comparison {
        let p = &c.period;
        let _ = writeln!(
            s,
            "### {}\n\n{} {}\n\n| {} | {} | {} | {} |\n|---|--:|--:|--:|",
            t.period_heading,
            md_escape(&i18n::fill(
                t.period_intro,
                &[
                    ("since", &t.date(&p.since)),
                    ("until", &t.date(&p.until)),
                    ("prev_from", &t.date(&p.previous_from)),
                    ("prev_until", &t.date(&p.previous_until)),
                ]
            )),
            t.period_note,
            t.period_theme,
            t.period_current,
            t.period_previous,
            t.period_change
        );
        for r in &c.rows {
            let change = if r.previous == 0 && r.current > 0 {
                t.period_new.to_string()
            } else if r.current >= r.previous {
                format!("+{}", t.num(r.current - r.previous))
            } else {
                format!("−{}", t.num(r.previous - r.current))
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {change} |",
                md_escape(&r.name),
                t.num(r.current),
                t.num(r.previous)
            );
        }
        s.push('\n');
    }
    if let Some(c) = &d.cooccurrence {
        let _ = write!(s, "### {}\n\n{}\n\n| |", t.cooc_heading, t.cooc_intro);
        for i in 0..c.themes.len() {
            let _ = write!(s, " {} |", i + 1);
        }
        s.push_str("\n|---|");
        for _ in 0..c.themes.len() {
            s.push_str("--:|");
        }
        s.push('\n');
        for (i, (_, name)) in c.themes.iter().enumerate() {
            let _ = write!(s, "| {}. {} |", i + 1, md_escape(name));
            for n in &c.counts[i] {
                let _ = write!(s, " {} |", t.num(*n));
            }
            s.push('\n');
        }
        s.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_sparklines() {
        assert_eq!(md_escape("a*b_[c]"), "a\\*b\\_\\[c\\]");
        assert_eq!(sparkline(&[0, 1, 2, 4], 4), "·▂▄█");
        assert_eq!(sparkline(&[1], 1), "█");
    }
}
