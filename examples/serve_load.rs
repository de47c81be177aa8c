//! A bounded load run against `bantin serve` on loopback: starts the service (the release
//! binary), waits until it is ready, sends every article of a JSON Lines file from C concurrent
//! clients in requests of K articles, and reports p50/p99 latency, articles/s, errors by status
//! and the service's peak RSS. Every loop is bounded by the file's length; only 127.0.0.1 is
//! contacted.
//!
//! ```sh
//! python3 eval/make_scale_corpus.py 2000 out/scale-2000.jsonl
//! cargo build --release && cargo run --release --example serve_load -- out/scale-2000.jsonl 16 4
//! # overload: a small queue; expect 429s and a service that stays up
//! cargo run --release --example serve_load -- out/scale-2000.jsonl 64 8 --max-queue 64
//! ```

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: serve_load FILE.jsonl [CLIENTS] [PER_REQUEST] [extra bantin serve flags...]";
    let file = args.first().ok_or(usage)?;
    let clients: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let per: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(4);
    let extra: Vec<String> = args.iter().skip(3).cloned().collect();
    let articles: Vec<serde_json::Value> = std::fs::read_to_string(file)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let bin = std::env::var("BANTIN_BIN").unwrap_or_else(|_| "target/release/bantin".into());
    let state = tempfile::tempdir()?;
    let mut child = Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0", "-q", "--state"])
        .arg(state.path().join("load.sqlite"))
        .args(&extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().ok_or("service exited before listening")??;
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let t_load = Instant::now();
    while ureq::get(&format!("{base}/health")).call().is_err() {
        if t_load.elapsed() > Duration::from_secs(300) {
            return Err("service not ready after 300 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "ready in {:.1}s; {} articles, {clients} clients, {per} per request",
        t_load.elapsed().as_secs_f64(),
        articles.len()
    );

    let chunks: Arc<Vec<String>> = Arc::new(
        articles
            .chunks(per)
            .map(|c| serde_json::json!({ "articles": c }).to_string())
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let article_errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let (chunks, next, latencies, statuses, article_errors, url) = (
                chunks.clone(),
                next.clone(),
                latencies.clone(),
                statuses.clone(),
                article_errors.clone(),
                format!("{base}/v1/analyze"),
            );
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(body) = chunks.get(i) else { return };
                let t = Instant::now();
                let status = match ureq::post(&url)
                    .set("Content-Type", "application/json")
                    .send_string(body)
                {
                    Ok(r) => {
                        let v: serde_json::Value = r.into_json().unwrap_or_default();
                        let n = v["errors"].as_array().map(|e| e.len()).unwrap_or(0);
                        article_errors.fetch_add(n, Ordering::Relaxed);
                        200
                    }
                    Err(ureq::Error::Status(code, _)) => code,
                    Err(_) => 0,
                };
                if status == 200 {
                    latencies.lock().unwrap().push(t.elapsed().as_secs_f64());
                }
                *statuses.lock().unwrap().entry(status).or_default() += 1;
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    let wall = started.elapsed().as_secs_f64();
    let peak_kib = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|k| k.parse::<u64>().ok())
        .unwrap_or(0);
    let up = ureq::get(&format!("{base}/health")).call().is_ok();
    let metrics = ureq::get(&format!("{base}/metrics"))
        .call()
        .ok()
        .and_then(|r| r.into_string().ok())
        .unwrap_or_default();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait()?;

    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let ok_requests = lat.len();
    let ok_articles: usize = ok_requests * per;
    println!(
        "requests: {} ({:?} by status)",
        chunks.len(),
        statuses.lock().unwrap()
    );
    println!(
        "articles answered: {} in {wall:.1}s = {:.1} articles/s; per-article errors {}",
        ok_articles.min(articles.len()),
        ok_articles.min(articles.len()) as f64 / wall,
        article_errors.load(Ordering::Relaxed)
    );
    println!(
        "latency of answered requests: p50 {:.3}s p99 {:.3}s max {:.3}s",
        q(0.5),
        q(0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "peak RSS of the service: {:.0} MiB",
        peak_kib as f64 / 1024.0
    );
    let batches: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("bantin_batch_size_sum") || l.starts_with("bantin_batch_size_count")
        })
        .collect();
    println!("batching: {batches:?}");
    println!(
        "still up after the run: {up}; exit after SIGTERM: {:?}",
        exit.code()
    );
    Ok(())
}
