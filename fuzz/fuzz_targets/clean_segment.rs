//! Arbitrary bytes → `corpus::decode` → `clean::clean` → `segment::sentences`, as bantin reads
//! a .txt file, and the same text through `html::html_to_text` as for an .html file.
//!
//! Properties, besides "no panic, no hang":
//! - cleaning loses nothing silently: every non-blank input line is either kept verbatim
//!   (trimmed) in the cleaned text, in order, or listed in `removed` with its line number;
//! - segmentation loses nothing: the sentences' non-whitespace characters, concatenated, are the
//!   cleaned text's non-whitespace characters; no sentence is empty and each `start` is the byte
//!   offset of its first character.
#![no_main]

use bantin::corpus::{clean, decode, html, segment};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode(data) else {
        return;
    };
    check(&text);
    let h = html::html_to_text(&text);
    check(&h.text);
});

fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00AD}')
}

fn non_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn check(text: &str) {
    let c = clean::clean(text);

    let removed: HashMap<usize, &str> = c
        .removed
        .iter()
        .map(|r| (r.line, r.text.as_str()))
        .collect();
    assert_eq!(removed.len(), c.removed.len(), "a line removed twice");
    let mut expected_kept = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let t = raw.trim_matches(|c: char| c.is_whitespace() || invisible(c));
        match removed.get(&(i + 1)) {
            Some(r) => assert_eq!(*r, t, "removal of line {} misquotes it", i + 1),
            None if t.is_empty() => {}
            None => expected_kept.push(t),
        }
    }
    let kept: Vec<&str> = c.text.split('\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(kept, expected_kept, "cleaning lost or changed a line");

    let sentences = segment::sentences(&c.text);
    let joined: String = sentences.iter().map(|s| non_ws(&s.text)).collect();
    assert_eq!(joined, non_ws(&c.text), "segmentation lost or added text");
    let mut last_start = None;
    for s in &sentences {
        let first = s.text.chars().next().expect("empty sentence");
        assert!(!first.is_whitespace(), "sentence starts with whitespace");
        assert!(c.text.is_char_boundary(s.start), "start inside a character");
        assert!(c.text[s.start..].starts_with(first), "bad start for {s:?}");
        assert!(last_start < Some(s.start), "sentences out of order");
        last_start = Some(s.start);
    }
}
