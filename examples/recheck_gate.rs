//! Re-runs the faithfulness check on the generated summaries of an earlier
//! `bantin eval --summarizer hybrid|abstractive --dump FILE` run, without generating again.
//!
//! Generation is the slow part of a dev run (half an hour on two cores); the checker is not. When
//! the checker changes, this rewrites the run's `summaries.jsonl` with the new `unsupported`
//! spans and flags (the source is the article's title and cleaned sentences from the dump, as in
//! the pipeline) and lists every span whose verdict changed, so that the change can be reviewed
//! and `eval/choose_gate.py` re-run on dev.
//!
//! ```sh
//! cargo run --release --example recheck_gate -- out/eval-dev/summaries.jsonl out/dev-dump.jsonl out/dev-recheck
//! python3 eval/choose_gate.py out/dev-recheck
//! ```

use bantin::generate::faithful;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn read_jsonl(path: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{path}:{}: {e}", i + 1)))
        .collect()
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [summaries, dump, out] = args.as_slice() else {
        return Err("usage: recheck_gate SUMMARIES.jsonl DUMP.jsonl OUT_DIR".into());
    };
    let mut sources = HashMap::new();
    for d in read_jsonl(dump)? {
        let id = d["id"].as_str().unwrap_or_default().to_string();
        let title = d["title"].as_str().unwrap_or_default();
        let body: Vec<&str> = d["sentences"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["text"].as_str()).collect())
            .unwrap_or_default();
        sources.insert(id, format!("{title}\n{}", body.join("\n")));
    }
    let mut text = String::new();
    let (mut before, mut after) = (0, 0);
    for mut line in read_jsonl(summaries)? {
        let id = line["id"].as_str().unwrap_or_default().to_string();
        if let (Some(generated), Some(source)) = (line["generated"].as_str(), sources.get(&id)) {
            let spans = faithful::unsupported(generated, &faithful::Source::new(source));
            let old: Vec<String> = line["unsupported"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s["text"].as_str())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let new: Vec<String> = spans.iter().map(|s| s.text.clone()).collect();
            before += !old.is_empty() as usize;
            after += !new.is_empty() as usize;
            for s in old.iter().filter(|s| !new.contains(s)) {
                println!("{id}: now supported: {s}");
            }
            for s in new.iter().filter(|s| !old.contains(s)) {
                println!("{id}: now unsupported: {s}");
            }
            let mut flags: Vec<Value> = line["flags"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.as_str() != Some("unsupported"))
                .collect();
            if !spans.is_empty() {
                flags.push("unsupported".into());
            }
            line["flags"] = Value::Array(flags);
            line["unsupported"] = serde_json::to_value(&spans).map_err(|e| e.to_string())?;
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{out}: {e}"))?;
    let path = Path::new(out).join("summaries.jsonl");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "summaries with unsupported spans: {before} before, {after} now; wrote {}",
        path.display()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("recheck_gate: {e}");
        std::process::exit(2);
    }
}
