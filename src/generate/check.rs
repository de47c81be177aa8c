//! Checks on generated text. A small model can stop at once, drift into another language or
//! repeat itself; such summaries are flagged (and the extractive summary is kept beside them)
//! rather than shown as if they were good.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// Nothing (or only punctuation) was generated.
    Empty,
    /// Too few Vietnamese letters for a Vietnamese text.
    NotVietnamese,
    /// The same phrase repeats.
    Looping,
    /// Cut at the new-token bound, mid-sentence.
    Truncated,
    /// States a number, date, document code or name the article does not contain
    /// (see `faithful`).
    Unsupported,
}

impl Flag {
    pub fn describe(&self) -> &'static str {
        match self {
            Flag::Empty => "empty output",
            Flag::NotVietnamese => "not Vietnamese",
            Flag::Looping => "repeats itself",
            Flag::Truncated => "cut at the token bound",
            Flag::Unsupported => "facts not in the article",
        }
    }
}

/// Letters that only Vietnamese (among Latin-script languages a policy feed carries) uses so
/// often: đ, ă, â, ê, ô, ơ, ư and every tone-marked vowel.
fn vietnamese_letter(c: char) -> bool {
    const BASES: &str = "đăâêôơưĐĂÂÊÔƠƯ";
    if BASES.contains(c) {
        return true;
    }
    use unicode_normalization::UnicodeNormalization;
    let mut d = std::iter::once(c).nfd();
    let base = d.next();
    base.is_some_and(|b| "aeiouyAEIOUY".contains(b))
        && d.any(|m| matches!(m, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}'))
}

/// Share of letters that are Latin, and share that are Vietnamese-specific.
pub fn script_shares(text: &str) -> (f64, f64) {
    use unicode_normalization::UnicodeNormalization;
    let (mut letters, mut latin, mut viet) = (0usize, 0usize, 0usize);
    // Composed, a marked vowel is one letter; decomposed, its marks are not letters at all.
    for c in text.nfc().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if c.is_ascii_alphabetic()
            || ('\u{C0}'..='\u{24F}').contains(&c)
            || ('\u{1E00}'..='\u{1EFF}').contains(&c)
        {
            latin += 1;
        }
        if vietnamese_letter(c) {
            viet += 1;
        }
    }
    if letters == 0 {
        return (0.0, 0.0);
    }
    (latin as f64 / letters as f64, viet as f64 / letters as f64)
}

/// Vietnamese prose has a marked letter in roughly one letter of six; English has none. A
/// short text gets the benefit of the doubt only if it has some.
pub fn is_vietnamese(text: &str) -> bool {
    let (latin, viet) = script_shares(text);
    latin >= 0.9 && viet >= 0.06
}

/// Word 3-grams: a text where one 3-gram covers a large part of the text loops.
pub fn is_looping(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 9 {
        return false;
    }
    let mut counts: HashMap<&[String], usize> = HashMap::new();
    for g in words.windows(3) {
        *counts.entry(g).or_default() += 1;
    }
    let max = counts.values().copied().max().unwrap_or(0);
    max >= 3 && max * 3 * 4 >= words.len()
}

/// True when the last tokens are one block repeated: at least 3 times, and over at least 12
/// tokens (so "1, 1, 1" in a list of figures is not a loop, a sentence said thrice is).
pub fn repeating_tail(tokens: &[u32]) -> bool {
    for period in 1..=32usize {
        let reps = 3.max(12usize.div_ceil(period));
        let span = period * reps;
        if span > tokens.len() {
            continue;
        }
        let tail = &tokens[tokens.len() - span..];
        let block = &tail[..period];
        if tail.chunks(period).all(|c| c == block) {
            return true;
        }
    }
    false
}

/// One plain paragraph from what a model wrote: small models answer with HTML tags, Markdown
/// emphasis and list markers, which the digest would show as literal characters.
pub fn tidy(text: &str) -> String {
    let mut no_tags = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        no_tags.push_str(&rest[..i]);
        let after = &rest[i..];
        match after.find('>') {
            // A short tag-like run (<strong>, </p>, <br/>): dropped. Anything else is text.
            Some(j)
                if j <= 12
                    && after[1..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == ' ') =>
            {
                rest = &after[j + 1..];
            }
            _ => {
                no_tags.push('<');
                rest = &after[1..];
            }
        }
    }
    no_tags.push_str(rest);
    let mut parts: Vec<String> = Vec::new();
    for line in no_tags.lines() {
        let mut l = line.trim();
        // List markers: "* ", "- ", "• ", "1. ", "2) ".
        for m in ["* ", "- ", "• ", "+ "] {
            if let Some(r) = l.strip_prefix(m) {
                l = r.trim_start();
            }
        }
        let digits = l.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 && digits <= 2 {
            let r = &l[digits..];
            if let Some(r) = r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")) {
                l = r.trim_start();
            }
        }
        let l = l.replace("**", "").replace("__", "");
        let l = l.trim();
        if !l.is_empty() {
            parts.push(l.to_string());
        }
    }
    // A line break ends a heading or a list item: without a full stop the lines would run
    // together into one sentence ("… Việt Nam Cần cơ chế …"), which reads badly and welds the
    // end of one name to the next line's first word. The last line is left as written, since
    // the truncation check reads its ending.
    let last = parts.len().saturating_sub(1);
    for p in parts.iter_mut().take(last) {
        if !p.ends_with(['.', '!', '?', '…', ':', ';', ',', '"', '”', ')']) {
            p.push('.');
        }
    }
    parts
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn assess(text: &str, hit_token_bound: bool) -> Vec<Flag> {
    let mut flags = Vec::new();
    if !text.chars().any(|c| c.is_alphanumeric()) {
        flags.push(Flag::Empty);
        return flags;
    }
    if !is_vietnamese(text) {
        flags.push(Flag::NotVietnamese);
    }
    if is_looping(text) {
        flags.push(Flag::Looping);
    }
    if hit_token_bound
        && !text
            .trim_end()
            .ends_with(['.', '!', '?', '…', '"', '”', ')'])
    {
        flags.push(Flag::Truncated);
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_english_chinese() {
        assert!(is_vietnamese(
            "Chính phủ ban hành nghị định mới về phát triển công nghiệp hỗ trợ."
        ));
        // NFD input is the same text.
        use unicode_normalization::UnicodeNormalization;
        let nfd: String = "Bộ Công Thương đề xuất chính sách".nfd().collect();
        assert!(is_vietnamese(&nfd));
        assert!(!is_vietnamese(
            "The government issued a new decree on supporting industries."
        ));
        assert!(!is_vietnamese("政府发布了关于支持工业的新法令"));
        // Vietnamese without diacritics is not what the analyst asked for.
        assert!(!is_vietnamese(
            "Chinh phu ban hanh nghi dinh moi ve cong nghiep"
        ));
    }

    #[test]
    fn loops() {
        assert!(is_looping(
            "Bộ Công Thương cho biết, Bộ Công Thương cho biết, Bộ Công Thương cho biết, Bộ Công Thương cho biết"
        ));
        assert!(!is_looping(
            "Bộ Công Thương cho biết sản lượng tăng 5%. Xuất khẩu đạt 10 tỷ USD, cao hơn năm trước."
        ));
        assert!(repeating_tail(&[9, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]));
        assert!(!repeating_tail(&[1, 2, 3, 4, 1, 2, 3, 4]));
        assert!(repeating_tail(&[5; 12]));
        assert!(!repeating_tail(&[5; 11]));
        assert!(!repeating_tail(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    }

    #[test]
    fn tidy_makes_one_plain_paragraph() {
        assert_eq!(
            tidy("* <strong>Phân tích</strong>:\n  - Một ý.\n  - Ý **hai**.\n1. Ba.\n"),
            "Phân tích: Một ý. Ý hai. Ba."
        );
        // Numbers and comparisons are text, not markup.
        assert_eq!(
            tidy("Tăng 5 < 7 lần; 2024 là năm"),
            "Tăng 5 < 7 lần; 2024 là năm"
        );
        assert_eq!(tidy("12.5% GDP"), "12.5% GDP");
        assert_eq!(tidy("  \n "), "");
        // A line break without punctuation is a sentence end, so names do not run together.
        assert_eq!(
            tidy("Tự động hóa Việt Nam\nCần cơ chế đặt hàng\nCon số"),
            "Tự động hóa Việt Nam. Cần cơ chế đặt hàng. Con số"
        );
    }

    #[test]
    fn flags() {
        assert_eq!(assess("  … ", false), vec![Flag::Empty]);
        assert_eq!(assess("Đây là bản tóm tắt đầy đủ.", true), vec![]);
        assert_eq!(
            assess("Đây là bản tóm tắt bị cắt giữa", true),
            vec![Flag::Truncated]
        );
        assert!(assess("This is English.", false).contains(&Flag::NotVietnamese));
    }
}
