//! Where a gemma-3-270m decode step's time goes: the output projection alone against a whole
//! step (candle's `QMatMul` for the projection, as bantin used before `q8gemv`; the step as
//! bantin runs it now). `DECODE_STEPS=400` lengthens the timed part for `perf record`.
//!
//!   cargo run --release --example decode_profile -- PATH/TO/model.gguf
use bantin::generate::gemma3::{Gemma3, Precision};
use bantin::generate::gguf_tokenizer;
use bantin::generate::LanguageModel;
use candle_core::quantized::QMatMul;
use candle_core::{Device, Module, Tensor};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let path = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: decode_profile PATH/TO/model.gguf"))?,
    );
    let device = Device::Cpu;
    let header = gguf_tokenizer::read_header(&path)?;
    let mut f = std::fs::File::open(&path)?;
    for (name, info) in header
        .tensor_infos
        .iter()
        .filter(|(n, _)| n.starts_with("blk.0.") || !n.starts_with("blk."))
    {
        println!("{name}: {:?} {:?}", info.ggml_dtype, info.shape);
    }
    let emb = header.tensor(&mut f, "token_embd.weight", &device)?;
    let out = QMatMul::from_qtensor(emb)?;
    let x = Tensor::randn(0f32, 1.0, (1, 640), &device)?;
    for _ in 0..3 {
        out.forward(&x)?;
    }
    let t = Instant::now();
    let n = 30;
    for _ in 0..n {
        out.forward(&x)?;
    }
    let per = t.elapsed().as_secs_f64() / n as f64;
    println!("output projection: {:.2} ms", per * 1e3);
    let header = gguf_tokenizer::read_header(&path)?;
    let mut model = Gemma3::load_from(header, &path, &device, Precision::Mixed)?;
    let ids: Vec<u32> = (0..300u32).map(|i| 1000 + i * 7).collect();
    model.start(&ids)?;
    for _ in 0..3 {
        model.step(1234)?;
    }
    let steps: usize = std::env::var("DECODE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(n);
    let t = Instant::now();
    for _ in 0..steps {
        model.step(2345)?;
    }
    let step = t.elapsed().as_secs_f64() / steps as f64;
    println!("whole step: {:.2} ms ({:.1} tok/s)", step * 1e3, 1.0 / step);
    Ok(())
}
