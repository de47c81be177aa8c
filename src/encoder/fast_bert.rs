//! A CPU forward pass for the BERT family without candle: packed variable-length batches (the
//! tokens of all sequences concatenated, attention per sequence, no padding), `Linear` layers as
//! int8 GEMMs (or f32 through the `gemm` crate), fused bias, exact-erf GELU, softmax and
//! residual + LayerNorm, and pooling per sequence. Weights are read tensor by tensor from the
//! safetensors file, so the f32 model is never held twice.

use super::kernels::{self, PackedI8, Post};
use super::EncoderError;
use rayon::prelude::*;
use std::io::{Read, Seek, SeekFrom};

/// How the fast path computes its matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Weights i8 per output channel, activations u8 per row (dynamic), i32 sums.
    Int8,
    /// f32 throughout (same results as candle up to rounding).
    F32,
}

enum Weights {
    Int8(PackedI8),
    /// `[n, k]` row-major and the bias.
    F32(Vec<f32>, Vec<f32>),
}

struct Linear {
    n: usize,
    k: usize,
    w: Weights,
}

impl Linear {
    fn new(w: Vec<f32>, n: usize, k: usize, bias: Vec<f32>, p: Precision) -> Linear {
        let w = match p {
            Precision::Int8 => Weights::Int8(PackedI8::for_isa(kernels::detect(), &w, n, k, bias)),
            Precision::F32 => Weights::F32(w, bias),
        };
        Linear { n, k, w }
    }

    /// `out [m, n] = x [m, k] · wᵀ + b`, then `post` (fused into the int8 GEMM's tiles; after
    /// the whole product on the f32 path).
    fn apply(&self, x: &[f32], m: usize, out: &mut [f32], post: Post) {
        let (n, k) = (self.n, self.k);
        match &self.w {
            Weights::Int8(p) => kernels::linear_i8(&x[..m * k], m, p, &mut out[..m * n], post),
            Weights::F32(w, b) => {
                for row in out[..m * n].chunks_exact_mut(n) {
                    row.copy_from_slice(b);
                }
                let threads = rayon::current_num_threads();
                // SAFETY: the slices hold m·k, n·k and m·n elements with the strides given.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        out.as_mut_ptr(),
                        1,
                        n as isize,
                        true,
                        x.as_ptr(),
                        1,
                        k as isize,
                        w.as_ptr(),
                        k as isize,
                        1,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        if threads > 1 {
                            gemm::Parallelism::Rayon(threads)
                        } else {
                            gemm::Parallelism::None
                        },
                    );
                }
                match post {
                    Post::None => {}
                    Post::Gelu => kernels::gelu(&mut out[..m * n]),
                    Post::AddNorm { x, g, b, eps } => {
                        kernels::add_layer_norm(&mut x[..m * n], &out[..m * n], g, b, eps)
                    }
                }
            }
        }
    }

    fn bytes(&self) -> usize {
        match &self.w {
            Weights::Int8(p) => p.bytes(),
            Weights::F32(w, b) => 4 * (w.len() + b.len()),
        }
    }
}

struct Layer {
    qkv: Linear,
    out: Linear,
    ln1: (Vec<f32>, Vec<f32>),
    up: Linear,
    down: Linear,
    ln2: (Vec<f32>, Vec<f32>),
}

pub struct FastBert {
    word: Vec<f32>,
    pos: Vec<f32>,
    typ: Vec<f32>,
    ln: (Vec<f32>, Vec<f32>),
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    ffn: usize,
    max_pos: usize,
    eps: f32,
    pub precision: Precision,
}

/// Reads named tensors from safetensors files one at a time (as f32).
struct TensorFiles {
    entries: std::collections::HashMap<String, (usize, String, Vec<usize>, u64, u64)>,
    paths: Vec<std::path::PathBuf>,
}

impl TensorFiles {
    fn open(paths: &[std::path::PathBuf]) -> Result<TensorFiles, EncoderError> {
        let mut entries = std::collections::HashMap::new();
        for (fi, p) in paths.iter().enumerate() {
            let err = |m: String| EncoderError::Config(format!("{}: {m}", p.display()));
            let mut f = std::fs::File::open(p).map_err(|source| EncoderError::Io {
                path: p.display().to_string(),
                source,
            })?;
            let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let mut n8 = [0u8; 8];
            f.read_exact(&mut n8)
                .map_err(|e| err(format!("safetensors header: {e}")))?;
            let n = u64::from_le_bytes(n8);
            if n > 100 << 20 || 8 + n > file_len {
                return Err(err("safetensors header length out of range".into()));
            }
            let mut header = vec![0u8; n as usize];
            f.read_exact(&mut header)
                .map_err(|e| err(format!("safetensors header: {e}")))?;
            let v: serde_json::Value = serde_json::from_slice(&header)
                .map_err(|e| err(format!("safetensors header: {e}")))?;
            let obj = v
                .as_object()
                .ok_or_else(|| err("safetensors header is not an object".into()))?;
            for (name, t) in obj {
                if name == "__metadata__" {
                    continue;
                }
                let dtype = t["dtype"].as_str().unwrap_or("").to_string();
                let shape: Vec<usize> = t["shape"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_u64())
                            .map(|x| x as usize)
                            .collect()
                    })
                    .unwrap_or_default();
                let off = t["data_offsets"].as_array();
                let (s, e) = match off.map(|o| (o[0].as_u64(), o[1].as_u64())) {
                    Some((Some(s), Some(e))) if s <= e && 8 + n + e <= file_len => {
                        (8 + n + s, 8 + n + e)
                    }
                    _ => return Err(err(format!("tensor {name}: bad data_offsets"))),
                };
                entries.insert(name.clone(), (fi, dtype, shape, s, e));
            }
        }
        Ok(TensorFiles {
            entries,
            paths: paths.to_vec(),
        })
    }

    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EncoderError> {
        let (fi, dtype, got, s, e) = self
            .entries
            .get(name)
            .ok_or_else(|| EncoderError::Config(format!("weights have no tensor {name}")))?;
        if got.as_slice() != shape {
            return Err(EncoderError::Config(format!(
                "tensor {name}: shape {got:?}, expected {shape:?}"
            )));
        }
        let numel: usize = shape.iter().product();
        let width = match dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => {
                return Err(EncoderError::Config(format!(
                    "tensor {name}: dtype {other} not supported by the fast path"
                )))
            }
        };
        if (e - s) as usize != numel * width {
            return Err(EncoderError::Config(format!(
                "tensor {name}: size mismatch"
            )));
        }
        let path = &self.paths[*fi];
        let io = |source| EncoderError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = std::fs::File::open(path).map_err(io)?;
        f.seek(SeekFrom::Start(*s)).map_err(io)?;
        let mut out = vec![0f32; numel];
        if width == 4 {
            // SAFETY: f32 has no invalid bit patterns; the file is little-endian like x86/arm.
            let bytes =
                unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, numel * 4) };
            f.read_exact(bytes).map_err(io)?;
            if cfg!(target_endian = "big") {
                for v in out.iter_mut() {
                    *v = f32::from_bits(v.to_bits().swap_bytes());
                }
            }
        } else {
            let mut buf = vec![0u8; numel * 2];
            f.read_exact(&mut buf).map_err(io)?;
            for (o, c) in out.iter_mut().zip(buf.chunks_exact(2)) {
                let bits = u16::from_le_bytes([c[0], c[1]]);
                *o = if dtype == "F16" {
                    half::f16::from_bits(bits).to_f32()
                } else {
                    half::bf16::from_bits(bits).to_f32()
                };
            }
        }
        Ok(out)
    }
}

/// Whether this config and these files can run on the fast path.
pub fn supported(cfg: &serde_json::Value, weights: &[std::path::PathBuf]) -> bool {
    let st = !weights.is_empty()
        && weights
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "safetensors"));
    let act = cfg["hidden_act"].as_str().unwrap_or("gelu");
    let pos = cfg["position_embedding_type"]
        .as_str()
        .unwrap_or("absolute");
    st && act == "gelu" && pos == "absolute"
}

impl FastBert {
    pub fn load(
        cfg: &serde_json::Value,
        weights: &[std::path::PathBuf],
        precision: Precision,
    ) -> Result<FastBert, EncoderError> {
        let get = |k: &str| {
            cfg[k]
                .as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| EncoderError::Config(format!("config.json has no {k}")))
        };
        let hidden = get("hidden_size")?;
        let layers_n = get("num_hidden_layers")?;
        let heads = get("num_attention_heads")?;
        let ffn = get("intermediate_size")?;
        let vocab = get("vocab_size")?;
        let max_pos = cfg["max_position_embeddings"].as_u64().unwrap_or(512) as usize;
        let types = cfg["type_vocab_size"].as_u64().unwrap_or(2) as usize;
        let eps = cfg["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32;
        if heads == 0 || hidden % heads != 0 {
            return Err(EncoderError::Config(
                "hidden_size % num_attention_heads".into(),
            ));
        }
        let files = TensorFiles::open(weights)?;
        let prefix = ["", "bert.", "model."]
            .into_iter()
            .find(|p| files.has(&format!("{p}embeddings.word_embeddings.weight")))
            .ok_or_else(|| EncoderError::Config("weights have no word embeddings".into()))?;
        let t = |name: &str, shape: &[usize]| files.get(&format!("{prefix}{name}"), shape);
        let (h, f) = (hidden, ffn);
        let word = t("embeddings.word_embeddings.weight", &[vocab, h])?;
        let pos = t("embeddings.position_embeddings.weight", &[max_pos, h])?;
        let typ = t("embeddings.token_type_embeddings.weight", &[types, h])?;
        let ln = (
            t("embeddings.LayerNorm.weight", &[h])?,
            t("embeddings.LayerNorm.bias", &[h])?,
        );
        let mut layers = Vec::with_capacity(layers_n);
        for l in 0..layers_n {
            let p = format!("encoder.layer.{l}.");
            let lt = |name: &str, shape: &[usize]| t(&format!("{p}{name}"), shape);
            let mut qkv_w = lt("attention.self.query.weight", &[h, h])?;
            qkv_w.extend(lt("attention.self.key.weight", &[h, h])?);
            qkv_w.extend(lt("attention.self.value.weight", &[h, h])?);
            let mut qkv_b = lt("attention.self.query.bias", &[h])?;
            qkv_b.extend(lt("attention.self.key.bias", &[h])?);
            qkv_b.extend(lt("attention.self.value.bias", &[h])?);
            layers.push(Layer {
                qkv: Linear::new(qkv_w, 3 * h, h, qkv_b, precision),
                out: Linear::new(
                    lt("attention.output.dense.weight", &[h, h])?,
                    h,
                    h,
                    lt("attention.output.dense.bias", &[h])?,
                    precision,
                ),
                ln1: (
                    lt("attention.output.LayerNorm.weight", &[h])?,
                    lt("attention.output.LayerNorm.bias", &[h])?,
                ),
                up: Linear::new(
                    lt("intermediate.dense.weight", &[f, h])?,
                    f,
                    h,
                    lt("intermediate.dense.bias", &[f])?,
                    precision,
                ),
                down: Linear::new(
                    lt("output.dense.weight", &[h, f])?,
                    h,
                    f,
                    lt("output.dense.bias", &[h])?,
                    precision,
                ),
                ln2: (
                    lt("output.LayerNorm.weight", &[h])?,
                    lt("output.LayerNorm.bias", &[h])?,
                ),
            });
        }
        Ok(FastBert {
            word,
            pos,
            typ,
            ln,
            layers,
            hidden,
            heads,
            ffn,
            max_pos,
            eps,
            precision,
        })
    }

    /// Bytes of weights held.
    pub fn bytes(&self) -> usize {
        4 * (self.word.len() + self.pos.len() + self.typ.len())
            + self
                .layers
                .iter()
                .map(|l| l.qkv.bytes() + l.out.bytes() + l.up.bytes() + l.down.bytes())
                .sum::<usize>()
    }

    /// Last hidden states of the packed sequences: `[Σ len, hidden]`.
    pub fn hidden_states(&self, seqs: &[&[u32]]) -> Result<Vec<f32>, EncoderError> {
        let h = self.hidden;
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let vocab = self.word.len() / h;
        let mut x = vec![0f32; total * h];
        let mut starts = Vec::with_capacity(seqs.len());
        let mut t = 0;
        for s in seqs {
            if s.len() > self.max_pos {
                return Err(EncoderError::Config(format!(
                    "sequence of {} tokens exceeds {} positions",
                    s.len(),
                    self.max_pos
                )));
            }
            starts.push(t);
            for (p, &id) in s.iter().enumerate() {
                let id = id as usize;
                if id >= vocab {
                    return Err(EncoderError::Config(format!(
                        "token id {id} ≥ vocab {vocab}"
                    )));
                }
                let row = &mut x[t * h..(t + 1) * h];
                let (w, ps, ty) = (
                    &self.word[id * h..(id + 1) * h],
                    &self.pos[p * h..(p + 1) * h],
                    &self.typ[..h],
                );
                for i in 0..h {
                    row[i] = w[i] + ps[i] + ty[i];
                }
                t += 1;
            }
        }
        kernels::add_layer_norm(&mut x, &[], &self.ln.0, &self.ln.1, self.eps);

        let mut qkv = vec![0f32; total * 3 * h];
        let mut ctx = vec![0f32; total * h];
        let mut tmp = vec![0f32; total * h];
        let mut mid = vec![0f32; total * self.ffn];
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let tasks: Vec<(usize, usize, usize)> = seqs
            .iter()
            .zip(&starts)
            .flat_map(|(s, &st)| (0..self.heads).map(move |hd| (st, s.len(), hd)))
            .collect();
        for layer in &self.layers {
            layer.qkv.apply(&x, total, &mut qkv, Post::None);
            let ctx_ptr = SendPtr(ctx.as_mut_ptr());
            let qkv_ref = &qkv;
            tasks.par_iter().for_each_init(
                || vec![0f32; 0],
                |buf, &(st, len, hd)| {
                    let lenp = len.div_ceil(16) * 16;
                    buf.resize(4 * len * d + lenp * d + lenp, 0.0);
                    let (qh, rest) = buf.split_at_mut(len * d);
                    let (kh, rest) = rest.split_at_mut(len * d);
                    let (vh, rest) = rest.split_at_mut(len * d);
                    let (oh, rest) = rest.split_at_mut(len * d);
                    let (kt, s) = rest.split_at_mut(lenp * d);
                    for i in 0..len {
                        let row = &qkv_ref[(st + i) * 3 * h..(st + i + 1) * 3 * h];
                        qh[i * d..(i + 1) * d].copy_from_slice(&row[hd * d..(hd + 1) * d]);
                        kh[i * d..(i + 1) * d].copy_from_slice(&row[h + hd * d..h + (hd + 1) * d]);
                        vh[i * d..(i + 1) * d]
                            .copy_from_slice(&row[2 * h + hd * d..2 * h + (hd + 1) * d]);
                    }
                    kernels::attention_head(qh, kh, vh, oh, kt, s, len, scale);
                    let p = ctx_ptr;
                    for i in 0..len {
                        // SAFETY: each (sequence, head) task writes its own rows × columns.
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                oh[i * d..].as_ptr(),
                                p.0.add((st + i) * h + hd * d),
                                d,
                            );
                        }
                    }
                },
            );
            let eps = self.eps;
            let post = Post::AddNorm {
                x: &mut x,
                g: &layer.ln1.0,
                b: &layer.ln1.1,
                eps,
            };
            layer.out.apply(&ctx, total, &mut tmp, post);
            layer.up.apply(&x, total, &mut mid, Post::Gelu);
            let post = Post::AddNorm {
                x: &mut x,
                g: &layer.ln2.0,
                b: &layer.ln2.1,
                eps,
            };
            layer.down.apply(&mid, total, &mut tmp, post);
        }
        Ok(x)
    }

    /// Pooled vectors (mean over the sequence's tokens, or its first token), not normalised.
    pub fn pooled(&self, seqs: &[&[u32]], cls: bool) -> Result<Vec<Vec<f32>>, EncoderError> {
        let h = self.hidden;
        let x = self.hidden_states(seqs)?;
        let mut out = Vec::with_capacity(seqs.len());
        let mut t = 0;
        for s in seqs {
            let rows = &x[t * h..(t + s.len()) * h];
            let v = if cls || s.is_empty() {
                rows.get(..h)
                    .map(|r| r.to_vec())
                    .unwrap_or_else(|| vec![0.0; h])
            } else {
                let mut acc = vec![0f64; h];
                for r in rows.chunks_exact(h) {
                    for (a, v) in acc.iter_mut().zip(r) {
                        *a += *v as f64;
                    }
                }
                acc.iter().map(|a| (*a / s.len() as f64) as f32).collect()
            };
            out.push(v);
            t += s.len();
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only for disjoint writes from parallel tasks.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
