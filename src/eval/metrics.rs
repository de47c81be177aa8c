//! Classification metrics and bootstrap confidence intervals.
//!
//! Definitions follow `taxonomy.md` ("How scores are computed") and `set_metrics` in
//! `shared/tools/peer_baseline.py`, so Rust and Python reports are comparable:
//! - every ratio whose denominator is zero is 0.0 (never NaN);
//! - a theme with no support and no predictions has P = R = F1 = 0 and still counts in the
//!   macro-F1 denominator (macro = sum of per-theme F1 / number of themes given). This
//!   penalises a test set that lacks a theme; callers that want "macro over present themes"
//!   must pass only those themes.
//! - labels outside `themes` are ignored by both micro and macro scores.

use serde::Serialize;

/// Fraction of items whose predicted label equals the gold label; 0.0 for no items.
///
/// # Panics
/// If `gold` and `pred` differ in length: that is a bug in the caller's pairing of
/// predictions with articles, and scoring a silently truncated list would hide it.
pub fn accuracy(gold: &[String], pred: &[String]) -> f64 {
    assert_eq!(
        gold.len(),
        pred.len(),
        "accuracy: gold and pred differ in length"
    );
    ratio(
        gold.iter().zip(pred).filter(|(g, p)| g == p).count(),
        gold.len(),
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct ThemeScore {
    pub id: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Articles whose gold set contains the theme.
    pub support: usize,
    /// Articles whose predicted set contains the theme.
    pub predicted: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetMetrics {
    pub micro_precision: f64,
    pub micro_recall: f64,
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub per_theme: Vec<ThemeScore>,
}

/// Multi-label scores of predicted theme sets against gold sets, per theme in `themes` order.
///
/// Each `Vec<String>` is treated as a set (a duplicate id counts once). See the module docs
/// for how empty themes enter macro-F1.
///
/// # Panics
/// If `gold` and `pred` differ in length (see [`accuracy`]).
pub fn set_metrics(gold: &[Vec<String>], pred: &[Vec<String>], themes: &[String]) -> SetMetrics {
    assert_eq!(
        gold.len(),
        pred.len(),
        "set_metrics: gold and pred differ in length"
    );
    let (mut tp_all, mut fp_all, mut fn_all) = (0usize, 0usize, 0usize);
    let mut per_theme = Vec::with_capacity(themes.len());
    for t in themes {
        let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
        for (g, p) in gold.iter().zip(pred) {
            match (g.contains(t), p.contains(t)) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => {}
            }
        }
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        per_theme.push(ThemeScore {
            id: t.clone(),
            precision,
            recall,
            f1: harmonic(precision, recall),
            support: tp + fn_,
            predicted: tp + fp,
        });
        tp_all += tp;
        fp_all += fp;
        fn_all += fn_;
    }
    let macro_f1 = if themes.is_empty() {
        0.0
    } else {
        per_theme.iter().map(|s| s.f1).sum::<f64>() / themes.len() as f64
    };
    SetMetrics {
        micro_precision: ratio(tp_all, tp_all + fp_all),
        micro_recall: ratio(tp_all, tp_all + fn_all),
        // 2TP / (2TP + FP + FN) is the harmonic mean of micro P and R without the rounding
        // of two divisions; it is also the reference's formula.
        micro_f1: ratio(2 * tp_all, 2 * tp_all + fp_all + fn_all),
        macro_f1,
        per_theme,
    }
}

/// Confusion matrix, rows = gold label, columns = predicted label, both indexed like
/// `labels`. Items whose gold or predicted label is not in `labels` are left out: pass an
/// explicit "other" label if such items must be visible.
///
/// # Panics
/// If `gold` and `pred` differ in length (see [`accuracy`]).
pub fn confusion(gold: &[String], pred: &[String], labels: &[String]) -> Vec<Vec<usize>> {
    assert_eq!(
        gold.len(),
        pred.len(),
        "confusion: gold and pred differ in length"
    );
    let index = |l: &String| labels.iter().position(|x| x == l);
    let mut m = vec![vec![0usize; labels.len()]; labels.len()];
    for (g, p) in gold.iter().zip(pred) {
        if let (Some(i), Some(j)) = (index(g), index(p)) {
            m[i][j] += 1;
        }
    }
    m
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Percentile bootstrap 95% interval of `statistic` over `n` items.
///
/// `statistic` receives item indices: `0..n` once for `value`, then `iterations` resamples of
/// `n` indices drawn with replacement. `low`/`high` are the 2.5th and 97.5th percentiles of
/// the resampled statistics, linearly interpolated between order statistics (numpy's default
/// `percentile` method), so a Python re-computation with the same replicate values agrees.
/// NaN replicates (e.g. a ratio over a resample with an empty denominator) are dropped. With
/// `n == 0`, `iterations == 0` or no finite replicate, the interval collapses to `value`.
/// The same `seed` gives the same interval on every platform.
pub fn bootstrap<F: Fn(&[usize]) -> f64>(
    n: usize,
    statistic: F,
    iterations: usize,
    seed: u64,
) -> Interval {
    let all: Vec<usize> = (0..n).collect();
    let value = statistic(&all);
    if n == 0 || iterations == 0 {
        return Interval {
            value,
            low: value,
            high: value,
        };
    }
    let mut rng = SplitMix64::new(seed);
    let mut sample = vec![0usize; n];
    let mut reps = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        for s in sample.iter_mut() {
            *s = rng.below(n);
        }
        let v = statistic(&sample);
        if !v.is_nan() {
            reps.push(v);
        }
    }
    if reps.is_empty() {
        return Interval {
            value,
            low: value,
            high: value,
        };
    }
    reps.sort_by(f64::total_cmp);
    Interval {
        value,
        low: percentile(&reps, 2.5),
        high: percentile(&reps, 97.5),
    }
}

/// Paired bootstrap 95% interval of the mean difference `a[i] - b[i]`: each resample draws
/// articles, and both systems are scored on the same draw, so the variation between articles
/// that both share cancels out. An interval that excludes 0 means one system is better on
/// this kind of article, not just on these articles.
///
/// # Panics
/// If `a` and `b` differ in length (scores not paired by article is a bug in the caller).
pub fn paired_bootstrap(a: &[f64], b: &[f64], iterations: usize, seed: u64) -> Interval {
    assert_eq!(
        a.len(),
        b.len(),
        "paired_bootstrap: a and b differ in length"
    );
    let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    bootstrap(
        diff.len(),
        |idx| {
            if idx.is_empty() {
                0.0
            } else {
                idx.iter().map(|&i| diff[i]).sum::<f64>() / idx.len() as f64
            }
        },
        iterations,
        seed,
    )
}

/// Percentile `q` (0..=100) of sorted, non-empty `xs` with linear interpolation.
fn percentile(xs: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (xs.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    xs[lo] + (xs[hi] - xs[lo]) * frac
}

/// SplitMix64 (Steele, Lea & Flood 2014; constants as in Vigna's reference code): tiny, fast,
/// and good enough for resampling. Written out here so that bootstrap intervals are
/// reproducible across machines and crate versions.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits (every value is exactly representable).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` without modulo bias (Lemire's multiply-and-reject);
    /// returns 0 when `n == 0` so callers need no special case for empty ranges.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let n = n as u64;
        // 2^64 mod n: products whose low half falls below it would over-represent some
        // outputs and are redrawn.
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as usize;
            }
        }
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn harmonic(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn accuracy_counts_exact_matches() {
        // 2 of 3 equal -> 2/3
        let a = accuracy(&s(&["a", "b", "c"]), &s(&["a", "x", "c"]));
        assert!(close(a, 2.0 / 3.0));
        assert_eq!(accuracy(&[], &[]), 0.0);
    }

    #[test]
    #[should_panic]
    fn accuracy_rejects_unpaired_lists() {
        accuracy(&s(&["a"]), &[]);
    }

    #[test]
    fn set_metrics_hand_computed() {
        // themes A, B, C, D
        // item 1: gold {A,B}  pred {A}      -> A tp, B fn
        // item 2: gold {A}    pred {A,C}    -> A tp, C fp
        // item 3: gold {B}    pred {B,A,A}  -> B tp, A fp (duplicate A counts once)
        // item 4: gold {E}    pred {E}      -> E is not a theme: ignored everywhere
        // A: tp2 fp1 fn0 -> P 2/3, R 1, F1 = 2*(2/3)/(5/3) = 4/5
        // B: tp1 fp0 fn1 -> P 1, R 1/2, F1 = 2*(1/2)/(3/2) = 2/3
        // C: tp0 fp1 fn0 -> P 0, R 0 (no support), F1 0
        // D: nothing     -> P 0, R 0, F1 0, still in the macro denominator
        // macro = (4/5 + 2/3 + 0 + 0) / 4 = (22/15)/4 = 11/30
        // micro: tp 3, fp 2, fn 1 -> P 3/5, R 3/4, F1 = 6/(6+2+1) = 2/3
        let gold = vec![s(&["A", "B"]), s(&["A"]), s(&["B"]), s(&["E"])];
        let pred = vec![s(&["A"]), s(&["A", "C"]), s(&["B", "A", "A"]), s(&["E"])];
        let m = set_metrics(&gold, &pred, &s(&["A", "B", "C", "D"]));
        let a = &m.per_theme[0];
        assert!(close(a.precision, 2.0 / 3.0) && close(a.recall, 1.0) && close(a.f1, 0.8));
        assert_eq!((a.support, a.predicted), (2, 3));
        let b = &m.per_theme[1];
        assert!(close(b.precision, 1.0) && close(b.recall, 0.5) && close(b.f1, 2.0 / 3.0));
        assert_eq!((b.support, b.predicted), (2, 1));
        let c = &m.per_theme[2];
        assert_eq!(
            (c.precision, c.recall, c.f1, c.support, c.predicted),
            (0.0, 0.0, 0.0, 0, 1)
        );
        let d = &m.per_theme[3];
        assert_eq!(
            (d.precision, d.recall, d.f1, d.support, d.predicted),
            (0.0, 0.0, 0.0, 0, 0)
        );
        assert_eq!(m.per_theme[3].id, "D");
        assert!(close(m.macro_f1, 11.0 / 30.0), "{}", m.macro_f1);
        assert!(close(m.micro_precision, 0.6));
        assert!(close(m.micro_recall, 0.75));
        assert!(close(m.micro_f1, 2.0 / 3.0));
    }

    #[test]
    fn set_metrics_degenerate_inputs_are_zero_not_nan() {
        let m = set_metrics(&[], &[], &s(&["A"]));
        assert_eq!(
            (m.micro_precision, m.micro_recall, m.micro_f1, m.macro_f1),
            (0.0, 0.0, 0.0, 0.0)
        );
        let m = set_metrics(&[s(&["A"])], &[s(&["A"])], &[]);
        assert_eq!((m.micro_f1, m.macro_f1), (0.0, 0.0));
        assert!(m.per_theme.is_empty());
    }

    #[test]
    fn confusion_rows_are_gold() {
        // pairs (gold,pred): (a,a) (a,b) (b,b) (b,a) (b,b) (z,a); z is not a label: skipped
        // row a: a=1 b=1; row b: a=1 b=2
        let m = confusion(
            &s(&["a", "a", "b", "b", "b", "z"]),
            &s(&["a", "b", "b", "a", "b", "a"]),
            &s(&["a", "b"]),
        );
        assert_eq!(m, vec![vec![1, 1], vec![1, 2]]);
    }

    #[test]
    fn splitmix_matches_reference_vector() {
        // First outputs for seed 1234567 from Vigna's splitmix64.c.
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_and_f64_stay_in_range_and_cover_it() {
        let mut r = SplitMix64::new(7);
        let mut seen = [0usize; 5];
        for _ in 0..10_000 {
            seen[r.below(5)] += 1;
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        // each bucket expects 2000; a 10% band is > 7 standard deviations wide
        assert!(seen.iter().all(|&c| (1800..=2200).contains(&c)), "{seen:?}");
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // xs = 0..=10 (11 values): pos(2.5) = 0.25 -> 0.25; pos(97.5) = 9.75 -> 9.75
        let xs: Vec<f64> = (0..=10).map(f64::from).collect();
        assert!(close(percentile(&xs, 2.5), 0.25));
        assert!(close(percentile(&xs, 97.5), 9.75));
        assert!(close(percentile(&[3.0], 50.0), 3.0));
    }

    #[test]
    fn bootstrap_of_constant_and_mean() {
        // All items equal: every resample has mean 1 -> interval [1, 1].
        let ones = [1.0; 20];
        let mean = |idx: &[usize]| idx.iter().map(|&i| ones[i]).sum::<f64>() / idx.len() as f64;
        let iv = bootstrap(ones.len(), mean, 200, 1);
        assert_eq!((iv.value, iv.low, iv.high), (1.0, 1.0, 1.0));

        // Half zeros, half ones: value 0.5; the mean of 40 Bernoulli(0.5) draws has
        // sd sqrt(0.25/40) = 0.079, so the 95% interval is about 0.5 ± 0.155.
        let xs: Vec<f64> = (0..40).map(|i| (i % 2) as f64).collect();
        let mean = |idx: &[usize]| idx.iter().map(|&i| xs[i]).sum::<f64>() / idx.len() as f64;
        let iv = bootstrap(xs.len(), mean, 2000, 42);
        assert_eq!(iv.value, 0.5);
        assert!(iv.low < 0.5 && iv.high > 0.5);
        assert!(
            (iv.low - 0.345).abs() < 0.05 && (iv.high - 0.655).abs() < 0.05,
            "{iv:?}"
        );
        // deterministic for a seed
        let again = bootstrap(xs.len(), mean, 2000, 42);
        assert_eq!((iv.low, iv.high), (again.low, again.high));
    }

    #[test]
    fn bootstrap_degenerate_cases_collapse_to_value() {
        let iv = bootstrap(0, |_| 0.0, 100, 1);
        assert_eq!((iv.value, iv.low, iv.high), (0.0, 0.0, 0.0));
        let iv = bootstrap(5, |idx| idx.len() as f64, 0, 1);
        assert_eq!((iv.value, iv.low, iv.high), (5.0, 5.0, 5.0));
        let iv = bootstrap(
            5,
            |idx| {
                if idx == [0, 1, 2, 3, 4] {
                    1.0
                } else {
                    f64::NAN
                }
            },
            50,
            1,
        );
        assert_eq!((iv.low, iv.high), (1.0, 1.0));
    }

    #[test]
    fn paired_bootstrap_hand_computed() {
        // Differences 1-0 = 1, 3-1 = 2, 2-2 = 0: mean (1+2+0)/3 = 1.
        let i = paired_bootstrap(&[1.0, 3.0, 2.0], &[0.0, 1.0, 2.0], 1000, 7);
        assert!(close(i.value, 1.0));
        // Resample means lie between the smallest and the largest difference.
        assert!(
            i.low >= 0.0 && i.high <= 2.0 && i.low < 1.0 && i.high > 1.0,
            "{i:?}"
        );
        // b = a - 1 on every article: the difference is exactly 1 in every resample, however
        // much the articles differ from each other (an unpaired interval would be wide).
        let a = [10.0, 50.0, 90.0, 30.0];
        let b: Vec<f64> = a.iter().map(|x| x - 1.0).collect();
        let i = paired_bootstrap(&a, &b, 500, 3);
        assert!(
            close(i.value, 1.0) && close(i.low, 1.0) && close(i.high, 1.0),
            "{i:?}"
        );
        // Two articles, differences 0 and 2: resample means are 0 (p 1/4), 1 (1/2), 2 (1/4);
        // with 1000 draws the 2.5th and 97.5th percentiles are the extremes 0 and 2.
        let i = paired_bootstrap(&[5.0, 7.0], &[5.0, 5.0], 1000, 11);
        assert!(
            close(i.value, 1.0) && close(i.low, 0.0) && close(i.high, 2.0),
            "{i:?}"
        );
        // The same draws as `bootstrap` over the differences with the same seed.
        let plain = bootstrap(
            2,
            |idx| idx.iter().map(|&k| [0.0, 2.0][k]).sum::<f64>() / idx.len() as f64,
            1000,
            11,
        );
        assert!(close(plain.low, i.low) && close(plain.high, i.high));
        let e = paired_bootstrap(&[], &[], 100, 1);
        assert!(close(e.value, 0.0) && close(e.low, 0.0));
    }

    #[test]
    #[should_panic]
    fn paired_bootstrap_rejects_unpaired_scores() {
        paired_bootstrap(&[1.0], &[], 10, 1);
    }
}
