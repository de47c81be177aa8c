//! T5-family sequence-to-sequence models (ViT5, mT5) on candle's `t5` module. The prompt is the
//! encoder input; the decoder starts from `decoder_start_token_id` and keeps a KV cache, so each
//! `step` costs one decoder token.
//!
//! The network is candle 0.11's `t5` vendored in `t5_model` with two fixes (causal relative
//! positions in decoder self-attention, tied-head scaling), because upstream's logits differ
//! from transformers' from the ninth generated token on, and are `d_model` times too large for
//! tied heads (ViT5).

use super::t5_model as t5;
use super::{GenerateError, LanguageModel};
use candle_core::{DType, Device, Tensor};
use std::path::{Path, PathBuf};

/// Input limit when config.json has no `n_positions`: what T5 models are usually trained with.
/// T5 has relative positions, so longer inputs run but drift away from what the model saw.
pub const DEFAULT_INPUT_TOKENS: usize = 512;

pub struct T5 {
    model: t5::T5ForConditionalGeneration,
    device: Device,
    decoder_start: u32,
    input_limit: usize,
    /// Encoder output of the current prompt (`start`), reused by every decoder step.
    encoded: Option<Tensor>,
}

/// Reads config.json and the weights (`model.safetensors`, sharded safetensors, or one
/// `pytorch_model.bin`).
pub fn load(
    config: &Path,
    weights: &[PathBuf],
    device: &Device,
    dtype: DType,
) -> Result<T5, GenerateError> {
    let load_err = |path: &Path, message: String| GenerateError::Load {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(config)
        .map_err(|e| load_err(config, format!("cannot read the T5 config: {e}")))?;
    let cfg: t5::Config = serde_json::from_str(&text)
        .map_err(|e| load_err(config, format!("not a T5 config: {e}")))?;
    let raw: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| load_err(config, format!("not JSON: {e}")))?;
    if !cfg.is_encoder_decoder {
        // candle asserts on this; a clean error is kinder.
        return Err(load_err(
            config,
            "is_encoder_decoder is false: not a sequence-to-sequence T5".into(),
        ));
    }
    let input_limit = raw["n_positions"]
        .as_u64()
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_INPUT_TOKENS);
    let decoder_start = cfg.decoder_start_token_id.unwrap_or(cfg.pad_token_id) as u32;
    let vb = var_builder(weights, dtype, device)?;
    let model =
        t5::T5ForConditionalGeneration::load(vb, &cfg).map_err(|e| GenerateError::Load {
            path: weights.first().cloned().unwrap_or_default(),
            message: format!("T5 weights do not match {}: {e}", config.display()),
        })?;
    Ok(T5 {
        model,
        device: device.clone(),
        decoder_start,
        input_limit,
        encoded: None,
    })
}

fn var_builder(
    weights: &[PathBuf],
    dtype: DType,
    device: &Device,
) -> Result<candle_nn::VarBuilder<'static>, GenerateError> {
    let first = weights.first().ok_or_else(|| GenerateError::Load {
        path: PathBuf::new(),
        message: "no T5 weight file given".into(),
    })?;
    let is_pth = |p: &Path| {
        p.extension()
            .is_some_and(|e| e == "bin" || e == "pt" || e == "pth")
    };
    if is_pth(first) {
        if weights.len() > 1 {
            return Err(GenerateError::Load {
                path: first.clone(),
                message: "sharded pytorch_model.bin files are not supported; use safetensors"
                    .into(),
            });
        }
        // candle's pickle reader loads tensors only; it never executes code from the file.
        return candle_nn::VarBuilder::from_pth(first, dtype, device).map_err(|e| {
            GenerateError::Load {
                path: first.clone(),
                message: format!("cannot read PyTorch weights: {e}"),
            }
        });
    }
    // Reading (not mapping) keeps a truncated file a clean error instead of a SIGBUS.
    let mut tensors = std::collections::HashMap::new();
    for p in weights {
        let loaded =
            candle_core::safetensors::load(p, device).map_err(|e| GenerateError::Load {
                path: p.clone(),
                message: format!("cannot read safetensors: {e}"),
            })?;
        tensors.extend(loaded);
    }
    Ok(candle_nn::VarBuilder::from_tensors(tensors, dtype, device))
}

impl T5 {
    /// Overrides the input limit (e.g. 1024 from the manifest for ViT5, trained on 1024 tokens).
    pub fn with_input_limit(mut self, tokens: usize) -> T5 {
        self.input_limit = tokens.max(1);
        self
    }

    pub fn decoder_start_token_id(&self) -> u32 {
        self.decoder_start
    }

    /// Logits after the whole `decoder` sequence (which must begin with the start token),
    /// computed in one pass without the cache: the reference `step` is checked against.
    pub fn decode_full(
        &mut self,
        prompt: &[u32],
        decoder: &[u32],
    ) -> Result<Vec<f32>, GenerateError> {
        self.encode(prompt)?;
        self.decode(decoder)
    }

    fn encode(&mut self, prompt: &[u32]) -> Result<(), GenerateError> {
        if prompt.is_empty() {
            return Err(GenerateError::Tokenizer(
                "empty prompt for the T5 encoder".into(),
            ));
        }
        self.model.clear_kv_cache();
        let ids = Tensor::new(prompt, &self.device)?.unsqueeze(0)?;
        self.encoded = Some(self.model.encode(&ids)?);
        Ok(())
    }

    fn decode(&mut self, tokens: &[u32]) -> Result<Vec<f32>, GenerateError> {
        let encoded = self.encoded.as_ref().ok_or_else(|| {
            GenerateError::Tokenizer("T5 step before start: no encoded prompt".into())
        })?;
        let ids = Tensor::new(tokens, &self.device)?.unsqueeze(0)?;
        let logits = self.model.decode(&ids, encoded)?;
        Ok(logits.flatten_all()?.to_dtype(DType::F32)?.to_vec1()?)
    }
}

impl LanguageModel for T5 {
    fn start(&mut self, prompt: &[u32]) -> Result<Vec<f32>, GenerateError> {
        self.encode(prompt)?;
        self.decode(&[self.decoder_start])
    }

    fn step(&mut self, token: u32) -> Result<Vec<f32>, GenerateError> {
        self.decode(&[token])
    }

    fn context_length(&self) -> usize {
        self.input_limit
    }

    fn shares_context(&self) -> bool {
        false
    }
}
