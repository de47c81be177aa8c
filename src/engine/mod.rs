//! The engine: the loaded models, theme set, summary settings and (optionally) the state
//! store, and everything a front end does with them. The command line, `bantin serve`,
//! `bantin eval` and `bantin bench` are thin users of this API, and so can any other program.
//!
//! ```no_run
//! use bantin::{Article, Engine};
//!
//! let engine = Engine::builder().model("multilingual-e5-small").try_build()?;
//! let article = Article::new("a1", "Chính phủ ban hành nghị định về phát triển công nghiệp hỗ trợ.");
//! for result in engine.analyze(&[article]) {
//!     match result {
//!         Ok(a) => println!("{}: {} — {}", a.result.id, a.result.primary, a.result.summary),
//!         Err(e) => eprintln!("{}: {}", e.origin, e.message),
//!     }
//! }
//! # Ok::<(), bantin::EngineError>(())
//! ```

mod batch;
mod builder;

pub use batch::{article_date, is_iso_date, shard_of, write_digest_dir, Analysed, BatchRun};
pub use builder::{load_embedder, load_generator, EncoderConfig, EngineBuilder, GeneratorConfig};

use crate::abstractive::Abstractive;
use crate::corpus::{Article, ItemError};
use crate::digest::Digest;
use crate::encoder::{Embedder, Embedding, Role};
use crate::hub::Provenance;
use crate::pipeline::{Analysis, Analyzer};
use crate::progress::Progress;
use crate::state::{Scope, StateError, Store};
use crate::taxonomy::Taxonomy;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// What can go wrong while building or using an engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Taxonomy(#[from] crate::taxonomy::TaxonomyError),
    /// Boxed: the hub's error is large, and every engine call returns this type.
    #[error(transparent)]
    Hub(Box<crate::hub::HubError>),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    #[error("loading model {model}")]
    Encoder {
        model: String,
        #[source]
        source: Box<crate::encoder::EncoderError>,
    },
    #[error("loading generator {model}")]
    Generator {
        model: String,
        #[source]
        source: Box<crate::generate::GenerateError>,
    },
    #[error(transparent)]
    Classify(#[from] crate::classify::ClassifyError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
    #[error("embedding failed")]
    Embed(#[source] Box<crate::encoder::EncoderError>),
    #[error("this engine has no state store: build it with .state(Some(path))")]
    NoStore,
}

impl From<crate::hub::HubError> for EngineError {
    fn from(e: crate::hub::HubError) -> Self {
        EngineError::Hub(Box::new(e))
    }
}

/// A loaded pipeline. `Sync`: one engine serves many threads (the encoder batches internally;
/// the generator and the state store are behind locks).
pub struct Engine {
    analyzer: Analyzer,
    store: Option<Mutex<Store>>,
    progress: Progress,
    chunk: usize,
    load_time: Duration,
}

impl Engine {
    /// Starts a configuration with the command line's defaults (the default model, the
    /// built-in themes, two-sentence extracts, no generator, no state store).
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    pub fn embedder(&self) -> &Embedder {
        &self.analyzer.embedder
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.analyzer.taxonomy
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn abstractive(&self) -> Option<&Abstractive> {
        self.analyzer.abstractive.as_deref()
    }

    /// Where the encoder came from: name, source, revision, weights digest, dtype, device.
    pub fn provenance(&self) -> &Provenance {
        &self.analyzer.embedder.provenance
    }

    /// The classifier in words, as every output names it.
    pub fn classifier_name(&self) -> String {
        self.analyzer.classifier.describe()
    }

    /// Wall time of [`EngineBuilder::try_build`].
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Articles per encoder pass in batch runs.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Analyses articles (clean, classify, summarise), in chunks, in input order. One bad
    /// article is an error entry; the others are unaffected.
    pub fn analyze(&self, articles: &[Article]) -> Vec<Result<Analysis, ItemError>> {
        let mut out = Vec::with_capacity(articles.len());
        for part in articles.chunks(self.chunk) {
            out.extend(self.analyzer.analyze(part));
        }
        out
    }

    /// Embeds texts with the role's prefix (`query: ` / `passage: ` for e5 models).
    pub fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Embedding>, EngineError> {
        self.analyzer
            .embedder
            .embed(texts, role)
            .map_err(|e| EngineError::Embed(Box::new(e)))
    }

    /// Groups analyses into a digest by theme, folding near-duplicates; `options` sets the
    /// reader's language and the period comparison (`Options::default()`: Vietnamese, none).
    pub fn digest(
        &self,
        title: &str,
        input: &str,
        analyses: &[Analysis],
        errors: &[ItemError],
        options: &crate::digest::Options,
    ) -> Digest {
        crate::digest::build(
            title,
            input,
            analyses,
            errors,
            self.taxonomy(),
            self.provenance(),
            &self.classifier_name(),
            options,
        )
    }

    /// What stored analyses depend on besides the text: model weights and every setting that
    /// changes a result.
    pub fn scope(&self) -> Scope {
        use sha2::Digest;
        let a = &self.analyzer;
        let p = &a.embedder.provenance;
        let model = format!(
            "{}|{}|{}",
            p.model,
            p.weights_sha256.as_deref().unwrap_or("-"),
            p.dtype
        );
        let config = format!(
            "{}|{}|{:?}|{}|{}|{}",
            a.taxonomy.fingerprint(),
            a.classifier.describe(),
            a.options.length,
            serde_json::to_string(&a.options.summary).unwrap_or_default(),
            env!("CARGO_PKG_VERSION"),
            a.abstractive
                .as_deref()
                .map(|a| a.describe())
                .unwrap_or("extractive"),
        );
        Scope {
            model,
            config: crate::mirror::hex(&sha2::Sha256::digest(config.as_bytes()))[..24].to_string(),
        }
    }

    /// The state store, if the engine has one. Held for the duration of the guard: keep it short.
    pub fn store(&self) -> Option<MutexGuard<'_, Store>> {
        self.store
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub fn has_store(&self) -> bool {
        self.store.is_some()
    }

    /// Everything the state store holds for this engine's model and settings, by id.
    pub fn stored(&self) -> Result<Vec<Analysis>, EngineError> {
        let store = self.store().ok_or(EngineError::NoStore)?;
        Ok(store.all(&self.scope())?)
    }
}

impl Engine {
    /// Fits a few-shot head on analysed articles and their labels (id → primary, theme set);
    /// articles without a usable label are skipped. Returns the head and how many it used, or
    /// `None` when no article had a usable label.
    pub fn train_head(
        &self,
        name: &str,
        analyses: &[Analysis],
        labels: &std::collections::HashMap<&str, (&str, &[String])>,
        rule: crate::classify::PrimaryRule,
    ) -> Option<(crate::classify::Head, usize)> {
        let taxonomy = self.taxonomy();
        let data: Vec<_> = analyses
            .iter()
            .filter_map(|a| {
                let (primary, themes) = labels.get(a.result.id.as_str())?;
                let gold = taxonomy.index(primary)?;
                let set = themes.iter().filter_map(|t| taxonomy.index(t)).collect();
                Some((a.features.clone(), gold, set))
            })
            .collect();
        if data.is_empty() {
            return None;
        }
        let head =
            crate::classify::Head::train(name, &self.provenance().model, taxonomy, &data, rule);
        Some((head, data.len()))
    }
}

impl Engine {
    /// Fits the extractive summaries' sentence scorer on freshly analysed articles and their
    /// reference summaries (id → summary), for summaries of this engine's length in sentences
    /// (2 for a word budget). Articles read back from a state store carry no sentence
    /// evidence and are skipped. `None` when no article is usable.
    pub fn train_scorer(
        &self,
        analyses: &[Analysis],
        references: &std::collections::HashMap<&str, &str>,
    ) -> Option<(
        crate::summarize::Scorer,
        Vec<crate::summarize::ScorerCvPoint>,
    )> {
        let options = &self.analyzer.options;
        let k = match options.length {
            crate::summarize::Length::Sentences(n) => n.max(1),
            crate::summarize::Length::Words(_) => 2,
        };
        let articles: Vec<(Vec<crate::summarize::CandidateRow>, String)> = analyses
            .iter()
            .filter_map(|a| {
                let reference = references.get(a.result.id.as_str())?;
                Some((a.candidates.clone(), reference.to_string()))
            })
            .collect();
        crate::summarize::train_scorer(&articles, k, options.summary.min_words)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.provenance().model)
            .field("themes", &self.taxonomy().themes.len())
            .field("classifier", &self.classifier_name())
            .field("store", &self.store.is_some())
            .finish()
    }
}
