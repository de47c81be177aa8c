//! Faithfulness of a generated summary to its article. For policy news the costly failure of a
//! small model is not a clumsy sentence but a number, date, document code or name that the
//! article never gave. Every such span of the summary is looked up in the article after NFC and
//! number-format normalisation; the ones that are not there are returned, with their kind.
//!
//! The look-up is deliberately lenient where Vietnamese writing varies (`25,35` = `25.35`,
//! `1.000` = `1000`, `tháng 7/2025` = `7/2025`, `6,7 %` = `6,7%`, `ba` = `3`, a month named in a
//! full date supports the month): a span is unsupported only when no reading of it occurs.
//! It cannot see a true number put in the wrong place (a GDP figure given to productivity).

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpanKind {
    Number,
    Percent,
    /// A number with a scale or currency word: `15 tỷ đồng`, `2 triệu USD`.
    Amount,
    Date,
    /// `29-NQ/TW`, `57/2025/NĐ-CP`, `128/NQ-TW`.
    DocumentCode,
    /// Capitalised multi-syllable names (`Bộ Công Thương`, `Nguyễn Hồng Diên`) and acronyms.
    Name,
}

impl SpanKind {
    pub const ALL: [SpanKind; 6] = [
        SpanKind::Number,
        SpanKind::Percent,
        SpanKind::Amount,
        SpanKind::Date,
        SpanKind::DocumentCode,
        SpanKind::Name,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SpanKind::Number => "number",
            SpanKind::Percent => "percent",
            SpanKind::Amount => "amount",
            SpanKind::Date => "date",
            SpanKind::DocumentCode => "document-code",
            SpanKind::Name => "name",
        }
    }
}

/// One fact-like span of a summary, as written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub text: String,
    pub kind: SpanKind,
}

#[derive(Debug, Clone, PartialEq)]
enum Fact {
    /// Every reading of the number (canonical decimal strings) and its scale word, if any.
    Number {
        values: Vec<String>,
        scale: Option<&'static str>,
    },
    Date {
        d: Option<u32>,
        m: Option<u32>,
        y: Option<u32>,
    },
    Code(String),
    /// Lower-cased syllables. `initial`: the first one is capitalised because it opens a
    /// sentence, so the name may start at the second.
    Name {
        words: Vec<String>,
        initial: bool,
    },
}

#[derive(Debug, Clone)]
struct Found {
    span: Span,
    fact: Fact,
}

/// A whitespace-separated word with its surrounding punctuation removed.
#[derive(Debug, Clone)]
struct Word {
    core: String,
    lower: String,
    /// Punctuation before it (an opening quote or bracket): a new name run starts here.
    opens: bool,
    /// Punctuation after it: a name run ends here.
    closes: bool,
    /// A sentence ends after it (`.`, `!`, `?`, `:`, `…`).
    ends_sentence: bool,
}

const LEADING: &[char] = &['(', '[', '{', '“', '"', '\'', '‘', '«', '„', '*'];
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', ')', ']', '}', '”', '"', '\'', '’', '»', '…', '*',
];

fn words(text: &str) -> Vec<Word> {
    let text: String = text.nfc().collect();
    text.split_whitespace()
        .filter_map(|raw| {
            let lead = raw.trim_start_matches(LEADING);
            let core = lead.trim_end_matches(TRAILING);
            let tail = &lead[core.len()..];
            if core.is_empty() {
                return None;
            }
            Some(Word {
                core: core.to_string(),
                lower: core.to_lowercase(),
                opens: lead.len() != raw.len(),
                closes: !tail.is_empty(),
                ends_sentence: tail.contains(['.', '!', '?', ':', '…']),
            })
        })
        .collect()
}

/// Canonical decimal: no leading zeros in the integer part, no trailing zeros in the fraction.
fn canonical(int: &str, frac: &str) -> String {
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

/// One reading of a number with the given separators; `None` when it does not fit them.
fn parse_with(s: &str, thousands: char, decimal: char) -> Option<String> {
    let (int, frac) = match s.split_once(decimal) {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.contains([thousands, decimal]) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let groups: Vec<&str> = int.split(thousands).collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    if s.ends_with(decimal) {
        return None;
    }
    Some(canonical(&groups.concat(), frac))
}

/// Every reading of a written number: Vietnamese (`1.000,5`) and English (`1,000.5`) style.
/// `None` when neither fits (then the caller checks its digit runs one by one).
fn number_values(s: &str) -> Option<Vec<String>> {
    let s = s.trim_start_matches(['+', '-', '−', '~', '≈']);
    if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut v: Vec<String> = [parse_with(s, '.', ','), parse_with(s, ',', '.')]
        .into_iter()
        .flatten()
        .collect();
    v.dedup();
    (!v.is_empty()).then_some(v)
}

fn digit_runs(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .map(|r| canonical(r, ""))
        .collect()
}

const SCALES: &[(&str, &str)] = &[
    ("tỷ", "tỷ"),
    ("tỉ", "tỷ"),
    ("triệu", "triệu"),
    ("nghìn", "nghìn"),
    ("ngàn", "nghìn"),
];
const CURRENCIES: &[&str] = &[
    "usd", "đồng", "vnđ", "vnd", "đô", "eur", "euro", "yên", "tấn", "ha", "km", "mw", "kwh",
];
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("một", "1"),
    ("hai", "2"),
    ("ba", "3"),
    ("bốn", "4"),
    ("tư", "4"),
    ("năm", "5"),
    ("sáu", "6"),
    ("bảy", "7"),
    ("tám", "8"),
    ("chín", "9"),
    ("mười", "10"),
];

fn scale_of(w: Option<&Word>) -> Option<&'static str> {
    let w = w?;
    SCALES
        .iter()
        .find(|(k, _)| *k == w.lower)
        .map(|(_, canon)| *canon)
}

fn small(w: Option<&Word>) -> Option<u32> {
    let w = w?;
    if w.core.len() > 4 || !w.core.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    w.core.parse().ok()
}

/// `d/m/yyyy`, `d/m`, `m/yyyy` (also with `-` or `.`): `None` when it is not a valid date.
fn slash_date(s: &str) -> Option<(Option<u32>, Option<u32>, Option<u32>)> {
    let sep = ['/', '-', '.'].into_iter().find(|c| s.contains(*c))?;
    let parts: Vec<&str> = s.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 4 || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
    let day = |d: u32| (1..=31).contains(&d);
    let month = |m: u32| (1..=12).contains(&m);
    let year = |p: &str, y: u32| p.len() == 4 && (1900..=2100).contains(&y);
    match n.as_slice() {
        [d, m, y] if day(*d) && month(*m) && year(parts[2], *y) && parts[0].len() <= 2 => {
            Some((Some(*d), Some(*m), Some(*y)))
        }
        [m, y] if month(*m) && year(parts[1], *y) && parts[0].len() <= 2 => {
            Some((None, Some(*m), Some(*y)))
        }
        // `-` and `.` between two short numbers are ranges and decimals, not dates.
        [d, m]
            if sep == '/' && day(*d) && month(*m) && parts[0].len() <= 2 && parts[1].len() <= 2 =>
        {
            Some((Some(*d), Some(*m), None))
        }
        _ => None,
    }
}

/// The number part of a word: up to a slash that is followed by a letter.
fn numeric_head(core: &str) -> &str {
    let b: Vec<(usize, char)> = core.char_indices().collect();
    for k in 0..b.len().saturating_sub(1) {
        if b[k].1 == '/' && b[k + 1].1.is_alphabetic() {
            return &core[..b[k].0];
        }
    }
    core
}

fn is_code(core: &str) -> bool {
    let upper = core.chars().any(|c| c.is_uppercase());
    let digit = core.chars().any(|c| c.is_ascii_digit());
    upper && (digit || core.contains('/'))
}

fn code_key(s: &str) -> String {
    s.to_uppercase().replace('Đ', "D")
}

fn capitalised(w: &Word) -> bool {
    w.core.chars().next().is_some_and(|c| c.is_uppercase())
        && w.core
            .chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '.')
}

fn acronym(w: &Word) -> bool {
    w.core.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && w.core
            .chars()
            .all(|c| c.is_uppercase() || c == '.' || c == '-')
}

/// Every fact-like span of `text`, in order.
fn facts(text: &str) -> Vec<Found> {
    let ws = words(text);
    let mut out = Vec::new();
    let mut i = 0;
    // Name runs are collected on the side: they interleave with nothing numeric.
    let mut run: Vec<usize> = Vec::new();
    let flush = |run: &mut Vec<usize>, out: &mut Vec<Found>, ws: &[Word]| {
        if run.is_empty() {
            return;
        }
        let first = run[0];
        let initial = first == 0 || ws[first - 1].ends_sentence || ws[first].opens;
        let named = if initial { run.len() - 1 } else { run.len() };
        if named >= 2 || (run.len() == 1 && acronym(&ws[first])) {
            out.push(Found {
                span: Span {
                    text: run
                        .iter()
                        .map(|&k| ws[k].core.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    kind: SpanKind::Name,
                },
                fact: Fact::Name {
                    words: run.iter().map(|&k| ws[k].lower.clone()).collect(),
                    initial: initial && run.len() > 1,
                },
            });
        }
        run.clear();
    };
    while i < ws.len() {
        let w = &ws[i];
        let has_digit = w.core.chars().any(|c| c.is_ascii_digit());
        if !has_digit && !is_code(&w.core) && capitalised(w) {
            if w.opens && !run.is_empty() {
                flush(&mut run, &mut out, &ws);
            }
            run.push(i);
            if w.closes {
                flush(&mut run, &mut out, &ws);
            }
            i += 1;
            continue;
        }
        flush(&mut run, &mut out, &ws);
        if is_code(&w.core) {
            out.push(Found {
                span: Span {
                    text: w.core.clone(),
                    kind: SpanKind::DocumentCode,
                },
                fact: Fact::Code(code_key(&w.core)),
            });
            i += 1;
            continue;
        }
        if !has_digit {
            // Long-form dates: "ngày 30 tháng 9 năm 2024", "tháng 9 năm 2024", "tháng 9/2024".
            let next = |k: usize| ws.get(i + k);
            let word_is = |k: usize, s: &str| next(k).is_some_and(|x| x.lower == s);
            let year = |k: usize| small(next(k)).filter(|y| (1900..=2100).contains(y));
            let date = if w.lower == "ngày" && word_is(2, "tháng") {
                match (small(next(1)), small(next(3))) {
                    (Some(d), Some(m)) if (1..=31).contains(&d) && (1..=12).contains(&m) => {
                        match (word_is(4, "năm"), year(5)) {
                            (true, Some(y)) => Some((Some(d), Some(m), Some(y), 6)),
                            _ => Some((Some(d), Some(m), None, 4)),
                        }
                    }
                    _ => None,
                }
            } else if w.lower == "tháng" && word_is(2, "năm") {
                match (small(next(1)), year(3)) {
                    (Some(m), Some(y)) if (1..=12).contains(&m) => {
                        Some((None, Some(m), Some(y), 4))
                    }
                    _ => None,
                }
            } else {
                None
            };
            if let Some((d, m, y, used)) = date {
                let text = ws[i..i + used]
                    .iter()
                    .map(|x| x.core.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                out.push(Found {
                    span: Span {
                        text,
                        kind: SpanKind::Date,
                    },
                    fact: Fact::Date { d, m, y },
                });
                i += used;
                continue;
            }
            i += 1;
            continue;
        }
        // A number, a range of numbers, a date, or digits inside something else.
        let percent_next = ws.get(i + 1).is_some_and(|x| x.core == "%")
            || (ws.get(i + 1).is_some_and(|x| x.lower == "phần")
                && ws.get(i + 2).is_some_and(|x| x.lower == "trăm"));
        // "6,5%/năm", "300 USD/tấn": the unit after the slash is not part of the number.
        let core = numeric_head(&w.core);
        let percent = core.ends_with('%') || percent_next;
        let body = core.trim_end_matches('%');
        let scale = scale_of(ws.get(i + 1));
        let currency = ws
            .get(i + 1)
            .is_some_and(|x| CURRENCIES.contains(&x.lower.as_str()));
        let kind = if percent {
            SpanKind::Percent
        } else if scale.is_some() || currency {
            SpanKind::Amount
        } else {
            SpanKind::Number
        };
        let span_text = if percent_next && ws[i + 1].core == "%" {
            format!("{core} %")
        } else {
            core.to_string()
        };
        if let Some((d, m, y)) = slash_date(body) {
            out.push(Found {
                span: Span {
                    text: core.to_string(),
                    kind: SpanKind::Date,
                },
                fact: Fact::Date { d, m, y },
            });
        } else {
            // Ranges ("2,5–3,0%", "2021-2025") are two numbers of the same kind.
            for part in body.split(['–', '—', '-']).filter(|p| !p.is_empty()) {
                let part = part.trim_end_matches('%');
                match number_values(part) {
                    Some(values) => out.push(Found {
                        span: Span {
                            text: if part == body {
                                span_text.clone()
                            } else {
                                part.to_string()
                            },
                            kind,
                        },
                        fact: Fact::Number { values, scale },
                    }),
                    None => {
                        for r in digit_runs(part) {
                            out.push(Found {
                                span: Span {
                                    text: r.clone(),
                                    kind: SpanKind::Number,
                                },
                                fact: Fact::Number {
                                    values: vec![r],
                                    scale: None,
                                },
                            });
                        }
                    }
                }
            }
        }
        i += if percent_next && ws[i + 1].core == "%" {
            2
        } else {
            1
        };
    }
    flush(&mut run, &mut out, &ws);
    out
}

/// What an article states, indexed for look-ups.
#[derive(Debug, Default)]
pub struct Source {
    numbers: HashSet<String>,
    amounts: HashSet<(String, &'static str)>,
    dates: Vec<(Option<u32>, Option<u32>, Option<u32>)>,
    codes: HashSet<String>,
    /// The article upper-cased with `Đ` as `D`, for codes written inside other text.
    code_text: String,
    words: Vec<String>,
}

impl Source {
    pub fn new(article: &str) -> Source {
        let mut s = Source::default();
        let ws = words(article);
        for w in &ws {
            // Digits anywhere (a code's number, a phone-like run) may be quoted alone.
            for r in digit_runs(&w.core) {
                s.numbers.insert(r);
            }
            if let Some((_, v)) = NUMBER_WORDS.iter().find(|(k, _)| *k == w.lower) {
                s.numbers.insert(v.to_string());
            }
        }
        for f in facts(article) {
            match f.fact {
                Fact::Number { values, scale } => {
                    for v in values {
                        if let Some(sc) = scale {
                            s.amounts.insert((v.clone(), sc));
                        }
                        s.numbers.insert(v);
                    }
                }
                Fact::Date { d, m, y } => s.dates.push((d, m, y)),
                Fact::Code(c) => {
                    s.codes.insert(c);
                }
                Fact::Name { .. } => {}
            }
        }
        s.code_text = code_key(&article.nfc().collect::<String>());
        s.words = ws.into_iter().map(|w| w.lower).collect();
        s
    }

    fn has_words(&self, seq: &[String]) -> bool {
        !seq.is_empty() && self.words.windows(seq.len()).any(|w| w == seq)
    }

    fn supports(&self, f: &Fact) -> bool {
        match f {
            Fact::Number { values, scale } => values.iter().any(|v| match scale {
                Some(sc) => self.amounts.contains(&(v.clone(), *sc)),
                None => self.numbers.contains(v),
            }),
            Fact::Date { d, m, y } => self.dates.iter().any(|(sd, sm, sy)| {
                let day = d.is_none() || d == sd;
                let month = m == sm;
                // A year the article gives elsewhere ("ngày 30/9" … "năm 2024") is enough.
                let year = match (y, sy) {
                    (None, _) => true,
                    (Some(a), Some(b)) => a == b,
                    (Some(a), None) => self.numbers.contains(&a.to_string()),
                };
                day && month && year
            }),
            Fact::Code(c) => self.codes.contains(c) || self.code_text.contains(c.as_str()),
            Fact::Name { words, initial } => {
                self.has_words(words)
                    || (*initial && words.len() > 2 && self.has_words(&words[1..]))
            }
        }
    }
}

/// Every fact-like span of a summary (for counting what was checked).
pub fn spans(summary: &str) -> Vec<Span> {
    facts(summary).into_iter().map(|f| f.span).collect()
}

/// The spans of `summary` that `article` does not support, in order.
pub fn unsupported(summary: &str, article: &Source) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for f in facts(summary) {
        if !article.supports(&f.fact) && !out.contains(&f.span) {
            out.push(f.span);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(summary: &str, article: &str) -> Vec<(String, SpanKind)> {
        unsupported(summary, &Source::new(article))
            .into_iter()
            .map(|s| (s.text, s.kind))
            .collect()
    }

    // From corpus/seeds (the Ban Kinh tế Trung ương article in eval/dev.jsonl).
    const ARTICLE: &str = "Thực hiện chương trình công tác của Ban Chấp hành Trung ương khóa XIII, Bộ Chính trị giao Ban Kinh tế Trung ương chủ trì, phối hợp với Bộ Công Thương và các ban, bộ, ngành Trung ương, địa phương xây dựng Đề án \"Chủ trương, chính sách công nghiệp hóa, hiện đại hóa đến năm 2030, tầm nhìn đến năm 2045” trình Hội nghị Trung ương 6 khóa XIII vào tháng 10 tới. Theo Nghị quyết số 29-NQ/TW ngày 17/11/2022, tốc độ tăng năng suất lao động bình quân đạt 6,5%/năm. Năm 2023, tổng vốn đầu tư đạt 1.250,5 nghìn tỷ đồng, tăng 25,35% so với tháng 7/2024. Bộ trưởng Bộ Công Thương Nguyễn Hồng Diên phát biểu tại Hà Nội ngày 5 tháng 8 năm 2023.";

    #[test]
    fn a_paraphrase_without_new_facts_passes() {
        let s = "Bộ Chính trị giao Ban Kinh tế Trung ương chủ trì xây dựng Đề án công nghiệp hóa, hiện đại hóa đến năm 2030, tầm nhìn 2045, trình Hội nghị Trung ương 6 vào tháng 10. Bộ trưởng Nguyễn Hồng Diên phát biểu tại Hà Nội.";
        assert_eq!(bad(s, ARTICLE), vec![]);
        // The spans were really checked, not skipped.
        let kinds: Vec<SpanKind> = spans(s).into_iter().map(|s| s.kind).collect();
        assert!(kinds.contains(&SpanKind::Name) && kinds.contains(&SpanKind::Number));
    }

    #[test]
    fn names_do_not_run_across_the_lines_of_a_tidied_summary() {
        // Generated headings and list items come one per line without punctuation; read as one
        // run they would make a name the article lacks ("Hà Nội Bộ").
        let raw =
            "Bộ trưởng phát biểu tại Hà Nội\nBộ Chính trị giao Ban Kinh tế Trung ương chủ trì";
        assert_eq!(bad(&crate::generate::check::tidy(raw), ARTICLE), vec![]);
        assert_eq!(
            bad(&raw.replace('\n', " "), ARTICLE),
            vec![("Hà Nội Bộ Chính".into(), SpanKind::Name)]
        );
    }

    #[test]
    fn a_changed_number_is_unsupported() {
        let s = "Tốc độ tăng năng suất lao động bình quân đạt 7,5%/năm theo Nghị quyết 29-NQ/TW.";
        assert_eq!(bad(s, ARTICLE), vec![("7,5%".into(), SpanKind::Percent)]);
        let s = "Tổng vốn đầu tư đạt 1.250,5 nghìn tỷ đồng, tăng 25,53%.";
        assert_eq!(bad(s, ARTICLE), vec![("25,53%".into(), SpanKind::Percent)]);
        // Same digits, another scale: 1.250,5 triệu is a thousand times less.
        let s = "Tổng vốn đầu tư đạt 1.250,5 triệu đồng.";
        assert_eq!(bad(s, ARTICLE), vec![("1.250,5".into(), SpanKind::Amount)]);
    }

    #[test]
    fn a_new_date_is_unsupported() {
        let s = "Nghị quyết số 29-NQ/TW được ban hành ngày 30/9/2024.";
        assert_eq!(bad(s, ARTICLE), vec![("30/9/2024".into(), SpanKind::Date)]);
        let s = "Đề án trình Hội nghị ngày 6 tháng 10 năm 2023.";
        assert_eq!(
            bad(s, ARTICLE),
            vec![("ngày 6 tháng 10 năm 2023".into(), SpanKind::Date)]
        );
        // The article's own dates, in other spellings, pass.
        assert_eq!(bad("Ngày 17/11/2022 và ngày 5/8/2023.", ARTICLE), vec![]);
        assert_eq!(bad("So với 7/2024, vốn tăng.", ARTICLE), vec![]);
        assert_eq!(bad("Tháng 8/2023 Bộ trưởng phát biểu.", ARTICLE), vec![]);
    }

    #[test]
    fn a_wrong_document_code_is_unsupported() {
        let s = "Theo Nghị quyết số 128/NQ-TW, năng suất lao động tăng 6,5%.";
        assert_eq!(
            bad(s, ARTICLE),
            vec![("128/NQ-TW".into(), SpanKind::DocumentCode)]
        );
        assert_eq!(
            bad("Nghị định 57/2025/NĐ-CP quy định chi tiết.", ARTICLE),
            vec![("57/2025/NĐ-CP".into(), SpanKind::DocumentCode)]
        );
        assert_eq!(bad("Nghị quyết 29-NQ/TW.", ARTICLE), vec![]);
        assert_eq!(
            bad(
                "Nghị quyết 29-NQ/TW.",
                "Nghị định 57/2025/NĐ-CP và Nghị quyết 29-NQ/TW,"
            ),
            vec![]
        );
    }

    #[test]
    fn a_new_name_is_unsupported() {
        let s = "Phó Thủ tướng Trần Hồng Hà chủ trì cuộc họp tại Đà Nẵng.";
        assert_eq!(
            bad(s, ARTICLE),
            vec![
                ("Trần Hồng Hà".into(), SpanKind::Name),
                ("Đà Nẵng".into(), SpanKind::Name)
            ]
        );
        // Case differs from the article: still the same name.
        assert_eq!(bad("Ông Nguyễn Hồng Diên dự họp.", ARTICLE), vec![]);
        assert_eq!(
            bad("WTO đánh giá cao.", ARTICLE),
            vec![("WTO".into(), SpanKind::Name)]
        );
    }

    #[test]
    fn sentence_initial_capitals_are_not_names_by_themselves() {
        // "Theo Bộ Công Thương": "Theo" is capitalised only because it opens the sentence.
        assert_eq!(bad("Theo Bộ Công Thương, vốn tăng.", ARTICLE), vec![]);
        // "Sau Hà" would be nothing to look up; "Ngoài ra" has one capital only.
        assert_eq!(bad("Sau Hà. Ngoài ra, vốn tăng.", ARTICLE), vec![]);
        let kinds: Vec<SpanKind> = spans("Theo Quyết định mới, vốn tăng.")
            .into_iter()
            .map(|s| s.kind)
            .collect();
        assert_eq!(kinds, vec![]);
    }

    #[test]
    fn numbers_are_compared_after_normalisation() {
        let a =
            "Tăng 25,35% lên 1.000 doanh nghiệp; lạm phát 6,7 %; vào tháng 7/2025 đạt 2,5–3,0%.";
        let src = Source::new(a);
        for s in [
            "Tăng 25.35%.",
            "Có 1000 doanh nghiệp.",
            "Có 1,000 doanh nghiệp.",
            "Lạm phát 6,7%.",
            "Lạm phát 6,7 %.",
            "Tháng 7/2025.",
            "Vào 7/2025.",
            "Đạt 2,5% đến 3%.",
        ] {
            assert_eq!(unsupported(s, &src), vec![], "{s}");
        }
        assert_eq!(
            bad("Tăng 25,36%.", a),
            vec![("25,36%".into(), SpanKind::Percent)]
        );
        assert_eq!(
            bad("Lạm phát 6,8 %.", a),
            vec![("6,8 %".into(), SpanKind::Percent)]
        );
        assert_eq!(
            bad("Tháng 8/2025.", a),
            vec![("8/2025".into(), SpanKind::Date)]
        );
        // A number written in words in the article supports its digits.
        assert_eq!(bad("Có 3 nhiệm vụ.", "Có ba nhiệm vụ."), vec![]);
        // NFD input is the same text.
        let nfd: String = "Bộ Công Thương tăng 5%.".nfd().collect();
        assert_eq!(bad(&nfd, "Theo Bộ Công Thương, tăng 5%."), vec![]);
    }

    #[test]
    fn readings_of_one_number() {
        assert_eq!(number_values("25,35"), Some(vec!["25.35".into()]));
        assert_eq!(number_values("25.35"), Some(vec!["25.35".into()]));
        assert_eq!(
            number_values("1.000"),
            Some(vec!["1000".into(), "1".into()])
        );
        assert_eq!(number_values("1.250,50"), Some(vec!["1250.5".into()]));
        assert_eq!(number_values("3,0"), Some(vec!["3".into()]));
        assert_eq!(number_values("1.2.3"), None);
        assert_eq!(
            slash_date("30/9/2024"),
            Some((Some(30), Some(9), Some(2024)))
        );
        assert_eq!(slash_date("7/2025"), Some((None, Some(7), Some(2025))));
        assert_eq!(slash_date("2021-2025"), None);
        assert_eq!(slash_date("13/2025"), None);
    }

    #[test]
    fn a_real_article_from_the_corpus() {
        let src = Source::new(include_str!(
            "../../corpus/markdown/fdi-6-thang-dau-nam-2024.md"
        ));
        let b = |s: &str| -> Vec<(String, SpanKind)> {
            unsupported(s, &src)
                .into_iter()
                .map(|s| (s.text, s.kind))
                .collect()
        };
        // A faithful paraphrase: amounts, percentages, a date, a resolution and names.
        let good = "Tính đến 30/6/2024, vốn FDI đăng ký vào Việt Nam đạt 15,19 tỷ USD, tăng 13,1% so với cùng kỳ, theo Cục Đầu tư nước ngoài. Vốn thực hiện ước đạt 10,84 tỷ USD, cao nhất trong 5 năm. Từ tháng 1/2024, thuế bổ sung theo Nghị quyết 107/2023/QH15 làm ưu đãi thuế kém hấp dẫn với nhà đầu tư Nhật Bản, Hàn Quốc.";
        assert_eq!(b(good), vec![]);
        assert!(spans(good).len() >= 10, "{:?}", spans(good));
        assert_eq!(
            b("Vốn FDI đăng ký đạt 15,9 tỷ USD, tăng 13,1%."),
            vec![("15,9".into(), SpanKind::Amount)]
        );
        assert_eq!(
            b("Vốn thực hiện tăng 8,2% tính đến ngày 30/9/2024."),
            vec![("30/9/2024".into(), SpanKind::Date)]
        );
        assert_eq!(
            b("Nghị quyết 170/2023/QH15 áp dụng thuế bổ sung."),
            vec![("170/2023/QH15".into(), SpanKind::DocumentCode)]
        );
        assert_eq!(
            b("Các nhà đầu tư Hàn Quốc và Ấn Độ rót vốn lớn."),
            vec![("Ấn Độ".into(), SpanKind::Name)]
        );
    }
}
