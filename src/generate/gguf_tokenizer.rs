//! A `tokenizers::Tokenizer` built from a GGUF file's `tokenizer.ggml.*` metadata, for GGUF
//! repos that ship no `tokenizer.json`.
//!
//! - `llama` (Gemma, Llama 2, Mistral): SentencePiece **BPE** with byte fallback. GGUF keeps only
//!   pieces and scores, so the merges are derived from them: every split of a piece whose two
//!   halves are both pieces is a merge, ranked by the merged piece's score. A Unigram model over
//!   the same scores round-trips text too, yet picks different pieces almost every time.
//! - `gpt2` (Qwen2, Llama 3): byte-level BPE with `tokenizer.ggml.merges`, split first by the
//!   regex `tokenizer.ggml.pre` names.

use super::GenerateError;
use candle_core::quantized::gguf_file::{Content, Value};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// GGUF token types (llama.cpp's `llama_token_type`).
const TYPE_NORMAL: i32 = 1;
const TYPE_UNKNOWN: i32 = 2;
const TYPE_CONTROL: i32 = 3;
const TYPE_USER_DEFINED: i32 = 4;

/// The GGUF header (metadata and tensor index), not the weights. Parsing it takes about half
/// a second for a 262k vocabulary: read it once and pass it to `from_gguf` and
/// `Gemma3::load_from`.
pub fn read_header(path: &Path) -> Result<Content, GenerateError> {
    let gguf_err = |message: String| GenerateError::Gguf {
        path: path.to_path_buf(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(|e| gguf_err(e.to_string()))?;
    Content::read(&mut file).map_err(|e| gguf_err(e.to_string()))
}

pub fn from_gguf_file(path: &Path) -> Result<Tokenizer, GenerateError> {
    let content = read_header(path)?;
    from_gguf(&content).map_err(|e| match e {
        GenerateError::Tokenizer(m) => GenerateError::Gguf {
            path: path.to_path_buf(),
            message: format!("tokenizer: {m}"),
        },
        other => other,
    })
}

pub fn from_gguf(content: &Content) -> Result<Tokenizer, GenerateError> {
    let md = Meta(&content.metadata);
    let model = md.string("tokenizer.ggml.model")?;
    match model.as_str() {
        "llama" => sentencepiece_bpe(&md),
        "gpt2" => byte_level_bpe(&md),
        other => Err(GenerateError::Tokenizer(format!(
            "tokenizer.ggml.model = {other:?} is not supported (supported: llama, gpt2)"
        ))),
    }
}

struct Meta<'a>(&'a HashMap<String, Value>);

impl Meta<'_> {
    fn get(&self, key: &str) -> Result<&Value, GenerateError> {
        self.0
            .get(key)
            .ok_or_else(|| GenerateError::Tokenizer(format!("metadata key {key} is missing")))
    }
    fn string(&self, key: &str) -> Result<String, GenerateError> {
        self.get(key)?
            .to_string()
            .cloned()
            .map_err(|e| GenerateError::Tokenizer(format!("{key}: {e}")))
    }
    fn array(&self, key: &str) -> Result<&Vec<Value>, GenerateError> {
        self.get(key)?
            .to_vec()
            .map_err(|e| GenerateError::Tokenizer(format!("{key}: {e}")))
    }
    fn strings(&self, key: &str) -> Result<Vec<String>, GenerateError> {
        self.array(key)?
            .iter()
            .map(|v| v.to_string().cloned())
            .collect::<Result<_, _>>()
            .map_err(|e| GenerateError::Tokenizer(format!("{key}: {e}")))
    }
    fn opt_u32(&self, key: &str) -> Option<u32> {
        self.0.get(key).and_then(|v| match v {
            Value::U32(x) => Some(*x),
            Value::I32(x) => u32::try_from(*x).ok(),
            Value::U64(x) => u32::try_from(*x).ok(),
            Value::I64(x) => u32::try_from(*x).ok(),
            _ => None,
        })
    }
    fn opt_bool(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(|v| v.to_bool().ok())
    }
    /// Token types; absent means every token is normal.
    fn token_types(&self, n: usize) -> Result<Vec<i32>, GenerateError> {
        let Some(v) = self.0.get("tokenizer.ggml.token_type") else {
            return Ok(vec![TYPE_NORMAL; n]);
        };
        let types: Vec<i32> = v
            .to_vec()
            .map_err(|e| GenerateError::Tokenizer(format!("tokenizer.ggml.token_type: {e}")))?
            .iter()
            .map(|t| match t {
                Value::I32(x) => Ok(*x),
                Value::U32(x) => Ok(*x as i32),
                Value::I8(x) => Ok(*x as i32),
                Value::U8(x) => Ok(*x as i32),
                other => Err(GenerateError::Tokenizer(format!(
                    "tokenizer.ggml.token_type holds a {:?}",
                    other.value_type()
                ))),
            })
            .collect::<Result<_, _>>()?;
        if types.len() != n {
            return Err(GenerateError::Tokenizer(format!(
                "tokenizer.ggml.token_type has {} entries for {n} tokens",
                types.len()
            )));
        }
        Ok(types)
    }
}

fn tok_err(e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Tokenizer(e.to_string())
}

/// Token string → id; a string listed twice keeps its first id, as llama.cpp does.
fn vocab_map(tokens: &[String]) -> Vocab {
    let mut vocab: HashMap<&str, u32> = HashMap::with_capacity(tokens.len());
    for (id, t) in tokens.iter().enumerate() {
        vocab.entry(t.as_str()).or_insert(id as u32);
    }
    vocab.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Control and user-defined tokens are matched whole before the model runs. Control tokens
/// (`<bos>`, `<start_of_turn>`) are special: decoding with `skip_special_tokens` drops them.
/// User-defined ones in Gemma are text (`\n`, `\n\n`, runs of tabs, HTML tags): they stay in
/// decoded text, or newlines would vanish from the output and blank-line stop strings never fire.
fn add_listed_tokens(tok: &mut Tokenizer, tokens: &[String], types: &[i32]) {
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types)
        .filter(|(_, &t)| t == TYPE_CONTROL || t == TYPE_UNKNOWN)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    let user: Vec<AddedToken> = tokens
        .iter()
        .zip(types)
        .filter(|(_, &t)| t == TYPE_USER_DEFINED)
        .map(|(s, _)| AddedToken::from(s.clone(), false).normalized(false))
        .collect();
    tok.add_special_tokens(&special);
    tok.add_tokens(&user);
}

/// `<bos> $A` (and `$A <eos>` when the file asks for it), like llama.cpp's tokenizer.
fn post_processor(
    md: &Meta,
    tokens: &[String],
    default_bos: bool,
) -> Result<Option<TemplateProcessing>, GenerateError> {
    let add_bos = md
        .opt_bool("tokenizer.ggml.add_bos_token")
        .unwrap_or(default_bos);
    let add_eos = md.opt_bool("tokenizer.ggml.add_eos_token").unwrap_or(false);
    let name = |key: &str| -> Result<Option<(String, u32)>, GenerateError> {
        match md.opt_u32(key) {
            None => Ok(None),
            Some(id) => tokens
                .get(id as usize)
                .map(|t| Some((t.clone(), id)))
                .ok_or_else(|| {
                    tok_err(format!(
                        "{key} = {id} is outside the vocabulary of {}",
                        tokens.len()
                    ))
                }),
        }
    };
    let bos = if add_bos {
        name("tokenizer.ggml.bos_token_id")?
    } else {
        None
    };
    let eos = if add_eos {
        name("tokenizer.ggml.eos_token_id")?
    } else {
        None
    };
    if bos.is_none() && eos.is_none() {
        return Ok(None);
    }
    let mut single = Vec::new();
    let mut pair = Vec::new();
    let mut specials = Vec::new();
    if let Some((b, id)) = &bos {
        single.push(b.clone());
        specials.push((b.clone(), *id));
    }
    single.push("$A".to_string());
    if let Some((e, id)) = &eos {
        single.push(e.clone());
        specials.push((e.clone(), *id));
    }
    pair.extend(single.iter().cloned());
    for s in &single {
        pair.push(if s == "$A" {
            "$B:1".to_string()
        } else {
            format!("{s}:1")
        });
    }
    specials.dedup();
    let tp = TemplateProcessing::builder()
        .try_single(single.join(" "))
        .map_err(tok_err)?
        .try_pair(pair.join(" "))
        .map_err(tok_err)?
        .special_tokens(specials)
        .build()
        .map_err(tok_err)?;
    Ok(Some(tp))
}

fn sentencepiece_bpe(md: &Meta) -> Result<Tokenizer, GenerateError> {
    let tokens = md.strings("tokenizer.ggml.tokens")?;
    let n = tokens.len();
    let scores: Vec<f32> = md
        .array("tokenizer.ggml.scores")?
        .iter()
        .map(|v| v.to_f32())
        .collect::<Result<_, _>>()
        .map_err(|e| tok_err(format!("tokenizer.ggml.scores: {e}")))?;
    if scores.len() != n {
        return Err(tok_err(format!(
            "tokenizer.ggml.scores has {} entries for {n} tokens",
            scores.len()
        )));
    }
    let types = md.token_types(n)?;
    let vocab = vocab_map(&tokens);

    // Only normal pieces take part in merges: control and user-defined tokens are matched
    // whole beforehand, byte tokens only appear through byte fallback.
    let normal: HashMap<&str, u32> = tokens
        .iter()
        .enumerate()
        .filter(|(id, _)| types[*id] == TYPE_NORMAL)
        .map(|(id, t)| (t.as_str(), id as u32))
        .collect();
    let mut ranked: Vec<(f32, u32, u32, u32)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if types[id] != TYPE_NORMAL || piece.chars().nth(1).is_none() {
            continue;
        }
        for (cut, _) in piece.char_indices().skip(1) {
            let (l, r) = piece.split_at(cut);
            if let (Some(&li), Some(&ri)) = (normal.get(l), normal.get(r)) {
                ranked.push((scores[id], id as u32, li, ri));
            }
        }
    }
    // Higher score merges first; ties by the merged piece's id, then the halves' ids (the order
    // of the `tokenizers` SentencePiece converter).
    ranked.sort_unstable_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let merges: Vec<(String, String)> = ranked
        .into_iter()
        .map(|(_, _, l, r)| (tokens[l as usize].clone(), tokens[r as usize].clone()))
        .collect();

    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    let unk = md
        .opt_u32("tokenizer.ggml.unknown_token_id")
        .and_then(|id| tokens.get(id as usize));
    if let Some(unk) = unk {
        builder = builder.unk_token(unk.clone());
    }
    let bpe = builder.build().map_err(tok_err)?;
    let mut tok = Tokenizer::new(bpe);
    let add_prefix = md
        .opt_bool("tokenizer.ggml.add_space_prefix")
        .unwrap_or(false);
    let replace = Replace::new(" ", "▁").map_err(tok_err)?;
    let mut decoders: Vec<DecoderWrapper> = vec![
        Replace::new("▁", " ").map_err(tok_err)?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if add_prefix {
        tok.with_normalizer(Some(NormalizerSequence::new(vec![
            Prepend::new("▁".to_string()).into(),
            replace.into(),
        ])));
        decoders.push(Strip::new(' ', 1, 0).into());
    } else {
        tok.with_normalizer(Some(replace));
    }
    tok.with_decoder(Some(DecoderSequence::new(decoders)));
    tok.with_post_processor(post_processor(md, &tokens, true)?);
    add_listed_tokens(&mut tok, &tokens, &types);
    Ok(tok)
}

/// The split regexes of llama.cpp's `llama-vocab.cpp` for the `tokenizer.ggml.pre` names we
/// support; None: GPT-2's own (what `ByteLevel` with `use_regex` does).
fn pre_regex(pre: &str) -> Result<Option<&'static str>, GenerateError> {
    const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    match pre {
        "default" | "gpt-2" | "gpt2" => Ok(None),
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" | "falcon3" | "pixtral" => {
            Ok(Some(LLAMA3))
        }
        "qwen2" | "deepseek-r1-qwen" | "qwen35" => Ok(Some(QWEN2)),
        other => Err(tok_err(format!(
            "tokenizer.ggml.pre = {other:?} is not supported (supported: default, gpt-2, llama-bpe, qwen2)"
        ))),
    }
}

fn byte_level_bpe(md: &Meta) -> Result<Tokenizer, GenerateError> {
    let tokens = md.strings("tokenizer.ggml.tokens")?;
    let n = tokens.len();
    let types = md.token_types(n)?;
    let merges: Vec<(String, String)> = md
        .strings("tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| match m.split_once(' ') {
            Some((a, b)) => Ok((a.to_string(), b.to_string())),
            None => Err(tok_err(format!(
                "tokenizer.ggml.merges: {m:?} is not two tokens separated by a space"
            ))),
        })
        .collect::<Result<_, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab_map(&tokens), merges)
        .build()
        .map_err(tok_err)?;
    let mut tok = Tokenizer::new(bpe);
    let pre =
        md.0.get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_else(|| "default".to_string());
    let pre_tok: PreTokenizerWrapper = match pre_regex(&pre)? {
        None => ByteLevel::new(false, true, true).into(),
        Some(re) => PreSequence::new(vec![
            Split::new(
                SplitPattern::Regex(re.to_string()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(tok_err)?
            .into(),
            ByteLevel::new(false, true, false).into(),
        ])
        .into(),
    };
    tok.with_pre_tokenizer(Some(pre_tok));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
    tok.with_post_processor(post_processor(md, &tokens, false)?);
    add_listed_tokens(&mut tok, &tokens, &types);
    Ok(tok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::Value as V;

    fn strings(v: &[&str]) -> V {
        V::Array(v.iter().map(|s| V::String(s.to_string())).collect())
    }

    fn content(md: Vec<(&str, V)>) -> Content {
        let mut buf = std::io::Cursor::new(Vec::new());
        let refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (*k, v)).collect();
        candle_core::quantized::gguf_file::write(&mut buf, &refs, &[]).expect("write gguf");
        buf.set_position(0);
        Content::read(&mut buf).expect("read gguf")
    }

    /// A SentencePiece-style vocabulary: control tokens, a user-defined newline, bytes, pieces.
    fn llama_meta(add_bos: Option<bool>) -> Vec<(&'static str, V)> {
        let mut tokens: Vec<String> = vec!["<pad>", "<eos>", "<bos>", "<unk>", "\n"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut types = vec![3, 3, 3, 2, 4];
        let mut scores = vec![0.0f32; 5];
        for b in 0..=255u32 {
            tokens.push(format!("<0x{b:02X}>"));
            types.push(6);
            scores.push(0.0);
        }
        // Pieces with descending scores: "▁a" outranks "ab" even though both are possible
        // in "▁ab", so "▁ab" must become ["▁a", "b"] unless "▁ab" itself exists.
        let pieces = [
            ("▁", -1.0),
            ("a", -2.0),
            ("b", -3.0),
            ("c", -4.0),
            ("▁a", -5.0),
            ("ab", -6.0),
            ("bc", -7.0),
            ("▁abc", -8.0),
            ("ô", -9.0),
        ];
        for (p, s) in pieces {
            tokens.push(p.to_string());
            types.push(1);
            scores.push(s);
        }
        let mut md = vec![
            ("tokenizer.ggml.model", V::String("llama".into())),
            (
                "tokenizer.ggml.tokens",
                strings(&tokens.iter().map(String::as_str).collect::<Vec<_>>()),
            ),
            (
                "tokenizer.ggml.scores",
                V::Array(scores.into_iter().map(V::F32).collect()),
            ),
            (
                "tokenizer.ggml.token_type",
                V::Array(types.into_iter().map(V::I32).collect()),
            ),
            ("tokenizer.ggml.bos_token_id", V::U32(2)),
            ("tokenizer.ggml.eos_token_id", V::U32(1)),
            ("tokenizer.ggml.unknown_token_id", V::U32(3)),
        ];
        if let Some(b) = add_bos {
            md.push(("tokenizer.ggml.add_bos_token", V::Bool(b)));
        }
        md
    }

    fn ids(tok: &Tokenizer, text: &str, special: bool) -> Vec<u32> {
        tok.encode(text, special)
            .expect("encode")
            .get_ids()
            .to_vec()
    }

    const B0: u32 = 5; // id of <0x00>
    const P: u32 = B0 + 256; // id of the first piece, "▁"

    #[test]
    fn sentencepiece_bpe_merges_by_score_with_byte_fallback() {
        let tok = from_gguf(&content(llama_meta(None))).expect("tokenizer");
        // Without a space before it, "a" can only merge into "ab".
        assert_eq!(ids(&tok, "ab", false), vec![P + 5]);
        // " ab": "▁a" (score -5) merges before "ab" (-6); "▁a"+"b" is not a piece.
        assert_eq!(ids(&tok, " ab", false), vec![P + 4, P + 2]);
        // " abc": ▁a, then bc (-7), then ▁a+bc = "▁abc" (-8) exists.
        assert_eq!(ids(&tok, " abc", false), vec![P + 7]);
        // "ô" is a piece; "ơ" is not: UTF-8 bytes C6 A1 through byte fallback.
        assert_eq!(ids(&tok, "ô", false), vec![P + 8]);
        assert_eq!(ids(&tok, "ơ", false), vec![B0 + 0xC6, B0 + 0xA1]);
        // The user-defined newline is matched whole and survives decoding.
        assert_eq!(ids(&tok, "a\nb", false), vec![P + 1, 4, P + 2]);
        let back = tok
            .decode(&ids(&tok, "ab\n abc ơ", false), true)
            .expect("decode");
        assert_eq!(back, "ab\n abc ơ");
        // Control tokens are special: parsed in text, dropped when decoding with skip.
        assert_eq!(ids(&tok, "<eos>a", false), vec![1, P + 1]);
        assert_eq!(tok.decode(&[2, P + 1, 1], true).expect("decode"), "a");
    }

    #[test]
    fn bos_is_added_by_default_and_only_with_special_tokens() {
        let tok = from_gguf(&content(llama_meta(None))).expect("tokenizer");
        assert_eq!(ids(&tok, "ab", true), vec![2, P + 5]);
        assert_eq!(ids(&tok, "ab", false), vec![P + 5]);
        let tok = from_gguf(&content(llama_meta(Some(false)))).expect("tokenizer");
        assert_eq!(ids(&tok, "ab", true), vec![P + 5]);
    }

    #[test]
    fn byte_level_bpe_from_merges() {
        // GPT-2 byte-level alphabet: a space is "Ġ".
        let tokens = ["<|endoftext|>", "a", "b", "Ġ", "ab", "Ġab", "c"];
        let md = vec![
            ("tokenizer.ggml.model", V::String("gpt2".into())),
            ("tokenizer.ggml.pre", V::String("qwen2".into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            (
                "tokenizer.ggml.token_type",
                V::Array([3, 1, 1, 1, 1, 1, 1].into_iter().map(V::I32).collect()),
            ),
            ("tokenizer.ggml.merges", strings(&["a b", "Ġ ab"])),
            ("tokenizer.ggml.eos_token_id", V::U32(0)),
        ];
        let tok = from_gguf(&content(md)).expect("tokenizer");
        assert_eq!(ids(&tok, "ab ab c", true), vec![4, 5, 3, 6]);
        assert_eq!(ids(&tok, "ab<|endoftext|>", true), vec![4, 0]);
        assert_eq!(
            tok.decode(&[4, 5, 3, 6, 0], true).expect("decode"),
            "ab ab c"
        );
    }

    #[test]
    fn unsupported_models_are_named() {
        let md = vec![("tokenizer.ggml.model", V::String("bert".into()))];
        let err = from_gguf(&content(md)).expect_err("bert is not supported");
        assert!(err.to_string().contains("\"bert\""), "{err}");
        let err = from_gguf(&content(vec![])).expect_err("no model");
        assert!(err.to_string().contains("tokenizer.ggml.model"), "{err}");
    }
}
