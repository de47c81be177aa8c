//! The command line: argument definitions and dispatch. Results go to stdout or files; logs
//! and progress to stderr.

pub use crate::args::{GenArgs, ModelArgs, Outcome, PipelineArgs};
use crate::catalog;
use crate::encoder::Role;
use crate::engine;
use crate::hub::{self, HubOptions};
use crate::progress::Progress;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "bantin",
    version,
    about = "Vietnamese policy news in, a digest an analyst can read out",
    long_about = "bantin cleans collected Vietnamese policy articles, classifies them by theme, \
summarises them and assembles digests (Markdown, HTML, JSON). It runs a multilingual sentence \
encoder with candle on CPU or GPU, fetched through the Hugging Face Hub or, where the Hub is out \
of reach, from a Python package index.\n\nExit codes: 0 all fine, 1 some articles failed (the \
rest were written), 2 usage, input or model error.",
    after_help = "Examples:\n  bantin digest corpus --out out/digest\n  bantin embed \"Nghị quyết 29-NQ/TW về công nghiệp hóa, hiện đại hóa\"\n  bantin models list\n  bantin classify corpus/ > themes.jsonl"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Show what bantin resolves and from where (model files, mirrors, cache hits).
    #[arg(short, long, global = true, env = "BANTIN_VERBOSE")]
    pub verbose: bool,
    /// No progress bars or summaries on stderr (errors are still printed).
    #[arg(short, long, global = true, env = "BANTIN_QUIET")]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List, inspect and fetch models from the catalogue.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Embed texts (arguments, or a file with one text per line) and print JSON Lines vectors.
    #[command(
        after_help = "Examples:\n  bantin embed \"Nghị quyết 29-NQ/TW về công nghiệp hóa\"\n  bantin embed --file sentences.txt --role query > vectors.jsonl"
    )]
    Embed(EmbedArgs),
    /// The main job: clean, classify and summarise a folder of articles and write a digest
    /// (digest.md, digest.html, digest.json and articles.jsonl) grouped by theme.
    #[command(
        after_help = "Examples:\n  bantin digest corpus --out out/digest\n  bantin digest news.jsonl --out today --words 60 --themes my-themes.toml\n  bantin digest corpus --out out/digest --head models/heads/e5-small.json\n  bantin digest corpus --out out/digest --summarizer hybrid --generator gemma-3-270m\n\nInput: a directory (read recursively) of .txt, .md and .html files, or JSON Lines files with {id, text, title?, date?, url?, source?}."
    )]
    Digest(DigestArgs),
    /// Classify articles by theme and print one JSON line per article.
    Classify(RunArgs),
    /// Summarise articles and print one JSON line per article.
    Summarize(RunArgs),
    /// Show what cleaning keeps and removes (page furniture) and the sentences bantin sees.
    Clean(CleanArgs),
    /// Fit a few-shot classification head on labelled articles (JSON Lines with `primary` and
    /// `themes`) and save it as JSON for `--head`.
    Train(TrainArgs),
    /// Score bantin (and baselines) on a hand-labelled set: report.md, report.json, SVG charts.
    Eval(crate::eval::report::EvalArgs),
    /// Combine the output directories of `digest --shard i/N` runs into one digest.
    #[command(
        after_help = "Example:\n  for i in 0 1 2; do bantin digest corpus --shard $i/3 --out out/shard-$i; done\n  bantin merge out/shard-0 out/shard-1 out/shard-2 --out out/digest"
    )]
    Merge(MergeArgs),
    /// Compare models (speed, memory, quality) and the PyTorch reference on the same sentences.
    #[command(
        after_help = "Examples:\n  bantin bench --speed-only\n  bantin bench --models multilingual-e5-small,paraphrase-multilingual-MiniLM-L12-v2\n  bantin bench --peer-python peer-venv/bin/python --peer-script peer_baseline.py --runs 3"
    )]
    Bench(crate::bench::BenchArgs),
    #[command(hide = true)]
    BenchWorker(crate::bench::WorkerArgs),
    /// Serve the engine over HTTP: classify, summarise, embed and ingest articles as a crawler
    /// sends them; digests of what was ingested. JSON in and out.
    #[command(
        after_help = "Examples:\n  bantin serve\n  bantin serve --addr 127.0.0.1:9000 --api-key \"$TOKEN\" --state news.sqlite\n  curl -s localhost:8080/v1/classify -H 'content-type: application/json' \\\n    -d '{\"articles\": [{\"id\": \"1\", \"text\": \"Bộ Công Thương trình nghị định về điện mặt trời mái nhà.\"}]}'\n\nRoutes: GET /health, GET /metrics, GET /openapi.json; POST /v1/classify, /v1/summarize, /v1/analyze, /v1/embed, /v1/articles; GET /v1/digest?since=YYYY-MM-DD&format=json|md|html.\nSIGTERM or Ctrl-C: stop accepting, answer what is in flight, commit, exit 0."
    )]
    Serve(ServeArgs),
    /// Classify newly arrived files in a folder: each new or changed file once, recorded in
    /// the state store; prints one JSON line per new article.
    Inbox(InboxArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; loopback by default (port 0: any free port, printed on stderr).
    #[arg(long, env = "BANTIN_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Bearer token required on every /v1 route (health, metrics and openapi stay open).
    #[arg(long, env = "BANTIN_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Largest request body, in bytes (larger: 413).
    #[arg(long, env = "BANTIN_MAX_BODY", default_value_t = 8 << 20)]
    pub max_body: usize,
    /// Articles and texts that may wait for the encoder; more are refused with 429 and
    /// Retry-After.
    #[arg(long, env = "BANTIN_MAX_QUEUE", default_value_t = 1024)]
    pub max_queue: usize,
    /// Articles and texts from concurrent requests analysed together in one batch.
    #[arg(long, env = "BANTIN_MAX_BATCH", default_value_t = 64)]
    pub max_batch: usize,
    /// Seconds a request may wait for its answer before a 504.
    #[arg(long, env = "BANTIN_REQUEST_TIMEOUT", default_value_t = 120)]
    pub request_timeout: u64,
    /// State store for POST /v1/articles and GET /v1/digest (SQLite; committed before each
    /// acknowledgement).
    #[arg(long, env = "BANTIN_STATE", default_value = "bantin-serve.sqlite")]
    pub state: PathBuf,
    /// Title of the digests served.
    #[arg(long, default_value = "Bản tin chính sách công nghiệp")]
    pub title: String,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard output directories (each with analyses.jsonl and errors.jsonl).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    #[arg(long, short = 'o', default_value = "out/digest")]
    pub out: PathBuf,
    #[arg(long, default_value = "Bản tin chính sách công nghiệp")]
    pub title: String,
    /// Theme set used by the shards (default: built-in).
    #[arg(long, env = "BANTIN_THEMES")]
    pub themes: Option<PathBuf>,
    /// Language of the words bantin writes in digest.html and digest.md.
    #[arg(long, env = "BANTIN_LANG", value_enum, default_value_t = crate::digest::Lang::Vi)]
    pub lang: crate::digest::Lang,
}

#[derive(Args, Debug)]
pub struct InboxArgs {
    /// The folder where collected articles arrive.
    pub dir: PathBuf,
    /// State store recording what was seen (default: DIR/.bantin-inbox.sqlite).
    #[arg(long, env = "BANTIN_STATE")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A directory of .txt/.md/.html files, or a .jsonl file, or one article file.
    pub input: PathBuf,
    /// Keep finished results in this state store (SQLite) and reuse them on re-runs.
    #[arg(long, env = "BANTIN_STATE")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args, Debug)]
pub struct DigestArgs {
    /// A directory of .txt/.md/.html files, or a .jsonl file.
    pub input: PathBuf,
    /// Output directory (created if missing; files in it are replaced atomically).
    #[arg(long, short = 'o', env = "BANTIN_OUT", default_value = "out/digest")]
    pub out: PathBuf,
    /// Title of the digest.
    #[arg(long, default_value = "Bản tin chính sách công nghiệp")]
    pub title: String,
    /// Print, for every article, the page furniture removed and why (stderr).
    #[arg(long)]
    pub explain: bool,
    /// Only articles dated on or after this day (YYYY-MM-DD; dates come from the input or from
    /// the article's dateline). Undated articles are left out and counted.
    #[arg(long, env = "BANTIN_SINCE", value_parser = parse_date)]
    pub since: Option<String>,
    /// Language of the words bantin writes in digest.html and digest.md.
    #[arg(long, env = "BANTIN_LANG", value_enum, default_value_t = crate::digest::Lang::Vi)]
    pub lang: crate::digest::Lang,
    #[command(flatten)]
    pub run: StateArgs,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// State store (SQLite) of finished analyses: re-runs skip what is done, a crash loses at
    /// most one chunk. Default: state.sqlite in the output directory.
    #[arg(long, env = "BANTIN_STATE")]
    pub state: Option<PathBuf>,
    /// Recompute everything and keep no state.
    #[arg(long, env = "BANTIN_NO_STATE")]
    pub no_state: bool,
    /// Process only shard I of N (0-based I; stable assignment by article id), for job arrays
    /// under an existing scheduler; combine the shards with `bantin merge`.
    #[arg(long, env = "BANTIN_SHARD", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
}

fn parse_date(s: &str) -> Result<String, String> {
    if engine::is_iso_date(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a date like 2024-05-31"))
    }
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("{s:?} is not a shard like 0/4 (index from 0 to N-1, then N)");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    /// An article file or a directory / .jsonl of articles.
    pub input: PathBuf,
    /// List each removed line with the reason, and the sentences.
    #[arg(long)]
    pub explain: bool,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Labelled articles: JSON Lines with id, text, primary, themes.
    #[arg(long)]
    pub labels: PathBuf,
    /// Where to write the head (JSON).
    #[arg(long, short = 'o', default_value = "head.json")]
    pub out: PathBuf,
    /// Where the primary theme comes from: `prototypes` (the calibrated zero-shot primary,
    /// robust on real pages; the head decides the rest of the set) or `head` (learned too).
    /// Cross-validation prints both accuracies.
    #[arg(long, value_enum, default_value = "prototypes")]
    pub primary: crate::classify::PrimaryRule,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// The catalogue: encoders (name, family, dimension, hub repo, mirror), then generators.
    List,
    /// A model's manifest and, if present locally, where its files are.
    /// (Never uses the network: it reports what is already on this machine.)
    Info { name: String },
    /// Download (or materialise from the mirror) a model now, so later runs need no network.
    Fetch {
        name: String,
        #[arg(long, env = "BANTIN_OFFLINE")]
        offline: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleArg {
    Query,
    Passage,
    Raw,
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Texts to embed.
    pub texts: Vec<String>,
    /// A UTF-8 file with one text per line (blank lines skipped).
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Prefix role: e5 models expect "query: " for questions, "passage: " for documents.
    #[arg(long, value_enum, default_value = "query")]
    pub role: RoleArg,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let progress = Progress::new(cli.global.quiet, cli.global.verbose);
    match cli.command {
        Command::Models(cmd) => models(cmd, &progress),
        Command::Embed(args) => embed(args, &progress),
        Command::Digest(args) => digest(args, &progress),
        Command::Classify(args) => classify_cmd(args, &progress, false),
        Command::Summarize(args) => classify_cmd(args, &progress, true),
        Command::Clean(args) => clean_cmd(args),
        Command::Train(args) => train(args, &progress),
        Command::Eval(args) => crate::eval::report::run(args, &progress),
        Command::Merge(args) => merge(args, &progress),
        Command::Inbox(args) => inbox(args, &progress),
        Command::Serve(args) => serve(args, &progress),
        Command::Bench(args) => crate::bench::run(args, &progress),
        Command::BenchWorker(args) => crate::bench::worker(args, &progress),
    }
}

fn models(cmd: ModelsCommand, progress: &Progress) -> anyhow::Result<Outcome> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ModelsCommand::List => {
            writeln!(
                out,
                "{:<40} {:<12} {:>5} {:<6} {:<52} mirror",
                "name", "family", "dim", "pool", "hub repo"
            )?;
            let gens = catalog::generators()?;
            let list_generators = |out: &mut std::io::StdoutLock| -> anyhow::Result<()> {
                writeln!(
                    out,
                    "\nGenerators (--summarizer abstractive|hybrid --generator NAME):\n{:<40} {:<12} {:<8} {:<52} mirror",
                    "name", "family", "tuned", "hub repo"
                )?;
                for g in &gens {
                    writeln!(
                        out,
                        "{:<40} {:<12} {:<8} {:<52} {}",
                        g.name,
                        g.family,
                        if g.instruct {
                            "instruct"
                        } else if !g.template.prefix.is_empty() {
                            "task"
                        } else {
                            "base"
                        },
                        format!("{}@{}", g.repo, g.revision),
                        g.mirror
                            .as_ref()
                            .map(|x| format!("{} wheels ({})", x.parts.len(), x.name))
                            .unwrap_or_else(|| "-".into())
                    )?;
                }
                Ok(())
            };
            for m in catalog::all()? {
                writeln!(
                    out,
                    "{:<40} {:<12} {:>5} {:<6} {:<52} {}",
                    m.name,
                    m.family.as_str(),
                    m.dim.map(|d| d.to_string()).unwrap_or_else(|| "?".into()),
                    format!("{:?}", m.pooling).to_lowercase(),
                    format!("{}@{}", m.repo, m.revision),
                    m.mirror
                        .as_ref()
                        .map(|x| format!("{} {} ({})", x.package, x.version, x.name))
                        .unwrap_or_else(|| "-".into())
                )?;
            }
            list_generators(&mut out)?;
        }
        ModelsCommand::Info { name } if catalog::find(&name)?.is_none() => {
            let g = catalog::find_generator(&name)?
                .ok_or_else(|| catalog::CatalogError::Unknown(name.clone()))?;
            writeln!(out, "{}", toml::to_string_pretty(&g)?)?;
            let opts = HubOptions::from_env(true, progress.clone());
            match hub::resolve_generator(&name, &opts) {
                Ok(r) => {
                    writeln!(out, "# available locally ({:?})", r.provenance.source)?;
                    for w in &r.weights {
                        writeln!(out, "# weights:   {}", w.display())?;
                    }
                }
                Err(_) => writeln!(out, "# not available locally: `bantin models fetch {name}`")?,
            }
        }
        ModelsCommand::Fetch { name, offline } if catalog::find(&name)?.is_none() => {
            let opts = HubOptions::from_env(offline, progress.clone());
            let r = hub::resolve_generator(&name, &opts)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&r.provenance)?)?;
            progress.info(&format!(
                "{} is ready ({:?}): {}",
                r.provenance.model,
                r.provenance.source,
                r.weights
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ));
        }
        ModelsCommand::Info { name } => {
            let m = catalog::find(&name)?
                .ok_or_else(|| catalog::CatalogError::Unknown(name.clone()))?;
            writeln!(out, "{}", toml::to_string_pretty(&m)?)?;
            let opts = HubOptions::from_env(true, progress.clone());
            match hub::resolve(&name, &opts) {
                Ok(r) => {
                    writeln!(out, "# available locally ({:?})", r.provenance.source)?;
                    writeln!(out, "# config:    {}", r.files.config.display())?;
                    writeln!(out, "# tokenizer: {}", r.files.tokenizer.display())?;
                    for w in &r.files.weights {
                        writeln!(out, "# weights:   {}", w.display())?;
                    }
                }
                Err(_) => writeln!(out, "# not available locally: `bantin models fetch {name}`")?,
            }
        }
        ModelsCommand::Fetch { name, offline } => {
            let opts = HubOptions::from_env(offline, progress.clone());
            let r = hub::resolve(&name, &opts)?;
            writeln!(out, "{}", serde_json::to_string_pretty(&r.provenance)?)?;
            progress.info(&format!(
                "{} is ready ({:?}): {}",
                r.provenance.model,
                r.provenance.source,
                r.files
                    .config
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ));
        }
    }
    Ok(Outcome::Ok)
}

fn embed(args: EmbedArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let mut texts = args.texts.clone();
    if let Some(file) = &args.file {
        let content =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        texts.extend(
            content
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    if texts.is_empty() {
        anyhow::bail!("nothing to embed: give texts as arguments or --file FILE");
    }
    let embedder = engine::load_embedder(&args.model.encoder_config(), progress)?;
    let role = match args.role {
        RoleArg::Query => Role::Query,
        RoleArg::Passage => Role::Passage,
        RoleArg::Raw => Role::Raw,
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let vectors = embedder.embed(&refs, role)?;
    let elapsed = started.elapsed();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (text, e) in texts.iter().zip(&vectors) {
        let line = serde_json::json!({
            "text": text,
            "dim": e.vector.len(),
            "tokens": e.tokens,
            "windows": e.windows,
            "vector": e.vector,
            "provenance": embedder.provenance,
        });
        writeln!(out, "{line}")?;
        if e.windows > 1 {
            progress.warn(&format!(
                "text of {} tokens was longer than the model's {} and was embedded as {} overlapping windows",
                e.tokens, embedder.max_tokens(), e.windows
            ));
        }
    }
    out.flush()?;
    let stats = embedder.stats();
    progress.info(&format!(
        "embedded {} texts ({} tokens) in {:.2}s ({:.1} texts/s); model load {:.2}s",
        texts.len(),
        stats.tokens,
        elapsed.as_secs_f64(),
        texts.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        embedder.load_time.as_secs_f64()
    ));
    Ok(Outcome::Ok)
}

fn read_input(
    input: &std::path::Path,
    progress: &Progress,
) -> anyhow::Result<crate::corpus::Batch> {
    let batch = crate::corpus::read(input)?;
    for e in &batch.errors {
        progress.warn(&format!("{}: {}", e.origin, e.message));
    }
    if batch.articles.is_empty() && batch.errors.is_empty() {
        anyhow::bail!(
            "{}: no articles found (looked for .txt, .md, .html and .jsonl files)",
            input.display()
        );
    }
    Ok(batch)
}

fn digest(args: DigestArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let batch = read_input(&args.input, progress)?;
    let mut articles = batch.articles.clone();
    if let Some((i, n)) = args.run.shard {
        articles.retain(|a| engine::shard_of(&a.id, n) == i);
        progress.log(&format!(
            "shard {i}/{n}: {} of {} articles",
            articles.len(),
            batch.articles.len()
        ));
    }
    let mut undated = 0;
    // The period of the same length before --since is analysed too (the state store keeps
    // it for the next run) and only counted, in the digest's comparison of the two periods.
    let mut previous_ids = std::collections::HashSet::new();
    if let Some(since) = &args.since {
        let before = articles.len();
        let dates: Vec<Option<String>> = articles.iter().map(engine::article_date).collect();
        let known: Vec<String> = dates.iter().flatten().cloned().collect();
        let from = crate::digest::trends::period(since, &known)
            .map_or_else(|| since.clone(), |p| p.previous_from);
        let mut date = dates.into_iter();
        articles.retain(|a| match date.next().flatten() {
            Some(d) if d.as_str() < since.as_str() => {
                let keep = d >= from;
                if keep {
                    previous_ids.insert(a.id.clone());
                }
                keep
            }
            Some(_) => true,
            None => {
                undated += 1;
                false
            }
        });
        progress.log(&format!(
            "--since {since}: {} of {before} articles ({undated} undated left out; {} from {from} for the comparison)",
            articles.len() - previous_ids.len(),
            previous_ids.len()
        ));
    }
    let state = (!args.run.no_state).then(|| {
        args.run
            .state
            .clone()
            .unwrap_or_else(|| args.out.join("state.sqlite"))
    });
    let engine = args
        .pipeline
        .engine_builder(progress)
        .state(state)
        .try_build()?;
    let load_secs = started.elapsed().as_secs_f64();
    if args.explain {
        for a in &articles {
            let c = crate::corpus::clean::clean(&a.text);
            for r in &c.removed {
                eprintln!(
                    "{}:{}: removed ({}): {}",
                    a.origin,
                    r.line,
                    r.reason.explain(),
                    r.text
                );
            }
        }
    }
    let t1 = std::time::Instant::now();
    let run = engine.analyze_batch(&articles)?;
    let run_secs = t1.elapsed().as_secs_f64();
    let mut analyses = run.analyses;
    analyses.sort_by(|a, b| a.result.id.cmp(&b.result.id));
    let mut all_errors = batch.errors.clone();
    if let Some((i, n)) = args.run.shard {
        all_errors.retain(|e| engine::shard_of(e.id.as_deref().unwrap_or(&e.origin), n) == i);
    }
    all_errors.extend(run.errors);
    all_errors.retain(|e| !e.id.as_ref().is_some_and(|id| previous_ids.contains(id)));
    let (analyses, previous): (Vec<_>, Vec<_>) = analyses
        .into_iter()
        .partition(|a| !previous_ids.contains(&a.result.id));
    let d = engine.digest(
        &args.title,
        &args.input.display().to_string(),
        &analyses,
        &all_errors,
        &crate::digest::Options {
            lang: args.lang,
            since: args.since.as_deref(),
            previous: &previous,
        },
    );
    engine::write_digest_dir(&args.out, &d, &analyses, &all_errors)?;
    let total = started.elapsed().as_secs_f64();
    let cached = run.reused;
    let fresh = analyses.len() - cached.min(analyses.len());
    progress.info(&format!(
        "digest: {} articles ({} reused from state, {} failed, {} near-duplicates folded{}) in {} themes → {} ; model load {:.1}s, analysis {:.1}s ({:.1} new articles/s), total {:.1}s",
        analyses.len(),
        cached,
        all_errors.len(),
        d.duplicates_folded,
        if undated > 0 { format!(", {undated} undated left out by --since") } else { String::new() },
        d.themes.len(),
        args.out.display(),
        load_secs,
        run_secs,
        fresh as f64 / run_secs.max(1e-9),
        total
    ));
    if let Some(ab) = engine.abstractive() {
        progress.info(&ab.totals().describe());
    }
    Ok(Outcome::from_failures(all_errors.len()))
}

fn serve(args: ServeArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let config = crate::serve::ServeConfig {
        addr: args.addr.clone(),
        api_key: args.api_key.clone().filter(|k| !k.is_empty()),
        max_body: args.max_body.max(1024),
        max_queue: args.max_queue,
        max_batch: args.max_batch,
        request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        title: args.title.clone(),
    };
    let builder = args
        .pipeline
        .engine_builder(progress)
        .state(Some(args.state.clone()));
    crate::serve::run(config, builder, progress.clone())?;
    Ok(Outcome::Ok)
}

fn merge(args: MergeArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let taxonomy = crate::taxonomy::Taxonomy::load(args.themes.as_deref())?;
    let mut analyses: Vec<crate::pipeline::Analysis> = Vec::new();
    let mut errors: Vec<crate::corpus::ItemError> = Vec::new();
    let mut classifier = String::new();
    for dir in &args.shards {
        let path = dir.join("analyses.jsonl");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let a: crate::pipeline::Analysis = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a bantin analysis", path.display(), n + 1))?;
            if classifier.is_empty() {
                classifier = a.result.classifier.clone();
            }
            analyses.push(a);
        }
        let epath = dir.join("errors.jsonl");
        if let Ok(text) = std::fs::read_to_string(&epath) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("{}: malformed line", epath.display()))?;
                errors.push(crate::corpus::ItemError {
                    origin: v["origin"].as_str().unwrap_or("").to_string(),
                    id: v["id"].as_str().map(str::to_string),
                    message: v["message"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }
    analyses.sort_by(|a, b| a.result.id.cmp(&b.result.id));
    let before = analyses.len();
    analyses.dedup_by(|a, b| a.result.id == b.result.id);
    if analyses.len() < before {
        progress.warn(&format!(
            "{} articles appeared in more than one shard; kept once",
            before - analyses.len()
        ));
    }
    let Some(first) = analyses.first() else {
        anyhow::bail!("no analyses in {} shard directories", args.shards.len());
    };
    let model = first.result.provenance.clone();
    let input = args
        .shards
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let d = crate::digest::build(
        &args.title,
        &input,
        &analyses,
        &errors,
        &taxonomy,
        &model,
        &classifier,
        &crate::digest::Options {
            lang: args.lang,
            ..Default::default()
        },
    );
    engine::write_digest_dir(&args.out, &d, &analyses, &errors)?;
    progress.info(&format!(
        "merged {} shards: {} articles, {} failed → {}",
        args.shards.len(),
        analyses.len(),
        errors.len(),
        args.out.display()
    ));
    Ok(Outcome::from_failures(errors.len()))
}

fn inbox(args: InboxArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let batch = read_input(&args.dir, progress)?;
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| args.dir.join(".bantin-inbox.sqlite"));
    let store = crate::state::Store::open(&path)?;
    let mut new = Vec::new();
    for a in &batch.articles {
        let h = crate::state::content_hash(&a.id, a.title.as_deref(), &a.text);
        if !store.inbox_seen(&a.origin, &h)? {
            new.push((a.clone(), h));
        }
    }
    if new.is_empty() {
        progress.info(&format!(
            "inbox: nothing new in {} ({} articles seen before)",
            args.dir.display(),
            batch.articles.len()
        ));
        return Ok(Outcome::from_failures(batch.errors.len()));
    }
    // The model is loaded only when there is something new.
    let engine = args
        .pipeline
        .engine_builder(progress)
        .store(store)
        .try_build()?;
    let articles: Vec<crate::corpus::Article> = new.iter().map(|(a, _)| a.clone()).collect();
    let run = engine.analyze_batch(&articles)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &run.analyses {
        let r = &a.result;
        writeln!(
            out,
            "{}",
            serde_json::json!({"id": r.id, "origin": r.origin, "title": r.title, "date": r.date,
            "primary": r.primary, "themes": r.themes, "summary": r.summary, "classifier": r.classifier,
            "warnings": r.warnings, "provenance": r.provenance})
        )?;
    }
    out.flush()?;
    // Failed files are not marked: they are retried when they change or on the next run.
    let ok_ids: std::collections::HashSet<&str> =
        run.analyses.iter().map(|a| a.result.id.as_str()).collect();
    let seen: Vec<(String, String)> = new
        .iter()
        .filter(|(a, _)| ok_ids.contains(a.id.as_str()))
        .map(|(a, h)| (a.origin.clone(), h.clone()))
        .collect();
    if let Some(mut store) = engine.store() {
        store.inbox_mark(&seen)?;
    }
    let failed = run.errors.len() + batch.errors.len();
    progress.info(&format!(
        "inbox: {} new articles classified, {failed} failed",
        run.analyses.len(),
    ));
    Ok(Outcome::from_failures(failed))
}

fn classify_cmd(args: RunArgs, progress: &Progress, summaries: bool) -> anyhow::Result<Outcome> {
    let batch = read_input(&args.input, progress)?;
    let engine = args
        .pipeline
        .engine_builder(progress)
        .state(args.state.clone())
        .try_build()?;
    let run = engine.analyze_batch(&batch.articles)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &run.analyses {
        let line = if summaries {
            a.result.summary_json()
        } else {
            a.result.classification_json()
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    let failed = batch.errors.len() + run.errors.len();
    progress.info(&format!(
        "{} articles, {} failed",
        run.analyses.len(),
        failed
    ));
    if let Some(ab) = engine.abstractive() {
        progress.info(&ab.totals().describe());
    }
    Ok(Outcome::from_failures(failed))
}

fn clean_cmd(args: CleanArgs) -> anyhow::Result<Outcome> {
    let batch = crate::corpus::read(&args.input)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in &batch.errors {
        eprintln!("warning: {}: {}", e.origin, e.message);
    }
    for a in &batch.articles {
        let c = crate::corpus::clean::clean(&a.text);
        writeln!(out, "=== {} ({})", a.id, a.origin)?;
        if args.explain {
            for r in &c.removed {
                writeln!(
                    out,
                    "- line {} removed [{:?}] {}: {}",
                    r.line,
                    r.reason,
                    r.reason.explain(),
                    r.text
                )?;
            }
            for (i, s) in crate::corpus::segment::sentences(&c.text)
                .iter()
                .enumerate()
            {
                writeln!(out, "  [{i}] (¶{}) {}", s.paragraph, s.text)?;
            }
        } else {
            writeln!(out, "{}", c.text)?;
        }
    }
    out.flush()?;
    Ok(Outcome::from_failures(batch.errors.len()))
}

fn train(args: TrainArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let items = crate::eval::report::load_labels(&args.labels, None)?;
    // Features do not depend on the classifier: a zero-shot engine computes them.
    let engine = args
        .pipeline
        .engine_builder(progress)
        .head(None)
        .try_build()?;
    let articles: Vec<crate::corpus::Article> = items.iter().map(|i| i.article.clone()).collect();
    let run = engine.analyze_batch(&articles)?;
    let labels: std::collections::HashMap<&str, (&str, &[String])> = items
        .iter()
        .map(|i| {
            (
                i.article.id.as_str(),
                (i.primary.as_str(), i.themes.as_slice()),
            )
        })
        .collect();
    let name = args
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "head".into());
    let Some((mut head, used)) = engine.train_head(&name, &run.analyses, &labels, args.primary)
    else {
        anyhow::bail!("{}: no usable labelled articles", args.labels.display());
    };
    for p in &head.cv {
        progress.info(&format!(
            "head cross-validation (5 folds): l2 {}: primary accuracy {:.3} (learned {:.3}, prototypes {:.3}), theme micro-F1 {:.3}{}",
            p.l2,
            p.primary_accuracy,
            p.learned_primary_accuracy,
            p.prototype_primary_accuracy,
            p.micro_f1,
            if p.l2 == head.l2 { "  ← chosen" } else { "" }
        ));
    }
    let references: std::collections::HashMap<&str, &str> = items
        .iter()
        .filter(|i| !i.summary.trim().is_empty())
        .map(|i| (i.article.id.as_str(), i.summary.as_str()))
        .collect();
    if let Some((scorer, cv)) = engine.train_scorer(&run.analyses, &references) {
        let best = cv
            .iter()
            .map(|p| p.rouge1 + p.rouge2)
            .fold(f32::NEG_INFINITY, f32::max);
        for p in &cv {
            progress.info(&format!(
                "sentence scorer cross-validation (5 folds): l2 {}: ROUGE-1/2 {:.1}/{:.1}{}",
                p.l2,
                p.rouge1,
                p.rouge2,
                if p.rouge1 + p.rouge2 == best {
                    "  ← chosen"
                } else {
                    ""
                }
            ));
        }
        head.scorer = Some(scorer);
    } else {
        progress.warn("no reference summaries: the head has no sentence scorer");
    }
    crate::output::write_atomic(&args.out, serde_json::to_string_pretty(&head)?.as_bytes())?;
    progress.info(&format!(
        "trained {} on {} articles ({} failed) → {}",
        name,
        used,
        run.errors.len(),
        args.out.display()
    ));
    Ok(Outcome::from_failures(run.errors.len()))
}
