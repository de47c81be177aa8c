//! Every word bantin itself writes into digest.html and digest.md, in one table per language.
//! Article text is never translated: only headings, counts, labels and warnings.
//!
//! Vietnamese has no plural inflection ("1 bài viết", "17 bài viết"); English does ("1
//! article", "2 articles"). A [`Plural`] carries both forms; Vietnamese simply gives the same
//! one twice.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Vietnamese: the readers are Vietnamese policy analysts.
    #[default]
    Vi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// A count phrase; `{n}` is replaced by the number.
#[derive(Debug)]
pub struct Plural {
    pub one: &'static str,
    pub other: &'static str,
}

#[derive(Debug)]
pub struct Text {
    pub lang: Lang,
    pub articles: Plural,
    pub themes: Plural,
    pub folded: Plural,
    pub failed: Plural,
    pub undated: Plural,
    pub generated_at: &'static str,
    pub toc: &'static str,
    pub trends: &'static str,
    pub overview: &'static str,
    pub extract: &'static str,
    pub also_reported: &'static str,
    pub not_processed: &'static str,
    pub technical: &'static str,
    pub model: &'static str,
    pub classifier: &'static str,
    pub taxonomy: &'static str,
    pub input: &'static str,
    pub filter_theme: &'static str,
    pub filter_all: &'static str,
    pub filter_search: &'static str,
    pub filter_placeholder: &'static str,
    /// `{shown}` of `{total}` articles; the plural follows `{total}`.
    pub filter_shown: Plural,
    pub filter_none: &'static str,
    pub chart_week: &'static str,
    pub chart_month: &'static str,
    pub chart_year: &'static str,
    /// Chart caption: `{unit}` is one of the three above.
    pub chart_caption: &'static str,
    pub chart_total: &'static str,
    pub period_heading: &'static str,
    /// `{since}`–`{until}` against `{prev_from}`–`{prev_until}`.
    pub period_intro: &'static str,
    pub period_theme: &'static str,
    pub period_current: &'static str,
    pub period_previous: &'static str,
    pub period_change: &'static str,
    pub period_new: &'static str,
    pub period_note: &'static str,
    pub cooc_heading: &'static str,
    pub cooc_intro: &'static str,
    pub sources: &'static str,
    pub article_label: &'static str,
    pub months: [&'static str; 12],
    /// `{model}`, `{modes}`, `{usable}`, `{total}`.
    pub generator_line: &'static str,
    pub source_kind: [&'static str; 4],
}

pub static VI: Text = Text {
    lang: Lang::Vi,
    articles: Plural {
        one: "{n} bài viết",
        other: "{n} bài viết",
    },
    themes: Plural {
        one: "{n} chủ đề",
        other: "{n} chủ đề",
    },
    folded: Plural {
        one: "{n} bài trùng lặp đã gộp",
        other: "{n} bài trùng lặp đã gộp",
    },
    failed: Plural {
        one: "{n} tệp không xử lý được",
        other: "{n} tệp không xử lý được",
    },
    undated: Plural {
        one: "{n} bài không có ngày đăng không được tính",
        other: "{n} bài không có ngày đăng không được tính",
    },
    generated_at: "Lập lúc",
    toc: "Mục lục",
    trends: "Xu hướng theo thời gian",
    overview: "Tổng quan",
    extract: "Trích từ bài",
    also_reported: "Cũng được đưa tin",
    not_processed: "Không xử lý được",
    technical: "Thông tin kỹ thuật",
    model: "Mô hình",
    classifier: "Bộ phân loại",
    taxonomy: "Bộ chủ đề",
    input: "Dữ liệu vào",
    filter_theme: "Chủ đề",
    filter_all: "Tất cả chủ đề",
    filter_search: "Tìm",
    filter_placeholder: "Từ khoá, ví dụ: bán dẫn",
    filter_shown: Plural {
        one: "Đang hiện {shown}/{total} bài viết",
        other: "Đang hiện {shown}/{total} bài viết",
    },
    filter_none: "Không có bài viết nào khớp.",
    chart_week: "tuần",
    chart_month: "tháng",
    chart_year: "năm",
    chart_caption: "Số bài viết mỗi {unit} theo chủ đề chính",
    chart_total: "tổng",
    period_heading: "Kỳ này so với kỳ trước",
    period_intro: "Kỳ này: {since} – {until}; kỳ trước cùng độ dài: {prev_from} – {prev_until}.",
    period_theme: "Chủ đề",
    period_current: "Kỳ này",
    period_previous: "Kỳ trước",
    period_change: "Thay đổi",
    period_new: "mới",
    period_note: "Kỳ trước chỉ tính các bài có trong dữ liệu vào.",
    cooc_heading: "Chủ đề thường đi cùng nhau",
    cooc_intro: "Số bài viết mang cả hai chủ đề (đường chéo: số bài mang chủ đề đó).",
    sources: "Nguồn",
    article_label: "Bài",
    months: [
        "tháng 1", "tháng 2", "tháng 3", "tháng 4", "tháng 5", "tháng 6", "tháng 7", "tháng 8",
        "tháng 9", "tháng 10", "tháng 11", "tháng 12",
    ],
    generator_line: "Tóm tắt do máy viết: {model} ({modes}); {usable}/{total} bản được hiển thị vì đạt mọi kiểm tra và bao quát bài như đoạn trích (các bài còn lại hiển thị đoạn trích).",
    source_kind: ["thư mục cục bộ", "bộ nhớ đệm", "Hugging Face Hub", "bản sao trên PyPI"],
};

pub static EN: Text = Text {
    lang: Lang::En,
    articles: Plural {
        one: "{n} article",
        other: "{n} articles",
    },
    themes: Plural {
        one: "{n} theme",
        other: "{n} themes",
    },
    folded: Plural {
        one: "{n} near-duplicate folded",
        other: "{n} near-duplicates folded",
    },
    failed: Plural {
        one: "{n} file not processed",
        other: "{n} files not processed",
    },
    undated: Plural {
        one: "{n} undated article not counted",
        other: "{n} undated articles not counted",
    },
    generated_at: "Generated",
    toc: "Contents",
    trends: "Trends over time",
    overview: "Overview",
    extract: "Extract",
    also_reported: "Also reported",
    not_processed: "Not processed",
    technical: "Technical details",
    model: "Model",
    classifier: "Classifier",
    taxonomy: "Taxonomy",
    input: "Input",
    filter_theme: "Theme",
    filter_all: "All themes",
    filter_search: "Search",
    filter_placeholder: "Keyword, e.g. bán dẫn",
    filter_shown: Plural {
        one: "Showing {shown} of {total} article",
        other: "Showing {shown} of {total} articles",
    },
    filter_none: "No article matches.",
    chart_week: "week",
    chart_month: "month",
    chart_year: "year",
    chart_caption: "Articles per {unit} by primary theme",
    chart_total: "total",
    period_heading: "This period against the previous one",
    period_intro: "This period: {since} – {until}; the previous period of the same length: {prev_from} – {prev_until}.",
    period_theme: "Theme",
    period_current: "This period",
    period_previous: "Previous",
    period_change: "Change",
    period_new: "new",
    period_note: "The previous period counts only articles present in the input.",
    cooc_heading: "Themes that occur together",
    cooc_intro: "Articles carrying both themes (diagonal: articles carrying that theme).",
    sources: "Sources",
    article_label: "Article",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    generator_line: "Generated summaries: {model} ({modes}); {usable} of {total} shown: they passed every check and cover the article as well as the extract (the others show the extract).",
    source_kind: ["local folder", "cache", "Hugging Face Hub", "PyPI mirror"],
};

pub fn text(lang: Lang) -> &'static Text {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

impl Text {
    /// The count phrase for `n`, with the number written the language's way.
    pub fn count(&self, p: &Plural, n: usize) -> String {
        let form = if n == 1 { p.one } else { p.other };
        form.replace("{n}", &self.num(n))
    }

    /// Thousands grouped with "." in Vietnamese ("1.234"), "," in English.
    pub fn num(&self, n: usize) -> String {
        let sep = match self.lang {
            Lang::Vi => '.',
            Lang::En => ',',
        };
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// A yyyy-mm-dd date as readers write it: 04/06/2024 in Vietnamese, 4 Jun 2024 in English.
    /// Anything else is shown as given.
    pub fn date(&self, iso: &str) -> String {
        match parse_iso(iso) {
            Some((y, m, d)) => match self.lang {
                Lang::Vi => format!("{d:02}/{m:02}/{y}"),
                Lang::En => format!("{d} {} {y}", self.months[m as usize - 1]),
            },
            None => iso.to_string(),
        }
    }

    /// A short date for chart axes: 16/9 or 16 Sep.
    pub fn short_date(&self, iso: &str) -> String {
        match parse_iso(iso) {
            Some((_, m, d)) => match self.lang {
                Lang::Vi => format!("{d}/{m}"),
                Lang::En => format!("{d} {}", self.months[m as usize - 1]),
            },
            None => iso.to_string(),
        }
    }

    /// A month: "9/2024" in Vietnamese charts, "Sep 2024" in English.
    pub fn month(&self, iso: &str) -> String {
        match parse_iso(iso) {
            Some((y, m, _)) => match self.lang {
                Lang::Vi => format!("{m}/{y}"),
                Lang::En => format!("{} {y}", self.months[m as usize - 1]),
            },
            None => iso.to_string(),
        }
    }

    /// The generation time "2026-12-04 15:19 UTC" in the reader's order.
    pub fn timestamp(&self, ts: &str) -> String {
        match (ts.get(..10), ts.get(11..)) {
            (Some(day), Some(time)) if parse_iso(day).is_some() => match self.lang {
                Lang::Vi => format!("{time} ngày {}", self.date(day)),
                Lang::En => format!("{} {time}", self.date(day)),
            },
            _ => ts.to_string(),
        }
    }

    /// A warning written by the pipeline (in English, for logs) in the reader's language.
    /// Unknown wording is shown as written rather than guessed at.
    pub fn warning(&self, w: &str) -> String {
        if self.lang == Lang::En {
            return w.to_string();
        }
        for (en, vi) in WARNINGS {
            if let Some(holes) = match_template(en, w) {
                let mut out = vi.to_string();
                for h in holes {
                    out = out.replacen("{}", &flags_vi(h), 1);
                }
                return out;
            }
        }
        w.to_string()
    }
}

pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn parse_iso(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if s.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = s[..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..].parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// The pipeline's warnings (src/pipeline.rs, src/abstractive.rs) with `{}` for their
/// numbers and quoted parts; a unit test checks that each English text still occurs there.
const WARNINGS: [(&str, &str); 6] = [
    (
        "article has {} sentences: only the first {} were classified and summarised",
        "Bài có {} câu: chỉ {} câu đầu được phân loại và tóm tắt.",
    ),
    (
        "{} sentence(s) longer than the model's {} tokens were embedded in overlapping windows",
        "{} câu dài hơn giới hạn {} token của mô hình được mã hoá theo từng đoạn chồng nhau.",
    ),
    (
        "article is {} tokens, over the generator's input limit of {}: it read the {} most central sentences instead (hybrid)",
        "Bài dài {} token, vượt giới hạn đầu vào {} token của mô hình viết tóm tắt: mô hình chỉ đọc {} câu trọng tâm nhất.",
    ),
    (
        "the generator read only {} sentence(s): more would exceed its input limit of {} tokens",
        "Mô hình viết tóm tắt chỉ đọc {} câu: nhiều hơn sẽ vượt giới hạn đầu vào {} token.",
    ),
    (
        "abstractive summary flagged ({}): the extractive summary is shown",
        "Bản tóm tắt do máy viết bị gắn cờ ({}): hiển thị đoạn trích từ bài.",
    ),
    (
        "abstractive summary failed: {}",
        "Không viết được bản tóm tắt: {}",
    ),
];

/// The generator checks' flags (src/generate/check.rs `Flag::describe`).
fn flags_vi(s: &str) -> String {
    const FLAGS: [(&str, &str); 4] = [
        ("empty output", "để trống"),
        ("not Vietnamese", "không phải tiếng Việt"),
        ("repeats itself", "lặp lại"),
        ("cut at the token bound", "bị cắt ở giới hạn token"),
    ];
    let mut out = s.to_string();
    for (en, vi) in FLAGS {
        out = out.replace(en, vi);
    }
    out
}

/// Matches `s` against a template whose holes are `{}`; returns the holes' text.
fn match_template<'a>(tpl: &str, s: &'a str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = tpl.split("{}").collect();
    let mut rest = s.strip_prefix(parts[0])?;
    let mut holes = Vec::new();
    for (i, lit) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        let at = if last {
            if lit.is_empty() {
                rest.len()
            } else {
                rest.rfind(lit).filter(|&p| p + lit.len() == rest.len())?
            }
        } else {
            rest.find(lit)?
        };
        holes.push(&rest[..at]);
        rest = &rest[at + lit.len()..];
    }
    rest.is_empty().then_some(holes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(VI.count(&VI.articles, 1), "1 bài viết");
        assert_eq!(VI.count(&VI.articles, 17), "17 bài viết");
        assert_eq!(EN.count(&EN.articles, 1), "1 article");
        assert_eq!(EN.count(&EN.articles, 0), "0 articles");
        assert_eq!(EN.count(&EN.articles, 2), "2 articles");
        assert_eq!(EN.count(&EN.folded, 1), "1 near-duplicate folded");
        assert_eq!(EN.count(&EN.themes, 10), "10 themes");
        assert_eq!(VI.count(&VI.articles, 1234), "1.234 bài viết");
        assert_eq!(EN.count(&EN.articles, 1234567), "1,234,567 articles");
    }

    #[test]
    fn dates_the_readers_way() {
        assert_eq!(VI.date("2024-06-04"), "04/06/2024");
        assert_eq!(EN.date("2024-06-04"), "4 Jun 2024");
        assert_eq!(VI.date("hôm qua"), "hôm qua");
        assert_eq!(VI.month("2024-09-01"), "9/2024");
        assert_eq!(
            VI.timestamp("2026-12-04 15:19 UTC"),
            "15:19 UTC ngày 04/12/2026"
        );
    }

    #[test]
    fn warnings_translated_with_their_numbers() {
        assert_eq!(
            VI.warning(
                "article has 812 sentences: only the first 500 were classified and summarised"
            ),
            "Bài có 812 câu: chỉ 500 câu đầu được phân loại và tóm tắt."
        );
        assert_eq!(
            VI.warning("abstractive summary flagged (not Vietnamese, repeats itself): the extractive summary is shown"),
            "Bản tóm tắt do máy viết bị gắn cờ (không phải tiếng Việt, lặp lại): hiển thị đoạn trích từ bài."
        );
        assert_eq!(VI.warning("something new"), "something new");
        assert_eq!(
            EN.warning("abstractive summary failed: x"),
            "abstractive summary failed: x"
        );
    }

    /// Each English warning's wording must still be what the pipeline writes; otherwise the
    /// translation would silently stop matching.
    #[test]
    fn warning_templates_match_the_pipeline() {
        let sources = [
            include_str!("../pipeline.rs"),
            include_str!("../abstractive.rs"),
        ]
        .concat();
        for (en, _) in WARNINGS {
            for lit in en.split("{}").filter(|l| l.trim().len() > 3) {
                assert!(sources.contains(lit), "{lit:?} no longer in the pipeline");
            }
        }
        let flags = include_str!("../generate/check.rs");
        for f in [
            "empty output",
            "not Vietnamese",
            "repeats itself",
            "cut at the token bound",
        ] {
            assert!(flags.contains(f), "{f}");
        }
    }

    #[test]
    fn every_string_filled_in_both_languages() {
        for t in [&VI, &EN] {
            for p in [&t.articles, &t.themes, &t.folded, &t.failed, &t.undated] {
                assert!(p.one.contains("{n}") && p.other.contains("{n}"));
            }
            assert!(t.chart_caption.contains("{unit}"));
        }
    }
}
