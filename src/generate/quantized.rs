//! candle's quantized (GGUF) decoders: Llama, Qwen2 and Qwen3. All three keep a per-layer KV
//! cache and expose `clear_kv_cache`; `start` clears it explicitly rather than relying on
//! `index_pos == 0` resetting it (Llama and Qwen2 do that, Qwen3 does not).

use super::{GenerateError, LanguageModel};
use candle_core::quantized::gguf_file;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2, quantized_qwen3};
use std::path::{Path, PathBuf};

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
    Qwen3(quantized_qwen3::ModelWeights),
}

pub struct QuantizedDecoder {
    weights: Weights,
    device: Device,
    /// Tokens already in the KV cache (the position of the next one).
    pos: usize,
    context: usize,
    path: PathBuf,
}

/// `family`: "llama" | "qwen2" | "qwen3" (the manifest's family, checked against the GGUF's
/// `general.architecture`).
pub fn load(family: &str, path: &Path, device: &Device) -> Result<QuantizedDecoder, GenerateError> {
    let gguf_err = |message: String| GenerateError::Gguf {
        path: path.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(|e| gguf_err(format!("cannot open: {e}")))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| gguf_err(format!("not a readable GGUF file: {e}")))?;
    let arch = content
        .metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_else(|| family.to_string());
    let compatible = match family {
        // Llama-architecture GGUFs include Mistral and other Llama-shaped models.
        "llama" => arch == "llama" || arch == "mistral",
        "qwen2" | "qwen3" => arch == family,
        other => return Err(GenerateError::Family(other.to_string())),
    };
    if !compatible {
        return Err(gguf_err(format!(
            "general.architecture is {arch:?}, the manifest says family {family:?}"
        )));
    }
    let context = content
        .metadata
        .get(&format!("{arch}.context_length"))
        .and_then(|v| v.to_u32().ok())
        .map(|v| v as usize)
        .ok_or_else(|| gguf_err(format!("no {arch}.context_length in the metadata")))?;
    let weights_err =
        |e: candle_core::Error| gguf_err(format!("cannot load {family} weights: {e}"));
    let weights = match family {
        "llama" => Weights::Llama(
            quantized_llama::ModelWeights::from_gguf(content, &mut file, device)
                .map_err(weights_err)?,
        ),
        "qwen2" => Weights::Qwen2(
            quantized_qwen2::ModelWeights::from_gguf(content, &mut file, device)
                .map_err(weights_err)?,
        ),
        _ => Weights::Qwen3(
            quantized_qwen3::ModelWeights::from_gguf(content, &mut file, device)
                .map_err(weights_err)?,
        ),
    };
    Ok(QuantizedDecoder {
        weights,
        device: device.clone(),
        pos: 0,
        context,
        path: path.to_path_buf(),
    })
}

impl QuantizedDecoder {
    fn forward(&mut self, tokens: &[u32]) -> Result<Vec<f32>, GenerateError> {
        if self.pos + tokens.len() > self.context {
            return Err(GenerateError::Gguf {
                path: self.path.clone(),
                message: format!(
                    "position {} is past the model's context of {} tokens",
                    self.pos + tokens.len(),
                    self.context
                ),
            });
        }
        let x = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = match &mut self.weights {
            Weights::Llama(m) => m.forward(&x, self.pos)?,
            Weights::Qwen2(m) => m.forward(&x, self.pos)?,
            Weights::Qwen3(m) => m.forward(&x, self.pos)?,
        };
        self.pos += tokens.len();
        Ok(logits.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?)
    }

    fn clear(&mut self) {
        match &mut self.weights {
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Qwen2(m) => m.clear_kv_cache(),
            Weights::Qwen3(m) => m.clear_kv_cache(),
        }
        self.pos = 0;
    }
}

impl LanguageModel for QuantizedDecoder {
    fn start(&mut self, prompt: &[u32]) -> Result<Vec<f32>, GenerateError> {
        if prompt.is_empty() {
            return Err(GenerateError::Tokenizer("empty prompt".into()));
        }
        self.clear();
        self.forward(prompt)
    }

    fn step(&mut self, token: u32) -> Result<Vec<f32>, GenerateError> {
        self.forward(&[token])
    }

    fn context_length(&self) -> usize {
        self.context
    }
}
