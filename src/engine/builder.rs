//! Building an [`Engine`]: which models, which themes, which summaries, which state store.

use super::{Engine, EngineError};
use crate::abstractive::{Abstractive, Mode, Settings};
use crate::classify::{Classifier, Head, ZeroShot};
use crate::encoder::Embedder;
use crate::generate::load::Precision;
use crate::hub::{self, HubOptions};
use crate::pipeline::{Analyzer, Options};
use crate::progress::Progress;
use crate::state::Store;
use crate::summarize::Length;
use crate::taxonomy::Taxonomy;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Which sentence encoder to load and how to run it.
#[derive(Debug, Clone)]
pub struct EncoderConfig {
    /// A catalogue name, a hub id `org/name[@revision]` or a local model directory.
    pub model: String,
    /// `auto`, `cpu`, `cuda`, `cuda:N` or `metal`.
    pub device: String,
    /// `f32`, or `f16`/`bf16` on a GPU.
    pub dtype: String,
    /// Never touch the network: only local, cached or already materialised models.
    pub offline: bool,
    /// Padded tokens per forward batch.
    pub token_budget: usize,
    /// Sentence embeddings kept in memory by text (0 = no cache).
    pub embed_cache: usize,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        EncoderConfig {
            model: crate::catalog::DEFAULT_MODEL.to_string(),
            device: "cpu".into(),
            dtype: "f32".into(),
            offline: false,
            token_budget: 8192,
            embed_cache: 200_000,
        }
    }
}

/// Generated (abstractive or hybrid) summaries: which generator and how it decodes.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub mode: Mode,
    /// A catalogue name, a `.gguf` file or a T5 model directory.
    pub generator: String,
    /// Most tokens per summary; `None` = the model manifest's value.
    pub max_new_tokens: Option<usize>,
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub seed: u64,
    pub repeat_penalty: f32,
    pub hybrid_sentences: usize,
    pub max_input_tokens: usize,
    pub precision: Precision,
    /// 0 = all cores.
    pub threads: usize,
    /// The gate's margin; `None` = the model manifest's `gate_margin`.
    pub gate_margin: Option<f32>,
    /// How the article is put to the model; `None` = the model manifest's `template.prompt`.
    pub prompt: Option<crate::generate::template::PromptStyle>,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            mode: Mode::Hybrid,
            generator: crate::catalog::DEFAULT_GENERATOR.to_string(),
            max_new_tokens: None,
            temperature: 0.0,
            top_p: None,
            seed: 42,
            repeat_penalty: 1.1,
            hybrid_sentences: 6,
            max_input_tokens: 1536,
            precision: Precision::default(),
            threads: 0,
            gate_margin: None,
            prompt: None,
        }
    }
}

enum Themes {
    Default,
    File(PathBuf),
    Given(Taxonomy),
}

enum StateChoice {
    None,
    Path(PathBuf),
    Open(Store),
}

/// Configures and loads an [`Engine`]. Every setting has the command line's default; only
/// [`EngineBuilder::try_build`] touches files, the network or the model.
pub struct EngineBuilder {
    encoder: EncoderConfig,
    themes: Themes,
    head: Option<PathBuf>,
    min_share: f32,
    length: Length,
    generator: Option<GeneratorConfig>,
    state: StateChoice,
    chunk: usize,
    progress: Progress,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            encoder: EncoderConfig::default(),
            themes: Themes::Default,
            head: None,
            min_share: ZeroShot::default().min_share,
            length: Length::Sentences(2),
            generator: None,
            state: StateChoice::None,
            chunk: 16,
            progress: Progress::silent(),
        }
    }
}

impl EngineBuilder {
    /// The encoder: a catalogue name (`multilingual-e5-small`, the default), a hub id
    /// `org/name[@revision]` or a local directory with `config.json`, `tokenizer.json` and
    /// weights.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.encoder.model = model.into();
        self
    }

    /// Every encoder setting at once (device, dtype, offline, batch budget, cache).
    pub fn encoder(mut self, config: EncoderConfig) -> Self {
        self.encoder = config;
        self
    }

    /// `cpu` (default), `auto`, `cuda[:N]` or `metal`.
    pub fn device(mut self, device: impl Into<String>) -> Self {
        self.encoder.device = device.into();
        self
    }

    /// Only local, cached or materialised models; no network.
    pub fn offline(mut self, offline: bool) -> Self {
        self.encoder.offline = offline;
        self
    }

    /// A theme set in bantin's TOML format instead of the built-in one.
    pub fn themes_file(mut self, path: Option<PathBuf>) -> Self {
        self.themes = match path {
            Some(p) => Themes::File(p),
            None => Themes::Default,
        };
        self
    }

    /// A theme set already in memory.
    pub fn taxonomy(mut self, taxonomy: Taxonomy) -> Self {
        self.themes = Themes::Given(taxonomy);
        self
    }

    /// A head from `bantin train` (JSON), or `zero-shot` for calibrated prototypes without a
    /// head. `None` (the default): the head bantin ships for its default model and taxonomy
    /// when both are in use ([`crate::classify::shipped_head`]), else zero-shot.
    pub fn head(mut self, head: Option<PathBuf>) -> Self {
        self.head = head;
        self
    }

    /// Zero-shot: share of the text a theme must lead to join the theme set.
    pub fn min_share(mut self, share: f32) -> Self {
        self.min_share = share;
        self
    }

    /// Extractive summary length in sentences or words.
    pub fn summary_length(mut self, length: Length) -> Self {
        self.length = length;
        self
    }

    /// Generated summaries as well as extracts (`None` = extracts only, the default).
    pub fn generator(mut self, config: Option<GeneratorConfig>) -> Self {
        self.generator = config.filter(|c| c.mode != Mode::Extractive);
        self
    }

    /// Keep finished analyses in this SQLite state store and reuse them.
    pub fn state(mut self, path: Option<PathBuf>) -> Self {
        self.state = match path {
            Some(p) => StateChoice::Path(p),
            None => StateChoice::None,
        };
        self
    }

    /// A state store the caller has already opened (and so holds the lock of).
    pub fn store(mut self, store: Store) -> Self {
        self.state = StateChoice::Open(store);
        self
    }

    /// Articles per encoder pass in batch runs.
    pub fn chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// Where logs and progress bars go (default: silent).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Loads everything: the state store first (a locked store fails before minutes of model
    /// loading), then the theme set, the encoder, the generator, the calibrated classifier.
    pub fn try_build(self) -> Result<Engine, EngineError> {
        let started = std::time::Instant::now();
        let store = match self.state {
            StateChoice::None => None,
            StateChoice::Path(p) => Some(Store::open(&p)?),
            StateChoice::Open(s) => Some(s),
        };
        let taxonomy = match self.themes {
            Themes::Default => Taxonomy::load(None)?,
            Themes::File(p) => Taxonomy::load(Some(&p))?,
            Themes::Given(t) => t,
        };
        let embedder = Arc::new(load_embedder(&self.encoder, &self.progress)?);
        let abstractive = match &self.generator {
            Some(g) => Some(Arc::new(load_generator(g, &self.encoder, &self.progress)?)),
            None => None,
        };
        let zero_shot = Classifier::ZeroShot(ZeroShot {
            min_share: self.min_share,
            ..ZeroShot::default()
        });
        let model = &embedder.provenance.model;
        // The shipped sentence scorer fits the encoder, not the themes: it stays with a
        // user's own taxonomy or zero-shot classification.
        let shipped_scorer = crate::classify::shipped_scorer(model);
        let (classifier, scorer) = match &self.head {
            Some(path) if path.as_os_str() == "zero-shot" => (zero_shot, shipped_scorer),
            Some(path) => {
                let head = Head::load(path, &taxonomy, model)?;
                let scorer = head.scorer.or(shipped_scorer);
                (Classifier::FewShot(head), scorer)
            }
            None => match crate::classify::shipped_head(&taxonomy, model) {
                Some(head) => (Classifier::FewShot(head), shipped_scorer),
                None => (zero_shot, shipped_scorer),
            },
        };
        let mut options = Options {
            length: self.length,
            ..Default::default()
        };
        options.summary.scorer = scorer;
        let analyzer = Analyzer::new(embedder, Arc::new(taxonomy), classifier, options)?
            .with_abstractive(abstractive);
        Ok(Engine {
            analyzer,
            store: store.map(Mutex::new),
            progress: self.progress,
            chunk: self.chunk,
            load_time: started.elapsed(),
        })
    }
}

/// Resolves (local, cache, hub, package-index mirror) and loads a sentence encoder.
pub fn load_embedder(config: &EncoderConfig, progress: &Progress) -> Result<Embedder, EngineError> {
    let opts = HubOptions::from_env(config.offline, progress.clone());
    let resolved = hub::resolve(&config.model, &opts)?;
    let device = crate::device::parse(&config.device)?;
    let dtype = crate::device::dtype(&config.dtype, &device)?;
    let spinner = progress.spinner(&format!("loading {}", resolved.provenance.model));
    let mut embedder =
        Embedder::load(&resolved, &device, dtype).map_err(|source| EngineError::Encoder {
            model: resolved.provenance.model.clone(),
            source: Box::new(source),
        })?;
    spinner.finish_and_clear();
    embedder.token_budget = config.token_budget.max(64);
    embedder.cache_limit = config.embed_cache;
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

/// Resolves and loads the generator for abstractive or hybrid summaries.
pub fn load_generator(
    g: &GeneratorConfig,
    encoder: &EncoderConfig,
    progress: &Progress,
) -> Result<Abstractive, EngineError> {
    let started = std::time::Instant::now();
    let opts = HubOptions::from_env(encoder.offline, progress.clone());
    let resolved = hub::resolve_generator(&g.generator, &opts)?;
    let device = crate::device::parse(&encoder.device)?;
    let spinner = progress.spinner(&format!("loading generator {}", resolved.provenance.model));
    let mut generator =
        crate::generate::load::load_with(&resolved, &device, g.precision).map_err(|source| {
            EngineError::Generator {
                model: resolved.provenance.model.clone(),
                source: Box::new(source),
            }
        })?;
    spinner.finish_and_clear();
    if let Some(style) = g.prompt {
        generator.template.prompt = style;
    }
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
    let settings = Settings {
        mode: g.mode,
        gen: crate::generate::GenOptions {
            max_new_tokens: g
                .max_new_tokens
                .unwrap_or(resolved.manifest.max_new_tokens)
                .max(1),
            temperature: g.temperature.max(0.0),
            top_p: g.top_p,
            seed: g.seed,
            repeat_penalty: g.repeat_penalty,
            ..Default::default()
        },
        hybrid_sentences: g.hybrid_sentences.max(1),
        max_input_tokens: g.max_input_tokens.max(16),
        threads: g.threads,
        gate_margin: g.gate_margin.unwrap_or(resolved.manifest.gate_margin),
    };
    Ok(Abstractive::new(generator, settings))
}
