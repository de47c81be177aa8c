//! candle's quantized decoders behind `LanguageModel`: tiny random Llama, Qwen2 and Qwen3 GGUF
//! files written by the test (F32 "quantisation", so logits compare tightly).

mod common;

use bantin::generate::quantized::{self, QuantizedDecoder};
use bantin::generate::{GenerateError, LanguageModel};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use common::{Rng, TempDir};
use std::path::{Path, PathBuf};

const VOCAB: usize = 48;
const HIDDEN: usize = 32;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = HIDDEN / HEADS;
const FFN: usize = 64;
const LAYERS: usize = 2;
const CONTEXT: u32 = 64;

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

fn write_gguf(dir: &Path, arch: &str, seed: u64) -> PathBuf {
    let mut rng = Rng::new(seed);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: String, shape: &[usize], std: f32, ones: bool, rng: &mut Rng| {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                if ones {
                    1.0 + rng.normal(0.1)
                } else {
                    rng.normal(std)
                }
            })
            .collect();
        let t = Tensor::from_vec(values, shape, &Device::Cpu).expect("tensor");
        tensors.push((
            name,
            QTensor::quantize(&t, GgmlDType::F32).expect("quantize"),
        ));
    };
    add(
        "token_embd.weight".into(),
        &[VOCAB, HIDDEN],
        0.5,
        false,
        &mut rng,
    );
    add("output_norm.weight".into(), &[HIDDEN], 0.0, true, &mut rng);
    add(
        "output.weight".into(),
        &[VOCAB, HIDDEN],
        0.3,
        false,
        &mut rng,
    );
    let kv = KV_HEADS * HEAD_DIM;
    for l in 0..LAYERS {
        let p = format!("blk.{l}");
        add(
            format!("{p}.attn_norm.weight"),
            &[HIDDEN],
            0.0,
            true,
            &mut rng,
        );
        add(
            format!("{p}.ffn_norm.weight"),
            &[HIDDEN],
            0.0,
            true,
            &mut rng,
        );
        add(
            format!("{p}.attn_q.weight"),
            &[HIDDEN, HIDDEN],
            0.3,
            false,
            &mut rng,
        );
        add(
            format!("{p}.attn_k.weight"),
            &[kv, HIDDEN],
            0.3,
            false,
            &mut rng,
        );
        add(
            format!("{p}.attn_v.weight"),
            &[kv, HIDDEN],
            0.3,
            false,
            &mut rng,
        );
        add(
            format!("{p}.attn_output.weight"),
            &[HIDDEN, HIDDEN],
            0.2,
            false,
            &mut rng,
        );
        add(
            format!("{p}.ffn_gate.weight"),
            &[FFN, HIDDEN],
            0.2,
            false,
            &mut rng,
        );
        add(
            format!("{p}.ffn_up.weight"),
            &[FFN, HIDDEN],
            0.2,
            false,
            &mut rng,
        );
        add(
            format!("{p}.ffn_down.weight"),
            &[HIDDEN, FFN],
            0.2,
            false,
            &mut rng,
        );
        if arch == "qwen2" {
            add(format!("{p}.attn_q.bias"), &[HIDDEN], 0.1, false, &mut rng);
            add(format!("{p}.attn_k.bias"), &[kv], 0.1, false, &mut rng);
            add(format!("{p}.attn_v.bias"), &[kv], 0.1, false, &mut rng);
        }
        if arch == "qwen3" {
            add(
                format!("{p}.attn_q_norm.weight"),
                &[HEAD_DIM],
                0.0,
                true,
                &mut rng,
            );
            add(
                format!("{p}.attn_k_norm.weight"),
                &[HEAD_DIM],
                0.0,
                true,
                &mut rng,
            );
        }
    }
    use gguf_file::Value;
    let key = |k: &str| format!("{arch}.{k}");
    let metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        // Qwen3 computes in this dtype (0 = f32).
        ("general.dtype".into(), Value::U32(0)),
        (key("context_length"), Value::U32(CONTEXT)),
        (key("embedding_length"), Value::U32(HIDDEN as u32)),
        (key("block_count"), Value::U32(LAYERS as u32)),
        (key("attention.head_count"), Value::U32(HEADS as u32)),
        (key("attention.head_count_kv"), Value::U32(KV_HEADS as u32)),
        (key("attention.key_length"), Value::U32(HEAD_DIM as u32)),
        (key("rope.dimension_count"), Value::U32(HEAD_DIM as u32)),
        (key("attention.layer_norm_rms_epsilon"), Value::F32(1e-6)),
        (key("rope.freq_base"), Value::F32(10000.0)),
    ];
    let path = dir.join(format!("tiny-{arch}.gguf"));
    let mut file = std::fs::File::create(&path).expect("create gguf");
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts).expect("write gguf");
    path
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn load(arch: &str, path: &Path) -> QuantizedDecoder {
    quantized::load(arch, path, &Device::Cpu).expect("tiny GGUF loads")
}

fn check_family(arch: &str) {
    let dir = TempDir::new(&format!("gguf-{arch}"));
    let path = write_gguf(dir.path(), arch, 7);
    let mut m = load(arch, &path);
    assert_eq!(m.context_length(), CONTEXT as usize);
    assert!(m.shares_context());

    let prompt = [3u32, 17, 5, 40, 11];
    let first = m.start(&prompt).expect("start");
    assert_eq!(first.len(), VOCAB);
    assert!(first.iter().all(|x| x.is_finite()));
    let spread = first.iter().cloned().fold(f32::MIN, f32::max)
        - first.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 1e-3, "{arch}: logits are flat ({spread})");

    // Incremental decoding == recomputing the whole sequence.
    let next = [9u32, 23, 1];
    let mut stepped = Vec::new();
    for &t in &next {
        stepped = m.step(t).expect("step");
    }
    let mut full_ids = prompt.to_vec();
    full_ids.extend_from_slice(&next);
    let full = m.start(&full_ids).expect("start on the full sequence");
    let d = max_diff(&stepped, &full);
    assert!(
        d < 1e-3,
        "{arch}: cached steps differ from recomputation by {d}"
    );

    // A second `start` forgets the first sequence: same logits as a fresh model.
    let other = [30u32, 2, 8];
    let reused = m.start(&other).expect("start again");
    let mut fresh = load(arch, &path);
    let fresh_logits = fresh.start(&other).expect("fresh start");
    assert_eq!(
        reused, fresh_logits,
        "{arch}: KV cache leaked into the next sequence"
    );
    // Deterministic.
    assert_eq!(m.start(&prompt).expect("start"), first);
    assert_ne!(
        reused, first,
        "{arch}: different prompts gave the same logits"
    );
}

#[test]
fn llama_gguf_loads_and_caches_consistently() {
    check_family("llama");
}

#[test]
fn qwen2_gguf_loads_and_caches_consistently() {
    check_family("qwen2");
}

#[test]
fn qwen3_gguf_loads_and_caches_consistently() {
    check_family("qwen3");
}

#[test]
fn wrong_family_missing_file_and_overflow_are_errors() {
    let dir = TempDir::new("gguf-errors");
    let path = write_gguf(dir.path(), "qwen2", 1);
    let err = quantized::load("llama", &path, &Device::Cpu).failure("family mismatch");
    assert!(matches!(err, GenerateError::Gguf { .. }), "{err}");
    assert!(err.to_string().contains("qwen2"), "{err}");
    let err = quantized::load("gemma9", &path, &Device::Cpu).failure("unknown family");
    assert!(matches!(err, GenerateError::Family(_)), "{err}");
    let missing = dir.join("nope.gguf");
    let err = quantized::load("qwen2", &missing, &Device::Cpu).failure("missing file");
    assert!(err.to_string().contains("nope.gguf"), "{err}");
    let truncated = dir.join("cut.gguf");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    assert!(quantized::load("qwen2", &truncated, &Device::Cpu).is_err());

    let mut m = load("qwen2", &path);
    let long: Vec<u32> = (0..CONTEXT + 1).map(|i| i % VOCAB as u32).collect();
    let err = m.start(&long).failure("past the context");
    assert!(err.to_string().contains("context"), "{err}");
}
