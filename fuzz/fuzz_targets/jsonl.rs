//! Arbitrary bytes as a .jsonl file → `corpus::read`, as bantin reads a feed.
//!
//! Properties, besides "no panic, no hang": every non-blank line of the readable (UTF-8) part
//! becomes exactly one article or one error naming `file:line`; invalid UTF-8 is one error for
//! the file; articles have unique non-blank ids and non-blank NFC text.
#![no_main]

use bantin::corpus;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

fn path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("feed.jsonl");
        (dir, p)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    std::fs::write(p, data).expect("write input");
    let batch = corpus::read(p).expect("an existing file always reads");
    let origin = p.display().to_string();

    let valid = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&data[..e.valid_up_to()]).unwrap(),
    };
    let valid = valid.strip_prefix('\u{FEFF}').unwrap_or(valid);
    let file_errors = batch.errors.iter().filter(|e| e.origin == origin).count();
    let utf8_ok = std::str::from_utf8(data).is_ok();
    assert_eq!(file_errors, usize::from(!utf8_ok), "file-level errors");

    let mut outcomes: BTreeMap<usize, usize> = BTreeMap::new();
    let line_of = |o: &str| -> usize {
        let n = o
            .strip_prefix(&origin)
            .and_then(|r| r.strip_prefix(':'))
            .unwrap_or_else(|| panic!("origin {o:?} names no line of {origin}"));
        n.parse().expect("a line number")
    };
    for a in &batch.articles {
        *outcomes.entry(line_of(&a.origin)).or_default() += 1;
    }
    for e in batch.errors.iter().filter(|e| e.origin != origin) {
        assert!(!e.message.is_empty());
        *outcomes.entry(line_of(&e.origin)).or_default() += 1;
    }
    let expected: Vec<usize> = valid
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        outcomes.keys().copied().collect::<Vec<_>>(),
        expected,
        "lines without an outcome, or outcomes without a line"
    );
    assert!(
        outcomes.values().all(|&n| n == 1),
        "a line with two outcomes"
    );

    let mut ids = HashSet::new();
    for a in &batch.articles {
        assert!(!a.id.trim().is_empty(), "blank id");
        assert!(ids.insert(a.id.as_str()), "duplicate id {:?}", a.id);
        assert!(!a.text.trim().is_empty(), "blank text");
        use unicode_normalization::is_nfc;
        assert!(is_nfc(&a.text), "text not NFC");
    }
});
