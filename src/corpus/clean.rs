//! Removes the page furniture of Vietnamese news sites from article text.
//!
//! Scrapers and [`crate::corpus::html`] leave menus, toolbars, captions, bylines, share buttons,
//! rating widgets and "Tin liên quan" blocks in the text; they pollute classification features
//! and end up in extractive summaries. The cleaner judges lines with three kinds of rule:
//!
//! 1. context-free patterns that only furniture matches ("A- A A+", "Bình luận (0)", a line that
//!    is only a date, "Đường dây nóng: …");
//! 2. positional rules for lines that are furniture only where they stand: navigation words and
//!    the site name above the headline, a name under the headline or at the end (byline), the
//!    options under a rating prompt, the headline repeated as image alt text;
//! 3. related-article blocks, which take everything after them when the article is over and only
//!    their own headlines when the body resumes.
//!
//! Precision comes first: a body line lost is worse than a furniture line kept, so every rule is
//! anchored on something furniture-specific and any doubt keeps the line. Each removal records its
//! line and reason so that `--explain` can show why.

use serde::Serialize;

/// Why a line was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Menu,
    FontToolbar,
    Caption,
    RelatedLinks,
    Byline,
    Contact,
    RatingWidget,
    LoneDate,
    Social,
    /// Source or author with a time and date: "vietq 16:14 19/06/2023",
    /// "Hoài Thu (thực hiện) | 08/05/2024 06:00".
    Dateline,
    Other,
}

impl Reason {
    /// One short sentence for `--explain`.
    pub fn explain(&self) -> &'static str {
        match self {
            Reason::Menu => {
                "Site navigation: a menu, breadcrumb or the site name above the headline."
            }
            Reason::FontToolbar => {
                "Reader toolbar controls such as \"A- A A+\" or contrast buttons."
            }
            Reason::Caption => "Photo caption or image credit, not article prose.",
            Reason::RelatedLinks => {
                "A related-articles block (\"Tin liên quan\", \"Xem thêm\") and what it lists."
            }
            Reason::Byline => "Author or source credit at the top or end of the article.",
            Reason::Contact => "Publisher contact footer: hotline, email, phone or address.",
            Reason::RatingWidget => {
                "Reader rating widget (\"Bạn thấy bài viết thế nào?\") and its options."
            }
            Reason::LoneDate => "A line holding only a publication date or time.",
            Reason::Social => "Share, comment, print or save buttons.",
            Reason::Dateline => "Source or author name with the publication time and date.",
            Reason::Other => {
                "Other page furniture: copyright, tags, adverts or empty widget residue."
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    /// 1-based line number in the input.
    pub line: usize,
    /// The removed line, trimmed.
    pub text: String,
    pub reason: Reason,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleaned {
    /// Paragraphs separated by exactly one blank line, lines trimmed, no trailing newline.
    pub text: String,
    /// Removed lines in input order.
    pub removed: Vec<Removal>,
}

/// Removes page furniture from `text` (expected NFC), keeping the article body untouched.
pub fn clean(text: &str) -> Cleaned {
    let lines: Vec<Line<'_>> = text.split('\n').map(Line::new).collect();
    let mut verdict: Vec<Option<Reason>> = lines.iter().map(classify_line).collect();

    let headline = header_zone(&lines, &mut verdict);
    related_links(&lines, &mut verdict, headline);
    rating_options(&lines, &mut verdict);
    repeated_headline(&lines, &mut verdict, headline);
    trailing_byline(&lines, &mut verdict, headline);

    let removed = lines
        .iter()
        .zip(&verdict)
        .enumerate()
        .filter_map(|(i, (line, reason))| {
            reason.map(|reason| Removal {
                line: i + 1,
                text: line.text.to_string(),
                reason,
            })
        })
        .collect();
    Cleaned {
        text: assemble(&lines, &verdict),
        removed,
    }
}

/// One input line with the views the rules need.
struct Line<'a> {
    /// Trimmed text.
    text: &'a str,
    /// Lower-cased, whitespace-collapsed, tone placement unified (see [`key`]).
    key: String,
    /// Words that contain a letter or digit.
    words: usize,
}

impl<'a> Line<'a> {
    fn new(raw: &'a str) -> Self {
        let text = raw.trim_matches(|c: char| c.is_whitespace() || is_invisible(c));
        let words = text
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count();
        Line {
            text,
            key: key(text),
            words,
        }
    }

    fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00AD}')
}

/// Comparison key: lower case, single spaces, and the old tone placement ("hoà", "thuỷ") mapped
/// to the new one ("hòa", "thủy") so that a phrase list written one way matches both. Only
/// syllable-final pairs differ between the two styles, so only those are rewritten.
fn key(s: &str) -> String {
    let chars: Vec<char> = s.to_lowercase().chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || is_invisible(c) {
            if !out.is_empty() && !out.ends_with(' ') && !is_invisible(c) {
                out.push(' ');
            }
            i += 1;
            continue;
        }
        let syllable_final = chars.get(i + 2).is_none_or(|n| !n.is_alphabetic());
        let after_q = i > 0 && chars[i - 1] == 'q';
        if let Some(&next) = chars.get(i + 1) {
            if syllable_final && !after_q {
                if let Some((a, b)) = modern_tone(c, next) {
                    out.push(a);
                    out.push(b);
                    i += 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn modern_tone(first: char, second: char) -> Option<(char, char)> {
    const OA: [(char, char); 5] = [('à', 'ò'), ('á', 'ó'), ('ả', 'ỏ'), ('ã', 'õ'), ('ạ', 'ọ')];
    const OE: [(char, char); 5] = [('è', 'ò'), ('é', 'ó'), ('ẻ', 'ỏ'), ('ẽ', 'õ'), ('ẹ', 'ọ')];
    const UY: [(char, char); 5] = [('ỳ', 'ù'), ('ý', 'ú'), ('ỷ', 'ủ'), ('ỹ', 'ũ'), ('ỵ', 'ụ')];
    let (table, base) = match first {
        'o' if "àáảãạ".contains(second) => (&OA, 'a'),
        'o' if "èéẻẽẹ".contains(second) => (&OE, 'e'),
        'u' if "ỳýỷỹỵ".contains(second) => (&UY, 'y'),
        _ => return None,
    };
    table
        .iter()
        .find(|(old, _)| *old == second)
        .map(|(_, new)| (*new, base))
}

// ---------------------------------------------------------------------------------------------
// Vocabulary. Written lower case in the modern tone style; a unit test checks they are keys.

/// Section names of Vietnamese news sites, for lines made only of navigation.
#[rustfmt::skip]
const NAV: &[&str] = &[
    "trang chủ", "tin tức", "thời sự", "chính trị", "kinh tế", "xã hội", "thế giới", "văn hóa",
    "thể thao", "giáo dục", "pháp luật", "sức khỏe", "đời sống", "khoa học", "công nghệ", "du lịch",
    "bất động sản", "doanh nghiệp", "đầu tư", "tài chính", "chứng khoán", "ngân hàng", "multimedia",
    "video", "ảnh", "podcast", "infographic", "emagazine", "e-magazine", "media", "bạn đọc",
    "địa phương", "quốc tế", "năng lượng", "thị trường", "công nghiệp", "thương mại", "số hóa",
    "kinh tế số", "chính phủ", "chỉ đạo", "điều hành", "tin mới", "tin mới nhất", "mới nhất",
    "tin nổi bật", "nổi bật", "xem nhiều", "đọc nhiều", "tiêu điểm", "chuyên đề", "sự kiện",
    "hoạt động", "tin trong nước", "tin quốc tế", "trong nước", "khởi nghiệp", "ô tô", "xe máy",
    "giải trí", "menu", "tìm kiếm", "đăng nhập", "đăng ký", "english", "tiếng việt", "rss",
    "liên hệ", "giới thiệu", "lao động", "việc làm", "nông nghiệp", "môi trường", "quốc phòng",
    "an ninh", "y tế", "góc nhìn", "ý kiến", "diễn đàn", "xây dựng", "giao thông", "đô thị",
    "nhà đất", "chuyển đổi số", "công thương", "xuất nhập khẩu", "tin ảnh", "phóng sự", "tin vắn",
    "kinh doanh", "tiêu dùng", "quốc hội", "home",
];

/// Reader toolbar controls; a line of these needs at least one of [`FONT_STRONG`].
#[rustfmt::skip]
const FONT: &[&str] = &[
    "a-", "a", "a+", "a−", "cỡ chữ", "tăng tương phản", "giảm tương phản", "tương phản", "phóng to",
    "thu nhỏ", "mặc định", "nghe bài viết", "nghe", "đọc bài", "giọng nam", "giọng nữ",
    "tăng cỡ chữ", "giảm cỡ chữ",
];
#[rustfmt::skip]
const FONT_STRONG: &[&str] = &[
    "a-", "a+", "a−", "cỡ chữ", "tăng tương phản", "giảm tương phản", "tương phản", "nghe bài viết",
    "tăng cỡ chữ", "giảm cỡ chữ",
];

/// Share and save buttons; a line of these needs at least one of [`SOCIAL_STRONG`].
#[rustfmt::skip]
const SOCIAL: &[&str] = &[
    "chia sẻ", "chia sẻ bài viết", "bình luận", "gửi bình luận", "facebook", "twitter", "zalo",
    "linkedin", "youtube", "tiktok", "email", "in bài", "in bài viết", "lưu bài", "lưu bài viết",
    "lưu", "in", "gửi bài", "copy link", "sao chép link", "sao chép liên kết", "google news",
    "theo dõi", "chúng tôi", "trên", "like", "share", "tweet", "bài viết",
];
#[rustfmt::skip]
const SOCIAL_STRONG: &[&str] = &[
    "chia sẻ", "chia sẻ bài viết", "bình luận", "gửi bình luận", "facebook", "twitter", "zalo",
    "linkedin", "in bài", "in bài viết", "lưu bài", "lưu bài viết", "copy link", "sao chép link",
    "sao chép liên kết", "google news", "share", "tweet",
];

/// Openings of rating widgets.
#[rustfmt::skip]
const RATING_PROMPTS: &[&str] = &[
    "bạn thấy bài viết thế nào", "bạn thấy bài viết này thế nào", "bạn cảm thấy bài viết",
    "bạn đánh giá bài viết", "tổng số điểm của bài viết", "click để đánh giá", "nhấn để đánh giá",
    "đánh giá bài viết", "bài viết có hữu ích", "bài viết này có hữu ích", "bình chọn bài viết",
];

/// Answers offered under a rating prompt, removed only right under one.
#[rustfmt::skip]
const RATING_OPTIONS: &[&str] = &[
    "hay", "bình thường", "chưa hay", "rất hay", "không hay", "tuyệt vời", "tệ", "hữu ích",
    "không hữu ích", "có", "không", "thích", "không thích",
];

/// Headers of related-article blocks.
#[rustfmt::skip]
const RELATED: &[&str] = &[
    "tin liên quan", "tin khác", "các tin khác", "tin cùng chuyên mục", "bài viết liên quan",
    "bài liên quan", "tin bài liên quan", "xem thêm", "đọc thêm", "tin cùng loại",
    "có thể bạn quan tâm", "bạn có thể quan tâm", "tin mới hơn", "tin cũ hơn", "tin đã đưa",
    "tin xem nhiều", "tin đọc nhiều", "đọc nhiều nhất", "xem nhiều nhất", "bài đọc nhiều",
];

/// Labels that open a contact footer line ("Đường dây nóng: 0912 …").
#[rustfmt::skip]
const CONTACT_LABELS: &[&str] = &[
    "đường dây nóng", "hotline", "email", "e-mail", "điện thoại", "đt", "fax", "địa chỉ",
    "tòa soạn", "liên hệ quảng cáo", "liên hệ", "thông tin phản ánh", "mọi thông tin", "website",
];

/// Openings of copyright, licence and tag lines.
#[rustfmt::skip]
const OTHER_PREFIXES: &[&str] = &[
    "©", "copyright", "bản quyền", "ghi rõ nguồn", "giấy phép số", "giấy phép hoạt động",
    "chịu trách nhiệm nội dung", "chịu trách nhiệm xuất bản", "tổng biên tập:", "cơ quan chủ quản",
    "từ khóa:", "tags:", "tag:",
];
const OTHER_EXACT: &[&str] = &["quảng cáo", "advertisement", "sponsored", "tài trợ"];

/// Openings of caption lines. "ảnh:" needs the colon: "Ảnh hưởng …" is prose.
#[rustfmt::skip]
const CAPTION_PREFIXES: &[&str] = &[
    "ảnh:", "ảnh :", "(ảnh:", "(ảnh :", "nguồn ảnh", "hình ảnh:", "hình:", "video:", "clip:",
    "đồ họa:", "infographic:", "ảnh và video:", "ảnh/video:",
];

/// Words of date and time lines besides the numbers themselves.
#[rustfmt::skip]
const DATE_WORDS: &[&str] = &[
    "thứ", "hai", "ba", "tư", "năm", "sáu", "bảy", "chủ", "nhật", "cn", "t2", "t3", "t4", "t5",
    "t6", "t7", "ngày", "tháng", "cập", "đăng", "lúc", "giờ", "phút", "sa", "ch", "am", "pm",
    "thời", "gian", "lần", "cuối", "published", "updated", "posted", "gmt", "utc", "-",
];

/// Credits that are bylines on their own ("PV", "Nhóm PV").
#[rustfmt::skip]
const BYLINE_EXACT: &[&str] = &[
    "pv", "nhóm pv", "phóng viên", "nhóm phóng viên", "ctv", "btv", "bbt", "ban biên tập",
    "nhóm tác giả", "tòa soạn", "pv tổng hợp", "pv (tổng hợp)",
];
/// Openings of credit lines ("Tác giả: …", "Bài và ảnh: …").
#[rustfmt::skip]
const BYLINE_PREFIXES: &[&str] = &[
    "ban biên tập", "tác giả:", "bài:", "bài và ảnh:", "bài, ảnh:", "bài & ảnh:", "thực hiện:",
    "trình bày:", "biên tập:", "nguồn:",
];
/// Parenthesised roles after an author's name: "Thu Trang (thực hiện)".
#[rustfmt::skip]
const NAME_SUFFIXES: &[&str] = &[
    "thực hiện", "tổng hợp", "th", "lược dịch", "biên dịch", "dịch", "ghi", "ghi chép", "st",
    "sưu tầm", "ctv", "pv",
];
/// First words of an organisation unit printed under a byline.
#[rustfmt::skip]
const ORG_STARTS: &[&str] = &[
    "phòng", "ban", "văn phòng", "trung tâm", "vụ", "cục", "viện", "sở", "khoa", "tổ", "bộ", "báo",
    "tạp chí", "cổng thông tin", "đài", "hội", "hiệp hội", "trường",
];

// ---------------------------------------------------------------------------------------------
// Step 1: context-free patterns.

fn classify_line(line: &Line<'_>) -> Option<Reason> {
    if line.is_blank() {
        return None;
    }
    let text = line.text;
    if !text.chars().any(char::is_alphanumeric) {
        // "• :" and "|": a breadcrumb whose items were images or scripts.
        return text
            .contains(['•', '·', '|', '>', '»', '›', ':'])
            .then_some(Reason::Menu);
    }
    if is_font_toolbar(&line.key) {
        return Some(Reason::FontToolbar);
    }
    if is_social(&line.key) {
        return Some(Reason::Social);
    }
    if line.words <= 14 && RATING_PROMPTS.iter().any(|p| line.key.starts_with(p)) {
        return Some(Reason::RatingWidget);
    }
    match date_line(text) {
        Some(DateLine::Lone) => return Some(Reason::LoneDate),
        Some(DateLine::WithSource) => return Some(Reason::Dateline),
        None => {}
    }
    // Dateline rather than byline: callers recover the publication date from date lines.
    if is_credit_with_date(text) {
        return Some(Reason::Dateline);
    }
    if is_contact(line) {
        return Some(Reason::Contact);
    }
    if is_other_furniture(line) {
        return Some(Reason::Other);
    }
    if is_caption(line) {
        return Some(Reason::Caption);
    }
    if is_menu(text) || (line.key.starts_with("trang chủ") && is_nav_only(&line.key)) {
        return Some(Reason::Menu);
    }
    None
}

/// Splits a key into words for phrase matching, dropping separators.
fn phrase_words(key: &str) -> Vec<&str> {
    key.split(|c: char| c.is_whitespace() || matches!(c, '|' | '·' | '•' | ',' | ';' | '/'))
        .map(|w| w.trim_end_matches(':'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `words` consist only of `phrases` (longest match first) and `filler` words; returns
/// the phrases matched.
fn match_phrases<'p>(
    words: &[&str],
    phrases: &[&'p str],
    filler: impl Fn(&str) -> bool,
) -> Option<Vec<&'p str>> {
    let mut matched = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let mut best: Option<(&'p str, usize)> = None;
        for phrase in phrases {
            let len = phrase.split(' ').count();
            if i + len <= words.len()
                && phrase.split(' ').eq(words[i..i + len].iter().copied())
                && best.is_none_or(|(_, l)| len > l)
            {
                best = Some((phrase, len));
            }
        }
        if let Some((phrase, len)) = best {
            matched.push(phrase);
            i += len;
            continue;
        }
        if filler(words[i]) {
            i += 1;
            continue;
        }
        return None;
    }
    Some(matched)
}

fn is_font_toolbar(key: &str) -> bool {
    let words = phrase_words(key);
    match_phrases(&words, FONT, |w| w == "-")
        .is_some_and(|m| m.iter().any(|p| FONT_STRONG.contains(p)))
}

fn is_social(key: &str) -> bool {
    // "(0)", "12": comment and share counters.
    let counter = |w: &str| {
        w.trim_matches(['(', ')'])
            .chars()
            .all(|c| c.is_ascii_digit())
    };
    let words = phrase_words(key);
    match_phrases(&words, SOCIAL, counter)
        .is_some_and(|m| m.iter().any(|p| SOCIAL_STRONG.contains(p)))
}

fn is_nav_only(key: &str) -> bool {
    let words: Vec<&str> = phrase_words(key)
        .into_iter()
        .filter(|w| !is_dash(w))
        .collect();
    match_phrases(&words, NAV, |w| matches!(w, ">" | ">>" | "»" | "›"))
        .is_some_and(|m| !m.is_empty())
}

fn is_dash(w: &str) -> bool {
    matches!(w, "-" | "–" | "—")
}

/// A line of navigation items separated by "|", "»", "›", ">", ">>" or "→", each item short,
/// capitalised or a known section name, without digits or sentence punctuation.
fn is_menu(text: &str) -> bool {
    let unified = text.replace(">>", "|");
    let items: Vec<&str> = unified
        .split(['|', '»', '›', '>', '→', '•', '·'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    items.len() >= 2
        && items.iter().all(|item| {
            let words = item.split_whitespace().filter(|w| !is_dash(w)).count();
            let capitalised = item.chars().next().is_some_and(char::is_uppercase);
            (1..=6).contains(&words)
                && !item.chars().any(|c| c.is_ascii_digit())
                && !item.ends_with(['.', '!', '?', ':', ';', ','])
                && (capitalised || is_nav_only(&key(item)))
        })
}

enum DateLine {
    Lone,
    WithSource,
}

/// Classifies lines made of dates and times: "Thứ Ba, 12/03/2024 08:15 (GMT+7)",
/// "Hà Nội, Thứ Sáu Ngày 22/11/2024", "Cập nhật: 16/05/2024 | 14:20", and, with up to three
/// leading words of source name, datelines like "vietq 16:14 19/06/2023".
fn date_line(text: &str) -> Option<DateLine> {
    if text.split_whitespace().count() > 16 {
        return None;
    }
    // "Hà Nội, …": a place before the first comma is part of a date line.
    let body = match text.split_once(',') {
        Some((place, rest)) if is_place(place) => rest,
        _ => text,
    };
    let lowered = body.to_lowercase();
    let tokens: Vec<&str> = lowered
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '|' | '·' | '–' | '—' | '(' | ')'))
        .map(|t| t.trim_end_matches([':', ',', '.']))
        .filter(|t| !t.is_empty())
        .collect();
    // Strong anchors make a date line on their own; a bare "12/3" or "tháng 11" needs a date
    // word or a time beside it, or a lone fraction would count.
    let mut strong = 0;
    let mut weak = 0;
    let mut has_date = false;
    let mut has_time = false;
    let mut has_word = false;
    let mut leading_source = 0;
    let mut seen_date_part = false;
    for (k, tok) in tokens.iter().enumerate() {
        let full_date = is_full_date(tok);
        let day_month = is_day_month(tok);
        let month = *tok == "tháng" && tokens.get(k + 1).is_some_and(|n| is_number(n, 2));
        let time = is_time(tok);
        let zone = tok.starts_with("gmt") || tok.starts_with("utc") || is_offset(tok);
        let word = DATE_WORDS.contains(tok);
        let part = full_date || day_month || time || zone || word || is_number(tok, 4);
        if full_date || time || zone {
            strong += 1;
        }
        if day_month || month {
            weak += 1;
        }
        has_date |= full_date || day_month || month;
        has_time |= time;
        has_word |= word && *tok != "-";
        if part {
            seen_date_part = true;
        } else if seen_date_part {
            return None;
        } else {
            leading_source += 1;
        }
    }
    if strong == 0 && !(weak > 0 && (has_word || has_time)) {
        return None;
    }
    match leading_source {
        0 => Some(DateLine::Lone),
        1..=3 if has_date && has_time && leading_words_look_like_source(body, leading_source) => {
            Some(DateLine::WithSource)
        }
        _ => None,
    }
}

fn leading_words_look_like_source(body: &str, n: usize) -> bool {
    body.split_whitespace()
        .take(n)
        .all(|w| !w.ends_with(['.', '!', '?', ':', ';', ',']))
}

/// "Hà Nội", "TP.HCM", "Đà Nẵng": up to four capitalised words without digits.
fn is_place(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    (1..=4).contains(&words.len())
        && words
            .iter()
            .all(|w| w.chars().next().is_some_and(char::is_uppercase))
        && !s.chars().any(|c| c.is_ascii_digit())
}

fn is_number(tok: &str, max_len: usize) -> bool {
    (1..=max_len).contains(&tok.len()) && tok.chars().all(|c| c.is_ascii_digit())
}

/// dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd.
fn is_full_date(tok: &str) -> bool {
    let digits = |p: &str, lo: usize, hi: usize| (lo..=hi).contains(&p.len()) && is_number(p, hi);
    let parts: Vec<&str> = tok.split(['/', '-', '.']).collect();
    let uniform = tok.matches('/').count() == 2
        || tok.matches('-').count() == 2
        || tok.matches('.').count() == 2;
    match parts.as_slice() {
        [a, b, c] if uniform => {
            (digits(a, 1, 2) && digits(b, 1, 2) && digits(c, 2, 4))
                || (digits(a, 4, 4) && digits(b, 1, 2) && digits(c, 1, 2))
        }
        _ => false,
    }
}

/// dd/mm.
fn is_day_month(tok: &str) -> bool {
    tok.split_once('/')
        .is_some_and(|(d, m)| is_number(d, 2) && is_number(m, 2))
}

/// 08:15, 8:15:30, 16h40, 8h, 8g30.
fn is_time(tok: &str) -> bool {
    let digits = |p: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit())
    };
    if let Some((h, rest)) = tok.split_once(':') {
        return digits(h, 1, 2)
            && rest.split(':').count() <= 2
            && rest.split(':').all(|p| digits(p, 2, 2));
    }
    for sep in ['h', 'g'] {
        if let Some((h, m)) = tok.split_once(sep) {
            return digits(h, 1, 2) && (m.is_empty() || digits(m, 2, 2));
        }
    }
    false
}

/// "+7", "+07:00" after a spaced "GMT".
fn is_offset(tok: &str) -> bool {
    tok.strip_prefix('+')
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit() || c == ':'))
}

/// "Hoài Thu (thực hiện) | 08/05/2024 06:00": a credit and a date in "|"-separated segments.
fn is_credit_with_date(text: &str) -> bool {
    if !text.contains('|') {
        return false;
    }
    let segments: Vec<&str> = text
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let dates = segments
        .iter()
        .filter(|s| matches!(date_line(s), Some(DateLine::Lone)))
        .count();
    let credits = segments.iter().filter(|s| is_credit(&Line::new(s))).count();
    dates >= 1 && credits >= 1 && dates + credits == segments.len()
}

/// Hotline, email, phone and address footers. The label must open the line (or a "|" segment):
/// a sentence that mentions a hotline ("Người dân có thể gọi đường dây nóng 1022 …") is body.
fn is_contact(line: &Line<'_>) -> bool {
    let key = &line.key;
    if key.starts_with("bạn đang đọc bài viết") {
        return true;
    }
    let prose = line.words >= 12 && line.text.ends_with('.');
    if prose {
        return false;
    }
    key.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .any(|segment| {
            CONTACT_LABELS.iter().any(|label| {
                let Some(rest) = segment.strip_prefix(label) else {
                    return false;
                };
                // The label must be a whole word: "đt" must not match "đtđ…".
                if rest.chars().next().is_some_and(char::is_alphanumeric) {
                    return false;
                }
                let has_details = has_phone(rest) || has_email_or_url(rest);
                let labelled = rest.trim_start().starts_with(':');
                match *label {
                    "địa chỉ" | "tòa soạn" => labelled,
                    _ => {
                        has_details
                            && (labelled || line.words <= 10 || *label == "thông tin phản ánh")
                    }
                }
            })
        })
}

fn has_phone(s: &str) -> bool {
    // Digits in one run, allowing the spaces, dots and dashes used to group phone numbers.
    let mut best = 0;
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            run += 1;
            best = best.max(run);
        } else if !matches!(c, ' ' | '.' | '-' | '(' | ')' | '+') {
            run = 0;
        }
    }
    best >= 8
}

fn has_email_or_url(s: &str) -> bool {
    // "[email protected]" is how Cloudflare rewrites addresses in scraped pages.
    s.contains('@') || s.contains("[email") || s.contains("www.") || s.contains("http")
}

fn is_other_furniture(line: &Line<'_>) -> bool {
    line.words <= 30
        && (OTHER_PREFIXES.iter().any(|p| line.key.starts_with(p))
            || OTHER_EXACT.contains(&line.key.as_str())
            || (line.text.contains('©') && line.words <= 20))
}

fn is_caption(line: &Line<'_>) -> bool {
    let key = &line.key;
    if line.words <= 60 && CAPTION_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return true;
    }
    // "Ảnh minh họa", "(Ảnh minh họa)", "Ảnh minh họa: Internet".
    if line.words <= 12 && (key.starts_with("ảnh minh họa") || key.starts_with("(ảnh minh họa"))
    {
        return true;
    }
    if line.words <= 40 && (key.ends_with("(ảnh minh họa)") || key.ends_with(". ảnh minh họa"))
    {
        return true;
    }
    ends_with_photo_credit(line.text) && line.words <= 50
}

/// "Quang cảnh hội nghị. Ảnh: Hoàng Hà", "… bên lề hội thảo. (Ảnh: Minh Sơn/Vietnam+)".
/// The credit must start a sentence and be short, so that prose mentioning "ảnh:" is kept.
fn ends_with_photo_credit(text: &str) -> bool {
    let Some(pos) = ["Ảnh:", "Ảnh :", "ẢNH:"]
        .iter()
        .filter_map(|m| text.rfind(m))
        .max()
    else {
        return false;
    };
    let before = text[..pos].trim_end();
    let starts_sentence =
        before.is_empty() || before.ends_with(['.', '(', '-', '–', '|', '!', '?', '…']);
    let credit = text[pos..]
        .split_once(':')
        .map_or("", |(_, c)| c)
        .trim()
        .trim_end_matches(')');
    let credit_words = credit.split_whitespace().count();
    starts_sentence && (1..=8).contains(&credit_words) && !credit.ends_with(['!', '?'])
}

// ---------------------------------------------------------------------------------------------
// Step 2: positional rules.

fn is_prose(line: &Line<'_>) -> bool {
    line.words >= 30 || (line.words >= 8 && ends_sentence(line.text))
}

/// Ends with sentence punctuation, looking through closing quotes and brackets.
fn ends_sentence(text: &str) -> bool {
    text.trim_end_matches(['"', '\'', '”', '’', '»', ')', ']'])
        .ends_with(['.', '!', '?', '…', ':', ';'])
}

/// A short line without sentence punctuation. Wrapped lines are long, so a heading is never the
/// first half of a sentence even when the next line starts in lower case ("eKYC …").
fn is_heading(text: &str) -> bool {
    text.split_whitespace().count() <= 8 && !ends_sentence(text) && !text.ends_with(',')
}

fn starts_lowercase(text: &str) -> bool {
    text.chars().next().is_some_and(char::is_lowercase)
}

/// Walks the lines above the first body paragraph: navigation words and the site name before the
/// headline become menu, a credit under the headline becomes byline. Returns the headline.
fn header_zone(lines: &[Line<'_>], verdict: &mut [Option<Reason>]) -> Option<usize> {
    let mut headline = None;
    let mut after_headline = 0;
    for i in 0..lines.len() {
        let line = &lines[i];
        if line.is_blank() || verdict[i].is_some() {
            continue;
        }
        if headline.is_none() {
            if is_nav_only(&line.key) {
                verdict[i] = Some(Reason::Menu);
                continue;
            }
            if is_masthead(line)
                && next_content(lines, verdict, i)
                    .is_some_and(|j| verdict[j] == Some(Reason::Menu) || is_nav_only(&lines[j].key))
            {
                verdict[i] = Some(Reason::Menu);
                continue;
            }
            // A first line that is already a long paragraph means the page has no headline.
            if is_prose(line) && line.words >= 25 {
                return None;
            }
            headline = Some(i);
            continue;
        }
        if is_prose(line) {
            break;
        }
        if is_nav_only(&line.key) {
            verdict[i] = Some(Reason::Menu);
        } else if is_credit(line) {
            verdict[i] = Some(Reason::Byline);
        }
        after_headline += 1;
        if after_headline >= 6 {
            break;
        }
    }
    headline
}

/// The next non-blank line after `i` that no rule has removed yet, or that is a menu.
fn next_content(lines: &[Line<'_>], verdict: &[Option<Reason>], i: usize) -> Option<usize> {
    (i + 1..lines.len())
        .find(|&j| !lines[j].is_blank() && matches!(verdict[j], None | Some(Reason::Menu)))
}

/// A site or organisation name: short, capitalised word after word, no sentence punctuation.
/// Vietnamese headlines are in sentence case, which is what tells them apart.
fn is_masthead(line: &Line<'_>) -> bool {
    let words: Vec<&str> = line
        .text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    if words.is_empty() || words.len() > 12 || ends_sentence(line.text) {
        return false;
    }
    if line.text.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let capitalised = words
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    capitalised * 10 >= words.len() * 6
}

/// A related-links header; the flag says whether a headline follows on the same line
/// ("Xem thêm: …").
fn related_header(line: &Line<'_>) -> Option<bool> {
    let key = line
        .key
        .trim_start_matches(['>', '»', '•', '-', '–', '*', ' '])
        .trim_end_matches(['>', '»', ':', ' ']);
    if RELATED.contains(&key) {
        return Some(false);
    }
    for header in RELATED {
        let Some(rest) = key.strip_prefix(header) else {
            continue;
        };
        if let Some(inline) = rest.strip_prefix(':') {
            if !inline.trim().is_empty() {
                return Some(true);
            }
        }
        // "Tin cùng chuyên mục Tin tức trong nước": the section name follows the header.
        if *header == "tin cùng chuyên mục" && rest.starts_with(' ') {
            let original_rest = line.text.split_whitespace().skip(4).collect::<Vec<_>>();
            let section_ok = (1..=6).contains(&original_rest.len())
                && original_rest
                    .first()
                    .is_some_and(|w| w.chars().next().is_some_and(char::is_uppercase))
                && !ends_sentence(line.text);
            if section_ok {
                return Some(false);
            }
        }
    }
    None
}

/// A line that can be a listed headline: short, no full stop, not otherwise furniture.
fn is_listed_headline(line: &Line<'_>) -> bool {
    !line.is_blank()
        && line.words <= 30
        && !line
            .text
            .trim_end_matches(['"', '”', '’', ')'])
            .ends_with('.')
}

/// Related-article blocks. When no body paragraph follows, the block and everything after it
/// go; when the body resumes, only the header and the one to five headlines under it go.
fn related_links(lines: &[Line<'_>], verdict: &mut [Option<Reason>], headline: Option<usize>) {
    let n = lines.len();
    let mut i = 0;
    while i < n {
        if verdict[i].is_some() || Some(i) == headline {
            i += 1;
            continue;
        }
        let Some(inline) = related_header(&lines[i]) else {
            i += 1;
            continue;
        };
        // The listed headlines: the rest of the header's block, or the next block.
        let mut listed = Vec::new();
        if !inline {
            let mut j = i + 1;
            if j < n && lines[j].is_blank() {
                while j < n && lines[j].is_blank() {
                    j += 1;
                }
            }
            while j < n && !lines[j].is_blank() {
                listed.push(j);
                j += 1;
            }
        }
        let after = listed.last().map_or(i + 1, |last| last + 1);
        let all_headlines = listed
            .iter()
            .all(|&j| verdict[j].is_some() || is_listed_headline(&lines[j]));
        // A "header" followed by prose is not listing anything: look for the body from there.
        let scan_from = if all_headlines { after } else { i + 1 };
        let body_resumes = (scan_from..n).any(|j| {
            verdict[j].is_none() && is_prose(&lines[j]) && related_header(&lines[j]).is_none()
        });
        // "In the last part of the article": more kept text before the header than after it.
        let kept_chars = |range: std::ops::Range<usize>| -> usize {
            range
                .filter(|&j| verdict[j].is_none())
                .map(|j| lines[j].text.len())
                .sum()
        };
        let in_last_part = kept_chars(0..i) >= kept_chars(i + 1..n);
        if !body_resumes && in_last_part {
            for j in i..n {
                if !lines[j].is_blank() && verdict[j].is_none() {
                    verdict[j] = Some(Reason::RelatedLinks);
                }
            }
            return;
        }
        verdict[i] = Some(Reason::RelatedLinks);
        let after_headline = headline.is_none_or(|h| i > h);
        if after_headline && (1..=5).contains(&listed.len()) && all_headlines {
            for &j in &listed {
                verdict[j].get_or_insert(Reason::RelatedLinks);
            }
        }
        i = after;
    }
}

/// The answer options under a rating prompt ("Hay Bình thường Chưa hay", or one per line).
fn rating_options(lines: &[Line<'_>], verdict: &mut [Option<Reason>]) {
    for i in 0..lines.len() {
        if verdict[i] != Some(Reason::RatingWidget) {
            continue;
        }
        let mut blanks = 0;
        for j in i + 1..lines.len() {
            if lines[j].is_blank() {
                blanks += 1;
                if blanks > 1 {
                    break;
                }
                continue;
            }
            if verdict[j].is_some() {
                continue;
            }
            let words = phrase_words(&lines[j].key);
            if match_phrases(&words, RATING_OPTIONS, |w| w == "-").is_some_and(|m| !m.is_empty()) {
                verdict[j] = Some(Reason::RatingWidget);
            } else {
                break;
            }
        }
    }
}

/// Some sites print the headline again as the alt text of each photo, with the caption on the
/// next line of the same block.
fn repeated_headline(lines: &[Line<'_>], verdict: &mut [Option<Reason>], headline: Option<usize>) {
    let Some(h) = headline else { return };
    let title = lines[h].text;
    for i in h + 1..lines.len() {
        if verdict[i].is_some() || lines[i].text != title {
            continue;
        }
        verdict[i] = Some(Reason::Caption);
        if let Some(next) = lines.get(i + 1) {
            if !next.is_blank() && verdict[i + 1].is_none() && !ends_sentence(next.text) {
                verdict[i + 1] = Some(Reason::Caption);
            }
        }
    }
}

/// Credits at the end of the article: the last lines before the trailing furniture, when they
/// are names ("Minh Anh", "Hà An - Minh Đức"), "PV", "Theo TTXVN" and the like, possibly with the
/// author's department under the name.
fn trailing_byline(lines: &[Line<'_>], verdict: &mut [Option<Reason>], headline: Option<usize>) {
    let mut candidates = Vec::new();
    let mut has_credit = false;
    for i in (0..lines.len()).rev() {
        if lines[i].is_blank() || verdict[i].is_some() {
            continue;
        }
        if Some(i) == headline || candidates.len() >= 4 {
            break;
        }
        let line = &lines[i];
        if is_credit(line) {
            has_credit = true;
            candidates.push(i);
        } else if is_org_unit(line) {
            candidates.push(i);
        } else if is_nav_only(&line.key) {
            verdict[i] = Some(Reason::Menu);
        } else {
            break;
        }
    }
    if has_credit {
        for i in candidates {
            verdict[i] = Some(Reason::Byline);
        }
    }
}

/// An author or source credit standing alone on a line.
fn is_credit(line: &Line<'_>) -> bool {
    let key = line.key.as_str();
    let text = line.text;
    if line.words == 0 || line.words > 10 {
        return false;
    }
    if BYLINE_EXACT.contains(&key) || BYLINE_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return true;
    }
    // "BAN BIÊN TẬP", glued to whatever the scraper caught after it ("BAN BIÊN TẬPTg"), but not
    // a sentence that starts with the words.
    if key.starts_with("ban biên tập") {
        return line.words <= 4 && !ends_sentence(text);
    }
    // "PV/TTXVN", "Nhóm PV - TTXVN".
    let agency = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_uppercase() || c == '+');
    if key.starts_with("pv/") || key.starts_with("pv -") {
        return text.split(['/', '-']).skip(1).all(|w| agency(w.trim()));
    }
    // "Theo TTXVN", "(Theo Báo Chính phủ)", "(TTXVN/Vietnam+)".
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')').or(t.strip_suffix(").")));
    let unwrapped = inner.unwrap_or(text).trim_end_matches('.');
    if let Some(source) = unwrapped.strip_prefix("Theo ") {
        return line.words <= 7
            && source.chars().next().is_some_and(char::is_uppercase)
            && !source.contains([',', ';', ':'])
            && !ends_sentence(source);
    }
    if let Some(inner) = inner {
        return line.words <= 6 && (is_source_name(inner) || is_name_line(inner));
    }
    is_name_line(text)
}

/// Agency and site names: "TTXVN", "TTXVN/Vietnam+", "Chinhphu.vn", "VOV". A bracketed note
/// like "(Số liệu sơ bộ)" is not one.
fn is_source_name(s: &str) -> bool {
    let mut tokens = s
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|t| !t.is_empty())
        .peekable();
    tokens.peek().is_some()
        && tokens.all(|t| {
            let capital = t.chars().next().is_some_and(char::is_uppercase);
            let acronym = t.chars().count() >= 2
                && t.chars().all(|c| c.is_uppercase() || c == '+' || c == '.');
            let domain = t.contains('.')
                && !t.ends_with('.')
                && t.chars().all(|c| c.is_alphanumeric() || c == '.');
            capital && (acronym || domain || t.ends_with('+'))
        })
}

/// Personal names, one or several ("Thu Hằng", "Lê Thu - Hoàng Anh", "Minh Anh/TTXVN"),
/// optionally with a role in brackets ("Thu Trang (thực hiện)").
fn is_name_line(text: &str) -> bool {
    let mut names = text.trim();
    if let Some(open) = names.rfind('(') {
        let role = key(names[open..].trim_matches(['(', ')', ' ']));
        if names.ends_with(')')
            && (NAME_SUFFIXES.contains(&role.as_str()) || role.starts_with("theo "))
        {
            names = names[..open].trim_end();
        }
    }
    if names.is_empty() || names.chars().count() > 60 || names.chars().any(|c| c.is_ascii_digit()) {
        return false;
    }
    let unified = names
        .replace(" và ", "|")
        .replace(" - ", "|")
        .replace(" – ", "|")
        .replace(", ", "|");
    let mut person = false;
    for part in unified.split(['|', '/']).map(str::trim) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let is_person = (2..=4).contains(&words.len()) && words.iter().all(|w| is_name_syllable(w));
        let is_agency = words.len() == 1
            && words[0].chars().count() >= 2
            && words[0]
                .chars()
                .all(|c| c.is_uppercase() || c == '+' || c == '.');
        if is_person {
            person = true;
        } else if !is_agency {
            return false;
        }
    }
    person
}

/// "Hằng", "Nguyễn": a capital followed by lower-case letters, as long as a syllable.
fn is_name_syllable(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest: Vec<char> = chars.collect();
    first.is_uppercase() && rest.len() <= 6 && rest.iter().all(|c| c.is_lowercase())
}

/// A department printed under the author's name: "Phòng Thông tin và xúc tiến thương mại".
fn is_org_unit(line: &Line<'_>) -> bool {
    line.words <= 12
        && line.text.chars().next().is_some_and(char::is_uppercase)
        && !line.text.chars().any(|c| c.is_ascii_digit())
        && !ends_sentence(line.text)
        && ORG_STARTS
            .iter()
            .any(|o| line.key.strip_prefix(o).is_some_and(|r| r.starts_with(' ')))
}

// ---------------------------------------------------------------------------------------------
// Output.

fn is_list_item(text: &str) -> bool {
    let mut chars = text.chars();
    match chars.next() {
        Some('-' | '–' | '—' | '•' | '+' | '*' | '·') => {
            chars.next().is_some_and(char::is_whitespace)
        }
        Some(c) if c.is_ascii_alphanumeric() => {
            let marker: String = text
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let rest = &text[marker.len()..];
            marker.len() <= 2
                && (marker.chars().all(|c| c.is_ascii_digit()) || marker.len() == 1)
                && (rest.starts_with(") ") || rest.starts_with(". "))
        }
        _ => false,
    }
}

/// Joins the kept lines. A blank or removed line ends a paragraph, and so does a line break after
/// a complete line: scraped text often has one paragraph per line with no blank lines at all.
/// Lines stay together only when the next one visibly continues the same paragraph (it starts in
/// lower case, as after a hard wrap) or a list goes on.
fn assemble(lines: &[Line<'_>], verdict: &[Option<Reason>]) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Option<(String, &str)> = None;
    for (line, reason) in lines.iter().zip(verdict) {
        if line.is_blank() || reason.is_some() {
            if let Some((p, _)) = current.take() {
                paragraphs.push(p);
            }
            continue;
        }
        match current.as_mut() {
            Some((p, prev))
                if (starts_lowercase(line.text) && !is_heading(prev))
                    || (is_list_item(line.text) && (is_list_item(prev) || prev.ends_with(':'))) =>
            {
                p.push('\n');
                p.push_str(line.text);
                *prev = line.text;
            }
            _ => {
                if let Some((p, _)) = current.take() {
                    paragraphs.push(p);
                }
                current = Some((line.text.to_string(), line.text));
            }
        }
    }
    if let Some((p, _)) = current {
        paragraphs.push(p);
    }
    paragraphs.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(input: &str) -> Vec<(String, Reason)> {
        clean(input)
            .removed
            .into_iter()
            .map(|r| (r.text, r.reason))
            .collect()
    }

    #[track_caller]
    fn assert_removed(input: &str, expected: &[(&str, Reason)]) {
        let got = removed(input);
        let want: Vec<(String, Reason)> =
            expected.iter().map(|(t, r)| (t.to_string(), *r)).collect();
        assert_eq!(got, want, "\ncleaned text:\n{}", clean(input).text);
    }

    #[track_caller]
    fn assert_keeps(input: &str) {
        let cleaned = clean(input);
        assert!(cleaned.removed.is_empty(), "removed {:?}", cleaned.removed);
    }

    const BODY_1: &str =
        "Theo báo cáo của Cục Chuyển đổi số quốc gia, đến hết tháng 6/2024, tỷ lệ hồ sơ \
        được xử lý trực tuyến toàn trình tiếp tục tăng so với cùng kỳ năm trước.";
    const BODY_2: &str =
        "Phát biểu kết luận, Thứ trưởng yêu cầu các đơn vị tập trung hoàn thành các văn \
        bản hướng dẫn và đẩy nhanh kết nối dữ liệu giữa các bộ, ngành.";

    #[test]
    fn vocabulary_is_written_as_keys() {
        let lists: [&[&str]; 14] = [
            NAV,
            FONT,
            FONT_STRONG,
            SOCIAL,
            SOCIAL_STRONG,
            RATING_PROMPTS,
            RATING_OPTIONS,
            RELATED,
            CONTACT_LABELS,
            OTHER_PREFIXES,
            OTHER_EXACT,
            CAPTION_PREFIXES,
            BYLINE_EXACT,
            BYLINE_PREFIXES,
        ];
        for phrase in lists
            .iter()
            .flat_map(|l| l.iter())
            .chain(NAME_SUFFIXES)
            .chain(ORG_STARTS)
        {
            assert_eq!(key(phrase), *phrase);
        }
        assert_eq!(key("Ảnh minh hoạ"), "ảnh minh họa");
        assert_eq!(key("Thuỷ  lợi\u{00A0}hoàn"), "thủy lợi hoàn");
        assert_eq!(key("Quý"), "quý");
    }

    #[test]
    fn seed_style_header_with_toolbar_and_rating_footer() {
        let input = format!(
            "• :\n  • :\nA- A A+ | Tăng tương phản Giảm tương phản\n\n\
             Kết hợp hài hoà giữa công nghiệp hoá và phát triển đô thị\n\n\
             Thứ trưởng nói về các giải pháp phát triển công nghiệp gắn với đô thị.\n\n{BODY_1}\n\n\
             Kết hợp hài hoà giữa công nghiệp hoá và phát triển đô thị\n\
             Thứ trưởng Bộ Công Thương trình bày tham luận tại Hội nghị\n\n{BODY_2}\n\n\u{00A0}\n\n\
             Tổng số điểm của bài viết là: 0 trong 0 đánh giá\nClick để đánh giá bài viết\nTin liên quan"
        );
        let cleaned = clean(&input);
        assert_eq!(
            cleaned.text,
            format!(
                "Kết hợp hài hoà giữa công nghiệp hoá và phát triển đô thị\n\n\
                 Thứ trưởng nói về các giải pháp phát triển công nghiệp gắn với đô thị.\n\n\
                 {BODY_1}\n\n{BODY_2}"
            )
        );
        let reasons: Vec<(usize, Reason)> =
            cleaned.removed.iter().map(|r| (r.line, r.reason)).collect();
        assert_eq!(
            reasons,
            [
                (1, Reason::Menu),
                (2, Reason::Menu),
                (3, Reason::FontToolbar),
                (11, Reason::Caption),
                (12, Reason::Caption),
                (18, Reason::RatingWidget),
                (19, Reason::RatingWidget),
                (20, Reason::RelatedLinks),
            ]
        );
    }

    #[test]
    fn seed_style_dateline_caption_and_contact_footer() {
        let input = format!(
            "Hà Nội, Thứ Sáu Ngày 22/11/2024\n\nXây dựng tiêu chuẩn quốc gia về sản xuất thông minh\n\n\
             vietq 16:14 19/06/2023\n\nTrưởng Ban Kinh tế Trung ương cho rằng cần có khung pháp luật cho \
             sản xuất thông minh, mô hình nhà máy thông minh và hệ thống tiêu chuẩn quốc gia đi kèm\n\n\
             {BODY_1}\n\nẢnh minh hoạ\n\n{BODY_2}\n\nBạn đang đọc bài viết Xây dựng tiêu chuẩn tại \
             chuyên mục Tin tức trong nước. Thông tin phản ánh, liên hệ đường dây nóng : 0915 15 67 76 \
             Hoặc email: [email protected]\nTin cùng chuyên mục Tin tức trong nước"
        );
        assert_removed(&input, &[
            ("Hà Nội, Thứ Sáu Ngày 22/11/2024", Reason::LoneDate),
            ("vietq 16:14 19/06/2023", Reason::Dateline),
            ("Ảnh minh hoạ", Reason::Caption),
            (
                "Bạn đang đọc bài viết Xây dựng tiêu chuẩn tại chuyên mục Tin tức trong nước. Thông tin \
                 phản ánh, liên hệ đường dây nóng : 0915 15 67 76 Hoặc email: [email protected]",
                Reason::Contact,
            ),
            ("Tin cùng chuyên mục Tin tức trong nước", Reason::RelatedLinks),
        ]);
        // The lead paragraph has no final full stop and must survive.
        assert!(clean(&input).text.contains("tiêu chuẩn quốc gia đi kèm"));
    }

    #[test]
    fn seed_style_masthead_breadcrumb_and_signed_footer() {
        let input = format!(
            "TIN TỨC\n\nViện Nghiên cứu Chiến lược, Chính sách Công Thương\n\nTrang chủ >> Tin tức\n\n\
             Hội thảo nhiệm vụ phát triển các ngành công nghiệp mới cho đồng bằng Sông Hồng\n\n\
             04/06/2024\n\n{BODY_1}\n\n- Rà soát, chỉnh sửa lỗi kỹ thuật, tham khảo thêm số liệu.\n\n\
             {BODY_2}\n\n           Từ Quỳnh Châu\n\nPhòng Thông tin và xúc tiến thương mại\n\nTIN KHÁC"
        );
        assert_removed(
            &input,
            &[
                ("TIN TỨC", Reason::Menu),
                (
                    "Viện Nghiên cứu Chiến lược, Chính sách Công Thương",
                    Reason::Menu,
                ),
                ("Trang chủ >> Tin tức", Reason::Menu),
                ("04/06/2024", Reason::LoneDate),
                ("Từ Quỳnh Châu", Reason::Byline),
                ("Phòng Thông tin và xúc tiến thương mại", Reason::Byline),
                ("TIN KHÁC", Reason::RelatedLinks),
            ],
        );
    }

    #[test]
    fn seed_style_photo_lines_and_editorial_credit() {
        let input = format!(
            "{BODY_1}\n\nẢnh: Đại biểu dự Hội nghị tại điểm cầu tỉnh Cà Mau\n\n{BODY_2}\n\n BAN BIÊN TẬPTg"
        );
        assert_removed(
            &input,
            &[
                (
                    "Ảnh: Đại biểu dự Hội nghị tại điểm cầu tỉnh Cà Mau",
                    Reason::Caption,
                ),
                ("BAN BIÊN TẬPTg", Reason::Byline),
            ],
        );
    }

    #[test]
    fn draft_style_full_page() {
        let input = format!(
            "Trang chủ | Thời sự | Kinh tế | Số hóa | Pháp luật\nThứ Sáu, 12/07/2024 16:40 (GMT+7)\n\
             Hoàn thiện thể chế và nhân lực cho chuyển đổi số\nThu Trang (thực hiện)\nA- A A+\n\n{BODY_1}\n\n\
             Hành lang pháp lý dần đầy đủ\n\nQuang cảnh hội nghị sơ kết tại Hà Nội. Ảnh: Hoàng Hà\n\n\
             {BODY_2}\n\nXin cảm ơn ông!\n\nThu Hằng\n\nChia sẻ   Bình luận (0)\n\nBạn thấy bài viết thế nào?\n\
             Hay\nBình thường\nChưa hay\n\nTin liên quan\nLuật Giao dịch điện tử có hiệu lực: doanh nghiệp \
             cần chuẩn bị gì?\nDịch vụ công trực tuyến: từ “có” đến “dùng”\n\n\
             Đường dây nóng: 0912 678 345 | Email: toasoan@baolaocai.vn"
        );
        let cleaned = clean(&input);
        assert_eq!(
            cleaned.text,
            format!(
                "Hoàn thiện thể chế và nhân lực cho chuyển đổi số\n\n{BODY_1}\n\n\
                 Hành lang pháp lý dần đầy đủ\n\n{BODY_2}\n\nXin cảm ơn ông!"
            )
        );
        let reasons: Vec<Reason> = cleaned.removed.iter().map(|r| r.reason).collect();
        use Reason::*;
        assert_eq!(
            reasons,
            [
                Menu,
                LoneDate,
                Byline,
                FontToolbar,
                Caption,
                Byline,
                Social,
                RatingWidget,
                RatingWidget,
                RatingWidget,
                RatingWidget,
                RelatedLinks,
                RelatedLinks,
                RelatedLinks,
                Contact,
            ]
        );
    }

    #[test]
    fn mid_article_related_block_removes_only_its_headlines() {
        let input = format!(
            "Tiêu đề bài viết về tăng trưởng\n\n{BODY_1}\n\nTin liên quan\n\
             Giải ngân vốn đầu tư công năm 2023 đạt mức cao nhất\nNgân hàng Nhà nước giao chỉ tiêu tín dụng\n\n\
             {BODY_2}\n\nNăm 2024: ưu tiên thúc đẩy tăng trưởng\n\n{BODY_1}\n\n\
             Xem thêm: Hơn 30 tỉnh đã có trung tâm hỗ trợ khởi nghiệp\n\n{BODY_2}"
        );
        let cleaned = clean(&input);
        assert_removed(
            &input,
            &[
                ("Tin liên quan", Reason::RelatedLinks),
                (
                    "Giải ngân vốn đầu tư công năm 2023 đạt mức cao nhất",
                    Reason::RelatedLinks,
                ),
                (
                    "Ngân hàng Nhà nước giao chỉ tiêu tín dụng",
                    Reason::RelatedLinks,
                ),
                (
                    "Xem thêm: Hơn 30 tỉnh đã có trung tâm hỗ trợ khởi nghiệp",
                    Reason::RelatedLinks,
                ),
            ],
        );
        assert!(cleaned
            .text
            .contains("Năm 2024: ưu tiên thúc đẩy tăng trưởng"));
        assert_eq!(cleaned.text.matches(BODY_2).count(), 2);
    }

    #[test]
    fn tail_related_block_takes_everything_after_it() {
        let input = format!(
            "Tiêu đề\n\n{BODY_1}\n\nTin khác\nHuế ra mắt bản đồ số di tích\n\n\
             Một dòng lạ không rõ là gì\n\nBình luận (0)"
        );
        assert_removed(
            &input,
            &[
                ("Tin khác", Reason::RelatedLinks),
                ("Huế ra mắt bản đồ số di tích", Reason::RelatedLinks),
                ("Một dòng lạ không rõ là gì", Reason::RelatedLinks),
                ("Bình luận (0)", Reason::Social),
            ],
        );
    }

    #[test]
    fn bylines_in_their_usual_shapes() {
        for byline in [
            "Minh Anh",
            "PV",
            "Nhóm PV",
            "Theo TTXVN",
            "(Theo Báo Chính phủ)",
            "Hà An - Minh Đức",
            "(TTXVN/Vietnam+)",
            "Văn Ny",
            "Lê Thu và Hoàng Anh",
            "Minh Anh/TTXVN",
            "PV/TTXVN",
            "Nguồn: Bộ Công Thương",
        ] {
            let input = format!("Tiêu đề\n\n{BODY_1}\n\n{byline}");
            assert_removed(&input, &[(byline, Reason::Byline)]);
        }
        let top = format!("Tiêu đề bài viết\n\nLê Thu - Hoàng Anh\n\n{BODY_1}");
        assert_removed(&top, &[("Lê Thu - Hoàng Anh", Reason::Byline)]);
        let with_date =
            format!("Tiêu đề bài viết\n\nHoài Thu (thực hiện) | 08/05/2024 06:00\n\n{BODY_1}");
        assert_removed(
            &with_date,
            &[("Hoài Thu (thực hiện) | 08/05/2024 06:00", Reason::Dateline)],
        );
    }

    #[test]
    fn lone_dates_in_their_usual_shapes() {
        for date in [
            "Thứ Sáu, 22/11/2024",
            "Hà Nội, Thứ Sáu Ngày 22/11/2024",
            "08:15 12/03/2024",
            "(GMT+7)",
            "Thứ Ba, 12/03/2024 08:15 (GMT+7)",
            "Thứ Năm, 08/06/2023 - 09:12",
            "Cập nhật: 16/05/2024 | 14:20",
            "Chủ Nhật, 06/10/2024 - 11:12",
            "Thứ Tư, 10/01/2024 | 14:35",
            "ngày 22 tháng 11 năm 2024",
            "2024-03-12 08:15",
            "16h40 ngày 12/3/2024",
        ] {
            let input = format!("Tiêu đề\n\n{date}\n\n{BODY_1}");
            assert_removed(&input, &[(date, Reason::LoneDate)]);
        }
    }

    #[test]
    fn social_toolbar_contact_and_other() {
        let cases: [(&str, Reason); 12] = [
            ("Chia sẻ", Reason::Social),
            ("Facebook Twitter Zalo", Reason::Social),
            ("In bài", Reason::Social),
            ("Lưu bài", Reason::Social),
            ("Chia sẻ | Bình luận (0)", Reason::Social),
            ("A+ A-", Reason::FontToolbar),
            ("Cỡ chữ: A- A+", Reason::FontToolbar),
            (
                "Email: toasoan@vietnamnet.vn | Đường dây nóng: 0923 457 890",
                Reason::Contact,
            ),
            ("Hotline: 0912 345 678", Reason::Contact),
            (
                "Địa chỉ: Số 10 Tràng Thi, Hoàn Kiếm, Hà Nội",
                Reason::Contact,
            ),
            (
                "© 2024 Báo Điện tử. Ghi rõ nguồn khi phát hành lại thông tin",
                Reason::Other,
            ),
            ("Kinh tế » Đầu tư", Reason::Menu),
        ];
        for (line, reason) in cases {
            let input = format!("Tiêu đề\n\n{BODY_1}\n\n{line}\n\n{BODY_2}");
            assert_removed(&input, &[(line, reason)]);
        }
    }

    #[test]
    fn captions_in_their_usual_shapes() {
        for caption in [
            "Ảnh: TTXVN",
            "(Ảnh: Minh Sơn/Vietnam+)",
            "Nguồn ảnh: Internet",
            "Ảnh minh họa",
            "Các đại biểu tham quan gian trưng bày. (Ảnh: Minh Sơn/Vietnam+)",
            "Toàn cảnh hội nghị tại điểm cầu Trụ sở Chính phủ. Ảnh: VGP",
        ] {
            let input = format!("Tiêu đề\n\n{BODY_1}\n\n{caption}\n\n{BODY_2}");
            assert_removed(&input, &[(caption, Reason::Caption)]);
        }
    }

    #[test]
    fn body_lines_that_look_like_furniture_are_kept() {
        // "Ảnh hưởng" is not "Ảnh:"; a hotline mentioned in a sentence is content.
        assert_keeps(&format!(
            "Ảnh hưởng của bão Yagi khiến GDP quý III giảm khoảng 0,3 điểm phần trăm.\n\n{BODY_1}"
        ));
        assert_keeps(&format!(
            "Tiêu đề\n\n{BODY_1}\n\nNgười dân có thể gọi đường dây nóng 1022 hoặc gửi email tới \
             hotline@hanoi.gov.vn để phản ánh vướng mắc.\n\nHotline của Sở đã tiếp nhận hơn 2.000 cuộc gọi \
             trong tháng 5.\n\n{BODY_2}"
        ));
        // A short closing sentence, a sentence with a date, a quote and list items.
        assert_keeps(&format!(
            "Tiêu đề\n\n{BODY_1}\n\nQuy chế có hiệu lực từ ngày 01/9/2024.\n\n“Chúng tôi sẽ làm ngay”, \
             ông nói.\n\nNhiệm vụ gồm:\n- Rà soát quy hoạch\n- Hoàn thiện thể chế\n\nXin cảm ơn ông!"
        ));
        // "Tin liên quan đến…" opens a sentence, it is not a related-links header.
        assert_keeps(&format!(
            "Tiêu đề\n\nTin liên quan đến giá điện được dư luận quan tâm.\n\n{BODY_1}"
        ));
        // Subheadings without punctuation, inside the body.
        assert_keeps(&format!(
            "Tiêu đề\n\n{BODY_1}\n\nThiếu người làm chuyển đổi số\n\n{BODY_2}"
        ));
    }

    #[test]
    fn headline_without_final_punctuation_is_kept() {
        let input =
            format!("Trang chủ | Kinh tế\n\nBắc Giang dẫn đầu cả nước về tăng trưởng\n\n{BODY_1}");
        let cleaned = clean(&input);
        assert!(cleaned
            .text
            .starts_with("Bắc Giang dẫn đầu cả nước về tăng trưởng\n\n"));
        // Even when the headline is a short capitalised name, it is not a byline.
        let short = format!("Bắc Giang\n\n{BODY_1}");
        assert_keeps(&short);
        let only = "Bắc Giang";
        assert_keeps(only);
    }

    #[test]
    fn paragraphs_are_normalised() {
        // One paragraph per line (no blank lines), runs of blank lines, a hard-wrapped sentence,
        // a heading before a lower-case word, a list under its lead-in, CRLF.
        let input = "  Dòng một kết thúc.  \nDòng hai kết thúc.\n\n\n\nThứ trưởng cho biết sự phát \
                     triển đô thị có mối quan hệ\nliên kết chặt chẽ với sản xuất.\r\nĐịnh danh điện tử\n\
                     eKYC được triển khai.\nNhiệm vụ:\n- Một\n- Hai\n";
        assert_eq!(
            clean(input).text,
            "Dòng một kết thúc.\n\nDòng hai kết thúc.\n\nThứ trưởng cho biết sự phát triển đô thị \
             có mối quan hệ\nliên kết chặt chẽ với sản xuất.\n\nĐịnh danh điện tử\n\neKYC được \
             triển khai.\n\nNhiệm vụ:\n- Một\n- Hai"
        );
        assert_eq!(clean("").text, "");
        assert_eq!(clean("\n \n").text, "");
    }

    #[test]
    fn reasons_serialise_in_kebab_case_and_explain_themselves() {
        assert_eq!(
            serde_json::to_string(&Reason::FontToolbar).ok().as_deref(),
            Some("\"font-toolbar\"")
        );
        assert_eq!(
            serde_json::to_string(&Reason::LoneDate).ok().as_deref(),
            Some("\"lone-date\"")
        );
        for reason in [
            Reason::Menu,
            Reason::FontToolbar,
            Reason::Caption,
            Reason::RelatedLinks,
            Reason::Byline,
            Reason::Contact,
            Reason::RatingWidget,
            Reason::LoneDate,
            Reason::Social,
            Reason::Dateline,
            Reason::Other,
        ] {
            assert!(reason.explain().ends_with('.'));
        }
    }
}
