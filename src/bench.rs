//! `bantin bench`: speed and quality of catalogue models on the same footing, and, where a
//! Python environment with sentence-transformers is at hand, the PyTorch reference on the same
//! sentences and thread count. Each speed measurement runs in its own process so that load
//! time and peak memory belong to that model alone.

use crate::args::{Outcome, PipelineArgs};
use crate::encoder::Role;
use crate::progress::Progress;
use anyhow::Context;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Catalogue models (or hub ids / local dirs), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = crate::catalog::DEFAULT_MODEL)]
    pub models: Vec<String>,
    /// Labelled articles whose sentences are embedded (and which are scored for quality).
    #[arg(long, default_value = "eval/test.jsonl")]
    pub labels: PathBuf,
    /// Instead of sentences cut by bantin, embed exactly these: a JSON file
    /// {"sentences": [...], "prototypes": [...]} (the format peer_baseline.py writes).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// Timed repetitions per model (median reported), after one warm-up.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Threads for candle (RAYON_NUM_THREADS) and for the PyTorch reference.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Skip the quality evaluation (speed only).
    #[arg(long)]
    pub speed_only: bool,
    /// Python interpreter with sentence-transformers, for the PyTorch reference.
    #[arg(long, env = "BANTIN_PEER_PYTHON")]
    pub peer_python: Option<PathBuf>,
    /// The reference harness (peer_baseline.py).
    #[arg(long, env = "BANTIN_PEER_SCRIPT")]
    pub peer_script: Option<PathBuf>,
    #[arg(long, short = 'o', default_value = "out/bench")]
    pub out: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[arg(long)]
    pub corpus: PathBuf,
    #[arg(long)]
    pub json_out: PathBuf,
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[command(flatten)]
    pub model: crate::args::ModelArgs,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchCorpus {
    pub sentences: Vec<String>,
    pub prototypes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Speed {
    pub engine: String,
    pub load_s: f64,
    pub warmup_s: f64,
    pub wall_s: Vec<f64>,
    pub wall_s_median: f64,
    pub texts: usize,
    pub tokens: usize,
    pub padded_positions: usize,
    pub texts_per_s: f64,
    pub tokens_per_s: f64,
    pub peak_rss_mib: f64,
    pub threads: usize,
    pub gflop_per_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub model: String,
    pub speed: Option<Speed>,
    pub quality: Option<crate::eval::report::Headline>,
    pub error: Option<String>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        0.0
    } else {
        s[s.len() / 2]
    }
}

pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// FLOPs per token of a BERT-style encoder: the six matrix products of each layer (2 FLOPs per
/// multiply-add) plus attention over a sequence of `seq` tokens.
pub fn flops_per_token(hidden: f64, ffn: f64, layers: f64, seq: f64) -> f64 {
    layers * (2.0 * (4.0 * hidden * hidden + 2.0 * hidden * ffn) + 4.0 * seq * hidden)
}

/// Runs in a child process: load, warm up, time `runs` passes over the corpus.
pub fn worker(args: WorkerArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let text = std::fs::read_to_string(&args.corpus)
        .with_context(|| format!("reading {}", args.corpus.display()))?;
    let corpus: BenchCorpus = serde_json::from_str(&text).context("bench corpus JSON")?;
    let t0 = Instant::now();
    let mut embedder = crate::engine::load_embedder(&args.model.encoder_config(), progress)?;
    let load_s = t0.elapsed().as_secs_f64();
    // Every timed pass must compute every vector.
    embedder.cache_limit = 0;
    let sents: Vec<&str> = corpus.sentences.iter().map(String::as_str).collect();
    let protos: Vec<&str> = corpus.prototypes.iter().map(String::as_str).collect();
    let pass = || -> anyhow::Result<()> {
        embedder.embed(&protos, Role::Query)?;
        embedder.embed(&sents, Role::Passage)?;
        Ok(())
    };
    let t = Instant::now();
    pass()?;
    let warmup_s = t.elapsed().as_secs_f64();
    let before = embedder.stats();
    let mut walls = Vec::new();
    for _ in 0..args.runs.max(1) {
        let t = Instant::now();
        pass()?;
        walls.push(t.elapsed().as_secs_f64());
    }
    let after = embedder.stats();
    let n = args.runs.max(1);
    let tokens = (after.tokens - before.tokens) / n;
    let padded = (after.padded_positions - before.padded_positions) / n;
    let wall = median(&walls);
    let texts = sents.len() + protos.len();
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        crate::hub::resolve(
            &args.model.model,
            &crate::hub::HubOptions::from_env(true, Progress::silent()),
        )?
        .files
        .config,
    )?)?;
    let gflop = match (
        cfg["hidden_size"].as_f64(),
        cfg["intermediate_size"].as_f64(),
        cfg["num_hidden_layers"].as_f64(),
    ) {
        (Some(h), Some(f), Some(l)) => {
            let seq = tokens as f64 / texts.max(1) as f64;
            Some(flops_per_token(h, f, l, seq) * tokens as f64 / wall / 1e9)
        }
        _ => None,
    };
    let speed = Speed {
        engine: format!(
            "bantin/{} ({})",
            match embedder.kernel {
                crate::encoder::Kernel::Candle => "candle".to_string(),
                k => format!("{} {}", k.name(), crate::encoder::kernels::detect().name()),
            },
            embedder.provenance.model
        ),
        load_s,
        warmup_s,
        wall_s: walls,
        wall_s_median: wall,
        texts,
        tokens,
        padded_positions: padded,
        texts_per_s: texts as f64 / wall,
        tokens_per_s: tokens as f64 / wall,
        peak_rss_mib: peak_rss_mib(),
        threads: std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        gflop_per_s: gflop,
    };
    crate::output::write_atomic(
        &args.json_out,
        serde_json::to_string_pretty(&speed)?.as_bytes(),
    )?;
    Ok(Outcome::Ok)
}

/// The sentences bantin itself embeds for these articles, plus the theme prototypes.
pub fn corpus_from_labels(
    labels: &Path,
    taxonomy: &crate::taxonomy::Taxonomy,
) -> anyhow::Result<BenchCorpus> {
    let items = crate::eval::report::load_labels(labels, None)?;
    let mut sentences = Vec::new();
    for it in &items {
        let c = crate::corpus::clean::clean(&it.article.text);
        sentences.extend(
            crate::corpus::segment::sentences(&c.text)
                .into_iter()
                .map(|s| s.text),
        );
    }
    let mut prototypes = Vec::new();
    for t in &taxonomy.themes {
        prototypes.push(format!("{}. {}", t.name, t.description));
        prototypes.extend(t.examples.iter().cloned());
    }
    Ok(BenchCorpus {
        sentences,
        prototypes,
    })
}

fn run_peer(
    args: &BenchArgs,
    corpus: &Path,
    model_dir: &Path,
    progress: &Progress,
) -> anyhow::Result<Option<Speed>> {
    let (Some(py), Some(script)) = (&args.peer_python, &args.peer_script) else {
        return Ok(None);
    };
    let mut walls = Vec::new();
    let mut last: Option<serde_json::Value> = None;
    for r in 0..args.runs.max(1) {
        let out = args.out.join(format!("peer-{r}.json"));
        progress.info(&format!(
            "bench: PyTorch reference run {} of {}",
            r + 1,
            args.runs.max(1)
        ));
        let status = Command::new(py)
            .arg(script)
            .args(["worker", "--engine", "st", "--corpus"])
            .arg(corpus)
            .arg("--json-out")
            .arg(&out)
            .args([
                "--threads",
                &args.threads.to_string(),
                "--batch-size",
                "32",
                "--model",
            ])
            .arg(model_dir)
            .args(["--save-vecs", ""])
            .env("OMP_NUM_THREADS", args.threads.to_string())
            .env("MKL_NUM_THREADS", args.threads.to_string())
            .env("HF_HUB_OFFLINE", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {} {}", py.display(), script.display()))?;
        if !status.success() {
            anyhow::bail!("the PyTorch reference exited with {status}");
        }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
        walls.push(v["wall_s"].as_f64().unwrap_or(f64::NAN));
        last = Some(v);
    }
    let v = last.expect("at least one run");
    let c: BenchCorpus = serde_json::from_str(&std::fs::read_to_string(corpus)?)?;
    let texts = c.sentences.len() + c.prototypes.len();
    let wall = median(&walls);
    Ok(Some(Speed {
        engine: "sentence-transformers (PyTorch fp32)".into(),
        load_s: v["load_s"].as_f64().unwrap_or(f64::NAN),
        warmup_s: v["warmup_s"].as_f64().unwrap_or(f64::NAN),
        wall_s: walls,
        wall_s_median: wall,
        texts,
        tokens: 0,
        padded_positions: 0,
        texts_per_s: texts as f64 / wall,
        tokens_per_s: f64::NAN,
        peak_rss_mib: v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        threads: v["torch_threads"].as_u64().unwrap_or(0) as usize,
        gflop_per_s: None,
    }))
}

/// Peak FP32 rate of this CPU: cores × 2 FMA pipes × 8 lanes (AVX2) × 2 FLOPs × clock.
pub fn cpu_peak_gflops(threads: usize) -> Option<(f64, String)> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    let avx2 = info.contains(" avx2");
    let lanes = if info.contains(" avx512f") {
        16.0
    } else if avx2 {
        8.0
    } else {
        4.0
    };
    let peak = threads as f64 * 2.0 * lanes * 2.0 * mhz / 1000.0;
    Some((
        peak,
        format!("{threads} cores × 2 FMA pipes × {lanes} f32 lanes × 2 FLOPs × {mhz:.0} MHz (/proc/cpuinfo)"),
    ))
}

/// The int8 instruction each kernel is built on and how many u8×i8 multiply-adds it issues
/// per core per cycle (instruction width × instructions per cycle), with the words for it.
pub fn int8_macs_per_cycle(isa: crate::encoder::kernels::Isa) -> Option<(f64, &'static str)> {
    use crate::encoder::kernels::Isa;
    Some(match isa {
        // Intel server cores (two 512-bit FMA ports) and Zen 5 issue two per cycle; Zen 4
        // splits each into two 256-bit halves, so it is half of this there.
        Isa::Avx512Vnni => (2.0 * 64.0, "vpdpbusd zmm: 64 multiply-adds, 2 per cycle"),
        Isa::AvxVnni => (2.0 * 32.0, "vpdpbusd ymm: 32 multiply-adds, 2 per cycle"),
        // The peak of the instruction; the kernel pairs each vpmaddubsw with a vpmaddwd (i16
        // pairs to i32), which competes for the same two vector ports, so its own limit is
        // half of this.
        Isa::Avx2 => (
            2.0 * 32.0,
            "vpmaddubsw ymm: 32 multiply-adds, 2 per cycle (each also needs a vpmaddwd on the \
             same ports: the kernel's own limit is half of this)",
        ),
        Isa::NeonDot => (
            2.0 * 16.0,
            "sdot: 16 multiply-adds per 128-bit instruction, 2 per cycle (Neoverse N1/V1 class)",
        ),
        Isa::Neon => (
            2.0 * 8.0,
            "smull: 8 multiply-adds per instruction, 2 per cycle, plus one sadalp each",
        ),
        Isa::Scalar => return None,
    })
}

/// Peak int8 multiply-add rate of the kernel this CPU gets (`BANTIN_ISA` included), counted as
/// 2 ops per multiply-add like the FLOPs.
pub fn cpu_peak_int8_gops(threads: usize) -> Option<(f64, String)> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    let isa = crate::encoder::kernels::detect();
    let (macs, what) = int8_macs_per_cycle(isa)?;
    let peak = threads as f64 * macs * 2.0 * mhz / 1000.0;
    Some((
        peak,
        format!(
            "{} path: {threads} cores × {what} × 2 ops × {mhz:.0} MHz (/proc/cpuinfo)",
            isa.name()
        ),
    ))
}

pub fn run(args: BenchArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(&args.out)?;
    let taxonomy = crate::taxonomy::Taxonomy::load(args.pipeline.themes.as_deref())?;
    let corpus = match &args.corpus {
        Some(p) => serde_json::from_str::<BenchCorpus>(&std::fs::read_to_string(p)?)
            .context("bench corpus JSON")?,
        None => corpus_from_labels(&args.labels, &taxonomy)?,
    };
    let corpus_path = args.out.join("bench_corpus.json");
    crate::output::write_atomic(&corpus_path, serde_json::to_string(&corpus)?.as_bytes())?;
    progress.info(&format!(
        "bench: {} sentences + {} prototypes, {} thread(s), {} run(s) per model",
        corpus.sentences.len(),
        corpus.prototypes.len(),
        args.threads,
        args.runs
    ));
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    let mut default_dir: Option<PathBuf> = None;
    for model in &args.models {
        let mut row = Row {
            model: model.clone(),
            speed: None,
            quality: None,
            error: None,
        };
        let out = args.out.join(format!("speed-{}.json", sanitize(model)));
        progress.info(&format!("bench: {model}: speed"));
        let status = Command::new(&exe)
            .args([
                "-q",
                "bench-worker",
                "--model",
                model,
                "--device",
                &args.pipeline.model.device,
                "--corpus",
            ])
            .arg(&corpus_path)
            .arg("--json-out")
            .arg(&out)
            .args(["--runs", &args.runs.to_string()])
            .env("RAYON_NUM_THREADS", args.threads.to_string())
            .status()?;
        if status.success() {
            row.speed = serde_json::from_str(&std::fs::read_to_string(&out)?).ok();
        } else {
            row.error = Some(format!(
                "speed run failed ({status}); see the messages above"
            ));
        }
        if default_dir.is_none() {
            if let Ok(r) = crate::hub::resolve(
                model,
                &crate::hub::HubOptions::from_env(true, Progress::silent()),
            ) {
                default_dir = r.files.config.parent().map(Path::to_path_buf);
            }
        }
        if !args.speed_only && row.error.is_none() {
            progress.info(&format!(
                "bench: {model}: quality on {}",
                args.labels.display()
            ));
            let mut p = args.pipeline.clone();
            p.model.model = model.clone();
            let eval = crate::eval::report::EvalArgs {
                labels: args.labels.clone(),
                corpus: None,
                train: None,
                out: args.out.join(format!("eval-{}", sanitize(model))),
                bootstrap: 200,
                dump: None,
                pipeline: p,
            };
            match crate::eval::report::evaluate(&eval, &Progress::new(true, progress.verbose())) {
                Ok(r) => row.quality = Some(crate::eval::report::Headline::of(&r)),
                Err(e) => row.error = Some(format!("{e:#}")),
            }
        }
        rows.push(row);
    }
    let peer = match &default_dir {
        Some(dir) => run_peer(&args, &corpus_path, dir, progress).unwrap_or_else(|e| {
            progress.warn(&format!("PyTorch reference not measured: {e:#}"));
            None
        }),
        None => None,
    };
    let table = render(&rows, peer.as_ref(), &args);
    crate::output::write_atomic(&args.out.join("bench.md"), table.as_bytes())?;
    crate::output::write_atomic(
        &args.out.join("bench.json"),
        serde_json::to_string_pretty(&serde_json::json!({"rows": rows, "peer": peer}))?.as_bytes(),
    )?;
    print!("{table}");
    Ok(if rows.iter().any(|r| r.error.is_some()) {
        Outcome::Partial
    } else {
        Outcome::Ok
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn render(rows: &[Row], peer: Option<&Speed>, args: &BenchArgs) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| engine / model | load s | sentences/s | real tokens/s | padding | peak RSS MiB | primary acc | theme micro-F1 | ROUGE-1/2 |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let q = r.quality.as_ref();
        match &r.speed {
            Some(sp) => {
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.1} | {:.0} | {:+.0}% | {:.0} | {} | {} | {} |",
                    r.model,
                    sp.load_s,
                    sp.texts_per_s,
                    sp.tokens_per_s,
                    100.0 * (sp.padded_positions as f64 / sp.tokens.max(1) as f64 - 1.0),
                    sp.peak_rss_mib,
                    q.map(|q| format!("{:.3}", q.primary_accuracy))
                        .unwrap_or_else(|| "–".into()),
                    q.map(|q| format!("{:.3}", q.micro_f1))
                        .unwrap_or_else(|| "–".into()),
                    q.map(|q| format!("{:.1}/{:.1}", q.rouge1, q.rouge2))
                        .unwrap_or_else(|| "–".into()),
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | – | – | – | – | – | – | – | {} |",
                    r.model,
                    r.error.as_deref().unwrap_or("failed")
                );
            }
        }
    }
    if let Some(p) = peer {
        let _ = writeln!(
            s,
            "| {} (same sentences, {} threads) | {:.2} | {:.1} | – | – | {:.0} | – | – | – |",
            p.engine, p.threads, p.load_s, p.texts_per_s, p.peak_rss_mib
        );
        if let Some(sp) = rows.first().and_then(|r| r.speed.as_ref()) {
            let _ = writeln!(
                s,
                "\nSpeed ratio bantin / PyTorch on the same sentences: **{:.2}×** ({:.1} vs {:.1} sentences/s, median of {} runs, {} threads).",
                sp.texts_per_s / p.texts_per_s,
                sp.texts_per_s,
                p.texts_per_s,
                args.runs,
                args.threads
            );
        }
    } else {
        let _ = writeln!(
            s,
            "\n(PyTorch reference not run: pass --peer-python and --peer-script.)"
        );
    }
    if let (Some(sp), Some((peak, how))) = (
        rows.first().and_then(|r| r.speed.as_ref()),
        cpu_peak_gflops(args.threads),
    ) {
        if let Some(g) = sp.gflop_per_s {
            if sp.tokens_per_s > 0.0 {
                let t = sp.tokens_per_s;
                let _ = writeln!(
                    s,
                    "\nModel FLOPs per real token: {:.1} MFLOP (6 matrix products per layer at 2 FLOPs per multiply-add, plus attention at the corpus's mean length).",
                    g * 1e9 / t / 1e6
                );
            }
            let int8 = sp
                .engine
                .contains("int8")
                .then(|| cpu_peak_int8_gops(args.threads))
                .flatten();
            match int8 {
                Some((p8, how8)) => {
                    let _ = writeln!(s, "\nAchieved {:.1} G model-op/s (int8 matrix products) of an estimated {:.0} GOP/s int8 peak ({:.0}%); int8 peak = {how8}. For comparison, the f32 peak is {:.0} GFLOP/s ({how}).", g, p8, 100.0 * g / p8, peak);
                }
                None => {
                    let _ = writeln!(s, "\nAchieved {:.1} GFLOP/s of an estimated {:.0} GFLOP/s f32 peak ({:.0}%); peak = {how}.", g, peak, 100.0 * g / peak);
                }
            }
        }
    }
    s
}
