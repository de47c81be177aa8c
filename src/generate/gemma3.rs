//! Gemma 3 (text) on quantized GGUF weights, written for bantin rather than taken from
//! `candle_transformers::models::quantized_gemma3`, which (0.11.1) uses SiLU where Gemma uses
//! GELU, builds 131,072-row rope tables per layer, has no sliding window during one-token
//! generation and builds a wrong mask for a prompt fed in several chunks. Unfixed, the first
//! generated token is already wrong and the text degenerates.
//!
//! Conventions follow Hugging Face `transformers` and llama.cpp: a sliding layer's query at
//! position `i` sees keys `j` with `i - W < j <= i` (W tokens including itself); every
//! `sliding_window_type`-th layer is global; GGUF norm weights already include Gemma's `1 +`.

use super::q8gemv::Q8Gemv;
use super::{GenerateError, LanguageModel};
use candle_core::quantized::{gguf_file, GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, IndexOp, Module, Tensor};
use candle_transformers::quantized_nn::RmsNorm;
use std::path::Path;
use std::sync::Arc;

/// llama.cpp's and candle's defaults for keys older GGUF conversions do not write.
const DEFAULT_SLIDING_WINDOW_TYPE: usize = 6;
const DEFAULT_ROPE_BASE: f32 = 1_000_000.0;
const DEFAULT_ROPE_LOCAL_BASE: f32 = 10_000.0;
const DEFAULT_CONTEXT: usize = 8192;
/// Rope rows computed up front; the tables grow (doubling) when a sequence goes further.
const INITIAL_ROPE_ROWS: usize = 1024;

/// Shared by all layers of one kind (sliding or global): the tables depend only on the base.
struct Rope {
    base: f32,
    /// Positions are divided by this (linear rope scaling of the global layers in larger Gemma 3).
    scale: f32,
    head_dim: usize,
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(
        base: f32,
        scale: f32,
        head_dim: usize,
        rows: usize,
        dev: &Device,
    ) -> candle_core::Result<Rope> {
        let (cos, sin) = Self::tables(base, scale, head_dim, rows, dev)?;
        Ok(Rope {
            base,
            scale,
            head_dim,
            cos,
            sin,
        })
    }

    fn tables(
        base: f32,
        scale: f32,
        head_dim: usize,
        rows: usize,
        dev: &Device,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let half = head_dim / 2;
        let inv: Vec<f32> = (0..half)
            .map(|i| 1.0 / base.powf(2.0 * i as f32 / head_dim as f32))
            .collect();
        let mut angles = Vec::with_capacity(rows * half);
        for p in 0..rows {
            let pos = p as f32 / scale;
            angles.extend(inv.iter().map(|f| pos * f));
        }
        let t = Tensor::from_vec(angles, (rows, half), dev)?;
        Ok((t.cos()?, t.sin()?))
    }

    fn ensure(&mut self, rows: usize, dev: &Device) -> candle_core::Result<()> {
        let have = self.cos.dim(0)?;
        if rows > have {
            let want = rows.next_power_of_two().max(INITIAL_ROPE_ROWS);
            let (cos, sin) = Self::tables(self.base, self.scale, self.head_dim, want, dev)?;
            self.cos = cos;
            self.sin = sin;
        }
        Ok(())
    }

    /// `x`: (batch, heads, seq, head_dim), positions `start..start + seq`.
    fn apply(&self, x: &Tensor, start: usize) -> candle_core::Result<Tensor> {
        let seq = x.dim(2)?;
        let cos = self.cos.narrow(0, start, seq)?;
        let sin = self.sin.narrow(0, start, seq)?;
        candle_nn::rotary_emb::rope(&x.contiguous()?, &cos, &sin)
    }
}

/// Projections of the same input, stored as one matrix when their types allow it: one matrix
/// product instead of two or three. Each product is a barrier for candle's worker threads,
/// which spin while they wait; on a busy machine that wait dominates one-token steps.
enum Fused {
    One(QMatMul, Vec<usize>),
    Many(Vec<QMatMul>),
    /// Q8_0 rows for one-token steps only (see `q8gemv`).
    Step(Q8Gemv, Vec<usize>),
}

/// Splits the last dimension of `y` into parts of `rows` values.
fn split(y: Tensor, rows: &[usize]) -> candle_core::Result<Vec<Tensor>> {
    let last = y.rank() - 1;
    let mut at = 0;
    rows.iter()
        .map(|&r| {
            let part = y.narrow(last, at, r);
            at += r;
            part
        })
        .collect()
}

impl Fused {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
        match self {
            Fused::One(m, rows) => split(m.forward(x)?, rows),
            Fused::Many(ms) => ms.iter().map(|m| m.forward(x)).collect(),
            Fused::Step(g, rows) => {
                let mut dims = x.dims().to_vec();
                if dims.iter().rev().skip(1).product::<usize>() != 1 {
                    return Err(candle_core::Error::Msg(
                        "a one-token projection was given several tokens".into(),
                    ));
                }
                let v = x.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                let mut y = vec![0f32; g.rows()];
                g.forward(&v, &mut y);
                if let Some(d) = dims.last_mut() {
                    *d = y.len();
                }
                split(Tensor::from_vec(y, dims, x.device())?, rows)
            }
        }
    }
}

/// A projection, with an f32 twin for multi-token (prompt) input under `Precision::Mixed`.
struct Proj {
    step: Fused,
    prompt: Option<Fused>,
}

impl Proj {
    fn forward(&self, x: &Tensor, seq: usize) -> candle_core::Result<Vec<Tensor>> {
        match &self.prompt {
            Some(p) if seq > 1 => p.forward(x),
            _ => self.step.forward(x),
        }
    }

    fn forward1(&self, x: &Tensor, seq: usize) -> candle_core::Result<Tensor> {
        self.forward(x, seq)?
            .pop()
            .ok_or_else(|| candle_core::Error::Msg("projection with no output".into()))
    }
}

struct Layer {
    /// Query, key and value projections.
    qkv: Proj,
    wo: Proj,
    q_norm: RmsNorm,
    k_norm: RmsNorm,
    attn_norm: RmsNorm,
    post_attn_norm: RmsNorm,
    ffn_norm: RmsNorm,
    post_ffn_norm: RmsNorm,
    /// Gate and up projections of the feed-forward block.
    gate_up: Proj,
    down: Proj,
    /// Some(W) for sliding-window layers.
    window: Option<usize>,
    /// Keys and values, (1, kv_heads, T, head_dim); sliding layers keep only the last W.
    cache: Option<(Tensor, Tensor)>,
}

pub struct Gemma3 {
    /// Token embedding, kept quantized: rows are dequantized on lookup (262,144 × 640 in f32
    /// would be 670 MB).
    /// `None` when the tied output projection was repacked for one-token steps: the rows are
    /// then read from `output_step`, and the matrix is not held twice (178 MB for 270m).
    embed: Option<Arc<QTensor>>,
    /// `output.weight`, or the embedding itself when the file has none (tied weights); `None`
    /// when `output_step` replaces it (one-token steps are the only use outside `Exact`).
    output: Option<QMatMul>,
    /// The same matrix repacked for one-token steps, where it is Q8_0 and the CPU has
    /// AVX-512 VNNI (see `q8gemv`); `output` then serves only the Exact precision's path.
    output_step: Option<Q8Gemv>,
    vocab: usize,
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    attn_scale: f64,
    attn_softcap: Option<f64>,
    final_softcap: Option<f64>,
    layers: Vec<Layer>,
    norm: RmsNorm,
    rope_local: Rope,
    rope_global: Rope,
    context: usize,
    /// Tokens processed in the current sequence.
    pos: usize,
    device: Device,
}

/// Quantized types whose CPU dot product has an AVX2 kernel in candle 0.11; the others run a
/// scalar loop several times slower.
fn has_fast_kernel(t: GgmlDType) -> bool {
    matches!(
        t,
        GgmlDType::Q4_0
            | GgmlDType::Q8_0
            | GgmlDType::Q2K
            | GgmlDType::Q3K
            | GgmlDType::Q4K
            | GgmlDType::Q5K
            | GgmlDType::Q6K
            | GgmlDType::Q8K
            | GgmlDType::F32
            | GgmlDType::F16
            | GgmlDType::BF16
    )
}

/// How the weight matrices are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Quantized matrix products (activations quantized to 8 bits on the fly, as in llama.cpp);
    /// types without a fast CPU kernel re-quantized to Q8_0. Logits stay within a few tenths of
    /// the exact ones; greedy text can part from them at near-ties.
    #[default]
    Fast,
    /// Every matrix dequantized to f32 at load: the file's weights exactly, as PyTorch would
    /// use them (matches transformers to 1e-3 in the logits). Prompts are faster (batched f32
    /// products beat the quantized kernels on CPU), one-token steps slower on an idle machine
    /// (4× the bytes to read per token), 0.85 GB more memory for gemma-3-270m.
    Exact,
    /// The layers' matrices in both forms: f32 for the prompt, quantized for one-token steps.
    /// The prompt speed of `Exact` and the step speed of `Fast`, for 0.4 GB more than `Fast`.
    Mixed,
}

struct Loader<'a> {
    precision: Precision,
    path: &'a Path,
    content: gguf_file::Content,
    file: std::fs::File,
    device: &'a Device,
    prefix: String,
}

impl Loader<'_> {
    fn err(&self, message: String) -> GenerateError {
        GenerateError::Gguf {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn meta(&self, key: &str) -> Option<&gguf_file::Value> {
        self.content.metadata.get(&format!("{}.{key}", self.prefix))
    }

    fn usize(&self, key: &str) -> Result<usize, GenerateError> {
        let full = format!("{}.{key}", self.prefix);
        let v = self
            .meta(key)
            .ok_or_else(|| self.err(format!("metadata key {full} is missing")))?;
        as_usize(v).ok_or_else(|| self.err(format!("metadata key {full} is not an integer")))
    }

    fn opt_usize(&self, key: &str) -> Option<usize> {
        self.meta(key).and_then(as_usize)
    }

    fn opt_f32(&self, key: &str) -> Option<f32> {
        self.meta(key).and_then(|v| match v {
            gguf_file::Value::F32(x) => Some(*x),
            gguf_file::Value::F64(x) => Some(*x as f32),
            other => as_usize(other).map(|x| x as f32),
        })
    }

    fn qtensor(&mut self, name: &str) -> Result<QTensor, GenerateError> {
        self.content
            .tensor(&mut self.file, name, self.device)
            .map_err(|e| GenerateError::Gguf {
                path: self.path.to_path_buf(),
                message: format!("tensor {name}: {e}"),
            })
    }

    /// A matrix used on one row at a time (the output projection): f32 under `Exact`, else
    /// quantized.
    fn matmul(&mut self, name: &str) -> Result<QMatMul, GenerateError> {
        let t = self.qtensor(name)?;
        if self.precision == Precision::Exact {
            return self.exact(&t, name);
        }
        let t = self.fast(t, name)?;
        QMatMul::from_qtensor(t).map_err(|e| self.err(format!("tensor {name}: {e}")))
    }

    fn proj(&mut self, names: &[String]) -> Result<Proj, GenerateError> {
        Ok(match self.precision {
            Precision::Fast => Proj {
                step: self.fused(names, false, false)?,
                prompt: None,
            },
            Precision::Exact => Proj {
                step: self.fused(names, true, false)?,
                prompt: None,
            },
            // The step matrices see one token at a time: the one-row kernel can take them.
            Precision::Mixed => Proj {
                step: self.fused(names, false, true)?,
                prompt: Some(self.fused(names, true, false)?),
            },
        })
    }

    fn fused(
        &mut self,
        names: &[String],
        exact: bool,
        step_only: bool,
    ) -> Result<Fused, GenerateError> {
        let mut parts = Vec::with_capacity(names.len());
        for n in names {
            let t = self.qtensor(n)?;
            parts.push(if exact { t } else { self.fast(t, n)? });
        }
        let joined = names.join(" + ");
        let err = |e: candle_core::Error| self.err(format!("tensors {joined}: {e}"));
        let rows: Vec<usize> = parts
            .iter()
            .map(|t| t.shape().dims().first().copied().unwrap_or(0))
            .collect();
        let cols: Vec<usize> = parts
            .iter()
            .map(|t| t.shape().dims().last().copied().unwrap_or(0))
            .collect();
        if cols.windows(2).any(|w| w[0] != w[1]) || parts.iter().any(|t| t.shape().rank() != 2) {
            return Err(self.err(format!(
                "tensors {joined} should be matrices over the same input, their shapes are {:?}",
                parts
                    .iter()
                    .map(|t| t.shape().dims().to_vec())
                    .collect::<Vec<_>>()
            )));
        }
        if exact {
            let ts = parts
                .iter()
                .map(|t| t.dequantize(self.device))
                .collect::<candle_core::Result<Vec<_>>>()
                .map_err(err)?;
            let cat = Tensor::cat(&ts, 0).map_err(err)?;
            return Ok(Fused::One(QMatMul::Tensor(cat), rows));
        }
        let dtype = parts[0].dtype();
        let float = matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
        if float || parts.iter().any(|t| t.dtype() != dtype) || !self.device.is_cpu() {
            let ms = parts
                .into_iter()
                .map(QMatMul::from_qtensor)
                .collect::<candle_core::Result<Vec<_>>>()
                .map_err(err)?;
            return Ok(Fused::Many(ms));
        }
        // Quantized rows are whole blocks: stacking matrices is concatenating their bytes.
        let mut bytes = Vec::new();
        for t in &parts {
            bytes.extend_from_slice(&t.data().map_err(err)?);
        }
        let total: usize = rows.iter().sum();
        let t = candle_core::quantized::ggml_file::qtensor_from_ggml(
            dtype,
            &bytes,
            vec![total, cols[0]],
            self.device,
        )
        .map_err(err)?;
        if step_only && Q8Gemv::isa().is_some() {
            if let Some(g) = Q8Gemv::from_qtensor(&t).map_err(err)? {
                return Ok(Fused::Step(g, rows));
            }
        }
        Ok(Fused::One(QMatMul::from_qtensor(t).map_err(err)?, rows))
    }

    fn exact(&self, t: &QTensor, name: &str) -> Result<QMatMul, GenerateError> {
        t.dequantize(self.device)
            .map(QMatMul::Tensor)
            .map_err(|e| self.err(format!("tensor {name}: {e}")))
    }

    /// Re-quantized to Q8_0 when its type has no fast kernel (Q5_0 in the gemma-3-270m Q4_K_M
    /// file: 3-4× faster prompts, 2× faster generation, measured).
    fn fast(&self, t: QTensor, name: &str) -> Result<QTensor, GenerateError> {
        if has_fast_kernel(t.dtype()) || !self.device.is_cpu() {
            return Ok(t);
        }
        let cols = t.shape().dims().last().copied().unwrap_or(0);
        if !cols.is_multiple_of(GgmlDType::Q8_0.block_size()) {
            return Ok(t);
        }
        let f = t
            .dequantize(self.device)
            .map_err(|e| self.err(format!("tensor {name}: {e}")))?;
        QTensor::quantize(&f, GgmlDType::Q8_0)
            .map_err(|e| self.err(format!("tensor {name}: re-quantizing to Q8_0: {e}")))
    }

    fn norm(&mut self, name: &str, eps: f64) -> Result<RmsNorm, GenerateError> {
        let t = self.qtensor(name)?;
        RmsNorm::from_qtensor(t, eps).map_err(|e| self.err(format!("tensor {name}: {e}")))
    }
}

fn as_usize(v: &gguf_file::Value) -> Option<usize> {
    use gguf_file::Value as V;
    match v {
        V::U8(x) => Some(*x as usize),
        V::U16(x) => Some(*x as usize),
        V::U32(x) => Some(*x as usize),
        V::U64(x) => usize::try_from(*x).ok(),
        V::I8(x) => usize::try_from(*x).ok(),
        V::I16(x) => usize::try_from(*x).ok(),
        V::I32(x) => usize::try_from(*x).ok(),
        V::I64(x) => usize::try_from(*x).ok(),
        _ => None,
    }
}

impl Gemma3 {
    /// Loads with `Precision::Fast`.
    pub fn load(path: &Path, device: &Device) -> Result<Gemma3, GenerateError> {
        Self::load_with(path, device, Precision::Fast)
    }

    pub fn load_with(
        path: &Path,
        device: &Device,
        precision: Precision,
    ) -> Result<Gemma3, GenerateError> {
        let content = super::gguf_tokenizer::read_header(path)?;
        Self::load_from(content, path, device, precision)
    }

    /// Loads from a header already read (`gguf_tokenizer::read_header`) of the file at `path`.
    pub fn load_from(
        content: gguf_file::Content,
        path: &Path,
        device: &Device,
        precision: Precision,
    ) -> Result<Gemma3, GenerateError> {
        let gguf_err = |message: String| GenerateError::Gguf {
            path: path.to_path_buf(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| gguf_err(e.to_string()))?;
        let arch = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_else(|| "gemma3".to_string());
        if arch != "gemma3" {
            return Err(gguf_err(format!(
                "general.architecture is {arch:?}; this loader reads gemma3 files only"
            )));
        }
        let mut l = Loader {
            precision,
            path,
            content,
            file,
            device,
            prefix: arch,
        };
        let heads = l.usize("attention.head_count")?;
        let kv_heads = l.usize("attention.head_count_kv")?;
        let blocks = l.usize("block_count")?;
        let hidden = l.usize("embedding_length")?;
        let head_dim = l
            .opt_usize("attention.key_length")
            .unwrap_or(hidden / heads.max(1));
        let window = l.usize("attention.sliding_window")?;
        let eps = l
            .opt_f32("attention.layer_norm_rms_epsilon")
            .unwrap_or(1e-6) as f64;
        let window_type = l
            .opt_usize("attention.sliding_window_type")
            .filter(|&t| t > 0)
            .unwrap_or(DEFAULT_SLIDING_WINDOW_TYPE);
        let rope_base = l.opt_f32("rope.freq_base").unwrap_or(DEFAULT_ROPE_BASE);
        let rope_local_base = l
            .opt_f32("rope.local_freq_base")
            .unwrap_or(DEFAULT_ROPE_LOCAL_BASE);
        let rope_scale = l
            .opt_f32("rope.scaling.factor")
            .filter(|&f| f > 0.0)
            .unwrap_or(1.0);
        let context = l.opt_usize("context_length").unwrap_or(DEFAULT_CONTEXT);
        let final_softcap = l
            .opt_f32("final_logit_softcapping")
            .filter(|&c| c > 0.0)
            .map(f64::from);
        let attn_softcap = l
            .opt_f32("attn_logit_softcapping")
            .filter(|&c| c > 0.0)
            .map(f64::from);
        if heads == 0
            || kv_heads == 0
            || !heads.is_multiple_of(kv_heads)
            || !head_dim.is_multiple_of(2)
        {
            return Err(gguf_err(format!(
                "inconsistent attention shape: {heads} heads, {kv_heads} key/value heads, head size {head_dim}"
            )));
        }
        // Gemma 3 27B scales queries by hidden/heads, every other size by the head size
        // (query_pre_attn_scalar in the Hugging Face config; llama.cpp keys it on the size too).
        let attn_scale = if blocks == 62 {
            1.0 / ((hidden / heads) as f64).sqrt()
        } else {
            1.0 / (head_dim as f64).sqrt()
        };

        let embed = l.qtensor("token_embd.weight")?;
        let embed = match precision {
            // Row lookups dequantize exactly whatever the type: no need to convert.
            Precision::Exact => Arc::new(embed),
            Precision::Fast | Precision::Mixed => Arc::new(l.fast(embed, "token_embd.weight")?),
        };
        let output = if l.content.tensor_infos.contains_key("output.weight") {
            l.matmul("output.weight")?
        } else if precision == Precision::Exact {
            l.exact(&embed, "token_embd.weight")?
        } else {
            QMatMul::from_arc(embed.clone())
                .map_err(|e| gguf_err(format!("token_embd.weight: {e}")))?
        };
        let tied = !l.content.tensor_infos.contains_key("output.weight");
        let output_step = match &output {
            QMatMul::QTensor(t)
                if precision != Precision::Exact && device.is_cpu() && Q8Gemv::isa().is_some() =>
            {
                Q8Gemv::from_qtensor(t).map_err(|e| gguf_err(format!("output projection: {e}")))?
            }
            _ => None,
        };
        let vocab = embed.shape().dims().first().copied().unwrap_or(0);
        let (embed, output) = match &output_step {
            Some(_) if tied => (None, None),
            Some(_) => (Some(embed), None),
            None => (Some(embed), Some(output)),
        };
        let norm = l.norm("output_norm.weight", eps)?;
        let mut layers = Vec::with_capacity(blocks);
        for i in 0..blocks {
            let p = format!("blk.{i}");
            let sliding = (i + 1) % window_type != 0;
            layers.push(Layer {
                qkv: l.proj(&[
                    format!("{p}.attn_q.weight"),
                    format!("{p}.attn_k.weight"),
                    format!("{p}.attn_v.weight"),
                ])?,
                wo: l.proj(&[format!("{p}.attn_output.weight")])?,
                q_norm: l.norm(&format!("{p}.attn_q_norm.weight"), eps)?,
                k_norm: l.norm(&format!("{p}.attn_k_norm.weight"), eps)?,
                attn_norm: l.norm(&format!("{p}.attn_norm.weight"), eps)?,
                post_attn_norm: l.norm(&format!("{p}.post_attention_norm.weight"), eps)?,
                ffn_norm: l.norm(&format!("{p}.ffn_norm.weight"), eps)?,
                post_ffn_norm: l.norm(&format!("{p}.post_ffw_norm.weight"), eps)?,
                gate_up: l.proj(&[format!("{p}.ffn_gate.weight"), format!("{p}.ffn_up.weight")])?,
                down: l.proj(&[format!("{p}.ffn_down.weight")])?,
                window: sliding.then_some(window.max(1)),
                cache: None,
            });
        }
        let rows = INITIAL_ROPE_ROWS.min(context.max(1));
        let rope_local = Rope::new(rope_local_base, 1.0, head_dim, rows, device)?;
        let rope_global = Rope::new(rope_base, rope_scale, head_dim, rows, device)?;
        Ok(Gemma3 {
            embed,
            output,
            output_step,
            vocab,
            hidden,
            heads,
            kv_heads,
            head_dim,
            attn_scale,
            attn_softcap,
            final_softcap,
            layers,
            norm,
            rope_local,
            rope_global,
            context,
            pos: 0,
            device: device.clone(),
        })
    }

    /// Additive mask (seq, seq) for a block of `seq` new tokens at position 0: causal, and for
    /// sliding layers limited to the last `window` positions.
    fn mask(&self, seq: usize, window: Option<usize>) -> candle_core::Result<Tensor> {
        let w = window.unwrap_or(usize::MAX);
        let m: Vec<f32> = (0..seq)
            .flat_map(|i| {
                (0..seq).map(move |j| {
                    if j <= i && i - j < w {
                        0.0
                    } else {
                        f32::NEG_INFINITY
                    }
                })
            })
            .collect();
        Tensor::from_vec(m, (seq, seq), &self.device)
    }

    /// Runs `tokens` at positions `self.pos..`; the caches must hold exactly the earlier ones.
    /// Only a block starting at position 0 or a single token is valid: the mask is built for
    /// those two cases, which are the only ones `start` and `step` produce.
    fn forward(&mut self, tokens: &[u32]) -> candle_core::Result<Vec<f32>> {
        let seq = tokens.len();
        let start = self.pos;
        debug_assert!(start == 0 || seq == 1);
        self.rope_local.ensure(start + seq, &self.device)?;
        self.rope_global.ensure(start + seq, &self.device)?;
        let ids = Tensor::new(tokens, &self.device)?;
        let x = match (&self.embed, &self.output_step) {
            (Some(e), _) => e.embedding(&ids)?,
            (None, Some(g)) => {
                let mut rows = vec![0f32; seq * self.hidden];
                for (&t, row) in tokens.iter().zip(rows.chunks_exact_mut(self.hidden)) {
                    g.row(t as usize, row);
                }
                Tensor::from_vec(rows, (seq, self.hidden), &self.device)?
            }
            (None, None) => {
                return Err(candle_core::Error::Msg("no token embedding".into()));
            }
        };
        let mut x = x.reshape((1, seq, self.hidden))?;
        x = (x * (self.hidden as f64).sqrt())?;
        let (mask_local, mask_global) = if seq > 1 {
            let w = self.layers.iter().find_map(|l| l.window);
            (Some(self.mask(seq, w)?), Some(self.mask(seq, None)?))
        } else {
            (None, None)
        };
        let (heads, kv_heads, head_dim) = (self.heads, self.kv_heads, self.head_dim);
        for layer in self.layers.iter_mut() {
            let (rope, mask) = match layer.window {
                Some(_) => (&self.rope_local, mask_local.as_ref()),
                None => (&self.rope_global, mask_global.as_ref()),
            };
            let residual = x.clone();
            let h = layer.attn_norm.forward(&x)?;
            let [q, k, v]: [Tensor; 3] = layer
                .qkv
                .forward(&h, seq)?
                .try_into()
                .map_err(|_| candle_core::Error::Msg("q/k/v projection count".into()))?;
            let q = q
                .contiguous()?
                .reshape((1, seq, heads, head_dim))?
                .transpose(1, 2)?;
            let k = k
                .contiguous()?
                .reshape((1, seq, kv_heads, head_dim))?
                .transpose(1, 2)?;
            let v = v
                .contiguous()?
                .reshape((1, seq, kv_heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?;
            let q = rope.apply(&layer.q_norm.forward(&q.contiguous()?)?, start)?;
            let k = rope.apply(&layer.k_norm.forward(&k.contiguous()?)?, start)?;
            let (mut k, mut v) = match layer.cache.take() {
                Some((kc, vc)) if start > 0 => {
                    (Tensor::cat(&[&kc, &k], 2)?, Tensor::cat(&[&vc, &v], 2)?)
                }
                _ => (k, v),
            };
            if seq == 1 {
                // One new token sees the last W positions, itself included: older keys can go.
                if let Some(w) = layer.window {
                    let t = k.dim(2)?;
                    if t > w {
                        k = k.narrow(2, t - w, w)?.contiguous()?;
                        v = v.narrow(2, t - w, w)?.contiguous()?;
                    }
                }
            }
            // Raw scores to attention weights: scale, soft cap, mask, softmax.
            let weights = |scores: Tensor| -> candle_core::Result<Tensor> {
                let mut att = (scores * self.attn_scale)?;
                if let Some(cap) = self.attn_softcap {
                    att = ((att / cap)?.tanh()? * cap)?;
                }
                if let Some(m) = mask {
                    att = att.broadcast_add(m)?;
                }
                candle_nn::ops::softmax_last_dim(&att)
            };
            let o = if seq == 1 {
                // One query per head: the heads that share a key/value head become rows of one
                // product against it, (kv, groups, d) x (kv, d, T), so the cache is read in
                // place. Copying it per head (repeat_kv) and transposing it were a tenth of a
                // decode step at a few hundred tokens of context. (No mask for one token.)
                let groups = heads / kv_heads;
                let q = q.reshape((1, kv_heads, groups, head_dim))?;
                let att = weights(q.matmul(&k.t()?)?)?;
                // Head h = kv * groups + g, the order repeat_kv gives the prompt pass.
                att.matmul(&v)?.reshape((1, 1, heads * head_dim))?
            } else {
                let kr = candle_transformers::utils::repeat_kv(k.clone(), heads / kv_heads)?;
                let vr = candle_transformers::utils::repeat_kv(v.clone(), heads / kv_heads)?;
                let att = weights(q.matmul(&kr.t()?.contiguous()?)?)?;
                att.matmul(&vr)?
                    .transpose(1, 2)?
                    .reshape((1, seq, heads * head_dim))?
            };
            let o = layer.wo.forward1(&o, seq)?;
            x = (layer.post_attn_norm.forward(&o)? + residual)?;

            // Keep what the next token can still see.
            if let Some(w) = layer.window {
                let t = k.dim(2)?;
                if t > w {
                    k = k.narrow(2, t - w, w)?.contiguous()?;
                    v = v.narrow(2, t - w, w)?.contiguous()?;
                }
            }
            layer.cache = Some((k, v));

            let residual = x.clone();
            let h = layer.ffn_norm.forward(&x)?;
            // Gemma's feed-forward is GeGLU with the tanh approximation of GELU.
            let [g, u]: [Tensor; 2] = layer
                .gate_up
                .forward(&h, seq)?
                .try_into()
                .map_err(|_| candle_core::Error::Msg("gate/up projection count".into()))?;
            let g = g.gelu()?;
            let f = layer.down.forward1(&(g * u)?, seq)?;
            x = (layer.post_ffn_norm.forward(&f)? + residual)?;
        }
        self.pos = start + seq;
        let last = x.i((.., seq - 1, ..))?;
        let last = self.norm.forward(&last)?;
        if let Some(out) = &self.output_step {
            let x = last.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
            let mut logits = vec![0f32; out.rows()];
            out.forward(&x, &mut logits);
            if let Some(cap) = self.final_softcap {
                let cap = cap as f32;
                logits.iter_mut().for_each(|v| *v = (*v / cap).tanh() * cap);
            }
            return Ok(logits);
        }
        let output = self
            .output
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("no output projection".into()))?;
        let mut logits = output.forward(&last)?;
        if let Some(cap) = self.final_softcap {
            logits = ((logits / cap)?.tanh()? * cap)?;
        }
        logits.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab
    }
}

impl LanguageModel for Gemma3 {
    fn start(&mut self, prompt: &[u32]) -> Result<Vec<f32>, GenerateError> {
        for l in self.layers.iter_mut() {
            l.cache = None;
        }
        self.pos = 0;
        if prompt.is_empty() {
            return Err(GenerateError::Tokenizer(
                "empty prompt: Gemma needs at least one token (<bos>)".into(),
            ));
        }
        self.check_ids(prompt)?;
        Ok(self.forward(prompt)?)
    }

    fn step(&mut self, token: u32) -> Result<Vec<f32>, GenerateError> {
        if self.pos == 0 {
            return Err(GenerateError::Tokenizer(
                "step() before start(): there is no sequence to continue".into(),
            ));
        }
        self.check_ids(&[token])?;
        Ok(self.forward(&[token])?)
    }

    fn context_length(&self) -> usize {
        self.context
    }
}

impl Gemma3 {
    fn check_ids(&self, ids: &[u32]) -> Result<(), GenerateError> {
        let n = self.vocab_size();
        match ids.iter().find(|&&t| t as usize >= n) {
            Some(t) => Err(GenerateError::Tokenizer(format!(
                "token id {t} is outside the model's vocabulary of {n}"
            ))),
            None => Ok(()),
        }
    }
}
