//! Throughput of the int8 GEMM on each instruction set this CPU runs, on the four matrix
//! shapes of one multilingual-e5-small layer (a batch of 1,184 tokens: 32 texts of 37).
//!
//! `cargo run --release --example int8_kernels [rows] [seconds per shape]`, with
//! `RAYON_NUM_THREADS` for the thread count. Prints G multiply-adds/s and G op/s (2 per
//! multiply-add) per path and shape, and the total over a layer, by wall time and by the
//! process's CPU time (which other programs on a shared machine do not inflate).

use bantin::encoder::kernels::{self, PackedI8, Post};
use std::time::Instant;

/// User + system CPU seconds of this process (Linux; 0 elsewhere).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // utime and stime are fields 14 and 15 of the line: numeric fields 10 and 11 after the state.
    f.get(10)
        .zip(f.get(11))
        .map(|(u, s)| (u + s) / 100.0)
        .unwrap_or(0.0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let m: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1184);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let h = 384;
    let shapes = [
        ("qkv", 3 * h, h),
        ("out", h, h),
        ("up", 4 * h, h),
        ("down", h, 4 * h),
    ];
    let mut seed = 1u64;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    println!(
        "rows {m}, threads {}, paths: {}",
        rayon::current_num_threads(),
        kernels::available()
            .iter()
            .map(|i| i.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut mats = Vec::new();
    for &(name, n, k) in &shapes {
        let w: Vec<f32> = (0..n * k).map(|_| rnd()).collect();
        let x: Vec<f32> = (0..m * k).map(|_| rnd()).collect();
        mats.push((name, n, k, w, x));
    }
    // Each path with the weights packed as the encoder packs them for it (±64 on AVX2), and
    // AVX2 once more on ±127 weights (the sign-trick kernel) for comparison.
    let mut runs: Vec<(kernels::Isa, i32)> = kernels::available()
        .into_iter()
        .map(|i| (i, kernels::weight_max(i)))
        .collect();
    if kernels::Isa::Avx2.supported() {
        runs.push((kernels::Isa::Avx2, 127));
    }
    for (isa, qmax) in runs {
        let mut line = format!("{:>12} ±{qmax:<3}", isa.name());
        let (mut macs_total, mut s_total, mut c_total) = (0f64, 0f64, 0f64);
        for (name, n, k, w, x) in &mats {
            let (n, k) = (*n, *k);
            let p = &PackedI8::with_range(w, n, k, vec![0.0; n], qmax);
            let mut out = vec![0f32; m * n];
            kernels::linear_i8_with(isa, x, m, p, &mut out, Post::None);
            let t = Instant::now();
            let c0 = cpu_s();
            let mut reps = 0usize;
            while t.elapsed().as_secs_f64() < secs || reps < 2 {
                kernels::linear_i8_with(isa, x, m, p, &mut out, Post::None);
                reps += 1;
            }
            let per = t.elapsed().as_secs_f64() / reps as f64;
            c_total += (cpu_s() - c0) / reps as f64;
            let macs = (m * n * k) as f64;
            macs_total += macs;
            s_total += per;
            line += &format!("  {name} {:6.1}", macs / per / 1e9);
        }
        line += &format!(
            "  | layer {:6.1} G MAC/s = {:6.1} G op/s; per CPU-second {:6.1} G MAC",
            macs_total / s_total / 1e9,
            2.0 * macs_total / s_total / 1e9,
            macs_total / c_total / 1e9
        );
        println!("{line}");
    }
}
