//! From resolved files to a ready `Generator`: the family picks the backend; the tokenizer is
//! the repo's `tokenizer.json` when there is one, else built from the GGUF metadata or from
//! sentencepiece's `spiece.model`.

use super::{GenerateError, Generator, LanguageModel};
use crate::hub::ResolvedGenerator;
use candle_core::Device;
use tokenizers::Tokenizer;

fn tokenizer(r: &ResolvedGenerator) -> Result<Tokenizer, GenerateError> {
    if let Some(spm) = r.spm.as_ref().filter(|_| r.tokenizer_json.is_none()) {
        return super::spm::tokenizer_from_spm(spm);
    }
    if let Some(path) = &r.tokenizer_json {
        return Tokenizer::from_file(path).map_err(|e| GenerateError::Load {
            path: path.clone(),
            message: format!("cannot read tokenizer: {e}"),
        });
    }
    match r.weights.first() {
        Some(w) if r.is_gguf() => super::gguf_tokenizer::from_gguf_file(w),
        _ => Err(GenerateError::Tokenizer(format!(
            "{}: no tokenizer.json, spiece.model or GGUF metadata to build one from",
            r.manifest.name
        ))),
    }
}

/// How to hold and run a generator's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// f32 matrices for the prompt, the file's quantized ones for one-token steps (Gemma 3).
    #[default]
    Mixed,
    /// Quantized products only: least memory.
    Fast,
    /// Every matrix in f32: the file's weights exactly, as PyTorch runs them; most memory.
    Exact,
}

pub fn load(r: &ResolvedGenerator, device: &Device) -> Result<Generator, GenerateError> {
    load_with(r, device, Precision::default())
}

pub fn load_with(
    r: &ResolvedGenerator,
    device: &Device,
    precision: Precision,
) -> Result<Generator, GenerateError> {
    let first = r.weights.first().ok_or_else(|| GenerateError::Load {
        path: r.manifest.name.clone().into(),
        message: "no weights file".into(),
    })?;
    // The GGUF header takes a while to read: read once, for the model and the tokenizer.
    let mut header_tokenizer = None;
    let model: Box<dyn LanguageModel> = match r.manifest.family.as_str() {
        "gemma3" => {
            use super::gemma3::Precision as P;
            let content = super::gguf_tokenizer::read_header(first)?;
            let p = match precision {
                Precision::Mixed => P::Mixed,
                Precision::Fast => P::Fast,
                Precision::Exact => P::Exact,
            };
            if r.tokenizer_json.is_none() {
                header_tokenizer = Some(super::gguf_tokenizer::from_gguf(&content)?);
            }
            Box::new(super::gemma3::Gemma3::load_from(content, first, device, p)?)
        }
        f @ ("qwen2" | "qwen3" | "llama") => Box::new(super::quantized::load(f, first, device)?),
        "t5" | "mt5" => {
            let config = r.config.as_ref().ok_or_else(|| GenerateError::Load {
                path: first.clone(),
                message: "a T5 model needs its config.json".into(),
            })?;
            // T5 overflows in f16: always f32 (or bf16 on GPUs that have it).
            Box::new(
                super::t5::load(config, &r.weights, device, candle_core::DType::F32)?
                    .with_input_limit(r.manifest.context),
            )
        }
        other => return Err(GenerateError::Family(other.to_string())),
    };
    let tokenizer = match header_tokenizer {
        Some(t) => t,
        None => tokenizer(r)?,
    };
    let template = r.manifest.template.clone();
    // Only special tokens end a text: in Gemma's vocabulary "</s>" is an ordinary piece.
    let special: std::collections::HashSet<u32> = tokenizer
        .get_added_tokens_decoder()
        .iter()
        .filter(|(_, t)| t.special)
        .map(|(id, _)| *id)
        .collect();
    let eos: Vec<u32> = template
        .end_tokens()
        .iter()
        .filter_map(|t| tokenizer.token_to_id(t))
        .filter(|id| special.contains(id))
        .collect();
    if eos.is_empty() {
        return Err(GenerateError::Tokenizer(format!(
            "{}: none of the end tokens {:?} is in the vocabulary",
            r.manifest.name,
            template.end_tokens()
        )));
    }
    let mut provenance = r.provenance.clone();
    provenance.device = crate::device::describe(device);
    Ok(Generator {
        model,
        tokenizer,
        template,
        eos,
        provenance,
    })
}
