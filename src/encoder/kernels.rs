//! CPU kernels for the fast encoder path: an int8 GEMM (weights quantised per output channel at
//! load, activations per row at run time) with AVX-512 VNNI, AVX-VNNI, AVX2, NEON (with or
//! without the dot-product extension) and portable paths chosen at run time, and the f32
//! element-wise work of a BERT layer (GELU, softmax, LayerNorm) written so that the compiler
//! vectorises it under the detected instruction set.
//!
//! Every int8 path computes the same integer sums from the same packed weights and quantised
//! rows (the tests check each path this machine can run against the portable loops). The
//! activations are u8 with a zero point; the paths whose multiply takes two signed bytes (NEON
//! `sdot`) work on `a − 128` instead and add `128 · Σw` back, which is exact.
//!
//! One choice depends on the instruction set: where the best path is AVX2 (no VNNI), weights
//! are quantised to ±64 instead of ±127 ([`weight_max`]), so that `vpmaddubsw`'s 16-bit pair
//! sums (at most 2 · 255 · 64 = 32,640) cannot saturate and the kernel needs neither the sign
//! trick nor `a − 128`: two instructions per 32 multiply-adds instead of three. Measured on the
//! real model: cosine to the reference vectors min 0.99908 (±127: 0.99936).

// The erfc fit's published coefficients are kept as printed.
#![allow(clippy::excessive_precision)]

use rayon::prelude::*;

/// Which instruction set the kernels use on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// `vpdpbusd` on 512-bit registers.
    Avx512Vnni,
    /// `vpdpbusd` on 256-bit registers (VEX encoding: Alder Lake and later, Zen 5).
    AvxVnni,
    /// `vpmaddubsw` + `vpmaddwd` on 256-bit registers.
    Avx2,
    /// AArch64 `sdot` (the dot-product extension, Armv8.2 and later).
    NeonDot,
    /// AArch64 `smull` + `sadalp` (every Armv8 core).
    Neon,
    Scalar,
}

impl Isa {
    pub const ALL: [Isa; 6] = [
        Isa::Avx512Vnni,
        Isa::AvxVnni,
        Isa::Avx2,
        Isa::NeonDot,
        Isa::Neon,
        Isa::Scalar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512Vnni => "avx512-vnni",
            Isa::AvxVnni => "avx-vnni",
            Isa::Avx2 => "avx2",
            Isa::NeonDot => "neon-dotprod",
            Isa::Neon => "neon",
            Isa::Scalar => "scalar",
        }
    }

    /// Accepts the names above, with `_` for `-` or without the dash.
    pub fn parse(s: &str) -> Option<Isa> {
        let key: String = s
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Isa::ALL
            .into_iter()
            .find(|i| i.name().replace('-', "") == key)
    }

    /// Whether this CPU can run the path.
    pub fn supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::AvxVnni => {
                is_x86_feature_detected!("avxvnni")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "aarch64")]
            Isa::NeonDot => {
                std::arch::is_aarch64_feature_detected!("neon")
                    && std::arch::is_aarch64_feature_detected!("dotprod")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// Every path this CPU can run, best first (the scalar reference last).
pub fn available() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|i| i.supported()).collect()
}

/// The best instruction set available; `BANTIN_ISA` (a name from [`Isa::name`]) forces another
/// one this CPU supports.
pub fn detect() -> Isa {
    static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *ISA.get_or_init(|| {
        let best = available()[0];
        match std::env::var("BANTIN_ISA") {
            Ok(v) if !v.is_empty() && v != "auto" => match Isa::parse(&v) {
                Some(isa) if isa.supported() => isa,
                // An override that cannot be honoured must not pass silently: benchmarks
                // labelled with it would measure another path.
                _ => {
                    eprintln!(
                        "warning: BANTIN_ISA={v} is not an instruction set this CPU can run \
                         (available: {}); using {}",
                        available()
                            .iter()
                            .map(|i| i.name())
                            .collect::<Vec<_>>()
                            .join(", "),
                        best.name()
                    );
                    best
                }
            },
            _ => best,
        }
    })
}

/// A weight matrix `[n, k]` (PyTorch `Linear` layout) quantised to i8 per output channel and
/// packed as `[n/16][k/4][16][4]`: one 64-byte block holds 4 consecutive k of 16 outputs.
pub struct PackedI8 {
    pub n: usize,
    pub k: usize,
    /// k rounded up to a multiple of 4, n to a multiple of 16 (zero weights).
    pub kp: usize,
    pub np: usize,
    data: Vec<i8>,
    scale: Vec<f32>,
    colsum: Vec<i32>,
    pub bias: Vec<f32>,
    /// The largest quantised weight magnitude: 127, or 64 for the AVX2 kernel (see the module
    /// documentation).
    pub qmax: i32,
}

/// The weight range the int8 kernel of `isa` wants: ±64 for AVX2 without VNNI, else ±127.
pub fn weight_max(isa: Isa) -> i32 {
    if isa == Isa::Avx2 {
        64
    } else {
        127
    }
}

impl PackedI8 {
    /// Weights quantised to ±127 (every path runs them; AVX2 with the sign trick).
    pub fn new(w: &[f32], n: usize, k: usize, bias: Vec<f32>) -> PackedI8 {
        PackedI8::with_range(w, n, k, bias, 127)
    }

    /// Weights quantised for the kernel of `isa` ([`weight_max`]).
    pub fn for_isa(isa: Isa, w: &[f32], n: usize, k: usize, bias: Vec<f32>) -> PackedI8 {
        PackedI8::with_range(w, n, k, bias, weight_max(isa))
    }

    /// Weights quantised per output channel to `±qmax` (1 ≤ qmax ≤ 127).
    pub fn with_range(w: &[f32], n: usize, k: usize, bias: Vec<f32>, qmax: i32) -> PackedI8 {
        assert_eq!(w.len(), n * k);
        assert_eq!(bias.len(), n);
        assert!((1..=127).contains(&qmax), "weight range ±{qmax}");
        let top = qmax as f32;
        let kp = k.div_ceil(4) * 4;
        let np = n.div_ceil(16) * 16;
        let mut data = vec![0i8; np * kp];
        let mut scale = vec![1f32; n];
        let mut colsum = vec![0i32; np];
        for c in 0..n {
            let row = &w[c * k..(c + 1) * k];
            let amax = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            let s = if amax > 0.0 { amax / top } else { 1.0 };
            scale[c] = s;
            let (blk, lane) = (c / 16, c % 16);
            for (kk, &x) in row.iter().enumerate() {
                let q = (x / s).round().clamp(-top, top) as i8;
                colsum[c] += q as i32;
                data[blk * kp * 16 + (kk / 4) * 64 + lane * 4 + kk % 4] = q;
            }
        }
        PackedI8 {
            n,
            k,
            kp,
            np,
            data,
            scale,
            colsum,
            bias,
            qmax,
        }
    }

    pub fn bytes(&self) -> usize {
        self.data.len() + 4 * (self.scale.len() + self.colsum.len() + self.bias.len())
    }
}

/// Rows quantised to u8 with a zero point each (asymmetric: GELU outputs are mostly positive).
pub struct QuantRows {
    pub m: usize,
    pub kp: usize,
    pub data: Vec<u8>,
    pub scale: Vec<f32>,
    pub zero: Vec<i32>,
}

impl QuantRows {
    pub fn new() -> QuantRows {
        QuantRows {
            m: 0,
            kp: 0,
            data: Vec::new(),
            scale: Vec::new(),
            zero: Vec::new(),
        }
    }

    /// Quantises `x` (`m` rows of `k`) into self, reusing the buffers.
    pub fn quantize(&mut self, x: &[f32], m: usize, k: usize) {
        self.quantize_with(detect(), x, m, k)
    }

    pub fn quantize_with(&mut self, isa: Isa, x: &[f32], m: usize, k: usize) {
        let kp = k.div_ceil(4) * 4;
        self.m = m;
        self.kp = kp;
        self.data.resize(m * kp, 0);
        self.scale.resize(m, 0.0);
        self.zero.resize(m, 0);
        self.data
            .par_chunks_mut(kp * 16)
            .zip(self.scale.par_chunks_mut(16))
            .zip(self.zero.par_chunks_mut(16))
            .enumerate()
            .for_each(|(chunk, ((d, s), z))| {
                for r in 0..s.len() {
                    let row = &x[(chunk * 16 + r) * k..(chunk * 16 + r + 1) * k];
                    let (sc, zp) = quantize_row(isa, row, &mut d[r * kp..r * kp + k]);
                    d[r * kp + k..(r + 1) * kp].fill(zp as u8);
                    s[r] = sc;
                    z[r] = zp;
                }
            });
    }

    /// As [`QuantRows::quantize_with`], on the calling thread (for one tile of a fused GEMM).
    pub fn quantize_serial(&mut self, isa: Isa, x: &[f32], m: usize, k: usize) {
        let kp = k.div_ceil(4) * 4;
        self.m = m;
        self.kp = kp;
        self.data.resize(m * kp, 0);
        self.scale.resize(m, 0.0);
        self.zero.resize(m, 0);
        for r in 0..m {
            let d = &mut self.data[r * kp..(r + 1) * kp];
            let (sc, zp) = quantize_row(isa, &x[r * k..(r + 1) * k], &mut d[..k]);
            d[k..].fill(zp as u8);
            self.scale[r] = sc;
            self.zero[r] = zp;
        }
    }
}

impl Default for QuantRows {
    fn default() -> Self {
        QuantRows::new()
    }
}

fn quantize_row(isa: Isa, row: &[f32], out: &mut [u8]) -> (f32, i32) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: the features were detected at run time.
        Isa::Avx512Vnni => return unsafe { quantize_row_avx512(row, out) },
        Isa::AvxVnni | Isa::Avx2 => return unsafe { quantize_row_avx2(row, out) },
        _ => {}
    }
    let _ = isa;
    let (lo, hi) = row
        .iter()
        .fold((0f32, 0f32), |(l, h), &x| (l.min(x), h.max(x)));
    let (scale, zp) = quant_params(lo, hi);
    let inv = 1.0 / scale;
    for (o, &x) in out.iter_mut().zip(row) {
        *o = x.mul_add(inv, zp).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    (scale, zp as i32)
}

/// Scale and zero point of a row whose values lie in [lo, hi] (lo ≤ 0 ≤ hi).
fn quant_params(lo: f32, hi: f32) -> (f32, f32) {
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let zp = (-lo / scale).round().clamp(0.0, 255.0);
    (scale, zp)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_row_avx512(row: &[f32], out: &mut [u8]) -> (f32, i32) {
    use std::arch::x86_64::*;
    let n = row.len();
    let full = n / 16 * 16;
    let p = row.as_ptr();
    let mut lo = _mm512_setzero_ps();
    let mut hi = _mm512_setzero_ps();
    let mut i = 0;
    while i < full {
        let v = _mm512_loadu_ps(p.add(i));
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
        i += 16;
    }
    let mut l = _mm512_reduce_min_ps(lo);
    let mut h = _mm512_reduce_max_ps(hi);
    for &x in &row[full..] {
        l = l.min(x);
        h = h.max(x);
    }
    let (scale, zp) = quant_params(l, h);
    let inv = _mm512_set1_ps(1.0 / scale);
    let z = _mm512_set1_ps(zp);
    let (zero, top) = (_mm512_setzero_ps(), _mm512_set1_ps(255.0));
    let mut i = 0;
    while i < full {
        let v = _mm512_fmadd_ps(_mm512_loadu_ps(p.add(i)), inv, z);
        let v = _mm512_min_ps(_mm512_max_ps(v, zero), top);
        // Round to nearest even, then narrow with unsigned saturation.
        let q = _mm512_cvtps_epi32(v);
        _mm_storeu_si128(out.as_mut_ptr().add(i) as *mut _, _mm512_cvtusepi32_epi8(q));
        i += 16;
    }
    let inv = 1.0 / scale;
    for (o, &x) in out[full..].iter_mut().zip(&row[full..]) {
        *o = x.mul_add(inv, zp).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    (scale, zp as i32)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_row_avx2(row: &[f32], out: &mut [u8]) -> (f32, i32) {
    use std::arch::x86_64::*;
    let n = row.len();
    let full = n / 8 * 8;
    let p = row.as_ptr();
    let mut lo = _mm256_setzero_ps();
    let mut hi = _mm256_setzero_ps();
    let mut i = 0;
    while i < full {
        let v = _mm256_loadu_ps(p.add(i));
        lo = _mm256_min_ps(lo, v);
        hi = _mm256_max_ps(hi, v);
        i += 8;
    }
    let mut lt = [0f32; 8];
    let mut ht = [0f32; 8];
    _mm256_storeu_ps(lt.as_mut_ptr(), lo);
    _mm256_storeu_ps(ht.as_mut_ptr(), hi);
    let mut l = lt.iter().fold(0f32, |a, &b| a.min(b));
    let mut h = ht.iter().fold(0f32, |a, &b| a.max(b));
    for &x in &row[full..] {
        l = l.min(x);
        h = h.max(x);
    }
    let (scale, zp) = quant_params(l, h);
    let inv = _mm256_set1_ps(1.0 / scale);
    let z = _mm256_set1_ps(zp);
    let (zero, top) = (_mm256_setzero_ps(), _mm256_set1_ps(255.0));
    let mut i = 0;
    while i < full {
        let v = _mm256_fmadd_ps(_mm256_loadu_ps(p.add(i)), inv, z);
        let v = _mm256_min_ps(_mm256_max_ps(v, zero), top);
        let q = _mm256_cvtps_epi32(v);
        // Already in [0, 255]: the saturating packs only narrow.
        let w = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256::<1>(q));
        _mm_storel_epi64(out.as_mut_ptr().add(i) as *mut _, _mm_packus_epi16(w, w));
        i += 8;
    }
    let inv = 1.0 / scale;
    for (o, &x) in out[full..].iter_mut().zip(&row[full..]) {
        *o = x.mul_add(inv, zp).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    (scale, zp as i32)
}

/// `out[m, n] = dequant(a · wᵀ) + bias`, over all rows of `a` in parallel (rayon).
pub fn gemm_i8(a: &QuantRows, w: &PackedI8, out: &mut [f32]) {
    gemm_i8_with(detect(), a, w, out)
}

/// Rows per parallel task.
const ROW_TILE: usize = 24;

pub fn gemm_i8_with(isa: Isa, a: &QuantRows, w: &PackedI8, out: &mut [f32]) {
    assert_eq!(a.kp, w.kp, "inner dimensions");
    let (m, n) = (a.m, w.n);
    assert!(out.len() >= m * n);
    out[..m * n]
        .par_chunks_mut(ROW_TILE * n)
        .enumerate()
        .for_each(|(t, o)| {
            let r0 = t * ROW_TILE;
            let rows = o.len() / n;
            tile(isa, a, w, r0, rows, o);
        });
}

/// What a fused GEMM does to each finished tile of rows while it is still in cache.
pub enum Post<'a> {
    None,
    /// Exact GELU in place.
    Gelu,
    /// `x = LayerNorm(x + out)` on the tile's rows of `x` (`[m, n]`).
    AddNorm {
        x: &'a mut [f32],
        g: &'a [f32],
        b: &'a [f32],
        eps: f32,
    },
}

/// `out[m, n] = x[m, k] · wᵀ + bias`, then `post`, in one parallel pass: each task quantises its
/// own rows, multiplies them by all of `w` and finishes them, so a `Linear` costs one rayon
/// barrier instead of three (quantise, multiply, element-wise op).
pub fn linear_i8(x: &[f32], m: usize, w: &PackedI8, out: &mut [f32], post: Post) {
    linear_i8_with(detect(), x, m, w, out, post)
}

pub fn linear_i8_with(isa: Isa, x: &[f32], m: usize, w: &PackedI8, out: &mut [f32], post: Post) {
    let (k, n) = (w.k, w.n);
    assert!(x.len() >= m * k && out.len() >= m * n);
    let run = |q: &mut QuantRows, t: usize, o: &mut [f32]| {
        let rows = o.len() / n;
        let r0 = t * ROW_TILE;
        q.quantize_serial(isa, &x[r0 * k..(r0 + rows) * k], rows, k);
        tile(isa, q, w, 0, rows, o);
    };
    let out = &mut out[..m * n];
    match post {
        Post::AddNorm { x: dst, g, b, eps } => {
            assert!(dst.len() >= m * n && g.len() == n);
            out.par_chunks_mut(ROW_TILE * n)
                .zip(dst[..m * n].par_chunks_mut(ROW_TILE * n))
                .enumerate()
                .for_each_init(QuantRows::new, |q, (t, (o, d))| {
                    run(q, t, o);
                    add_layer_norm_chunk(d, o, g, b, eps);
                });
        }
        post => {
            let gelu = matches!(post, Post::Gelu);
            out.par_chunks_mut(ROW_TILE * n).enumerate().for_each_init(
                QuantRows::new,
                |q, (t, o)| {
                    run(q, t, o);
                    if gelu {
                        gelu_chunk(o);
                    }
                },
            );
        }
    }
}

/// Rows `r0..r0+rows` of `a` times all of `w`, dequantised into `out` (`rows × n`).
fn tile(isa: Isa, a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
    assert_eq!(a.kp, w.kp, "inner dimensions");
    assert!(r0 + rows <= a.m && out.len() >= rows * w.n);
    match isa {
        // SAFETY (all arms): the features were detected at run time (callers pass an `Isa`
        // from `detect`/`available`, whose `supported` checked them); the kernels stay inside
        // the buffers whose sizes are asserted above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni => unsafe { vnni::tile(a, w, r0, rows, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::AvxVnni => unsafe { avxvnni::tile(a, w, r0, rows, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::tile(a, w, r0, rows, out) },
        #[cfg(target_arch = "aarch64")]
        Isa::NeonDot => unsafe { neon::tile_dot(a, w, r0, rows, out) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::tile_mull(a, w, r0, rows, out) },
        _ => scalar_tile(a, w, r0, rows, out),
    }
}

/// The epilogue every path shares: `(Σ a·w − zero·Σw) · scale_a · scale_w + bias`, one
/// rounding (`mul_add`), so that equal integer sums give bit-equal outputs.
#[inline(always)]
fn dequant_one(sum: i32, za: i32, colsum: i32, sa: f32, sw: f32, bias: f32) -> f32 {
    ((sum - za * colsum) as f32).mul_add(sa * sw, bias)
}

/// Portable reference: the plain sums of u8 × i8 products.
fn scalar_tile(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
    let kq = w.kp / 4;
    for r in 0..rows {
        let ar = &a.data[(r0 + r) * a.kp..(r0 + r + 1) * a.kp];
        let (sa, za) = (a.scale[r0 + r], a.zero[r0 + r]);
        for blk in 0..w.np / 16 {
            let b = &w.data[blk * kq * 64..(blk + 1) * kq * 64];
            let mut s = [0i32; 16];
            for g in 0..kq {
                let av = &ar[g * 4..g * 4 + 4];
                let bg = &b[g * 64..g * 64 + 64];
                for (lane, sl) in s.iter_mut().enumerate() {
                    for q in 0..4 {
                        *sl += av[q] as i32 * bg[lane * 4 + q] as i32;
                    }
                }
            }
            for (lane, &sum) in s.iter().enumerate() {
                let c = blk * 16 + lane;
                if c < w.n {
                    out[r * w.n + c] = dequant_one(sum, za, w.colsum[c], sa, w.scale[c], w.bias[c]);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{PackedI8, QuantRows};
    use std::arch::x86_64::*;

    const MR: usize = 6;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn tile(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
        let blocks = w.np / 16;
        let mut blk = 0;
        while blk < blocks {
            let nv = (blocks - blk).min(4);
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(MR);
                match (mr, nv) {
                    (6, 4) => micro::<6, 4>(a, w, r0 + r, blk, out, r),
                    (5, 4) => micro::<5, 4>(a, w, r0 + r, blk, out, r),
                    (4, 4) => micro::<4, 4>(a, w, r0 + r, blk, out, r),
                    (3, 4) => micro::<3, 4>(a, w, r0 + r, blk, out, r),
                    (2, 4) => micro::<2, 4>(a, w, r0 + r, blk, out, r),
                    (1, 4) => micro::<1, 4>(a, w, r0 + r, blk, out, r),
                    (_, _) => {
                        // Column tail: one block of 16 at a time, one row at a time.
                        for rr in 0..mr {
                            for b in 0..nv {
                                micro::<1, 1>(a, w, r0 + r + rr, blk + b, out, r + rr);
                            }
                        }
                    }
                }
                r += mr;
            }
            blk += nv;
        }
    }

    #[inline(always)]
    unsafe fn micro<const R: usize, const V: usize>(
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bstride = kq * 64;
        let bp = w.data.as_ptr().add(blk * bstride);
        let ap = a.data.as_ptr().add(row * a.kp);
        let mut c = [[_mm512_setzero_si512(); V]; R];
        for g in 0..kq {
            let mut b = [_mm512_setzero_si512(); V];
            for (j, bj) in b.iter_mut().enumerate() {
                *bj = _mm512_loadu_si512(bp.add(j * bstride + g * 64) as *const _);
            }
            for (i, ci) in c.iter_mut().enumerate() {
                let av =
                    _mm512_set1_epi32((ap.add(i * a.kp + g * 4) as *const i32).read_unaligned());
                for j in 0..V {
                    ci[j] = _mm512_dpbusd_epi32(ci[j], av, b[j]);
                }
            }
        }
        // Dequantise in registers: (acc − zero·colsum) · scale_a · scale_w + bias.
        for (i, ci) in c.iter().enumerate() {
            let za = _mm512_set1_epi32(a.zero[row + i]);
            let sa = _mm512_set1_ps(a.scale[row + i]);
            for (j, cij) in ci.iter().enumerate() {
                let col = (blk + j) * 16;
                let cs = _mm512_loadu_si512(w.colsum.as_ptr().add(col) as *const _);
                let v = _mm512_sub_epi32(*cij, _mm512_mullo_epi32(za, cs));
                let left = w.n.saturating_sub(col).min(16);
                let mask: __mmask16 = if left == 16 {
                    0xffff
                } else {
                    (1u16 << left) - 1
                };
                let ws = _mm512_maskz_loadu_ps(mask, w.scale.as_ptr().add(col));
                let b = _mm512_maskz_loadu_ps(mask, w.bias.as_ptr().add(col));
                let f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(sa, ws), b);
                let dst = out.as_mut_ptr().add((out_row + i) * w.n + col);
                _mm512_mask_storeu_ps(dst, mask, f);
            }
        }
    }
}

/// The 256-bit epilogue shared by the AVX-VNNI and AVX2 kernels: two registers of 8 sums for
/// the 16 outputs of block `blk`, already corrected by `−zero·colsum` through `zc` (the factor
/// that multiplies colsum: `−zero`, or `128 − zero` where the kernel summed `a − 128`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_block_256(
    sums: [std::arch::x86_64::__m256i; 2],
    zc: i32,
    sa: f32,
    w: &PackedI8,
    blk: usize,
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let col = blk * 16;
    let mut tmp = [0f32; 16];
    let sa = _mm256_set1_ps(sa);
    let zc = _mm256_set1_epi32(zc);
    // The scale and bias vectors are n long: read the last partial block through a copy.
    let left = w.n - col;
    let (mut ws, mut bs) = ([0f32; 16], [0f32; 16]);
    let (wsp, bsp) = if left >= 16 {
        (w.scale.as_ptr().add(col), w.bias.as_ptr().add(col))
    } else {
        ws[..left].copy_from_slice(&w.scale[col..]);
        bs[..left].copy_from_slice(&w.bias[col..]);
        (ws.as_ptr(), bs.as_ptr())
    };
    for (h, s) in sums.iter().enumerate() {
        let cs = _mm256_loadu_si256(w.colsum.as_ptr().add(col + 8 * h) as *const _);
        let v = _mm256_add_epi32(*s, _mm256_mullo_epi32(zc, cs));
        let f = _mm256_fmadd_ps(
            _mm256_cvtepi32_ps(v),
            _mm256_mul_ps(sa, _mm256_loadu_ps(wsp.add(8 * h))),
            _mm256_loadu_ps(bsp.add(8 * h)),
        );
        if left >= 16 {
            _mm256_storeu_ps(dst.as_mut_ptr().add(col + 8 * h), f);
        } else {
            _mm256_storeu_ps(tmp.as_mut_ptr().add(8 * h), f);
        }
    }
    if left < 16 {
        dst[col..col + left].copy_from_slice(&tmp[..left]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avxvnni {
    //! `vpdpbusd` on 256-bit registers: u8 × i8 with 32-bit sums, like AVX-512 VNNI at half
    //! the width, for CPUs that have AVX-VNNI but not AVX-512.
    use super::{store_block_256, PackedI8, QuantRows};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma,avxvnni")]
    pub unsafe fn tile(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
        for blk in 0..w.np / 16 {
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(6);
                match mr {
                    6 => micro::<6>(a, w, r0 + r, blk, out, r),
                    5 => micro::<5>(a, w, r0 + r, blk, out, r),
                    4 => micro::<4>(a, w, r0 + r, blk, out, r),
                    3 => micro::<3>(a, w, r0 + r, blk, out, r),
                    2 => micro::<2>(a, w, r0 + r, blk, out, r),
                    _ => micro::<1>(a, w, r0 + r, blk, out, r),
                }
                r += mr;
            }
        }
    }

    /// `R` rows × 16 outputs: 2R accumulators, 2 weight registers, 1 broadcast.
    #[inline(always)]
    unsafe fn micro<const R: usize>(
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bp = w.data.as_ptr().add(blk * kq * 64);
        let ap = a.data.as_ptr().add(row * a.kp);
        let mut c = [[_mm256_setzero_si256(); 2]; R];
        for g in 0..kq {
            let b0 = _mm256_loadu_si256(bp.add(g * 64) as *const _);
            let b1 = _mm256_loadu_si256(bp.add(g * 64 + 32) as *const _);
            for (i, ci) in c.iter_mut().enumerate() {
                let av =
                    _mm256_set1_epi32((ap.add(i * a.kp + g * 4) as *const i32).read_unaligned());
                ci[0] = _mm256_dpbusd_avx_epi32(ci[0], av, b0);
                ci[1] = _mm256_dpbusd_avx_epi32(ci[1], av, b1);
            }
        }
        for (i, ci) in c.iter().enumerate() {
            let dst = &mut out[(out_row + i) * w.n..(out_row + i + 1) * w.n];
            store_block_256(*ci, -a.zero[row + i], a.scale[row + i], w, blk, dst);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! No VNNI: `vpmaddubsw` (u8 × i8, adjacent pairs summed to i16) then `vpmaddwd` with ones
    //! (i16 pairs to i32).
    //!
    //! Weights packed for this path (±64, [`super::weight_max`]): `a · w` directly, each pair
    //! sum at most 2 · 255 · 64 = 32,640 < 32,767 (`micro64`).
    //!
    //! Weights up to ±127 (packed for another path): a u8 activation up to 255 times 127 could
    //! saturate the pair sum, so the kernel multiplies `a − 128` (in [−128, 127]) instead, with
    //! the sign moved onto the weight: `|a − 128| · (sign(a − 128) · w)`; each pair sum is then
    //! at most 2 · 128 · 127 = 32,512, and `128 · Σw` is added back in the epilogue (`micro`).
    use super::{store_block_256, PackedI8, QuantRows};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
        if w.qmax <= 64 {
            for blk in 0..w.np / 16 {
                let mut r = 0;
                while r < rows {
                    let mr = (rows - r).min(4);
                    match mr {
                        4 => micro64::<4>(a, w, r0 + r, blk, out, r),
                        3 => micro64::<3>(a, w, r0 + r, blk, out, r),
                        2 => micro64::<2>(a, w, r0 + r, blk, out, r),
                        _ => micro64::<1>(a, w, r0 + r, blk, out, r),
                    }
                    r += mr;
                }
            }
            return;
        }
        // The tile's activations once as `a − 128` (the sign source) and `|a − 128|` (the
        // unsigned factor), so that the inner loop only broadcasts them.
        let kp = a.kp;
        let src = &a.data[r0 * kp..(r0 + rows) * kp];
        let mut sgn = vec![0u8; src.len()];
        let mut mag = vec![0u8; src.len()];
        let flip = _mm256_set1_epi8(-128);
        let full = src.len() / 32 * 32;
        let mut i = 0;
        while i < full {
            let s = _mm256_xor_si256(_mm256_loadu_si256(src.as_ptr().add(i) as *const _), flip);
            _mm256_storeu_si256(sgn.as_mut_ptr().add(i) as *mut _, s);
            _mm256_storeu_si256(mag.as_mut_ptr().add(i) as *mut _, _mm256_abs_epi8(s));
            i += 32;
        }
        for i in full..src.len() {
            let s = (src[i] ^ 0x80) as i8;
            sgn[i] = s as u8;
            mag[i] = s.unsigned_abs();
        }
        for blk in 0..w.np / 16 {
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(4);
                let (s, m) = (&sgn[r * kp..], &mag[r * kp..]);
                match mr {
                    4 => micro::<4>(s, m, kp, a, w, r0 + r, blk, out, r),
                    3 => micro::<3>(s, m, kp, a, w, r0 + r, blk, out, r),
                    2 => micro::<2>(s, m, kp, a, w, r0 + r, blk, out, r),
                    _ => micro::<1>(s, m, kp, a, w, r0 + r, blk, out, r),
                }
                r += mr;
            }
        }
    }

    /// `R` rows × 16 outputs (two registers of 8 outputs × 4 k each). Per row and k-group:
    /// two broadcasts (loads only), then for each weight register `vpsignb`, `vpmaddubsw`,
    /// `vpmaddwd` and `vpaddd`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn micro<const R: usize>(
        sgn: &[u8],
        mag: &[u8],
        kp: usize,
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bp = w.data.as_ptr().add(blk * kq * 64);
        let (sp, mp) = (sgn.as_ptr(), mag.as_ptr());
        let ones = _mm256_set1_epi16(1);
        let mut c = [[_mm256_setzero_si256(); 2]; R];
        // vbroadcastss from memory is a pure load (no shuffle port), unlike vpbroadcastd from
        // a register.
        let bcast = |p: *const u8| _mm256_castps_si256(_mm256_broadcast_ss(&*(p as *const f32)));
        for g in 0..kq {
            let b0 = _mm256_loadu_si256(bp.add(g * 64) as *const _);
            let b1 = _mm256_loadu_si256(bp.add(g * 64 + 32) as *const _);
            for (i, ci) in c.iter_mut().enumerate() {
                let s = bcast(sp.add(i * kp + g * 4));
                let m = bcast(mp.add(i * kp + g * 4));
                let p0 = _mm256_maddubs_epi16(m, _mm256_sign_epi8(b0, s));
                let p1 = _mm256_maddubs_epi16(m, _mm256_sign_epi8(b1, s));
                ci[0] = _mm256_add_epi32(ci[0], _mm256_madd_epi16(p0, ones));
                ci[1] = _mm256_add_epi32(ci[1], _mm256_madd_epi16(p1, ones));
            }
        }
        for (i, ci) in c.iter().enumerate() {
            let dst = &mut out[(out_row + i) * w.n..(out_row + i + 1) * w.n];
            store_block_256(*ci, 128 - a.zero[row + i], a.scale[row + i], w, blk, dst);
        }
    }

    /// `R` rows × 16 outputs on ±64 weights: per row and k-group one broadcast (a load), then
    /// for each weight register `vpmaddubsw`, `vpmaddwd` and `vpaddd`.
    #[inline(always)]
    unsafe fn micro64<const R: usize>(
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bp = w.data.as_ptr().add(blk * kq * 64);
        let ap = a.data.as_ptr().add(row * a.kp);
        let kp = a.kp;
        let ones = _mm256_set1_epi16(1);
        let mut c = [[_mm256_setzero_si256(); 2]; R];
        let bcast = |p: *const u8| _mm256_castps_si256(_mm256_broadcast_ss(&*(p as *const f32)));
        for g in 0..kq {
            let b0 = _mm256_loadu_si256(bp.add(g * 64) as *const _);
            let b1 = _mm256_loadu_si256(bp.add(g * 64 + 32) as *const _);
            for (i, ci) in c.iter_mut().enumerate() {
                let av = bcast(ap.add(i * kp + g * 4));
                let p0 = _mm256_maddubs_epi16(av, b0);
                let p1 = _mm256_maddubs_epi16(av, b1);
                ci[0] = _mm256_add_epi32(ci[0], _mm256_madd_epi16(p0, ones));
                ci[1] = _mm256_add_epi32(ci[1], _mm256_madd_epi16(p1, ones));
            }
        }
        for (i, ci) in c.iter().enumerate() {
            let dst = &mut out[(out_row + i) * w.n..(out_row + i + 1) * w.n];
            store_block_256(*ci, -a.zero[row + i], a.scale[row + i], w, blk, dst);
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    //! NEON multiplies two signed bytes (`sdot`, `smull`), so the kernels take `a − 128` (the
    //! u8 activation with its top bit flipped) and add `128 · Σw` back in the epilogue.
    //! Weights are read in the same `[16 outputs][4 k]` blocks as on x86: one 16-byte register
    //! holds 4 k of 4 outputs.
    use super::{dequant_one, PackedI8, QuantRows};
    use std::arch::aarch64::*;
    use std::arch::asm;

    /// `acc[o] += Σ_q w[4o + q] · a[4L + q]`: `sdot` by element. The intrinsic is not stable
    /// in Rust yet, hence the one instruction of assembly.
    macro_rules! sdot_lane {
        ($acc:expr, $w:expr, $a:expr, $lane:literal) => {
            asm!(
                concat!("sdot {0:v}.4s, {1:v}.16b, {2:v}.4b[", $lane, "]"),
                inout(vreg) $acc,
                in(vreg) $w,
                in(vreg) $a,
                options(pure, nomem, nostack, preserves_flags)
            )
        };
    }

    /// Writes the 16 sums of block `blk` for one row: `sums` are over `a − 128`.
    #[inline(always)]
    fn finish(
        sums: &[i32; 16],
        a: &QuantRows,
        row: usize,
        w: &PackedI8,
        blk: usize,
        dst: &mut [f32],
    ) {
        let (sa, za) = (a.scale[row], a.zero[row]);
        for (lane, &s) in sums.iter().enumerate() {
            let c = blk * 16 + lane;
            if c < w.n {
                // Σ a·w = Σ (a − 128)·w + 128·Σw, exactly (i32 cannot overflow here:
                // |Σ| ≤ k · 255 · 127).
                let sum = s + 128 * w.colsum[c];
                dst[c] = dequant_one(sum, za, w.colsum[c], sa, w.scale[c], w.bias[c]);
            }
        }
    }

    #[target_feature(enable = "neon,dotprod")]
    pub unsafe fn tile_dot(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
        for blk in 0..w.np / 16 {
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(4);
                match mr {
                    4 => micro_dot::<4>(a, w, r0 + r, blk, out, r),
                    3 => micro_dot::<3>(a, w, r0 + r, blk, out, r),
                    2 => micro_dot::<2>(a, w, r0 + r, blk, out, r),
                    _ => micro_dot::<1>(a, w, r0 + r, blk, out, r),
                }
                r += mr;
            }
        }
    }

    /// `R` rows × 16 outputs: 4R accumulators (4 outputs each), 4 weight registers, and one
    /// 16-byte activation register per row that feeds four k-groups through `sdot`'s lanes.
    #[inline(always)]
    unsafe fn micro_dot<const R: usize>(
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bp = w.data.as_ptr().add(blk * kq * 64);
        let ap = a.data.as_ptr().add(row * a.kp);
        let flip = vdupq_n_u8(0x80);
        let mut c = [[vdupq_n_s32(0); 4]; R];
        let mut g = 0;
        while g + 4 <= kq {
            let mut av = [vdupq_n_s8(0); R];
            for (i, v) in av.iter_mut().enumerate() {
                *v = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(ap.add(i * a.kp + g * 4)), flip));
            }
            macro_rules! step {
                ($lane:literal) => {
                    let gg = g + $lane;
                    let b = [
                        vld1q_s8(bp.add(gg * 64)),
                        vld1q_s8(bp.add(gg * 64 + 16)),
                        vld1q_s8(bp.add(gg * 64 + 32)),
                        vld1q_s8(bp.add(gg * 64 + 48)),
                    ];
                    for i in 0..R {
                        for j in 0..4 {
                            sdot_lane!(c[i][j], b[j], av[i], $lane);
                        }
                    }
                };
            }
            step!(0);
            step!(1);
            step!(2);
            step!(3);
            g += 4;
        }
        while g < kq {
            let b = [
                vld1q_s8(bp.add(g * 64)),
                vld1q_s8(bp.add(g * 64 + 16)),
                vld1q_s8(bp.add(g * 64 + 32)),
                vld1q_s8(bp.add(g * 64 + 48)),
            ];
            for i in 0..R {
                let x = (ap.add(i * a.kp + g * 4) as *const u32).read_unaligned();
                let v = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(x)), flip));
                for j in 0..4 {
                    sdot_lane!(c[i][j], b[j], v, 0);
                }
            }
            g += 1;
        }
        for (i, ci) in c.iter().enumerate() {
            let mut s = [0i32; 16];
            for (j, v) in ci.iter().enumerate() {
                vst1q_s32(s.as_mut_ptr().add(4 * j), *v);
            }
            let dst = &mut out[(out_row + i) * w.n..(out_row + i + 1) * w.n];
            finish(&s, a, row + i, w, blk, dst);
        }
    }

    #[target_feature(enable = "neon")]
    pub unsafe fn tile_mull(a: &QuantRows, w: &PackedI8, r0: usize, rows: usize, out: &mut [f32]) {
        for blk in 0..w.np / 16 {
            let mut r = 0;
            while r < rows {
                let mr = (rows - r).min(2);
                match mr {
                    2 => micro_mull::<2>(a, w, r0 + r, blk, out, r),
                    _ => micro_mull::<1>(a, w, r0 + r, blk, out, r),
                }
                r += mr;
            }
        }
    }

    /// Without `sdot`: `smull`/`smull2` (i8 × i8 → i16, exact: |product| ≤ 128 · 127) and
    /// `sadalp` (adjacent i16 pairs added into i32 accumulators). Each weight register gives
    /// two accumulators of [o₀(k₀+k₁), o₀(k₂+k₃), o₁(k₀+k₁), o₁(k₂+k₃)] and their `addp` is
    /// the 4 outputs' sums.
    #[inline(always)]
    unsafe fn micro_mull<const R: usize>(
        a: &QuantRows,
        w: &PackedI8,
        row: usize,
        blk: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        let kq = w.kp / 4;
        let bp = w.data.as_ptr().add(blk * kq * 64);
        let ap = a.data.as_ptr().add(row * a.kp);
        let flip = vdupq_n_u8(0x80);
        let mut lo = [[vdupq_n_s32(0); 4]; R];
        let mut hi = [[vdupq_n_s32(0); 4]; R];
        for g in 0..kq {
            let b = [
                vld1q_s8(bp.add(g * 64)),
                vld1q_s8(bp.add(g * 64 + 16)),
                vld1q_s8(bp.add(g * 64 + 32)),
                vld1q_s8(bp.add(g * 64 + 48)),
            ];
            for i in 0..R {
                let x = (ap.add(i * a.kp + g * 4) as *const u32).read_unaligned();
                let v = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(x)), flip));
                let vl = vget_low_s8(v);
                for j in 0..4 {
                    lo[i][j] = vpadalq_s16(lo[i][j], vmull_s8(vget_low_s8(b[j]), vl));
                    hi[i][j] = vpadalq_s16(hi[i][j], vmull_high_s8(b[j], v));
                }
            }
        }
        for i in 0..R {
            let mut s = [0i32; 16];
            for j in 0..4 {
                vst1q_s32(s.as_mut_ptr().add(4 * j), vpaddq_s32(lo[i][j], hi[i][j]));
            }
            let dst = &mut out[(out_row + i) * w.n..(out_row + i + 1) * w.n];
            finish(&s, a, row + i, w, blk, dst);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// f32 element-wise kernels. Each is a generic `#[inline(always)]` body instantiated under the
// detected target features, so that LLVM vectorises it with AVX-512 or AVX2.

macro_rules! dispatch {
    ($vis:vis fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? => $body:ident) => {
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,fma")]
                unsafe fn v512($($arg: $ty),*) $(-> $ret)? { $body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v256($($arg: $ty),*) $(-> $ret)? { $body($($arg),*) }
                match detect() {
                    // SAFETY: the features were detected at run time.
                    Isa::Avx512Vnni => return unsafe { v512($($arg),*) },
                    Isa::AvxVnni | Isa::Avx2 => return unsafe { v256($($arg),*) },
                    _ => {}
                }
            }
            $body($($arg),*)
        }
    };
}

/// e^x with about 2 ulp of error on [-87, 88], vectorisable: no libm call and no float-to-int
/// cast (rounding and 2^n come from the 1.5·2^23 "magic number" trick).
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    let x = if x < -87.3 { -87.3 } else { x };
    let x = if x > 88.7 { 88.7 } else { x };
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC; // round(x · log2 e)
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    // e^r on [-ln2/2, ln2/2]: Taylor to degree 7 (relative error < 2e-8).
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // The low mantissa bits of t hold n (two's complement): shift them into the exponent.
    let bits = t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127) << 23;
    p * f32::from_bits(bits)
}

/// erf(x), |error| < 1.2e-7 (Abramowitz & Stegun 7.1.28-style rational with a fast exp:
/// Numerical Recipes' erfc Chebyshev fit).
#[inline(always)]
pub fn fast_erf(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * fast_exp(poly);
    let e = 1.0 - erfc;
    if x < 0.0 {
        -e
    } else {
        e
    }
}

#[inline(always)]
fn gelu_body(x: &mut [f32]) {
    for v in x.iter_mut() {
        let a = *v;
        *v = 0.5 * a * (1.0 + fast_erf(a * std::f32::consts::FRAC_1_SQRT_2));
    }
}

fn gelu_chunk(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match detect() {
        // SAFETY: the features were detected at run time.
        Isa::Avx512Vnni => return unsafe { simd512::gelu(x) },
        Isa::AvxVnni | Isa::Avx2 => return unsafe { simd256::gelu(x) },
        _ => {}
    }
    gelu_body(x)
}

/// Exact (erf) GELU in place, in parallel.
pub fn gelu(x: &mut [f32]) {
    x.par_chunks_mut(16 * 1024).for_each(gelu_chunk);
}

#[inline(always)]
fn softmax_body(x: &mut [f32]) {
    let mut m = f32::NEG_INFINITY;
    for &v in x.iter() {
        m = m.max(v);
    }
    let mut s = 0f32;
    for v in x.iter_mut() {
        *v = fast_exp(*v - m);
        s += *v;
    }
    let inv = 1.0 / s;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

dispatch!(pub fn softmax(x: &mut [f32]) => softmax_body);

/// Sum of a slice with 16 independent lanes (vectorises without reassociating).
#[inline(always)]
fn lane_sum(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for c in &mut chunks {
        for l in 0..16 {
            acc[l] += f(c[l]);
        }
    }
    let mut s = 0f32;
    for &v in chunks.remainder() {
        s += f(v);
    }
    acc.iter().sum::<f32>() + s
}

/// `x = LayerNorm(x + r)` for rows of `h` (r optional).
#[inline(always)]
fn add_layer_norm_body(x: &mut [f32], r: &[f32], g: &[f32], b: &[f32], eps: f32) {
    let h = g.len();
    for (i, row) in x.chunks_exact_mut(h).enumerate() {
        if !r.is_empty() {
            for (v, a) in row.iter_mut().zip(&r[i * h..(i + 1) * h]) {
                *v += a;
            }
        }
        let mean = lane_sum(row, |v| v) / h as f32;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, gg), bb) in row.iter_mut().zip(g).zip(b) {
            *v = (*v - mean) * inv * gg + bb;
        }
    }
}

dispatch!(fn add_layer_norm_chunk(x: &mut [f32], r: &[f32], g: &[f32], b: &[f32], eps: f32) => add_layer_norm_body);

pub fn add_layer_norm(x: &mut [f32], r: &[f32], g: &[f32], b: &[f32], eps: f32) {
    let h = g.len();
    const ROWS: usize = 32;
    x.par_chunks_mut(ROWS * h).enumerate().for_each(|(i, xc)| {
        let rc = if r.is_empty() {
            &r[..0]
        } else {
            &r[i * ROWS * h..i * ROWS * h + xc.len()]
        };
        add_layer_norm_chunk(xc, rc, g, b, eps)
    });
}

/// `y[j] += a · x[j]`.
#[inline(always)]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yy, xx) in y.iter_mut().zip(x) {
        *yy += a * xx;
    }
}

/// One head of attention over one sequence of `len` tokens. `q`, `k`, `v`: `[len, d]`
/// contiguous; `out` `[len, d]`; scratch: `kt` `[d, lenp]` and `s` `[lenp]`, where `lenp` ≥ `len`
/// is a multiple of 16 (padding columns are kept at zero so every row runs on full vectors).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn attention_body(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    kt: &mut [f32],
    s: &mut [f32],
    len: usize,
    scale: f32,
) {
    let d = q.len() / len;
    let lenp = s.len();
    kt.fill(0.0);
    for j in 0..len {
        for e in 0..d {
            kt[e * lenp + j] = k[j * d + e];
        }
    }
    for i in 0..len {
        s.fill(0.0);
        for e in 0..d {
            axpy(q[i * d + e] * scale, &kt[e * lenp..(e + 1) * lenp], s);
        }
        softmax_body(&mut s[..len]);
        let o = &mut out[i * d..(i + 1) * d];
        o.fill(0.0);
        for j in 0..len {
            axpy(s[j], &v[j * d..(j + 1) * d], o);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn attention_head(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    kt: &mut [f32],
    s: &mut [f32],
    len: usize,
    scale: f32,
) {
    #[cfg(target_arch = "x86_64")]
    match detect() {
        // SAFETY: the features were detected at run time; lengths are checked inside.
        Isa::Avx512Vnni if (q.len() / len).is_multiple_of(16) && s.len().is_multiple_of(16) => {
            return unsafe { simd512::attention(q, k, v, out, kt, s, len, scale) }
        }
        Isa::Avx512Vnni | Isa::AvxVnni | Isa::Avx2
            if (q.len() / len).is_multiple_of(8) && s.len().is_multiple_of(8) =>
        {
            return unsafe { simd256::attention(q, k, v, out, kt, s, len, scale) }
        }
        Isa::Avx512Vnni | Isa::AvxVnni | Isa::Avx2 => {
            return unsafe { attention_v256(q, k, v, out, kt, s, len, scale) }
        }
        _ => {}
    }
    attention_body(q, k, v, out, kt, s, len, scale)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn attention_v256(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    out: &mut [f32],
    kt: &mut [f32],
    s: &mut [f32],
    len: usize,
    scale: f32,
) {
    attention_body(q, k, v, out, kt, s, len, scale)
}

#[cfg(target_arch = "x86_64")]
mod simd512 {
    //! Hand-written AVX-512 versions of the hottest f32 loops (FMA, register accumulators).
    use std::arch::x86_64::*;

    /// The same algorithm as `fast_exp`, 16 lanes.
    #[inline(always)]
    pub unsafe fn exp(x: __m512) -> __m512 {
        let magic = _mm512_set1_ps(12_582_912.0);
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_set1_ps(-87.3)),
            _mm512_set1_ps(88.7),
        );
        let t = _mm512_fmadd_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E), magic);
        let n = _mm512_sub_ps(t, magic);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_145_75), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428_606_8e-6), r);
        let mut p = _mm512_set1_ps(1.0 / 5040.0);
        for c in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(
            _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic)),
            _mm512_set1_epi32(127),
        ));
        _mm512_mul_ps(p, _mm512_castsi512_ps(bits))
    }

    /// Exact GELU, 0.5·x·(1 + erf(x/√2)), erf as in `fast_erf`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn gelu(x: &mut [f32]) {
        let n = x.len() / 16 * 16;
        let p = x.as_mut_ptr();
        let coef = [
            0.170_872_77f32,
            -0.822_152_23,
            1.488_515_87,
            -1.135_203_98,
            0.278_868_07,
            -0.186_288_06,
            0.096_784_18,
            0.374_091_96,
            1.000_023_7,
        ];
        let one = _mm512_set1_ps(1.0);
        let half = _mm512_set1_ps(0.5);
        let mut i = 0;
        while i < n {
            let a = _mm512_loadu_ps(p.add(i));
            let u = _mm512_mul_ps(a, _mm512_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
            let z = _mm512_abs_ps(u);
            let t = _mm512_div_ps(one, _mm512_fmadd_ps(half, z, one));
            let mut poly = _mm512_set1_ps(coef[0]);
            for &c in &coef[1..] {
                poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(c));
            }
            // poly·t − z² − 1.2655122
            let arg = _mm512_sub_ps(
                _mm512_fnmadd_ps(z, z, _mm512_mul_ps(poly, t)),
                _mm512_set1_ps(1.265_512_2),
            );
            let erfc = _mm512_mul_ps(t, exp(arg));
            let e = _mm512_sub_ps(one, erfc);
            let neg = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(u, _mm512_setzero_ps());
            let e = _mm512_mask_sub_ps(e, neg, _mm512_setzero_ps(), e);
            let g = _mm512_mul_ps(_mm512_mul_ps(half, a), _mm512_add_ps(one, e));
            _mm512_storeu_ps(p.add(i), g);
            i += 16;
        }
        super::gelu_body(&mut x[n..]);
    }

    /// See `attention_body`; requires d % 16 == 0 and s.len() % 16 == 0.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        out: &mut [f32],
        kt: &mut [f32],
        s: &mut [f32],
        len: usize,
        scale: f32,
    ) {
        let d = q.len() / len;
        let lenp = s.len();
        assert!(
            d.is_multiple_of(16) && lenp.is_multiple_of(16) && lenp >= len && kt.len() >= d * lenp
        );
        assert!(k.len() >= len * d && v.len() >= len * d && out.len() >= len * d);
        kt.fill(0.0);
        for j in 0..len {
            for e in 0..d {
                kt[e * lenp + j] = k[j * d + e];
            }
        }
        let sp = s.as_mut_ptr();
        let ktp = kt.as_ptr();
        let vp = v.as_ptr();
        for i in 0..len {
            let qi = &q[i * d..(i + 1) * d];
            let mut mx = _mm512_set1_ps(f32::NEG_INFINITY);
            let mut jb = 0;
            while jb < lenp {
                let mut acc = _mm512_setzero_ps();
                for (e, &qe) in qi.iter().enumerate() {
                    let kv = _mm512_loadu_ps(ktp.add(e * lenp + jb));
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(qe * scale), kv, acc);
                }
                // Padding columns get −∞ (weight 0 after the exp).
                let valid = (len - jb).min(16);
                let m: __mmask16 = if valid == 16 {
                    0xffff
                } else {
                    (1u16 << valid) - 1
                };
                let acc = _mm512_mask_blend_ps(m, _mm512_set1_ps(f32::NEG_INFINITY), acc);
                mx = _mm512_max_ps(mx, acc);
                _mm512_storeu_ps(sp.add(jb), acc);
                jb += 16;
            }
            let mx = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
            let mut sum = _mm512_setzero_ps();
            let mut jb = 0;
            while jb < lenp {
                let valid = (len - jb).min(16);
                let m: __mmask16 = if valid == 16 {
                    0xffff
                } else {
                    (1u16 << valid) - 1
                };
                let e = _mm512_maskz_mov_ps(m, exp(_mm512_sub_ps(_mm512_loadu_ps(sp.add(jb)), mx)));
                sum = _mm512_add_ps(sum, e);
                _mm512_storeu_ps(sp.add(jb), e);
                jb += 16;
            }
            let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
            let mut db = 0;
            while db < d {
                let mut acc = _mm512_setzero_ps();
                for j in 0..len {
                    let vv = _mm512_loadu_ps(vp.add(j * d + db));
                    acc = _mm512_fmadd_ps(_mm512_set1_ps(*sp.add(j)), vv, acc);
                }
                _mm512_storeu_ps(out.as_mut_ptr().add(i * d + db), _mm512_mul_ps(acc, inv));
                db += 16;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod simd256 {
    //! AVX2 + FMA versions of the f32 loops that `simd512` covers, for CPUs without AVX-512
    //! (Zen 2/3, Intel before Ice Lake). Written out because the portable bodies, compiled with
    //! AVX2 enabled, do not vectorise: `fast_erf` branches on the sign, and the attention's
    //! reductions are kept in order.
    use std::arch::x86_64::*;

    /// The same algorithm as `fast_exp`, 8 lanes.
    #[inline(always)]
    pub unsafe fn exp(x: __m256) -> __m256 {
        let magic = _mm256_set1_ps(12_582_912.0);
        let x = _mm256_min_ps(
            _mm256_max_ps(x, _mm256_set1_ps(-87.3)),
            _mm256_set1_ps(88.7),
        );
        let t = _mm256_fmadd_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E), magic);
        let n = _mm256_sub_ps(t, magic);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_145_75), x);
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428_606_8e-6), r);
        let mut p = _mm256_set1_ps(1.0 / 5040.0);
        for c in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let bits = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(magic)),
            _mm256_set1_epi32(127),
        ));
        _mm256_mul_ps(p, _mm256_castsi256_ps(bits))
    }

    /// Exact GELU, 0.5·x·(1 + erf(x/√2)), erf as in `fast_erf`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu(x: &mut [f32]) {
        let n = x.len() / 8 * 8;
        let p = x.as_mut_ptr();
        let coef = [
            0.170_872_77f32,
            -0.822_152_23,
            1.488_515_87,
            -1.135_203_98,
            0.278_868_07,
            -0.186_288_06,
            0.096_784_18,
            0.374_091_96,
            1.000_023_7,
        ];
        let one = _mm256_set1_ps(1.0);
        let half = _mm256_set1_ps(0.5);
        let sign = _mm256_set1_ps(-0.0);
        let mut i = 0;
        while i < n {
            let a = _mm256_loadu_ps(p.add(i));
            let u = _mm256_mul_ps(a, _mm256_set1_ps(std::f32::consts::FRAC_1_SQRT_2));
            let z = _mm256_andnot_ps(sign, u);
            let t = _mm256_div_ps(one, _mm256_fmadd_ps(half, z, one));
            let mut poly = _mm256_set1_ps(coef[0]);
            for &c in &coef[1..] {
                poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(c));
            }
            let arg = _mm256_sub_ps(
                _mm256_fnmadd_ps(z, z, _mm256_mul_ps(poly, t)),
                _mm256_set1_ps(1.265_512_2),
            );
            let erfc = _mm256_mul_ps(t, exp(arg));
            // erf(u) = sign(u)·(1 − erfc(|u|)): copy u's sign bit onto the magnitude.
            let e = _mm256_or_ps(_mm256_sub_ps(one, erfc), _mm256_and_ps(sign, u));
            let g = _mm256_mul_ps(_mm256_mul_ps(half, a), _mm256_add_ps(one, e));
            _mm256_storeu_ps(p.add(i), g);
            i += 8;
        }
        super::gelu_body(&mut x[n..]);
    }

    #[inline(always)]
    unsafe fn hmax(v: __m256) -> f32 {
        let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_max_ss(m, _mm_shuffle_ps::<1>(m, m));
        _mm_cvtss_f32(m)
    }

    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        let m = _mm_add_ss(m, _mm_shuffle_ps::<1>(m, m));
        _mm_cvtss_f32(m)
    }

    /// Lanes `0..valid` set (all bits), the rest clear.
    #[inline(always)]
    unsafe fn first(valid: usize) -> __m256 {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(valid as i32), idx))
    }

    /// See `attention_body`; requires d % 8 == 0 and s.len() % 8 == 0.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        out: &mut [f32],
        kt: &mut [f32],
        s: &mut [f32],
        len: usize,
        scale: f32,
    ) {
        let d = q.len() / len;
        let lenp = s.len();
        assert!(
            d.is_multiple_of(8) && lenp.is_multiple_of(8) && lenp >= len && kt.len() >= d * lenp
        );
        assert!(k.len() >= len * d && v.len() >= len * d && out.len() >= len * d);
        kt.fill(0.0);
        for j in 0..len {
            for e in 0..d {
                kt[e * lenp + j] = k[j * d + e];
            }
        }
        let sp = s.as_mut_ptr();
        let ktp = kt.as_ptr();
        let vp = v.as_ptr();
        let ninf = _mm256_set1_ps(f32::NEG_INFINITY);
        let blocks = len.div_ceil(8) * 8;
        for i in 0..len {
            let qi = &q[i * d..(i + 1) * d];
            let mut mx = ninf;
            let mut jb = 0;
            while jb < blocks {
                // Two independent accumulators: the FMA latency is 4 cycles.
                let mut a0 = _mm256_setzero_ps();
                let mut a1 = _mm256_setzero_ps();
                let mut e = 0;
                while e + 1 < d {
                    let k0 = _mm256_loadu_ps(ktp.add(e * lenp + jb));
                    let k1 = _mm256_loadu_ps(ktp.add((e + 1) * lenp + jb));
                    a0 = _mm256_fmadd_ps(_mm256_set1_ps(qi[e] * scale), k0, a0);
                    a1 = _mm256_fmadd_ps(_mm256_set1_ps(qi[e + 1] * scale), k1, a1);
                    e += 2;
                }
                if e < d {
                    let k0 = _mm256_loadu_ps(ktp.add(e * lenp + jb));
                    a0 = _mm256_fmadd_ps(_mm256_set1_ps(qi[e] * scale), k0, a0);
                }
                let acc = _mm256_add_ps(a0, a1);
                // Padding columns get −∞ (weight 0 after the exp).
                let acc = _mm256_blendv_ps(ninf, acc, first(len - jb));
                mx = _mm256_max_ps(mx, acc);
                _mm256_storeu_ps(sp.add(jb), acc);
                jb += 8;
            }
            let mx = _mm256_set1_ps(hmax(mx));
            let mut sum = _mm256_setzero_ps();
            let mut jb = 0;
            while jb < blocks {
                let e = exp(_mm256_sub_ps(_mm256_loadu_ps(sp.add(jb)), mx));
                let e = _mm256_and_ps(e, first(len - jb));
                sum = _mm256_add_ps(sum, e);
                _mm256_storeu_ps(sp.add(jb), e);
                jb += 8;
            }
            let inv = _mm256_set1_ps(1.0 / hsum(sum));
            let mut db = 0;
            while db < d {
                let mut a0 = _mm256_setzero_ps();
                let mut a1 = _mm256_setzero_ps();
                let mut j = 0;
                while j + 1 < len {
                    let v0 = _mm256_loadu_ps(vp.add(j * d + db));
                    let v1 = _mm256_loadu_ps(vp.add((j + 1) * d + db));
                    a0 = _mm256_fmadd_ps(_mm256_set1_ps(*sp.add(j)), v0, a0);
                    a1 = _mm256_fmadd_ps(_mm256_set1_ps(*sp.add(j + 1)), v1, a1);
                    j += 2;
                }
                if j < len {
                    let v0 = _mm256_loadu_ps(vp.add(j * d + db));
                    a0 = _mm256_fmadd_ps(_mm256_set1_ps(*sp.add(j)), v0, a0);
                }
                let acc = _mm256_add_ps(a0, a1);
                _mm256_storeu_ps(out.as_mut_ptr().add(i * d + db), _mm256_mul_ps(acc, inv));
                db += 8;
            }
        }
    }
}

/// Reference f32 product `x [m, k] · wᵀ` (`w [n, k]`) plus bias, for tests.
pub fn matmul_ref(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for t in 0..k {
                s += x[i * k + t] as f64 * w[j * k + t] as f64;
            }
            out[i * n + j] = s as f32 + bias[j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
        fn vec(&mut self, n: usize) -> Vec<f32> {
            (0..n).map(|_| self.next()).collect()
        }
    }

    /// Element-wise comparison that names the first difference instead of printing both
    /// vectors; `tol` 0 means bit-equal.
    fn same(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let ok = if tol == 0.0 {
                g.to_bits() == w.to_bits() || (*g == 0.0 && *w == 0.0)
            } else {
                (g - w).abs() <= tol * (1.0 + w.abs())
            };
            assert!(ok, "{what}: element {i} is {g}, expected {w}");
        }
    }

    fn isas() -> Vec<Isa> {
        let v = available();
        eprintln!(
            "int8 paths this CPU runs: {}",
            v.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
        );
        assert_eq!(v.last(), Some(&Isa::Scalar));
        v
    }

    /// Shapes that exercise every tail: k not a multiple of 4 (the packing block) or of 16
    /// (NEON's four k-groups per activation load), n not a multiple of 16 or of 64 (AVX-512's
    /// four blocks), one row, rows not a multiple of any kernel's row block, more rows than
    /// one parallel tile.
    const SHAPES: &[(usize, usize, usize)] = &[
        (1, 1, 1),
        (1, 4, 16),
        (1, 5, 17),
        (2, 3, 15),
        (7, 13, 5),
        (5, 17, 33),
        (6, 8, 64),
        (4, 68, 48),
        (25, 37, 70),
        (50, 96, 33),
        (30, 300, 80),
        (13, 384, 1152),
        (31, 1536, 80),
    ];

    #[test]
    fn every_int8_path_gives_the_exact_integer_sums() {
        // Integer inputs whose quantisation is the identity: each weight row spans exactly
        // ±127 (scale 1) and each activation row exactly 255 (scale 1, zero point −lo), bias 0.
        // The outputs are then the integer sums Σ x·w themselves, checked against i64 loops.
        let mut rng = Lcg(11);
        let mut int = |lo: i32, hi: i32| {
            let u = (rng.next() + 1.0) / 2.0;
            (lo + ((hi - lo + 1) as f32 * u) as i32).min(hi)
        };
        // Both weight ranges: ±127 (AVX2 runs them with the sign trick) and ±64 (the AVX2
        // kernel's own packing, which multiplies u8 × i8 directly).
        for (case, (m, k, n, qmax)) in SHAPES
            .iter()
            .flat_map(|&(m, k, n)| [(m, k, n, 127), (m, k, n, 64)])
            .enumerate()
        {
            // The last pass uses the extremes: activations at 0 or 255 after quantisation and
            // weights at ±qmax, the worst case for 16-bit pair sums (|a − 128| · 127 · 2 with
            // the sign trick, 255 · 64 · 2 without).
            let top = qmax as f32;
            for extreme in [false, true] {
                let mut w = vec![0f32; n * k];
                for c in 0..n {
                    for t in 0..k {
                        w[c * k + t] = if extreme {
                            if int(0, 1) == 0 {
                                -top
                            } else {
                                top
                            }
                        } else {
                            int(-qmax, qmax) as f32
                        };
                    }
                    w[c * k + int(0, k as i32 - 1) as usize] = if c % 2 == 0 { top } else { -top };
                }
                let mut x = vec![0f32; m * k];
                for r in 0..m {
                    let lo = -int(0, 255);
                    for t in 0..k {
                        x[r * k + t] = if extreme {
                            (if int(0, 1) == 0 { lo } else { lo + 255 }) as f32
                        } else {
                            int(lo, lo + 255) as f32
                        };
                    }
                    if k > 1 {
                        let i = int(0, k as i32 - 2) as usize;
                        x[r * k + i] = lo as f32;
                        x[r * k + i + 1] = (lo + 255) as f32;
                    } else {
                        x[r * k] = 0.0;
                    }
                }
                let packed = PackedI8::with_range(&w, n, k, vec![0.0; n], qmax);
                assert_eq!(packed.scale[0], 1.0, "case {case}: exact weights");
                let mut q = QuantRows::new();
                q.quantize(&x, m, k);
                for r in 0..m {
                    if k > 1 {
                        assert_eq!(q.scale[r], 1.0, "case {case}");
                    }
                }
                let mut want = vec![0f32; m * n];
                for r in 0..m {
                    for c in 0..n {
                        let s: i64 = (0..k)
                            .map(|t| x[r * k + t] as i64 * w[c * k + t] as i64)
                            .sum();
                        want[r * n + c] = s as f32;
                    }
                }
                for isa in isas() {
                    let mut out = vec![f32::NAN; m * n];
                    gemm_i8_with(isa, &q, &packed, &mut out);
                    same(
                        &out,
                        &want,
                        0.0,
                        &format!("{} at {m}x{k}x{n}, ±{qmax}, extreme {extreme}", isa.name()),
                    );
                    let mut fused = vec![f32::NAN; m * n];
                    linear_i8_with(isa, &x, m, &packed, &mut fused, Post::None);
                    same(
                        &fused,
                        &want,
                        0.0,
                        &format!("fused {} at {m}x{k}x{n}, ±{qmax}", isa.name()),
                    );
                }
            }
        }
    }

    #[test]
    fn int8_gemm_paths_agree_exactly_and_track_f32() {
        let mut rng = Lcg(42);
        for (m, k, n, qmax) in SHAPES
            .iter()
            .flat_map(|&(m, k, n)| [(m, k, n, 127), (m, k, n, 64)])
        {
            let x: Vec<f32> = rng.vec(m * k).iter().map(|v| v * 3.0 + 0.5).collect();
            let w = rng.vec(n * k);
            let bias = rng.vec(n);
            let packed = PackedI8::with_range(&w, n, k, bias.clone(), qmax);
            let mut q = QuantRows::new();
            q.quantize(&x, m, k);
            let reference = matmul_ref(&x, m, k, &w, n, &bias);
            let mut outs = Vec::new();
            for isa in isas() {
                let mut out = vec![0f32; m * n];
                gemm_i8_with(isa, &q, &packed, &mut out);
                outs.push((isa, out));
            }
            let scalar = &outs.last().expect("the scalar path").1;
            for (isa, out) in &outs {
                same(
                    out,
                    scalar,
                    0.0,
                    &format!("{isa:?} vs scalar at {m}x{k}x{n}, ±{qmax}"),
                );
            }
            // Quantisation error stays small relative to the output's magnitude.
            let rms =
                (reference.iter().map(|v| v * v).sum::<f32>() / reference.len() as f32).sqrt();
            let err = scalar
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                err < 0.05 * rms.max(1e-3) + 0.02 * (k as f32).sqrt(),
                "{m}x{k}x{n}, ±{qmax}: err {err} rms {rms}"
            );
            // The fused form (quantise per tile, multiply, finish) gives the same bits as the
            // separate passes.
            for isa in isas() {
                let mut out = vec![0f32; m * n];
                linear_i8_with(isa, &x, m, &packed, &mut out, Post::None);
                same(&out, scalar, 0.0, &format!("fused {isa:?} at {m}x{k}x{n}"));
                let mut want = scalar.clone();
                gelu(&mut want);
                linear_i8_with(isa, &x, m, &packed, &mut out, Post::Gelu);
                // Vector body and scalar tail may split differently per tile: 1-ulp differences.
                same(
                    &out,
                    &want,
                    1e-6,
                    &format!("fused GELU {isa:?} at {m}x{k}x{n}"),
                );
                let g = rng.vec(n);
                let b = rng.vec(n);
                let resid = rng.vec(m * n);
                let mut want = resid.clone();
                add_layer_norm(&mut want, scalar, &g, &b, 1e-12);
                let mut got = resid.clone();
                let post = Post::AddNorm {
                    x: &mut got,
                    g: &g,
                    b: &b,
                    eps: 1e-12,
                };
                linear_i8_with(isa, &x, m, &packed, &mut out, post);
                same(
                    &got,
                    &want,
                    1e-6,
                    &format!("fused add+LayerNorm {isa:?} at {m}x{k}x{n}"),
                );
            }
        }
    }

    #[test]
    fn isa_names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
            assert_eq!(Isa::parse(&isa.name().replace('-', "_")), Some(isa));
        }
        assert_eq!(Isa::parse("AVX512VNNI"), Some(Isa::Avx512Vnni));
        assert_eq!(Isa::parse("avx3"), None);
        assert!(Isa::Scalar.supported());
        assert!(available().contains(&detect()));
    }

    #[test]
    fn quantisation_is_the_same_on_every_path() {
        let mut rng = Lcg(3);
        for &(m, k) in &[(1, 1), (3, 17), (20, 384), (5, 1536), (2, 33)] {
            let x: Vec<f32> = rng.vec(m * k).iter().map(|v| v * 4.0 + 1.0).collect();
            let mut first: Option<QuantRows> = None;
            for isa in isas() {
                let mut q = QuantRows::new();
                q.quantize_with(isa, &x, m, k);
                for r in 0..m {
                    for c in 0..k {
                        let back = (q.data[r * q.kp + c] as i32 - q.zero[r]) as f32 * q.scale[r];
                        assert!((back - x[r * k + c]).abs() <= 0.51 * q.scale[r] + 1e-6);
                    }
                }
                if let Some(f) = &first {
                    assert_eq!(f.data, q.data, "{isa:?}");
                    assert_eq!(f.zero, q.zero, "{isa:?}");
                } else {
                    first = Some(q);
                }
            }
        }
    }

    #[test]
    fn exp_erf_gelu_softmax_are_accurate() {
        for i in -2000..2000 {
            let x = i as f32 / 40.0;
            let e = fast_exp(x);
            let r = x.exp();
            assert!(((e - r) / r).abs() < 1e-6, "exp({x}) {e} vs {r}");
            let erf = fast_erf(x);
            let r = libm_erf(x as f64);
            assert!((erf as f64 - r).abs() < 3e-7, "erf({x}) {erf} vs {r}");
        }
        let mut x: Vec<f32> = (0..77).map(|i| (i as f32 - 30.0) / 7.0).collect();
        let reference: Vec<f32> = x
            .iter()
            .map(|&v| (0.5 * v as f64 * (1.0 + libm_erf(v as f64 / 2f64.sqrt()))) as f32)
            .collect();
        gelu(&mut x);
        for (a, b) in x.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-6 * (1.0 + b.abs()), "{a} vs {b}");
        }
        let mut s: Vec<f32> = (0..19).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        let m = s.iter().cloned().fold(f32::MIN, f32::max);
        let z: f32 = s.iter().map(|v| (v - m).exp()).sum();
        let reference: Vec<f32> = s.iter().map(|v| (v - m).exp() / z).collect();
        softmax(&mut s);
        for (a, b) in s.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    /// erf by its Taylor series / continued fraction in f64 (test reference only).
    fn libm_erf(x: f64) -> f64 {
        if x.abs() > 6.0 {
            return x.signum();
        }
        if x.abs() < 2.5 {
            let mut sum = x;
            let mut term = x;
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            return 2.0 / std::f64::consts::PI.sqrt() * sum;
        }
        // erfc continued fraction for large |x|.
        let z = x.abs();
        let mut f = 0.0;
        for n in (1..60).rev() {
            f = n as f64 / 2.0 / (z + f);
        }
        let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + f);
        (1.0 - erfc) * x.signum()
    }

    #[test]
    fn layer_norm_and_attention_match_a_plain_reference() {
        let mut rng = Lcg(7);
        let (rows, h) = (37, 24);
        let mut x = rng.vec(rows * h);
        let r = rng.vec(rows * h);
        let g = rng.vec(h);
        let b = rng.vec(h);
        let mut expect = x.clone();
        for i in 0..rows {
            let row: Vec<f64> = (0..h)
                .map(|j| x[i * h + j] as f64 + r[i * h + j] as f64)
                .collect();
            let mean = row.iter().sum::<f64>() / h as f64;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
            for j in 0..h {
                expect[i * h + j] =
                    ((row[j] - mean) / (var + 1e-12).sqrt() * g[j] as f64 + b[j] as f64) as f32;
            }
        }
        add_layer_norm(&mut x, &r, &g, &b, 1e-12);
        for (a, e) in x.iter().zip(&expect) {
            assert!((a - e).abs() < 1e-4, "{a} vs {e}");
        }

        for &(len, d) in &[(11usize, 8usize), (11, 32), (37, 32), (16, 16), (1, 32)] {
            let lenp = len.div_ceil(16) * 16;
            let q = rng.vec(len * d);
            let k = rng.vec(len * d);
            let v = rng.vec(len * d);
            let mut out = vec![0f32; len * d];
            let mut kt = vec![0f32; lenp * d];
            let mut s = vec![0f32; lenp];
            attention_head(&q, &k, &v, &mut out, &mut kt, &mut s, len, 0.5);
            for i in 0..len {
                let sc: Vec<f64> = (0..len)
                    .map(|j| {
                        (0..d)
                            .map(|e| (q[i * d + e] * k[j * d + e]) as f64)
                            .sum::<f64>()
                            * 0.5
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = sc.iter().map(|x| (x - m).exp()).sum();
                for e in 0..d {
                    let o: f64 = (0..len)
                        .map(|j| (sc[j] - m).exp() / z * v[j * d + e] as f64)
                        .sum();
                    assert!((out[i * d + e] as f64 - o).abs() < 1e-5, "{len}x{d}");
                }
            }
        }
    }

    type AttentionFn =
        unsafe fn(&[f32], &[f32], &[f32], &mut [f32], &mut [f32], &mut [f32], usize, f32);
    type GeluFn = unsafe fn(&mut [f32]);

    /// Every f32 attention and GELU implementation this CPU can run, each against f64
    /// references: the dispatcher picks only one, so the others would go untested here.
    #[test]
    fn every_attention_and_gelu_path_the_cpu_has_matches_the_reference() {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut paths: Vec<(&str, AttentionFn, usize)> = vec![(
            "portable",
            |q, k, v, o, kt, s, l, sc| attention_body(q, k, v, o, kt, s, l, sc),
            1,
        )];
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut gelus: Vec<(&str, GeluFn)> = vec![("portable", |x| gelu_body(x))];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                paths.push(("avx2", simd256::attention, 8));
                gelus.push(("avx2", simd256::gelu));
            }
            if is_x86_feature_detected!("avx512f") {
                paths.push(("avx512", simd512::attention, 16));
                gelus.push(("avx512", simd512::gelu));
            }
        }
        let mut rng = Lcg(7);
        for (name, f, multiple) in &paths {
            // Lengths 1, odd, one past a block, several blocks; head sizes 8 (if the path
            // takes it), 16, 32 (e5-small's).
            for &(len, d) in &[
                (1usize, 32usize),
                (7, 8),
                (9, 16),
                (17, 32),
                (64, 32),
                (131, 32),
            ] {
                if d % multiple != 0 {
                    continue;
                }
                let lenp = len.div_ceil(16) * 16;
                let q = rng.vec(len * d);
                let k = rng.vec(len * d);
                let v = rng.vec(len * d);
                let mut out = vec![0f32; len * d];
                let mut kt = vec![0f32; lenp * d];
                let mut s = vec![0f32; lenp];
                // SAFETY: the path's features were detected above.
                unsafe { f(&q, &k, &v, &mut out, &mut kt, &mut s, len, 0.3) };
                for i in 0..len {
                    let sc: Vec<f64> = (0..len)
                        .map(|j| {
                            (0..d)
                                .map(|e| q[i * d + e] as f64 * k[j * d + e] as f64)
                                .sum::<f64>()
                                * 0.3
                        })
                        .collect();
                    let m = sc.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = sc.iter().map(|x| (x - m).exp()).sum();
                    for e in 0..d {
                        let o: f64 = (0..len)
                            .map(|j| (sc[j] - m).exp() / z * v[j * d + e] as f64)
                            .sum();
                        let got = out[i * d + e] as f64;
                        assert!((got - o).abs() < 1e-5, "{name} {len}x{d}: {got} vs {o}");
                    }
                }
            }
        }
        // 203 values: every lane position and a scalar tail; both signs, 0 and large |x|.
        let x: Vec<f32> = (0..203).map(|i| (i as f32 - 101.0) / 11.0).collect();
        let reference: Vec<f64> = x
            .iter()
            .map(|&v| 0.5 * v as f64 * (1.0 + libm_erf(v as f64 / 2f64.sqrt())))
            .collect();
        for (name, g) in &gelus {
            let mut y = x.clone();
            // SAFETY: the path's features were detected above.
            unsafe { g(&mut y) };
            for ((a, b), v) in y.iter().zip(&reference).zip(&x) {
                let a = *a as f64;
                assert!(
                    (a - b).abs() < 1e-6 * (1.0 + b.abs()),
                    "{name} gelu({v}) {a} vs {b}"
                );
            }
        }
    }
}
