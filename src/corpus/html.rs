//! Plain text from a saved news page.
//!
//! This is deliberately not an HTML5 parser: scraped Vietnamese news pages are routinely broken
//! (unclosed `<p>`, stray `</div>`, CMS-injected fragments), and all we need is the readable text
//! in reading order with paragraph boundaries. A tolerant tokenizer feeds one forward pass that
//! turns block elements into line breaks. Elements that are page chrome are skipped whole, but
//! only when their end tag exists: an unclosed `<nav>` must not swallow the article after it.
//! Chrome is recognised by tag name (`<nav>`, `<footer>`...) and, since most sites build their
//! cookie banners, top bars, ad slots and "Tin liên quan" boxes out of plain `<div>`s, by the
//! `class` and `id` attributes too (`chrome_token` below states the exact rule). A chrome-looking
//! element that holds the headline or most of the page's prose is kept: that is a mislabelled or
//! mis-paired wrapper, not chrome.
//!
//! The result still contains furniture the markup does not label (bylines, captions, unclassed
//! share links or "Tin liên quan" lists); removing that is [`crate::corpus::clean`]'s job.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// The readable content of an HTML document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlText {
    /// `<title>`, or the first `<h1>` when the page has no usable title.
    pub title: Option<String>,
    /// Body text: one line per block, paragraphs separated by one blank line, NFC.
    pub text: String,
}

/// Extracts the title and the body text of `html`. Never fails: whatever cannot be parsed is
/// treated as text or skipped.
pub fn html_to_text(html: &str) -> HtmlText {
    let tokens = tokenize(html);
    let pairs = pair_elements(&tokens);
    let chrome_skip = chrome_to_skip(&tokens, &pairs);

    let mut out = TextOut::default();
    let mut open: Vec<&str> = Vec::new();
    let mut pre_depth = 0usize;
    let mut first_h1: Option<String> = None;
    let mut h1_buf: Option<String> = None;

    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Start {
                name,
                self_closing,
                chrome,
            } => {
                let name = name.as_str();
                let chrome_skipped =
                    chrome_skip[i] && !(*chrome == Some(Chrome::Masthead) && in_article(&open));
                if is_skipped(name, &open) || chrome_skipped {
                    if let Some(end) = pairs[i] {
                        // The skipped element still separates what comes before and after it.
                        match block_kind(name) {
                            Block::Paragraph => out.block(2),
                            Block::Line => out.block(1),
                            Block::LineBreak => out.line_break(),
                            Block::Cell => out.space(),
                            Block::Inline => {}
                        }
                        i = end + 1;
                        continue;
                    }
                }
                match block_kind(name) {
                    Block::Paragraph => out.block(2),
                    Block::Line => out.block(1),
                    Block::LineBreak => out.line_break(),
                    Block::Cell => out.space(),
                    Block::Inline => {}
                }
                if name == "pre" && !self_closing {
                    pre_depth += 1;
                }
                if name == "h1" && first_h1.is_none() && h1_buf.is_none() {
                    h1_buf = Some(String::new());
                }
                if !self_closing && !is_void(name) {
                    open.push(name);
                }
            }
            Tok::End { name } => {
                let name = name.as_str();
                match block_kind(name) {
                    Block::Paragraph => out.block(2),
                    Block::Line => out.block(1),
                    // `</br>` is a line break in browsers too.
                    Block::LineBreak => out.line_break(),
                    Block::Cell => out.space(),
                    Block::Inline => {}
                }
                if name == "pre" {
                    pre_depth = pre_depth.saturating_sub(1);
                }
                if name == "h1" {
                    if let Some(buf) = h1_buf.take() {
                        first_h1 = Some(buf);
                    }
                }
                // Stray end tags are common; only pop when the element is actually open.
                if let Some(pos) = open.iter().rposition(|open_name| *open_name == name) {
                    open.truncate(pos);
                }
            }
            Tok::Text(raw) => {
                let text = decode_entities(raw);
                if let Some(buf) = h1_buf.as_mut() {
                    buf.push_str(&text);
                    buf.push(' ');
                }
                out.text(&text, pre_depth > 0);
            }
            // Content of script, style, title, textarea and the like is never body text.
            Tok::Raw { .. } => {}
        }
        i += 1;
    }

    let title = find_title(&tokens)
        .or_else(|| first_h1.and_then(|h| non_empty(collapse_ws(&h))))
        // The page may only have an h1 inside chrome we skipped (a masthead); better than none.
        .or_else(|| find_any_h1(&tokens));

    HtmlText {
        title: title.map(|t| t.nfc().collect()),
        text: out.finish().nfc().collect(),
    }
}

#[derive(Debug)]
enum Tok<'a> {
    /// Tag names are ASCII-lowercased. Of the attributes only the verdict on `class` and `id`
    /// is kept: whether they mark the element as page chrome.
    Start {
        name: String,
        self_closing: bool,
        chrome: Option<Chrome>,
    },
    End {
        name: String,
    },
    Text(&'a str),
    /// The content of a raw-text element (script, style, title...), never parsed for tags.
    Raw {
        name: String,
        content: &'a str,
    },
}

/// Elements whose content is not markup. `noscript` is here because browsers with scripting
/// treat it that way, and its content is a fallback we do not want either.
const RAW_TEXT: &[&str] = &[
    "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript",
];

fn tokenize(html: &str) -> Vec<Tok<'_>> {
    let bytes = html.as_bytes();
    let mut toks = Vec::new();
    let mut raw_ends = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        // Every branch below only slices at ASCII positions, so the &str slices are valid.
        let rest = &bytes[i..];
        let next = rest.get(1).copied();
        let is_letter = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphabetic());
        if rest.starts_with(b"<!--") {
            push_text(&mut toks, html, text_start, i);
            // "<!-->" is an (empty) comment, hence the search from i + 2.
            i = find(bytes, i + 2, b"-->").map_or(bytes.len(), |p| p + 3);
            text_start = i;
        } else if next == Some(b'!') || next == Some(b'?') {
            // Doctype, CDATA, processing instructions: nothing readable.
            push_text(&mut toks, html, text_start, i);
            i = find(bytes, i + 2, b">").map_or(bytes.len(), |p| p + 1);
            text_start = i;
        } else if next == Some(b'/') && is_letter(rest.get(2).copied()) {
            push_text(&mut toks, html, text_start, i);
            let (name, after_name) = tag_name(bytes, i + 2);
            i = find(bytes, after_name, b">").map_or(bytes.len(), |p| p + 1);
            text_start = i;
            toks.push(Tok::End { name });
        } else if is_letter(next) {
            push_text(&mut toks, html, text_start, i);
            let (name, after_name) = tag_name(bytes, i + 1);
            let Some(close) = tag_end(bytes, after_name) else {
                // A tag cut off by the end of the file: browsers drop it, so do we.
                i = bytes.len();
                text_start = i;
                break;
            };
            let self_closing = close > after_name && bytes[close - 1] == b'/';
            let chrome = if STRUCTURAL.contains(&name.as_str()) || is_void(&name) {
                None
            } else {
                let (class, id) = class_and_id(&html[after_name..close]);
                chrome_attr(class.as_deref()).or_else(|| chrome_attr(id.as_deref()))
            };
            i = close + 1;
            text_start = i;
            let mut needle = Vec::with_capacity(name.len() + 2);
            needle.extend_from_slice(b"</");
            needle.extend_from_slice(name.as_bytes());
            // HTML ignores "/>" on elements that are not void: `<script src="x"/>code</script>`
            // is a script running to its end tag, and its code is no text. Only without an end
            // tag was it really empty (XHTML).
            let raw = RAW_TEXT.contains(&name.as_str())
                && (!self_closing || raw_end_after(&mut raw_ends, bytes, i, &name, &needle));
            toks.push(Tok::Start {
                name: name.clone(),
                self_closing: self_closing && !raw,
                chrome,
            });
            if raw {
                let end = find_ci(bytes, i, &needle).unwrap_or(bytes.len());
                toks.push(Tok::Raw {
                    name: name.clone(),
                    content: &html[i..end],
                });
                i = if end < bytes.len() {
                    find(bytes, end, b">").map_or(bytes.len(), |p| p + 1)
                } else {
                    end
                };
                text_start = i;
                toks.push(Tok::End { name });
            }
        } else {
            // "a < b", "<3": a literal less-than sign, part of the text run.
            i += 1;
        }
    }
    push_text(&mut toks, html, text_start, bytes.len().max(text_start));
    toks
}

/// Whether `needle` (`</name`) occurs at or after `from`. The last search per element name is
/// remembered, so that a page of many `<script/>` without end tags is not scanned to its end once
/// per tag.
fn raw_end_after(
    memo: &mut Vec<(String, usize, Option<usize>)>,
    bytes: &[u8],
    from: usize,
    name: &str,
    needle: &[u8],
) -> bool {
    if let Some((_, searched, found)) = memo.iter().find(|(n, ..)| n == name) {
        if *searched <= from && found.is_none_or(|f| f >= from) {
            return found.is_some();
        }
    }
    let found = find_ci(bytes, from, needle);
    memo.retain(|(n, ..)| n != name);
    memo.push((name.to_string(), from, found));
    found.is_some()
}

fn push_text<'a>(toks: &mut Vec<Tok<'a>>, html: &'a str, start: usize, end: usize) {
    if end > start {
        if let Some(s) = html.get(start..end) {
            toks.push(Tok::Text(s));
        }
    }
}

fn tag_name(bytes: &[u8], start: usize) -> (String, usize) {
    let mut end = start;
    while end < bytes.len()
        && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'-' | b':' | b'_'))
    {
        end += 1;
    }
    let name = bytes[start..end]
        .iter()
        .map(|b| b.to_ascii_lowercase() as char)
        .collect();
    (name, end)
}

/// Index of the `>` closing a start tag, skipping over quoted attribute values. An unbalanced
/// quote (`<a href="x>text</a>`) falls back to the first `>`, which is what the author meant far
/// more often than not.
fn tag_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'>' => return Some(i),
            q @ (b'"' | b'\'') => match find(bytes, i + 1, &[q]) {
                Some(close) => i = close + 1,
                None => return find(bytes, from, b">"),
            },
            _ => i += 1,
        }
    }
    None
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// Page chrome and embedded non-text content, skipped with everything inside them.
/// `form` is absent on purpose: ASP.NET sites wrap the whole page in one.
const SKIPPED: &[&str] = &[
    "head", "nav", "header", "footer", "aside", "template", "svg", "math", "select", "button",
    "video", "audio", "canvas", "object",
];

fn is_skipped(name: &str, open: &[&str]) -> bool {
    if !SKIPPED.contains(&name) {
        return false;
    }
    // A <header> inside <article> or <main> is the article's own header: it holds the headline,
    // which the cleaner wants to see. Only the site-wide header is chrome.
    !(name == "header" && in_article(open))
}

fn in_article(open: &[&str]) -> bool {
    open.iter().any(|o| matches!(*o, "article" | "main"))
}

/// For every start tag, the index of its matching end tag, paired by nesting per element name.
/// Unmatched start tags get `None` so that, if they are chrome, their content is kept anyway.
fn pair_elements(tokens: &[Tok<'_>]) -> Vec<Option<usize>> {
    let mut pairs = vec![None; tokens.len()];
    let mut stacks: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        match tok {
            Tok::Start {
                name,
                self_closing: false,
                ..
            } if !is_void(name) => match stacks.iter_mut().find(|(n, _)| *n == name.as_str()) {
                Some((_, stack)) => stack.push(i),
                None => stacks.push((name.as_str(), vec![i])),
            },
            Tok::End { name } => {
                if let Some((_, stack)) = stacks.iter_mut().find(|(n, _)| *n == name.as_str()) {
                    if let Some(start) = stack.pop() {
                        pairs[start] = Some(i);
                    }
                }
            }
            _ => {}
        }
    }
    pairs
}

/// What a chrome `class` or `id` says the element is. Only the difference matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chrome {
    /// Banners, bars, widgets and boxes: never article text.
    Widget,
    /// The site's logo or name. An `<h1>` inside one is the masthead, not the headline.
    Logo,
    /// `class="header"`, `id="footer"`: the site-wide header or footer, except inside
    /// `<article>`/`<main>`, where (like the `<header>` tag) it belongs to the article.
    Masthead,
}

/// Elements never skipped for their class: pages put state classes on them
/// (`<body class="has-cookie-banner">`), and they hold everything.
const STRUCTURAL: &[&str] = &["html", "body", "main"];

/// Parts (see [`chrome_token`]) that mark chrome on their own. Exact matches only, so that
/// `sharepoint` is not `share` and `adress` is not `ad`.
#[rustfmt::skip]
const CHROME_WORDS: &[&str] = &[
    // Adverts.
    "ad", "ads", "adv", "advs", "adsense", "adsbygoogle", "qc", "quangcao",
    // Pop-ups and modal dialogs.
    "modal",
    // Top bars and utility bars.
    "topbar", "topnav", "toolbar", "utility", "utilities",
    // Breadcrumbs and the section label above the headline.
    "breadcrumb", "breadcrumbs", "cate", "category", "categories", "chuyenmuc",
    // Share, social and comment widgets.
    "share", "shares", "sharing", "sharebar", "sharebox", "sharethis", "addthis", "social",
    "socials", "chiase", "comment", "comments", "binhluan",
    // Related-news boxes.
    "related", "lienquan", "tinlienquan",
    // Newsletter and subscription boxes.
    "subscribe", "subscription", "newsletter", "newsletters",
    // Back to top.
    "backtotop", "gotop", "totop", "scrolltop",
];

/// Word stems that mark chrome at the start of any part: `cookiebar`, `advertisement`,
/// `popup2`, `gdprnotice`. Each is long and specific enough not to begin an ordinary word.
const CHROME_STEMS: &[&str] = &[
    "cookie",
    "gdpr",
    "consent",
    "advert",
    "quangcao",
    "popup",
    "breadcrumb",
    "newsletter",
    "tinlienquan",
];

/// Runs of consecutive parts that mark chrome: `top-bar`, `quang-cao`, `tin-lien-quan`.
const CHROME_PHRASES: &[&[&str]] = &[
    &["quang", "cao"],
    &["top", "bar"],
    &["top", "nav"],
    &["top", "header"],
    &["header", "top"],
    &["tin", "lien", "quan"],
    &["lien", "quan"],
    &["binh", "luan"],
    &["chia", "se"],
    &["chuyen", "muc"],
    &["to", "top"],
    &["go", "top"],
    &["back", "top"],
    &["scroll", "top"],
];

/// The site's name or logo.
const LOGO_WORDS: &[&str] = &["logo", "brand", "sitename", "sitelogo"];
const LOGO_PHRASES: &[&[&str]] = &[&["site", "name"], &["site", "title"]];

/// A class token whose first part says the page *lacks* or *has* the thing: `no-ads`,
/// `has-sidebar-ads` describe the container, they do not make it an ad.
const NEGATIONS: &[&str] = &["no", "not", "without", "has", "with"];

/// Whether a `class` or `id` value marks its element as chrome: the first token that does
/// decides. See [`chrome_token`].
fn chrome_attr(value: Option<&str>) -> Option<Chrome> {
    value?.split_ascii_whitespace().find_map(chrome_token)
}

/// The rule for one class token (or an id).
///
/// The token is cut into parts at `-` and `_` (so BEM's `__`/`--` too) and at lower-to-upper
/// camelCase boundaries, and lowercased: `article__cate` is `article` + `cate`, `boxRelated` is
/// `box` + `related`. It is chrome when
/// - a part is one of [`CHROME_WORDS`] (`share`, `ads`, `related`, `quangcao`...) exactly,
/// - a part begins with one of [`CHROME_STEMS`] (`cookie…`, `gdpr…`, `advert…`, `popup…`), or
/// - consecutive parts spell one of [`CHROME_PHRASES`] (`top-bar`, `tin-lien-quan`, `quang-cao`),
///
/// and the logo/brand words work the same way. The whole tokens `header`/`footer` (also
/// `site-header`, `masthead`...) are the site header and footer. Never chrome: a token whose first
/// part is a negation (`no-ads`), and any match inside a part (`sharepoint`, `headline`,
/// `download`, `article-body`, `news-content` all have no chrome part).
fn chrome_token(token: &str) -> Option<Chrome> {
    let parts = token_parts(token);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let first = *parts.first()?;
    if NEGATIONS.contains(&first) && parts.len() > 1 {
        return None;
    }
    match parts.as_slice() {
        ["header" | "footer" | "masthead" | "siteheader" | "sitefooter"]
        | ["site" | "page" | "main", "header" | "footer"]
        | ["header" | "footer", "wrapper" | "wrap" | "container"] => return Some(Chrome::Masthead),
        _ => {}
    }
    let has_phrase = |phrases: &[&[&str]]| {
        phrases
            .iter()
            .any(|ph| parts.windows(ph.len()).any(|w| w == *ph))
    };
    if parts.iter().any(|p| LOGO_WORDS.contains(p)) || has_phrase(LOGO_PHRASES) {
        return Some(Chrome::Logo);
    }
    if parts
        .iter()
        .any(|p| CHROME_WORDS.contains(p) || CHROME_STEMS.iter().any(|stem| p.starts_with(stem)))
        || has_phrase(CHROME_PHRASES)
    {
        return Some(Chrome::Widget);
    }
    None
}

fn token_parts(token: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in token.chars() {
        if c == '-' || c == '_' {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// The `class` and `id` values from the attribute text of a start tag (what follows the tag
/// name). Attribute names are case-insensitive; values may be double-, single- or unquoted. The
/// first occurrence wins, as in browsers.
fn class_and_id(attrs: &str) -> (Option<String>, Option<String>) {
    let bytes = attrs.as_bytes();
    let (mut class, mut id) = (None, None);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() || bytes[i] == b'/' {
            i += 1;
            continue;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'/')
        {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = None;
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = find(bytes, i + 1, &[q]).unwrap_or(bytes.len());
                    value = Some(&attrs[i + 1..end]);
                    i = end + 1;
                }
                _ => {
                    let start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    value = Some(&attrs[start..i]);
                }
            }
        }
        let slot = if name.eq_ignore_ascii_case("class") {
            &mut class
        } else if name.eq_ignore_ascii_case("id") {
            &mut id
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(decode_entities(value.unwrap_or("")).into_owned());
        }
    }
    (class, id)
}

/// For every start token, whether it is chrome by its class or id and may be skipped whole:
/// its end tag was found, and it holds neither the headline nor most of the article.
///
/// The second condition is what makes attribute matching safe. Pairing end tags by name goes
/// wrong on broken markup (an unclosed `<div class="ads">` takes the `</div>` of the article
/// wrapper), and some sites put chrome-sounding classes on the article's own wrapper; in both
/// cases the element holds the headline or the bulk of the prose, and is kept.
fn chrome_to_skip(tokens: &[Tok<'_>], pairs: &[Option<usize>]) -> Vec<bool> {
    let n = tokens.len();
    // Visible characters before each token, in all text and in <p> text.
    let mut text_before = vec![0usize; n + 1];
    let mut p_before = vec![0usize; n + 1];
    let mut in_p = false;
    let mut h1s = Vec::new();
    for (i, tok) in tokens.iter().enumerate() {
        let (mut text, mut p) = (0, 0);
        match tok {
            Tok::Start { name, .. } => {
                if name == "h1" {
                    h1s.push(i);
                }
                if name == "p" {
                    in_p = true;
                } else if matches!(block_kind(name), Block::Paragraph) {
                    // A block start closes an open <p>, as in browsers.
                    in_p = false;
                }
            }
            Tok::End { name } if name == "p" => in_p = false,
            Tok::Text(s) => {
                text = s.chars().filter(|c| !c.is_whitespace()).count();
                if in_p {
                    p = text;
                }
            }
            _ => {}
        }
        text_before[i + 1] = text_before[i] + text;
        p_before[i + 1] = p_before[i] + p;
    }

    let span = |i: usize| pairs[i].map(|end| (i, end));
    // The headline: an <h1> not inside the logo, unless the logo holds the only ones.
    let logo_spans: Vec<(usize, usize)> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            matches!(
                t,
                Tok::Start {
                    chrome: Some(Chrome::Logo),
                    ..
                }
            )
        })
        .filter_map(|(i, _)| span(i))
        .collect();
    let mut headlines: Vec<usize> = h1s
        .iter()
        .copied()
        .filter(|h| !logo_spans.iter().any(|(s, e)| s <= h && h < e))
        .collect();
    if headlines.is_empty() {
        headlines = h1s;
    }

    // Where the article text is: in <p>s when they hold at least half the page's text,
    // otherwise (text in <div>s and <br>s) all text counts.
    let (total_text, total_p) = (text_before[n], p_before[n]);
    let use_p = total_p > 0 && total_p * 2 >= total_text;

    let mut skip = vec![false; n];
    for (i, tok) in tokens.iter().enumerate() {
        let Tok::Start {
            name,
            chrome: Some(_),
            ..
        } = tok
        else {
            continue;
        };
        let Some((start, end)) = span(i) else {
            continue;
        };
        // An unclosed <p> ends at the next <p>: a pairing across one is not the element's end.
        if name == "p"
            && tokens[start + 1..end]
                .iter()
                .any(|t| matches!(t, Tok::Start { name, .. } if name == "p"))
        {
            continue;
        }
        let holds_headline = headlines.iter().any(|h| start <= *h && *h < end);
        let holds_article = if use_p {
            (p_before[end] - p_before[start]) * 2 > total_p
        } else {
            (text_before[end] - text_before[start]) * 2 > total_text
        };
        skip[i] = !holds_headline && !holds_article;
    }
    skip
}

enum Block {
    /// Starts and ends a paragraph (blank line).
    Paragraph,
    /// Starts and ends a line.
    Line,
    /// `<br>`: ends the line; two in a row make a paragraph break.
    LineBreak,
    /// Table cell: keeps neighbouring cells from running together.
    Cell,
    Inline,
}

fn block_kind(name: &str) -> Block {
    match name {
        "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "section"
        | "article" | "main" | "figure" | "figcaption" | "ul" | "ol" | "dl" | "table" | "pre"
        | "hr" | "address" | "fieldset" | "form" | "details" | "summary" | "center" | "header"
        | "footer" | "nav" | "aside" | "body" | "caption" | "hgroup" | "menu" | "picture" => {
            Block::Paragraph
        }
        "li" | "tr" | "dt" | "dd" | "option" | "legend" | "thead" | "tbody" | "tfoot" => {
            Block::Line
        }
        "br" => Block::LineBreak,
        "td" | "th" => Block::Cell,
        _ => Block::Inline,
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "keygen"
    )
}

/// Builds the output line by line, deciding on separators lazily so that empty elements and
/// whitespace-only text between blocks never produce stray blank lines.
#[derive(Default)]
struct TextOut {
    lines: Vec<String>,
    cur: String,
    pending_space: bool,
    /// Separator owed before the next text: 0 none, 1 newline, 2 blank line.
    pending_break: u8,
}

impl TextOut {
    fn text(&mut self, s: &str, pre: bool) {
        for c in s.chars() {
            if pre && c == '\n' {
                self.line_break();
                continue;
            }
            // Includes U+00A0: `&nbsp;` runs are layout, not content.
            if c.is_whitespace() {
                self.pending_space = true;
                continue;
            }
            // Invisible characters that break word matching downstream.
            if matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00AD}') {
                continue;
            }
            if self.cur.is_empty() {
                if self.pending_break >= 2 && !self.lines.is_empty() {
                    self.lines.push(String::new());
                }
                self.pending_break = 0;
            } else if self.pending_space {
                self.cur.push(' ');
            }
            self.pending_space = false;
            self.cur.push(c);
        }
    }

    fn finish_line(&mut self, strength: u8) {
        self.lines.push(std::mem::take(&mut self.cur));
        self.pending_break = strength;
    }

    fn block(&mut self, strength: u8) {
        if self.cur.is_empty() {
            self.pending_break = self.pending_break.max(strength);
        } else {
            self.finish_line(strength);
        }
        self.pending_space = false;
    }

    fn line_break(&mut self) {
        if self.cur.is_empty() {
            // A second <br> in a row: authors use <br><br> as a paragraph break.
            if self.pending_break >= 1 {
                self.pending_break = 2;
            }
        } else {
            self.finish_line(1);
        }
        self.pending_space = false;
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    fn finish(mut self) -> String {
        if !self.cur.is_empty() {
            self.finish_line(0);
        }
        self.lines.join("\n")
    }
}

fn find_title(tokens: &[Tok<'_>]) -> Option<String> {
    // An <svg> has its own <title> (an icon label), which is raw text here as well.
    let mut svg_depth = 0usize;
    for tok in tokens {
        match tok {
            Tok::Start {
                name,
                self_closing: false,
                ..
            } if name == "svg" => svg_depth += 1,
            Tok::End { name } if name == "svg" => svg_depth = svg_depth.saturating_sub(1),
            Tok::Raw { name, content } if name == "title" && svg_depth == 0 => {
                if let Some(title) = non_empty(collapse_ws(&decode_entities(content))) {
                    return Some(title);
                }
            }
            _ => {}
        }
    }
    None
}

fn find_any_h1(tokens: &[Tok<'_>]) -> Option<String> {
    let start = tokens
        .iter()
        .position(|t| matches!(t, Tok::Start { name, .. } if name == "h1"))?;
    let mut buf = String::new();
    for tok in &tokens[start + 1..] {
        match tok {
            Tok::End { name } if name == "h1" => break,
            Tok::Text(s) => {
                buf.push_str(&decode_entities(s));
                buf.push(' ');
            }
            _ => {}
        }
    }
    non_empty(collapse_ws(&buf))
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Decodes character references. Unknown or malformed references are left as written, the way
/// browsers show them.
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match decode_one(after) {
            Some((decoded, used)) => {
                out.push_str(&decoded);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes the reference at the start of `s` (just after the `&`). Returns the text and the
/// number of bytes consumed.
fn decode_one(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    if bytes.first() == Some(&b'#') {
        let (radix, digits_from) = match bytes.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits_len = s[digits_from..]
            .bytes()
            .take_while(|b| (*b as char).is_digit(radix))
            .count();
        if digits_len == 0 {
            return None;
        }
        let digits = &s[digits_from..digits_from + digits_len];
        let mut used = digits_from + digits_len;
        // The semicolon is optional for numeric references, as in browsers.
        if bytes.get(used) == Some(&b';') {
            used += 1;
        }
        // Overlong digit strings overflow u32: that is an invalid code point like any other.
        let code = u32::from_str_radix(digits, radix).unwrap_or(u32::MAX);
        return Some((numeric_char(code).to_string(), used));
    }
    let name_len = bytes
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 {
        return None;
    }
    let name = &s[..name_len];
    if bytes.get(name_len) == Some(&b';') {
        return named_entity(name).map(|c| (c.to_string(), name_len + 1));
    }
    // Old CMSs write "&nbsp" and "&amp" without the semicolon; browsers accept these few.
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "nbsp" | "copy" | "reg") {
        return named_entity(name).map(|c| (c.to_string(), name_len));
    }
    None
}

fn numeric_char(code: u32) -> char {
    // Windows-1252 code points written as references: old Vietnamese CMSs produce &#147; for “.
    const CP1252: [u32; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    let code = match code {
        0x80..=0x9F => CP1252[(code - 0x80) as usize],
        _ => code,
    };
    match char::from_u32(code) {
        Some('\0') | None => '\u{FFFD}',
        Some(c) => c,
    }
}

/// Latin-1 named references in code-point order, starting at U+00A0. Vietnamese pages encoded
/// by old editors spell à, á, â, ã, è, é, ê, ì, í, ò, ó, ô, õ, ù, ú, ý this way.
const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

fn named_entity(name: &str) -> Option<char> {
    if let Some(pos) = LATIN1.iter().position(|n| *n == name) {
        return char::from_u32(0xA0 + u32::try_from(pos).ok()?);
    }
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "lsaquo" => '‹',
        "rsaquo" => '›',
        "bull" => '•',
        "prime" => '′',
        "Prime" => '″',
        "minus" => '−',
        "trade" => '™',
        "euro" => '€',
        "permil" => '‰',
        "dagger" => '†',
        "Dagger" => '‡',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "larr" => '←',
        "rarr" => '→',
        "uarr" => '↑',
        "darr" => '↓',
        "harr" => '↔',
        "le" => '≤',
        "ge" => '≥',
        "ne" => '≠',
        "asymp" => '≈',
        "infin" => '∞',
        "circ" => 'ˆ',
        "tilde" => '˜',
        "OElig" => 'Œ',
        "oelig" => 'œ',
        "Scaron" => 'Š',
        "scaron" => 'š',
        "Yuml" => 'Ÿ',
        "fnof" => 'ƒ',
        // The Vietnamese letters outside Latin-1 that have HTML5 names.
        "Abreve" => 'Ă',
        "abreve" => 'ă',
        "Dstrok" => 'Đ',
        "dstrok" => 'đ',
        "Itilde" => 'Ĩ',
        "itilde" => 'ĩ',
        "Utilde" => 'Ũ',
        "utilde" => 'ũ',
        _ => return None,
    };
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_style_and_friends_never_reach_the_text() {
        let html = r#"<html><head><title>T</title><style>p { color: red }</style>
            <script>var x = "<p>not text</p>";</script></head>
            <body><p>Trước</p><script type="text/javascript">document.write('<b>x</b>')</script>
            <noscript>Bật JavaScript</noscript><template><p>khuôn</p></template>
            <!-- <p>chú thích</p> --><p>Sau</p><SCRIPT>alert(1)</SCRIPT></body></html>"#;
        let got = html_to_text(html);
        assert_eq!(got.text, "Trước\n\nSau");
        for leaked in [
            "color",
            "not text",
            "document",
            "JavaScript",
            "khuôn",
            "chú thích",
            "alert",
        ] {
            assert!(
                !got.text.contains(leaked),
                "{leaked} leaked into {:?}",
                got.text
            );
        }
    }

    #[test]
    fn page_chrome_is_dropped_but_article_header_is_kept() {
        let html = "<body><header><a>Trang chủ</a> | <a>Thời sự</a></header>\
            <nav><ul><li>Kinh tế</li><li>Xã hội</li></ul></nav>\
            <article><header><h1>Tiêu đề bài</h1></header><p>Nội dung chính.</p>\
            <aside>Tin liên quan</aside></article>\
            <footer>Đường dây nóng: 0912 345 678</footer></body>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Tiêu đề bài\n\nNội dung chính.");
    }

    #[test]
    fn unclosed_chrome_element_does_not_swallow_the_page() {
        let got = html_to_text("<nav>Trang chủ<p>Bài viết vẫn còn.</p>");
        assert!(got.text.contains("Bài viết vẫn còn."), "{:?}", got.text);
    }

    #[test]
    fn entities_are_decoded() {
        let html = "<p>A&nbsp;&amp;&nbsp;B &quot;x&quot; &#39;y&#39; &lt;z&gt; &hellip; 1&ndash;2 \
            &mdash; &laquo;k&raquo; &ldquo;q&rdquo; &#7871; &#x1EA1; &#147;c&#148; \
            Vi&ecirc;&#803;t &Dstrok;&agrave; &amp &bogus; &#; &#0; &#x110000; AT&T</p>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "A & B \"x\" 'y' <z> … 1–2 — «k» “q” ế ạ “c” Việt Đà & &bogus; &#; \u{FFFD} \u{FFFD} AT&T"
        );
    }

    #[test]
    fn blocks_become_lines_and_paragraphs() {
        let html = "<div><p>Một   hai\n\t ba</p><p>Bốn <b>năm</b><i>sáu</i></p>\
            <ul><li>mục 1</li><li>mục <a href='#'>2</a></li></ul>\
            <p>dòng 1<br>dòng 2<br><br>đoạn mới</p>\
            <table><tr><td>Ô 1</td><td>Ô 2</td></tr><tr><td>Ô 3</td></tr></table></div>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "Một hai ba\n\nBốn nămsáu\n\nmục 1\nmục 2\n\ndòng 1\ndòng 2\n\nđoạn mới\n\nÔ 1 Ô 2\nÔ 3"
        );
    }

    #[test]
    fn nested_tags_and_pre() {
        let html = "<div><div><section><p><span><em><strong>Sâu</strong></em> lồng</span></p>\
            </section></div></div><pre>dòng a\ndòng   b</pre>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Sâu lồng\n\ndòng a\ndòng b");
    }

    #[test]
    fn title_comes_from_title_then_h1() {
        let with_title = "<html><head><title>\n  Tiêu đề &amp; trang </title></head>\
            <body><svg><title>icon</title></svg><h1>Khác</h1></body></html>";
        assert_eq!(
            html_to_text(with_title).title.as_deref(),
            Some("Tiêu đề & trang")
        );
        let svg_first = "<svg><title>icon</title></svg><title>Thật</title>";
        assert_eq!(html_to_text(svg_first).title.as_deref(), Some("Thật"));
        let h1_only = "<body><header><h1>Logo báo</h1></header><article><h1>Bài <i>chính</i></h1>\
            <p>x</p></article></body>";
        assert_eq!(html_to_text(h1_only).title.as_deref(), Some("Bài chính"));
        let chrome_h1 = "<header><h1>Logo báo</h1></header><p>x</p>";
        assert_eq!(html_to_text(chrome_h1).title.as_deref(), Some("Logo báo"));
        assert_eq!(html_to_text("<p>không tiêu đề</p>").title, None);
        assert_eq!(html_to_text("<title>  </title><p>x</p>").title, None);
    }

    #[test]
    fn self_closed_scripts_still_hide_their_code() {
        let h = "<p>Trước.</p><script src=\"a.js\"/>var x = 1;</script><STYLE/>.a{}</style>\
            <p>Sau.</p>";
        assert_eq!(html_to_text(h).text, "Trước.\n\nSau.");
        // XHTML: no end tag, so the element really is empty and the text after it stays.
        let x = "<script src=\"a.js\"/><p>Còn lại.</p><script src=\"b.js\"/><p>Hết.</p>";
        assert_eq!(html_to_text(x).text, "Còn lại.\n\nHết.");
    }

    #[test]
    fn malformed_documents_do_not_panic_and_keep_text() {
        let cases = [
            "<p>Mở <b>không đóng <i>mãi",
            "</div></p>Thừa thẻ đóng</span>",
            "<p class=\"x>Trích dẫn hỏng</p><p>Tiếp</p>",
            "a < b và c<3 > d",
            "<!-- chú thích không đóng <p>mất",
            "<script>không đóng",
            "<p>Cắt giữa thẻ <a href=",
            "&#xFFFFFFFFFFFF; &#99999999999999999999; &",
            "<<>><</>",
            "<p>Việt Nam</p><",
            "\u{FEFF}<p>BOM</p>",
        ];
        for html in cases {
            let _ = html_to_text(html);
        }
        assert_eq!(
            html_to_text("<p>Mở <b>không đóng <i>mãi").text,
            "Mở không đóng mãi"
        );
        assert_eq!(
            html_to_text("</div></p>Thừa thẻ đóng</span>").text,
            "Thừa thẻ đóng"
        );
        assert_eq!(html_to_text("a < b và c<3 > d").text, "a < b và c<3 > d");
        assert_eq!(html_to_text("<!-- chú thích không đóng <p>mất").text, "");
        assert_eq!(html_to_text("<script>không đóng").text, "");
        assert_eq!(
            html_to_text("<p>Cắt giữa thẻ <a href=").text,
            "Cắt giữa thẻ"
        );
        assert_eq!(html_to_text("\u{FEFF}<p>BOM</p>").text, "BOM");
        let broken_quote = html_to_text("<p class=\"x>Trích dẫn hỏng</p><p>Tiếp</p>").text;
        assert!(broken_quote.contains("Tiếp"), "{broken_quote:?}");
    }

    #[test]
    fn cookie_banner_div_is_dropped() {
        let html = "<body><div class=\"cookie-banner\" id=\"cookie-consent\">\
            <p>Chúng tôi sử dụng cookie để cải thiện trải nghiệm.</p><button>Đồng ý</button></div>\
            <div class=\"thong-bao-cookie\">Trang web này sử dụng cookie.</div>\
            <div id=\"gdpr-banner\" class=\"banner\">Website sử dụng cookie.</div>\
            <article><h1>Tiêu đề</h1><p>Đoạn đầu của bài viết, dài hơn thông báo cookie.</p>\
            <p>Đoạn thứ hai của bài viết.</p></article></body>";
        let got = html_to_text(html);
        assert_eq!(
            got.text,
            "Tiêu đề\n\nĐoạn đầu của bài viết, dài hơn thông báo cookie.\n\nĐoạn thứ hai của bài viết."
        );
    }

    #[test]
    fn widgets_in_divs_are_dropped_like_nav() {
        let html =
            "<div class=\"top-bar\">Hà Nội, Thứ Bảy 18/05/2024 | <a>Đăng nhập</a> | RSS</div>\
            <div class=\"header\"><div class=\"logo\"><a>Báo Mẫu</a></div></div>\
            <div class=\"breadcrumb\"><a>Trang chủ</a> » <a>Kinh tế</a></div>\
            <div class=\"main\"><div class=\"article__cate\">Kinh tế</div><h1>Tiêu đề</h1>\
            <div class=\"article-body\"><p>Đoạn một.</p><div class=\"box-quangcao\">QC</div>\
            <p>Đoạn hai.</p></div><div class=\"social\">Chia sẻ: Facebook</div>\
            <ul class=\"tin-lien-quan\"><li>Bài khác</li></ul><div class=\"boxRelated\">Xem</div>\
            <div id=\"popup-dang-ky\">Đăng ký</div><div class=\"modal fade\">Hộp</div>\
            <div class=\"newsletter-form\">Nhận bản tin</div><a class=\"back-to-top\">Lên đầu</a>\
            <div class=\"fb-comments\">Bình luận</div></div>\
            <div class=\"footer\">Bản quyền</div>";
        let got = html_to_text(html);
        assert_eq!(got.text, "Tiêu đề\n\nĐoạn một.\n\nĐoạn hai.");
    }

    #[test]
    fn article_body_and_content_classes_are_kept() {
        for class in [
            "article-body",
            "news-content",
            "article__body",
            "sharepoint-article",
            "headline",
            "download-box",
            "no-ads",
            "adress",
            "detail-content fck_detail",
        ] {
            let html = format!("<div class=\"{class}\"><p>Nội dung.</p></div><p>Khác.</p>");
            assert_eq!(
                html_to_text(&html).text,
                "Nội dung.\n\nKhác.",
                "class={class}"
            );
        }
    }

    #[test]
    fn class_rule_matches_whole_parts_only() {
        let chrome = [
            "cookie-banner",
            "thong-bao-cookie",
            "cookieConsent",
            "gdpr",
            "ads",
            "banner-ads",
            "ad-slot",
            "advertisement",
            "quang-cao",
            "quangcao",
            "box_quangcao_right",
            "topbar",
            "top-bar",
            "header-top",
            "utility-bar",
            "breadcrumbs",
            "share",
            "article-share",
            "social-links",
            "comment-list",
            "related",
            "related-news",
            "box-related",
            "tin-lien-quan",
            "tinlienquan",
            "popup",
            "modal-dialog",
            "newsletter",
            "subscribe-box",
            "back-to-top",
            "article__cate",
            "site-logo",
            "navbar-brand",
            "site-name",
        ];
        for token in chrome {
            assert!(chrome_token(token).is_some(), "{token} should be chrome");
        }
        let content = [
            "article-body",
            "news-content",
            "sharepoint-article",
            "headline",
            "shadow",
            "loading",
            "adress",
            "download",
            "no-ads",
            "has-related",
            "toppage",
            "fck_detail",
            "",
        ];
        for token in content {
            assert_eq!(chrome_token(token), None, "{token} should not be chrome");
        }
        assert_eq!(chrome_token("header"), Some(Chrome::Masthead));
        assert_eq!(chrome_token("site-footer"), Some(Chrome::Masthead));
        assert_eq!(chrome_token("article-header"), None);
        assert_eq!(chrome_token("logo"), Some(Chrome::Logo));
    }

    #[test]
    fn chrome_wrapper_holding_the_headline_or_the_article_is_kept() {
        // A related-news class on the wrapper of the article itself.
        let html = "<div class=\"box-related detail\"><h1>Tiêu đề bài</h1><p>Câu ngắn.</p></div>\
            <div class=\"cookie\">Cookie.</div>";
        assert_eq!(html_to_text(html).text, "Tiêu đề bài\n\nCâu ngắn.");
        // No h1, but the wrapper holds most of the prose.
        let html = "<div class=\"share-wrap\"><p>Đoạn văn dài thứ nhất của bài báo.</p>\
            <p>Đoạn văn dài thứ hai của bài báo.</p></div><p>Cuối.</p>";
        assert!(html_to_text(html).text.contains("thứ hai"));
        // An h1 inside the logo is the masthead: it protects nothing when a headline exists.
        let html = "<div class=\"logo\"><h1>Báo Mẫu</h1></div><h1>Tiêu đề</h1><p>Thân bài.</p>";
        assert_eq!(html_to_text(html).text, "Tiêu đề\n\nThân bài.");
    }

    #[test]
    fn unclosed_chrome_div_does_not_swallow_the_article() {
        // The ad div is never closed, so it pairs with the wrapper's </div> and would cover
        // the whole article: it is kept instead.
        let html = "<div id=\"wrap\"><div class=\"ads\">QC<p>Đoạn một của bài.</p>\
            <p>Đoạn hai của bài.</p></div><footer>F</footer>";
        let got = html_to_text(html).text;
        assert!(
            got.contains("Đoạn một") && got.contains("Đoạn hai"),
            "{got:?}"
        );
        // No end tag at all.
        let got = html_to_text("<div class=\"popup\">Đăng ký<p>Bài viết vẫn còn.</p>").text;
        assert!(got.contains("Bài viết vẫn còn."), "{got:?}");
        // An unclosed chrome <p> ends at the next <p>; it does not pair with a later </p>.
        let got = html_to_text("<p class=\"share\">Chia sẻ<p>Bài viết.</p><p>Tiếp.</p>").text;
        assert!(
            got.contains("Bài viết.") && got.contains("Tiếp."),
            "{got:?}"
        );
    }

    #[test]
    fn attribute_quoting_variants() {
        let cases = [
            "<div class='cookie-banner'>Cookie</div>",
            "<div class=cookie-banner>Cookie</div>",
            "<DIV CLASS=\"COOKIE-BANNER\">Cookie</DIV>",
            "<div Class = \"x  cookie-banner\" >Cookie</div>",
            "<div data-a=\"class=x\" id='cookie-notice'>Cookie</div>",
            "<div title=\"a > b\" class=\"ads\">Cookie</div>",
            "<div\nclass=\"quang-cao\"\n>Cookie</div>",
            "<div class=\"ads\"/>Cookie</div>",
        ];
        for case in &cases[..7] {
            let html = format!("<p>Trước.</p>{case}<p>Sau.</p>");
            assert_eq!(html_to_text(&html).text, "Trước.\n\nSau.", "{case}");
        }
        // Self-closing syntax on a <div> is ignored by browsers; the text after it is not
        // inside anything we can pair, so it is kept.
        let html = format!("<p>Trước.</p>{}<p>Sau.</p>", cases[7]);
        assert!(html_to_text(&html).text.contains("Cookie"));
        assert_eq!(
            class_and_id(" id=a CLASS='b c' class=\"d\""),
            (Some("b c".to_string()), Some("a".to_string()))
        );
        assert_eq!(class_and_id(" class"), (Some(String::new()), None));
        assert_eq!(class_and_id(" class=\"x"), (Some("x".to_string()), None));
    }

    #[test]
    fn header_class_inside_the_article_is_kept() {
        let html = "<div class=\"header\">Báo Mẫu</div><article><div class=\"header\">\
            <h2>Phụ đề</h2></div><p>Thân.</p><div class=\"footer\">Tác giả: A</div></article>";
        assert_eq!(html_to_text(html).text, "Phụ đề\n\nThân.\n\nTác giả: A");
    }

    #[test]
    fn skipped_element_still_separates_text() {
        assert_eq!(
            html_to_text("Trước<div class=\"ads\">QC</div>Sau").text,
            "Trước\n\nSau"
        );
        assert_eq!(html_to_text("Trước<nav>Menu</nav>Sau").text, "Trước\n\nSau");
    }

    #[test]
    fn output_is_nfc() {
        // "ệ" written as e + circumflex + dot below.
        let got = html_to_text("<p>Vie\u{0302}\u{0323}t</p>");
        assert_eq!(got.text, "Việt");
    }
}
