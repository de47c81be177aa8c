//! From resolved files to a ready `Generator`: the family picks the backend; the tokenizer is
//! the repo's `tokenizer.json` when there is one, else built from the GGUF metadata or from
//! sentencepiece's `spiece.model`.

use super::{GenerateError, Generator, LanguageModel};
use crate::hub::ResolvedGenerator;
use candle_core::Device;
use tokenizers::Tokenizer;

fn tokenizer(r: &ResolvedGenerator) -> Result<Tokenizer, GenerateError> {
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

pub fn load(r: &ResolvedGenerator, device: &Device) -> Result<Generator, GenerateError> {
    let first = r.weights.first().ok_or_else(|| GenerateError::Load {
        path: r.manifest.name.clone().into(),
        message: "no weights file".into(),
    })?;
    let model: Box<dyn LanguageModel> = match r.manifest.family.as_str() {
        "gemma3" => Box::new(super::gemma3::Gemma3::load(first, device)?),
        other => return Err(GenerateError::Family(other.to_string())),
    };
    let tokenizer = tokenizer(r)?;
    let template = r.manifest.template.clone();
    let eos: Vec<u32> = template
        .end_tokens()
        .iter()
        .filter_map(|t| tokenizer.token_to_id(t))
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
