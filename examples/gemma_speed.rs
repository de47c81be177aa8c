//! Load time, prompt and generation speed of a Gemma 3 GGUF on this machine.
//!
//! cargo run --release --example gemma_speed -- PATH/TO/gemma-3-270m-q4_k_m.gguf [NEW_TOKENS] [fast|exact|mixed] [PROMPT_FILE]
//!
//! The prompt is PROMPT_FILE's text or else a Vietnamese news text of about 400 tokens; decoding
//! is greedy. scripts/gen-vs-llamacpp.sh runs it beside llama.cpp on the same prompt file. Peak RSS is
//! read from /proc/self/status (Linux).

use bantin::generate::gemma3::{Gemma3, Precision};
use bantin::generate::gguf_tokenizer;
use bantin::generate::LanguageModel;
use std::time::Instant;

const PARAGRAPH: &str = "Chính phủ vừa ban hành nghị định mới về quản lý đầu tư công, trong đó quy định rõ trách nhiệm của các bộ, ngành và địa phương trong việc giải ngân vốn. Theo nghị định, các dự án chậm tiến độ quá sáu tháng sẽ bị xem xét điều chuyển vốn sang các dự án có khả năng giải ngân tốt hơn. Bộ Tài chính được giao chủ trì, phối hợp với Bộ Kế hoạch và Đầu tư hướng dẫn thực hiện. ";

fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path =
        std::path::PathBuf::from(args.next().ok_or_else(|| {
            anyhow::anyhow!("usage: gemma_speed PATH/TO/model.gguf [NEW_TOKENS]")
        })?);
    let new_tokens: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let precision = match args.next().as_deref() {
        Some("exact") => Precision::Exact,
        Some("mixed") => Precision::Mixed,
        _ => Precision::Fast,
    };
    let prompt_file = args.next().map(std::path::PathBuf::from);
    let device = candle_core::Device::Cpu;

    let t = Instant::now();
    let header = gguf_tokenizer::read_header(&path)?;
    let header_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tok = gguf_tokenizer::from_gguf(&header)?;
    let tok_secs = t.elapsed().as_secs_f64();
    let known = tok
        .encode("Xin chào, tôi là một mô hình ngôn ngữ.", false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("known sentence ids: {:?}", known.get_ids());
    let t = Instant::now();
    let mut model = Gemma3::load_from(header, &path, &device, precision)?;
    let load_secs = t.elapsed().as_secs_f64();

    // The prompt file's text, or the paragraph repeated to about 400 tokens.
    let mut text = match &prompt_file {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?,
        None => String::new(),
    };
    let mut ids = if text.is_empty() {
        Vec::new()
    } else {
        tok.encode(text.as_str(), true)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .get_ids()
            .to_vec()
    };
    while ids.len() < 400 && prompt_file.is_none() {
        text.push_str(PARAGRAPH);
        ids = tok
            .encode(text.as_str(), true)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .get_ids()
            .to_vec();
    }
    let t = Instant::now();
    let mut logits = model.start(&ids)?;
    let prompt_secs = t.elapsed().as_secs_f64();
    let argmax = |l: &[f32]| {
        l.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i as u32)
            .unwrap_or(0)
    };
    let t = Instant::now();
    let mut out = Vec::new();
    for _ in 0..new_tokens {
        let next = argmax(&logits);
        out.push(next);
        logits = model.step(next)?;
    }
    let gen_secs = t.elapsed().as_secs_f64();
    let text_out = tok.decode(&out, true).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("precision:       {precision:?}");
    println!("GGUF header:     {header_secs:.2} s");
    println!("tokenizer build: {tok_secs:.2} s");
    println!("model load:      {load_secs:.2} s");
    println!(
        "prompt:          {} tokens in {prompt_secs:.2} s = {:.1} tok/s",
        ids.len(),
        ids.len() as f64 / prompt_secs
    );
    println!(
        "generation:      {} tokens in {gen_secs:.2} s = {:.1} tok/s",
        out.len(),
        out.len() as f64 / gen_secs
    );
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS:        {mb:.0} MB");
    }
    println!("output: {text_out:?}");
    println!("ids: {:?}", &out[..out.len().min(24)]);
    Ok(())
}
