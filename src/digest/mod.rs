//! Digests: per-theme sections with an overview of the theme's developments, then each
//! article (near-duplicates folded into their first report); trends over time when the
//! articles span more than a week. Rendered as JSON, Markdown and a self-contained HTML page
//! in the reader's language (Vietnamese by default); every piece of article text is escaped.

pub mod chart;
mod html;
pub mod i18n;
mod markdown;
pub mod trends;

pub use html::{html, html_escape};
pub use i18n::Lang;
pub use markdown::markdown;

use crate::classify::dot;
use crate::corpus::ItemError;
use crate::hub::Provenance;
use crate::pipeline::Analysis;
use crate::taxonomy::Taxonomy;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};

#[derive(Debug, Clone, Serialize)]
pub struct Digest {
    pub title: String,
    pub lang: Lang,
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
    #[serde(skip)]
    pub generator_stats: Option<GeneratorStats>,
    pub themes: Vec<Section>,
    /// Articles per theme per week (month, year), when the dated articles span more than a week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trends: Option<trends::Trends>,
    /// Per theme, this period against the one before it (`--since`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<trends::Comparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooccurrence: Option<trends::Cooccurrence>,
    pub errors: Vec<ItemError>,
}

#[derive(Debug, Clone)]
pub struct GeneratorStats {
    pub model: String,
    pub modes: String,
    pub usable: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    /// The section's id in the page (`t-` and the theme id made safe for a fragment).
    pub anchor: String,
    pub name: String,
    pub count: usize,
    pub overview: Vec<OverviewLine>,
    pub articles: Vec<Entry>,
}

/// One development of a theme: its most central sentence, and every article reporting it.
#[derive(Debug, Clone, Serialize)]
pub struct OverviewLine {
    pub text: String,
    /// The article the sentence is quoted from.
    pub article: String,
    pub sources: Vec<SourceRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRef {
    pub id: String,
    pub anchor: String,
    pub number: usize,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    /// Position in the page (1-based), by which the overviews cite it.
    pub number: usize,
    pub anchor: String,
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

/// What the caller knows beyond the articles: the reader's language and, for `--since`,
/// the articles of the period just before it (only counted, never listed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    pub lang: Lang,
    pub since: Option<&'a str>,
    pub previous: &'a [Analysis],
}

/// Two reports are the same story when they share much wording (estimated Jaccard overlap of
/// 4-syllable shingles, as agency copy republished with edits does), or some wording and
/// nearly the same meaning (a rewrite). Meaning alone is not enough: all articles on one
/// policy look alike to a small encoder.
pub const DUP_JACCARD: f32 = 0.3;
pub const DUP_REWRITE_JACCARD: f32 = 0.05;
pub const DUP_REWRITE_COSINE: f32 = 0.95;

/// Two summary sentences of different articles report the same development when their
/// meaning is nearly the same or they share much wording (word-pair overlap). On corpus/,
/// sentence pairs about one event (Hà Nam's investor conference in two outlets; Decision
/// 1018 in the semiconductor strategy and the training article) score 0.93–0.996 while
/// different events of one theme stay below 0.92 (median of all pairs 0.84).
pub const SAME_DEVELOPMENT_COSINE: f32 = 0.93;
pub const SAME_DEVELOPMENT_OVERLAP: f32 = 0.3;
/// Bullets per theme overview.
pub const OVERVIEW_MIN: usize = 3;
pub const OVERVIEW_MAX: usize = 5;

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

/// An article's date as yyyy-mm-dd (ISO in the input, or dd/mm/yyyy as Vietnamese sites
/// write it), or None.
pub fn day_of(date: Option<&str>) -> Option<String> {
    let d = date?.trim();
    let head: String = d.chars().take(10).collect();
    if trends::days(&head).is_some() {
        return Some(head);
    }
    crate::pipeline::find_date(d).filter(|x| trends::days(x).is_some())
}

/// Fragment ids: ASCII letters, digits and '-' kept, anything else '_', made unique.
fn anchor(prefix: &str, id: &str, taken: &mut HashSet<String>) -> String {
    let base: String = std::iter::once(prefix.to_string())
        .chain(id.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_string()
            } else {
                "_".to_string()
            }
        }))
        .collect();
    let mut a = base.clone();
    let mut n = 2;
    while !taken.insert(a.clone()) {
        a = format!("{base}-{n}");
        n += 1;
    }
    a
}

#[allow(clippy::too_many_arguments)]
pub fn build(
    title: &str,
    input: &str,
    analyses: &[Analysis],
    errors: &[ItemError],
    taxonomy: &Taxonomy,
    model: &Provenance,
    classifier: &str,
    opts: &Options,
) -> Digest {
    let rep = group_duplicates(analyses);
    let mut taken = HashSet::new();
    // Sections first (ordered by size), so that article numbers follow the page.
    let mut groups: Vec<(&crate::taxonomy::Theme, Vec<usize>)> = taxonomy
        .themes
        .iter()
        .map(|theme| {
            let members: Vec<usize> = (0..analyses.len())
                .filter(|&i| rep[i] == i && analyses[i].result.primary == theme.id)
                .collect();
            (theme, members)
        })
        .filter(|(_, m)| !m.is_empty())
        .collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.id.cmp(&b.0.id)));
    let section_anchor: HashMap<String, String> = groups
        .iter()
        .map(|(t, _)| (t.id.clone(), anchor("t-", &t.id, &mut taken)))
        .collect();
    let mut number = 0;
    let mut sections: Vec<Section> = Vec::new();
    for (theme, mut members) in groups {
        // Newest first; undated last; then by id for a stable order.
        members.sort_by(|&a, &b| {
            let (a, b) = (&analyses[a].result, &analyses[b].result);
            let (da, db) = (day_of(a.date.as_deref()), day_of(b.date.as_deref()));
            db.is_some()
                .cmp(&da.is_some())
                .then_with(|| db.cmp(&da))
                .then_with(|| a.id.cmp(&b.id))
        });
        let entries: Vec<Entry> = members
            .iter()
            .map(|&i| {
                number += 1;
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
                Entry {
                    id: r.id.clone(),
                    number,
                    anchor: anchor("a-", &r.id, &mut taken),
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
                }
            })
            .collect();
        let refs: HashMap<usize, SourceRef> = members
            .iter()
            .zip(&entries)
            .map(|(&i, e)| {
                (
                    i,
                    SourceRef {
                        id: e.id.clone(),
                        anchor: e.anchor.clone(),
                        number: e.number,
                        title: e.title.clone(),
                    },
                )
            })
            .collect();
        sections.push(Section {
            id: theme.id.clone(),
            anchor: section_anchor[&theme.id].clone(),
            name: theme.name.clone(),
            count: members.len(),
            overview: overview(analyses, &members, &refs),
            articles: entries,
        });
    }
    let section_themes: Vec<(String, String)> = sections
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    let shown: Vec<&Analysis> = (0..analyses.len())
        .filter(|&i| rep[i] == i)
        .map(|i| &analyses[i])
        .collect();
    let dated: Vec<(String, Option<i64>)> = shown
        .iter()
        .map(|a| {
            (
                a.result.primary.clone(),
                day_of(a.result.date.as_deref()).and_then(|d| trends::days(&d)),
            )
        })
        .collect();
    let sets: Vec<Vec<String>> = shown
        .iter()
        .map(|a| a.result.themes.iter().map(|t| t.id.clone()).collect())
        .collect();
    Digest {
        title: title.to_string(),
        lang: opts.lang,
        generated: now_utc(),
        input: input.to_string(),
        model: model.clone(),
        classifier: classifier.to_string(),
        taxonomy: format!("{} v{}", taxonomy.name, taxonomy.version),
        articles: analyses.len(),
        failed: errors.len(),
        duplicates_folded: rep.iter().enumerate().filter(|(i, r)| i != *r).count(),
        generator: generator_line(analyses),
        generator_stats: generator_stats(analyses),
        trends: trends::trends(&section_themes, &dated),
        comparison: opts
            .since
            .and_then(|since| comparison(since, &shown, opts.previous, &sections, taxonomy)),
        cooccurrence: trends::cooccurrence(&section_themes, &sets),
        themes: sections,
        errors: errors.to_vec(),
    }
}

/// Per theme, the articles shown (the current period) against the previous period's articles
/// (duplicates folded the same way), by primary theme.
fn comparison(
    since: &str,
    shown: &[&Analysis],
    previous: &[Analysis],
    sections: &[Section],
    taxonomy: &Taxonomy,
) -> Option<trends::Comparison> {
    let dates: Vec<String> = shown
        .iter()
        .filter_map(|a| day_of(a.result.date.as_deref()))
        .collect();
    let period = trends::period(since, &dates)?;
    let prev_rep = group_duplicates(previous);
    let mut prev: HashMap<&str, usize> = HashMap::new();
    for (i, a) in previous.iter().enumerate() {
        let in_period = day_of(a.result.date.as_deref()).is_some_and(|d| {
            d.as_str() >= period.previous_from.as_str()
                && d.as_str() <= period.previous_until.as_str()
        });
        if prev_rep[i] == i && in_period {
            *prev.entry(a.result.primary.as_str()).or_default() += 1;
        }
    }
    let mut rows: Vec<trends::PeriodRow> = sections
        .iter()
        .map(|s| trends::PeriodRow {
            id: s.id.clone(),
            name: s.name.clone(),
            current: s.count,
            previous: prev.get(s.id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    // Themes that were reported before but not now belong in the comparison too.
    for t in &taxonomy.themes {
        if let (Some(&p), false) = (prev.get(t.id.as_str()), rows.iter().any(|r| r.id == t.id)) {
            rows.push(trends::PeriodRow {
                id: t.id.clone(),
                name: t.name.clone(),
                current: 0,
                previous: p,
            });
        }
    }
    Some(trends::Comparison { period, rows })
}

fn generator_stats(analyses: &[Analysis]) -> Option<GeneratorStats> {
    let gen: Vec<&crate::abstractive::AbstractSummary> = analyses
        .iter()
        .filter_map(|a| a.result.abstractive.as_ref())
        .collect();
    let first = gen.first()?;
    let modes: BTreeSet<&str> = gen.iter().map(|g| g.mode.as_str()).collect();
    Some(GeneratorStats {
        model: first.model.clone(),
        modes: modes.into_iter().collect::<Vec<_>>().join("/"),
        // Shown, not merely checked: the gate (abstractive::gate) also weighs coverage.
        usable: gen
            .iter()
            .filter(|g| g.shown == crate::abstractive::Shown::Generated)
            .count(),
        total: gen.len(),
    })
}

/// The English line kept in digest.json for tools that read it.
fn generator_line(analyses: &[Analysis]) -> Option<String> {
    let g = generator_stats(analyses)?;
    Some(format!(
        "generated summaries: {} ({}), {} of {} shown: they passed every check and cover the article as well as the extract (the others show the extract)",
        g.model, g.modes, g.usable, g.total
    ))
}

/// Word pairs (lower-cased syllables) of a sentence, for wording overlap.
fn word_pairs(s: &str) -> HashSet<(String, String)> {
    let w: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    w.windows(2).map(|p| (p[0].clone(), p[1].clone())).collect()
}

fn overlap(a: &HashSet<(String, String)>, b: &HashSet<(String, String)>) -> f32 {
    let union = a.union(b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).count() as f32 / union as f32
    }
}

/// A theme's developments, 3 to 5 bullets: the most central summary sentence not yet
/// covered (central to the theme, unlike what is already chosen), with every article whose
/// summary reports the same development as its sources, so that one event told by several
/// outlets is one bullet. A theme with one article has no overview: its summary is right below.
fn overview(
    analyses: &[Analysis],
    members: &[usize],
    refs: &HashMap<usize, SourceRef>,
) -> Vec<OverviewLine> {
    if members.len() < 2 {
        return Vec::new();
    }
    struct Cand<'a> {
        article: usize,
        text: &'a str,
        vec: &'a [f32],
        pairs: HashSet<(String, String)>,
    }
    let mut cands: Vec<Cand> = Vec::new();
    for &i in members {
        for (t, v) in analyses[i]
            .summary_texts
            .iter()
            .zip(&analyses[i].summary_vectors)
        {
            cands.push(Cand {
                article: i,
                text: t,
                vec: v,
                pairs: word_pairs(t),
            });
        }
    }
    if cands.is_empty() {
        return Vec::new();
    }
    let same = |a: &Cand, b: &Cand| {
        dot(a.vec, b.vec) >= SAME_DEVELOPMENT_COSINE
            || overlap(&a.pairs, &b.pairs) >= SAME_DEVELOPMENT_OVERLAP
    };
    let dim = cands[0].vec.len();
    let mut centroid = vec![0f32; dim];
    for c in &cands {
        for (x, y) in centroid.iter_mut().zip(c.vec) {
            *x += y;
        }
    }
    crate::encoder::l2_normalise(&mut centroid);
    let mmr = |c: usize, chosen: &[(usize, Vec<usize>)]| {
        let red = chosen
            .iter()
            .map(|(k, _)| dot(cands[c].vec, cands[*k].vec))
            .fold(0f32, f32::max);
        0.7 * dot(cands[c].vec, &centroid) - 0.3 * red
    };
    // (chosen candidate, its source articles)
    let mut chosen: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut covered: HashSet<usize> = HashSet::new();
    // First one bullet per development from articles not yet cited; then, for themes with few
    // articles, further sentences as long as they report something not yet in a bullet.
    for second_pass in [false, true] {
        let limit = if second_pass {
            OVERVIEW_MIN
        } else {
            OVERVIEW_MAX
        };
        while chosen.len() < limit {
            let best = (0..cands.len())
                .filter(|&c| {
                    if chosen.iter().any(|(k, _)| *k == c) {
                        return false;
                    }
                    if second_pass {
                        !chosen.iter().any(|(k, _)| same(&cands[c], &cands[*k]))
                    } else {
                        !covered.contains(&cands[c].article)
                    }
                })
                .map(|c| (c, mmr(c, &chosen)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((c, _)) = best else { break };
            let mut sources = vec![cands[c].article];
            for k in 0..cands.len() {
                let a = cands[k].article;
                if !sources.contains(&a) && same(&cands[c], &cands[k]) {
                    sources.push(a);
                }
            }
            covered.extend(sources.iter().copied());
            chosen.push((c, sources));
        }
    }
    chosen
        .into_iter()
        .map(|(c, sources)| {
            let mut sources: Vec<SourceRef> = sources
                .iter()
                .filter_map(|a| refs.get(a).cloned())
                .collect();
            sources.sort_by_key(|s| s.number);
            OverviewLine {
                text: cands[c].text.to_string(),
                article: analyses[cands[c].article].result.id.clone(),
                sources,
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
    }

    fn unit(i: usize, tilt: f32) -> Vec<f32> {
        let mut v = vec![0f32; 8];
        v[i] = 1.0;
        v[(i + 1) % 8] = tilt;
        crate::encoder::l2_normalise(&mut v);
        v
    }

    fn art(id: &str, themes: &[&str], date: &str, text: &str, vec: Vec<f32>, n: u32) -> Analysis {
        let themes: Vec<_> = themes
            .iter()
            .map(|t| json!({"id": t, "name": format!("Chủ đề {t}"), "score": 0.5, "share": 0.5}))
            .collect();
        serde_json::from_value(json!({
            "result": {
                "id": id, "title": format!("Tiêu đề {id}"), "date": date, "source": null,
                "url": format!("https://example.vn/{id}"), "origin": id,
                "primary": themes[0]["id"], "themes": themes, "summary": text,
                "summary_sentences": [0], "sentences": 3, "words": 40, "furniture_removed": 0,
                "classifier": "test", "warnings": [],
                "provenance": {"model": "m", "source": "local", "repo": null, "revision": null,
                    "commit": null, "weights_sha256": null, "dtype": "f32", "device": "cpu"}
            },
            "centroid": vec.clone(), "summary_vectors": [vec], "summary_texts": [text],
            "features": {"score": [], "share": []},
            // Disjoint shingles: no article is a near-duplicate of another.
            "minhash": [n, n + 100, n + 200]
        }))
        .unwrap()
    }

    fn corpus() -> Vec<Analysis> {
        vec![
            art(
                "a",
                &["industrialization"],
                "2024-09-02",
                "Hà Nam trao chứng nhận đầu tư cho 15 dự án FDI.",
                unit(0, 0.0),
                1,
            ),
            art(
                "b",
                &["industrialization"],
                "2024-09-20",
                "Tỉnh Hà Nam trao chứng nhận đầu tư cho mười lăm dự án.",
                unit(0, 0.1),
                2,
            ),
            art(
                "c",
                &["industrialization"],
                "2024-09-25",
                "Quốc hội thông qua luật dữ liệu.",
                unit(3, 0.0),
                3,
            ),
            art(
                "d",
                &["green-energy", "industrialization"],
                "2024-09-10",
                "Điện mặt trời mái nhà được bán phần dư.",
                unit(5, 0.0),
                4,
            ),
        ]
    }

    fn digest(analyses: &[Analysis], opts: &Options) -> Digest {
        let model: Provenance = serde_json::from_value(json!({"model": "m", "source": "local",
            "repo": null, "revision": null, "commit": null, "weights_sha256": null,
            "dtype": "f32", "device": "cpu"}))
        .unwrap();
        build(
            "Bản tin",
            "in",
            analyses,
            &[],
            &Taxonomy::default_set(),
            &model,
            "test",
            opts,
        )
    }

    #[test]
    fn one_development_told_twice_is_one_bullet() {
        let d = digest(&corpus(), &Options::default());
        let s = &d.themes[0];
        assert_eq!((s.id.as_str(), s.count), ("industrialization", 3));
        // Newest first, numbered in page order.
        let ids: Vec<&str> = s.articles.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert_eq!(s.articles[0].number, 1);
        assert_eq!(d.themes[1].articles[0].number, 4);
        // a and b report the same thing: one bullet citing both; c is its own.
        assert_eq!(s.overview.len(), 2, "{:?}", s.overview);
        let cited: Vec<Vec<&str>> = s
            .overview
            .iter()
            .map(|o| o.sources.iter().map(|r| r.id.as_str()).collect())
            .collect();
        assert!(cited.contains(&vec!["b", "a"]), "{cited:?}");
        assert!(cited.contains(&vec!["c"]), "{cited:?}");
        // A theme with one article has no overview: its summary is right below.
        assert!(d.themes[1].overview.is_empty());
        let tr = d.trends.as_ref().expect("four weeks of articles");
        assert_eq!(
            tr.buckets,
            ["2024-09-02", "2024-09-09", "2024-09-16", "2024-09-23"]
        );
        assert_eq!(tr.series[0].counts, [1, 0, 1, 1]);
        let co = d.cooccurrence.as_ref().expect("d carries two themes");
        assert_eq!(co.counts[0][1], 1);
    }

    #[test]
    fn pages_in_both_languages_with_resolving_links() {
        for (lang, words) in [
            (
                Lang::Vi,
                ["lang=\"vi\"", "3 bài viết", "Tổng quan", "Mục lục"],
            ),
            (
                Lang::En,
                ["lang=\"en\"", "3 articles", "Overview", "Contents"],
            ),
        ] {
            let d = digest(
                &corpus(),
                &Options {
                    lang,
                    ..Options::default()
                },
            );
            let page = html(&d);
            for w in words {
                assert!(page.contains(w), "{lang:?}: {w} missing");
            }
            let md = markdown(&d);
            assert!(md.contains(words[1]) && md.contains(words[2]), "{md}");
            let ids: HashSet<&str> = page
                .split(" id=\"")
                .skip(1)
                .filter_map(|p| p.split('"').next())
                .collect();
            let hrefs: Vec<&str> = page
                .split("href=\"#")
                .skip(1)
                .filter_map(|p| p.split('"').next())
                .collect();
            assert!(hrefs.len() > 10);
            for h in hrefs {
                assert!(ids.contains(h), "#{h} points nowhere");
            }
            // The article tagged with a theme whose section exists links to it.
            assert!(page.contains("<a class=\"tag\" href=\"#t-industrialization\">"));
            for r in ["<script", "<style", "Content-Security-Policy"] {
                assert_eq!(page.matches(r).count(), 1, "{r}");
            }
        }
    }

    #[test]
    fn since_compares_with_the_period_before() {
        let all = corpus();
        let (cur, prev): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|a| a.result.date.as_deref() >= Some("2024-09-16"));
        let d = digest(
            &cur,
            &Options {
                since: Some("2024-09-16"),
                previous: &prev,
                ..Options::default()
            },
        );
        let c = d.comparison.as_ref().unwrap();
        // 16–25 September against the ten days before: 6–15 September.
        assert_eq!(c.period.until, "2024-09-25");
        assert_eq!(c.period.previous_from, "2024-09-06");
        let row = |id: &str| c.rows.iter().find(|r| r.id == id).unwrap();
        // a (2 September) is older than the previous period and not counted.
        assert_eq!(
            (
                row("industrialization").current,
                row("industrialization").previous
            ),
            (2, 0)
        );
        assert_eq!(
            (row("green-energy").current, row("green-energy").previous),
            (0, 1)
        );
        let page = html(&d);
        assert!(page.contains("Kỳ này so với kỳ trước") && page.contains(">mới<"));
    }
}
