//! Extractive summaries: sentence centrality against the article's representation, a position
//! prior (news puts the essentials first), similarity to the headline, and maximal marginal
//! relevance against redundancy. Sentences come out in their original order.
//!
//! Central is not always readable: the sentence that lists a dozen officials with their titles
//! is close to the centre of a conference report (it names everything the report is about),
//! and so are photo captions. Such sentences ([`Flaw`]) are penalised as summary material and
//! never chosen as a headline.

// The learned models index features, themes and weights in step: index loops read clearer
// than zipped iterators there.
#![allow(clippy::needless_range_loop)]

use crate::classify::dot;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Length {
    Sentences(usize),
    Words(usize),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Params {
    /// Weight of similarity to the article centroid.
    pub centrality: f32,
    /// Weight of the position prior 1/(1 + i)^decay, i = sentence index.
    pub position: f32,
    pub decay: f32,
    /// Weight of similarity to the headline.
    pub title: f32,
    /// MMR trade-off: 1 = relevance only.
    pub lambda: f32,
    /// Sentences shorter than this (in syllables) are never chosen.
    pub min_words: usize,
    /// Subtracted from the relevance of a sentence with a [`Flaw`] (rosters of names and
    /// titles, datelines, captions, quotes without their speaker).
    #[serde(default = "default_flaw")]
    pub flaw: f32,
    /// A learned relevance ([`Scorer`]) that replaces the hand-weighted sum above (the MMR
    /// trade-off, minimum length and eligibility rules still apply).
    #[serde(default)]
    pub scorer: Option<Scorer>,
}

fn default_flaw() -> f32 {
    Params::default().flaw
}

impl Default for Params {
    fn default() -> Self {
        Params {
            centrality: 1.0,
            position: 0.1,
            decay: 1.0,
            title: 0.3,
            lambda: 0.6,
            min_words: 8,
            flaw: 0.1,
            scorer: None,
        }
    }
}

/// One candidate sentence with its embedding.
pub struct Candidate<'a> {
    pub text: &'a str,
    pub vector: &'a [f32],
}

pub fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// A heading or a caption-like fragment: short and without final punctuation, or a numbered
/// section heading ("Phần 3: …", "Mục II. …").
pub fn is_fragment(s: &str) -> bool {
    let t = s.trim_end_matches(['"', '”', '’', ')', '»', ' ']);
    if !t.ends_with(['.', '!', '?', '…', ':', ';']) && words(s) < 25 {
        return true;
    }
    is_section_heading(s)
}

/// A numbered section heading: "Phần 3: …", "Mục II. …", "Chương 1. …".
pub fn is_section_heading(s: &str) -> bool {
    let mut w = s.split_whitespace();
    let (Some(first), Some(second)) = (w.next(), w.next()) else {
        return false;
    };
    let label = second.trim_end_matches([':', '.']);
    ["Phần", "Mục", "Chương", "PHẦN", "MỤC", "CHƯƠNG"].contains(&first)
        && second.len() > label.len()
        && !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_digit() || "IVXLC".contains(c))
}

/// Why a sentence is poor summary material on its own, central as it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flaw {
    /// Mostly people's names and titles: the officials who chaired or attended, a list of
    /// attendees.
    Roster,
    /// A dateline or publication stamp: place, weekday, date and time, little else.
    Dateline,
    /// A photo caption or credit ("Ảnh: …", "(Ảnh minh họa)", "Quang cảnh hội nghị …").
    Caption,
    /// A quotation whose speaker is not in the sentence: it opens with a quotation mark and
    /// either runs past the sentence or ends with it.
    UnattributedQuote,
}

/// The flaw of a sentence, if it has one. Each rule is stated at its function.
pub fn flaw(s: &str) -> Option<Flaw> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if is_caption(s) {
        Some(Flaw::Caption)
    } else if is_dateline(s) {
        Some(Flaw::Dateline)
    } else if is_roster(s) {
        Some(Flaw::Roster)
    } else if is_unattributed_quote(s) {
        Some(Flaw::UnattributedQuote)
    } else {
        None
    }
}

/// Lowercased, with the two spellings of the tone mark on "hoa" made one ("hoạ" = "họa").
fn folded(s: &str) -> String {
    s.to_lowercase().replace("hoạ", "họa")
}

/// "Ảnh:" (the colon matters: "Ảnh hưởng" is prose) anywhere, "Ảnh minh họa", "Nguồn ảnh",
/// "Ảnh chụp màn hình", or a short sentence opening as captions do ("Quang cảnh …",
/// "Toàn cảnh …") or about the souvenir photo.
fn is_caption(s: &str) -> bool {
    let f = folded(s);
    let credit = f.match_indices("ảnh").any(|(at, m)| {
        let before = f[..at].chars().next_back();
        let after = f[at + m.len()..].trim_start();
        let starts_word = before.is_none_or(|c| !c.is_alphanumeric());
        starts_word
            && (after.starts_with(':')
                || after.starts_with("minh họa")
                || after.starts_with("chụp màn hình")
                || after.starts_with("tư liệu"))
    });
    if credit || f.contains("nguồn ảnh") || f.contains("chụp ảnh lưu niệm") {
        return true;
    }
    words(s) < 25 && (f.starts_with("quang cảnh") || f.starts_with("toàn cảnh"))
}

fn is_date_or_time(w: &str) -> bool {
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    w.chars().any(|c| c.is_ascii_digit())
        && w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '/' | ':' | '-' | '.' | 'h'))
        && w.contains(['/', ':'])
}

/// A date or time with hardly anything else: once place names, weekdays and stamp words
/// ("ngày", "cập nhật", "GMT+7") are set aside, fewer than three words are left.
fn is_dateline(s: &str) -> bool {
    const STAMP: &[&str] = &[
        "thứ", "hai", "ba", "tư", "năm", "sáu", "bảy", "chủ", "nhật", "ngày", "lúc", "cập", "đăng",
        "giờ", "sáng", "chiều", "tối", "gmt", "gmt+7", "(gmt+7)", "tháng",
    ];
    let ws: Vec<&str> = s.split_whitespace().collect();
    if ws.len() > 20 || !ws.iter().any(|w| is_date_or_time(w)) {
        return false;
    }
    let rest = ws
        .iter()
        .filter(|w| {
            let bare = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
            !(bare.is_empty()
                || is_date_or_time(w)
                || bare.chars().all(|c| c.is_ascii_digit())
                || STAMP.contains(&bare.to_lowercase().as_str())
                || bare.chars().next().is_some_and(char::is_uppercase))
        })
        .count();
    rest < 3
}

/// Titles of office, matched on lowercased text at a word start.
const OFFICES: &[&str] = &[
    "ủy viên",
    "uỷ viên",
    "bí thư",
    "chủ tịch",
    "bộ trưởng",
    "thứ trưởng",
    "thủ tướng",
    "trưởng ban",
    "giám đốc",
    "viện trưởng",
    "cục trưởng",
    "vụ trưởng",
    "chủ nhiệm",
    "đại sứ",
    "tổng lãnh sự",
    "tỉnh ủy viên",
    "chánh văn phòng",
    "trưởng đoàn",
];

/// People, as news writes them before a name.
const PERSON: &[&str] = &["đồng chí", "ông", "bà"];

/// Phrases that announce who attended.
const ATTENDANCE: &[&str] = &[
    "tham dự",
    "dự hội nghị",
    "dự hội thảo",
    "dự diễn đàn",
    "dự buổi",
    "dự lễ",
    "cùng dự",
    "tới dự",
    "đến dự",
    "có sự tham dự",
    "có sự tham gia của",
    "chủ trì điểm cầu",
    "chủ trì tại điểm cầu",
];

/// Occurrences of `needle` in `hay` (both lowercased) that start and end at word boundaries.
fn count_words(hay: &str, needle: &str) -> usize {
    hay.match_indices(needle)
        .filter(|(at, m)| {
            let before = hay[..*at].chars().next_back();
            let after = hay[at + m.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric())
        })
        .count()
}

/// Share of the syllables after the first that begin with a capital: names, titles and
/// bodies ("Ủy viên Bộ Chính trị", "Phó Chủ tịch Ủy ban nhân dân tỉnh") are capitalised in
/// Vietnamese, ordinary prose is not.
fn capital_share(s: &str) -> f32 {
    let ws: Vec<&str> = s
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    if ws.is_empty() {
        return 0.0;
    }
    let caps = ws
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    caps as f32 / ws.len() as f32
}

/// Mostly names and titles. Either the sentence names several office holders (three or more
/// titles of office or people, at least half its syllables capitalised), or it announces
/// attendance and names at least two (with a third of its syllables capitalised), or it opens
/// with the attendance ("Tham dự có …", "Ngoài ra, tham dự … còn có …").
fn is_roster(s: &str) -> bool {
    let f = folded(s);
    let offices: usize = OFFICES.iter().map(|o| count_words(&f, o)).sum();
    let people: usize = PERSON
        .iter()
        // Only before a name: "bà con" and "ông bà" are not people named.
        .map(|p| person_before_name(s, p))
        .sum();
    let named = offices + people;
    let caps = capital_share(s);
    if named >= 3 && caps >= 0.5 {
        return true;
    }
    let attendance = ATTENDANCE.iter().any(|a| count_words(&f, a) > 0);
    // "Tham dự có …", "Ngoài ra, tham dự Hội thảo còn có …": at most two words before it.
    let opens = ATTENDANCE.iter().any(|a| {
        f.find(a)
            .is_some_and(|at| f[..at].split_whitespace().count() <= 2)
    });
    attendance && (opens || (named >= 2 && caps >= 0.3))
}

/// `marker` (lowercased) followed by a capitalised word in `s`.
fn person_before_name(s: &str, marker: &str) -> usize {
    let ws: Vec<&str> = s.split_whitespace().collect();
    let m: Vec<&str> = marker.split(' ').collect();
    (0..ws.len().saturating_sub(m.len()))
        .filter(|&i| {
            ws[i..i + m.len()]
                .iter()
                .zip(&m)
                .all(|(w, m)| w.to_lowercase() == *m)
                && ws[i + m.len()]
                    .chars()
                    .next()
                    .is_some_and(char::is_uppercase)
        })
        .count()
}

/// Opens with a quotation mark, and the quotation either runs on past the sentence (the
/// speaker comes sentences later, if at all) or closes with no more than punctuation after it.
/// `“…”, ông nói.` names its speaker and is fine.
fn is_unattributed_quote(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(open) = chars.next() else {
        return false;
    };
    let close = match open {
        '“' => '”',
        '"' => '"',
        '‘' => '’',
        '«' => '»',
        _ => return false,
    };
    let body = &s[open.len_utf8()..];
    match body.rfind(close) {
        None => true,
        Some(at) => {
            let after = &body[at + close.len_utf8()..];
            !after.chars().any(char::is_alphanumeric)
        }
    }
}

/// The headline for an article that came without one: the most central of its short sentences
/// (5 to 25 syllables) that is neither flawed ([`Flaw`]) nor a numbered section heading; when
/// it has none that short, the most central of those up to 40 syllables, then of its shortest
/// quarter. Never a sentence cut short. `None` for an article of flawed sentences only.
pub fn headline(cands: &[Candidate], centroid: &[f32]) -> Option<usize> {
    let usable: Vec<usize> = (0..cands.len())
        .filter(|&i| {
            let t = cands[i].text;
            !t.trim().is_empty() && flaw(t).is_none() && !is_section_heading(t)
        })
        .collect();
    let within = |max: usize| -> Vec<usize> {
        usable
            .iter()
            .copied()
            .filter(|&i| (5..=max).contains(&words(cands[i].text)))
            .collect()
    };
    let mut pool = within(25);
    if pool.is_empty() {
        pool = within(40);
    }
    if pool.is_empty() {
        let mut by_length = usable.clone();
        by_length.sort_by_key(|&i| words(cands[i].text));
        by_length.truncate(usable.len().div_ceil(4));
        pool = by_length;
    }
    pool.into_iter()
        .map(|i| (i, dot(cands[i].vector, centroid)))
        // Ties go to the earlier sentence.
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}

/// A sentence as a headline: headlines carry no full stop.
pub fn as_headline(sentence: &str) -> String {
    let t = sentence.trim();
    match t.strip_suffix('.') {
        Some(rest) if !rest.ends_with('.') => rest.trim_end().to_string(),
        _ => t.to_string(),
    }
}

/// Indices of the chosen sentences, in original order.
/// Names of the learned scorer's features, in order (see [`scorer_features`]).
pub const SCORER_FEATURES: [&str; N_FEATURES] = [
    "centrality",
    "title",
    "centrality_minus_best",
    "title_minus_best",
    "position",
    "rank",
    "first",
    "relative_rank",
    "log_words",
    "length_deviation",
    "flaw",
    "digits",
    "capitals",
    "quote",
];
pub const N_FEATURES: usize = 14;

/// A logistic sentence scorer: the log-odds that a sentence belongs in a reference-like
/// summary, over standardised features. Fitted by [`fit_scorer`] on labelled articles
/// (`bantin train`); plain arrays so that [`Params`] stays `Copy`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Scorer {
    pub mean: [f32; N_FEATURES],
    pub sd: [f32; N_FEATURES],
    pub weights: [f32; N_FEATURES],
    pub bias: f32,
}

impl Scorer {
    pub fn score(&self, x: &[f32; N_FEATURES]) -> f32 {
        let mut s = self.bias;
        for k in 0..N_FEATURES {
            s += self.weights[k] * (x[k] - self.mean[k]) / self.sd[k];
        }
        s
    }
}

/// The scorer's evidence for each sentence of `pool` (indices into `rows`, the eligible
/// sentences in order). Relative features (against the best sentence, rank among the
/// eligible) make articles of different lengths and topics comparable.
pub fn scorer_features(rows: &[CandidateRow], pool: &[usize]) -> Vec<[f32; N_FEATURES]> {
    let best = |f: fn(&CandidateRow) -> f32| {
        pool.iter()
            .map(|&i| f(&rows[i]))
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let (cmax, tmax) = (best(|r| r.centrality), best(|r| r.title));
    let n = pool.len().max(1) as f32;
    pool.iter()
        .enumerate()
        .map(|(rank, &i)| {
            let r = &rows[i];
            let w = r.words.max(1) as f32;
            let chars = r.text.chars().count().max(1) as f32;
            let digits = r.text.chars().filter(char::is_ascii_digit).count() as f32 / chars;
            let capitals = r
                .text
                .split_whitespace()
                .filter(|t| t.chars().next().is_some_and(char::is_uppercase))
                .count() as f32
                / w;
            let quote = r.text.contains(':') || r.text.contains('“') || r.text.contains('"');
            [
                r.centrality,
                r.title,
                r.centrality - cmax,
                r.title - tmax,
                1.0 / (1.0 + i as f32),
                1.0 / (1.0 + rank as f32),
                if rank == 0 { 1.0 } else { 0.0 },
                rank as f32 / n,
                w.ln(),
                (w - 30.0).powi(2) / 400.0,
                if r.flaw { 1.0 } else { 0.0 },
                digits * 10.0,
                capitals,
                if quote { 1.0 } else { 0.0 },
            ]
        })
        .collect()
}

/// The sentences [`select`] may choose from: long enough, not fragments (all of them when
/// none qualifies, so that a text of fragments still gets a summary).
pub fn pool(rows: &[CandidateRow], min_words: usize) -> Vec<usize> {
    let eligible: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].words >= min_words && rows[i].eligible)
        .collect();
    if eligible.is_empty() {
        (0..rows.len()).collect()
    } else {
        eligible
    }
}

/// One article's training material: features of its pool and 1/0 targets.
pub type ScorerExample = (Vec<[f32; N_FEATURES]>, Vec<f32>);

/// Targets for one article: the `k` sentences of `pool` whose own ROUGE-1 + ROUGE-2 against
/// the reference is highest (ties to the earlier). Scoring sentences one by one, not as the
/// oracle pair, gave the better scorer under cross-validation on dev (eval/README.md).
pub fn oracle_targets(
    rows: &[CandidateRow],
    pool: &[usize],
    reference: &str,
    k: usize,
) -> Vec<f32> {
    let scores: Vec<f64> = pool
        .iter()
        .map(|&i| {
            let r = crate::rouge::rouge(&rows[i].text, reference);
            r.r1 + r.r2
        })
        .collect();
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut y = vec![0f32; pool.len()];
    for &o in order.iter().take(k) {
        y[o] = 1.0;
    }
    y
}

/// Fits a [`Scorer`] by full-batch gradient descent on the logistic loss with L2 `l2` on the
/// weights (not the bias). Deterministic: no sampling, fixed step count.
pub fn fit_scorer(data: &[ScorerExample], l2: f32) -> Scorer {
    let rows: Vec<(&[f32; N_FEATURES], f32)> = data
        .iter()
        .flat_map(|(x, y)| x.iter().zip(y.iter().copied()))
        .collect();
    let m = rows.len().max(1) as f32;
    let mut mean = [0f32; N_FEATURES];
    let mut sd = [0f32; N_FEATURES];
    for (x, _) in &rows {
        for k in 0..N_FEATURES {
            mean[k] += x[k] / m;
        }
    }
    for (x, _) in &rows {
        for k in 0..N_FEATURES {
            sd[k] += (x[k] - mean[k]).powi(2) / m;
        }
    }
    for v in sd.iter_mut() {
        // A constant feature (every sentence the same) must not divide by zero.
        *v = v.sqrt().max(1e-3);
    }
    let mut s = Scorer {
        mean,
        sd,
        weights: [0.0; N_FEATURES],
        bias: 0.0,
    };
    let z: Vec<([f32; N_FEATURES], f32)> = rows
        .iter()
        .map(|(x, y)| {
            let mut zx = [0f32; N_FEATURES];
            for k in 0..N_FEATURES {
                zx[k] = (x[k] - mean[k]) / sd[k];
            }
            (zx, *y)
        })
        .collect();
    for _ in 0..2000 {
        let mut g = [0f32; N_FEATURES];
        let mut gb = 0f32;
        for (x, y) in &z {
            let mut t = s.bias;
            for k in 0..N_FEATURES {
                t += s.weights[k] * x[k];
            }
            let e = 1.0 / (1.0 + (-t).exp()) - y;
            for k in 0..N_FEATURES {
                g[k] += e * x[k];
            }
            gb += e;
        }
        for k in 0..N_FEATURES {
            s.weights[k] -= 0.5 * (g[k] / m + l2 * s.weights[k]);
        }
        s.bias -= 0.5 * gb / m;
    }
    s
}

/// Cross-validated ROUGE of the scorer at one regularisation strength.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScorerCvPoint {
    pub l2: f32,
    pub rouge1: f32,
    pub rouge2: f32,
}

/// Fits a scorer on articles (their sentences as [`candidate_rows`] and a reference summary),
/// choosing L2 by 5-fold cross-validation (articles dealt to folds in turn) on the mean
/// ROUGE-1 + ROUGE-2 of the top `k` sentences by score. `None` with no usable article.
pub fn train_scorer(
    articles: &[(Vec<CandidateRow>, String)],
    k: usize,
    min_words: usize,
) -> Option<(Scorer, Vec<ScorerCvPoint>)> {
    const GRID: [f32; 4] = [0.0001, 0.001, 0.01, 0.1];
    const FOLDS: usize = 5;
    let prepared: Vec<(Vec<usize>, ScorerExample, &str, &[CandidateRow])> = articles
        .iter()
        .filter(|(rows, reference)| !rows.is_empty() && !reference.trim().is_empty())
        .map(|(rows, reference)| {
            let pool = pool(rows, min_words);
            let x = scorer_features(rows, &pool);
            let y = oracle_targets(rows, &pool, reference, k);
            (pool, (x, y), reference.as_str(), rows.as_slice())
        })
        .collect();
    if prepared.is_empty() {
        return None;
    }
    let mut cv = Vec::new();
    if prepared.len() >= 2 * FOLDS {
        for &l2 in &GRID {
            let (mut r1, mut r2) = (0f64, 0f64);
            for fold in 0..FOLDS {
                let train: Vec<ScorerExample> = prepared
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % FOLDS != fold)
                    .map(|(_, p)| p.1.clone())
                    .collect();
                let scorer = fit_scorer(&train, l2);
                for (pool, (x, _), reference, rows) in prepared.iter().skip(fold).step_by(FOLDS) {
                    let scores: Vec<f32> = x.iter().map(|x| scorer.score(x)).collect();
                    let mut order: Vec<usize> = (0..pool.len()).collect();
                    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
                    let mut picked: Vec<usize> =
                        order.into_iter().take(k).map(|o| pool[o]).collect();
                    picked.sort_unstable();
                    let text: Vec<&str> = picked.iter().map(|&i| rows[i].text.as_str()).collect();
                    let r = crate::rouge::rouge(&text.join(" "), reference);
                    r1 += r.r1;
                    r2 += r.r2;
                }
            }
            let n = prepared.len() as f64;
            cv.push(ScorerCvPoint {
                l2,
                rouge1: (r1 / n) as f32,
                rouge2: (r2 / n) as f32,
            });
        }
    }
    let best = cv
        .iter()
        .max_by(|a, b| {
            (a.rouge1 + a.rouge2)
                .total_cmp(&(b.rouge1 + b.rouge2))
                .then(a.l2.total_cmp(&b.l2))
        })
        .map(|p| p.l2)
        .unwrap_or(0.01);
    let all: Vec<ScorerExample> = prepared.into_iter().map(|p| p.1).collect();
    Some((fit_scorer(&all, best), cv))
}

/// One sentence as the scorer sees it: the raw evidence [`select`] weighs.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateRow {
    pub text: String,
    pub index: usize,
    pub words: usize,
    /// Cosine to the article's centroid.
    pub centrality: f32,
    /// Cosine to the headline (0 without one).
    pub title: f32,
    pub eligible: bool,
    pub flaw: bool,
}

pub fn candidate_rows(
    cands: &[Candidate],
    centroid: &[f32],
    title: Option<&[f32]>,
) -> Vec<CandidateRow> {
    cands
        .iter()
        .enumerate()
        .map(|(i, c)| CandidateRow {
            text: c.text.to_string(),
            index: i,
            words: words(c.text),
            centrality: dot(c.vector, centroid),
            title: title.map(|t| dot(c.vector, t)).unwrap_or(0.0),
            eligible: words(c.text) > 0 && !is_fragment(c.text),
            flaw: flaw(c.text).is_some(),
        })
        .collect()
}

pub fn select(
    cands: &[Candidate],
    centroid: &[f32],
    title: Option<&[f32]>,
    length: Length,
    p: &Params,
) -> Vec<usize> {
    let rows = candidate_rows(cands, centroid, title);
    let pool = pool(&rows, p.min_words);
    let mut relevance = vec![f32::NEG_INFINITY; cands.len()];
    match &p.scorer {
        Some(scorer) => {
            // Log-odds are unbounded; squashed to a probability they trade off against the
            // redundancy (a cosine) on the same scale as the hand-weighted relevance did.
            for (&i, x) in pool.iter().zip(scorer_features(&rows, &pool)) {
                relevance[i] = 1.0 / (1.0 + (-scorer.score(&x)).exp());
            }
        }
        None => {
            for &i in &pool {
                let r = &rows[i];
                let pos = 1.0 / (1.0 + i as f32).powf(p.decay);
                let flawed = if r.flaw { p.flaw } else { 0.0 };
                relevance[i] =
                    p.centrality * r.centrality + p.title * r.title + p.position * pos - flawed;
            }
        }
    }
    let mut chosen: Vec<usize> = Vec::new();
    let mut used_words = 0;
    loop {
        let done = match length {
            Length::Sentences(n) => chosen.len() >= n,
            Length::Words(n) => used_words >= n,
        };
        if done {
            break;
        }
        let best = pool
            .iter()
            .filter(|i| !chosen.contains(i))
            .map(|&i| {
                let redundancy = chosen
                    .iter()
                    .map(|&j| dot(cands[i].vector, cands[j].vector))
                    .fold(0f32, f32::max);
                (i, p.lambda * relevance[i] - (1.0 - p.lambda) * redundancy)
            })
            // Ties go to the earlier sentence.
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((i, _)) = best else { break };
        if let Length::Words(n) = length {
            // Never overshoot a word budget by more than half a sentence, unless nothing fits.
            if !chosen.is_empty()
                && used_words + words(cands[i].text) > n + words(cands[i].text) / 2
            {
                break;
            }
        }
        used_words += words(cands[i].text);
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str, index: usize) -> CandidateRow {
        CandidateRow {
            text: text.to_string(),
            index,
            words: words(text),
            centrality: 0.5,
            title: 0.0,
            eligible: true,
            flaw: false,
        }
    }

    #[test]
    fn oracle_targets_are_the_sentences_closest_to_the_reference() {
        let rows = vec![row("x y z w", 0), row("a b c d", 1), row("a b x y", 2)];
        let pool = [0, 1, 2];
        // ROUGE-1+2 against "a b c d": 0, 100+100, 50+33.3: the exact copy, then the half.
        assert_eq!(
            oracle_targets(&rows, &pool, "a b c d", 2),
            vec![0.0, 1.0, 1.0]
        );
        assert_eq!(
            oracle_targets(&rows, &pool, "a b c d", 1),
            vec![0.0, 1.0, 0.0]
        );
    }

    #[test]
    fn fitted_scorer_learns_which_feature_predicts_the_target() {
        // Target 1 exactly when the sentence carries figures (feature "digits"); every other
        // feature is noise-free but uninformative.
        let mut data = Vec::new();
        for a in 0..20 {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for i in 0..6 {
                let mut f = [0f32; N_FEATURES];
                f[4] = 1.0 / (1.0 + i as f32);
                f[11] = if (i + a) % 3 == 0 { 2.0 } else { 0.1 };
                y.push(if f[11] > 1.0 { 1.0 } else { 0.0 });
                x.push(f);
            }
            data.push((x, y));
        }
        let s = fit_scorer(&data, 0.001);
        let digits = SCORER_FEATURES.iter().position(|n| *n == "digits").unwrap();
        assert_eq!(digits, 11);
        assert!(s.weights[11] > 1.0, "{:?}", s.weights);
        let (mut hi, mut lo) = ([0f32; N_FEATURES], [0f32; N_FEATURES]);
        hi[11] = 2.0;
        lo[11] = 0.1;
        assert!(s.score(&hi) > 0.0 && s.score(&lo) < 0.0);
    }

    #[test]
    fn select_follows_a_learned_scorer() {
        let v = |i: usize| {
            let mut x = vec![0f32; 4];
            x[i] = 1.0;
            x
        };
        let vs: Vec<Vec<f32>> = (0..3).map(v).collect();
        let texts = [
            "Câu thứ nhất nói về kế hoạch phát triển công nghiệp của tỉnh trong năm nay.",
            "Câu thứ hai nói về vốn đầu tư nước ngoài vào các khu công nghiệp lớn.",
            "Câu thứ ba nêu con số 25,5% tăng trưởng xuất khẩu trong sáu tháng đầu năm.",
        ];
        let cands: Vec<Candidate> = texts
            .iter()
            .zip(&vs)
            .map(|(t, v)| Candidate { text: t, vector: v })
            .collect();
        let centroid = v(0);
        let one = Length::Sentences(1);
        // By hand weights the first sentence is the central one.
        assert_eq!(
            select(&cands, &centroid, None, one, &Params::default()),
            vec![0]
        );
        // A scorer that only values figures picks the sentence with one.
        let mut weights = [0f32; N_FEATURES];
        weights[11] = 3.0;
        let p = Params {
            scorer: Some(Scorer {
                mean: [0.0; N_FEATURES],
                sd: [1.0; N_FEATURES],
                weights,
                bias: 0.0,
            }),
            ..Params::default()
        };
        assert_eq!(select(&cands, &centroid, None, one, &p), vec![2]);
    }

    #[test]
    fn train_scorer_cross_validates_and_finds_the_reference_sentence() {
        // Twelve articles whose reference restates the sentence with figures.
        let articles: Vec<(Vec<CandidateRow>, String)> = (0..12)
            .map(|a| {
                let k = a % 4;
                let rows: Vec<CandidateRow> = (0..4)
                    .map(|i| {
                        let text = if i == k {
                            format!("Kim ngạch xuất khẩu tăng {a},{i}% so với cùng kỳ năm trước theo báo cáo mới")
                        } else {
                            format!("Hội nghị {i} bàn nhiều nội dung khác nhau về công tác chung của ngành trong năm")
                        };
                        row(&text, i)
                    })
                    .collect();
                let reference = rows[k].text.clone();
                (rows, reference)
            })
            .collect();
        let (scorer, cv) = train_scorer(&articles, 1, 8).expect("usable articles");
        assert_eq!(cv.len(), 4);
        // Cross-validated: held-out articles get their figure sentence, so ROUGE-1 is high.
        assert!(cv.iter().any(|p| p.rouge1 > 90.0), "{cv:?}");
        let pool = pool(&articles[0].0, 8);
        let x = scorer_features(&articles[0].0, &pool);
        let best = (0..x.len())
            .max_by(|&a, &b| scorer.score(&x[a]).total_cmp(&scorer.score(&x[b])))
            .unwrap();
        assert_eq!(best, 0);
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn picks_central_sentences_avoids_duplicates_keeps_order() {
        let long = "một hai ba bốn năm sáu bảy tám chín mười mười một.";
        let v = [
            unit(&[1.0, 0.1, 0.0]), // 0: central
            unit(&[1.0, 0.1, 0.0]), // 1: duplicate of 0
            unit(&[0.0, 1.0, 0.0]), // 2: off-topic
            unit(&[0.8, 0.0, 0.6]), // 3: central-ish, different
        ];
        let cands: Vec<Candidate> = v
            .iter()
            .map(|x| Candidate {
                text: long,
                vector: x,
            })
            .collect();
        let centroid = unit(&[1.0, 0.0, 0.2]);
        let p = Params {
            position: 0.0,
            title: 0.0,
            lambda: 0.5,
            ..Params::default()
        };
        let got = select(&cands, &centroid, None, Length::Sentences(2), &p);
        assert_eq!(got, vec![0, 3]);
    }

    #[test]
    fn skips_headings_and_short_fragments() {
        let v = unit(&[1.0, 0.0]);
        let cands = vec![
            Candidate {
                text: "Tin liên quan",
                vector: &v,
            },
            Candidate {
                text: "Bộ Công Thương công bố kế hoạch phát triển công nghiệp hỗ trợ đến năm 2030.",
                vector: &v,
            },
        ];
        let got = select(&cands, &v, None, Length::Sentences(1), &Params::default());
        assert_eq!(got, vec![1]);
        assert!(is_fragment(
            "Kết hợp hài hoà giữa công nghiệp hoá và phát triển đô thị"
        ));
        assert!(!is_fragment("Ông nói: “Đây là bước đi quan trọng.”"));
        assert!(is_fragment("Phần 3: Quan điểm, định hướng và cơ chế, chính sách phát triển các ngành công nghiệp mới."));
        assert!(!is_fragment(
            "Phần lớn doanh nghiệp cho biết chi phí logistics tăng mạnh trong năm nay."
        ));
    }

    #[test]
    fn word_budget() {
        let v = unit(&[1.0, 0.0]);
        let s = "a b c d e f g h i j."; // 10 words
        let cands: Vec<Candidate> = (0..5)
            .map(|_| Candidate {
                text: s,
                vector: &v,
            })
            .collect();
        let p = Params {
            min_words: 1,
            lambda: 1.0,
            ..Params::default()
        };
        assert_eq!(select(&cands, &v, None, Length::Words(20), &p).len(), 2);
    }

    // Sentences from corpus/seeds (and two from eval/dev.jsonl), flaws checked by hand.
    const ROSTER_001: &str = "Chủ trì điểm cầu chính có đồng chí Phạm Minh Chính, Ủy viên Bộ Chính trị, Thủ tướng Chính phủ; đồng chí Trần Anh Tuấn, Ủy viên Bộ Chính trị, Trưởng Ban Kinh tế Trung ương; đồng chí Nguyễn Xuân Thắng, Ủy viên Bộ Chính trị, Chủ tịch Hội đồng Lý luận Trung ương, Giám đốc Học viện Chính trị Quốc gia Hồ Chí Minh.";
    const LEAD_001: &str = "Sáng ngày 06/12/2021, Ban Kinh tế Trung ương chủ trì, phối hợp với các bộ, ngành Trung ương và cơ quan liên quan tổ chức Phiên toàn thể Diễn đàn cấp cao và triển lãm quốc tế về Công nghiệp 4.0 - Industry Summit 4.0, với chủ đề “Phục hồi và phát triển kinh tế - xã hội bền vững thời kỳ hậu COVID-19 và đẩy mạnh công nghiệp hóa, hiện đại hóa trong kỷ nguyên số” (theo hình thức trực tiếp và trực tuyến).";
    const SPEECH_001: &str = "Phát biểu tại Diễn đàn, đồng chí Phạm Minh Chính, Ủy viên Bộ Chính trị, Thủ tướng Chính phủ nhấn mạnh: Trong thực hiện các biện pháp phòng, chống dịch COVID-19 không thể thiếu lĩnh vực công nghệ, đây là lĩnh vực góp phần thực hiện các nhiệm vụ trong thời gian ngắn nhất.";

    #[test]
    fn rosters_of_officials_and_attendees() {
        for s in [
            ROSTER_001,
            "Chủ trì tại điểm cầu tỉnh Cà Mau có đồng chí Phạm Thành Ngại, Phó Bí thư Thường trực Tỉnh ủy; đồng chí Lê Văn Sử, Tỉnh ủy viên, Phó Chủ tịch Ủy ban nhân dân tỉnh và lãnh đạo một số lãnh đạo các sở, ngành tham dự.",
            "Ủy viên Bộ Chính trị, Trưởng ban Kinh tế Trung ương Trần Tuấn Anh, Trưởng Ban chỉ đạo; Bộ trưởng Bộ Công Thương Nguyễn Hồng Diên, Phó Trưởng ban Thường trực Ban chỉ đạo, đại diện lãnh đạo một số ban, bộ, ngành Trung ương, thành viên Ban chỉ đạo, Tổ biên tập... tham dự buổi làm việc.",
            "Ngoài ra, tham dự Hội thảo còn có các chuyên gia,\u{a0}lãnh đạo các Phòng, Ban thuộc Viện, các nhà khoa học và đông đảo viên chức quan tâm.",
        ] {
            assert_eq!(flaw(s), Some(Flaw::Roster), "{s}");
        }
        // The lead names the organiser and the event; the speech names one official and then
        // says what he said; the forum's size is not a list of who came.
        for s in [
            LEAD_001,
            SPEECH_001,
            "Hội thảo đã nhận được những góp ý của các chuyên gia, các nhà khoa học và các đại biểu tới dự.",
            "Phiên toàn thể với khoảng 100 - 150 đại biểu tham dự trực tiếp tại điểm cầu chính.",
        ] {
            assert_eq!(flaw(s), None, "{s}");
        }
    }

    #[test]
    fn captions_datelines_and_unattributed_quotes() {
        for s in [
            "Ảnh: Đại biểu dự Hội nghị tại điểm cầu tỉnh Cà Mau",
            "Ảnh minh hoạ",
            "Ảnh: Hệ thống điện mặt trời trên mái nhà xưởng tại một khu công nghiệp ở Bình Dương (ảnh minh họa: Minh Khang).",
            "Quang cảnh hội nghị sơ kết tại Hà Nội.",
        ] {
            assert_eq!(flaw(s), Some(Flaw::Caption), "{s}");
        }
        // "ảnh hưởng" is prose.
        assert_eq!(flaw("Ngân hàng Nhà nước cho phép các tổ chức tín dụng cơ cấu lại thời hạn trả nợ, miễn, giảm lãi cho khách hàng bị ảnh hưởng bởi bão lũ."), None);
        for s in [
            "Hà Nội, Thứ Sáu Ngày 22/11/2024",
            "vietq 16:14 19/06/2023",
            "Cập nhật lúc 08:15 ngày 02/04/2024.",
        ] {
            assert_eq!(flaw(s), Some(Flaw::Dateline), "{s}");
        }
        // Opens with its quotation, which runs on into the next sentence: no speaker here.
        assert_eq!(
            flaw("“Nghị quyết 29 đã xác định mô hình công nghiệp hóa, hiện đại hóa của Việt Nam là mô hình dựa trên nền tảng của khoa học, công nghệ và đổi mới sáng tạo."),
            Some(Flaw::UnattributedQuote)
        );
        assert_eq!(
            flaw("\"Đây không phải món quà miễn phí."),
            Some(Flaw::UnattributedQuote)
        );
        // The speaker follows the quotation; a quoted name inside a sentence is no quote.
        assert_eq!(flaw("“Con tôi học cấp hai, tiền học cũng đóng qua ứng dụng, nhà trường gửi thông báo điểm cũng qua đây luôn”, chị nói."), None);
        assert_eq!(flaw("Phiên toàn thể năm nay có chủ đề “Thúc đẩy chuyển đổi số, chuyển đổi xanh tạo đột phá rút ngắn quá trình công nghiệp hóa, hiện đại hóa đất nước đến năm 2030, tầm nhìn đến năm 2045”, nhằm góp phần đưa Nghị quyết 29-NQ/TW của Ban Chấp hành Trung ương vào cuộc sống."), None);
    }

    #[test]
    fn a_central_roster_loses_to_the_lead() {
        // As in seed 001, the roster is the most central sentence by its vector alone.
        let roster = unit(&[1.0, 0.0, 0.0]);
        let lead = unit(&[0.95, 0.3, 0.0]);
        let other = unit(&[0.2, 1.0, 0.0]);
        let cands = vec![
            Candidate {
                text: LEAD_001,
                vector: &lead,
            },
            Candidate {
                text: ROSTER_001,
                vector: &roster,
            },
            Candidate {
                text: SPEECH_001,
                vector: &other,
            },
        ];
        let centroid = unit(&[1.0, 0.05, 0.0]);
        let p = Params {
            position: 0.0,
            title: 0.0,
            ..Params::default()
        };
        let one = Length::Sentences(1);
        assert_eq!(select(&cands, &centroid, None, one, &p), vec![0]);
        let unpenalised = Params { flaw: 0.0, ..p };
        assert_eq!(select(&cands, &centroid, None, one, &unpenalised), vec![1]);
    }

    #[test]
    fn headlines_are_central_short_and_whole() {
        // Seed 004's numbered section heading and seed 001's roster are never the headline, and
        // a short sentence beats longer, more central ones.
        let heading = "Phần 3: Quan điểm, định hướng và cơ chế, chính sách phát triển các ngành công nghiệp mới cho vùng đồng bằng Sông Hồng";
        let short = "Hội thảo đã nhận được những góp ý của các chuyên gia, các nhà khoa học và các đại biểu tới dự.";
        let (a, b, c) = (unit(&[1.0, 0.0]), unit(&[0.99, 0.1]), unit(&[0.9, 0.4]));
        let cand = |text, vector| Candidate { text, vector };
        let cands = vec![
            cand(heading, &a),
            cand(ROSTER_001, &b),
            cand(LEAD_001, &b),
            cand(short, &c),
        ];
        let centroid = unit(&[1.0, 0.0]);
        assert_eq!(headline(&cands, &centroid), Some(3));
        assert_eq!(
            as_headline(short),
            "Hội thảo đã nhận được những góp ý của các chuyên gia, các nhà khoa học và các đại biểu tới dự"
        );
        assert_eq!(
            as_headline("Vì sao tỷ trọng công nghiệp giảm?"),
            "Vì sao tỷ trọng công nghiệp giảm?"
        );
        assert_eq!(
            as_headline("Kinh tế tăng trưởng..."),
            "Kinh tế tăng trưởng..."
        );
        // Only long sentences: the most central of the shortest, whole.
        let cands = vec![cand(LEAD_001, &a), cand(SPEECH_001, &c)];
        assert_eq!(headline(&cands, &centroid), Some(1));
        // Nothing usable.
        assert_eq!(headline(&[cand(ROSTER_001, &a)], &centroid), None);
    }
}
