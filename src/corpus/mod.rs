//! Reading collected articles: a directory (read recursively) of .txt, .md and .html files
//! (id = file stem) and JSON Lines files (`{id, text, title?, date?, url?, source?}`). Text is
//! normalised to Unicode NFC. A bad file or line becomes a per-item error naming it; the batch
//! goes on.

pub mod clean;
pub mod html;
pub mod segment;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Files larger than this are refused (an article is never this large; a dump file is).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Article {
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// Raw text, NFC (HTML already turned into text).
    pub text: String,
    /// Where it came from: a path, or path:line for JSON Lines.
    pub origin: String,
}

impl Article {
    /// An article from text alone (NFC-normalised), its origin the id; set `title`, `date`,
    /// `url` and `source` as fields.
    pub fn new(id: impl Into<String>, text: impl AsRef<str>) -> Article {
        let id: String = id.into().nfc().collect();
        Article {
            origin: id.clone(),
            id,
            title: None,
            date: None,
            url: None,
            source: None,
            text: text.as_ref().nfc().collect(),
        }
    }
}

/// A file or line that could not be read; the rest of the batch is unaffected.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemError {
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub articles: Vec<Article>,
    pub errors: Vec<ItemError>,
}

impl Batch {
    fn error(&mut self, origin: impl Into<String>, id: Option<String>, message: impl Into<String>) {
        self.errors.push(ItemError {
            origin: origin.into(),
            id,
            message: message.into(),
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Markdown,
    Html,
    JsonLines,
}

fn kind(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "txt" => Some(Kind::Text),
        "md" | "markdown" => Some(Kind::Markdown),
        "html" | "htm" | "xhtml" => Some(Kind::Html),
        "jsonl" | "ndjson" => Some(Kind::JsonLines),
        _ => None,
    }
}

/// Reads a file or a directory tree. Paths are visited in sorted order, so ids and outputs
/// are the same from run to run.
pub fn read(input: &Path) -> Result<Batch, CorpusError> {
    if !input.exists() {
        return Err(CorpusError::Missing(input.to_path_buf()));
    }
    let mut files = Vec::new();
    if input.is_dir() {
        walk(input, &mut files)?;
    } else {
        files.push(input.to_path_buf());
    }
    let mut batch = Batch::default();
    for f in files {
        read_file(&f, &mut batch);
    }
    dedupe(&mut batch);
    Ok(batch)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CorpusError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue; // hidden files and editors' swap files
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if kind(&p).is_some() {
            out.push(p);
        }
    }
    Ok(())
}

/// Decodes bytes as UTF-8 text, refusing binary data and empty files with a reason.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.is_empty() {
        return Err("empty file".into());
    }
    if bytes.contains(&0) {
        return Err("binary data (NUL bytes): not a text file".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {} (save the file as UTF-8)",
            e.valid_up_to()
        )
    })?;
    let controls = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
        .count();
    if controls * 20 > text.chars().count() {
        return Err("binary data (control characters): not a text file".into());
    }
    if text.trim().is_empty() {
        return Err("only whitespace: no text".into());
    }
    Ok(text.nfc().collect())
}

fn read_file(path: &Path, batch: &mut Batch) {
    let origin = path.display().to_string();
    let Some(kind) = kind(path) else {
        batch.error(
            origin,
            None,
            "unsupported file type (use .txt, .md, .html or .jsonl)",
        );
        return;
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            batch.error(
                origin,
                None,
                format!(
                    "file is {} MB, over the {} MB limit",
                    m.len() >> 20,
                    MAX_FILE_BYTES >> 20
                ),
            );
            return;
        }
        Err(e) => {
            batch.error(origin, None, format!("cannot read: {e}"));
            return;
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            batch.error(origin, None, format!("cannot read: {e}"));
            return;
        }
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if kind == Kind::JsonLines {
        read_jsonl(&bytes, &origin, batch);
        return;
    }
    let text = match decode(&bytes) {
        Ok(t) => t,
        Err(message) => {
            batch.error(origin, Some(stem), message);
            return;
        }
    };
    let (title, text) = match kind {
        Kind::Html => {
            let h = html::html_to_text(&text);
            let body: String = h.text.nfc().collect();
            let title = h
                .title
                .map(|t| strip_site_name(&t.nfc().collect::<String>(), &body));
            (title, body)
        }
        Kind::Markdown => markdown(&text),
        _ => (None, text),
    };
    if text.trim().is_empty() {
        batch.error(origin, Some(stem), "no text after removing markup");
        return;
    }
    // Plain text has no markup for a title: the pipeline takes the first line that survives
    // cleaning (a raw first line is often a menu or a date).
    let title = title.filter(|t| !t.trim().is_empty());
    batch.articles.push(Article {
        id: stem,
        title,
        date: None,
        url: None,
        source: None,
        text,
        origin,
    });
}

/// `<title>` often ends with the site's name ("Headline - Báo X"): when the part before a
/// separator is itself a line of the page (its headline), that part is the title.
fn strip_site_name(title: &str, body: &str) -> String {
    for sep in [" - ", " | ", " – ", " — ", " :: "] {
        if let Some((head, _)) = title.rsplit_once(sep) {
            let head = head.trim();
            if !head.is_empty() && body.lines().any(|l| l.trim() == head) {
                return head.to_string();
            }
        }
    }
    title.trim().to_string()
}

/// Markdown: the first `#` heading is the title; heading marks are dropped from the text.
fn markdown(text: &str) -> (Option<String>, String) {
    let mut title = None;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        let body = if trimmed.starts_with('#') {
            let h = trimmed.trim_start_matches('#').trim();
            if title.is_none() && !h.is_empty() {
                title = Some(h.to_string());
            }
            h
        } else {
            line
        };
        out.push_str(body);
        out.push('\n');
    }
    (title, out)
}

#[derive(Deserialize)]
struct JsonArticle {
    id: Option<serde_json::Value>,
    text: Option<String>,
    title: Option<String>,
    date: Option<String>,
    url: Option<String>,
    source: Option<String>,
}

fn read_jsonl(bytes: &[u8], origin: &str, batch: &mut Batch) {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // Keep the valid prefix's lines: one bad byte should not lose a whole file.
            batch.error(
                origin,
                None,
                format!(
                    "invalid UTF-8 at byte {}; lines after it were skipped",
                    e.valid_up_to()
                ),
            );
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("")
        }
    };
    // Editors on Windows save UTF-8 with a byte order mark; it would make line 1 malformed JSON.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let at = format!("{origin}:{}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let a: JsonArticle = match serde_json::from_str(line) {
            Ok(a) => a,
            Err(e) => {
                batch.error(at, None, format!("malformed JSON: {e}"));
                continue;
            }
        };
        let id = match a.id {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                batch.error(at, None, "missing \"id\" (a non-empty string or number)");
                continue;
            }
        };
        let body = match a.text {
            Some(t) if !t.trim().is_empty() => t.nfc().collect::<String>(),
            Some(_) => {
                batch.error(at, Some(id), "\"text\" is empty");
                continue;
            }
            None => {
                batch.error(at, Some(id), "missing \"text\"");
                continue;
            }
        };
        let nfc = |s: Option<String>| {
            s.map(|s| s.nfc().collect::<String>())
                .filter(|s| !s.trim().is_empty())
        };
        let title = nfc(a.title);
        batch.articles.push(Article {
            id,
            title,
            date: nfc(a.date),
            url: nfc(a.url),
            source: nfc(a.source),
            text: body,
            origin: at,
        });
    }
}

/// Two articles with one id would overwrite each other's results: the first wins, the others
/// are reported.
fn dedupe(batch: &mut Batch) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut keep = Vec::with_capacity(batch.articles.len());
    for a in std::mem::take(&mut batch.articles) {
        if let Some(first) = seen.get(&a.id) {
            batch.errors.push(ItemError {
                origin: a.origin.clone(),
                id: Some(a.id.clone()),
                message: format!("duplicate id {:?} (first seen in {first}); skipped", a.id),
            });
        } else {
            seen.insert(a.id.clone(), a.origin.clone());
            keep.push(a);
        }
    }
    batch.articles = keep;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_bad_input_with_reasons() {
        assert!(decode(b"").unwrap_err().contains("empty"));
        assert!(decode(b"  \n\t ").unwrap_err().contains("whitespace"));
        assert!(decode(b"abc\x00def").unwrap_err().contains("binary"));
        assert!(decode(b"Vi\xE1\xBB\x87t \xFF")
            .unwrap_err()
            .contains("invalid UTF-8 at byte 7"));
        // NFD in, NFC out: "ệ" as e + U+0323 + U+0302.
        assert_eq!(decode("Vie\u{323}\u{302}t".as_bytes()).unwrap(), "Việt");
        assert_eq!(decode(b"\xEF\xBB\xBFxin").unwrap(), "xin");
    }

    #[test]
    fn jsonl_lines_fail_alone() {
        let mut b = Batch::default();
        let data = "{\"id\":\"a\",\"text\":\"Một\"}\n{bad json}\n{\"id\":\"b\"}\n{\"id\":7,\"text\":\"Hai\",\"extra\":1}\n";
        read_jsonl(data.as_bytes(), "x.jsonl", &mut b);
        assert_eq!(b.articles.len(), 2);
        assert_eq!(b.articles[1].id, "7");
        assert_eq!(b.errors.len(), 2);
        assert_eq!(b.errors[0].origin, "x.jsonl:2");
        assert!(b.errors[1].message.contains("missing \"text\""));
    }

    #[test]
    fn jsonl_with_a_byte_order_mark() {
        let mut b = Batch::default();
        read_jsonl(
            "\u{FEFF}{\"id\":\"a\",\"text\":\"Một\"}\n".as_bytes(),
            "bom.jsonl",
            &mut b,
        );
        assert!(b.errors.is_empty(), "{:?}", b.errors);
        assert_eq!(b.articles[0].id, "a");
    }

    #[test]
    fn duplicate_ids_keep_the_first() {
        let mut b = Batch::default();
        read_jsonl(
            "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n".as_bytes(),
            "d.jsonl",
            &mut b,
        );
        dedupe(&mut b);
        assert_eq!(b.articles.len(), 1);
        assert_eq!(b.articles[0].text, "x");
        assert!(b.errors[0].message.contains("duplicate id"));
    }

    #[test]
    fn site_name_is_cut_from_html_titles_only_when_the_headline_confirms_it() {
        let body = "Menu\nThái Bình khởi công khu công nghiệp\nNội dung.";
        assert_eq!(
            strip_site_name("Thái Bình khởi công khu công nghiệp - Báo X", body),
            "Thái Bình khởi công khu công nghiệp"
        );
        assert_eq!(
            strip_site_name("Giá vàng - lên hay xuống", body),
            "Giá vàng - lên hay xuống"
        );
    }

    #[test]
    fn markdown_title_from_first_heading() {
        let (t, body) = markdown("# Tiêu đề\n\nNội dung.\n");
        assert_eq!(t.as_deref(), Some("Tiêu đề"));
        assert!(body.starts_with("Tiêu đề\n"));
    }
}
