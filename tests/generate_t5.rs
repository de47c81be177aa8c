//! T5 sequence-to-sequence backend and the sentencepiece tokenizer builder, on a tiny
//! random-weight T5 (config.json + safetensors written here) and a hand-written `spiece.model`.

mod common;

use bantin::generate::spm::tokenizer_from_spm;
use bantin::generate::template::Template;
use bantin::generate::{t5, GenOptions, GenerateError, Generator, LanguageModel};
use candle_core::{DType, Device, Tensor};
use common::{Rng, TempDir};
use std::path::{Path, PathBuf};

/// The error of a call that must fail (the Ok types here have no Debug for `expect_err`).
trait Failing {
    fn failure(self, what: &str) -> GenerateError;
}

impl<T> Failing for Result<T, GenerateError> {
    fn failure(self, what: &str) -> GenerateError {
        match self {
            Ok(_) => panic!("{what}: expected an error"),
            Err(e) => e,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A sentencepiece ModelProto, written field by field.

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn field_bytes(out: &mut Vec<u8>, number: u64, data: &[u8]) {
    varint(out, number << 3 | 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn field_varint(out: &mut Vec<u8>, number: u64, v: u64) {
    varint(out, number << 3);
    varint(out, v);
}

fn field_f32(out: &mut Vec<u8>, number: u64, v: f32) {
    varint(out, number << 3 | 5);
    out.extend_from_slice(&v.to_le_bytes());
}

const CONTROL: u64 = 3;
const UNKNOWN: u64 = 2;
const NORMAL: u64 = 1;

/// Pieces of the tiny vocabulary: (piece, score, type). Ids are positions.
fn pieces() -> Vec<(&'static str, f32, u64)> {
    vec![
        ("<pad>", 0.0, CONTROL),
        ("</s>", 0.0, CONTROL),
        ("<unk>", 0.0, UNKNOWN),
        ("▁", -3.0, NORMAL),
        ("▁xin", -2.0, NORMAL),
        ("▁chào", -2.0, NORMAL),
        ("▁việt", -2.0, NORMAL),
        ("▁nam", -2.0, NORMAL),
        ("▁chính", -2.5, NORMAL),
        ("▁sách", -2.5, NORMAL),
        ("▁mới", -2.5, NORMAL),
        ("x", -5.0, NORMAL),
        ("i", -5.0, NORMAL),
        ("n", -5.0, NORMAL),
        ("a", -5.0, NORMAL),
        ("m", -5.0, NORMAL),
        ("xin", -4.0, NORMAL),
        ("à", -5.0, NORMAL),
        ("c", -5.0, NORMAL),
        ("h", -5.0, NORMAL),
        ("o", -5.0, NORMAL),
        ("▁c", -4.5, NORMAL),
        ("hào", -4.5, NORMAL),
        ("s", -5.0, NORMAL),
        ("ới", -6.0, NORMAL),
    ]
}

/// `model_type` 1 = unigram, 2 = bpe. The charsmap maps fullwidth `ｘ` to `x` and a decomposed
/// `à` (a + U+0300) to the composed one and a newline to a space, as sentencepiece's nmt_nfkc
/// would.
fn spiece(model_type: u64, add_dummy_prefix: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for (piece, score, kind) in pieces() {
        let mut p = Vec::new();
        field_bytes(&mut p, 1, piece.as_bytes());
        field_f32(&mut p, 2, score);
        field_varint(&mut p, 3, kind);
        field_bytes(&mut out, 1, &p);
    }
    let mut trainer = Vec::new();
    field_varint(&mut trainer, 3, model_type);
    field_varint(&mut trainer, 4, pieces().len() as u64);
    field_varint(&mut trainer, 40, 2); // unk
    field_varint(&mut trainer, 41, u64::MAX); // bos = -1 (int32 -1 is a 10-byte varint)
    field_varint(&mut trainer, 42, 1); // eos
    field_varint(&mut trainer, 43, 0); // pad
    field_bytes(&mut out, 2, &trainer);
    let charsmap = bantin::mirror::charsmap::build(&[
        ("ｘ".to_string(), "x".to_string()),
        ("a\u{300}".to_string(), "à".to_string()),
        ("\n".to_string(), " ".to_string()),
    ]);
    let mut norm = Vec::new();
    field_bytes(&mut norm, 1, b"nmt_nfkc");
    field_bytes(&mut norm, 2, &charsmap);
    field_varint(&mut norm, 3, add_dummy_prefix as u64);
    field_varint(&mut norm, 4, 1);
    field_bytes(&mut out, 3, &norm);
    out
}

fn write_spiece(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write spiece");
    p
}

#[test]
fn spiece_model_becomes_a_t5_tokenizer() {
    let dir = TempDir::new("spm");
    let path = write_spiece(dir.path(), "spiece.model", &spiece(1, true));
    let tok = tokenizer_from_spm(&path).expect("tokenizer from spiece.model");
    let ids = |text: &str, special: bool| -> Vec<u32> {
        tok.encode(text, special)
            .expect("encode")
            .get_ids()
            .to_vec()
    };
    // Whole-word pieces win over characters; </s> is appended (T5 has no BOS).
    assert_eq!(ids("xin chào việt nam", true), vec![4, 5, 6, 7, 1]);
    assert_eq!(ids("xin chào việt nam", false), vec![4, 5, 6, 7]);
    // sentencepiece strips and collapses whitespace.
    assert_eq!(ids("  xin    chào ", false), vec![4, 5]);
    // The model's own charsmap runs: fullwidth x and a decomposed à.
    assert_eq!(ids("ｘin ch\u{0061}\u{300}o", false), vec![4, 5]);
    // Characters outside the vocabulary are <unk>.
    assert_eq!(ids("€", false).last(), Some(&2));
    // Special pieces in text are recognised; decoding drops them and the ▁ markers.
    assert_eq!(ids("xin</s>", false), vec![4, 1]);
    let text = tok.decode(&[4, 5, 6, 7, 1], true).expect("decode");
    assert_eq!(text, "xin chào việt nam");
    assert_eq!(tok.token_to_id("</s>"), Some(1));
    assert_eq!(tok.get_vocab_size(true), pieces().len());

    // Without the dummy prefix the first word has no ▁ and falls back to inner pieces.
    let path = write_spiece(dir.path(), "nodummy.model", &spiece(1, false));
    let tok = tokenizer_from_spm(&path).expect("tokenizer");
    let first = tok.encode("xin", false).expect("encode").get_ids().to_vec();
    assert_eq!(first, vec![16]);
}

#[test]
fn unsupported_or_broken_spiece_files_are_errors_naming_the_file() {
    let dir = TempDir::new("spm-bad");
    let bpe = write_spiece(dir.path(), "bpe.model", &spiece(2, true));
    let err = tokenizer_from_spm(&bpe).failure("BPE is refused");
    let msg = err.to_string();
    assert!(msg.contains("bpe.model") && msg.contains("BPE"), "{msg}");

    let full = spiece(1, true);
    let cut = write_spiece(dir.path(), "cut.model", &full[..full.len() - 7]);
    let msg = tokenizer_from_spm(&cut).failure("truncated").to_string();
    assert!(msg.contains("cut.model"), "{msg}");

    let junk = write_spiece(dir.path(), "junk.model", b"\x0a\x02hi");
    assert!(tokenizer_from_spm(&junk).is_err());
    let missing = dir.join("missing.model");
    let msg = tokenizer_from_spm(&missing).failure("missing").to_string();
    assert!(msg.contains("missing.model"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// A tiny T5.

fn config_json(vocab: usize) -> String {
    format!(
        r#"{{
  "architectures": ["T5ForConditionalGeneration"],
  "model_type": "t5",
  "vocab_size": {vocab},
  "d_model": 16,
  "d_kv": 4,
  "d_ff": 32,
  "num_layers": 2,
  "num_decoder_layers": 2,
  "num_heads": 4,
  "relative_attention_num_buckets": 32,
  "relative_attention_max_distance": 128,
  "dropout_rate": 0.1,
  "layer_norm_epsilon": 1e-6,
  "initializer_factor": 1.0,
  "feed_forward_proj": "gated-gelu",
  "tie_word_embeddings": false,
  "is_encoder_decoder": true,
  "use_cache": true,
  "pad_token_id": 0,
  "eos_token_id": 1,
  "decoder_start_token_id": 0,
  "n_positions": 96
}}"#
    )
}

/// config.json + model.safetensors with seeded random weights. The tensor names come from
/// candle's own T5 loader (a VarMap records what it asks for), which are the Hugging Face names.
fn write_t5(dir: &Path, vocab: usize, seed: u64) -> (PathBuf, PathBuf) {
    let config = dir.join("config.json");
    std::fs::write(&config, config_json(vocab)).expect("write config");
    let cfg: candle_transformers::models::t5::Config =
        serde_json::from_str(&config_json(vocab)).expect("config parses");
    let varmap = candle_nn::VarMap::new();
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    candle_transformers::models::t5::T5ForConditionalGeneration::load(vb, &cfg).expect("varmap T5");
    let mut rng = Rng::new(seed);
    let data = varmap.data().lock().expect("varmap lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let shape = var.shape().clone();
        let n = shape.elem_count();
        let values: Vec<f32> = if name.ends_with("layer_norm.weight") {
            (0..n).map(|_| 1.0 + rng.normal(0.1)).collect()
        } else {
            (0..n).map(|_| rng.normal(0.4)).collect()
        };
        let t = Tensor::from_vec(values, shape, &Device::Cpu).expect("tensor");
        var.set(&t).expect("set var");
    }
    drop(data);
    let weights = dir.join("model.safetensors");
    varmap.save(&weights).expect("save safetensors");
    (config, weights)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn tiny_t5_loads_and_its_kv_cache_matches_full_recomputation() {
    let vocab = pieces().len();
    let dir = TempDir::new("t5");
    let (config, weights) = write_t5(dir.path(), vocab, 11);
    let mut m = t5::load(
        &config,
        std::slice::from_ref(&weights),
        &Device::Cpu,
        DType::F32,
    )
    .expect("T5 loads");
    assert_eq!(m.context_length(), 96, "n_positions is the input limit");
    assert!(!m.shares_context());
    assert_eq!(m.decoder_start_token_id(), 0);
    let m2 = t5::load(
        &config,
        std::slice::from_ref(&weights),
        &Device::Cpu,
        DType::F32,
    )
    .expect("T5 loads")
    .with_input_limit(1024);
    assert_eq!(m2.context_length(), 1024);

    // Stepping before any prompt, or an empty prompt, is an error rather than a panic.
    let mut unstarted = t5::load(
        &config,
        std::slice::from_ref(&weights),
        &Device::Cpu,
        DType::F32,
    )
    .expect("T5 loads");
    unstarted.step(3).failure("step before start");
    unstarted.start(&[]).failure("empty prompt");

    let prompt = [4u32, 5, 6, 7, 8, 9, 1];
    let first = m.start(&prompt).expect("start");
    assert_eq!(first.len(), vocab);
    assert!(first.iter().all(|x| x.is_finite()));

    // Step through a decoder sequence longer than the exact-bucket range (8) and compare each
    // position with a fresh one-pass decode of the same prefix.
    let generated: Vec<u32> = (0..12).map(|i| (3 + 5 * i) as u32 % vocab as u32).collect();
    let mut decoder = vec![0u32];
    let mut stepped = first.clone();
    for (k, &t) in generated.iter().enumerate() {
        let full = m.decode_full(&prompt, &decoder).expect("full decode");
        let d = max_diff(&stepped, &full);
        assert!(
            d < 1e-4,
            "position {k}: cached step differs from recomputation by {d}"
        );
        // decode_full cleared the cache: replay the cached sequence to the same point.
        m.start(&prompt).expect("restart");
        for &p in &decoder[1..] {
            m.step(p).expect("replay");
        }
        stepped = m.step(t).expect("step");
        decoder.push(t);
    }

    // A second start forgets the first sequence; different prompts give different logits.
    let again = m.start(&prompt).expect("start again");
    assert_eq!(again, first);
    let other = m.start(&[10u32, 9, 1]).expect("other prompt");
    assert_ne!(other, first);

    // A missing weights file, a truncated one, a config that is not T5.
    let missing = dir.join("absent.safetensors");
    let msg = t5::load(&config, &[missing], &Device::Cpu, DType::F32)
        .failure("missing weights")
        .to_string();
    assert!(msg.contains("absent.safetensors"), "{msg}");
    let bytes = std::fs::read(&weights).expect("read");
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    assert!(t5::load(&config, &[cut], &Device::Cpu, DType::F32).is_err());
    let bad_config = dir.join("bad.json");
    std::fs::write(&bad_config, "{\"d_model\": 3}").expect("write");
    let msg = t5::load(&bad_config, &[weights], &Device::Cpu, DType::F32)
        .failure("bad config")
        .to_string();
    assert!(msg.contains("bad.json"), "{msg}");
}

#[test]
fn greedy_t5_generation_is_deterministic_through_the_shared_loop() {
    let dir = TempDir::new("t5-gen");
    let spm = write_spiece(dir.path(), "spiece.model", &spiece(1, true));
    let tokenizer = tokenizer_from_spm(&spm).expect("tokenizer");
    let vocab = tokenizer.get_vocab_size(true);
    let (config, weights) = write_t5(dir.path(), vocab, 5);
    let run = || {
        let model = t5::load(
            &config,
            std::slice::from_ref(&weights),
            &Device::Cpu,
            DType::F32,
        )
        .expect("T5 loads");
        let mut g = Generator {
            model: Box::new(model),
            tokenizer: tokenizer.clone(),
            template: Template {
                prefix: "xin ".into(),
                ..Template::default()
            },
            eos: vec![1],
            provenance: bantin::hub::Provenance {
                model: "tiny-t5".into(),
                source: bantin::hub::Source::Cache,
                repo: None,
                revision: None,
                commit: None,
                weights_sha256: None,
                dtype: "f32".into(),
                device: "cpu".into(),
                note: None,
            },
        };
        let opts = GenOptions {
            max_new_tokens: 10,
            repeat_penalty: 1.0,
            ..GenOptions::default()
        };
        let prompt = g.template.render("chính sách mới", "việt nam");
        let mut count = 0;
        let out = g
            .generate(&prompt, &opts, &mut |n| count = n)
            .expect("generate");
        assert_eq!(out.new_tokens, count);
        out
    };
    let a = run();
    let b = run();
    assert_eq!(a.text, b.text);
    assert_eq!(a.new_tokens, b.new_tokens);
    assert_eq!(a.stop, b.stop);
    // "xin chính sách mới\n\nviệt nam": newlines become spaces, runs collapse; + </s>.
    assert_eq!(a.prompt_tokens, 7);
    assert!(a.new_tokens <= 10);
}

// ---------------------------------------------------------------------------------------------
// Against transformers: tests/reference/tiny_t5 was written by make_tiny_t5.py (random weights
// saved by transformers as safetensors and as a pickle, with logits computed by transformers).

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/tiny_t5")
}

#[test]
fn pytorch_bin_and_safetensors_agree_and_match_transformers() {
    let dir = reference_dir();
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("json");
    let prompt: Vec<u32> = reference["prompt"]
        .as_array()
        .expect("prompt")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect();
    let config = dir.join("config.json");
    let mut st = t5::load(
        &config,
        &[dir.join("model.safetensors")],
        &Device::Cpu,
        DType::F32,
    )
    .expect("safetensors T5");
    let mut bin = t5::load(
        &config,
        &[dir.join("pytorch_model.bin")],
        &Device::Cpu,
        DType::F32,
    )
    .expect("pytorch_model.bin T5");
    assert_eq!(st.context_length(), 512);
    let a = st.start(&prompt).expect("start");
    let b = bin.start(&prompt).expect("start");
    assert_eq!(a, b, "the two weight formats give different logits");

    for case in reference["cases"].as_array().expect("cases") {
        let decoder: Vec<u32> = case["decoder"]
            .as_array()
            .expect("decoder")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let want: Vec<f32> = case["logits"]
            .as_array()
            .expect("logits")
            .iter()
            .map(|v| v.as_f64().expect("logit") as f32)
            .collect();
        let got = bin.decode_full(&prompt, &decoder).expect("decode");
        let d = max_diff(&got, &want);
        // Includes a decoder longer than 8 tokens, where upstream candle's bidirectional
        // decoder buckets would differ.
        assert!(
            d < 1e-4,
            "decoder length {}: candle differs from transformers by {d}",
            decoder.len()
        );
    }
}

/// tests/reference/tiny_spm was trained by the real sentencepiece library (make_tiny_spm.py),
/// with its nmt_nfkc charsmap; the ids are what that library encodes.
#[test]
fn spiece_tokenizer_matches_the_sentencepiece_library() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/tiny_spm");
    let tok = tokenizer_from_spm(&dir.join("spiece.model")).expect("real spiece.model");
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("json");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(cases.len() >= 5);
    for case in cases {
        let input = case["text"].as_str().expect("text");
        let want: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let got = tok.encode(input, false).expect("encode").get_ids().to_vec();
        assert_eq!(got, want, "{input:?}");
        // T5's post-processor appends </s> (id 1 in this model).
        let with_eos = tok.encode(input, true).expect("encode").get_ids().to_vec();
        assert_eq!(with_eos.last(), Some(&1), "{input:?}");
        assert_eq!(with_eos.len(), want.len() + 1);
    }
}

/// A T5 model directory (config.json, model.safetensors, spiece.model) given to
/// `--generator`: resolved locally, loaded with the spiece tokenizer, and run by the CLI.
#[test]
fn a_t5_directory_works_as_the_generator_end_to_end() {
    let dir = TempDir::new("t5-dir");
    let model_dir = dir.path().join("tiny-vit5");
    std::fs::create_dir_all(&model_dir).expect("mkdir");
    let spm = write_spiece(&model_dir, "spiece.model", &spiece(1, true));
    let vocab = tokenizer_from_spm(&spm)
        .expect("tokenizer")
        .get_vocab_size(true);
    write_t5(&model_dir, vocab, 9);
    let opts = bantin::hub::HubOptions::from_env(true, bantin::progress::Progress::silent());
    let r = bantin::hub::resolve_generator(model_dir.to_str().unwrap(), &opts).expect("resolves");
    assert_eq!(r.manifest.family, "t5");
    assert!(r.spm.is_some() && r.tokenizer_json.is_none() && r.config.is_some());
    let mut g = bantin::generate::load::load(&r, &Device::Cpu).expect("loads");
    assert!(!g.eos.is_empty(), "</s> must end the text");
    let opts = GenOptions {
        max_new_tokens: 6,
        ..GenOptions::default()
    };
    let a = g
        .generate("xin chào", &opts, &mut |_| {})
        .expect("generates");
    let b = g
        .generate("xin chào", &opts, &mut |_| {})
        .expect("generates");
    assert_eq!(a.text, b.text);
    assert!(a.new_tokens <= 6);

    // The CLI, offline: the encoder comes from the mirror cache the other tests fill.
    let articles = dir.path().join("in");
    std::fs::create_dir_all(&articles).expect("mkdir");
    // With its headline, so that the generator reads the same two sentences whatever headline
    // bantin would derive (the random weights' output depends on the prompt).
    std::fs::write(
        articles.join("a.md"),
        "# Chính phủ ban hành nghị định mới.\n\nNghị định quy định trách nhiệm của các bộ, ngành và địa phương trong việc giải ngân vốn đầu tư công.\n\nCác dự án chậm tiến độ quá sáu tháng sẽ bị điều chuyển vốn.",
    )
    .expect("write article");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_bantin"))
        .args([
            "summarize",
            articles.to_str().unwrap(),
            "--summarizer",
            "abstractive",
            "--generator",
            model_dir.to_str().unwrap(),
            "--max-new-tokens",
            "5",
        ])
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .expect("bantin runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let line: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .expect("a line"),
    )
    .expect("JSON");
    let g = &line["abstractive"];
    assert_eq!(g["mode"], "abstractive", "{line}");
    assert_eq!(g["model"], "tiny-vit5", "{line}");
    // Random weights write no Vietnamese: flagged, and the extract stays.
    assert_eq!(g["usable"], false, "{line}");
    assert!(!line["summary"].as_str().unwrap().is_empty());
}
