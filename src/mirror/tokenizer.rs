//! Writes the XLM-R Unigram `tokenizer.json` for an E5S1 vocabulary, in the same layout as the
//! upstream multilingual-e5 tokenizer: Precompiled charsmap + collapse of space runs,
//! Metaspace ("▁", prepend always), `<s> $A </s>`.

use super::{charsmap, e5s1::E5s1, MirrorError};
use base64::Engine as _;
use serde_json::json;

pub fn tokenizer_json(m: &E5s1) -> Result<serde_json::Value, MirrorError> {
    let v = &m.vocab;
    let n = v.pieces.len();
    let mask = v
        .pieces
        .iter()
        .position(|(p, _)| p == "<mask>")
        .unwrap_or(n - 1);
    let special = |id: usize, content: &str, lstrip: bool| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": lstrip,
               "rstrip": false, "normalized": false, "special": true})
    };
    let name = |id: u32| v.pieces[id as usize].0.clone();
    let (bos, eos) = (name(v.bos), name(v.eos));
    let charsmap = charsmap::build(&m.normaliser_rules()?);
    let vocab: Vec<serde_json::Value> = v
        .pieces
        .iter()
        .map(|(p, s)| json!([p, *s as f64]))
        .collect();
    let seq = |id: &str| json!({"Sequence": {"id": id, "type_id": 0}});
    let tok = |t: &str| json!({"SpecialToken": {"id": t, "type_id": 0}});
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [
            special(v.bos as usize, &bos, false),
            special(v.pad as usize, &name(v.pad), false),
            special(v.eos as usize, &eos, false),
            special(v.unk as usize, &name(v.unk), false),
            special(mask, "<mask>", true),
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64::engine::general_purpose::STANDARD.encode(&charsmap)},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [tok(&bos), seq("A"), tok(&eos)],
            "pair": [tok(&bos), seq("A"), tok(&eos), tok(&eos), seq("B"), tok(&eos)],
            "special_tokens": {
                bos.clone(): {"id": bos, "ids": [v.bos], "tokens": [bos]},
                eos.clone(): {"id": eos, "ids": [v.eos], "tokens": [eos]},
            }
        },
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
        "model": {"type": "Unigram", "unk_id": v.unk, "vocab": vocab, "byte_fallback": false}
    }))
}

pub fn build_xlmr_unigram(m: &E5s1) -> Result<tokenizers::Tokenizer, MirrorError> {
    let value = tokenizer_json(m)?;
    let text = serde_json::to_string(&value).expect("json values serialise");
    text.parse::<tokenizers::Tokenizer>()
        .map_err(|e| MirrorError::Tokenizer(format!("generated tokenizer.json does not load: {e}")))
}
