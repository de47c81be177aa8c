//! digest.html: one self-contained page that reads fully without scripts. A small inline
//! script adds a filter by theme and a text search (progressive enhancement); a strict
//! Content-Security-Policy allows exactly the page's own inline style and script by their
//! SHA-256 and nothing else, so the page can make no request of any kind.

use super::i18n::{self, Text};
use super::{chart, Digest, Entry, Section};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write;

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
pub(super) fn safe_url(u: &str) -> Option<String> {
    let l = u.trim().to_ascii_lowercase();
    (l.starts_with("http://") || l.starts_with("https://")).then(|| html_escape(u.trim()))
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;max-width:52rem;margin:0 auto;padding:.5rem 1rem 3rem;color:#1d2430;background:#fff;line-height:1.55}\
a{color:#2c4f99}h1{font-size:1.6rem;line-height:1.25;margin:.8rem 0 .3rem}\
h2{font-size:1.3rem;line-height:1.3;border-bottom:2px solid #d7dde8;padding-bottom:.2rem;margin:2rem 0 .6rem}\
h2 .count{font-size:.85rem;font-weight:normal;color:#5a6475;white-space:nowrap}\
.meta{color:#5a6475;font-size:.9rem;margin:.2rem 0}\
#toc ol{columns:2 17rem;column-gap:2rem;padding-left:1.6rem;margin:.3rem 0}#toc li{break-inside:avoid;margin:.1rem 0}\
.n{color:#5a6475;font-size:.85rem}\
.filter{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;background:#f3f6fb;padding:.6rem .8rem;border-radius:.4rem;margin:1rem 0}\
.filter label{display:flex;flex-wrap:wrap;gap:.2rem .4rem;align-items:center;font-size:.9rem;max-width:100%}\
.filter select,.filter input{font:inherit;font-size:.9rem;padding:.25rem .4rem;border:1px solid #b8c2d6;border-radius:.3rem;background:#fff;max-width:100%}\
.filter output{font-size:.85rem;color:#5a6475}\
#trends .row{display:flex;flex-wrap:wrap;gap:0 2.5rem;align-items:flex-start}#trends .row>*{flex:1 1 20rem;min-width:0}figure{margin:.6rem 0}svg.trend{display:block;width:100%;height:auto;max-width:27rem}\
figcaption{font-size:.85rem;color:#5a6475;margin-top:.3rem}\
h3.sub{font-size:1rem;margin:1.2rem 0 .3rem}\
table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0}th,td{padding:.2rem .5rem;text-align:right;border-bottom:1px solid #eef1f6}\
th:first-child{text-align:left;font-weight:normal}thead th{font-weight:600}.scroll{overflow-x:auto}\
.up{color:#1b7a3a}.down{color:#a33a3a}.new{font-size:.75rem;background:#e4f4e8;color:#1b7a3a;border-radius:.6rem;padding:0 .4rem}\
.cooc td{min-width:1.9rem;text-align:center}.cooc tbody th{min-width:12rem}.h0{color:#a5adbb}.h1{background:#e3ebfa}.h2{background:#c3d3f3}.h3{background:#8fb0ea}.h4{background:#3d6dcc;color:#fff}.d{font-weight:600;background:#f3f6fb}\
.overview{background:#f3f6fb;border-left:4px solid #3d6dcc;padding:.4rem .9rem .5rem;margin:.8rem 0 1.2rem}\
.overview h3{font-size:.95rem;margin:.3rem 0}.overview ul{margin:.2rem 0;padding-left:1.2rem}.overview li{margin:.35rem 0}\
a.ref{font-size:.75rem;text-decoration:none;background:#dfe7f8;border-radius:.6rem;padding:0 .4rem;margin-left:.25rem;white-space:nowrap}\
article{margin:1.1rem 0;padding-bottom:.6rem;border-bottom:1px solid #eef1f6}article:target,section:target>h2{background:#fff7d6}\
article h3{margin:.2rem 0;font-size:1.05rem;line-height:1.35}.num{color:#5a6475;font-weight:normal;margin-right:.35rem}\
.tag{display:inline-block;background:#e8eefb;color:#2c4f99;border-radius:.8rem;padding:0 .55rem;margin:.1rem .3rem .1rem 0;font-size:.8rem;text-decoration:none}\
.tag.primary{background:#3d6dcc;color:#fff}.id{font-size:.75rem;color:#8a93a3;overflow-wrap:anywhere}\
.extract{font-size:.92rem;color:#3b4454}.dup,.warn{font-size:.88rem;color:#5a6475}.warn{color:#8a5a00}.errors li{color:#8a1f1f;overflow-wrap:anywhere}\
details{margin:.8rem 0}summary{cursor:pointer;font-weight:600}details.tech{margin-top:2.5rem;font-size:.85rem;color:#5a6475}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem}dd{margin:0;overflow-wrap:anywhere}[hidden]{display:none!important}";

/// Filter by theme and search, on top of a page that needs neither. Diacritics are folded on
/// both sides, so "ban dan" finds "bán dẫn" as well as "bán dẫn" does.
const SCRIPT: &str = r#"(function () {
  var form = document.getElementById('filter');
  if (!form || !String.prototype.normalize) return;
  var select = form.elements.theme, search = form.elements.q, out = form.querySelector('output');
  var articles = Array.prototype.slice.call(document.querySelectorAll('article[data-themes]'));
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.theme'));
  function fold(s) {
    return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[\u0111\u0110]/g, 'd').toLowerCase();
  }
  var texts = articles.map(function (a) { return fold(a.textContent); });
  function apply() {
    var theme = select.value, shown = 0;
    var words = fold(search.value).split(/\s+/).filter(function (w) { return w; });
    articles.forEach(function (a, i) {
      var ok = (!theme || a.getAttribute('data-themes').split(' ').indexOf(theme) >= 0) &&
        words.every(function (w) { return texts[i].indexOf(w) >= 0; });
      a.hidden = !ok;
      if (ok) shown++;
    });
    sections.forEach(function (s) { s.hidden = !s.querySelector('article:not([hidden])'); });
    var total = articles.length;
    out.textContent = !theme && !words.length ? '' : shown ? form.getAttribute(total === 1 ? 'data-one' : 'data-other')
      .replace('{shown}', shown).replace('{total}', total) : form.getAttribute('data-none');
  }
  select.addEventListener('change', apply);
  search.addEventListener('input', apply);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  form.hidden = false;
  apply();
})();"#;

fn sha256_b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
}

/// No fetch, image, font, frame or connection of any kind; only this page's own style and
/// script, named by hash. Links to the articles are navigation, which CSP does not block.
pub(super) fn csp() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src 'none'; base-uri 'none'; form-action 'none'",
        sha256_b64(CSS),
        sha256_b64(SCRIPT)
    )
}

pub fn html(d: &Digest) -> String {
    let t = i18n::text(d.lang);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        t.lang.code(),
        csp(),
        html_escape(&d.title)
    );
    let _ = writeln!(s, "<header>\n<h1>{}</h1>", html_escape(&d.title));
    let _ = writeln!(s, "<p class=\"meta\">{}</p>", summary_line(t, d));
    if let Some(g) = &d.generator_stats {
        let _ = writeln!(
            s,
            "<p class=\"meta\">{}</p>",
            html_escape(&i18n::fill(
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
    s.push_str("</header>\n");
    toc(&mut s, t, d);
    filter(&mut s, t, d);
    trends(&mut s, t, d);
    for sec in &d.themes {
        section(&mut s, t, d, sec);
    }
    if !d.errors.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"errors\">\n<h2>{} <span class=\"count\">{}</span></h2>\n<ul class=\"errors\">",
            t.not_processed,
            t.num(d.errors.len())
        );
        for e in &d.errors {
            let _ = writeln!(
                s,
                "<li><code>{}</code>: {}</li>",
                html_escape(&e.origin),
                html_escape(&e.message)
            );
        }
        s.push_str("</ul>\n</section>\n");
    }
    let source = t.source_kind[match d.model.source {
        crate::hub::Source::Local => 0,
        crate::hub::Source::Cache => 1,
        crate::hub::Source::Hub => 2,
        crate::hub::Source::Mirror => 3,
    }];
    let _ = writeln!(
        s,
        "<details class=\"tech\"><summary>{}</summary><dl><dt>{}</dt><dd>{} ({})</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd></dl></details>",
        t.technical,
        t.model,
        html_escape(&d.model.model),
        source,
        t.classifier,
        html_escape(&d.classifier),
        t.taxonomy,
        html_escape(&d.taxonomy),
        t.input,
        html_escape(&d.input)
    );
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    s
}

/// "17 bài viết · 10 chủ đề · 2 bài trùng lặp đã gộp · Lập lúc …"; zero counts of trouble
/// are left out rather than announced.
pub(super) fn summary_line(t: &Text, d: &Digest) -> String {
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
    html_escape(&parts.join(" · "))
}

fn toc(s: &mut String, t: &Text, d: &Digest) {
    let _ = writeln!(
        s,
        "<nav id=\"toc\" aria-labelledby=\"toc-h\">\n<h2 id=\"toc-h\">{}</h2>\n<ol>",
        t.toc
    );
    for sec in &d.themes {
        let _ = writeln!(
            s,
            "<li><a href=\"#{}\">{}</a> <span class=\"n\">({})</span></li>",
            sec.anchor,
            html_escape(&sec.name),
            t.num(sec.count)
        );
    }
    s.push_str("</ol>\n");
    let mut extra = Vec::new();
    if d.trends.is_some() || d.comparison.is_some() || d.cooccurrence.is_some() {
        extra.push(format!("<a href=\"#trends\">{}</a>", t.trends));
    }
    if !d.errors.is_empty() {
        extra.push(format!(
            "<a href=\"#errors\">{}</a> <span class=\"n\">({})</span>",
            t.not_processed,
            t.num(d.errors.len())
        ));
    }
    if !extra.is_empty() {
        let _ = writeln!(s, "<p class=\"meta\">{}</p>", extra.join(" · "));
    }
    s.push_str("</nav>\n");
}

/// The filter form is hidden until the script shows it: without scripts there is no
/// control that does nothing.
fn filter(s: &mut String, t: &Text, d: &Digest) {
    // Every theme that some article carries, sections' themes first.
    let mut themes: Vec<(String, String)> = d
        .themes
        .iter()
        .map(|x| (x.id.clone(), x.name.clone()))
        .collect();
    for sec in &d.themes {
        for a in &sec.articles {
            for th in &a.themes {
                if !themes.iter().any(|(id, _)| *id == th.0) {
                    themes.push(th.clone());
                }
            }
        }
    }
    let _ = write!(
        s,
        "<form id=\"filter\" class=\"filter\" role=\"search\" hidden data-one=\"{}\" data-other=\"{}\" data-none=\"{}\">\n<label>{} <select name=\"theme\"><option value=\"\">{}</option>",
        html_escape(t.filter_shown.one),
        html_escape(t.filter_shown.other),
        html_escape(t.filter_none),
        t.filter_theme,
        t.filter_all
    );
    for (id, name) in &themes {
        let _ = write!(
            s,
            "<option value=\"{}\">{}</option>",
            html_escape(id),
            html_escape(name)
        );
    }
    let _ = writeln!(
        s,
        "</select></label>\n<label>{} <input type=\"search\" name=\"q\" placeholder=\"{}\"></label>\n<output aria-live=\"polite\"></output>\n</form>",
        t.filter_search,
        html_escape(t.filter_placeholder)
    );
}

fn trends(s: &mut String, t: &Text, d: &Digest) {
    if d.trends.is_none() && d.comparison.is_none() && d.cooccurrence.is_none() {
        return;
    }
    let anchors: BTreeMap<&str, &str> = d
        .themes
        .iter()
        .map(|x| (x.id.as_str(), x.anchor.as_str()))
        .collect();
    let _ = writeln!(
        s,
        "<section id=\"trends\">\n<h2>{}</h2>\n<div class=\"row\">",
        t.trends
    );
    if let Some(tr) = &d.trends {
        let caption = i18n::fill(t.chart_caption, &[("unit", chart::unit(t, tr.granularity))]);
        let mut note = String::new();
        if tr.undated > 0 {
            note = format!(" · {}", t.count(&t.undated, tr.undated));
        }
        let _ = writeln!(
            s,
            "<figure>{}<figcaption>{}{}</figcaption></figure>",
            chart::svg(t, tr, &caption),
            html_escape(&caption),
            html_escape(&note)
        );
    }
    if let Some(c) = &d.comparison {
        let p = &c.period;
        let _ = writeln!(
            s,
            "<div class=\"period\"><h3 class=\"sub\">{}</h3>\n<p class=\"meta\">{} {}</p>\n<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t.period_heading,
            html_escape(&i18n::fill(
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
            let name = match anchors.get(r.id.as_str()) {
                Some(a) => format!("<a href=\"#{a}\">{}</a>", html_escape(&r.name)),
                None => html_escape(&r.name),
            };
            let change = if r.previous == 0 && r.current > 0 {
                format!("<span class=\"new\">{}</span>", t.period_new)
            } else if r.current > r.previous {
                format!(
                    "<span class=\"up\">+{}</span>",
                    t.num(r.current - r.previous)
                )
            } else if r.current < r.previous {
                format!(
                    "<span class=\"down\">−{}</span>",
                    t.num(r.previous - r.current)
                )
            } else {
                "0".to_string()
            };
            let _ = writeln!(
                s,
                "<tr><th>{name}</th><td>{}</td><td>{}</td><td>{change}</td></tr>",
                t.num(r.current),
                t.num(r.previous)
            );
        }
        s.push_str("</tbody></table></div></div>\n");
    }
    s.push_str("</div>\n");
    if let Some(c) = &d.cooccurrence {
        let max = (0..c.themes.len())
            .flat_map(|i| {
                (0..c.themes.len())
                    .filter(move |&j| j != i)
                    .map(move |j| (i, j))
            })
            .map(|(i, j)| c.counts[i][j])
            .max()
            .unwrap_or(0)
            .max(1);
        let _ = write!(
            s,
            "<details class=\"cooc-box\"><summary>{}</summary>\n<p class=\"meta\">{}</p>\n<div class=\"scroll\"><table class=\"cooc\"><thead><tr><th></th>",
            t.cooc_heading, t.cooc_intro
        );
        for i in 0..c.themes.len() {
            let _ = write!(s, "<th>{}</th>", i + 1);
        }
        s.push_str("</tr></thead><tbody>\n");
        for (i, (id, name)) in c.themes.iter().enumerate() {
            let label = format!("{}. {}", i + 1, html_escape(name));
            let label = match anchors.get(id.as_str()) {
                Some(a) => format!("<a href=\"#{a}\">{label}</a>"),
                None => label,
            };
            let _ = write!(s, "<tr><th>{label}</th>");
            for (j, &n) in c.counts[i].iter().enumerate() {
                // Five shades by share of the largest pair, so that the pattern stands out.
                let class = if i == j {
                    "d".to_string()
                } else if n == 0 {
                    "h0".to_string()
                } else {
                    format!("h{}", (1 + 3 * n / max).min(4))
                };
                let _ = write!(s, "<td class=\"{class}\">{}</td>", t.num(n));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></div></details>\n");
    }
    s.push_str("</section>\n");
}

fn section(s: &mut String, t: &Text, d: &Digest, sec: &Section) {
    let _ = writeln!(
        s,
        "<section id=\"{}\" class=\"theme\">\n<h2>{} <span class=\"count\">{}</span></h2>",
        sec.anchor,
        html_escape(&sec.name),
        t.count(&t.articles, sec.count)
    );
    if !sec.overview.is_empty() {
        let _ = writeln!(s, "<div class=\"overview\">\n<h3>{}</h3>\n<ul>", t.overview);
        for o in &sec.overview {
            let _ = write!(s, "<li>{}", html_escape(&o.text));
            for r in &o.sources {
                let _ = write!(
                    s,
                    " <a class=\"ref\" href=\"#{}\" title=\"{}\">{} {}</a>",
                    r.anchor,
                    html_escape(&r.title),
                    t.article_label,
                    r.number
                );
            }
            s.push_str("</li>\n");
        }
        s.push_str("</ul>\n</div>\n");
    }
    let anchors: BTreeMap<&str, &str> = d
        .themes
        .iter()
        .map(|x| (x.id.as_str(), x.anchor.as_str()))
        .collect();
    for a in &sec.articles {
        article(s, t, a, &anchors);
    }
    s.push_str("</section>\n");
}

fn article(s: &mut String, t: &Text, a: &Entry, anchors: &BTreeMap<&str, &str>) {
    let themes: Vec<String> = a.themes.iter().map(|(id, _)| html_escape(id)).collect();
    let _ = writeln!(
        s,
        "<article id=\"{}\" data-themes=\"{}\">",
        a.anchor,
        themes.join(" ")
    );
    let title = html_escape(&a.title);
    let num = format!("<span class=\"num\">{}.</span>", a.number);
    match a.url.as_deref().and_then(safe_url) {
        Some(u) => {
            let _ = writeln!(
                s,
                "<h3>{num}<a href=\"{u}\" rel=\"noopener noreferrer\">{title}</a></h3>"
            );
        }
        None => {
            let _ = writeln!(s, "<h3>{num}{title}</h3>");
        }
    }
    let mut meta = Vec::new();
    if let Some(date) = &a.date {
        meta.push(html_escape(
            &super::day_of(Some(date))
                .map(|day| t.date(&day))
                .unwrap_or_else(|| date.clone()),
        ));
    }
    if let Some(src) = &a.source {
        meta.push(html_escape(src));
    }
    let mut tags = String::new();
    for (k, (id, name)) in a.themes.iter().enumerate() {
        let class = if k == 0 { "tag primary" } else { "tag" };
        match anchors.get(id.as_str()) {
            Some(anchor) => {
                let _ = write!(
                    tags,
                    "<a class=\"{class}\" href=\"#{anchor}\">{}</a>",
                    html_escape(name)
                );
            }
            None => {
                let _ = write!(tags, "<span class=\"{class}\">{}</span>", html_escape(name));
            }
        }
    }
    if !meta.is_empty() {
        meta.push(String::new());
    }
    let _ = writeln!(
        s,
        "<p class=\"meta\">{}{tags} <span class=\"id\">{}</span></p>",
        meta.join(" · "),
        html_escape(&a.id)
    );
    match &a.generated {
        Some(g) => {
            let _ = writeln!(
                s,
                "<p class=\"generated\">{}</p>\n<p class=\"extract\"><em>{}:</em> {}</p>",
                html_escape(g),
                t.extract,
                html_escape(&a.summary)
            );
        }
        None => {
            let _ = writeln!(s, "<p>{}</p>", html_escape(&a.summary));
        }
    }
    for dup in &a.also_reported {
        let _ = writeln!(
            s,
            "<div class=\"dup\">{}: {} ({}{})</div>",
            t.also_reported,
            html_escape(&dup.title),
            html_escape(&dup.id),
            dup.source
                .as_ref()
                .map(|x| format!(", {}", html_escape(x)))
                .unwrap_or_default()
        );
    }
    for w in &a.warnings {
        let _ = writeln!(
            s,
            "<div class=\"warn\">⚠ {}</div>",
            html_escape(&t.warning(w))
        );
    }
    s.push_str("</article>\n");
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
    }

    #[test]
    fn csp_names_exactly_the_inline_style_and_script() {
        let c = csp();
        assert!(c.starts_with("default-src 'none';"));
        // Known-answer check of the hash form browsers compare against.
        assert_eq!(
            sha256_b64("abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert!(c.contains(&format!("'sha256-{}'", sha256_b64(CSS))));
        assert!(c.contains(&format!("'sha256-{}'", sha256_b64(SCRIPT))));
        // The hash covers the exact text between the tags: nothing may be added around it.
        assert!(!CSS.contains("</style") && !SCRIPT.contains("</script"));
    }
}
