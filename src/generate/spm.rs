//! A `tokenizers::Tokenizer` from a sentencepiece `spiece.model`, because T5/ViT5/mT5 repos often
//! ship only that file. The model is a protobuf (`ModelProto`); the few fields needed are read
//! by hand rather than pulling in a protobuf crate. The result has the layout the Hugging Face
//! T5 converter writes: Precompiled normaliser (the model's own charsmap), collapse of space
//! runs, Metaspace, Unigram, `$A </s>`.

use super::GenerateError;
use base64::Engine as _;
use serde_json::json;
use std::path::Path;

/// sentencepiece `SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

#[derive(Debug, Clone)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// The parts of a sentencepiece `ModelProto` a tokenizer needs.
#[derive(Debug, Clone)]
pub struct SpmModel {
    pub pieces: Vec<Piece>,
    /// `TrainerSpec.model_type`: 1 unigram, 2 bpe, 3 word, 4 char.
    pub model_type: u64,
    pub byte_fallback: bool,
    pub unk_id: i64,
    pub bos_id: i64,
    pub eos_id: i64,
    pub pad_id: i64,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One protobuf field value.
enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or("truncated varint (file cut short?)")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or("field runs past the end of the data (file cut short?)")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Next (field number, value), or None at the end.
    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Varint(0)
            }
            2 => {
                let n = self.varint()? as usize;
                Field::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Field::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            w => {
                return Err(format!(
                    "unsupported protobuf wire type {w} (field {number})"
                ))
            }
        };
        Ok(Some((number, value)))
    }
}

fn utf8(b: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

impl SpmModel {
    pub fn parse(bytes: &[u8]) -> Result<SpmModel, String> {
        let mut m = SpmModel {
            pieces: Vec::new(),
            model_type: 1,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
        };
        let mut r = Reader::new(bytes);
        while let Some((number, value)) = r.next()? {
            match (number, value) {
                (1, Field::Bytes(b)) => m.pieces.push(parse_piece(b)?),
                (2, Field::Bytes(b)) => parse_trainer(b, &mut m)?,
                (3, Field::Bytes(b)) => parse_normalizer(b, &mut m)?,
                _ => {}
            }
        }
        if m.pieces.is_empty() {
            return Err("no pieces: not a sentencepiece model".into());
        }
        Ok(m)
    }
}

fn parse_piece(b: &[u8]) -> Result<Piece, String> {
    let mut r = Reader::new(b);
    let mut p = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    while let Some((number, value)) = r.next()? {
        match (number, value) {
            (1, Field::Bytes(s)) => p.piece = utf8(s, "a piece")?,
            (2, Field::Fixed32(f)) => p.score = f32::from_bits(f),
            (3, Field::Varint(t)) => {
                p.kind = match t {
                    1 => PieceType::Normal,
                    2 => PieceType::Unknown,
                    3 => PieceType::Control,
                    4 => PieceType::UserDefined,
                    5 => PieceType::Unused,
                    6 => PieceType::Byte,
                    other => return Err(format!("unknown piece type {other}")),
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

fn parse_trainer(b: &[u8], m: &mut SpmModel) -> Result<(), String> {
    let mut r = Reader::new(b);
    // int32 fields are varints; -1 arrives as a 64-bit two's complement.
    let int32 = |v: u64| v as i64 as i32 as i64;
    while let Some((number, value)) = r.next()? {
        if let Field::Varint(v) = value {
            match number {
                3 => m.model_type = v,
                35 => m.byte_fallback = v != 0,
                40 => m.unk_id = int32(v),
                41 => m.bos_id = int32(v),
                42 => m.eos_id = int32(v),
                43 => m.pad_id = int32(v),
                _ => {}
            }
        }
    }
    Ok(())
}

fn parse_normalizer(b: &[u8], m: &mut SpmModel) -> Result<(), String> {
    let mut r = Reader::new(b);
    while let Some((number, value)) = r.next()? {
        match (number, value) {
            (2, Field::Bytes(c)) => m.precompiled_charsmap = c.to_vec(),
            (3, Field::Varint(v)) => m.add_dummy_prefix = v != 0,
            (4, Field::Varint(v)) => m.remove_extra_whitespaces = v != 0,
            _ => {}
        }
    }
    Ok(())
}

/// The `tokenizer.json` value for a parsed unigram model.
pub fn tokenizer_json(m: &SpmModel) -> Result<serde_json::Value, String> {
    if m.model_type != 1 {
        let kind = match m.model_type {
            2 => "BPE",
            3 => "word",
            4 => "char",
            _ => "unknown",
        };
        // T5, mT5 and ViT5 are unigram; a BPE model would need merges rebuilt from scores.
        return Err(format!(
            "{kind} sentencepiece models are not supported (only unigram)"
        ));
    }
    let n = m.pieces.len() as i64;
    let id_ok = |id: i64| id >= 0 && id < n;
    if !id_ok(m.unk_id) {
        return Err(format!("unk_id {} is not a piece id", m.unk_id));
    }
    if !id_ok(m.eos_id) {
        return Err(format!(
            "eos_id {} is not a piece id (T5 needs </s>)",
            m.eos_id
        ));
    }
    let added: Vec<serde_json::Value> = m
        .pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            matches!(
                p.kind,
                PieceType::Control | PieceType::Unknown | PieceType::UserDefined
            )
        })
        .map(|(id, p)| {
            json!({"id": id, "content": p.piece, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false,
                   // User-defined pieces are ordinary text that must stay whole.
                   "special": p.kind != PieceType::UserDefined})
        })
        .collect();
    let vocab: Vec<serde_json::Value> = m
        .pieces
        .iter()
        .map(|p| json!([p.piece, p.score as f64]))
        .collect();
    let mut normalizers = Vec::new();
    if !m.precompiled_charsmap.is_empty() {
        // The Precompiled normaliser maps whole graphemes, then single characters, and misses
        // the composition sentencepiece finds by longest match over the raw input (e.g. NFD
        // "o\u{302}\u{301}" → "ố"). Composing first gives sentencepiece's result, since its
        // charsmaps (nmt_nfkc and friends) include NFC.
        normalizers.push(json!({"type": "NFC"}));
        normalizers.push(json!({"type": "Precompiled",
            "precompiled_charsmap":
                base64::engine::general_purpose::STANDARD.encode(&m.precompiled_charsmap)}));
    }
    if m.remove_extra_whitespaces {
        // sentencepiece drops leading/trailing whitespace and collapses inner runs.
        normalizers.push(json!({"type": "Strip", "strip_left": true, "strip_right": true}));
        normalizers.push(json!({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}));
    }
    let prepend = if m.add_dummy_prefix {
        "always"
    } else {
        "never"
    };
    let metaspace =
        json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": prepend, "split": true});
    let decoder = if m.byte_fallback {
        json!({"type": "Sequence", "decoders": [{"type": "ByteFallback"}, metaspace]})
    } else {
        metaspace.clone()
    };
    let eos = m.pieces[m.eos_id as usize].piece.clone();
    let seq = |id: &str| json!({"Sequence": {"id": id, "type_id": 0}});
    let tok = json!({"SpecialToken": {"id": eos, "type_id": 0}});
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": if normalizers.is_empty() { serde_json::Value::Null }
                      else { json!({"type": "Sequence", "normalizers": normalizers}) },
        "pre_tokenizer": metaspace,
        // T5 appends </s> and has no BOS.
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [seq("A"), tok],
            "pair": [seq("A"), tok, seq("B"), tok],
            "special_tokens": {
                eos.clone(): {"id": eos, "ids": [m.eos_id], "tokens": [eos]},
            }
        },
        "decoder": decoder,
        "model": {"type": "Unigram", "unk_id": m.unk_id, "vocab": vocab,
                  "byte_fallback": m.byte_fallback}
    }))
}

pub fn tokenizer_from_spm(path: &Path) -> Result<tokenizers::Tokenizer, GenerateError> {
    let err = |message: String| GenerateError::Load {
        path: path.to_path_buf(),
        message,
    };
    let bytes =
        std::fs::read(path).map_err(|e| err(format!("cannot read sentencepiece model: {e}")))?;
    let model =
        SpmModel::parse(&bytes).map_err(|e| err(format!("bad sentencepiece model: {e}")))?;
    let value = tokenizer_json(&model).map_err(err)?;
    let text = serde_json::to_string(&value)
        .map_err(|e| err(format!("cannot serialise the tokenizer: {e}")))?;
    text.parse::<tokenizers::Tokenizer>()
        .map_err(|e| err(format!("the tokenizer built from it does not load: {e}")))
}
