//! Theme sets: the default (taxonomy/default.toml, compiled in) or a user's file.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid theme file: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Theme {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Taxonomy {
    pub name: String,
    #[serde(default = "one")]
    pub version: String,
    #[serde(rename = "theme")]
    pub themes: Vec<Theme>,
}

fn one() -> String {
    "1".into()
}

pub const DEFAULT: &str = include_str!("../taxonomy/default.toml");

impl Taxonomy {
    pub fn default_set() -> Taxonomy {
        Taxonomy::parse(DEFAULT, "taxonomy/default.toml").expect("the built-in taxonomy is valid")
    }

    pub fn load(path: Option<&Path>) -> Result<Taxonomy, TaxonomyError> {
        match path {
            None => Ok(Taxonomy::default_set()),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| TaxonomyError::Io {
                    path: p.to_path_buf(),
                    source,
                })?;
                Taxonomy::parse(&text, &p.display().to_string())
            }
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Taxonomy, TaxonomyError> {
        let invalid = |message: String| TaxonomyError::Invalid {
            path: origin.to_string(),
            message,
        };
        let t: Taxonomy = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if t.themes.is_empty() {
            return Err(invalid("no [[theme]] entries".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for th in &t.themes {
            if th.id.trim().is_empty() || th.description.trim().is_empty() {
                return Err(invalid(format!(
                    "theme {:?} needs an id and a description",
                    th.id
                )));
            }
            if !th
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(invalid(format!(
                    "theme id {:?}: use letters, digits, - and _",
                    th.id
                )));
            }
            if !seen.insert(th.id.clone()) {
                return Err(invalid(format!("theme id {:?} appears twice", th.id)));
            }
        }
        Ok(t)
    }

    pub fn ids(&self) -> Vec<String> {
        self.themes.iter().map(|t| t.id.clone()).collect()
    }

    pub fn index(&self, id: &str) -> Option<usize> {
        self.themes.iter().position(|t| t.id == id)
    }

    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.themes
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.name.as_str())
            .unwrap_or(id)
    }

    /// Changes whenever a theme's text changes: stored results keyed by it are recomputed.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let text = serde_json::to_string(self).expect("taxonomy serialises");
        crate::mirror::hex(&sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_the_ten_themes() {
        let t = Taxonomy::default_set();
        assert_eq!(t.themes.len(), 10);
        assert!(t.index("green-energy").is_some());
        assert!(t.themes.iter().all(|th| th.examples.len() >= 3));
    }

    #[test]
    fn malformed_files_are_refused_with_the_reason() {
        let e = Taxonomy::parse("name = \"x\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml"), "{e}");
        let dup = "name='x'\n[[theme]]\nid='a'\nname='A'\ndescription='d'\n[[theme]]\nid='a'\nname='B'\ndescription='e'\n";
        assert!(Taxonomy::parse(dup, "t.toml")
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let bad = "name='x'\n[[theme]]\nid='a/b'\nname='A'\ndescription='d'\n";
        assert!(Taxonomy::parse(bad, "t.toml").is_err());
    }
}
