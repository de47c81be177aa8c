//! Digests: per-theme sections with an overview made of the most central summary sentences,
//! then each article (near-duplicates folded into their first report). Rendered as JSON,
//! Markdown and a self-contained HTML page; every piece of article text is escaped.

use crate::classify::dot;
use crate::corpus::ItemError;
use crate::hub::Provenance;
use crate::pipeline::Analysis;
use crate::taxonomy::Taxonomy;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub title: String,
    pub generated: String,
    pub input: String,
    pub model: Provenance,
    pub classifier: String,
    pub taxonomy: String,
    pub articles: usize,
    pub failed: usize,
    pub duplicates_folded: usize,
    /// Who wrote the generated summaries, and how many passed the checks (absent when the
    /// run was extractive only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    pub themes: Vec<Section>,
    pub errors: Vec<ItemError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub name: String,
    pub count: usize,
    pub overview: Vec<OverviewLine>,
    pub articles: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverviewLine {
    pub text: String,
    pub article: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub date: Option<String>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub themes: Vec<(String, String)>,
    /// The extract: sentences quoted from the article.
    pub summary: String,
    /// The generator's summary, when it passed the gate (see `abstractive::gate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    pub warnings: Vec<String>,
    pub also_reported: Vec<Duplicate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    pub id: String,
    pub title: String,
    pub source: Option<String>,
    pub similarity: f32,
}

/// Two reports are the same story when they share much wording (estimated Jaccard overlap of
/// 4-syllable shingles, as agency copy republished with edits does), or some wording and
/// nearly the same meaning (a rewrite). Meaning alone is not enough: all articles on one
/// policy look alike to a small encoder.
pub const DUP_JACCARD: f32 = 0.3;
pub const DUP_REWRITE_JACCARD: f32 = 0.05;
pub const DUP_REWRITE_COSINE: f32 = 0.95;

/// Groups near-duplicates; returns for each article the index of its group's first article.
pub fn group_duplicates(analyses: &[Analysis]) -> Vec<usize> {
    let mut rep: Vec<usize> = (0..analyses.len()).collect();
    for i in 0..analyses.len() {
        if rep[i] != i {
            continue;
        }
        for j in i + 1..analyses.len() {
            if rep[j] != j {
                continue;
            }
            let jac = crate::pipeline::jaccard(&analyses[i].minhash, &analyses[j].minhash);
            let cos = dot(&analyses[i].centroid, &analyses[j].centroid);
            if jac >= DUP_JACCARD || (jac >= DUP_REWRITE_JACCARD && cos >= DUP_REWRITE_COSINE) {
                rep[j] = i;
            }
        }
    }
    rep
}

pub fn build(
    title: &str,
    input: &str,
    analyses: &[Analysis],
    errors: &[ItemError],
    taxonomy: &Taxonomy,
    model: &Provenance,
    classifier: &str,
) -> Digest {
    let rep = group_duplicates(analyses);
    let mut sections: Vec<Section> = Vec::new();
    for theme in &taxonomy.themes {
        let members: Vec<usize> = (0..analyses.len())
            .filter(|&i| rep[i] == i && analyses[i].result.primary == theme.id)
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut entries: Vec<(usize, Entry)> = members
            .iter()
            .map(|&i| {
                let r = &analyses[i].result;
                let also = (0..analyses.len())
                    .filter(|&j| j != i && rep[j] == i)
                    .map(|j| Duplicate {
                        id: analyses[j].result.id.clone(),
                        title: analyses[j].result.title.clone().unwrap_or_default(),
                        source: analyses[j].result.source.clone(),
                        similarity: dot(&analyses[i].centroid, &analyses[j].centroid),
                    })
                    .collect();
                (
                    i,
                    Entry {
                        id: r.id.clone(),
                        title: r.title.clone().unwrap_or_else(|| r.id.clone()),
                        date: r.date.clone(),
                        source: r.source.clone(),
                        url: r.url.clone(),
                        themes: r
                            .themes
                            .iter()
                            .map(|t| (t.id.clone(), t.name.clone()))
                            .collect(),
                        summary: r.summary.clone(),
                        generated: r
                            .abstractive
                            .as_ref()
                            .filter(|a| a.shown == crate::abstractive::Shown::Generated)
                            .map(|a| a.text.clone()),
                        warnings: r.warnings.clone(),
                        also_reported: also,
                    },
                )
            })
            .collect();
        // Newest first; undated last; then by id for a stable order.
        entries.sort_by(|(_, a), (_, b)| {
            b.date
                .is_some()
                .cmp(&a.date.is_some())
                .then_with(|| b.date.cmp(&a.date))
                .then_with(|| a.id.cmp(&b.id))
        });
        let overview = overview(analyses, &members, 3);
        sections.push(Section {
            id: theme.id.clone(),
            name: theme.name.clone(),
            count: members.len(),
            overview,
            articles: entries.into_iter().map(|(_, e)| e).collect(),
        });
    }
    sections.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
    Digest {
        title: title.to_string(),
        generated: now_utc(),
        input: input.to_string(),
        model: model.clone(),
        classifier: classifier.to_string(),
        taxonomy: format!("{} v{}", taxonomy.name, taxonomy.version),
        articles: analyses.len(),
        failed: errors.len(),
        duplicates_folded: rep.iter().enumerate().filter(|(i, r)| i != *r).count(),
        generator: generator_line(analyses),
        themes: sections,
        errors: errors.to_vec(),
    }
}

fn generator_line(analyses: &[Analysis]) -> Option<String> {
    let gen: Vec<&crate::abstractive::AbstractSummary> = analyses
        .iter()
        .filter_map(|a| a.result.abstractive.as_ref())
        .collect();
    let first = gen.first()?;
    let shown = gen
        .iter()
        .filter(|g| g.shown == crate::abstractive::Shown::Generated)
        .count();
    let modes: std::collections::BTreeSet<&str> = gen.iter().map(|g| g.mode.as_str()).collect();
    Some(format!(
        "generated summaries: {} ({}), {shown} of {} shown: they passed every check and cover the article as well as the extract (the others show the extract)",
        first.model,
        modes.into_iter().collect::<Vec<_>>().join("/"),
        gen.len()
    ))
}

/// The most central summary sentences across a theme's articles, at most one per article.
fn overview(analyses: &[Analysis], members: &[usize], n: usize) -> Vec<OverviewLine> {
    let mut cands: Vec<(usize, &str, &[f32])> = Vec::new();
    for &i in members {
        for (t, v) in analyses[i]
            .summary_texts
            .iter()
            .zip(&analyses[i].summary_vectors)
        {
            cands.push((i, t, v));
        }
    }
    if cands.is_empty() {
        return Vec::new();
    }
    let dim = cands[0].2.len();
    let mut centroid = vec![0f32; dim];
    for (_, _, v) in &cands {
        for (c, x) in centroid.iter_mut().zip(v.iter()) {
            *c += x;
        }
    }
    crate::encoder::l2_normalise(&mut centroid);
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < n.min(members.len()) {
        let best = (0..cands.len())
            .filter(|c| !chosen.contains(c) && !chosen.iter().any(|&k| cands[k].0 == cands[*c].0))
            .map(|c| {
                let red = chosen
                    .iter()
                    .map(|&k| dot(cands[c].2, cands[k].2))
                    .fold(0f32, f32::max);
                (c, 0.7 * dot(cands[c].2, &centroid) - 0.3 * red)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((c, _)) => chosen.push(c),
            None => break,
        }
    }
    chosen
        .into_iter()
        .map(|c| OverviewLine {
            text: cands[c].1.to_string(),
            article: analyses[cands[c].0].result.id.clone(),
        })
        .collect()
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86400) as i64;
    let (y, m, d) = civil_from_days(days);
    let rem = secs % 86400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Howard Hinnant's days-to-date algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn md_escape(s: &str) -> String {
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

pub fn markdown(d: &Digest) -> String {
    let mut s = String::new();
    s.push_str(&format!("# {}\n\n", md_escape(&d.title)));
    s.push_str(&format!(
        "{} articles in {} themes · {} near-duplicates folded · {} failed · generated {}  \nModel: {} ({:?}) · classifier: {} · taxonomy: {}\n\n",
        d.articles,
        d.themes.len(),
        d.duplicates_folded,
        d.failed,
        d.generated,
        md_escape(&d.model.model),
        d.model.source,
        md_escape(&d.classifier),
        md_escape(&d.taxonomy)
    ));
    if let Some(g) = &d.generator {
        s.push_str(&format!("{}\n\n", md_escape(g)));
    }
    s.push_str("## Themes\n\n");
    for t in &d.themes {
        s.push_str(&format!(
            "- [{}](#{}) — {} article(s)\n",
            md_escape(&t.name),
            t.id,
            t.count
        ));
    }
    s.push('\n');
    for t in &d.themes {
        s.push_str(&format!(
            "<a id=\"{}\"></a>\n## {} ({})\n\n",
            t.id,
            md_escape(&t.name),
            t.count
        ));
        if !t.overview.is_empty() {
            s.push_str("**Overview.**");
            for o in &t.overview {
                s.push_str(&format!(" {}", md_escape(&o.text)));
            }
            s.push_str("\n\n");
        }
        for a in &t.articles {
            s.push_str(&format!("### {}\n", md_escape(&a.title)));
            let mut meta = vec![format!("`{}`", a.id.replace('`', "'"))];
            if let Some(d) = &a.date {
                meta.push(md_escape(d));
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
            s.push_str(&format!("*{}*\n\n", meta.join(" · ")));
            match &a.generated {
                Some(g) => s.push_str(&format!(
                    "{}  \n*Extract:* {}\n\n",
                    md_escape(g),
                    md_escape(&a.summary)
                )),
                None => s.push_str(&format!("{}\n\n", md_escape(&a.summary))),
            }
            for dup in &a.also_reported {
                s.push_str(&format!(
                    "> Also reported: {} (`{}`{})\n\n",
                    md_escape(&dup.title),
                    dup.id.replace('`', "'"),
                    dup.source
                        .as_ref()
                        .map(|x| format!(", {}", md_escape(x)))
                        .unwrap_or_default()
                ));
            }
            for w in &a.warnings {
                s.push_str(&format!("> ⚠ {}\n\n", md_escape(w)));
            }
        }
    }
    if !d.errors.is_empty() {
        s.push_str("## Not processed\n\n");
        for e in &d.errors {
            s.push_str(&format!(
                "- `{}`: {}\n",
                e.origin.replace('`', "'"),
                md_escape(&e.message)
            ));
        }
    }
    s
}

pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Only http(s) links become hrefs; anything else (javascript:, data:) is shown as text.
fn safe_url(u: &str) -> Option<String> {
    let l = u.trim().to_ascii_lowercase();
    (l.starts_with("http://") || l.starts_with("https://")).then(|| html_escape(u.trim()))
}

fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2430;line-height:1.55}\
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #d7dde8;padding-bottom:.2rem;margin-top:2.2rem}\
.meta{color:#5a6475;font-size:.9rem}.toc a{margin-right:.9rem;white-space:nowrap}\
.overview{background:#f3f6fb;border-left:4px solid #3d6dcc;padding:.6rem .9rem;margin:.8rem 0 1.2rem}\
article{margin:1.1rem 0;padding-bottom:.6rem;border-bottom:1px solid #eef1f6}article h3{margin:.2rem 0;font-size:1.08rem}\
.tag{display:inline-block;background:#e8eefb;color:#2c4f99;border-radius:.8rem;padding:0 .55rem;margin-right:.3rem;font-size:.8rem}\
.dup,.warn{font-size:.88rem;color:#5a6475}.warn{color:#8a5a00}.errors li{color:#8a1f1f}";

pub fn html(d: &Digest) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(&format!(
        "<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        html_escape(&d.title)
    ));
    s.push_str(&format!("<h1>{}</h1>\n", html_escape(&d.title)));
    s.push_str(&format!(
        "<p class=\"meta\">{} articles in {} themes · {} near-duplicates folded · {} failed · generated {}<br>Model {} ({:?}) · {} · taxonomy {}</p>\n",
        d.articles,
        d.themes.len(),
        d.duplicates_folded,
        d.failed,
        html_escape(&d.generated),
        html_escape(&d.model.model),
        d.model.source,
        html_escape(&d.classifier),
        html_escape(&d.taxonomy)
    ));
    if let Some(g) = &d.generator {
        s.push_str(&format!("<p class=\"meta\">{}</p>\n", html_escape(g)));
    }
    s.push_str("<nav class=\"toc\">");
    for t in &d.themes {
        s.push_str(&format!(
            "<a href=\"#{}\">{} ({})</a> ",
            anchor(&t.id),
            html_escape(&t.name),
            t.count
        ));
    }
    s.push_str("</nav>\n");
    for t in &d.themes {
        s.push_str(&format!(
            "<section id=\"{}\">\n<h2>{} <span class=\"meta\">{} article(s)</span></h2>\n",
            anchor(&t.id),
            html_escape(&t.name),
            t.count
        ));
        if !t.overview.is_empty() {
            s.push_str("<div class=\"overview\"><strong>Overview.</strong> ");
            for o in &t.overview {
                s.push_str(&format!("{} ", html_escape(&o.text)));
            }
            s.push_str("</div>\n");
        }
        for a in &t.articles {
            s.push_str(&format!("<article id=\"a-{}\">\n", anchor(&a.id)));
            let title = html_escape(&a.title);
            match a.url.as_deref().and_then(safe_url) {
                Some(u) => s.push_str(&format!(
                    "<h3><a href=\"{u}\" rel=\"noopener noreferrer\">{title}</a></h3>\n"
                )),
                None => s.push_str(&format!("<h3>{title}</h3>\n")),
            }
            let mut meta = vec![html_escape(&a.id)];
            if let Some(d) = &a.date {
                meta.push(html_escape(d));
            }
            if let Some(src) = &a.source {
                meta.push(html_escape(src));
            }
            s.push_str(&format!("<div class=\"meta\">{} ", meta.join(" · ")));
            for (_, n) in &a.themes {
                s.push_str(&format!("<span class=\"tag\">{}</span>", html_escape(n)));
            }
            s.push_str("</div>\n");
            if let Some(g) = &a.generated {
                s.push_str(&format!("<p class=\"generated\">{}</p>\n", html_escape(g)));
                s.push_str(&format!(
                    "<p class=\"extract\"><em>Extract:</em> {}</p>\n",
                    html_escape(&a.summary)
                ));
            } else {
                s.push_str(&format!("<p>{}</p>\n", html_escape(&a.summary)));
            }
            for dup in &a.also_reported {
                s.push_str(&format!(
                    "<div class=\"dup\">Also reported: {} ({}{})</div>\n",
                    html_escape(&dup.title),
                    html_escape(&dup.id),
                    dup.source
                        .as_ref()
                        .map(|x| format!(", {}", html_escape(x)))
                        .unwrap_or_default()
                ));
            }
            for w in &a.warnings {
                s.push_str(&format!("<div class=\"warn\">⚠ {}</div>\n", html_escape(w)));
            }
            s.push_str("</article>\n");
        }
        s.push_str("</section>\n");
    }
    if !d.errors.is_empty() {
        s.push_str("<h2>Not processed</h2>\n<ul class=\"errors\">\n");
        for e in &d.errors {
            s.push_str(&format!(
                "<li><code>{}</code>: {}</li>\n",
                html_escape(&e.origin),
                html_escape(&e.message)
            ));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            html_escape("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(
            safe_url("https://a.vn/?q=1&b=\"x\"").as_deref(),
            Some("https://a.vn/?q=1&amp;b=&quot;x&quot;")
        );
        assert_eq!(md_escape("a*b_[c]"), "a\\*b\\_\\[c\\]");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    }
}
