//! Placeholder until the chunked-wheel mirror lands (branch gen-gemma).
use super::{MirrorError, MirrorRecord};
use crate::progress::Progress;
use std::path::{Path, PathBuf};

pub fn ensure(
    mirror: &crate::catalog::ChunkMirror,
    _cache: &Path,
    _offline: bool,
    _progress: &Progress,
) -> Result<(PathBuf, MirrorRecord), MirrorError> {
    Err(MirrorError::Offline(mirror.name.clone()))
}
