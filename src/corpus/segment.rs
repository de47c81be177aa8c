//! Vietnamese sentence segmentation.
//!
//! Rule-based on purpose: Vietnamese news prose is regular enough that punctuation plus a short
//! list of exceptions (titles such as "TS.", "TP.", initials, enumerators) beats a statistical
//! splitter trained on other languages, and every decision can be explained.
//!
//! Lines matter as much as punctuation. Cleaned articles keep headings, list items and
//! one-line-per-paragraph text on their own lines, so a line break ends a sentence. The one
//! exception is a line that continues in lower case on the next line, which can only be a hard
//! wrap inside a sentence (Markdown sources wrap at 80 columns).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentence {
    /// The sentence with inner whitespace (including wrapped line breaks) collapsed to single
    /// spaces.
    pub text: String,
    /// 0-based index of the paragraph (blank-line separated block) holding the sentence.
    pub paragraph: usize,
    /// Byte offset of the sentence's first character in the input.
    pub start: usize,
}

/// Splits `text` into sentences. Every non-whitespace character of the input ends up in exactly
/// one sentence, in order.
pub fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut paragraph = 0usize;
    let mut in_paragraph = false;
    // The logical line being built: byte range in `text`, and whether its last line must end a
    // sentence whatever follows (a list item or a heading).
    let mut unit: Option<(usize, usize, bool)> = None;

    for (line_start, line) in lines_with_offsets(text) {
        let Some((content_start, content)) = trimmed(line_start, line) else {
            if let Some((s, e, _)) = unit.take() {
                split_unit(text, s, e, paragraph, &mut out);
            }
            if in_paragraph {
                paragraph += 1;
                in_paragraph = false;
            }
            continue;
        };
        in_paragraph = true;
        let content_end = content_start + content.len();
        let list_item = is_list_item(content);
        let closed = list_item || is_heading(content);
        match unit {
            Some((s, _, prev_closed))
                if !prev_closed && !list_item && starts_lowercase(content) =>
            {
                unit = Some((s, content_end, closed));
            }
            _ => {
                if let Some((s, e, _)) = unit.take() {
                    split_unit(text, s, e, paragraph, &mut out);
                }
                unit = Some((content_start, content_end, closed));
            }
        }
    }
    if let Some((s, e, _)) = unit {
        split_unit(text, s, e, paragraph, &mut out);
    }
    out
}

fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split('\n').map(move |line| {
        let start = offset;
        offset += line.len() + 1;
        (start, line)
    })
}

/// The line without surrounding whitespace, with its byte offset; `None` for a blank line.
fn trimmed(line_start: usize, line: &str) -> Option<(usize, &str)> {
    let lead = line.len() - line.trim_start().len();
    let content = line.trim();
    if content.is_empty() {
        None
    } else {
        Some((line_start + lead, content))
    }
}

/// A short line without sentence punctuation: a heading, never the first half of a wrapped
/// sentence (wrapped lines are long).
fn is_heading(line: &str) -> bool {
    let last = line.trim_end_matches(is_closer).chars().last();
    line.split_whitespace().count() <= 8
        && !last.is_some_and(|c| is_terminal(c) || c == ':' || c == ';' || c == ',')
}

fn starts_lowercase(line: &str) -> bool {
    line.chars().next().is_some_and(char::is_lowercase)
}

/// "- ", "• ", "+ ", "* ", "a) ", "1. ", "1) ", "II. ": markers that make a line a list item.
fn is_list_item(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let followed_by_space = |rest: &str| rest.chars().next().is_some_and(char::is_whitespace);
    if matches!(
        first,
        '-' | '–' | '—' | '•' | '+' | '*' | '·' | '●' | '▪' | '◦'
    ) {
        // "-5%" or "+84" are numbers, not bullets.
        return followed_by_space(chars.as_str());
    }
    let marker_len = line
        .char_indices()
        .find(|(_, c)| {
            !(c.is_ascii_digit() || c.is_ascii_lowercase() || matches!(c, 'I' | 'V' | 'X'))
        })
        .map_or(line.len(), |(i, _)| i);
    if marker_len == 0 || marker_len > 4 {
        return false;
    }
    let marker = &line[..marker_len];
    let numeric = marker.chars().all(|c| c.is_ascii_digit()) && marker.len() <= 2;
    let letter = marker.len() == 1 && marker.chars().all(|c| c.is_ascii_lowercase());
    let roman = marker.chars().all(|c| matches!(c, 'I' | 'V' | 'X'));
    let rest = &line[marker_len..];
    match rest.chars().next() {
        Some(')') => (numeric || letter) && followed_by_space(&rest[1..]),
        Some('.') => (numeric || letter || roman) && followed_by_space(&rest[1..]),
        _ => false,
    }
}

/// Splits one logical line (`text[start..end]`) at sentence boundaries.
fn split_unit(text: &str, start: usize, end: usize, paragraph: usize, out: &mut Vec<Sentence>) {
    let unit = &text[start..end];
    let protected = protected_ranges(unit);
    let chars: Vec<(usize, char)> = unit.char_indices().collect();
    let mut sentence_start = 0usize;
    let mut k = 0usize;
    while k < chars.len() {
        let (_, c) = chars[k];
        if !is_terminal(c) {
            k += 1;
            continue;
        }
        let run_start = k;
        while k < chars.len() && is_terminal(chars[k].1) {
            k += 1;
        }
        let run_end = k;
        while k < chars.len() && is_closer(chars[k].1) {
            k += 1;
        }
        let boundary = chars.get(k).map_or(unit.len(), |(i, _)| *i);
        // Terminal punctuation must be followed by whitespace and then something that can start
        // a sentence; anything else (5,05%, 1.500, v1.2, "..." before lower case) is inside one.
        if k >= chars.len() || !chars[k].1.is_whitespace() {
            continue;
        }
        let mut n = k;
        while n < chars.len() && chars[n].1.is_whitespace() {
            n += 1;
        }
        let Some(&(next_at, next)) = chars.get(n) else {
            continue;
        };
        if !(next.is_uppercase() || next.is_ascii_digit() || is_opener(next)) {
            continue;
        }
        let single_period = run_end - run_start == 1 && chars[run_start].1 == '.';
        if single_period && period_is_not_final(unit, chars[run_start].0) {
            continue;
        }
        if is_protected(&protected, boundary) {
            continue;
        }
        push(
            text,
            start + sentence_start,
            start + boundary,
            paragraph,
            out,
        );
        sentence_start = next_at;
        k = n;
    }
    push(text, start + sentence_start, end, paragraph, out);
}

fn push(text: &str, from: usize, to: usize, paragraph: usize, out: &mut Vec<Sentence>) {
    let piece = &text[from..to];
    let lead = piece.len() - piece.trim_start().len();
    let sentence = piece.split_whitespace().collect::<Vec<_>>().join(" ");
    if !sentence.is_empty() {
        out.push(Sentence {
            text: sentence,
            paragraph,
            start: from + lead,
        });
    }
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Characters that close a quotation or parenthesis and stay with the sentence they end.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | '»' | ')' | ']')
}

fn is_opener(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '‘' | '«' | '(' | '[')
}

/// Byte ranges `(open, close)` of parenthesised spans whose closing bracket exists in the unit.
/// A period inside "(xem Phụ lục 1. Danh mục)" does not end the sentence; an unclosed "(" must
/// not glue the rest of the paragraph together, hence the pairing. A closing bracket pairs with
/// the latest opening one of its kind and drops the other kind's openings since.
///
/// One stack per kind, so that each bracket costs O(1) amortised: a single scan over a stack of
/// both kinds made "[[[[…))))" quadratic (minutes for a few hundred kilobytes on one line).
fn balanced_parens(unit: &str) -> Vec<(usize, usize)> {
    let mut round: Vec<usize> = Vec::new();
    let mut square: Vec<usize> = Vec::new();
    let mut spans = Vec::new();
    for (i, c) in unit.char_indices() {
        let (mine, other) = match c {
            '(' => {
                round.push(i);
                continue;
            }
            '[' => {
                square.push(i);
                continue;
            }
            ')' => (&mut round, &mut square),
            ']' => (&mut square, &mut round),
            _ => continue,
        };
        if let Some(open) = mine.pop() {
            spans.push((open, i));
            while other.last().is_some_and(|&o| o > open) {
                other.pop();
            }
        }
    }
    spans
}

/// The union of the bracketed spans as sorted, disjoint `(open, close)` ranges. Spans from
/// [`balanced_parens`] nest or are disjoint, so the union is the outermost ones.
fn protected_ranges(unit: &str) -> Vec<(usize, usize)> {
    let mut spans = balanced_parens(unit);
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (open, close) in spans {
        match out.last_mut() {
            Some((_, last)) if open < *last => *last = (*last).max(close),
            _ => out.push((open, close)),
        }
    }
    out
}

/// Whether a boundary at byte `at` falls inside a bracketed span (`open < at <= close`): a
/// binary search, where a scan of all spans per boundary was quadratic on long lines.
fn is_protected(ranges: &[(usize, usize)], at: usize) -> bool {
    let i = ranges.partition_point(|&(open, _)| open < at);
    i > 0 && at <= ranges[i - 1].1
}

/// Titles and abbreviations written with a period in Vietnamese news, compared case-sensitively
/// ("TP." is Thành phố, "Tp." the same in older style). Parts of dotted compounds are checked
/// one by one, so "PGS.TS." and "TS.KTS." need no entries of their own.
const ABBREVIATIONS: &[&str] = &[
    "TS", "ThS", "Ths", "Th", "PGS", "GS", "TSKH", "KTS", "BS", "KS", "LS", "NCS", "TP", "Tp",
    "TT", "TX", "ĐH", "ĐHQG", "St", "Mr", "Mrs", "Ms", "Dr", "Prof", "Jr", "Sr", "Co", "vs", "tr",
    "Nxb", "NXB",
];

/// Words after which a number followed by a period is a heading number ("Điều 5. Phạm vi").
const NUMBERED: &[&str] = &["Điều", "Khoản", "Chương", "Mục", "Phần", "Bước"];

/// Whether the single period at byte `dot` of `unit` belongs to an abbreviation, an initial or
/// an enumerator rather than ending the sentence.
fn period_is_not_final(unit: &str, dot: usize) -> bool {
    let before = &unit[..dot];
    let token_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '.')
        .last()
        .map_or(dot, |(i, _)| i);
    let token = &before[token_start..];
    if token.is_empty() {
        return false;
    }
    if token.chars().all(|c| c.is_ascii_digit()) {
        return is_enumerator(&before[..token_start], token);
    }
    if !token.chars().all(|c| c.is_alphabetic() || c == '.') {
        return false;
    }
    let parts: Vec<&str> = token.split('.').filter(|p| !p.is_empty()).collect();
    let single_letter = |p: &str| p.chars().count() == 1;
    match parts.as_slice() {
        [] => false,
        // "N." in "Nguyễn N. Anh", "Q." (quận), "P." (phường); roman "I." in a heading.
        [only] if single_letter(only) => only.chars().all(char::is_uppercase),
        [only] if ABBREVIATIONS.contains(only) => true,
        // "I." and "II." at the start of a heading are enumerators.
        [only] if only.chars().all(|c| matches!(c, 'I' | 'V' | 'X')) => {
            is_enumerator(&before[..token_start], only)
        }
        [_] => false,
        // "U.S.", "v.v.", "PGS.TS.", "TS.KTS.", "Th.S.".
        many => many
            .iter()
            .all(|p| ABBREVIATIONS.contains(p) || single_letter(p)),
    }
}

/// A short number or roman numeral that opens the line or follows ":", ";" or "(", or a number
/// after "Điều"/"Chương"...: "gồm: 1. Rà soát; 2. Sửa đổi", "Điều 5. Phạm vi".
fn is_enumerator(before_token: &str, token: &str) -> bool {
    let short = if token.chars().all(|c| c.is_ascii_digit()) {
        token.len() <= 3
    } else {
        token.chars().count() <= 4
    };
    if !short {
        return false;
    }
    let context = before_token.trim_end();
    if context.is_empty() || context.ends_with([':', ';', '(']) {
        return true;
    }
    let previous_word = context.rsplit(char::is_whitespace).next().unwrap_or("");
    NUMBERED.contains(&previous_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        sentences(input).into_iter().map(|s| s.text).collect()
    }

    #[track_caller]
    fn assert_split(input: &str, expected: &[&str]) {
        assert_eq!(texts(input), expected, "input: {input:?}");
    }

    #[test]
    fn splits_on_terminal_punctuation_before_capital_digit_or_quote() {
        assert_split(
            "Hội nghị đã kết thúc. Các đại biểu ra về! Vì sao? 2024 là năm bản lề. “Chúng ta \
             phải làm ngay” là thông điệp chính.",
            &[
                "Hội nghị đã kết thúc.",
                "Các đại biểu ra về!",
                "Vì sao?",
                "2024 là năm bản lề.",
                "“Chúng ta phải làm ngay” là thông điệp chính.",
            ],
        );
        assert_split(
            "Năm nay tăng 5%. (Số liệu sơ bộ của Tổng cục)",
            &["Năm nay tăng 5%.", "(Số liệu sơ bộ của Tổng cục)"],
        );
    }

    #[test]
    fn no_split_before_lower_case() {
        assert_split("Tăng 5%. và còn nữa", &["Tăng 5%. và còn nữa"]);
    }

    #[test]
    fn ellipses() {
        assert_split(
            "Tổ biên tập... tham dự buổi làm việc. Khí hậu, dịch bệnh… cần cách tiếp cận mới. \
             Còn nhiều việc phải làm... Năm tới sẽ khác… Chắc chắn vậy.",
            &[
                "Tổ biên tập... tham dự buổi làm việc.",
                "Khí hậu, dịch bệnh… cần cách tiếp cận mới.",
                "Còn nhiều việc phải làm...",
                "Năm tới sẽ khác…",
                "Chắc chắn vậy.",
            ],
        );
    }

    #[test]
    fn abbreviations_and_titles_do_not_end_sentences() {
        assert_split(
            "Hội thảo do TS. Lê Huy Khôi chủ trì. ThS. Đỗ Văn Long trình bày. PGS.TS. Phạm Đức \
             Thành và TS.KTS. Ngô Minh phát biểu. GS. Trần Văn A dự. Tại TP. Hải Phòng và Tp. \
             Huế cũng vậy. Ông học ĐH. Bách khoa. Trụ sở ở Q. 1, P. Bến Nghé. Ông Mr. Smith \
             và Dr. Brown, St. Louis. Máy móc, thiết bị v.v. Nhiều thứ khác. Th.S Nguyễn Hà \
             nói. Quỹ U.S. Steel đầu tư.",
            &[
                "Hội thảo do TS. Lê Huy Khôi chủ trì.",
                "ThS. Đỗ Văn Long trình bày.",
                "PGS.TS. Phạm Đức Thành và TS.KTS. Ngô Minh phát biểu.",
                "GS. Trần Văn A dự.",
                "Tại TP. Hải Phòng và Tp. Huế cũng vậy.",
                "Ông học ĐH. Bách khoa.",
                "Trụ sở ở Q. 1, P. Bến Nghé.",
                "Ông Mr. Smith và Dr. Brown, St. Louis.",
                "Máy móc, thiết bị v.v. Nhiều thứ khác.",
                "Th.S Nguyễn Hà nói.",
                "Quỹ U.S. Steel đầu tư.",
            ],
        );
    }

    #[test]
    fn initials_in_names() {
        assert_split(
            "Ông Nguyễn V. Anh và bà Trần T. B. Hà phát biểu. Sau đó nghỉ.",
            &[
                "Ông Nguyễn V. Anh và bà Trần T. B. Hà phát biểu.",
                "Sau đó nghỉ.",
            ],
        );
    }

    #[test]
    fn numbers_dates_and_versions_stay_whole() {
        assert_split(
            "Lãi suất 5,05% áp dụng cho 1.500 hộ từ ngày 06/12/2021. Tỷ lệ 3.5 lần, phiên bản \
             v1.2 đã phát hành. Năm 2024. Năm 2025.",
            &[
                "Lãi suất 5,05% áp dụng cho 1.500 hộ từ ngày 06/12/2021.",
                "Tỷ lệ 3.5 lần, phiên bản v1.2 đã phát hành.",
                "Năm 2024.",
                "Năm 2025.",
            ],
        );
    }

    #[test]
    fn closing_quote_stays_with_its_sentence() {
        assert_split(
            "“Thể chế phải đi trước mở đường, vì sự phát triển của đất nước.” Ông nói thêm. \
             Bà hỏi: \"Khi nào xong?\" Ông đáp: 'Sớm thôi.' Rồi đi. Đó là «lời hứa.» Hết.",
            &[
                "“Thể chế phải đi trước mở đường, vì sự phát triển của đất nước.”",
                "Ông nói thêm.",
                "Bà hỏi: \"Khi nào xong?\"",
                "Ông đáp: 'Sớm thôi.'",
                "Rồi đi.",
                "Đó là «lời hứa.»",
                "Hết.",
            ],
        );
    }

    #[test]
    fn parentheses() {
        assert_split(
            "Danh mục (xem Phụ lục 1. Danh mục dự án) được ban hành. Chi phí (khoảng 5 tỷ \
             đồng.) Sau đó được duyệt. Mở ngoặc (không đóng. Câu sau vẫn tách.",
            &[
                "Danh mục (xem Phụ lục 1. Danh mục dự án) được ban hành.",
                "Chi phí (khoảng 5 tỷ đồng.)",
                "Sau đó được duyệt.",
                "Mở ngoặc (không đóng.",
                "Câu sau vẫn tách.",
            ],
        );
    }

    #[test]
    fn headings_are_their_own_sentences() {
        let input = "Hành lang pháp lý dần đầy đủ\nMột điểm mới là Luật Giao dịch điện tử.\n\n\
                     Thiếu người làm chuyển đổi số\n\nVấn đề thứ hai là nhân lực.";
        let got = sentences(input);
        let pairs: Vec<(&str, usize)> =
            got.iter().map(|s| (s.text.as_str(), s.paragraph)).collect();
        assert_eq!(
            pairs,
            [
                ("Hành lang pháp lý dần đầy đủ", 0),
                ("Một điểm mới là Luật Giao dịch điện tử.", 0),
                ("Thiếu người làm chuyển đổi số", 1),
                ("Vấn đề thứ hai là nhân lực.", 2),
            ]
        );
    }

    #[test]
    fn heading_stays_whole_even_before_a_lower_case_line() {
        assert_split(
            "Định danh điện tử\neKYC được triển khai rộng rãi.",
            &["Định danh điện tử", "eKYC được triển khai rộng rãi."],
        );
    }

    #[test]
    fn list_items_are_their_own_sentences() {
        assert_split(
            "Nhiệm vụ gồm:\n- Rà soát quy hoạch\n– bổ sung cơ chế\n• Đào tạo nhân lực\n\
             + Hợp tác quốc tế\n* Xúc tiến đầu tư\na) Điểm a\nb) điểm b\n1. Mục một\n2) Mục hai\n\
             II. MỤC TIÊU\nCuối cùng là kết luận.",
            &[
                "Nhiệm vụ gồm:",
                "- Rà soát quy hoạch",
                "– bổ sung cơ chế",
                "• Đào tạo nhân lực",
                "+ Hợp tác quốc tế",
                "* Xúc tiến đầu tư",
                "a) Điểm a",
                "b) điểm b",
                "1. Mục một",
                "2) Mục hai",
                "II. MỤC TIÊU",
                "Cuối cùng là kết luận.",
            ],
        );
    }

    #[test]
    fn enumerators_inside_a_line() {
        assert_split(
            "Gồm hai bước: 1. Rà soát; 2. Sửa đổi. Điều 5. Phạm vi điều chỉnh. Tăng trưởng đạt 7. \
             Năm sau cao hơn.",
            &[
                "Gồm hai bước: 1. Rà soát; 2. Sửa đổi.",
                "Điều 5. Phạm vi điều chỉnh.",
                "Tăng trưởng đạt 7.",
                "Năm sau cao hơn.",
            ],
        );
    }

    #[test]
    fn wrapped_lines_join_but_other_lines_do_not() {
        let input = "Thứ trưởng cho biết sự phát triển đô thị có mối quan hệ\n  \
                     liên kết chặt chẽ với sản xuất. Đô thị hóa tăng\nthì kinh tế phát triển.\n\
                     Bộ Công Thương đồng ý\nNgười dân ủng hộ.";
        assert_split(input, &[
            "Thứ trưởng cho biết sự phát triển đô thị có mối quan hệ liên kết chặt chẽ với sản xuất.",
            "Đô thị hóa tăng thì kinh tế phát triển.",
            "Bộ Công Thương đồng ý",
            "Người dân ủng hộ.",
        ]);
    }

    #[test]
    fn offsets_and_paragraphs() {
        let input = "  Câu một. Câu hai.\r\n\r\n\n  Đoạn hai có “ngoặc.” Hết\n";
        let got = sentences(input);
        let expected = [
            ("Câu một.", 0),
            ("Câu hai.", 0),
            ("Đoạn hai có “ngoặc.”", 1),
            ("Hết", 1),
        ];
        assert_eq!(got.len(), expected.len());
        for (s, (text, paragraph)) in got.iter().zip(expected) {
            assert_eq!(s.text, text);
            assert_eq!(s.paragraph, paragraph);
            assert!(
                input[s.start..].starts_with(text),
                "{} at {}",
                text,
                s.start
            );
        }
        assert!(sentences("").is_empty());
        assert!(sentences(" \n\n\t\n").is_empty());
    }

    #[test]
    fn bracket_pairing_matches_the_mixed_stack_and_is_linear() {
        // The reference: one stack of both kinds, scanned for the latest opening of the kind.
        fn slow(unit: &str) -> Vec<(usize, usize)> {
            let mut stack: Vec<(usize, char)> = Vec::new();
            let mut spans = Vec::new();
            for (i, c) in unit.char_indices() {
                match c {
                    '(' | '[' => stack.push((i, c)),
                    ')' | ']' => {
                        let want = if c == ')' { '(' } else { '[' };
                        if let Some(pos) = stack.iter().rposition(|(_, o)| *o == want) {
                            spans.push((stack[pos].0, i));
                            stack.truncate(pos);
                        }
                    }
                    _ => {}
                }
            }
            spans
        }
        let alphabet = ['(', ')', '[', ']', 'a', '.'];
        let mut x: u64 = 1;
        for _ in 0..2000 {
            let n = (x % 24) as usize;
            let mut unit = String::new();
            for _ in 0..n {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                unit.push(alphabet[(x >> 33) as usize % alphabet.len()]);
            }
            let mut got = balanced_parens(&unit);
            let mut want = slow(&unit);
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{unit:?}");
            let ranges = protected_ranges(&unit);
            for at in 0..=unit.len() {
                let brute = want.iter().any(|&(o, c)| o < at && at <= c);
                assert_eq!(is_protected(&ranges, at), brute, "{unit:?} at {at}");
            }
        }
        let t = std::time::Instant::now();
        let worst = format!("{}{}", "[".repeat(200_000), ")".repeat(200_000));
        assert!(sentences(&worst).len() == 1);
        let many = "Theo Bộ (TTXVN). Doanh nghiệp [xem] tăng (5%). ".repeat(20_000);
        assert_eq!(sentences(&many).len(), 40_000);
        assert!(
            t.elapsed().as_secs() < 5,
            "quadratic again: {:?}",
            t.elapsed()
        );
    }

    #[test]
    fn never_drops_text() {
        let inputs = [
            "Sáng ngày 06/12/2021, Ban Kinh tế Trung ương chủ trì... tham dự. Đồng chí Phạm \
             Minh Chính (Thủ tướng) phát biểu: “Phải nhanh.” Ông nói thêm…",
            "  \n\nTS. A. B. Nguyễn!!! ?? … ... . .\n- \n-\n1.\n(\n)\n“”\n\"\n",
            "Một (hai. Ba) bốn. [năm. Sáu] \u{00A0}bảy.\u{3000}Tám.\r\nchín\t\tmười.",
            "PGS.TS.KTS. U.S.A. v.v... Q.1 TP.HCM. Hết.",
            "Giá 1.500.000 đồng/tấn.Tăng 3,5%.Giảm?Có!Không",
            "Điều 5. II. a) b. 1) 12. 123. Mục 4. Phần IV. Xong",
        ];
        for input in inputs {
            let got: String = sentences(input)
                .iter()
                .flat_map(|s| s.text.chars())
                .filter(|c| !c.is_whitespace())
                .collect();
            let want: String = input.chars().filter(|c| !c.is_whitespace()).collect();
            assert_eq!(got, want, "input: {input:?}");
            for s in sentences(input) {
                let first = s.text.chars().next().expect("sentences are never empty");
                assert!(input[s.start..].starts_with(first), "bad offset for {s:?}");
            }
        }
    }
}
