//! Sentence encoder: tokenisation, windows for long texts, length-sorted batches under a token
//! budget, a model forward pass (one file per family), pooling under the attention mask and
//! L2 normalisation.

pub mod bert;
pub mod fast_bert;
pub mod kernels;
pub mod xlm_roberta;

use crate::catalog::{Family, Manifest, Pooling};
use crate::hub::{Provenance, Resolved};
use candle_core::{DType, Device, Tensor};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokenizers::Tokenizer;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("model config: {0}")]
    Config(String),
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: String, message: String },
    #[error("loading weights {path}: {source}")]
    Weights {
        path: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("model forward pass: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One model family's forward pass: hidden states `[batch, seq, hidden]` of a padded batch.
pub trait Forward: Send + Sync {
    fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor>;
}

/// Which prefix the model wants (e5: "query: " / "passage: ").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Query,
    Passage,
    Raw,
}

#[derive(Debug, Clone)]
pub struct Embedding {
    pub vector: Vec<f32>,
    /// Real tokens (prefix and special tokens included, over all windows).
    pub tokens: usize,
    /// > 1 when the text was longer than the model's limit and was windowed.
    pub windows: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub texts: usize,
    pub windows: usize,
    pub tokens: usize,
    pub padded_positions: usize,
    pub batches: usize,
    pub cache_hits: usize,
    pub tokenize_time: Duration,
    pub forward_time: Duration,
}

/// Which implementation runs the model: candle's modules (every family, every device) or the
/// CPU fast path for the BERT family (packed batches, int8 or f32 matrix products).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    Candle,
    FastInt8,
    FastF32,
}

impl Kernel {
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Candle => "candle",
            Kernel::FastInt8 => "int8",
            Kernel::FastF32 => "f32",
        }
    }

    /// The kernel and, for int8, the weight range this machine's path packs (±64 on AVX2):
    /// what changes the vectors, for cache keys.
    pub fn key(self) -> String {
        match self {
            Kernel::FastInt8 => match kernels::weight_max(kernels::detect()) {
                127 => "int8".to_string(),
                q => format!("int8-w{q}"),
            },
            k => k.name().to_string(),
        }
    }

    /// `BANTIN_KERNEL` = candle | int8 | f32 | auto (default: int8 where the fast path applies
    /// and the CPU has AVX2 or AVX-512 VNNI, f32 where it applies without them).
    pub fn from_env() -> Result<Option<Kernel>, EncoderError> {
        match std::env::var("BANTIN_KERNEL")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "auto" => Ok(None),
            "candle" => Ok(Some(Kernel::Candle)),
            "int8" => Ok(Some(Kernel::FastInt8)),
            "f32" => Ok(Some(Kernel::FastF32)),
            other => Err(EncoderError::Config(format!(
                "BANTIN_KERNEL={other}: expected candle, int8, f32 or auto"
            ))),
        }
    }
}

enum Engine {
    Candle(Box<dyn Forward>),
    Fast(fast_bert::FastBert),
}

pub struct Embedder {
    engine: Engine,
    /// The implementation in use (part of every cache key for embeddings).
    pub kernel: Kernel,
    tokenizer: Tokenizer,
    pub manifest: Manifest,
    pub provenance: Provenance,
    device: Device,
    bos: Option<u32>,
    eos: Option<u32>,
    pad: u32,
    /// Tokens per window, special tokens included.
    max_tokens: usize,
    dim: usize,
    /// Padded positions per forward batch.
    pub token_budget: usize,
    /// Texts per forward batch at most: length-sorted neighbours differ little in length, so
    /// small batches waste little on padding while the matrix products stay large.
    pub max_batch: usize,
    /// Tokens shared by consecutive windows of a long text.
    pub overlap: usize,
    pub load_time: Duration,
    stats: Mutex<Stats>,
    /// Embeddings of texts seen in this process, by role and text: re-runs of a sentence
    /// (near-duplicate articles, repeated boilerplate, prototypes) cost nothing.
    cache: Mutex<std::collections::HashMap<(u8, String), Embedding>>,
    /// Entries kept at most (about 1.6 kB each for a 384-dimensional model).
    pub cache_limit: usize,
}

/// A piece of one text that fits the model: ids with special tokens.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Embedder {
    /// Loads with the kernel chosen by `BANTIN_KERNEL` (default: the int8 fast path for the
    /// BERT family on CPU, candle otherwise).
    pub fn load(
        resolved: &Resolved,
        device: &Device,
        dtype: DType,
    ) -> Result<Embedder, EncoderError> {
        Self::load_with_kernel(resolved, device, dtype, Kernel::from_env()?)
    }

    /// Loads with this kernel (`None`: the default). A fast kernel where the fast path does not
    /// apply (another family, a GPU, f16, `.bin` weights, another activation) falls back to candle.
    pub fn load_with_kernel(
        resolved: &Resolved,
        device: &Device,
        dtype: DType,
        kernel: Option<Kernel>,
    ) -> Result<Embedder, EncoderError> {
        let started = Instant::now();
        let files = &resolved.files;
        let manifest = resolved.manifest.clone();
        let config = std::fs::read_to_string(&files.config).map_err(|source| EncoderError::Io {
            path: files.config.display().to_string(),
            source,
        })?;
        let cfg: serde_json::Value = serde_json::from_str(&config)
            .map_err(|e| EncoderError::Config(format!("{}: {e}", files.config.display())))?;
        let tokenizer =
            Tokenizer::from_file(&files.tokenizer).map_err(|e| EncoderError::Tokenizer {
                path: files.tokenizer.display().to_string(),
                message: e.to_string(),
            })?;
        let fast_ok = manifest.family == Family::Bert
            && device.is_cpu()
            && dtype == DType::F32
            && fast_bert::supported(&cfg, &files.weights);
        let kernel = match kernel {
            Some(k) if k != Kernel::Candle && !fast_ok => Kernel::Candle,
            Some(k) => k,
            // Without AVX2 or AVX-512 VNNI (aarch64, old x86) the portable int8 loops are slower
            // than the `gemm` crate's f32 SIMD kernels: the fast path stays in f32 there.
            None if fast_ok && kernels::detect() != kernels::Isa::Scalar => Kernel::FastInt8,
            None if fast_ok => Kernel::FastF32,
            None => Kernel::Candle,
        };
        let engine = match kernel {
            Kernel::FastInt8 | Kernel::FastF32 => {
                let precision = if kernel == Kernel::FastInt8 {
                    fast_bert::Precision::Int8
                } else {
                    fast_bert::Precision::F32
                };
                Engine::Fast(fast_bert::FastBert::load(&cfg, &files.weights, precision)?)
            }
            Kernel::Candle => {
                let vb = load_weights(&files.weights, dtype, device)?;
                Engine::Candle(match manifest.family {
                    Family::Bert => Box::new(bert::Bert::load(&config, vb)?),
                    Family::XlmRoberta => Box::new(xlm_roberta::XlmRoberta::load(&config, vb)?),
                })
            }
        };
        let dim = cfg["hidden_size"]
            .as_u64()
            .ok_or_else(|| EncoderError::Config("config.json has no hidden_size".into()))?
            as usize;
        let max_pos = cfg["max_position_embeddings"].as_u64().unwrap_or(512) as usize;
        // XLM-R numbers positions from padding_idx + 1.
        let pos_limit = match manifest.family {
            Family::XlmRoberta => {
                max_pos.saturating_sub(cfg["pad_token_id"].as_u64().unwrap_or(1) as usize + 1)
            }
            Family::Bert => max_pos,
        };
        let max_tokens = manifest.max_tokens.min(pos_limit).max(8);
        let (bos, eos) = special_ids(&tokenizer)?;
        let pad = ["<pad>", "[PAD]"]
            .iter()
            .find_map(|t| tokenizer.token_to_id(t))
            .or_else(|| cfg["pad_token_id"].as_u64().map(|v| v as u32))
            .unwrap_or(0);
        let mut provenance = resolved.provenance.clone();
        // Part of the state store's key for stored analyses: int8 products give (slightly)
        // different vectors, so they must not reuse results computed in f32, nor the reverse.
        provenance.dtype = match kernel {
            Kernel::FastInt8 => "f32+int8-matmul".to_string(),
            _ => format!("{dtype:?}").to_lowercase(),
        };
        provenance.device = crate::device::describe(device);
        Ok(Embedder {
            engine,
            kernel,
            tokenizer,
            manifest,
            provenance,
            device: device.clone(),
            bos,
            eos,
            pad,
            max_tokens,
            dim,
            token_budget: 8192,
            max_batch: 32,
            overlap: 64,
            load_time: started.elapsed(),
            stats: Mutex::new(Stats::default()),
            cache: Mutex::new(std::collections::HashMap::new()),
            cache_limit: 200_000,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn prefix(&self, role: Role) -> &str {
        match role {
            Role::Query => &self.manifest.query_prefix,
            Role::Passage => &self.manifest.passage_prefix,
            Role::Raw => "",
        }
    }

    /// NFC, trimmed, with the role's prefix: exactly what the model sees.
    pub fn prepare(&self, text: &str, role: Role) -> String {
        let text: String = text.nfc().collect();
        format!("{}{}", self.prefix(role), text.trim())
    }

    /// Token ids of the prepared text, special tokens included (no windowing).
    pub fn token_ids(&self, text: &str, role: Role) -> Result<Vec<u32>, EncoderError> {
        let enc = self
            .tokenizer
            .encode(self.prepare(text, role), true)
            .map_err(|e| self.tok_err(e))?;
        Ok(enc.get_ids().to_vec())
    }

    fn tok_err(&self, e: tokenizers::Error) -> EncoderError {
        EncoderError::Tokenizer {
            path: "tokenizer.json".into(),
            message: e.to_string(),
        }
    }

    /// Splits texts into windows that fit the model. Every window repeats the prefix so that
    /// each piece is encoded the way the model was trained.
    fn windows(&self, texts: &[&str], role: Role) -> Result<(Vec<Window>, usize), EncoderError> {
        let prefix = self.prefix(role);
        let prefix_ids: Vec<u32> = if prefix.is_empty() {
            Vec::new()
        } else {
            self.tokenizer
                .encode(prefix.trim_end(), false)
                .map_err(|e| self.tok_err(e))?
                .get_ids()
                .to_vec()
        };
        let bodies: Vec<String> = texts
            .iter()
            .map(|t| t.nfc().collect::<String>().trim().to_string())
            .collect();
        let encs = self
            .tokenizer
            .encode_batch(bodies, false)
            .map_err(|e| self.tok_err(e))?;
        let specials = self.bos.is_some() as usize + self.eos.is_some() as usize;
        let room = self
            .max_tokens
            .saturating_sub(specials + prefix_ids.len())
            .max(16);
        let overlap = self.overlap.min(room / 2);
        let mut out = Vec::new();
        let mut tokens = 0;
        for (i, enc) in encs.iter().enumerate() {
            let body = enc.get_ids();
            let mut start = 0;
            loop {
                let end = (start + room).min(body.len());
                let mut ids = Vec::with_capacity(end - start + specials + prefix_ids.len());
                ids.extend(self.bos);
                ids.extend_from_slice(&prefix_ids);
                ids.extend_from_slice(&body[start..end]);
                ids.extend(self.eos);
                tokens += ids.len();
                out.push(Window { text: i, ids });
                if end >= body.len() {
                    break;
                }
                start = end - overlap;
            }
        }
        Ok((out, tokens))
    }

    /// Embeds texts; the result is in input order, L2-normalised. Texts embedded before in
    /// this process (same role) come from the cache.
    pub fn embed(&self, texts: &[&str], role: Role) -> Result<Vec<Embedding>, EncoderError> {
        if self.cache_limit == 0 {
            return self.embed_uncached(texts, role);
        }
        let key = |t: &str| (role as u8, t.to_string());
        let mut out: Vec<Option<Embedding>> = {
            let cache = self
                .cache
                .lock()
                .map_err(|_| EncoderError::Config("embedding cache poisoned".into()))?;
            texts.iter().map(|t| cache.get(&key(t)).cloned()).collect()
        };
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        // Duplicates inside one call are embedded once.
        let mut unique: Vec<&str> = Vec::new();
        let mut slot: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for &i in &missing {
            slot.entry(texts[i]).or_insert_with(|| {
                unique.push(texts[i]);
                unique.len() - 1
            });
        }
        let fresh = self.embed_uncached(&unique, role)?;
        if let Ok(mut s) = self.stats.lock() {
            s.cache_hits += texts.len() - unique.len();
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() + fresh.len() > self.cache_limit {
                cache.clear();
            }
            for (t, e) in unique.iter().zip(&fresh) {
                cache.insert(key(t), e.clone());
            }
        }
        for &i in &missing {
            out[i] = Some(fresh[slot[texts[i]]].clone());
        }
        Ok(out
            .into_iter()
            .map(|e| e.expect("every text embedded"))
            .collect())
    }

    fn embed_uncached(&self, texts: &[&str], role: Role) -> Result<Vec<Embedding>, EncoderError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let t0 = Instant::now();
        let (windows, tokens) = self.windows(texts, role)?;
        let tokenize_time = t0.elapsed();

        // Longest first: the first batch shows the worst-case memory at once, and each batch
        // holds windows of similar length, so little is padding.
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&w| std::cmp::Reverse(windows[w].ids.len()));

        let mut sums = vec![vec![0f32; self.dim]; texts.len()];
        let mut weights = vec![0f32; texts.len()];
        let mut counts = vec![0usize; texts.len()];
        let mut padded = 0;
        let mut batches = 0;
        let t1 = Instant::now();
        let mut i = 0;
        while i < order.len() {
            let longest = windows[order[i]].ids.len();
            let per_batch = match &self.engine {
                Engine::Candle(_) => (self.token_budget / longest).clamp(1, self.max_batch.max(1)),
                // Packed batches have no padding: fill a budget of real tokens.
                Engine::Fast(_) => {
                    let budget = self.token_budget.min(FAST_BATCH_TOKENS).max(longest);
                    let mut n = 0;
                    let mut sum = 0;
                    while i + n < order.len() && sum + windows[order[i + n]].ids.len() <= budget {
                        sum += windows[order[i + n]].ids.len();
                        n += 1;
                    }
                    n.max(1)
                }
            };
            let batch: Vec<&Window> = order[i..(i + per_batch).min(order.len())]
                .iter()
                .map(|&w| &windows[w])
                .collect();
            i += batch.len();
            padded += match &self.engine {
                Engine::Candle(_) => batch.len() * longest,
                Engine::Fast(_) => batch.iter().map(|w| w.ids.len()).sum(),
            };
            batches += 1;
            let pooled = self.forward_pooled(&batch, longest)?;
            for (w, (vec, weight)) in batch.iter().zip(pooled) {
                for (s, v) in sums[w.text].iter_mut().zip(&vec) {
                    *s += v * weight;
                }
                weights[w.text] += weight;
                counts[w.text] += 1;
            }
        }
        let forward_time = t1.elapsed();
        let mut lens = vec![0usize; texts.len()];
        for w in &windows {
            lens[w.text] += w.ids.len();
        }
        let out = sums
            .into_iter()
            .zip(weights)
            .zip(counts.iter().zip(lens))
            .map(|((mut v, w), (&n, len))| {
                for x in v.iter_mut() {
                    *x /= w.max(f32::MIN_POSITIVE);
                }
                l2_normalise(&mut v);
                Embedding {
                    vector: v,
                    tokens: len,
                    windows: n,
                }
            })
            .collect();
        if let Ok(mut s) = self.stats.lock() {
            s.texts += texts.len();
            s.windows += windows.len();
            s.tokens += tokens;
            s.padded_positions += padded;
            s.batches += batches;
            s.tokenize_time += tokenize_time;
            s.forward_time += forward_time;
        }
        Ok(out)
    }

    /// Pooled (not yet normalised) vectors of one padded batch, each with its pooling weight
    /// (token count for mean pooling, 1 for CLS).
    fn forward_pooled(
        &self,
        batch: &[&Window],
        len: usize,
    ) -> Result<Vec<(Vec<f32>, f32)>, EncoderError> {
        let forward = match &self.engine {
            Engine::Candle(f) => f,
            Engine::Fast(fast) => {
                let seqs: Vec<&[u32]> = batch.iter().map(|w| w.ids.as_slice()).collect();
                let cls = self.manifest.pooling == Pooling::Cls;
                let rows = fast.pooled(&seqs, cls)?;
                return Ok(rows
                    .into_iter()
                    .zip(batch)
                    .map(|(v, w)| (v, if cls { 1.0 } else { w.ids.len() as f32 }))
                    .collect());
            }
        };
        let b = batch.len();
        let mut ids = Vec::with_capacity(b * len);
        let mut mask = Vec::with_capacity(b * len);
        for w in batch {
            ids.extend_from_slice(&w.ids);
            ids.extend(std::iter::repeat_n(self.pad, len - w.ids.len()));
            mask.extend(std::iter::repeat_n(1u32, w.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, len - w.ids.len()));
        }
        let ids = Tensor::from_vec(ids, (b, len), &self.device)?;
        let mask = Tensor::from_vec(mask, (b, len), &self.device)?;
        let type_ids = ids.zeros_like()?;
        let hidden = forward.forward(&ids, &type_ids, &mask)?;
        let hidden = hidden.to_dtype(DType::F32)?;
        let pooled = match self.manifest.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&m)?.sum(1)?;
                let n = m.sum(1)?;
                summed.broadcast_div(&n)?
            }
        };
        let rows: Vec<Vec<f32>> = pooled.to_device(&Device::Cpu)?.to_vec2()?;
        Ok(rows
            .into_iter()
            .zip(batch)
            .map(|(v, w)| {
                let weight = match self.manifest.pooling {
                    Pooling::Mean => w.ids.len() as f32,
                    Pooling::Cls => 1.0,
                };
                (v, weight)
            })
            .collect())
    }
}

/// Real tokens per packed batch on the fast path (activations stay within the L3 cache).
const FAST_BATCH_TOKENS: usize = 2048;

fn special_ids(tok: &Tokenizer) -> Result<(Option<u32>, Option<u32>), EncoderError> {
    let err = |e: tokenizers::Error| EncoderError::Tokenizer {
        path: "tokenizer.json".into(),
        message: e.to_string(),
    };
    let with = tok.encode("a", true).map_err(err)?;
    let without = tok.encode("a", false).map_err(err)?;
    let (w, wo) = (with.get_ids(), without.get_ids());
    let lead = w.len() - w.len().min(wo.len());
    // Where the bare ids sit inside the decorated ones tells which specials surround them.
    let pos = (0..=lead).find(|&i| w[i..].starts_with(wo)).unwrap_or(0);
    let bos = (pos > 0).then(|| w[0]);
    let eos = (w.len() > pos + wo.len()).then(|| w[w.len() - 1]);
    Ok((bos, eos))
}

fn load_weights(
    paths: &[std::path::PathBuf],
    dtype: DType,
    device: &Device,
) -> Result<candle_nn::VarBuilder<'static>, EncoderError> {
    let werr = |source: candle_core::Error| EncoderError::Weights {
        path: paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        source,
    };
    let is_pth = paths.len() == 1
        && paths[0]
            .extension()
            .is_some_and(|e| e == "bin" || e == "pt" || e == "pth");
    if is_pth {
        // candle's pickle reader loads tensors only; it never executes code from the file.
        candle_nn::VarBuilder::from_pth(&paths[0], dtype, device).map_err(werr)
    } else {
        // Reading (not mapping) keeps a truncated file a clean error instead of a SIGBUS.
        let mut tensors = std::collections::HashMap::new();
        for p in paths {
            let loaded = candle_core::safetensors::load(p, device).map_err(|source| {
                EncoderError::Weights {
                    path: p.display().to_string(),
                    source,
                }
            })?;
            tensors.extend(loaded);
        }
        Ok(candle_nn::VarBuilder::from_tensors(tensors, dtype, device))
    }
}

pub fn l2_normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
