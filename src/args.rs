//! Flags shared by the front ends (the command line, `serve`, `eval`, `bench`): their
//! definitions, and how they become an [`EngineBuilder`]. Sits between the engine and the front
//! ends, so that `eval` and `bench` need nothing from `cli`.

use crate::catalog;
use crate::engine::{EncoderConfig, EngineBuilder, GeneratorConfig};
use crate::progress::Progress;
use clap::Args;
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

#[derive(Args, Debug, Clone)]
pub struct PipelineArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Theme set (TOML: name, version, [[theme]] id/name/description/examples). Default: the
    /// built-in Vietnamese industrial-policy taxonomy (taxonomy/default.toml).
    #[arg(long, env = "BANTIN_THEMES")]
    pub themes: Option<PathBuf>,
    /// Classifier head: a JSON file from `bantin train`, or `zero-shot` (calibrated theme
    /// prototypes, no training). Default: the head shipped for the default model and taxonomy
    /// (trained on eval/dev.jsonl), else zero-shot.
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
    /// A generated summary is shown instead of the extract only when it passes every check and
    /// its encoder vector is at least this much closer (cosine) to the article's centroid than
    /// the extract's. Default: the generator's manifest (chosen on eval/dev.jsonl), else 0.
    /// A large value (1) always shows the extract; -1 shows every summary that passes the checks.
    #[arg(long, env = "BANTIN_GATE_MARGIN", allow_hyphen_values = true)]
    pub gate_margin: Option<f32>,
    /// How the article is put to the generator: plain, one-shot (after a worked Vietnamese
    /// example), facts (its numbers, dates, codes and names listed) or one-shot-facts.
    /// Default: the generator's manifest (chosen on eval/dev.jsonl), else plain.
    #[arg(long, value_enum, env = "BANTIN_PROMPT")]
    pub prompt: Option<crate::generate::template::PromptStyle>,
}

impl ModelArgs {
    pub fn encoder_config(&self) -> EncoderConfig {
        EncoderConfig {
            model: self.model.clone(),
            device: self.device.clone(),
            dtype: self.dtype.clone(),
            offline: self.offline,
            token_budget: self.token_budget,
            embed_cache: self.embed_cache,
        }
    }
}

impl GenArgs {
    /// `None` for extractive summaries.
    pub fn generator_config(&self) -> Option<GeneratorConfig> {
        (self.summarizer != crate::abstractive::Mode::Extractive).then(|| GeneratorConfig {
            mode: self.summarizer,
            generator: self.generator.clone(),
            max_new_tokens: self.max_new_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: self.seed,
            repeat_penalty: self.repeat_penalty,
            hybrid_sentences: self.hybrid_sentences,
            max_input_tokens: self.max_input_tokens,
            precision: self.gen_precision,
            threads: self.gen_threads,
            gate_margin: self.gate_margin,
            prompt: self.prompt,
        })
    }
}

impl PipelineArgs {
    pub fn length(&self) -> crate::summarize::Length {
        match self.words {
            Some(w) => crate::summarize::Length::Words(w.max(1)),
            None => crate::summarize::Length::Sentences(self.sentences.max(1)),
        }
    }

    /// The engine these flags describe (no state store; add one with `.state(..)`).
    pub fn engine_builder(&self, progress: &Progress) -> EngineBuilder {
        crate::engine::Engine::builder()
            .encoder(self.model.encoder_config())
            .themes_file(self.themes.clone())
            .head(self.head.clone())
            .min_share(self.min_share)
            .summary_length(self.length())
            .generator(self.gen.generator_config())
            .chunk(self.chunk)
            .progress(progress.clone())
    }
}
