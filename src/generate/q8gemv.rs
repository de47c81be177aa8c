//! One-token products with Q8_0 matrices (GGUF's 32-value blocks, an f16 scale each) on
//! AVX-512 VNNI and AVX2, for decoding: above all gemma-3's tied output projection, 262,144 × 640 read
//! in full for every generated token (a third of a step through candle's AVX2 `vec_dot`, whose
//! time scaled with threads: compute-bound, not memory-bound).
//!
//! The weights keep their Q8_0 values and scales exactly; only their order changes. Rows come
//! in groups of 16, and for each 32-value block a group stores, contiguously: the 16 rows'
//! weight sums (i16), their scales (f16), then 8 × 64 bytes `[16 rows][4 values]`, so that
//! one `vpdpbusd` multiplies four broadcast activation bytes with four weights of each of the
//! 16 rows. Activations are quantised per 32-block as Q8_0 does (scale = max|x| / 127) and
//! offset by +128 to the unsigned bytes `vpdpbusd` takes; the accumulator starts at
//! −128 × the weight sum, which removes the offset exactly. Each block's integer sum is then
//! scaled by `d_w · d_x` and added in f32: the same operations in the same order as the
//! scalar reference, so both paths give identical bits.

use crate::encoder::kernels::{detect, Isa};
use candle_core::quantized::{GgmlDType, QTensor};
use half::f16;

const QK: usize = 32;
/// Rows per group: one 512-bit accumulator of i32.
const ROWS: usize = 16;
/// Bytes per (group, block): sums, scales, weights.
const SUMS: usize = ROWS * 2;
const SCALES: usize = ROWS * 2;
const WEIGHTS: usize = ROWS * QK;
const CELL: usize = SUMS + SCALES + WEIGHTS;

/// A Q8_0 matrix `[n, k]` repacked for one-row products.
pub struct Q8Gemv {
    n: usize,
    k: usize,
    blocks: usize,
    groups: usize,
    data: Vec<u8>,
    isa: Isa,
}

impl Q8Gemv {
    /// The instruction set this kernel would use here, if it has one for this CPU (and
    /// `BANTIN_ISA` does not ask for a path without it).
    pub fn isa() -> Option<Isa> {
        match detect() {
            Isa::Avx512Vnni => Some(Isa::Avx512Vnni),
            // AVX-VNNI machines (Alder Lake without AVX-512) take the AVX2 kernel.
            Isa::AvxVnni | Isa::Avx2 if avx2_f16c() => Some(Isa::Avx2),
            _ => None,
        }
    }

    /// Repacks a 2-D Q8_0 tensor; `None` for any other type or shape.
    pub fn from_qtensor(t: &QTensor) -> candle_core::Result<Option<Q8Gemv>> {
        let dims = t.shape().dims();
        if t.dtype() != GgmlDType::Q8_0 || dims.len() != 2 || !dims[1].is_multiple_of(QK) {
            return Ok(None);
        }
        let raw = t.data()?;
        Q8Gemv::from_blocks(&raw, dims[0], dims[1]).map(Some)
    }

    /// `raw`: `n` rows of `k / 32` Q8_0 blocks (an f16 scale, then 32 i8), as GGUF stores them.
    pub fn from_blocks(raw: &[u8], n: usize, k: usize) -> candle_core::Result<Q8Gemv> {
        let blocks = k / QK;
        let groups = n.div_ceil(ROWS);
        if !k.is_multiple_of(QK) || raw.len() != n * blocks * (2 + QK) {
            return Err(candle_core::Error::Msg(format!(
                "Q8_0 data of a {n} x {k} matrix should be {} bytes of whole 32-value blocks, \
                 found {}",
                n * blocks * (2 + QK),
                raw.len()
            )));
        }
        let mut data = vec![0u8; groups * blocks * CELL];
        for (g, cells) in data.chunks_exact_mut(blocks * CELL).enumerate() {
            for (b, cell) in cells.chunks_exact_mut(CELL).enumerate() {
                let (sums, rest) = cell.split_at_mut(SUMS);
                let (scales, weights) = rest.split_at_mut(SCALES);
                for r in 0..ROWS {
                    let row = g * ROWS + r;
                    if row >= n {
                        break; // padding rows: zero scale, zero weights
                    }
                    let src = &raw[(row * blocks + b) * (2 + QK)..][..2 + QK];
                    scales[2 * r..2 * r + 2].copy_from_slice(&src[..2]);
                    let mut sum = 0i16;
                    for (j, &w) in src[2..].iter().enumerate() {
                        sum += w as i8 as i16;
                        weights[(j / 4) * 64 + r * 4 + j % 4] = w;
                    }
                    sums[2 * r..2 * r + 2].copy_from_slice(&sum.to_le_bytes());
                }
            }
        }
        Ok(Q8Gemv {
            n,
            k,
            blocks,
            groups,
            data,
            isa: Q8Gemv::isa().unwrap_or(Isa::Scalar),
        })
    }

    pub fn rows(&self) -> usize {
        self.n
    }

    pub fn cols(&self) -> usize {
        self.k
    }

    /// Bytes held (the repacked matrix).
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Row `i` dequantized (an embedding lookup), `k` values.
    pub fn row(&self, i: usize, out: &mut [f32]) {
        let (g, r) = (i / ROWS, i % ROWS);
        for b in 0..self.blocks {
            let cell = &self.data[(g * self.blocks + b) * CELL..][..CELL];
            let d = f16::from_le_bytes([cell[SUMS + 2 * r], cell[SUMS + 2 * r + 1]]).to_f32();
            let w = &cell[SUMS + SCALES..];
            for j in 0..QK {
                out[b * QK + j] = d * (w[(j / 4) * 64 + r * 4 + j % 4] as i8) as f32;
            }
        }
    }

    /// `y = W x` for one activation row of length `k`; `y` has `n` values.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        self.forward_with(self.isa, x, y)
    }

    /// As [`forward`](Self::forward) on a given path (tests run every path the CPU has).
    pub fn forward_with(&self, isa: Isa, x: &[f32], y: &mut [f32]) {
        assert_eq!(x.len(), self.k);
        assert_eq!(y.len(), self.n);
        // The AVX2 kernel takes the activations signed (its sign trick needs them within
        // ±127); the others offset to unsigned bytes.
        let offset = if isa == Isa::Avx2 { 0 } else { 128 };
        let (xq, xd) = quantize(x, offset);
        // Rows are computed in whole groups: straight into `y` when it holds whole groups.
        let mut padded = Vec::new();
        let out = if self.n == self.groups * ROWS {
            &mut *y
        } else {
            padded.resize(self.groups * ROWS, 0f32);
            &mut padded[..]
        };
        // On candle's worker pool, not rayon's: the decode step's other products run there,
        // and its workers spin between them; a second pool on the same cores was starved by
        // that spinning (measured: the layers' products got no faster on rayon).
        let blocks = self.blocks;
        let group = blocks * CELL;
        let dst = SharedOut(out.as_mut_ptr());
        let data = &self.data;
        let work = |range: std::ops::Range<usize>| {
            let data = &data[range.start * group..range.end * group];
            // SAFETY: `execute_chunked` hands out disjoint ranges of groups, so these row
            // ranges of `out` are disjoint, and `out` outlives the call, which returns only
            // when every range is done.
            let out = unsafe {
                std::slice::from_raw_parts_mut(
                    dst.at(range.start * ROWS),
                    (range.end - range.start) * ROWS,
                )
            };
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512Vnni => unsafe { groups_avx512(data, blocks, &xq, &xd, out) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 if avx2_f16c() => unsafe { groups_avx2(data, blocks, &xq, &xd, out) },
                _ => groups_scalar(data, blocks, &xq, &xd, out),
            }
        };
        // `--gen-threads 1` runs generation in a one-thread rayon pool: stay on this thread.
        if rayon::current_num_threads() <= 1 {
            work(0..self.groups);
        } else {
            candle_core::utils::barrier_pool().execute_chunked(self.groups, work);
        }
        if !padded.is_empty() {
            y.copy_from_slice(&padded[..self.n]);
        }
    }
}

/// AVX2 with FMA and F16C (the scales are f16), which the AVX2 kernel needs.
fn avx2_f16c() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        Isa::Avx2.supported() && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The output buffer, written through disjoint ranges by several workers.
struct SharedOut(*mut f32);
// SAFETY: only used with disjoint ranges (see `forward_with`).
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn at(&self, i: usize) -> *mut f32 {
        // SAFETY of the callers: `i` is inside the buffer.
        unsafe { self.0.add(i) }
    }
}

/// Q8_0 quantisation of the activation row: (bytes `x_q + offset`, wrapping, so offset 0 gives
/// two's-complement i8 and 128 unsigned bytes; the block scales).
fn quantize(x: &[f32], offset: i32) -> (Vec<u8>, Vec<f32>) {
    let mut q = vec![0u8; x.len()];
    let mut d = vec![0f32; x.len() / QK];
    for ((xb, qb), db) in x
        .chunks_exact(QK)
        .zip(q.chunks_exact_mut(QK))
        .zip(d.iter_mut())
    {
        let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = amax / 127.0;
        let inv = if s > 0.0 { 1.0 / s } else { 0.0 };
        for (o, v) in qb.iter_mut().zip(xb) {
            *o = ((v * inv).round().clamp(-127.0, 127.0) as i32 + offset) as u8;
        }
        *db = s;
    }
    (q, d)
}

fn groups_scalar(data: &[u8], blocks: usize, xq: &[u8], xd: &[f32], out: &mut [f32]) {
    for (cells, y) in data
        .chunks_exact(blocks * CELL)
        .zip(out.chunks_exact_mut(ROWS))
    {
        let mut acc = [0f32; ROWS];
        for (b, cell) in cells.chunks_exact(CELL).enumerate() {
            let xb = &xq[b * QK..][..QK];
            let w = &cell[SUMS + SCALES..];
            for (r, a) in acc.iter_mut().enumerate() {
                let sum = i16::from_le_bytes([cell[2 * r], cell[2 * r + 1]]) as i32;
                let mut dot = -128 * sum;
                for (j, &xj) in xb.iter().enumerate() {
                    dot += xj as i32 * (w[(j / 4) * 64 + r * 4 + j % 4] as i8) as i32;
                }
                let dw = f16::from_le_bytes([cell[SUMS + 2 * r], cell[SUMS + 2 * r + 1]]);
                *a = (dot as f32).mul_add(dw.to_f32() * xd[b], *a);
            }
        }
        y.copy_from_slice(&acc);
    }
}

/// Four groups (64 rows) at a time, so that four `vpdpbusd` chains overlap; then one at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn groups_avx512(data: &[u8], blocks: usize, xq: &[u8], xd: &[f32], out: &mut [f32]) {
    let count = out.len() / ROWS;
    let mut g = 0;
    while g + 4 <= count {
        groups_avx512_n::<4>(data, blocks, xq, xd, out, g);
        g += 4;
    }
    while g < count {
        groups_avx512_n::<1>(data, blocks, xq, xd, out, g);
        g += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
// `l` indexes three register arrays and a pointer offset at once.
#[allow(clippy::needless_range_loop)]
unsafe fn groups_avx512_n<const L: usize>(
    data: &[u8],
    blocks: usize,
    xq: &[u8],
    xd: &[f32],
    out: &mut [f32],
    g: usize,
) {
    use std::arch::x86_64::*;
    debug_assert!((g + L) * blocks * CELL <= data.len() && (g + L) * ROWS <= out.len());
    debug_assert!(xq.len() >= blocks * QK && xd.len() >= blocks);
    let xw = xq.as_ptr() as *const i32;
    let group = blocks * CELL;
    let base = data.as_ptr().add(g * group);
    let mut acc = [_mm512_setzero_ps(); L];
    for b in 0..blocks {
        let s = _mm512_set1_ps(*xd.get_unchecked(b));
        let mut dots = [_mm512_setzero_si512(); L];
        let mut scales = [_mm512_setzero_ps(); L];
        for l in 0..L {
            let cell = base.add(l * group + b * CELL);
            let sums = _mm512_cvtepi16_epi32(_mm256_loadu_si256(cell as *const __m256i));
            dots[l] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32::<7>(sums));
            scales[l] = _mm512_cvtph_ps(_mm256_loadu_si256(cell.add(SUMS) as *const __m256i));
        }
        for j in 0..QK / 4 {
            let a = _mm512_set1_epi32(std::ptr::read_unaligned(xw.add(b * QK / 4 + j)));
            for l in 0..L {
                let w = base.add(l * group + b * CELL + SUMS + SCALES + j * 64);
                dots[l] = _mm512_dpbusd_epi32(dots[l], a, _mm512_loadu_si512(w as *const __m512i));
            }
        }
        for l in 0..L {
            let f = _mm512_cvtepi32_ps(dots[l]);
            acc[l] = _mm512_fmadd_ps(f, _mm512_mul_ps(scales[l], s), acc[l]);
        }
    }
    for l in 0..L {
        _mm512_storeu_ps(out.as_mut_ptr().add((g + l) * ROWS), acc[l]);
    }
}

/// AVX2 without VNNI: `vpmaddubsw` multiplies unsigned by signed bytes and adds pairs into
/// i16, which Q8_0's full ±127 weights against offset activations would overflow. So, as in
/// llama.cpp's AVX2 dot products, it gets |w| (unsigned) and sign(w) · x (signed, x within ±127):
/// a pair is at most 2 × 128 × 127 = 32,512, no saturation; `vpmaddwd` with ones then sums each
/// row's four products into its i32 lane. Half a group (8 rows) per 256-bit register, two groups
/// at a time: 4 accumulators, within AVX2's 16 registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn groups_avx2(data: &[u8], blocks: usize, xs: &[u8], xd: &[f32], out: &mut [f32]) {
    let count = out.len() / ROWS;
    let mut g = 0;
    while g + 2 <= count {
        groups_avx2_n::<2>(data, blocks, xs, xd, out, g);
        g += 2;
    }
    while g < count {
        groups_avx2_n::<1>(data, blocks, xs, xd, out, g);
        g += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
// `l` and `h` index register arrays and pointer offsets at once.
#[allow(clippy::needless_range_loop)]
unsafe fn groups_avx2_n<const L: usize>(
    data: &[u8],
    blocks: usize,
    xs: &[u8],
    xd: &[f32],
    out: &mut [f32],
    g: usize,
) {
    use std::arch::x86_64::*;
    debug_assert!((g + L) * blocks * CELL <= data.len() && (g + L) * ROWS <= out.len());
    debug_assert!(xs.len() >= blocks * QK && xd.len() >= blocks);
    let xw = xs.as_ptr() as *const i32;
    let group = blocks * CELL;
    let base = data.as_ptr().add(g * group);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); 2]; L];
    for b in 0..blocks {
        let s = _mm256_set1_ps(*xd.get_unchecked(b));
        let mut dots = [[_mm256_setzero_si256(); 2]; L];
        for j in 0..QK / 4 {
            let a = _mm256_set1_epi32(std::ptr::read_unaligned(xw.add(b * QK / 4 + j)));
            for l in 0..L {
                for h in 0..2 {
                    let w = base.add(l * group + b * CELL + SUMS + SCALES + j * 64 + h * 32);
                    let w = _mm256_loadu_si256(w as *const __m256i);
                    let p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
                    dots[l][h] = _mm256_add_epi32(dots[l][h], _mm256_madd_epi16(p, ones));
                }
            }
        }
        for l in 0..L {
            for h in 0..2 {
                let sc = base.add(l * group + b * CELL + SUMS + h * 16);
                let sc = _mm256_cvtph_ps(_mm_loadu_si128(sc as *const __m128i));
                let f = _mm256_cvtepi32_ps(dots[l][h]);
                acc[l][h] = _mm256_fmadd_ps(f, _mm256_mul_ps(sc, s), acc[l][h]);
            }
        }
    }
    for l in 0..L {
        for h in 0..2 {
            _mm256_storeu_ps(out.as_mut_ptr().add((g + l) * ROWS + h * 8), acc[l][h]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module, Tensor};

    /// Every path of this kernel the CPU can run, the scalar reference last.
    fn paths() -> Vec<Isa> {
        [Isa::Avx512Vnni, Isa::Avx2, Isa::Scalar]
            .into_iter()
            .filter(|&i| i.supported() && (i != Isa::Avx2 || avx2_f16c()))
            .collect()
    }

    fn matrix(n: usize, k: usize, seed: u32) -> Tensor {
        // A fixed, uneven pattern: rows of different magnitudes and signs.
        let v: Vec<f32> = (0..n * k)
            .map(|i| {
                let h = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
                let r = i / k;
                ((h % 2001) as f32 / 1000.0 - 1.0) * (1.0 + (r % 7) as f32)
            })
            .collect();
        Tensor::from_vec(v, (n, k), &Device::Cpu).unwrap()
    }

    #[test]
    fn matches_candle_and_every_path_gives_the_same_bits() {
        // n not a multiple of 16 (padding rows) nor of 64 (a partial four-group step).
        for (n, k) in [(37usize, 64usize), (1024 + 16 * 3, 640), (200, 2048)] {
            let w = QTensor::quantize(&matrix(n, k, 7), GgmlDType::Q8_0).unwrap();
            let g = Q8Gemv::from_qtensor(&w).unwrap().expect("Q8_0");
            let xs = matrix(1, k, 99);
            let x = xs.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let mut want = vec![0f32; n];
            g.forward_with(Isa::Scalar, &x, &mut want);
            let candle = candle_core::quantized::QMatMul::from_qtensor(w).unwrap();
            let c = candle.forward(&xs).unwrap().flatten_all().unwrap();
            let c = c.to_vec1::<f32>().unwrap();
            let scale = c.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = c
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            // candle rounds the activation scale to f16; the rest is the same arithmetic.
            assert!(diff < 2e-3 * scale, "{n}x{k}: {diff} against scale {scale}");
            // Every path this CPU has, on candle's pool and on this thread alone (what a
            // one-thread generation pool, `--gen-threads 1`, gets).
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            for isa in paths() {
                let mut got = vec![0f32; n];
                g.forward_with(isa, &x, &mut got);
                assert_eq!(got, want, "{n}x{k}: {} against scalar", isa.name());
                let mut alone = vec![0f32; n];
                one.install(|| g.forward_with(isa, &x, &mut alone));
                assert_eq!(alone, want, "{n}x{k}: {} on one thread", isa.name());
            }
        }
    }

    #[test]
    fn extreme_weights_and_activations_do_not_saturate() {
        // Every weight at -128 or 127 and every activation at ±127, signs arranged so that
        // each pair of products has the largest magnitude one direction or the other: the
        // AVX2 path's i16 pair sums are at their limit (2 x 128 x 127).
        let (n, k) = (48usize, 64usize);
        let mut raw = Vec::new();
        for r in 0..n {
            for b in 0..k / QK {
                raw.extend_from_slice(&f16::from_f32(0.5 + r as f32 / 64.0).to_le_bytes());
                for j in 0..QK {
                    let neg = (j / 2 + r + b) % 2 == 0;
                    raw.push(if neg { 0x80 } else { 0x7f });
                }
            }
        }
        let g = Q8Gemv::from_blocks(&raw, n, k).unwrap();
        for flip in [false, true] {
            let x: Vec<f32> = (0..k)
                .map(|j| if ((j / 2) % 2 == 0) ^ flip { 1.0 } else { -1.0 })
                .collect();
            let mut want = vec![0f32; n];
            g.forward_with(Isa::Scalar, &x, &mut want);
            // Each row's exact value: the rows' weights against ±1 activations, x 127 / 127.
            for (r, &got) in want.iter().enumerate() {
                let mut exact = 0f64;
                for b in 0..k / QK {
                    let d = f16::from_f32(0.5 + r as f32 / 64.0).to_f64();
                    for j in 0..QK {
                        let w = if (j / 2 + r + b) % 2 == 0 {
                            -128.0
                        } else {
                            127.0
                        };
                        exact += d * w * x[b * QK + j] as f64;
                    }
                }
                assert!(
                    (got as f64 - exact).abs() < 1e-3 * exact.abs().max(1.0),
                    "row {r}"
                );
            }
            for isa in paths() {
                let mut got = vec![0f32; n];
                g.forward_with(isa, &x, &mut got);
                assert_eq!(got, want, "{}", isa.name());
            }
        }
    }

    #[test]
    fn rows_dequantize_as_candle_does() {
        let (n, k) = (40, 96);
        let w = QTensor::quantize(&matrix(n, k, 3), GgmlDType::Q8_0).unwrap();
        let want = w
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let g = Q8Gemv::from_qtensor(&w).unwrap().expect("Q8_0");
        let mut row = vec![0f32; k];
        for (i, want) in want.iter().enumerate() {
            g.row(i, &mut row);
            assert_eq!(&row, want, "row {i}");
        }
    }

    #[test]
    fn short_data_is_an_error_naming_the_sizes() {
        let e = Q8Gemv::from_blocks(&[0u8; 33], 1, 32)
            .err()
            .expect("short data accepted");
        assert!(
            e.to_string().contains("34 bytes") && e.to_string().contains("found 33"),
            "{e}"
        );
    }

    #[test]
    fn other_types_are_declined() {
        let w = QTensor::quantize(&matrix(32, 256, 1), GgmlDType::Q4K).unwrap();
        assert!(Q8Gemv::from_qtensor(&w).unwrap().is_none());
    }
}
