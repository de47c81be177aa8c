//! Batch runs: chunks, progress, the state store, and the digest's output directory.

use super::{Engine, EngineError};
use crate::corpus::{Article, ItemError};
use crate::digest::Digest;
use crate::output::{write_atomic, OutputError};
use crate::pipeline::Analysis;
use indicatif::ProgressBar;
use std::path::Path;

/// One article of a run: its analysis and whether the state store already had it, or its error.
pub type Analysed = Result<(Analysis, bool), ItemError>;

/// The outcome of a batch run: every article either analysed or named with its error.
#[derive(Debug, Default)]
pub struct BatchRun {
    /// In input order.
    pub analyses: Vec<Analysis>,
    pub errors: Vec<ItemError>,
    /// How many analyses came from the state store rather than the models.
    pub reused: usize,
    /// Per analysis (same order): true when it came from the store.
    pub reused_flags: Vec<bool>,
}

impl Engine {
    /// Analyses articles with a progress bar, reusing and filling the state store when the
    /// engine has one. Each chunk is committed before the next starts, so a crash loses at
    /// most the chunk in flight; errors stay per article and are reported as warnings.
    pub fn analyze_batch(&self, articles: &[Article]) -> Result<BatchRun, EngineError> {
        let bar = self.progress.items(articles.len() as u64, "articles");
        if let Some(ab) = self.abstractive() {
            ab.set_bar(Some(bar.clone()));
        }
        let results = self.run_stored(articles, Some(&bar));
        bar.finish_and_clear();
        if let Some(ab) = self.abstractive() {
            ab.set_bar(None);
        }
        let mut run = BatchRun::default();
        for r in results? {
            match r {
                Ok((a, reused)) => {
                    run.reused += reused as usize;
                    run.reused_flags.push(reused);
                    run.analyses.push(a);
                }
                Err(e) => {
                    self.progress.warn(&format!("{}: {}", e.origin, e.message));
                    run.errors.push(e);
                }
            }
        }
        Ok(run)
    }

    /// The state-aware core of a run, in input order: `(analysis, reused)` or the article's
    /// error. Without a store every article is analysed. The store's lock is held only to
    /// read and to commit, never while the models run, so readers are not blocked.
    pub fn run_stored(
        &self,
        articles: &[Article],
        bar: Option<&ProgressBar>,
    ) -> Result<Vec<Analysed>, EngineError> {
        let mut out: Vec<Option<Analysed>> = (0..articles.len()).map(|_| None).collect();
        let scope = self.scope();
        let hashes: Vec<String> = articles
            .iter()
            .map(|a| crate::state::content_hash(&a.id, a.title.as_deref(), &a.text))
            .collect();
        let mut todo: Vec<usize> = Vec::new();
        if let Some(store) = self.store() {
            for (i, a) in articles.iter().enumerate() {
                match store.get(&hashes[i], &scope)? {
                    Some(mut cached) => {
                        cached.result.origin = a.origin.clone();
                        out[i] = Some(Ok((cached, true)));
                    }
                    None => todo.push(i),
                }
            }
        } else {
            todo = (0..articles.len()).collect();
        }
        let cached = articles.len() - todo.len();
        if cached > 0 {
            self.progress.log(&format!(
                "state: {cached} of {} articles already analysed",
                articles.len()
            ));
        }
        if let Some(mut store) = self.store() {
            let stale = store.prune_stale(&scope, &hashes)?;
            if stale > 0 {
                self.progress.log(&format!(
                    "state: {stale} results of another model or taxonomy removed"
                ));
            }
        }
        if let Some(bar) = bar {
            bar.set_length(todo.len() as u64);
        }
        for part in todo.chunks(self.chunk) {
            let arts: Vec<Article> = part.iter().map(|&i| articles[i].clone()).collect();
            let results = self.analyzer.analyze(&arts);
            if let Some(mut store) = self.store() {
                let fresh: Vec<(String, &Analysis)> = results
                    .iter()
                    .zip(part)
                    .filter_map(|(r, &i)| r.as_ref().ok().map(|a| (hashes[i].clone(), a)))
                    .collect();
                store.put(&scope, &fresh)?;
            }
            // Test hook: the crash tests need a run slow enough to be killed between commits,
            // whatever the machine's speed. Results are unaffected.
            if let Some(ms) = std::env::var("BANTIN_TEST_CHUNK_DELAY_MS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
            {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
            for (r, &i) in results.into_iter().zip(part) {
                out[i] = Some(r.map(|a| (a, false)));
            }
            if let Some(bar) = bar {
                bar.inc(part.len() as u64);
            }
        }
        Ok(out
            .into_iter()
            .zip(articles)
            .map(|(r, a)| {
                r.unwrap_or_else(|| {
                    Err(ItemError {
                        origin: a.origin.clone(),
                        id: Some(a.id.clone()),
                        message: "not analysed".into(),
                    })
                })
            })
            .collect())
    }
}

/// Writes a digest directory, each file atomically: articles.jsonl, analyses.jsonl,
/// errors.jsonl, digest.json, digest.md, digest.html.
pub fn write_digest_dir(
    out: &Path,
    d: &Digest,
    analyses: &[Analysis],
    errors: &[ItemError],
) -> Result<(), OutputError> {
    let json = |path: &Path, r: serde_json::Result<String>| {
        r.map_err(|e| OutputError {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })
    };
    let mut jsonl = String::new();
    let mut full = String::new();
    for a in analyses {
        jsonl.push_str(&json(out, serde_json::to_string(&a.result))?);
        jsonl.push('\n');
        full.push_str(&json(out, serde_json::to_string(a))?);
        full.push('\n');
    }
    let mut errs = String::new();
    for e in errors {
        errs.push_str(&json(out, serde_json::to_string(e))?);
        errs.push('\n');
    }
    let files: [(&str, String); 6] = [
        ("articles.jsonl", jsonl),
        ("analyses.jsonl", full),
        ("errors.jsonl", errs),
        ("digest.json", json(out, serde_json::to_string_pretty(d))?),
        ("digest.md", crate::digest::markdown(d)),
        ("digest.html", crate::digest::html(d)),
    ];
    for (name, text) in files {
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// Stable across runs, machines and Rust versions (FNV-1a), unlike std's hasher: the shard of
/// an article id for `digest --shard I/N`.
pub fn shard_of(id: &str, n: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h % n
}

/// `YYYY-MM-DD`, digits where digits belong.
pub fn is_iso_date(s: &str) -> bool {
    s.len() == 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The article's date as yyyy-mm-dd, from the input (ISO, or dd/mm/yyyy as Vietnamese sites
/// write it) or else from its dateline. Dates are compared as text, so any other form would
/// filter wrongly: it counts as no date.
pub fn article_date(a: &Article) -> Option<String> {
    if let Some(d) = &a.date {
        let iso: String = d.trim().chars().take(10).collect();
        if is_iso_date(&iso) {
            return Some(iso);
        }
        if let Some(d) = crate::pipeline::find_date(d) {
            return Some(d);
        }
    }
    crate::pipeline::removed_date(&crate::corpus::clean::clean(&a.text).removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert!(is_iso_date("2024-05-31"));
        assert!(!is_iso_date("2024-5-31"));
        assert!(!is_iso_date("31/05/2024"));
        assert!(!is_iso_date("2024-05-3a"));
    }

    #[test]
    fn article_dates_from_input_or_dateline() {
        let mut a = Article::new("x", "Hà Nội, 03/04/2024 - Bộ Công Thương họp.");
        a.date = Some("2024-06-01T08:00:00+07:00".into());
        assert_eq!(article_date(&a).as_deref(), Some("2024-06-01"));
        a.date = Some("không rõ".into());
        let undated = Article::new("y", "Bộ Công Thương họp về năng lượng.");
        assert_eq!(article_date(&undated), None);
    }

    #[test]
    fn shards_are_stable_and_cover_all() {
        // FNV-1a of "a" is 0xaf63dc4c8601ec8c; mod 4 = 0 (computed by hand from the constants).
        assert_eq!(shard_of("a", 4), 0xaf63dc4c8601ec8c % 4);
        let n = 3;
        let ids: Vec<String> = (0..100).map(|i| format!("id{i}")).collect();
        let mut counts = [0; 3];
        for id in &ids {
            counts[shard_of(id, n) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 15), "{counts:?}");
    }
}
